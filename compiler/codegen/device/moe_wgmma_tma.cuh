//===- moe_wgmma_tma.cuh - the grouped expert GEMM with TMA weights -------===//
//
// moe_grouped_wgmma_tma<C>: moe_grouped_wgmma (moe_wgmma.cuh: same
// operands, rows, launch grid, 128 x 256 x 64 tiles, wgmma fragments and
// epilogue, moe_wg_epilogue) warp-specialized as wgmma_gemm.cuh's
// wgmma_tma_gemm, with the operands on the tensor memory accelerator:
//
//  * CTA: 384 threads, warpgroup 0 the producer (setmaxnreg 40), 1 and 2
//    the consumers (232), each 64 rows of the 128-row tile; a ring of
//    C::STAGES stages, each with a `full` and an `empty` mbarrier.
//  * B (the weights [E, wRows, KD], wRows = GATED ? 2N : N) through one 3-D
//    tensor map (KD, wRows, E), box (64, 128, 1), 128-byte swizzle: two
//    boxes a stage, rows n0.. and (GATED: the up rows N + n0.., else
//    n0 + 128..), the expert the third coordinate.
//  * A read in place (down: h rows are positions; DENSE: token rows) through
//    a 3-D map (KD, rows, 1), box (64, 128, 1): the tile's rows p0 ..
//    p0 + 127; rows past p1 belong to the next expert (computed, never
//    stored), rows past the tensor are zero-filled by the TMA unit.
//  * A gathered (GATED over sorted rows: x's token of each position, which
//    TMA cannot gather on sm_90): the 128 producer threads copy it with
//    cp.async into the same swizzled layout (hop_sw128), the tile's token
//    rows read once into shared memory. Each producer thread publishes a
//    stage C::STAGES - 2 k-tiles after it issued it: it waits for that
//    cp.async group, fences the generic -> async proxy and arrives on the
//    stage's `full` (128 arrivals + the TMA thread's arrive.expect_tx).
//  * Consumers: wait `full`, 4 k16 wgmmas as one group, wait until only
//    that group is pending, release the previous stage (lane 0 of each
//    consumer warp arrives on its `empty`, 8 arrivals).
//  * The block finds its expert and rows with moe_find_tile (moe.cuh), as
//    moe_grouped_wgmma: one tile per block, grid (m-tiles bound, N tiles).
// C: moe_grouped_wgmma's (N, KD, T, K, E, BF16, DENSE, GATED, GELU, STAGES
// >= 3). Launch: grid (m-tiles bound, N / (GATED ? 128 : 256)), 384
// threads (__launch_bounds__(384, 1)), MOE_WGMMA_TMA_SMEM(STAGES) bytes;
// tmA (unused when gathering) and tmW the kernel's `const __grid_constant__`
// tensor maps (compiler/codegen/moe/MoEKernels.h: expertGemmTmaMaps).
//
#ifndef EFFC_DEVICE_MOE_WGMMA_TMA_CUH
#define EFFC_DEVICE_MOE_WGMMA_TMA_CUH

#include "moe_wgmma.cuh"

