//===- wgmma_gemm.cuh - the sm_90a warpgroup-MMA GEMM template ------------===//
//
// wgmma_gemm<C>(...) is the Hopper GEMM kernel body for 16-bit operands
// (bf16/fp16, fp32 accumulate); the emitter (compiler/codegen/gemm/
// WgmmaGemm.cpp) writes the config struct C (the same static constexpr
// facts as tcg_gemm's, plus the tile), the fused epilogue lambda and the
// EFFC_KERNEL wrapper. Structure (first milestone of issue 16):
//
//  * CTA: BM/64 warpgroups (128 threads each); warpgroup g owns rows
//    [64g, 64g+64) of the BM x BN tile and issues wgmma.mma_async
//    m64nBNk16 for them (BN in {64, 128, 256}).
//  * Global -> shared: every thread issues 16-byte cp.async.cg into a
//    STAGES-deep ring of 64-wide k-tiles, written in the 128-byte-swizzled
//    layout wgmma reads (hopper.cuh: hop_sw128). Out-of-range rows and the
//    K/M/N tails are zero-filled through cp.async's src-size operand, so
//    the operands' rows must be 16-byte aligned (the emitter checks).
//  * Shared layout per operand and stage (1024-byte aligned):
//      K-major (A [M][K], B [N][K]): MN rows of 128 bytes (64 k), 8-row
//        swizzle atoms, descriptor SBO 1024, k16 slice s at +32*s bytes.
//      MN-major (A [K][M], B [K][N]): blocks of 64 MN elements; each block
//        is 64 k rows of 128 bytes (8 KiB), descriptor LBO 8192 (next
//        block along MN), SBO 1024 (next 8 k rows), k16 slice s at
//        +2048*s bytes; wgmma's imm-trans bit set.
//  * Pipeline: prefetch distance STAGES-2. Iteration kt waits for tile kt's
//    cp.async group, fences the generic->async proxy, __syncthreads, issues
//    the 4 k16 wgmmas of tile kt as one group, waits until only that group
//    is pending (tile kt-1 consumed by this warpgroup), then refills the
//    stage of tile kt-2, which every warpgroup finished before the barrier.
//  * Epilogue in registers from the wgmma accumulator fragment (hopper.cuh):
//    alpha, bias (beta), the fused epilogue functor, cast, predicated pair
//    stores (tcg_epilogue_value, tcg_st2 of tensor_core_gemm.cuh).
//  * CTA order: grouped raster (8 tile-rows per group), as tcg_gemm.
//
// wgmma_tma_gemm (below) is the TMA warp-specialized persistent variant;
// this cp.async kernel stays the fallback where no tensor maps are passed.
// Its ping-pong schedule (C::PINGPONG) is a selectable variant. Next step:
// a shared-memory staged (TMA store) epilogue.
//
#ifndef EFFC_DEVICE_WGMMA_GEMM_CUH
#define EFFC_DEVICE_WGMMA_GEMM_CUH

#include "hopper.cuh"
#include "tensor_core_gemm.cuh"

// The dynamic shared memory (a macro so that the host emulation in
// test/unit/codegen/WgmmaTmaEmuTest.cpp can supply its own array).
#ifndef WG_DYN_SMEM
#define WG_DYN_SMEM(name) extern __shared__ __align__(1024) unsigned char name[]
#endif

// ---- begin layout (host-checkable: plain integer C++; bench/gemm/wgmmacheck.py) ----
/// The sizes every part of the kernel derives from the config.
template <class C> struct WgShape {
  static constexpr int BK = 64; // one 128-byte swizzled row of 16-bit elements
  static constexpr int WARPGROUPS = C::BM / 64, NT = 128 * WARPGROUPS;
  static constexpr int TILES_M = int(tcg_ceil_div(C::M, C::BM)),
                       TILES_N = int(tcg_ceil_div(C::N, C::BN));
  static constexpr int K_TILES = int(tcg_ceil_div(C::K, BK));
  static constexpr int A_BYTES = C::BM * 128, B_BYTES = C::BN * 128;
  static constexpr int STAGE_BYTES = A_BYTES + B_BYTES;
  static_assert(C::BM == 64 || C::BM == 128, "BM in {64, 128}");
  static_assert(C::BN == 64 || C::BN == 128 || C::BN == 256, "BN in {64, 128, 256}");
  static_assert(C::STAGES >= 3, "prefetch distance STAGES-2 needs 3 stages");
};

