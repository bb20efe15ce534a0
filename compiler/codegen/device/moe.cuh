//===- moe.cuh - eff.moe: routing, gated expert MLPs, weighted combine ----===//
//
// The correctness-first kernel of eff.moe (semantics in
// dialects/eff/ops/MoEOps.td): one block per token.
//   1. x[t] into shared memory as float;
//   2. routing in fp32: router logits (one warp per expert), softmax and
//      top-k by thread 0 (E is small), the k weights (norm, routed scale);
//   3. per chosen expert, I in chunks of blockDim: each thread one h_i =
//      act(gate . x) * (up . x) * w, then each thread adds its output
//      columns' share of down h into a float accumulator in shared memory;
//   4. the shared expert the same way with its sigmoid gate; one store.
// It reads each chosen expert's weights once per token: the grouped-GEMM
// kernels (tokens permuted by expert, one GEMM per expert group) replace
// it for speed; this one is their reference.
//
// The emitter (compiler/codegen/MoEEmitter.cpp) writes the config C (T, H,
// E, I, IS, K, ROUTING, GELU, NORM_TOPK, ROUTED_SCALE, HAS_ROUTE_WEIGHTS,
// HAS_SHARED, HAS_SHARED_GATE) and the dtype glue as an object L with
// float-returning loads x/router/route_weights/gate_up/down/shared_gate_up/
// shared_down/shared_gate(i) and store(i, v).
//
#ifndef EFFC_DEVICE_MOE_CUH
#define EFFC_DEVICE_MOE_CUH

#include "moe_tiles.cuh"
#include "primitives.cuh"

#define MOE_SOFTMAX_TOPK 0
#define MOE_TOPK_SOFTMAX 1
#define MOE_SCORES 2

template <bool GELU> __device__ __forceinline__ float moe_act(float g) {
  if (GELU)
    return 0.5f * g * (1.0f + erff(g * 0.70710678118654752f));
  return g / (1.0f + __expf(-g));
}

// acc[o] += scale_h * down[o][:] . (act(gate_up[:I] x) * gate_up[I:] x) for
// one gated MLP (gate_up [2I, H], down [H, I], given as element offsets of
// the loaders), I in chunks of blockDim.x.
template <class C, int I, class LGU, class LD>
__device__ void moe_mlp(const float *xs, float *hs, float *acc, long long guBase, long long dBase,
                        float scale, LGU loadGU, LD loadD) {
  for (int i0 = 0; i0 < I; i0 += blockDim.x) {
    int i = i0 + threadIdx.x;
    float h = 0.0f;
    if (i < I) {
      float g = 0.0f, u = 0.0f;
      for (int c = 0; c < C::H; ++c) {
        g += loadGU(guBase + (long long)i * C::H + c) * xs[c];
        u += loadGU(guBase + (long long)(I + i) * C::H + c) * xs[c];
      }
      h = moe_act<C::GELU>(g) * u * scale;
    }
    hs[threadIdx.x] = h;
    __syncthreads();
    int chunk = min((int)blockDim.x, I - i0);
    for (int o = threadIdx.x; o < C::H; o += blockDim.x) {
      float sum = 0.0f;
      for (int j = 0; j < chunk; ++j)
        sum += loadD(dBase + (long long)o * I + i0 + j) * hs[j];
      acc[o] += sum;
    }
    __syncthreads();
  }
}

// Routing of one token from its E scores (overwritten): softmax first for
// softmax_topk, then the k largest (ties to the lower expert), their weights
// (route_weights(e) with HAS_ROUTE_WEIGHTS, else the scores; softmax over
// the k for topk_softmax), norm_topk, routed_scale. One thread.
template <class C, class RW>
__device__ void moe_select(float *scores, int *experts, float *weights, RW routeWeight) {
  if (C::ROUTING == MOE_SOFTMAX_TOPK) {
    float top = scores[0], sum = 0.0f;
    for (int e = 1; e < C::E; ++e)
      top = fmaxf(top, scores[e]);
    for (int e = 0; e < C::E; ++e)
      sum += (scores[e] = __expf(scores[e] - top));
    for (int e = 0; e < C::E; ++e)
      scores[e] /= sum;
  }
  // Top-k, ties to the lower expert: k passes over E.
  for (int j = 0; j < C::K; ++j) {
    int best = -1;
    for (int e = 0; e < C::E; ++e) {
      bool taken = false;
      for (int p = 0; p < j; ++p)
        taken |= experts[p] == e;
      if (!taken && (best < 0 || scores[e] > scores[best]))
        best = e;
    }
    experts[j] = best;
    weights[j] = C::HAS_ROUTE_WEIGHTS ? routeWeight(best) : scores[best];
  }
  if (C::ROUTING == MOE_TOPK_SOFTMAX) {
    float sum = 0.0f, top = weights[0];
    for (int j = 0; j < C::K; ++j)
      sum += (weights[j] = __expf(weights[j] - top));
    for (int j = 0; j < C::K; ++j)
      weights[j] /= sum;
  }
  float sum = 0.0f;
  for (int j = 0; j < C::K; ++j)
    sum += weights[j];
  for (int j = 0; j < C::K; ++j)
    weights[j] = (C::NORM_TOPK ? weights[j] / sum : weights[j]) * C::ROUTED_SCALE;
}

