// The split-KV pair on the host: eff.attention_partial over the chunks
// splitKvChunk cuts, then eff.attention_combine, equals eff.attention up to
// fp32 rounding (with causal, GQA, window, masks, and split counts that leave
// chunks empty or fully masked).
#include "TestUtil.h"

#include "HostTensorRefs.h"
#include "host/HostKernels.h"
#include "host/SplitKvAttention.h"

#include <cmath>
#include <cstring>
#include <random>

using namespace effc;
using host::Attrs;
using host::ConstTensorRef;
using host::TensorRef;
using test::cref;
using test::ref;

namespace {

HostTensor random(std::vector<int64_t> shape, std::mt19937 &rng, DType dtype = DType::FLOAT32) {
  HostTensor t(DType::FLOAT32, shape);
  std::uniform_real_distribution<float> u(-2, 2);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.data<float>()[i] = u(rng);
  if (dtype == DType::FLOAT32)
    return t;
  HostTensor low(dtype, shape);
  Status st = host::runKernel("eff.cast", {{"to", int64_t(dtype)}}, {cref(t)}, {ref(low)});
  EXPECT_TRUE(st.ok()) << st.message();
  return low;
}

struct Case {
  std::string name;
  int64_t B, Hq, Hkv, S, L, D, Dv, splits;
  bool causal = false;
  int64_t window = 0;
  int mask = 0; // 0 none, 1 bool [S, L] (row 0 and keys >= 150 masked), 2 float [B, 1, 1, L]
  DType dtype = DType::FLOAT32;
  double softcap = 0;
  std::vector<double> sinks; // one logit per query head, or none
};

struct Outputs {
  HostTensor attention, partial, lse, combined;
};

Outputs run(const Case &c, std::mt19937 &rng) {
  HostTensor q = random({c.B, c.Hq, c.S, c.D}, rng, c.dtype),
             k = random({c.B, c.Hkv, c.L, c.D}, rng, c.dtype);
  HostTensor v = random({c.B, c.Hkv, c.L, c.Dv}, rng, c.dtype), mask;
  std::vector<ConstTensorRef> ins{cref(q), cref(k), cref(v)};
  if (c.mask == 1) {
    mask = HostTensor(DType::BOOL, {c.S, c.L});
    for (int64_t i = 0; i < c.S * c.L; ++i)
      mask.data<uint8_t>()[i] = i / c.L != 0 && i % c.L < 150 && i % 5 != 0;
    ins.push_back(cref(mask));
  } else if (c.mask == 2) {
    mask = random({c.B, 1, 1, c.L}, rng);
    for (int64_t i = 0; i < mask.numElements(); ++i)
      if (i % 7 == 0)
        mask.data<float>()[i] = -INFINITY;
    ins.push_back(cref(mask));
  }
  Attrs a{
      {"scale", 0.3}, {"causal", int64_t(c.causal)}, {"window", c.window}, {"num_kv_heads", c.Hkv}};
  if (c.softcap)
    a["softcap"] = c.softcap;
  if (!c.sinks.empty())
    a["sinks"] = c.sinks;
  Outputs o{HostTensor(c.dtype, {c.B, c.Hq, c.S, c.Dv}),
            HostTensor(DType::FLOAT32, {c.splits, c.B, c.Hq, c.S, c.Dv}),
            HostTensor(DType::FLOAT32, {c.splits, c.B, c.Hq, c.S}),
            HostTensor(c.dtype, {c.B, c.Hq, c.S, c.Dv})};
  Status st = host::runKernel("eff.attention", a, ins, {ref(o.attention)});
  EXPECT_TRUE(st.ok()) << st.message();
  a["num_splits"] = c.splits;
  st = host::runKernel("eff.attention_partial", a, ins, {ref(o.partial), ref(o.lse)});
  EXPECT_TRUE(st.ok()) << st.message();
  st = host::runKernel("eff.attention_combine", {{"to", int64_t(c.dtype)}},
                       {cref(o.partial), cref(o.lse)}, {ref(o.combined)});
  EXPECT_TRUE(st.ok()) << st.message();
  return o;
}

} // namespace

