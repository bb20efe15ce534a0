// CumSum-14, TopK-11, Trilu-14, Range-11, ConstantOfShape (value as a double
// attribute; the output buffer's dtype decides the element type).
#include "host/KernelUtil.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace effc::host {
namespace {

Status scalarInt(const KernelContext &c, size_t i, int64_t *v) {
  auto vals = c.ints(i);
  if (!vals.ok())
    return vals.status();
  if (vals->size() != 1)
    return c.error("input " + std::to_string(i) + " must hold one value");
  *v = (*vals)[0];
  return Status::OK();
}

Status cumSum(const KernelContext &c) {
  const ConstTensorRef &x = c.in[0];
  DType t = x.dtype;
  if (!isFloatDType(t) && !isIntDType(t))
    return c.error(std::string("unsupported dtype ") + dtypeName(t));
  int64_t axisIn;
  EFFC_RETURN_IF_ERROR(scalarInt(c, 1, &axisIn));
  auto excl = c.intAttr("exclusive", op_defaults::CumSumOp_exclusive),
       rev = c.intAttr("reverse", op_defaults::CumSumOp_reverse);
  if (!excl.ok())
    return excl.status();
  if (!rev.ok())
    return rev.status();
  int64_t rank = int64_t(x.shape.size());
  auto axis = normalizeAxis(c, axisIn, rank);
  if (!axis.ok())
    return axis.status();
  EFFC_RETURN_IF_ERROR(c.checkOut(0, t, x.shape));
  int64_t outer = 1, inner = 1, n = x.shape[*axis];
  for (int64_t d = 0; d < *axis; ++d)
    outer *= x.shape[d];
  for (int64_t d = *axis + 1; d < rank; ++d)
    inner *= x.shape[d];
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      double accF = 0;
      int64_t accI = 0;
      for (int64_t s = 0; s < n; ++s) {
        int64_t k = *rev ? n - 1 - s : s;
        size_t idx = size_t((o * n + k) * inner + in);
        if (isIntDType(t)) {
          int64_t v = loadI(t, x.data, idx);
          if (!*excl)
            accI += v;
          storeI(t, c.out[0].data, idx, accI);
          if (*excl)
            accI += v;
        } else {
          double v = loadF(t, x.data, idx);
          if (!*excl)
            accF += v;
          storeF(t, c.out[0].data, idx, accF);
          if (*excl)
            accF += v;
        }
      }
    }
  return Status::OK();
}

Status topK(const KernelContext &c) {
  const ConstTensorRef &x = c.in[0];
  if (!isFloatDType(x.dtype) && !isIntDType(x.dtype))
    return c.error(std::string("unsupported dtype ") + dtypeName(x.dtype));
  if (c.out.size() != 2)
    return c.error("expected 2 outputs (values, indices)");
  int64_t K;
  EFFC_RETURN_IF_ERROR(scalarInt(c, 1, &K));
  auto axisAttr = c.intAttr("axis", op_defaults::TopKOp_axis),
       largest = c.intAttr("largest", op_defaults::TopKOp_largest),
       sorted = c.intAttr("sorted", op_defaults::TopKOp_sorted);
  for (auto *s : {&axisAttr, &largest, &sorted})
    if (!s->ok())
      return s->status();
  int64_t rank = int64_t(x.shape.size());
  auto axis = normalizeAxis(c, *axisAttr, rank);
  if (!axis.ok())
    return axis.status();
  int64_t n = x.shape[*axis];
  if (K < 0 || K > n)
    return c.error("K=" + std::to_string(K) + " out of range for axis size " + std::to_string(n));
  std::vector<int64_t> oshape = x.shape;
  oshape[*axis] = K;
  EFFC_RETURN_IF_ERROR(c.checkOut(0, x.dtype, oshape));
  EFFC_RETURN_IF_ERROR(c.checkOut(1, DType::INT64, oshape));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < *axis; ++d)
    outer *= x.shape[d];
  for (int64_t d = *axis + 1; d < rank; ++d)
    inner *= x.shape[d];
  std::vector<int64_t> order(n);
  std::vector<double> vals(n);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      for (int64_t j = 0; j < n; ++j)
        vals[j] = loadF(x.dtype, x.data, size_t((o * n + j) * inner + in));
      std::iota(order.begin(), order.end(), 0);
      // Ties keep the lower index first (as onnxruntime / the reference).
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        return *largest ? vals[a] > vals[b] : vals[a] < vals[b];
      });
      for (int64_t j = 0; j < K; ++j) {
        size_t src = size_t((o * n + order[j]) * inner + in),
               dst = size_t((o * K + j) * inner + in);
        std::memcpy(static_cast<char *>(c.out[0].data) + dst * dtypeSize(x.dtype),
                    static_cast<const char *>(x.data) + src * dtypeSize(x.dtype),
                    dtypeSize(x.dtype));
        wr<int64_t>(c.out[1].data, dst, order[j]);
      }
    }
  return Status::OK();
}

