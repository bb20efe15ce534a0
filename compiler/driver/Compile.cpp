//===- Compile.cpp - the compiler as one library call ---------------------===//
#include "compiler/driver/Compile.h"
#include "compiler/plan/SymbolicViews.h"

#include "compiler/Pipeline.h"
#include "compiler/codegen/gemm/TensorCoreGemm.h"
#include "compiler/onnx/OnnxImporter.h"
#include "compiler/onnx/OnnxLocations.h"
#include "compiler/plan/ExecutionPlan.h"
#include "cuda/EmbedCubins.h"
#include "passes/Registration.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>

using namespace llvm;

namespace effc {
namespace {

/// Every --arch is sm_90a: the artifact may carry the wgmma kernels.
bool sm90aOnly(const CompileOptions &options) {
  return !options.archs.empty() &&
         llvm::all_of(options.archs, [](const std::string &a) { return a == "sm_90a"; });
}

/// Forwards diagnostics to the caller's handler and remembers the first
/// error, which becomes the message of the failing Status.
class Reporter {
public:
  explicit Reporter(const DiagnosticHandler &handler) : handler_(handler) {}

  void report(DiagnosticKind kind, const std::string &line) {
    if (kind == DiagnosticKind::Error && firstError_.empty())
      firstError_ = line;
    if (handler_)
      handler_(kind, line);
  }
  void progress(const std::string &line) { report(DiagnosticKind::Progress, line); }
  /// An error of the driver itself (not at an op): "effc: error: MESSAGE".
  Status error(const std::string &message) {
    report(DiagnosticKind::Error, "effc: error: " + message);
    return failure();
  }
  /// The Status of a failure already reported (through MLIR's diagnostics).
  Status failure(const std::string &path = "") const {
    if (!firstError_.empty())
      return Status::error(firstError_);
    return Status::error(path + ": compilation failed");
  }

private:
  const DiagnosticHandler &handler_;
  std::string firstError_;
};

/// "FILE[:LINE:COL]: error: MESSAGE". Imported ops are located at
/// (model file, line 0) inside a NameLoc of the ONNX node (and the PyTorch
/// module path when known): line 0 is not printed, and the node/module are
/// appended when the message does not already name the node.
void reportDiagnostic(Reporter &reporter, mlir::Diagnostic &diag) {
  auto print = [&](mlir::Location loc, mlir::DiagnosticSeverity severity, StringRef message) {
    std::string file = "effc";
    unsigned line = 0, col = 0;
    loc->walk([&](mlir::Location l) {
      if (auto f = dyn_cast<mlir::FileLineColLoc>(l)) {
        file = f.getFilename().str();
        line = f.getLine();
        col = f.getColumn();
        return mlir::WalkResult::interrupt();
      }
      return mlir::WalkResult::advance();
    });
    std::string text;
    raw_string_ostream os(text);
    os << file;
    if (line > 0)
      os << ":" << line << ":" << col;
    DiagnosticKind kind = DiagnosticKind::Error;
    switch (severity) {
    case mlir::DiagnosticSeverity::Error:
      os << ": error: ";
      break;
    case mlir::DiagnosticSeverity::Warning:
      os << ": warning: ";
      kind = DiagnosticKind::Warning;
      break;
    case mlir::DiagnosticSeverity::Note:
      os << ": note: ";
      kind = DiagnosticKind::Note;
      break;
    case mlir::DiagnosticSeverity::Remark:
      os << ": remark: ";
      kind = DiagnosticKind::Remark;
      break;
    }
    os << message;
    std::optional<std::string> node = getNodeName(loc);
    if (node && !message.contains("'" + *node + "'")) {
      os << " [node '" << *node << "'";
      if (std::optional<std::string> module = getModulePath(loc))
        os << ", module " << *module;
      os << "]";
    }
    reporter.report(kind, os.str());
  };
  print(diag.getLocation(), diag.getSeverity(), diag.str());
  for (mlir::Diagnostic &note : diag.getNotes())
    print(note.getLocation(), note.getSeverity(), note.str());
}

std::string printModule(mlir::ModuleOp module, bool printWeights) {
  mlir::OpPrintingFlags flags;
  if (!printWeights)
    flags.elideLargeResourceString(64);
  std::string text;
  raw_string_ostream os(text);
  module->print(os, flags);
  os << "\n";
  return text;
}

int kernelsWithSource(const artifact::Manifest &m) {
  int n = 0;
  for (const auto &k : m.kernels())
    n += !k.source().empty();
  return n;
}

/// Plans the pipeline's output and produces the CUDA source or the artifact.
StatusOr<CompileResult> planAndWrite(const std::string &path, mlir::ModuleOp module,
                                     const CompileOptions &options, Reporter &reporter,
                                     mlir::TimingScope &rootTiming) {
  FailureOr<ExecutionPlan> plan;
  {
    mlir::TimingScope t = rootTiming.nest("plan");
    PlanOptions planOptions;
    planOptions.hostOnly = options.hostOnly;
    planOptions.kvState = options.kvState;
    planOptions.sm90a = sm90aOnly(options);
    planOptions.gemm = options.gemm == "mma"     ? codegen::GemmKernelChoice::Mma
                       : options.gemm == "wgmma" ? codegen::GemmKernelChoice::Wgmma
                       : options.gemm == "tma"   ? codegen::GemmKernelChoice::Tma
                                                 : codegen::GemmKernelChoice::Auto;
    planOptions.decodeGemv = options.decodeGemv;
    planOptions.remarks = options.remarks;
    plan = buildExecutionPlan(module, planOptions);
  }
  if (failed(plan))
    return reporter.failure(path);
  CompileResult result;
  if (options.emit == CompileEmit::Cuda) {
    result.output = plan->cudaSource;
    return result;
  }
  // The CUDA translation unit is the payload's first (and so far only) item.
  plan->manifest.set_cuda_source_offset(0);
  plan->manifest.set_cuda_source_size(plan->cudaSource.size());
  plan->manifest.set_model_name(path);
  plan->manifest.set_compute_dtype(options.dtype);
  if (llvm::any_of(plan->kernels,
                   [](const KernelPlan &k) { return k.cuda && k.cuda->needsHopperPrelude; }))
    plan->manifest.set_cuda_arch("sm_90a"); // wgmma needs it; the runtime JITs for it
  for (const WeightBlob &w : plan->weights)
    result.weightBytes += w.bytes.size();
  std::string payload = plan->cudaSource;
  if (options.embedCubin) {
    // NVRTC needs no GPU: the runtime then loads these cubins instead of
    // compiling when the device's arch matches.
    mlir::TimingScope t = rootTiming.nest("nvrtc (embed cubins)");
    if (options.verbose)
      reporter.progress("effc: compiling " + std::to_string(kernelsWithSource(plan->manifest)) +
                        " kernels with NVRTC for " + join(options.archs, ","));
    Status embedded = nvrtc::embedCubins(plan->manifest, payload, options.archs);
    if (!embedded.ok())
      return reporter.error("--embed-cubin: " + embedded.message());
  }
  const artifact::Manifest &m = plan->manifest;
  result.kernels = m.kernels_size();
  result.weights = int(plan->weights.size());
  {
    mlir::TimingScope t = rootTiming.nest("write artifact");
    if (options.outputPath.empty()) {
      StatusOr<std::string> bytes = serializeArtifact(m, plan->weights, payload);
      if (!bytes.ok())
        return reporter.error(path + ": " + bytes.status().message());
      result.output = std::move(*bytes);
    } else {
      Status written = writeArtifact(options.outputPath, m, plan->weights, payload);
      if (!written.ok())
        return reporter.error(written.message());
    }
  }
  // The writer fills in the sizes; read them back from what it wrote.
  result.arenaBytes = m.arena_bytes();
  result.intermediateBytes = m.intermediate_bytes();
  if (!options.outputPath.empty()) {
    std::string line;
    raw_string_ostream os(line);
    os << "effc: wrote " << options.outputPath << ": " << result.kernels << " kernels, "
       << result.weights << " weights (" << format("%.2f", result.weightBytes / 1048576.0)
       << " MiB), arena " << format("%.1f", result.arenaBytes / 1024.0) << " KiB for "
       << format("%.1f", result.intermediateBytes / 1024.0) << " KiB of intermediates";
    reporter.progress(os.str());
  }
  return result;
}

StatusOr<CompileResult> compileWithTiming(const std::string &path, const CompileOptions &options,
                                          Reporter &reporter, mlir::TimingScope &rootTiming) {
  if (options.dtype != "fp32" && options.dtype != "bf16" && options.dtype != "fp16")
    return reporter.error("--dtype must be fp32, bf16 or fp16, got '" + options.dtype + "'");
  if (options.loraMerge && options.loraAdapters.empty())
    return reporter.error("--lora-merge needs an adapter (--lora=DIR)");
  if (options.gemm != "auto" && options.gemm != "mma" && options.gemm != "wgmma" &&
      options.gemm != "tma")
    return reporter.error("--gemm must be auto, mma, wgmma or tma, got '" + options.gemm + "'");
  if ((options.gemm == "wgmma" || options.gemm == "tma") && !sm90aOnly(options))
    return reporter.error("--gemm=" + options.gemm +
                          " needs --arch=sm_90a (the wgmma kernels build for sm_90a only)");
  if (!options.decodeGemv.empty()) {
    const auto &names = codegen::tcgemm::decodeGemvVariants();
    if (std::find(names.begin(), names.end(), options.decodeGemv) == names.end())
      return reporter.error("--decode-gemv must be one of " + llvm::join(names, ", ") + ", got '" +
                            options.decodeGemv + "'");
  }
  if (!options.quantize.empty() && options.quantize != "int8" && options.quantize != "nf4" &&
      options.quantize != "llm-int8")
    return reporter.error("--quantize must be int8, nf4 or llm-int8, got '" + options.quantize +
                          "'");
  if (options.llmInt8Threshold != 6.0 && options.quantize != "llm-int8")
    return reporter.error("--llm-int8-threshold needs --quantize=llm-int8");
  if (!(options.llmInt8Threshold > 0) || std::isinf(options.llmInt8Threshold))
    return reporter.error("--llm-int8-threshold must be a positive number, got " +
                          std::to_string(options.llmInt8Threshold));
  if (options.quantize.empty() && (options.quantizeBlock || options.quantizeDouble))
    return reporter.error("--quantize-block and --quantize-double need --quantize");
  if (options.quantizeBlock < 0)
    return reporter.error("--quantize-block must be >= 0, got " +
                          std::to_string(options.quantizeBlock));
  if (options.moePartitions < 1)
    return reporter.error("--moe-partitions must be >= 1, got " +
                          std::to_string(options.moePartitions));
  if (options.devices < 1)
    return reporter.error("--devices must be >= 1, got " + std::to_string(options.devices));
  if (options.devicesAttention != "replicate" && options.devicesAttention != "ring")
    return reporter.error("--devices-attention must be replicate or ring, got '" +
                          options.devicesAttention + "'");
  if (options.ringLayout != "auto" && options.ringLayout != "striped" &&
      options.ringLayout != "contiguous")
    return reporter.error("--ring-layout must be auto, striped or contiguous, got '" +
                          options.ringLayout + "'");
  if (options.expertParallel != "replicate" && options.expertParallel != "all-to-all")
    return reporter.error("--expert-parallel must be replicate or all-to-all, got '" +
                          options.expertParallel + "'");
  if (options.packedTokens && options.pagedKv == 0)
    return reporter.error("--packed-tokens needs --paged-kv=N (it packs a paged decoder's tokens)");
  if (options.embedCubin && options.archs.empty())
    return reporter.error("--embed-cubin needs at least one --arch");
  bool isEffIR = StringRef(path).ends_with(".mlir");
  if (isEffIR && !options.dims.empty())
    return reporter.error("--dim " + options.dims.begin()->first +
                          ": an eff IR input has no ONNX dim_params to fix");

  mlir::DialectRegistry registry;
  mlir::eff::registerEffcDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  mlir::ScopedDiagnosticHandler diagnostics(&context, [&](mlir::Diagnostic &diag) {
    reportDiagnostic(reporter, diag);
    return mlir::success();
  });
  // The node name and module path say where; a dump of the op in generic
  // form ("see current operation") does not help a user.
  context.printOpOnDiagnostic(false);

  ImportOptions importOptions;
  importOptions.inputShapes = options.shapes;
  importOptions.constantInputFiles = options.constInputs;
  importOptions.remarks = options.remarks;
  if (options.kvCache)
    importOptions.addedDims = {"past", "total"}; // eff-kv-cache's defaults
  for (const auto &[name, range] : options.dims) {
    if (range.isFixed())
      importOptions.dimValues[name] = range.min;
    else
      importOptions.dimBounds[name] = {range.min, range.max};
  }
  mlir::OwningOpRef<mlir::ModuleOp> module;
  {
    mlir::TimingScope t = rootTiming.nest("import");
    if (options.verbose)
      reporter.progress("effc: importing " + path);
    // eff IR (e.g. from --emit=mlir-import, or written by hand for tests)
    // enters the same pipeline as an imported model.
    if (isEffIR)
      module = mlir::parseSourceFile<mlir::ModuleOp>(path, &context);
    else
      module = importOnnxFile(context, path, importOptions);
  }
  if (!module)
    return reporter.failure(path);
  {
    mlir::TimingScope t = rootTiming.nest("verify");
    if (failed(mlir::verify(*module)))
      return reporter.failure(path);
  }
  if (options.emit == CompileEmit::MlirImport) {
    CompileResult result;
    result.output = printModule(*module, options.printWeights);
    return result;
  }

  mlir::PassManager pm(&context);
  mlir::TimingScope pipelineTiming = rootTiming.nest("pipeline");
  pm.enableTiming(pipelineTiming);
  // effc-opt --effc-pipeline parses the same struct (test/lit/pipeline).
  PipelineOptions pipelineOptions;
  pipelineOptions.dtype = options.dtype;
  pipelineOptions.fuse = options.fuse;
  pipelineOptions.raiseAttention = options.raiseAttention;
  pipelineOptions.decomposeLoRA = options.decomposeLoRA;
  pipelineOptions.splitKvDecode = options.splitKvDecode;
  pipelineOptions.kvCache = options.kvCache;
  pipelineOptions.kvState = options.kvState;
  pipelineOptions.lastLogits = options.lastLogits;
  // The wgmma kernels (sm_90a artifacts unless --gemm=mma) read B K-major too.
  pipelineOptions.kMajorWeights = !options.hostOnly && options.gemm != "mma" && sm90aOnly(options);
  pipelineOptions.splitKvSplits = options.splitKvSplits;
  pipelineOptions.pagedKv = options.pagedKv;
  pipelineOptions.pagedKvPages = options.pagedKvPages;
  pipelineOptions.packedTokens = options.packedTokens;
  pipelineOptions.moePartitions = options.moePartitions;
  pipelineOptions.devices = options.devices;
  pipelineOptions.devicesAttention = options.devicesAttention;
  pipelineOptions.ringLayout = options.ringLayout;
  pipelineOptions.expertParallel = options.expertParallel;
  pipelineOptions.remarks = options.remarks;
  pipelineOptions.loraAdapters = options.loraAdapters;
  pipelineOptions.loraMerge = options.loraMerge;
  pipelineOptions.quantize = options.quantize;
  pipelineOptions.quantizeBlock = options.quantizeBlock;
  pipelineOptions.quantizeDouble = options.quantizeDouble;
  pipelineOptions.llmInt8Threshold = options.llmInt8Threshold;
  pipelineOptions.quantizeSkip = options.quantizeSkip;
  buildPipeline(pm, pipelineOptions);
  if (failed(pm.run(*module)))
    return reporter.failure(path);
  // Bounded dims: the KV view copies the types could not prove away.
  if (auto main = module->lookupSymbol<mlir::func::FuncOp>("main"))
    if (failed(foldSymbolicKvViews(main, options.remarks)))
      return reporter.failure(path);
  pipelineTiming.stop(); // later stages are its siblings, not part of it
  if (options.emit == CompileEmit::Mlir) {
    CompileResult result;
    result.output = printModule(*module, options.printWeights);
    return result;
  }
  return planAndWrite(path, *module, options, reporter, rootTiming);
}

} // namespace

StatusOr<CompileResult> compileModel(const std::string &path, const CompileOptions &options,
                                     const DiagnosticHandler &diagnostics) {
  Reporter reporter(diagnostics);
  // Prints its report (stderr) when destroyed, after every line above.
  mlir::DefaultTimingManager timing;
  timing.setEnabled(options.verbose);
  mlir::TimingScope rootTiming = timing.getRootScope();
  return compileWithTiming(path, options, reporter, rootTiming);
}

} // namespace effc
