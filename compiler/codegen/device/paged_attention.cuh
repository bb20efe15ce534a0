//===- paged_attention.cuh - attention over a paged KV cache -------------===//
//
// eff.paged_attention (issue 19; semantics in dialects/eff/ops/KvCacheOps.td,
// host reference runtime/src/host/KvCache.cpp): the queries' keys and values
// are read page by page through the block table, never gathered into a
// contiguous copy. One block of WARPS warps per query row (b, h, s): warp w
// takes keys w, w + WARPS, ...; its lanes split the head dim (DL =
// ceil(D / 32) values each, lanes past D idle: any D <= 256), each key's
// score is a warp all-reduce,
// and the warp keeps an online softmax (running max, sum and weighted V in
// registers, fp32). The warps' partial results merge in shared memory.
// paged_attention_split_row is eff.paged_attention_partial's: block (row,
// split) = (blockIdx.x, blockIdx.y) takes the split's chunk of CHUNK
// positions (whole pages) and writes the chunk's normalized output and its
// log-sum-exp (0 and -inf without a visible key), which
// eff.attention_combine reduces. A sliding window (WINDOW > 0) starts each
// query's keys at max(0, p - WINDOW + 1): the loop never touches a page
// before it, so a split wholly outside every query's window reads no page
// (it writes 0 and -inf).
//
// Config C (written by compiler/codegen/PagedAttentionEmitter.cpp):
//   B, HQ, S, D, NP (pages), HKV, PS (page size), MB (pages per row),
//   GROUP = HQ / HKV, CAUSAL, WINDOW (0: none), SCALE (B and S: upper
//   bounds with runtime
//   extents: the grid's size);
//   static i64 batch(const long long *effc_dims), seq(...)  the run's B and S
//     (the constants, or expressions of the run's dims: issue 14 S3; the
//     rows are compact at the run's extents, blocks past them return);
//   static float ld(const void *p, i64 i)      element i of q/k/v as fp32;
//   static void st(void *p, i64 i, float v)    element i of y from fp32;
//   static i64 y_row(i64 b, i64 h, i64 s, const long long *effc_dims)
//     (paged_attention_row only) the offset of y's row (b, h, s): y is
//     [B, HQ, S, D] stored through the op's out_perm, D contiguous;
//   static i64 page(const void *table, i64 i)  block_table element i;
//   static i64 len(const void *lens, i64 b)    seq_lens element b.
// Robustness: seq_lens is clamped to [0, MB * PS] and a key whose page id is
// outside [0, NP) is skipped, so no read leaves the pool; the host kernel
// reports both as errors instead.
//
#ifndef EFFC_DEVICE_PAGED_ATTENTION_CUH
#define EFFC_DEVICE_PAGED_ATTENTION_CUH

#include "primitives.cuh"

