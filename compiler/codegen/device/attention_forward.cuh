//===- attention_forward.cuh - the FlashAttention-2 forward template ------===//
//
// Config C (emitted per kernel, see FlashAttention.cpp):
//   Elem (u16 | float storage), BF (mma operand type), OUT_BF (16-bit output)
//   D, DP, DV, DVP (real and 16-padded head dims), BM, BN, NW, STAGES, QROW,
//   QREGS, REVERSE_M, S, L, HQ, GROUP, strides QB.., KB.., VB.., OB..,
//   CAUSAL, WINDOW, MASK, MB/MH/MS/ML, SCALE, C_EXP, SOFTCAP, ALIBI + alibi_slope(h),
//   SINKS + sink(h),
//   STATIC_EDGES, RESCALE
//   (FlashForwardConfig::staticEdges / rescale).
//
// Per CTA: BM query rows of one (batch, head); warp w owns rows
// [w*MI*16, (w+1)*MI*16). Per KV tile of BN keys: S = Q K^T (mma, A = Q from
// ldmatrix, B = K rows via ldmatrix), masks on edge tiles only, online softmax
// on the accumulator registers, P reused in registers as the A operand of
// P V (B = V via ldmatrix.trans). K/V tiles live in a STAGES-deep cp.async
// ring: one __syncthreads per tile, loads of tile j+STAGES-1 overlap the math
// of tile j.
//
// Shared memory rows are padded by 16 bytes (row stride = 16B * odd) so the 8
// row addresses of every ldmatrix phase hit distinct banks for any head dim
// that is a multiple of 16: no swizzle needed.
//
#ifndef EFFC_DEVICE_ATTENTION_FORWARD_CUH
#define EFFC_DEVICE_ATTENTION_FORWARD_CUH

#include "attention_common.cuh"

namespace effc_attn {
// RESCALE 1 and 2: the online-softmax update of all rows of a warp (MI
// 16-row slices, row halves g and g+8) with the O rescale decided once for
// the whole warp, so that it can be skipped (a warp-uniform branch, before
// the exponentials: those stay in one basic block with the P V mma). MODE 1:
// rescale when some row max of the warp grew (otherwise every alpha would be
// exactly 1: bit-identical to softmax_update). MODE 2 (lazy, as in
// FlashAttention-4): keep the stale max until some row grew by more than 2^8
// in exp2 units, so P <= 256 and O and l carry the same stale scale (fp32:
// no overflow; the epilogue's O / l cancels it). EMPTY: a row can have no
// allowed key (causal, window, masks); otherwise every row max is finite
// from the first tile on and the exponentials need no -inf guard.
template <int MI, int NT, int NDV, bool ADD, int MODE, bool EMPTY>
__device__ __forceinline__ void softmax_update_warp(float (&s)[MI][NT][4], float (&m)[MI][2],
                                                    float (&l)[MI][2], float (&o)[MI][NDV][4],
                                                    float c) {
  float mx[MI][2], alpha[MI][2];
  bool grow = false;
#pragma unroll
  for (int mi = 0; mi < MI; ++mi)
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      float x = m[mi][hh];
#pragma unroll
      for (int j = 0; j < NT; ++j)
        x = fmaxf(x, fmaxf(s[mi][j][2 * hh], s[mi][j][2 * hh + 1]));
      x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
      x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
      mx[mi][hh] = x;
      alpha[mi][hh] = 1.0f;
      // -inf -> finite: +inf (grows); -inf -> -inf: NaN (does not).
      if constexpr (MODE == 1)
        grow = grow || x > m[mi][hh];
      else
        grow = grow || (x - m[mi][hh]) * c > 8.0f;
    }
  if (__any_sync(0xffffffffu, grow)) {
#pragma unroll
    for (int mi = 0; mi < MI; ++mi) {
#pragma unroll
      for (int hh = 0; hh < 2; ++hh) {
        const float mn = mx[mi][hh] == -EFFC_INF_F ? 0.0f : mx[mi][hh];
        alpha[mi][hh] = ex2((m[mi][hh] - mn) * c);
        m[mi][hh] = mx[mi][hh];
      }
#pragma unroll
      for (int d = 0; d < NDV; ++d) {
        o[mi][d][0] *= alpha[mi][0];
        o[mi][d][1] *= alpha[mi][0];
        o[mi][d][2] *= alpha[mi][1];
        o[mi][d][3] *= alpha[mi][1];
      }
    }
  }
#pragma unroll
  for (int mi = 0; mi < MI; ++mi)
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      // A row with nothing allowed yet keeps m = -inf: use 0 (p = 0, not NaN).
      const float mu = EMPTY && m[mi][hh] == -EFFC_INF_F ? 0.0f : m[mi][hh];
      float sum = 0.0f;
#pragma unroll
      for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int e = 2 * hh; e < 2 * hh + 2; ++e) {
          if constexpr (ADD)
            s[mi][j][e] = ex2((s[mi][j][e] - mu) * c);
          else
            s[mi][j][e] = ex2(fmaf(s[mi][j][e], c, -mu * c));
          sum += s[mi][j][e];
        }
      l[mi][hh] = l[mi][hh] * alpha[mi][hh] + sum;
    }
}

