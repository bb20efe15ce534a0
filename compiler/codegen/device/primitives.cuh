//===- primitives.cuh - device helpers shared by every kernel family ------===//
//
// Written once for every generated translation unit: integer typedefs, the
// kernel-entry macro, fp16/bf16 conversions, warp/block reductions, and the
// sm_80 data-path instructions (cp.async, ldmatrix, mma.sync) the attention
// and tensor-core GEMM templates use. Everything is inline PTX or plain
// arithmetic: NVRTC compiles it with no include path (a user with only the
// driver and libnvrtc can JIT it), and nvcc opens it as an ordinary header.
//
// Embedded into the compiler at build time (device/EmbedDeviceCode.cmake);
// the emitters concatenate the files (include guards, no #include resolution).
//
#ifndef EFFC_DEVICE_PRIMITIVES_CUH
#define EFFC_DEVICE_PRIMITIVES_CUH

typedef signed char i8;
typedef unsigned char u8;
typedef short i16;
typedef unsigned short u16;
typedef int i32;
typedef unsigned int u32;
typedef long long i64;
typedef unsigned long long u64;

// Every generated kernel is an unmangled entry point (the runtime looks it up
// by name): `EFFC_KERNEL void __launch_bounds__(N) name(...)`.
#define EFFC_KERNEL extern "C" __global__

#define EFFC_INF_F __int_as_float(0x7f800000)
#define EFFC_INF_D __longlong_as_double(0x7ff0000000000000LL)

// ---- 16-bit floats <-> float --------------------------------------------
// Two flavours, both round-to-nearest-even and equal on every non-NaN value:
// the plain names are bit operations that match the host kernels bit for bit
// (NaN payloads kept) on any architecture; the cvt_ names are one PTX cvt
// each (sm_80+ for bf16) for the mma kernels' loads and stores.

// IEEE binary16 <-> float, bit exact.
__device__ __forceinline__ float f16_to_f32(u16 h) {
  u32 sign = u32(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  if (exp == 0x1fu)
    return __uint_as_float(sign | 0x7f800000u | (mant << 13));
  if (exp != 0)
    return __uint_as_float(sign | ((exp + 112u) << 23) | (mant << 13));
  float f = float(mant) * 5.9604644775390625e-8f; // mant * 2^-24, exact
  return sign ? -f : f;
}
__device__ __forceinline__ u16 f32_to_f16(float f) {
  u32 x = __float_as_uint(f), sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u)
    return u16(sign | 0x7e00u); // NaN (quiet)
  if (ax >= 0x477ff000u)
    return u16(sign | 0x7c00u); // >= 65520: inf
  if (ax >= 0x38800000u) {      // normal half
    u32 v = ax - 0x38000000u, r = v >> 13, rem = v & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u)))
      ++r;
    return u16(sign | r);
  }
  if (ax < 0x33000000u)
    return u16(sign);                                                   // < 2^-25: zero
  u32 e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u, shift = 126u - e; // subnormal
  u32 r = m >> shift, rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
  if (rem > half || (rem == half && (r & 1u)))
    ++r;
  return u16(sign | r);
}
// bfloat16 <-> float (bf16 -> float is exact: a shift, one flavour only).
__device__ __forceinline__ float bf16_to_f32(u16 b) { return __uint_as_float(u32(b) << 16); }
__device__ __forceinline__ u16 f32_to_bf16(float f) {
  u32 x = __float_as_uint(f);
  if ((x & 0x7fffffffu) > 0x7f800000u)
    return u16((x >> 16) | 0x40u);
  x += 0x7fffu + ((x >> 16) & 1u);
  return u16(x >> 16);
}

// An element whose type is chosen at run time: the `dtype` argument of the
// runtime's own kernels (argmax_rows, expert_exchange, ring_attention.cuh;
// the host's number is runtime/src/cuda/RuntimeModule.h runtimeDtypeCode),
// read as and written from float with the bit-exact conversions above.
enum { EFFC_DT_F32 = 0, EFFC_DT_F16 = 1, EFFC_DT_BF16 = 2 };
__device__ __forceinline__ float load_dtype(const void *p, i64 i, int dtype) {
  if (dtype == EFFC_DT_F16)
    return f16_to_f32(((const u16 *)p)[i]);
  if (dtype == EFFC_DT_BF16)
    return bf16_to_f32(((const u16 *)p)[i]);
  return ((const float *)p)[i];
}
__device__ __forceinline__ void store_dtype(void *p, i64 i, int dtype, float v) {
  if (dtype == EFFC_DT_F16)
    ((u16 *)p)[i] = f32_to_f16(v);
  else if (dtype == EFFC_DT_BF16)
    ((u16 *)p)[i] = f32_to_bf16(v);
  else
    ((float *)p)[i] = v;
}

