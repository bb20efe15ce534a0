// eff.moe (effc's own op, see dialects/eff/ops/MoEOps.td):
//   moe(x [T, H], router, gate_up [E, 2I, H], down [E, H, I], [route_weights],
//       [shared_gate_up [2Is, H], shared_down [H, Is]], [shared_gate [1, H]])
//     {num_experts, top_k, norm_topk, routing, activation, routed_scale}
// and its two halves for --moe-partitions: eff.moe_route (the routing alone)
// and eff.moe_experts (one group of experts over that routing).
// Routing in float (whatever x's type), expert math in float (double for
// float64), the result rounded once on store.
#include "host/KernelUtil.h"

#include <algorithm>
#include <cmath>

namespace effc::host {
namespace {

enum Input : size_t {
  kX,
  kRouter,
  kGateUp,
  kDown,
  kRouteWeights,
  kSharedGateUp,
  kSharedDown,
  kSharedGate
};

template <typename T> std::vector<T> widen(const ConstTensorRef &t) {
  std::vector<T> v(count(t.shape));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = T(loadF(t.dtype, t.data, i));
  return v;
}

struct MoEConfig {
  int64_t T = 0, H = 0, E = 0, I = 0, Is = 0, k = 0;
  bool normTopk = false, gelu = false, scores = false, softmaxFirst = true;
  double routedScale = 1.0;
};

template <typename T> T activate(T g, bool gelu) {
  if (gelu)
    return T(0.5) * g * (T(1) + T(std::erf(double(g) / std::sqrt(2.0))));
  return g / (T(1) + T(std::exp(double(-g))));
}

/// y += scale * down (act(gate) * up) for one expert: gateUp [2I, H], down [H, I].
template <typename T>
void expertMlp(const T *xr, const T *gateUp, const T *down, int64_t H, int64_t I, bool gelu,
               T scale, std::vector<T> &h, T *y) {
  h.assign(size_t(I), T(0));
  for (int64_t i = 0; i < I; ++i) {
    T g = 0, u = 0;
    for (int64_t c = 0; c < H; ++c) {
      g += gateUp[i * H + c] * xr[c];
      u += gateUp[(I + i) * H + c] * xr[c];
    }
    h[size_t(i)] = activate(g, gelu) * u;
  }
  for (int64_t o = 0; o < H; ++o) {
    T sum = 0;
    for (int64_t i = 0; i < I; ++i)
      sum += down[o * I + i] * h[size_t(i)];
    y[o] += scale * sum;
  }
}

/// The k experts of one token and their weights. `scores` are the values
/// ranked (probabilities, logits or given scores); ties go to the lower expert.
void route(const MoEConfig &cfg, const std::vector<float> &scores, const float *mixFrom,
           std::vector<int64_t> &experts, std::vector<float> &weights) {
  std::vector<int64_t> order(size_t(cfg.E));
  for (int64_t e = 0; e < cfg.E; ++e)
    order[size_t(e)] = e;
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return scores[size_t(a)] > scores[size_t(b)]; });
  experts.assign(order.begin(), order.begin() + cfg.k);
  weights.resize(size_t(cfg.k));
  for (int64_t j = 0; j < cfg.k; ++j)
    weights[size_t(j)] = mixFrom ? mixFrom[experts[size_t(j)]] : scores[size_t(experts[size_t(j)])];
  if (!cfg.scores && !cfg.softmaxFirst) { // softmax over the k chosen logits
    float top = weights[0], sum = 0;
    for (float &w : weights)
      sum += (w = std::exp(w - top));
    for (float &w : weights)
      w /= sum;
  }
  if (cfg.normTopk) {
    float sum = 0;
    for (float w : weights)
      sum += w;
    for (float &w : weights)
      w /= sum;
  }
  for (float &w : weights)
    w = float(double(w) * cfg.routedScale);
}

