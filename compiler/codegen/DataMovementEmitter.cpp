//===- DataMovementEmitter.cpp - transpose, slice, concat, gather, ... ----===//
//
// Ops that only move elements: one thread per output element (split: per
// input element), the source offset computed from baked shapes and strides.
// scatter_nd also combines elements (its reductions), in the same layout.
// Elements are copied in their storage type, never converted. Runtime
// indices (gather*) that fall outside their dim produce zeros: the host
// backend reports them as errors, a kernel cannot, and must not read out of
// bounds.
//
#include "compiler/codegen/Families.h"
#include "compiler/codegen/core/DTypeInfo.h"
#include "compiler/codegen/core/EmitterUtil.h"

#include <algorithm>

namespace effc::codegen {
namespace {

template <typename T> T product(const std::vector<T> &v, size_t from, size_t to) {
  T p = 1;
  for (size_t i = from; i < to && i < v.size(); ++i)
    p *= v[i];
  return p;
}

/// eff.kv_append into session state (effc --kv-state): only the new rows move.
bool isStateAppend(const KernelDesc &d) {
  return d.is(EffOp::KvAppendOp) && d.outputs[0].capacity > 0;
}

/// eff.kv_append into session state: the [B, H, S, D] rows it appends,
/// new_rows through rows_perm or, with rows_offset, the window of them whose
/// B, H and D are past's (the merged q/k/v GEMM's V heads). Runtime extents
/// and the largest values.
struct AppendRows {
  std::vector<Extent> extents;
  std::vector<int64_t> largest;
};
AppendRows stateAppendRows(const KernelDesc &d) {
  const TensorDesc &past = d.inputs[0], &stored = d.inputs[1];
  const std::vector<Extent> storedExtents = stored.extents(), pastExtents = past.extents();
  AppendRows rows{storedExtents, stored.shape};
  if (std::optional<std::vector<int64_t>> perm = d.intsAttr("rows_perm"))
    for (size_t k = 0; k < rows.extents.size(); ++k) {
      rows.extents[k] = storedExtents[size_t((*perm)[k])];
      rows.largest[k] = stored.shape[size_t((*perm)[k])];
    }
  if (d.intsAttr("rows_offset"))
    for (size_t k : {0, 1, 3}) {
      rows.extents[k] = pastExtents[k];
      rows.largest[k] = past.shape[k];
    }
  return rows;
}

/// The grid-stride loop's items (with runtime extents, an expression of
/// effc_dims): one per output element; split, per input element; a state
/// append, per element of the rows it appends.
Extent loopItems(const KernelDesc &d) {
  if (isStateAppend(d))
    return product(stateAppendRows(d).extents, 0, 4);
  return (d.is(EffOp::SplitOp) ? d.inputs[0] : d.outputs[0]).elements();
}
int64_t largestLoopItems(const KernelDesc &d) {
  if (isStateAppend(d))
    return product(stateAppendRows(d).largest, 0, 4);
  return (d.is(EffOp::SplitOp) ? d.inputs[0] : d.outputs[0]).numElements();
}

/// Writes the kernel around the chosen grid-stride loop (gridStrideChoice);
/// `body` emits the loop body (the loop variable is `i`).
template <typename Body>
void gridKernel(const KernelDesc &d, const KernelChoice &c, std::string &out, Body body) {
  CudaWriter w;
  std::string ix = indexType(d);
  openKernel(w, d, c.threads());
  if (d.usesDims())
    openGridStride(w, "i", ix, loopItems(d), c.threads());
  else
    openGridStride(w, "i", ix, c.param("items"), c.threads());
  body(w, ix);
  w.close().close();
  out = w.str();
}

/// y0[i] = x0[base + offset(i)] over an iteration space with one input.
void stridedCopy(const KernelDesc &d, const KernelChoice &c, std::string &out, SymIndexSpace space,
                 const Extent &base) {
  space = coalesce(space);
  gridKernel(d, c, out, [&](CudaWriter &w, const std::string &ix) {
    emitOffsets(w, "i", ix, space, "o");
    w.line("y0[i] = x0[", base != 0 ? base.text() + " + " : "", "o0];");
  });
}

bool emitCopy(const KernelDesc &d, const KernelChoice &c, std::string &out) {
  gridKernel(d, c, out, [](CudaWriter &w, const std::string &) { w.line("y0[i] = x0[i];"); });
  return true;
}

bool emitTranspose(const KernelDesc &d, const KernelChoice &c, std::string &out,
                   std::string &error) {
  const std::vector<Extent> in = d.inputs[0].extents();
  int64_t rank = int64_t(in.size());
  std::vector<int64_t> perm;
  if (auto p = d.intsAttr("perm"))
    perm = *p;
  else
    for (int64_t r = rank - 1; r >= 0; --r)
      perm.push_back(r);
  if (int64_t(perm.size()) != rank) {
    error = d.op + ": perm length differs from rank";
    return false;
  }
  std::vector<Extent> st = rowMajorStrides(in);
  SymIndexSpace space;
  space.dims = d.outputs[0].extents();
  space.strides.emplace_back();
  for (int64_t p : perm) {
    if (p < 0 || p >= rank) {
      error = d.op + ": invalid perm";
      return false;
    }
    space.strides[0].push_back(st[p]);
  }
  stridedCopy(d, c, out, space, 0);
  return true;
}

bool emitExpand(const KernelDesc &d, const KernelChoice &c, std::string &out) {
  SymIndexSpace space;
  space.dims = d.outputs[0].extents();
  space.strides.push_back(broadcastStrides(d.inputs[0].extents(), space.dims));
  stridedCopy(d, c, out, space, 0);
  return true;
}

bool constOperand(const KernelDesc &d, size_t i, const char *what, std::vector<int64_t> &values,
                  std::string &error) {
  if (!d.inputs[i].constInts) {
    error = d.op + ": " + what + " must be a compile-time constant";
    return false;
  }
  values = *d.inputs[i].constInts;
  return true;
}

bool emitSlice(const KernelDesc &d, const KernelChoice &c, std::string &out, std::string &error) {
  const auto &in = d.inputs[0].shape;
  int64_t rank = int64_t(in.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (!constOperand(d, 1, "starts", starts, error))
    return false;
  // The ends only size the output, which the plan knows (a runtime end,
  // e.g. seq + 1, is fine).
  if (d.inputs[2].constInts)
    ends = *d.inputs[2].constInts;
  else
    ends.assign(starts.size(), 0);
  if (d.hasInput(3)) {
    if (!constOperand(d, 3, "axes", axes, error))
      return false;
  } else {
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(int64_t(i));
  }
  if (d.hasInput(4)) {
    if (!constOperand(d, 4, "steps", steps, error))
      return false;
  } else {
    steps.assign(starts.size(), 1);
  }
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size()) {
    error = d.op + ": starts, ends, axes and steps differ in length";
    return false;
  }
  std::vector<int64_t> start(rank, 0), step(rank, 1);
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t ax;
    if (!normalizeAxis(d, axes[i], rank, ax, error))
      return false;
    int64_t dim = in[ax], s = starts[i], st = steps[i];
    if (st == 0) {
      error = d.op + ": step must not be 0";
      return false;
    }
    // On a runtime extent, a start s >= 0 going forward needs no clamping:
    // s <= the extent, or the output (sized by the plan) is empty there.
    if (d.inputs[0].symbolic() && !d.inputs[0].symShape[ax].isConstant()) {
      if (s < 0 || st < 0) {
        error = d.op + ": slicing a dim with a runtime extent from a negative start or "
                       "backwards is not done yet (issue 14 stage S3)";
        return false;
      }
      start[ax] = s;
      step[ax] = st;
      continue;
    }
    if (s < 0)
      s += dim;
    // Same clamping as ONNX (and the host kernel).
    s = st > 0 ? std::clamp<int64_t>(s, 0, dim) : std::clamp<int64_t>(s, 0, dim - 1);
    start[ax] = s;
    step[ax] = st;
  }
  std::vector<Extent> st = rowMajorStrides(d.inputs[0].extents());
  SymIndexSpace space;
  space.dims = d.outputs[0].extents();
  space.strides.emplace_back();
  Extent base = 0;
  for (int64_t r = 0; r < rank; ++r) {
    base += Extent(start[r]) * st[r];
    space.strides[0].push_back(Extent(step[r]) * st[r]);
  }
  if (d.outputs[0].numElements() == 0)
    base = 0;
  stridedCopy(d, c, out, space, base);
  return true;
}

/// eff.kv_append's new_rows with rows_perm (stored permuted: the rows are
/// transpose(new_rows, rows_perm)) and/or rows_offset (a window of them):
/// x1's element stride of each of the rows' [B, H, S, D] dims and the
/// window's first element; std::nullopt when new_rows is [B, H, S, D].
struct KvRows {
  std::vector<Extent> stride;
  Extent base = 0;
};
std::optional<KvRows> kvRowStrides(const KernelDesc &d) {
  if (!d.is(EffOp::KvAppendOp))
    return std::nullopt;
  std::optional<std::vector<int64_t>> perm = d.intsAttr("rows_perm");
  std::optional<std::vector<int64_t>> offset = d.intsAttr("rows_offset");
  if (!perm && !offset)
    return std::nullopt;
  if (!perm)
    perm = std::vector<int64_t>{0, 1, 2, 3};
  const std::vector<Extent> stored = d.inputs[1].extents();
  std::vector<Extent> storedStride(stored.size(), Extent(1));
  for (size_t k = stored.size(); k-- > 1;)
    storedStride[k - 1] = storedStride[k] * stored[k];
  KvRows rows;
  for (size_t k = 0; k < perm->size(); ++k) {
    rows.stride.push_back(storedStride[size_t((*perm)[k])]);
    if (offset && (*offset)[k] != 0)
      rows.base = rows.base + rows.stride.back() * Extent((*offset)[k]);
  }
  return rows;
}

/// x1's element (b, h, s, dd) of kv_append's rows, through `rows`.
std::string kvRowElement(const KvRows &rows, const std::string &b, const std::string &h,
                         const std::string &s, const std::string &dd) {
  const std::vector<Extent> &stride = rows.stride;
  return "x1[" + rows.base.text() + " + " + b + " * " + stride[0].text() + " + " + h + " * " +
         stride[1].text() + " + " + s + " * " + stride[2].text() + " + " + dd + " * " +
         stride[3].text() + "]";
}

bool emitConcat(const KernelDesc &d, const KernelChoice &c, std::string &out, std::string &error) {
  const std::vector<Extent> shape = d.outputs[0].extents();
  // eff.kv_append's value is concat(past, new_rows) along the sequence axis.
  int64_t axis, given = d.is(EffOp::KvAppendOp) ? 2 : d.intAttr("axis", 0);
  if (!normalizeAxis(d, given, int64_t(shape.size()), axis, error))
    return false;
  Extent inner = product(shape, size_t(axis) + 1, shape.size()), A = shape[axis];
  const std::optional<KvRows> rowStride = kvRowStrides(d);
  gridKernel(d, c, out, [&](CudaWriter &w, const std::string &ix) {
    w.line("const ", ix, " inner = i % ", inner, ";");
    w.line("const ", ix, " a = (i / ", inner, ") % ", A, ";");
    w.line("const ", ix, " outer = i / ", A * inner, ";");
    Extent begin = 0;
    for (size_t k = 0; k < d.inputs.size(); ++k) {
      Extent size = d.inputs[k].extents()[axis];
      std::string src = "x" + std::to_string(k) + "[(outer * " + size.text() + " + (a - " +
                        begin.text() + ")) * " + inner.text() + " + inner]";
      if (k == 1 && rowStride) // kv_append's permuted rows: outer = b * H + h
        src = kvRowElement(*rowStride, "(outer / " + shape[1].text() + ")",
                           "(outer % " + shape[1].text() + ")", "(a - " + begin.text() + ")",
                           "inner");
      if (k + 1 == d.inputs.size())
        w.line("y0[i] = ", src, ";");
      else
        w.line("if (a < ", begin + size, ") { y0[i] = ", src, "; continue; }");
      begin += size;
    }
  });
  return true;
}

/// eff.kv_append into session state: new_rows [B, H, S, D] go to rows
/// [P, P + S) of each [b, h] slice, `capacity` rows apart; the past rows
/// are the state's own and stay where they are (x0 is not read).
/// With rows_perm the loop still walks the rows in [B, H, S, D] order and
/// reads x1 through the permutation's strides.
bool emitStateAppend(const KernelDesc &d, const KernelChoice &c, std::string &out) {
  const std::vector<Extent> rows = stateAppendRows(d).extents;
  const Extent P = d.inputs[0].extents()[2], slice = rows[2] * rows[3];
  const std::optional<KvRows> rowStride = kvRowStrides(d);
  gridKernel(d, c, out, [&](CudaWriter &w, const std::string &ix) {
    w.line("const ", ix, " bh = i / ", slice, ";");
    std::string src = "x1[i]";
    if (rowStride) {
      w.line("const ", ix, " s = (i % ", slice, ") / ", rows[3], ";");
      src = kvRowElement(*rowStride, "(bh / " + rows[1].text() + ")",
                         "(bh % " + rows[1].text() + ")", "s", "(i % " + rows[3].text() + ")");
    }
    w.line("y0[(bh * ", Extent(d.outputs[0].capacity), " + ", P, ") * ", rows[3], " + i % ", slice,
           "] = ", src, ";");
  });
  return true;
}

bool emitSplit(const KernelDesc &d, const KernelChoice &c, std::string &out, std::string &error) {
  const std::vector<Extent> shape = d.inputs[0].extents();
  int64_t axis;
  if (!normalizeAxis(d, d.intAttr("axis", op_defaults::SplitOp_axis), int64_t(shape.size()), axis,
                     error))
    return false;
  // Runtime extents: the split axis stays static (the sizes are baked).
  if (!shape[size_t(axis)].isConstant()) {
    error = d.op + ": splitting a dim with a runtime extent is not done yet (issue 14 stage S3)";
    return false;
  }
  Extent inner = product(shape, size_t(axis) + 1, shape.size());
  int64_t A = shape[size_t(axis)].constant();
  gridKernel(d, c, out, [&](CudaWriter &w, const std::string &ix) {
    w.line("const ", ix, " inner = i % ", inner, ";");
    w.line("const ", ix, " a = (i / ", inner, ") % ", A, ";");
    w.line("const ", ix, " outer = i / ", inner * A, ";");
    int64_t begin = 0;
    for (size_t k = 0; k < d.outputs.size(); ++k) {
      int64_t size = d.outputs[k].shape[axis];
      if (size == 0)
        continue;
      w.line("if (a < ", begin + size, ") { y", k, "[(outer * ", size, " + (a - ", begin, ")) * ",
             inner, " + inner] = x0[i]; continue; }");
      begin += size;
    }
  });
  return true;
}

/// `T v = wrap_index(indices[pos], dim)`: -1 when out of range.
std::string indexLoad(const KernelDesc &d, size_t input, const std::string &pos,
                      const Extent &dim) {
  return "wrap_index(" +
         loadAs(d.inputs[input].dtype, "x" + std::to_string(input), pos, Compute::I64) + ", " +
         (dim.isConstant() ? std::to_string(dim.constant()) + "LL" : dim.text()) + ")";
}

bool emitGather(const KernelDesc &d, const KernelChoice &c, std::string &out, std::string &error) {
  const std::vector<Extent> x = d.inputs[0].extents();
  int64_t axis;
  if (!normalizeAxis(d, d.intAttr("axis", op_defaults::GatherOp_axis), int64_t(x.size()), axis,
                     error))
    return false;
  Extent inner = product(x, size_t(axis) + 1, x.size()), dim = x[axis];
  Extent ni = d.inputs[1].elements();
  gridKernel(d, c, out, [&](CudaWriter &w, const std::string &ix) {
    w.line("const ", ix, " inner = i % ", inner, ";");
    w.line("const ", ix, " j = (i / ", inner, ") % ", ni, ";");
    w.line("const ", ix, " outer = i / ", ni * inner, ";");
    w.line("const i64 v = ", indexLoad(d, 1, "j", dim), ";");
    w.line("y0[i] = v < 0 ? (", storageType(d.outputs[0].dtype), ")0 : x0[(outer * ", dim,
           " + v) * ", inner, " + inner];");
  });
  return true;
}

bool emitGatherElements(const KernelDesc &d, const KernelChoice &c, std::string &out,
                        std::string &error) {
  const std::vector<Extent> x = d.inputs[0].extents(), ind = d.inputs[1].extents();
  int64_t axis;
  if (!normalizeAxis(d, d.intAttr("axis", op_defaults::GatherElementsOp_axis), int64_t(x.size()),
                     axis, error))
    return false;
  if (ind.size() != x.size()) {
    error = d.op + ": indices rank differs from data rank";
    return false;
  }
  std::vector<Extent> xs = rowMajorStrides(x);
  gridKernel(d, c, out, [&](CudaWriter &w, const std::string &ix) {
    emitCoords(w, "i", ix, ind, "c");
    w.line("const i64 v = ", indexLoad(d, 1, "i", x[axis]), ";");
    std::string src;
    for (size_t r = 0; r < x.size(); ++r) {
      std::string coord = int64_t(r) == axis ? "v" : "c" + std::to_string(r);
      src += (src.empty() ? "" : " + ") + coord + " * " + xs[r].text();
    }
    w.line("y0[i] = v < 0 ? (", storageType(d.outputs[0].dtype), ")0 : x0[", src, "];");
  });
  return true;
}

bool emitGatherND(const KernelDesc &d, const KernelChoice &c, std::string &out,
                  std::string &error) {
  const std::vector<Extent> x = d.inputs[0].extents();
  const auto &ind = d.inputs[1].shape;
  int64_t b = d.intAttr("batch_dims", op_defaults::GatherNDOp_batch_dims), r = int64_t(x.size()),
          q = int64_t(ind.size());
  if (q < 1 || b < 0 || b >= std::min(r, q)) {
    error = d.op + ": invalid batch_dims or ranks";
    return false;
  }
  if (d.inputs[1].symbolic() && !d.inputs[1].symShape[q - 1].isConstant()) {
    error = d.op + ": the indices' last dim must be static";
    return false;
  }
  int64_t k = ind[q - 1];
  if (k < 1 || b + k > r) {
    error = d.op + ": indices last dim " + std::to_string(k) + " too large";
    return false;
  }
  if (b && d.usesDims()) {
    error = d.op + ": batch_dims with runtime extents is not done yet (issue 14 stage S3)";
    return false;
  }
  std::vector<Extent> xs = rowMajorStrides(x);
  Extent inner = product(x, size_t(b + k), x.size());
  int64_t batch = product(d.inputs[0].shape, 0, size_t(b));
  int64_t tuples = d.inputs[1].numElements() / k, perBatch = batch ? tuples / batch : 1;
  int64_t batchStride = b ? xs[b - 1].constant() : 0;
  gridKernel(d, c, out, [&](CudaWriter &w, const std::string &ix) {
    w.line("const ", ix, " inner = i % ", inner, ";");
    w.line("const ", ix, " t = i / ", inner, ";");
    w.line("i64 src = ",
           b ? "(i64)(t / " + std::to_string(perBatch) + ") * " + std::to_string(batchStride)
             : std::string("0"),
           ";");
    w.line("bool ok = true;");
    for (int64_t j = 0; j < k; ++j) {
      w.open("{");
      w.line("const i64 v = ",
             indexLoad(d, 1, "t * " + std::to_string(k) + " + " + std::to_string(j), x[b + j]),
             ";");
      w.line("ok = ok && v >= 0;");
      w.line("src += v * ", xs[b + j], ";");
      w.close();
    }
    w.line("y0[i] = ok ? x0[src + inner] : (", storageType(d.outputs[0].dtype), ")0;");
  });
  return true;
}

/// Output element i reads the input at its coordinates modulo the input dims.
bool emitTile(const KernelDesc &d, const KernelChoice &c, std::string &out, std::string &error) {
  std::vector<int64_t> repeats;
  if (!constOperand(d, 1, "repeats", repeats, error))
    return false;
  const auto &x = d.inputs[0].shape;
  const auto &y = d.outputs[0].shape;
  if (repeats.size() != x.size() || y.size() != x.size()) {
    error = d.op + ": repeats has " + std::to_string(repeats.size()) + " entries for rank " +
            std::to_string(x.size());
    return false;
  }
  std::vector<int64_t> xs = rowMajorStrides(x);
  gridKernel(d, c, out, [&](CudaWriter &w, const std::string &ix) {
    emitCoords(w, "i", ix, y, "c");
    std::string src;
    for (size_t r = 0; r < x.size(); ++r) {
      std::string coord = "c" + std::to_string(r);
      if (repeats[r] != 1)
        coord = "(" + coord + " % " + std::to_string(std::max<int64_t>(x[r], 1)) + ")";
      src += (src.empty() ? "" : " + ") + coord + " * " + std::to_string(xs[r]);
    }
    w.line("y0[i] = x0[", src.empty() ? "0" : src, "];");
  });
  return true;
}

/// The accumulator of a scatter kernel's thread: its data element, combined
/// with the updates that target it in the order the host kernel applies them.
struct ScatterAccumulator {
  DType dtype;
  std::string reduction; // none, add, mul, max, min
  Compute kind;          // integers and bool combine in i64

