//===- Pipeline.h - the effc pass pipeline ------------------------*- C++ -*-===//
#ifndef EFFC_COMPILER_PIPELINE_H
#define EFFC_COMPILER_PIPELINE_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace effc {

/// What `effc` passes to the pipeline. The same struct parses the options of
/// `effc-opt --effc-pipeline="dtype=bf16 fuse=false ..."`, so the option
/// names below are effc's flag spellings.
struct PipelineOptions : public mlir::PassPipelineOptions<PipelineOptions> {
  Option<std::string> dtype{
      *this, "dtype",
      llvm::cl::desc("Compute precision: fp32, bf16 or fp16 (weights converted at compile time, "
                     "accumulation stays fp32 inside kernels)"),
      llvm::cl::init("fp32")};
  Option<bool> remarks{
      *this, "remarks",
      llvm::cl::desc("Passes that recognize patterns (attention, fusion, split-KV) "
                     "emit a remark per candidate: what it became, or why not"),
      llvm::cl::init(false)};
  Option<bool> fuse{*this, "fuse",
                    llvm::cl::desc("Group elementwise chains into eff.fusion kernels"),
                    llvm::cl::init(true)};
  Option<bool> raiseAttention{
      *this, "raise-attention",
      llvm::cl::desc("Rewrite attention subgraphs into eff.attention (FlashAttention kernels)"),
      llvm::cl::init(true)};
  Option<bool> kvCache{
      *this, "kv-cache",
      llvm::cl::desc("Give a decoder exported without a cache the with-past interface "
                     "(eff-kv-cache: past_key_values.{i}.* -> present.{i}.*)"),
      llvm::cl::init(false)};
  Option<bool> lastLogits{
      *this, "last-logits",
      llvm::cl::desc("Compute the logits at one position per row, named by the new input "
                     "logits_index (eff-last-logits)"),
      llvm::cl::init(false)};
  Option<bool> kMajorWeights{
      *this, "k-major-weights",
      llvm::cl::desc("Store 16-bit constant matmul weights whose [K, N] rows are not 16-byte "
                     "aligned as [N, K] (eff-k-major-weights; effc sets it for --arch=sm_90a "
                     "unless --gemm=mma)"),
      llvm::cl::init(false)};
  Option<bool> mergeLinears{
      *this, "merge-linears",
      llvm::cl::desc("Merge linear layers that read one activation (q/k/v projections) into "
                     "one GEMM over their concatenated weights (eff-merge-sibling-linears)"),
      llvm::cl::init(true)};
  Option<bool> kvState{
      *this, "kv-state",
      llvm::cl::desc("Keep the KV caches in session state (the plan's; here: eff-kv-cache-inplace "
                     "gives the cache interface the compute dtype)"),
      llvm::cl::init(false)};
  Option<bool> splitKvDecode{
      *this, "split-kv-decode",
      llvm::cl::desc("Split decode-shaped eff.attention over the keys (eff-split-kv-decode)"),
      llvm::cl::init(true)};
  Option<int64_t> splitKvSplits{
      *this, "split-kv-splits",
      llvm::cl::desc("eff-split-kv-decode's split count (0: its heuristic; N > 0 splits every "
                     "eligible attention N ways, whatever its key length)"),
      llvm::cl::init(0)};
  Option<int64_t> pagedKv{
      *this, "paged-kv",
      llvm::cl::desc("Page the KV cache of a decoder with past, pages of N positions "
                     "(eff-paged-kv; 0: off)"),
      llvm::cl::init(0)};
  Option<int64_t> pagedKvPages{
      *this, "paged-kv-pages",
      llvm::cl::desc("Pages per pool with --paged-kv (0: every sequence of the batch at its "
                     "longest)"),
      llvm::cl::init(0)};
  Option<bool> packedTokens{
      *this, "packed-tokens",
      llvm::cl::desc("With paged-kv: run input_ids [1, T] as the packed new tokens of many "
                     "sequences, attention per token (eff-packed-tokens)"),
      llvm::cl::init(false)};
  Option<bool> decomposeLoRA{
      *this, "decompose-lora",
      llvm::cl::desc("Lower eff.lora_linear to GEMMs + eff.lora_expand (false keeps it as one "
                     "simple kernel: the reference the decomposition is checked against)"),
      llvm::cl::init(true)};
  ListOption<std::string> loraAdapters{
      *this, "lora",
      llvm::cl::desc("PEFT LoRA adapters: DIR, or NAME=DIR (several; per-request selection "
                     "through the `lora_index` input)")};
  Option<std::string> quantize{
      *this, "quantize",
      llvm::cl::desc("Quantization of linear layers: int8, nf4 or llm-int8 (empty: none)"),
      llvm::cl::init("")};
  Option<int64_t> quantizeBlock{
      *this, "quantize-block",
      llvm::cl::desc("Values per quantization scale (int8: 0 = per output channel; nf4: 0 = 64)"),
      llvm::cl::init(0)};
  Option<bool> quantizeDouble{
      *this, "quantize-double",
      llvm::cl::desc("nf4: double quantization of the absmaxes (bitsandbytes)"),
      llvm::cl::init(false)};
  Option<double> llmInt8Threshold{
      *this, "llm-int8-threshold",
      llvm::cl::desc("llm-int8: activation columns with any |x| >= this are computed in fp32"),
      llvm::cl::init(6.0)};
  Option<std::string> quantizeSkip{
      *this, "quantize-skip",
      llvm::cl::desc("Regex over module paths whose linear layers keep their weights"),
      llvm::cl::init("lm_head|(^|[.])gate$")};
  Option<int64_t> moePartitions{
      *this, "moe-partitions",
      llvm::cl::desc("Split each eff.moe's experts into N groups run as independent kernels "
                     "(1: none)"),
      llvm::cl::init(1)};
  Option<int64_t> devices{
      *this, "devices",
      llvm::cl::desc("Plan for N devices: MoE expert groups per device, column-parallel "
                     "linears (1: none; eff-partition-devices)"),
      llvm::cl::init(1)};
  Option<std::string> devicesAttention{
      *this, "devices-attention",
      llvm::cl::desc("Attention over devices: replicate or ring (eff-partition-devices' "
                     "attention)"),
      llvm::cl::init("replicate")};
  Option<std::string> ringLayout{
      *this, "ring-layout",
      llvm::cl::desc("Ring attention's token layout: auto, striped or contiguous"),
      llvm::cl::init("auto")};
  Option<std::string> expertParallel{
      *this, "expert-parallel",
      llvm::cl::desc("MoE over devices: replicate (every token everywhere, an all-reduce) or "
                     "all-to-all (token shards exchanged with the experts' devices)"),
      llvm::cl::init("replicate")};
  Option<bool> loraMerge{*this, "lora-merge",
                         llvm::cl::desc("Merge the one adapter into the weights instead of "
                                        "running it as a low-rank branch"),
                         llvm::cl::init(false)};
};

/// The passes `effc` runs between import and code generation.
void buildPipeline(mlir::OpPassManager &pm, const PipelineOptions &options);

/// Registers buildPipeline as `effc-pipeline` (effc-opt --effc-pipeline=...).
void registerPipeline();

} // namespace effc

#endif
