//===- effc.cpp - the effc compiler driver --------------------------------===//
//
//   effc MODEL.onnx -o OUT.effc         compile to an artifact
//   effc MODEL.onnx --emit=mlir-import  print eff IR right after import
//   effc MODEL.onnx --emit=mlir         print eff IR after the pass pipeline
//   effc MODEL.onnx --emit=cuda         print the generated CUDA C++ source
//
#include "compiler/Pipeline.h"
#include "compiler/onnx/OnnxImporter.h"
#include "compiler/onnx/OnnxLocations.h"
#include "compiler/plan/ExecutionPlan.h"
#include "cuda/EmbedCubins.h"
#include "effc/Nvrtc.h"
#include "passes/Registration.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace {

enum class Emit { Artifact, MlirImport, Mlir, Cuda };

cl::OptionCategory effcCategory("effc options");

cl::opt<std::string> inputPath(cl::Positional, cl::desc("<model.onnx | eff IR .mlir>"),
                               cl::Required, cl::cat(effcCategory));
cl::opt<std::string> outputPath("o", cl::desc("Output artifact (default: MODEL.effc)"),
                                cl::value_desc("file"), cl::cat(effcCategory));
cl::opt<Emit> emit(
    "emit", cl::desc("What to produce"), cl::init(Emit::Artifact),
    cl::values(clEnumValN(Emit::Artifact, "artifact", "an .effc artifact (default)"),
               clEnumValN(Emit::MlirImport, "mlir-import", "eff IR right after import, then stop"),
               clEnumValN(Emit::Mlir, "mlir", "eff IR after the whole pass pipeline, then stop"),
               clEnumValN(Emit::Cuda, "cuda", "the generated CUDA C++ source, then stop")),
    cl::cat(effcCategory));
cl::list<std::string> shapes("shape",
                             cl::desc("Bind an input's dims, e.g. --shape input_ids=2x16 "
                                      "(repeatable)"),
                             cl::value_desc("NAME=DxD..."), cl::cat(effcCategory));
cl::opt<std::string> dtype("dtype",
                           cl::desc("Compute precision: fp32 (default), bf16 or fp16; weights are "
                                    "converted at compile time, accumulation stays fp32"),
                           cl::init("fp32"), cl::value_desc("fp32|bf16|fp16"),
                           cl::cat(effcCategory));
cl::opt<bool> fuse("fuse",
                   cl::desc("Fuse elementwise chains into single kernels (default on; "
                            "--fuse=false runs one kernel per op)"),
                   cl::init(true), cl::cat(effcCategory));
cl::opt<bool> decomposeLoRA("decompose-lora",
                            cl::desc("Lower eff.lora_linear to GEMMs with the LoRA expand in the "
                                     "base GEMM's epilogue (default on; false runs one simple "
                                     "reference kernel per lora_linear)"),
                            cl::init(true), cl::cat(effcCategory));
cl::opt<bool> embedCubin("embed-cubin",
                         cl::desc("Compile every kernel with NVRTC now (no GPU needed) and store "
                                  "the cubins in the artifact for --arch"),
                         cl::cat(effcCategory));
cl::opt<std::string> arch("arch",
                          cl::desc("Target(s) for --embed-cubin, comma-separated (default sm_90)"),
                          cl::init("sm_90"), cl::value_desc("sm_90[,sm_80]"),
                          cl::cat(effcCategory));
cl::opt<bool>
    raiseAttention("raise-attention",
                   cl::desc("Recognize attention subgraphs and run them as FlashAttention "
                            "kernels (default on)"),
                   cl::init(true), cl::cat(effcCategory));
cl::opt<bool>
    splitKvDecode("split-kv-decode",
                  cl::desc("Split attention with few queries and a long KV cache over the "
                           "keys (flash-decoding: partial + combine kernels; default on)"),
                  cl::init(true), cl::cat(effcCategory));
cl::list<std::string>
    constInputs("const-input",
                cl::desc("Freeze an input to the value in FILE (an ONNX TensorProto "
                         ".pb): it leaves the signature and folds into the graph "
                         "(repeatable)"),
                cl::value_desc("NAME=FILE.pb"), cl::cat(effcCategory));
cl::list<std::string> loraAdapters(
    "lora",
    cl::desc("Insert a PEFT LoRA adapter (directory with adapter_config.json and "
             "adapter_model.safetensors). NAME=DIR (repeatable) puts several adapters in one "
             "artifact and adds an int64 input 'lora_index' [batch] choosing one per request "
             "(-1: none)"),
    cl::value_desc("DIR|NAME=DIR"), cl::cat(effcCategory));
cl::opt<bool> loraMerge("lora-merge",
                        cl::desc("Merge the --lora adapter into the weights at compile time "
                                 "(W + scale*B*A in fp32): no run-time cost, one adapter"),
                        cl::cat(effcCategory));
cl::opt<bool> hostOnly("host-only",
                       cl::desc("Artifact for the host backend only: ops without a CUDA kernel "
                                "are allowed (by default they are a compile error)"),
                       cl::cat(effcCategory));