/// Token t's experts and weights: its scores (fp32 logits of the router, or
/// the given scores), then route().
template <typename T>
void routeToken(const MoEConfig &cfg, const T *xr, const std::vector<float> &R,
                const std::vector<float> &W, int64_t t, std::vector<float> &scores,
                std::vector<int64_t> &experts, std::vector<float> &weights) {
  int64_t E = cfg.E, H = cfg.H;
  scores.resize(size_t(E));
  if (cfg.scores) {
    std::copy(R.begin() + t * E, R.begin() + (t + 1) * E, scores.begin());
  } else {
    for (int64_t e = 0; e < E; ++e) { // fp32 logits
      float sum = 0;
      for (int64_t c2 = 0; c2 < H; ++c2)
        sum += R[size_t(e * H + c2)] * float(xr[c2]);
      scores[size_t(e)] = sum;
    }
    if (cfg.softmaxFirst) {
      float top = *std::max_element(scores.begin(), scores.end()), sum = 0;
      for (float &s : scores)
        sum += (s = std::exp(s - top));
      for (float &s : scores)
        s /= sum;
    }
  }
  route(cfg, scores, W.empty() ? nullptr : W.data() + t * E, experts, weights);
}

/// The shared expert's term of token row xr, added to y.
template <typename T>
void sharedExpert(const MoEConfig &cfg, const T *xr, const std::vector<T> &SGU,
                  const std::vector<T> &SD, const std::vector<T> &SG, std::vector<T> &h, T *y) {
  T s = 1;
  if (!SG.empty()) {
    T g = 0;
    for (int64_t c2 = 0; c2 < cfg.H; ++c2)
      g += SG[size_t(c2)] * xr[c2];
    s = T(1) / (T(1) + T(std::exp(double(-g))));
  }
  expertMlp(xr, SGU.data(), SD.data(), cfg.H, cfg.Is, cfg.gelu, s, h, y);
}

template <typename T> Status moeT(const KernelContext &c, const MoEConfig &cfg) {
  std::vector<T> X = widen<T>(c.in[kX]), GU = widen<T>(c.in[kGateUp]), D = widen<T>(c.in[kDown]);
  std::vector<float> R = widen<float>(c.in[kRouter]);
  std::vector<float> W =
      c.has(kRouteWeights) ? widen<float>(c.in[kRouteWeights]) : std::vector<float>();
  bool shared = c.has(kSharedGateUp);
  std::vector<T> SGU = shared ? widen<T>(c.in[kSharedGateUp]) : std::vector<T>();
  std::vector<T> SD = shared ? widen<T>(c.in[kSharedDown]) : std::vector<T>();
  std::vector<T> SG = c.has(kSharedGate) ? widen<T>(c.in[kSharedGate]) : std::vector<T>();
  int64_t H = cfg.H, I = cfg.I, E = cfg.E;
  parallelFor(cfg.T, cfg.k * 3 * H * I + E * H, [&](int64_t t0, int64_t t1) {
    std::vector<T> y = std::vector<T>(size_t(H)), h;
    std::vector<float> scores = std::vector<float>(size_t(E)), weights;
    std::vector<int64_t> experts;
    for (int64_t t = t0; t < t1; ++t) {
      const T *xr = X.data() + t * H;
      routeToken(cfg, xr, R, W, t, scores, experts, weights);
      std::fill(y.begin(), y.end(), T(0));
      for (int64_t j = 0; j < cfg.k; ++j) {
        int64_t e = experts[size_t(j)];
        expertMlp(xr, GU.data() + e * 2 * I * H, D.data() + e * H * I, H, I, cfg.gelu,
                  T(weights[size_t(j)]), h, y.data());
      }
      if (shared)
        sharedExpert(cfg, xr, SGU, SD, SG, h, y.data());
      for (int64_t o = 0; o < H; ++o)
        storeF(c.in[kX].dtype, c.out[0].data, size_t(t * H + o), y[size_t(o)]);
    }
  });
  return Status::OK();
}

Status expectShape(const KernelContext &c, size_t i, const char *name,
                   const std::vector<int64_t> &want) {
  if (c.in[i].shape != want)
    return c.error(std::string(name) + " must be " + shapeToString(want) + ", got " +
                   shapeToString(c.in[i].shape));
  return Status::OK();
}

