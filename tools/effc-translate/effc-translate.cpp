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
// is allowed instead of being an error; --arch, --gemm and --remarks as
// effc's.
//
#include "compiler/plan/ExecutionPlan.h"
#include "passes/Registration.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"

#include <google/protobuf/text_format.h>

using namespace mlir;

namespace {

llvm::cl::opt<bool> hostOnly("host-only",
                             llvm::cl::desc("Plan for the host backend only: ops without a "
                                            "CUDA kernel are allowed (as effc --host-only)"));

llvm::cl::opt<std::string> arch("arch",
                                llvm::cl::desc("Target arch(s), comma-separated, as effc --arch: "
                                               "all sm_90a plans the Hopper GEMM kernels"),
                                llvm::cl::init("sm_90"));
llvm::cl::opt<std::string> gemm("gemm",
                                llvm::cl::desc("auto|mma|wgmma|tma, as effc --gemm (not checked "
                                               "against --arch here)"),
                                llvm::cl::init("auto"));
llvm::cl::opt<bool> kvState("kv-state",
                            llvm::cl::desc("Keep eff.kv_append's caches in session state, as "
                                           "effc --kv-state"));
llvm::cl::opt<bool> remarks("remarks",
                            llvm::cl::desc("A remark at each op whose kernel falls back, as effc "
                                           "--remarks"));

FailureOr<effc::ExecutionPlan> plan(ModuleOp module) {
  effc::PlanOptions options;
  options.hostOnly = hostOnly;
  llvm::SmallVector<llvm::StringRef> archs;
  llvm::StringRef(arch).split(archs, ',', -1, /*KeepEmpty=*/false);
  options.sm90a =
      !archs.empty() && llvm::all_of(archs, [](llvm::StringRef a) { return a == "sm_90a"; });
  using effc::codegen::GemmKernelChoice;
  options.gemm = gemm == "mma"     ? GemmKernelChoice::Mma
                 : gemm == "wgmma" ? GemmKernelChoice::Wgmma
                 : gemm == "tma"   ? GemmKernelChoice::Tma
                                   : GemmKernelChoice::Auto;
  options.remarks = remarks;
  options.kvState = kvState;
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
