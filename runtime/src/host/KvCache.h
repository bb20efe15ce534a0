// The in-place KV cache append (eff.kv_append, issue 14 stage S4) on the
// host: a layer's cache holds `capacity` rows of D elements per (batch,
// head); appending writes the new rows at row `past` and copies the past
// rows in first only when they are not already the cache's own.
#pragma once

#include "effc/Status.h"

#include <cstddef>
#include <cstdint>

namespace effc::host {

struct KvCacheLayout {
  int64_t batch = 0, heads = 0;
  int64_t capacity = 0; ///< rows per (batch, head)
  int64_t rowBytes = 0; ///< head_dim x element size
};

/// cache[b, h, past + s] = rows[b, h, s] for s < count, after
/// cache[b, h, t] = pastRows[b, h, t] for t < past when pastRows is not the
/// cache itself (pastRows is [B, H, past, D] contiguous, or == cache with
/// the cache's row stride). Refuses past + count > capacity.
Status kvAppendRows(const KvCacheLayout &cache, void *cacheData, const void *pastRows, int64_t past,
                    const void *rows, int64_t count);

} // namespace effc::host
