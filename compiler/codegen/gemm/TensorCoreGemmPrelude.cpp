//===- TensorCoreGemmPrelude.cpp - device helpers of the mma.sync GEMM ----===//
//
// Everything is inline PTX or bit manipulation so the kernels compile with
// NVRTC and no include path (a user has only the driver and libnvrtc). All
// names carry the tcg_ prefix: the prelude shares a translation unit with
// effc's other kernels and their helpers.
//
#include "compiler/codegen/gemm/TensorCoreGemm.h"

namespace effc::codegen::tcgemm {

const std::string &tensorCoreGemmPrelude() {
  static const std::string text = R"CUDA(
#ifndef EFFC_TCGEMM_PRELUDE
#define EFFC_TCGEMM_PRELUDE
// ---- tensor-core GEMM helpers (sm_80+: cp.async, ldmatrix, mma.sync) ----
__device__ __forceinline__ unsigned tcg_smem_u32(const void *p) {
  unsigned r;
  asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(r) : "l"(p));
  return r;
}
// 16-byte global->shared copy; bytes < 16 zero-fills the rest (edges, K tails).
__device__ __forceinline__ void tcg_cp_async16(unsigned dst, const void *src, int bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(bytes));
}
__device__ __forceinline__ void tcg_cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void tcg_cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}
__device__ __forceinline__ void tcg_sts128(unsigned dst, unsigned a, unsigned b, unsigned c, unsigned d) {
  asm volatile("st.shared.v4.b32 [%0], {%1, %2, %3, %4};\n" ::"r"(dst), "r"(a), "r"(b), "r"(c), "r"(d));
}
__device__ __forceinline__ unsigned tcg_lds32(unsigned addr) {
  unsigned v;
  asm volatile("ld.shared.b32 %0, [%1];\n" : "=r"(v) : "r"(addr));
  return v;
}
__device__ __forceinline__ void tcg_ldsm_x4(unsigned &r0, unsigned &r1, unsigned &r2, unsigned &r3, unsigned addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(addr));
}
__device__ __forceinline__ void tcg_ldsm_x4_t(unsigned &r0, unsigned &r1, unsigned &r2, unsigned &r3, unsigned addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(addr));
}
__device__ __forceinline__ void tcg_mma_bf16(float *d, const unsigned *a, const unsigned *b) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
               "{%0, %1, %2, %3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
__device__ __forceinline__ void tcg_mma_f16(float *d, const unsigned *a, const unsigned *b) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
               "{%0, %1, %2, %3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
__device__ __forceinline__ void tcg_mma_tf32(float *d, const unsigned *a, const unsigned *b) {
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
               "{%0, %1, %2, %3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
// fp32 bits -> tf32, round to nearest (ties away), as cuBLAS's TF32 mode.
__device__ __forceinline__ unsigned tcg_tf32(unsigned x) {
  unsigned r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(__uint_as_float(x)));
  return r;
}
// ---- element conversions (round to nearest even) ----
__device__ __forceinline__ float tcg_bf16_to_f32(unsigned short b) { return __uint_as_float((unsigned)b << 16); }
__device__ __forceinline__ float tcg_f16_to_f32(unsigned short h) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
  return f;
}
__device__ __forceinline__ unsigned short tcg_f32_to_bf16(float f) {
  unsigned short r;
  asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r) : "f"(f));
  return r;
}
__device__ __forceinline__ unsigned short tcg_f32_to_f16(float f) {
  unsigned short r;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(r) : "f"(f));
  return r;
}
// Two floats -> one 32-bit word, `lo` in the low half (lower address).
__device__ __forceinline__ unsigned tcg_pack_bf16x2(float lo, float hi) {
  unsigned r;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}
__device__ __forceinline__ unsigned tcg_pack_f16x2(float lo, float hi) {
  unsigned r;
  asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}
// ---- typed global loads/stores for the epilogue (element index i) ----
__device__ __forceinline__ float tcg_ld_f32(const void *p, long long i) { return ((const float *)p)[i]; }
__device__ __forceinline__ float tcg_ld_bf16(const void *p, long long i) {
  return tcg_bf16_to_f32(((const unsigned short *)p)[i]);
}
__device__ __forceinline__ float tcg_ld_f16(const void *p, long long i) {
  return tcg_f16_to_f32(((const unsigned short *)p)[i]);
}
__device__ __forceinline__ void tcg_st_f32(void *p, long long i, float v) { ((float *)p)[i] = v; }
__device__ __forceinline__ void tcg_st_bf16(void *p, long long i, float v) {
  ((unsigned short *)p)[i] = tcg_f32_to_bf16(v);
}
__device__ __forceinline__ void tcg_st_f16(void *p, long long i, float v) {
  ((unsigned short *)p)[i] = tcg_f32_to_f16(v);
}
// Pair stores: element i must be even-aligned (8 bytes for fp32, 4 for 16-bit).
__device__ __forceinline__ void tcg_st2_f32(void *p, long long i, float a, float b) {
  asm volatile("st.global.v2.f32 [%0], {%1, %2};\n" ::"l"((float *)p + i), "f"(a), "f"(b) : "memory");
}
__device__ __forceinline__ void tcg_st2_bf16(void *p, long long i, float a, float b) {
  ((unsigned *)p)[i >> 1] = tcg_pack_bf16x2(a, b);
}
__device__ __forceinline__ void tcg_st2_f16(void *p, long long i, float a, float b) {
  ((unsigned *)p)[i >> 1] = tcg_pack_f16x2(a, b);
}
// ---- epilogue activations (fp32) ----
__device__ __forceinline__ float tcg_gelu_erf(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }
__device__ __forceinline__ float tcg_gelu_tanh(float x) {
  return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
}
// x < 0 ? 0 : x keeps NaN (fmaxf would turn it into 0).
__device__ __forceinline__ float tcg_relu(float x) { return x < 0.0f ? 0.0f : x; }
__device__ __forceinline__ float tcg_silu(float x) { return x / (1.0f + expf(-x)); }
#endif // EFFC_TCGEMM_PRELUDE
)CUDA";
  return text;
}

} // namespace effc::codegen::tcgemm
