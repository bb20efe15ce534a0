// effc-quant-bench: effc's eff.quant_linear kernels (the ones the compiler
// ships: chooseQuantLinear/instantiateQuantLinear, device/quant_linear.cuh)
// on Llama-3.2-1B and Llama-3-8B linear shapes, bf16 activations, against
// cuBLAS bf16 and fp16 GEMMs in the same run, with the bandwidth floor of each.
//
//   effc-quant-bench [--check] [--perf] [--reps=N] [--cublas=LIB] [--gemv-variant=NAME]
//                    [--graphs] [--rows=1,4,16] [--shapes=1b,8b] [--arch=sm_90 --compile-only]
//
// --check: every scheme (int8 per channel, nf4 block 64, MatMulNBits-style
// int4 block 32, nf4 with double-quantized absmaxes, llm_int8 with and
// without outliers) at M in {1, 4, 16, 32,
// 128, 300} (the GEMVs up to 16 rows, the tensor-core mma kernel above for
// the weight-only schemes, the tiled kernel for llm_int8; shape 272x200 has
// K and N tails) on the GPU against effc's host reference kernel (runtime/src/host/
// QuantLinear.cpp, itself checked against numpy and onnxruntime) on the same
// bytes; outputs poisoned with NaN first. Max error / max |reference| <= 1e-2
// (bf16 outputs).
// --perf: M in {1, 4, 16, 128, 2048} x Llama-3.2-1B shapes q/o (2048x2048),
// gate/up (2048x8192), down (8192x2048) and Llama-3-8B shapes q/o
// (4096x4096), k/v (4096x1024), gate/up (4096x14336), down (14336x4096)
// (K x N; --shapes=1b or 8b for one model): microseconds per GEMM (the median over
// rounds of 20 back-to-back launches, 3 for M >= 128; weights rotated over
// >= 256 MB so L2 does not serve them), the speedup over cuBLAS fp16, and the floor: packed
// bytes (codes + scales) over the bandwidth this run measured with a plain
// 128-bit read kernel, and the achieved GB/s (packed bytes / us). Every
// timed effc kernel's output is checked too: its first and last 64 columns
// (up to 16 rows) against the host reference on those columns' packed bytes
// ("ok", else "BAD" and exit status 1). nf4-dq: nf4 with double-quantized
// absmaxes (one byte per 64 weights instead of four, decoded in the kernel).
// --graphs: each timed round is one CUDA graph of its launches (no CPU
// launch gaps: what a decode step run with cuda_graphs sees; cuBLAS too).
// --rows=M,..: the perf table's M (default 1,4,16,128,2048).
// --gemv-variant=NAME: the decode rows (M <= 16, check and perf) with that
// decode GEMV (the emitter's chooseDecodeGemv: vec, mma, bs, bs_lut, bs_fast,
// bs_sk, bs_sk2/4/8, bs_lut_sk, bs_lut_sk2/4/8, bs_fast_sk, bs_fast_sk2/4/8)
// instead of its default; where the variant does not apply to a scheme
// (e.g. bs_lut to int8) that cell says
// n/a; --check then runs only M in {1, 4, 16}. --decode=vec / --decode=mma:
// --gemv-variant=vec / mma.
// Without --check or --perf both run. Exit status 1 when a check fails.
// --compile-only compiles every kernel with NVRTC for --arch (no GPU), and
// every decode GEMV variant (on sm_80: those without clusters) on two shapes.
#include "bench/common/BenchGpu.h"
#include "compiler/codegen/Families.h"
#include "compiler/codegen/Prelude.h"
#include "compiler/codegen/core/KernelDesc.h"
#include "compiler/codegen/device/DeviceCode.h"
#include "cuda/DriverApi.h"
#include "cuda/DynLib.h"
#include "cuda/Nvrtc.h"
#include "host/HostKernels.h"
#include "host/QuantLinear.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace effc;
using namespace effc::codegen;

