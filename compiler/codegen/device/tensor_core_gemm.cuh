//===- tensor_core_gemm.cuh - the mma.sync GEMM template -----------------===//
//
// tcg_gemm<C>(...) is the tensor-core GEMM kernel body; the emitter
// (compiler/codegen/gemm/TensorCoreGemm.cpp) writes only a config struct C of
// static constexpr facts (tile, dtypes, transposes, sizes, strides, alpha,
// bias, epilogue flag), the fused epilogue lambda and an EFFC_KERNEL wrapper,
// so NVRTC still folds every static size. Structure:
//
//  * Global -> shared: 16-byte cp.async.cg into a STAGES-deep ring, one
//    commit group per k-tile, one __syncthreads per k-tile. Out-of-range
//    rows and the tail of K/M/N are zero-filled by cp.async's src-size
//    operand. Operands whose rows are not 16-byte aligned fall back to
//    element loads packed into 16-byte shared stores.
//  * Shared layout: each operand tile is rows x chunks of 16 bytes, stored in
//    its global orientation (k-contiguous or m/n-contiguous); the chunk index
//    is XOR-swizzled with the row so the 8 rows an ldmatrix phase reads fall
//    in 8 different 16-byte bank groups.
//  * Fragments: ldmatrix.x4 (.trans for m/n-contiguous 16-bit tiles); fp32
//    m/n-contiguous tiles load 32-bit words with a swizzle that spreads the 4
//    k-rows of a fragment over all banks.
//  * Math: mma.sync m16n8k16 (bf16/fp16 -> fp32) or m16n8k8 TF32.
//  * Epilogue in registers: alpha, bias (beta), the fused epilogue functor,
//    cast, predicated stores (pairs where alignment allows).
//  * CTA order: grouped raster (8 tile-rows per group) so consecutive CTAs
//    share B panels in L2.
//
// The layout part (TcgOperand, TcgFragA/B: where each chunk lands, which
// shared address each lane's fragment load reads) is plain integer C++ that
// also compiles on the host: bench/gemm/fragcheck.py runs it for every tile
// shape and checks the fragments against the mma.sync layout. Names carry the
// tcg_ prefix: they share a translation unit with every other kernel family.
//
#ifndef EFFC_DEVICE_TENSOR_CORE_GEMM_CUH
#define EFFC_DEVICE_TENSOR_CORE_GEMM_CUH

#include "primitives.cuh"

// ---- typed global loads/stores for the epilogue (element index i) ----
__device__ __forceinline__ float tcg_ld_f32(const void *p, long long i) {
  return ((const float *)p)[i];
}
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
  asm volatile("st.global.v2.f32 [%0], {%1, %2};\n" ::"l"((float *)p + i), "f"(a), "f"(b)
               : "memory");
}
__device__ __forceinline__ void tcg_st2_bf16(void *p, long long i, float a, float b) {
  ((unsigned *)p)[i >> 1] = pack2<true>(a, b);
}
__device__ __forceinline__ void tcg_st2_f16(void *p, long long i, float a, float b) {
  ((unsigned *)p)[i >> 1] = pack2<false>(a, b);
}

// ---- begin layout (host-checkable: plain integer C++) ----
// Element types of the config (C::A_TYPE, Y_TYPE, BIAS_TYPE).
enum { TCG_F32 = 0, TCG_F16 = 1, TCG_BF16 = 2 };

__host__ __device__ constexpr int tcg_log2(long long v) { return v > 1 ? 1 + tcg_log2(v >> 1) : 0; }
__host__ __device__ constexpr long long tcg_ceil_div(long long a, long long b) {
  return (a + b - 1) / b;
}

/// The grouped raster (8 tile-rows per group walk all tilesN tile-columns,
/// so the CTAs resident at one time touch few B panels) of CTA `pid` over
/// `tilesM` tile-rows: its tile (mTile, nTile), or false past them. tilesM
/// is the run's (runtime rows: ceil(M / BM) of this run, at most the
/// planned), so CTAs 0 .. tilesM * tilesN - 1 cover its tiles once each.
__host__ __device__ __forceinline__ bool tcg_raster(int pid, int tilesM, int tilesN, int &mTile,
                                                    int &nTile) {
  if (pid >= tilesM * tilesN) // (the last group may hold fewer than 8 tile-rows)
    return false;
  const int group = pid / (8 * tilesN), firstM = group * 8;
  const int gsz = tilesM - firstM < 8 ? tilesM - firstM : 8;
  mTile = firstM + (pid % (8 * tilesN)) % gsz;
  nTile = (pid % (8 * tilesN)) / gsz;
  return true;
}

/// The sizes every part of the kernel derives from the config.
template <class C> struct TcgShape {
  static constexpr bool TF32 = C::A_TYPE == TCG_F32;
  static constexpr int ESZ = TF32 ? 4 : 2, EPC = 16 / ESZ, KSTEP = TF32 ? 8 : 16;
  static constexpr int NT = 32 * C::WARPS_M * C::WARPS_N;
  static constexpr int WARP_M = C::BM / C::WARPS_M, WARP_N = C::BN / C::WARPS_N;
  static constexpr int MI = WARP_M / 16, NI = WARP_N / 8;
  static constexpr int TILES_M = int(tcg_ceil_div(C::M, C::BM)),
                       TILES_N = int(tcg_ceil_div(C::N, C::BN));
  static constexpr int K_TILES = int(tcg_ceil_div(C::K, C::BK));
  static constexpr int Y_SIZE = C::Y_TYPE == TCG_F32 ? 4 : 2;
};

