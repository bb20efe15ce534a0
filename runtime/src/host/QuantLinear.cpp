// eff.quant_linear (effc's own op, see dialects/eff/ops/QuantOps.td):
//   quant_linear(a [..., K], weight, scales, [zero_points])
//       {scheme, layout, K, N, block_size} -> y [..., N]
// y[row][n] = sum_k a[row][k] W[k][n], with W decoded from the packed codes
// one column at a time (never stored whole). Math in float, rounded once on
// store; dynamic_int8 sums in int32 as MatMulInteger does; llm_int8 sums its
// int8 part in int32 and its outlier columns in float (LLM.int8()).
#include "host/QuantLinear.h"

#include "host/KernelUtil.h"

#include <algorithm>
#include <cmath>

namespace effc::host {

/// v clamped to [0, 255], NaN as 0 (a float -> int conversion of NaN or
/// infinity is undefined).
static float clampToByte(float v) { return v >= 0.0f ? std::min(v, 255.0f) : 0.0f; }

DynamicQuantParams dynamicQuantParams(float lo, float hi) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  DynamicQuantParams p;
  p.scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
  p.zeroPoint = int32_t(std::nearbyint(clampToByte(0.0f - lo / p.scale)));
  return p;
}

int32_t dynamicQuantize(float x, const DynamicQuantParams &p) {
  return int32_t(clampToByte(std::nearbyint(x / p.scale) + float(p.zeroPoint)));
}

namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct QuantGeometry {
  QuantScheme scheme;
  QuantLayout layout;
  int64_t K, N, blockSize, blocks, bits, bytesPerBlock;
  float threshold;  // llm_int8
  bool doubleQuant; // nf4/fp4: scales are quant_defs.cuh's QL_DQ layout
};

Status checkShape(const KernelContext &c, size_t i, const char *name,
                  const std::vector<int64_t> &want) {
  if (c.in[i].shape != want)
    return c.error(std::string(name) + " must be " + shapeToString(want) + ", got " +
                   shapeToString(c.in[i].shape));
  return Status::OK();
}

StatusOr<QuantGeometry> describe(const KernelContext &c) {
  auto scheme = c.intAttr("scheme", -1), layout = c.intAttr("layout", -1), K = c.intAttr("K", 0),
       N = c.intAttr("N", 0), bs = c.intAttr("block_size", 0);
  for (const auto *v : {&scheme, &layout, &K, &N, &bs})
    if (!v->ok())
      return v->status();
  StatusOr<double> threshold = c.floatAttr("threshold", op_defaults::QuantLinearOp_threshold);
  if (!threshold.ok())
    return threshold.status();
  auto doubleQuant = c.intAttr("double_quant", 0);
  if (!doubleQuant.ok())
    return doubleQuant.status();
  if (*scheme < 0 || *scheme >= kQuantSchemeCount)
    return c.error("unknown scheme " + std::to_string(*scheme));
  QuantGeometry g;
  g.scheme = QuantScheme(*scheme);
  g.layout = QuantLayout(*layout);
  g.K = *K;
  g.N = *N;
  g.blockSize = *bs;
  g.threshold = float(*threshold);
  g.doubleQuant = *doubleQuant != 0;
  if (g.K <= 0 || g.N <= 0 || g.blockSize <= 0)
    return c.error("K, N and block_size must be positive");
  bool bnb = g.scheme == QuantScheme::NF4 || g.scheme == QuantScheme::FP4;
  if (g.layout != (bnb ? QuantLayout::BnbFlat : QuantLayout::NBlocks))
    return c.error("scheme " + std::to_string(*scheme) + " does not use layout " +
                   std::to_string(*layout));
  const bool perColumn = g.scheme == QuantScheme::DynamicInt8 || g.scheme == QuantScheme::LLMInt8;
  g.bits = g.scheme == QuantScheme::Int8 || perColumn ? 8 : 4;
  g.blocks = ceilDiv(g.K, g.blockSize);
  g.bytesPerBlock = g.blockSize * g.bits / 8;
  if (perColumn && g.blocks != 1)
    return c.error("dynamic_int8 and llm_int8 need block_size >= K");
  if (g.scheme == QuantScheme::LLMInt8 && c.has(3))
    return c.error("llm_int8 weights have no zero points");
  if (g.scheme == QuantScheme::LLMInt8 && !(g.threshold > 0 && std::isfinite(g.threshold)))
    return c.error("llm_int8 threshold must be a positive finite number");
  EFFC_RETURN_IF_ERROR(c.checkInDType(1, DType::UINT8));
  if (g.doubleQuant && !bnb)
    return c.error("double_quant is an nf4/fp4 option");
  if (!isFloatDType(c.in[0].dtype))
    return c.error("a must be a float tensor");
  if (g.doubleQuant)
    EFFC_RETURN_IF_ERROR(c.checkInDType(2, DType::UINT8));
  else if (!isFloatDType(c.in[2].dtype))
    return c.error("scales must be a float tensor");
  if (c.in[0].shape.empty() || c.in[0].shape.back() != g.K)
    return c.error("a must be [..., " + std::to_string(g.K) + "], got " +
                   shapeToString(c.in[0].shape));
  if (bnb) {
    EFFC_RETURN_IF_ERROR(checkShape(c, 1, "weight", {ceilDiv(g.N * g.K, 2)}));
    const int64_t blocks = ceilDiv(g.N * g.K, g.blockSize);
    EFFC_RETURN_IF_ERROR(
        checkShape(c, 2, "scales", {g.doubleQuant ? dqScaleBytes(blocks) : blocks}));
    if (c.has(3))
      return c.error("nf4/fp4 have no zero points");
  } else {
    EFFC_RETURN_IF_ERROR(checkShape(c, 1, "weight", {g.N, g.blocks, g.bytesPerBlock}));
    EFFC_RETURN_IF_ERROR(checkShape(c, 2, "scales", {g.N, g.blocks}));
    if (c.has(3)) {
      EFFC_RETURN_IF_ERROR(c.checkInDType(3, DType::UINT8));
      EFFC_RETURN_IF_ERROR(checkShape(c, 3, "zero_points", {g.N, g.blocks}));
    }
  }
  return g;
}

