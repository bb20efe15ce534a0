//===- quant_linear.cuh - eff.quant_linear: packed quantized weights ------===//
//
// y[row][n] = sum_k a[row][k] * W[k][n], W decoded from its packed codes in
// registers as it is read (never written out). Two kernels:
//   quant_linear_gemv<C>   few rows (decode, M <= 8): one warp per output
//                          column; lanes stride along K (neighbouring lanes
//                          read neighbouring packed bytes) and keep one
//                          accumulator per row; a warp reduction at the end.
//   quant_linear_tiled<C>  more rows: 32x32 output tiles, 256 threads, K in
//                          steps of 32 staged in shared memory (a as values,
//                          W decoded once per tile), 4 outputs per thread.
// dynamic_int8 first quantizes a per tensor as ONNX DynamicQuantizeLinear
// does (every block reduces min/max over all of a itself: correct, not
// fast) and accumulates (q - z) * (code - zp) in int32.
//
// The emitter (compiler/codegen/QuantLinearEmitter.cpp) writes the config C
// (SCHEME, LAYOUT, BITS, K, N, BLOCK, BLOCKS, BLOCK_BYTES, ROWS, HAS_ZP) and
// the dtype glue as lambdas: loadA(i) / loadScale(i) -> float, store(i, v).
// Scheme and layout numbers are eff.quant_linear's (QuantOps.td).
//
#ifndef EFFC_DEVICE_QUANT_LINEAR_CUH
#define EFFC_DEVICE_QUANT_LINEAR_CUH

#include "primitives.cuh"

#define QL_INT4 0
#define QL_INT8 1
#define QL_NF4 2
#define QL_FP4 3
#define QL_DYNAMIC_INT8 4
#define QL_LAYOUT_NBLOCKS 0
#define QL_LAYOUT_BNB_FLAT 1

// bitsandbytes' NF4 and FP4 code books.
__constant__ float ql_nf4_book[16] = {-1.0f,
                                      -0.6961928009986877f,
                                      -0.5250730514526367f,
                                      -0.39491748809814453f,
                                      -0.28444138169288635f,
                                      -0.18477343022823334f,
                                      -0.09105003625154495f,
                                      0.0f,
                                      0.07958029955625534f,
                                      0.16093020141124725f,
                                      0.24611230194568634f,
                                      0.33791524171829224f,
                                      0.44070982933044434f,
                                      0.5626170039176941f,
                                      0.7229568362236023f,
                                      1.0f};
__constant__ float ql_fp4_book[16] = {
    0.0f,  0.005208333333f,  0.66666667f,  1.0f,  0.33333333f,  0.5f,  0.16666667f,  0.25f,
    -0.0f, -0.005208333333f, -0.66666667f, -1.0f, -0.33333333f, -0.5f, -0.16666667f, -0.25f};

// The accumulator type: int32 for dynamic_int8, float otherwise (NVRTC has
// no <type_traits>).
template <bool B, class T, class F> struct ql_select {
  typedef T type;
};
template <class T, class F> struct ql_select<false, T, F> {
  typedef F type;
};

// Integer schemes: the code of W[k][n] minus its zero point.
template <class C>
__device__ __forceinline__ int ql_int_code(const u8 *w, const u8 *zp, int n, int k) {
  const int b = k / C::BLOCK, j = k % C::BLOCK;
  const u8 *block = w + ((long long)n * C::BLOCKS + b) * C::BLOCK_BYTES;
  int code;
  if constexpr (C::BITS == 8)
    code = block[j];
  else
    code = (block[j >> 1] >> ((j & 1) * 4)) & 0xF;
  int zero;
  if constexpr (C::HAS_ZP)
    zero = zp[(long long)n * C::BLOCKS + b];
  else
    zero = C::BITS == 8 ? 128 : 8;
  return code - zero;
}

// W[k][n] as a value (every scheme but dynamic_int8, whose scale comes after
// the integer sum).
template <class C, class LS>
__device__ __forceinline__ float ql_weight(const u8 *w, const u8 *zp, const LS &loadScale, int n,
                                           int k) {
  if constexpr (C::LAYOUT == QL_LAYOUT_BNB_FLAT) {
    const long long f = (long long)n * C::K + k;
    const int code = (w[f >> 1] >> ((f & 1) ? 0 : 4)) & 0xF;
    const float v = C::SCHEME == QL_NF4 ? ql_nf4_book[code] : ql_fp4_book[code];
    return v * loadScale(f / C::BLOCK);
  } else {
    return float(ql_int_code<C>(w, zp, n, k)) * loadScale((long long)n * C::BLOCKS + k / C::BLOCK);
  }
}

// DynamicQuantizeLinear's scale and zero point of all of a (every thread of
// the block gets them).
template <class C, class LA>
__device__ void ql_dynamic_params(const LA &loadA, float &scale, int &zero) {
  float lo = 0.0f, hi = 0.0f;
  for (long long i = threadIdx.x; i < (long long)C::ROWS * C::K; i += blockDim.x) {
    const float v = loadA(i);
    lo = fminf(lo, v);
    hi = fmaxf(hi, v);
  }
  lo = block_reduce(lo, MinOp());
  hi = block_reduce(hi, MaxOp());
  scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
  zero = (int)rintf(fminf(fmaxf(0.0f - lo / scale, 0.0f), 255.0f));
}

