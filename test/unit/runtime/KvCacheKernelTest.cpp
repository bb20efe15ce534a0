// The in-place KV cache append (runtime/src/host/KvCache.{h,cpp}): the eff.kv_append
// kernel gives concat(past, new_rows) along the sequence axis; kvAppendRows
// writes only the new rows into a cache with room to spare and copies the
// past rows only when they are not the cache's own; bounds are errors.
// eff.paged_kv_write stores new rows into the pages slot_mapping names;
// eff.paged_attention's out_perm stores its result permuted.
#include "HostTensorRefs.h"
#include "effc/Tensor.h"
#include "host/HostKernels.h"
#include "host/KvCache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <numeric>

using namespace effc;
using test::cref;
using test::f32;
using test::ref;

namespace {

/// [B, H, n, D] with element (b, h, t, d) = base + 1000 b + 100 h + 10 t + d.
HostTensor rowsOf(int64_t B, int64_t H, int64_t n, int64_t D, float base) {
  std::vector<float> v;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < n; ++t)
        for (int64_t d = 0; d < D; ++d)
          v.push_back(base + float(1000 * b + 100 * h + 10 * t + d));
  return f32({B, H, n, D}, v);
}

TEST(KvCacheKernel, KvAppendIsConcatAlongTheSequence) {
  HostTensor past = rowsOf(2, 2, 3, 2, 0), rows = rowsOf(2, 2, 1, 2, 0.5f);
  HostTensor y(DType::FLOAT32, {2, 2, 4, 2});
  host::Attrs attrs;
  attrs["capacity"] = int64_t(8);
  attrs["state"] = std::string("present.0.key");
  ASSERT_TRUE(host::runKernel("eff.kv_append", attrs, {cref(past), cref(rows)}, {ref(y)}).ok());
  HostTensor concat(DType::FLOAT32, {2, 2, 4, 2});
  host::Attrs axis;
  axis["axis"] = int64_t(-2);
  ASSERT_TRUE(host::runKernel("eff.concat", axis, {cref(past), cref(rows)}, {ref(concat)}).ok());
  for (int64_t i = 0; i < y.numElements(); ++i)
    EXPECT_EQ(y.data<float>()[i], concat.data<float>()[i]) << "element " << i;
  EXPECT_EQ(y.data<float>()[3 * 2], 0.5f); // (0, 0, 3, 0): the new row

  // An empty past (the prefill) gives the new rows.
  HostTensor none(DType::FLOAT32, {2, 2, 0, 2}), first(DType::FLOAT32, {2, 2, 1, 2});
  ASSERT_TRUE(host::runKernel("eff.kv_append", attrs, {cref(none), cref(rows)}, {ref(first)}).ok());
  for (int64_t i = 0; i < first.numElements(); ++i)
    EXPECT_EQ(first.data<float>()[i], rows.data<float>()[i]);
}

TEST(KvCacheKernel, KvAppendReadsPermutedRowsThroughRowsPerm) {
  // rows_perm [0, 2, 1, 3]: new_rows stored [B, S, H, D] append as their
  // transpose to [B, H, S, D], the value of the unpermuted append.
  HostTensor past = rowsOf(2, 3, 2, 2, 0), rows = rowsOf(2, 3, 2, 2, 0.5f);
  HostTensor stored(DType::FLOAT32, {2, 2, 3, 2});
  host::Attrs perm;
  perm["perm"] = std::vector<int64_t>{0, 2, 1, 3};
  ASSERT_TRUE(host::runKernel("eff.transpose", perm, {cref(rows)}, {ref(stored)}).ok());
  host::Attrs attrs;
  attrs["capacity"] = int64_t(8);
  attrs["state"] = std::string("present.0.key");
  HostTensor want(DType::FLOAT32, {2, 3, 4, 2}), got(DType::FLOAT32, {2, 3, 4, 2});
  ASSERT_TRUE(host::runKernel("eff.kv_append", attrs, {cref(past), cref(rows)}, {ref(want)}).ok());
  attrs["rows_perm"] = std::vector<int64_t>{0, 2, 1, 3};
  ASSERT_TRUE(host::runKernel("eff.kv_append", attrs, {cref(past), cref(stored)}, {ref(got)}).ok());
  for (int64_t i = 0; i < want.numElements(); ++i)
    EXPECT_EQ(got.data<float>()[i], want.data<float>()[i]) << "element " << i;

  attrs["rows_perm"] = std::vector<int64_t>{0, 2, 2, 3};
  Status bad = host::runKernel("eff.kv_append", attrs, {cref(past), cref(stored)}, {ref(got)});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(),
            "eff.kv_append: rows_perm must be a permutation of 0..3, got [0, 2, 2, 3]");
}