template <class C>
__device__ void moe_grouped_wgmma_tma(const void *A, const int *order, void *out,
                                      const HopTensorMap *tmA, const HopTensorMap *tmW) {
  constexpr int BM = MOE_MMA_BM, BN = MOE_WGMMA_BN, BK = MOE_WGMMA_BK, STAGES = C::STAGES,
                NACC = BN / 2;
  constexpr int A_BYTES = BM * BK * 2, STAGE_BYTES = (BM + BN) * BK * 2, KT = C::KD / BK;
  constexpr int COLS = C::GATED ? BN / 2 : BN;
  constexpr bool GATHER = C::GATED && !C::DENSE;
  // GATHER: a stage is published STAGES - 2 k-tiles after its loads.
  constexpr int LAG = STAGES - 2;
  static_assert(C::KD % BK == 0 && C::N % COLS == 0, "tile divisibility");
  static_assert(STAGES >= 3 && 2 * STAGES * 8 + BM * 4 <= 1024, "ring and barriers");
  MOE_DYN_SMEM(moe_wg_smem); // 128-aligned: the ring starts at the next 1024
  __shared__ int tileInfo[3];
  const unsigned smem = (smem_u32(moe_wg_smem) + 1023u) & ~1023u;
  const unsigned bars = smem + STAGES * STAGE_BYTES; // full[s], empty[s]
  // GATHER: the tile's BM token rows (-1: past the expert's rows).
  int *rowOf = (int *)(moe_wg_smem + (bars + 2 * STAGES * 8 - smem_u32(moe_wg_smem)));
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, wg = warp >> 2, wq = warp & 3;

  int e, p0, p1;
  if (!moe_block_rows<C, BM>(order, tileInfo, e, p0, p1))
    return;
  const int n0 = blockIdx.y * COLS;
  if (tid == 0) {
    if constexpr (!GATHER)
      hop_tma_prefetch_desc(tmA);
    hop_tma_prefetch_desc(tmW);
#pragma unroll 1
    for (int s = 0; s < STAGES; ++s) {
      hop_mbar_init(bars + 8 * s, GATHER ? 129 : 1);
      hop_mbar_init(bars + 8 * (STAGES + s), 8); // lane 0 of each consumer warp
    }
    hop_mbar_init_fence();
  }
  if constexpr (GATHER) {
    if (tid < BM) {
      const MoERows<C> rows;
      rowOf[tid] = p0 + tid < p1 ? rows.aRow(order, p0 + tid) : -1;
    }
  }
  __syncthreads();

  if (wg == 0) { // producer
    hop_setmaxnreg_dec<40>();
    // B rows: gate n0.. then (GATED) the up rows N + n0.., else n0 + 128..
    const int bRow1 = C::GATED ? C::N + n0 : n0 + 128;
    if constexpr (!GATHER) {
      if (tid == 0) {
#pragma unroll 1
        for (int kt = 0; kt < KT; ++kt) {
          const int stage = kt % STAGES;
          const unsigned full = bars + 8 * stage, st = smem + stage * STAGE_BYTES;
          hop_mbar_wait(bars + 8 * (STAGES + stage), ((kt / STAGES) & 1) ^ 1u);
          hop_mbar_arrive_expect_tx(full, STAGE_BYTES);
          hop_tma_load_3d(st, tmA, full, kt * BK, p0, 0);
          hop_tma_load_3d(st + A_BYTES, tmW, full, kt * BK, n0, e);
          hop_tma_load_3d(st + A_BYTES + A_BYTES, tmW, full, kt * BK, bRow1, e);
        }
      }
    } else {
      // Thread tid copies chunk c0 = tid % 8 of rows tid / 8 + 16 i.
      const int r0 = tid >> 3, c0 = tid & 7;
#pragma unroll 1
      for (int kt = 0; kt < KT + LAG; ++kt) {
        if (kt < KT) {
          const int stage = kt % STAGES;
          const unsigned full = bars + 8 * stage, st = smem + stage * STAGE_BYTES;
          hop_mbar_wait(bars + 8 * (STAGES + stage), ((kt / STAGES) & 1) ^ 1u);
          if (tid == 0) {
            hop_mbar_arrive_expect_tx(full, STAGE_BYTES - A_BYTES);
            hop_tma_load_3d(st + A_BYTES, tmW, full, kt * BK, n0, e);
            hop_tma_load_3d(st + A_BYTES + A_BYTES, tmW, full, kt * BK, bRow1, e);
          }
#pragma unroll
          for (int i = 0; i < 8; ++i) {
            const int row = rowOf[r0 + 16 * i];
            const char *src = (const char *)A;
            if (row >= 0)
              src += ((long long)row * C::KD + kt * BK + c0 * 8) * 2;
            cp_async16(st + hop_sw128(r0 + 16 * i, c0), src, row >= 0 ? 16 : 0);
          }
        }
        cp_async_commit();
        // k-tile kt - LAG's copies are complete (LAG groups younger).
        if (kt >= LAG) {
          cp_async_wait<LAG>();
          hop_fence_proxy_async_smem();
          hop_mbar_arrive(bars + 8 * ((kt - LAG) % STAGES));
        }
      }
    }
    return;
  }

  // consumers
  hop_setmaxnreg_inc<232>();
  const int cw = wg - 1;
  float acc[NACC];
#pragma unroll
  for (int i = 0; i < NACC; ++i)
    acc[i] = 0.f;
  int prev = -1;
#pragma unroll 1
  for (int kt = 0; kt < KT; ++kt) {
    const int stage = kt % STAGES;
    hop_mbar_wait(bars + 8 * stage, (kt / STAGES) & 1);
    const unsigned aS = smem + stage * STAGE_BYTES, bS = aS + A_BYTES;
    moe_wg_ktile<C, BN, BK>(acc, aS + cw * 64 * 128, bS);
    // The previous k-tile's wgmmas are complete: its stage may be refilled.
    if (prev >= 0 && lane == 0)
      hop_mbar_arrive(bars + 8 * (STAGES + prev));
    prev = stage;
  }
  hop_wgmma_wait<0>();
#pragma unroll
  for (int i = 0; i < NACC; ++i)
    hop_fence_operand(acc[i]);
  // (The last stage needs no release: the block ends.)
  moe_wg_epilogue<C>(acc, p0 + cw * 64, p1, n0, wq, lane, out);
}

#endif // EFFC_DEVICE_MOE_WGMMA_TMA_CUH