/// One operand's k-tile in shared memory. MN_TILE: BM (A) or BN (B).
template <class C, bool IS_A> struct WgOperand {
  typedef WgShape<C> S;
  static constexpr bool KCONTIG = IS_A ? !C::TRANS_A : C::TRANS_B;
  static constexpr int MN_TILE = IS_A ? C::BM : C::BN;
  static constexpr int MN_SIZE = IS_A ? C::M : C::N;
  static constexpr long long LD = IS_A ? C::LDA : C::LDB;
  static constexpr long long BATCH_STRIDE = IS_A ? C::BATCH_STRIDE_A : C::BATCH_STRIDE_B;
  // Global rows of the tile: MN (K-major) or k (MN-major); 16-byte chunks per row.
  static constexpr int ROWS = KCONTIG ? MN_TILE : S::BK;
  static constexpr int ROW_CHUNKS = KCONTIG ? 8 : MN_TILE / 8;
  static constexpr int CHUNKS = ROWS * ROW_CHUNKS, ITERS = CHUNKS / S::NT;
  static_assert(CHUNKS % S::NT == 0, "whole chunks per thread");
  static constexpr int ROW_LIMIT = KCONTIG ? MN_SIZE : C::K, COL_LIMIT = KCONTIG ? C::K : MN_SIZE;
  static constexpr bool ROWS_ALWAYS_VALID = ROW_LIMIT % ROWS == 0,
                        COLS_ALWAYS_FULL = COL_LIMIT % (ROW_CHUNKS * 8) == 0;

  /// Byte offset in the tile of the 16-byte chunk c of global tile row r.
  static __host__ __device__ __forceinline__ unsigned chunkOffset(int r, int c) {
    if constexpr (KCONTIG)
      return hop_sw128(r, c);
    else // block c/8 of 64 MN elements, 64 k rows each
      return (c >> 3) * (S::BK * 128) + hop_sw128(r, c & 7);
  }
  /// Global (row, column) of chunk c of tile row r in k-tile kt; mn0: the
  /// CTA's first m (A) or n (B). Element (row, col) is at ptr[row * LD + col].
  static __host__ __device__ __forceinline__ int globalRow(int r, int kt, int mn0) {
    return (KCONTIG ? mn0 : kt * S::BK) + r;
  }
  static __host__ __device__ __forceinline__ int globalCol(int c, int kt, int mn0) {
    return (KCONTIG ? kt * S::BK : mn0) + c * 8;
  }
  /// Descriptor of the k16 slice ks for MN rows [mn, mn + wgmma extent).
  static __host__ __device__ __forceinline__ u64 desc(unsigned tile, int mn, int ks) {
    if constexpr (KCONTIG)
      return hop_desc_sw128(tile + mn * 128 + ks * 32, 16, 1024);
    else
      return hop_desc_sw128(tile + (mn / 64) * (S::BK * 128) + ks * 16 * 128, S::BK * 128, 1024);
  }
};

// ---- end layout ----

/// cp.async of one operand's k-tile kt into the shared tile at `tile`; ptr
/// is the operand's batch base, mn0 the CTA's first m (A) or n (B).
template <class C, bool IS_A>
__device__ __forceinline__ void wg_load_tile(const char *ptr, unsigned tile, int tid, int kt,
                                             int mn0) {
  typedef WgShape<C> S;
  typedef WgOperand<C, IS_A> O;
#pragma unroll
  for (int i = 0; i < O::ITERS; ++i) {
    const int idx = tid + i * S::NT;
    const int r = idx / O::ROW_CHUNKS, c = idx % O::ROW_CHUNKS;
    const unsigned dst = tile + O::chunkOffset(r, c);
    const int gr = O::globalRow(r, kt, mn0), gc = O::globalCol(c, kt, mn0);
    if constexpr (O::ROWS_ALWAYS_VALID && O::COLS_ALWAYS_FULL) {
      cp_async16(dst, ptr + ((long long)gr * O::LD + gc) * 2, 16);
    } else {
      const bool rowOk = O::ROWS_ALWAYS_VALID || gr < O::ROW_LIMIT;
      const int rem = O::COL_LIMIT - gc;
      const int bytes = rowOk ? (rem >= 8 ? 16 : (rem > 0 ? rem * 2 : 0)) : 0;
      // No bytes read: any valid address will do, the base pointer is one.
      cp_async16(dst, bytes > 0 ? ptr + ((long long)gr * O::LD + gc) * 2 : ptr, bytes);
    }
  }
}

