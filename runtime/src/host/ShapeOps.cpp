// Shape and data-movement ops: reshape family (copies), concat, split, slice,
// transpose, expand, shape.
#include "host/KernelUtil.h"

#include <algorithm>

namespace effc::host {
namespace {

size_t bytesOf(const ConstTensorRef &t) { return count(t.shape) * dtypeSize(t.dtype); }

Status copyAs(const KernelContext &c, const std::vector<int64_t> &shape) {
  EFFC_RETURN_IF_ERROR(c.checkOut(0, c.in[0].dtype, shape));
  if (size_t b = bytesOf(c.in[0]))
    std::memmove(c.out[0].data, c.in[0].data, b);
  return Status::OK();
}

Status reshape(const KernelContext &c) {
  auto spec = c.ints(1);
  if (!spec.ok())
    return spec.status();
  auto allowzero = c.intAttr("allowzero", op_defaults::ReshapeOp_allowzero);
  if (!allowzero.ok())
    return allowzero.status();
  const auto &in = c.in[0].shape;
  std::vector<int64_t> shape = *spec;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !*allowzero) {
      if (i >= in.size())
        return c.error("shape has 0 at index beyond input rank");
      shape[i] = in[i];
    }
    if (shape[i] == -1) {
      if (infer >= 0)
        return c.error("more than one -1 in shape");
      infer = int64_t(i);
    } else if (shape[i] < 0) {
      return c.error("invalid dim " + std::to_string(shape[i]) + " in shape");
    } else {
      known *= shape[i];
    }
  }
  int64_t total = numElements(in);
  if (infer >= 0) {
    if (known == 0 || total % known)
      return c.error("cannot infer -1 in shape " + shapeToString(*spec));
    shape[infer] = total / known;
  }
  if (numElements(shape) != total)
    return c.error("cannot reshape " + shapeToString(in) + " to " + shapeToString(*spec));
  return copyAs(c, shape);
}

Status flatten(const KernelContext &c) {
  auto axisAttr = c.intAttr("axis", op_defaults::FlattenOp_axis);
  if (!axisAttr.ok())
    return axisAttr.status();
  const auto &in = c.in[0].shape;
  int64_t rank = int64_t(in.size()), axis = *axisAttr;
  if (axis < -rank || axis > rank)
    return c.error("axis out of range");
  if (axis < 0)
    axis += rank;
  int64_t a = 1, b = 1;
  for (int64_t d = 0; d < rank; ++d)
    (d < axis ? a : b) *= in[d];
  return copyAs(c, {a, b});
}

Status squeeze(const KernelContext &c) {
  const auto &in = c.in[0].shape;
  int64_t rank = int64_t(in.size());
  std::vector<bool> drop(rank, false);
  if (c.in.size() > 1 && (c.has(1) || (c.in[1].shape.size() && count(c.in[1].shape) == 0))) {
    auto axes = c.ints(1);
    if (!axes.ok())
      return axes.status();
    for (int64_t a : *axes) {
      auto n = normalizeAxis(c, a, rank);
      if (!n.ok())
        return n.status();
      if (in[*n] != 1)
        return c.error("cannot squeeze axis " + std::to_string(a) + " of size " +
                       std::to_string(in[*n]));
      drop[*n] = true;
    }
  } else {
    for (int64_t d = 0; d < rank; ++d)
      drop[d] = in[d] == 1;
  }
  std::vector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d)
    if (!drop[d])
      shape.push_back(in[d]);
  return copyAs(c, shape);
}

Status unsqueeze(const KernelContext &c) {
  auto axes = c.ints(1);
  if (!axes.ok())
    return axes.status();
  const auto &in = c.in[0].shape;
  int64_t rank = int64_t(in.size() + axes->size());
  std::vector<bool> ins(rank, false);
  for (int64_t a : *axes) {
    auto n = normalizeAxis(c, a, rank);
    if (!n.ok())
      return n.status();
    if (ins[*n])
      return c.error("duplicate axis " + std::to_string(a));
    ins[*n] = true;
  }
  std::vector<int64_t> shape;
  size_t k = 0;
  for (int64_t d = 0; d < rank; ++d)
    shape.push_back(ins[d] ? 1 : in[k++]);
  return copyAs(c, shape);
}

