//===- quant_linear.cuh - eff.quant_linear: packed quantized weights ------===//
//
// y[row][n] = sum_k a[row][k] * W[k][n], W decoded from its packed codes in
// registers as it is read (never written out; the prefill MMA kernel decodes a
// tile at a time into shared memory). Six kernels:
//   quant_linear_gemv_mma_bs<C,BF> decode (M <= 16), bf16/fp16 activations
//                          and windows of 4 lanes x P bytes inside one scale
//                          block: gemv_mma's shape, each window's mmas summed
//                          unscaled and scaled once (no per-code multiply).
//   quant_linear_gemv_mma<C,BF> decode (M <= 16) with bf16/fp16 activations:
//                          16 columns per block, K split over 8 warps,
//                          128-bit loads of 4 chunks a column per lane
//                          batch, each code decoded once into an
//                          mma.sync m16n8k16 A fragment used for every row
//                          (the rows are B: M = 8 costs what M = 1 does).
//   quant_linear_gemv_vec<C> decode (M <= 16) otherwise (fp32 activations,
//                          llm_int8, 4-bit K not a multiple of 32), the
//                          packed weight streamed at
//                          full bandwidth: one warp per output column, each
//                          lane loads 16 bytes of the column's codes at a
//                          time (128-bit loads, consecutive lanes
//                          consecutive chunks), decodes them in registers
//                          (4-bit code books from shared memory), one
//                          accumulator per row, a warp reduction at the end;
//                          a staged in shared memory 32 KiB of K at a time
//                          (a block barrier per slice), 4 chunks per lane
//                          loaded before any is decoded.
//                          Needs 16-byte chunks that never straddle a scale
//                          block (the emitter checks; every scheme but
//                          dynamic_int8). llm_int8 multiplies its int8 part
//                          with dp4a (four int8 products summed in int32).
//   quant_linear_gemv<C>   the scalar fallback for few rows (M <= 8): lanes
//                          stride along K one code at a time.
//   quant_linear_mma<C,..> more rows (prefill) with bf16/fp16 activations:
//                          tensor-core GEMM (mma.sync m16n8k16, fp32
//                          accumulators), W decoded to 16-bit in shared
//                          memory inside the double-buffered mainloop.
//   quant_linear_tiled<C>  more rows otherwise (fp32 activations,
//                          dynamic_int8, llm_int8, unaligned blocks): 32x32
//                          output tiles, 256 threads, K in steps of 32
//                          staged in shared memory (a as values, W decoded
//                          once per tile), 4 outputs per thread.
// dynamic_int8 first quantizes a per tensor as ONNX DynamicQuantizeLinear
// does (every block reduces min/max over all of a itself: correct, not
// fast) and accumulates (q - z) * (code - zp) in int32. llm_int8 likewise
// finds the outlier columns over all of a in every block (a bit mask in
// shared memory) and the absmax of the rows it computes.
//
// The emitter (compiler/codegen/QuantLinearEmitter.cpp) writes the config C
// (SCHEME, LAYOUT, BITS, K, N, BLOCK, BLOCKS, BLOCK_BYTES, ROWS, HAS_ZP,
// THRESHOLD) and the dtype glue as lambdas: loadA(i) / loadScale(i) -> float
// (with double_quant loadScale decodes ql_dq_absmax), store(i, v).
// Scheme and layout numbers are eff.quant_linear's (QuantOps.td).
//
#ifndef EFFC_DEVICE_QUANT_LINEAR_CUH
#define EFFC_DEVICE_QUANT_LINEAR_CUH

#include "primitives.cuh"

#include "quant_defs.cuh"

// bitsandbytes' NF4 and FP4 code books (quant_defs.cuh).
__constant__ float ql_nf4_book[16] = QL_NF4_CODEBOOK;
__constant__ float ql_fp4_book[16] = QL_FP4_CODEBOOK;

// bitsandbytes' dynamic map (double quantization), read through L1 (lanes
// index it at random, which __constant__ memory would serialize).
__device__ float ql_dynamic_map8[256] = QL_DYNAMIC_MAP8;

// Absmax i of double-quantized scales of B blocks (quant_defs.cuh's QL_DQ
// layout): map[idx] * group scale + offset, the product rounded first as
// the host reference does.
template <long long B> __device__ __forceinline__ float ql_dq_absmax(const u8 *s, long long i) {
  const float *f = reinterpret_cast<const float *>(s + QL_DQ_PAD(B));
  return __fadd_rn(__fmul_rn(__ldg(ql_dynamic_map8 + __ldg(s + i)), __ldg(f + i / QL_DQ_GROUP)),
                   __ldg(f + QL_DQ_GROUPS(B)));
}

// The accumulator type: int32 for dynamic_int8, float otherwise (NVRTC has
// no <type_traits>).
template <bool B, class T, class F> struct ql_select {
  typedef T type;
};
template <class T, class F> struct ql_select<false, T, F> {
  typedef F type;
};

// Integer schemes: the code of W[k][n] minus its zero point.
template <class C>
__device__ __forceinline__ int ql_int_code(const u8 *w, const u8 *zp, int n, int k) {
  const int b = k / C::BLOCK, j = k % C::BLOCK;
  const u8 *block = w + ((long long)n * C::BLOCKS + b) * C::BLOCK_BYTES;
  int code;
  if constexpr (C::BITS == 8)
    code = block[j];
  else
    code = (block[j >> 1] >> ((j & 1) * 4)) & 0xF;
  int zero;
  if constexpr (C::HAS_ZP)
    zero = zp[(long long)n * C::BLOCKS + b];
  else
    zero = C::BITS == 8 ? 128 : 8;
  return code - zero;
}

// W[k][n] as a value (every scheme but dynamic_int8, whose scale comes after
// the integer sum).
template <class C, class LS>
__device__ __forceinline__ float ql_weight(const u8 *w, const u8 *zp, const LS &loadScale, int n,
                                           int k) {
  if constexpr (C::LAYOUT == QL_LAYOUT_BNB_FLAT) {
    const long long f = (long long)n * C::K + k;
    const int code = (w[f >> 1] >> ((f & 1) ? 0 : 4)) & 0xF;
    const float v = C::SCHEME == QL_NF4 ? ql_nf4_book[code] : ql_fp4_book[code];
    return v * loadScale(f / C::BLOCK);
  } else {
    return float(ql_int_code<C>(w, zp, n, k)) * loadScale((long long)n * C::BLOCKS + k / C::BLOCK);
  }
}

// DynamicQuantizeLinear's scale and zero point of all of a (every thread of
// the block gets them).
template <class C, class LA>
__device__ void ql_dynamic_params(const LA &loadA, float &scale, int &zero) {
  float lo = 0.0f, hi = 0.0f;
  for (long long i = threadIdx.x; i < (long long)C::ROWS * C::K; i += blockDim.x) {
    const float v = loadA(i);
    lo = fminf(lo, v);
    hi = fmaxf(hi, v);
  }
  lo = block_reduce(lo, MinOp());
  hi = block_reduce(hi, MaxOp());
  scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
  zero = (int)rintf(fminf(fmaxf(0.0f - lo / scale, 0.0f), 255.0f));
}

// a[i] quantized and shifted by its zero point: q - z.
__device__ __forceinline__ int ql_quantize(float x, float scale, int zero) {
  return (int)fminf(fmaxf(rintf(x / scale) + (float)zero, 0.0f), 255.0f) - zero;
}

// ---- LLM.int8() -----------------------------------------------------------
// Words of the outlier column mask: bit k of the mask is set when some row of
// a has |a[row][k]| >= THRESHOLD.
template <class C> struct ql_llm {
  static constexpr int WORDS = (C::K + 31) / 32;
};

// Fills bits[0, WORDS) with the outlier mask of all of a (every thread of
// the block reads it after the call).
template <class C, class LA> __device__ void ql_llm_outliers(const LA &loadA, u32 *bits) {
  for (int i = threadIdx.x; i < ql_llm<C>::WORDS; i += blockDim.x)
    bits[i] = 0u;
  __syncthreads();
  for (long long i = threadIdx.x; i < (long long)C::ROWS * C::K; i += blockDim.x)
    if (fabsf(loadA(i)) >= C::THRESHOLD) {
      const int k = (int)(i % C::K);
      atomicOr(&bits[k >> 5], 1u << (k & 31));
    }
  __syncthreads();
}

__device__ __forceinline__ bool ql_llm_is_outlier(const u32 *bits, int k) {
  return (bits[k >> 5] >> (k & 31)) & 1u;
}

// scale[r] = (absmax of row row0 + r over the columns that are not
// outliers) / 127 for r < count (0 past ROWS); one warp per row.
template <class C, class LA>
__device__ void ql_llm_row_scales(const LA &loadA, const u32 *bits, long long row0, int count,
                                  float *scale) {
  const int lane = threadIdx.x & 31;
  for (int r = threadIdx.x >> 5; r < count; r += blockDim.x >> 5) {
    const long long row = row0 + r;
    float m = 0.0f;
    if (row < C::ROWS)
      for (int k = lane; k < C::K; k += 32)
        if (!ql_llm_is_outlier(bits, k))
          m = fmaxf(m, fabsf(loadA(row * C::K + k)));
    m = warp_reduce(m, MaxOp());
    if (lane == 0)
      scale[r] = m / 127.0f;
  }
  __syncthreads();
}