/// eff.kv_append of `stored` ([B', S, H', D'], rows_perm [0, 2, 1, 3]) read
/// through rows_offset `offset` after `past` ([B, H, P, D]), checked element by
/// element against the slice + transpose written out here: row (b, h, P + s,
/// d) is stored (b + offset[0], s, h + offset[1], d + offset[3]).
void expectWindowedAppend(const HostTensor &past, const HostTensor &stored,
                          const std::vector<int64_t> &offset) {
  const int64_t B = past.shape()[0], H = past.shape()[1], P = past.shape()[2], D = past.shape()[3];
  const int64_t S = stored.shape()[1], Hs = stored.shape()[2], Ds = stored.shape()[3];
  host::Attrs attrs;
  attrs["capacity"] = int64_t(8);
  attrs["rows_perm"] = std::vector<int64_t>{0, 2, 1, 3};
  attrs["rows_offset"] = offset;
  HostTensor got(DType::FLOAT32, {B, H, P + S, D});
  Status run = host::runKernel("eff.kv_append", attrs, {cref(past), cref(stored)}, {ref(got)});
  ASSERT_TRUE(run.ok()) << run.message();
  // Element (b, s, h, d) of stored, [B', S, H', D'].
  auto storedAt = [&](int64_t b, int64_t s, int64_t h, int64_t d) {
    return stored.data<float>()[((b * S + s) * Hs + h) * Ds + d];
  };
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < P + S; ++t)
        for (int64_t d = 0; d < D; ++d) {
          const float want = t < P ? past.data<float>()[((b * H + h) * P + t) * D + d]
                                   : storedAt(b + offset[0], t - P, h + offset[1], d + offset[3]);
          EXPECT_EQ(got.data<float>()[((b * H + h) * (P + S) + t) * D + d], want)
              << "(" << b << ", " << h << ", " << t << ", " << d << ")";
        }
}

TEST(KvCacheKernel, KvAppendReadsAWindowThroughRowsOffset) {
  // A merged q/k/v GEMM's output [B, S, Hq + Hk + Hv, D] = [2, 2, 3 + 2 + 2,
  // 2], stored [B, S, H, D] (rows_perm [0, 2, 1, 3]): rows_offset [0, Hq + Hk,
  // 0, 0] appends the V heads, after an empty past (the prefill) and after 2
  // cached rows. Element (b, s, h, d) of it is 0.5 + 1000 b + 100 s + 10 h + d,
  // so a wrong head, row or batch shows.
  HostTensor merged = rowsOf(2, 2, 7, 2, 0.5f);
  expectWindowedAppend(HostTensor(DType::FLOAT32, {2, 2, 0, 2}), merged, {0, 5, 0, 0});
  expectWindowedAppend(rowsOf(2, 2, 2, 2, 0), merged, {0, 5, 0, 0});
  // Offsets on B and D too: past [1, 2, 1, 2] from new_rows [2, 2, 5, 4].
  expectWindowedAppend(rowsOf(1, 2, 1, 2, 0), rowsOf(2, 2, 5, 4, 0.5f), {1, 3, 0, 2});

  // A window reaching past new_rows, or a seq entry, is an error naming both.
  HostTensor past = rowsOf(2, 2, 2, 2, 0), y(DType::FLOAT32, {2, 2, 4, 2});
  host::Attrs attrs;
  attrs["capacity"] = int64_t(8);
  attrs["rows_perm"] = std::vector<int64_t>{0, 2, 1, 3};
  attrs["rows_offset"] = std::vector<int64_t>{0, 6, 0, 0};
  Status bad = host::runKernel("eff.kv_append", attrs, {cref(past), cref(merged)}, {ref(y)});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), "eff.kv_append: rows_offset [0, 6, 0, 0] reads outside new_rows "
                           "[2, 2, 7, 2] for past [2, 2, 2, 2]");
  attrs["rows_offset"] = std::vector<int64_t>{0, 5, 1, 0};
  bad = host::runKernel("eff.kv_append", attrs, {cref(past), cref(merged)}, {ref(y)});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), "eff.kv_append: rows_offset must be 4 entries with the seq entry 0, "
                           "got [0, 5, 1, 0]");
}

