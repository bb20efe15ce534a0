//===- Compile.h - the compiler as one library call --------------*- C++ -*-===//
//
// What `effc` does between reading a model and writing its output, as one
// call that the effc tool and the Python package (effc.compile) share. No
// exceptions, no exit: errors come back as a Status whose message is the
// first error (file, ONNX node), and every diagnostic line goes to the
// caller's handler as effc prints it. The header needs no LLVM/MLIR.
//
#ifndef EFFC_COMPILER_DRIVER_COMPILE_H
#define EFFC_COMPILER_DRIVER_COMPILE_H

#include "compiler/driver/DimOption.h"
#include "effc/Status.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace effc {

/// What compileModel produces (effc --emit=...).
enum class CompileEmit {
  Artifact,   ///< .effc bytes (default)
  MlirImport, ///< eff IR text right after import
  Mlir,       ///< eff IR text after the pass pipeline
  Cuda,       ///< the generated CUDA C++ source
};

/// effc's compile flags (tools/effc/effc.cpp documents each one).
struct CompileOptions {
  CompileEmit emit = CompileEmit::Artifact;
  /// --shape NAME=DxD...: dims bound per input.
  std::map<std::string, std::vector<int64_t>> shapes;
  /// --dim NAME=N: every occurrence of the ONNX dim_param NAME in the model's
  /// inputs is N; MIN..MAX keeps it symbolic within the bounds.
  std::map<std::string, DimRange> dims;
  /// --const-input NAME=FILE.pb.
  std::map<std::string, std::string> constInputs;
  std::string dtype = "fp32"; ///< fp32, bf16 or fp16
  bool fuse = true;
  bool raiseAttention = true;
  bool splitKvDecode = true;
  /// --kv-cache: a decoder without past gets the with-past interface
  /// (eff-kv-cache); --dim past=.. and total=.. then name dims it adds.
  bool kvCache = false;
  int64_t splitKvSplits = 0; // eff-split-kv-decode's count (0: its heuristic)
  /// --paged-kv: eff-paged-kv's page size (0: off); --paged-kv-pages: its
  /// pages per pool (0: the pass's default).
  int64_t pagedKv = 0;
  int64_t pagedKvPages = 0;
  /// --packed-tokens (with --paged-kv): eff-packed-tokens.
  bool packedTokens = false;
  bool decomposeLoRA = true;
  /// --moe-partitions: expert groups per eff.moe (1: none).
  int64_t moePartitions = 1;
  /// --devices: plan for N devices (eff-partition-devices; 1: none).
  int64_t devices = 1;
  /// --devices-attention (replicate, ring) and --ring-layout (auto, striped,
  /// contiguous): eff-partition-devices' attention and ring-layout.
  std::string devicesAttention = "replicate";
  std::string ringLayout = "auto";
  /// --expert-parallel: MoE over devices, "replicate" or "all-to-all".
  std::string expertParallel = "replicate";
  /// --lora DIR or NAME=DIR (several).
  std::vector<std::string> loraAdapters;
  bool loraMerge = false;
  /// --quantize=int8|nf4|llm-int8 ("" none), --quantize-block,
  /// --quantize-double, --llm-int8-threshold, --quantize-skip.
  std::string quantize;
  int64_t quantizeBlock = 0;
  bool quantizeDouble = false;
  double llmInt8Threshold = 6.0;
  std::string quantizeSkip = "lm_head|(^|[.])gate$"; ///< the LM head, MoE routers
  /// --embed-cubin --arch=...
  bool embedCubin = false;
  std::vector<std::string> archs = {"sm_90"};
  /// --gemm=auto|mma|wgmma|tma: the tensor-core GEMM kernel of 16-bit GEMMs
  /// (wgmma and tma need every arch sm_90a; codegen::GemmKernelChoice).
  std::string gemm = "auto";
  /// --decode-gemv=NAME: the kernel of decode-sized runs (a few rows) of
  /// GEMMs over runtime rows (codegen::tcgemm::decodeGemvVariants; "" is
  /// the default). Where it does not apply (B stored [N, K]) the default runs.
  std::string decodeGemv;
  bool hostOnly = false;
  /// --last-logits: logits only at the positions of the input logits_index
  /// (passes/LastLogits.cpp).
  bool lastLogits = false;
  /// --kv-state: the KV caches of eff.kv_append kept in session state
  /// (compiler/plan/SessionState.h).
  bool kvState = false;
  bool remarks = false;
  /// Progress lines through the handler; MLIR's per-stage timing report on
  /// stderr when the call returns.
  bool verbose = false;
  /// Weight blobs printed in full in IR output (elided by default).
  bool printWeights = false;
  /// Artifact only: write the file here (and report "effc: wrote PATH: ..."
  /// as a Progress line) instead of returning its bytes in
  /// CompileResult::output.
  std::string outputPath;
};

enum class DiagnosticKind { Error, Warning, Note, Remark, Progress };
/// Receives each diagnostic as the text effc prints for it ("FILE: error:
/// MESSAGE [node 'N', module M]", "effc: importing ..."), without the newline.
using DiagnosticHandler = std::function<void(DiagnosticKind, const std::string &line)>;

struct CompileResult {
  /// Artifact bytes for CompileEmit::Artifact (empty when written to
  /// outputPath), else the text effc prints.
  std::string output;
  /// Artifact statistics (CompileEmit::Artifact).
  int kernels = 0;
  int weights = 0;
  uint64_t weightBytes = 0, arenaBytes = 0, intermediateBytes = 0;
};

/// Compiles the ONNX model (or eff IR, for a path ending in .mlir) at `path`.
/// Each call owns its MLIRContext: calls on different threads are independent.
StatusOr<CompileResult> compileModel(const std::string &path, const CompileOptions &options,
                                     const DiagnosticHandler &diagnostics);

} // namespace effc

#endif