// One activation value quantized with its row's scale: round half to even,
// clamped to [-127, 127]; 0 when the row is all zeros (or all outliers).
__device__ __forceinline__ int ql_llm_quantize(float x, float scale) {
  return scale > 0.0f ? (int)fminf(fmaxf(rintf(x / scale), -127.0f), 127.0f) : 0;
}

// ---- GEMV: 128-bit loads of the packed weight -------------------------------
// Launch: grid ceil(N / 8), 256 threads (8 warps, one output column each).
template <class C, class LA, class LS, class ST>
__device__ void quant_linear_gemv_vec(const u8 *w, const u8 *zp, const LA &loadA,
                                      const LS &loadScale, const ST &store) {
  constexpr bool FLAT = C::LAYOUT == QL_LAYOUT_BNB_FLAT;
  constexpr bool LLM = C::SCHEME == QL_LLM_INT8;
  constexpr int CODES = 128 / C::BITS; // codes per 16-byte chunk
  constexpr long long ROW_BYTES = FLAT ? C::K / 2 : (long long)C::BLOCKS * C::BLOCK_BYTES;
  // Chunks that hold a code of k < K (the last block's padding is skipped).
  constexpr int CHUNKS = (C::K + CODES - 1) / CODES;
  constexpr bool TAIL = C::K % CODES != 0;
  static_assert(C::BLOCK % CODES == 0, "a 16-byte chunk must lie in one scale block");
  static_assert(!FLAT || C::K % CODES == 0, "bnb_flat columns must start on a chunk");
  static_assert(C::SCHEME != QL_DYNAMIC_INT8, "dynamic_int8 uses quant_linear_gemv");
  // Every warp reads all of a: the block stages it in shared memory as fp32,
  // SLICE chunks of K (at most 32 KiB) at a time with a block barrier
  // between slices, laid out so that the lanes of a warp (consecutive chunks
  // c) read consecutive words for the same code j:
  // as[(r * CODES + j) * STRIDE + c - c0] = a[r][c * CODES + j] (STRIDE odd,
  // so the staging writes do not conflict either). Each weight code is
  // decoded once and used for all ROWS rows. llm_int8 and a K tail read a
  // from global memory instead (one slice).
  constexpr bool STAGE = !LLM && !TAIL;
  constexpr long long FIT = 8192 / ((long long)C::ROWS * CODES); // chunks in 32 KiB
  constexpr int SLICE_MAX = FIT < 1 ? 1 : FIT >= 32 ? (int)(FIT / 32 * 32) : (int)FIT;
  constexpr int SLICE = STAGE && SLICE_MAX < CHUNKS ? SLICE_MAX : CHUNKS;
  constexpr int SLICES = (CHUNKS + SLICE - 1) / SLICE;
  constexpr int STRIDE = SLICE | 1;
  // Chunks each lane loads before it decodes any (bytes in flight).
  constexpr int UNROLL = 4;
  __shared__ float as[STAGE ? C::ROWS * CODES * STRIDE : 1];
  __shared__ float book[16];
  __shared__ u32 outliers[LLM ? ql_llm<C>::WORDS : 1];
  __shared__ float rowScale[LLM ? C::ROWS : 1];
  if (threadIdx.x < 16)
    book[threadIdx.x] = C::SCHEME == QL_FP4 ? ql_fp4_book[threadIdx.x] : ql_nf4_book[threadIdx.x];
  if constexpr (LLM) {
    ql_llm_outliers<C>(loadA, outliers);
    ql_llm_row_scales<C>(loadA, outliers, 0, C::ROWS, rowScale);
  }
  __syncthreads();
  const int lane = threadIdx.x & 31;
  const int n = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
  // Warps past N stay for the block barriers of the staging.
  const bool live = n < C::N;
  const uint4 *column = reinterpret_cast<const uint4 *>(w + (long long)(live ? n : 0) * ROW_BYTES);
  float acc[C::ROWS];
  int iacc[LLM ? C::ROWS : 1];
#pragma unroll
  for (int r = 0; r < C::ROWS; ++r)
    acc[r] = 0.0f;
#pragma unroll
  for (int r = 0; r < (LLM ? C::ROWS : 1); ++r)
    iacc[r] = 0;
  // Chunk c (slice-local index cl) of this warp's column.
  auto chunk = [&](const uint4 &packed, int c, int cl) {
    const u32 words[4] = {packed.x, packed.y, packed.z, packed.w};
    const int k0 = c * CODES;
    if constexpr (LLM) {
      // int8 part with dp4a on the codes as signed bytes (code - 128 is the
      // code with its top bit flipped); outlier columns in fp32.
      const u32 obits = (outliers[k0 >> 5] >> (k0 & 31)) & 0xFFFFu;
      int sw[4];
#pragma unroll
      for (int i = 0; i < 4; ++i)
        sw[i] = (int)(words[i] ^ 0x80808080u);
#pragma unroll
      for (int r = 0; r < C::ROWS; ++r) {
        int qa[4] = {0, 0, 0, 0};
        float fo = 0.0f;
#pragma unroll
        for (int j = 0; j < CODES; ++j) {
          const int k = k0 + j;
          if (TAIL && k >= C::K)
            break;
          const float x = loadA((long long)r * C::K + k);
          int q = 0;
          if ((obits >> j) & 1u)
            fo += x * (float)((int)((words[j >> 2] >> (8 * (j & 3))) & 0xFFu) - 128);
          else
            q = ql_llm_quantize(x, rowScale[r]);
          qa[j >> 2] |= (q & 0xFF) << (8 * (j & 3));
        }
#pragma unroll
        for (int i = 0; i < 4; ++i)
          iacc[r] = __dp4a(qa[i], sw[i], iacc[r]);
        acc[r] += fo;
      }
    } else {
      float wv[CODES];
      float scale;
      if constexpr (FLAT) {
        scale = loadScale(((long long)n * C::K + k0) / C::BLOCK);
#pragma unroll
        for (int j = 0; j < CODES; ++j) // first code in the high nibble
          wv[j] = book[(words[j >> 3] >> (8 * ((j >> 1) & 3) + ((j & 1) ? 0 : 4))) & 0xFu];
      } else {
        const long long b = (long long)n * C::BLOCKS + k0 / C::BLOCK;
        scale = loadScale(b);
        int zero;
        if constexpr (C::HAS_ZP)
          zero = zp[b];
        else
          zero = C::BITS == 8 ? 128 : 8;
#pragma unroll
        for (int j = 0; j < CODES; ++j) {
          int code;
          if constexpr (C::BITS == 8)
            code = (words[j >> 2] >> (8 * (j & 3))) & 0xFF;
          else // first code in the low nibble
            code = (words[j >> 3] >> (4 * (j & 7))) & 0xF;
          wv[j] = (float)(code - zero);
        }
      }
#pragma unroll
      for (int r = 0; r < C::ROWS; ++r) {
        float s = 0.0f;
#pragma unroll
        for (int j = 0; j < CODES; ++j) {
          if (TAIL && k0 + j >= C::K)
            break;
          if constexpr (STAGE)
            s += as[(r * CODES + j) * STRIDE + cl] * wv[j];
          else
            s += loadA((long long)r * C::K + k0 + j) * wv[j];
        }
        acc[r] += s * scale;
      }
    }
  };
  for (int sl = 0; sl < SLICES; ++sl) {
    const int c0 = sl * SLICE;
    const int cn = CHUNKS - c0 < SLICE ? CHUNKS - c0 : SLICE;
    if constexpr (STAGE) {
      if (sl > 0)
        __syncthreads(); // every warp is done with the previous slice
      const int span = cn * CODES;
      for (int i = threadIdx.x; i < C::ROWS * span; i += blockDim.x) {
        const int r = i / span, kk = i - r * span;
        as[(r * CODES + kk % CODES) * STRIDE + kk / CODES] =
            loadA((long long)r * C::K + (long long)c0 * CODES + kk);
      }
      __syncthreads();
    }
    if (!live)
      continue;
    for (int cb = 0; cb < cn; cb += 32 * UNROLL) {
      uint4 packed[UNROLL];
#pragma unroll
      for (int u = 0; u < UNROLL; ++u) {
        const int cl = cb + lane + 32 * u;
        if (cl < cn)
          packed[u] = __ldg(column + c0 + cl);
        else
          packed[u].x = packed[u].y = packed[u].z = packed[u].w = 0u;
      }
#pragma unroll
      for (int u = 0; u < UNROLL; ++u) {
        const int cl = cb + lane + 32 * u;
        if (cl < cn)
          chunk(packed[u], c0 + cl, cl);
      }
    }
  }
  if (!live)
    return;
#pragma unroll
  for (int r = 0; r < C::ROWS; ++r) {
    const float total = warp_reduce(acc[r], SumOp());
    if constexpr (LLM) {
      const int itotal = warp_reduce(iacc[r], SumOp());
      if (lane == 0) {
        const float sw = loadScale(n);
        store((long long)r * C::N + n, (float)itotal * (rowScale[r] * sw) + total * sw);
      }
    } else if (lane == 0) {
      store((long long)r * C::N + n, total);
    }
  }
}