/// Column n of W, decoded into w[0, K).
void decodeColumn(const KernelContext &c, const QuantGeometry &g, int64_t n, float *w) {
  const auto *bytes = static_cast<const uint8_t *>(c.in[1].data);
  const ConstTensorRef &scales = c.in[2];
  if (g.layout == QuantLayout::BnbFlat) {
    const float *book = g.scheme == QuantScheme::NF4 ? kNF4CodeBook : kFP4CodeBook;
    const int64_t blocks = ceilDiv(g.N * g.K, g.blockSize);
    for (int64_t k = 0; k < g.K; ++k) {
      int64_t f = n * g.K + k;
      int code = (bytes[f / 2] >> (f % 2 == 0 ? 4 : 0)) & 0xF;
      const float absmax =
          g.doubleQuant
              ? dqAbsmax(static_cast<const uint8_t *>(scales.data), blocks, f / g.blockSize)
              : float(loadF(scales.dtype, scales.data, size_t(f / g.blockSize)));
      w[k] = book[code] * absmax;
    }
    return;
  }
  const auto *zeros = static_cast<const uint8_t *>(c.in[3].data);
  int32_t defaultZero = g.bits == 4 ? 8 : 128;
  for (int64_t k = 0; k < g.K; ++k) {
    int64_t b = k / g.blockSize, j = k % g.blockSize;
    const uint8_t *block = bytes + (n * g.blocks + b) * g.bytesPerBlock;
    int32_t code = g.bits == 8 ? block[j] : (block[j / 2] >> (4 * (j % 2))) & 0xF;
    int32_t zero = c.has(3) ? zeros[n * g.blocks + b] : defaultZero;
    if (g.scheme == QuantScheme::DynamicInt8 || g.scheme == QuantScheme::LLMInt8)
      // integer codes, scaled after the sum
      w[k] = float(code - zero);
    else
      w[k] = float(code - zero) * float(loadF(scales.dtype, scales.data, size_t(n * g.blocks + b)));
  }
}

