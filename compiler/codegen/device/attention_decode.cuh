//===- attention_decode.cuh - split-KV (flash-decoding) templates ---------===//
//
// Decode is memory-bound (intensity ~ GQA group size FLOP/B), so the goal is
// to stream K/V at HBM speed from enough CTAs: the grid is (splits, row
// blocks x kv heads, batch). A CTA packs the G = HQ/HKV query heads of its kv
// head and the S queries into the rows of one mma M dimension (row r =
// g*S + i, RT 16-row slices), so K/V are read once per kv head, not once per
// query head. Its NW warps split each BN-key tile (warp w: keys
// [16w, 16w+16)), each keeping its own online-softmax state; the warps are
// merged through shared memory at the end. K/V tiles stream through a
// STAGES-deep cp.async ring.
//
// Config C (see FlashDecode.cpp): everything of the forward config plus
// RT (16-row slices per CTA), ROWS_TOTAL (= G*S), CHUNK (keys per split,
// splitKvChunk: a multiple of BN) and DIRECT.
//
// Output (eff.attention_partial's layout, rows = B*HQ*S in [B, HQ, S] order):
// DIRECT (one split, no combine): o directly. Else out0 = partial O
// [SPLITS][rows][DV] (normalized within the split, fp32) and out1 = LSE
// [SPLITS][rows] (natural log, -inf = no allowed key); decode_combine
// weights the partials by exp(lse - max).
//
#ifndef EFFC_DEVICE_ATTENTION_DECODE_CUH
#define EFFC_DEVICE_ATTENTION_DECODE_CUH

#include "attention_common.cuh"