// ---- decode GEMVs on tensor cores: what both variants share ---------------
// The main loop: this warp's steps are j = warp + WARPS i (i < PER_WARP,
// j < STEPS); U of them loaded before any is used; with more than one batch
// the next batch's weights load while this one computes, and each step's
// activations load during the previous step (the first with the weights).
// compute(unit, act, u) gets the batch position u (the _bs variant
// alternates its accumulator chains by it). ready() runs once the first
// batch's loads are issued, before any compute (block-wide setup, such as a
// shared table and its barrier, overlaps the first loads' latency).
struct ql_no_setup {
  __device__ __forceinline__ void operator()() const {}
};
template <int WARPS, int STEPS, int PER_WARP, int U, class Unit, class Act, class LU, class LA,
          class CO, class RD = ql_no_setup>
__device__ __forceinline__ void ql_gemv_mma_loop(int warp, const LU &loadUnit, const LA &loadAct,
                                                 const CO &compute, const RD &ready = RD()) {
  constexpr int BATCHES = (PER_WARP + U - 1) / U;
  Unit cur[U];
#pragma unroll
  for (int u = 0; u < U; ++u)
    loadUnit(warp + WARPS * u, cur[u]);
  Act act;
  loadAct(warp, act);
  ready();
#pragma unroll 1
  for (int i0 = 0; i0 < PER_WARP; i0 += U) {
    Unit nxt[BATCHES > 1 ? U : 1];
    if constexpr (BATCHES > 1) {
      if (i0 + U < PER_WARP) {
#pragma unroll
        for (int u = 0; u < U; ++u)
          loadUnit(warp + WARPS * (i0 + U + u), nxt[u]);
      }
    }
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int j = warp + WARPS * (i0 + u);
      if (j >= STEPS) // warp-uniform
        break;
      Act next;
      loadAct(j + WARPS, next);
      compute(cur[u], act, u);
      act = next;
    }
    if constexpr (BATCHES > 1) {
#pragma unroll
      for (int u = 0; u < U; ++u)
        cur[u] = nxt[u];
    }
  }
}

// What the epilogues below start with: this warp's two accumulator chains
// summed into its slot of `red` (their shared memory).
template <int WARPS, int MT>
__device__ __forceinline__ void ql_gemv_mma_partials(const float (&acc)[2][MT][4],
                                                     float (&red)[WARPS][MT][32][4]) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int e = 0; e < 4; ++e)
      red[warp][m][lane][e] = acc[0][m][e] + acc[1][m][e];
}

// The epilogue: the WARPS warps' two accumulator chains (c0, c1: column g,
// rows 2 t, 2 t + 1 (+ 8 m); c2, c3: column g + 8) meet in shared memory;
// per-channel scales apply here, once per output.
template <class C, int WARPS, int MT, bool PER_CHANNEL, class LS, class ST>
__device__ __forceinline__ void ql_gemv_mma_store(const float (&acc)[2][MT][4], int n0,
                                                  const LS &loadScale, const ST &store) {
  __shared__ __align__(16) float red[WARPS][MT][32][4];
  const int tid = threadIdx.x;
  ql_gemv_mma_partials<WARPS, MT>(acc, red);
  __syncthreads();
  for (int i = tid; i < MT * 128; i += blockDim.x) {
    const int m = i >> 7, l = (i >> 2) & 31, e = i & 3;
    const int col = n0 + (l >> 2) + 8 * (e >> 1);
    const long long row = 8 * m + 2 * (l & 3) + (e & 1);
    if (row >= C::ROWS || col >= C::N)
      continue;
    float sum = 0.0f;
#pragma unroll
    for (int v = 0; v < WARPS; ++v)
      sum += red[v][m][l][e];
    if constexpr (PER_CHANNEL)
      sum *= loadScale(col);
    store(row * C::N + col, sum);
  }
}

// ---- thread block clusters (sm_90; PTX ISA "barrier.cluster", "mapa",
// "ld.shared::cluster"): hopper.cuh's hop_cluster_sync / hop_mapa, written
// here because quant_linear.cuh is also compiled for sm_80 (these are only
// called by split-K instantiations, which the emitter picks for sm_90a) and
// on the host by the emulation tests (empty there: never called).
__device__ __forceinline__ void ql_cluster_sync() {
#ifdef __CUDA_ARCH__
  asm volatile("barrier.cluster.arrive.release.aligned;\n"
               "barrier.cluster.wait.acquire.aligned;\n" ::
                   : "memory");
#endif
}
// Four floats at this CTA's shared address `addr` as seen in CTA `rank`.
__device__ __forceinline__ void ql_ld_cluster_v4(u32 addr, u32 rank, float (&v)[4]) {
  v[0] = v[1] = v[2] = v[3] = 0.0f;
#ifdef __CUDA_ARCH__
  u32 remote;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;\n" : "=r"(remote) : "r"(addr), "r"(rank));
  asm volatile("ld.shared::cluster.v4.f32 {%0, %1, %2, %3}, [%4];\n"
               : "=f"(v[0]), "=f"(v[1]), "=f"(v[2]), "=f"(v[3])
               : "r"(remote)
               : "memory");
#endif
}

// The split-K epilogue: the SPLIT CTAs of a cluster (1, SPLIT, 1) each hold
// their K slice's partial sums (as ql_gemv_mma_store's red, in their own
// shared memory); after a cluster barrier CTA r sums the fragments
// [r * G, (r + 1) * G) of all SPLIT CTAs (G = MT * 32 / SPLIT lanes' 4
// accumulators) in a fixed order (deterministic, fp32) and stores them; a
// second barrier keeps every CTA's shared memory alive until all remote
// reads are done.
template <class C, int WARPS, int MT, bool PER_CHANNEL, int SPLIT, class LS, class ST>
__device__ __forceinline__ void ql_gemv_mma_store_split(const float (&acc)[2][MT][4], int n0,
                                                        const LS &loadScale, const ST &store) {
  static_assert(SPLIT == 2 || SPLIT == 4 || SPLIT == 8, "a portable cluster of 2, 4 or 8 CTAs");
  constexpr int G = MT * 32 / SPLIT; // (m, lane) fragments each CTA finishes
  __shared__ __align__(16) float red[WARPS][MT][32][4];
  const int tid = threadIdx.x;
  ql_gemv_mma_partials<WARPS, MT>(acc, red);
  ql_cluster_sync();
  const u32 rank = blockIdx.y; // grid y = SPLIT: the cluster rank
  for (int f = tid; f < G; f += blockDim.x) {
    const int ml = (int)rank * G + f, m = ml >> 5, l = ml & 31;
    float sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
    for (int c = 0; c < SPLIT; ++c)
#pragma unroll
      for (int v = 0; v < WARPS; ++v) {
        float p[4];
        ql_ld_cluster_v4(smem_u32(&red[v][m][l][0]), (u32)c, p);
#pragma unroll
        for (int e = 0; e < 4; ++e)
          sum[e] += p[e];
      }
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int col = n0 + (l >> 2) + 8 * (e >> 1);
      const long long row = 8 * m + 2 * (l & 3) + (e & 1);
      if (row >= C::ROWS || col >= C::N)
        continue;
      if constexpr (PER_CHANNEL)
        sum[e] *= loadScale(col);
      store(row * C::N + col, sum[e]);
    }
  }
  ql_cluster_sync();
}

