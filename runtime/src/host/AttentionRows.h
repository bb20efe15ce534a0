// What eff.attention and eff.attention_partial share: reading and checking
// q, k, v, mask and the attention attributes, and the softmax of one query
// row over a range of keys. Both kernels run the same arithmetic, so the
// split-KV pair reproduces eff.attention up to fp32 rounding.
//
// Semantics (eff.attention): q [B,Hq,S,D], k [B,Hkv,L,D], v [B,Hkv,L,Dv],
// mask? broadcast to [B,Hq,S,L]; attrs scale (default 1/sqrt(D)), causal,
// window (0 = none), num_kv_heads (= Hkv; q head h reads kv head
// h / (Hq/Hkv)). Query i sits at absolute position i + (L - S)
// (bottom-right alignment, as with a KV cache). Key j is allowed iff
// (!causal || j <= pos) and (window == 0 || j > pos - window) and the bool
// mask (if any) is true. softcap c > 0 soft-caps the scaled score before the
// mask: s = c * tanh(s / c); alibi_slopes (one per query head) then add
// slope_h * (j - pos). A float mask is then added to the scores. Softmax over
// allowed keys in fp32, with the sink logit (if any) in the denominator; a row
// with no allowed key gives zeros.
#pragma once

#include "host/KernelUtil.h"

#include <array>
#include <vector>

namespace effc::host {

struct AttentionProblem {
  int64_t B = 0, Hq = 0, Hkv = 0, S = 0, L = 0, D = 0, Dv = 0;
  float scale = 1;
  bool causal = false;
  int64_t window = 0;
  float softcap = 0;              ///< 0: none
  std::vector<float> alibiSlopes; ///< empty: no ALiBi; else one per query head
  /// empty: no sinks; else one logit per query head that joins the softmax
  /// denominator of the key range starting at 0 (split 0 of split-KV).
  std::vector<float> sinks;
  /// mask.data == nullptr: no mask.
  ConstTensorRef mask;
  /// Element strides of the mask broadcast to [B, Hq, S, L] (0 on broadcast dims).
  std::array<int64_t, 4> maskStrides{{0, 0, 0, 0}};
  /// q, k, v widened to fp32, row-major.
  std::vector<float> Q, K, V;

  int64_t rows() const { return B * Hq * S; }
};

/// Reads inputs 0-3 (q, k, v, mask?) and the attributes scale, causal,
/// window, num_kv_heads, softcap, alibi_slopes, sinks; fails naming the
/// inconsistency.
StatusOr<AttentionProblem> readAttentionProblem(const KernelContext &c);

/// Where an attention-family kernel stores its [B, Hq, S, Dv] result: with
/// `out_perm` (a permutation of 0..3 keeping Dv last) the output is
/// transpose(result, out_perm). shape: the output's (stored) shape;
/// strides: the element stride of each logical dim b, h, s, d in it.
struct AttentionOutputLayout {
  std::vector<int64_t> shape;
  std::array<int64_t, 4> strides{{0, 0, 0, 1}};
  int64_t offset(int64_t b, int64_t h, int64_t s) const {
    return b * strides[0] + h * strides[1] + s * strides[2];
  }
};
/// The layout of `logical` [B, Hq, S, Dv] under the kernel's out_perm
/// attribute; fails naming an invalid permutation.
StatusOr<AttentionOutputLayout> attentionOutputLayout(const KernelContext &c,
                                                      const std::array<int64_t, 4> &logical);

/// Per-thread buffers of attendRow, sized for L keys.
struct AttentionRowScratch {
  explicit AttentionRowScratch(int64_t L) : p(size_t(L)), ok(size_t(L)) {}
  std::vector<float> p;
  std::vector<bool> ok;
};

/// The softmax of flattened query row r (of [B, Hq, S]) over keys [j0, j1):
/// acc[0..Dv) = sum_j p_j * v_j with p_j = exp(s_j - max) over the allowed
/// keys of the range. max = -inf and sum = 0 when none is allowed.
struct RowSoftmax {
  float max, sum;
};
RowSoftmax attendRow(const AttentionProblem &p, int64_t r, int64_t j0, int64_t j1,
                     AttentionRowScratch &scratch, float *acc);

} // namespace effc::host