// Token t's routing in fp32 (xs: its activations in shared memory, loaded
// and synchronized by the caller): one warp per expert's router score, then
// thread 0 selects the top K; experts and weights are ready for every thread
// on return.
template <class C, class L>
__device__ void moe_route(const L &l, long long t, const float *xs, float *scores, int *experts,
                          float *weights) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  for (int e = warp; e < C::E; e += blockDim.x >> 5) {
    float s;
    if (C::ROUTING == MOE_SCORES) {
      s = l.router(t * C::E + e);
    } else {
      s = 0.0f;
      for (int c = lane; c < C::H; c += 32)
        s += l.router((long long)e * C::H + c) * xs[c];
      s = warp_reduce(s, SumOp());
    }
    if (lane == 0)
      scores[e] = s;
  }
  __syncthreads();
  if (threadIdx.x == 0)
    moe_select<C>(scores, experts, weights, [&](int e) { return l.route_weights(t * C::E + e); });
  __syncthreads();
}

template <class C, int THREADS, class L> __device__ void moe_token(L l) {
  __shared__ float xs[C::H], acc[C::H], hs[THREADS], scores[C::E], weights[C::K];
  __shared__ int experts[C::K];
  const long long t = blockIdx.x;
  for (int c = threadIdx.x; c < C::H; c += blockDim.x) {
    xs[c] = l.x(t * C::H + c);
    acc[c] = 0.0f;
  }
  __syncthreads();
  moe_route<C>(l, t, xs, scores, experts, weights);
  auto gu = [&](long long i) { return l.gate_up(i); };
  auto dn = [&](long long i) { return l.down(i); };
  for (int j = 0; j < C::K; ++j) {
    long long e = experts[j];
    moe_mlp<C, C::I>(xs, hs, acc, e * 2 * C::I * C::H, e * C::H * C::I, weights[j], gu, dn);
  }
  if (C::HAS_SHARED) {
    float s = 1.0f;
    if (C::HAS_SHARED_GATE) {
      float g = 0.0f;
      for (int c = threadIdx.x; c < C::H; c += blockDim.x)
        g += l.shared_gate(c) * xs[c];
      g = block_reduce(g, SumOp());
      s = 1.0f / (1.0f + __expf(-g));
    }
    auto sgu = [&](long long i) { return l.shared_gate_up(i); };
    auto sdn = [&](long long i) { return l.shared_down(i); };
    moe_mlp<C, C::IS>(xs, hs, acc, 0, 0, s, sgu, sdn);
  }
  for (int c = threadIdx.x; c < C::H; c += blockDim.x)
    l.store(t * C::H + c, acc[c]);
}

// ===========================================================================
// The staged kernels (route -> permute -> expert GEMMs -> combine). Their
// generator is compiler/codegen/moe/MoEKernels.cpp; the data between them:
//   experts  int64 [T*K] slot s = t*K + j: token t's j-th expert
//   weights  float [T*K] its weight (norm_topk and routed_scale applied)
//   order    int [E + 1 + 2*T*K]: offsets[E+1] (expert e's rows are the
//            positions offsets[e] .. offsets[e+1]-1), sorted[T*K] (the slot
//            at each position, stable: by expert, then slot) and inv[T*K]
//            (each slot's position)
//   h        [rows, I] act(gate) * up per row (x's type)
//   z        float [rows, H] down h per row (unweighted)
// A row is a position when `order` is used (SORTED) and a slot otherwise;
// DENSE (the shared expert) has one row per token and a single expert.
// Element types: MOE_F32, MOE_F16, MOE_BF16.

#define MOE_F32 0
#define MOE_F16 1
#define MOE_BF16 2