// ---- decode GEMV on tensor cores: M <= 16, 16-bit activations --------------
// Every weight code is decoded once and used for all rows: mma.sync
// m16n8k16 with the weight as A (16 output columns) and the activations as
// B (8 rows; a second n8 tile for rows 8..15), fp32 accumulators. A block
// (256 threads, 8 warps) owns 16 columns; lane (g, t) = (lane / 4, lane % 4)
// holds columns g and g + 8. K is cut into 16-byte chunks (CODES codes) and
// super-steps of 4 chunks per column (64 contiguous bytes): lane t loads
// chunk 4 j + t of super-step j of both its columns with 128-bit loads, U
// super-steps (warps take every 8th, so the block reads 8 U x 64 contiguous
// bytes of each column at once) before it decodes any. The order of k in a
// dot product is free, so each mma's 16 k are the lane's own codes: step s
// of a chunk at k0 gives lane t k = k0 + 4 s + {0, 1} as mma k {2t, 2t+1}
// and k0 + 4 s + {2, 3} as {2t+8, 2t+9}; the B fragment is then two
// consecutive words of a's row (no shuffle, no shared memory). Integer codes
// become floats without I2F (2^23 | code minus 2^23 + zero); per-channel
// scales (one block) are applied in the epilogue, so the codes are exact in
// bf16 (the fp32 words' upper halves), blocked scales and the 4-bit code
// books (16 words in shared memory: any 32 lookups are conflict free)
// multiply in fp32 and round once. The 8 warps' partial sums meet in shared
// memory. Needs K % CODES == 0 and BLOCK % CODES == 0 (a chunk in one scale
// block; the emitter checks), int4/int8/nf4/fp4, 16-byte aligned rows of a.
// Launch: grid ceil(N / 16), 256 threads.
template <class C, bool BF, class LS, class ST>
__device__ void quant_linear_gemv_mma(const u8 *w, const u8 *zp, const u16 *a, const LS &loadScale,
                                      const ST &store) {
  constexpr bool FLAT = C::LAYOUT == QL_LAYOUT_BNB_FLAT;
  constexpr int CODES = 128 / C::BITS; // codes per 16-byte chunk
  constexpr int STEPS = CODES / 4;     // mma k-steps per chunk
  constexpr int CHUNKS = C::K / CODES; // per column
  constexpr int SUPERS = (CHUNKS + 3) / 4;
  constexpr int WARPS = 8;
  constexpr int MT = C::ROWS > 8 ? 2 : 1; // n8 tiles of rows
  constexpr bool PER_CHANNEL = !FLAT && C::BLOCKS == 1;
  constexpr long long ROW_BYTES = FLAT ? C::K / 2 : (long long)C::BLOCKS * C::BLOCK_BYTES;
  // Super-steps per warp, and per batch of loads: all of them up to 4 (2 x 4
  // x 16 bytes per lane), else batches of 2 with the next one in flight.
  constexpr int PER_WARP = (SUPERS + WARPS - 1) / WARPS;
  constexpr int U = PER_WARP <= 4 ? PER_WARP : 2;
  static_assert(C::SCHEME == QL_INT4 || C::SCHEME == QL_INT8 || C::SCHEME == QL_NF4 ||
                    C::SCHEME == QL_FP4,
                "quant_linear_gemv_mma: weight-only schemes");
  static_assert(C::K % CODES == 0 && C::BLOCK % CODES == 0, "16-byte chunks in one scale block");
  static_assert(C::ROWS <= 16, "quant_linear_gemv_mma: at most 16 rows");
  __shared__ float book[16];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3;
  if (tid < 16)
    book[tid] = C::SCHEME == QL_FP4 ? ql_fp4_book[tid] : ql_nf4_book[tid];
  __syncthreads();
  const int n0 = blockIdx.x * 16;
  // Columns past N read column N - 1 (finite codes; never stored).
  const int colA = n0 + g < C::N ? n0 + g : C::N - 1;
  const int colB = n0 + g + 8 < C::N ? n0 + g + 8 : C::N - 1;
  const uint4 *wA = reinterpret_cast<const uint4 *>(w + (long long)colA * ROW_BYTES);
  const uint4 *wB = reinterpret_cast<const uint4 *>(w + (long long)colB * ROW_BYTES);
  // The scale (or absmax) index of chunk c of a column, and its zero point.
  auto scaleIndex = [&](int col, int c) -> long long {
    if constexpr (FLAT)
      return ((long long)col * C::K + (long long)c * CODES) / C::BLOCK;
    else
      return (long long)col * C::BLOCKS + (long long)c * CODES / C::BLOCK;
  };
  // Codes 4 s .. 4 s + 3 of chunk q as two 16-bit pairs (lo: 4 s, 4 s + 1).
  auto decode = [&](const uint4 &q, int s, float scale, int zero, u32 &lo, u32 &hi) {
    const u32 words[4] = {q.x, q.y, q.z, q.w};
    float v[4];
    if constexpr (C::BITS == 8) {
      const float bias = 8388608.0f + (float)zero;
#pragma unroll
      for (int i = 0; i < 4; ++i)
        v[i] = __uint_as_float(0x4B000000u | ((words[s] >> (8 * i)) & 0xFFu)) - bias;
    } else {
      // Bytes 2 s and 2 s + 1; flat: first code in the high nibble.
      const u32 h = words[s >> 1] >> (16 * (s & 1));
      if constexpr (FLAT) {
        v[0] = book[(h >> 4) & 0xFu];
        v[1] = book[h & 0xFu];
        v[2] = book[(h >> 12) & 0xFu];
        v[3] = book[(h >> 8) & 0xFu];
      } else { // first code in the low nibble
        const float bias = 8388608.0f + (float)zero;
#pragma unroll
        for (int i = 0; i < 4; ++i)
          v[i] = __uint_as_float(0x4B000000u | ((h >> (4 * i)) & 0xFu)) - bias;
      }
    }
    if constexpr (PER_CHANNEL && BF) {
      lo = __byte_perm(__float_as_uint(v[0]), __float_as_uint(v[1]), 0x7632);
      hi = __byte_perm(__float_as_uint(v[2]), __float_as_uint(v[3]), 0x7632);
    } else if constexpr (PER_CHANNEL) {
      lo = pack2<BF>(v[0], v[1]);
      hi = pack2<BF>(v[2], v[3]);
    } else {
      lo = pack2<BF>(v[0] * scale, v[1] * scale);
      hi = pack2<BF>(v[2] * scale, v[3] * scale);
    }
  };
  // Two accumulator sets (even and odd k-steps): two independent mma chains.
  float acc[2][MT][4];
#pragma unroll
  for (int p = 0; p < 2; ++p)
#pragma unroll
    for (int m = 0; m < MT; ++m)
      acc[p][m][0] = acc[p][m][1] = acc[p][m][2] = acc[p][m][3] = 0.0f;
  // Super-step j of both columns: codes, scales and zero points (zero codes
  // and scales past K; their activations are zeros too).
  struct Unit {
    uint4 qA, qB;
    float sA, sB;
    int zA, zB;
  };
  auto loadUnit = [&](int j, Unit &q) {
    const int c = 4 * j + t;
    q.qA = q.qB = make_uint4(0u, 0u, 0u, 0u);
    q.sA = q.sB = 0.0f;
    q.zA = q.zB = 0;
    if (c >= CHUNKS)
      return;
    q.qA = __ldg(wA + c);
    q.qB = __ldg(wB + c);
    if constexpr (!PER_CHANNEL) {
      q.sA = loadScale(scaleIndex(colA, c));
      q.sB = loadScale(scaleIndex(colB, c));
    }
    if constexpr (!FLAT) {
      if constexpr (C::HAS_ZP) {
        q.zA = zp[scaleIndex(colA, c)];
        q.zB = zp[scaleIndex(colB, c)];
      } else {
        q.zA = q.zB = C::BITS == 8 ? 128 : 8;
      }
    }
  };
  // Rows g and g + 8 of a over chunk 4 j + t's k (zeros past ROWS and for
  // chunks past K, which also zeroes their weights' products).
  struct Act {
    uint4 v[MT][CODES / 8];
  };
  auto loadAct = [&](int j, Act &act) {
    const int c = 4 * j + t;
#pragma unroll
    for (int m = 0; m < MT; ++m) {
      const int row = g + 8 * m;
      const bool ok = row < C::ROWS && c < CHUNKS;
      const uint4 *src =
          reinterpret_cast<const uint4 *>(a + (long long)row * C::K + (long long)c * CODES);
#pragma unroll
      for (int i = 0; i < CODES / 8; ++i)
        act.v[m][i] = ok ? __ldg(src + i) : make_uint4(0u, 0u, 0u, 0u);
    }
  };
  auto compute = [&](const Unit &q, const Act &act) {
#pragma unroll
    for (int s = 0; s < STEPS; ++s) {
      u32 af[4];
      decode(q.qA, s, q.sA, q.zA, af[0], af[2]);
      decode(q.qB, s, q.sB, q.zB, af[1], af[3]);
#pragma unroll
      for (int m = 0; m < MT; ++m) {
        // a[row][k0 + 4 s .. 4 s + 3]: words 2 s and 2 s + 1 of the chunk.
        const uint4 &v = act.v[m][s >> 1];
        const u32 bfr[2] = {(s & 1) ? v.z : v.x, (s & 1) ? v.w : v.y};
        mma_m16n8k16<BF>(acc[s & 1][m], af, bfr);
      }
    }
  };
  ql_gemv_mma_loop<WARPS, SUPERS, PER_WARP, U, Unit, Act>(
      warp, loadUnit, loadAct, [&](const Unit &q, const Act &act, int) { compute(q, act); });
  ql_gemv_mma_store<C, WARPS, MT, PER_CHANNEL>(acc, n0, loadScale, store);
}