  static bool make(const KernelDesc &d, const char *dflt, ScatterAccumulator &acc,
                   std::string &error) {
    acc.dtype = d.outputs[0].dtype;
    acc.reduction = d.stringAttr("reduction", dflt);
    acc.kind = computeOf(acc.dtype) == Compute::Bool ? Compute::I64 : computeOf(acc.dtype);
    for (const char *r : {"none", "add", "mul", "max", "min"})
      if (acc.reduction == r)
        return true;
    error = d.op + ": unknown reduction '" + acc.reduction + "'";
    return false;
  }
  bool replaces() const { return reduction == "none"; }
  /// `acc` = data element i (its storage value when replacing).
  void init(CudaWriter &w) const {
    if (replaces())
      w.line(storageType(dtype), " acc = x0[i];");
    else
      w.line(computeType(kind), " acc = ", loadAs(dtype, "x0", "i", kind), ";");
  }
  /// Combines update element `pos` of x2 into `acc`.
  void apply(CudaWriter &w, const std::string &pos) const {
    if (replaces()) {
      w.line("acc = x2[", pos, "];");
      return;
    }
    w.line("const ", computeType(kind), " u = ", loadAs(dtype, "x2", pos, kind), ";");
    if (reduction == "max" || reduction == "min")
      w.line("acc = ", reduction == "max" ? "MaxOp" : "MinOp", "()(acc, u);");
    else if (kind == Compute::I64) // wraps like the host kernel (no signed overflow)
      w.line("acc = (i64)((unsigned long long)acc ", reduction == "add" ? "+" : "*",
             " (unsigned long long)u);");
    else
      w.line("acc = acc ", reduction == "add" ? "+" : "*", " u;");
  }
  void store(CudaWriter &w) const {
    w.line("y0[i] = ", replaces() ? std::string("acc") : storeValue(dtype, "acc", kind), ";");
  }
};

// The scatter kernels run one thread per data element, which reads every
// update that may target it, in the host kernel's order. No atomics and no
// write races: duplicate targets reduce exactly as on the host (add/mul/
// max/min combine all of them; "none" keeps the last, which ONNX leaves
// undefined), and the result is deterministic.

/// ScatterElements: a thread scans the indices.shape[axis] updates on its
/// own line along the axis (the only ones that can target it).
bool emitScatterElements(const KernelDesc &d, const KernelChoice &c, std::string &out,
                         std::string &error) {
  const auto &x = d.inputs[0].shape;
  const auto &ind = d.inputs[1].shape;
  int64_t rank = int64_t(x.size()), axis;
  if (ind.size() != x.size() || d.inputs[2].shape != ind) {
    error = d.op + ": indices and updates need data's rank and one shape";
    return false;
  }
  if (!normalizeAxis(d, d.intAttr("axis", op_defaults::ScatterElementsOp_axis), rank, axis, error))
    return false;
  ScatterAccumulator acc;
  if (!ScatterAccumulator::make(d, op_defaults::ScatterElementsOp_reduction, acc, error))
    return false;
  std::vector<int64_t> is = rowMajorStrides(ind);
  gridKernel(d, c, out, [&](CudaWriter &w, const std::string &ix) {
    emitCoords(w, "i", ix, x, "c");
    acc.init(w);
    std::string inside = "true", line = "0";
    for (int64_t r = 0; r < rank; ++r) {
      if (r == axis)
        continue;
      std::string coord = "c" + std::to_string(r);
      if (ind[r] < x[r])
        inside += " && " + coord + " < " + std::to_string(ind[r]);
      line += " + (i64)" + coord + " * " + std::to_string(is[r]);
    }
    w.open("if (", inside, ") {");
    w.open("for (i64 a = 0; a < ", ind[axis], "; ++a) {");
    w.line("const i64 j = ", line, " + a * ", is[axis], ";");
    w.line("const i64 v = ", indexLoad(d, 1, "j", x[axis]), ";");
    w.open("if (v == (i64)c", axis, ") {");
    acc.apply(w, "j");
    w.close().close().close();
    acc.store(w);
  });
  return true;
}

/// ScatterND: a thread scans every index tuple and applies the updates whose
/// tuple addresses its slot: O(data elements x tuples) index reads, right for
/// the few tuples exports scatter (slices of a head dim, cache rows), not for
/// large scatters (those would want a copy plus a per-update kernel over
/// indices proven unique).
bool emitScatterND(const KernelDesc &d, const KernelChoice &c, std::string &out,
                   std::string &error) {
  const auto &x = d.inputs[0].shape;
  const auto &ind = d.inputs[1].shape;
  int64_t r = int64_t(x.size()), q = int64_t(ind.size());
  if (r < 1 || q < 1 || ind[q - 1] < 1 || ind[q - 1] > r) {
    error = d.op + ": indices last dim must be in [1, data rank]";
    return false;
  }
  ScatterAccumulator acc;
  if (!ScatterAccumulator::make(d, op_defaults::ScatterNDOp_reduction, acc, error))
    return false;
  int64_t k = ind[q - 1], inner = std::max<int64_t>(product(x, size_t(k), x.size()), 1);
  int64_t tuples = d.inputs[1].numElements() / k;
  std::vector<int64_t> slotStrides =
      rowMajorStrides(std::vector<int64_t>(x.begin(), x.begin() + k));
  gridKernel(d, c, out, [&](CudaWriter &w, const std::string &ix) {
    w.line("const i64 slot = (i64)(i / ", inner, "), e = (i64)(i % ", inner, ");");
    acc.init(w);
    w.open("for (i64 t = 0; t < ", tuples, "; ++t) {");
    w.line("i64 s = 0;");
    w.line("bool ok = true;");
    for (int64_t j = 0; j < k; ++j) {
      w.open("{");
      w.line("const i64 v = ",
             indexLoad(d, 1, "t * " + std::to_string(k) + " + " + std::to_string(j), x[j]), ";");
      w.line("ok = ok && v >= 0;");
      w.line("s += v * ", slotStrides[j], ";");
      w.close();
    }
    w.open("if (ok && s == slot) {");
    acc.apply(w, "t * " + std::to_string(inner) + " + e");
    w.close().close();
    acc.store(w);
  });
  return true;
}

bool emitTrilu(const KernelDesc &d, const KernelChoice &c, std::string &out, std::string &error) {
  const auto &s = d.inputs[0].shape;
  if (s.size() < 2) {
    error = d.op + ": input must have rank >= 2";
    return false;
  }
  int64_t R = s[s.size() - 2], C = s.back();
  bool upper = d.intAttr("upper", op_defaults::TriluOp_upper) != 0;
  std::string k = "0LL";
  if (d.hasInput(1))
    k = d.inputs[1].constInts && d.inputs[1].constInts->size() == 1
            ? i64Lit((*d.inputs[1].constInts)[0])
            : loadAs(d.inputs[1].dtype, "x1", "0", Compute::I64);
  gridKernel(d, c, out, [&](CudaWriter &w, const std::string &ix) {
    w.line("const i64 col = i % ", C, ", row = (i / ", C, ") % ", std::max<int64_t>(R, 1), ";");
    w.line("const bool keep = col - row ", upper ? ">=" : "<=", " ", k, ";");
    w.line("y0[i] = keep ? x0[i] : (", storageType(d.outputs[0].dtype), ")0;");
  });
  return true;
}

/// OneHot: one thread per output element compares its position on the new
/// axis with its index (wrap_index: negative ones from depth, -1 when out of
/// range, which matches no position).
bool emitOneHot(const KernelDesc &d, const KernelChoice &c, std::string &out, std::string &error) {
  const auto &y = d.outputs[0].shape;
  int64_t axis;
  if (!normalizeAxis(d, d.intAttr("axis", op_defaults::OneHotOp_axis), int64_t(y.size()), axis,
                     error))
    return false;
  int64_t inner = product(y, size_t(axis) + 1, y.size()), depth = y[size_t(axis)];
  gridKernel(d, c, out, [&](CudaWriter &w, const std::string &ix) {
    w.line("const ", ix, " inner = i % ", inner, ";");
    w.line("const ", ix, " p = (i / ", inner, ") % ", depth, ";");
    w.line("const ", ix, " outer = i / ", depth * inner, ";");
    w.line("const i64 v = ",
           indexLoad(d, 0, "outer * " + std::to_string(inner) + " + inner", depth), ";");
    w.line("y0[i] = x2[v == (i64)p ? 1 : 0];");
  });
  return true;
}

} // namespace