TEST(KvCacheKernel, AppendsInPlaceWithARowStride) {
  // B 1, H 2, D 2, capacity 4: 2 rows in the cache, then 1 + 1 appended.
  const int64_t B = 1, H = 2, D = 2, capacity = 4;
  host::KvCacheLayout layout{B, H, capacity, D * int64_t(sizeof(float))};
  std::vector<float> cache(size_t(B * H * capacity * D), -1.f);
  HostTensor past = rowsOf(B, H, 2, D, 0);
  ASSERT_TRUE(host::kvAppendRows(layout, cache.data(), past.data(), 0, past.data(), 2).ok());
  HostTensor step = rowsOf(B, H, 1, D, 0.25f);
  // The past is the cache itself: only the new row is written.
  ASSERT_TRUE(host::kvAppendRows(layout, cache.data(), cache.data(), 2, step.data(), 1).ok());
  for (int64_t h = 0; h < H; ++h) {
    const float *slot = cache.data() + h * capacity * D;
    EXPECT_EQ(slot[0], float(100 * h));              // row 0 from the prefill
    EXPECT_EQ(slot[1 * D + 1], float(100 * h + 11)); // row 1, d 1
    EXPECT_EQ(slot[2 * D], 0.25f + float(100 * h));  // the appended row
    EXPECT_EQ(slot[3 * D], -1.f);                    // room left untouched
  }
  // A full cache refuses another row, naming the capacity.
  ASSERT_TRUE(host::kvAppendRows(layout, cache.data(), cache.data(), 3, step.data(), 1).ok());
  Status full = host::kvAppendRows(layout, cache.data(), cache.data(), 4, step.data(), 1);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.message(),
            "kv_append: 4 cached + 1 new rows exceed the cache's capacity of 4 rows");
}

TEST(KvCacheKernel, Errors) {
  HostTensor past = rowsOf(1, 2, 3, 2, 0), rows = rowsOf(1, 2, 2, 2, 0);
  HostTensor y(DType::FLOAT32, {1, 2, 5, 2});
  host::Attrs attrs;
  attrs["capacity"] = int64_t(4);
  Status s = host::runKernel("eff.kv_append", attrs, {cref(past), cref(rows)}, {ref(y)});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "eff.kv_append: 3 cached + 2 new rows exceed the capacity attribute 4");
  HostTensor otherHeads = rowsOf(1, 1, 2, 2, 0);
  attrs["capacity"] = int64_t(8);
  s = host::runKernel("eff.kv_append", attrs, {cref(past), cref(otherHeads)}, {ref(y)});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "eff.kv_append: past and new_rows differ in dim 1");
}

// eff.paged_kv_write: row (b, s) of every head into page slot / PS, row
// slot % PS; -1 skips a row; the rest of the pool keeps its values, whether
// the output is a copy or the cache itself; a slot outside the pool is an
// error naming it.
TEST(KvCacheKernel, PagedKvWriteStoresRowsInTheirPages) {
  const int64_t NP = 3, H = 2, PS = 2, D = 2;
  HostTensor pool(DType::FLOAT32, {NP, H, PS, D});
  std::fill(pool.data<float>(), pool.data<float>() + pool.numElements(), -1.f);
  HostTensor rows = rowsOf(2, H, 2, D, 0); // B 2, S 2
  HostTensor mapping(DType::INT32, {2, 2});
  const int32_t slots[] = {5, -1, 0, 1}; // (0,0) -> page 2 row 1; (0,1) padded; (1,*) -> page 0
  std::copy(std::begin(slots), std::end(slots), mapping.data<int32_t>());
  auto at = [&](const HostTensor &t, int64_t page, int64_t h, int64_t r, int64_t d) {
    return t.data<float>()[((page * H + h) * PS + r) * D + d];
  };
  auto check = [&](const HostTensor &y) {
    for (int64_t h = 0; h < H; ++h)
      for (int64_t d = 0; d < D; ++d) {
        EXPECT_EQ(at(y, 2, h, 1, d), float(100 * h + d));             // (b 0, s 0)
        EXPECT_EQ(at(y, 0, h, 0, d), float(1000 + 100 * h + d));      // (b 1, s 0)
        EXPECT_EQ(at(y, 0, h, 1, d), float(1000 + 100 * h + 10 + d)); // (b 1, s 1)
        EXPECT_EQ(at(y, 1, h, 0, d), -1.f);                           // untouched
        EXPECT_EQ(at(y, 2, h, 0, d), -1.f);
      }
  };
  HostTensor y(DType::FLOAT32, {NP, H, PS, D});
  ASSERT_TRUE(
      host::runKernel("eff.paged_kv_write", {}, {cref(pool), cref(rows), cref(mapping)}, {ref(y)})
          .ok());
  check(y);
  EXPECT_EQ(at(pool, 0, 0, 0, 0), -1.f); // a copy: the cache operand is not written
  // The output is the cache itself (session state): same result in place.
  ASSERT_TRUE(host::runKernel("eff.paged_kv_write", {}, {cref(pool), cref(rows), cref(mapping)},
                              {ref(pool)})
                  .ok());
  check(pool);

  mapping.data<int32_t>()[1] = 6; // NP * PS
  Status s =
      host::runKernel("eff.paged_kv_write", {}, {cref(pool), cref(rows), cref(mapping)}, {ref(y)});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(
      s.message(),
      "eff.paged_kv_write: slot_mapping[0, 1] = 6 is outside the pool's 3 pages x 2 positions");
}