namespace effc_attn {
template <class C>
__device__ __forceinline__ void decode_split(const void *qv, const void *kv, const void *vv,
                                             const void *mv, void *out0, void *out1,
                                             const long long *effc_dims = nullptr) {
  typedef typename C::Elem E;
  constexpr int NW = C::NW, NTH = NW * 32, RT = C::RT, ROWS = RT * 16;
  constexpr int BN = NW * 16;
  constexpr int KSTR = C::DP + 8, VSTR = C::DVP + 8, QSTR = C::DP + 8;
  constexpr int KD = C::DP / 16, NDV = C::DVP / 8;
  const attn_ext x = attn_extents<C>(effc_dims); // this run's extents
  const int OFF = x.L - x.S;
  const int rowsTotal = C::GROUP * x.S; // packed rows g*S + i
  // Keys per split: the run's key length cut as splitKvChunk cuts it.
  int chunk = 0;
  if constexpr (attn_runtime<C>::value) {
    static_assert(C::KEY_ALIGN % (C::NW * 16) == 0, "a KV tile must not straddle two splits");
    chunk = ((x.L + C::SPLITS - 1) / C::SPLITS + C::KEY_ALIGN - 1) / C::KEY_ALIGN * C::KEY_ALIGN;
  } else
    chunk = C::CHUNK;
  // ADD: scores in natural units (additive mask, soft-capping, ALiBi or
  // sinks); XFORM: scores go through scaled_score (+ ALiBi).
  constexpr bool XFORM = C::SOFTCAP > 0.0f || C::ALIBI || C::SINKS, ADD = C::MASK >= 2 || XFORM;
  constexpr int G = C::GROUP;
  static_assert(C::CHUNK % BN == 0, "a KV tile must not straddle two splits");

  extern __shared__ __align__(128) unsigned char smem[];
  const u32 sQ = smem_u32(smem);
  const u32 sK = sQ + u32(ROWS * QSTR * 2);
  const u32 sV = sK + u32(C::STAGES * BN * KSTR * 2);

  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int split = blockIdx.x, hk = blockIdx.y % C::HKV, rb = blockIdx.y / C::HKV, b = blockIdx.z;
  const int r0 = rb * ROWS;             // first packed row (g*S + i) of this CTA
  if constexpr (attn_runtime<C>::value) // the grid covers the bounds: row blocks past this
    if (r0 >= rowsTotal || b >= x.B)    // run's rows or batch leave (whole CTAs)
      return;
  const E *qg = (const E *)qv + b * x.QB + i64(hk) * G * x.QH;
  const E *kg = (const E *)kv + b * x.KB + hk * x.KH;
  const E *vg = (const E *)vv + b * x.VB + hk * x.VH;

  // Keys of this split, cut by the window of the earliest query (causal needs
  // no cut: the last query sees every key).
  int kBegin = split * chunk;
  const int kEnd = min(x.L, kBegin + chunk);
  if (C::WINDOW > 0)
    kBegin = max(kBegin, OFF - C::WINDOW + 1);
  const int nbBegin = kBegin / BN;
  const int nbEnd = kEnd > 0 ? (kEnd + BN - 1) / BN : 0;

  auto load_kv = [&](int slot, int nb) {
    const int n0 = nb * BN;
    load_tile<E, C::BF, NTH, BN, C::D, C::DP, KSTR>(
        sK + u32(slot * BN * KSTR * 2), tid, kg,
        [&](int r) -> const E * { return n0 + r < kEnd ? kg + i64(n0 + r) * x.KS : nullptr; });
    load_tile<E, C::BF, NTH, BN, C::DV, C::DVP, VSTR>(
        sV + u32(slot * BN * VSTR * 2), tid, vg,
        [&](int r) -> const E * { return n0 + r < kEnd ? vg + i64(n0 + r) * x.VS : nullptr; });
  };

  float o[RT][NDV][4];
  float mrow[RT][2], lrow[RT][2];
#pragma unroll
  for (int rt = 0; rt < RT; ++rt) {
#pragma unroll
    for (int d = 0; d < NDV; ++d)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        o[rt][d][e] = 0.0f;
    mrow[rt][0] = mrow[rt][1] = -EFFC_INF_F;
    lrow[rt][0] = lrow[rt][1] = 0.0f;
  }

  if (nbBegin < nbEnd) {
    load_tile<E, C::BF, NTH, ROWS, C::D, C::DP, QSTR>(sQ, tid, qg, [&](int r) -> const E * {
      const int pr = r0 + r;
      if (pr >= rowsTotal)
        return nullptr;
      const int g = pr / x.S, i = pr - g * x.S;
      return qg + i64(g) * x.QH + i64(i) * x.QS;
    });
#pragma unroll
    for (int s = 0; s < C::STAGES - 1; ++s) {
      if (nbBegin + s < nbEnd)
        load_kv(s, nbBegin + s);
      cp_async_commit();
    }
  }

  for (int nb = nbBegin; nb < nbEnd; ++nb) {
    const int it = nb - nbBegin;
    cp_async_wait<C::STAGES - 2>();
    __syncthreads();
    {
      const int nn = nb + C::STAGES - 1;
      if (nn < nbEnd)
        load_kv((it + C::STAGES - 1) % C::STAGES, nn);
      cp_async_commit();
    }
    const int slot = it % C::STAGES;
    const u32 kS = sK + u32(slot * BN * KSTR * 2), vS = sV + u32(slot * BN * VSTR * 2);
    const int kw = warp * 16; // this warp's 16 keys of the tile

    float s[RT][2][4];
#pragma unroll
    for (int rt = 0; rt < RT; ++rt)
#pragma unroll
      for (int j = 0; j < 2; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          s[rt][j][e] = 0.0f;
#pragma unroll
    for (int kd = 0; kd < KD; ++kd) {
      u32 bk[4];
      ldsm_x4(
          bk[0], bk[1], bk[2], bk[3],
          kS + u32(((kw + (lane & 7) + (lane >> 4) * 8) * KSTR + kd * 16 + ((lane >> 3) & 1) * 8) *
                   2));
#pragma unroll
      for (int rt = 0; rt < RT; ++rt) {
        u32 a[4];
        ldsm_x4(a[0], a[1], a[2], a[3],
                sQ + u32(((rt * 16 + (lane & 15)) * QSTR + kd * 16 + (lane >> 4) * 8) * 2));
        mma_m16n8k16<C::BF>(s[rt][0], a, bk);
        mma_m16n8k16<C::BF>(s[rt][1], a, bk + 2);
      }
    }

    const int n0 = nb * BN + kw;
    if constexpr (C::MASK != 0 || XFORM) {
#pragma unroll
      for (int rt = 0; rt < RT; ++rt)
#pragma unroll
        for (int j = 0; j < 2; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int pr = r0 + rt * 16 + (lane >> 2) + (e >> 1) * 8;
            const int col = n0 + j * 8 + (lane & 3) * 2 + (e & 1);
            float mval = 0.0f;
            const int g = pr / x.S, i = pr - g * x.S;
            if (C::MASK != 0 && pr < rowsTotal && col < x.L) {
              mval = mask_value<C::MASK>(mv, b * x.MB + i64(hk * G + g) * x.MH + i64(i) * x.MS +
                                                 i64(col) * x.ML);
            }
            if constexpr (XFORM)
              s[rt][j][e] =
                  scaled_score<C>(s[rt][j][e]) + mval +
                  (C::ALIBI && g < C::GROUP ? C::alibi_slope(hk * G + g) * float(col - (i + OFF))
                                            : 0.0f);
            else if constexpr (ADD)
              s[rt][j][e] = fmaf(s[rt][j][e], C::SCALE, mval);
            else if (mval != 0.0f)
              s[rt][j][e] = -EFFC_INF_F;
          }
    }
    const bool edge = nb * BN + BN > kEnd || (C::CAUSAL && nb * BN + BN - 1 > OFF) ||
                      (C::WINDOW > 0 && nb * BN <= x.S - 1 + OFF - C::WINDOW);
    if (edge) {
#pragma unroll
      for (int rt = 0; rt < RT; ++rt)
#pragma unroll
        for (int j = 0; j < 2; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int pr = r0 + rt * 16 + (lane >> 2) + (e >> 1) * 8;
            const int pos = pr % x.S + OFF;
            const int col = n0 + j * 8 + (lane & 3) * 2 + (e & 1);
            bool ok = col < kEnd;
            if (C::CAUSAL)
              ok = ok && col <= pos;
            if (C::WINDOW > 0)
              ok = ok && col > pos - C::WINDOW;
            if (!ok)
              s[rt][j][e] = -EFFC_INF_F;
          }
    }

#pragma unroll
    for (int rt = 0; rt < RT; ++rt) {
      const float a0 = softmax_update<2, 0, ADD>(s[rt], mrow[rt][0], lrow[rt][0], C::C_EXP);
      const float a1 = softmax_update<2, 1, ADD>(s[rt], mrow[rt][1], lrow[rt][1], C::C_EXP);
#pragma unroll
      for (int d = 0; d < NDV; ++d) {
        o[rt][d][0] *= a0;
        o[rt][d][1] *= a0;
        o[rt][d][2] *= a1;
        o[rt][d][3] *= a1;
      }
      u32 pa[4];
      pa[0] = pack2<C::BF>(s[rt][0][0], s[rt][0][1]);
      pa[1] = pack2<C::BF>(s[rt][0][2], s[rt][0][3]);
      pa[2] = pack2<C::BF>(s[rt][1][0], s[rt][1][1]);
      pa[3] = pack2<C::BF>(s[rt][1][2], s[rt][1][3]);
#pragma unroll
      for (int p = 0; p < C::DVP / 16; ++p) {
        u32 bv[4];
        ldsm_x4_t(
            bv[0], bv[1], bv[2], bv[3],
            vS + u32(((kw + (lane & 7) + ((lane >> 3) & 1) * 8) * VSTR + p * 16 + (lane >> 4) * 8) *
                     2));
        mma_m16n8k16<C::BF>(o[rt][2 * p], pa, bv);
        mma_m16n8k16<C::BF>(o[rt][2 * p + 1], pa, bv + 2);
      }
    }
  }

  // Merge the warps' states through shared memory (the K/V ring is free once
  // every cp.async landed and every warp left the loop).
  cp_async_wait<0>();
  __syncthreads();
  constexpr int OSTR = C::DVP + 4;
  float *mb = (float *)smem;    // [NW][ROWS]
  float *lb = mb + NW * ROWS;   // [NW][ROWS]
  float *obuf = lb + NW * ROWS; // [NW][ROWS][OSTR]
#pragma unroll
  for (int rt = 0; rt < RT; ++rt)
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      float l = lrow[rt][hh];
      l += __shfl_xor_sync(0xffffffffu, l, 1);
      l += __shfl_xor_sync(0xffffffffu, l, 2);
      const int r = rt * 16 + (lane >> 2) + hh * 8;
      if ((lane & 3) == 0) {
        mb[warp * ROWS + r] = mrow[rt][hh];
        lb[warp * ROWS + r] = l;
      }
#pragma unroll
      for (int d = 0; d < NDV; ++d) {
        const int c = d * 8 + (lane & 3) * 2;
        float2 v;
        v.x = o[rt][d][2 * hh];
        v.y = o[rt][d][2 * hh + 1];
        *(float2 *)(obuf + (warp * ROWS + r) * OSTR + c) = v;
      }
    }
  __syncthreads();
  for (int idx = tid; idx < ROWS * C::DV; idx += NTH) {
    const int r = idx / C::DV, d = idx - r * C::DV;
    const int pr = r0 + r;
    if (pr >= rowsTotal)
      continue;
    float M = -EFFC_INF_F;
#pragma unroll
    for (int w = 0; w < NW; ++w)
      M = fmaxf(M, mb[w * ROWS + r]);
    float mu = M == -EFFC_INF_F ? 0.0f : M;
    float lsum = 0.0f, acc = 0.0f;
#pragma unroll
    for (int w = 0; w < NW; ++w) {
      const float f = ex2((mb[w * ROWS + r] - mu) * C::C_EXP);
      lsum += lb[w * ROWS + r] * f;
      acc += obuf[(w * ROWS + r) * OSTR + d] * f;
    }
    const int g = pr / x.S, i = pr - g * x.S, h = hk * G + g;
    if constexpr (C::SINKS) {
      if (split == 0) { // the sink: one more key of split 0, with no value
        const float sink = C::sink(h), mNew = fmaxf(M, sink);
        const float corr = M == -EFFC_INF_F ? 0.0f : ex2((mu - mNew) * C::C_EXP);
        lsum = lsum * corr + ex2((sink - mNew) * C::C_EXP);
        acc *= corr;
        mu = mNew;
      }
    }
    const float val = lsum > 0.0f ? acc / lsum : 0.0f;
    if constexpr (C::DIRECT) {
      E *og = (E *)out0 + b * x.OB + h * x.OH + i64(i) * x.OS + d;
      if constexpr (sizeof(E) == 2)
        *(u16 *)og = u16(pack2<C::OUT_BF>(val, 0.0f) & 0xffffu);
      else
        *og = val;
    } else {
      const i64 t = (i64(split) * x.B + b) * C::HQ * x.S + i64(h) * x.S + i; // [split][b][h][i]
      ((float *)out0)[t * C::DV + d] = val;
      if (d == 0) // ln(sum_j exp(score_j)) = log2(...) * ln 2
        ((float *)out1)[t] =
            lsum > 0.0f ? (mu * C::C_EXP + lg2(lsum)) * EFFC_ATTN_LN2 : -EFFC_INF_F;
    }
  }
}

// One warp per output row (b, h, i): o = sum_s exp(lse_s - max) o_s / sum_s
// exp(lse_s - max). C: Elem, OUT_BF, DV, SPLITS, HQ, S, ROWS (= B*HQ*S) and
// o's strides OB, OH, OS; with RUNTIME_DIMS, extents(effc_dims) gives this
// run's B, S and o strides (the constants are the bounds).
template <class C>
__device__ __forceinline__ void decode_combine(const void *opv, const void *lsev, void *ov,
                                               const long long *effc_dims = nullptr) {
  typedef typename C::Elem E;
  i64 ROWS = C::ROWS, OB = C::OB, OH = C::OH, OS = C::OS;
  int S = C::S;
  if constexpr (attn_runtime<C>::value) {
    const attn_ext x = C::extents(effc_dims);
    ROWS = i64(x.B) * C::HQ * x.S, OB = x.OB, OH = x.OH, OS = x.OS, S = x.S;
  }
  const i64 row = i64(blockIdx.x) * 4 + int(threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (row >= ROWS)
    return;
  const float *op = (const float *)opv + row * C::DV, *lse = (const float *)lsev + row;
  float mx = -EFFC_INF_F;
  for (int s = lane; s < C::SPLITS; s += 32)
    mx = fmaxf(mx, lse[s * ROWS]);
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
  const float mu = mx == -EFFC_INF_F ? 0.0f : mx;
  float wsum = 0.0f;
  for (int s = lane; s < C::SPLITS; s += 32)
    wsum += ex2((lse[s * ROWS] - mu) * EFFC_ATTN_LOG2E);
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    wsum += __shfl_xor_sync(0xffffffffu, wsum, o);
  const float inv = wsum > 0.0f ? 1.0f / wsum : 0.0f;
  const int b = int(row / (C::HQ * S)), h = int((row / S) % C::HQ), i = int(row % S);
  E *og = (E *)ov + b * OB + h * OH + i64(i) * OS;
  for (int d = lane; d < C::DV; d += 32) {
    float acc = 0.0f;
    for (int s = 0; s < C::SPLITS; ++s)
      acc += ex2((lse[s * ROWS] - mu) * EFFC_ATTN_LOG2E) * op[s * ROWS * C::DV + d];
    const float val = acc * inv;
    if constexpr (sizeof(E) == 2)
      *(u16 *)(og + d) = u16(pack2<C::OUT_BF>(val, 0.0f) & 0xffffu);
    else
      og[d] = val;
  }
}
} // namespace effc_attn

#endif // EFFC_DEVICE_ATTENTION_DECODE_CUH
