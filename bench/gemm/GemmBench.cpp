// effc-gemm-bench: generates effc's GEMM kernels for a list of problems,
// compiles them with NVRTC for the device's arch, checks each
// against an fp32 SIMT reference on fresh random inputs (output poisoned with
// NaN first, so an unwritten element fails) and times it with CUDA events
// (warm-up, then the median of repeated CUDA-graph replays of ~1 ms batches).
//
//   effc-gemm-bench [--check] [--perf] [--sweep] [--dtypes=bf16,fp32]
//                   [--shapes=SUBSTR] [--reps=N] [--jobs=N] [--dump=DIR]
//                   [--compile-only --arch=sm_90] [--emit-only --dump=DIR]
//                   [--wgmma [--cpasync | --pingpong]] [--problems=MxNxK,...] [--rows=R]
//                   [--only=I] [--list]
//
// --check runs small correctness problems of the tensor-core generator (odd
// sizes, transposes, padded rows, epilogues, batches, every candidate tile,
// fp32 operands as TF32); --perf the GPT-2-124M / Llama-1B GEMMs at 512 and
// 4096 tokens plus 8192^3 as the compiler ships them: an eff.matmul
// description through describeGemm and emitGemm, the calls MatmulEmitter.cpp
// makes (bf16/fp16: the tensor-core kernel; fp32: the FFMA kernel, tile
// "ffma"); --sweep also times every candidate tile of each tensor-core perf
// problem (through the same entry, the spec's tile forced). Without either,
// both run.
// --wgmma (sm_90a, Hopper) runs the wgmma kernel (WgmmaGemm.h) instead:
// the check problems are its variants of the 16-bit checks (every wgmma
// tile on ragged tails and transposes, epilogues, batches) and the perf
// problems are described as for an sm_90a artifact (spec.sm90a), so
// emitGemm picks it where it applies; NVRTC compiles for sm_90a. The specs
// say the launcher passes TMA tensor maps (spec.tma), so it is the TMA
// warp-specialized persistent kernel; the bench encodes the maps
// (wgmma::tmaMaps, cuTensorMapEncodeTiled) on A and B. --cpasync runs the
// cp.async wgmma kernel instead (what artifacts ship without tensor maps);
// --split=N forces the TMA kernel's split-K factor on the perf problems.
// --pingpong (with --wgmma): the check problems ask for the TMA kernel's
// ping-pong schedule (GemmSpec.pingpong; kernel names end in _pp where it
// applies, the rest keep the cooperative schedule), and each perf problem
// gets a second variant, the ping-pong kernel (chosen=0), timed beside the
// shipped one in the same run; where it cannot apply a
// `PINGPONG-FALLBACK shape reason` line says why. With --sweep also the
// ping-pong kernel of every candidate tile it applies to.
// --problems=MxNxK,... replaces the perf shapes (eff.matmul [M,K]x[K,N]);
// MxNxKt: the weight stored [N, K] (eff.matmul transB = 1, as
// eff-k-major-weights stores an sm_90a weight whose [K, N] rows are not
// 16-byte aligned, e.g. 512x50257x768t: GPT-2's LM head), label "...t".
// --rows=R (16-bit perf problems): M is a runtime extent (symbolic dim 0,
// as effc plans a GEMM over batch * seq rows): the kernel is planned at the
// problem's M and launched for a run of R rows (effc_dims = {R}, grids from
// their runtime rules as the cuda backend evaluates them at R); the first R
// rows are checked, with a tensor-core kernel the rows past them must stay
// poisoned (nothing written there), and TFLOP/s count R rows.
// --decode-variant=V (with --rows=R, R <= tcgemm::kDecodeRows): the decode
// path's kernel V (GemmSpec.decodeGemv; tcgemm::decodeGemvVariants: v1,
// rows, rows16 .. rows256, wide) instead of tcgemm::kDefaultDecodeGemv; a problem
// it does not apply to (rows* on B [N][K]) is left out with a
// `DECODE-NA shape reason` line. RESULT lines then carry decode=NAME:COLS
// (the kernel the run took: v1:16, rows:64, ...).
// --list prints the selected problems (index, kind, shape, what) and exits;
// --only=I keeps problem I of that list (a GPU script runs each in its own
// process, so a kernel that faults or hangs costs one row, not the run).
// --compile-only (no GPU) compiles and prints registers/spills per kernel;
// --emit-only writes the sources to --dump=DIR for bench/gemm/fragcheck.py.
// Prints `RESULT key=value ...` lines (bench/gemm/run.sh joins them with
// cuBLAS) and a table. Exit status 1 when any check fails.
#include "ReferenceKernels.h"

#include "compiler/codegen/device/DeviceCode.h"
#include "compiler/codegen/gemm/Gemm.h"
#include "compiler/codegen/gemm/TensorCoreGemm.h"
#include "compiler/codegen/gemm/WgmmaGemm.h"
#include "cuda/DriverApi.h"
#include "cuda/Nvrtc.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

using namespace effc;
using namespace effc::codegen;
using namespace effc::codegen::tcgemm;
using effc::bench::Layout;

