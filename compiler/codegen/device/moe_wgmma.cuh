//===- moe_wgmma.cuh - the grouped expert GEMM on sm_90a wgmma ------------===//
//
// moe_grouped_wgmma<C>: moe.cuh's moe_grouped_mma (same operands, rows,
// launch grid and fused gate/up epilogue) with wgmma.mma_async instead of
// mma.sync, for sm_90a only (hopper.cuh). Block tile 128 x 256 x 64: two
// warpgroups of 64 rows, each one m64n256k16 per k16 slice with 128 fp32
// accumulators per thread; GATED, B rows 0..127 are the gate rows n0.. and
// 128..255 the up rows N + n0.., so accumulator i (< 64) and i + 64 are the
// gate and up values of one output (column 8 (i / 4) + 2 (lane % 4) + i % 2)
// and h = act(g) * u is written once. Operands arrive by cp.async (A rows are
// gathered by token, which TMA cannot do on sm_90) into 128-byte-swizzled
// k-tiles (hop_sw128, the layout wgmma's K-major descriptors read), a ring
// of C::STAGES stages with STAGES - 2 loads and one wgmma group in flight:
// the loop of wgmma_gemm.cuh's wgmma_gemm. The block finds its expert and
// rows with moe_find_tile (moe.cuh).
// C: N, KD, T, K, E, BF16, DENSE, GATED, GELU, STAGES (>= 3). Needs KD % 64
// == 0 and N % (GATED ? 128 : 256) == 0. Launch: grid (m-tiles bound, N /
// (GATED ? 128 : 256)), 256 threads, MOE_WGMMA_SMEM(STAGES) bytes.
//
#ifndef EFFC_DEVICE_MOE_WGMMA_CUH
#define EFFC_DEVICE_MOE_WGMMA_CUH

#include "hopper.cuh"
#include "moe.cuh"

// The epilogue of a warpgroup's 64 x 256 accumulators (rows from pw, of
// which those < p1 are stored; columns from n0): GATED, h = act(g) * u in
// 16 bits (accumulators i < 64 the gate, i + 64 the up values); else fp32.
// Accumulator i: row 16 wq + lane / 4 + 8 ((i / 2) % 2), column
// 8 (i / 4) + 2 (lane % 4) + i % 2 (hopper.cuh).
template <class C>
__device__ __forceinline__ void moe_wg_epilogue(const float *acc, int pw, int p1, int n0, int wq,
                                                int lane, void *out) {
  constexpr int NACC = 128;
#pragma unroll
  for (int i = 0; i < (C::GATED ? NACC / 2 : NACC); i += 2) {
    const int p = pw + 16 * wq + (lane >> 2) + 8 * ((i >> 1) & 1);
    const int col = n0 + 8 * (i >> 2) + 2 * (lane & 3);
    if (p >= p1)
      continue;
    if constexpr (C::GATED) {
      const float v0 = moe_act<C::GELU>(acc[i]) * acc[i + NACC / 2];
      const float v1 = moe_act<C::GELU>(acc[i + 1]) * acc[i + 1 + NACC / 2];
      ((u32 *)out)[((long long)p * C::N + col) >> 1] = pack2<C::BF16>(v0, v1);
    } else {
      *(float2 *)((float *)out + (long long)p * C::N + col) = make_float2(acc[i], acc[i + 1]);
    }
  }
}

// One k-tile of a consumer warpgroup: its 64 rows of the swizzled A stage
// (from aRows) times the BN-row B stage at bS, BK deep, into the 64 x BN
// accumulators; returns with this k-tile's wgmmas in flight and the k-tile
// before complete (its stage may be refilled).
template <class C, int BN, int BK>
__device__ __forceinline__ void moe_wg_ktile(float (&acc)[BN / 2], unsigned aRows, unsigned bS) {
#pragma unroll
  for (int i = 0; i < BN / 2; ++i)
    hop_fence_operand(acc[i]);
  hop_wgmma_fence();
#pragma unroll
  for (int ks = 0; ks < BK / 16; ++ks)
    hop_wgmma_m64k16<BN, C::BF16, false, false>(acc, hop_desc_sw128(aRows + ks * 32, 16, 1024),
                                                hop_desc_sw128(bS + ks * 32, 16, 1024), 1);
  hop_wgmma_commit();
  hop_wgmma_wait<1>();
#pragma unroll
  for (int i = 0; i < BN / 2; ++i)
    hop_fence_operand(acc[i]);
}