Status shapeOp(const KernelContext &c) {
  int64_t rank = int64_t(c.in[0].shape.size());
  auto s = c.intAttr("start", op_defaults::ShapeOp_start), e = c.intAttr("end", rank);
  if (!s.ok())
    return s.status();
  if (!e.ok())
    return e.status();
  auto clampIdx = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
  int64_t start = clampIdx(*s), end = clampIdx(*e);
  std::vector<int64_t> dims;
  for (int64_t d = start; d < end; ++d)
    dims.push_back(c.in[0].shape[d]);
  EFFC_RETURN_IF_ERROR(c.checkOut(0, DType::INT64, {int64_t(dims.size())}));
  for (size_t i = 0; i < dims.size(); ++i)
    wr<int64_t>(c.out[0].data, i, dims[i]);
  return Status::OK();
}

Status concat(const KernelContext &c) {
  auto axisAttr = c.intAttr("axis", 0);
  if (!axisAttr.ok())
    return axisAttr.status();
  const auto &s0 = c.in[0].shape;
  int64_t rank = int64_t(s0.size());
  auto axis = normalizeAxis(c, *axisAttr, rank);
  if (!axis.ok())
    return axis.status();
  std::vector<int64_t> shape = s0;
  shape[*axis] = 0;
  for (auto &t : c.in) {
    if (t.dtype != c.in[0].dtype)
      return c.error("input dtypes differ");
    if (int64_t(t.shape.size()) != rank)
      return c.error("input ranks differ");
    for (int64_t d = 0; d < rank; ++d)
      if (d != *axis && t.shape[d] != s0[d])
        return c.error("input shapes differ off the axis: " + shapeToString(s0) + " vs " +
                       shapeToString(t.shape));
    shape[*axis] += t.shape[*axis];
  }
  EFFC_RETURN_IF_ERROR(c.checkOut(0, c.in[0].dtype, shape));
  int64_t outer = 1;
  for (int64_t d = 0; d < *axis; ++d)
    outer *= shape[d];
  size_t es = dtypeSize(c.in[0].dtype), innerOut = count(shape) / std::max<int64_t>(outer, 1) * es;
  char *y = static_cast<char *>(c.out[0].data);
  size_t off = 0;
  for (auto &t : c.in) {
    size_t chunk = outer ? bytesOf(t) / size_t(outer) : 0;
    for (int64_t o = 0; o < outer && chunk; ++o)
      std::memcpy(y + o * innerOut + off, static_cast<const char *>(t.data) + o * chunk, chunk);
    off += chunk;
  }
  return Status::OK();
}

Status split(const KernelContext &c) {
  auto axisAttr = c.intAttr("axis", op_defaults::SplitOp_axis);
  if (!axisAttr.ok())
    return axisAttr.status();
  const auto &in = c.in[0].shape;
  int64_t rank = int64_t(in.size());
  auto axis = normalizeAxis(c, *axisAttr, rank);
  if (!axis.ok())
    return axis.status();
  int64_t dim = in[*axis], n = int64_t(c.out.size());
  std::vector<int64_t> sizes;
  if (c.in.size() > 1 && c.has(1)) {
    auto s = c.ints(1);
    if (!s.ok())
      return s.status();
    sizes = *s;
    int64_t sum = 0;
    for (int64_t v : sizes) {
      if (v < 0)
        return c.error("negative split size");
      sum += v;
    }
    if (sum != dim || int64_t(sizes.size()) != n)
      return c.error("split sizes " + shapeToString(sizes) + " do not match dim " +
                     std::to_string(dim) + " and " + std::to_string(n) + " outputs");
  } else {
    auto numOut = c.intAttr("num_outputs", n);
    if (!numOut.ok())
      return numOut.status();
    if (*numOut != n)
      return c.error("num_outputs differs from the number of outputs");
    int64_t chunk = (dim + n - 1) / n; // ONNX-18: last chunk smaller
    for (int64_t i = 0; i < n; ++i)
      sizes.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
  }
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < *axis; ++d)
    outer *= in[d];
  for (int64_t d = *axis + 1; d < rank; ++d)
    inner *= in[d];
  size_t es = dtypeSize(c.in[0].dtype);
  int64_t start = 0;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int64_t> shape = in;
    shape[*axis] = sizes[i];
    EFFC_RETURN_IF_ERROR(c.checkOut(size_t(i), c.in[0].dtype, shape));
    size_t chunk = size_t(sizes[i] * inner) * es;
    for (int64_t o = 0; o < outer && chunk; ++o)
      std::memcpy(static_cast<char *>(c.out[i].data) + o * chunk,
                  static_cast<const char *>(c.in[0].data) + (size_t(o * dim + start) * inner) * es,
                  chunk);
    start += sizes[i];
  }
  return Status::OK();
}