namespace {

struct Options {
  bool check = false, perf = false, compileOnly = false;
  std::string arch, cublas;
  int reps = 15;
  bool graphs = false;                               // --graphs: each timed round one CUDA graph
  std::vector<int64_t> rows = {1, 4, 16, 128, 2048}; // --rows=: the perf table's M
  bool shapes1b = true, shapes8b = true;             // --shapes=1b,8b
};

// ---------------------------------------------------------------- schemes --

struct Scheme {
  std::string name;
  host::QuantScheme scheme;
  host::QuantLayout layout;
  int64_t block; // 0: K (one block per column)
  int bits;
  double threshold = 6.0;
  bool doubleQuant = false; // nf4: absmaxes as quant_defs.cuh's QL_DQ bytes
};

const std::vector<Scheme> &schemes() {
  static const std::vector<Scheme> s = {
      {"int8", host::QuantScheme::Int8, host::QuantLayout::NBlocks, 0, 8},
      {"nf4", host::QuantScheme::NF4, host::QuantLayout::BnbFlat, 64, 4},
      {"nbits4", host::QuantScheme::Int4, host::QuantLayout::NBlocks, 32, 4},
      {"nf4-dq", host::QuantScheme::NF4, host::QuantLayout::BnbFlat, 64, 4, 6.0, true},
      {"llm-int8", host::QuantScheme::LLMInt8, host::QuantLayout::NBlocks, 0, 8, 6.0},
      {"llm-int8-t1", host::QuantScheme::LLMInt8, host::QuantLayout::NBlocks, 0, 8, 1.0},
  };
  return s;
}

/// The packed operands of one [K, N] weight in `s`'s layout: random codes and
/// positive scales (their values do not matter for timing; the check compares
/// against the host reference on the same bytes).
struct Packed {
  std::vector<uint8_t> codes;
  std::vector<uint8_t> scales; // fp32 values, or the double-quantized bytes
  std::vector<int64_t> codesShape, scalesShape;
  DType scalesType = DType::FLOAT32;
  int64_t block = 0;
};

Packed pack(const Scheme &s, int64_t K, int64_t N, uint32_t seed, bool fill = true) {
  Packed p;
  p.block = s.block > 0 ? s.block : K;
  std::mt19937 rng(seed);
  if (s.layout == host::QuantLayout::BnbFlat) {
    p.codesShape = {(N * K + 1) / 2};
    p.scalesShape = {(N * K + p.block - 1) / p.block};
    if (s.doubleQuant) {
      p.scalesShape = {host::dqScaleBytes(p.scalesShape[0])};
      p.scalesType = DType::UINT8;
    }
  } else {
    const int64_t blocks = (K + p.block - 1) / p.block;
    p.codesShape = {N, blocks, p.block * s.bits / 8};
    p.scalesShape = {N, blocks};
  }
  int64_t bytes = 1, scales = 1;
  for (int64_t d : p.codesShape)
    bytes *= d;
  for (int64_t d : p.scalesShape)
    scales *= d;
  if (!fill)
    return p;
  p.codes.resize(size_t(bytes));
  for (auto &b : p.codes)
    b = uint8_t(rng() >> 24);
  // Scales so that |W| is about 0.02-0.05 (int codes up to 127 or 8, the
  // code books up to 1): outputs of order 1 for K in the thousands.
  const float unit = s.bits == 8                           ? 1.0f / 127.0f
                     : s.scheme == host::QuantScheme::Int4 ? 0.125f
                                                           : 1.0f;
  std::uniform_real_distribution<float> u(0.02f, 0.05f);
  if (s.doubleQuant) {
    // Random map indices, group scales 0.015 and offset 0.035: absmaxes in
    // [0.02, 0.05] as well.
    const int64_t blocks = (N * K + p.block - 1) / p.block;
    p.scales.assign(size_t(scales), 0);
    for (int64_t i = 0; i < blocks; ++i)
      p.scales[size_t(i)] = uint8_t(rng() >> 24);
    const int64_t groups = QL_DQ_GROUPS(blocks);
    for (int64_t g = 0; g <= groups; ++g) {
      const float v = g < groups ? 0.015f : 0.035f;
      std::memcpy(p.scales.data() + QL_DQ_PAD(blocks) + 4 * g, &v, 4);
    }
    return p;
  }
  p.scales.resize(size_t(scales) * 4);
  for (int64_t i = 0; i < scales; ++i) {
    const float v = u(rng) * unit;
    std::memcpy(p.scales.data() + 4 * i, &v, 4);
  }
  return p;
}

// ----------------------------------------------------------------- kernels --

uint16_t toBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u); // round to nearest even (finite inputs)
  return uint16_t(u >> 16);
}

float fromBf16(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

/// --gemv-variant: the emitter's gemv_variant attr (empty: its default).
std::string gVariant;
/// The decode GEMVs chooseDecodeGemv knows (--compile-only compiles each).
const std::vector<std::string> kVariants = {"vec",     "mma",       "bs",        "bs_lut",
                                            "bs_fast", "bs_sk",     "bs_sk2",    "bs_sk4",
                                            "bs_sk8",  "bs_lut_sk", "bs_fast_sk"};
/// The target has thread block clusters (sm_90*): split-K variants apply.
bool gSm90 = false;

host::Attrs attrsOf(const Scheme &s, int64_t K, int64_t N, int64_t block) {
  return {{"scheme", int64_t(s.scheme)},
          {"layout", int64_t(s.layout)},
          {"K", K},
          {"N", N},
          {"block_size", block},
          {"threshold", s.threshold},
          {"double_quant", int64_t(s.doubleQuant)}};
}

KernelDesc describe(const Scheme &s, const Packed &p, int64_t M, int64_t K, int64_t N,
                    const std::string &name) {
  KernelDesc d;
  d.op = "eff.quant_linear";
  d.name = name;
  d.attrs = attrsOf(s, K, N, p.block);
  if (!gVariant.empty())
    d.attrs["gemv_variant"] = gVariant;
  d.sm90a = gSm90;
  d.inputs = {{DType::BFLOAT16, {M, K}},
              {DType::UINT8, p.codesShape},
              {p.scalesType, p.scalesShape},
              {DType::UINT8, {}}};
  d.inputs[3].present = false;
  d.outputs = {{DType::BFLOAT16, {M, N}}};
  return d;
}

struct Kernel {
  std::string label, name, variant, source, cubin, error;
  int64_t bm = 0, bn = 0;               // the mma tile
  int64_t split = 1, lut = 0, fast = 0; // gemv_mma_bs
  bool notApplicable = false;           // the forced --gemv-variant does not take this kernel
  LaunchDims launch;
};

Kernel generate(const Scheme &s, const Packed &p, int64_t M, int64_t K, int64_t N) {
  Kernel k;
  k.label = s.name + " M" + std::to_string(M) + " " + std::to_string(K) + "x" + std::to_string(N);
  // The threshold too: llm-int8 and llm-int8-t1 are one scheme number.
  k.name = "effc_qb" + (gVariant.empty() ? std::string() : "_" + gVariant) + "_" +
           std::to_string(int(s.scheme)) + "_t" + std::to_string(int(s.threshold * 100)) +
           (s.doubleQuant ? "_dq_" : "_") + std::to_string(M) + "_" + std::to_string(K) + "_" +
           std::to_string(N);
  KernelDesc d = describe(s, p, M, K, N, k.name);
  KernelChoice c;
  std::string text;
  if (!chooseQuantLinear(d, c, k.error)) {
    k.notApplicable = !gVariant.empty() && M <= 16;
    return k;
  }
  if (!instantiateQuantLinear(d, c, text, k.error))
    return k;
  k.variant = c.variant;
  k.bm = c.param("bm");
  k.bn = c.param("bn");
  k.split = c.param("split", 1);
  k.lut = c.param("lut");
  k.fast = c.param("fast");
  k.launch = c.launch;
  k.source = cudaPrelude() + deviceSources({"quant_defs.cuh", "quant_linear.cuh"}) + text;
  return k;
}

/// "mma 64x128" for the tensor-core kernel, "gemv_mma_bs+lut/sk4" for the
/// decode GEMV's variants, "n/a" where the forced variant does not apply.
std::string variantText(const Kernel &k) {
  if (k.notApplicable)
    return "n/a";
  if (k.variant == "mma")
    return "mma " + std::to_string(k.bm) + "x" + std::to_string(k.bn);
  std::string v = k.variant;
  if (k.lut || k.fast || k.split > 1)
    v += "+";
  if (k.lut)
    v += "lut";
  if (k.fast)
    v += "fast";
  if (k.split > 1)
    v += std::string(k.lut || k.fast ? "/" : "") + "sk" + std::to_string(k.split);
  return v;
}

/// A plain 128-bit read of `n16` uint4s (the bandwidth the floor divides by).
const char *kReadSource = R"CUDA(
EFFC_KERNEL void effc_read(const uint4* __restrict__ p, long long n16, unsigned* out) {
  unsigned acc = 0;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n16; i += (long long)gridDim.x * blockDim.x) {
    const uint4 v = __ldg(p + i);
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (acc == 0x12345678u) out[0] = acc;  // keeps the loads
}
)CUDA";

