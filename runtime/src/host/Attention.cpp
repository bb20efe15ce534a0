// eff.attention (effc's own op):
//   q [B,Hq,S,D], k [B,Hkv,L,D], v [B,Hkv,L,Dv], mask? -> [B,Hq,S,Dv]
//   attrs: scale (default 1/sqrt(D)), causal (0/1), window (0 = none),
//          num_kv_heads (= Hkv; q head h reads kv head h / (Hq/Hkv)).
// Query i sits at absolute position i + (L - S) (bottom-right alignment, as
// with a KV cache). Key j is allowed iff (!causal || j <= pos) and
// (window == 0 || j > pos - window) and the bool mask (if any) is true; a float
// mask is added to the scores. Softmax over allowed keys in fp32; a row with
// no allowed key gives zeros.
#include "host/KernelUtil.h"

#include <cmath>

namespace effc::host {
namespace {

std::vector<float> widen(const ConstTensorRef &t) {
  std::vector<float> v(count(t.shape));
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(loadF(t.dtype, t.data, i));
  return v;
}

Status attention(const KernelContext &c) {
  const ConstTensorRef &q = c.in[0], &k = c.in[1], &v = c.in[2];
  if (!isFloatDType(q.dtype) || k.dtype != q.dtype || v.dtype != q.dtype)
    return c.error("q, k, v must share one float dtype");
  if (q.shape.size() != 4 || k.shape.size() != 4 || v.shape.size() != 4)
    return c.error("q, k, v must be 4-D [batch, heads, seq, head_dim]");
  int64_t B = q.shape[0], Hq = q.shape[1], S = q.shape[2], D = q.shape[3];
  int64_t Hkv = k.shape[1], L = k.shape[2], Dv = v.shape[3];
  if (k.shape[0] != B || v.shape[0] != B || k.shape[3] != D || v.shape[1] != Hkv || v.shape[2] != L)
    return c.error("inconsistent shapes q " + shapeToString(q.shape) + ", k " + shapeToString(k.shape) +
                   ", v " + shapeToString(v.shape));
  auto scaleA = c.floatAttr("scale", D > 0 ? 1.0 / std::sqrt(double(D)) : 1.0);
  auto causal = c.intAttr("causal", 0), window = c.intAttr("window", 0), nkv = c.intAttr("num_kv_heads", Hkv);
  if (!scaleA.ok()) return scaleA.status();
  for (auto *s : {&causal, &window, &nkv}) if (!s->ok()) return s->status();
  if (*nkv != Hkv) return c.error("num_kv_heads " + std::to_string(*nkv) + " differs from k heads " + std::to_string(Hkv));
  if (Hkv <= 0 || Hq % Hkv) return c.error("q heads must be a multiple of kv heads");
  if (*window < 0) return c.error("window must be >= 0");
  bool hasMask = c.in.size() > 3 && c.has(3);
  std::vector<int64_t> mst(4, 0); // broadcast strides of the mask over [B,Hq,S,L]
  if (hasMask) {
    const ConstTensorRef &m = c.in[3];
    if (m.dtype != DType::BOOL && !isFloatDType(m.dtype)) return c.error("mask must be bool or float");
    std::vector<int64_t> full{B, Hq, S, L};
    auto bc = broadcastShapes(c, {m.shape, full});
    if (!bc.ok() || *bc != full) return c.error("mask " + shapeToString(m.shape) + " does not broadcast to " + shapeToString(full));
    auto st = stridesOf(m.shape);
    size_t off = 4 - m.shape.size();
    for (size_t d = 0; d < m.shape.size(); ++d) mst[off + d] = m.shape[d] == 1 ? 0 : st[d];
  }
  EFFC_RETURN_IF_ERROR(c.checkOut(0, q.dtype, {B, Hq, S, Dv}));
  std::vector<float> Q = widen(q), K = widen(k), V = widen(v);
  float scale = float(*scaleA);
  int64_t group = Hq / Hkv;
  parallelFor(B * Hq * S, L * (D + Dv), [&](int64_t r0, int64_t r1) {
    std::vector<float> p(L), acc(Dv);
    std::vector<bool> ok(L);
    for (int64_t r = r0; r < r1; ++r) {
      int64_t i = r % S, h = (r / S) % Hq, b = r / (S * Hq), hk = h / group, pos = i + (L - S);
      const float *qr = Q.data() + r * D;
      const float *kb = K.data() + (b * Hkv + hk) * L * D, *vb = V.data() + (b * Hkv + hk) * L * Dv;
      float mx = -INFINITY;
      for (int64_t j = 0; j < L; ++j) {
        ok[j] = (!*causal || j <= pos) && (*window == 0 || j > pos - *window);
        float s = 0;
        if (ok[j]) {
          for (int64_t d = 0; d < D; ++d) s += qr[d] * kb[j * D + d];
          s *= scale;
          if (hasMask) {
            size_t mi = size_t(b * mst[0] + h * mst[1] + i * mst[2] + j * mst[3]);
            if (c.in[3].dtype == DType::BOOL) ok[j] = rd<uint8_t>(c.in[3].data, mi) != 0;
            else s += float(loadF(c.in[3].dtype, c.in[3].data, mi));
          }
          if (ok[j] && s == -INFINITY) ok[j] = false; // fully masked by -inf
        }
        p[j] = s;
        if (ok[j]) mx = std::max(mx, s);
      }
      float sum = 0;
      for (int64_t j = 0; j < L; ++j) sum += p[j] = ok[j] ? std::exp(p[j] - mx) : 0.f;
      std::fill(acc.begin(), acc.end(), 0.f);
      if (sum > 0)
        for (int64_t j = 0; j < L; ++j)
          if (p[j] != 0)
            for (int64_t d = 0; d < Dv; ++d) acc[d] += p[j] * vb[j * Dv + d];
      for (int64_t d = 0; d < Dv; ++d)
        storeF(q.dtype, c.out[0].data, size_t(r * Dv + d), sum > 0 ? acc[d] / sum : 0.f);
    }
  });
  return Status::OK();
}

} // namespace

void registerAttention(Registry &r) { r["eff.attention"] = {attention, 3, 4, 1, 1}; }

} // namespace effc::host
