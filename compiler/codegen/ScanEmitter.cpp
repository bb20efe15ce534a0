//===- ScanEmitter.cpp - cum_sum, top_k ------------------------------------===//
//
// Both work on "lines": the elements along one axis for a fixed (outer,
// inner) position, at stride `inner`.
//  - cum_sum: one thread per line scans it serially (lines are short in the
//    models we see: position ids over the sequence). The axis may be a
//    run-time value (ONNX allows it): then the geometry comes from baked dims.
//  - top_k: one thread per element computes the element's rank in the
//    line's stable order (ties keep the lower index first, as the host's
//    stable_sort) and, when the rank is below K, writes itself there.
//    O(n) per thread: meant for small rows (MoE routers, beam widths).
//
#include "compiler/codegen/Families.h"
#include "compiler/codegen/core/DTypeInfo.h"
#include "compiler/codegen/core/EmitterUtil.h"

namespace effc::codegen {
namespace {

struct Lines {
  int64_t outer = 1, n = 1, inner = 1;
};

bool linesOf(const KernelDesc &d, int64_t axis, Lines &l, std::string &error) {
  const auto &s = d.inputs[0].shape;
  int64_t rank = int64_t(s.size());
  if (!normalizeAxis(d, axis, rank, axis, error))
    return false;
  for (int64_t r = 0; r < axis; ++r)
    l.outer *= s[r];
  l.n = s[axis];
  for (int64_t r = axis + 1; r < rank; ++r)
    l.inner *= s[r];
  return true;
}

/// The lines of a cum_sum along a baked axis with runtime extents (effc_dims).
struct SymLines {
  Extent outer = 1, n = 1, inner = 1;
};

SymLines symLinesOf(const KernelDesc &d, int64_t axis) {
  const std::vector<Extent> s = d.inputs[0].extents();
  SymLines l;
  for (int64_t r = 0; r < int64_t(s.size()); ++r)
    (r < axis ? l.outer : r == axis ? l.n : l.inner) *= s[r];
  return l;
}

/// The scan body over one line: `base`, `n`, `inner` name the line.
void emitCumSumLine(CudaWriter &w, const KernelDesc &d, const std::string &ix, const std::string &n,
                    const std::string &inner) {
  Compute k = computeOf(d.inputs[0].dtype);
  const char *t = computeType(k);
  bool exclusive = d.intAttr("exclusive", op_defaults::CumSumOp_exclusive) != 0,
       reverse = d.intAttr("reverse", op_defaults::CumSumOp_reverse) != 0;
  w.line(t, " acc = 0;");
  w.open("for (", ix, " s = 0; s < ", n, "; ++s) {");
  w.line("const ", ix, " at = base + ", reverse ? "(" + n + " - 1 - s)" : std::string("s"), " * ",
         inner, ";");
  w.line("const ", t, " v = ", load(d.inputs[0].dtype, "x0", "at"), ";");
  if (!exclusive)
    w.line("acc += v;");
  w.line("y0[at] = ", storeValue(d.outputs[0].dtype, "acc", k), ";");
  if (exclusive)
    w.line("acc += v;");
  w.close();
}

bool emitCumSum(const KernelDesc &d, const KernelChoice &c, std::string &out, std::string &error) {
  if (computeOf(d.inputs[0].dtype) == Compute::Bool) {
    error = d.op + ": unsupported dtype bool";
    return false;
  }
  if (!d.hasInput(1)) {
    error = d.op + ": missing axis";
    return false;
  }
  CudaWriter w;
  std::string ix = indexType(d);
  openKernel(w, d, c.threads());
  const auto &axisInts = d.inputs[1].constInts;
  if (axisInts && axisInts->size() == 1) {
    Lines l;
    if (!linesOf(d, (*axisInts)[0], l, error))
      return false;
    if (d.usesDims()) { // runtime extents: lines and their length from effc_dims
      int64_t axis = 0;
      normalizeAxis(d, (*axisInts)[0], d.inputs[0].rank(), axis, error);
      SymLines sl = symLinesOf(d, axis);
      openGridStride(w, "line", ix, sl.outer * sl.inner, c.threads());
      w.line("const ", ix, " base = (line / ", sl.inner, ") * ", sl.n * sl.inner, " + line % ",
             sl.inner, ";");
      emitCumSumLine(w, d, ix, sl.n.text(), sl.inner.text());
      w.close().close();
      out = w.str();
      return true;
    }
    openGridStride(w, "line", ix, c.param("items"), c.threads());
    w.line("const ", ix, " base = (line / ", l.inner, ") * ", l.n * l.inner, " + line % ", l.inner,
           ";");
    emitCumSumLine(w, d, ix, std::to_string(l.n), std::to_string(l.inner));
    w.close().close();
    out = w.str();
    return true;
  }
  // The axis is a run-time value: the line geometry is computed from the
  // baked dims (lines <= elements bounds the launch).
  const auto &shape = d.inputs[0].shape;
  int64_t rank = int64_t(shape.size());
  if (rank == 0) {
    error = d.op + ": input must have rank >= 1";
    return false;
  }
  w.line("const i64 dims[", rank, "] = ", intList(shape), ";");
  w.line("i64 axis = ", loadAs(d.inputs[1].dtype, "x1", "0", Compute::I64), ";");
  w.line("if (axis < 0) axis += ", rank, ";");
  w.line("if (axis < 0 || axis >= ", rank, ") return;  // the host reports it");
  w.line("i64 outer = 1, inner = 1;");
  w.line("for (int r = 0; r < ", rank,
         "; ++r) { if (r < axis) outer *= dims[r]; if (r > axis) inner *= dims[r]; }");
  w.line("const ", ix, " n = (", ix, ")dims[axis], in = (", ix, ")inner, lines = (", ix,
         ")(outer * inner);");
  w.open("for (", ix, " line = ", ix, "(blockIdx.x) * ", c.threads(),
         " + threadIdx.x; line < lines; line += ", ix, "(gridDim.x) * ", c.threads(), ") {");
  w.line("const ", ix, " base = (line / in) * n * in + line % in;");
  emitCumSumLine(w, d, ix, "n", "in");
  w.close().close();
  out = w.str();
  return true;
}

bool emitTopK(const KernelDesc &d, const KernelChoice &c, std::string &out, std::string &error) {
  if (d.outputs.size() != 2) {
    error = d.op + ": expected 2 outputs (values, indices)";
    return false;
  }
  Lines l;
  int64_t axis = d.intAttr("axis", op_defaults::TopKOp_axis);
  if (!linesOf(d, axis, l, error))
    return false;
  int64_t rank = d.inputs[0].rank();
  int64_t K = d.outputs[0].shape[axis < 0 ? axis + rank : axis];
  Compute k = computeOf(d.inputs[0].dtype);
  if (k == Compute::Bool)
    k = Compute::I64;
  bool largest = d.intAttr("largest", op_defaults::TopKOp_largest) != 0;
  const char *t = computeType(k);
  CudaWriter w;
  std::string ix = indexType(d);
  openKernel(w, d, c.threads());
  openGridStride(w, "i", ix, c.param("items"), c.threads());
  w.line("const ", ix, " inner = i % ", l.inner, ";");
  w.line("const ", ix, " e = (i / ", l.inner, ") % ", l.n, ";");
  w.line("const ", ix, " outer = i / ", l.n * l.inner, ";");
  w.line("const ", ix, " base = outer * ", l.n * l.inner, " + inner;");
  w.line("const ", t, " v = ", load(d.inputs[0].dtype, "x0", "i"), ";");
  w.line(ix, " rank = 0;");
  w.open("for (", ix, " j = 0; j < ", l.n, "; ++j) {");
  w.line("const ", t,
         " u = ", load(d.inputs[0].dtype, "x0", "base + j * " + std::to_string(l.inner)), ";");
  std::string better = largest ? "u > v" : "u < v", worse = largest ? "u < v" : "u > v";
  w.line("rank += (", better, ") || (j < e && !(", worse, "));");
  w.close();
  w.open("if (rank < ", K, ") {");
  w.line("const ", ix, " at = (outer * ", K, " + rank) * ", l.inner, " + inner;");
  w.line("y0[at] = x0[i];");
  w.line("y1[at] = (i64)e;");
  w.close();
  w.close().close();
  out = w.str();
  return true;
}

} // namespace

bool chooseScan(const KernelDesc &d, KernelChoice &c, std::string &error) {
  if (d.inputs.empty() || d.outputs.empty()) {
    error = d.op + ": expected inputs and outputs";
    return false;
  }
  if (d.is(EffOp::CumSumOp)) {
    const auto &axisInts = d.hasInput(1) ? d.inputs[1].constInts : std::nullopt;
    Lines l;
    if (axisInts && axisInts->size() == 1) {
      // A thread per line along the baked axis.
      if (!linesOf(d, (*axisInts)[0], l, error))
        return false;
      c = gridStrideChoice(c.family, l.outer * l.inner);
      c.variant = "per-line";
      if (d.usesDims()) {
        int64_t axis = 0;
        normalizeAxis(d, (*axisInts)[0], d.inputs[0].rank(), axis, error);
        SymLines sl = symLinesOf(d, axis);
        c.launch.followRuntime(0, sl.outer * sl.inner, c.threads(), c.launch.grid[0]);
      }
      return true;
    }
    if (d.usesDims()) {
      error = d.op + ": a run-time axis with runtime extents is not done yet (issue 14 stage S3)";
      return false;
    }
    // The axis is a run-time value: lines <= elements bounds the launch.
    c = gridStrideChoice(c.family, d.inputs[0].numElements());
    c.variant = "run-time-axis";
    return true;
  }
  if (d.is(EffOp::TopKOp)) {
    if (d.usesDims()) {
      error = d.op + ": runtime extents in top_k are not done yet (issue 14 stage S3)";
      return false;
    }
    // A thread per input element ranks it within its line.
    c = gridStrideChoice(c.family, d.inputs[0].numElements());
    return true;
  }
  error = d.op + ": not a scan op";
  return false;
}

bool instantiateScan(const KernelDesc &d, const KernelChoice &c, std::string &out,
                     std::string &error) {
  if (d.inputs.empty() || d.outputs.empty()) {
    error = d.op + ": expected inputs and outputs";
    return false;
  }
  if (d.is(EffOp::CumSumOp))
    return emitCumSum(d, c, out, error);
  if (d.is(EffOp::TopKOp))
    return emitTopK(d, c, out, error);
  error = d.op + ": not a scan op";
  return false;
}

} // namespace effc::codegen