/// The epilogue of one warpgroup's 64 x BN accumulator fragment (rows
/// [row0, row0 + 64), columns [n0, n0 + BN)): alpha, bias, the fused
/// epilogue, cast and predicated (pair) stores to C of batch bz. Rows at or
/// past C::M, or with `runRows` (the TMA kernel of a RUNTIME_M config: the
/// run's M in shared memory) at or past *runRows, are not stored. *runRows
/// is read at each store: a register held through the epilogue spills the
/// 128x256 tile's consumers.
template <class C, class Epilogue>
__device__ __forceinline__ void
wg_store_tile(const float *acc, const char *biasb, char *Cb, long long bz, int row0, int n0,
              int lane, int wq, Epilogue &epilogue, const volatile int *runRows = nullptr) {
  constexpr bool PAIRS = C::LDC % 2 == 0 && (C::BATCH == 1 || ((long long)C::M * C::LDC) % 2 == 0);
  const int g = lane >> 2, t4 = lane & 3;
#pragma unroll
  for (int j = 0; j < C::BN / 8; ++j) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = row0 + wq * 16 + h * 8 + g;
      const int col = n0 + j * 8 + t4 * 2;
      const bool rowOk = runRows ? row < *runRows : (C::M % C::BM == 0 || row < C::M);
      if (rowOk && (C::N % C::BN == 0 || col < C::N)) {
        float v0 = acc[j * 4 + 2 * h], v1 = acc[j * 4 + 2 * h + 1];
        const bool has1 = C::N % 2 == 0 || col + 1 < C::N;
        v0 = tcg_epilogue_value<C>(v0, biasb, bz, row, col, epilogue);
        if (has1)
          v1 = tcg_epilogue_value<C>(v1, biasb, bz, row, col + 1, epilogue);
        const long long ci = (long long)row * C::LDC + col;
        if constexpr (PAIRS) {
          if (has1)
            tcg_st2<C::Y_TYPE>(Cb, ci, v0, v1);
          else
            tcg_st<C::Y_TYPE>(Cb, ci, v0);
        } else {
          tcg_st<C::Y_TYPE>(Cb, ci, v0);
          if (has1)
            tcg_st<C::Y_TYPE>(Cb, ci + 1, v1);
        }
      }
    }
  }
}

