// The stages eff-lower-moe rewrites an eff.moe into (dialects/eff/ops/
// MoEKernelOps.td): moe_permute, moe_expert_gemm, moe_combine. Float math
// (the device kernels' fp32 accumulation); h is stored in a's type, the down
// rows z in f32, as on the device.
#include "host/KernelUtil.h"

#include <cmath>

namespace effc::host {
namespace {

float activate(float g, bool gelu) {
  if (gelu)
    return float(0.5 * g * (1.0 + std::erf(double(g) / std::sqrt(2.0))));
  return float(g / (1.0 + std::exp(double(-g))));
}

/// experts int64 [T, k] -> order int32 [E + 1 + 2 T k]: offsets, slots
/// sorted by expert (stable), each slot's position.
Status moePermute(const KernelContext &c) {
  const ConstTensorRef &ex = c.in[0];
  auto E = c.intAttr("num_experts", 0);
  if (!E.ok())
    return E.status();
  if (ex.dtype != DType::INT64 || ex.shape.size() != 2)
    return c.error("experts must be int64 [T, k], got " + shapeToString(ex.shape));
  const int64_t slots = ex.shape[0] * ex.shape[1];
  if (*E < 1)
    return c.error("num_experts must be >= 1");
  EFFC_RETURN_IF_ERROR(c.checkOut(0, DType::INT32, {*E + 1 + 2 * slots}));
  std::vector<int64_t> offsets(size_t(*E + 1), 0);
  for (int64_t s = 0; s < slots; ++s) {
    int64_t e = loadI(DType::INT64, ex.data, size_t(s));
    if (e < 0 || e >= *E)
      return c.error("slot " + std::to_string(s) + " names expert " + std::to_string(e) +
                     ", outside [0, " + std::to_string(*E) + ")");
    ++offsets[size_t(e + 1)];
  }
  for (int64_t e = 0; e < *E; ++e)
    offsets[size_t(e + 1)] += offsets[size_t(e)];
  std::vector<int64_t> cursor(offsets.begin(), offsets.end() - 1);
  int32_t *order = static_cast<int32_t *>(c.out[0].data);
  for (int64_t e = 0; e <= *E; ++e)
    order[e] = int32_t(offsets[size_t(e)]);
  for (int64_t s = 0; s < slots; ++s) {
    int64_t pos = cursor[size_t(loadI(DType::INT64, ex.data, size_t(s)))]++;
    order[*E + 1 + pos] = int32_t(s);
    order[*E + 1 + slots + s] = int32_t(pos);
  }
  return Status::OK();
}

/// eff.moe_expert_gemm: per output row its expert and the row of a it reads.
Status moeExpertGemm(const KernelContext &c) {
  const ConstTensorRef &a = c.in[0], &w = c.in[1];
  auto topK = c.intAttr("top_k", op_defaults::MoEExpertGemmOp_top_k);
  auto rowsAttr = c.stringAttr("rows", op_defaults::MoEExpertGemmOp_rows);
  auto gatedAttr = c.intAttr("gated", op_defaults::MoEExpertGemmOp_gated);
  auto act = c.stringAttr("activation", op_defaults::MoEExpertGemmOp_activation);
  for (const Status &s : {topK.status(), rowsAttr.status(), gatedAttr.status(), act.status()})
    if (!s.ok())
      return s;
  if (!isFloatDType(a.dtype) || w.dtype != a.dtype)
    return c.error("a and w must be float of one type");
  if (a.shape.size() != 2 || w.shape.size() != 3 || w.shape[2] != a.shape[1])
    return c.error("a must be [rows, KD] and w [G, N, KD], got " + shapeToString(a.shape) +
                   " and " + shapeToString(w.shape));
  const bool gated = *gatedAttr != 0, gelu = *act == "gelu";
  const int64_t G = w.shape[0], KD = a.shape[1], N = gated ? w.shape[1] / 2 : w.shape[1];
  const std::string &rows = *rowsAttr;
  // Per output row: expert and a row.
  std::vector<int64_t> expertOf, aRowOf;
  if (rows == "dense") {
    if (G != 1)
      return c.error("dense rows need one expert");
    for (int64_t r = 0; r < a.shape[0]; ++r) {
      expertOf.push_back(0);
      aRowOf.push_back(r);
    }
  } else if (rows == "slots") {
    if (!c.has(2) || c.in[2].dtype != DType::INT64 || c.in[2].shape.size() != 2)
      return c.error("slot rows need int64 experts [T, k]");
    const int64_t slots = c.in[2].shape[0] * c.in[2].shape[1];
    for (int64_t s = 0; s < slots; ++s) {
      expertOf.push_back(loadI(DType::INT64, c.in[2].data, size_t(s)));
      aRowOf.push_back(gated ? s / *topK : s);
    }
  } else if (rows == "sorted") {
    if (!c.has(2) || c.in[2].dtype != DType::INT32 || c.in[2].shape.size() != 1 ||
        c.in[2].shape[0] < G + 1 || (c.in[2].shape[0] - G - 1) % 2)
      return c.error("sorted rows need an int32 order [E + 1 + 2 T k] with E = " +
                     std::to_string(G));
    const int32_t *order = static_cast<const int32_t *>(c.in[2].data);
    const int64_t slots = (c.in[2].shape[0] - G - 1) / 2;
    for (int64_t e = 0; e < G; ++e) {
      if (order[e] < 0 || order[e] > order[e + 1] || order[e + 1] > slots)
        return c.error("order's offsets are not ascending within [0, T k]");
      for (int64_t p = order[e]; p < order[e + 1]; ++p) {
        expertOf.push_back(e);
        aRowOf.push_back(gated ? order[G + 1 + p] / *topK : p);
      }
    }
    if (int64_t(expertOf.size()) != slots)
      return c.error("order's offsets do not end at T k");
  } else {
    return c.error("unknown rows '" + rows + "'");
  }
  const int64_t R = int64_t(expertOf.size());
  for (int64_t r = 0; r < R; ++r)
    if (expertOf[size_t(r)] < 0 || expertOf[size_t(r)] >= G || aRowOf[size_t(r)] < 0 ||
        aRowOf[size_t(r)] >= a.shape[0])
      return c.error("row " + std::to_string(r) + " names expert " +
                     std::to_string(expertOf[size_t(r)]) + " or a row " +
                     std::to_string(aRowOf[size_t(r)]) + " out of range");
  const DType outType = gated ? a.dtype : DType::FLOAT32;
  EFFC_RETURN_IF_ERROR(c.checkOut(0, outType, {R, N}));
  parallelFor(R, N * KD * (gated ? 2 : 1), [&](int64_t r0, int64_t r1) {
    std::vector<float> ar(static_cast<size_t>(KD));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t e = expertOf[size_t(r)], ab = aRowOf[size_t(r)] * KD;
      for (int64_t i = 0; i < KD; ++i)
        ar[size_t(i)] = float(loadF(a.dtype, a.data, size_t(ab + i)));
      for (int64_t n = 0; n < N; ++n) {
        const int64_t gb = (e * w.shape[1] + n) * KD, ub = gb + N * KD;
        float g = 0, u = 0;
        for (int64_t i = 0; i < KD; ++i) {
          g += float(loadF(w.dtype, w.data, size_t(gb + i))) * ar[size_t(i)];
          if (gated)
            u += float(loadF(w.dtype, w.data, size_t(ub + i))) * ar[size_t(i)];
        }
        storeF(outType, c.out[0].data, size_t(r * N + n), gated ? activate(g, gelu) * u : g);
      }
    }
  });
  return Status::OK();
}

/// y[t] = sum_j weights[t][j] z[row(t, j)] + s(t) shared_z[t].
Status moeCombine(const KernelContext &c) {
  const ConstTensorRef &x = c.in[0], &z = c.in[1], &w = c.in[2];
  auto E = c.intAttr("num_experts", 0);
  if (!E.ok())
    return E.status();
  if (!isFloatDType(x.dtype) || x.shape.size() != 2 || w.shape.size() != 2 ||
      z.dtype != DType::FLOAT32 || w.dtype != DType::FLOAT32)
    return c.error("x must be float [T, H], z f32 [T k, H], weights f32 [T, k]");
  const int64_t T = x.shape[0], H = x.shape[1], k = w.shape[1];
  if (w.shape[0] != T || z.shape != std::vector<int64_t>{T * k, H})
    return c.error("z must be [" + std::to_string(T * k) + ", " + std::to_string(H) +
                   "] and weights [" + std::to_string(T) + ", k]");
  const int32_t *order = c.has(3) ? static_cast<const int32_t *>(c.in[3].data) : nullptr;
  if (order && c.in[3].shape != std::vector<int64_t>{*E + 1 + 2 * T * k})
    return c.error("order must have E + 1 + 2 T k entries");
  const bool shared = c.has(4), gate = c.has(5);
  if (shared && (c.in[4].dtype != DType::FLOAT32 || c.in[4].shape != x.shape))
    return c.error("shared_z must be f32 [T, H]");
  if (gate && c.in[5].shape != std::vector<int64_t>{1, H})
    return c.error("shared_gate must be [1, H]");
  EFFC_RETURN_IF_ERROR(c.checkOut(0, x.dtype, x.shape));
  for (int64_t s = 0; order && s < T * k; ++s)
    if (order[*E + 1 + T * k + s] < 0 || order[*E + 1 + T * k + s] >= T * k)
      return c.error("order's position of slot " + std::to_string(s) + " is out of range");
  const float *Z = static_cast<const float *>(z.data), *W = static_cast<const float *>(w.data);
  parallelFor(T, (k + 2) * H, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      float s = 1;
      if (gate) {
        float g = 0;
        for (int64_t i = 0; i < H; ++i)
          g += float(loadF(c.in[5].dtype, c.in[5].data, size_t(i))) *
               float(loadF(x.dtype, x.data, size_t(t * H + i)));
        s = float(1.0 / (1.0 + std::exp(double(-g))));
      }
      for (int64_t i = 0; i < H; ++i) {
        float v = 0;
        for (int64_t j = 0; j < k; ++j) {
          const int64_t slot = t * k + j, row = order ? order[*E + 1 + T * k + slot] : slot;
          v += W[slot] * Z[row * H + i];
        }
        if (shared)
          v += s * static_cast<const float *>(c.in[4].data)[t * H + i];
        storeF(x.dtype, c.out[0].data, size_t(t * H + i), v);
      }
    }
  });
  return Status::OK();
}

} // namespace

void registerMoEStages(Registry &r) {
  r[EffOp::MoEPermuteOp] = {moePermute, 1, 1, 1, 1};
  r[EffOp::MoEExpertGemmOp] = {moeExpertGemm, 2, 3, 1, 1};
  r[EffOp::MoECombineOp] = {moeCombine, 3, 6, 1, 1};
}

} // namespace effc::host
