//===- Pipeline.h - the effc pass pipeline ------------------------*- C++ -*-===//
#ifndef EFFC_COMPILER_PIPELINE_H
#define EFFC_COMPILER_PIPELINE_H

#include "mlir/Pass/PassManager.h"

#include <string>
#include <vector>

namespace effc {

struct PipelineOptions {
  /// Compute precision: "fp32", "bf16" or "fp16" (weights converted at
  /// compile time, accumulation stays fp32 inside kernels).
  std::string dtype = "fp32";
  /// Passes that recognize patterns (attention, ...) emit a remark per
  /// candidate: what it became, or why it did not match.
  bool remarks = false;
  /// Group elementwise chains into eff.fusion kernels.
  bool fuse = true;
  /// Rewrite attention subgraphs into eff.attention (FlashAttention kernels).
  bool raiseAttention = true;
  /// Split decode-shaped eff.attention over the keys (eff-split-kv-decode).
  bool splitKvDecode = true;
  /// Lower eff.lora_linear to GEMMs + eff.lora_expand (false keeps it as one
  /// simple kernel: the reference the decomposition is checked against).
  bool decomposeLoRA = true;
  /// PEFT LoRA adapters (DIR, or NAME=DIR for per-request selection through
  /// the `lora_index` input) and whether to merge the one adapter into the
  /// weights instead of running it as a low-rank branch.
  std::vector<std::string> loraAdapters;
  bool loraMerge = false;
};

/// The passes `effc` runs between import and code generation.
void buildPipeline(mlir::PassManager &pm, const PipelineOptions &options);

} // namespace effc

#endif