/// One operand's tile in shared memory and where it comes from. A stored
/// [M, K] is k-contiguous; B stored [N, K] (TRANS_B) is too.
template <class C, bool IS_A> struct TcgOperand {
  typedef TcgShape<C> S;
  static constexpr bool KCONTIG = IS_A ? !C::TRANS_A : C::TRANS_B;
  /// fp32 m/n-contiguous: fragments via 32-bit loads instead of ldmatrix.
  static constexpr bool WORD_LOADS = S::TF32 && !KCONTIG;
  static constexpr int MN_TILE = IS_A ? C::BM : C::BN;
  static constexpr int MN_SIZE = IS_A ? C::M : C::N;
  static constexpr int ROWS = KCONTIG ? MN_TILE : C::BK, COLS = KCONTIG ? C::BK : MN_TILE;
  static constexpr int ROW_CHUNKS = COLS / S::EPC, ROW_BYTES = ROW_CHUNKS * 16,
                       BYTES = ROWS * ROW_BYTES;
  static constexpr int CHUNKS = ROWS * ROW_CHUNKS, ITERS = int(tcg_ceil_div(CHUNKS, S::NT));
  // Element (row, col) of the tile is at ptr[row * LD + col]; rows valid below
  // ROW_LIMIT, columns below COL_LIMIT.
  static constexpr long long LD = IS_A ? C::LDA : C::LDB;
  static constexpr long long BATCH_STRIDE = IS_A ? C::BATCH_STRIDE_A : C::BATCH_STRIDE_B;
  static constexpr int ROW_LIMIT = KCONTIG ? MN_SIZE : C::K, COL_LIMIT = KCONTIG ? C::K : MN_SIZE;
  static constexpr bool ROWS_ALWAYS_VALID = ROW_LIMIT % ROWS == 0,
                        COLS_ALWAYS_FULL = COL_LIMIT % COLS == 0;
  static constexpr bool ALIGNED16 =
      (LD * S::ESZ) % 16 == 0 && (C::BATCH == 1 || (BATCH_STRIDE * S::ESZ) % 16 == 0);

  /// The chunk XOR for row r.
  static __host__ __device__ __forceinline__ int swizzle(int r) {
    constexpr int L = ROW_CHUNKS < 8 ? ROW_CHUNKS : 8;
    if constexpr (WORD_LOADS)
      return (r & 3) << 1;
    else if constexpr (L <= 1)
      return 0;
    else
      return (r >> tcg_log2(8 / L)) & (L - 1);
  }
  /// Chunk idx of a k-tile: its row and chunk in the tile, its byte offset
  /// in the operand's shared tile, its first element's global row/column.
  static __host__ __device__ __forceinline__ int chunkRow(int idx) {
    return idx >> tcg_log2(ROW_CHUNKS);
  }
  static __host__ __device__ __forceinline__ int chunkCol(int idx) {
    return idx & (ROW_CHUNKS - 1);
  }
  static __host__ __device__ __forceinline__ unsigned chunkDst(unsigned tile, int r, int c) {
    return tile + r * ROW_BYTES + ((c ^ swizzle(r)) << 4);
  }
  /// mn0: the CTA's first m (A) or n (B).
  static __host__ __device__ __forceinline__ int globalRow(int r, int kt, int mn0) {
    return (KCONTIG ? mn0 : kt * C::BK) + r;
  }
  static __host__ __device__ __forceinline__ int globalCol(int c, int kt, int mn0) {
    return (KCONTIG ? kt * C::BK : mn0) + c * S::EPC;
  }
};

/// A fragment (m16 x k) addresses: ldmatrix matrices (m0-7,k0) (m8-15,k0)
/// (m0-7,k1) (m8-15,k1); word loads a0 = A[g][t], a1 = A[g+8][t],
/// a2 = A[g][t+4], a3 = A[g+8][t+4]. Per-thread parts once (init), then the
/// shared byte offset (from the stage's A tile) per mi, k-step and register.
template <class C> struct TcgFragA {
  typedef TcgShape<C> S;
  typedef TcgOperand<C, true> O;
  int rowOff, pre, kOff;
  int col[S::MI][2];
  __host__ __device__ __forceinline__ void init(int lane, int wm) {
    const int lr = lane & 7; // row within an 8x8 ldmatrix matrix
    if constexpr (O::KCONTIG) {
      rowOff = (wm * S::WARP_M + lr + ((lane >> 3) & 1) * 8) * O::ROW_BYTES;
      pre = (((lane >> 4) & 1) ^ O::swizzle(lr)) << 4;
    } else if constexpr (!O::WORD_LOADS) {
      kOff = (lr + ((lane >> 4) & 1) * 8) * O::ROW_BYTES;
#pragma unroll
      for (int mi = 0; mi < S::MI; ++mi)
        col[mi][0] = ((wm * (S::WARP_M / 8) + mi * 2 + ((lane >> 3) & 1)) ^ O::swizzle(lr)) << 4;
    } else {
      kOff = (lane & 3) * O::ROW_BYTES;
#pragma unroll
      for (int mi = 0; mi < S::MI; ++mi)
#pragma unroll
        for (int h = 0; h < 2; ++h)
          col[mi][h] =
              (((wm * (S::WARP_M / 4) + mi * 4 + h * 2 + (lane >> 4)) ^ ((lane & 3) << 1)) << 4) +
              ((lane >> 2) & 3) * 4;
    }
  }
  /// ldmatrix row address of this lane (q unused), or word q's address, in
  /// the A tile at shared address aS.
  __host__ __device__ __forceinline__ unsigned addr(unsigned aS, int mi, int ks, int q) const {
    if constexpr (O::KCONTIG)
      return aS + rowOff + mi * (16 * O::ROW_BYTES) + (((ks * 2) << 4) ^ pre);
    else if constexpr (!O::WORD_LOADS)
      return aS + ks * (S::KSTEP * O::ROW_BYTES) + kOff + col[mi][0];
    else
      return aS + ks * (S::KSTEP * O::ROW_BYTES) + kOff + (q >> 1) * (4 * O::ROW_BYTES) +
             col[mi][q & 1];
  }
};

