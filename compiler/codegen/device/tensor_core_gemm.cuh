//===- tensor_core_gemm.cuh - epilogue helpers of the mma.sync GEMM ------===//
//
// The tensor-core GEMM kernels (compiler/codegen/gemm/TensorCoreGemm.cpp)
// use the primitives' cp.async / ldmatrix / mma.sync and these typed global
// loads and stores in their epilogue (the fused elementwise chain is
// rendered into each kernel). Names carry the tcg_
// prefix: they share a translation unit with every other kernel family.
//
#ifndef EFFC_DEVICE_TENSOR_CORE_GEMM_CUH
#define EFFC_DEVICE_TENSOR_CORE_GEMM_CUH

#include "primitives.cuh"

// ---- typed global loads/stores for the epilogue (element index i) ----
__device__ __forceinline__ float tcg_ld_f32(const void *p, long long i) { return ((const float *)p)[i]; }
__device__ __forceinline__ float tcg_ld_bf16(const void *p, long long i) {
  return bf16_to_f32(((const unsigned short *)p)[i]);
}
__device__ __forceinline__ float tcg_ld_f16(const void *p, long long i) {
  return cvt_f16_to_f32(((const unsigned short *)p)[i]);
}
__device__ __forceinline__ void tcg_st_f32(void *p, long long i, float v) { ((float *)p)[i] = v; }
__device__ __forceinline__ void tcg_st_bf16(void *p, long long i, float v) {
  ((unsigned short *)p)[i] = cvt_f32_to_bf16(v);
}
__device__ __forceinline__ void tcg_st_f16(void *p, long long i, float v) {
  ((unsigned short *)p)[i] = cvt_f32_to_f16(v);
}
// Pair stores: element i must be even-aligned (8 bytes for fp32, 4 for 16-bit).
__device__ __forceinline__ void tcg_st2_f32(void *p, long long i, float a, float b) {
  asm volatile("st.global.v2.f32 [%0], {%1, %2};\n" ::"l"((float *)p + i), "f"(a), "f"(b) : "memory");
}
__device__ __forceinline__ void tcg_st2_bf16(void *p, long long i, float a, float b) {
  ((unsigned *)p)[i >> 1] = pack2<true>(a, b);
}
__device__ __forceinline__ void tcg_st2_f16(void *p, long long i, float a, float b) {
  ((unsigned *)p)[i >> 1] = pack2<false>(a, b);
}

#endif // EFFC_DEVICE_TENSOR_CORE_GEMM_CUH
