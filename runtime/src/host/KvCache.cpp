// eff.kv_append on the host: the in-place append and the kernel that runs
// it with the contiguous present the plan gives today (capacity = P + S).
#include "host/KvCache.h"

#include "host/KernelUtil.h"

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

} // namespace

void registerKvCache(Registry &r) { r[EffOp::KvAppendOp] = {kvAppend, 2, 2, 1, 1}; }

} // namespace effc::host