bool chooseDataMovement(const KernelDesc &d, KernelChoice &c, std::string &error) {
  if (d.inputs.empty() || d.outputs.empty()) {
    error = d.op + ": expected inputs and outputs";
    return false;
  }
  // Runtime extents: the ops whose index math reads them (the others bake
  // extents into their constants: clamped slice starts, tile repeats).
  if (d.usesDims() &&
      !(d.is(EffOp::IdentityOp) || d.is(EffOp::ReshapeOp) || d.is(EffOp::FlattenOp) ||
        d.is(EffOp::SqueezeOp) || d.is(EffOp::UnsqueezeOp) || d.is(EffOp::TransposeOp) ||
        d.is(EffOp::ExpandOp) || d.is(EffOp::ConcatOp) || d.is(EffOp::KvAppendOp) ||
        d.is(EffOp::GatherOp) || d.is(EffOp::GatherElementsOp) || d.is(EffOp::GatherNDOp) ||
        d.is(EffOp::SliceOp) || d.is(EffOp::SplitOp))) {
    error = d.op + ": runtime extents (a symbolic dim) in this data-movement kernel are not done "
                   "yet (issue 14 stage S3)";
    return false;
  }
  // One thread per output element; split, per input element; the grid for
  // the largest extents (blocks past a run's extent find no item).
  if (d.inputs[0].capacity != (isStateAppend(d) ? d.outputs[0].capacity : 0) ||
      (!isStateAppend(d) && d.outputs[0].capacity) ||
      (d.inputs.size() > 1 && d.inputs[1].capacity)) {
    error = d.op + ": session state is read and written only by eff.kv_append (past and present)";
    return false;
  }
  if (isStateAppend(d) && (d.inputs[0].rank() != 4 || d.inputs[1].rank() != 4)) {
    error = d.op + ": past and new_rows must be 4-D";
    return false;
  }
  c = gridStrideChoice(c.family, largestLoopItems(d));
  c.launch.followRuntime(0, loopItems(d), c.threads(), c.launch.grid[0]);
  return true;
}

