// eff.kv_append on the host: the in-place append and the kernel that runs
// it with the contiguous present the plan gives today (capacity = P + S).
// eff.paged_attention on the host: the reference of the paged kernels,
// reading every key and value through the block table.
#include "host/KvCache.h"

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

Status kvAppend(const KernelContext &c) {
  const ConstTensorRef &past = c.in[0], &rows = c.in[1];
  if (past.shape.size() != 4 || rows.shape.size() != 4)
    return c.error("past and new_rows must be 4-D [B, H, seq, head_dim]");
  if (past.dtype != rows.dtype)
    return c.error("past and new_rows must have one dtype");
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
  // The plan gives a contiguous present: a cache of exactly P + S rows.
  KvCacheLayout layout{shape[0], shape[1], P + S, shape[3] * int64_t(dtypeSize(past.dtype))};
  Status s = kvAppendRows(layout, c.out[0].data, past.data, P, rows.data, S);
  return s.ok() ? s : c.error(s.message());
}

Status pagedAttention(const KernelContext &c) {
  const ConstTensorRef &q = c.in[0], &k = c.in[1], &v = c.in[2];
  if (q.shape.size() != 4 || k.shape.size() != 4 || v.shape != k.shape)
    return c.error("expected q [B, Hq, S, D] and k_cache = v_cache [pages, Hkv, page_size, D]");
  if (k.dtype != q.dtype || v.dtype != q.dtype || !isFloatDType(q.dtype))
    return c.error("q, k_cache and v_cache must have one float dtype");
  const int64_t B = q.shape[0], Hq = q.shape[1], S = q.shape[2], D = q.shape[3];
  const int64_t NP = k.shape[0], Hkv = k.shape[1], PS = k.shape[2];
  if (k.shape[3] != D || Hkv < 1 || Hq % Hkv != 0)
    return c.error("k_cache " + shapeToString(k.shape) + " does not fit q " +
                   shapeToString(q.shape));
  auto table = c.ints(3);
  auto lens = c.ints(4);
  if (!table.ok())
    return table.status();
  if (!lens.ok())
    return lens.status();
  if (c.in[3].shape.size() != 2 || c.in[3].shape[0] != B ||
      c.in[4].shape != std::vector<int64_t>{B})
    return c.error("expected block_table [B, max_pages] and seq_lens [B] with B = " +
                   std::to_string(B));
  const int64_t MB = c.in[3].shape[1];
  auto scale = c.floatAttr("scale", 0);
  auto causal = c.intAttr("causal", op_defaults::PagedAttentionOp_causal);
  if (!scale.ok())
    return scale.status();
  if (!causal.ok())
    return causal.status();
  for (int64_t b = 0; b < B; ++b) {
    int64_t len = (*lens)[size_t(b)];
    if (len < 0 || len > MB * PS)
      return c.error("seq_lens[" + std::to_string(b) + "] = " + std::to_string(len) +
                     " is outside [0, " + std::to_string(MB * PS) + "] (max_pages " +
                     std::to_string(MB) + " x page_size " + std::to_string(PS) + ")");
    for (int64_t i = 0; i * PS < len; ++i) {
      int64_t page = (*table)[size_t(b * MB + i)];
      if (page < 0 || page >= NP)
        return c.error("block_table[" + std::to_string(b) + ", " + std::to_string(i) +
                       "] = " + std::to_string(page) + " is not a page of the pool [0, " +
                       std::to_string(NP) + ")");
    }
  }
  EFFC_RETURN_IF_ERROR(c.checkOut(0, q.dtype, q.shape));
  const int64_t group = Hq / Hkv;
  const float sc = float(*scale);
  const bool isCausal = *causal != 0;
  parallelFor(B * Hq * S, MB * PS * D * 2, [&](int64_t r0, int64_t r1) {
    std::vector<float> qs(static_cast<size_t>(D)), acc(static_cast<size_t>(D)), scores;
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t s = r % S, h = (r / S) % Hq, b = r / (S * Hq), hk = h / group;
      const int64_t len = (*lens)[size_t(b)], pos = len - S + s;
      const int64_t visible = pos < 0 ? 0 : isCausal ? pos + 1 : len;
      for (int64_t d = 0; d < D; ++d)
        qs[size_t(d)] = float(loadF(q.dtype, q.data, size_t(r * D + d)));
      // Element (page, hk, row, d) of a cache.
      auto at = [&](int64_t t, int64_t d) {
        int64_t page = (*table)[size_t(b * MB + t / PS)];
        return size_t(((page * Hkv + hk) * PS + t % PS) * D + d);
      };
      scores.assign(size_t(visible), 0.f);
      float m = -INFINITY;
      for (int64_t t = 0; t < visible; ++t) {
        float dot = 0;
        for (int64_t d = 0; d < D; ++d)
          dot += qs[size_t(d)] * float(loadF(k.dtype, k.data, at(t, d)));
        scores[size_t(t)] = sc * dot;
        m = std::max(m, scores[size_t(t)]);
      }
      std::fill(acc.begin(), acc.end(), 0.f);
      float sum = 0;
      for (int64_t t = 0; t < visible; ++t) {
        float w = std::exp(scores[size_t(t)] - m);
        sum += w;
        for (int64_t d = 0; d < D; ++d)
          acc[size_t(d)] += w * float(loadF(v.dtype, v.data, at(t, d)));
      }
      for (int64_t d = 0; d < D; ++d)
        storeF(q.dtype, c.out[0].data, size_t(r * D + d), visible > 0 ? acc[size_t(d)] / sum : 0.f);
    }
  });
  return Status::OK();
}

} // namespace

void registerKvCache(Registry &r) {
  r[EffOp::KvAppendOp] = {kvAppend, 2, 2, 1, 1};
  r[EffOp::PagedAttentionOp] = {pagedAttention, 5, 5, 1, 1};
}

} // namespace effc::host