/// B fragment addresses: ldmatrix pairs of n8 fragments, matrices (n0-7,k0)
/// (n0-7,k1) (n8-15,k0) (n8-15,k1) -> b[2j][0], b[2j][1], b[2j+1][0],
/// b[2j+1][1] (index j = nj); word loads b0 = B[t][g], b1 = B[t+4][g] (index
/// j = ni).
template <class C> struct TcgFragB {
  typedef TcgShape<C> S;
  typedef TcgOperand<C, false> O;
  int rowOff, pre, kOff;
  int col[S::NI];
  __host__ __device__ __forceinline__ void init(int lane, int wn) {
    const int lr = lane & 7;
    if constexpr (O::KCONTIG) {
      rowOff = (wn * S::WARP_N + lr + ((lane >> 4) & 1) * 8) * O::ROW_BYTES;
      pre = (((lane >> 3) & 1) ^ O::swizzle(lr)) << 4;
    } else if constexpr (!O::WORD_LOADS) {
      kOff = (lr + ((lane >> 3) & 1) * 8) * O::ROW_BYTES;
#pragma unroll
      for (int nj = 0; nj < S::NI / 2; ++nj)
        col[nj] = ((wn * (S::WARP_N / 8) + nj * 2 + ((lane >> 4) & 1)) ^ O::swizzle(lr)) << 4;
    } else {
      kOff = (lane & 3) * O::ROW_BYTES;
#pragma unroll
      for (int ni = 0; ni < S::NI; ++ni)
        col[ni] = (((wn * (S::WARP_N / 4) + ni * 2 + (lane >> 4)) ^ ((lane & 3) << 1)) << 4) +
                  ((lane >> 2) & 3) * 4;
    }
  }
  __host__ __device__ __forceinline__ unsigned addr(unsigned bS, int j, int ks, int q) const {
    if constexpr (O::KCONTIG)
      return bS + rowOff + j * (16 * O::ROW_BYTES) + (((ks * 2) << 4) ^ pre);
    else if constexpr (!O::WORD_LOADS)
      return bS + ks * (S::KSTEP * O::ROW_BYTES) + kOff + col[j];
    else
      return bS + ks * (S::KSTEP * O::ROW_BYTES) + kOff + col[j] + q * (4 * O::ROW_BYTES);
  }
};
// ---- end layout ----

template <int T> __device__ __forceinline__ float tcg_ld(const void *p, long long i) {
  if constexpr (T == TCG_F32)
    return tcg_ld_f32(p, i);
  else if constexpr (T == TCG_F16)
    return tcg_ld_f16(p, i);
  else
    return tcg_ld_bf16(p, i);
}
template <int T> __device__ __forceinline__ void tcg_st(void *p, long long i, float v) {
  if constexpr (T == TCG_F32)
    tcg_st_f32(p, i, v);
  else if constexpr (T == TCG_F16)
    tcg_st_f16(p, i, v);
  else
    tcg_st_bf16(p, i, v);
}
template <int T> __device__ __forceinline__ void tcg_st2(void *p, long long i, float a, float b) {
  if constexpr (T == TCG_F32)
    tcg_st2_f32(p, i, a, b);
  else if constexpr (T == TCG_F16)
    tcg_st2_f16(p, i, a, b);
  else
    tcg_st2_bf16(p, i, a, b);
}

