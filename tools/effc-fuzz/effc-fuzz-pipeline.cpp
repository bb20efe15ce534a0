//===- effc-fuzz-pipeline.cpp - fuzz target for the whole compiler --------===//
//
// Runs everything `effc` does before NVRTC on arbitrary bytes: import (binary
// ModelProto; '#'-prefixed input is text-format ONNX; '/'-prefixed input is
// eff IR, which reaches the passes directly, as `effc file.mlir` does),
// verification, the pass pipeline, and the execution plan with CUDA
// emission. The last byte picks pipeline options (dtype, attention raising,
// fusion, split-KV decode) and whether `input_ids` is bound to 2x16.
//
// Any crash, abort, sanitizer report or hang is a bug: every stage must
// answer bad input with a diagnostic. libFuzzer drives it through
// test/fuzz/run-fuzzer.sh; effc-fuzz-pipeline-replay (no libFuzzer, built in
// every configuration) replays the committed corpus in ctest.
//
#include "FuzzContext.h"
#include "compiler/Pipeline.h"
#include "compiler/onnx/OnnxImporter.h"
#include "compiler/plan/ExecutionPlan.h"

#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace {

/// Options from the input's last byte, so the corpus explores every pipeline.
void setOptionsFrom(uint8_t selector, effc::PipelineOptions &options) {
  static const char *const kDtypes[] = {"fp32", "bf16", "fp16", "fp32"};
  options.dtype = kDtypes[(selector >> 1) & 3];
  options.raiseAttention = !(selector & 8);
  options.fuse = !(selector & 16);
  options.splitKvDecode = !(selector & 32);
  options.remarks = selector & 64; // remarks take their own code paths
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  effc::fuzz::FuzzContext fuzzContext;
  mlir::MLIRContext &context = fuzzContext.get();
  std::string bytes(reinterpret_cast<const char *>(data), size);
  uint8_t selector = size ? data[size - 1] : 0;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  if (size > 0 && data[0] == '/') {
    module = mlir::parseSourceString<mlir::ModuleOp>(bytes, &context, "fuzz.mlir");
  } else {
    effc::ImportOptions options;
    options.externalDataDir = "/nonexistent/effc-fuzz"; // external data must fail cleanly
    if (selector & 1)
      options.inputShapes["input_ids"] = {2, 16};
    bool text = size > 0 && data[0] == '#';
    module = effc::importOnnxBytes(context, bytes, text ? "fuzz.textproto" : "fuzz.onnx", options);
  }
  if (!module || mlir::failed(mlir::verify(*module)))
    return 0;

  mlir::PassManager pm(&context);
  effc::PipelineOptions options;
  setOptionsFrom(selector, options);
  effc::buildPipeline(pm, options);
  if (mlir::failed(pm.run(*module)))
    return 0;
  // Host-only: an op without a CUDA kernel does not stop the walk, so every
  // later kernel is still planned and emitted.
  effc::PlanOptions planOptions;
  planOptions.hostOnly = true;
  (void)effc::buildExecutionPlan(*module, planOptions);
  return 0;
}