// ---- decode GEMV on tensor cores, one scale block per mma: M <= 16 ---------
// quant_linear_gemv_mma's fragments and block shape, but the 4 lanes t of a
// column read P consecutive bytes each (P = 16, 8 or 4: the largest with
// 4 P dividing a scale block), so every mma's 16 k (the 4 lanes' 4 codes)
// lie in one scale block of each of the lane's two columns: the mmas of a
// window (4 P bytes of a column) accumulate unscaled codes from zero and the
// window's fp32 sum is scaled once per window (an FMA per accumulator)
// instead of a multiply per code. Codes reach 16 bits without float math:
// int4 by mask-and-or into the bf16/fp16 pattern of 128 + c (bf16) or
// 1024 + c (fp16) and one fma.rn.{bf16,f16}x2 that subtracts 128 or 1024 plus
// the zero point (exact: integers that small are exact); int8 with fp16 by
// prmt into 1024 + c and the same fma; int8 with bf16 through fp32 (2^23 | c)
// and a rounding pack; nf4/fp4 from a 16-entry book of 16-bit values in
// shared memory (the book value rounded to bf16/fp16 first, then times the
// fp32 scale: the same one rounding of the value as the other kernels, at a
// different point). Window w of a column is warp w % 8's (super-step w / 8);
// up to 64 / P windows per lane loaded before use (2 x 4 x 16 bytes), beyond
// that batches of half as many with the next batch in flight. Needs the
// emitter's conditions (useBlockScaledGemv): P | K's bytes, P >= BITS (8+
// codes a piece), 4 P | BLOCK_BYTES unless per channel, flat layout
// K % BLOCK == 0.
// Variants (the emitter's chooseDecodeGemv names them):
//   SPLIT > 1 (gemv_mma_bs_sk*, sm_90): split-K over a thread block cluster
//     (1, SPLIT, 1): CTA y takes windows [y W, (y + 1) W) of its 16 columns
//     (W = ceil(windows / SPLIT)) and the partial sums meet through
//     distributed shared memory (ql_gemv_mma_store_split): SPLIT times the
//     CTAs where N / 16 alone does not cover the SMs (N <= 2048), no
//     workspace, a fixed summation order.
//   LUT (gemv_mma_bs_lut*, nf4/fp4): each byte (two codes) decoded by one
//     shared-memory load from a table of the 256 byte values' 16-bit pairs,
//     replicated per lane ([byte][lane], 32 KiB: every lane reads its own
//     bank, no conflicts), instead of a 16-entry book lookup per code
//     (4 index extractions, 4 loads and 2 permutes per 4 codes become 2 and
//     2); the same rounding (book value to 16 bits, fp32 scale per window).
//     The table is written while the first batch of weights is in flight.
//   FAST (gemv_mma_bs_fast*): fewer instructions per code, no shared
//     memory in the decode, the same values and one rounding as above:
//     int4: the 8 codes of a word paired as (c0, c4), (c1, c5), (c2, c6),
//     (c3, c7), each pair one lop3 ((word >> 4 i) & 0x000F000F | magic)
//     and the fma, with the activation pairs permuted to match (4 prmt per
//     word and row tile, shared by both columns; the order of k inside an
//     mma is free); int8 with bf16: each fp32 2^23 | c one prmt and the pair
//     of exact integers |c - zero| <= 255 one prmt (no rounding convert);
//     nf4/fp4: the 16-entry book held in 8 registers as byte planes (low /
//     high bytes of entries 0-7 and 8-15) and looked up 4 codes at once by
//     prmt with the codes' low 3 bits as the selector, the code's bit 3
//     picking the plane by a second prmt, two prmts pairing the bytes:
//     12 ALU instructions per 4 codes, no shared-memory loads or bank
//     conflicts (selectors masked to 3 bits: prmt's 4th bit would
//     sign-replicate). int8 with fp16 decodes as above.
// Launch: grid (ceil(N / 16), SPLIT), 256 threads (and SPLIT > 1:
// __cluster_dims__(1, SPLIT, 1) on the kernel).
template <class C, bool BF, int SPLIT = 1, bool LUT = false, bool FAST = false, class LS, class ST>
__device__ void quant_linear_gemv_mma_bs(const u8 *w, const u8 *zp, const u16 *a,
                                         const LS &loadScale, const ST &store) {
  constexpr bool FLAT = C::LAYOUT == QL_LAYOUT_BNB_FLAT;
  constexpr bool PER_CHANNEL = !FLAT && C::BLOCKS == 1;
  constexpr long long ROW_BYTES = FLAT ? C::K / 2 : (long long)C::BLOCKS * C::BLOCK_BYTES;
  constexpr int SPAN = PER_CHANNEL ? 64 : C::BLOCK_BYTES;         // what a window must divide
  constexpr int P = SPAN % 64 == 0 ? 16 : SPAN % 32 == 0 ? 8 : 4; // bytes per lane and window
  constexpr int PC = P * 8 / C::BITS;                             // codes per piece
  constexpr int STEPS = PC / 4;                                   // mma k-steps per piece
  constexpr int PIECES = (long long)C::K * C::BITS / 8 / P;       // per column, within K
  constexpr int WINS_ALL = (PIECES + 3) / 4;
  constexpr int WINS = (WINS_ALL + SPLIT - 1) / SPLIT; // this CTA's (a K slice's) windows
  constexpr int WARPS = 8;
  constexpr int MT = C::ROWS > 8 ? 2 : 1;
  constexpr int PER_WARP = (WINS + WARPS - 1) / WARPS;
  constexpr int UMAX = 64 / P < 8 ? 64 / P : 8;
  constexpr int U = PER_WARP <= UMAX ? PER_WARP : UMAX / 2;
  static_assert(C::SCHEME == QL_INT4 || C::SCHEME == QL_INT8 || C::SCHEME == QL_NF4 ||
                    C::SCHEME == QL_FP4,
                "quant_linear_gemv_mma_bs: weight-only schemes");
  static_assert(PC >= 8 && (long long)C::K * C::BITS / 8 % P == 0, "whole pieces of 8+ codes");
  static_assert(PER_CHANNEL || (C::BLOCK_BYTES % (4 * P) == 0 && (!FLAT || C::K % C::BLOCK == 0)),
                "a window in one scale block");
  static_assert(C::ROWS <= 16, "quant_linear_gemv_mma_bs: at most 16 rows");
  constexpr bool BOOK = C::SCHEME == QL_NF4 || C::SCHEME == QL_FP4;
  static_assert(!LUT || (BOOK && FLAT && C::BITS == 4), "the pair table is for nf4/fp4");
  static_assert(!(LUT && FAST), "one nf4/fp4 decode: the pair table or the register book");
  // FAST int4: activation pairs permuted to the codes' (c i, c i+4) pairs.
  constexpr bool PERMUTE = FAST && C::BITS == 4 && !FLAT;
  // 16-bit patterns: 1.0 twice, and the int4 / fp16-int8 magic (128 or 1024).
  [[maybe_unused]] constexpr u32 ONE2 = BF ? 0x3F803F80u : 0x3C003C00u;
  [[maybe_unused]] constexpr u32 MAGIC2 = BF ? 0x43004300u : 0x64006400u;
  [[maybe_unused]] constexpr float MAGIC = BF ? 128.0f : 1024.0f;
  __shared__ u32 book[16];
  // LUT: pairs[b][l] = codes (b >> 4, b & 15) as 16-bit values (the first
  // code, in the high nibble, in the low half), the same for every lane l.
  __shared__ __align__(16) u32 pairs[LUT ? 256 * 32 : 4];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3;
  if constexpr (!LUT && !FAST) {
    if (BOOK && tid < 16)
      book[tid] = pack2<BF>(C::SCHEME == QL_FP4 ? ql_fp4_book[tid] : ql_nf4_book[tid], 0.0f);
    __syncthreads();
  }
  // FAST nf4/fp4: the book's 16-bit values as byte planes, bookL[j] byte i
  // = low byte of entry 4 j + i (bookH: high bytes).
  u32 bookL[4] = {0u, 0u, 0u, 0u}, bookH[4] = {0u, 0u, 0u, 0u};
  if constexpr (FAST && BOOK) {
#pragma unroll
    for (int e = 0; e < 16; ++e) {
      const u32 v = pack2<BF>(C::SCHEME == QL_FP4 ? ql_fp4_book[e] : ql_nf4_book[e], 0.0f);
      bookL[e >> 2] |= (v & 0xFFu) << (8 * (e & 3));
      bookH[e >> 2] |= ((v >> 8) & 0xFFu) << (8 * (e & 3));
    }
  }
  auto fillPairs = [&] {
    if constexpr (LUT) {
      const float *bk = C::SCHEME == QL_FP4 ? ql_fp4_book : ql_nf4_book;
      for (int i = tid; i < 256 * 8; i += blockDim.x) { // 8 uint4 (32 lanes) per byte
        const int b = i >> 3;
        const u32 v = pack2<BF>(bk[b >> 4], bk[b & 15]);
        reinterpret_cast<uint4 *>(pairs)[i] = make_uint4(v, v, v, v);
      }
      __syncthreads();
    }
  };
  // K slice (SPLIT > 1): this CTA's first window.
  const int win0 = SPLIT > 1 ? (int)blockIdx.y * WINS : 0;
  const int n0 = blockIdx.x * 16;
  const int colA = n0 + g < C::N ? n0 + g : C::N - 1; // columns past N: never stored
  const int colB = n0 + g + 8 < C::N ? n0 + g + 8 : C::N - 1;
  const u8 *wA = w + (long long)colA * ROW_BYTES;
  const u8 *wB = w + (long long)colB * ROW_BYTES;
  auto scaleIndex = [&](int col, int piece) -> long long {
    if constexpr (FLAT)
      return ((long long)col * C::K + (long long)piece * PC) / C::BLOCK;
    else
      return (long long)col * C::BLOCKS + (long long)piece * PC / C::BLOCK;
  };
  auto loadPiece = [&](const u8 *p, u32 *q) {
    if constexpr (P == 16) {
      const uint4 v = __ldg(reinterpret_cast<const uint4 *>(p));
      q[0] = v.x, q[1] = v.y, q[2] = v.z, q[3] = v.w;
    } else if constexpr (P == 8) {
      const uint2 v = __ldg(reinterpret_cast<const uint2 *>(p));
      q[0] = v.x, q[1] = v.y;
    } else {
      q[0] = __ldg(reinterpret_cast<const u32 *>(p));
    }
  };
  // A piece of both columns: codes, scales, and the zero point as what the
  // decode subtracts (16-bit pairs for the fma, a float for int8 bf16).
  struct Unit {
    u32 qA[P / 4], qB[P / 4];
    float sA, sB;
    u32 bA, bB;
    float fA, fB;
  };
  auto loadUnit = [&](int j, Unit &q) {
    const int piece = 4 * (win0 + j) + t;
#pragma unroll
    for (int i = 0; i < P / 4; ++i)
      q.qA[i] = q.qB[i] = 0u;
    q.sA = q.sB = 0.0f;
    q.bA = q.bB = 0u;
    q.fA = q.fB = 0.0f;
    if (piece >= PIECES)
      return;
    loadPiece(wA + (long long)piece * P, q.qA);
    loadPiece(wB + (long long)piece * P, q.qB);
    if constexpr (!PER_CHANNEL) {
      q.sA = loadScale(scaleIndex(colA, piece));
      q.sB = loadScale(scaleIndex(colB, piece));
    }
    if constexpr (!FLAT) {
      int zA = C::BITS == 8 ? 128 : 8, zB = zA;
      if constexpr (C::HAS_ZP) {
        zA = zp[scaleIndex(colA, piece)];
        zB = zp[scaleIndex(colB, piece)];
      }
      q.bA = pack2<BF>(-(MAGIC + (float)zA), -(MAGIC + (float)zA));
      q.bB = pack2<BF>(-(MAGIC + (float)zB), -(MAGIC + (float)zB));
      q.fA = 8388608.0f + (float)zA;
      q.fB = 8388608.0f + (float)zB;
    }
  };
  // Codes 4 s .. 4 s + 3 of a piece as two 16-bit pairs (lo: 4 s, 4 s + 1).
  auto decode = [&](const u32 *q, int s, u32 bias, float fbias, u32 &lo, u32 &hi) {
    if constexpr (FAST && C::BITS == 8 && BF) {
      // fp32 2^23 + c_i = bytes (c_i, 0, 0, 0x4B); c - zero is exact in bf16.
      const u32 word = q[s];
      float v[4];
#pragma unroll
      for (int i = 0; i < 4; ++i)
        v[i] = __uint_as_float(__byte_perm(word, 0x4B000000u, 0x7540u | (u32)i)) - fbias;
      lo = __byte_perm(__float_as_uint(v[0]), __float_as_uint(v[1]), 0x7632);
      hi = __byte_perm(__float_as_uint(v[2]), __float_as_uint(v[3]), 0x7632);
    } else if constexpr (PERMUTE) {
      // Step 2 i + h of word i: lo = codes (2 h, 2 h + 4), hi = (2 h + 1,
      // 2 h + 5) (low nibble first): the word shifted by 8 h and 8 h + 4.
      const u32 word = q[s >> 1];
      const int sh = 8 * (s & 1);
      lo = fma2<BF>(((word >> sh) & 0x000F000Fu) | MAGIC2, ONE2, bias);
      hi = fma2<BF>(((word >> (sh + 4)) & 0x000F000Fu) | MAGIC2, ONE2, bias);
    } else if constexpr (FAST && BOOK) {
      // Nibbles of bytes 2 s, 2 s + 1 (the word's half s & 1): n0 = code
      // 4 s + 1, n1 = 4 s, n2 = 4 s + 3, n3 = 4 s + 2 (first code in the high
      // nibble). Byte j of L / H: low / high byte of the value of nibble j.
      // The selectors of both halves come from one mask of the word (the two
      // unrolled steps share it); prmt reads only a selector's low 16 bits.
      const u32 word = q[s >> 1];
      const u32 sel32 = word & 0x77777777u;                          // the low 3 bits
      const u32 plane32 = ((word >> 1) & 0x44444444u) | 0x32103210u; // bit 3: the upper plane
      const u32 sel = (s & 1) ? sel32 >> 16 : sel32;
      const u32 plane = (s & 1) ? plane32 >> 16 : plane32;
      const u32 L = __byte_perm(__byte_perm(bookL[0], bookL[1], sel),
                                __byte_perm(bookL[2], bookL[3], sel), plane);
      const u32 H = __byte_perm(__byte_perm(bookH[0], bookH[1], sel),
                                __byte_perm(bookH[2], bookH[3], sel), plane);
      lo = __byte_perm(L, H, 0x4051); // (code 4 s, 4 s + 1)
      hi = __byte_perm(L, H, 0x6273); // (4 s + 2, 4 s + 3)
    } else if constexpr (C::BITS == 8) {
      const u32 word = q[s];
      if constexpr (BF) {
        float v[4];
#pragma unroll
        for (int i = 0; i < 4; ++i)
          v[i] = __uint_as_float(0x4B000000u | ((word >> (8 * i)) & 0xFFu)) - fbias;
        lo = pack2<BF>(v[0], v[1]);
        hi = pack2<BF>(v[2], v[3]);
      } else {
        lo = fma2<BF>(__byte_perm(word, 0x64646464u, 0x4140), ONE2, bias);
        hi = fma2<BF>(__byte_perm(word, 0x64646464u, 0x4342), ONE2, bias);
      }
    } else {
      const u32 h = q[s >> 1] >> (16 * (s & 1)); // bytes 2 s, 2 s + 1
      if constexpr (LUT) {
        // Byte i of the word at pairs + (byte << 7) + 4 lane: a shift and a
        // mask-or per byte (s is unrolled: the shifts are constants).
        const u32 word = q[s >> 1], own = (u32)lane << 2;
        const int i0 = 2 * (s & 1), i1 = i0 + 1; // byte indices in the word
        const u32 o0 = ((i0 == 0 ? word << 7 : word >> (8 * i0 - 7)) & 0x7F80u) | own;
        const u32 o1 = ((word >> (8 * i1 - 7)) & 0x7F80u) | own;
        const char *base = reinterpret_cast<const char *>(pairs);
        lo = *reinterpret_cast<const u32 *>(base + o0);
        hi = *reinterpret_cast<const u32 *>(base + o1);
      } else if constexpr (FLAT) { // first code in the high nibble
        lo = __byte_perm(book[(h >> 4) & 0xFu], book[h & 0xFu], 0x5410);
        hi = __byte_perm(book[(h >> 12) & 0xFu], book[(h >> 8) & 0xFu], 0x5410);
      } else { // first code in the low nibble
        lo = fma2<BF>(((h & 0xFu) | ((h << 12) & 0xF0000u)) | MAGIC2, ONE2, bias);
        hi = fma2<BF>((((h >> 8) & 0xFu) | ((h << 4) & 0xF0000u)) | MAGIC2, ONE2, bias);
      }
    }
  };
  float acc[2][MT][4];
#pragma unroll
  for (int p = 0; p < 2; ++p)
#pragma unroll
    for (int m = 0; m < MT; ++m)
      acc[p][m][0] = acc[p][m][1] = acc[p][m][2] = acc[p][m][3] = 0.0f;
  struct Act {
    uint4 v[MT][PC / 8];
  };
  auto loadAct = [&](int j, Act &act) {
    const int piece = 4 * (win0 + j) + t;
#pragma unroll
    for (int m = 0; m < MT; ++m) {
      const int row = g + 8 * m;
      const bool ok = row < C::ROWS && piece < PIECES;
      const uint4 *src =
          reinterpret_cast<const uint4 *>(a + (long long)row * C::K + (long long)piece * PC);
#pragma unroll
      for (int i = 0; i < PC / 8; ++i)
        act.v[m][i] = ok ? __ldg(src + i) : make_uint4(0u, 0u, 0u, 0u);
    }
  };
  // One window: per channel straight into chain p; else from zero, then
  // chain p += sum * scale (c0, c1: column A; c2, c3: column B).
  auto compute = [&](const Unit &q, const Act &act, int p) {
    float part[MT][4];
#pragma unroll
    for (int m = 0; m < MT; ++m)
      part[m][0] = part[m][1] = part[m][2] = part[m][3] = 0.0f;
#pragma unroll
    for (int s = 0; s < STEPS; ++s) {
      u32 af[4];
      decode(q.qA, s, q.bA, q.fA, af[0], af[2]);
      decode(q.qB, s, q.bB, q.fB, af[1], af[3]);
#pragma unroll
      for (int m = 0; m < MT; ++m) {
        const uint4 &v = act.v[m][s >> 1];
        u32 bfr[2] = {(s & 1) ? v.z : v.x, (s & 1) ? v.w : v.y};
        if constexpr (PERMUTE) { // (a 2h, a 2h+4), (a 2h+1, a 2h+5) of the word's 8 k
          const u32 x = (s & 1) ? v.y : v.x, y = (s & 1) ? v.w : v.z;
          bfr[0] = __byte_perm(x, y, 0x5410);
          bfr[1] = __byte_perm(x, y, 0x7632);
        }
        if constexpr (PER_CHANNEL)
          mma_m16n8k16<BF>(acc[(p + s) & 1][m], af, bfr);
        else
          mma_m16n8k16<BF>(part[m], af, bfr);
      }
    }
    if constexpr (!PER_CHANNEL) {
#pragma unroll
      for (int m = 0; m < MT; ++m)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          acc[p][m][e] = fmaf(part[m][e], e < 2 ? q.sA : q.sB, acc[p][m][e]);
    }
  };
  ql_gemv_mma_loop<WARPS, WINS, PER_WARP, U, Unit, Act>(
      warp, loadUnit, loadAct,
      [&](const Unit &q, const Act &act, int u) { compute(q, act, u & 1); }, fillPairs);
  if constexpr (SPLIT > 1)
    ql_gemv_mma_store_split<C, WARPS, MT, PER_CHANNEL, SPLIT>(acc, n0, loadScale, store);
  else
    ql_gemv_mma_store<C, WARPS, MT, PER_CHANNEL>(acc, n0, loadScale, store);
}