TEST(SplitKvAttention, ChunksAreWholeKernelTiles) {
  EXPECT_EQ(splitKvChunk(4096, 4), 1024);
  EXPECT_EQ(splitKvChunk(1000, 3), 384); // ceil(1000 / 3) = 334 -> 384
  EXPECT_EQ(splitKvChunk(100, 5), 64);   // 2 chunks hold keys, 3 are empty
  EXPECT_EQ(splitKvChunk(100, 1), 128);
}

TEST(SplitKvAttention, PartialThenCombineEqualsAttention) {
  std::mt19937 rng(11);
  const std::vector<Case> cases = {
      {"mha", 2, 4, 4, 1, 300, 16, 16, 3},
      {"gqa4 decode, Dv != D", 1, 8, 2, 1, 520, 8, 12, 5},
      {"causal q4 over 200 keys", 1, 4, 2, 4, 200, 8, 8, 2, true},
      {"causal S > chunk: early rows see no key of late splits", 1, 2, 1, 140, 140, 8, 8, 3, true},
      {"window: early chunks fully outside", 1, 4, 4, 2, 400, 8, 8, 6, true, 90},
      {"bool mask: row 0 and keys >= 150 masked", 1, 2, 2, 3, 330, 8, 8, 4, false, 0, 1},
      {"additive mask with -inf", 2, 4, 2, 1, 260, 8, 8, 3, false, 0, 2},
      {"empty trailing chunks", 1, 2, 2, 1, 100, 8, 8, 5},
      {"one split", 1, 2, 2, 2, 70, 8, 8, 1},
      {"bf16", 1, 8, 2, 1, 600, 16, 16, 4, false, 0, 2, DType::BFLOAT16},
      {"f16 causal", 2, 4, 4, 2, 333, 16, 16, 3, true, 0, 0, DType::FLOAT16},
      {"softcap 1.5 with a window and -inf mask", 1, 4, 2, 3, 400, 8, 8, 4, true, 120, 2,
       DType::FLOAT32, 1.5},
      // The sink joins split 0 only; a large sink dominates some rows.
      {"sinks, gqa2 decode",
       1,
       4,
       2,
       1,
       300,
       8,
       8,
       3,
       false,
       0,
       0,
       DType::FLOAT32,
       0,
       {0.5, -1.0, 8.0, 0.0}},
      {"sinks with a window: split 0 has no allowed key",
       1,
       2,
       2,
       2,
       400,
       8,
       8,
       4,
       true,
       90,
       0,
       DType::FLOAT32,
       0,
       {1.0, -3.0}},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    Outputs o = run(c, rng);
    const HostTensor &want = o.attention, &got = o.combined;
    // fp32: the two summation orders agree to fp32 rounding. f16/bf16: both
    // round the same fp32 value, so they differ by at most one ulp.
    const double tol = c.dtype == DType::FLOAT32 ? 2e-6 : c.dtype == DType::FLOAT16 ? 1e-3 : 8e-3;
    for (int64_t i = 0; i < want.numElements(); ++i)
      ASSERT_NEAR(got.elementAsDouble(i), want.elementAsDouble(i),
                  tol * std::max(1.0, std::fabs(want.elementAsDouble(i))))
          << "element " << i;
  }
}