/// cp.async (or the unaligned fallback) of one operand's k-tile kt into the
/// shared tile at `tile`; ptr is the operand's batch base.
template <class C, bool IS_A>
__device__ __forceinline__ void tcg_load_tile(const char *ptr, unsigned tile, int tid, int kt,
                                              int mn0) {
  typedef TcgShape<C> S;
  typedef TcgOperand<C, IS_A> O;
#pragma unroll
  for (int i = 0; i < O::ITERS; ++i) {
    const int idx = tid + i * S::NT;
    if (O::CHUNKS % S::NT == 0 || idx < O::CHUNKS) {
      const int r = O::chunkRow(idx), c = O::chunkCol(idx);
      const unsigned dst = O::chunkDst(tile, r, c);
      const int gr = O::globalRow(r, kt, mn0), gc = O::globalCol(c, kt, mn0);
      const bool rowOk = O::ROWS_ALWAYS_VALID || gr < O::ROW_LIMIT;
      if constexpr (O::ALIGNED16) {
        if constexpr (O::ROWS_ALWAYS_VALID && O::COLS_ALWAYS_FULL) {
          cp_async16(dst, ptr + ((long long)gr * O::LD + gc) * S::ESZ, 16);
        } else {
          const int rem = O::COL_LIMIT - gc;
          const int bytes = rowOk ? (rem >= S::EPC ? 16 : (rem > 0 ? rem * S::ESZ : 0)) : 0;
          // No bytes read: any valid address will do, the base pointer is one.
          cp_async16(dst, bytes > 0 ? ptr + ((long long)gr * O::LD + gc) * S::ESZ : ptr, bytes);
        }
      } else if constexpr (S::ESZ == 2) {
        const bool ok = rowOk;
        const unsigned short *src =
            (const unsigned short *)(ptr) + (ok ? (long long)gr * O::LD + gc : 0);
        unsigned v[4];
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const unsigned lo = (ok && gc + 2 * j < O::COL_LIMIT) ? src[2 * j] : 0u;
          const unsigned hi = (ok && gc + 2 * j + 1 < O::COL_LIMIT) ? src[2 * j + 1] : 0u;
          v[j] = lo | (hi << 16);
        }
        st_shared_v4(dst, v[0], v[1], v[2], v[3]);
      } else {
        const bool ok = rowOk;
        const unsigned *src = (const unsigned *)(ptr) + (ok ? (long long)gr * O::LD + gc : 0);
        unsigned v[4];
#pragma unroll
        for (int j = 0; j < 4; ++j)
          v[j] = (ok && gc + j < O::COL_LIMIT) ? src[j] : 0u;
        st_shared_v4(dst, v[0], v[1], v[2], v[3]);
      }
    }
  }
}

/// alpha, bias (beta), then the fused epilogue: accumulator v at (row, col)
/// becomes the value to store.
template <class C, class Epilogue>
__device__ __forceinline__ float tcg_epilogue_value(float v, const char *biasb, long long bz,
                                                    int row, int col, Epilogue &epilogue) {
  if constexpr (C::ALPHA != 1.0f)
    v *= C::ALPHA;
  if constexpr (C::HAS_BIAS) {
    const float b = tcg_ld<C::BIAS_TYPE>(biasb, (long long)row * C::BIAS_STRIDE_M +
                                                    (long long)(col)*C::BIAS_STRIDE_N);
    if constexpr (C::BETA == 1.0f)
      v += b;
    else
      v += C::BETA * b;
  }
  if constexpr (C::EPILOGUE)
    v = epilogue(v, bz, row, col);
  return v;
}

// ---- decode-sized runs of a runtime-rows GEMM (tcg_decode_gemv) ----
//
// A run of at most tcgemm::decodeRows rows (M = batch * seq of a decode step)
// leaves a tile kernel planned at the bound with a few CTAs that each walk
// all of K (a tile-row of tilesN tiles). The decode path instead spreads
// the columns over every CTA of the launch: work item = TCG_DV_COLS
// consecutive columns, each CTA's threads split K, each thread keeps
// TCG_DV_ROWS x TCG_DV_COLS fp32 sums, a butterfly reduce-scatter across
// each warp and a shared-memory sum across warps give the item's values;
// then alpha, bias, the fused epilogue and the store, as the tile kernels.
// More rows than TCG_DV_ROWS take several passes (B again, from L2). Reads
// B once per pass at 16/32-byte loads where rows are 16-byte aligned
// (element loads otherwise: a vocab-sized N such as 50257). One batch, A
// not transposed (what runtime rows are).
constexpr int TCG_DV_ROWS = 4, TCG_DV_COLS = 16, TCG_DV_VALS = TCG_DV_ROWS * TCG_DV_COLS;

/// The 8 16-bit values of a 16-byte chunk as floats.
template <int T> __device__ __forceinline__ void tcg_unpack8(const uint4 &q, float *f) {
  const unsigned w[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    if constexpr (T == TCG_BF16) {
      f[2 * i] = __uint_as_float(w[i] << 16);
      f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
    } else {
      f[2 * i] = cvt_f16_to_f32((unsigned short)(w[i] & 0xffffu));
      f[2 * i + 1] = cvt_f16_to_f32((unsigned short)(w[i] >> 16));
    }
  }
}

/// Reduce-scatter of v[TCG_DV_VALS] over the warp: afterwards v[0] and v[1]
/// of lane l hold the warp's sums of values 2 l and 2 l + 1 (step o keeps
/// the upper half of the values where lane bit o is set: lane bit k becomes
/// value bit k + 1). 62 shuffles instead of 64 x 5.
__device__ __forceinline__ void tcg_dv_warp_reduce(float *v, int lane) {
#pragma unroll
  for (int step = 0; step < 5; ++step) {
    const int o = 16 >> step, half = (TCG_DV_VALS / 2) >> step;
    const bool upper = (lane & o) != 0;
#pragma unroll
    for (int i = 0; i < TCG_DV_VALS / 2; ++i)
      if (i < half) {
        const float send = upper ? v[i] : v[i + half], keep = upper ? v[i + half] : v[i];
        v[i] = keep + __shfl_xor_sync(0xffffffffu, send, o);
      }
  }
}