namespace {

struct Options {
  bool check = false, perf = false, sweep = false, compileOnly = false, emitOnly = false;
  bool wgmma = false, cpasync = false, list = false, pingpong = false;
  int only = -1, splitK = 0;
  int64_t rows = 0; // --rows: the run's M of runtime-rows perf problems (0: static)
  std::vector<std::array<int64_t, 4>> problems; // --problems: perf shapes (M, N, K, transB)
  std::vector<std::string> dtypes{"bf16", "fp32"};
  std::string shapes, arch, dump;
  int reps = 15, jobs = 0;
  std::string decodeVariant; // --decode-variant: GemmSpec.decodeGemv of the perf problems
};

/// One kernel to compile.
struct Job {
  std::string name, source;
  LaunchDims launch;
  std::string cubin, error;
  /// The TMA kernel's tensor maps (wgmma::tmaMaps), encoded per launch on
  /// the problem's A and B.
  std::vector<TensorMapDesc> tmaMaps;
  int regs = -1, spillBytes = -1;
  double ms = 0;
};

struct Variant {
  TileConfig tile;
  std::string kernel;  // the tile's name, or "ffma" for the FFMA kernel
  bool chosen = false; // what the compiler ships for this problem
  size_t job = 0;
  // results
  double maxRelErr = -1, ms = -1;
  bool pass = false;
};

struct Problem {
  std::string label, dtype; // "4096x2048x2048", "bf16"
  std::string what;         // check problems: what they exercise
  GemmSpec spec;
  /// Perf problems: the eff.matmul the compiler would emit (spec is its
  /// describeGemm); the kernels come from emitGemm, the compiler's entry.
  KernelDesc matmul;
  /// Dtypes of the epilogue's inputs (after A, B, [bias]), packed [batch, M, N].
  std::vector<DType> epilogueInputs;
  bool perf = false;
  double tol = 0;
  size_t refJob = 0, cmpJob = 0;
  std::vector<Variant> variants;
};

std::string shortName(DType t) {
  return t == DType::FLOAT32 ? "fp32" : t == DType::FLOAT16 ? "fp16" : "bf16";
}

int elemSize(DType t) { return t == DType::FLOAT32 ? 4 : 2; }

/// Tolerance on max|C - R| / max|R|: the inputs are exact in the reference,
/// so TF32 rounding (fp32 operands) and the output cast dominate.
double toleranceFor(const GemmSpec &s) {
  double t = s.aType == DType::FLOAT32 ? 5e-3 : 1e-4;
  if (s.yType == DType::BFLOAT16)
    t = std::max(t, 1.6e-2);
  if (s.yType == DType::FLOAT16)
    t = std::max(t, 2e-3);
  return t;
}

GemmSpec plain(int64_t m, int64_t n, int64_t k, DType t) {
  GemmSpec s;
  s.M = m;
  s.N = n;
  s.K = k;
  s.aType = s.bType = s.yType = t;
  return s;
}

std::string shapeLabel(const GemmSpec &s) {
  std::string l = std::to_string(s.M) + "x" + std::to_string(s.N) + "x" + std::to_string(s.K);
  if (s.batch() > 1)
    l = std::to_string(s.batch()) + "@" + l;
  return l;
}

std::vector<Problem> checkProblems(const Options &opt) {
  std::vector<Problem> out;
  auto add = [&](const std::string &what, const GemmSpec &s) {
    Problem p;
    p.spec = s;
    p.label = shapeLabel(s);
    p.dtype = shortName(s.aType);
    p.what = what;
    p.tol = toleranceFor(s);
    out.push_back(p);
  };
  for (DType t : {DType::BFLOAT16, DType::FLOAT16, DType::FLOAT32}) {
    std::string tn = shortName(t);
    for (int tr = 0; tr < 4; ++tr) {
      std::string trs = std::string(tr & 1 ? "T" : "N") + (tr & 2 ? "T" : "N");
      GemmSpec s = plain(77, 130, 100, t); // packed: rows not 16-byte aligned -> element loads
      s.transA = tr & 1;
      s.transB = tr & 2;
      add(tn + " " + trs + " odd sizes, packed (element loads)", s);
      GemmSpec k = plain(64, 64, 100, t); // K % 8 != 0 with aligned rows: partial cp.async chunk
      k.transA = tr & 1;
      k.transB = tr & 2;
      k.lda = k.transA ? 64 : 104;
      k.ldb = k.transB ? 104 : 64;
      add(tn + " " + trs + " K=100, aligned ld (partial chunk)", k);
      // Every candidate tile on M/N/K tails (odd N: unpaired stores) through
      // the cp.async path (leading dims padded to 16 bytes).
      for (const TileConfig &tile : candidateTiles(t)) {
        GemmSpec e = plain(197, 263, 140, t);
        e.transA = tr & 1;
        e.transB = tr & 2;
        e.lda = e.transA ? 200 : 144;
        e.ldb = e.transB ? 144 : 264;
        e.tile = tile;
        if (unsupportedReason(e).empty())
          add(tn + " " + trs + " tails, tile " + tileName(tile), e);
      }
    }
  }
  // Fused epilogues: the kernel gets them as rendered statements over v,
  // bz, row, col and in<k> (GemmEpilogue); these check that plumbing, the
  // reference applies the same statements.
  {
    GemmSpec s = plain(300, 200, 96, DType::FLOAT16);
    s.hasBias = true;
    s.biasType = DType::FLOAT32;
    s.biasStrideM = 201;
    s.biasStrideN = 1;
    s.beta = 0.5;
    s.alpha = 0.125;
    s.ldc = 202;
    s.numInputs = 4;
    s.epilogue.code = "v = 0.5f * v * (1.0f + erff(v * 0.70710678f));\n"
                      "v += tcg_ld_f16(in3, (long long)row * 200 + col);";
    add("fp16 alpha, full bias*beta, ldc, epilogue gelu_erf + residual", s);
    out.back().epilogueInputs = {DType::FLOAT16};
  }
  {
    GemmSpec s = plain(16, 2048, 1024, DType::BFLOAT16);
    s.yType = DType::FLOAT32;
    s.hasBias = true;
    s.biasType = DType::FLOAT32;
    s.biasStrideN = 1;
    s.numInputs = 4;
    s.epilogue.code =
        "v = v < 0.0f ? 0.0f : v;\nv += tcg_ld_bf16(in3, (long long)row * 2048 + col);";
    add("bf16->fp32 decode M=16, bias, epilogue relu + residual", s);
    out.back().epilogueInputs = {DType::BFLOAT16};
  }
  {
    GemmSpec s = plain(128, 64, 96, DType::BFLOAT16);
    s.transB = true;
    s.batchDims = {12};
    s.aBatchStrides = {128 * 96};
    s.bBatchStrides = {0};
    s.numInputs = 3;
    s.epilogue.code = "v -= tcg_ld_bf16(in2, (bz * 128 + row) * 64LL + col);";
    add("bf16 batch 12, B broadcast, epilogue reads by batch", s);
    out.back().epilogueInputs = {DType::BFLOAT16};
    GemmSpec f = plain(33, 65, 40, DType::FLOAT32);
    f.batchDims = {5};
    f.aBatchStrides = {33 * 40};
    f.bBatchStrides = {40 * 65};
    f.yType = DType::BFLOAT16;
    f.transA = true;
    f.hasBias = true;
    f.biasType = DType::BFLOAT16;
    f.biasStrideM = 65;
    f.biasStrideN = 1;
    add("fp32->bf16 batch 5, transA, full bias", f);
  }
  (void)opt;
  return out;
}

/// --wgmma: the sm_90a kernel on the 16-bit checks' shapes (leading dims
/// padded to 16 bytes: its loads need aligned rows), every wgmma tile on
/// the ragged tails, plus the epilogue and batch checks that apply.
std::vector<Problem> wgmmaCheckProblems(const Options &opt) {
  std::vector<Problem> out;
  auto add = [&](const std::string &what, GemmSpec s) {
    s.sm90a = true;
    s.tma = !opt.cpasync;
    s.pingpong = opt.pingpong;
    if (!wgmma::unsupportedReason(s).empty())
      return;
    Problem p;
    p.spec = s;
    p.label = shapeLabel(s);
    p.dtype = shortName(s.aType);
    p.what = what;
    p.tol = toleranceFor(s);
    out.push_back(p);
  };
  for (DType t : {DType::BFLOAT16, DType::FLOAT16}) {
    std::string tn = shortName(t);
    for (int tr = 0; tr < 4; ++tr) {
      std::string trs = std::string(tr & 1 ? "T" : "N") + (tr & 2 ? "T" : "N");
      GemmSpec k = plain(64, 64, 100, t); // K % 8 != 0 with aligned rows: partial chunk
      k.transA = tr & 1;
      k.transB = tr & 2;
      k.lda = k.transA ? 64 : 104;
      k.ldb = k.transB ? 104 : 64;
      add(tn + " " + trs + " K=100, aligned ld (partial chunk)", k);
      for (const TileConfig &tile : wgmma::candidateTiles()) {
        GemmSpec e = plain(197, 263, 140, t); // ragged M, N, K; odd N
        e.transA = tr & 1;
        e.transB = tr & 2;
        e.lda = e.transA ? 200 : 144;
        e.ldb = e.transB ? 144 : 264;
        e.tile = tile;
        add(tn + " " + trs + " tails, tile " + wgmma::tileName(tile), e);
      }
      GemmSpec big = plain(1000, 1000, 520, t); // several k-tiles and CTAs, ragged edges
      big.transA = tr & 1;
      big.transB = tr & 2;
      big.lda = big.transA ? 1000 : 520;
      big.ldb = big.transB ? 520 : 1000;
      add(tn + " " + trs + " 1000x1000x520", big);
    }
  }
  for (Problem &p : checkProblems(opt))
    if (!p.epilogueInputs.empty() || p.spec.batch() > 1) {
      p.spec.sm90a = true;
      p.spec.tma = !opt.cpasync;
      p.spec.pingpong = opt.pingpong;
      if (wgmma::unsupportedReason(p.spec).empty())
        out.push_back(p);
    }
  return out;
}

std::vector<Problem> perfProblems(const Options &opt) {
  // (M, N, K): token count x out-features x in-features.
  std::vector<std::array<int64_t, 4>> shapes = opt.problems;
  if (shapes.empty()) {
    for (int64_t t : {512, 4096}) {
      shapes.push_back({t, 2304, 768, 0}); // GPT-2 124M: c_attn
      shapes.push_back({t, 3072, 768, 0}); // c_fc
      shapes.push_back({t, 768, 3072, 0}); // c_proj (MLP)
    }
    for (int64_t t : {512, 4096}) {
      shapes.push_back({t, 2048, 2048, 0});  // Llama-1B: q/o proj
      shapes.push_back({t, 8192, 2048, 0});  // gate/up
      shapes.push_back({t, 2048, 8192, 0});  // down
      shapes.push_back({t, 32000, 2048, 0}); // lm_head
    }
    shapes.push_back({8192, 8192, 8192, 0});
  }
  std::vector<Problem> out;
  for (const std::string &dt : opt.dtypes) {
    DType t = dt == "fp32" ? DType::FLOAT32 : dt == "fp16" ? DType::FLOAT16 : DType::BFLOAT16;
    for (auto &sh : shapes) {
      if (sh[0] < opt.rows) // a run cannot have more rows than planned
        continue;
      Problem p;
      // eff.matmul [M, K] x [K, N] -> [M, N], as the planner describes it
      // (transB: the weight stored [N, K]).
      p.matmul.op = std::string(opName(EffOp::MatMulOp));
      p.matmul.inputs = {TensorDesc{t, {sh[0], sh[2]}},
                         TensorDesc{t, sh[3] ? std::vector<int64_t>{sh[1], sh[2]}
                                             : std::vector<int64_t>{sh[2], sh[1]}}};
      if (sh[3])
        p.matmul.attrs["transB"] = int64_t(1);
      p.matmul.outputs = {TensorDesc{t, {sh[0], sh[1]}}};
      std::string error;
      if (!describeGemm(p.matmul, p.spec, error)) {
        std::fprintf(stderr, "effc-gemm-bench: %s\n", error.c_str());
        std::exit(1);
      }
      p.spec.sm90a = opt.wgmma;
      p.spec.tma = opt.wgmma && !opt.cpasync;
      p.spec.splitK = opt.splitK;
      p.label = shapeLabel(p.spec) + (sh[3] ? "t" : "");
      if (opt.rows > 0) { // M = dim 0, planned at sh[0]; the run binds R
        p.spec.runtimeRows = Extent::dim(0);
        p.label += "@" + std::to_string(opt.rows);
      }
      p.spec.decodeGemv = opt.decodeVariant;
      if (!opt.decodeVariant.empty() && tcgemm::decodeRows(p.spec)) {
        tcgemm::DecodeGemv dv;
        std::string why;
        if (!tcgemm::chooseDecodeGemv(p.spec, dv, why)) {
          std::printf("DECODE-NA %s %s\n", p.label.c_str(), why.c_str());
          continue;
        }
      }
      p.dtype = dt;
      p.perf = true;
      // The FFMA kernel is exact fp32: the compiler's fp32 contract.
      p.tol = usesTensorCores(p.spec) ? toleranceFor(p.spec) : 1e-4;
      out.push_back(p);
    }
  }
  return out;
}

/// "Used 168 registers" and "N bytes spill stores" from ptxas -v.
void parsePtxasReport(Job &j, const std::string &log) {
  size_t at = log.find("Used ");
  if (at != std::string::npos)
    j.regs = std::atoi(log.c_str() + at + 5);
  size_t sp = log.find(" bytes spill stores");
  if (sp != std::string::npos) {
    size_t b = log.rfind(' ', sp - 1);
    j.spillBytes = std::atoi(log.c_str() + b + 1);
  }
}

void compileAll(std::vector<Job> &jobs, const std::string &arch, int threads) {
  std::atomic<size_t> next{0};
  auto worker = [&]() {
    for (size_t i; (i = next++) < jobs.size();) {
      Job &j = jobs[i];
      auto c = nvrtc::compile(j.source, nvrtc::compileOptions(arch, {"--ptxas-options=-v"}),
                              j.name + ".cu");
      if (!c.ok()) {
        j.error = c.status().message();
        continue;
      }
      j.cubin = std::move(c->cubin);
      j.ms = c->ms;
      parsePtxasReport(j, c->log);
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i)
    pool.emplace_back(worker);
  for (std::thread &t : pool)
    t.join();
}

// ---------------------------------------------------------------- device --

class Gpu {
public:
  explicit Gpu(const cuda::Driver *d) : d_(d), a_(d->api) {}
  bool ok(cuda::CUresult r, const char *what) {
    if (r == cuda::CUDA_SUCCESS)
      return true;
    std::fprintf(stderr, "effc-gemm-bench: %s: %s\n", what, d_->errorText(r).c_str());
    failed_ = true;
    return false;
  }
  bool failed() const { return failed_; }
  const cuda::DriverApi &api() const { return a_; }

  cuda::CUdeviceptr alloc(size_t bytes) {
    cuda::CUdeviceptr p = 0;
    ok(a_.cuMemAlloc(&p, std::max<size_t>(bytes, 256)), "cuMemAlloc");
    return p;
  }
  cuda::CUfunction load(const Job &j) {
    cuda::CUmodule m = nullptr;
    cuda::CUfunction f = nullptr;
    if (!ok(a_.cuModuleLoadData(&m, j.cubin.data()), ("cuModuleLoadData " + j.name).c_str()))
      return nullptr;
    modules_.push_back(m);
    if (!ok(a_.cuModuleGetFunction(&f, m, j.name.c_str()),
            ("cuModuleGetFunction " + j.name).c_str()))
      return nullptr;
    if (j.launch.sharedBytes > 48 * 1024 &&
        !ok(a_.cuFuncSetAttribute(f, cuda::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                  int(j.launch.sharedBytes)),
            "cuFuncSetAttribute"))
      return nullptr;
    return f;
  }
  /// `maps`: tensor maps passed after the pointer arguments.
  bool launch(cuda::CUfunction f, const LaunchDims &l, std::vector<cuda::CUdeviceptr> &args,
              cuda::CUstream stream = nullptr, std::vector<cuda::CuTensorMap> *maps = nullptr) {
    std::vector<void *> params;
    for (cuda::CUdeviceptr &p : args)
      params.push_back(&p);
    if (maps)
      for (cuda::CuTensorMap &m : *maps)
        params.push_back(&m);
    return ok(a_.cuLaunchKernel(f, l.grid[0], l.grid[1], l.grid[2], l.block[0], l.block[1],
                                l.block[2], l.sharedBytes, stream, params.data(), nullptr),
              "cuLaunchKernel");
  }
  bool sync(cuda::CUstream stream = nullptr) {
    return ok(a_.cuStreamSynchronize(stream), "cuStreamSynchronize (kernel fault?)");
  }
  ~Gpu() {
    for (cuda::CUmodule m : modules_)
      a_.cuModuleUnload(m);
  }

private:
  const cuda::Driver *d_;
  const cuda::DriverApi &a_;
  std::vector<cuda::CUmodule> modules_;
  bool failed_ = false;
};

/// Median ms per launch. 2 warm-up launches and one timed launch size a
/// batch of ~1 ms (1..200 launches); the batch is captured into a CUDA graph
/// (no host launch gaps, as cublas_peer.py does for torch) and `reps`
/// replays are timed with events.
double timeLaunches(Gpu &g, cuda::CUfunction f, const LaunchDims &l,
                    std::vector<cuda::CUdeviceptr> &args, int reps,
                    std::vector<cuda::CuTensorMap> *maps) {
  const cuda::DriverApi &a = g.api();
  cuda::CUstream st = nullptr;
  cuda::CUevent e0 = nullptr, e1 = nullptr;
  cuda::CUgraph graph = nullptr;
  cuda::CUgraphExec exec = nullptr;
  std::vector<double> t;
  auto elapsed = [&]() {
    float ms = -1;
    g.ok(a.cuEventElapsedTime(&ms, e0, e1), "cuEventElapsedTime");
    return double(ms);
  };
  if (!g.ok(a.cuStreamCreate(&st, cuda::CU_STREAM_NON_BLOCKING), "cuStreamCreate") ||
      !g.ok(a.cuEventCreate(&e0, cuda::CU_EVENT_DEFAULT), "cuEventCreate") ||
      !g.ok(a.cuEventCreate(&e1, cuda::CU_EVENT_DEFAULT), "cuEventCreate"))
    return -1;
  g.launch(f, l, args, st, maps);
  g.launch(f, l, args, st, maps);
  a.cuEventRecord(e0, st);
  g.launch(f, l, args, st, maps);
  a.cuEventRecord(e1, st);
  if (g.sync(st)) {
    int inner = int(std::clamp(1.0 / std::max(elapsed(), 1e-4), 1.0, 200.0));
    if (g.ok(a.cuStreamBeginCapture(st, cuda::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
             "cuStreamBeginCapture")) {
      for (int i = 0; i < inner; ++i)
        g.launch(f, l, args, st, maps);
      if (g.ok(a.cuStreamEndCapture(st, &graph), "cuStreamEndCapture") &&
          g.ok(a.cuGraphInstantiateWithFlags(&exec, graph, 0), "cuGraphInstantiate")) {
        g.ok(a.cuGraphLaunch(exec, st), "cuGraphLaunch"); // warm the graph
        for (int r = 0; r < reps && g.sync(st); ++r) {
          a.cuEventRecord(e0, st);
          g.ok(a.cuGraphLaunch(exec, st), "cuGraphLaunch");
          a.cuEventRecord(e1, st);
          if (g.sync(st))
            t.push_back(elapsed() / inner);
        }
      }
    }
  }
  if (exec)
    a.cuGraphExecDestroy(exec);
  if (graph)
    a.cuGraphDestroy(graph);
  a.cuEventDestroy(e0);
  a.cuEventDestroy(e1);
  a.cuStreamDestroy(st);
  if (t.empty() || g.failed())
    return -1;
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

/// Encodes a TMA kernel's tensor maps on its operands (A, B).
bool encodeTmaMaps(Gpu &g, const Job &j, std::array<cuda::CUdeviceptr, 2> operands,
                   std::vector<cuda::CuTensorMap> &maps) {
  const cuda::DriverApi &a = g.api();
  if (!a.cuTensorMapEncodeTiled) {
    std::fprintf(stderr, "effc-gemm-bench: %s: the driver lacks cuTensorMapEncodeTiled\n",
                 j.name.c_str());
    return false;
  }
  for (const TensorMapDesc &m : j.tmaMaps) {
    cuda::CuTensorMap t;
    const std::vector<unsigned long long> dims(m.dims.begin(), m.dims.end()),
        strides(m.strides.begin(), m.strides.end());
    if (!g.ok(a.cuTensorMapEncodeTiled(
                  &t,
                  m.dtype == DType::FLOAT16 ? cuda::CU_TENSOR_MAP_DATA_TYPE_FLOAT16
                                            : cuda::CU_TENSOR_MAP_DATA_TYPE_BFLOAT16,
                  unsigned(m.dims.size()), reinterpret_cast<void *>(operands[m.arg]), dims.data(),
                  strides.data(), m.box.data(), m.elementStrides.data(), m.interleave, m.swizzle,
                  m.l2Promotion, m.oobFill),
              ("cuTensorMapEncodeTiled " + j.name).c_str()))
      return false;
    maps.push_back(t);
  }
  return true;
}

/// The launch of a run with dim 0 = rows: each runtime grid rule evaluated
/// there as the cuda backend does (clamp(ceil(count / per_block), 1, cap));
/// `l` itself without rules or rows.
LaunchDims runLaunch(const LaunchDims &l, int64_t rows) {
  LaunchDims out = l;
  for (const RuntimeGrid &r : l.runtimeGrid) {
    int64_t count = 0;
    for (const auto &[dims, coeff] : r.count.terms()) {
      int64_t term = coeff;
      for (size_t d = 0; d < dims.size(); ++d)
        term *= rows; // the bench's one dim
      count += term;
    }
    out.grid[r.axis] =
        uint32_t(std::clamp<int64_t>((count + r.perBlock - 1) / r.perBlock, 1, r.cap));
  }
  return out;
}

/// Runs every variant of `p`: fill, reference, then per variant poison C,
/// launch, compare (and time for perf problems).
void runProblem(Gpu &g, Problem &p, const std::vector<Job> &jobs, cuda::CUfunction fill,
                const Options &opt, unsigned seed) {
  const GemmSpec &s = p.spec;
  Layout l = bench::layoutOf(s);
  const cuda::DriverApi &a = g.api();
  std::vector<cuda::CUdeviceptr> bufs;
  auto fresh = [&](int64_t elems, DType t) {
    cuda::CUdeviceptr ptr = g.alloc(size_t(elems) * elemSize(t));
    bufs.push_back(ptr);
    if (ptr) {
      long long n = elems;
      int code = bench::dtypeCode(t);
      unsigned sd = seed + unsigned(bufs.size()) * 7919u;
      void *params[] = {&ptr, &n, &code, &sd};
      g.ok(a.cuLaunchKernel(fill, 1024, 1, 1, 256, 1, 1, 0, nullptr, params, nullptr), "fill");
    }
    return ptr;
  };
  cuda::CUdeviceptr A = fresh(l.elemsA, s.aType), B = fresh(l.elemsB, s.bType);
  cuda::CUdeviceptr bias = s.hasBias ? fresh(l.elemsBias, s.biasType) : 0;
  std::vector<cuda::CUdeviceptr> extra;
  for (DType t : p.epilogueInputs)
    extra.push_back(fresh(s.batch() * s.M * s.N, t));
  cuda::CUdeviceptr C = g.alloc(size_t(l.elemsC) * elemSize(s.yType));
  cuda::CUdeviceptr R = g.alloc(size_t(s.batch() * s.M * s.N) * 4);
  cuda::CUdeviceptr out = g.alloc(8);
  // Runtime rows: the run's dims (dim 0 = R) for the kernel's effc_dims.
  cuda::CUdeviceptr dims = s.hasRuntimeRows() ? g.alloc(8) : 0;
  bufs.insert(bufs.end(), {C, R, out, dims});
  if (g.failed())
    goto done;
  {
    std::vector<cuda::CUdeviceptr> args{A, B};
    if (bias)
      args.push_back(bias);
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<cuda::CUdeviceptr> refArgs = args;
    refArgs.push_back(R);
    args.push_back(C);
    if (dims) {
      const long long rows = opt.rows;
      g.ok(a.cuMemcpyHtoD(dims, &rows, 8), "cuMemcpyHtoD (dims)");
      args.push_back(dims);
    }
    cuda::CUfunction ref = g.load(jobs[p.refJob]), cmp = g.load(jobs[p.cmpJob]);
    if (!ref || !cmp || !g.launch(ref, jobs[p.refJob].launch, refArgs) || !g.sync())
      goto done;
    for (Variant &v : p.variants) {
      const Job &j = jobs[v.job];
      cuda::CUfunction f = g.load(j);
      if (!f)
        continue;
      std::vector<cuda::CuTensorMap> maps;
      if (!j.tmaMaps.empty() && !encodeTmaMaps(g, j, {A, B}, maps))
        continue;
      std::vector<cuda::CuTensorMap> *mp = maps.empty() ? nullptr : &maps;
      g.ok(a.cuMemsetD8(C, 0xFF, size_t(l.elemsC) * elemSize(s.yType)), "cuMemsetD8"); // NaN poison
      g.ok(a.cuMemsetD8(out, 0, 8), "cuMemsetD8");
      std::vector<cuda::CUdeviceptr> cmpArgs{C, R, out};
      const LaunchDims launch = runLaunch(j.launch, opt.rows);
      if (!g.launch(f, launch, args, nullptr, mp) || !g.sync() ||
          !g.launch(cmp, jobs[p.cmpJob].launch, cmpArgs) || !g.sync())
        continue;
      unsigned bits[2] = {0, 0};
      g.ok(a.cuMemcpyDtoH(bits, out, 8), "cuMemcpyDtoH");
      float err, mag;
      std::memcpy(&err, &bits[0], 4);
      std::memcpy(&mag, &bits[1], 4);
      v.maxRelErr = mag > 0 ? double(err) / double(mag) : double(err);
      v.pass = std::isfinite(v.maxRelErr) && v.maxRelErr <= p.tol;
      // Rows past the run's M stay poisoned where the kernel follows the run
      // (every tensor-core kernel: TMA, cp.async wgmma and mma.sync stop at
      // its rows; the FFMA kernel skips whole row tiles past them only).
      if (s.hasRuntimeRows() && opt.rows < s.M && usesTensorCores(s)) {
        const size_t row = size_t(s.N) * elemSize(s.yType);
        std::vector<unsigned char> past(size_t(s.M - opt.rows) * row);
        g.ok(a.cuMemcpyDtoH(past.data(), C + size_t(opt.rows) * row, past.size()),
             "cuMemcpyDtoH (rows past the run's M)");
        size_t written = size_t(
            std::count_if(past.begin(), past.end(), [](unsigned char b) { return b != 0xFF; }));
        if (written) {
          std::printf("%s: %zu bytes written in rows %lld..%lld (past the run's M)\n",
                      j.name.c_str(), written, (long long)opt.rows, (long long)s.M - 1);
          v.pass = false;
        }
      }
      if (p.perf)
        v.ms = timeLaunches(g, f, launch, args, opt.reps, mp);
    }
  }
done:
  for (cuda::CUdeviceptr b : bufs)
    if (b)
      a.cuMemFree(b);
}

bool parseArgs(int argc, char **argv, Options &o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&](const char *key) -> const char * {
      size_t n = std::strlen(key);
      return a.compare(0, n, key) == 0 ? a.c_str() + n : nullptr;
    };
    if (a == "--check")
      o.check = true;
    else if (a == "--perf")
      o.perf = true;
    else if (a == "--sweep")
      o.sweep = o.perf = true;
    else if (a == "--compile-only")
      o.compileOnly = true;
    else if (a == "--emit-only")
      o.emitOnly = true;
    else if (a == "--wgmma")
      o.wgmma = true;
    else if (a == "--cpasync")
      o.cpasync = true;
    else if (a == "--pingpong")
      o.pingpong = true;
    else if (a == "--list")
      o.list = true;
    else if (const char *v = val("--rows=")) {
      o.rows = std::atoll(v);
      if (o.rows < 1) {
        std::fprintf(stderr, "effc-gemm-bench: --rows=R wants R >= 1\n");
        return false;
      }
    } else if (const char *v = val("--only="))
      o.only = std::atoi(v);
    else if (const char *v = val("--split=")) {
      o.splitK = std::atoi(v);
      if (o.splitK < 1 || o.splitK > 8) {
        std::fprintf(stderr, "effc-gemm-bench: --split=N wants N in 1..8\n");
        return false;
      }
    } else if (const char *v = val("--arch="))
      o.arch = v;
    else if (const char *v = val("--problems=")) {
      std::string list = v;
      for (size_t b = 0, e; b < list.size(); b = e + 1) {
        e = list.find(',', b);
        if (e == std::string::npos)
          e = list.size();
        long long m = 0, n = 0, k = 0;
        char t = 0, extra = 0;
        const int got = std::sscanf(list.substr(b, e - b).c_str(), "%lldx%lldx%lld%c%c", &m, &n, &k,
                                    &t, &extra);
        if (got < 3 || got > 4 || (got == 4 && t != 't') || m <= 0 || n <= 0 || k <= 0) {
          std::fprintf(stderr,
                       "effc-gemm-bench: bad --problems entry '%s' (want MxNxK or MxNxKt)\n",
                       list.substr(b, e - b).c_str());
          return false;
        }
        o.problems.push_back({m, n, k, got == 4 ? 1 : 0});
      }
    } else if (const char *v = val("--shapes="))
      o.shapes = v;
    else if (const char *v = val("--dump="))
      o.dump = v;
    else if (const char *v = val("--reps="))
      o.reps = std::max(1, std::atoi(v));
    else if (const char *v = val("--decode-variant="))
      o.decodeVariant = v;
    else if (const char *v = val("--jobs="))
      o.jobs = std::max(1, std::atoi(v));
    else if (const char *v = val("--dtypes=")) {
      o.dtypes.clear();
      std::string list = v;
      for (size_t b = 0, e; b <= list.size(); b = e + 1) {
        e = list.find(',', b);
        if (e == std::string::npos)
          e = list.size();
        if (e > b)
          o.dtypes.push_back(list.substr(b, e - b));
      }
    } else {
      std::fprintf(stderr, "effc-gemm-bench: unknown argument '%s'\n", a.c_str());
      return false;
    }
  }
  if (o.rows > 0) { // runtime rows: 16-bit perf problems only
    if (o.check) {
      std::fprintf(stderr, "effc-gemm-bench: --rows runs perf problems only (give --perf)\n");
      return false;
    }
    o.perf = true;
    for (const std::string &dt : o.dtypes)
      if (dt == "fp32") {
        std::fprintf(stderr, "effc-gemm-bench: --rows needs 16-bit --dtypes (bf16, fp16)\n");
        return false;
      }
    for (const auto &pr : o.problems)
      if (pr[0] < o.rows) {
        std::fprintf(stderr, "effc-gemm-bench: --rows=%lld exceeds M of problem %lldx%lldx%lld\n",
                     (long long)o.rows, (long long)pr[0], (long long)pr[1], (long long)pr[2]);
        return false;
      }
  }
  if (o.pingpong && (!o.wgmma || o.cpasync)) {
    std::fprintf(stderr, "effc-gemm-bench: --pingpong is a schedule of the TMA kernel: give "
                         "--wgmma without --cpasync\n");
    return false;
  }
  if (!o.decodeVariant.empty() && (o.rows < 1 || o.rows > tcgemm::kDecodeRows)) {
    std::fprintf(stderr, "effc-gemm-bench: --decode-variant needs --rows=R with R <= %d\n",
                 tcgemm::kDecodeRows);
    return false;
  }
  if (!o.check && !o.perf)
    o.check = o.perf = true;
  if (o.emitOnly && o.dump.empty()) {
    std::fprintf(stderr, "effc-gemm-bench: --emit-only needs --dump=DIR\n");
    return false;
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  Options opt;
  if (!parseArgs(argc, argv, opt))
    return 2;
  if (Status st = nvrtc::load(); !st.ok() && !opt.emitOnly && !opt.list) {
    std::fprintf(stderr, "effc-gemm-bench: %s\n", st.message().c_str());
    return 1;
  }
  const cuda::Driver *drv = nullptr;
  int numSMs = 132;
  if (!opt.compileOnly && !opt.emitOnly && !opt.list) {
    auto d = cuda::getDriver();
    if (!d.ok()) {
      std::fprintf(stderr, "effc-gemm-bench: %s (use --compile-only --arch=sm_90 without a GPU)\n",
                   d.status().message().c_str());
      return 1;
    }
    drv = *d;
    if (Status st = drv->makeCurrent(); !st.ok()) {
      std::fprintf(stderr, "effc-gemm-bench: %s\n", st.message().c_str());
      return 1;
    }
    if (opt.arch.empty())
      opt.arch = opt.wgmma ? "sm_90a" : nvrtc::archForComputeCapability(drv->ccMajor, drv->ccMinor);
    drv->api.cuDeviceGetAttribute(&numSMs, 16 /* CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT */,
                                  drv->device);
    std::printf("device: %s (%s, %d SMs)\n", drv->deviceName.c_str(), opt.arch.c_str(), numSMs);
  }
  if (opt.arch.empty())
    opt.arch = opt.wgmma ? "sm_90a" : "sm_90";

  std::vector<Problem> problems;
  if (opt.check)
    for (Problem &p : opt.wgmma ? wgmmaCheckProblems(opt) : checkProblems(opt))
      problems.push_back(p);
  if (opt.perf)
    for (Problem &p : perfProblems(opt))
      if (opt.shapes.empty() || p.label.find(opt.shapes) != std::string::npos)
        problems.push_back(p);

  if (opt.list) {
    for (size_t i = 0; i < problems.size(); ++i)
      std::printf("PROBLEM %zu %s %s %s %s\n", i, problems[i].perf ? "perf" : "check",
                  problems[i].label.c_str(), problems[i].dtype.c_str(), problems[i].what.c_str());
    return 0;
  }
  if (opt.only >= 0) {
    if (size_t(opt.only) >= problems.size()) {
      std::fprintf(stderr, "effc-gemm-bench: --only=%d: there are %zu problems\n", opt.only,
                   problems.size());
      return 2;
    }
    problems = {problems[size_t(opt.only)]};
  }

  // Jobs: fill module, then per problem its reference, comparer and variants.
  std::vector<Job> jobs;
  Job fillJob;
  fillJob.name = "bench_fill";
  fillJob.source = bench::supportSource();
  jobs.push_back(fillJob);
  for (size_t pi = 0; pi < problems.size(); ++pi) {
    Problem &p = problems[pi];
    p.spec.numSMs = numSMs;
    std::string base = "p" + std::to_string(pi);
    Job ref, cmp;
    ref.name = base + "_ref";
    cmp.name = base + "_cmp";
    // Runtime rows: the reference and the comparison cover the run's rows
    // (a prefix of the packed [M][N] output; A is [M][K]).
    GemmSpec checked = p.spec;
    if (p.spec.hasRuntimeRows()) {
      checked.M = opt.rows;
      checked.runtimeRows = Extent();
    }
    ref.source = bench::referenceSource(checked, ref.name, &ref.launch);
    cmp.source = bench::compareSource(checked, cmp.name, &cmp.launch);
    p.refJob = jobs.size();
    jobs.push_back(ref);
    p.cmpJob = jobs.size();
    jobs.push_back(cmp);
    // The wgmma kernel where the spec is an sm_90a one it supports.
    const bool hopper = usesWgmma(p.spec);
    TileConfig chosen = hopper ? wgmma::chooseTile(p.spec) : chooseTile(p.spec);
    std::vector<TileConfig> tiles{chosen};
    // Perf problems are timed as the compiler ships them: emitGemm picks the
    // kernel (fp32: FFMA, no tiles to sweep).
    bool tensorCores = !p.perf || usesTensorCores(p.spec);
    if (p.perf && opt.sweep && tensorCores)
      for (const TileConfig &t : hopper ? wgmma::candidateTiles() : candidateTiles(p.spec.aType))
        if (!(t == chosen))
          tiles.push_back(t);
    // --pingpong: the ping-pong TMA kernel beside the shipped one.
    std::vector<GemmSpec> specs;
    for (const TileConfig &t : tiles) {
      GemmSpec s = p.spec;
      s.tile = t;
      specs.push_back(s);
    }
    if (p.perf && opt.pingpong && hopper) {
      GemmSpec s = p.spec;
      s.pingpong = true;
      if (std::string why = wgmma::pingpongUnsupportedReason(s); why.empty())
        specs.push_back(s);
      else
        std::printf("PINGPONG-FALLBACK %s %s\n", p.label.c_str(), why.c_str());
      // --sweep: every other candidate tile one warpgroup can hold, ping-pong.
      const TileConfig planned = wgmma::tmaTile(s);
      for (const TileConfig &t : opt.sweep ? wgmma::candidateTiles() : std::vector<TileConfig>{}) {
        s.tile = t;
        if (wgmma::usesPingpong(s) && !(t == planned))
          specs.push_back(s);
      }
    }
    for (size_t si = 0; si < specs.size(); ++si) {
      const GemmSpec &s = specs[si];
      const TileConfig t = s.tile;
      if (!hopper && !unsupportedReason(s).empty() && tensorCores)
        continue;
      Variant v;
      v.tile = t;
      v.kernel = hopper ? wgmma::kernelVariant(s) : tensorCores ? tileName(t) : "ffma";
      v.chosen = si == 0; // tiles[0] is `chosen`; the rest sweep or ping-pong
      Job j;
      j.name = base +
               (hopper        ? "_wg_"
                : tensorCores ? "_tcg_"
                              : "_ffma_") +
               std::to_string(p.variants.size());
      if (p.perf) {
        KernelDesc d = p.matmul;
        d.name = j.name;
        CudaKernel k = emitGemm(d, s);
        // The device code the compiler's translation unit starts with.
        j.source =
            (hopper ? deviceSources({"primitives.cuh", "elementwise.cuh", "tensor_core_gemm.cuh",
                                     "hopper.cuh", "wgmma_gemm.cuh", "ffma_gemm.cuh"})
                    : deviceSources({"primitives.cuh", "elementwise.cuh", "tensor_core_gemm.cuh",
                                     "ffma_gemm.cuh"})) +
            k.source;
        j.launch = k.launch;
      } else if (hopper) {
        j.source = wgmma::wgmmaGemmPrelude() + wgmma::emitWgmmaGemm(s, j.name);
        j.launch = wgmma::wgmmaGemmLaunch(s);
      } else {
        j.source = tensorCoreGemmPrelude() + emitTensorCoreGemm(s, j.name);
        j.launch = tensorCoreGemmLaunch(s);
      }
      if (hopper && wgmma::usesTma(s))
        j.tmaMaps = wgmma::tmaMaps(s);
      v.job = jobs.size();
      jobs.push_back(j);
      p.variants.push_back(v);
    }
  }
  if (opt.emitOnly) {
    for (const Job &j : jobs)
      if (!(std::ofstream(opt.dump + "/" + j.name + ".cu") << j.source)) {
        std::fprintf(stderr, "effc-gemm-bench: cannot write %s/%s.cu\n", opt.dump.c_str(),
                     j.name.c_str());
        return 1;
      }
    std::printf("wrote %zu kernel sources to %s\n", jobs.size(), opt.dump.c_str());
    return 0;
  }
  int threads = opt.jobs > 0 ? opt.jobs : int(std::max(1u, std::thread::hardware_concurrency()));
  std::printf("compiling %zu kernels for %s with %d threads...\n", jobs.size(), opt.arch.c_str(),
              threads);
  std::fflush(stdout);
  compileAll(jobs, opt.arch, threads);
  int compileErrors = 0;
  for (const Job &j : jobs) {
    if (!opt.dump.empty())
      std::ofstream(opt.dump + "/" + j.name + ".cu") << j.source;
    if (!j.error.empty()) {
      ++compileErrors;
      std::fprintf(stderr, "compile error: %s\n", j.error.c_str());
    }
  }
  if (opt.compileOnly) {
    for (const Problem &p : problems)
      for (const Variant &v : p.variants) {
        const Job &j = jobs[v.job];
        std::printf("COMPILED %-22s %-5s %-24s regs=%d spill=%d ms=%.0f%s\n", p.label.c_str(),
                    p.dtype.c_str(), v.kernel.c_str(), j.regs, j.spillBytes, j.ms,
                    j.error.empty() ? "" : " ERROR");
      }
    std::printf("%d compile errors\n", compileErrors);
    return compileErrors ? 1 : 0;
  }
  if (compileErrors)
    return 1;

  Gpu g(drv);
  cuda::CUfunction fill = g.load(jobs[0]);
  if (!fill)
    return 1;
  int failures = 0;
  for (size_t pi = 0; pi < problems.size() && !g.failed(); ++pi) {
    Problem &p = problems[pi];
    runProblem(g, p, jobs, fill, opt, 1234u + unsigned(pi) * 101u);
    const GemmSpec &s = p.spec;
    const double rows = s.hasRuntimeRows() ? double(opt.rows) : double(s.M);
    double flops = 2.0 * double(s.batch()) * rows * double(s.N) * double(s.K);
    for (const Variant &v : p.variants) {
      const Job &j = jobs[v.job];
      if (!v.pass)
        ++failures;
      double tflops = v.ms > 0 ? flops / (v.ms * 1e-3) / 1e12 : 0;
      // The decode path's kernel where this run takes it (rows <= decodeRows).
      std::string decode;
      tcgemm::DecodeGemv dv;
      if (std::string why; s.hasRuntimeRows() && tcgemm::decodeRows(s) &&
                           opt.rows <= tcgemm::decodeRows(s) && usesTensorCores(s) &&
                           tcgemm::chooseDecodeGemv(s, dv, why))
        decode = std::string(" decode=") + (dv.rows ? "rows:" : "v1:") + std::to_string(dv.cols);
      std::printf(
          "RESULT kind=%s shape=%s dtype=%s tile=%s chosen=%d regs=%d spill=%d ms=%.4f tflops=%.1f "
          "max_rel_err=%.3g tol=%.0e status=%s%s%s%s\n",
          p.perf ? "perf" : "check", p.label.c_str(), p.dtype.c_str(), v.kernel.c_str(),
          v.chosen ? 1 : 0, j.regs, j.spillBytes, v.ms, tflops, v.maxRelErr, p.tol,
          v.pass ? "PASS" : "FAIL", decode.c_str(), p.what.empty() ? "" : " what=", p.what.c_str());
      std::fflush(stdout);
    }
  }
  if (g.failed()) {
    std::fprintf(stderr, "effc-gemm-bench: stopped after a CUDA error\n");
    return 1;
  }
  std::printf("%d failures\n", failures);
  return failures ? 1 : 0;
}
