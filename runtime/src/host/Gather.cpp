// Gather-13, GatherElements-13, GatherND-13, ScatterElements-18, ScatterND-18,
// OneHot-11
// (negative indices wrap; an index out of range is an error, not an access
// out of bounds).
#include "host/KernelUtil.h"

#include <algorithm>
#include <cmath>

namespace effc::host {
namespace {

Status checkIndices(const KernelContext &c, size_t i) {
  if (c.in[i].dtype != DType::INT64 && c.in[i].dtype != DType::INT32)
    return c.error("indices must be int32 or int64");
  return Status::OK();
}

// Wraps a negative index; false when out of [-dim, dim).
bool fixIndex(int64_t &v, int64_t dim) {
  if (v < -dim || v >= dim)
    return false;
  if (v < 0)
    v += dim;
  return true;
}

Status outOfRange(const KernelContext &c, int64_t v, int64_t dim) {
  return c.error("index " + std::to_string(v) + " out of range for dim " + std::to_string(dim));
}

Status gather(const KernelContext &c) {
  EFFC_RETURN_IF_ERROR(checkIndices(c, 1));
  const ConstTensorRef &x = c.in[0], &ind = c.in[1];
  int64_t rank = int64_t(x.shape.size());
  auto axisAttr = c.intAttr("axis", op_defaults::GatherOp_axis);
  if (!axisAttr.ok())
    return axisAttr.status();
  auto axis = normalizeAxis(c, *axisAttr, rank);
  if (!axis.ok())
    return axis.status();
  std::vector<int64_t> oshape(x.shape.begin(), x.shape.begin() + *axis);
  oshape.insert(oshape.end(), ind.shape.begin(), ind.shape.end());
  oshape.insert(oshape.end(), x.shape.begin() + *axis + 1, x.shape.end());
  EFFC_RETURN_IF_ERROR(c.checkOut(0, x.dtype, oshape));
  int64_t outer = 1, inner = 1, dim = x.shape[*axis];
  for (int64_t d = 0; d < *axis; ++d)
    outer *= x.shape[d];
  for (int64_t d = *axis + 1; d < rank; ++d)
    inner *= x.shape[d];
  size_t es = dtypeSize(x.dtype), ni = count(ind.shape), chunk = size_t(inner) * es;
  char *y = static_cast<char *>(c.out[0].data);
  for (size_t j = 0; j < ni; ++j) {
    int64_t v = loadI(ind.dtype, ind.data, j), orig = v;
    if (!fixIndex(v, dim))
      return outOfRange(c, orig, dim);
    for (int64_t o = 0; o < outer && chunk; ++o)
      std::memcpy(y + (size_t(o) * ni + j) * chunk,
                  static_cast<const char *>(x.data) + (size_t(o * dim + v)) * chunk, chunk);
  }
  return Status::OK();
}

Status gatherElements(const KernelContext &c) {
  EFFC_RETURN_IF_ERROR(checkIndices(c, 1));
  const ConstTensorRef &x = c.in[0], &ind = c.in[1];
  int64_t rank = int64_t(x.shape.size());
  if (int64_t(ind.shape.size()) != rank)
    return c.error("indices rank differs from data rank");
  auto axisAttr = c.intAttr("axis", op_defaults::GatherElementsOp_axis);
  if (!axisAttr.ok())
    return axisAttr.status();
  auto axis = normalizeAxis(c, *axisAttr, rank);
  if (!axis.ok())
    return axis.status();
  EFFC_RETURN_IF_ERROR(c.checkOut(0, x.dtype, ind.shape));
  auto xs = stridesOf(x.shape);
  size_t es = dtypeSize(x.dtype), n = count(ind.shape);
  std::vector<int64_t> idx(rank, 0);
  for (size_t i = 0; i < n; ++i) {
    int64_t v = loadI(ind.dtype, ind.data, i), orig = v, src = 0;
    if (!fixIndex(v, x.shape[*axis]))
      return outOfRange(c, orig, x.shape[*axis]);
    for (int64_t d = 0; d < rank; ++d) {
      int64_t k = d == *axis ? v : idx[d];
      if (k >= x.shape[d])
        return c.error("indices shape exceeds data shape off the axis");
      src += k * xs[d];
    }
    std::memcpy(static_cast<char *>(c.out[0].data) + i * es,
                static_cast<const char *>(x.data) + src * es, es);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++idx[d] < ind.shape[d])
        break;
      idx[d] = 0;
    }
  }
  return Status::OK();
}

