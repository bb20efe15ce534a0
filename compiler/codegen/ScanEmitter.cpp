//===- ScanEmitter.cpp - cum_sum, top_k ------------------------------------===//
//
// Both work on "lines": the elements along one axis for a fixed (outer,
// inner) position, at stride `inner`.
//  - cum_sum: one thread per line scans it serially (lines are short in the
//    models we see: position ids over the sequence).
//  - top_k: one thread per element computes the element's rank in the
//    line's stable order (ties keep the lower index first, as the host's
//    stable_sort) and, when the rank is below K, writes itself there.
//    O(n) per thread: meant for small rows (MoE routers, beam widths).
//
#include "compiler/codegen/DTypeInfo.h"
#include "compiler/codegen/EmitterUtil.h"
#include "compiler/codegen/Families.h"

namespace effc::codegen {
namespace {

struct Lines {
  int64_t outer = 1, n = 1, inner = 1;
};

bool linesOf(const KernelDesc &d, int64_t axis, Lines &l, std::string &error) {
  const auto &s = d.inputs[0].shape;
  int64_t rank = int64_t(s.size());
  if (axis < -rank || axis >= rank) {
    error = d.op + ": axis " + std::to_string(axis) + " is out of range for rank " +
            std::to_string(rank);
    return false;
  }
  if (axis < 0)
    axis += rank;
  for (int64_t r = 0; r < axis; ++r)
    l.outer *= s[r];
  l.n = s[axis];
  for (int64_t r = axis + 1; r < rank; ++r)
    l.inner *= s[r];
  return true;
}

bool emitCumSum(const KernelDesc &d, CudaKernel &out, std::string &error) {
  if (!d.hasInput(1) || !d.inputs[1].constInts || d.inputs[1].constInts->size() != 1) {
    error = d.op + ": axis must be a compile-time constant scalar";
    return false;
  }
  Lines l;
  if (!linesOf(d, (*d.inputs[1].constInts)[0], l, error))
    return false;
  Compute k = computeOf(d.inputs[0].dtype);
  if (k == Compute::Bool) {
    error = d.op + ": unsupported dtype bool";
    return false;
  }
  bool exclusive = d.intAttr("exclusive", 0) != 0, reverse = d.intAttr("reverse", 0) != 0;
  const char *t = computeType(k);
  int64_t lines = l.outer * l.inner;
  CudaWriter w;
  std::string ix = indexType(d);
  openKernel(w, d, kElementwiseBlock);
  openGridStride(w, "line", ix, lines, kElementwiseBlock);
  w.line("const ", ix, " base = (line / ", l.inner, ") * ", l.n * l.inner, " + line % ", l.inner, ";");
  w.line(t, " acc = 0;");
  w.open("for (", ix, " s = 0; s < ", l.n, "; ++s) {");
  w.line("const ", ix, " at = base + ", reverse ? "(" + std::to_string(l.n - 1) + " - s)" : "s",
         " * ", l.inner, ";");
  w.line("const ", t, " v = ", load(d.inputs[0].dtype, "x0", "at"), ";");
  if (!exclusive)
    w.line("acc += v;");
  w.line("y0[at] = ", storeValue(d.outputs[0].dtype, "acc", k), ";");
  if (exclusive)
    w.line("acc += v;");
  w.close();
  w.close().close();
  out.source = w.str();
  out.launch = gridStrideLaunch(lines, kElementwiseBlock);
  return true;
}

bool emitTopK(const KernelDesc &d, CudaKernel &out, std::string &error) {
  if (d.outputs.size() != 2) {
    error = d.op + ": expected 2 outputs (values, indices)";
    return false;
  }
  Lines l;
  int64_t axis = d.intAttr("axis", -1);
  if (!linesOf(d, axis, l, error))
    return false;
  int64_t rank = d.inputs[0].rank();
  int64_t K = d.outputs[0].shape[axis < 0 ? axis + rank : axis];
  Compute k = computeOf(d.inputs[0].dtype);
  if (k == Compute::Bool)
    k = Compute::I64;
  bool largest = d.intAttr("largest", 1) != 0;
  const char *t = computeType(k);
  int64_t n = d.inputs[0].numElements();
  CudaWriter w;
  std::string ix = indexType(d);
  openKernel(w, d, kElementwiseBlock);
  openGridStride(w, "i", ix, n, kElementwiseBlock);
  w.line("const ", ix, " inner = i % ", l.inner, ";");
  w.line("const ", ix, " e = (i / ", l.inner, ") % ", l.n, ";");
  w.line("const ", ix, " outer = i / ", l.n * l.inner, ";");
  w.line("const ", ix, " base = outer * ", l.n * l.inner, " + inner;");
  w.line("const ", t, " v = ", load(d.inputs[0].dtype, "x0", "i"), ";");
  w.line(ix, " rank = 0;");
  w.open("for (", ix, " j = 0; j < ", l.n, "; ++j) {");
  w.line("const ", t, " u = ", load(d.inputs[0].dtype, "x0", "base + j * " + std::to_string(l.inner)),
         ";");
  std::string better = largest ? "u > v" : "u < v", worse = largest ? "u < v" : "u > v";
  w.line("rank += (", better, ") || (j < e && !(", worse, "));");
  w.close();
  w.open("if (rank < ", K, ") {");
  w.line("const ", ix, " at = (outer * ", K, " + rank) * ", l.inner, " + inner;");
  w.line("y0[at] = x0[i];");
  w.line("y1[at] = (i64)e;");
  w.close();
  w.close().close();
  out.source = w.str();
  out.launch = gridStrideLaunch(n, kElementwiseBlock);
  return true;
}

} // namespace

bool emitScan(const KernelDesc &d, CudaKernel &out, std::string &error) {
  if (d.inputs.empty() || d.outputs.empty()) {
    error = d.op + ": expected inputs and outputs";
    return false;
  }
  if (d.op == "eff.cum_sum")
    return emitCumSum(d, out, error);
  if (d.op == "eff.top_k")
    return emitTopK(d, out, error);
  error = d.op + ": not a scan op";
  return false;
}

} // namespace effc::codegen