template <int DT> __device__ __forceinline__ float moe_ld(const void *p, long long i) {
  if constexpr (DT == MOE_F32)
    return ((const float *)p)[i];
  else if constexpr (DT == MOE_F16)
    return f16_to_f32(((const u16 *)p)[i]);
  else
    return bf16_to_f32(((const u16 *)p)[i]);
}
template <int DT> __device__ __forceinline__ void moe_st(void *p, long long i, float v) {
  if constexpr (DT == MOE_F32)
    ((float *)p)[i] = v;
  else if constexpr (DT == MOE_F16)
    ((u16 *)p)[i] = f32_to_f16(v);
  else
    ((u16 *)p)[i] = f32_to_bf16(v);
}
// VEC consecutive elements from element i (16-byte aligned when VEC > 1).
template <int DT, int VEC>
__device__ __forceinline__ void moe_ldv(const void *p, long long i, float *v) {
  if constexpr (VEC == 1) {
    v[0] = moe_ld<DT>(p, i);
  } else if constexpr (DT == MOE_F32) {
    static_assert(VEC == 4, "fp32 vectors are 4 wide");
    const float4 q = *(const float4 *)((const float *)p + i);
    v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
  } else {
    static_assert(VEC == 8, "16-bit vectors are 8 wide");
    const uint4 q = *(const uint4 *)((const u16 *)p + i);
    const u32 w[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      v[2 * j] =
          DT == MOE_BF16 ? bf16_to_f32(u16(w[j] & 0xffffu)) : f16_to_f32(u16(w[j] & 0xffffu));
      v[2 * j + 1] = DT == MOE_BF16 ? bf16_to_f32(u16(w[j] >> 16)) : f16_to_f32(u16(w[j] >> 16));
    }
  }
}

// ---- route: fp32 router logits, softmax, top-k, weights -------------------
// C: T, H, E, K, ROUTING, NORM_TOPK, HAS_ROUTE_WEIGHTS, ROUTED_SCALE and the
// element types X_DT, R_DT (router or scores), RW_DT (route_weights);
// TOKENS per block, THREADS per block, RVEC (the dot products' load width:
// 8 or 4 when x and router share a 16-bit or fp32 type and H divides, else
// 1). WARP_DOTS (few tokens): one block per token (TOKENS 1) of 1024
// threads, one warp per (token, expert) score, lanes over H with RVEC-wide
// loads, so a decode step's E dot products run 32 at a time instead of 8;
// else (TOKENS 8, 256 threads) router chunks staged in shared memory, read
// once per block for its 8 tokens. Launch: ceil(T / TOKENS) blocks of
// THREADS; one thread per token then selects.
#define MOE_ROUTE_CHUNK 32
template <class C>
__device__ void moe_route(const void *x, const void *router, const void *routeWeights,
                          long long *experts, float *weights) {
  constexpr int NT = C::TOKENS, HC = MOE_ROUTE_CHUNK, PER = (NT * C::E + 255) / 256;
  static_assert(C::WARP_DOTS || C::THREADS == 256, "the staged router runs 256 threads");
  __shared__ float xs[C::WARP_DOTS ? 1 : NT][HC + 1],
      rs[C::ROUTING == MOE_SCORES || C::WARP_DOTS ? 1 : C::E][HC + 1];
  __shared__ float sc[NT][C::E];
  __shared__ int sel[NT][C::K];
  __shared__ float wsel[NT][C::K];
  const int tid = threadIdx.x, t0 = blockIdx.x * NT;
  if constexpr (C::ROUTING == MOE_SCORES) {
    for (int i = tid; i < NT * C::E; i += blockDim.x) {
      const int tl = i / C::E, e = i % C::E;
      sc[tl][e] = t0 + tl < C::T ? moe_ld<C::R_DT>(router, (long long)(t0 + tl) * C::E + e) : 0.0f;
    }
  } else if constexpr (C::WARP_DOTS) {
    constexpr int V = C::RVEC;
    const int warp = tid >> 5, lane = tid & 31;
    for (int p = warp; p < NT * C::E; p += blockDim.x >> 5) {
      const int tl = p / C::E, e = p % C::E;
      if (t0 + tl >= C::T)
        break;
      float acc = 0.0f;
#pragma unroll 4
      for (int c = lane * V; c < C::H; c += 32 * V) {
        float xv[V], rv[V];
        moe_ldv<C::X_DT, V>(x, (long long)(t0 + tl) * C::H + c, xv);
        moe_ldv<C::R_DT, V>(router, (long long)e * C::H + c, rv);
#pragma unroll
        for (int v = 0; v < V; ++v)
          acc += xv[v] * rv[v];
      }
      acc = warp_reduce(acc, SumOp());
      if (lane == 0)
        sc[tl][e] = acc;
    }
  } else {
    float acc[PER];
#pragma unroll
    for (int q = 0; q < PER; ++q)
      acc[q] = 0.0f;
    for (int c0 = 0; c0 < C::H; c0 += HC) {
      __syncthreads();
      for (int i = tid; i < NT * HC; i += blockDim.x) {
        const int tl = i / HC, c = i % HC;
        xs[tl][c] = (t0 + tl < C::T && c0 + c < C::H)
                        ? moe_ld<C::X_DT>(x, (long long)(t0 + tl) * C::H + c0 + c)
                        : 0.0f;
      }
      for (int i = tid; i < C::E * HC; i += blockDim.x) {
        const int e = i / HC, c = i % HC;
        rs[e][c] = c0 + c < C::H ? moe_ld<C::R_DT>(router, (long long)e * C::H + c0 + c) : 0.0f;
      }
      __syncthreads();
#pragma unroll
      for (int q = 0; q < PER; ++q) {
        const int p = tid + q * 256;
        if (p < NT * C::E) {
          const int tl = p % NT, e = p / NT;
#pragma unroll 8
          for (int c = 0; c < HC; ++c)
            acc[q] += xs[tl][c] * rs[e][c];
        }
      }
    }
#pragma unroll
    for (int q = 0; q < PER; ++q) {
      const int p = tid + q * 256;
      if (p < NT * C::E)
        sc[p % NT][p / NT] = acc[q];
    }
  }
  __syncthreads();
  if (tid < NT && t0 + tid < C::T) {
    const long long t = t0 + tid;
    moe_select<C>(sc[tid], sel[tid], wsel[tid],
                  [&](int e) { return moe_ld<C::RW_DT>(routeWeights, t * C::E + e); });
    for (int j = 0; j < C::K; ++j) {
      experts[t * C::K + j] = sel[tid][j];
      weights[t * C::K + j] = wsel[tid][j];
    }
  }
}