namespace effc_paged {

// Query row blockIdx.x over its visible keys within [lo, hi);
// `finish(row, d, o, m, l)` gets element d of the merged result of every
// warp: o / l is the attention output over them, m + ln(l) their
// log-sum-exp (l = 0: no key).
template <class C, int WARPS, class Finish>
__device__ __forceinline__ void
paged_attention_range(const void *q, const void *k, const void *v, const void *table,
                      const void *lens, i64 lo, i64 hi, const long long *effc_dims, Finish finish) {
  static_assert(C::D >= 1 && C::D <= 256, "head dim: 1..256");
  constexpr int DL = (C::D + 31) / 32;
  __shared__ float part_m[WARPS], part_l[WARPS];
  __shared__ float part_acc[WARPS][C::D];
  const i64 row = i64(blockIdx.x), S = C::seq(effc_dims);
  if (row >= C::batch(effc_dims) * C::HQ * S)
    return;
  const int s = int(row % S), h = int((row / S) % C::HQ), b = int(row / (S * C::HQ));
  const int hk = h / C::GROUP, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  i64 held = C::len(lens, b);
  held = held < 0 ? 0 : held > i64(C::MB) * C::PS ? i64(C::MB) * C::PS : held;
  const i64 pos = held - S + s;
  const i64 visible = pos < 0 ? 0 : C::CAUSAL ? pos + 1 : held;
  if (hi > visible)
    hi = visible;
  if (C::WINDOW > 0 && lo < pos - C::WINDOW + 1)
    lo = pos - C::WINDOW + 1;

  float qr[DL], acc[DL];
#pragma unroll
  for (int j = 0; j < DL; ++j) {
    qr[j] = lane + 32 * j < C::D ? C::ld(q, row * C::D + lane + 32 * j) : 0.0f;
    acc[j] = 0.0f;
  }
  float m = -EFFC_INF_F, l = 0.0f;
  for (i64 t = lo + warp; t < hi; t += WARPS) {
    const i64 pg = C::page(table, i64(b) * C::MB + t / C::PS);
    if (pg < 0 || pg >= C::NP)
      continue; // never read outside the pool
    const i64 base = ((pg * C::HKV + hk) * C::PS + t % C::PS) * C::D;
    float dot = 0.0f;
#pragma unroll
    for (int j = 0; j < DL; ++j)
      if (lane + 32 * j < C::D)
        dot += qr[j] * C::ld(k, base + lane + 32 * j);
    dot = warp_reduce(dot, SumOp()) * C::SCALE;
    const float mNew = fmaxf(m, dot);
    const float correction = expf(m - mNew), w = expf(dot - mNew);
    l = l * correction + w;
#pragma unroll
    for (int j = 0; j < DL; ++j)
      if (lane + 32 * j < C::D)
        acc[j] = acc[j] * correction + w * C::ld(v, base + lane + 32 * j);
    m = mNew;
  }
  if (lane == 0) {
    part_m[warp] = m;
    part_l[warp] = l;
  }
#pragma unroll
  for (int j = 0; j < DL; ++j)
    if (lane + 32 * j < C::D)
      part_acc[warp][lane + 32 * j] = acc[j];
  __syncthreads();
  float mAll = -EFFC_INF_F;
#pragma unroll
  for (int w = 0; w < WARPS; ++w)
    mAll = fmaxf(mAll, part_m[w]);
  float lAll = 0.0f;
#pragma unroll
  for (int w = 0; w < WARPS; ++w)
    lAll += part_m[w] == -EFFC_INF_F ? 0.0f : part_l[w] * expf(part_m[w] - mAll);
  for (int d = threadIdx.x; d < C::D; d += 32 * WARPS) {
    float o = 0.0f;
#pragma unroll
    for (int w = 0; w < WARPS; ++w)
      if (part_m[w] != -EFFC_INF_F)
        o += part_acc[w][d] * expf(part_m[w] - mAll);
    finish(row, d, o, mAll, lAll);
  }
}

template <class C, int WARPS>
__device__ __forceinline__ void paged_attention_row(const void *q, const void *k, const void *v,
                                                    const void *table, const void *lens, void *y,
                                                    const long long *effc_dims) {
  const i64 S = C::seq(effc_dims);
  paged_attention_range<C, WARPS>(q, k, v, table, lens, 0, i64(C::MB) * C::PS, effc_dims,
                                  [&](i64 row, int d, float o, float, float l) {
                                    const i64 at = C::y_row(row / (S * C::HQ), (row / S) % C::HQ,
                                                            row % S, effc_dims);
                                    C::st(y, at + d, l > 0.0f ? o / l : 0.0f);
                                  });
}

// Split blockIdx.y of SPLITS, each CHUNK positions: o_partial [SPLITS, rows,
// D] and lse [SPLITS, rows], fp32.
template <class C, int WARPS, int SPLITS, int CHUNK>
__device__ __forceinline__ void paged_attention_split_row(const void *q, const void *k,
                                                          const void *v, const void *table,
                                                          const void *lens, float *o_partial,
                                                          float *lse, const long long *effc_dims) {
  const i64 split = i64(blockIdx.y), rows = C::batch(effc_dims) * C::HQ * C::seq(effc_dims);
  paged_attention_range<C, WARPS>(q, k, v, table, lens, split * CHUNK, (split + 1) * CHUNK,
                                  effc_dims, [&](i64 row, int d, float o, float m, float l) {
                                    o_partial[(split * rows + row) * C::D + d] =
                                        l > 0.0f ? o / l : 0.0f;
                                    if (d == 0)
                                      lse[split * rows + row] =
                                          l > 0.0f ? m + logf(l) : -EFFC_INF_F;
                                  });
}

} // namespace effc_paged

#endif // EFFC_DEVICE_PAGED_ATTENTION_CUH