// Generic strided gather: out[i] = in[sum(start_d + idx_d*step_d) * stride_d].
void stridedCopy(const ConstTensorRef &x, const std::vector<int64_t> &start,
                 const std::vector<int64_t> &step, const std::vector<int64_t> &oshape, void *y) {
  size_t es = dtypeSize(x.dtype), n = count(oshape), rank = oshape.size();
  auto st = stridesOf(x.shape);
  std::vector<int64_t> idx(rank, 0);
  for (size_t i = 0; i < n; ++i) {
    int64_t src = 0;
    for (size_t d = 0; d < rank; ++d)
      src += (start[d] + idx[d] * step[d]) * st[d];
    std::memcpy(static_cast<char *>(y) + i * es, static_cast<const char *>(x.data) + src * es, es);
    for (int64_t d = int64_t(rank) - 1; d >= 0; --d) {
      if (++idx[d] < oshape[d])
        break;
      idx[d] = 0;
    }
  }
}

Status slice(const KernelContext &c) {
  const auto &in = c.in[0].shape;
  int64_t rank = int64_t(in.size());
  auto starts = c.ints(1), ends = c.ints(2);
  if (!starts.ok())
    return starts.status();
  if (!ends.ok())
    return ends.status();
  size_t k = starts->size();
  if (ends->size() != k)
    return c.error("starts and ends differ in length");
  std::vector<int64_t> axes(k), steps(k, 1);
  for (size_t i = 0; i < k; ++i)
    axes[i] = int64_t(i);
  if (c.in.size() > 3 && c.has(3)) {
    auto a = c.ints(3);
    if (!a.ok())
      return a.status();
    if (a->size() != k)
      return c.error("axes length differs from starts");
    axes = *a;
  }
  if (c.in.size() > 4 && c.has(4)) {
    auto s = c.ints(4);
    if (!s.ok())
      return s.status();
    if (s->size() != k)
      return c.error("steps length differs from starts");
    steps = *s;
  }
  std::vector<int64_t> start(rank, 0), step(rank, 1), oshape = in;
  std::vector<bool> seen(rank, false);
  for (size_t i = 0; i < k; ++i) {
    auto ax = normalizeAxis(c, axes[i], rank);
    if (!ax.ok())
      return ax.status();
    if (seen[*ax])
      return c.error("repeated axis");
    seen[*ax] = true;
    int64_t dim = in[*ax], s = (*starts)[i], e = (*ends)[i], st = steps[i];
    if (st == 0)
      return c.error("step must not be 0");
    if (s < 0)
      s += dim;
    if (e < 0)
      e += dim;
    if (st > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      oshape[*ax] = e > s ? (e - s + st - 1) / st : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      oshape[*ax] = s > e ? (s - e - st - 1) / -st : 0;
    }
    start[*ax] = s;
    step[*ax] = st;
  }
  EFFC_RETURN_IF_ERROR(c.checkOut(0, c.in[0].dtype, oshape));
  stridedCopy(c.in[0], start, step, oshape, c.out[0].data);
  return Status::OK();
}