// ---- permute: counting sort of the T*K slots by expert (stable) ----------
// C: T, E, K. Launch: one block of 1024 threads (E <= 256: the per-warp
// counts live in shared memory). Warp w owns a contiguous slot range; the
// positions of expert e go to the warps in order, and within a warp to the
// lanes of each 32-slot step in order (__match_any_sync), so the result is
// the stable sort.
template <class C> __device__ void moe_permute(const long long *experts, int *order) {
  constexpr int TK = C::T * C::K, W = 32, SPAN = (TK + W - 1) / W;
  __shared__ int cnt[W][C::E];
  __shared__ int base[C::E + 1];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int s0 = min(TK, warp * SPAN), s1 = min(TK, s0 + SPAN);
  for (int e = lane; e < C::E; e += 32)
    cnt[warp][e] = 0;
  __syncwarp();
  for (int s = s0 + lane; s < s1; s += 32)
    atomicAdd(&cnt[warp][int(experts[s])], 1);
  __syncthreads();
  // Per expert, each warp's start among the expert's slots; then the totals.
  for (int e = threadIdx.x; e < C::E; e += blockDim.x) {
    int run = 0;
    for (int w = 0; w < W; ++w) {
      const int c = cnt[w][e];
      cnt[w][e] = run;
      run += c;
    }
    base[e] = run;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    int run = 0;
    for (int e = 0; e < C::E; ++e) {
      const int c = base[e];
      base[e] = run;
      run += c;
    }
    base[C::E] = run;
  }
  __syncthreads();
  for (int e = threadIdx.x; e <= C::E; e += blockDim.x)
    order[e] = base[e];
  int *sorted = order + C::E + 1, *inv = sorted + TK;
  for (int b = s0; b < s1; b += 32) {
    const int s = b + lane;
    const bool ok = s < s1;
    const int e = ok ? int(experts[s]) : -1;
    const unsigned peers = __match_any_sync(0xffffffffu, e);
    const int rank = __popc(peers & ((1u << lane) - 1u));
    if (ok) {
      const int pos = base[e] + cnt[warp][e] + rank;
      sorted[pos] = s;
      inv[s] = pos;
    }
    __syncwarp();
    if (ok && rank == 0)
      cnt[warp][e] += __popc(peers);
    __syncwarp();
  }
}

// ---- the rows of one expert ----------------------------------------------
// Row r of expert e: the A row it reads (x's token for the gate/up GEMM, the
// h row itself for down) and the output row it writes.
template <class C> struct MoERows {
  int count = 0;
  int first = 0;  // SORTED/DENSE: rows first .. first+count-1
  int *slots = 0; // slot form: the list (shared memory)
  __device__ __forceinline__ int outRow(int r) const {
    return (C::SORTED || C::DENSE) ? first + r : slots[r];
  }
  __device__ __forceinline__ int aRow(const int *order, int r) const {
    const int o = outRow(r);
    if (C::DENSE || !C::GATED)
      return o;
    return (C::SORTED ? order[C::E + 1 + o] : o) / C::K;
  }
};

