//===- paged_kv_write.cuh - new K/V rows into their pages -----------------===//
//
// eff.paged_kv_write (issue 19; semantics in dialects/eff/ops/KvCacheOps.td,
// host reference runtime/src/host/KvCache.cpp): row (b, s) of new_rows goes,
// for every head, to page slot_mapping[b, s] / PS at position
// slot_mapping[b, s] % PS of the pool; negative slots (padded rows) and slots
// outside the pool are skipped. Elements are moved as stored (no rounding).
// When the output is the cache itself (session state binds it) only the new
// rows move: one thread per element of new_rows. Otherwise every element of
// the output is written once, by one thread: the new row that names its slot
// (found by a scan of slot_mapping, the last entry winning) or the cache's
// old value, so no two threads ever write one element.
//
// Config C (written by compiler/codegen/PagedKvWriteEmitter.cpp):
//   NP (pages), H, PS (page size), D, B, S (B and S: upper bounds with
//   runtime extents);
//   static i64 batch(const long long *effc_dims), seq(...)  the run's B and S
//     (constants, or expressions of the run's dims; new_rows and
//     slot_mapping are compact at them);
//   typedef T: the element storage type;
//   static i64 slot(const void *mapping, i64 i)  slot_mapping element i.
//
#ifndef EFFC_DEVICE_PAGED_KV_WRITE_CUH
#define EFFC_DEVICE_PAGED_KV_WRITE_CUH

#include "primitives.cuh"

namespace effc_paged {

template <class C>
__device__ __forceinline__ void paged_kv_write(const void *cache, const void *rows,
                                               const void *mapping, void *out,
                                               const long long *effc_dims) {
  typedef typename C::T T;
  const T *src = (const T *)rows, *old = (const T *)cache;
  T *dst = (T *)out;
  const i64 step = i64(gridDim.x) * blockDim.x;
  const i64 first = i64(blockIdx.x) * blockDim.x + threadIdx.x;
  const i64 B = C::batch(effc_dims), S = C::seq(effc_dims);
  if (out == cache) {
    for (i64 i = first; i < B * S * C::H * C::D; i += step) {
      const i64 d = i % C::D, s = (i / C::D) % S, h = (i / (i64(C::D) * S)) % C::H,
                b = i / (i64(C::D) * S * C::H);
      const i64 slot = C::slot(mapping, b * S + s);
      if (slot < 0 || slot >= i64(C::NP) * C::PS)
        continue;
      dst[((slot / C::PS * C::H + h) * C::PS + slot % C::PS) * C::D + d] = src[i];
    }
    return;
  }
  for (i64 i = first; i < i64(C::NP) * C::H * C::PS * C::D; i += step) {
    const i64 d = i % C::D, at = (i / C::D) % C::PS, h = (i / (i64(C::D) * C::PS)) % C::H,
              page = i / (i64(C::D) * C::PS * C::H), slot = page * C::PS + at;
    i64 from = -1;
    for (i64 j = 0; j < B * S; ++j)
      if (C::slot(mapping, j) == slot)
        from = j;
    dst[i] = from < 0 ? old[i] : src[((from / S * C::H + h) * S + from % S) * C::D + d];
  }
}

} // namespace effc_paged

#endif // EFFC_DEVICE_PAGED_KV_WRITE_CUH
