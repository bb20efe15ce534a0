//===- moe_tiles.cuh - the grouped expert GEMMs' tiles and shared memory --===//
//
// Plain C macros, no CUDA: the kernels (moe.cuh, moe_wgmma.cuh,
// moe_wgmma_tma.cuh), the host code that sizes their launches
// (compiler/codegen/moe/MoEKernels.cpp) and the CPU emulation
// (test/unit/codegen/MoEEmuTest.cpp) read the same numbers.
//
#ifndef EFFC_DEVICE_MOE_TILES_CUH
#define EFFC_DEVICE_MOE_TILES_CUH

// Rows of an expert tile, in every grouped GEMM (mma.sync, wgmma, TMA).
#define MOE_MMA_BM 128
// moe_grouped_mma: a ring of STAGES k-tiles, A [BM][BK] and B [BN][BK], 16-bit.
#define MOE_MMA_SMEM(BN, BK, STAGES) ((STAGES) * (MOE_MMA_BM + (BN)) * (BK) * 2)
// The wgmma kernels' block tile: MOE_MMA_BM x 256 x 64.
#define MOE_WGMMA_BN 256
#define MOE_WGMMA_BK 64
// 48 KiB a stage, + 1 KiB to align the ring to the 1024-byte swizzle atom.
#define MOE_WGMMA_SMEM(STAGES) ((STAGES) * (MOE_MMA_BM + MOE_WGMMA_BN) * MOE_WGMMA_BK * 2 + 1024)
// The TMA kernel: the ring, then its mbarriers and the gathered tile's A rows (1 KiB).
#define MOE_WGMMA_TMA_SMEM(STAGES) (MOE_WGMMA_SMEM(STAGES) + 1024)

#endif // EFFC_DEVICE_MOE_TILES_CUH