cl::opt<bool> verbose("verbose", cl::desc("Print progress and timing per stage"),
                      cl::cat(effcCategory));
cl::alias verboseShort("v", cl::aliasopt(verbose), cl::desc("Alias for --verbose"));
cl::opt<bool> remarks("remarks",
                      cl::desc("Report, per candidate, what the pattern passes did: which "
                               "softmaxes became attention (and with what attributes) and "
                               "why the others did not, which attention was split over its "
                               "keys, and why an op was not fused"),
                      cl::cat(effcCategory));
cl::opt<bool>
    printWeights("print-weights",
                 cl::desc("Print weight blobs in full in --emit output (elided by default)"),
                 cl::cat(effcCategory));

bool parseShapes(effc::ImportOptions &options) {
  for (const std::string &spec : shapes) {
    StringRef text(spec);
    auto [name, dims] = text.split('=');
    if (name.empty() || dims.empty()) {
      errs() << "effc: error: --shape expects NAME=DxD..., got '" << spec << "'\n";
      return false;
    }
    std::vector<int64_t> values;
    SmallVector<StringRef> parts;
    dims.split(parts, 'x');
    for (StringRef part : parts) {
      int64_t v;
      if (part.getAsInteger(10, v) || v < 0) {
        errs() << "effc: error: --shape " << name << ": '" << part
               << "' is not a non-negative dim\n";
        return false;
      }
      values.push_back(v);
    }
    options.inputShapes[name.str()] = values;
  }
  for (const std::string &spec : constInputs) {
    auto [name, file] = StringRef(spec).split('=');
    if (name.empty() || file.empty()) {
      errs() << "effc: error: --const-input expects NAME=FILE.pb, got '" << spec << "'\n";
      return false;
    }
    options.constantInputFiles[name.str()] = file.str();
  }
  return true;
}

void printModule(mlir::ModuleOp module) {
  mlir::OpPrintingFlags flags;
  if (!printWeights)
    flags.elideLargeResourceString(64);
  module->print(outs(), flags);
  outs() << "\n";
}

/// "FILE[:LINE:COL]: error: MESSAGE". Imported ops are located at
/// (model file, line 0) inside a NameLoc of the ONNX node (and the PyTorch
/// module path when known): line 0 is not printed, and the node/module are
/// appended when the message does not already name the node.
mlir::LogicalResult printDiagnostic(mlir::Diagnostic &diag) {
  auto print = [](mlir::Location loc, mlir::DiagnosticSeverity severity, StringRef message) {
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
    raw_ostream &os = errs();
    os << file;
    if (line > 0)
      os << ":" << line << ":" << col;
    switch (severity) {
    case mlir::DiagnosticSeverity::Error:
      os << ": error: ";
      break;
    case mlir::DiagnosticSeverity::Warning:
      os << ": warning: ";
      break;
    case mlir::DiagnosticSeverity::Note:
      os << ": note: ";
      break;
    case mlir::DiagnosticSeverity::Remark:
      os << ": remark: ";
      break;
    }
    os << message;
    std::optional<std::string> node = effc::getNodeName(loc);
    if (node && !message.contains("'" + *node + "'")) {
      os << " [node '" << *node << "'";
      if (std::optional<std::string> module = effc::getModulePath(loc))
        os << ", module " << *module;
      os << "]";
    }
    os << "\n";
  };
  print(diag.getLocation(), diag.getSeverity(), diag.str());
  for (mlir::Diagnostic &note : diag.getNotes())
    print(note.getLocation(), note.getSeverity(), note.str());
  return mlir::success();
}

std::string defaultOutputPath() {
  StringRef in(inputPath);
  if (in.ends_with(".onnx"))
    in = in.drop_back(5);
  return (in + ".effc").str();
}

int kernelsWithSource(const effc::artifact::Manifest &m) {
  int n = 0;
  for (const auto &k : m.kernels())
    n += !k.source().empty();
  return n;
}

