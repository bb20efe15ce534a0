// Ring attention's host reference: block attention, the online-softmax
// merge and the ring schedule over Collectives (host/RingAttention.h).
#include "host/RingAttention.h"
#include "host/KernelUtil.h"

#include <algorithm>
#include <cmath>

namespace effc::host {

std::vector<int64_t> ringPositions(int64_t T, int devices, int device, bool striped) {
  std::vector<int64_t> out;
  if (devices < 1 || device < 0 || device >= devices || T <= 0)
    return out;
  if (striped) {
    for (int64_t t = device; t < T; t += devices)
      out.push_back(t);
    return out;
  }
  const int64_t block = (T + devices - 1) / devices;
  for (int64_t t = device * block; t < std::min(T, (device + 1) * block); ++t)
    out.push_back(t);
  return out;
}

int64_t attendBlock(const RingAttentionShape &s, const float *q, const std::vector<int64_t> &qpos,
                    const float *k, const float *v, const std::vector<int64_t> &kpos, float *o,
                    float *lse) {
  const int64_t nq = int64_t(qpos.size()), nk = int64_t(kpos.size()), group = s.Hq / s.Hkv;
  std::vector<float> p(static_cast<size_t>(nk));
  int64_t pairs = 0;
  for (int64_t h = 0; h < s.Hq; ++h) {
    const int64_t kh = h / group;
    const float *K = k + kh * nk * s.D, *V = v + kh * nk * s.Dv;
    for (int64_t i = 0; i < nq; ++i) {
      const float *Q = q + (h * nq + i) * s.D;
      float *acc = o + (h * nq + i) * s.Dv;
      float mx = -INFINITY;
      for (int64_t j = 0; j < nk; ++j) {
        if (s.causal && kpos[j] > qpos[i]) {
          p[j] = -INFINITY;
          continue;
        }
        float dot = 0;
        for (int64_t d = 0; d < s.D; ++d)
          dot += Q[d] * K[j * s.D + d];
        p[j] = dot * s.scale;
        mx = std::max(mx, p[j]);
        ++pairs;
      }
      std::fill(acc, acc + s.Dv, 0.f);
      float sum = 0;
      if (mx != -INFINITY)
        for (int64_t j = 0; j < nk; ++j) {
          if (p[j] == -INFINITY)
            continue;
          const float e = std::exp(p[j] - mx);
          sum += e;
          for (int64_t d = 0; d < s.Dv; ++d)
            acc[d] += e * V[j * s.Dv + d];
        }
      for (int64_t d = 0; d < s.Dv; ++d)
        acc[d] = sum > 0 ? acc[d] / sum : 0.f;
      lse[h * nq + i] = sum > 0 ? mx + std::log(sum) : -INFINITY;
    }
  }
  return pairs;
}

void mergePartial(float *o, float *lse, const float *o2, const float *lse2, int64_t rows,
                  int64_t Dv) {
  for (int64_t r = 0; r < rows; ++r) {
    const float a = lse[r], b = lse2[r], m = std::max(a, b);
    if (m == -INFINITY)
      continue; // neither side has an allowed key: o stays 0, lse -inf
    const float wa = std::exp(a - m), wb = std::exp(b - m), w = wa + wb;
    for (int64_t d = 0; d < Dv; ++d)
      o[r * Dv + d] = (wa * o[r * Dv + d] + wb * o2[r * Dv + d]) / w;
    lse[r] = m + std::log(w);
  }
}

Status ringAttention(Collectives &comm, const RingAttentionShape &s,
                     const std::vector<std::vector<int64_t>> &pos,
                     const std::vector<const float *> &q, const std::vector<const float *> &k,
                     const std::vector<const float *> &v, const std::vector<float *> &out,
                     std::vector<int64_t> *work) {
  const int n = comm.size();
  const size_t un = size_t(n);
  if (pos.size() != un || q.size() != un || k.size() != un || v.size() != un || out.size() != un)
    return Status::error("ring attention: every per-device list must have " + std::to_string(n) +
                         " entries (one per device)");
  if (s.Hq < 1 || s.Hkv < 1 || s.Hq % s.Hkv != 0 || s.D < 1 || s.Dv < 1)
    return Status::error("ring attention: heads " + std::to_string(s.Hq) + "/" +
                         std::to_string(s.Hkv) + " (query heads a multiple of kv heads) and D " +
                         std::to_string(s.D) + ", Dv " + std::to_string(s.Dv) + " must be >= 1");
  size_t maxN = 0;
  for (const auto &p : pos)
    maxN = std::max(maxN, p.size());
  const size_t kvElems = size_t(s.Hkv) * maxN * size_t(s.D + s.Dv);
  // Per device two K/V buffers ([Hkv, n, D] then [Hkv, n, Dv], packed at the
  // block's own n): the one attended now and the one the next hop fills.
  std::vector<std::vector<float>> cur(un, std::vector<float>(kvElems)),
      next(un, std::vector<float>(kvElems));
  std::vector<int> origin(un); // whose block device d holds now
  for (int d = 0; d < n; ++d) {
    const size_t nk = pos[d].size();
    std::copy(k[d], k[d] + s.Hkv * nk * s.D, cur[d].begin());
    std::copy(v[d], v[d] + s.Hkv * nk * s.Dv, cur[d].begin() + s.Hkv * nk * s.D);
    origin[d] = d;
  }
  if (work)
    work->assign(un, 0);
  std::vector<float> o2, lse2;
  std::vector<std::vector<float>> lse(un);
  for (int d = 0; d < n; ++d) {
    const size_t rows = size_t(s.Hq) * pos[d].size();
    std::fill(out[d], out[d] + rows * s.Dv, 0.f);
    lse[d].assign(rows, -INFINITY);
  }
  for (int step = 0; step < n; ++step) {
    for (int d = 0; d < n; ++d) {
      const std::vector<int64_t> &qp = pos[d], &kp = pos[origin[d]];
      if (qp.empty() || kp.empty() || (s.causal && kp.front() > qp.back()))
        continue; // nothing allowed in this block
      const size_t rows = size_t(s.Hq) * qp.size();
      o2.resize(rows * s.Dv);
      lse2.resize(rows);
      const float *K = cur[d].data(), *V = K + s.Hkv * kp.size() * s.D;
      const int64_t pairs = attendBlock(s, q[d], qp, K, V, kp, o2.data(), lse2.data());
      if (work)
        (*work)[d] += pairs;
      mergePartial(out[d], lse[d].data(), o2.data(), lse2.data(), int64_t(rows), s.Dv);
    }
    if (step + 1 == n)
      break;
    std::vector<Transfer> hop;
    for (int d = 0; d < n; ++d) {
      const int to = ringNext(d, n);
      const size_t elems = size_t(s.Hkv) * pos[origin[d]].size() * size_t(s.D + s.Dv);
      hop.push_back({d, to, cur[d].data(), next[to].data(), elems});
    }
    EFFC_RETURN_IF_ERROR(comm.sendRecv(hop, DType::FLOAT32).withPrefix("ring attention"));
    EFFC_RETURN_IF_ERROR(comm.synchronize().withPrefix("ring attention"));
    std::vector<int> moved(un);
    for (int d = 0; d < n; ++d)
      moved[d] = origin[ringPrev(d, n)];
    origin = moved;
    std::swap(cur, next);
  }
  return Status::OK();
}

namespace {

/// eff.ring_attention in one process: the ring of |devices| simulated devices
/// (HostCollectives' sendRecv moves the K/V blocks) per batch row, in fp32,
/// each ring position's rows written at its tokens' positions.
Status ringAttentionKernel(const KernelContext &c) {
  auto devices = c.intsAttr("devices");
  if (!devices.ok())
    return devices.status();
  const size_t n = devices->size();
  if (n == 0 || c.in.size() != 3 * n)
    return c.error(std::to_string(c.in.size()) + " blocks for " + std::to_string(n) +
                   " devices (q, k and v blocks, one each per device)");
  auto scale = c.floatAttr("scale", 1.0);
  auto causal = c.intAttr("causal", 0), striped = c.intAttr("striped", 0);
  auto nkv = c.intAttr("num_kv_heads", 0);
  for (auto *a : {&causal, &striped, &nkv})
    if (!a->ok())
      return a->status();
  if (!scale.ok())
    return scale.status();
  const std::vector<int64_t> &qs = c.in[0].shape, &ks = c.in[n].shape, &vs = c.in[2 * n].shape;
  if (qs.size() != 4 || ks.size() != 4 || vs.size() != 4)
    return c.error("q, k and v blocks must be 4-D [B, H, n, D]");
  const int64_t B = qs[0], rows = qs[2];
  RingAttentionShape s;
  s.Hq = qs[1];
  s.Hkv = ks[1];
  s.D = qs[3];
  s.Dv = vs[3];
  s.scale = float(*scale);
  s.causal = *causal != 0;
  if (*nkv != s.Hkv)
    return c.error("num_kv_heads " + std::to_string(*nkv) + " differs from the k blocks' " +
                   std::to_string(s.Hkv) + " heads");
  for (size_t g = 0; g < 3; ++g) {
    const std::vector<int64_t> want = g == 0   ? qs
                                      : g == 1 ? std::vector<int64_t>{B, s.Hkv, rows, s.D}
                                               : std::vector<int64_t>{B, s.Hkv, rows, s.Dv};
    for (size_t i = 0; i < n; ++i)
      if (c.in[g * n + i].shape != want || c.in[g * n + i].dtype != c.in[0].dtype)
        return c.error("block " + std::to_string(g * n + i) + " is " +
                       dtypeName(c.in[g * n + i].dtype) + " " +
                       shapeToString(c.in[g * n + i].shape) + ", expected " +
                       dtypeName(c.in[0].dtype) + " " + shapeToString(want));
  }
  const int64_t S = rows * int64_t(n);
  EFFC_RETURN_IF_ERROR(c.checkOut(0, c.in[0].dtype, {B, s.Hq, S, s.Dv}));
  auto comm = makeHostCollectives(int(n));
  if (!comm.ok())
    return comm.status();
  std::vector<std::vector<int64_t>> pos(n);
  for (size_t i = 0; i < n; ++i)
    pos[i] = ringPositions(S, int(n), int(i), *striped != 0);
  const int64_t qElems = s.Hq * rows * s.D, kElems = s.Hkv * rows * s.D,
                vElems = s.Hkv * rows * s.Dv, oElems = s.Hq * rows * s.Dv;
  const DType t = c.in[0].dtype;
  std::vector<std::vector<float>> q(n, std::vector<float>(size_t(qElems))),
      k(n, std::vector<float>(size_t(kElems))), v(n, std::vector<float>(size_t(vElems))),
      o(n, std::vector<float>(size_t(oElems)));
  auto load = [&](const ConstTensorRef &in, int64_t offset, std::vector<float> &dst) {
    for (size_t e = 0; e < dst.size(); ++e)
      dst[e] = float(loadF(t, in.data, size_t(offset) + e));
  };
  for (int64_t b = 0; b < B; ++b) {
    std::vector<const float *> qp, kp, vp;
    std::vector<float *> op;
    for (size_t i = 0; i < n; ++i) {
      load(c.in[i], b * qElems, q[i]);
      load(c.in[n + i], b * kElems, k[i]);
      load(c.in[2 * n + i], b * vElems, v[i]);
      qp.push_back(q[i].data());
      kp.push_back(k[i].data());
      vp.push_back(v[i].data());
      op.push_back(o[i].data());
    }
    EFFC_RETURN_IF_ERROR(ringAttention(**comm, s, pos, qp, kp, vp, op).withPrefix(c.op + ": "));
    for (size_t i = 0; i < n; ++i)
      for (int64_t h = 0; h < s.Hq; ++h)
        for (int64_t r = 0; r < rows; ++r) {
          const size_t dst = size_t(((b * s.Hq + h) * S + pos[i][size_t(r)]) * s.Dv);
          for (int64_t d = 0; d < s.Dv; ++d)
            storeF(t, c.out[0].data, dst + size_t(d), o[i][size_t((h * rows + r) * s.Dv + d)]);
        }
  }
  return Status::OK();
}

} // namespace

void registerRingAttention(Registry &r) {
  r[EffOp::RingAttentionOp] = {ringAttentionKernel, 3, -1, 1, 1};
}

} // namespace effc::host