// a[i] quantized and shifted by its zero point: q - z.
__device__ __forceinline__ int ql_quantize(float x, float scale, int zero) {
  return (int)fminf(fmaxf(rintf(x / scale) + (float)zero, 0.0f), 255.0f) - zero;
}

// Launch: grid ceil(N / 8), 256 threads (8 warps, one output column each).
template <class C, class LA, class LS, class ST>
__device__ void quant_linear_gemv(const u8 *w, const u8 *zp, const LA &loadA, const LS &loadScale,
                                  const ST &store) {
  constexpr bool DYNAMIC = C::SCHEME == QL_DYNAMIC_INT8;
  typedef typename ql_select<DYNAMIC, int, float>::type Acc;
  float aScale = 1.0f;
  int aZero = 0;
  if constexpr (DYNAMIC)
    ql_dynamic_params<C>(loadA, aScale, aZero);
  const int lane = threadIdx.x & 31;
  const int n = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
  if (n >= C::N)
    return;
  Acc acc[C::ROWS];
#pragma unroll
  for (int r = 0; r < C::ROWS; ++r)
    acc[r] = 0;
  for (int k = lane; k < C::K; k += 32) {
    if constexpr (DYNAMIC) {
      const int q = ql_int_code<C>(w, zp, n, k);
#pragma unroll
      for (int r = 0; r < C::ROWS; ++r)
        acc[r] += ql_quantize(loadA((long long)r * C::K + k), aScale, aZero) * q;
    } else {
      const float v = ql_weight<C>(w, zp, loadScale, n, k);
#pragma unroll
      for (int r = 0; r < C::ROWS; ++r)
        acc[r] += loadA((long long)r * C::K + k) * v;
    }
  }
#pragma unroll
  for (int r = 0; r < C::ROWS; ++r) {
    const Acc total = warp_reduce(acc[r], SumOp());
    if (lane == 0) {
      if constexpr (DYNAMIC)
        store((long long)r * C::N + n, (float)total * (aScale * loadScale(n)));
      else
        store((long long)r * C::N + n, total);
    }
  }
}

// Launch: grid (ceil(N / 32), ceil(ROWS / 32)), 256 threads.
template <class C, class LA, class LS, class ST>
__device__ void quant_linear_tiled(const u8 *w, const u8 *zp, const LA &loadA, const LS &loadScale,
                                   const ST &store) {
  constexpr bool DYNAMIC = C::SCHEME == QL_DYNAMIC_INT8;
  typedef typename ql_select<DYNAMIC, int, float>::type Acc;
  __shared__ Acc as[32][33]; // [row][k]
  __shared__ Acc ws[32][33]; // [k][column]
  float aScale = 1.0f;
  int aZero = 0;
  if constexpr (DYNAMIC)
    ql_dynamic_params<C>(loadA, aScale, aZero);
  const int row0 = blockIdx.y * 32, col0 = blockIdx.x * 32;
  const int tx = threadIdx.x & 31, ty = threadIdx.x >> 5;
  Acc acc[4] = {0, 0, 0, 0};
  for (int k0 = 0; k0 < C::K; k0 += 32) {
    for (int i = threadIdx.x; i < 32 * 32; i += blockDim.x) {
      const int outer = i >> 5, kk = i & 31, k = k0 + kk;
      const long long row = row0 + outer;
      const int col = col0 + outer;
      Acc av = 0, wv = 0;
      if (row < C::ROWS && k < C::K) {
        if constexpr (DYNAMIC)
          av = ql_quantize(loadA(row * C::K + k), aScale, aZero);
        else
          av = loadA(row * C::K + k);
      }
      if (col < C::N && k < C::K) {
        if constexpr (DYNAMIC)
          wv = ql_int_code<C>(w, zp, col, k);
        else
          wv = ql_weight<C>(w, zp, loadScale, col, k);
      }
      as[outer][kk] = av;
      ws[kk][outer] = wv;
    }
    __syncthreads();
#pragma unroll 8
    for (int kk = 0; kk < 32; ++kk) {
      const Acc wv = ws[kk][tx];
#pragma unroll
      for (int j = 0; j < 4; ++j)
        acc[j] += as[ty + 8 * j][kk] * wv;
    }
    __syncthreads();
  }
  const int col = col0 + tx;
  if (col >= C::N)
    return;
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const long long row = row0 + ty + 8 * j;
    if (row >= C::ROWS)
      continue;
    if constexpr (DYNAMIC)
      store(row * C::N + col, (float)acc[j] * (aScale * loadScale(col)));
    else
      store(row * C::N + col, acc[j]);
  }
}

#endif // EFFC_DEVICE_QUANT_LINEAR_CUH