__device__ __forceinline__ float cvt_f16_to_f32(u16 h) {
  float f;
  asm("cvt.f32.f16 %0, %1;\n" : "=f"(f) : "h"(h));
  return f;
}
__device__ __forceinline__ u16 cvt_f32_to_f16(float f) {
  u16 r;
  asm("cvt.rn.f16.f32 %0, %1;\n" : "=h"(r) : "f"(f));
  return r;
}
__device__ __forceinline__ u16 cvt_f32_to_bf16(float f) {
  u16 r;
  asm("cvt.rn.bf16.f32 %0, %1;\n" : "=h"(r) : "f"(f));
  return r;
}
// Two floats -> one register of two 16-bit values (lo in the low half, the
// lower address), RNE. BF: bf16, else fp16.
template <bool BF> __device__ __forceinline__ u32 pack2(float lo, float hi) {
  u32 r;
  if constexpr (BF)
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
  else
    asm("cvt.rn.f16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}
// a * b + c on two 16-bit values at once (RNE; sm_80 for bf16). BF: bf16,
// else fp16.
template <bool BF> __device__ __forceinline__ u32 fma2(u32 a, u32 b, u32 c) {
  u32 r;
  if constexpr (BF)
    asm("fma.rn.bf16x2 %0, %1, %2, %3;\n" : "=r"(r) : "r"(a), "r"(b), "r"(c));
  else
    asm("fma.rn.f16x2 %0, %1, %2, %3;\n" : "=r"(r) : "r"(a), "r"(b), "r"(c));
  return r;
}
// fp32 bits -> tf32, round to nearest (ties away), as cuBLAS's TF32 mode.
__device__ __forceinline__ u32 cvt_tf32(u32 x) {
  u32 r;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(__uint_as_float(x)));
  return r;
}

// ---- reductions ---------------------------------------------------------
// MaxOp propagates NaN from either side (as the host kernels).
struct SumOp {
  template <class T> __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};
struct MaxOp {
  template <class T> __device__ __forceinline__ T operator()(T a, T b) const {
    return (a != a || a > b) ? a : b;
  }
};
struct MinOp {
  template <class T> __device__ __forceinline__ T operator()(T a, T b) const {
    return (a != a || a < b) ? a : b;
  }
};
template <class T, class F> __device__ __forceinline__ T warp_reduce(T v, F f) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    v = f(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
// Whole-block reduction; every thread gets the result. Safe to call back to
// back (the leading barrier protects the scratch from the previous call).
template <class T, class F> __device__ T block_reduce(T v, F f) {
  __shared__ T scratch[32];
  v = warp_reduce(v, f);
  __syncthreads();
  if ((threadIdx.x & 31) == 0)
    scratch[threadIdx.x >> 5] = v;
  __syncthreads();
  T r = scratch[0];
  for (int w = 1; w < int((blockDim.x + 31) >> 5); ++w)
    r = f(r, scratch[w]);
  return r;
}

// ---- shared memory, cp.async, ldmatrix, mma.sync (sm_80+) ---------------
// Shared-memory address of a generic pointer into shared memory.
__device__ __forceinline__ u32 smem_u32(const void *p) {
  u32 r;
  asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(r) : "l"(p));
  return r;
}

// 16-byte global->shared copy; the bytes past src_bytes (0..16) are zero
// filled (predicated edges, K tails).
__device__ __forceinline__ void cp_async16(u32 dst, const void *src, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
               "r"(src_bytes)
               : "memory");
}
// 16-byte global load of data read once (a decode GEMV's weights): the
// read-only path, not allocated in L1 (ld.global.nc.L1::no_allocate). Not
// volatile: independent loads issue back to back.
__device__ __forceinline__ uint4 ld_stream_v4(const void *p) {
  uint4 v;
  asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];\n"
      : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
      : "l"(p));
  return v;
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}
template <int N> __device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

__device__ __forceinline__ void st_shared_u32(u32 addr, u32 v) {
  asm volatile("st.shared.u32 [%0], %1;\n" ::"r"(addr), "r"(v) : "memory");
}
__device__ __forceinline__ void st_shared_v4(u32 addr, u32 a, u32 b, u32 c, u32 d) {
  asm volatile("st.shared.v4.u32 [%0], {%1, %2, %3, %4};\n" ::"r"(addr), "r"(a), "r"(b), "r"(c),
               "r"(d)
               : "memory");
}
__device__ __forceinline__ u32 ld_shared_u32(u32 addr) {
  u32 v;
  asm volatile("ld.shared.b32 %0, [%1];\n" : "=r"(v) : "r"(addr));
  return v;
}
__device__ __forceinline__ void ld_shared_v4(u32 addr, u32 &a, u32 &b, u32 &c, u32 &d) {
  asm volatile("ld.shared.v4.u32 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(a), "=r"(b), "=r"(c), "=r"(d)
               : "r"(addr)
               : "memory");
}

// Four 8x8 b16 matrices; lanes 8i..8i+7 give the row addresses of matrix i.
__device__ __forceinline__ void ldsm_x4(u32 &r0, u32 &r1, u32 &r2, u32 &r3, u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(addr));
}
__device__ __forceinline__ void ldsm_x4_t(u32 &r0, u32 &r1, u32 &r2, u32 &r3, u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(addr));
}

// D = A(16x16, row) * B(16x8, col) + D with fp32 accumulators; a: 4
// registers, b: 2. BF: bf16 operands, else fp16.
template <bool BF>
__device__ __forceinline__ void mma_m16n8k16(float *d, const u32 *a, const u32 *b) {
  if constexpr (BF)
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, "
                 "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  else
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, "
                 "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
// D = A(16x8, row) * B(8x8, col) + D, tf32 operands (cvt_tf32).
__device__ __forceinline__ void mma_m16n8k8_tf32(float *d, const u32 *a, const u32 *b) {
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, "
               "%7}, {%8, %9}, "
               "{%0, %1, %2, %3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

#endif // EFFC_DEVICE_PRIMITIVES_CUH