/// The kernel body: C[bz] = epilogue(alpha * opA(A[bz]) * opB(B[bz]) + beta * bias).
/// Launch: grid (TILES_M * TILES_N, 1, Z_GRID), NT threads, STAGES *
/// STAGE_BYTES + 1024 bytes of dynamic shared memory (the ring is aligned up
/// to 1024 bytes inside it). A RUNTIME_M config (one batch) reads the run's
/// M from `effc_dims`: the grouped raster is laid over its ceil(M / BM)
/// tile-rows (the first ceil(M / BM) * TILES_N CTAs cover them, later ones
/// exit at once) and rows past it are not stored.
template <class C, class Epilogue>
__device__ __forceinline__ void wgmma_gemm(const void *__restrict__ A_, const void *__restrict__ B_,
                                           const void *__restrict__ bias_, void *__restrict__ C_,
                                           Epilogue epilogue,
                                           const long long *__restrict__ effc_dims = nullptr) {
  typedef WgShape<C> S;
  typedef WgOperand<C, true> OA;
  typedef WgOperand<C, false> OB;
  constexpr bool BF = C::A_TYPE == TCG_BF16;
  constexpr int NACC = C::BN / 2; // fp32 accumulators per thread
  WG_DYN_SMEM(wg_smem);
  const unsigned smem = (smem_u32(wg_smem) + 1023u) & ~1023u;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wg = warp >> 2, wq = warp & 3; // warpgroup, warp within it
  // This run's row tiles: TILES_M, or (RUNTIME_M) those of the run's M.
  int runTilesM = S::TILES_M;
  __shared__ int wg_rows; // the run's M for the stores (RUNTIME_M)
  if constexpr (C::RUNTIME_M) {
    const long long r = min((long long)C::M, max(0ll, (long long)C::rows(effc_dims)));
    runTilesM = int(tcg_ceil_div(r, (long long)C::BM));
    if (tid == 0) // visible after the main loop's first barrier
      wg_rows = int(r);
  }
  int mTile = 0, nTile = 0;
  if (!tcg_raster(int(blockIdx.x), runTilesM, S::TILES_N, mTile, nTile))
    return; // past this run's rows: the whole CTA exits
  const int m0 = mTile * C::BM, n0 = nTile * C::BN;

  for (long long bz = blockIdx.z; bz < C::BATCH; bz += C::Z_GRID) {
    const char *Ab = (const char *)A_ + (C::BATCH == 1 ? 0 : bz * (OA::BATCH_STRIDE * 2));
    const char *Bb = (const char *)B_ + (C::BATCH == 1 ? 0 : bz * (OB::BATCH_STRIDE * 2));
    const char *biasb = (const char *)bias_;
    constexpr int Y_SIZE = C::Y_TYPE == TCG_F32 ? 4 : 2;
    char *Cb = (char *)C_ + (C::BATCH == 1 ? 0 : bz * ((long long)C::M * C::LDC * Y_SIZE));

    float acc[NACC];
#pragma unroll
    for (int i = 0; i < NACC; ++i)
      acc[i] = 0.f;

    // Prologue: STAGES-2 k-tiles in flight.
#pragma unroll
    for (int s = 0; s < C::STAGES - 2; ++s) {
      if (s < S::K_TILES) {
        const unsigned st = smem + s * S::STAGE_BYTES;
        wg_load_tile<C, true>(Ab, st, tid, s, m0);
        wg_load_tile<C, false>(Bb, st + S::A_BYTES, tid, s, n0);
      }
      cp_async_commit();
    }

    // Not unrolled: a static trip count invites full unrolling, which
    // hoists the loads' addresses of every k-tile into registers (spills).
#pragma unroll 1
    for (int kt = 0; kt < S::K_TILES; ++kt) {
      // (STAGES-2)+kt groups committed; at most STAGES-3 pending completes tile kt.
      cp_async_wait<C::STAGES - 3>();
      hop_fence_proxy_async_smem();
      __syncthreads();
      const unsigned aS = smem + (kt % C::STAGES) * S::STAGE_BYTES, bS = aS + S::A_BYTES;
#pragma unroll
      for (int i = 0; i < NACC; ++i)
        hop_fence_operand(acc[i]);
      hop_wgmma_fence();
#pragma unroll
      for (int ks = 0; ks < S::BK / 16; ++ks)
        hop_wgmma_m64k16<C::BN, BF, !OA::KCONTIG, !OB::KCONTIG>(acc, OA::desc(aS, wg * 64, ks),
                                                                OB::desc(bS, 0, ks), 1);
      hop_wgmma_commit();
      hop_wgmma_wait<1>();
#pragma unroll
      for (int i = 0; i < NACC; ++i)
        hop_fence_operand(acc[i]);
      {
        // Tile kt-2's stage: every warpgroup waited for its wgmmas before
        // this iteration's barrier.
        const int nk = kt + C::STAGES - 2;
        if (nk < S::K_TILES) {
          const unsigned st = smem + (nk % C::STAGES) * S::STAGE_BYTES;
          wg_load_tile<C, true>(Ab, st, tid, nk, m0);
          wg_load_tile<C, false>(Bb, st + S::A_BYTES, tid, nk, n0);
        }
        cp_async_commit();
      }
    }
    hop_wgmma_wait<0>();
#pragma unroll
    for (int i = 0; i < NACC; ++i)
      hop_fence_operand(acc[i]);
    // Empty groups may be pending; the next batch's prologue must not
    // overwrite stages another warpgroup still reads.
    cp_async_wait<0>();
    if constexpr (C::BATCH > C::Z_GRID)
      __syncthreads();

    wg_store_tile<C>(acc, biasb, Cb, bz, m0 + wg * 64, n0, lane, wq, epilogue,
                     C::RUNTIME_M ? (const volatile int *)&wg_rows : nullptr);
  }
}

