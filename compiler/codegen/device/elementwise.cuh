//===- elementwise.cuh - helpers of the elementwise/reduction emitters ----===//
//
// What the emitted grid-stride, row and scan kernels call besides the
// primitives: host-exact integer conversions and division, index wrapping,
// clip and the vector type of the vectorized elementwise kernels. The kernels
// themselves are written by the emitters (fused scalar expressions).
//
#ifndef EFFC_DEVICE_ELEMENTWISE_CUH
#define EFFC_DEVICE_ELEMENTWISE_CUH

#include "primitives.cuh"

// float -> int64 like the host: truncate, saturate, NaN -> 0.
__device__ __forceinline__ i64 f2i64(double d) {
  if (d != d)
    return 0;
  if (d >= 9.2233720368547758e18)
    return 9223372036854775807LL;
  if (d <= -9.2233720368547758e18)
    return -9223372036854775807LL - 1;
  return i64(d);
}
// ONNX Div on integers: truncates, x/0 = 0 (no trap), x/-1 = -x (no overflow).
__device__ __forceinline__ i64 idiv64(i64 a, i64 b) {
  if (b == 0)
    return 0;
  if (b == -1)
    return i64(0ull - u64(a));
  return a / b;
}
// Wraps a negative index; returns -1 when out of [-dim, dim).
__device__ __forceinline__ i64 wrap_index(i64 v, i64 dim) {
  if (v < -dim || v >= dim)
    return -1;
  return v < 0 ? v + dim : v;
}

// numpy.clip order: the upper bound wins when lo > hi.
template <class T> __device__ __forceinline__ T effc_clip(T v, T lo, T hi) {
  if (v < lo)
    v = lo;
  if (v > hi)
    v = hi;
  return v;
}
// N elements moved as one aligned access (vectorized elementwise kernels).
template <class T, int N> struct alignas(sizeof(T) * N) effc_vec {
  T v[N];
};

#endif // EFFC_DEVICE_ELEMENTWISE_CUH
