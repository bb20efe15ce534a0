// eff.kv_append on the host: the in-place append and the kernel that runs
// it with the contiguous present the plan gives today (capacity = P + S).
// eff.paged_attention on the host: the reference of the paged kernels,
// reading every key and value through the block table; eff.paged_kv_write,
// the new rows into their pages.
#include "host/KvCache.h"

#include "host/AttentionRows.h"
#include "host/KernelUtil.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace effc::host {

Status kvAppendRows(const KvCacheLayout &cache, void *cacheData, const void *pastRows, int64_t past,
                    const void *rows, int64_t count) {
  if (past < 0 || count < 0 || past + count > cache.capacity)
    return Status::error("kv_append: " + std::to_string(past) + " cached + " +
                         std::to_string(count) + " new rows exceed the cache's capacity of " +
                         std::to_string(cache.capacity) + " rows");
  const size_t row = size_t(cache.rowBytes);
  auto *dst = static_cast<char *>(cacheData);
  const bool inPlace = pastRows == cacheData;
  for (int64_t bh = 0; bh < cache.batch * cache.heads; ++bh) {
    char *slot = dst + size_t(bh * cache.capacity) * row;
    if (!inPlace && past > 0)
      std::memcpy(slot, static_cast<const char *>(pastRows) + size_t(bh * past) * row,
                  size_t(past) * row);
    if (count > 0)
      std::memcpy(slot + size_t(past) * row,
                  static_cast<const char *>(rows) + size_t(bh * count) * row, size_t(count) * row);
  }
  return Status::OK();
}