Status gatherNd(const KernelContext &c) {
  EFFC_RETURN_IF_ERROR(checkIndices(c, 1));
  const ConstTensorRef &x = c.in[0], &ind = c.in[1];
  auto bdAttr = c.intAttr("batch_dims", op_defaults::GatherNDOp_batch_dims);
  if (!bdAttr.ok())
    return bdAttr.status();
  int64_t b = *bdAttr, r = int64_t(x.shape.size()), q = int64_t(ind.shape.size());
  if (q < 1 || b < 0 || b >= std::min(r, q))
    return c.error("invalid batch_dims or ranks");
  int64_t k = ind.shape[q - 1];
  if (k < 1 || b + k > r)
    return c.error("indices last dim " + std::to_string(k) + " too large");
  for (int64_t d = 0; d < b; ++d)
    if (x.shape[d] != ind.shape[d])
      return c.error("batch dims of data and indices differ");
  std::vector<int64_t> oshape(ind.shape.begin(), ind.shape.end() - 1);
  oshape.insert(oshape.end(), x.shape.begin() + b + k, x.shape.end());
  EFFC_RETURN_IF_ERROR(c.checkOut(0, x.dtype, oshape));
  auto xs = stridesOf(x.shape);
  int64_t batch = 1, inner = 1;
  for (int64_t d = 0; d < b; ++d)
    batch *= x.shape[d];
  for (int64_t d = b + k; d < r; ++d)
    inner *= x.shape[d];
  int64_t tuples = int64_t(count(ind.shape)) / k, perBatch = batch ? tuples / batch : 0;
  size_t es = dtypeSize(x.dtype), chunk = size_t(inner) * es;
  int64_t batchStride = b ? xs[b - 1] : 0;
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t bi = perBatch ? t / perBatch : 0, src = bi * batchStride;
    for (int64_t j = 0; j < k; ++j) {
      int64_t v = loadI(ind.dtype, ind.data, size_t(t * k + j)), orig = v;
      if (!fixIndex(v, x.shape[b + j]))
        return outOfRange(c, orig, x.shape[b + j]);
      src += v * xs[b + j];
    }
    if (chunk)
      std::memcpy(static_cast<char *>(c.out[0].data) + t * chunk,
                  static_cast<const char *>(x.data) + src * es, chunk);
  }
  return Status::OK();
}

enum class Reduction { None, Add, Mul, Max, Min };

StatusOr<Reduction> reductionOf(const KernelContext &c, const char *dflt) {
  auto name = c.stringAttr("reduction", dflt);
  if (!name.ok())
    return name.status();
  for (auto [spelling, r] : {std::pair{"none", Reduction::None},
                             {"add", Reduction::Add},
                             {"mul", Reduction::Mul},
                             {"max", Reduction::Max},
                             {"min", Reduction::Min}})
    if (*name == spelling)
      return r;
  return c.error("unknown reduction '" + *name + "'");
}

template <typename T> T reduce(Reduction r, T a, T b) {
  switch (r) {
  case Reduction::Add:
    return a + b;
  case Reduction::Mul:
    return a * b;
  case Reduction::Max:
    return std::isnan(a) || a > b ? a : b;
  case Reduction::Min:
    return std::isnan(a) || a < b ? a : b;
  case Reduction::None:
    break;
  }
  return b;
}
template <> int64_t reduce(Reduction r, int64_t a, int64_t b) {
  switch (r) {
  case Reduction::Add:
    return int64_t(uint64_t(a) + uint64_t(b));
  case Reduction::Mul:
    return int64_t(uint64_t(a) * uint64_t(b));
  case Reduction::Max:
    return std::max(a, b);
  case Reduction::Min:
    return std::min(a, b);
  case Reduction::None:
    break;
  }
  return b;
}

