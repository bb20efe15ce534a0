//===- effc-translate.cpp - mlir-translate style driver for effc emission -===//
//
// Planned eff IR (what `effc --emit=mlir` prints, or written by hand) to what
// effc stores in an artifact, without the ONNX importer or the pass pipeline,
// so emission is lit-tested from .mlir (test/lit/translate):
//   effc-translate --eff-to-plan FILE.mlir       per kernel, the choice planning
//                                                made: name, family, variant,
//                                                tile parameters, launch
//   effc-translate --eff-to-cuda FILE.mlir       the CUDA translation unit
//   effc-translate --eff-to-manifest FILE.mlir   the manifest (protobuf text):
//                                                buffers, bindings, arena and
//                                                each kernel's entry
// --host-only plans as `effc --host-only` does: an op without a CUDA kernel
// is allowed instead of being an error.
//
#include "compiler/plan/ExecutionPlan.h"
#include "passes/Registration.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"

#include "llvm/Support/CommandLine.h"

#include <google/protobuf/text_format.h>

using namespace mlir;

namespace {

llvm::cl::opt<bool> hostOnly("host-only",
                             llvm::cl::desc("Plan for the host backend only: ops without a "
                                            "CUDA kernel are allowed (as effc --host-only)"));

FailureOr<effc::ExecutionPlan> plan(ModuleOp module) {
  effc::PlanOptions options;
  options.hostOnly = hostOnly;
  return effc::buildExecutionPlan(module, options);
}

void registerDialects(DialectRegistry &registry) { eff::registerEffcDialects(registry); }

} // namespace

int main(int argc, char **argv) {
  TranslateFromMLIRRegistration toPlan(
      "eff-to-plan", "eff IR to each kernel's planned choice (family, variant, tiles, launch)",
      [](ModuleOp module, llvm::raw_ostream &os) -> LogicalResult {
        FailureOr<effc::ExecutionPlan> planned = plan(module);
        if (failed(planned))
          return failure();
        for (const effc::KernelPlan &kernel : planned->kernels)
          os << effc::describeKernelPlan(kernel) << "\n";
        return success();
      },
      registerDialects);
  TranslateFromMLIRRegistration toCuda(
      "eff-to-cuda", "eff IR to the artifact's CUDA translation unit",
      [](ModuleOp module, llvm::raw_ostream &os) -> LogicalResult {
        FailureOr<effc::ExecutionPlan> planned = plan(module);
        if (failed(planned))
          return failure();
        os << planned->cudaSource;
        return success();
      },
      registerDialects);
  TranslateFromMLIRRegistration toManifest(
      "eff-to-manifest", "eff IR to the artifact's manifest (protobuf text format)",
      [](ModuleOp module, llvm::raw_ostream &os) -> LogicalResult {
        FailureOr<effc::ExecutionPlan> planned = plan(module);
        if (failed(planned))
          return failure();
        std::string text;
        if (!google::protobuf::TextFormat::PrintToString(planned->manifest, &text))
          return module.emitError("cannot print the manifest");
        os << text;
        return success();
      },
      registerDialects);
  return failed(
      mlirTranslateMain(argc, argv, "effc translation driver: eff IR to CUDA / manifest\n"));
}
