//===- NormEmitter.cpp - layer_norm, rms_norm ------------------------------===//
//
// One row = the dims [axis, rank). Two reductions per row (mean, then the
// centred sum of squares, as the host does: no E[x^2]-E[x]^2 cancellation),
// then the normalized row times scale (+ bias). Scale and bias broadcast to
// the row's shape through baked strides. Accumulation in fp32 (fp64 for
// fp64 inputs).
//
#include "compiler/codegen/Families.h"
#include "compiler/codegen/RowKernel.h"
#include "compiler/codegen/core/DTypeInfo.h"
#include "compiler/codegen/core/EmitterUtil.h"

namespace effc::codegen {

namespace {

/// X's dims from the normalized axis on form one row.
bool normAxis(const KernelDesc &d, int64_t &axis, std::string &error) {
  if (d.inputs.size() < 2 || d.outputs.size() != 1) {
    error = d.op + ": expected X, scale and one output";
    return false;
  }
  bool rms = d.is(EffOp::RMSNormOp);
  int64_t dflt = rms ? op_defaults::RMSNormOp_axis : op_defaults::LayerNormOp_axis;
  if (!normalizeAxis(d, d.intAttr("axis", dflt), d.inputs[0].rank(), axis, error))
    return false;
  // Runtime extents: the rows may be symbolic, a row (and scale, bias) not.
  for (size_t i = 0; i < d.inputs.size(); ++i)
    for (int64_t r = i == 0 ? axis : 0; d.inputs[i].symbolic() && r < d.inputs[i].rank(); ++r)
      if (!d.inputs[i].symShape[size_t(r)].isConstant()) {
        error = d.op + ": a normalized dim with a runtime extent is not done yet (issue 14 stage "
                       "S3)";
        return false;
      }
  return true;
}

/// The run's rows: X's dims before the normalized axis.
Extent runtimeRows(const KernelDesc &d, int64_t axis) {
  Extent rows = 1;
  for (int64_t r = 0; r < axis; ++r)
    rows *= d.inputs[0].extents()[size_t(r)];
  return rows;
}

} // namespace

bool chooseNorm(const KernelDesc &d, KernelChoice &c, std::string &error) {
  int64_t axis = 0;
  if (!normAxis(d, axis, error))
    return false;
  const TensorDesc &x = d.inputs[0];
  int64_t n = 1;
  for (int64_t r = axis; r < x.rank(); ++r)
    n *= x.shape[r];
  c = RowKernel::choose(c.family, n ? x.numElements() / n : 0, n);
  if (d.usesDims())
    RowKernel::followRuntimeRows(c, runtimeRows(d, axis));
  return true;
}

bool instantiateNorm(const KernelDesc &d, const KernelChoice &c, std::string &source,
                     std::string &error) {
  bool rms = d.is(EffOp::RMSNormOp);
  int64_t axis = 0;
  if (!normAxis(d, axis, error))
    return false;
  const TensorDesc &x = d.inputs[0];
  Compute k = computeOf(x.dtype);
  if (!isFloatCompute(k)) {
    error = d.op + ": unsupported dtype " + dtypeName(x.dtype);
    return false;
  }
  bool hasBias = !rms && d.hasInput(2);
  std::vector<int64_t> inner(x.shape.begin() + axis, x.shape.end());
  int64_t n = c.param("length");
  for (size_t i = 1; i < (hasBias ? 3u : 2u); ++i) {
    const auto &s = d.inputs[i].shape;
    bool ok = s.size() <= inner.size();
    for (size_t r = 0; ok && r < s.size(); ++r) {
      int64_t dim = inner[inner.size() - s.size() + r];
      ok = s[r] == 1 || s[r] == dim;
    }
    if (!ok) {
      error = d.op + ": operand " + std::to_string(i) + " " + shapeText(s) +
              " does not broadcast to " + shapeText(inner);
      return false;
    }
  }
  // Offsets of scale (and bias) for element j of the row.
  IndexSpace feat;
  feat.dims = inner;
  feat.strides.push_back(broadcastStrides(d.inputs[1].shape, inner));
  if (hasBias)
    feat.strides.push_back(broadcastStrides(d.inputs[2].shape, inner));
  feat = coalesce(feat);

  const char *t = computeType(k);
  // A description without epsilon gets the dialect's default (one ODS defvar).
  double epsilon = d.floatAttr("epsilon", rms ? op_defaults::RMSNormOp_epsilon
                                              : op_defaults::LayerNormOp_epsilon);
  std::string eps = k == Compute::F64 ? doubleLit(epsilon) : floatLit(float(epsilon));
  std::string sqrtFn = k == Compute::F64 ? "sqrt" : "sqrtf";
  RowKernel rk(c);
  CudaWriter w;
  std::string ix = indexType(d);
  openKernel(w, d, rk.threads());
  if (d.usesDims())
    rk.openRowLoop(w, ix, runtimeRows(d, axis));
  else
    rk.openRowLoop(w, ix);
  w.line("const ", ix, " base = row * ", n, ";");
  if (rms) {
    w.line("const ", t, " mean = 0;");
  } else {
    w.line(t, " sum = 0;");
    rk.openLaneLoop(w, "j", ix, n);
    w.line("sum += ", load(x.dtype, "x0", "base + j"), ";");
    w.close();
    w.line("const ", t, " mean = ", rk.reduce("sum", "SumOp"), " / (", t, ")", n, ";");
  }
  w.line(t, " sq = 0;");
  rk.openLaneLoop(w, "j", ix, n);
  w.line("const ", t, " c = ", load(x.dtype, "x0", "base + j"), " - mean;");
  w.line("sq += c * c;");
  w.close();
  w.line("const ", t, " inv = (", t, ")1 / ", sqrtFn, "(", rk.reduce("sq", "SumOp"), " / (", t, ")",
         n, " + ", eps, ");");
  rk.openLaneLoop(w, "j", ix, n);
  emitOffsets(w, "j", ix, feat, "f");
  std::string y = "(" + load(x.dtype, "x0", "base + j") + " - mean) * inv * " +
                  loadAs(d.inputs[1].dtype, "x1", "f0", k);
  if (hasBias)
    y += " + " + loadAs(d.inputs[2].dtype, "x2", "f1", k);
  w.line("y0[base + j] = ", storeValue(d.outputs[0].dtype, y, k), ";");
  w.close();
  w.close().close();
  source = w.str();
  return true;
}

} // namespace effc::codegen
