//===- effc.cpp - the effc compiler driver --------------------------------===//
//
//   effc MODEL.onnx -o OUT.effc         compile to an artifact
//   effc MODEL.onnx --emit=mlir-import  print eff IR right after import
//   effc MODEL.onnx --emit=mlir         print eff IR after the pass pipeline
//   effc MODEL.onnx --emit=cuda         print the generated CUDA C++ source
//
// The work is effc::compileModel (compiler/driver/Compile.h); this file is
// the command line.
#include "compiler/driver/Compile.h"

#include "mlir/IR/AsmState.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
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
cl::list<std::string>
    dims("dim",
         cl::desc("Fix the ONNX dim_param NAME to N in every input that uses it, e.g. --dim "
                  "batch=1 --dim seq=16 (repeatable; combines with --shape), or keep it symbolic "
                  "within bounds: --dim seq=1..512 (the runtime takes any value in them)"),
         cl::value_desc("NAME=N|NAME=MIN..MAX"), cl::cat(effcCategory));
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
cl::opt<std::string>
    gemm("gemm",
         cl::desc("Tensor-core GEMM kernel of bf16/fp16 GEMMs: auto (sm_90a: the TMA wgmma "
                  "kernel where it applies, else the cp.async wgmma kernel; else mma.sync), "
                  "mma (mma.sync), wgmma (cp.async wgmma, sm_90a), tma (TMA wgmma, sm_90a; "
                  "MoE expert GEMMs too, which auto keeps on cp.async wgmma); "
                  "--remarks says where a GEMM falls back"),
         cl::init("auto"), cl::value_desc("auto|mma|wgmma|tma"), cl::cat(effcCategory));
cl::opt<std::string> decodeGemv(
    "decode-gemv",
    cl::desc("Kernel of decode-sized runs (at most 16 rows) of GEMMs over runtime rows: v1 "
             "(16 columns an item, one k row a thread), rows (B's rows read 128-byte-wide, "
             "columns an item by rule), rows16..rows256 (that many columns an item), wide "
             "(rows where the rule gives 128+ columns: LM heads; else v1); default: the tuned "
             "choice (wide). Weights stored [N, K] keep v1"),
    cl::init(""), cl::value_desc("v1|rows|rowsW|wide"), cl::cat(effcCategory));
cl::opt<bool>
    raiseAttention("raise-attention",
                   cl::desc("Recognize attention subgraphs and run them as FlashAttention "
                            "kernels (default on)"),
                   cl::init(true), cl::cat(effcCategory));
cl::opt<bool>
    kvCache("kv-cache",
            cl::desc("Compile prefill + decode with a KV cache: a decoder exported without past "
                     "gets inputs attention_mask, position_ids, past_key_values.{i}.key/value and "
                     "outputs present.{i}.key/value (with --dim seq=1..N --dim past=0..P "
                     "--dim total=1..T); with-past exports append in place either way"),
            cl::init(false), cl::cat(effcCategory));
cl::opt<bool>
    splitKvDecode("split-kv-decode",
                  cl::desc("Split attention with few queries and a long KV cache over the "
                           "keys (flash-decoding: partial + combine kernels; default on)"),
                  cl::init(true), cl::cat(effcCategory));
cl::opt<int64_t>
    pagedKv("paged-kv",
            cl::desc("Page the KV cache of a decoder with past (issue 19): one pool of pages "
                     "of N positions per layer, written and read through a block table "
                     "(eff-paged-kv; the serving engine drives it; 0: off)"),
            cl::init(0), cl::value_desc("N"), cl::cat(effcCategory));
cl::opt<int64_t> pagedKvPages("paged-kv-pages",
                              cl::desc("Pages per pool with --paged-kv (0: every sequence of "
                                       "the batch at its longest)"),
                              cl::init(0), cl::value_desc("N"), cl::cat(effcCategory));
cl::opt<bool> packedTokens(
    "packed-tokens",
    cl::desc("With --paged-kv and --dim batch=1 --dim seq=1..T: one run holds the new tokens of "
             "many sequences back to back, no padding; attention runs per token through its "
             "sequence's block_table row (token_seq) and token_seq_lens (eff-packed-tokens; the "
             "serving engine packs its steps this way)"),
    cl::init(false), cl::cat(effcCategory));
cl::opt<int64_t> splitKvSplits(
    "split-kv-splits",
    cl::desc("Split every eligible decode attention N ways (0: the heuristic; tests and "
             "benchmarks)"),
    cl::init(0), cl::value_desc("N"), cl::cat(effcCategory));