template <class C>
__device__ void moe_grouped_wgmma(const void *A, const void *W, const int *order, void *out) {
  constexpr int BM = MOE_MMA_BM, BN = MOE_WGMMA_BN, BK = MOE_WGMMA_BK, STAGES = C::STAGES,
                NACC = BN / 2;
  constexpr int A_BYTES = BM * BK * 2, STAGE_BYTES = (BM + BN) * BK * 2, KT = C::KD / BK;
  constexpr int COLS = C::GATED ? BN / 2 : BN;
  static_assert(C::KD % BK == 0 && C::N % COLS == 0, "tile divisibility");
  static_assert(STAGES >= 3, "STAGES - 2 loads in flight");
  MOE_DYN_SMEM(moe_wg_smem); // 128-aligned: the ring starts at the next 1024
  __shared__ int tileInfo[3];
  const unsigned smem = (smem_u32(moe_wg_smem) + 1023u) & ~1023u;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, wg = warp >> 2, wq = warp & 3;

  int e, p0, p1;
  if (!moe_block_rows<C, BM>(order, tileInfo, e, p0, p1))
    return;
  const int n0 = blockIdx.y * COLS;

  // Thread tid copies chunk c0 = tid % 8 of rows tid / 8 + 32 i (A: 4, B: 8).
  const int r0 = tid >> 3, c0 = tid & 7;
  const char *aSrc[4];
  bool aOk[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int p = p0 + r0 + 32 * i;
    aOk[i] = p < p1;
    int row = p;
    if (aOk[i] && C::GATED && !C::DENSE)
      row = order[C::E + 1 + p] / C::K;
    aSrc[i] = aOk[i] ? (const char *)A + ((long long)row * C::KD + c0 * 8) * 2 : (const char *)A;
  }
  const long long wRows = C::GATED ? 2LL * C::N : (long long)C::N;
  const char *bGate = (const char *)W + (((long long)e * wRows + n0 + r0) * C::KD + c0 * 8) * 2;
  const char *bUp = bGate + (C::GATED ? (long long)(C::N - BN / 2) * C::KD * 2 : 0LL);
  auto loadStage = [&](int kt, int stage) {
    const unsigned st = smem + stage * STAGE_BYTES;
    const long long koff = (long long)kt * BK * 2;
#pragma unroll
    for (int i = 0; i < 4; ++i)
      cp_async16(st + hop_sw128(r0 + 32 * i, c0), aOk[i] ? aSrc[i] + koff : aSrc[i],
                 aOk[i] ? 16 : 0);
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const char *src = (C::GATED && i >= 4 ? bUp : bGate) + (long long)i * 32 * C::KD * 2 + koff;
      cp_async16(st + A_BYTES + hop_sw128(r0 + 32 * i, c0), src, 16);
    }
  };

  float acc[NACC];
#pragma unroll
  for (int i = 0; i < NACC; ++i)
    acc[i] = 0.f;
#pragma unroll
  for (int s = 0; s < STAGES - 2; ++s) {
    if (s < KT)
      loadStage(s, s);
    cp_async_commit();
  }
#pragma unroll 1
  for (int kt = 0; kt < KT; ++kt) {
    // (STAGES-2)+kt groups committed; at most STAGES-3 pending completes tile kt.
    cp_async_wait<STAGES - 3>();
    hop_fence_proxy_async_smem();
    __syncthreads();
    const unsigned aS = smem + (kt % STAGES) * STAGE_BYTES, bS = aS + A_BYTES;
    moe_wg_ktile<C, BN, BK>(acc, aS + wg * 64 * 128, bS);
    // Tile kt-2's stage: every warpgroup waited for its wgmmas of kt-2
    // before this iteration's barrier.
    const int nk = kt + STAGES - 2;
    if (nk < KT)
      loadStage(nk, nk % STAGES);
    cp_async_commit();
  }
  hop_wgmma_wait<0>();
#pragma unroll
  for (int i = 0; i < NACC; ++i)
    hop_fence_operand(acc[i]);
  cp_async_wait<0>();

  moe_wg_epilogue<C>(acc, p0 + wg * 64, p1, n0, wq, lane, out);
}

#endif // EFFC_DEVICE_MOE_WGMMA_CUH