// ---- expert GEMV: decode (few rows) and the fallback of any size --------
// out[row][n] for the rows of one expert and n = blockIdx.x * warps + warp:
// one warp per output column, streaming that weight row (gate and up rows
// for GATED) once per 8 rows with 16-byte loads. C: N, KD (reduction
// length), T, K, E, DT (A and weights), OUT_DT, VEC, SORTED, DENSE, GATED,
// GELU, SLOT_CAP (slot form: at most that many rows per expert, = T),
// UNROLL (of the reduction loop).
// `index`: order (SORTED) or experts (slot form); unused when DENSE.
// Launch: grid (ceil(N / warps), SORTED: E; slot form: min(E, T*K); DENSE:
// 1). SORTED: blockIdx.y is the expert. Slot form: blockIdx.y is the rank
// of the expert among those the slots name (ascending ids; blocks past the
// last exit), so a decode step over many experts (Qwen-MoE: 60, 4 used per
// token) launches blocks for the used ones only.
#ifndef MOE_GEMV_MAX_E
#define MOE_GEMV_MAX_E 1024
#endif
template <class C>
__device__ void moe_expert_gemv(const void *A, const void *W, const void *index, void *out) {
  const int *order = (const int *)index;
  const long long *experts = (const long long *)index;
  constexpr bool SLOTS = !C::SORTED && !C::DENSE;
  constexpr int UW = SLOTS ? (C::E + 31) / 32 : 1;
  static_assert(!SLOTS || C::E <= MOE_GEMV_MAX_E, "slot form: at most 1024 experts");
  __shared__ int slots[SLOTS ? C::SLOT_CAP : 1];
  __shared__ int slotCount, slotExpert;
  __shared__ unsigned used[UW];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  int e = blockIdx.y;
  MoERows<C> rows;
  if constexpr (C::DENSE) {
    rows.count = C::T;
  } else if constexpr (C::SORTED) {
    rows.first = order[e];
    rows.count = order[e + 1] - rows.first;
  } else {
    // The experts the slots name, as a bitmap; this block's is the
    // blockIdx.y-th set bit.
    for (int i = threadIdx.x; i < UW; i += blockDim.x)
      used[i] = 0u;
    __syncthreads();
    for (int s = threadIdx.x; s < C::T * C::K; s += blockDim.x) {
      const int x = int(experts[s]);
      atomicOr(&used[x >> 5], 1u << (x & 31));
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      int r = blockIdx.y, found = -1;
      for (int i = 0; i < UW && found < 0; ++i) {
        unsigned bits = used[i];
        const int c = __popc(bits);
        if (r < c) {
          for (; r > 0; --r)
            bits &= bits - 1u; // drop the lowest set bit
          found = i * 32 + (__ffs(bits) - 1);
        } else {
          r -= c;
        }
      }
      int c = 0;
      for (int s = 0; found >= 0 && s < C::T * C::K; ++s)
        if (experts[s] == found && c < C::SLOT_CAP)
          slots[c++] = s;
      slotCount = c;
      slotExpert = found;
    }
    __syncthreads();
    rows.count = slotCount;
    rows.slots = slots;
    e = slotExpert;
  }
  const int n = blockIdx.x * (blockDim.x >> 5) + warp;
  if (rows.count == 0 || n >= C::N)
    return;
  constexpr long long WROWS = C::GATED ? 2LL * C::N : C::N;
  const long long gRow = ((long long)e * WROWS + n) * C::KD;
  const long long uRow = gRow + (long long)C::N * C::KD;
  for (int r0 = 0; r0 < rows.count; r0 += 8) {
    const int nb = min(8, rows.count - r0);
    long long aBase[8];
#pragma unroll
    for (int b = 0; b < 8; ++b)
      aBase[b] = (long long)rows.aRow(order, r0 + min(b, nb - 1)) * C::KD;
    float g[8], u[8];
#pragma unroll
    for (int b = 0; b < 8; ++b)
      g[b] = u[b] = 0.0f;
    // C::UNROLL > 1: several weight loads in flight per warp (the decode
    // GEMV is bound by the weight stream).
#pragma unroll(C::UNROLL)
    for (int c = lane * C::VEC; c < C::KD; c += 32 * C::VEC) {
      float wg[C::VEC], wu[C::VEC], a[C::VEC];
      moe_ldv<C::DT, C::VEC>(W, gRow + c, wg);
      if constexpr (C::GATED)
        moe_ldv<C::DT, C::VEC>(W, uRow + c, wu);
#pragma unroll
      for (int b = 0; b < 8; ++b) {
        if (b < nb) {
          moe_ldv<C::DT, C::VEC>(A, aBase[b] + c, a);
#pragma unroll
          for (int v = 0; v < C::VEC; ++v) {
            g[b] += wg[v] * a[v];
            if constexpr (C::GATED)
              u[b] += wu[v] * a[v];
          }
        }
      }
    }
#pragma unroll
    for (int b = 0; b < 8; ++b) {
      if (b < nb) {
        const float gs = warp_reduce(g[b], SumOp());
        const float us = C::GATED ? warp_reduce(u[b], SumOp()) : 0.0f;
        if (lane == 0) {
          const long long o = (long long)rows.outRow(r0 + b) * C::N + n;
          moe_st<C::OUT_DT>(out, o, C::GATED ? moe_act<C::GELU>(gs) * us : gs);
        }
      }
    }
  }
}

