//===- KernelEmitter.cpp - op name -> family emitter ----------------------===//
#include "compiler/codegen/KernelEmitter.h"

#include "compiler/codegen/Families.h"
#include "compiler/codegen/Prelude.h"
#include "compiler/codegen/device/DeviceCode.h"

#include <cctype>
#include <map>

namespace effc::codegen {
namespace {

// The ops that run as kernels, from the dialect's ODS (effc-tblgen's
// EffOpList.inc): an emitter can only be registered for one of them.
enum class EffOp {
#define EFF_KERNEL_OP(CLASS, NAME) CLASS,
#define EFF_REGION_OP(CLASS, NAME) CLASS,
#include "effc/EffOpList.inc"
};

const char *opName(EffOp op) {
  switch (op) {
#define EFF_KERNEL_OP(CLASS, NAME)                                                                 \
  case EffOp::CLASS:                                                                               \
    return NAME;
#define EFF_REGION_OP(CLASS, NAME) EFF_KERNEL_OP(CLASS, NAME)
#include "effc/EffOpList.inc"
#undef EFF_KERNEL_OP
  }
  return "";
}

const std::map<std::string, EmitFn, std::less<>> &table() {
  static const std::map<std::string, EmitFn, std::less<>> t = [] {
    std::map<std::string, EmitFn, std::less<>> m;
    auto add = [&](EmitFn fn, std::initializer_list<EffOp> ops) {
      for (EffOp op : ops)
        m[opName(op)] = fn;
    };
    using E = EffOp;
    add(emitElementwise,
        {E::AbsOp, E::CosOp, E::SinOp, E::ExpOp, E::LogOp, E::NegOp, E::ReciprocalOp, E::ReluOp,
         E::SigmoidOp, E::SqrtOp, E::TanhOp, E::ErfOp, E::GeluOp, E::NotOp, E::IsNaNOp, E::CastOp,
         E::ClipOp, E::AddOp, E::SubOp, E::MulOp, E::DivOp, E::PowOp, E::MaxOp, E::MinOp,
         E::EqualOp, E::GreaterOp, E::GreaterOrEqualOp, E::LessOp, E::LessOrEqualOp, E::AndOp,
         E::OrOp, E::XorOp, E::WhereOp});
    add(emitDataMovement,
        {E::IdentityOp, E::ReshapeOp, E::FlattenOp, E::SqueezeOp, E::UnsqueezeOp, E::TransposeOp,
         E::ExpandOp, E::SliceOp, E::ConcatOp, E::SplitOp, E::GatherOp, E::GatherElementsOp,
         E::GatherNDOp, E::TriluOp});
    add(emitGenerator, {E::RangeOp, E::ConstantOfShapeOp, E::ShapeOp});
    add(emitReduction, {E::ReduceSumOp, E::ReduceMeanOp, E::ReduceMaxOp, E::SoftmaxOp});
    add(emitNorm, {E::LayerNormOp, E::RMSNormOp});
    add(emitScan, {E::CumSumOp, E::TopKOp});
    add(emitRope, {E::RopeOp});
    add(emitMatmul, {E::MatMulOp, E::GemmOp});
    add(emitLoRA, {E::LoRAExpandOp, E::LoRALinearOp});
    add(emitAttention, {E::AttentionOp});
    add(emitAttentionPartial, {E::AttentionPartialOp});
    add(emitAttentionCombine, {E::AttentionCombineOp});
    add(emitFusion, {E::FusionOp});
    return m;
  }();
  return t;
}

} // namespace

bool hasCudaEmitter(std::string_view op) { return table().count(op) != 0; }

std::vector<std::string> cudaEmitterOps() {
  std::vector<std::string> ops;
  for (const auto &entry : table())
    ops.push_back(entry.first);
  return ops;
}

std::optional<CudaKernel> emitCudaKernel(const KernelDesc &desc, std::string &error) {
  auto it = table().find(desc.op);
  if (it == table().end()) {
    error = "no CUDA emitter for '" + desc.op + "'";
    return std::nullopt;
  }
  for (const auto *list : {&desc.inputs, &desc.outputs})
    for (const TensorDesc &t : *list)
      if (t.present && dtypeSize(t.dtype) == 0) {
        error = desc.op + ": unsupported element type";
        return std::nullopt;
      }
  CudaKernel kernel;
  if (!it->second(desc, kernel, error))
    return std::nullopt;
  kernel.name = desc.name;
  return kernel;
}

std::string CudaTranslationUnit::add(const CudaKernel &kernel) {
  std::string body = kernel.source;
  for (size_t at = body.find(kernel.name); !kernel.name.empty() && at != std::string::npos;
       at = body.find(kernel.name, at + 1))
    body.replace(at, kernel.name.size(), "\x01");
  auto [it, inserted] = byBody.emplace(std::move(body), kernel.name);
  if (!inserted)
    return it->second;
  attention |= kernel.needsAttentionPrelude;
  gemm |= kernel.needsGemmPrelude;
  kernels += "\n";
  kernels += kernel.source;
  return kernel.name;
}

std::string CudaTranslationUnit::source() const {
  // Each device file once, dependencies first (primitives.cuh comes with
  // cudaPrelude()).
  std::string text = cudaPrelude();
  if (gemm)
    text += deviceFile("tensor_core_gemm.cuh");
  if (attention)
    text += deviceSources({"attention_common.cuh", "attention_forward.cuh", "attention_decode.cuh"});
  return text + kernels;
}

std::string kernelName(size_t index, std::string_view op) {
  std::string_view base = op.substr(op.find('.') == std::string_view::npos ? 0 : op.find('.') + 1);
  std::string name = "k" + std::to_string(index) + "_";
  for (char c : base)
    name += (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return name;
}

} // namespace effc::codegen
