//===- ReductionEmitter.cpp - reduce_sum/mean/max, softmax ----------------===//
//
// Reductions over any set of axes: the kept dims index rows, the reduced
// dims index elements within a row (each group coalesced, so the common
// trailing-axes case is `row * R + k`). One warp or block per row
// (RowKernel.h), fp32 accumulation for fp16/bf16/fp32, fp64 for fp64,
// int64 for integers.
//
#include "compiler/codegen/Families.h"
#include "compiler/codegen/RowKernel.h"
#include "compiler/codegen/core/DTypeInfo.h"
#include "compiler/codegen/core/EmitterUtil.h"

namespace effc::codegen {
namespace {

/// The kept dims (one row each) and the reduced dims (a row's elements) of
/// a reduce_*, coalesced; rows and R count them. With runtime extents the
/// rows may be symbolic (`rows` is then their largest number); the reduced
/// dims stay static.
bool reduceGeometry(const KernelDesc &d, SymIndexSpace &kept, SymIndexSpace &red, int64_t &rows,
                    int64_t &R, std::string &error) {
  const TensorDesc &x = d.inputs[0];
  int64_t rank = x.rank();
  std::vector<int64_t> axes;
  bool haveAxes = d.hasInput(1);
  if (haveAxes) {
    if (!d.inputs[1].constInts) {
      error = d.op + ": axes must be a compile-time constant";
      return false;
    }
    axes = *d.inputs[1].constInts;
  }
  std::vector<bool> reduced(size_t(rank), axes.empty());
  // reduce_sum/mean/max share their ODS defaults (Eff_ReduceOp).
  if (axes.empty() &&
      d.intAttr("noop_with_empty_axes", op_defaults::ReduceSumOp_noop_with_empty_axes))
    reduced.assign(size_t(rank), false);
  for (int64_t a : axes) {
    int64_t axis = 0;
    if (!normalizeAxis(d, a, rank, axis, error))
      return false;
    reduced[size_t(axis)] = true;
  }
  const std::vector<Extent> extents = x.extents();
  std::vector<Extent> st = rowMajorStrides(extents);
  kept.strides.emplace_back();
  red.strides.emplace_back();
  for (int64_t r = 0; r < rank; ++r) {
    if (reduced[r] && !extents[r].isConstant()) {
      error = d.op + ": reducing a dim with a runtime extent is not done yet (issue 14 stage S3)";
      return false;
    }
    SymIndexSpace &s = reduced[r] ? red : kept;
    s.dims.push_back(extents[r]);
    s.strides[0].push_back(st[r]);
  }
  kept = coalesce(kept);
  red = coalesce(red);
  rows = 1;
  R = 1;
  for (int64_t r = 0; r < rank; ++r)
    (reduced[r] ? R : rows) *= x.shape[r];
  if (x.numElements() == 0)
    R = 0;
  return true;
}

bool emitReduce(const KernelDesc &d, const KernelChoice &c, std::string &out, std::string &error) {
  const TensorDesc &x = d.inputs[0];
  SymIndexSpace kept, red;
  int64_t rows = 0, R = 0;
  if (!reduceGeometry(d, kept, red, rows, R, error))
    return false;
  Compute k = computeOf(x.dtype);
  bool isMax = d.is(EffOp::ReduceMaxOp), isMean = d.is(EffOp::ReduceMeanOp);
  if (k == Compute::Bool && !isMax) {
    error = d.op + ": unsupported dtype bool";
    return false;
  }
  if (k == Compute::Bool)
    k = Compute::I64;
  RowKernel rk(c);
  CudaWriter w;
  std::string ix = indexType(d);
  const char *t = computeType(k);
  openKernel(w, d, rk.threads());
  if (d.usesDims())
    rk.openRowLoop(w, ix, d.outputs[0].elements());
  else
    rk.openRowLoop(w, ix);
  emitOffsets(w, "row", ix, kept, "b");
  w.line(t, " acc = ", isMax ? lowestOf(k) : std::string("0"), ";");
  rk.openLaneLoop(w, "r", ix, R);
  emitOffsets(w, "r", ix, red, "q");
  w.line("const ", t, " v = ", loadAs(x.dtype, "x0", "b0 + q0", k), ";");
  w.line(isMax ? "acc = MaxOp()(acc, v);" : "acc += v;");
  w.close();
  w.line("acc = ", rk.reduce("acc", isMax ? "MaxOp" : "SumOp"), ";");
  std::string value = "acc";
  if (isMean)
    value = k != Compute::I64 ? "acc / (" + std::string(t) + ")" + std::to_string(R)
            : R               ? "acc / " + std::to_string(R)
                              : std::string("0");
  w.line("if (lane == 0) y0[row] = ", storeValue(d.outputs[0].dtype, value, k), ";");
  w.close().close();
  out = w.str();
  return true;
}

/// Softmax rows: the lines along the normalized axis.
bool softmaxAxis(const KernelDesc &d, int64_t &axis, int64_t &n, int64_t &rows,
                 std::string &error) {
  const TensorDesc &x = d.inputs[0];
  if (!normalizeAxis(d, d.intAttr("axis", op_defaults::SoftmaxOp_axis), x.rank(), axis, error))
    return false;
  n = x.shape[axis];
  rows = n ? x.numElements() / n : 0;
  // With runtime extents the rows may be symbolic; the softmax axis and the
  // dims after it stay static.
  for (int64_t r = axis; x.symbolic() && r < x.rank(); ++r)
    if (!x.symShape[r].isConstant()) {
      error = d.op + ": a softmax axis or inner dim with a runtime extent is not done yet "
                     "(issue 14 stage S3)";
      return false;
    }
  return true;
}

bool emitSoftmax(const KernelDesc &d, const KernelChoice &c, std::string &out, std::string &error) {
  const TensorDesc &x = d.inputs[0];
  int64_t rank = x.rank(), axis = 0, n = 0, rows = 0;
  if (!softmaxAxis(d, axis, n, rows, error))
    return false;
  Compute k = computeOf(x.dtype);
  if (!isFloatCompute(k)) {
    error = d.op + ": unsupported dtype " + dtypeName(x.dtype);
    return false;
  }
  int64_t inner = 1;
  for (int64_t r = axis + 1; r < rank; ++r)
    inner *= x.shape[r];
  const char *t = computeType(k);
  std::string ex = k == Compute::F64 ? "exp" : "expf";
  RowKernel rk(c);
  CudaWriter w;
  std::string ix = indexType(d);
  openKernel(w, d, rk.threads());
  if (x.symbolic()) {
    // elements / n: the product of the other (possibly symbolic) dims.
    Extent runtimeRows = 1;
    for (int64_t r = 0; r < rank; ++r)
      if (r != axis)
        runtimeRows *= x.symShape[r];
    rk.openRowLoop(w, ix, runtimeRows);
  } else {
    rk.openRowLoop(w, ix);
  }
  if (inner == 1) {
    w.line("const ", ix, " base = row * ", n, ";");
  } else {
    w.line("const ", ix, " base = (row / ", inner, ") * ", n * inner, " + row % ", inner, ";");
  }
  std::string at = inner == 1 ? "base + j" : "base + j * " + std::to_string(inner);
  w.line(t, " mx = ", lowestOf(k), ";");
  rk.openLaneLoop(w, "j", ix, n);
  w.line("mx = MaxOp()(mx, ", load(x.dtype, "x0", at), ");");
  w.close();
  w.line("mx = ", rk.reduce("mx", "MaxOp"), ";");
  w.line(t, " sum = 0;");
  rk.openLaneLoop(w, "j", ix, n);
  w.line("sum += ", ex, "(", load(x.dtype, "x0", at), " - mx);");
  w.close();
  w.line("const ", t, " inv = (", t, ")1 / ", rk.reduce("sum", "SumOp"), ";");
  rk.openLaneLoop(w, "j", ix, n);
  w.line("y0[", at, "] = ",
         storeValue(d.outputs[0].dtype, ex + "(" + load(x.dtype, "x0", at) + " - mx) * inv", k),
         ";");
  w.close();
  w.close().close();
  out = w.str();
  return true;
}

bool checkReduction(const KernelDesc &d, std::string &error) {
  if (d.inputs.empty() || d.outputs.size() != 1) {
    error = d.op + ": expected inputs and one output";
    return false;
  }
  if (d.is(EffOp::SoftmaxOp) || d.is(EffOp::ReduceSumOp) || d.is(EffOp::ReduceMeanOp) ||
      d.is(EffOp::ReduceMaxOp))
    return true;
  error = d.op + ": not a reduction";
  return false;
}

} // namespace

bool chooseReduction(const KernelDesc &d, KernelChoice &c, std::string &error) {
  if (!checkReduction(d, error))
    return false;
  int64_t rows = 0, length = 0;
  if (d.is(EffOp::SoftmaxOp)) {
    int64_t axis = 0;
    if (!softmaxAxis(d, axis, length, rows, error))
      return false;
  } else {
    SymIndexSpace kept, red;
    if (!reduceGeometry(d, kept, red, rows, length, error))
      return false;
  }
  c = RowKernel::choose(c.family, rows, length);
  if (d.usesDims()) {
    // The run's rows: the product of the dims other than the reduced ones.
    const TensorDesc &x = d.inputs[0];
    Extent runtimeRows = d.is(EffOp::SoftmaxOp) ? Extent(1) : d.outputs[0].elements();
    if (d.is(EffOp::SoftmaxOp)) {
      int64_t axis = 0;
      normalizeAxis(d, d.intAttr("axis", op_defaults::SoftmaxOp_axis), x.rank(), axis, error);
      for (int64_t r = 0; r < x.rank(); ++r)
        if (r != axis)
          runtimeRows *= x.extents()[r];
    }
    RowKernel::followRuntimeRows(c, runtimeRows);
  }
  return true;
}

bool instantiateReduction(const KernelDesc &d, const KernelChoice &c, std::string &source,
                          std::string &error) {
  if (!checkReduction(d, error))
    return false;
  if (d.is(EffOp::SoftmaxOp))
    return emitSoftmax(d, c, source, error);
  return emitReduce(d, c, source, error);
}

} // namespace effc::codegen