cl::opt<int64_t>
    moePartitions("moe-partitions",
                  cl::desc("Split each MoE layer's experts into N groups that run as "
                           "independent kernels (CUDA: separate streams) over one routing; "
                           "output as with 1 (default: 1, no split)"),
                  cl::init(1), cl::value_desc("N"), cl::cat(effcCategory));
cl::opt<int64_t> devices("devices",
                         cl::desc("Partition for N GPUs: MoE expert groups per device, "
                                  "column-parallel linears (effc-run --devices=N runs it; host: "
                                  "simulated devices, cuda: GPUs or one GPU's streams; default 1)"),
                         cl::init(1), cl::value_desc("N"), cl::cat(effcCategory));
cl::opt<std::string> devicesAttention(
    "devices-attention",
    cl::desc("Attention over --devices: replicate (default: every device attends every token) "
             "or ring (ring attention: each device keeps S / N query rows, the K/V blocks pass "
             "the ring, partial results merge by log-sum-exp; causal or full self-attention "
             "without a mask or KV cache; host and cuda backends)"),
    cl::init("replicate"), cl::value_desc("replicate|ring"), cl::cat(effcCategory));
cl::opt<std::string> ringLayout(
    "ring-layout",
    cl::desc("Tokens of a device under --devices-attention=ring: auto (default: striped when "
             "causal, for balance; contiguous otherwise), striped (d, d + N, ...) or contiguous"),
    cl::init("auto"), cl::value_desc("auto|striped|contiguous"), cl::cat(effcCategory));
cl::opt<std::string> expertParallel(
    "expert-parallel",
    cl::desc("MoE layers over --devices: replicate (default: every device sees every token, its "
             "expert groups' sum is all-reduced) or all-to-all (expert parallelism: each device "
             "routes its shard of the tokens, eff.expert_dispatch/eff.expert_combine exchange them "
             "with the experts' devices, an all-gather joins the shards; static token count)"),
    cl::init("replicate"), cl::value_desc("replicate|all-to-all"), cl::cat(effcCategory));
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
cl::opt<std::string> quantize("quantize",
                              cl::desc("Quantize the weights of linear layers: int8 (symmetric, "
                                       "per output channel or --quantize-block), nf4 (QLoRA "
                                       "NormalFloat-4, bitsandbytes layout, blocks of 64) or "
                                       "llm-int8 (LLM.int8(): int8 weights and activations, "
                                       "outlier features in fp32)"),
                              cl::value_desc("int8|nf4|llm-int8"), cl::cat(effcCategory));
cl::opt<double> llmInt8Threshold("llm-int8-threshold",
                                 cl::desc("llm-int8: activation features (columns) with any |x| "
                                          ">= this are outliers, multiplied in fp32"),
                                 cl::init(6.0), cl::cat(effcCategory));
cl::opt<int64_t> quantizeBlock("quantize-block",
                               cl::desc("Values per quantization scale (int8: 0 = per output "
                                        "channel; nf4: 0 = 64)"),
                               cl::init(0), cl::cat(effcCategory));
cl::opt<bool> quantizeDouble("quantize-double",
                             cl::desc("nf4: quantize the block absmaxes too (bitsandbytes double "
                                      "quantization)"),
                             cl::cat(effcCategory));
cl::opt<std::string> quantizeSkip("quantize-skip",
                                  cl::desc("Regex over module paths whose linear layers keep "
                                           "their weights (default: the LM head and MoE "
                                           "routers)"),
                                  cl::init("lm_head|(^|[.])gate$"), cl::value_desc("REGEX"),
                                  cl::cat(effcCategory));
cl::opt<bool> hostOnly("host-only",
                       cl::desc("Artifact for the host backend only: ops without a CUDA kernel "
                                "are allowed (by default they are a compile error)"),
                       cl::cat(effcCategory));
cl::opt<bool> lastLogits("last-logits",
                         cl::desc("Compute the logits at one position per row: a new input "
                                  "logits_index [batch] names it within the run's seq, logits "
                                  "become [batch, 1, vocab] (the LM head skips the other rows; "
                                  "the Generator feeds each sequence's last token)"),
                         cl::cat(effcCategory));