// ---- the TMA warp-specialized persistent kernel -----------------------------
//
// wgmma_tma_gemm<C>: the same GEMM (config, shared layout, descriptors and
// epilogue as wgmma_gemm) with the loads on the tensor memory accelerator:
//
//  * CTA: 1 producer warpgroup (warpgroup 0) + BM/64 consumer warpgroups.
//    With 2 consumers the producer gives registers back (setmaxnreg 40) and
//    the consumers take them (232); the kernel is launched with
//    __launch_bounds__(NT, 1) so the cap at entry exists.
//  * One elected producer thread walks the same tile sequence as the
//    consumers and, per 64-wide k-tile, waits for the ring stage's `empty`
//    mbarrier, arms its `full` mbarrier with the stage's byte count and issues
//    the TMA loads (cp.async.bulk.tensor.3d; the third coordinate is the
//    batch). The tensor maps (built on the host, wgmma::tmaMaps in
//    WgmmaGemm.h) use 128-byte swizzle with a box of 64 elements x rows,
//    which writes exactly the K-major / MN-major layouts WgOperand describes;
//    the TMA unit zero-fills the M/N/K tails, so no edge code is needed.
//  * Consumers wait for `full`, issue the 4 k16 wgmmas of the stage as one
//    group, wait until only that group is pending and then release the
//    previous stage (one `empty` arrival per consumer warp).
//  * Persistent: grid = min(tiles, SMs / SPLIT) * SPLIT; cluster c takes
//    tiles c, c + clusters, ... (grouped raster of 8 tile-rows inside each
//    batch), so the producer loads the next tile's first stages while the
//    consumers run the epilogue of the current one.
//  * Runtime M (C::RUNTIME_M: M follows the symbolic dims; one batch): C::M
//    is the planned (largest) row count, which the tensor maps, tile and
//    split were chosen at; C::rows(effc_dims) is this run's. The tile walk
//    covers the run's row tiles only (TMA zero-fills past the maps' rows;
//    rows between the run's M and its last tile's end are read but never
//    stored), the epilogue stores rows < the run's M, and CTAs past the
//    run's tiles exit. The grid follows the run (Launch.grid_exprs), so the
//    split-K cluster lies along y there: grid (clusters, SPLIT, 1), cluster
//    (1, SPLIT, 1), rank = blockIdx.y.
//  * Split-K (C::SPLIT > 1, for skinny tiles counts): a cluster of SPLIT
//    CTAs (__cluster_dims__(SPLIT, 1, 1) on the kernel) shares each tile,
//    CTA rank r taking k-tiles [r K_TILES / SPLIT, (r+1) K_TILES / SPLIT).
//    The partial sums meet in distributed shared memory, no workspace: each
//    peer stores its fp32 fragment in its own reduction buffer and arrives
//    (release.cluster) on rank 0's `red_full` mbarrier; rank 0 waits,
//    adds the peers' buffers (ld.shared::cluster) into its registers, runs
//    the epilogue and arrives on each peer's `red_free`, which a peer waits
//    for before it writes the next tile's partials and before it exits.
//  * Ping-pong (C::PINGPONG, a selectable variant: GemmSpec.pingpong; the
//    schedule of CUTLASS's KernelTmaWarpSpecializedPingpong): the two
//    consumer warpgroups take alternate tiles of the CTA's walk, each the
//    whole BM x BN tile (BM/64 m64 wgmmas per k16 slice, BM x BN / 128
//    accumulators per thread, so BM x BN <= 128 x 128), so one warpgroup's
//    epilogue runs while the other's wgmmas keep the tensor cores busy. The
//    producer fills the ring in the same tile order; each stage is read by
//    one warpgroup (its `empty` counts 4 warps) and each warpgroup steps its
//    ring position over the other's tiles. The mainloops take turns (mbarrier
//    `turn[c]`, 128 arrivals: the other warpgroup passed its last `full`
//    wait), which also keeps every `full` wait within one phase of the
//    barrier (a warpgroup starting a tile early could otherwise pass a
//    parity wait on a stage's previous phase). No split-K (the emitter
//    falls back to the cooperative schedule where its rule splits).
/// C::PINGPONG, false for configs that do not declare it.
template <class C, class = void> struct WgPingpong {
  static constexpr bool value = false;
};
template <class C> struct WgPingpong<C, decltype(void(C::PINGPONG))> {
  static constexpr bool value = C::PINGPONG;
};

template <class C> struct WgTma {
  typedef WgShape<C> S;
  static constexpr bool PINGPONG = WgPingpong<C>::value;
  /// Consumer warpgroups, and the m64 blocks of rows each one computes.
  static constexpr int CONSUMERS = PINGPONG ? 2 : C::BM / 64, NT = 128 * (CONSUMERS + 1);
  static constexpr int MBLOCKS = PINGPONG ? C::BM / 64 : 1;
  static_assert(!PINGPONG || C::BM * C::BN <= 128 * 128,
                "ping-pong: one warpgroup's tile of at most 128 accumulators per thread");
  static_assert(!PINGPONG || C::SPLIT == 1, "ping-pong: no split-K");
  static constexpr long long TILES = (long long)S::TILES_M * S::TILES_N;
  static constexpr long long TOTAL = TILES * C::BATCH;
  static constexpr int SPLIT = C::SPLIT;
  static_assert(SPLIT >= 1 && SPLIT <= 8 && S::K_TILES >= SPLIT, "1..8 splits, a k-tile each");
  // 32-bit tile arithmetic: the producer runs on 40 registers.
  static_assert(TOTAL < (1ll << 31), "tiles x batch below 2^31");
  static_assert(!C::RUNTIME_M || C::BATCH == 1, "runtime M: one batch");
  /// The reduction buffer after the ring (SPLIT > 1): BM x BN fp32.
  static constexpr int RED_BYTES = SPLIT > 1 ? C::BM *C::BN * 4 : 0;
  /// Row tiles of this run: TILES_M, or those of the run's M (at most TILES_M).
  static __device__ __forceinline__ int tilesM(const long long *effc_dims) {
    if constexpr (C::RUNTIME_M)
      return int(min((long long)S::TILES_M,
                     max(0ll, tcg_ceil_div((long long)C::rows(effc_dims), (long long)C::BM))));
    else
      return S::TILES_M;
  }
  /// This run's rows: C::M, or the run's M (clamped to the planned C::M).
  static __device__ __forceinline__ int rows(const long long *effc_dims) {
    if constexpr (C::RUNTIME_M)
      return int(min((long long)C::M, max(0ll, (long long)C::rows(effc_dims))));
    else
      return C::M;
  }
};

