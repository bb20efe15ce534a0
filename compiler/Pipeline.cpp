//===- Pipeline.cpp - the effc pass pipeline ------------------------------===//
#include "compiler/Pipeline.h"

#include "passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

#include <algorithm>

namespace effc {

void buildPipeline(mlir::OpPassManager &pm, const PipelineOptions &options) {
  // Fold what import left (shape subgraphs whose inputs became constant),
  // re-infer types that folding made static, then clean up again.
  pm.addPass(mlir::createCanonicalizerPass());
  {
    // --kv-cache: the dims types alone leave unknown (GPT-2's heads next to
    // a runtime seq) are probed, so attention can be raised over them.
    mlir::eff::RefineShapesOptions refine;
    refine.probeDims = options.kvCache;
    pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createRefineShapes(refine));
  }
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
  // Adapt: LoRA adapters go in on the fp32 weights (a merge is computed in
  // fp32 and only then rounded to --dtype), before anything fuses.
  if (!options.loraAdapters.empty()) {
    mlir::eff::InsertLoRAOptions lora;
    lora.adapters = options.loraAdapters;
    lora.merge = options.loraMerge;
    pm.addPass(mlir::eff::createInsertLoRA(lora));
    pm.addPass(mlir::createCanonicalizerPass());
  }
  // Quantize: constant linear weights become packed eff.quant_linear codes,
  // from the exact fp32 weights (after a LoRA merge, before --dtype).
  if (!options.quantize.empty()) {
    mlir::eff::QuantizeWeightsOptions quantize;
    quantize.scheme = options.quantize;
    quantize.blockSize = options.quantizeBlock;
    quantize.doubleQuant = options.quantizeDouble;
    quantize.llmInt8Threshold = options.llmInt8Threshold;
    quantize.skip = options.quantizeSkip;
    quantize.remarks = options.remarks;
    pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createQuantizeWeights(quantize));
    pm.addPass(mlir::createCanonicalizerPass());
  }
  // Raise: batched MoE layers (per-token expert weight gathers) become
  // eff.moe, before the dtype conversion so that routing stays fp32.
  {
    mlir::eff::RaiseMoEOptions moe;
    moe.remarks = options.remarks;
    pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createRaiseMoE(moe));
    pm.addPass(mlir::createCanonicalizerPass());
  }
  // Raise: matmul/softmax/matmul chains become eff.attention (on the
  // canonical, static IR), then the views and masks they read fold or die.
  if (options.raiseAttention) {
    mlir::eff::RaiseAttentionOptions raise;
    raise.remarks = options.remarks;
    pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createRaiseAttention(raise));
    pm.addPass(mlir::createCanonicalizerPass());
    pm.addPass(mlir::createCSEPass());
  }
  // KV cache from a model without past: per attention, a cache input and a
  // present output, positions re-evaluated for the cached length (on the
  // raised attention, before the dtype conversion like an export with past).
  if (options.kvCache) {
    mlir::eff::KvCacheOptions kv;
    kv.remarks = options.remarks;
    pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createKvCache(kv));
    pm.addPass(mlir::createCanonicalizerPass());
    pm.addPass(mlir::createCSEPass());
  }
  // Generation reads one logits row per sequence: the LM head runs at the
  // positions of the new input logits_index only (before the dtype
  // conversion, on the head as imported).
  if (options.lastLogits) {
    mlir::eff::LastLogitsOptions last;
    last.remarks = options.remarks;
    pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createLastLogits(last));
  }
  if (options.dtype != "fp32") {
    mlir::eff::ConvertFloatTypeOptions convert;
    convert.dtype = options.dtype;
    pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createConvertFloatType(convert));
    pm.addPass(mlir::createCanonicalizerPass());
  }
  // Partition: each eff.moe's experts become independent groups over one
  // routing (after the dtype conversion, which keeps eff.moe's routing fp32).
  // --devices=N needs at least N groups to put one (or more) on each device.
  const int64_t moeGroups = std::max<int64_t>(options.moePartitions, options.devices);
  if (moeGroups != 1) {
    mlir::eff::PartitionMoEOptions partition;
    partition.partitions = moeGroups;
    pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createPartitionMoE(partition));
    pm.addPass(mlir::createCanonicalizerPass());
  }
  // Devices: expert groups and column-parallel linears placed on devices
  // (on the final dtype's weights, before lowering and fusion).
  if (options.devices != 1) {
    mlir::eff::PartitionDevicesOptions place;
    place.devices = options.devices;
    place.attention = options.devicesAttention;
    place.ringLayout = options.ringLayout;
    place.expertParallel = options.expertParallel;
    place.remarks = options.remarks;
    pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createPartitionDevices(place));
    pm.addPass(mlir::createCanonicalizerPass());
  }
  // MoE: each (remaining) eff.moe runs as its stage kernels: route, permute,
  // grouped expert GEMMs, combine (after the dtype conversion: h and the
  // kernels take the final types).
  {
    mlir::eff::LowerMoEOptions lower;
    lower.remarks = options.remarks;
    pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createLowerMoE(lower));
    pm.addPass(mlir::createCanonicalizerPass()); // the shared expert's reshaped weights
  }
  // KV cache: a decoder exported with past appends its new keys and values
  // to its cache (eff.kv_append) where it concatenated past and new rows
  // (issue 14 stage S4; after the dtype conversion, on the raised attention).
  {
    mlir::eff::KvCacheInplaceOptions kv;
    kv.remarks = options.remarks;
    kv.state = options.kvState;
    pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createKvCacheInplace(kv));
  }
  // Paged KV cache (issue 19): the appends and their attention become a
  // page pool per cache tensor, written and read through a block table.
  if (options.pagedKv > 0) {
    mlir::eff::PagedKvOptions paged;
    paged.pageSize = options.pagedKv;
    paged.poolPages = options.pagedKvPages;
    paged.splits = options.splitKvDecode ? options.splitKvSplits : 0;
    paged.remarks = options.remarks;
    pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createPagedKv(paged));
    // Ragged steps without padding: many sequences' tokens packed in one
    // row, attention per token (the other ops must keep tokens apart).
    if (options.packedTokens) {
      mlir::eff::PackedTokensOptions packed;
      packed.remarks = options.remarks;
      pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createPackedTokens(packed));
    }
  }
  // Decode: attention with few queries over a long KV cache splits over the
  // keys (attention_partial + attention_combine) so the grid fills the GPU.
  // It needs the final dtype (fp32 stays whole) and runs before fusion.
  if (options.splitKvDecode) {
    mlir::eff::SplitKVDecodeOptions split;
    split.remarks = options.remarks;
    if (options.splitKvSplits > 0) { // forced: also below min-kv-len
      split.splits = int(options.splitKvSplits);
      split.minKvLen = 0;
    }
    pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createSplitKVDecode(split));
  }
  // Merge: linears reading one activation with constant weights (q/k/v)
  // become one GEMM and slices of its result (final dtype; before the LoRA
  // decomposition, k-major weights and fusion, which then see the merged
  // GEMM and fold the slices into its readers).
  if (options.mergeLinears) {
    mlir::eff::MergeSiblingLinearsOptions merge;
    merge.remarks = options.remarks;
    pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createMergeSiblingLinears(merge));
  }
  // LoRA: each eff.lora_linear becomes the base GEMM, a shrink GEMM (one
  // per x) and an eff.lora_expand that the epilogue fusion below absorbs.
  // After the dtype conversion: the adapters' transposes fold in the
  // compute type.
  if (options.decomposeLoRA)
    pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createDecomposeLoRA());
  // sm_90a: 16-bit constant weights whose rows TMA cannot read ([K, N], N
  // not a multiple of 8) are stored [N, K] for the wgmma kernels (after
  // every pass that rewrites weights, before the GEMMs fuse).
  if (options.kMajorWeights) {
    mlir::eff::KMajorWeightsOptions kMajor;
    kMajor.remarks = options.remarks;
    pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createKMajorWeights(kMajor));
  }
  // Attention layout: a transpose of the new keys/values whose only reader
  // is the KV cache append folds into it (kv_append rows_perm); after the
  // passes that make the appends and before fusion sees the transposes.
  {
    mlir::eff::FoldAttentionLayoutOptions layout;
    layout.remarks = options.remarks;
    pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createFoldAttentionLayout(layout));
  }
  // Fuse: elementwise chains become one kernel each (eff.fusion), then a
  // GEMM's sole elementwise consumer moves into its epilogue.
  if (options.fuse) {
    mlir::eff::FuseElementwiseOptions elementwise;
    elementwise.remarks = options.remarks;
    pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createFuseElementwise(elementwise));
    mlir::eff::FuseGemmEpilogueOptions epilogue;
    epilogue.remarks = options.remarks;
    pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createFuseGemmEpilogue(epilogue));
  }
}

void registerPipeline() {
  mlir::PassPipelineRegistration<PipelineOptions>(
      "effc-pipeline",
      "The passes effc runs between import and code generation (its options are effc's flags)",
      buildPipeline);
}

} // namespace effc