// ---- GEMV: one code at a time (any geometry) --------------------------------
// Launch: grid ceil(N / 8), 256 threads (8 warps, one output column each).
template <class C, class LA, class LS, class ST>
__device__ void quant_linear_gemv(const u8 *w, const u8 *zp, const LA &loadA, const LS &loadScale,
                                  const ST &store) {
  constexpr bool DYNAMIC = C::SCHEME == QL_DYNAMIC_INT8;
  constexpr bool LLM = C::SCHEME == QL_LLM_INT8;
  typedef typename ql_select<DYNAMIC, int, float>::type Acc;
  float aScale = 1.0f;
  int aZero = 0;
  if constexpr (DYNAMIC)
    ql_dynamic_params<C>(loadA, aScale, aZero);
  __shared__ u32 outliers[LLM ? ql_llm<C>::WORDS : 1];
  __shared__ float rowScale[LLM ? C::ROWS : 1];
  if constexpr (LLM) {
    ql_llm_outliers<C>(loadA, outliers);
    ql_llm_row_scales<C>(loadA, outliers, 0, C::ROWS, rowScale);
  }
  const int lane = threadIdx.x & 31;
  const int n = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
  if (n >= C::N)
    return;
  Acc acc[C::ROWS];
  int iacc[LLM ? C::ROWS : 1];
#pragma unroll
  for (int r = 0; r < C::ROWS; ++r)
    acc[r] = 0;
#pragma unroll
  for (int r = 0; r < (LLM ? C::ROWS : 1); ++r)
    iacc[r] = 0;
  for (int k = lane; k < C::K; k += 32) {
    if constexpr (DYNAMIC) {
      const int q = ql_int_code<C>(w, zp, n, k);
#pragma unroll
      for (int r = 0; r < C::ROWS; ++r)
        acc[r] += ql_quantize(loadA((long long)r * C::K + k), aScale, aZero) * q;
    } else if constexpr (LLM) {
      const int q = ql_int_code<C>(w, zp, n, k);
      const bool outlier = ql_llm_is_outlier(outliers, k);
#pragma unroll
      for (int r = 0; r < C::ROWS; ++r) {
        const float x = loadA((long long)r * C::K + k);
        if (outlier)
          acc[r] += x * (float)q;
        else
          iacc[r] += ql_llm_quantize(x, rowScale[r]) * q;
      }
    } else {
      const float v = ql_weight<C>(w, zp, loadScale, n, k);
#pragma unroll
      for (int r = 0; r < C::ROWS; ++r)
        acc[r] += loadA((long long)r * C::K + k) * v;
    }
  }
#pragma unroll
  for (int r = 0; r < C::ROWS; ++r) {
    const Acc total = warp_reduce(acc[r], SumOp());
    if constexpr (LLM) {
      const int itotal = warp_reduce(iacc[r], SumOp());
      if (lane == 0) {
        const float sw = loadScale(n);
        store((long long)r * C::N + n, (float)itotal * (rowScale[r] * sw) + total * sw);
      }
    } else if (lane == 0) {
      if constexpr (DYNAMIC)
        store((long long)r * C::N + n, (float)total * (aScale * loadScale(n)));
      else
        store((long long)r * C::N + n, total);
    }
  }
}