/// The tile of persistent work item t: batch bz, first row m0, first column
/// n0, over tilesM row tiles (WgTma<C>::tilesM).
template <class C>
__device__ __forceinline__ void wg_tma_tile(int t, int tilesM, int &bz, int &m0, int &n0) {
  typedef WgShape<C> S;
  const int tiles = tilesM * S::TILES_N;
  bz = C::BATCH == 1 ? 0 : t / tiles; // (t < tiles when BATCH == 1)
  const int pid = C::BATCH == 1 ? t : t % tiles, group = pid / (8 * S::TILES_N), firstM = group * 8;
  const int gsz = min(tilesM - firstM, 8);
  m0 = (firstM + (pid % (8 * S::TILES_N)) % gsz) * C::BM;
  n0 = ((pid % (8 * S::TILES_N)) / gsz) * C::BN;
}

/// TMA loads of one operand's k-tile kt into `tile` (MN-major: one 64 x 64
/// box per 64-element block along M/N).
template <class C, bool IS_A>
__device__ __forceinline__ void wg_tma_operand(unsigned tile, const HopTensorMap *tm, unsigned bar,
                                               int kt, int mn0, int z) {
  typedef WgShape<C> S;
  typedef WgOperand<C, IS_A> O;
  if constexpr (O::KCONTIG) {
    hop_tma_load_3d(tile, tm, bar, kt * S::BK, mn0, z);
  } else {
#pragma unroll
    for (int b = 0; b < O::MN_TILE / 64; ++b)
      hop_tma_load_3d(tile + b * (S::BK * 128), tm, bar, mn0 + 64 * b, kt * S::BK, z);
  }
}