/// C[rows][N] = epilogue(alpha * A[rows][K] * B + beta * bias) for a run of
/// `rows` (1..C::M) rows over every CTA of the grid (x by y) and blockDim.x
/// threads (a multiple of 32, at most 1024); `red` is TCG_DV_VALS floats per
/// warp of shared memory.
template <class C, class Epilogue>
__device__ __forceinline__ void
tcg_decode_gemv(const void *__restrict__ A_, const void *__restrict__ B_,
                const void *__restrict__ bias_, void *__restrict__ C_, Epilogue epilogue, int rows,
                float *red) {
  static_assert(!C::TRANS_A && C::BATCH == 1, "decode path: [rows, K] A, one batch");
  constexpr int T = C::A_TYPE;
  constexpr bool ALIGNED = (C::LDA % 8 == 0) && (C::LDB % 8 == 0);
  const unsigned short *A = (const unsigned short *)A_, *B = (const unsigned short *)B_;
  const char *biasb = (const char *)bias_;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, nt = blockDim.x;
  const int warps = nt >> 5;
  const long long ctas = (long long)gridDim.x * gridDim.y,
                  cta = (long long)blockIdx.y * gridDim.x + blockIdx.x;
  constexpr long long ITEMS = tcg_ceil_div(C::N, TCG_DV_COLS);
  for (long long item = cta; item < ITEMS; item += ctas) {
    const int c0 = int(item) * TCG_DV_COLS;
    const bool fullCols = c0 + TCG_DV_COLS <= C::N;
    for (int r0 = 0; r0 < rows; r0 += TCG_DV_ROWS) {
      const int nr = min(rows - r0, TCG_DV_ROWS);
      float v[TCG_DV_VALS];
#pragma unroll
      for (int i = 0; i < TCG_DV_VALS; ++i)
        v[i] = 0.f;
      if constexpr (C::TRANS_B) {
        // B [N][K]: each thread 8 consecutive k of each column's row.
        for (int k = tid * 8; k < C::K; k += nt * 8) {
          if (ALIGNED && fullCols && k + 8 <= C::K) {
            float a[TCG_DV_ROWS][8];
#pragma unroll
            for (int r = 0; r < TCG_DV_ROWS; ++r)
              if (r < nr)
                tcg_unpack8<T>(*(const uint4 *)(A + (long long)(r0 + r) * C::LDA + k), a[r]);
              else
#pragma unroll
                for (int e = 0; e < 8; ++e)
                  a[r][e] = 0.f;
#pragma unroll
            for (int j = 0; j < TCG_DV_COLS; ++j) {
              float b[8];
              tcg_unpack8<T>(*(const uint4 *)(B + (long long)(c0 + j) * C::LDB + k), b);
#pragma unroll
              for (int r = 0; r < TCG_DV_ROWS; ++r)
#pragma unroll
                for (int e = 0; e < 8; ++e)
                  v[r * TCG_DV_COLS + j] += a[r][e] * b[e];
            }
          } else {
            for (int kk = k; kk < min(k + 8, C::K); ++kk)
#pragma unroll
              for (int j = 0; j < TCG_DV_COLS; ++j)
                if (c0 + j < C::N) {
                  const float b = tcg_ld<T>(B, (long long)(c0 + j) * C::LDB + kk);
#pragma unroll
                  for (int r = 0; r < TCG_DV_ROWS; ++r)
                    if (r < nr)
                      v[r * TCG_DV_COLS + j] += tcg_ld<T>(A, (long long)(r0 + r) * C::LDA + kk) * b;
                }
          }
        }
      } else {
        // B [K][N]: each thread one k's 16 columns (one 32-byte sector).
#pragma unroll 4
        for (int k = tid; k < C::K; k += nt) {
          float b[TCG_DV_COLS];
          if (ALIGNED && fullCols) {
            const uint4 *q = (const uint4 *)(B + (long long)k * C::LDB + c0);
            tcg_unpack8<T>(q[0], b);
            tcg_unpack8<T>(q[1], b + 8);
          } else {
#pragma unroll
            for (int j = 0; j < TCG_DV_COLS; ++j)
              b[j] = c0 + j < C::N ? tcg_ld<T>(B, (long long)k * C::LDB + c0 + j) : 0.f;
          }
#pragma unroll
          for (int r = 0; r < TCG_DV_ROWS; ++r)
            if (r < nr) {
              const float a = tcg_ld<T>(A, (long long)(r0 + r) * C::LDA + k);
#pragma unroll
              for (int j = 0; j < TCG_DV_COLS; ++j)
                v[r * TCG_DV_COLS + j] += a * b[j];
            }
        }
      }
      tcg_dv_warp_reduce(v, lane);
      const int idx = lane << 1;
      red[warp * TCG_DV_VALS + idx] = v[0];
      red[warp * TCG_DV_VALS + idx + 1] = v[1];
      __syncthreads();
      if (tid < TCG_DV_VALS) {
        const int r = tid / TCG_DV_COLS, j = tid % TCG_DV_COLS;
        const int row = r0 + r, col = c0 + j;
        if (r < nr && col < C::N) {
          float sum = 0.f;
          for (int w = 0; w < warps; ++w)
            sum += red[w * TCG_DV_VALS + tid];
          sum = tcg_epilogue_value<C>(sum, biasb, 0, row, col, epilogue);
          tcg_st<C::Y_TYPE>(C_, (long long)row * C::LDC + col, sum);
        }
      }
      __syncthreads(); // red is reused by the next pass
    }
  }
}