/// y[o] = reduction(y[o], updates[u]) in the dtype's compute type (floats in
/// float like the elementwise kernels, f64 in double, integers in int64).
void combine(Reduction r, DType t, void *y, size_t o, const void *updates, size_t u) {
  if (r == Reduction::None)
    std::memcpy(static_cast<char *>(y) + o * dtypeSize(t),
                static_cast<const char *>(updates) + u * dtypeSize(t), dtypeSize(t));
  else if (isIntDType(t) || t == DType::BOOL)
    storeI(t, y, o, reduce(r, loadI(t, y, o), loadI(t, updates, u)));
  else if (t == DType::FLOAT64)
    storeF(t, y, o, reduce(r, loadF(t, y, o), loadF(t, updates, u)));
  else
    storeF(t, y, o, reduce(r, float(loadF(t, y, o)), float(loadF(t, updates, u))));
}

// ScatterElements: updates[j] goes to data at j's coordinates with the axis
// one replaced by indices[j], in row-major order of j (see scatterNd).
Status scatterElements(const KernelContext &c) {
  EFFC_RETURN_IF_ERROR(checkIndices(c, 1));
  const ConstTensorRef &x = c.in[0], &ind = c.in[1], &upd = c.in[2];
  if (upd.dtype != x.dtype)
    return c.error("updates dtype differs from data dtype");
  if (upd.shape != ind.shape)
    return c.error("updates shape differs from indices shape");
  auto reduction = reductionOf(c, op_defaults::ScatterElementsOp_reduction);
  if (!reduction.ok())
    return reduction.status();
  int64_t rank = int64_t(x.shape.size());
  if (int64_t(ind.shape.size()) != rank)
    return c.error("indices rank differs from data rank");
  auto axisAttr = c.intAttr("axis", op_defaults::ScatterElementsOp_axis);
  if (!axisAttr.ok())
    return axisAttr.status();
  auto axis = normalizeAxis(c, *axisAttr, rank);
  if (!axis.ok())
    return axis.status();
  for (int64_t d = 0; d < rank; ++d)
    if (d != *axis && ind.shape[d] > x.shape[d])
      return c.error("indices shape exceeds data shape off the axis");
  EFFC_RETURN_IF_ERROR(c.checkOut(0, x.dtype, x.shape));
  size_t es = dtypeSize(x.dtype), n = count(x.shape), m = count(ind.shape);
  void *y = c.out[0].data;
  if (n)
    std::memcpy(y, x.data, n * es);
  auto xs = stridesOf(x.shape);
  std::vector<int64_t> idx(rank, 0);
  for (size_t j = 0; j < m; ++j) {
    int64_t v = loadI(ind.dtype, ind.data, j), orig = v, dst = 0;
    if (!fixIndex(v, x.shape[*axis]))
      return outOfRange(c, orig, x.shape[*axis]);
    for (int64_t d = 0; d < rank; ++d)
      dst += (d == *axis ? v : idx[d]) * xs[d];
    combine(*reduction, x.dtype, y, size_t(dst), upd.data, j);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++idx[d] < ind.shape[d])
        break;
      idx[d] = 0;
    }
  }
  return Status::OK();
}