/// Launch: grid (min(TOTAL, SMs / SPLIT) * SPLIT) (RUNTIME_M: (clusters, SPLIT)),
/// WgTma<C>::NT threads, STAGES * STAGE_BYTES + RED_BYTES + 1024 bytes of
/// dynamic shared memory. tmA / tmB: the operands' tensor maps (kernel
/// parameters declared `const __grid_constant__`); effc_dims: the run's dims
/// (read by a RUNTIME_M config only).
template <class C, class Epilogue>
__device__ __forceinline__ void
wgmma_tma_gemm(const void *__restrict__ bias_, void *__restrict__ C_, const HopTensorMap *tmA,
               const HopTensorMap *tmB, Epilogue epilogue, const long long *effc_dims = nullptr) {
  typedef WgShape<C> S;
  typedef WgTma<C> T;
  typedef WgOperand<C, true> OA;
  typedef WgOperand<C, false> OB;
  constexpr bool BF = C::A_TYPE == TCG_BF16;
  constexpr int NACC = C::BN / 2; // fp32 accumulators per thread and m64 block
  WG_DYN_SMEM(wg_smem);
  // full[s], empty[s], then red_full, red_free (split-K), turn[2] (ping-pong)
  __shared__ __align__(8) unsigned long long wg_bars[2 * C::STAGES + 4];
  const unsigned smem = (smem_u32(wg_smem) + 1023u) & ~1023u;
  const unsigned bars = smem_u32(wg_bars);
  const unsigned redFull = bars + 8 * (2 * C::STAGES), redFree = redFull + 8;
  const unsigned turn = redFree + 8; // turn[c] = turn + 8 c
  const unsigned red = smem + C::STAGES * S::STAGE_BYTES;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wg = warp >> 2, wq = warp & 3;
  // The cluster lies along x (static) or y (RUNTIME_M: the grid's x follows the run).
  const int rank = T::SPLIT == 1 ? 0 : int(C::RUNTIME_M ? blockIdx.y : blockIdx.x % T::SPLIT);
  const int kBegin = rank * S::K_TILES / T::SPLIT, kEnd = (rank + 1) * S::K_TILES / T::SPLIT;
  const int firstTile = C::RUNTIME_M ? int(blockIdx.x) : int(blockIdx.x / T::SPLIT);
  const int tileStep = C::RUNTIME_M ? int(gridDim.x) : int(gridDim.x / T::SPLIT);
  // This run's row tiles and rows: constants, or (RUNTIME_M) read from
  // effc_dims once into shared memory and from there where used (registers
  // held through the epilogue spill the 128x256 tile's consumers).
  __shared__ int wg_run[2];
  auto tilesM = [&]() {
    if constexpr (C::RUNTIME_M)
      return *(volatile int *)&wg_run[0];
    else
      return S::TILES_M;
  };
  auto total = [&]() { return tilesM() * S::TILES_N * int(C::BATCH); };
  if (tid == 0) {
    if constexpr (C::RUNTIME_M) {
      wg_run[0] = T::tilesM(effc_dims);
      wg_run[1] = T::rows(effc_dims);
    }
    hop_tma_prefetch_desc(tmA);
    hop_tma_prefetch_desc(tmB);
#pragma unroll 1
    for (int s = 0; s < C::STAGES; ++s) {
      hop_mbar_init(bars + 8 * s, 1); // the producer's arrive + tx
      // One arrival per consumer warp reading the stage (ping-pong: one warpgroup).
      hop_mbar_init(bars + 8 * (C::STAGES + s), T::PINGPONG ? 4 : 4 * T::CONSUMERS);
    }
    if constexpr (T::PINGPONG) { // every thread of the other consumer
      hop_mbar_init(turn, 128);
      hop_mbar_init(turn + 8, 128);
    }
    // Every consumer thread of every peer / of rank 0 arrives once per tile.
    if constexpr (T::SPLIT > 1) { // (an arrival count of 0 is invalid)
      hop_mbar_init(redFull, (T::SPLIT - 1) * 128 * T::CONSUMERS);
      hop_mbar_init(redFree, 128 * T::CONSUMERS);
    }
    hop_mbar_init_fence();
  }
  if constexpr (T::SPLIT > 1)
    hop_cluster_sync(); // the peers' barriers are initialized before any remote arrival
  else
    __syncthreads();

  if (wg == 0) { // producer
    if constexpr (T::CONSUMERS == 2)
      hop_setmaxnreg_dec<40>();
    if (tid == 0) {
      int stage = 0;
      unsigned phase = 0;
#pragma unroll 1
      for (int t = firstTile; t < total(); t += tileStep) {
        int bz;
        int m0, n0;
        wg_tma_tile<C>(t, tilesM(), bz, m0, n0);
        const int zA = C::BATCH_STRIDE_A == 0 ? 0 : int(bz);
        const int zB = C::BATCH_STRIDE_B == 0 ? 0 : int(bz);
#pragma unroll 1
        for (int kt = kBegin; kt < kEnd; ++kt) {
          const unsigned full = bars + 8 * stage, empty = bars + 8 * (C::STAGES + stage);
          hop_mbar_wait(empty, phase ^ 1u); // a fresh barrier passes parity 1
          hop_mbar_arrive_expect_tx(full, S::STAGE_BYTES);
          const unsigned st = smem + stage * S::STAGE_BYTES;
          wg_tma_operand<C, true>(st, tmA, full, kt, m0, zA);
          wg_tma_operand<C, false>(st + S::A_BYTES, tmB, full, kt, n0, zB);
          if (++stage == C::STAGES) {
            stage = 0;
            phase ^= 1u;
          }
        }
      }
    }
    return;
  }

  // consumers
  if constexpr (T::CONSUMERS == 2)
    hop_setmaxnreg_inc<232>();
  // Cooperative: this consumer's 64 rows of the tile; ping-pong: its tiles.
  const int cw = wg - 1;
  const char *biasb = (const char *)bias_;
  constexpr int Y_SIZE = C::Y_TYPE == TCG_F32 ? 4 : 2;
  constexpr int ACC = NACC * T::MBLOCKS;
  const int ctid = tid - 128; // consumer thread index
  int stage = 0;
  unsigned phase = 0, redPhase = 0;
  bool reduced = false; // a peer's buffer was handed to rank 0 (and not yet freed)
  // Ping-pong: the ring position steps over the other warpgroup's tiles
  // (each kEnd - kBegin k-tiles); consumer 1 starts past consumer 0's first.
  auto skipTile = [&]() {
    constexpr int ST = C::STAGES;
    const int n = kEnd - kBegin, s = stage + n % ST;
    phase ^= unsigned((n / ST) & 1) ^ unsigned(s >= ST);
    stage = s >= ST ? s - ST : s;
  };
  unsigned turnPhase = 0;
  bool myTurn = cw == 0; // consumer 0 starts the first tile without waiting
  if constexpr (T::PINGPONG)
    if (cw == 1)
      skipTile();
#pragma unroll 1
  for (int t = firstTile + (T::PINGPONG ? cw * tileStep : 0); t < total();
       t += (T::PINGPONG ? 2 : 1) * tileStep) {
    int bz;
    int m0, n0;
    wg_tma_tile<C>(t, tilesM(), bz, m0, n0);
    char *Cb = (char *)C_ + (C::BATCH == 1 ? 0 : bz * ((long long)C::M * C::LDC * Y_SIZE));
    float acc[ACC];
#pragma unroll
    for (int i = 0; i < ACC; ++i)
      acc[i] = 0.f;
    if constexpr (T::PINGPONG) {
      if (!myTurn) { // the other warpgroup's mainloop passed its last `full` wait
        hop_mbar_wait(turn + 8 * cw, turnPhase);
        turnPhase ^= 1u;
      }
      myTurn = false;
    }
    int prev = -1;
#pragma unroll 1
    for (int kt = kBegin; kt < kEnd; ++kt) {
      hop_mbar_wait(bars + 8 * stage, phase);
      const unsigned aS = smem + stage * S::STAGE_BYTES, bS = aS + S::A_BYTES;
#pragma unroll
      for (int i = 0; i < ACC; ++i)
        hop_fence_operand(acc[i]);
      hop_wgmma_fence();
#pragma unroll
      for (int ks = 0; ks < S::BK / 16; ++ks) {
#pragma unroll
        for (int mb = 0; mb < T::MBLOCKS; ++mb)
          hop_wgmma_m64k16<C::BN, BF, !OA::KCONTIG, !OB::KCONTIG>(
              acc + mb * NACC, OA::desc(aS, T::PINGPONG ? mb * 64 : cw * 64, ks),
              OB::desc(bS, 0, ks), 1);
      }
      hop_wgmma_commit();
      hop_wgmma_wait<1>();
#pragma unroll
      for (int i = 0; i < ACC; ++i)
        hop_fence_operand(acc[i]);
      // The previous k-tile's wgmmas are complete: its stage may be refilled.
      if (prev >= 0 && lane == 0)
        hop_mbar_arrive(bars + 8 * (C::STAGES + prev));
      prev = stage;
      if (++stage == C::STAGES) {
        stage = 0;
        phase ^= 1u;
      }
    }
    if constexpr (T::PINGPONG) { // the other warpgroup's turn; this one's epilogue
      hop_mbar_arrive(turn + 8 * (1 - cw));
      skipTile();
    }
    hop_wgmma_wait<0>();
#pragma unroll
    for (int i = 0; i < ACC; ++i)
      hop_fence_operand(acc[i]);
    if (prev >= 0 && lane == 0)
      hop_mbar_arrive(bars + 8 * (C::STAGES + prev));
    if constexpr (T::SPLIT > 1) {
      // Fragment slot (cw, i/4) of this thread: 16 bytes, consecutive threads adjacent.
      const unsigned slot = red + (unsigned)(cw * (NACC / 4) * 128 + ctid % 128) * 16u;
      if (rank != 0) {
        if (reduced) // rank 0 has read the previous tile's partials
          hop_mbar_wait_cluster(redFree, redPhase ^ 1u);
#pragma unroll
        for (int i = 0; i < NACC / 4; ++i)
          st_shared_v4(slot + i * 128 * 16, __float_as_uint(acc[4 * i]),
                       __float_as_uint(acc[4 * i + 1]), __float_as_uint(acc[4 * i + 2]),
                       __float_as_uint(acc[4 * i + 3]));
        hop_mbar_arrive_cluster(hop_mapa(redFull, 0));
        reduced = true;
        redPhase ^= 1u;
        continue;
      }
      hop_mbar_wait_cluster(redFull, redPhase);
      redPhase ^= 1u;
#pragma unroll 1
      for (int r = 1; r < T::SPLIT; ++r) {
        const unsigned peer = hop_mapa(slot, r);
#pragma unroll
        for (int i = 0; i < NACC / 4; ++i) {
          float a, b, c, d;
          hop_ld_cluster_v4(peer + i * 128 * 16, a, b, c, d);
          acc[4 * i] += a;
          acc[4 * i + 1] += b;
          acc[4 * i + 2] += c;
          acc[4 * i + 3] += d;
        }
        hop_mbar_arrive_cluster(hop_mapa(redFree, r)); // this thread is done with peer r
      }
    }
#pragma unroll
    for (int mb = 0; mb < T::MBLOCKS; ++mb)
      wg_store_tile<C>(acc + mb * NACC, biasb, Cb, bz, m0 + (T::PINGPONG ? mb * 64 : cw * 64), n0,
                       lane, wq, epilogue,
                       C::RUNTIME_M ? (const volatile int *)&wg_run[1] : nullptr);
  }
  // A peer's shared memory must outlive rank 0's reads of it.
  if constexpr (T::SPLIT > 1)
    if (rank != 0 && reduced)
      hop_mbar_wait_cluster(redFree, redPhase ^ 1u);
}

#endif // EFFC_DEVICE_WGMMA_GEMM_CUH
