//===- ffma_gemm.cuh - the shared-memory tiled FFMA GEMM template --------===//
//
// ffma_gemm<C, Acc>(...) covers what the tensor-core kernel does not (fp32,
// fp64, integer operands, batch dims that do not coalesce): 256 threads
// compute a 64x64 tile of Y; each K step stages a 64x16 slice of A and a
// 16x64 slice of B in shared memory (zero-filled at the edges, loaded along
// each operand's contiguous dim) and each thread accumulates a 4x4 strided
// micro-tile in Acc (float, or double for fp64/integer operands).
//
// The emitter (compiler/codegen/gemm/Gemm.cpp) writes the config struct C
// (sizes, transposes, batch dims and strides, alpha/beta, flags, the index
// type), the dtype glue as lambdas (loadA/loadB/loadBias: element index ->
// Acc; store: element index, Acc value) and the fused epilogue lambda.
// Launch: grid (ceil(M/64), ceil(N/64), min(batch, 65535)), 256 threads.
//
#ifndef EFFC_DEVICE_FFMA_GEMM_CUH
#define EFFC_DEVICE_FFMA_GEMM_CUH

#include "primitives.cuh"

// The config's batch arrays are read with constant indices only (template
// recursion): a runtime index would odr-use a host variable in device code.
template <class C, int D>
__device__ __forceinline__ void ffma_batch_coords(typename C::Index &rest,
                                                  typename C::Index *coord) {
  if constexpr (D > 0) {
    coord[D] = rest % (typename C::Index)C::BATCH_DIMS[D];
    rest /= (typename C::Index)C::BATCH_DIMS[D];
    ffma_batch_coords<C, D - 1>(rest, coord);
  } else {
    coord[0] = rest;
  }
}
template <class C, int D>
__device__ __forceinline__ void ffma_batch_offsets(const typename C::Index *coord,
                                                   typename C::Index &aOff,
                                                   typename C::Index &bOff) {
  if constexpr (D < C::BATCH_RANK) {
    if constexpr (C::A_BATCH_STRIDES[D] != 0)
      aOff += coord[D] * (typename C::Index)C::A_BATCH_STRIDES[D];
    if constexpr (C::B_BATCH_STRIDES[D] != 0)
      bOff += coord[D] * (typename C::Index)C::B_BATCH_STRIDES[D];
    ffma_batch_offsets<C, D + 1>(coord, aOff, bOff);
  }
}

template <class C, class Acc, class LoadA, class LoadB, class LoadBias, class Store, class Epilogue>
__device__ __forceinline__ void ffma_gemm(LoadA loadA, LoadB loadB, LoadBias loadBias, Store store,
                                          Epilogue epilogue) {
  typedef typename C::Index ix;
  constexpr int BM = 64, BN = 64, BK = 16, NT = 256;
  __shared__ Acc As[BK][BM + 1]; // +1: no bank conflicts on transposed stores
  __shared__ Acc Bs[BK][BN + 1];
  const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
  // M tiles on grid.x (no 65535 limit: M = tokens can be large), N on grid.y.
  const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
  for (int bz = blockIdx.z; bz < C::BATCH; bz += gridDim.z) {
    // Batch offsets of A and B over the (coalesced) batch dims; broadcast
    // dims have stride 0.
    ix aOff = 0, bOff = 0;
    if constexpr (C::BATCH_RANK > 0) {
      ix coord[C::BATCH_RANK];
      ix rest = bz;
      ffma_batch_coords<C, C::BATCH_RANK - 1>(rest, coord);
      ffma_batch_offsets<C, 0>(coord, aOff, bOff);
    }
    Acc acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j)
        acc[i][j] = 0;
    for (int k0 = 0; k0 < C::K; k0 += BK) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int lin = threadIdx.x + NT * e;
        // Consecutive threads walk each operand's contiguous dim.
        const int am = C::TRANS_A ? lin & 63 : lin >> 4, ak = C::TRANS_A ? lin >> 6 : lin & 15;
        const int gm = m0 + am, gka = k0 + ak;
        As[ak][am] = (gm < C::M && gka < C::K) ? loadA(C::TRANS_A ? aOff + (ix)gka * C::M + gm
                                                                  : aOff + (ix)gm * C::K + gka)
                                               : (Acc)0;
        const int bn = C::TRANS_B ? lin >> 4 : lin & 63, bk = C::TRANS_B ? lin & 15 : lin >> 6;
        const int gn = n0 + bn, gkb = k0 + bk;
        Bs[bk][bn] = (gkb < C::K && gn < C::N) ? loadB(C::TRANS_B ? bOff + (ix)gn * C::K + gkb
                                                                  : bOff + (ix)gkb * C::N + gn)
                                               : (Acc)0;
      }
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < BK; ++kk) {
        Acc a[4], b[4];
#pragma unroll
        for (int i = 0; i < 4; ++i)
          a[i] = As[kk][ty + 16 * i];
#pragma unroll
        for (int j = 0; j < 4; ++j)
          b[j] = Bs[kk][tx + 16 * j];
#pragma unroll
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 4; ++j)
            acc[i][j] += a[i] * b[j];
      }
      __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int m = m0 + ty + 16 * i;
      if (m >= C::M)
        break;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int n = n0 + tx + 16 * j;
        if (n >= C::N)
          break;
        Acc v = acc[i][j];
        if constexpr (C::HAS_ALPHA)
          v = C::ALPHA * acc[i][j];
        if constexpr (C::HAS_BIAS) {
          const ix cIdx = (ix)m * C::BIAS_STRIDE_M + (ix)n * C::BIAS_STRIDE_N;
          if constexpr (C::HAS_BETA)
            v = v + C::BETA * loadBias(cIdx);
          else
            v = v + loadBias(cIdx);
        }
        if constexpr (C::EPILOGUE)
          v = epilogue(v, bz, m, n);
        store(((ix)bz * C::M + m) * C::N + n, v);
      }
    }
  }
}

#endif // EFFC_DEVICE_FFMA_GEMM_CUH