// ------------------------------------------------------------------ device --

/// The driver calls (bench/common/BenchGpu.h), errors named
/// effc-quant-bench; buffers kept until freeAll(), launches on a stream of
/// its own once useGraphs() (captured into a CUDA graph by time()).
class Gpu : public bench::Gpu {
public:
  explicit Gpu(const cuda::Driver *d) : bench::Gpu(d, "effc-quant-bench") {}
  cuda::CUdeviceptr alloc(size_t bytes) {
    cuda::CUdeviceptr p = bench::Gpu::alloc(bytes);
    buffers_.push_back(p);
    return p;
  }
  cuda::CUdeviceptr upload(const void *host, size_t bytes) {
    cuda::CUdeviceptr p = alloc(bytes);
    if (p)
      ok(a_.cuMemcpyHtoD(p, host, bytes), "cuMemcpyHtoD");
    return p;
  }
  void freeAll() {
    for (cuda::CUdeviceptr p : buffers_)
      a_.cuMemFree(p);
    buffers_.clear();
  }
  /// Kernel `name` of `cubin`; nullptr when loading fails.
  cuda::CUfunction load(const std::string &cubin, const std::string &name) {
    return function(loadModule(cubin, name), name);
  }
  /// --graphs: every launch (and cuBLAS, through Cublas::setStream) goes to
  /// one created stream, and time() captures each round's steps as a graph.
  cuda::CUstream useGraphs() {
    graphs_ = true;
    if (!stream_)
      ok(a_.cuStreamCreate(&stream_, 0), "cuStreamCreate");
    return stream_;
  }
  /// Median over `rounds` of (time of `inner` back-to-back steps) / inner, in
  /// us. With graphs the `inner` steps are captured once into a CUDA graph
  /// and each round launches it (no CPU launch gaps between the kernels, as
  /// effc's decode steps with cuda_graphs); a step's argument i differs per
  /// step inside the graph, not per round.
  template <class Step> double time(int rounds, int inner, Step step) {
    cuda::CUevent e0 = nullptr, e1 = nullptr;
    ok(a_.cuEventCreate(&e0, cuda::CU_EVENT_DEFAULT), "cuEventCreate");
    ok(a_.cuEventCreate(&e1, cuda::CU_EVENT_DEFAULT), "cuEventCreate");
    int i = 0;
    cuda::CUgraph graph = nullptr;
    cuda::CUgraphExec exec = nullptr;
    if (graphs_) {
      ok(a_.cuStreamBeginCapture(stream_, cuda::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
         "cuStreamBeginCapture");
      for (int j = 0; j < inner; ++j)
        step(i++);
      ok(a_.cuStreamEndCapture(stream_, &graph), "cuStreamEndCapture");
      if (graph)
        ok(a_.cuGraphInstantiateWithFlags(&exec, graph, 0), "cuGraphInstantiate");
    }
    auto round = [&] {
      if (exec)
        ok(a_.cuGraphLaunch(exec, stream_), "cuGraphLaunch");
      else if (!graphs_)
        for (int j = 0; j < inner; ++j)
          step(i++);
    };
    round(); // warm-up
    sync("warm-up");
    std::vector<double> t;
    for (int r = 0; r < rounds && !failed_; ++r) {
      a_.cuEventRecord(e0, stream_);
      round();
      a_.cuEventRecord(e1, stream_);
      sync("timed launches");
      float ms = 0;
      ok(a_.cuEventElapsedTime(&ms, e0, e1), "cuEventElapsedTime");
      t.push_back(1000.0 * ms / inner);
    }
    if (exec)
      a_.cuGraphExecDestroy(exec);
    if (graph)
      a_.cuGraphDestroy(graph);
    a_.cuEventDestroy(e0);
    a_.cuEventDestroy(e1);
    if (t.empty())
      return NAN;
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
  }

private:
  std::vector<cuda::CUdeviceptr> buffers_;
  bool graphs_ = false;
};

// ------------------------------------------------------------------ cuBLAS --

/// cublasGemmEx through dlopen (no CUDA headers or libraries at build time).
struct Cublas {
  using Handle = void *;
  int (*create)(Handle *) = nullptr;
  int (*setStream)(Handle, cuda::CUstream) = nullptr;
  int (*gemmEx)(Handle, int, int, int, int, int, const void *, const void *, int, int, const void *,
                int, int, const void *, void *, int, int, int, int) = nullptr;
  Handle handle = nullptr;
  std::string loaded, why;
  static constexpr int kOpN = 0, kR16F = 2, kR16BF = 14, kCompute32F = 68, kAlgoDefault = -1;

