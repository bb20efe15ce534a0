//===- KernelEmitter.cpp - op name -> family emitter ----------------------===//
#include "compiler/codegen/KernelEmitter.h"

#include "compiler/codegen/Families.h"
#include "compiler/codegen/Prelude.h"
#include "compiler/codegen/device/DeviceCode.h"

#include <cctype>
#include <map>
#include <set>

namespace effc::codegen {
namespace {

struct Family {
  const char *name;
  ChooseFn choose;
  InstantiateFn instantiate;
};

// Every op that runs as a kernel, with the family its ODS names
// (`cudaFamily`): effc-tblgen -gen-eff-cuda-families.
const std::map<std::string, Family, std::less<>> &table() {
  static const std::map<std::string, Family, std::less<>> t = {
#define EFF_CUDA_OP(FAMILY, CLASS, NAME) {NAME, {#FAMILY, choose##FAMILY, instantiate##FAMILY}},
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

std::optional<KernelChoice> chooseCudaKernel(const KernelDesc &desc, std::string &error) {
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
  // Runtime extents (bounded dims) are written family by family; the others
  // keep every extent a compile-time constant.
  static const std::set<std::string, std::less<>> runtimeExtentFamilies = {
      "Elementwise",      "DataMovement", "Generator",      "Attention",
      "AttentionPartial", "Reduction",    "Matmul",         "Scan",
      "AttentionCombine", "Norm",         "PagedAttention", "PagedAttentionPartial",
      "PagedKvWrite",     "Fusion"};
  if (desc.usesDims() && !runtimeExtentFamilies.count(it->second.name)) {
    error = desc.op + ": runtime extents (a symbolic dim) in the " + it->second.name +
            " kernels are not done yet (issue 14 stage S3)";
    return std::nullopt;
  }
  KernelChoice choice;
  choice.family = it->second.name;
  if (!it->second.choose(desc, choice, error))
    return std::nullopt;
  return choice;
}

std::optional<CudaKernel> instantiateCudaKernel(const KernelDesc &desc, const KernelChoice &choice,
                                                std::string &error) {
  auto it = table().find(desc.op);
  if (it == table().end()) {
    error = "no CUDA emitter for '" + desc.op + "'";
    return std::nullopt;
  }
  CudaKernel kernel;
  if (!it->second.instantiate(desc, choice, kernel.source, error))
    return std::nullopt;
  kernel.name = desc.name;
  kernel.launch = choice.launch;
  kernel.needsAttentionPrelude = choice.needsAttentionPrelude;
  kernel.needsGemmPrelude = choice.needsGemmPrelude;
  kernel.needsQuantPrelude = choice.needsQuantPrelude;
  kernel.needsHopperPrelude = choice.needsHopperPrelude;
  kernel.needsMoEPrelude = choice.needsMoEPrelude;
  return kernel;
}

std::optional<CudaKernel> emitCudaKernel(const KernelDesc &desc, std::string &error) {
  std::optional<KernelChoice> choice = chooseCudaKernel(desc, error);
  if (!choice)
    return std::nullopt;
  return instantiateCudaKernel(desc, *choice, error);
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
  quant |= kernel.needsQuantPrelude;
  hopper |= kernel.needsHopperPrelude;
  moe |= kernel.needsMoEPrelude;
  kernels += "\n";
  kernels += kernel.source;
  return kernel.name;
}

std::string CudaTranslationUnit::source() const {
  // Each device file once, dependencies first (primitives.cuh comes with
  // cudaPrelude()).
  std::string text = cudaPrelude();
  if (gemm)
    text += deviceSources({"tensor_core_gemm.cuh", "ffma_gemm.cuh"});
  if (hopper)
    text += deviceSources({"hopper.cuh", "wgmma_gemm.cuh"});
  if (attention)
    text +=
        deviceSources({"attention_common.cuh", "attention_forward.cuh", "attention_decode.cuh"});
  if (quant)
    text += deviceSources({"quant_defs.cuh", "quant_linear.cuh"});
  if (moe)
    text += deviceSources({"moe_tiles.cuh", "moe.cuh", "moe_partition.cuh"});
  if (moe && hopper) // the MoE expert GEMMs' wgmma kernels (sm_90a)
    text += deviceSources({"moe_wgmma.cuh", "moe_wgmma_tma.cuh"});
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
