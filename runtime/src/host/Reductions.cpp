// ReduceMax/Mean/Sum-18 (axes as an optional input) and Softmax-13.
#include "host/KernelUtil.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace effc::host {
namespace {

enum class Red { Max, Mean, Sum };

template <Red R> Status reduce(const KernelContext &c) {
  const ConstTensorRef &x = c.in[0];
  DType t = x.dtype;
  bool isF = isFloatDType(t);
  if (!isF && !isIntDType(t) && !(R == Red::Max && t == DType::BOOL))
    return c.error(std::string("unsupported dtype ") + dtypeName(t));
  // ODS defaults; reduce_sum/mean/max share them (Eff_ReduceOp).
  static_assert(op_defaults::ReduceSumOp_keepdims == op_defaults::ReduceMeanOp_keepdims &&
                    op_defaults::ReduceSumOp_keepdims == op_defaults::ReduceMaxOp_keepdims &&
                    op_defaults::ReduceSumOp_noop_with_empty_axes ==
                        op_defaults::ReduceMeanOp_noop_with_empty_axes &&
                    op_defaults::ReduceSumOp_noop_with_empty_axes ==
                        op_defaults::ReduceMaxOp_noop_with_empty_axes,
                "one kernel reads the defaults of all three reductions");
  auto keep = c.intAttr("keepdims", op_defaults::ReduceSumOp_keepdims);
  auto noop = c.intAttr("noop_with_empty_axes", op_defaults::ReduceSumOp_noop_with_empty_axes);
  if (!keep.ok())
    return keep.status();
  if (!noop.ok())
    return noop.status();
  std::vector<int64_t> axes;
  if (c.in.size() > 1) {
    auto a = c.ints(1);
    if (c.has(1) || (c.in[1].shape.size() && count(c.in[1].shape) == 0)) {
      if (!a.ok())
        return a.status();
      axes = *a;
    }
  }
  int64_t rank = int64_t(x.shape.size());
  if (axes.empty() && *noop) {
    EFFC_RETURN_IF_ERROR(c.checkOut(0, t, x.shape));
    if (size_t b = count(x.shape) * dtypeSize(t))
      std::memcpy(c.out[0].data, x.data, b);
    return Status::OK();
  }
  std::vector<bool> reduced(rank, axes.empty());
  for (int64_t a : axes) {
    auto n = normalizeAxis(c, a, rank);
    if (!n.ok())
      return n.status();
    reduced[*n] = true;
  }
  std::vector<int64_t> kshape = x.shape, oshape;
  for (int64_t d = 0; d < rank; ++d) {
    if (reduced[d])
      kshape[d] = 1;
    if (!reduced[d] || *keep)
      oshape.push_back(kshape[d]);
  }
  EFFC_RETURN_IF_ERROR(c.checkOut(0, t, oshape));
  size_t nOut = count(kshape), nIn = count(x.shape);
  size_t groupSize = nOut ? nIn / std::max<size_t>(nOut, 1) : 0;
  std::vector<double> accF(nOut, R == Red::Max ? -INFINITY : 0.0);
  std::vector<int64_t> accI(nOut, R == Red::Max ? std::numeric_limits<int64_t>::min() : 0);
  auto kstr = stridesOf(kshape);
  std::vector<int64_t> idx(rank, 0);
  size_t o = 0;
  for (size_t i = 0; i < nIn; ++i) {
    if (isF) {
      double v = loadF(t, x.data, i);
      if (R == Red::Max)
        accF[o] = (std::isnan(v) || v > accF[o]) ? v : accF[o];
      else
        accF[o] += v;
    } else {
      int64_t v = loadI(t, x.data, i);
      if (R == Red::Max)
        accI[o] = std::max(accI[o], v);
      else
        accI[o] = int64_t(uint64_t(accI[o]) + uint64_t(v));
    }
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++idx[d] < x.shape[d]) {
        if (!reduced[d])
          o += kstr[d];
        break;
      }
      if (!reduced[d])
        o -= kstr[d] * (x.shape[d] - 1);
      idx[d] = 0;
    }
  }
  for (size_t k = 0; k < nOut; ++k) {
    if (isF) {
      double v = R == Red::Mean ? accF[k] / double(groupSize) : accF[k];
      storeF(t, c.out[0].data, k, v);
    } else {
      int64_t v = accI[k];
      if (R == Red::Mean)
        v = groupSize ? v / int64_t(groupSize) : 0;
      storeI(t, c.out[0].data, k, v);
    }
  }
  return Status::OK();
}

Status softmax(const KernelContext &c) {
  const ConstTensorRef &x = c.in[0];
  if (!isFloatDType(x.dtype))
    return c.error(std::string("unsupported dtype ") + dtypeName(x.dtype));
  auto axisAttr = c.intAttr("axis", op_defaults::SoftmaxOp_axis);
  if (!axisAttr.ok())
    return axisAttr.status();
  int64_t rank = int64_t(x.shape.size());
  if (rank == 0)
    return c.error("input must have rank >= 1");
  auto axis = normalizeAxis(c, *axisAttr, rank);
  if (!axis.ok())
    return axis.status();
  EFFC_RETURN_IF_ERROR(c.checkOut(0, x.dtype, x.shape));
  int64_t outer = 1, inner = 1, n = x.shape[*axis];
  for (int64_t d = 0; d < *axis; ++d)
    outer *= x.shape[d];
  for (int64_t d = *axis + 1; d < rank; ++d)
    inner *= x.shape[d];
  std::vector<double> row(n);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      size_t base = size_t(o * n * inner + in);
      double mx = -INFINITY, sum = 0;
      for (int64_t k = 0; k < n; ++k)
        mx = std::max(mx, row[k] = loadF(x.dtype, x.data, base + k * inner));
      for (int64_t k = 0; k < n; ++k)
        sum += row[k] = std::exp(row[k] - mx);
      for (int64_t k = 0; k < n; ++k)
        storeF(x.dtype, c.out[0].data, base + k * inner, row[k] / sum);
    }
  return Status::OK();
}

} // namespace

void registerReductions(Registry &r) {
  r[EffOp::ReduceMaxOp] = {reduce<Red::Max>, 1, 2, 1, 1};
  r[EffOp::ReduceMeanOp] = {reduce<Red::Mean>, 1, 2, 1, 1};
  r[EffOp::ReduceSumOp] = {reduce<Red::Sum>, 1, 2, 1, 1};
  r[EffOp::SoftmaxOp] = {softmax, 1, 1, 1, 1};
}

} // namespace effc::host