  bool open(const std::string &path) {
    std::vector<std::string> names = {"libcublas.so.13", "libcublas.so.12", "libcublas.so.11",
                                      "libcublas.so"};
    if (!path.empty())
      names = {path};
    void *lib = cuda::openFirst(names, &loaded, &why);
    if (!lib)
      return false;
    create = reinterpret_cast<decltype(create)>(cuda::symbol(lib, "cublasCreate_v2"));
    gemmEx = reinterpret_cast<decltype(gemmEx)>(cuda::symbol(lib, "cublasGemmEx"));
    setStream = reinterpret_cast<decltype(setStream)>(cuda::symbol(lib, "cublasSetStream_v2"));
    if (!create || !gemmEx || !setStream || create(&handle) != 0) {
      why = "cublasCreate_v2/cublasGemmEx/cublasSetStream_v2 unusable in " + loaded;
      return false;
    }
    return true;
  }
  /// Row-major y[M, N] = a[M, K] w[K, N] in `type` (fp32 accumulation).
  bool gemm(int type, int64_t M, int64_t K, int64_t N, cuda::CUdeviceptr a, cuda::CUdeviceptr w,
            cuda::CUdeviceptr y) const {
    const float one = 1.0f, zero = 0.0f;
    return gemmEx(handle, kOpN, kOpN, int(N), int(M), int(K), &one, reinterpret_cast<void *>(w),
                  type, int(N), reinterpret_cast<void *>(a), type, int(K), &zero,
                  reinterpret_cast<void *>(y), type, int(N), kCompute32F, kAlgoDefault) == 0;
  }
};

// ------------------------------------------------------------------- check --

/// Every kernel the run needs, compiled up front on all cores (NVRTC takes
/// about a second per kernel); keyed by Kernel::name.
std::map<std::string, Kernel> gKernels;

struct Want {
  const Scheme *scheme;
  int64_t M, K, N;
};

void compileAll(const std::vector<Want> &wants, const std::string &arch) {
  std::vector<Kernel *> todo;
  for (const Want &w : wants) {
    Kernel k = generate(*w.scheme, pack(*w.scheme, w.K, w.N, 0, false), w.M, w.K, w.N);
    if (!gKernels.count(k.name))
      todo.push_back(&(gKernels[k.name] = std::move(k)));
  }
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next++) < todo.size();) {
      Kernel &k = *todo[i];
      if (!k.error.empty())
        continue;
      auto c = nvrtc::compile(k.source, nvrtc::compileOptions(arch, {}), k.name + ".cu");
      if (c.ok())
        k.cubin = std::move(c->cubin);
      else
        k.error = c.status().message();
    }
  };
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < std::max(1u, std::thread::hardware_concurrency()); ++i)
    pool.emplace_back(worker);
  for (std::thread &t : pool)
    t.join();
}

/// The compiled kernel of (s, M, K, N) (compileAll must have listed it).
const Kernel &kernelFor(const Scheme &s, const Packed &p, int64_t M, int64_t K, int64_t N) {
  Kernel k = generate(s, p, M, K, N);
  auto it = gKernels.find(k.name);
  if (it == gKernels.end()) {
    k.error = "not compiled";
    return gKernels[k.name] = std::move(k);
  }
  return it->second;
}

std::vector<uint16_t> randomActivations(int64_t M, int64_t K, uint32_t seed, bool outliers) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<uint16_t> a(size_t(M * K));
  for (auto &v : a)
    v = toBf16(nd(rng));
  if (outliers) // three outlier features, as LLM.int8's emergent ones
    for (int64_t c : {int64_t(7), K / 3, K - 5})
      a[size_t(((c * 31) % M) * K + c)] = toBf16(c % 2 ? 12.0f : -9.0f);
  return a;
}

