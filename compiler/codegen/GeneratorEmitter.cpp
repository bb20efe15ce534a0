//===- GeneratorEmitter.cpp - range, constant_of_shape, shape -------------===//
//
// Outputs that depend on indices (and scalars) only. eff.shape writes baked
// numbers (a symbolic extent: its value from effc_dims); range reads
// start/delta at run time (they are device buffers like any other input).
//
#include "compiler/codegen/Families.h"
#include "compiler/codegen/core/DTypeInfo.h"
#include "compiler/codegen/core/EmitterUtil.h"

#include <algorithm>

namespace effc::codegen {
namespace {

bool emitRange(const KernelDesc &d, const KernelChoice &c, std::string &out, std::string &error) {
  DType t = d.inputs[0].dtype;
  Compute k = computeOf(t);
  if (k == Compute::Bool) {
    error = d.op + ": unsupported dtype bool";
    return false;
  }
  // Integers step exactly in int64, floats in double (as the host).
  Compute math = k == Compute::I64 ? Compute::I64 : Compute::F64;
  const char *mt = computeType(math);
  CudaWriter w;
  std::string ix = indexType(d);
  openKernel(w, d, c.threads());
  w.line("const ", mt, " start = ", loadAs(t, "x0", "0", math), ";");
  w.line("const ", mt, " delta = ", loadAs(t, "x2", "0", math), ";");
  openGridStride(w, "i", ix, d.outputs[0].elements(), c.threads());
  w.line("y0[i] = ",
         storeValue(d.outputs[0].dtype, "start + (" + std::string(mt) + ")i * delta", math), ";");
  w.close().close();
  out = w.str();
  return true;
}

bool emitConstantOfShape(const KernelDesc &d, const KernelChoice &c, std::string &out) {
  DType t = d.outputs[0].dtype;
  std::string value = storeValue(t, "0.0", Compute::F64);
  auto it = d.attrs.find("value");
  if (it != d.attrs.end()) {
    if (auto *i = std::get_if<int64_t>(&it->second))
      value = storeValue(t, i64Lit(*i), Compute::I64);
    else if (auto *f = std::get_if<double>(&it->second))
      value = storeValue(t, doubleLit(*f), Compute::F64);
  }
  CudaWriter w;
  std::string ix = indexType(d);
  openKernel(w, d, c.threads());
  openGridStride(w, "i", ix, d.outputs[0].elements(), c.threads());
  w.line("y0[i] = ", value, ";");
  w.close().close();
  out = w.str();
  return true;
}

bool emitShape(const KernelDesc &d, const KernelChoice &c, std::string &out) {
  const std::vector<Extent> shape = d.inputs[0].extents();
  int64_t rank = int64_t(shape.size());
  auto clampIdx = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
  int64_t start = clampIdx(d.intAttr("start", op_defaults::ShapeOp_start)),
          end = clampIdx(d.intAttr("end", rank));
  CudaWriter w;
  openKernel(w, d, c.threads());
  w.open("if (blockIdx.x == 0 && threadIdx.x == 0) {");
  for (int64_t i = start; i < end; ++i)
    w.line("y0[", i - start,
           "] = ", shape[i].isConstant() ? i64Lit(shape[i].constant()) : shape[i].text(), ";");
  w.close();
  w.close();
  out = w.str();
  return true;
}

} // namespace

bool chooseGenerator(const KernelDesc &d, KernelChoice &c, std::string &error) {
  if (d.outputs.size() != 1) {
    error = d.op + ": expected one output";
    return false;
  }
  if (d.is(EffOp::RangeOp) || d.is(EffOp::ConstantOfShapeOp)) {
    c = gridStrideChoice(c.family, d.outputs[0].numElements());
    c.launch.followRuntime(0, d.outputs[0].elements(), c.threads(), c.launch.grid[0]);
    return true;
  }
  if (d.is(EffOp::ShapeOp)) {
    // A handful of numbers: one thread of one warp writes them.
    c.variant = "single-thread";
    c.launch.block[0] = 32;
    return true;
  }
  error = d.op + ": not a generator op";
  return false;
}

bool instantiateGenerator(const KernelDesc &d, const KernelChoice &c, std::string &out,
                          std::string &error) {
  if (d.outputs.size() != 1) {
    error = d.op + ": expected one output";
    return false;
  }
  if (d.is(EffOp::RangeOp))
    return d.inputs.size() == 3 ? emitRange(d, c, out, error)
                                : (error = d.op + ": expected 3 inputs", false);
  if (d.is(EffOp::ConstantOfShapeOp))
    return emitConstantOfShape(d, c, out);
  if (d.is(EffOp::ShapeOp) && !d.inputs.empty())
    return emitShape(d, c, out);
  error = d.op + ": not a generator op";
  return false;
}

} // namespace effc::codegen