// Launch: grid (ceil(N / 32), ceil(ROWS / 32)), 256 threads.
template <class C, class LA, class LS, class ST>
__device__ void quant_linear_tiled(const u8 *w, const u8 *zp, const LA &loadA, const LS &loadScale,
                                   const ST &store) {
  constexpr bool DYNAMIC = C::SCHEME == QL_DYNAMIC_INT8;
  constexpr bool LLM = C::SCHEME == QL_LLM_INT8;
  typedef typename ql_select<DYNAMIC || LLM, int, float>::type Acc;
  __shared__ Acc as[32][33];             // [row][k]
  __shared__ Acc ws[32][33];             // [k][column]
  __shared__ float fs[LLM ? 32 : 1][33]; // llm_int8: the outlier values of a, [row][k]
  __shared__ u32 outliers[LLM ? ql_llm<C>::WORDS : 1];
  __shared__ float rowScale[LLM ? 32 : 1];
  float aScale = 1.0f;
  int aZero = 0;
  if constexpr (DYNAMIC)
    ql_dynamic_params<C>(loadA, aScale, aZero);
  const int row0 = blockIdx.y * 32, col0 = blockIdx.x * 32;
  if constexpr (LLM) {
    ql_llm_outliers<C>(loadA, outliers);
    ql_llm_row_scales<C>(loadA, outliers, row0, 32, rowScale);
  }
  const int tx = threadIdx.x & 31, ty = threadIdx.x >> 5;
  Acc acc[4] = {0, 0, 0, 0};
  float facc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int k0 = 0; k0 < C::K; k0 += 32) {
    for (int i = threadIdx.x; i < 32 * 32; i += blockDim.x) {
      const int outer = i >> 5, kk = i & 31, k = k0 + kk;
      const long long row = row0 + outer;
      const int col = col0 + outer;
      Acc av = 0, wv = 0;
      float fv = 0.0f;
      if (row < C::ROWS && k < C::K) {
        if constexpr (DYNAMIC) {
          av = ql_quantize(loadA(row * C::K + k), aScale, aZero);
        } else if constexpr (LLM) {
          const float x = loadA(row * C::K + k);
          if (ql_llm_is_outlier(outliers, k))
            fv = x;
          else
            av = ql_llm_quantize(x, rowScale[outer]);
        } else {
          av = loadA(row * C::K + k);
        }
      }
      if (col < C::N && k < C::K) {
        if constexpr (DYNAMIC || LLM)
          wv = ql_int_code<C>(w, zp, col, k);
        else
          wv = ql_weight<C>(w, zp, loadScale, col, k);
      }
      as[outer][kk] = av;
      ws[kk][outer] = wv;
      if constexpr (LLM)
        fs[outer][kk] = fv;
    }
    __syncthreads();
#pragma unroll 8
    for (int kk = 0; kk < 32; ++kk) {
      const Acc wv = ws[kk][tx];
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        acc[j] += as[ty + 8 * j][kk] * wv;
        if constexpr (LLM)
          facc[j] += fs[ty + 8 * j][kk] * (float)wv;
      }
    }
    __syncthreads();
  }
  const int col = col0 + tx;
  if (col >= C::N)
    return;
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const long long row = row0 + ty + 8 * j;
    if (row >= C::ROWS)
      continue;
    if constexpr (DYNAMIC)
      store(row * C::N + col, (float)acc[j] * (aScale * loadScale(col)));
    else if constexpr (LLM)
      store(row * C::N + col,
            (float)acc[j] * (rowScale[ty + 8 * j] * loadScale(col)) + facc[j] * loadScale(col));
    else
      store(row * C::N + col, acc[j]);
  }
}