// ---- grouped expert GEMM on tensor cores (prefill) -----------------------
// One launch over all experts: blockIdx.x walks the experts' 128-row tiles
// of positions (tiles past the last expert exit), blockIdx.y the output
// columns. The block finds its expert by a prefix sum of the experts' tile
// counts (ceil(rows_e / 128), rows_e from `order`'s offsets): one warp scans
// them 32 experts a step (a shuffle scan), so no thread walks all E. A rows
// are gathered by token (GATED: x) or read in place (down: h); the B tile is
// C::BN weight rows, for GATED BN/2 gate rows and the BN/2 matching up rows,
// so act(g) * u happens in the epilogue registers and h is written once.
// bf16/fp16 operands, mma.sync m16n8k16 with fp32 accumulators, ldmatrix
// from XOR-swizzled tiles, a cp.async ring of C::STAGES k-tiles of C::BK (32
// or 64; one __syncthreads per k-tile), 8 warps of 64 x BN/4 (2 x 4): BN 128
// (64x32 warp tiles) or BN 256 (64x64: the 128x256 tile moves 2/3 of the
// shared-memory bytes per FLOP that 128x128 does).
// C: N, KD, T, K, E, BF16, SORTED (always), DENSE, GATED, GELU, OUT_DT, BK,
// STAGES, BN. Needs KD % BK == 0 and N % (GATED ? BN/2 : BN) == 0. Launch:
// grid (m-tiles bound, N / (GATED ? BN/2 : BN)), 256 threads,
// MOE_MMA_SMEM(BN, BK, STAGES) bytes.
// The dynamic shared memory (a macro so that the host emulation in
// test/unit/codegen/MoEEmuTest.cpp can supply its own array).
#ifndef MOE_DYN_SMEM
#define MOE_DYN_SMEM(name) extern __shared__ __align__(128) unsigned char name[]
#endif

// Byte offset of 16-byte chunk c of row r in a [rows][BK] 16-bit tile:
// rows of 2 BK bytes, chunks XOR-swizzled so that the 8 rows an ldmatrix
// phase reads hit 8 different bank groups (BK 32: 4 chunks a row, pairs of
// rows share a 128-byte line; BK 64: 8 chunks a row).
template <int BK> __device__ __forceinline__ int moe_tile_off(int r, int c) {
  static_assert(BK == 32 || BK == 64, "k-tiles of 32 or 64");
  if constexpr (BK == 32)
    return r * 64 + ((c ^ ((r >> 1) & 3)) << 4);
  else
    return r * 128 + ((c ^ (r & 7)) << 4);
}

// The m-tile `mt` of the grouped GEMM over E experts with offsets `order`
// (rows of expert e: order[e] .. order[e+1]-1, BM-row tiles): its expert
// and positions [p0, p1), by warp 0 scanning the tile counts 32 experts at a
// time; e = -1 past the last tile. Result in shared `sh` (3 ints).
template <int E, int BM>
__device__ __forceinline__ void moe_find_tile(const int *order, int mt, int *sh) {
  if (threadIdx.x < 32) {
    const int lane = threadIdx.x;
    int before = 0, found = -1, p0 = 0, p1 = 0;
    for (int e0 = 0; e0 < E && found < 0; e0 += 32) {
      const int e = e0 + lane;
      const int b = e < E ? order[e] : 0, c = e < E ? order[e + 1] - b : 0;
      const int tiles = (c + BM - 1) / BM;
      int incl = tiles; // inclusive scan of the 32 experts' tile counts
#pragma unroll
      for (int d = 1; d < 32; d <<= 1) {
        const int v = __shfl_up_sync(0xffffffffu, incl, d);
        if (lane >= d)
          incl += v;
      }
      const int start = before + incl - tiles;
      const bool mine = e < E && mt >= start && mt < start + tiles;
      const unsigned who = __ballot_sync(0xffffffffu, mine);
      if (who) {
        const int l = __ffs(who) - 1;
        const int pb = b + (mt - start) * BM, pe = min(b + c, pb + BM);
        found = __shfl_sync(0xffffffffu, e, l);
        p0 = __shfl_sync(0xffffffffu, pb, l);
        p1 = __shfl_sync(0xffffffffu, pe, l);
      }
      before += __shfl_sync(0xffffffffu, incl, 31);
    }
    if (lane == 0)
      sh[0] = found, sh[1] = p0, sh[2] = p1;
  }
  __syncthreads();
}

