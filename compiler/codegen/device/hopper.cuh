//===- hopper.cuh - sm_90a building blocks: wgmma, mbarrier, TMA ---------===//
//
// The Hopper-only instructions the wgmma GEMM (wgmma_gemm.cuh) and later
// Hopper kernels use, as inline PTX. Everything here needs the sm_90a target
// (wgmma, setmaxnreg) or sm_90 (mbarrier tx-count, cp.async.bulk.tensor);
// the emitters include this file only in kernels chosen for sm_90a, and
// nothing here is instantiated unless a kernel calls it (nvcc/NVRTC for
// sm_80 see only uncalled inline functions and templates).
//
// References are to sections of the PTX ISA (CUDA 13 documentation), by
// name: "Asynchronous Warpgroup Level Matrix Shared Memory Layout" (swizzling
// modes, "Matrix Descriptor Format"), "wgmma.mma_async", "wgmma.fence",
// "wgmma.commit_group", "wgmma.wait_group", "mbarrier", "membar/fence"
// (fence.proxy.async), "cp.async.bulk.tensor", "setmaxnreg".
//
#ifndef EFFC_DEVICE_HOPPER_CUH
#define EFFC_DEVICE_HOPPER_CUH

#include "primitives.cuh"

// ---- begin layout (host-checkable: plain integer C++; bench/gemm/wgmmacheck.py) ----
// 128-byte swizzle.
// The layout wgmma reads with swizzle mode 1 ("128B") and TMA writes with
// CU_TENSOR_MAP_SWIZZLE_128B: rows of 128 bytes, 8 rows (1024 bytes) per
// swizzle atom, the 16-byte chunk index XORed with the row index mod 8
// (address bits [4:6] ^= bits [7:9]; CUTLASS Swizzle<3,4,3>). The atom must
// start at a 1024-byte aligned shared address: the XOR uses absolute address
// bits, so the tile bases below are 1024-aligned and the matrix base offset
// of the descriptor stays 0.
__host__ __device__ __forceinline__ constexpr unsigned hop_sw128(unsigned row, unsigned chunk) {
  return row * 128u + ((chunk ^ (row & 7u)) << 4);
}

// ---- wgmma matrix descriptor --------------------------------------------
// PTX ISA "Matrix Descriptor Format" (wgmma shared memory layout), 64 bits:
//   bits  0-13  start address >> 4 (shared::cta address)
//   bits 16-29  leading dimension byte offset (LBO) >> 4
//   bits 32-45  stride dimension byte offset (SBO) >> 4
//   bits 49-51  matrix base offset (0: atoms 1024-aligned)
//   bits 62-63  swizzle mode: 0 none, 1 128B, 2 64B, 3 32B
// For 128B swizzle (CUTLASS make_gmma_desc, canonical layouts in 16-byte
// units, T = 8 elements of 16 bits per 16 bytes):
//   K-major : ((8,m),(T,2)):((8T,SBO),(1,T)) -> SBO = byte step between
//             8-row groups along M/N (1024 for dense 128-byte rows); LBO
//             unused (set to 16 bytes, encoded 1); the k16 slices of a
//             64-wide k-tile start 32 bytes apart inside the swizzled row.
//   MN-major: ((T,8,m),(8,k)):((1,T,LBO),(8T,SBO)) -> LBO = byte step between
//             64-element (128-byte) blocks along M/N, SBO = byte step between
//             8-row groups along K (1024); k16 slices start 2048 bytes apart.
__host__ __device__ __forceinline__ u64 hop_desc_sw128(u32 smemAddr, u32 lboBytes, u32 sboBytes) {
  return (u64)((smemAddr >> 4) & 0x3FFFu) | ((u64)((lboBytes >> 4) & 0x3FFFu) << 16) |
         ((u64)((sboBytes >> 4) & 0x3FFFu) << 32) | ((u64)1 << 62);
}
// ---- end layout ----

// ---- wgmma ordering ("wgmma.fence", "wgmma.commit_group", "wgmma.wait_group")
// wgmma.fence: before the first wgmma.mma_async of a warpgroup and whenever
// its accumulator registers (or A registers) were touched by other
// instructions since.
__device__ __forceinline__ void hop_wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
// Close the warpgroup's outstanding wgmma.mma_async ops into one group.
__device__ __forceinline__ void hop_wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
// Wait until at most N groups are pending.
template <int N> __device__ __forceinline__ void hop_wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// Pins an accumulator register at this point of the program (no
// instruction): without it the compiler may move reads of an accumulator
// across wgmma.wait_group, which it cannot see writes the register.
__device__ __forceinline__ void hop_fence_operand(float &r) {
  asm volatile("" : "+f"(r)::"memory");
}

