//===- KernelPlan.cpp - manifest entries and CUDA source from the plan ----===//
#include "compiler/plan/KernelPlan.h"

#include "compiler/codegen/KernelEmitter.h"

#include "llvm/ADT/STLExtras.h"

namespace effc {

namespace {

artifact::Attr toManifestAttr(const host::AttrValue &value) {
  artifact::Attr attr;
  if (auto *i = std::get_if<int64_t>(&value))
    attr.set_i(*i);
  else if (auto *f = std::get_if<double>(&value))
    attr.set_f(*f);
  else if (auto *s = std::get_if<std::string>(&value))
    attr.set_s(*s);
  else if (auto *ints = std::get_if<std::vector<int64_t>>(&value))
    for (int64_t v : *ints)
      attr.mutable_ints()->add_values(v);
  else if (auto *floats = std::get_if<std::vector<double>>(&value))
    for (double v : *floats)
      attr.mutable_floats()->add_values(v);
  return attr;
}

/// The attributes as the kernels read them (the host kernels' names and
/// kinds), for a Kernel or a fused BodyOp.
void copyAttrs(const host::Attrs &attrs, google::protobuf::Map<std::string, artifact::Attr> &out) {
  for (const auto &[key, value] : attrs)
    out[key] = toManifestAttr(value);
}

} // namespace

CudaEmission emitCudaTranslationUnit(const std::vector<KernelPlan> &kernels) {
  CudaEmission emission;
  codegen::CudaTranslationUnit unit;
  for (const KernelPlan &kernel : kernels) {
    if (!kernel.cuda) {
      emission.functions.emplace_back();
      continue;
    }
    std::optional<codegen::CudaKernel> cuda =
        codegen::instantiateCudaKernel(kernel.desc, *kernel.cuda, emission.error);
    if (!cuda) {
      emission.failedKernel = emission.functions.size();
      return emission;
    }
    emission.functions.push_back(unit.add(*cuda));
  }
  if (!unit.empty())
    emission.source = unit.source();
  return emission;
}

std::string describeKernelPlan(const KernelPlan &kernel) {
  return kernel.desc.name + " " + (kernel.cuda ? toString(*kernel.cuda) : "host-only");
}

void toManifestKernel(const KernelPlan &kernel, const std::string &function,
                      artifact::Kernel &out) {
  const codegen::KernelDesc &desc = kernel.desc;
  out.set_op(desc.op);
  out.set_location(kernel.location);
  out.set_stream(kernel.stream);
  out.set_device(kernel.device < 0 ? 0 : uint32_t(kernel.device + 1));
  copyAttrs(desc.attrs, *out.mutable_attrs());
  for (int32_t id : kernel.inputs)
    out.add_inputs(id);
  for (int32_t id : kernel.outputs)
    out.add_outputs(id);
  // eff.fusion: the body over value indices (0..n-1 the kernel inputs, then
  // each body op's results), which the host backend runs op by op.
  for (auto [i, fused] : llvm::enumerate(desc.body)) {
    artifact::BodyOp *bodyOp = out.add_body();
    bodyOp->set_op(fused.desc.op);
    bodyOp->set_location(kernel.bodyLocations[i]);
    copyAttrs(fused.desc.attrs, *bodyOp->mutable_attrs());
    for (int operand : fused.operands)
      bodyOp->add_operands(operand);
    for (const codegen::TensorDesc &result : fused.desc.outputs) {
      bodyOp->add_result_dtypes(artifact::DType(int(result.dtype)));
      artifact::Ints *shape = bodyOp->add_result_shapes();
      for (int64_t d : result.shape)
        shape->add_values(d);
    }
    // Symbolic results: every result dim's expression, so that the host
    // shapes body values of other shapes than the output (slices, concat
    // operands, transposes) per run.
    if (llvm::any_of(fused.desc.outputs, [](const codegen::TensorDesc &t) { return t.symbolic(); }))
      for (const codegen::TensorDesc &result : fused.desc.outputs)
        for (const codegen::Extent &extent : result.extents()) {
          DimExpr expr;
          for (const auto &[dims, coeff] : extent.terms())
            expr.addTerm(coeff, dims);
          expr.toProto(*bodyOp->add_result_shape_exprs());
        }
  }
  for (int output : desc.bodyOutputs)
    out.add_body_outputs(output);
  if (function.empty() || !kernel.cuda)
    return;
  out.set_source(function);
  std::string choice = kernel.cuda->family + " " + kernel.cuda->variant;
  for (const auto &[key, value] : kernel.cuda->params)
    choice += " " + key + "=" + std::to_string(value);
  out.set_choice(choice);
  if (desc.usesDims())
    out.set_uses_dims(true);
  artifact::Launch *launch = out.mutable_launch();
  const codegen::LaunchDims &dims = kernel.cuda->launch;
  for (int i = 0; i < 3; ++i) {
    launch->add_grid(dims.grid[i]);
    launch->add_block(dims.block[i]);
  }
  launch->set_shared_bytes(dims.sharedBytes);
  for (const codegen::TensorMapDesc &m : kernel.cuda->tensorMaps) {
    artifact::TensorMap *map = out.add_tensor_maps();
    map->set_arg(uint32_t(m.arg));
    map->set_dtype(artifact::DType(int(m.dtype)));
    for (uint64_t d : m.dims)
      map->add_dims(d);
    for (uint64_t st : m.strides)
      map->add_strides(st);
    for (uint32_t b : m.box)
      map->add_box(b);
    for (uint32_t e : m.elementStrides)
      map->add_element_strides(e);
    map->set_interleave(uint32_t(m.interleave));
    map->set_swizzle(uint32_t(m.swizzle));
    map->set_l2_promotion(uint32_t(m.l2Promotion));
    map->set_oob_fill(uint32_t(m.oobFill));
  }
  for (const codegen::RuntimeGrid &g : dims.runtimeGrid) {
    artifact::GridExpr *e = launch->add_grid_exprs();
    e->set_axis(uint32_t(g.axis));
    for (const auto &[ids, coeff] : g.count.terms()) {
      artifact::DimTerm *term = e->mutable_count()->add_terms();
      term->set_coeff(coeff);
      for (uint32_t id : ids)
        term->add_dims(id);
    }
    e->set_per_block(uint64_t(g.perBlock));
    e->set_cap(uint64_t(g.cap));
  }
}

} // namespace effc