// out_perm (eff-fold-attention-layout): eff.paged_attention stores its
// result as transpose(result, out_perm), bitwise the values an explicit
// eff.transpose of the unpermuted result gives (f32 and bf16); a
// permutation moving the head dim is refused.
TEST(KvCacheKernel, PagedAttentionOutPermEqualsExplicitTranspose) {
  const int64_t B = 2, Hq = 4, Hkv = 2, S = 3, D = 4, NP = 6, PS = 2, MB = 3;
  HostTensor q32 = rowsOf(B, Hq, S, D, 0), pool32 = rowsOf(NP, Hkv, PS, D, 0.25f);
  for (HostTensor *t : {&q32, &pool32}) // small, varied values: softmax over distinct scores
    for (int64_t i = 0; i < t->numElements(); ++i)
      t->data<float>()[i] = float((int64_t(t->data<float>()[i] * 4) * 37) % 23) / 16.f - 0.7f;
  HostTensor table(DType::INT32, {B, MB}), lens(DType::INT32, {B});
  const int32_t pages[] = {4, 0, 2, 1, 5, 3}, held[] = {5, 6};
  std::copy(std::begin(pages), std::end(pages), table.data<int32_t>());
  std::copy(std::begin(held), std::end(held), lens.data<int32_t>());
  auto same = [](const HostTensor &x, const HostTensor &y) {
    return x.shape() == y.shape() && x.byteSize() == y.byteSize() &&
           std::memcmp(x.data(), y.data(), x.byteSize()) == 0;
  };
  for (DType dtype : {DType::FLOAT32, DType::BFLOAT16})
    for (const std::vector<int64_t> &perm :
         {std::vector<int64_t>{0, 2, 1, 3}, std::vector<int64_t>{2, 0, 1, 3}}) {
      SCOPED_TRACE(std::to_string(int(dtype)) + " perm " + shapeToString(perm));
      HostTensor q(dtype, {B, Hq, S, D}), pool(dtype, {NP, Hkv, PS, D});
      ASSERT_TRUE(
          host::runKernel("eff.cast", {{"to", int64_t(dtype)}}, {cref(q32)}, {ref(q)}).ok());
      ASSERT_TRUE(
          host::runKernel("eff.cast", {{"to", int64_t(dtype)}}, {cref(pool32)}, {ref(pool)}).ok());
      std::vector<host::ConstTensorRef> ins{cref(q), cref(pool), cref(pool), cref(table),
                                            cref(lens)};
      host::Attrs a{{"scale", 0.5}, {"causal", int64_t(1)}};
      const std::vector<int64_t> logical{B, Hq, S, D};
      std::vector<int64_t> stored;
      for (int64_t axis : perm)
        stored.push_back(logical[size_t(axis)]);
      HostTensor y(dtype, logical), expected(dtype, stored), permuted(dtype, stored);
      Status st = host::runKernel("eff.paged_attention", a, ins, {ref(y)});
      ASSERT_TRUE(st.ok()) << st.message();
      ASSERT_TRUE(
          host::runKernel("eff.transpose", {{"perm", perm}}, {cref(y)}, {ref(expected)}).ok());
      host::Attrs withPerm = a;
      withPerm["out_perm"] = perm;
      st = host::runKernel("eff.paged_attention", withPerm, ins, {ref(permuted)});
      ASSERT_TRUE(st.ok()) << st.message();
      EXPECT_TRUE(same(permuted, expected));
      // The unpermuted shape is not the output's under out_perm.
      st = host::runKernel("eff.paged_attention", withPerm, ins, {ref(y)});
      EXPECT_FALSE(st.ok());
      withPerm["out_perm"] = std::vector<int64_t>{0, 1, 3, 2};
      st = host::runKernel("eff.paged_attention", withPerm, ins, {ref(permuted)});
      EXPECT_EQ(st.message(), "eff.paged_attention: out_perm must be a permutation of 0..3 with "
                              "out_perm[3] = 3, got [0, 1, 3, 2]");
    }
}

} // namespace