// This block's rows of the grouped GEMM: expert e and positions [p0, p1)
// (C::DENSE: no experts, block x's BM rows of the C::T); false when the block
// has none (every thread returns alike, after the barrier in moe_find_tile).
template <class C, int BM>
__device__ __forceinline__ bool moe_block_rows(const int *order, int *tileInfo, int &e, int &p0,
                                               int &p1) {
  e = 0, p0 = blockIdx.x * BM, p1 = min(C::T, p0 + BM);
  if constexpr (!C::DENSE) {
    moe_find_tile<C::E, BM>(order, blockIdx.x, tileInfo);
    e = tileInfo[0], p0 = tileInfo[1], p1 = tileInfo[2];
    return e >= 0;
  }
  return p0 < C::T;
}

template <class C>
__device__ void moe_grouped_mma(const void *A, const void *W, const int *order, void *out) {
  constexpr int BM = MOE_MMA_BM, BN = C::BN, BK = C::BK, STAGES = C::STAGES;
  constexpr int A_BYTES = BM * BK * 2, STAGE_BYTES = (BM + BN) * BK * 2, KT = C::KD / BK;
  constexpr int CPR = BK / 8;                                     // 16-byte chunks per row
  constexpr int RSTEP = 256 / CPR;                                // rows between a thread's chunks
  constexpr int CHA = BM / RSTEP, CHB = BN / RSTEP;               // chunks per thread (A, B)
  constexpr int COLS = C::GATED ? BN / 2 : BN;                    // output columns per block
  constexpr int NI = BN / 32, WCOLS = C::GATED ? BN / 8 : BN / 4; // n-frags, out cols per warp
  static_assert(BN == 128 || BN == 256, "B tiles of 128 or 256 rows");
  static_assert(C::KD % BK == 0 && C::N % COLS == 0, "tile divisibility");
  static_assert(STAGES >= 2, "a ring of at least 2 k-tiles");
  MOE_DYN_SMEM(moe_smem);
  __shared__ int tileInfo[3];
  const unsigned smem = smem_u32(moe_smem);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, wm = warp >> 2, wn = warp & 3;

  // This block's expert and positions [p0, p1).
  int e, p0, p1;
  if (!moe_block_rows<C, BM>(order, tileInfo, e, p0, p1))
    return;
  const int n0 = blockIdx.y * COLS;

  // Thread tid copies chunk c = tid % CPR of rows tid / CPR + i * RSTEP.
  const int r0 = tid / CPR, c0 = tid % CPR;
  const char *aSrc[CHA];
  bool aOk[CHA];
#pragma unroll
  for (int i = 0; i < CHA; ++i) {
    const int p = p0 + r0 + i * RSTEP;
    aOk[i] = p < p1;
    int row = p;
    if (aOk[i] && C::GATED && !C::DENSE)
      row = order[C::E + 1 + p] / C::K;
    aSrc[i] = aOk[i] ? (const char *)A + ((long long)row * C::KD + c0 * 8) * 2 : (const char *)A;
  }
  // B rows: GATED, the first half gate rows n0.., the second up rows N + n0..
  const long long wRows = C::GATED ? 2LL * C::N : (long long)C::N;
  const char *bGate = (const char *)W + (((long long)e * wRows + n0 + r0) * C::KD + c0 * 8) * 2;
  const char *bUp = bGate + (C::GATED ? (long long)(C::N - BN / 2) * C::KD * 2 : 0LL);
  auto loadStage = [&](int kt, int stage) {
    const unsigned st = smem + stage * STAGE_BYTES;
    const long long koff = (long long)kt * BK * 2;
#pragma unroll
    for (int i = 0; i < CHA; ++i)
      cp_async16(st + moe_tile_off<BK>(r0 + i * RSTEP, c0), aOk[i] ? aSrc[i] + koff : aSrc[i],
                 aOk[i] ? 16 : 0);
#pragma unroll
    for (int i = 0; i < CHB; ++i) {
      // r0 < RSTEP and BN / 2 is a multiple of RSTEP: the half is i's.
      const char *src =
          (C::GATED && i * RSTEP >= BN / 2 ? bUp : bGate) + (long long)i * RSTEP * C::KD * 2 + koff;
      cp_async16(st + A_BYTES + moe_tile_off<BK>(r0 + i * RSTEP, c0), src, 16);
    }
  };

  float acc[4][NI][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < NI; ++j)
      acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.0f;

#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < KT)
      loadStage(s, s);
    cp_async_commit();
  }
  for (int kt = 0; kt < KT; ++kt) {
    cp_async_wait<STAGES - 2>();
    __syncthreads();
    if (kt + STAGES - 1 < KT)
      loadStage(kt + STAGES - 1, (kt + STAGES - 1) % STAGES);
    cp_async_commit();
    const unsigned aS = smem + (kt % STAGES) * STAGE_BYTES, bS = aS + A_BYTES;
#pragma unroll
    for (int ks = 0; ks < BK / 16; ++ks) {
      u32 af[4][4], bf[NI][2];
#pragma unroll
      for (int mi = 0; mi < 4; ++mi) {
        const int r = wm * 64 + mi * 16 + (lane & 7) + ((lane >> 3) & 1) * 8;
        ldsm_x4(af[mi][0], af[mi][1], af[mi][2], af[mi][3],
                aS + moe_tile_off<BK>(r, ks * 2 + (lane >> 4)));
      }
      // n-frag pairs (16 B rows each): GATED, the first NI/4 pairs gate rows
      // of this warp's columns and the last NI/4 the matching up rows.
#pragma unroll
      for (int j = 0; j < NI / 2; ++j) {
        const int base =
            C::GATED ? (j < NI / 4 ? wn * WCOLS + 16 * j : BN / 2 + wn * WCOLS + 16 * (j - NI / 4))
                     : wn * WCOLS + 16 * j;
        const int r = base + (lane & 7) + ((lane >> 4) & 1) * 8;
        ldsm_x4(bf[2 * j][0], bf[2 * j][1], bf[2 * j + 1][0], bf[2 * j + 1][1],
                bS + moe_tile_off<BK>(r, ks * 2 + ((lane >> 3) & 1)));
      }
#pragma unroll
      for (int mi = 0; mi < 4; ++mi)
#pragma unroll
        for (int ni = 0; ni < NI; ++ni)
          mma_m16n8k16<C::BF16>(acc[mi][ni], af[mi], bf[ni]);
    }
  }
  cp_async_wait<0>();

  const int g = lane >> 2, t4 = lane & 3;