cl::opt<bool> kvState("kv-state",
                      cl::desc("Keep each KV cache (eff.kv_append: a with-past export, or "
                               "--kv-cache) in session state: one buffer per cache that every "
                               "run appends to in place, fed and returned by no one (issue 14 "
                               "S4); with --paged-kv, each page pool likewise (written in place, "
                               "read by paged attention; issue 19)"),
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

bool parseShapes(effc::CompileOptions &options) {
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
    options.shapes[name.str()] = values;
  }
  for (const std::string &spec : dims) {
    effc::Status added = effc::addDimSpec(spec, options.dims);
    if (!added.ok()) {
      errs() << "effc: error: " << added.message() << "\n";
      return false;
    }
  }
  for (const std::string &spec : constInputs) {
    auto [name, file] = StringRef(spec).split('=');
    if (name.empty() || file.empty()) {
      errs() << "effc: error: --const-input expects NAME=FILE.pb, got '" << spec << "'\n";
      return false;
    }
    options.constInputs[name.str()] = file.str();
  }
  return true;
}

std::string defaultOutputPath() {
  StringRef in(inputPath);
  if (in.ends_with(".onnx"))
    in = in.drop_back(5);
  return (in + ".effc").str();
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  mlir::registerAsmPrinterCLOptions(); // --mlir-print-debuginfo shows ONNX node locations
  cl::SetVersionPrinter(
      [](raw_ostream &os) { os << "effc " EFFC_VERSION " (LLVM/MLIR " LLVM_VERSION_STRING ")\n"; });
  cl::HideUnrelatedOptions(effcCategory);
  cl::ParseCommandLineOptions(argc, argv, "effc: ONNX transformer compiler\n");

  if (dtype != "fp32" && dtype != "bf16" && dtype != "fp16") {
    errs() << "effc: error: --dtype must be fp32, bf16 or fp16, got '" << dtype << "'\n";
    return 1;
  }
  if (splitKvSplits < 0 || splitKvSplits > 65535) {
    errs() << "effc: error: --split-kv-splits must be 0..65535, got " << splitKvSplits << "\n";
    return 1;
  }
  if (pagedKv < 0 || pagedKv > 65536 || pagedKvPages < 0 || pagedKvPages > (int64_t(1) << 30)) {
    errs() << "effc: error: --paged-kv must be 0..65536 and --paged-kv-pages 0..2^30, got "
           << pagedKv << " and " << pagedKvPages << "\n";
    return 1;
  }
  effc::CompileOptions options;
  if (!parseShapes(options))
    return 1;
  switch (emit) {
  case Emit::Artifact:
    options.emit = effc::CompileEmit::Artifact;
    options.outputPath = outputPath.empty() ? defaultOutputPath() : outputPath.getValue();
    break;
  case Emit::MlirImport:
    options.emit = effc::CompileEmit::MlirImport;
    break;
  case Emit::Mlir:
    options.emit = effc::CompileEmit::Mlir;
    break;
  case Emit::Cuda:
    options.emit = effc::CompileEmit::Cuda;
    break;
  }
  options.dtype = dtype;
  options.fuse = fuse;
  options.raiseAttention = raiseAttention;
  options.splitKvDecode = splitKvDecode;
  options.kvCache = kvCache;
  options.splitKvSplits = splitKvSplits;
  options.pagedKv = pagedKv;
  options.pagedKvPages = pagedKvPages;
  options.packedTokens = packedTokens;
  options.moePartitions = moePartitions;
  options.devices = devices;
  options.devicesAttention = devicesAttention;
  options.ringLayout = ringLayout;
  options.expertParallel = expertParallel;
  options.decomposeLoRA = decomposeLoRA;
  options.loraAdapters.assign(loraAdapters.begin(), loraAdapters.end());
  options.loraMerge = loraMerge;
  options.quantize = quantize;
  options.quantizeBlock = quantizeBlock;
  options.quantizeDouble = quantizeDouble;
  options.llmInt8Threshold = llmInt8Threshold;
  options.quantizeSkip = quantizeSkip;
  options.embedCubin = embedCubin;
  SmallVector<StringRef> archs;
  StringRef(arch).split(archs, ',', -1, /*KeepEmpty=*/false);
  options.archs.assign(archs.begin(), archs.end());
  options.gemm = gemm;
  options.decodeGemv = decodeGemv;
  options.hostOnly = hostOnly;
  options.kvState = kvState;
  options.lastLogits = lastLogits;
  options.remarks = remarks;
  options.verbose = verbose;
  options.printWeights = printWeights;

  // Diagnostics go to stderr as they come, with their location (file, ONNX node).
  effc::StatusOr<effc::CompileResult> result =
      effc::compileModel(inputPath, options, [](effc::DiagnosticKind, const std::string &line) {
        errs() << line << "\n";
      });
  if (!result.ok())
    return 1;
  if (options.emit != effc::CompileEmit::Artifact)
    outs() << result->output;
  return 0;
}