/// x [T, H] and eff.moe's routing attributes (eff.moe, eff.moe_route).
Status readRouting(const KernelContext &c, MoEConfig &cfg) {
  const ConstTensorRef &x = c.in[kX];
  auto E = c.intAttr("num_experts", 0), k = c.intAttr("top_k", 0);
  auto norm = c.intAttr("norm_topk", op_defaults::MoEOp_norm_topk);
  auto routing = c.stringAttr("routing", op_defaults::MoEOp_routing);
  auto scale = c.floatAttr("routed_scale", op_defaults::MoEOp_routed_scale);
  for (const Status &s : {E.status(), k.status(), norm.status(), routing.status(), scale.status()})
    if (!s.ok())
      return s;
  cfg.E = *E;
  cfg.k = *k;
  cfg.normTopk = *norm != 0;
  cfg.routedScale = *scale;
  if (*routing != "softmax_topk" && *routing != "topk_softmax" && *routing != "scores")
    return c.error("unknown routing '" + *routing + "'");
  cfg.scores = *routing == "scores";
  cfg.softmaxFirst = *routing == "softmax_topk";
  if (cfg.E < 1 || cfg.k < 1 || cfg.k > cfg.E)
    return c.error("need 1 <= top_k <= num_experts, got top_k " + std::to_string(cfg.k) +
                   ", num_experts " + std::to_string(cfg.E));
  if (x.shape.size() != 2)
    return c.error("x must be [T, H], got " + shapeToString(x.shape));
  cfg.T = x.shape[0];
  cfg.H = x.shape[1];
  return Status::OK();
}

Status readActivation(const KernelContext &c, const char *dflt, MoEConfig &cfg) {
  auto activation = c.stringAttr("activation", dflt);
  if (!activation.ok())
    return activation.status();
  if (*activation != "silu" && *activation != "gelu")
    return c.error("unknown activation '" + *activation + "'");
  cfg.gelu = *activation == "gelu";
  return Status::OK();
}

Status checkRouter(const KernelContext &c, const MoEConfig &cfg, size_t router,
                   size_t routeWeights) {
  if (cfg.scores) {
    EFFC_RETURN_IF_ERROR(expectShape(c, router, "router (scores)", {cfg.T, cfg.E}));
    if (c.has(routeWeights))
      EFFC_RETURN_IF_ERROR(expectShape(c, routeWeights, "route_weights", {cfg.T, cfg.E}));
  } else {
    EFFC_RETURN_IF_ERROR(expectShape(c, router, "router", {cfg.E, cfg.H}));
    if (c.has(routeWeights))
      return c.error("route_weights is only read with scores routing");
  }
  return Status::OK();
}

/// The shared expert's operands at `first` (shared_gate_up, shared_down,
/// shared_gate), when present; sets cfg.Is.
Status checkShared(const KernelContext &c, MoEConfig &cfg, size_t first) {
  size_t gateUp = first, down = first + 1, gate = first + 2;
  if (c.has(gateUp) != c.has(down))
    return c.error("shared_gate_up and shared_down come together");
  if (c.has(gate) && !c.has(gateUp))
    return c.error("shared_gate needs a shared expert");
  if (!c.has(gateUp))
    return Status::OK();
  const ConstTensorRef &sgu = c.in[gateUp];
  if (sgu.shape.size() != 2 || sgu.shape[0] % 2)
    return c.error("shared_gate_up must be [2Is, H], got " + shapeToString(sgu.shape));
  cfg.Is = sgu.shape[0] / 2;
  EFFC_RETURN_IF_ERROR(expectShape(c, gateUp, "shared_gate_up", {2 * cfg.Is, cfg.H}));
  EFFC_RETURN_IF_ERROR(expectShape(c, down, "shared_down", {cfg.H, cfg.Is}));
  if (c.has(gate))
    EFFC_RETURN_IF_ERROR(expectShape(c, gate, "shared_gate", {1, cfg.H}));
  return Status::OK();
}

