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

template <class C, int THREADS, class L> __device__ void moe_token(L l) {
  __shared__ float xs[C::H], acc[C::H], hs[THREADS], scores[C::E], weights[C::K];
  __shared__ int experts[C::K];
  const long long t = blockIdx.x;
  for (int c = threadIdx.x; c < C::H; c += blockDim.x) {
    xs[c] = l.x(t * C::H + c);
    acc[c] = 0.0f;
  }
  __syncthreads();
  // Routing, fp32.
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
  if (threadIdx.x == 0) {
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
      weights[j] = C::HAS_ROUTE_WEIGHTS ? l.route_weights(t * C::E + best) : scores[best];
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
  __syncthreads();
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

#endif // EFFC_DEVICE_MOE_CUH