bool writeArtifact(mlir::ModuleOp module, mlir::TimingScope &rootTiming) {
  FailureOr<effc::ExecutionPlan> plan;
  {
    mlir::TimingScope t = rootTiming.nest("plan");
    effc::PlanOptions planOptions;
    planOptions.hostOnly = hostOnly;
    plan = effc::buildExecutionPlan(module, planOptions);
  }
  if (failed(plan))
    return false;
  if (emit == Emit::Cuda) {
    outs() << plan->cudaSource;
    return true;
  }
  // The CUDA translation unit is the payload's first (and so far only) item.
  plan->manifest.set_cuda_source_offset(0);
  plan->manifest.set_cuda_source_size(plan->cudaSource.size());
  std::string path = outputPath.empty() ? defaultOutputPath() : outputPath;
  plan->manifest.set_model_name(inputPath);
  plan->manifest.set_compute_dtype(dtype);
  uint64_t weightBytes = 0;
  for (const effc::WeightBlob &w : plan->weights)
    weightBytes += w.bytes.size();
  std::string payload = plan->cudaSource;
  if (embedCubin) {
    // NVRTC needs no GPU: the runtime then loads these cubins instead of
    // compiling when the device's arch matches.
    mlir::TimingScope t = rootTiming.nest("nvrtc (embed cubins)");
    SmallVector<StringRef> parts;
    StringRef(arch).split(parts, ',', -1, /*KeepEmpty=*/false);
    std::vector<std::string> archs(parts.begin(), parts.end());
    if (verbose)
      errs() << "effc: compiling " << kernelsWithSource(plan->manifest)
             << " kernels with NVRTC for " << arch << "\n";
    effc::Status embedded = effc::nvrtc::embedCubins(plan->manifest, payload, archs);
    if (!embedded.ok()) {
      errs() << "effc: error: --embed-cubin: " << embedded.message() << "\n";
      return false;
    }
  }
  effc::Status status;
  {
    mlir::TimingScope t = rootTiming.nest("write artifact");
    status = effc::writeArtifact(path, plan->manifest, plan->weights, payload);
  }
  if (!status.ok()) {
    errs() << "effc: error: " << status.message() << "\n";
    return false;
  }
  const auto &m = plan->manifest;
  errs() << "effc: wrote " << path << ": " << m.kernels_size() << " kernels, "
         << plan->weights.size() << " weights (" << format("%.2f", weightBytes / 1048576.0)
         << " MiB), arena " << format("%.1f", m.arena_bytes() / 1024.0) << " KiB for "
         << format("%.1f", m.intermediate_bytes() / 1024.0) << " KiB of intermediates\n";
  return true;
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  mlir::registerAsmPrinterCLOptions(); // --mlir-print-debuginfo shows ONNX node locations
  cl::SetVersionPrinter(
      [](raw_ostream &os) { os << "effc " EFFC_VERSION " (LLVM/MLIR " LLVM_VERSION_STRING ")\n"; });
  cl::HideUnrelatedOptions(effcCategory);
  cl::ParseCommandLineOptions(argc, argv, "effc: ONNX transformer compiler\n");

  mlir::DialectRegistry registry;
  mlir::eff::registerEffcDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // Diagnostics go to stderr with their location (file, ONNX node).
  context.getDiagEngine().registerHandler(printDiagnostic);
  // The node name and module path say where; a dump of the op in generic
  // form ("see current operation") does not help a user.
  context.printOpOnDiagnostic(false);

  mlir::DefaultTimingManager timing;
  timing.setEnabled(verbose);
  mlir::TimingScope rootTiming = timing.getRootScope();

  if (dtype != "fp32" && dtype != "bf16" && dtype != "fp16") {
    errs() << "effc: error: --dtype must be fp32, bf16 or fp16, got '" << dtype << "'\n";
    return 1;
  }
  effc::ImportOptions importOptions;
  if (!parseShapes(importOptions))
    return 1;
  if (loraMerge && loraAdapters.empty()) {
    errs() << "effc: error: --lora-merge needs an adapter (--lora=DIR)\n";
    return 1;
  }

  mlir::OwningOpRef<mlir::ModuleOp> module;
  {
    mlir::TimingScope t = rootTiming.nest("import");
    if (verbose)
      errs() << "effc: importing " << inputPath << "\n";
    // eff IR (e.g. from --emit=mlir-import, or written by hand for tests)
    // enters the same pipeline as an imported model.
    if (StringRef(inputPath).ends_with(".mlir"))
      module = mlir::parseSourceFile<mlir::ModuleOp>(inputPath, &context);
    else
      module = effc::importOnnxFile(context, inputPath, importOptions);
  }
  if (!module)
    return 1;
  {
    mlir::TimingScope t = rootTiming.nest("verify");
    if (failed(mlir::verify(*module)))
      return 1;
  }
  if (emit == Emit::MlirImport) {
    printModule(*module);
    return 0;
  }

  mlir::PassManager pm(&context);
  mlir::TimingScope pipelineTiming = rootTiming.nest("pipeline");
  pm.enableTiming(pipelineTiming);
  // effc-opt --effc-pipeline parses the same struct (test/lit/pipeline).
  effc::PipelineOptions pipelineOptions;
  pipelineOptions.dtype = dtype.getValue();
  pipelineOptions.fuse = fuse.getValue();
  pipelineOptions.raiseAttention = raiseAttention.getValue();
  pipelineOptions.decomposeLoRA = decomposeLoRA.getValue();
  pipelineOptions.splitKvDecode = splitKvDecode.getValue();
  pipelineOptions.remarks = remarks.getValue();
  pipelineOptions.loraAdapters = std::vector<std::string>(loraAdapters.begin(), loraAdapters.end());
  pipelineOptions.loraMerge = loraMerge.getValue();
  effc::buildPipeline(pm, pipelineOptions);
  if (failed(pm.run(*module)))
    return 1;
  pipelineTiming.stop(); // later stages are its siblings, not part of it
  if (emit == Emit::Mlir) {
    printModule(*module);
    return 0;
  }

  return writeArtifact(*module, rootTiming) ? 0 : 1;
}