// ---- wgmma.mma_async m64nNk16, fp32 accumulate, A and B from shared memory
// PTX ISA "wgmma.mma_async": operands d, a-desc, b-desc, scale-d,
// imm-scale-a, imm-scale-b, imm-trans-a, imm-trans-b. d: N/2 fp32 registers
// per thread; D = A*B + (scaleD ? D : 0). imm-trans: 0 = K-major (A stored
// [M][K], B stored [N][K]), 1 = MN-major (A stored [K][M], B stored [K][N]);
// transposes exist for 16-bit types only. Accumulator fragment (PTX "Matrix
// fragments for wgmma .m64nNk16", register i of warp w = warp % 4 of the
// warpgroup, lane l): row 16*w + l/4 + 8*((i/2)%2), column 8*(i/4) + 2*(l%4)
// + i%2 (the mma.sync m16n8 C layout repeated over N/8).
template <int N, bool BF, bool TRANS_A, bool TRANS_B>
__device__ __forceinline__ void hop_wgmma_m64k16(float *d, u64 descA, u64 descB, int scaleD) {
  static_assert(N == 64 || N == 128 || N == 256, "wgmma N in {64, 128, 256} here");
  if constexpr (N == 64 && BF)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, "
                 "%6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, "
                 "%23, %24, %25, %26, %27, %28, %29, %30, %31}, "
                 "%32, %33, p, 1, 1, %35, %36;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]),
                   "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]),
                   "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]),
                   "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
                   "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]),
                   "+f"(d[30]), "+f"(d[31])
                 : "l"(descA), "l"(descB), "r"(scaleD), "n"(TRANS_A ? 1 : 0), "n"(TRANS_B ? 1 : 0));
  else if constexpr (N == 64 && !BF)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {%0, %1, %2, %3, %4, %5, %6, "
                 "%7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, "
                 "%23, %24, %25, %26, %27, %28, %29, %30, %31}, "
                 "%32, %33, p, 1, 1, %35, %36;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]),
                   "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]),
                   "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]),
                   "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
                   "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]),
                   "+f"(d[30]), "+f"(d[31])
                 : "l"(descA), "l"(descB), "r"(scaleD), "n"(TRANS_A ? 1 : 0), "n"(TRANS_B ? 1 : 0));
  else if constexpr (N == 128 && BF)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, "
                 "%6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, "
                 "%23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, "
                 "%39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, "
                 "%55, %56, %57, %58, %59, %60, %61, %62, %63}, "
                 "%64, %65, p, 1, 1, %67, %68;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]),
                   "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]),
                   "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]),
                   "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
                   "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]),
                   "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]),
                   "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]),
                   "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
                   "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]),
                   "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]),
                   "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
                 : "l"(descA), "l"(descB), "r"(scaleD), "n"(TRANS_A ? 1 : 0), "n"(TRANS_B ? 1 : 0));
  else if constexpr (N == 128 && !BF)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 {%0, %1, %2, %3, %4, %5, %6, "
                 "%7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, "
                 "%23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, "
                 "%39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, "
                 "%55, %56, %57, %58, %59, %60, %61, %62, %63}, "
                 "%64, %65, p, 1, 1, %67, %68;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]),
                   "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]),
                   "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]),
                   "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
                   "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]),
                   "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]),
                   "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]),
                   "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
                   "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]),
                   "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]),
                   "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
                 : "l"(descA), "l"(descB), "r"(scaleD), "n"(TRANS_A ? 1 : 0), "n"(TRANS_B ? 1 : 0));
  else if constexpr (N == 256 && BF)
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, "
        "%8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, "
        "%26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, "
        "%44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, "
        "%62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, "
        "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, "
        "%98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, "
        "%113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, "
        "%127}, "
        "%128, %129, p, 1, 1, %131, %132;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
          "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
          "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]),
          "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]),
          "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]),
          "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]),
          "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]),
          "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
          "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]),
          "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]),
          "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]),
          "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]),
          "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]),
          "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), "+f"(d[97]),
          "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]),
          "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]),
          "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]),
          "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]), "+f"(d[121]),
          "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
        : "l"(descA), "l"(descB), "r"(scaleD), "n"(TRANS_A ? 1 : 0), "n"(TRANS_B ? 1 : 0));
  else if constexpr (N == 256 && !BF)
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, "
        "%9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, "
        "%27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, "
        "%45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, "
        "%63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, "
        "%81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, "
        "%99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, "
        "%114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, "
        "%128, %129, p, 1, 1, %131, %132;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
          "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
          "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]),
          "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]),
          "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]),
          "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]),
          "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]),
          "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
          "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]),
          "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]),
          "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]),
          "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]),
          "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]),
          "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), "+f"(d[97]),
          "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]),
          "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]),
          "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]),
          "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]), "+f"(d[121]),
          "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
        : "l"(descA), "l"(descB), "r"(scaleD), "n"(TRANS_A ? 1 : 0), "n"(TRANS_B ? 1 : 0));
}