// The updates are applied in index order, so with duplicate tuples "none"
// keeps the last one (ONNX leaves it undefined) and the reductions combine
// every update (the CUDA kernel applies them in the same order).
Status scatterNd(const KernelContext &c) {
  if (c.in[1].dtype != DType::INT64)
    return c.error("indices must be int64");
  const ConstTensorRef &x = c.in[0], &ind = c.in[1], &upd = c.in[2];
  if (upd.dtype != x.dtype)
    return c.error("updates dtype differs from data dtype");
  auto reduction = reductionOf(c, op_defaults::ScatterNDOp_reduction);
  if (!reduction.ok())
    return reduction.status();
  int64_t r = int64_t(x.shape.size()), q = int64_t(ind.shape.size());
  if (r < 1 || q < 1)
    return c.error("data and indices need rank >= 1");
  int64_t k = ind.shape[q - 1];
  if (k < 1 || k > r)
    return c.error("indices last dim " + std::to_string(k) + " must be in [1, " +
                   std::to_string(r) + "]");
  std::vector<int64_t> ushape(ind.shape.begin(), ind.shape.end() - 1);
  ushape.insert(ushape.end(), x.shape.begin() + k, x.shape.end());
  if (upd.shape != ushape)
    return c.error("updates shape differs from indices.shape[:-1] + data.shape[k:]");
  EFFC_RETURN_IF_ERROR(c.checkOut(0, x.dtype, x.shape));
  size_t es = dtypeSize(x.dtype), n = count(x.shape);
  void *y = c.out[0].data;
  if (n)
    std::memcpy(y, x.data, n * es);
  auto xs = stridesOf(x.shape);
  int64_t inner = 1;
  for (int64_t d = k; d < r; ++d)
    inner *= x.shape[d];
  int64_t tuples = k ? int64_t(count(ind.shape)) / k : 0;
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t dst = 0;
    for (int64_t j = 0; j < k; ++j) {
      int64_t v = loadI(ind.dtype, ind.data, size_t(t * k + j)), orig = v;
      if (!fixIndex(v, x.shape[j]))
        return outOfRange(c, orig, x.shape[j]);
      dst += v * xs[j];
    }
    for (int64_t e = 0; e < inner; ++e)
      combine(*reduction, x.dtype, y, size_t(dst + e), upd.data, size_t(t * inner + e));
  }
  return Status::OK();
}

/// OneHot: position p on the new axis is values[1] where the index (negative
/// ones counted from depth) equals p, values[0] elsewhere.
Status oneHot(const KernelContext &c) {
  const ConstTensorRef &ind = c.in[0], &depthT = c.in[1], &values = c.in[2];
  if (count(depthT.shape) != 1)
    return c.error("depth must hold one element, got " + shapeToString(depthT.shape));
  if (count(values.shape) != 2)
    return c.error("values must be [off, on], got " + shapeToString(values.shape));
  int64_t depth = loadI(depthT.dtype, depthT.data, 0);
  if (depth < 1)
    return c.error("depth must be positive, got " + std::to_string(depth));
  int64_t rank = int64_t(ind.shape.size()) + 1;
  auto axisAttr = c.intAttr("axis", op_defaults::OneHotOp_axis);
  if (!axisAttr.ok())
    return axisAttr.status();
  auto axis = normalizeAxis(c, *axisAttr, rank);
  if (!axis.ok())
    return axis.status();
  std::vector<int64_t> oshape(ind.shape);
  oshape.insert(oshape.begin() + *axis, depth);
  EFFC_RETURN_IF_ERROR(c.checkOut(0, values.dtype, oshape));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < *axis; ++d)
    outer *= ind.shape[size_t(d)];
  for (int64_t d = *axis; d < rank - 1; ++d)
    inner *= ind.shape[size_t(d)];
  size_t es = dtypeSize(values.dtype);
  const char *off = static_cast<const char *>(values.data), *on = off + es;
  char *y = static_cast<char *>(c.out[0].data);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t p = 0; p < depth; ++p)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t v = loadI(ind.dtype, ind.data, size_t(o * inner + i));
        if (v < 0)
          v += depth;
        std::memcpy(y + size_t((o * depth + p) * inner + i) * es, v == p ? on : off, es);
      }
  return Status::OK();
}

} // namespace

void registerGather(Registry &r) {
  r[EffOp::GatherOp] = {gather, 2, 2, 1, 1};
  r[EffOp::GatherElementsOp] = {gatherElements, 2, 2, 1, 1};
  r[EffOp::GatherNDOp] = {gatherNd, 2, 2, 1, 1};
  r[EffOp::ScatterElementsOp] = {scatterElements, 3, 3, 1, 1};
  r[EffOp::ScatterNDOp] = {scatterNd, 3, 3, 1, 1};
  r[EffOp::OneHotOp] = {oneHot, 3, 3, 1, 1};
}

} // namespace effc::host