namespace {

/// new_rows stored permuted (rows_perm: the rows are transpose(new_rows,
/// perm)) and/or a window of it (rows_offset: dims B, H and D are past's,
/// read from the offset), copied into `rows` as [B, H, S, D].
Status gatherPermutedRows(const KernelContext &c, const std::vector<int64_t> &perm,
                          const std::vector<int64_t> *window, std::vector<char> &rows,
                          std::vector<int64_t> &shape) {
  const ConstTensorRef &stored = c.in[1];
  const ConstTensorRef &past = c.in[0];
  std::vector<bool> seen(4, false);
  shape.assign(4, 0);
  for (size_t k = 0; k < perm.size() && perm.size() == 4; ++k) {
    if (perm[k] < 0 || perm[k] > 3 || seen[size_t(perm[k])])
      break;
    seen[size_t(perm[k])] = true;
    shape[k] = stored.shape[size_t(perm[k])];
  }
  for (bool s : seen)
    if (!s)
      return c.error("rows_perm must be a permutation of 0..3, got " + shapeToString(perm));
  const std::vector<int64_t> offset = window ? *window : std::vector<int64_t>(4, 0);
  if (offset.size() != 4 || offset[2] != 0)
    return c.error("rows_offset must be 4 entries with the seq entry 0, got " +
                   shapeToString(offset));
  if (window)
    for (int d : {0, 1, 3}) {
      if (offset[size_t(d)] < 0 || offset[size_t(d)] + past.shape[size_t(d)] > shape[size_t(d)])
        return c.error("rows_offset " + shapeToString(offset) + " reads outside new_rows " +
                       shapeToString(stored.shape) + " for past " + shapeToString(past.shape));
      shape[size_t(d)] = past.shape[size_t(d)];
    }
  const std::vector<int64_t> st = stridesOf(stored.shape);
  const size_t es = dtypeSize(stored.dtype);
  const int64_t base = offset[0] * st[size_t(perm[0])] + offset[1] * st[size_t(perm[1])] +
                       offset[3] * st[size_t(perm[3])];
  rows.resize(count(shape) * es);
  size_t i = 0;
  for (int64_t b = 0; b < shape[0]; ++b)
    for (int64_t h = 0; h < shape[1]; ++h)
      for (int64_t s = 0; s < shape[2]; ++s)
        for (int64_t d = 0; d < shape[3]; ++d, i += es) {
          int64_t src = base + b * st[size_t(perm[0])] + h * st[size_t(perm[1])] +
                        s * st[size_t(perm[2])] + d * st[size_t(perm[3])];
          std::memcpy(rows.data() + i, static_cast<const char *>(stored.data) + size_t(src) * es,
                      es);
        }
  return Status::OK();
}

Status kvAppend(const KernelContext &c) {
  const ConstTensorRef &past = c.in[0];
  if (past.shape.size() != 4 || c.in[1].shape.size() != 4)
    return c.error("past and new_rows must be 4-D [B, H, seq, head_dim]");
  if (past.dtype != c.in[1].dtype)
    return c.error("past and new_rows must have one dtype");
  bool permuted = false, windowed = false;
  auto perm = c.intsAttr("rows_perm", &permuted);
  if (!perm.ok())
    return perm.status();
  auto offset = c.intsAttr("rows_offset", &windowed);
  if (!offset.ok())
    return offset.status();
  // The rows appended, [B, H, S, D]: new_rows, or transpose(new_rows,
  // rows_perm), or a window of either (rows_offset).
  std::vector<char> gathered;
  ConstTensorRef rows = c.in[1];
  if (permuted || windowed) {
    EFFC_RETURN_IF_ERROR(gatherPermutedRows(c, permuted ? *perm : std::vector<int64_t>{0, 1, 2, 3},
                                            windowed ? &*offset : nullptr, gathered, rows.shape));
    rows.data = gathered.data();
  }
  for (int d : {0, 1, 3})
    if (past.shape[size_t(d)] != rows.shape[size_t(d)])
      return c.error("past and new_rows differ in dim " + std::to_string(d));
  auto capacity = c.intAttr("capacity", 0);
  if (!capacity.ok())
    return capacity.status();
  int64_t P = past.shape[2], S = rows.shape[2];
  if (P + S > *capacity)
    return c.error(std::to_string(P) + " cached + " + std::to_string(S) +
                   " new rows exceed the capacity attribute " + std::to_string(*capacity));
  std::vector<int64_t> shape = past.shape;
  shape[2] = P + S;
  EFFC_RETURN_IF_ERROR(c.checkOut(0, past.dtype, shape));
  // Session state (capacity > 0): past is the first P rows of the same
  // state, so only the S new rows are written. Otherwise the plan gives a
  // contiguous present: a cache of exactly P + S rows.
  const TensorRef &present = c.out[0];
  if (present.capacity > 0 && (past.data != present.data || past.capacity != present.capacity))
    return c.error("the present is session state, but past is not that state's rows");
  if (present.capacity == 0 && past.capacity > 0)
    return c.error("past is session state, but the present is not");
  KvCacheLayout layout{shape[0], shape[1], present.capacity > 0 ? present.capacity : P + S,
                       shape[3] * int64_t(dtypeSize(past.dtype))};
  Status s = kvAppendRows(layout, c.out[0].data, past.data, P, rows.data, S);
  return s.ok() ? s : c.error(s.message());
}

/// eff.paged_attention(_partial)'s operands, checked.
struct Paged {
  const ConstTensorRef *q, *k, *v;
  int64_t B = 0, Hq = 0, S = 0, D = 0, NP = 0, Hkv = 0, PS = 0, MB = 0;
  std::vector<int64_t> table, lens;
  float scale = 1;
  bool causal = true;
  int64_t window = 0; // sliding window (0: none): query p sees keys p - window + 1..p
};

Status readPaged(const KernelContext &c, Paged &p) {
  const ConstTensorRef &q = c.in[0], &k = c.in[1], &v = c.in[2];
  if (q.shape.size() != 4 || k.shape.size() != 4 || v.shape != k.shape)
    return c.error("expected q [B, Hq, S, D] and k_cache = v_cache [pages, Hkv, page_size, D]");
  if (k.dtype != q.dtype || v.dtype != q.dtype || !isFloatDType(q.dtype))
    return c.error("q, k_cache and v_cache must have one float dtype");
  p.q = &q, p.k = &k, p.v = &v;
  p.B = q.shape[0], p.Hq = q.shape[1], p.S = q.shape[2], p.D = q.shape[3];
  p.NP = k.shape[0], p.Hkv = k.shape[1], p.PS = k.shape[2];
  if (k.shape[3] != p.D || p.Hkv < 1 || p.Hq % p.Hkv != 0)
    return c.error("k_cache " + shapeToString(k.shape) + " does not fit q " +
                   shapeToString(q.shape));
  auto table = c.ints(3);
  auto lens = c.ints(4);
  if (!table.ok())
    return table.status();
  if (!lens.ok())
    return lens.status();
  if (c.in[3].shape.size() != 2 || c.in[3].shape[0] != p.B ||
      c.in[4].shape != std::vector<int64_t>{p.B})
    return c.error("expected block_table [B, max_pages] and seq_lens [B] with B = " +
                   std::to_string(p.B));
  p.table = std::move(*table);
  p.lens = std::move(*lens);
  p.MB = c.in[3].shape[1];
  auto scale = c.floatAttr("scale", 0);
  auto causal = c.intAttr("causal", op_defaults::PagedAttentionOp_causal);
  auto window = c.intAttr("window", op_defaults::PagedAttentionOp_window);
  if (!scale.ok())
    return scale.status();
  if (!causal.ok())
    return causal.status();
  if (!window.ok())
    return window.status();
  p.scale = float(*scale);
  p.causal = *causal != 0;
  p.window = *window;
  if (p.window < 0 || (p.window > 0 && !p.causal))
    return c.error("window must be 0 or, with causal = 1, positive; got " +
                   std::to_string(p.window) + (p.causal ? "" : " with causal = 0"));
  for (int64_t b = 0; b < p.B; ++b) {
    int64_t len = p.lens[size_t(b)];
    if (len < 0 || len > p.MB * p.PS)
      return c.error("seq_lens[" + std::to_string(b) + "] = " + std::to_string(len) +
                     " is outside [0, " + std::to_string(p.MB * p.PS) + "] (max_pages " +
                     std::to_string(p.MB) + " x page_size " + std::to_string(p.PS) + ")");
    // The pages a visible key needs: with a window, none before the first
    // query's window (a pool may have dropped them).
    const int64_t first = p.window > 0 ? std::max<int64_t>(0, len - p.S - p.window + 1) : 0;
    for (int64_t i = first / p.PS; i * p.PS < len; ++i) {
      int64_t page = p.table[size_t(b * p.MB + i)];
      if (page < 0 || page >= p.NP)
        return c.error("block_table[" + std::to_string(b) + ", " + std::to_string(i) +
                       "] = " + std::to_string(page) + " is not a page of the pool [0, " +
                       std::to_string(p.NP) + ")");
    }
  }
  return Status::OK();
}

/// Query row r (= (b * Hq + h) * S + s) over its visible keys in [lo, hi)
/// (with a window, keys before pos - window + 1 are not visible: their pages
/// are not read): acc = sum exp(score - m) v, l = sum exp(score - m) (0: no
/// key).
void attendRange(const Paged &p, int64_t r, int64_t lo, int64_t hi, std::vector<float> &qs,
                 std::vector<float> &scores, std::vector<float> &acc, float &m, float &l) {
  const int64_t s = r % p.S, h = (r / p.S) % p.Hq, b = r / (p.S * p.Hq), hk = h / (p.Hq / p.Hkv);
  const int64_t len = p.lens[size_t(b)], pos = len - p.S + s;
  const int64_t visible = pos < 0 ? 0 : p.causal ? pos + 1 : len;
  const int64_t first = p.window > 0 ? std::max<int64_t>(0, pos - p.window + 1) : 0;
  lo = std::max(lo, first);
  hi = std::min(hi, visible);
  if (hi < lo)
    hi = lo;
  const int64_t D = p.D;
  for (int64_t d = 0; d < D; ++d)
    qs[size_t(d)] = float(loadF(p.q->dtype, p.q->data, size_t(r * D + d)));
  // Element (page, hk, row, d) of a cache.
  auto at = [&](int64_t t, int64_t d) {
    int64_t page = p.table[size_t(b * p.MB + t / p.PS)];
    return size_t(((page * p.Hkv + hk) * p.PS + t % p.PS) * D + d);
  };
  scores.assign(size_t(std::max<int64_t>(hi - lo, 0)), 0.f);
  m = -INFINITY;
  for (int64_t t = lo; t < hi; ++t) {
    float dot = 0;
    for (int64_t d = 0; d < D; ++d)
      dot += qs[size_t(d)] * float(loadF(p.k->dtype, p.k->data, at(t, d)));
    scores[size_t(t - lo)] = p.scale * dot;
    m = std::max(m, scores[size_t(t - lo)]);
  }
  std::fill(acc.begin(), acc.end(), 0.f);
  l = 0;
  for (int64_t t = lo; t < hi; ++t) {
    float w = std::exp(scores[size_t(t - lo)] - m);
    l += w;
    for (int64_t d = 0; d < D; ++d)
      acc[size_t(d)] += w * float(loadF(p.v->dtype, p.v->data, at(t, d)));
  }
}

Status pagedAttention(const KernelContext &c) {
  Paged p;
  EFFC_RETURN_IF_ERROR(readPaged(c, p));
  // y is [B, Hq, S, D] stored through out_perm.
  auto layout = attentionOutputLayout(c, {p.B, p.Hq, p.S, p.D});
  if (!layout.ok())
    return layout.status();
  const AttentionOutputLayout &out = *layout;
  EFFC_RETURN_IF_ERROR(c.checkOut(0, p.q->dtype, out.shape));
  const int64_t D = p.D;
  parallelFor(p.B * p.Hq * p.S, p.MB * p.PS * D * 2, [&](int64_t r0, int64_t r1) {
    std::vector<float> qs(static_cast<size_t>(D)), acc(static_cast<size_t>(D)), scores;
    for (int64_t r = r0; r < r1; ++r) {
      float m, l;
      attendRange(p, r, 0, p.MB * p.PS, qs, scores, acc, m, l);
      const int64_t at = out.offset(r / (p.S * p.Hq), (r / p.S) % p.Hq, r % p.S);
      for (int64_t d = 0; d < D; ++d)
        storeF(p.q->dtype, c.out[0].data, size_t(at + d), l > 0 ? acc[size_t(d)] / l : 0.f);
    }
  });
  return Status::OK();
}

Status pagedAttentionPartial(const KernelContext &c) {
  Paged p;
  EFFC_RETURN_IF_ERROR(readPaged(c, p));
  auto splits = c.intAttr("num_splits", 0);
  if (!splits.ok())
    return splits.status();
  if (*splits < 1)
    return c.error("num_splits must be >= 1, got " + std::to_string(*splits));
  const int64_t P = *splits, D = p.D, rows = p.B * p.Hq * p.S;
  // Whole pages per split: ceil(max_pages / P).
  const int64_t chunk = (p.MB + P - 1) / P * p.PS;
  std::vector<int64_t> partial = {P};
  partial.insert(partial.end(), p.q->shape.begin(), p.q->shape.end());
  EFFC_RETURN_IF_ERROR(c.checkOut(0, DType::FLOAT32, partial));
  EFFC_RETURN_IF_ERROR(c.checkOut(1, DType::FLOAT32, {P, p.B, p.Hq, p.S}));
  auto *O = static_cast<float *>(c.out[0].data), *LSE = static_cast<float *>(c.out[1].data);
  parallelFor(rows * P, chunk * D * 2, [&](int64_t i0, int64_t i1) {
    std::vector<float> qs(static_cast<size_t>(D)), acc(static_cast<size_t>(D)), scores;
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t split = i / rows, r = i % rows;
      float m, l;
      attendRange(p, r, split * chunk, (split + 1) * chunk, qs, scores, acc, m, l);
      for (int64_t d = 0; d < D; ++d)
        O[i * D + d] = l > 0 ? acc[size_t(d)] / l : 0.f;
      LSE[i] = l > 0 ? m + std::log(l) : -INFINITY;
    }
  });
  return Status::OK();
}