bool instantiateDataMovement(const KernelDesc &d, const KernelChoice &c, std::string &out,
                             std::string &error) {
  if (d.inputs.empty() || d.outputs.empty()) {
    error = d.op + ": expected inputs and outputs";
    return false;
  }
  if (std::optional<EffOp> id = d.opId()) {
    switch (*id) {
    case EffOp::IdentityOp:
    case EffOp::ReshapeOp:
    case EffOp::FlattenOp:
    case EffOp::SqueezeOp:
    case EffOp::UnsqueezeOp:
      return emitCopy(d, c, out);
    case EffOp::TransposeOp:
      return emitTranspose(d, c, out, error);
    case EffOp::ExpandOp:
      return emitExpand(d, c, out);
    case EffOp::SliceOp:
      return emitSlice(d, c, out, error);
    case EffOp::ConcatOp:
      return emitConcat(d, c, out, error);
    case EffOp::KvAppendOp:
      return isStateAppend(d) ? emitStateAppend(d, c, out) : emitConcat(d, c, out, error);
    case EffOp::SplitOp:
      return emitSplit(d, c, out, error);
    case EffOp::GatherOp:
      return emitGather(d, c, out, error);
    case EffOp::GatherElementsOp:
      return emitGatherElements(d, c, out, error);
    case EffOp::GatherNDOp:
      return emitGatherND(d, c, out, error);
    case EffOp::TriluOp:
      return emitTrilu(d, c, out, error);
    case EffOp::TileOp:
      return emitTile(d, c, out, error);
    case EffOp::ScatterElementsOp:
      return emitScatterElements(d, c, out, error);
    case EffOp::ScatterNDOp:
      return emitScatterND(d, c, out, error);
    case EffOp::OneHotOp:
      return emitOneHot(d, c, out, error);
    default:
      break;
    }
  }
  error = d.op + ": not a data-movement op";
  return false;
}

} // namespace effc::codegen
