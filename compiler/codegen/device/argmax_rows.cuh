//===- argmax_rows.cuh - greedy token picks on the device -----------------===//
//
// Greedy decoding's pick without the logits crossing to the host (issue 14):
// for each of `n` selected rows of a logits tensor (row r starts at element
// rows[r] * V), the index of its FIRST maximum (torch.argmax; the host
// reference is runtime/src/ArgmaxRows.cpp, the Sampler's greedy rule), or -1
// when the row holds a NaN (the Generator's error). Infinite values compare
// as numbers; a row of all -inf gives 0. The maximum itself goes to `maxes`
// when that is not null. One block per row; each thread scans a stride of
// the row keeping its first maximum, then a warp and a block reduction keep
// the larger value, the lower index on a tie.
//
// Not generated per model: the runtime compiles this file (with
// primitives.cuh before it) with NVRTC once per device and process
// (runtime/src/cuda/DeviceArgmax.cpp) and launches effc_argmax_rows on the
// session's stream after the run that wrote the logits.
//
#ifndef EFFC_DEVICE_ARGMAX_ROWS_CUH
#define EFFC_DEVICE_ARGMAX_ROWS_CUH

#include "primitives.cuh"

namespace effc_argmax {

constexpr int kThreads = 256;

// (value, index): the larger value wins, the lower index on a tie; index
// -1 is "none yet" (loses to everything).
__device__ __forceinline__ bool better(float v, i64 i, float bv, i64 bi) {
  if (bi < 0)
    return i >= 0;
  if (i < 0)
    return false;
  return v > bv || (v == bv && i < bi);
}

} // namespace effc_argmax

EFFC_KERNEL void __launch_bounds__(256) effc_argmax_rows(const void *logits, const i64 *rows, i64 n,
                                                         i64 V, int dtype, i64 *ids, float *maxes) {
  using namespace effc_argmax;
  const i64 r = blockIdx.x;
  if (r >= n)
    return;
  const i64 base = rows[r] * V;
  float best = -EFFC_INF_F;
  i64 at = -1;
  int nan = 0;
  // Indices rise within a thread, so only a strictly larger value replaces.
  for (i64 v = threadIdx.x; v < V; v += kThreads) {
    float x = load_dtype(logits, base + v, dtype);
    if (x != x)
      nan = 1;
    else if (at < 0 || x > best)
      best = x, at = v;
  }
  nan = __syncthreads_or(nan);
  for (int o = 16; o > 0; o >>= 1) {
    float ov = __shfl_xor_sync(0xffffffffu, best, o);
    i64 oi = __shfl_xor_sync(0xffffffffu, at, o);
    if (better(ov, oi, best, at))
      best = ov, at = oi;
  }
  __shared__ float warpBest[kThreads / 32];
  __shared__ i64 warpAt[kThreads / 32];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0)
    warpBest[warp] = best, warpAt[warp] = at;
  __syncthreads();
  if (threadIdx.x != 0)
    return;
  for (int w = 1; w < kThreads / 32; ++w)
    if (better(warpBest[w], warpAt[w], best, at))
      best = warpBest[w], at = warpAt[w];
  ids[r] = nan ? -1 : at;
  if (maxes)
    maxes[r] = best;
}

#endif