Status moe(const KernelContext &c) {
  const ConstTensorRef &x = c.in[kX];
  if (!isFloatDType(x.dtype))
    return c.error(std::string("unsupported dtype ") + dtypeName(x.dtype));
  for (size_t i : {size_t(kRouter), size_t(kRouteWeights), size_t(kGateUp), size_t(kDown),
                   size_t(kSharedGateUp), size_t(kSharedDown), size_t(kSharedGate)})
    if (c.has(i) && !isFloatDType(c.in[i].dtype))
      return c.error("operand " + std::to_string(i) + " must be float");
  MoEConfig cfg;
  EFFC_RETURN_IF_ERROR(readRouting(c, cfg));
  EFFC_RETURN_IF_ERROR(readActivation(c, op_defaults::MoEOp_activation, cfg));
  const ConstTensorRef &gu = c.in[kGateUp];
  if (gu.shape.size() != 3 || gu.shape[1] % 2)
    return c.error("gate_up must be [E, 2I, H], got " + shapeToString(gu.shape));
  cfg.I = gu.shape[1] / 2;
  EFFC_RETURN_IF_ERROR(expectShape(c, kGateUp, "gate_up", {cfg.E, 2 * cfg.I, cfg.H}));
  EFFC_RETURN_IF_ERROR(expectShape(c, kDown, "down", {cfg.E, cfg.H, cfg.I}));
  EFFC_RETURN_IF_ERROR(checkRouter(c, cfg, kRouter, kRouteWeights));
  EFFC_RETURN_IF_ERROR(checkShared(c, cfg, kSharedGateUp));
  EFFC_RETURN_IF_ERROR(c.checkOut(0, x.dtype, x.shape));
  return x.dtype == DType::FLOAT64 ? moeT<double>(c, cfg) : moeT<float>(c, cfg);
}

// eff.moe_route(x, router, [route_weights]) -> experts [T, k] int64, weights
// [T, k] f32: eff.moe's routing alone (--moe-partitions).
template <typename T> void moeRouteT(const KernelContext &c, const MoEConfig &cfg) {
  std::vector<T> X = widen<T>(c.in[kX]);
  std::vector<float> R = widen<float>(c.in[kRouter]);
  std::vector<float> W = c.has(2) ? widen<float>(c.in[2]) : std::vector<float>();
  parallelFor(cfg.T, cfg.E * cfg.H, [&](int64_t t0, int64_t t1) {
    std::vector<float> scores, weights;
    std::vector<int64_t> experts;
    for (int64_t t = t0; t < t1; ++t) {
      routeToken(cfg, X.data() + t * cfg.H, R, W, t, scores, experts, weights);
      for (int64_t j = 0; j < cfg.k; ++j) {
        storeI(DType::INT64, c.out[0].data, size_t(t * cfg.k + j), experts[size_t(j)]);
        storeF(DType::FLOAT32, c.out[1].data, size_t(t * cfg.k + j), weights[size_t(j)]);
      }
    }
  });
}

Status moeRoute(const KernelContext &c) {
  const ConstTensorRef &x = c.in[kX];
  if (!isFloatDType(x.dtype) || !isFloatDType(c.in[kRouter].dtype) ||
      (c.has(2) && !isFloatDType(c.in[2].dtype)))
    return c.error("x, router and route_weights must be float");
  MoEConfig cfg;
  EFFC_RETURN_IF_ERROR(readRouting(c, cfg));
  EFFC_RETURN_IF_ERROR(checkRouter(c, cfg, kRouter, 2));
  EFFC_RETURN_IF_ERROR(c.checkOut(0, DType::INT64, {cfg.T, cfg.k}));
  EFFC_RETURN_IF_ERROR(c.checkOut(1, DType::FLOAT32, {cfg.T, cfg.k}));
  if (x.dtype == DType::FLOAT64)
    moeRouteT<double>(c, cfg);
  else
    moeRouteT<float>(c, cfg);
  return Status::OK();
}

// eff.moe_experts(x, experts, weights, gate_up [G, 2I, H], down [G, H, I],
// [shared_gate_up, shared_down, shared_gate]) {first_expert, activation}: the
// slots routed to experts first_expert .. + G - 1 (and the shared expert).
enum ExpertsInput : size_t { kEX, kEExperts, kEWeights, kEGateUp, kEDown, kESharedGateUp };