// ---- prefill: tensor-core GEMM, weights dequantized in the mainloop ------
// Marlin-like for the packed layouts as they are stored (no offline
// reshuffle): BM x BN output tiles, 256 threads (2 x 4 warps, each
// BM/2 x BN/4 of mma.sync m16n8k16 with fp32 accumulators), K in tiles of
// BK = 4096 / BN so that every thread decodes exactly 16 codes of one
// column per tile. Double-buffered: tile kt+1's activations go
// global->shared by cp.async and its packed codes (16 or 8 bytes per
// thread, with their scale and zero point) into registers while the warps
// multiply tile kt; after the MMAs each thread decodes its codes to
// bf16/fp16 (code - zero) * scale, or code book * absmax, into the other
// B buffer ([n][k], k contiguous, as mma's col-major B): one
// __syncthreads per tile. One scale per column (int4/int8 with one block)
// is applied in the epilogue instead, so the decoded codes are exact in
// bf16/fp16. Shared rows are padded by 16 bytes (ldmatrix conflict free).
// Needs bf16/fp16 activations, K % 16 == 0 and BLOCK % 16 == 0 (a 16-code
// chunk inside one scale block; the emitter checks), int4/int8/nf4/fp4.
// Launch: grid (ceil(N / BN), ceil(ROWS / BM)), 256 threads.
template <class C, int BM, int BN, bool BF, class LS, class ST>
__device__ void quant_linear_mma(const u8 *w, const u8 *zp, const u16 *a, const LS &loadScale,
                                 const ST &store) {
  constexpr bool FLAT = C::LAYOUT == QL_LAYOUT_BNB_FLAT;
  constexpr int BK = 4096 / BN;     // 16 codes per thread per tile
  constexpr int ROW = (BK + 8) * 2; // bytes of one shared row (16-byte pad)
  constexpr int A_BYTES = BM * ROW, B_BYTES = BN * ROW;
  constexpr int MT = BM / 32, NT = BN / 32; // m16 and n8 tiles per warp
  constexpr int A_CHUNKS = BM * BK / 8;     // 16-byte chunks of an A tile
  constexpr int KT = (C::K + BK - 1) / BK;
  constexpr bool PER_CHANNEL = !FLAT && C::BLOCKS == 1;
  constexpr long long ROW_BYTES = FLAT ? C::K / 2 : (long long)C::BLOCKS * C::BLOCK_BYTES;
  static_assert(C::SCHEME == QL_INT4 || C::SCHEME == QL_INT8 || C::SCHEME == QL_NF4 ||
                    C::SCHEME == QL_FP4,
                "quant_linear_mma: weight-only schemes");
  static_assert(C::K % 16 == 0 && C::BLOCK % 16 == 0, "16-code chunks inside one scale block");
  static_assert((BM == 32 || BM == 64 || BM == 128) && (BN == 64 || BN == 128), "tile");
  static_assert(2 * (A_BYTES + B_BYTES) <= 48 * 1024, "static shared memory");
  __shared__ __align__(16) unsigned char tiles[2 * (A_BYTES + B_BYTES)];
  __shared__ float book[16];
  const u32 smem = smem_u32(tiles);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, wm = warp >> 2, wn = warp & 3;
  const long long row0 = (long long)blockIdx.y * BM;
  const int col0 = blockIdx.x * BN;
  if (tid < 16)
    book[tid] = C::SCHEME == QL_FP4 ? ql_fp4_book[tid] : ql_nf4_book[tid];

  // A tile kt -> A buffer `stage` (rows past ROWS and k past K zero filled).
  auto copyA = [&](int kt, int stage) {
    const u32 base = smem + stage * A_BYTES;
#pragma unroll
    for (int j = 0; j < (A_CHUNKS + 255) / 256; ++j) {
      const int i = tid + j * 256;
      if (A_CHUNKS % 256 != 0 && i >= A_CHUNKS)
        break;
      const int r = i / (BK / 8), c = i % (BK / 8);
      const long long row = row0 + r;
      const int k = kt * BK + c * 8;
      const bool ok = row < C::ROWS && k < C::K;
      cp_async16(base + r * ROW + c * 16, ok ? (const void *)(a + row * C::K + k) : (const void *)a,
                 ok ? 16 : 0);
    }
  };
  // This thread's 16 codes per tile: column wcol, k = kt * BK + wk.
  const int wnl = tid / (BK / 16), wk = (tid % (BK / 16)) * 16, wcol = col0 + wnl;
  const u8 *wcolumn = w + (long long)(wcol < C::N ? wcol : 0) * ROW_BYTES;
  // The packed codes of tile kt, their scale and zero point (codes 0, scale
  // 0 and zero 0 past K or N: decoded as zeros).
  auto fetchW = [&](int kt, uint4 &q, float &scale, int &zero) {
    const int k = kt * BK + wk;
    q.x = q.y = q.z = q.w = 0u;
    scale = 0.0f;
    zero = 0;
    if (wcol >= C::N || k >= C::K)
      return;
    long long off, s;
    if constexpr (FLAT) {
      off = k / 2;
      s = ((long long)wcol * C::K + k) / C::BLOCK;
    } else {
      off = (long long)(k / C::BLOCK) * C::BLOCK_BYTES + (k % C::BLOCK) * C::BITS / 8;
      s = (long long)wcol * C::BLOCKS + k / C::BLOCK;
    }
    if constexpr (C::BITS == 8) {
      q = __ldg(reinterpret_cast<const uint4 *>(wcolumn + off));
    } else {
      const uint2 v = __ldg(reinterpret_cast<const uint2 *>(wcolumn + off));
      q.x = v.x;
      q.y = v.y;
    }
    if constexpr (!PER_CHANNEL) // else applied in the epilogue
      scale = loadScale(s);
    if constexpr (!FLAT) {
      if constexpr (C::HAS_ZP)
        zero = zp[s];
      else
        zero = C::BITS == 8 ? 128 : 8;
    }
  };
  // Decodes the 16 codes into B buffer `stage`, row wnl, columns wk..wk+15.
  // Integer codes become floats without I2F (a quarter-rate conversion that
  // would bound the prefill): 0x4B000000 | c is the fp32 2^23 + c, minus
  // 2^23 + zero exactly. With the scale in the epilogue those small
  // integers (|c - zero| <= 255) are exact in bf16: the upper halves of the
  // fp32 words are the bf16 pair (a byte permute, no F2F either).
  auto storeW = [&](const uint4 &q, float scale, int zero, int stage) {
    const u32 words[4] = {q.x, q.y, q.z, q.w};
    const float bias = 8388608.0f + (float)zero;
    u32 h[8];
#pragma unroll
    for (int j = 0; j < 8; ++j) { // codes 2j and 2j + 1
      float v0, v1;
      if constexpr (C::BITS == 8) {
        const u32 pair = words[j >> 1] >> (16 * (j & 1));
        v0 = __uint_as_float(0x4B000000u | (pair & 0xFFu)) - bias;
        v1 = __uint_as_float(0x4B000000u | ((pair >> 8) & 0xFFu)) - bias;
      } else {
        const u32 byte = (words[j >> 2] >> (8 * (j & 3))) & 0xFFu;
        if constexpr (FLAT) { // first code in the high nibble
          v0 = book[byte >> 4];
          v1 = book[byte & 0xFu];
        } else { // first code in the low nibble
          v0 = __uint_as_float(0x4B000000u | (byte & 0xFu)) - bias;
          v1 = __uint_as_float(0x4B000000u | (byte >> 4)) - bias;
        }
      }
      if constexpr (!PER_CHANNEL) {
        v0 *= scale;
        v1 *= scale;
      }
      if constexpr (PER_CHANNEL && BF)
        h[j] = __byte_perm(__float_as_uint(v0), __float_as_uint(v1), 0x7632);
      else
        h[j] = pack2<BF>(v0, v1);
    }
    const u32 dst = smem + 2 * A_BYTES + stage * B_BYTES + wnl * ROW + wk * 2;
    st_shared_v4(dst, h[0], h[1], h[2], h[3]);
    st_shared_v4(dst + 16, h[4], h[5], h[6], h[7]);
  };

  float acc[MT][NT][4];
#pragma unroll
  for (int mi = 0; mi < MT; ++mi)
#pragma unroll
    for (int ni = 0; ni < NT; ++ni)
      acc[mi][ni][0] = acc[mi][ni][1] = acc[mi][ni][2] = acc[mi][ni][3] = 0.0f;

  uint4 q;
  float scale;
  int zero;
  fetchW(0, q, scale, zero);
  copyA(0, 0);
  cp_async_commit();
  __syncthreads(); // the code book
  storeW(q, scale, zero, 0);
  for (int kt = 0; kt < KT; ++kt) {
    const int cur = kt & 1;
    // Tile kt is in buffer cur; every warp is done with buffer cur ^ 1.
    cp_async_wait<0>();
    __syncthreads();
    if (kt + 1 < KT) {
      copyA(kt + 1, cur ^ 1);
      fetchW(kt + 1, q, scale, zero);
    }
    cp_async_commit();
    const u32 aS = smem + cur * A_BYTES, bS = smem + 2 * A_BYTES + cur * B_BYTES;
#pragma unroll
    for (int ks = 0; ks < BK / 16; ++ks) {
      u32 af[MT][4], bfr[NT][2];
#pragma unroll
      for (int mi = 0; mi < MT; ++mi) {
        const int r = wm * (BM / 2) + mi * 16 + (lane & 7) + ((lane >> 3) & 1) * 8;
        const int k = ks * 16 + ((lane >> 4) & 1) * 8;
        ldsm_x4(af[mi][0], af[mi][1], af[mi][2], af[mi][3], aS + r * ROW + k * 2);
      }
#pragma unroll
      for (int nj = 0; nj < NT / 2; ++nj) {
        const int r = wn * (BN / 4) + nj * 16 + (lane & 7) + ((lane >> 4) & 1) * 8;
        const int k = ks * 16 + ((lane >> 3) & 1) * 8;
        ldsm_x4(bfr[2 * nj][0], bfr[2 * nj][1], bfr[2 * nj + 1][0], bfr[2 * nj + 1][1],
                bS + r * ROW + k * 2);
      }
#pragma unroll
      for (int mi = 0; mi < MT; ++mi)
#pragma unroll
        for (int ni = 0; ni < NT; ++ni)
          mma_m16n8k16<BF>(acc[mi][ni], af[mi], bfr[ni]);
    }
    if (kt + 1 < KT)
      storeW(q, scale, zero, cur ^ 1);
  }
  cp_async_wait<0>();

  // c0, c1: row g, columns 2 t4 and 2 t4 + 1; c2, c3: row g + 8.
  const int g = lane >> 2, t4 = lane & 3;
#pragma unroll
  for (int ni = 0; ni < NT; ++ni) {
    const int col = col0 + wn * (BN / 4) + ni * 8 + 2 * t4;
    float s0 = 1.0f, s1 = 1.0f;
    if constexpr (PER_CHANNEL) {
      s0 = col < C::N ? loadScale(col) : 0.0f;
      s1 = col + 1 < C::N ? loadScale(col + 1) : 0.0f;
    }
#pragma unroll
    for (int mi = 0; mi < MT; ++mi)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const long long row = row0 + wm * (BM / 2) + mi * 16 + h * 8 + g;
        if (row >= C::ROWS)
          continue;
        if (col < C::N)
          store(row * C::N + col, acc[mi][ni][2 * h] * s0);
        if (col + 1 < C::N)
          store(row * C::N + col + 1, acc[mi][ni][2 * h + 1] * s1);
      }
  }
}

#endif // EFFC_DEVICE_QUANT_LINEAR_CUH