/// eff.paged_kv_write: the pool (copied unless the output is the cache
/// itself), then each new row into the slot slot_mapping names.
Status pagedKvWrite(const KernelContext &c) {
  const ConstTensorRef &cache = c.in[0], &rows = c.in[1];
  if (cache.shape.size() != 4 || rows.shape.size() != 4 || c.in[2].shape.size() != 2)
    return c.error("expected cache [pages, H, page_size, D], new_rows [B, H, S, D] and "
                   "slot_mapping [B, S]");
  if (cache.dtype != rows.dtype)
    return c.error("cache and new_rows must have one dtype");
  const int64_t NP = cache.shape[0], H = cache.shape[1], PS = cache.shape[2], D = cache.shape[3];
  const int64_t B = rows.shape[0], S = rows.shape[2];
  if (rows.shape[1] != H || rows.shape[3] != D || c.in[2].shape != std::vector<int64_t>{B, S})
    return c.error("new_rows " + shapeToString(rows.shape) + " and slot_mapping " +
                   shapeToString(c.in[2].shape) + " do not fit the cache " +
                   shapeToString(cache.shape));
  auto mapping = c.ints(2);
  if (!mapping.ok())
    return mapping.status();
  EFFC_RETURN_IF_ERROR(c.checkOut(0, cache.dtype, cache.shape));
  const size_t row = size_t(D) * dtypeSize(cache.dtype);
  for (int64_t i = 0; i < B * S; ++i) {
    int64_t slot = (*mapping)[size_t(i)];
    if (slot >= NP * PS)
      return c.error("slot_mapping[" + std::to_string(i / S) + ", " + std::to_string(i % S) +
                     "] = " + std::to_string(slot) + " is outside the pool's " +
                     std::to_string(NP) + " pages x " + std::to_string(PS) + " positions");
  }
  auto *dst = static_cast<char *>(c.out[0].data);
  if (dst != cache.data)
    std::memcpy(dst, cache.data, size_t(NP * H * PS) * row);
  const auto *src = static_cast<const char *>(rows.data);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s) {
      int64_t slot = (*mapping)[size_t(b * S + s)];
      if (slot < 0)
        continue;
      const int64_t page = slot / PS, at = slot % PS;
      for (int64_t h = 0; h < H; ++h)
        std::memcpy(dst + size_t((page * H + h) * PS + at) * row,
                    src + size_t((b * H + h) * S + s) * row, row);
    }
  return Status::OK();
}

} // namespace

void registerKvCache(Registry &r) {
  r[EffOp::KvAppendOp] = {kvAppend, 2, 2, 1, 1};
  r[EffOp::PagedAttentionOp] = {pagedAttention, 5, 5, 1, 1};
  r[EffOp::PagedAttentionPartialOp] = {pagedAttentionPartial, 5, 5, 2, 2};
  r[EffOp::PagedKvWriteOp] = {pagedKvWrite, 3, 3, 1, 1};
}

} // namespace effc::host