// ---- decode GEMV with coalesced weight rows (tcg_decode_gemv_rows) ----
//
// The decode path for B [K][N] (an ONNX MatMul weight) read along its rows:
// work item = W consecutive columns (W / 8 lanes per k row, 16 bytes each,
// so a warp load covers R = 256 / W k rows of W * 2 contiguous bytes:
// whole 128-byte lines from W = 64 on, instead of tcg_decode_gemv's one
// 32-byte sector per k row). Each lane keeps TCG_DV_ROWS x 8 fp32 sums;
// the k rows are dealt in warp steps of R rows (lane group g of step s: k =
// s R + g), step s to warp s % warps, so the warps' shares differ by at most
// one step; each lane issues U = 8 independent 16-byte streaming
// loads (ld_stream_v4) before it uses any. Then a butterfly over the lane
// groups of each column chunk and, row by row, a shared-memory sum over the
// warps (W floats per warp), alpha, bias, the fused epilogue and the store.
// More rows than TCG_DV_ROWS take several passes. Rows of B that are not
// 16-byte aligned (N = 50257) and a column chunk past N take element loads
// (zero past N). A's values come through L1 (every lane group of a warp
// reads the same k). Grid-stride over the items on every CTA of the grid.

/// The 16-bit values of 8 consecutive columns of B's row k from column col
/// (raw bits, zero past N): one streaming 16-byte load where the chunk is
/// aligned and inside N, else element loads.
template <class C>
__device__ __forceinline__ uint4 tcg_dvr_chunk(const unsigned short *B, long long k, int col,
                                               bool vec) {
  const unsigned short *p = B + k * C::LDB + col;
  if (vec)
    return ld_stream_v4(p);
  unsigned h[8];
#pragma unroll
  for (int e = 0; e < 8; ++e)
    h[e] = col + e < C::N ? (unsigned)p[e] : 0u;
  return make_uint4(h[0] | h[1] << 16, h[2] | h[3] << 16, h[4] | h[5] << 16, h[6] | h[7] << 16);
}

/// C[rows][N] = epilogue(alpha * A[rows][K] * B + beta * bias), B [K][N],
/// for a run of `rows` (1..C::M) rows over every CTA of the grid and
/// blockDim.x threads (a multiple of 32); `red` holds W floats per warp.
template <class C, int W, class Epilogue>
__device__ __forceinline__ void
tcg_decode_gemv_rows(const void *__restrict__ A_, const void *__restrict__ B_,
                     const void *__restrict__ bias_, void *__restrict__ C_, Epilogue epilogue,
                     int rows, float *red) {
  static_assert(!C::TRANS_A && !C::TRANS_B && C::BATCH == 1,
                "decode rows path: [rows, K] A, B [K][N], one batch");
  static_assert(C::A_TYPE != TCG_F32, "decode rows path: 16-bit operands");
  static_assert(W == 16 || W == 32 || W == 64 || W == 128 || W == 256, "W: 16..256 columns");
  // U: loads in flight per lane (inside the template: a namespace-scope
  // constant that only an uninstantiated template reads draws NVRTC's
  // 'declared but never referenced' warning in kernels without this path).
  constexpr int T = C::A_TYPE, LPR = W / 8, R = 32 / LPR, U = 8;
  constexpr int RB = TCG_DV_ROWS;
  constexpr bool ALIGNED = C::LDB % 8 == 0, FULL_K = C::K % R == 0;
  constexpr int STEPS = int(tcg_ceil_div(C::K, R)); // warp steps of R k rows
  constexpr long long ITEMS = tcg_ceil_div(C::N, W);
  const unsigned short *A = (const unsigned short *)A_, *B = (const unsigned short *)B_;
  const char *biasb = (const char *)bias_;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, nt = blockDim.x;
  const int warps = nt >> 5, sub = lane % LPR, grp = lane / LPR;
  const long long ctas = (long long)gridDim.x * gridDim.y,
                  cta = (long long)blockIdx.y * gridDim.x + blockIdx.x;
  for (long long item = cta; item < ITEMS; item += ctas) {
    const int c0 = int(item) * W, col = c0 + sub * 8;
    const bool vec = ALIGNED && col + 8 <= C::N;
    for (int r0 = 0; r0 < rows; r0 += RB) {
      const int nr = min(rows - r0, RB);
      float acc[RB][8];
#pragma unroll
      for (int r = 0; r < RB; ++r)
#pragma unroll
        for (int e = 0; e < 8; ++e)
          acc[r][e] = 0.f;
      if (col < C::N) {
        for (int s0 = warp; s0 < STEPS; s0 += U * warps) {
          uint4 q[U];
#pragma unroll
          for (int j = 0; j < U; ++j) {
            const int k = (s0 + j * warps) * R + grp;
            q[j] = s0 + j * warps < STEPS && (FULL_K || k < C::K) ? tcg_dvr_chunk<C>(B, k, col, vec)
                                                                  : make_uint4(0u, 0u, 0u, 0u);
          }
#pragma unroll
          for (int j = 0; j < U; ++j) {
            const int k = (s0 + j * warps) * R + grp;
            if (s0 + j * warps < STEPS && (FULL_K || k < C::K)) {
              float b[8];
              tcg_unpack8<T>(q[j], b);
#pragma unroll
              for (int r = 0; r < RB; ++r)
                if (r < nr) {
                  const float a = tcg_ld<T>(A, (long long)(r0 + r) * C::LDA + k);
#pragma unroll
                  for (int e = 0; e < 8; ++e)
                    acc[r][e] += a * b[e];
                }
            }
          }
        }
      }
      // The R lane groups of each column chunk: lane bits LPR .. 16.
#pragma unroll
      for (int r = 0; r < RB; ++r)
        if (r < nr) {
#pragma unroll
          for (int o = 16; o >= LPR; o >>= 1)
#pragma unroll
            for (int e = 0; e < 8; ++e)
              acc[r][e] += __shfl_xor_sync(0xffffffffu, acc[r][e], o);
        }
#pragma unroll
      for (int r = 0; r < RB; ++r)
        if (r < nr) {
          if (grp == 0)
#pragma unroll
            for (int e = 0; e < 8; ++e)
              red[warp * W + sub * 8 + e] = acc[r][e];
          __syncthreads();
          for (int c = tid; c < W; c += nt)
            if (c0 + c < C::N) {
              float sum = 0.f;
              for (int w = 0; w < warps; ++w)
                sum += red[w * W + c];
              const int row = r0 + r, cc = c0 + c;
              sum = tcg_epilogue_value<C>(sum, biasb, 0, row, cc, epilogue);
              tcg_st<C::Y_TYPE>(C_, (long long)row * C::LDC + cc, sum);
            }
          __syncthreads(); // red is reused by the next row
        }
    }
  }
}