Status trilu(const KernelContext &c) {
  const ConstTensorRef &x = c.in[0];
  if (x.shape.size() < 2)
    return c.error("input must have rank >= 2");
  int64_t k = 0;
  if (c.in.size() > 1 && c.has(1))
    EFFC_RETURN_IF_ERROR(scalarInt(c, 1, &k));
  auto upper = c.intAttr("upper", op_defaults::TriluOp_upper);
  if (!upper.ok())
    return upper.status();
  EFFC_RETURN_IF_ERROR(c.checkOut(0, x.dtype, x.shape));
  int64_t R = x.shape[x.shape.size() - 2], C = x.shape.back();
  size_t n = count(x.shape), es = dtypeSize(x.dtype);
  for (size_t i = 0; i < n; ++i) {
    int64_t col = int64_t(i) % C, row = (int64_t(i) / C) % std::max<int64_t>(R, 1);
    bool keep = *upper ? col - row >= k : col - row <= k;
    char *dst = static_cast<char *>(c.out[0].data) + i * es;
    if (keep)
      std::memcpy(dst, static_cast<const char *>(x.data) + i * es, es);
    else
      std::memset(dst, 0, es);
  }
  return Status::OK();
}

Status range(const KernelContext &c) {
  DType t = c.in[0].dtype;
  for (size_t i = 0; i < 3; ++i) {
    if (c.in[i].dtype != t)
      return c.error("start, limit and delta must share a dtype");
    if (count(c.in[i].shape) != 1)
      return c.error("start, limit and delta must be scalars");
  }
  int64_t n;
  if (isIntDType(t)) {
    int64_t s = loadI(t, c.in[0].data, 0), l = loadI(t, c.in[1].data, 0),
            d = loadI(t, c.in[2].data, 0);
    if (d == 0)
      return c.error("delta must not be 0");
    double len = std::ceil((double(l) - double(s)) / double(d));
    n = len > 0 ? int64_t(len) : 0;
    EFFC_RETURN_IF_ERROR(c.checkOut(0, t, {n}));
    for (int64_t i = 0; i < n; ++i)
      storeI(t, c.out[0].data, size_t(i), s + i * d);
  } else if (isFloatDType(t)) {
    double s = loadF(t, c.in[0].data, 0), l = loadF(t, c.in[1].data, 0),
           d = loadF(t, c.in[2].data, 0);
    if (d == 0 || !std::isfinite(s) || !std::isfinite(l) || !std::isfinite(d))
      return c.error("invalid start/limit/delta");
    double len = std::ceil((l - s) / d);
    if (len > 1e12)
      return c.error("range too long");
    n = len > 0 ? int64_t(len) : 0;
    EFFC_RETURN_IF_ERROR(c.checkOut(0, t, {n}));
    for (int64_t i = 0; i < n; ++i)
      storeF(t, c.out[0].data, size_t(i), s + double(i) * d);
  } else {
    return c.error(std::string("unsupported dtype ") + dtypeName(t));
  }
  return Status::OK();
}

Status constantOfShape(const KernelContext &c) {
  auto shape = c.ints(0);
  if (!shape.ok())
    return shape.status();
  for (int64_t d : *shape)
    if (d < 0)
      return c.error("negative dim in shape " + shapeToString(*shape));
  DType t = c.out[0].dtype;
  EFFC_RETURN_IF_ERROR(c.checkOut(0, t, *shape));
  auto it = c.attrs.find("value");
  size_t n = count(*shape);
  if (it != c.attrs.end() && std::holds_alternative<int64_t>(it->second)) {
    for (size_t i = 0; i < n; ++i)
      storeI(t, c.out[0].data, i, std::get<int64_t>(it->second));
    return Status::OK();
  }
  auto v = c.floatAttr("value", 0.0);
  if (!v.ok())
    return v.status();
  for (size_t i = 0; i < n; ++i)
    storeF(t, c.out[0].data, i, *v);
  return Status::OK();
}

} // namespace

void registerMisc(Registry &r) {
  r[EffOp::CumSumOp] = {cumSum, 2, 2, 1, 1};
  r[EffOp::TopKOp] = {topK, 2, 2, 2, 2};
  r[EffOp::TriluOp] = {trilu, 1, 2, 1, 1};
  r[EffOp::RangeOp] = {range, 3, 3, 1, 1};
  r[EffOp::ConstantOfShapeOp] = {constantOfShape, 1, 1, 1, 1};
}

} // namespace effc::host
