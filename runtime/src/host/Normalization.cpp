// LayerNormalization (one output), RMSNormalization-23, RotaryEmbedding-23.
#include "host/KernelUtil.h"

#include <cmath>

namespace effc::host {
namespace {

// Indices of a per-feature operand (scale/bias) for each element of the
// normalized inner shape; operands broadcast unidirectionally to it.
StatusOr<std::vector<size_t>> featureIndex(const KernelContext &c, size_t i,
                                           const std::vector<int64_t> &inner) {
  auto bc = broadcastShapes(c, {c.in[i].shape, inner});
  if (!bc.ok() || *bc != inner)
    return c.error("operand " + std::to_string(i) + " " + shapeToString(c.in[i].shape) +
                   " does not broadcast to " + shapeToString(inner));
  std::vector<size_t> idx;
  forEachBroadcast(inner, {c.in[i].shape}, [&](size_t, const size_t *p) { idx.push_back(p[0]); });
  return idx;
}

template <bool kRms> Status norm(const KernelContext &c) {
  const ConstTensorRef &x = c.in[0];
  if (!isFloatDType(x.dtype))
    return c.error(std::string("unsupported dtype ") + dtypeName(x.dtype));
  auto axisAttr =
      c.intAttr("axis", kRms ? op_defaults::RMSNormOp_axis : op_defaults::LayerNormOp_axis);
  auto eps = c.floatAttr("epsilon",
                         kRms ? op_defaults::RMSNormOp_epsilon : op_defaults::LayerNormOp_epsilon);
  if (!axisAttr.ok())
    return axisAttr.status();
  if (!eps.ok())
    return eps.status();
  int64_t rank = int64_t(x.shape.size());
  auto axis = normalizeAxis(c, *axisAttr, rank);
  if (!axis.ok())
    return axis.status();
  std::vector<int64_t> inner(x.shape.begin() + *axis, x.shape.end());
  auto sIdx = featureIndex(c, 1, inner);
  if (!sIdx.ok())
    return sIdx.status();
  bool hasB = !kRms && c.in.size() > 2 && c.has(2);
  std::vector<size_t> bIdx;
  if (hasB) {
    auto b = featureIndex(c, 2, inner);
    if (!b.ok())
      return b.status();
    bIdx = *b;
  }
  EFFC_RETURN_IF_ERROR(c.checkOut(0, x.dtype, x.shape));
  size_t n = count(inner), rows = n ? count(x.shape) / n : 0;
  for (size_t r = 0; r < rows; ++r) {
    size_t base = r * n;
    double mean = 0, var = 0;
    if (!kRms) {
      for (size_t k = 0; k < n; ++k)
        mean += loadF(x.dtype, x.data, base + k);
      mean /= double(n);
    }
    for (size_t k = 0; k < n; ++k) {
      double d = loadF(x.dtype, x.data, base + k) - mean;
      var += d * d;
    }
    double inv = 1.0 / std::sqrt(var / double(n) + *eps);
    for (size_t k = 0; k < n; ++k) {
      double y = (loadF(x.dtype, x.data, base + k) - mean) * inv *
                 loadF(c.in[1].dtype, c.in[1].data, (*sIdx)[k]);
      if (hasB)
        y += loadF(c.in[2].dtype, c.in[2].data, bIdx[k]);
      storeF(x.dtype, c.out[0].data, base + k, y);
    }
  }
  return Status::OK();
}

Status rope(const KernelContext &c) {
  const ConstTensorRef &x = c.in[0], &cosC = c.in[1], &sinC = c.in[2];
  if (!isFloatDType(x.dtype))
    return c.error(std::string("unsupported dtype ") + dtypeName(x.dtype));
  auto interleaved = c.intAttr("interleaved", op_defaults::RopeOp_interleaved),
       numHeads = c.intAttr("num_heads", op_defaults::RopeOp_num_heads),
       rdAttr = c.intAttr("rotary_embedding_dim", op_defaults::RopeOp_rotary_embedding_dim);
  for (auto *s : {&interleaved, &numHeads, &rdAttr})
    if (!s->ok())
      return s->status();
  int64_t B, S, H, D;
  bool is4d = x.shape.size() == 4;
  if (is4d) {
    B = x.shape[0], H = x.shape[1], S = x.shape[2], D = x.shape[3];
  } else if (x.shape.size() == 3) {
    if (*numHeads <= 0 || x.shape[2] % *numHeads)
      return c.error("3-D input needs num_heads dividing the hidden size");
    B = x.shape[0], S = x.shape[1], H = *numHeads, D = x.shape[2] / H;
  } else {
    return c.error("input must be 3-D or 4-D, got " + shapeToString(x.shape));
  }
  int64_t rd = *rdAttr ? *rdAttr : D, half = rd / 2;
  if (rd > D || rd % 2)
    return c.error("rotary_embedding_dim must be even and <= head size");
  bool hasPos = c.in.size() > 3 && c.has(3);
  std::vector<int64_t> pos;
  if (hasPos) {
    auto p = c.ints(3);
    if (!p.ok())
      return p.status();
    if (c.in[3].shape != std::vector<int64_t>{B, S})
      return c.error("position_ids must be [batch, seq]");
    pos = *p;
    if (cosC.shape.size() != 2 || cosC.shape[1] != half)
      return c.error("cos_cache must be [max_pos, rotary_dim/2]");
  } else if (cosC.shape != std::vector<int64_t>{B, S, half}) {
    return c.error("cos_cache must be [batch, seq, rotary_dim/2] without position_ids, got " +
                   shapeToString(cosC.shape));
  }
  if (sinC.shape != cosC.shape)
    return c.error("sin_cache shape differs from cos_cache");
  EFFC_RETURN_IF_ERROR(c.checkOut(0, x.dtype, x.shape));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s) {
      size_t row = size_t(b * S + s);
      if (hasPos) {
        int64_t p = pos[row];
        if (p < 0 || p >= cosC.shape[0])
          return c.error("position id " + std::to_string(p) + " out of range");
        row = size_t(p);
      }
      for (int64_t h = 0; h < H; ++h) {
        size_t base =
            is4d ? size_t(((b * H + h) * S + s) * D) : size_t((b * S + s) * H * D + h * D);
        for (int64_t i = 0; i < half; ++i) {
          size_t i1 = base + (*interleaved ? 2 * i : i),
                 i2 = base + (*interleaved ? 2 * i + 1 : i + half);
          double co = loadF(cosC.dtype, cosC.data, row * half + i),
                 si = loadF(sinC.dtype, sinC.data, row * half + i);
          double x1 = loadF(x.dtype, x.data, i1), x2 = loadF(x.dtype, x.data, i2);
          storeF(x.dtype, c.out[0].data, i1, co * x1 - si * x2);
          storeF(x.dtype, c.out[0].data, i2, si * x1 + co * x2);
        }
        for (int64_t d = rd; d < D; ++d)
          storeF(x.dtype, c.out[0].data, base + d, loadF(x.dtype, x.data, base + d));
      }
    }
  return Status::OK();
}

} // namespace

void registerNormalization(Registry &r) {
  r[EffOp::LayerNormOp] = {norm<false>, 2, 3, 1, 1};
  r[EffOp::RMSNormOp] = {norm<true>, 2, 2, 1, 1};
  r[EffOp::RopeOp] = {rope, 3, 4, 1, 1};
}

} // namespace effc::host
