// Gather-13, GatherElements-13, GatherND-13 (negative indices wrap; an index
// out of range is an error, not a read out of bounds).
#include "host/KernelUtil.h"

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

} // namespace

void registerGather(Registry &r) {
  r[EffOp::GatherOp] = {gather, 2, 2, 1, 1};
  r[EffOp::GatherElementsOp] = {gatherElements, 2, 2, 1, 1};
  r[EffOp::GatherNDOp] = {gatherNd, 2, 2, 1, 1};
}

} // namespace effc::host