// load_tile for STATIC_EDGES when every row of the tile is in range and no
// column is padding (16-bit storage): one source pointer per thread, the rows
// at immediate offsets from it (no per-row 64-bit address arithmetic).
template <int NTH, int ROWS, int DPAD, int SSTR, i64 GSTR, class E>
__device__ __forceinline__ void load_tile_full(u32 sdst, int tid, const E *tile) {
  constexpr int CH = DPAD / 8, STEP = NTH / CH;
  static_assert(NTH % CH == 0 && sizeof(E) == 2,
                "load_tile_full: whole 16-byte columns per thread");
  const int cc = int(unsigned(tid) % unsigned(CH)), r0 = int(unsigned(tid) / unsigned(CH));
  const E *src = tile + r0 * GSTR + cc * 8;
  const u32 dst = sdst + u32(r0 * SSTR + cc * 8) * 2u;
#pragma unroll
  for (int it = 0; it < (ROWS + STEP - 1) / STEP; ++it)
    if (ROWS % STEP == 0 || r0 + it * STEP < ROWS)
      cp_async16(dst + u32(it * STEP * SSTR * 2), src + i64(it * STEP) * GSTR, 16);
}

template <class C>
__device__ __forceinline__ void fa2_forward(const void *qv, const void *kv, const void *vv,
                                            const void *mv, void *ov,
                                            const long long *effc_dims = nullptr) {
  typedef typename C::Elem E;
  constexpr int NTH = C::NW * 32;
  constexpr int MI = C::BM / (16 * C::NW); // 16-row mma slices per warp
  constexpr int KSTR = C::DP + 8, VSTR = C::DVP + 8, QSTR = C::QROW;
  constexpr int NT = C::BN / 8;                  // n8 tiles of S
  constexpr int KD = C::DP / 16;                 // k16 steps of Q K^T
  constexpr int NDV = C::DVP / 8;                // n8 tiles of O
  const attn_ext x = attn_extents<C>(effc_dims); // this run's extents
  const int OFF = x.L - x.S;                     // query i sits at key position i + OFF
  // ADD: scores in natural units (additive mask, soft-capping, ALiBi or
  // sinks); XFORM: scores go through scaled_score (+ ALiBi).
  constexpr bool XFORM = C::SOFTCAP > 0.0f || C::ALIBI || C::SINKS, ADD = C::MASK >= 2 || XFORM;
  // STATIC_EDGES: no partial KV tile (L % BN == 0) / query tile (S % BM == 0)
  // means no key / row range checks at all.
  constexpr bool KV_FULL = C::STATIC_EDGES && C::L % C::BN == 0;
  constexpr bool Q_FULL = C::STATIC_EDGES && C::S % C::BM == 0;
  static_assert(!(attn_runtime<C>::value && C::STATIC_EDGES),
                "runtime extents need the edge checks (STATIC_EDGES = false)");
  constexpr bool KV_FAST = KV_FULL && sizeof(E) == 2 && C::D == C::DP && C::DV == C::DVP &&
                           NTH % (C::DP / 8) == 0 && NTH % (C::DVP / 8) == 0;

  extern __shared__ __align__(128) unsigned char smem[];
  const u32 sQ = smem_u32(smem);
  const u32 sK = sQ + u32(C::BM * QSTR * 2);
  const u32 sV = sK + u32(C::STAGES * C::BN * KSTR * 2);

  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  // Causal: heaviest tiles (most keys) first, so the tail of the grid is short.
  const int mb = C::REVERSE_M ? int(gridDim.x) - 1 - int(blockIdx.x) : int(blockIdx.x);
  const int h = blockIdx.y, b = blockIdx.z, hk = h / C::GROUP;
  const float slope = C::alibi_slope(h); // 0 without ALiBi
  const int m0 = mb * C::BM;
  if constexpr (attn_runtime<C>::value) // the grid covers the bounds: tiles past this run's
    if (m0 >= x.S || b >= x.B)          // rows or batch leave (whole CTAs, before any barrier)
      return;
  const E *qg = (const E *)qv + b * x.QB + h * x.QH + i64(m0) * x.QS;
  const E *kg = (const E *)kv + b * x.KB + hk * x.KH;
  const E *vg = (const E *)vv + b * x.VB + hk * x.VH;

  // Keys any row of this tile may attend to: [kBegin, kEnd).
  int kEnd = x.L;
  if (C::CAUSAL)
    kEnd = min(kEnd, min(m0 + C::BM, x.S) + OFF);
  int kBegin = 0;
  if (C::WINDOW > 0)
    kBegin = max(0, m0 + OFF - C::WINDOW + 1);
  const int nbBegin = kBegin / C::BN;
  const int nbEnd = kEnd > 0 ? (kEnd + C::BN - 1) / C::BN : 0;

  // STATIC_EDGES also trims the load path: a row known in range is known
  // non-null (load_tile drops its null checks and selects), and rows are
  // addressed from one pointer per tile (immediate row offsets).
  auto in_range = [](const E *p, bool ok) -> const E * {
    if (!ok)
      return nullptr;
    __builtin_assume(p != nullptr);
    return p;
  };
  auto load_kv = [&](int slot, int nb) {
    const int n0 = nb * C::BN;
    if constexpr (KV_FAST) {
      load_tile_full<NTH, C::BN, C::DP, KSTR, C::KS>(sK + u32(slot * C::BN * KSTR * 2), tid,
                                                     kg + i64(n0) * C::KS);
      load_tile_full<NTH, C::BN, C::DVP, VSTR, C::VS>(sV + u32(slot * C::BN * VSTR * 2), tid,
                                                      vg + i64(n0) * C::VS);
    } else if constexpr (C::STATIC_EDGES) {
      const E *kt = kg + i64(n0) * C::KS, *vt = vg + i64(n0) * C::VS;
      load_tile<E, C::BF, NTH, C::BN, C::D, C::DP, KSTR>(
          sK + u32(slot * C::BN * KSTR * 2), tid, kg,
          [&](int r) -> const E * { return in_range(kt + r * C::KS, KV_FULL || n0 + r < C::L); });
      load_tile<E, C::BF, NTH, C::BN, C::DV, C::DVP, VSTR>(
          sV + u32(slot * C::BN * VSTR * 2), tid, vg,
          [&](int r) -> const E * { return in_range(vt + r * C::VS, KV_FULL || n0 + r < C::L); });
    } else {
      load_tile<E, C::BF, NTH, C::BN, C::D, C::DP, KSTR>(
          sK + u32(slot * C::BN * KSTR * 2), tid, kg,
          [&](int r) -> const E * { return n0 + r < x.L ? kg + i64(n0 + r) * x.KS : nullptr; });
      load_tile<E, C::BF, NTH, C::BN, C::DV, C::DVP, VSTR>(
          sV + u32(slot * C::BN * VSTR * 2), tid, vg,
          [&](int r) -> const E * { return n0 + r < x.L ? vg + i64(n0 + r) * x.VS : nullptr; });
    }
  };

  float o[MI][NDV][4];
  float mrow[MI][2], lrow[MI][2];
#pragma unroll
  for (int mi = 0; mi < MI; ++mi) {
#pragma unroll
    for (int d = 0; d < NDV; ++d)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        o[mi][d][e] = 0.0f;
    mrow[mi][0] = mrow[mi][1] = -EFFC_INF_F;
    lrow[mi][0] = lrow[mi][1] = 0.0f;
  }
  u32 qf[C::QREGS ? MI : 1][C::QREGS ? KD : 1][4];

  const int wrow = warp * MI * 16; // first tile row of this warp
  if (nbBegin < nbEnd) {
    // Q joins the first K/V group.
    load_tile<E, C::BF, NTH, C::BM, C::D, C::DP, QSTR>(sQ, tid, qg, [&](int r) -> const E * {
      if constexpr (C::STATIC_EDGES)
        return in_range(qg + r * C::QS, Q_FULL || m0 + r < C::S);
      else
        return m0 + r < x.S ? qg + i64(r) * x.QS : nullptr;
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
    cp_async_wait<C::STAGES - 2>(); // this thread's part of tile `it` landed
    __syncthreads();                // everyone's landed; slot of tile it-1 is free
    {
      const int nn = nb + C::STAGES - 1;
      if (nn < nbEnd)
        load_kv((it + C::STAGES - 1) % C::STAGES, nn);
      cp_async_commit(); // possibly empty: keeps the group count uniform
    }
    const int slot = it % C::STAGES;
    const u32 kS = sK + u32(slot * C::BN * KSTR * 2), vS = sV + u32(slot * C::BN * VSTR * 2);

    if constexpr (C::QREGS) {
      if (it == 0) {
#pragma unroll
        for (int mi = 0; mi < MI; ++mi)
#pragma unroll
          for (int kd = 0; kd < KD; ++kd)
            ldsm_x4(
                qf[mi][kd][0], qf[mi][kd][1], qf[mi][kd][2], qf[mi][kd][3],
                sQ + u32(((wrow + mi * 16 + (lane & 15)) * QSTR + kd * 16 + (lane >> 4) * 8) * 2));
      }
    }

    // S = Q K^T
    float s[MI][NT][4];
#pragma unroll
    for (int mi = 0; mi < MI; ++mi)
#pragma unroll
      for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          s[mi][j][e] = 0.0f;
#pragma unroll
    for (int kd = 0; kd < KD; ++kd) {
      u32 a[MI][4];
#pragma unroll
      for (int mi = 0; mi < MI; ++mi) {
        if constexpr (C::QREGS) {
#pragma unroll
          for (int e = 0; e < 4; ++e)
            a[mi][e] = qf[mi][kd][e];
        } else {
          ldsm_x4(a[mi][0], a[mi][1], a[mi][2], a[mi][3],
                  sQ +
                      u32(((wrow + mi * 16 + (lane & 15)) * QSTR + kd * 16 + (lane >> 4) * 8) * 2));
        }
      }
#pragma unroll
      for (int p = 0; p < NT / 2; ++p) {
        u32 bk[4];
        ldsm_x4(bk[0], bk[1], bk[2], bk[3],
                kS + u32(((p * 16 + (lane & 7) + (lane >> 4) * 8) * KSTR + kd * 16 +
                          ((lane >> 3) & 1) * 8) *
                         2));
#pragma unroll
        for (int mi = 0; mi < MI; ++mi) {
          mma_m16n8k16<C::BF>(s[mi][2 * p], a[mi], bk);
          mma_m16n8k16<C::BF>(s[mi][2 * p + 1], a[mi], bk + 2);
        }
      }
    }

    const int n0 = nb * C::BN;
    if constexpr (C::MASK != 0 || XFORM) {
      // User mask on every tile (it is data, not structure); soft-capping
      // before it.
#pragma unroll
      for (int mi = 0; mi < MI; ++mi)
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int row = m0 + wrow + mi * 16 + (lane >> 2) + (e >> 1) * 8;
            const int col = n0 + j * 8 + (lane & 3) * 2 + (e & 1);
            float mval = 0.0f;
            if (C::MASK != 0 && row < x.S && col < x.L)
              mval =
                  mask_value<C::MASK>(mv, b * x.MB + h * x.MH + i64(row) * x.MS + i64(col) * x.ML);
            if constexpr (XFORM)
              s[mi][j][e] = scaled_score<C>(s[mi][j][e]) + mval +
                            (C::ALIBI ? slope * float(col - (row + OFF)) : 0.0f);
            else if constexpr (ADD)
              s[mi][j][e] = fmaf(s[mi][j][e], C::SCALE, mval);
            else if (mval != 0.0f)
              s[mi][j][e] = -EFFC_INF_F;
          }
    }
    // Structural masks only where the tile crosses an edge, the causal
    // diagonal or the window's lower edge (uniform branch per CTA).
    const bool edge = (!KV_FULL && n0 + C::BN > x.L) || (C::CAUSAL && n0 + C::BN - 1 > m0 + OFF) ||
                      (C::WINDOW > 0 && n0 <= m0 + C::BM - 1 + OFF - C::WINDOW);
    if (edge) {
#pragma unroll
      for (int mi = 0; mi < MI; ++mi)
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int pos = m0 + wrow + mi * 16 + (lane >> 2) + (e >> 1) * 8 + OFF;
            const int col = n0 + j * 8 + (lane & 3) * 2 + (e & 1);
            bool ok = col < x.L;
            if (C::CAUSAL)
              ok = ok && col <= pos;
            if (C::WINDOW > 0)
              ok = ok && col > pos - C::WINDOW;
            if (!ok)
              s[mi][j][e] = -EFFC_INF_F;
          }
    }

    // Online softmax; O *= exp(m_old - m_new).
    if constexpr (C::RESCALE == 0) {
#pragma unroll
      for (int mi = 0; mi < MI; ++mi) {
        const float a0 = softmax_update<NT, 0, ADD>(s[mi], mrow[mi][0], lrow[mi][0], C::C_EXP);
        const float a1 = softmax_update<NT, 1, ADD>(s[mi], mrow[mi][1], lrow[mi][1], C::C_EXP);
#pragma unroll
        for (int d = 0; d < NDV; ++d) {
          o[mi][d][0] *= a0;
          o[mi][d][1] *= a0;
          o[mi][d][2] *= a1;
          o[mi][d][3] *= a1;
        }
      }
    } else {
      constexpr bool EMPTY = C::CAUSAL || C::WINDOW > 0 || C::MASK != 0;
      softmax_update_warp<MI, NT, NDV, ADD, C::RESCALE, EMPTY>(s, mrow, lrow, o, C::C_EXP);
    }

    // O += P V: the S accumulators of n-tiles 2kk, 2kk+1 are exactly the A
    // fragment of k-step kk.
#pragma unroll
    for (int kk = 0; kk < C::BN / 16; ++kk) {
      u32 pa[MI][4];
#pragma unroll
      for (int mi = 0; mi < MI; ++mi) {
        pa[mi][0] = pack2<C::BF>(s[mi][2 * kk][0], s[mi][2 * kk][1]);
        pa[mi][1] = pack2<C::BF>(s[mi][2 * kk][2], s[mi][2 * kk][3]);
        pa[mi][2] = pack2<C::BF>(s[mi][2 * kk + 1][0], s[mi][2 * kk + 1][1]);
        pa[mi][3] = pack2<C::BF>(s[mi][2 * kk + 1][2], s[mi][2 * kk + 1][3]);
      }
#pragma unroll
      for (int p = 0; p < C::DVP / 16; ++p) {
        u32 bv[4];
        ldsm_x4_t(bv[0], bv[1], bv[2], bv[3],
                  vS + u32(((kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * VSTR + p * 16 +
                            (lane >> 4) * 8) *
                           2));
#pragma unroll
        for (int mi = 0; mi < MI; ++mi) {
          mma_m16n8k16<C::BF>(o[mi][2 * p], pa[mi], bv);
          mma_m16n8k16<C::BF>(o[mi][2 * p + 1], pa[mi], bv + 2);
        }
      }
    }
  }

  // Epilogue: O / l (0 for a row that allowed no key). A sink joins l as one
  // more key with no value, relative to the row's running max.
#pragma unroll
  for (int mi = 0; mi < MI; ++mi)
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      float l = lrow[mi][hh];
      l += __shfl_xor_sync(0xffffffffu, l, 1);
      l += __shfl_xor_sync(0xffffffffu, l, 2);
      float inv;
      if constexpr (C::SINKS) {
        const float m = mrow[mi][hh], sink = C::sink(h), mNew = fmaxf(m, sink);
        const float corr = m == -EFFC_INF_F ? 0.0f : ex2((m - mNew) * C::C_EXP);
        l = l * corr + ex2((sink - mNew) * C::C_EXP);
        inv = corr / l;
      } else {
        inv = l > 0.0f ? 1.0f / l : 0.0f;
      }
#pragma unroll
      for (int d = 0; d < NDV; ++d) {
        o[mi][d][2 * hh] *= inv;
        o[mi][d][2 * hh + 1] *= inv;
      }
    }
  E *og = (E *)ov + b * x.OB + h * x.OH;
  if constexpr (sizeof(E) == 2) {
    // Stage this warp's rows in its own part of the Q tile (only this warp
    // reads those rows), then write 16-byte chunks: full 32-byte sectors.
    __syncwarp();
#pragma unroll
    for (int mi = 0; mi < MI; ++mi)
#pragma unroll
      for (int d = 0; d < NDV; ++d)
#pragma unroll
        for (int hh = 0; hh < 2; ++hh) {
          const int r = wrow + mi * 16 + (lane >> 2) + hh * 8;
          const int c = d * 8 + (lane & 3) * 2;
          st_shared_u32(sQ + u32((r * QSTR + c) * 2),
                        pack2<C::OUT_BF>(o[mi][d][2 * hh], o[mi][d][2 * hh + 1]));
        }
    __syncwarp();
    constexpr int CH = C::DV / 8, TOT = MI * 16 * CH;
#pragma unroll
    for (int c = lane; c < TOT; c += 32) {
      const int r = c / CH, cc = c - r * CH;
      const int row = m0 + wrow + r;
      if (Q_FULL || row < x.S) {
        uint4 v;
        ld_shared_v4(sQ + u32(((wrow + r) * QSTR + cc * 8) * 2), v.x, v.y, v.z, v.w);
        *(uint4 *)(og + i64(row) * x.OS + cc * 8) = v;
      }
    }
  } else {
#pragma unroll
    for (int mi = 0; mi < MI; ++mi)
#pragma unroll
      for (int d = 0; d < NDV; ++d)
#pragma unroll
        for (int hh = 0; hh < 2; ++hh) {
          const int row = m0 + wrow + mi * 16 + (lane >> 2) + hh * 8;
          const int c = d * 8 + (lane & 3) * 2;
          if ((Q_FULL || row < x.S) && c < C::DV) {
            float2 v;
            v.x = o[mi][d][2 * hh];
            v.y = o[mi][d][2 * hh + 1];
            *(float2 *)(og + i64(row) * x.OS + c) = v;
          }
        }
  }
}
} // namespace effc_attn

#endif // EFFC_DEVICE_ATTENTION_FORWARD_CUH