Status transpose(const KernelContext &c) {
  const auto &in = c.in[0].shape;
  int64_t rank = int64_t(in.size());
  bool given = false;
  auto permAttr = c.intsAttr("perm", &given);
  if (!permAttr.ok())
    return permAttr.status();
  std::vector<int64_t> perm = *permAttr;
  if (!given)
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  if (int64_t(perm.size()) != rank)
    return c.error("perm length differs from rank");
  std::vector<bool> seen(rank, false);
  std::vector<int64_t> oshape(rank);
  for (int64_t d = 0; d < rank; ++d) {
    if (perm[d] < 0 || perm[d] >= rank || seen[perm[d]])
      return c.error("invalid perm " + shapeToString(perm));
    seen[perm[d]] = true;
    oshape[d] = in[perm[d]];
  }
  EFFC_RETURN_IF_ERROR(c.checkOut(0, c.in[0].dtype, oshape));
  auto st = stridesOf(in);
  size_t es = dtypeSize(c.in[0].dtype), n = count(oshape);
  std::vector<int64_t> idx(rank, 0);
  for (size_t i = 0; i < n; ++i) {
    int64_t src = 0;
    for (int64_t d = 0; d < rank; ++d)
      src += idx[d] * st[perm[d]];
    std::memcpy(static_cast<char *>(c.out[0].data) + i * es,
                static_cast<const char *>(c.in[0].data) + src * es, es);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++idx[d] < oshape[d])
        break;
      idx[d] = 0;
    }
  }
  return Status::OK();
}

Status expand(const KernelContext &c) {
  auto target = c.ints(1);
  if (!target.ok())
    return target.status();
  auto shape = broadcastShapes(c, {c.in[0].shape, *target});
  if (!shape.ok())
    return shape.status();
  EFFC_RETURN_IF_ERROR(c.checkOut(0, c.in[0].dtype, *shape));
  size_t es = dtypeSize(c.in[0].dtype);
  forEachBroadcast(*shape, {c.in[0].shape}, [&](size_t o, const size_t *idx) {
    std::memcpy(static_cast<char *>(c.out[0].data) + o * es,
                static_cast<const char *>(c.in[0].data) + idx[0] * es, es);
  });
  return Status::OK();
}

// Tile-13: output dim d is input dim d times repeats[d]; each output element
// reads the input at its coordinates modulo the input dims.
Status tile(const KernelContext &c) {
  auto repeats = c.ints(1);
  if (!repeats.ok())
    return repeats.status();
  const ConstTensorRef &x = c.in[0];
  size_t rank = x.shape.size();
  if (repeats->size() != rank)
    return c.error("repeats has " + std::to_string(repeats->size()) + " entries, expected " +
                   std::to_string(rank));
  std::vector<int64_t> oshape(rank);
  for (size_t d = 0; d < rank; ++d) {
    if ((*repeats)[d] < 0)
      return c.error("repeats has negative entry " + std::to_string((*repeats)[d]));
    oshape[d] = x.shape[d] * (*repeats)[d];
  }
  EFFC_RETURN_IF_ERROR(c.checkOut(0, x.dtype, oshape));
  size_t es = dtypeSize(x.dtype), n = count(oshape);
  auto xs = stridesOf(x.shape);
  std::vector<int64_t> idx(rank, 0);
  for (size_t i = 0; i < n; ++i) {
    int64_t src = 0;
    for (size_t d = 0; d < rank; ++d)
      src += (idx[d] % x.shape[d]) * xs[d];
    std::memcpy(static_cast<char *>(c.out[0].data) + i * es,
                static_cast<const char *>(x.data) + src * es, es);
    for (size_t d = rank; d-- > 0;) {
      if (++idx[d] < oshape[d])
        break;
      idx[d] = 0;
    }
  }
  return Status::OK();
}

} // namespace

void registerShapeOps(Registry &r) {
  r[EffOp::ReshapeOp] = {reshape, 2, 2, 1, 1};
  r[EffOp::FlattenOp] = {flatten, 1, 1, 1, 1};
  r[EffOp::SqueezeOp] = {squeeze, 1, 2, 1, 1};
  r[EffOp::UnsqueezeOp] = {unsqueeze, 2, 2, 1, 1};
  r[EffOp::ShapeOp] = {shapeOp, 1, 1, 1, 1};
  r[EffOp::ConcatOp] = {concat, 1, -1, 1, 1};
  r[EffOp::AllGatherOp] = {concat, 1, -1, 1, 1}; // in one process, the blocks' concat
  r[EffOp::SplitOp] = {split, 1, 2, 1, -1};
  r[EffOp::SliceOp] = {slice, 3, 5, 1, 1};
  r[EffOp::TransposeOp] = {transpose, 1, 1, 1, 1};
  r[EffOp::ExpandOp] = {expand, 2, 2, 1, 1};
  r[EffOp::TileOp] = {tile, 2, 2, 1, 1};
}

} // namespace effc::host
