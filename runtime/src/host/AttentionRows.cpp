#include "host/AttentionRows.h"
#include "host/AttentionOutPerm.h"

#include <algorithm>
#include <cmath>

namespace effc::host {
namespace {

std::vector<float> widen(const ConstTensorRef &t) {
  std::vector<float> v(count(t.shape));
  if (t.capacity > 0) { // session state: [b, h] slices `capacity` rows apart
    const size_t rows = size_t(t.shape[2]), D = size_t(t.shape[3]);
    for (size_t bh = 0; bh < size_t(t.shape[0] * t.shape[1]); ++bh)
      for (size_t i = 0; i < rows * D; ++i)
        v[bh * rows * D + i] = float(loadF(t.dtype, t.data, bh * size_t(t.capacity) * D + i));
    return v;
  }
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = float(loadF(t.dtype, t.data, i));
  return v;
}

} // namespace

StatusOr<AttentionProblem> readAttentionProblem(const KernelContext &c) {
  const ConstTensorRef &q = c.in[0], &k = c.in[1], &v = c.in[2];
  if (!isFloatDType(q.dtype) || k.dtype != q.dtype || v.dtype != q.dtype)
    return c.error("q, k, v must share one float dtype");
  if (q.shape.size() != 4 || k.shape.size() != 4 || v.shape.size() != 4)
    return c.error("q, k, v must be 4-D [batch, heads, seq, head_dim]");
  AttentionProblem p;
  p.B = q.shape[0], p.Hq = q.shape[1], p.S = q.shape[2], p.D = q.shape[3];
  p.Hkv = k.shape[1], p.L = k.shape[2], p.Dv = v.shape[3];
  if (k.shape[0] != p.B || v.shape[0] != p.B || k.shape[3] != p.D || v.shape[1] != p.Hkv ||
      v.shape[2] != p.L)
    return c.error("inconsistent shapes q " + shapeToString(q.shape) + ", k " +
                   shapeToString(k.shape) + ", v " + shapeToString(v.shape));
  auto scale = c.floatAttr("scale", p.D > 0 ? 1.0 / std::sqrt(double(p.D)) : 1.0);
  auto causal = c.intAttr("causal", 0),
       window = c.intAttr("window", op_defaults::AttentionOp_window),
       nkv = c.intAttr("num_kv_heads", p.Hkv);
  auto softcap = c.floatAttr("softcap", op_defaults::AttentionOp_softcap);
  for (auto *f : {&scale, &softcap})
    if (!f->ok())
      return f->status();
  if (!(*softcap >= 0) || !std::isfinite(*softcap))
    return c.error("softcap must be >= 0 and finite");
  for (auto *s : {&causal, &window, &nkv})
    if (!s->ok())
      return s->status();
  if (*nkv != p.Hkv)
    return c.error("num_kv_heads " + std::to_string(*nkv) + " differs from k heads " +
                   std::to_string(p.Hkv));
  if (p.Hkv <= 0 || p.Hq % p.Hkv)
    return c.error("q heads must be a multiple of kv heads");
  if (*window < 0)
    return c.error("window must be >= 0");
  p.scale = float(*scale);
  p.causal = *causal != 0;
  p.window = *window;
  p.softcap = float(*softcap);
  for (auto [name, values] :
       {std::pair<const char *, std::vector<float> *>{"alibi_slopes", &p.alibiSlopes},
        {"sinks", &p.sinks}}) {
    auto it = c.attrs.find(name);
    if (it == c.attrs.end())
      continue;
    const auto *list = std::get_if<std::vector<double>>(&it->second);
    if (!list || int64_t(list->size()) != p.Hq)
      return c.error(std::string(name) + " must be " + std::to_string(p.Hq) +
                     " floats (one per query head)");
    values->assign(list->begin(), list->end());
  }
  if (c.in.size() > 3 && c.has(3)) {
    const ConstTensorRef &m = c.in[3];
    if (m.dtype != DType::BOOL && !isFloatDType(m.dtype))
      return c.error("mask must be bool or float");
    std::vector<int64_t> full{p.B, p.Hq, p.S, p.L};
    auto bc = broadcastShapes(c, {m.shape, full});
    if (!bc.ok() || *bc != full)
      return c.error("mask " + shapeToString(m.shape) + " does not broadcast to " +
                     shapeToString(full));
    auto st = stridesOf(m.shape);
    size_t off = 4 - m.shape.size();
    for (size_t d = 0; d < m.shape.size(); ++d)
      p.maskStrides[off + d] = m.shape[d] == 1 ? 0 : st[d];
    p.mask = m;
  }
  if (q.capacity > 0 || (c.has(3) && c.in[3].capacity > 0))
    return c.error("q and mask cannot be session state");
  p.Q = widen(q), p.K = widen(k), p.V = widen(v);
  return p;
}

StatusOr<AttentionOutputLayout> attentionOutputLayout(const KernelContext &c,
                                                      const std::array<int64_t, 4> &logical) {
  bool permuted = false;
  auto perm = c.intsAttr("out_perm", &permuted);
  if (!perm.ok())
    return perm.status();
  std::vector<int64_t> p = {0, 1, 2, 3};
  if (permuted) {
    if (!isAttentionOutPerm(*perm))
      return c.error("out_perm must be a permutation of 0..3 with out_perm[3] = 3, got " +
                     shapeToString(*perm));
    p = *perm;
  }
  AttentionOutputLayout layout;
  for (int64_t a : p)
    layout.shape.push_back(logical[size_t(a)]);
  const std::vector<int64_t> st = stridesOf(layout.shape);
  for (size_t k = 0; k < 4; ++k)
    layout.strides[size_t(p[k])] = st[k];
  return layout;
}

RowSoftmax attendRow(const AttentionProblem &p, int64_t r, int64_t j0, int64_t j1,
                     AttentionRowScratch &scratch, float *acc) {
  const int64_t L = p.L, D = p.D, Dv = p.Dv;
  const int64_t i = r % p.S, h = (r / p.S) % p.Hq, b = r / (p.S * p.Hq), hk = h / (p.Hq / p.Hkv),
                pos = i + (L - p.S);
  const float *qr = p.Q.data() + r * D;
  const float *kb = p.K.data() + (b * p.Hkv + hk) * L * D,
              *vb = p.V.data() + (b * p.Hkv + hk) * L * Dv;
  std::vector<float> &s = scratch.p;
  std::vector<bool> &ok = scratch.ok;
  float mx = -INFINITY;
  for (int64_t j = j0; j < j1; ++j) {
    ok[j] = (!p.causal || j <= pos) && (p.window == 0 || j > pos - p.window);
    float sc = 0;
    if (ok[j]) {
      for (int64_t d = 0; d < D; ++d)
        sc += qr[d] * kb[j * D + d];
      sc *= p.scale;
      if (p.softcap > 0)
        sc = p.softcap * std::tanh(sc / p.softcap);
      if (!p.alibiSlopes.empty())
        sc += p.alibiSlopes[size_t(h)] * float(j - pos);
      if (p.mask.data) {
        const auto &m = p.maskStrides;
        size_t mi = size_t(b * m[0] + h * m[1] + i * m[2] + j * m[3]);
        if (p.mask.dtype == DType::BOOL)
          ok[j] = rd<uint8_t>(p.mask.data, mi) != 0;
        else
          sc += float(loadF(p.mask.dtype, p.mask.data, mi));
      }
      if (ok[j] && sc == -INFINITY)
        ok[j] = false; // fully masked by -inf
    }
    s[j] = sc;
    if (ok[j])
      mx = std::max(mx, sc);
  }
  // The sink is one more key of the first key range, with value 0.
  const bool sink = !p.sinks.empty() && j0 == 0;
  if (sink)
    mx = std::max(mx, p.sinks[size_t(h)]);
  float sum = sink ? std::exp(p.sinks[size_t(h)] - mx) : 0.f;
  for (int64_t j = j0; j < j1; ++j)
    sum += s[j] = ok[j] ? std::exp(s[j] - mx) : 0.f;
  std::fill(acc, acc + Dv, 0.f);
  if (sum > 0)
    for (int64_t j = j0; j < j1; ++j)
      if (s[j] != 0)
        for (int64_t d = 0; d < Dv; ++d)
          acc[d] += s[j] * vb[j * Dv + d];
  return {mx, sum};
}

} // namespace effc::host