/// The kernel body: C[bz] = epilogue(alpha * opA(A[bz]) * opB(B[bz]) + beta * bias).
/// Launch: grid (TILES_M * TILES_N, 1, Z_GRID), NT threads, STAGES * (A + B
/// tile bytes) of dynamic shared memory. `runRows` (runtime rows: this run's
/// M, at most C::M, one batch) limits the row tiles and stores: the grouped
/// raster is laid over the run's ceil(runRows / BM) tile-rows, so the first
/// ceil(runRows / BM) * TILES_N CTAs cover them and later ones exit at once.
template <class C, class Epilogue>
__device__ __forceinline__ void tcg_gemm(const void *__restrict__ A_, const void *__restrict__ B_,
                                         const void *__restrict__ bias_, void *__restrict__ C_,
                                         Epilogue epilogue, int runRows = C::M) {
  typedef TcgShape<C> S;
  typedef TcgOperand<C, true> OA;
  typedef TcgOperand<C, false> OB;
  constexpr int STAGE_BYTES = OA::BYTES + OB::BYTES;
  extern __shared__ __align__(128) unsigned char tcg_smem[];
  const unsigned smem = smem_u32(tcg_smem);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = warp / C::WARPS_N, wn = warp % C::WARPS_N;
  // Grouped raster: 8 tile-rows per group walk all tile-columns, so the
  // CTAs resident at one time touch few B panels.
  int mTile = 0, nTile = 0;
  if (!tcg_raster(int(blockIdx.x), int(tcg_ceil_div((long long)runRows, (long long)C::BM)),
                  S::TILES_N, mTile, nTile))
    return; // past this run's rows (runtime M): the whole CTA exits
  const int m0 = mTile * C::BM, n0 = nTile * C::BN;
  TcgFragA<C> fa;
  TcgFragB<C> fb;
  fa.init(lane, wm);
  fb.init(lane, wn);

  for (long long bz = blockIdx.z; bz < C::BATCH; bz += C::Z_GRID) {
    const char *Ab = (const char *)A_ + (C::BATCH == 1 ? 0 : bz * (OA::BATCH_STRIDE * S::ESZ));
    const char *Bb = (const char *)B_ + (C::BATCH == 1 ? 0 : bz * (OB::BATCH_STRIDE * S::ESZ));
    const char *biasb = (const char *)bias_;
    char *Cb = (char *)C_ + (C::BATCH == 1 ? 0 : bz * ((long long)C::M * C::LDC * S::Y_SIZE));

    float acc[S::MI][S::NI][4];
#pragma unroll
    for (int i = 0; i < S::MI; ++i)
#pragma unroll
      for (int j = 0; j < S::NI; ++j)
        acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.f;

    // Prologue: STAGES-1 k-tiles in flight.
#pragma unroll
    for (int s = 0; s < C::STAGES - 1; ++s) {
      if (s < S::K_TILES) {
        const unsigned st = smem + s * STAGE_BYTES;
        tcg_load_tile<C, true>(Ab, st, tid, s, m0);
        tcg_load_tile<C, false>(Bb, st + OA::BYTES, tid, s, n0);
      }
      cp_async_commit();
    }

    // Main loop. At iteration kt, (STAGES-1)+kt groups are committed; waiting
    // until at most STAGES-2 are pending completes tile kt. The barrier also
    // tells every warp that stage (kt-1)%STAGES is consumed, so it can be
    // refilled with tile kt+STAGES-1.
    for (int kt = 0; kt < S::K_TILES; ++kt) {
      cp_async_wait<C::STAGES - 2>();
      __syncthreads();
      {
        const int nk = kt + C::STAGES - 1;
        if (nk < S::K_TILES) {
          const unsigned st = smem + (nk % C::STAGES) * STAGE_BYTES;
          tcg_load_tile<C, true>(Ab, st, tid, nk, m0);
          tcg_load_tile<C, false>(Bb, st + OA::BYTES, tid, nk, n0);
        }
        cp_async_commit();
      }
      const unsigned aS = smem + (kt % C::STAGES) * STAGE_BYTES, bS = aS + OA::BYTES;
#pragma unroll
      for (int ks = 0; ks < C::BK / S::KSTEP; ++ks) {
        unsigned af[S::MI][4], bfr[S::NI][2];
#pragma unroll
        for (int mi = 0; mi < S::MI; ++mi) {
          if constexpr (OA::KCONTIG)
            ldsm_x4(af[mi][0], af[mi][1], af[mi][2], af[mi][3], fa.addr(aS, mi, ks, 0));
          else if constexpr (!OA::WORD_LOADS)
            ldsm_x4_t(af[mi][0], af[mi][1], af[mi][2], af[mi][3], fa.addr(aS, mi, ks, 0));
          else {
#pragma unroll
            for (int q = 0; q < 4; ++q)
              af[mi][q] = ld_shared_u32(fa.addr(aS, mi, ks, q));
          }
          if constexpr (S::TF32) {
#pragma unroll
            for (int q = 0; q < 4; ++q)
              af[mi][q] = cvt_tf32(af[mi][q]);
          }
        }
        if constexpr (OB::WORD_LOADS) {
#pragma unroll
          for (int ni = 0; ni < S::NI; ++ni) {
            bfr[ni][0] = ld_shared_u32(fb.addr(bS, ni, ks, 0));
            bfr[ni][1] = ld_shared_u32(fb.addr(bS, ni, ks, 1));
          }
        } else {
#pragma unroll
          for (int nj = 0; nj < S::NI / 2; ++nj) {
            if constexpr (OB::KCONTIG)
              ldsm_x4(bfr[2 * nj][0], bfr[2 * nj][1], bfr[2 * nj + 1][0], bfr[2 * nj + 1][1],
                      fb.addr(bS, nj, ks, 0));
            else
              ldsm_x4_t(bfr[2 * nj][0], bfr[2 * nj][1], bfr[2 * nj + 1][0], bfr[2 * nj + 1][1],
                        fb.addr(bS, nj, ks, 0));
          }
        }
        if constexpr (S::TF32) {
#pragma unroll
          for (int ni = 0; ni < S::NI; ++ni) {
            bfr[ni][0] = cvt_tf32(bfr[ni][0]);
            bfr[ni][1] = cvt_tf32(bfr[ni][1]);
          }
        }
#pragma unroll
        for (int mi = 0; mi < S::MI; ++mi) {
          // Serpentine over n so consecutive mma's share an operand register set.
#pragma unroll
          for (int nn = 0; nn < S::NI; ++nn) {
            const int ni = (mi & 1) ? S::NI - 1 - nn : nn;
            if constexpr (S::TF32)
              mma_m16n8k8_tf32(acc[mi][ni], af[mi], bfr[ni]);
            else
              mma_m16n8k16<C::A_TYPE == TCG_BF16>(acc[mi][ni], af[mi], bfr[ni]);
          }
        }
      }
    }
    // Empty groups may be pending; the next batch's prologue must not
    // overwrite stages a slower warp still reads.
    cp_async_wait<0>();
    if constexpr (C::BATCH > C::Z_GRID)
      __syncthreads();

    // Pair stores need the even column to sit on a pair boundary in memory.
    constexpr bool PAIRS =
        C::LDC % 2 == 0 && (C::BATCH == 1 || ((long long)C::M * C::LDC) % 2 == 0);
    const int g = lane >> 2, t4 = lane & 3;
#pragma unroll
    for (int mi = 0; mi < S::MI; ++mi) {
#pragma unroll
      for (int ni = 0; ni < S::NI; ++ni) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int row = m0 + wm * S::WARP_M + mi * 16 + h * 8 + g;
          const int col = n0 + wn * S::WARP_N + ni * 8 + t4 * 2;
          if (((C::M % C::BM == 0 && runRows == C::M) || row < runRows) &&
              (C::N % C::BN == 0 || col < C::N)) {
            float v0 = acc[mi][ni][2 * h], v1 = acc[mi][ni][2 * h + 1];
            const bool has1 = C::N % 2 == 0 || col + 1 < C::N;
            v0 = tcg_epilogue_value<C>(v0, biasb, bz, row, col, epilogue);
            if (has1) {
              v1 = tcg_epilogue_value<C>(v1, biasb, bz, row, col + 1, epilogue);
            }
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
  }
}

/// The epilogue functor of a kernel without a fused epilogue (never called).
struct TcgNoEpilogue {
  __device__ __forceinline__ float operator()(float v, long long, int, int) const { return v; }
};

#endif // EFFC_DEVICE_TENSOR_CORE_GEMM_CUH