// ---- proxies ("membar/fence": fence.proxy.async) ------------------------
// Shared memory written through the generic proxy (st.shared, cp.async)
// that wgmma or TMA (the async proxy) reads next: each writing thread fences
// after its writes complete and before the barrier that publishes them.
__device__ __forceinline__ void hop_fence_proxy_async_smem() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// ---- mbarrier (PTX ISA "mbarrier") ----------------------------------------
// A 64-bit shared-memory barrier: `count` arrivals plus a transaction count
// (bytes that async copies still have to deliver) complete a phase.
__device__ __forceinline__ void hop_mbar_init(u32 bar, u32 count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
// Makes initialized barriers visible to the async proxy (TMA completes on
// them); then a __syncthreads before other threads use them.
__device__ __forceinline__ void hop_mbar_init_fence() {
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}
__device__ __forceinline__ void hop_mbar_arrive(u32 bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
// Arrive and add `bytes` to the phase's expected transaction count.
__device__ __forceinline__ void hop_mbar_arrive_expect_tx(u32 bar, u32 bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes)
               : "memory");
}
// Spin until the phase with this parity (0/1) has completed.
__device__ __forceinline__ void hop_mbar_wait(u32 bar, u32 parity) {
  asm volatile("{\n"
               ".reg .pred done;\n"
               "WAIT_%=:\n"
               "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
               "@!done bra WAIT_%=;\n"
               "}\n" ::"r"(bar),
               "r"(parity)
               : "memory");
}

// ---- TMA (PTX ISA "cp.async.bulk.tensor") ---------------------------------
// The 128-byte opaque CUtensorMap of cuda.h (64-byte aligned), as a kernel
// parameter type: `const __grid_constant__ HopTensorMap tm`.
struct __align__(64) HopTensorMap {
  unsigned long long bits[16];
};
// 2-D tile load global -> shared through a CUtensorMap (built on the host by
// cuTensorMapEncodeTiled, passed as a `const __grid_constant__` kernel
// parameter; tmap is its generic address). c0 is the innermost coordinate
// (elements), c1 the row. Completes `bytes` on the mbarrier; out-of-bounds
// elements are zero-filled. dst 128-byte aligned (1024 for 128B swizzle).
__device__ __forceinline__ void hop_tma_load_2d(u32 dst, const void *tmap, u32 bar, int c0,
                                                int c1) {
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes"
               " [%0], [%1, {%3, %4}], [%2];\n" ::"r"(dst),
               "l"(tmap), "r"(bar), "r"(c0), "r"(c1)
               : "memory");
}
// 3-D tile load: c2 the outermost coordinate (the GEMM's batch).
__device__ __forceinline__ void hop_tma_load_3d(u32 dst, const void *tmap, u32 bar, int c0, int c1,
                                                int c2) {
  asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes"
               " [%0], [%1, {%3, %4, %5}], [%2];\n" ::"r"(dst),
               "l"(tmap), "r"(bar), "r"(c0), "r"(c1), "r"(c2)
               : "memory");
}
// Prefetch a tensor map's descriptor into the cache (once per CTA).
__device__ __forceinline__ void hop_tma_prefetch_desc(const void *tmap) {
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(tmap) : "memory");
}

// ---- thread block clusters (PTX ISA "mapa", "barrier.cluster", mbarrier
// with .cluster scope, ld.shared::cluster) --------------------------------
// All threads of every CTA of the cluster (none may have exited).
__device__ __forceinline__ void hop_cluster_sync() {
  asm volatile("barrier.cluster.arrive.release.aligned;\n"
               "barrier.cluster.wait.acquire.aligned;\n" ::
                   : "memory");
}
// The shared::cluster address of `addr` (this CTA's shared memory) in CTA `rank`.
__device__ __forceinline__ u32 hop_mapa(u32 addr, u32 rank) {
  u32 r;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;\n" : "=r"(r) : "r"(addr), "r"(rank));
  return r;
}
// Arrive (release at cluster scope) on an mbarrier of any CTA of the cluster.
__device__ __forceinline__ void hop_mbar_arrive_cluster(u32 clusterBar) {
  asm volatile("mbarrier.arrive.release.cluster.shared::cluster.b64 _, [%0];\n" ::"r"(clusterBar)
               : "memory");
}
// hop_mbar_wait with acquire at cluster scope (arrivals came from other CTAs).
__device__ __forceinline__ void hop_mbar_wait_cluster(u32 bar, u32 parity) {
  asm volatile("{\n"
               ".reg .pred done;\n"
               "WAIT_%=:\n"
               "mbarrier.try_wait.parity.acquire.cluster.shared::cta.b64 done, [%0], %1;\n"
               "@!done bra WAIT_%=;\n"
               "}\n" ::"r"(bar),
               "r"(parity)
               : "memory");
}
__device__ __forceinline__ void hop_ld_cluster_v4(u32 addr, float &a, float &b, float &c,
                                                  float &d) {
  asm volatile("ld.shared::cluster.v4.f32 {%0, %1, %2, %3}, [%4];\n"
               : "=f"(a), "=f"(b), "=f"(c), "=f"(d)
               : "r"(addr)
               : "memory");
}

// ---- register reallocation (PTX ISA "setmaxnreg", sm_90a) ------------------
// Warp-specialized kernels: producer warpgroups give registers back (dec),
// consumers take them (inc). Takes effect only under a register cap at entry
// (__launch_bounds__(threads, 1)); N is a multiple of 8 in [24, 256].
template <int N> __device__ __forceinline__ void hop_setmaxnreg_inc() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(N));
}
template <int N> __device__ __forceinline__ void hop_setmaxnreg_dec() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(N));
}

#endif // EFFC_DEVICE_HOPPER_CUH