bool runCheck(Gpu &g, const Options &opt, const std::string &arch) {
  struct Shape {
    int64_t K, N;
  };
  const std::vector<Shape> shapes = {{2048, 512}, {512, 1536}, {272, 200}};
  // A forced --gemv-variant changes only the decode rows (M <= 16).
  const std::vector<int64_t> rows = gVariant.empty() ? std::vector<int64_t>{1, 4, 16, 32, 128, 300}
                                                     : std::vector<int64_t>{1, 4, 16};
  std::vector<Want> wants;
  for (const Scheme &s : schemes())
    for (const Shape &sh : shapes)
      for (int64_t M : rows)
        wants.push_back({&s, M, sh.K, sh.N});
  compileAll(wants, arch);
  bool allOk = true;
  std::printf("\ncheck: GPU vs host reference (max |y - ref| / max |ref|, bf16 out, <= 1e-2)\n");
  for (const Scheme &s : schemes())
    for (const Shape &sh : shapes)
      for (int64_t M : rows) {
        Packed p = pack(s, sh.K, sh.N, uint32_t(sh.K * 7 + sh.N + M));
        Kernel k = kernelFor(s, p, M, sh.K, sh.N);
        if (k.notApplicable) {
          std::printf("  %-34s %-11s n/a  %s\n", k.label.c_str(), "", k.error.c_str());
          continue;
        }
        bool ok = k.error.empty();
        double err = NAN;
        if (ok) {
          std::vector<uint16_t> a = randomActivations(M, sh.K, uint32_t(M * 131 + sh.N), true);
          std::vector<uint16_t> ref(size_t(M * sh.N)), got(size_t(M * sh.N));
          Status st = host::runKernel("eff.quant_linear", attrsOf(s, sh.K, sh.N, p.block),
                                      {{DType::BFLOAT16, {M, sh.K}, a.data()},
                                       {DType::UINT8, p.codesShape, p.codes.data()},
                                       {p.scalesType, p.scalesShape, p.scales.data()},
                                       {DType::UINT8, {}, nullptr}},
                                      {{DType::BFLOAT16, {M, sh.N}, ref.data()}});
          cuda::CUfunction f = g.load(k.cubin, k.name);
          cuda::CUdeviceptr da = g.upload(a.data(), a.size() * 2),
                            dw = g.upload(p.codes.data(), p.codes.size()),
                            ds = g.upload(p.scales.data(), p.scales.size()),
                            dy = g.alloc(got.size() * 2), dz = 0;
          const cuda::DriverApi &api = g.api();
          ok = st.ok() && f && g.ok(api.cuMemsetD8(dy, 0xFF, got.size() * 2), "poison") &&
               g.launch(f, k.launch, {&da, &dw, &ds, &dz, &dy}) && g.sync(k.label) &&
               g.ok(api.cuMemcpyDtoH(got.data(), dy, got.size() * 2), "cuMemcpyDtoH");
          if (!st.ok())
            k.error = st.message();
          if (ok) {
            double maxRef = 0, maxErr = 0;
            for (size_t i = 0; i < got.size(); ++i) {
              const double r = fromBf16(ref[i]), y = fromBf16(got[i]);
              maxRef = std::max(maxRef, std::fabs(r));
              maxErr = std::isnan(y) ? INFINITY : std::max(maxErr, std::fabs(y - r));
            }
            err = maxErr / std::max(maxRef, 1e-30);
            ok = err <= 1e-2;
          }
          g.freeAll();
        }
        std::printf("  %-34s %-11s %s %.2e%s%s\n", k.label.c_str(), variantText(k).c_str(),
                    ok ? "PASS" : "FAIL", err, k.error.empty() ? "" : "  ", k.error.c_str());
        allOk = allOk && ok;
      }
  return allOk;
}

// -------------------------------------------------------------------- perf --

/// Columns [n0, n0 + nc) of `p` (a [K, N] weight of `s`) as a packed weight
/// of their own: the same bytes the kernel reads for them. Double-quantized
/// absmaxes keep their groups when n0 K / 64 and nc K / 64 are multiples of
/// QL_DQ_GROUP (the caller's columns are multiples of 64, K of 256).
Packed sliceColumns(const Scheme &s, const Packed &p, int64_t K, int64_t N, int64_t n0,
                    int64_t nc) {
  Packed q;
  q.block = p.block;
  q.scalesType = p.scalesType;
  if (s.layout == host::QuantLayout::BnbFlat) {
    q.codesShape = {nc * K / 2};
    q.codes.assign(p.codes.begin() + n0 * K / 2, p.codes.begin() + (n0 + nc) * K / 2);
    const int64_t b0 = n0 * K / p.block, nb = nc * K / p.block;
    if (s.doubleQuant) {
      const int64_t all = N * K / p.block;
      q.scalesShape = {host::dqScaleBytes(nb)};
      q.scales.assign(size_t(q.scalesShape[0]), 0);
      std::memcpy(q.scales.data(), p.scales.data() + b0, size_t(nb));
      const size_t groups = size_t(QL_DQ_GROUPS(nb));
      std::memcpy(q.scales.data() + QL_DQ_PAD(nb),
                  p.scales.data() + QL_DQ_PAD(all) + 4 * (b0 / QL_DQ_GROUP), 4 * groups);
      std::memcpy(q.scales.data() + QL_DQ_PAD(nb) + 4 * groups,
                  p.scales.data() + QL_DQ_PAD(all) + 4 * QL_DQ_GROUPS(all), 4); // the offset
    } else {
      q.scalesShape = {nb};
      q.scales.assign(p.scales.begin() + 4 * b0, p.scales.begin() + 4 * (b0 + nb));
    }
  } else {
    const int64_t blocks = p.codesShape[1], bytes = p.codesShape[2];
    q.codesShape = {nc, blocks, bytes};
    q.scalesShape = {nc, blocks};
    q.codes.assign(p.codes.begin() + n0 * blocks * bytes,
                   p.codes.begin() + (n0 + nc) * blocks * bytes);
    q.scales.assign(p.scales.begin() + 4 * n0 * blocks, p.scales.begin() + 4 * (n0 + nc) * blocks);
  }
  return q;
}

