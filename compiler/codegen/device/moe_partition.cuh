//===- moe_partition.cuh - eff.moe_route and eff.moe_experts --------------===//
//
// The two halves of an eff.moe that eff-partition-moe splits
// (--moe-partitions): the routing once, then each group of experts as its
// own kernel (the groups run on separate CUDA streams). Both reuse moe.cuh's
// pieces so that the partitioned layer computes what eff.moe does:
//   moe_route_token<C>: one block per token; the fp32 scores as moe_token
//     computes them, moe_select, then experts[t*K + j] (int64) and
//     weights[t*K + j] (float).
//   moe_experts_token<C, THREADS>: one block per token; for each slot j whose
//     expert e lies in [FIRST, FIRST + G), moe_mlp of expert e - FIRST with
//     weight w_j (the branch is uniform: every thread reads the same slot),
//     then the shared expert (HAS_SHARED, HAS_SHARED_GATE); one store.
// The emitter (compiler/codegen/MoEPartitionEmitter.cpp) writes the config C
// (route: T, H, E, K, ROUTING, NORM_TOPK, ROUTED_SCALE, HAS_ROUTE_WEIGHTS;
// experts: T, H, K, G, FIRST, I, IS, GELU, HAS_SHARED, HAS_SHARED_GATE) and
// the loader L (float loads, typed stores).
//
#ifndef EFFC_DEVICE_MOE_PARTITION_CUH
#define EFFC_DEVICE_MOE_PARTITION_CUH

#include "moe.cuh"

template <class C, class L> __device__ void moe_route_token(L l) {
  __shared__ float xs[C::H], scores[C::E], weights[C::K];
  __shared__ int experts[C::K];
  const long long t = blockIdx.x;
  for (int c = threadIdx.x; c < C::H; c += blockDim.x)
    xs[c] = l.x(t * C::H + c);
  __syncthreads();
  moe_route<C>(l, t, xs, scores, experts, weights);
  for (int j = threadIdx.x; j < C::K; j += blockDim.x)
    l.store_route(t * C::K + j, experts[j], weights[j]);
}

template <class C, int THREADS, class L> __device__ void moe_experts_token(L l) {
  __shared__ float xs[C::H], acc[C::H], hs[THREADS];
  const long long t = blockIdx.x;
  for (int c = threadIdx.x; c < C::H; c += blockDim.x) {
    xs[c] = l.x(t * C::H + c);
    acc[c] = 0.0f;
  }
  __syncthreads();
  auto gu = [&](long long i) { return l.gate_up(i); };
  auto dn = [&](long long i) { return l.down(i); };
  for (int j = 0; j < C::K; ++j) {
    long long e = l.expert(t * C::K + j) - C::FIRST;
    if (e < 0 || e >= C::G)
      continue;
    moe_mlp<C, C::I>(xs, hs, acc, e * 2 * C::I * C::H, e * C::H * C::I, l.weight(t * C::K + j), gu,
                     dn);
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

#endif // EFFC_DEVICE_MOE_PARTITION_CUH
