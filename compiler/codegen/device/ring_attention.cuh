//===- ring_attention.cuh - ring attention's blocks on the device ---------===//
//
// The device side of eff.ring_attention on the cuda backend (effc
// --devices=N --devices-attention=ring, issue 20; runtime/src/cuda/
// RingAttention.cpp drives it). Ring position p holds the q, k, v rows of
// the n tokens it owns out of S = N * n: contiguous (p * n + r) or striped
// (p + r * N), the positions host::ringPositions gives. At each of the N
// hops a position attends its queries to the K/V block it holds (from
// origin position o), then the blocks move one position along the ring.
//   effc_ring_attend: grid (n, Hq, B), any block size (a multiple of 32),
//     dynamic shared memory (D + blockDim.x) floats. One query row per
//     block: keys in chunks of blockDim.x (one key's dot product a
//     thread), the causal limit by global positions (keys up to the
//     query's position; no mask inside the limit), and the running (O, m,
//     l) of the row in fp32 scratch updated with the online-softmax
//     rescaling (O unnormalized; `first` starts it: O = 0, m = -inf, l = 0).
//     Query head h reads kv head h / (Hq / Hkv).
//   effc_ring_finalize: grid rows = B * Hq * n: out = O / l (0 where no key
//     was allowed) rounded once to the dtype.
//   effc_ring_place: grid (S, Hq, B): the all-gathered blocks (position p's
//     [B, Hq, n, Dv] at p * B * Hq * n * Dv) into [B, Hq, S, Dv] in token
//     order (striping undone).
// Inputs f32, f16 or bf16 (`dtype`); arithmetic in fp32.
//
// Not generated per model: the runtime compiles this file (with
// primitives.cuh before it) with NVRTC once per device and process.
//
#ifndef EFFC_DEVICE_RING_ATTENTION_CUH
#define EFFC_DEVICE_RING_ATTENTION_CUH

#include "primitives.cuh"

namespace effc_ring {

// Token position of row r of ring position p.
__device__ __forceinline__ i64 position(i64 p, i64 r, i64 n, i64 N, int striped) {
  return striped ? p + r * N : p * n + r;
}

} // namespace effc_ring

EFFC_KERNEL void effc_ring_attend(const void *q, const void *k, const void *v, float *O, float *M,
                                  float *L, i64 Hq, i64 Hkv, i64 n, i64 D, i64 Dv, float scale,
                                  int causal, int striped, i64 N, i64 q_origin, i64 k_origin,
                                  int first, int dtype) {
  extern __shared__ float ring_smem[];
  float *sq = ring_smem, *sp = ring_smem + D;
  const i64 i = i64(blockIdx.x), h = i64(blockIdx.y), b = i64(blockIdx.z);
  if (i >= n)
    return;
  const i64 kh = h / (Hq / Hkv), row = (b * Hq + h) * n + i;
  const i64 qbase = row * D, kbase = (b * Hkv + kh) * n * D, vbase = (b * Hkv + kh) * n * Dv;
  float *o = O + row * Dv;
  const int t = int(threadIdx.x), T = int(blockDim.x);
  for (i64 d = t; d < D; d += T)
    sq[d] = load_dtype(q, qbase + d, dtype);
  if (first)
    for (i64 d = t; d < Dv; d += T)
      o[d] = 0.f;
  // Keys j < end are allowed: key positions base + j * stride <= qpos.
  i64 end = n;
  if (causal) {
    const i64 qpos = effc_ring::position(q_origin, i, n, N, striped);
    const i64 base = striped ? k_origin : k_origin * n, stride = striped ? N : 1;
    end = qpos < base ? 0 : (qpos - base) / stride + 1;
    if (end > n)
      end = n;
  }
  float m = first ? -EFFC_INF_F : M[row], l = first ? 0.f : L[row];
  __syncthreads();
  for (i64 c = 0; c < end; c += T) {
    const i64 j = c + t;
    float s = -EFFC_INF_F;
    if (j < end) {
      float dot = 0.f;
      for (i64 d = 0; d < D; ++d)
        dot += sq[d] * load_dtype(k, kbase + j * D + d, dtype);
      s = dot * scale;
    }
    const float cmax = block_reduce(s, MaxOp());
    const float mnew = fmaxf(m, cmax);
    const float p = j < end ? expf(s - mnew) : 0.f;
    sp[t] = p;
    const float sum = block_reduce(p, SumOp()); // its barriers publish sp
    const float alpha = expf(m - mnew);         // m = -inf: 0
    const i64 cnt = end - c < T ? end - c : T;
    for (i64 d = t; d < Dv; d += T) {
      float acc = o[d] * alpha;
      for (i64 jj = 0; jj < cnt; ++jj)
        acc += sp[jj] * load_dtype(v, vbase + (c + jj) * Dv + d, dtype);
      o[d] = acc;
    }
    l = l * alpha + sum;
    m = mnew;
    __syncthreads(); // sp is rewritten by the next chunk
  }
  if (t == 0) {
    M[row] = m;
    L[row] = l;
  }
}

EFFC_KERNEL void effc_ring_finalize(const float *O, const float *L, i64 rows, i64 Dv, int dtype,
                                    void *out) {
  const i64 row = i64(blockIdx.x);
  if (row >= rows)
    return;
  const float l = L[row];
  for (i64 d = threadIdx.x; d < Dv; d += blockDim.x)
    store_dtype(out, row * Dv + d, dtype, l > 0.f ? O[row * Dv + d] / l : 0.f);
}

EFFC_KERNEL void effc_ring_place(const u8 *staged, i64 B, i64 Hq, i64 n, i64 N, i64 row_bytes,
                                 int striped, u8 *out) {
  const i64 tok = i64(blockIdx.x), h = i64(blockIdx.y), b = i64(blockIdx.z), S = n * N;
  if (tok >= S)
    return;
  const i64 p = striped ? tok % N : tok / n, r = striped ? tok / N : tok % n;
  const u8 *from = staged + (((p * B + b) * Hq + h) * n + r) * row_bytes;
  u8 *to = out + ((b * Hq + h) * S + tok) * row_bytes;
  for (i64 x = threadIdx.x; x < row_bytes; x += blockDim.x)
    to[x] = from[x];
}

#endif // EFFC_DEVICE_RING_ATTENTION_CUH