/// The first and last 64 columns of `got` ([rows, N] bf16, the GPU's
/// output; its first 16 rows where there are more: the host reference is
/// slow) against the host reference on those columns' bytes: max
/// |y - ref| / max |ref| over both (<= 1e-2 passes, as --check).
double checkColumns(const Scheme &s, const Packed &p, const std::vector<uint16_t> &a,
                    const std::vector<uint16_t> &got, int64_t rows, int64_t K, int64_t N) {
  const int64_t nc = std::min<int64_t>(64, N), M = std::min<int64_t>(rows, 16);
  double maxRef = 0, maxErr = 0;
  for (int64_t n0 : {int64_t(0), N - nc}) {
    Packed q = sliceColumns(s, p, K, N, n0, nc);
    std::vector<uint16_t> ref(size_t(M * nc));
    Status st = host::runKernel("eff.quant_linear", attrsOf(s, K, nc, q.block),
                                {{DType::BFLOAT16, {M, K}, a.data()},
                                 {DType::UINT8, q.codesShape, q.codes.data()},
                                 {q.scalesType, q.scalesShape, q.scales.data()},
                                 {DType::UINT8, {}, nullptr}},
                                {{DType::BFLOAT16, {M, nc}, ref.data()}});
    if (!st.ok()) {
      std::fprintf(stderr, "effc-quant-bench: host reference: %s\n", st.message().c_str());
      return INFINITY;
    }
    for (int64_t r = 0; r < M; ++r)
      for (int64_t c = 0; c < nc; ++c) {
        const double x = fromBf16(ref[size_t(r * nc + c)]);
        const double y = fromBf16(got[size_t(r * N + n0 + c)]);
        maxRef = std::max(maxRef, std::fabs(x));
        maxErr = std::isnan(y) ? INFINITY : std::max(maxErr, std::fabs(y - x));
      }
  }
  return maxErr / std::max(maxRef, 1e-30);
}

