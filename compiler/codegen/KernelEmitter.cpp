//===- KernelEmitter.cpp - op name -> family emitter ----------------------===//
#include "compiler/codegen/KernelEmitter.h"

#include "compiler/codegen/Families.h"
#include "compiler/codegen/Prelude.h"
#include "compiler/codegen/device/DeviceCode.h"

#include <cctype>
#include <map>

namespace effc::codegen {
namespace {

// Every op that runs as a kernel, with the family its ODS names
// (`cudaFamily`): effc-tblgen -gen-eff-cuda-families.
const std::map<std::string, EmitFn, std::less<>> &table() {
  static const std::map<std::string, EmitFn, std::less<>> t = {
#define EFF_CUDA_OP(FAMILY, CLASS, NAME) {NAME, emit##FAMILY},
#include "dialects/eff/EffCudaFamilies.inc"
  };
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