TEST(SplitKvAttention, PartialResultsPerChunk) {
  // One query (scale 1, q = 1) over 130 keys in 3 splits of 64: scores are
  // k, keys 0..63 -> split 0, 64..127 -> split 1, 128..129 -> split 2.
  const int64_t L = 130;
  HostTensor q(DType::FLOAT32, {1, 1, 1, 1}), k(DType::FLOAT32, {1, 1, L, 1}),
      v(DType::FLOAT32, {1, 1, L, 1});
  q.data<float>()[0] = 1;
  for (int64_t j = 0; j < L; ++j)
    k.data<float>()[j] = float(j % 3), v.data<float>()[j] = float(j);
  HostTensor part(DType::FLOAT32, {3, 1, 1, 1, 1}), lse(DType::FLOAT32, {3, 1, 1, 1});
  Attrs a{{"scale", 1.0}, {"num_kv_heads", int64_t(1)}, {"num_splits", int64_t(3)}};
  ASSERT_TRUE(host::runKernel("eff.attention_partial", a, {cref(q), cref(k), cref(v)},
                              {ref(part), ref(lse)})
                  .ok());
  for (int64_t s = 0; s < 3; ++s) {
    double sum = 0, acc = 0;
    for (int64_t j = 64 * s; j < std::min(L, 64 * (s + 1)); ++j)
      sum += std::exp(j % 3), acc += std::exp(j % 3) * j;
    EXPECT_NEAR(lse.data<float>()[s], std::log(sum), 1e-5) << s; // natural log
    EXPECT_NEAR(part.data<float>()[s], acc / sum, 1e-4) << s;    // normalized within the chunk
  }
  // Causal with the query first (S = 2, L = 130: query 0 sits at key 128):
  // query 0 sees splits 0-1 and key 128 of split 2; a window of 2 leaves it
  // only keys 127 and 128, so split 0 has no allowed key: o = 0, lse = -inf.
  HostTensor q2(DType::FLOAT32, {1, 1, 2, 1}), part2(DType::FLOAT32, {3, 1, 1, 2, 1}),
      lse2(DType::FLOAT32, {3, 1, 1, 2});
  q2.data<float>()[0] = q2.data<float>()[1] = 1;
  a["causal"] = int64_t(1);
  a["window"] = int64_t(2);
  ASSERT_TRUE(host::runKernel("eff.attention_partial", a, {cref(q2), cref(k), cref(v)},
                              {ref(part2), ref(lse2)})
                  .ok());
  EXPECT_EQ(lse2.data<float>()[0], -INFINITY);
  EXPECT_EQ(part2.data<float>()[0], 0.f);
  EXPECT_NEAR(part2.data<float>()[2], 127.0, 1e-5); // split 1, query 0: key 127 only
  EXPECT_NEAR(part2.data<float>()[4], 128.0, 1e-5); // split 2, query 0: key 128 only
}

TEST(SplitKvAttention, CombineOfNothingIsZero) {
  HostTensor part(DType::FLOAT32, {2, 1, 1, 1, 3}), lse(DType::FLOAT32, {2, 1, 1, 1}),
      o(DType::FLOAT32, {1, 1, 1, 3});
  for (int i = 0; i < 6; ++i)
    part.data<float>()[i] = 0;
  lse.data<float>()[0] = lse.data<float>()[1] = -INFINITY;
  ASSERT_TRUE(host::runKernel("eff.attention_combine", {{"to", int64_t(1)}},
                              {cref(part), cref(lse)}, {ref(o)})
                  .ok());
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(o.data<float>()[i], 0.f);
}

TEST(SplitKvAttention, Errors) {
  HostTensor q(DType::FLOAT32, {1, 2, 1, 4}), k(DType::FLOAT32, {1, 2, 8, 4});
  HostTensor part(DType::FLOAT32, {2, 1, 2, 1, 4}), lse(DType::FLOAT32, {2, 1, 2, 1}),
      o(DType::FLOAT32, {1, 2, 1, 4});
  Status st = host::runKernel("eff.attention_partial", {{"num_splits", int64_t(0)}},
                              {cref(q), cref(k), cref(k)}, {ref(part), ref(lse)});
  EXPECT_EQ(st.message(), "eff.attention_partial: num_splits must be >= 1, got 0");
  st = host::runKernel("eff.attention_partial", {{"num_splits", int64_t(3)}},
                       {cref(q), cref(k), cref(k)}, {ref(part), ref(lse)});
  EXPECT_NE(st.message().find("output 0 shape: expected [3, 1, 2, 1, 4]"), std::string::npos)
      << st.message();
  HostTensor badLse(DType::FLOAT32, {2, 1, 2, 2});
  st = host::runKernel("eff.attention_combine", {{"to", int64_t(1)}}, {cref(part), cref(badLse)},
                       {ref(o)});
  EXPECT_NE(st.message().find("must be o_partial's shape without Dv"), std::string::npos)
      << st.message();
  st = host::runKernel("eff.attention_combine", {{"to", int64_t(7)}}, {cref(part), cref(lse)},
                       {ref(o)});
  EXPECT_EQ(st.message(), "eff.attention_combine: to must be a float ONNX data type, got 7");
}