Status quantLinear(const KernelContext &c) {
  StatusOr<QuantGeometry> geometry = describe(c);
  if (!geometry.ok())
    return geometry.status();
  const QuantGeometry &g = *geometry;
  const ConstTensorRef &a = c.in[0];
  std::vector<int64_t> yShape(a.shape.begin(), a.shape.end() - 1);
  yShape.push_back(g.N);
  EFFC_RETURN_IF_ERROR(c.checkOut(0, a.dtype, yShape));
  int64_t rows = numElements(yShape) / g.N;
  std::vector<float> A(count(a.shape));
  for (size_t i = 0; i < A.size(); ++i)
    A[i] = float(loadF(a.dtype, a.data, i));

  bool dynamic = g.scheme == QuantScheme::DynamicInt8;
  DynamicQuantParams aq{1.0f, 0};
  std::vector<int32_t> Q;
  if (dynamic) {
    float lo = 0, hi = 0;
    for (float v : A) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    aq = dynamicQuantParams(lo, hi);
    Q.resize(A.size());
    for (size_t i = 0; i < A.size(); ++i)
      Q[i] = dynamicQuantize(A[i], aq) - aq.zeroPoint;
  }
  // LLM.int8(): the outlier columns of all of a, then each row's absmax over
  // the other columns and its int8 codes (0 in outlier columns).
  const bool llm = g.scheme == QuantScheme::LLMInt8;
  std::vector<char> outlier;
  std::vector<float> rowScale;
  if (llm) {
    outlier.assign(size_t(g.K), 0);
    for (size_t i = 0; i < A.size(); ++i)
      if (std::fabs(A[i]) >= g.threshold)
        outlier[i % size_t(g.K)] = 1;
    rowScale.assign(size_t(rows), 0.0f);
    Q.assign(A.size(), 0);
    for (int64_t row = 0; row < rows; ++row) {
      float m = 0;
      for (int64_t k = 0; k < g.K; ++k)
        if (!outlier[size_t(k)])
          m = std::fmax(m, std::fabs(A[size_t(row * g.K + k)]));
      const float s = m / 127.0f;
      rowScale[size_t(row)] = s;
      for (int64_t k = 0; k < g.K && s > 0; ++k)
        if (!outlier[size_t(k)])
          Q[size_t(row * g.K + k)] = int32_t(
              std::fmin(std::fmax(std::nearbyint(A[size_t(row * g.K + k)] / s), -127.0f), 127.0f));
    }
  }
  const ConstTensorRef &scales = c.in[2];
  parallelFor(g.N, g.K * (rows + 1), [&](int64_t n0, int64_t n1) {
    std::vector<float> w(size_t(g.K));
    for (int64_t n = n0; n < n1; ++n) {
      decodeColumn(c, g, n, w.data());
      if (llm) {
        const float sw = float(loadF(scales.dtype, scales.data, size_t(n)));
        for (int64_t row = 0; row < rows; ++row) {
          int32_t acc = 0;
          float outliers = 0;
          for (int64_t k = 0; k < g.K; ++k) {
            const size_t i = size_t(row * g.K + k);
            if (outlier[size_t(k)])
              outliers += A[i] * w[size_t(k)];
            else
              acc += Q[i] * int32_t(w[size_t(k)]);
          }
          storeF(a.dtype, c.out[0].data, size_t(row * g.N + n),
                 double(float(acc) * (rowScale[size_t(row)] * sw) + outliers * sw));
        }
        continue;
      }
      if (dynamic) {
        // MatMulInteger's int32 sum, Cast, then Mul by (a_scale * w_scale).
        float scale = aq.scale * float(loadF(scales.dtype, scales.data, size_t(n)));
        for (int64_t row = 0; row < rows; ++row) {
          int32_t acc = 0;
          for (int64_t k = 0; k < g.K; ++k)
            acc += Q[size_t(row * g.K + k)] * int32_t(w[size_t(k)]);
          storeF(a.dtype, c.out[0].data, size_t(row * g.N + n), double(float(acc) * scale));
        }
        continue;
      }
      for (int64_t row = 0; row < rows; ++row) {
        const float *ar = A.data() + row * g.K;
        float acc = 0;
        for (int64_t k = 0; k < g.K; ++k)
          acc += ar[k] * w[size_t(k)];
        storeF(a.dtype, c.out[0].data, size_t(row * g.N + n), double(acc));
      }
    }
  });
  return Status::OK();
}

} // namespace

void registerQuantLinear(Registry &r) { r[EffOp::QuantLinearOp] = {quantLinear, 3, 4, 1, 1}; }

} // namespace effc::host