#pragma unroll
  for (int mi = 0; mi < 4; ++mi) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int p = p0 + wm * 64 + mi * 16 + h * 8 + g;
      if (p >= p1)
        continue;
      if constexpr (C::GATED) {
#pragma unroll
        for (int ni = 0; ni < NI / 2; ++ni) {
          const int col = n0 + wn * WCOLS + ni * 8 + t4 * 2;
          const float v0 = moe_act<C::GELU>(acc[mi][ni][2 * h]) * acc[mi][ni + NI / 2][2 * h];
          const float v1 =
              moe_act<C::GELU>(acc[mi][ni][2 * h + 1]) * acc[mi][ni + NI / 2][2 * h + 1];
          ((u32 *)out)[((long long)p * C::N + col) >> 1] = pack2<C::BF16>(v0, v1);
        }
      } else {
#pragma unroll
        for (int ni = 0; ni < NI; ++ni) {
          const int col = n0 + wn * WCOLS + ni * 8 + t4 * 2;
          float2 v = make_float2(acc[mi][ni][2 * h], acc[mi][ni][2 * h + 1]);
          *(float2 *)((float *)out + (long long)p * C::N + col) = v;
        }
      }
    }
  }
}

// ---- combine: weighted sum of each token's rows (+ the shared expert) ----
// y[t] = sum_j weights[t*K+j] z[row(t, j)] + s(t) zs[t], s = sigmoid(x[t] .
// shared_gate) with HAS_SHARED_GATE, else 1. C: T, H, K, E, SORTED,
// HAS_SHARED, HAS_SHARED_GATE, X_DT (x, shared_gate, y). Launch: T blocks.
template <class C>
__device__ void moe_combine(const float *z, const float *weights, const int *order, const float *zs,
                            const void *x, const void *sharedGate, void *y) {
  const long long t = blockIdx.x;
  float s = 1.0f;
  if constexpr (C::HAS_SHARED_GATE) {
    float g = 0.0f;
    for (int c = threadIdx.x; c < C::H; c += blockDim.x)
      g += moe_ld<C::X_DT>(sharedGate, c) * moe_ld<C::X_DT>(x, t * C::H + c);
    g = block_reduce(g, SumOp());
    s = 1.0f / (1.0f + __expf(-g));
  }
  long long rows[C::K];
  float w[C::K];
#pragma unroll
  for (int j = 0; j < C::K; ++j) {
    const int slot = int(t) * C::K + j;
    rows[j] = (long long)(C::SORTED ? order[C::E + 1 + C::T * C::K + slot] : slot) * C::H;
    w[j] = weights[slot];
  }
  for (int c = threadIdx.x; c < C::H; c += blockDim.x) {
    float v = 0.0f;
#pragma unroll
    for (int j = 0; j < C::K; ++j)
      v += w[j] * z[rows[j] + c];
    if constexpr (C::HAS_SHARED)
      v += s * zs[t * C::H + c];
    moe_st<C::X_DT>(y, t * C::H + c, v);
  }
}

#endif // EFFC_DEVICE_MOE_CUH