template <typename T>
Status moeExpertsT(const KernelContext &c, const MoEConfig &cfg, int64_t first, int64_t groups) {
  std::vector<T> X = widen<T>(c.in[kEX]), GU = widen<T>(c.in[kEGateUp]), D = widen<T>(c.in[kEDown]);
  std::vector<float> Wt = widen<float>(c.in[kEWeights]);
  bool shared = c.has(kESharedGateUp);
  std::vector<T> SGU = shared ? widen<T>(c.in[kESharedGateUp]) : std::vector<T>();
  std::vector<T> SD = shared ? widen<T>(c.in[kESharedGateUp + 1]) : std::vector<T>();
  std::vector<T> SG =
      c.has(kESharedGateUp + 2) ? widen<T>(c.in[kESharedGateUp + 2]) : std::vector<T>();
  const ConstTensorRef &ex = c.in[kEExperts];
  int64_t H = cfg.H, I = cfg.I;
  parallelFor(cfg.T, cfg.k * 3 * H * I, [&](int64_t t0, int64_t t1) {
    std::vector<T> y = std::vector<T>(size_t(H)), h;
    for (int64_t t = t0; t < t1; ++t) {
      const T *xr = X.data() + t * H;
      std::fill(y.begin(), y.end(), T(0));
      for (int64_t j = 0; j < cfg.k; ++j) {
        int64_t e = loadI(ex.dtype, ex.data, size_t(t * cfg.k + j)) - first;
        if (e < 0 || e >= groups)
          continue;
        expertMlp(xr, GU.data() + e * 2 * I * H, D.data() + e * H * I, H, I, cfg.gelu,
                  T(Wt[size_t(t * cfg.k + j)]), h, y.data());
      }
      if (shared)
        sharedExpert(cfg, xr, SGU, SD, SG, h, y.data());
      for (int64_t o = 0; o < H; ++o)
        storeF(c.in[kEX].dtype, c.out[0].data, size_t(t * H + o), y[size_t(o)]);
    }
  });
  return Status::OK();
}

Status moeExperts(const KernelContext &c) {
  const ConstTensorRef &x = c.in[kEX];
  if (!isFloatDType(x.dtype))
    return c.error(std::string("unsupported dtype ") + dtypeName(x.dtype));
  if (c.in[kEExperts].dtype != DType::INT64 || c.in[kEWeights].dtype != DType::FLOAT32)
    return c.error("experts must be int64 and weights float32");
  MoEConfig cfg;
  EFFC_RETURN_IF_ERROR(readActivation(c, op_defaults::MoEExpertsOp_activation, cfg));
  auto first = c.intAttr("first_expert", 0);
  if (!first.ok())
    return first.status();
  if (x.shape.size() != 2 || c.in[kEExperts].shape.size() != 2)
    return c.error("x must be [T, H] and experts [T, k]");
  cfg.T = x.shape[0];
  cfg.H = x.shape[1];
  cfg.k = c.in[kEExperts].shape[1];
  const ConstTensorRef &gu = c.in[kEGateUp];
  if (gu.shape.size() != 3 || gu.shape[1] % 2)
    return c.error("gate_up must be [G, 2I, H], got " + shapeToString(gu.shape));
  int64_t groups = gu.shape[0];
  cfg.I = gu.shape[1] / 2;
  cfg.E = groups;
  EFFC_RETURN_IF_ERROR(expectShape(c, kEExperts, "experts", {cfg.T, cfg.k}));
  EFFC_RETURN_IF_ERROR(expectShape(c, kEWeights, "weights", {cfg.T, cfg.k}));
  EFFC_RETURN_IF_ERROR(expectShape(c, kEGateUp, "gate_up", {groups, 2 * cfg.I, cfg.H}));
  EFFC_RETURN_IF_ERROR(expectShape(c, kEDown, "down", {groups, cfg.H, cfg.I}));
  EFFC_RETURN_IF_ERROR(checkShared(c, cfg, kESharedGateUp));
  EFFC_RETURN_IF_ERROR(c.checkOut(0, x.dtype, x.shape));
  return x.dtype == DType::FLOAT64 ? moeExpertsT<double>(c, cfg, *first, groups)
                                   : moeExpertsT<float>(c, cfg, *first, groups);
}

} // namespace

void registerMoE(Registry &r) {
  r[EffOp::MoEOp] = {moe, 4, 8, 1, 1};
  r[EffOp::MoERouteOp] = {moeRoute, 2, 3, 2, 2};
  r[EffOp::MoEExpertsOp] = {moeExperts, 5, 8, 1, 1};
}

} // namespace effc::host