/// Runs the perf table; false when a timed kernel's output check failed.
bool runPerf(Gpu &g, const Options &opt, const std::string &arch, Cublas *cublas) {
  const cuda::DriverApi &api = g.api();
  constexpr size_t kRotateBytes = size_t(256) << 20;
  // The bandwidth the floor uses: a plain 128-bit read of 1 GiB.
  double gbps = NAN;
  {
    auto c =
        nvrtc::compile(cudaPrelude() + kReadSource, nvrtc::compileOptions(arch, {}), "read.cu");
    const size_t bytes = size_t(1) << 30;
    cuda::CUdeviceptr buf = g.alloc(bytes), out = g.alloc(256);
    cuda::CUfunction f = c.ok() ? g.load(c->cubin, "effc_read") : nullptr;
    if (f) {
      long long n16 = (long long)(bytes / 16);
      LaunchDims l;
      l.grid[0] = 132 * 16;
      l.block[0] = 512;
      const double us = g.time(opt.reps, 3, [&](int) { g.launch(f, l, {&buf, &n16, &out}); });
      gbps = double(bytes) / (us * 1e3);
    }
    g.freeAll();
  }
  std::printf("\nperf: us per GEMM (median of %d rounds of 20 launches, 3 for M >= 128%s; "
              "weights rotated over >= 256 MB), xF = speedup over cuBLAS fp16; floor = packed "
              "bytes / %.0f GB/s (measured read); GB/s = packed bytes / us; chk = first and last "
              "64 columns vs the host reference; decode GEMV: %s\n",
              opt.reps, opt.graphs ? ", each round one CUDA graph" : "", gbps,
              gVariant.empty() ? "default" : gVariant.c_str());
  std::printf("%-14s %5s | %8s %8s | %8s %6s %6s %6s %3s | %8s %6s %6s %6s %3s | %8s %6s %6s %6s "
              "%3s | %8s %6s %6s %6s %3s | %s\n",
              "shape K x N", "M", "bf16", "fp16", "int8", "xF", "floor", "GB/s", "chk", "nf4", "xF",
              "floor", "GB/s", "chk", "nbits4", "xF", "floor", "GB/s", "chk", "nf4-dq", "xF",
              "floor", "GB/s", "chk", "kernels");
  struct Shape {
    const char *name;
    int64_t K, N;
    bool is8b;
  };
  std::vector<Shape> shapes;
  for (const Shape &sh : std::vector<Shape>{{"qo", 2048, 2048, false},
                                            {"gate/up", 2048, 8192, false},
                                            {"down", 8192, 2048, false},
                                            {"qo-8b", 4096, 4096, true},
                                            {"kv-8b", 4096, 1024, true},
                                            {"gate/up-8b", 4096, 14336, true},
                                            {"down-8b", 14336, 4096, true}})
    if (sh.is8b ? opt.shapes8b : opt.shapes1b)
      shapes.push_back(sh);
  const std::vector<const Scheme *> timed = {&schemes()[0], &schemes()[1], &schemes()[2],
                                             &schemes()[3]};
  {
    std::vector<Want> wants;
    for (const Shape &sh : shapes)
      for (int64_t M : opt.rows)
        for (const Scheme *s : timed)
          wants.push_back({s, M, sh.K, sh.N});
    compileAll(wants, arch);
  }
  auto rotations = [&](size_t bytes) {
    return int(
        std::min<size_t>(64, std::max<size_t>(1, kRotateBytes / std::max<size_t>(bytes, 1))));
  };
  // `copies` device copies of `bytes` host bytes: one upload, the rest
  // copied on the device.
  auto replicate = [&](const void *host, size_t bytes, int copies) {
    std::vector<cuda::CUdeviceptr> v;
    v.push_back(g.upload(host, bytes));
    for (int c = 1; c < copies; ++c) {
      v.push_back(g.alloc(bytes));
      g.ok(api.cuMemcpyDtoDAsync(v.back(), v.front(), bytes, nullptr), "cuMemcpyDtoDAsync");
    }
    g.sync("weight copies");
    return v;
  };
  bool allOk = true;
  for (const Shape &sh : shapes) {
    // The weights of this shape, uploaded once for every M: cuBLAS bf16 and
    // fp16 (random bits; timing only) and each scheme's packed bytes.
    const size_t wBytes = size_t(sh.K * sh.N) * 2;
    const int wCopies = rotations(wBytes);
    std::vector<cuda::CUdeviceptr> wBf16, wFp16;
    if (cublas) {
      std::vector<uint16_t> host(size_t(sh.K * sh.N));
      for (size_t i = 0; i < host.size(); ++i)
        host[i] = toBf16(float(int(i % 17) - 8) * 0.01f);
      wBf16 = replicate(host.data(), wBytes, wCopies);
      for (size_t i = 0; i < host.size(); ++i)
        host[i] = 0x2000u | uint16_t(i % 255); // small finite fp16 values
      wFp16 = replicate(host.data(), wBytes, wCopies);
    }
    struct Weights {
      Packed p;
      int copies = 1;
      std::vector<cuda::CUdeviceptr> codes, scales;
    };
    std::vector<Weights> packed(timed.size());
    for (size_t i = 0; i < timed.size(); ++i) {
      Weights &wt = packed[i];
      wt.p = pack(*timed[i], sh.K, sh.N, 11);
      wt.copies = rotations(wt.p.codes.size() + wt.p.scales.size());
      wt.codes = replicate(wt.p.codes.data(), wt.p.codes.size(), wt.copies);
      wt.scales = replicate(wt.p.scales.data(), wt.p.scales.size(), wt.copies);
    }
    for (int64_t M : opt.rows) {
      // Back-to-back launches per timed round: 20 for the launch-bound decode
      // sizes, 3 where one GEMM takes milliseconds.
      const int inner = M >= 128 ? 3 : 20;
      // A graph replays the same launches every round: it holds one launch
      // per weight copy at least, so that the copies it reads exceed L2.
      auto steps = [&](int copies) { return opt.graphs ? std::max(inner, copies) : inner; };
      std::vector<uint16_t> a = randomActivations(M, sh.K, 5, false);
      cuda::CUdeviceptr da = g.upload(a.data(), a.size() * 2), dy = g.alloc(size_t(M * sh.N) * 2);
      double tBf16 = NAN, tFp16 = NAN;
      if (cublas) {
        tBf16 = g.time(opt.reps, steps(wCopies), [&](int i) {
          cublas->gemm(Cublas::kR16BF, M, sh.K, sh.N, da, wBf16[size_t(i % wCopies)], dy);
        });
        tFp16 = g.time(opt.reps, steps(wCopies), [&](int i) {
          cublas->gemm(Cublas::kR16F, M, sh.K, sh.N, da, wFp16[size_t(i % wCopies)], dy);
        });
      }
      std::printf("%-10s %11s %5lld | %8.2f %8.2f", sh.name,
                  (std::to_string(sh.K) + "x" + std::to_string(sh.N)).c_str(), (long long)M, tBf16,
                  tFp16);
      std::string kernels;
      for (size_t si = 0; si < timed.size(); ++si) {
        const Scheme *s = timed[si];
        Weights &wt = packed[si];
        const Kernel &k = kernelFor(*s, wt.p, M, sh.K, sh.N);
        double t = NAN, floorUs = NAN;
        const char *chk = "-";
        if (k.error.empty()) {
          cuda::CUfunction f = g.load(k.cubin, k.name);
          const size_t packedBytes = wt.p.codes.size() + wt.p.scales.size();
          cuda::CUdeviceptr dz = 0;
          if (f) {
            g.ok(api.cuMemsetD8(dy, 0xFF, size_t(M * sh.N) * 2), "poison");
            t = g.time(opt.reps, steps(wt.copies), [&](int i) {
              g.launch(f, k.launch,
                       {&da, &wt.codes[size_t(i % wt.copies)], &wt.scales[size_t(i % wt.copies)],
                        &dz, &dy});
            });
            std::vector<uint16_t> got(size_t(M * sh.N));
            const bool read =
                g.sync(k.label) &&
                g.ok(api.cuMemcpyDtoH(got.data(), dy, got.size() * 2), "cuMemcpyDtoH");
            const double err = read ? checkColumns(*s, wt.p, a, got, M, sh.K, sh.N) : INFINITY;
            chk = err <= 1e-2 ? "ok" : "BAD";
            if (!(err <= 1e-2)) {
              std::fprintf(stderr, "%s (%s): output check failed, max rel error %.2e\n",
                           k.label.c_str(), variantText(k).c_str(), err);
              allOk = false;
            }
          }
          floorUs = double(packedBytes) / (gbps * 1e3);
          std::printf(" | %8.2f %6.2f %6.2f %6.0f %3s", t, tFp16 / t, floorUs,
                      double(packedBytes) / (t * 1e3), chk);
        } else {
          if (!k.notApplicable) {
            std::fprintf(stderr, "%s: %s\n", k.label.c_str(), k.error.c_str());
            allOk = false;
          }
          std::printf(" | %8.2f %6.2f %6.2f %6.0f %3s", NAN, NAN, NAN, NAN, "-");
        }
        kernels += (kernels.empty() ? "" : ", ") + variantText(k);
      }
      std::printf(" | %s\n", kernels.c_str());
      std::fflush(stdout);
    }
    g.freeAll();
  }
  return allOk;
}

