//===- Adapter.h - a PEFT LoRA adapter directory, loaded ----------*- C++ -*-===//
//
// A PEFT adapter directory as LoraModel.save_pretrained writes it:
//   adapter_config.json        (see AdapterConfig.h)
//   adapter_model.safetensors  base_model.model.<module>.lora_A.weight [rank, in]
//                              base_model.model.<module>.lora_B.weight [out, rank]
// The adapted layer computes y = x W^T + scale * (x A^T) B^T. Every tensor must
// be one of these (the "base_model.model." prefix may be absent), every module
// must have both, be targeted by the config and have the rank it gives.
//
#ifndef EFFC_COMPILER_LORA_ADAPTER_H
#define EFFC_COMPILER_LORA_ADAPTER_H

#include "compiler/lora/AdapterConfig.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace effc::lora {

struct LoraModule {
  /// PEFT module name without "base_model.model.", e.g. "model.layers.0.self_attn.q_proj".
  std::string key;
  int64_t rank = 0; // from the tensor shapes (checked against rank_pattern / r)
  double alpha = 0; // lora_alpha or its alpha_pattern override
  double scale = 0; // alpha / rank, or alpha / sqrt(rank) with use_rslora
  int64_t inFeatures = 0, outFeatures = 0;
  std::vector<float> a; // lora_A.weight, [rank, inFeatures] row-major
  std::vector<float> b; // lora_B.weight, [outFeatures, rank] row-major
};

/// The config fields (r, loraAlpha, fanInFanOut, useRslora, targetModules,
/// targetRegex, ...) come from AdapterConfig, so isTargeted(adapter, key)
/// applies to a loaded adapter.
struct LoraAdapter : AdapterConfig {
  std::string name; // user-given name ("" for a single unnamed adapter)
  std::string dir;
  std::vector<LoraModule> modules; // sorted by key

  const LoraModule *findModule(llvm::StringRef key) const;
};

/// Reads DIR/adapter_config.json and DIR/adapter_model.safetensors. Errors
/// name the file and the module or tensor, ready to print after "error: ".
llvm::Expected<LoraAdapter> loadLoraAdapter(llvm::StringRef dir, llvm::StringRef name = "");

/// Whether an ONNX module path names the PEFT module `peftKey`: equal, or ends
/// with "." + peftKey (the exporter wraps the HF model in an extra root:
/// "m.model.layers.0.self_attn.q_proj" names "model.layers.0.self_attn.q_proj").
bool modulePathMatches(llvm::StringRef onnxModulePath, llvm::StringRef peftKey);

} // namespace effc::lora

#endif