// out_perm (eff-fold-attention-layout): eff.attention and eff.attention_combine
// store their result as transpose(result, out_perm), exactly the values an
// explicit eff.transpose of the unpermuted result gives (f32 and bf16).
TEST(SplitKvAttention, OutPermEqualsExplicitTranspose) {
  std::mt19937 rng(5);
  for (DType dtype : {DType::FLOAT32, DType::BFLOAT16})
    for (const std::vector<int64_t> &perm :
         {std::vector<int64_t>{0, 2, 1, 3}, std::vector<int64_t>{2, 0, 1, 3}}) {
      SCOPED_TRACE(std::to_string(int(dtype)) + " perm " + shapeToString(perm));
      const int64_t B = 2, Hq = 4, Hkv = 2, S = 3, L = 70, D = 8, P = 3;
      HostTensor q = random({B, Hq, S, D}, rng, dtype), k = random({B, Hkv, L, D}, rng, dtype),
                 v = random({B, Hkv, L, D}, rng, dtype);
      std::vector<ConstTensorRef> ins{cref(q), cref(k), cref(v)};
      Attrs a{{"scale", 0.3}, {"causal", int64_t(1)}, {"num_kv_heads", Hkv}};
      const std::vector<int64_t> logical{B, Hq, S, D};
      std::vector<int64_t> stored;
      for (int64_t axis : perm)
        stored.push_back(logical[size_t(axis)]);
      auto same = [](const HostTensor &x, const HostTensor &y) {
        return x.shape() == y.shape() && x.byteSize() == y.byteSize() &&
               std::memcmp(x.data(), y.data(), x.byteSize()) == 0;
      };
      // eff.attention
      HostTensor y(dtype, logical), expected(dtype, stored), permuted(dtype, stored);
      ASSERT_TRUE(host::runKernel("eff.attention", a, ins, {ref(y)}).ok());
      ASSERT_TRUE(
          host::runKernel("eff.transpose", {{"perm", perm}}, {cref(y)}, {ref(expected)}).ok());
      Attrs withPerm = a;
      withPerm["out_perm"] = perm;
      Status st = host::runKernel("eff.attention", withPerm, ins, {ref(permuted)});
      ASSERT_TRUE(st.ok()) << st.message();
      EXPECT_TRUE(same(permuted, expected));
      // eff.attention_partial + eff.attention_combine
      HostTensor part(DType::FLOAT32, {P, B, Hq, S, D}), lse(DType::FLOAT32, {P, B, Hq, S});
      Attrs pa = a;
      pa["num_splits"] = P;
      ASSERT_TRUE(host::runKernel("eff.attention_partial", pa, ins, {ref(part), ref(lse)}).ok());
      HostTensor o(dtype, logical), oExpected(dtype, stored), oPermuted(dtype, stored);
      ASSERT_TRUE(host::runKernel("eff.attention_combine", {{"to", int64_t(dtype)}},
                                  {cref(part), cref(lse)}, {ref(o)})
                      .ok());
      ASSERT_TRUE(
          host::runKernel("eff.transpose", {{"perm", perm}}, {cref(o)}, {ref(oExpected)}).ok());
      st = host::runKernel("eff.attention_combine", {{"to", int64_t(dtype)}, {"out_perm", perm}},
                           {cref(part), cref(lse)}, {ref(oPermuted)});
      ASSERT_TRUE(st.ok()) << st.message();
      EXPECT_TRUE(same(oPermuted, oExpected));
      // A permutation that moves the head dim is refused.
      withPerm["out_perm"] = std::vector<int64_t>{0, 1, 3, 2};
      st = host::runKernel("eff.attention", withPerm, ins, {ref(permuted)});
      EXPECT_EQ(st.message(), "eff.attention: out_perm must be a permutation of 0..3 with "
                              "out_perm[3] = 3, got [0, 1, 3, 2]");
    }
}