int usage() {
  std::fprintf(stderr, "usage: effc-quant-bench [--check] [--perf] [--reps=N] [--cublas=LIB] "
                       "[--gemv-variant=NAME] [--graphs] [--rows=M,..] [--shapes=1b,8b] "
                       "[--compile-only --arch=sm_90]\n");
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--check")
      opt.check = true;
    else if (a == "--perf")
      opt.perf = true;
    else if (a == "--compile-only")
      opt.compileOnly = true;
    else if (a == "--graphs")
      opt.graphs = true;
    else if (a == "--decode=vec" || a == "--decode=mma")
      gVariant = a.substr(9);
    else if (a.rfind("--gemv-variant=", 0) == 0) {
      gVariant = a.substr(15);
      // Beyond kVariants: the fixed splits of the table and fast decodes.
      static const std::vector<std::string> kMore = {"bs_lut_sk2",  "bs_lut_sk4",  "bs_lut_sk8",
                                                     "bs_fast_sk2", "bs_fast_sk4", "bs_fast_sk8"};
      if (std::find(kVariants.begin(), kVariants.end(), gVariant) == kVariants.end() &&
          std::find(kMore.begin(), kMore.end(), gVariant) == kMore.end()) {
        std::fprintf(stderr, "effc-quant-bench: unknown --gemv-variant=%s\n", gVariant.c_str());
        return usage();
      }
    } else if (a.rfind("--shapes=", 0) == 0) {
      const std::string v = a.substr(9);
      opt.shapes1b = v.find("1b") != std::string::npos;
      opt.shapes8b = v.find("8b") != std::string::npos;
      if (!opt.shapes1b && !opt.shapes8b)
        return usage();
    } else if (a.rfind("--rows=", 0) == 0) {
      opt.rows.clear();
      for (const char *p = a.c_str() + 7; *p;) {
        char *end = nullptr;
        const long long m = std::strtoll(p, &end, 10);
        if (end == p || m <= 0)
          return usage();
        opt.rows.push_back(m);
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
          return usage();
      }
    } else if (a.rfind("--reps=", 0) == 0)
      opt.reps = std::max(1, std::atoi(a.c_str() + 7));
    else if (a.rfind("--arch=", 0) == 0)
      opt.arch = a.substr(7);
    else if (a.rfind("--cublas=", 0) == 0)
      opt.cublas = a.substr(9);
    else
      return usage();
  }
  if (!opt.check && !opt.perf)
    opt.check = opt.perf = true;
  if (Status st = nvrtc::load(); !st.ok()) {
    std::fprintf(stderr, "effc-quant-bench: %s\n", st.message().c_str());
    return 1;
  }
  if (opt.compileOnly) {
    // Every kernel the check and the perf table would run, through NVRTC.
    const std::string arch = opt.arch.empty() ? "sm_90" : opt.arch;
    gSm90 = arch.rfind("sm_90", 0) == 0;
    std::vector<Want> wants;
    for (const Scheme &s : schemes())
      for (int64_t M : {1, 4, 16, 32, 128, 300, 2048})
        for (auto [K, N] : {std::pair<int64_t, int64_t>{2048, 8192}, {8192, 2048}, {2048, 512}})
          wants.push_back({&s, M, K, N});
    compileAll(wants, arch);
    // Every decode GEMV variant (those that apply to each scheme; split-K
    // only where clusters exist) at 1 row of 8192x2048 and 16 of 2048x512.
    const std::string forced = gVariant;
    for (const std::string &v : kVariants) {
      if (!gSm90 && v.find("_sk") != std::string::npos)
        continue;
      gVariant = v;
      wants.clear();
      for (const Scheme &s : schemes()) {
        wants.push_back({&s, 1, 8192, 2048});
        wants.push_back({&s, 16, 2048, 512});
      }
      compileAll(wants, arch);
    }
    gVariant = forced;
    bool allOk = true;
    std::map<std::string, int> variants;
    for (const auto &[name, k] : gKernels) {
      if (k.notApplicable)
        continue; // a forced variant that does not take this scheme
      if (!k.error.empty())
        std::printf("%s: %s\n", k.label.c_str(), k.error.c_str());
      allOk = allOk && k.error.empty();
      ++variants[variantText(k)];
    }
    std::printf("%s: %zu quant_linear kernels compiled%s:", arch.c_str(), gKernels.size(),
                allOk ? "" : " (with failures)");
    for (const auto &[v, n] : variants)
      std::printf(" %s %d", v.c_str(), n);
    std::printf("\n");
    return allOk ? 0 : 1;
  }
  std::string arch = opt.arch;
  const cuda::Driver *drv = bench::openDevice("effc-quant-bench", arch);
  if (!drv)
    return 1;
  gSm90 = arch.rfind("sm_90", 0) == 0;
  Gpu g(drv);
  bool ok = true;
  if (opt.check)
    ok = runCheck(g, opt, arch);
  if (opt.perf) {
    Cublas cublas;
    const bool haveCublas = cublas.open(opt.cublas);
    if (opt.graphs) {
      cuda::CUstream s = g.useGraphs();
      if (haveCublas && cublas.setStream(cublas.handle, s) != 0)
        std::printf("cublasSetStream_v2 failed\n");
    }
    if (!haveCublas)
      std::printf(
          "cuBLAS not loaded (%s): its columns are nan; pass --cublas=PATH/libcublas.so.12\n",
          cublas.why.c_str());
    else
      std::printf("cuBLAS: %s\n", cublas.loaded.c_str());
    ok = runPerf(g, opt, arch, haveCublas ? &cublas : nullptr) && ok;
  }
  // --check's rows and --perf's output checks.
  std::printf("\ncheck: %s\n", ok ? "all PASS" : "FAILURES above");
  return ok && !g.failed() ? 0 : 1;
}
