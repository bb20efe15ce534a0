//===- KernelEmitter.cpp - op name -> family emitter ----------------------===//
#include "compiler/codegen/KernelEmitter.h"

#include "compiler/codegen/Families.h"
#include "compiler/codegen/Prelude.h"
#include "compiler/codegen/attention/FlashAttention.h"

#include <cctype>
#include <map>

namespace effc::codegen {
namespace {

const std::map<std::string, EmitFn, std::less<>> &table() {
  static const std::map<std::string, EmitFn, std::less<>> t = [] {
    std::map<std::string, EmitFn, std::less<>> m;
    auto add = [&](EmitFn fn, std::initializer_list<const char *> ops) {
      for (const char *op : ops)
        m[std::string("eff.") + op] = fn;
    };
    add(emitElementwise,
        {"abs", "cos", "sin", "exp", "log", "neg", "reciprocal", "relu", "sigmoid", "sqrt", "tanh",
         "erf", "silu", "gelu", "not", "is_nan", "cast", "clip", "add", "sub", "mul", "div", "pow",
         "max", "min", "equal", "greater", "greater_or_equal", "less", "less_or_equal", "and", "or",
         "xor", "where"});
    add(emitDataMovement, {"identity", "reshape", "flatten", "squeeze", "unsqueeze", "transpose",
                           "expand", "slice", "concat", "split", "gather", "gather_elements",
                           "gather_nd", "trilu"});
    add(emitGenerator, {"range", "constant_of_shape", "shape"});
    add(emitReduction, {"reduce_sum", "reduce_mean", "reduce_max", "softmax"});
    add(emitNorm, {"layer_norm", "rms_norm"});
    add(emitScan, {"cum_sum", "top_k"});
    add(emitRope, {"rope"});
    add(emitMatmul, {"matmul", "gemm"});
    add(emitLoRA, {"lora_expand", "lora_linear"});
    add(emitAttention, {"attention"});
    add(emitAttentionPartial, {"attention_partial"});
    add(emitAttentionCombine, {"attention_combine"});
    add(emitFusion, {"fusion"});
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
  kernels += "\n";
  kernels += kernel.source;
  return kernel.name;
}

std::string CudaTranslationUnit::source() const {
  return cudaPrelude() + (attention ? attentionPrelude() : std::string()) + kernels;
}

std::string kernelName(size_t index, std::string_view op) {
  std::string_view base = op.substr(op.find('.') == std::string_view::npos ? 0 : op.find('.') + 1);
  std::string name = "k" + std::to_string(index) + "_";
  for (char c : base)
    name += (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return name;
}

} // namespace effc::codegen
