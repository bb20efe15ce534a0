// effc-moe-bench: effc's staged MoE kernels (compiler/codegen/moe: route,
// permute, grouped expert GEMMs, combine; the same generator calls the MoE
// emitter makes) against the per-token kernel effc had before (moe_token, the
// reference: fp32 throughout, one block per token) and a cuBLAS per-expert
// loop (effc's route + permute, then per expert cublasGemmEx gate_up, one
// act(g)*u kernel, per expert cublasGemmEx down, effc's combine: the eager
// formulation, with the host reading the expert counts each call).
//
//   effc-moe-bench [--check] [--perf] [--tokens=1,8,...] [--reps=N]
//                  [--only=SUBSTR,..] [--mma-bk=32|64] [--mma-bn=128|256]
//                  [--wgmma | --variants=default,wgmma,n256k64,..]
//                  [--gemv-unroll=1|2|4] [--peak-tflops=F]
//                  [--compile-threads=N] [--compile-only --arch=sm_90]
//
// --variants: each case runs (checked and timed) with every listed expert
// GEMM variant in the same run, against one cuBLAS measurement: default (the
// kernels effc picks for the arch: wantsWgmma(sm_90a, auto) and the
// --mma-bk/--mma-bn/--gemv-unroll given), wgmma (sm_90a's wgmma grouped GEMM
// where it fits), tma (its TMA warp-specialized form, device/moe_wgmma_tma.cuh:
// weights by a 3-D tensor map, encoded here on the case's buffers), nBNkBK
// (mma.sync tiles, e.g. n256k64). The timed calls of
// cuBLAS and the variants alternate round by round. --wgmma alone is
// --variants=wgmma. A variant needing sm_90a compiles every variant for it.
//
// --check: small layers covering bf16/fp16/fp32, the three routing modes,
// norm_topk, routed_scale, gelu, shared experts with and without a gate,
// decode (slot rows) and prefill (sorted rows), tensor-core and GEMV kernels.
// --perf: one Mixtral-8x7B layer (E 8, top-2, H 4096, I 14336) and one
// Qwen1.5-MoE-style layer (E 60, top-4, H 2048, I 1408, shared expert 5632
// with a sigmoid gate), bf16, tokens 1, 8, 64, 512, 4096; every perf case is
// checked too: its first 8 tokens against a parallel fp32 reference (one
// warp per dot product; the routing by moe_route's warp-per-dot variant,
// which the --check layers compare with moe_token's). Without either,
// both run. Per case: effc and cuBLAS times (median of --reps event-timed
// calls after warm-up), the floor max(bytes / measured copy bandwidth, FLOPs
// / peak) where bytes = the weights of the experts the routing touched (+
// shared expert, router, x, y) and FLOPs = 2 T (K 3 H I + 3 H Is + E H), and
// the error (max |y - ref| / max |ref| over the checked rows; bf16/fp16 pass
// at 2e-2, fp32 at 1e-4). Exit status 1 when any check fails.
// cuBLAS is dlopen()ed: $EFFC_CUBLAS, else libcublas.so.13/.12/.so; without
// it the cuBLAS column says so (the effc numbers and checks still run).
// A crash (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) prints the phase and
// case it was in and a backtrace (addresses as binary(+offset): addr2line -e
// the unstripped build/bin/effc-moe-bench) on stderr, then dies of the signal.
#include "bench/common/BenchGpu.h"
#include "compiler/codegen/core/CudaWriter.h"
#include "compiler/codegen/moe/MoEKernels.h"
#include "cuda/DriverApi.h"
#include "cuda/DynLib.h"
#include "cuda/Nvrtc.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <execinfo.h>
#include <functional>
#include <pthread.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace effc;
using namespace effc::codegen;
using namespace effc::codegen::moe;

namespace {

// ---------------------------------------------------------------- crashes --

// What the bench is doing, for the crash handler (written outside it).
char gPhase[512] = "starting";

void setPhase(const std::string &what) {
  const size_t n = std::min(what.size(), sizeof gPhase - 1);
  std::memcpy(gPhase, what.data(), n);
  gPhase[n] = '\0';
}

void putErr(const char *s) {
  for (size_t n = std::strlen(s); n > 0;) {
    const ssize_t w = write(STDERR_FILENO, s, n);
    if (w <= 0)
      return;
    s += w, n -= size_t(w);
  }
}

extern "C" void onCrash(int sig) {
  // Async-signal-safe calls only: write, backtrace_symbols_fd, raise.
  putErr("\neffc-moe-bench: ");
  putErr(sig == SIGSEGV  ? "SIGSEGV"
         : sig == SIGBUS ? "SIGBUS"
         : sig == SIGFPE ? "SIGFPE"
         : sig == SIGILL ? "SIGILL"
                         : "SIGABRT");
  putErr(" during: ");
  putErr(gPhase);
  putErr("\nbacktrace (addr2line -f -C -e build/bin/effc-moe-bench +OFFSET):\n");
  void *frames[64];
  backtrace_symbols_fd(frames, backtrace(frames, 64), STDERR_FILENO);
  std::signal(sig, SIG_DFL); // SA_RESETHAND did this already; be sure
  std::raise(sig);
}

/// The calling thread's signal stack (each thread needs its own), so that a
/// stack overflow still reports.
void installSignalStack() {
  thread_local char altStack[64 * 1024];
  stack_t ss{};
  ss.ss_sp = altStack;
  ss.ss_size = sizeof altStack;
  sigaltstack(&ss, nullptr);
}

/// The crash handler, on the signal stack.
void installCrashHandler() {
  installSignalStack();
  void *warm[1];
  backtrace(warm, 1); // loads libgcc's unwinder now, not in the handler
  struct sigaction sa{};
  sa.sa_handler = onCrash;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND | SA_ONSTACK;
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT})
    sigaction(sig, &sa, nullptr);
}

/// Runs `work` on the calling thread and on n - 1 more threads with 64 MiB
/// stacks (NVRTC recurses deeply, and glibc gives a thread 2 MiB when the
/// stack limit is unlimited), then joins them. A thread that cannot be
/// started is left out: the callers' work queues finish on the others.
void runThreads(unsigned n, const std::function<void()> &work) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, size_t(64) << 20);
  auto entry = [](void *p) -> void * {
    installSignalStack();
    (*static_cast<const std::function<void()> *>(p))();
    return nullptr;
  };
  std::vector<pthread_t> started;
  for (unsigned i = 1; i < n; ++i) {
    pthread_t t;
    if (pthread_create(&t, &attr, entry, const_cast<std::function<void()> *>(&work)) == 0)
      started.push_back(t);
  }
  pthread_attr_destroy(&attr);
  work();
  for (pthread_t t : started)
    pthread_join(t, nullptr);
}

// --------------------------------------------------------------- variants --

// --mma-bk, --mma-bn: the tensor-core expert GEMM's k-tile and B tile
// (ExpertGemmSpec::mmaBk, mmaBn; 0 = the generator's default) of the default
// variant; --gemv-unroll: the GEMV kernel's reduction unroll
// (ExpertGemmSpec::gemvUnroll) of every variant.
int gMmaBk = 0, gMmaBn = 0;
int gGemvUnroll = 1;

/// One expert GEMM variant of --variants.
struct Variant {
  std::string name;
  int mmaBk = 0, mmaBn = 0;
  bool wgmma = false;
  bool tma = false; // with wgmma: the TMA variant (ExpertGemmSpec::tma)
};

/// "default", "wgmma" or "nBNkBK" (BN 128|256, BK 32|64) as a variant; false
/// with `error` for another name. `sm90a`: the arch the bench compiles for.
bool parseVariant(const std::string &name, bool sm90a, Variant &v, std::string &error) {
  v = Variant();
  v.name = name;
  if (name == "default") {
    v.mmaBk = gMmaBk, v.mmaBn = gMmaBn;
    v.wgmma = wantsWgmma(sm90a, GemmKernelChoice::Auto);
    return true;
  }
  if (name == "wgmma") {
    v.wgmma = true;
    return true;
  }
  if (name == "tma") {
    v.wgmma = v.tma = true;
    return true;
  }
  int bn = 0, bk = 0;
  char tail = 0;
  if (std::sscanf(name.c_str(), "n%dk%d%c", &bn, &bk, &tail) == 2 && (bn == 128 || bn == 256) &&
      (bk == 32 || bk == 64)) {
    v.mmaBn = bn, v.mmaBk = bk;
    return true;
  }
  error =
      "unknown variant '" + name + "' (default, wgmma, tma, n128k32, n128k64, n256k32, n256k64)";
  return false;
}

// ------------------------------------------------------------------ cases --

struct Layer {
  std::string name;
  int64_t H = 0, E = 0, I = 0, K = 0, Is = 0;
  DType dtype = DType::BFLOAT16;
  Routing routing = Routing::SoftmaxTopk;
  bool normTopk = false, gelu = false, sharedGate = false, routeWeights = false;
  float routedScale = 1.0f;
  bool hasShared() const { return Is > 0; }
};

struct Case {
  Layer layer;
  int64_t T = 0;
  bool perf = false;
  std::string label() const { return layer.name + " T" + std::to_string(T); }
};

int esize(DType t) { return t == DType::FLOAT32 ? 4 : 2; }

Layer mixtral() {
  Layer l;
  l.name = "mixtral-8x7b";
  l.H = 4096, l.E = 8, l.I = 14336, l.K = 2;
  l.normTopk = true;
  return l;
}
Layer qwenMoe() {
  Layer l;
  l.name = "qwen-moe";
  l.H = 2048, l.E = 60, l.I = 1408, l.K = 4, l.Is = 5632;
  l.sharedGate = true;
  return l;
}

std::vector<Case> checkCases() {
  std::vector<Case> cs;
  auto add = [&](Layer l, std::initializer_list<int64_t> ts) {
    for (int64_t t : ts)
      cs.push_back(Case{l, t, false});
  };
  Layer a; // Mixtral-like, tensor-core sizes
  a.name = "chk-bf16-softmax_topk-norm";
  a.H = 256, a.E = 8, a.I = 512, a.K = 2, a.normTopk = true;
  add(a, {1, 5, 8, 9, 130, 700});
  Layer b; // Qwen-like with a gated shared expert
  b.name = "chk-bf16-shared-gate";
  b.H = 256, b.E = 60, b.I = 192, b.K = 4, b.Is = 384, b.sharedGate = true;
  add(b, {1, 8, 300});
  Layer c;
  c.name = "chk-f16-topk_softmax-gelu";
  c.H = 128, c.E = 4, c.I = 128, c.K = 2, c.dtype = DType::FLOAT16;
  c.routing = Routing::TopkSoftmax, c.gelu = true;
  add(c, {3, 200});
  Layer d;
  d.name = "chk-f32";
  d.H = 64, d.E = 4, d.I = 48, d.K = 2, d.Is = 32, d.dtype = DType::FLOAT32;
  add(d, {2, 40});
  Layer e; // DeepSeek-like scores routing, ungated shared expert
  e.name = "chk-bf16-scores";
  e.H = 128, e.E = 16, e.I = 64, e.K = 4, e.Is = 128, e.routing = Routing::Scores;
  e.routeWeights = true, e.normTopk = true, e.routedScale = 2.5f;
  add(e, {4, 100});
  Layer f; // sizes the tensor-core kernel refuses: GEMV on sorted rows
  f.name = "chk-bf16-odd";
  f.H = 72, f.E = 6, f.I = 40, f.K = 3;
  add(f, {50});
  return cs;
}

std::vector<Case> perfCases(const std::vector<int64_t> &tokens) {
  std::vector<Case> cs;
  for (const Layer &l : {mixtral(), qwenMoe()})
    for (int64_t t : tokens)
      cs.push_back(Case{l, t, true});
  return cs;
}

// ---------------------------------------------------------------- kernels --

/// Tokens checked against the reference in a perf case.
constexpr int64_t kRefRows = 8;

/// Every kernel of one case and variant in one translation unit.
struct Kernels {
  std::string variant;
  std::string source, error, cubin;
  LaunchDims route, permute, up, down, sharedUp, sharedDown, combine, ref, refRoute;
  bool permuteUsed = false, upTc = false, downTc = false;
  std::string tile; // the tensor-core tiles, e.g. "n128k64"
  /// The TMA variant's tensor maps per expert GEMM (expertGemmTmaMaps; empty
  /// for the other kernels), encoded on the case's buffers at launch.
  std::vector<TensorMapDesc> upMaps, downMaps, sharedUpMaps, sharedDownMaps;
  // The cuBLAS loop's helpers run on sorted rows: its own combine.
  LaunchDims combineSorted;
};

/// The per-token reference kernel (device/moe.cuh moe_token) with float
/// loads of every operand, launched over the first rows.
std::string referenceKernel(const Case &c) {
  const Layer &l = c.layer;
  const int dt = l.dtype == DType::FLOAT32 ? 0 : l.dtype == DType::FLOAT16 ? 1 : 2;
  const int rdt = l.routing == Routing::Scores ? 0 : dt;
  CudaWriter w;
  w.open("struct ref_cfg {");
  w.line("static constexpr int T = ", c.T, ", H = ", l.H, ", E = ", l.E, ", I = ", l.I,
         ", IS = ", l.Is, ", K = ", l.K, ", ROUTING = ", int(l.routing), ";");
  w.line("static constexpr bool GELU = ", l.gelu ? "true" : "false",
         ", NORM_TOPK = ", l.normTopk ? "true" : "false",
         ", HAS_ROUTE_WEIGHTS = ", l.routeWeights ? "true" : "false",
         ", HAS_SHARED = ", l.hasShared() ? "true" : "false",
         ", HAS_SHARED_GATE = ", l.sharedGate ? "true" : "false", ";");
  w.line("static constexpr float ROUTED_SCALE = ", floatLit(l.routedScale), ";");
  w.close("};");
  w.open("struct ref_io {");
  w.line("const void *p[8]; void *q;");
  w.line("__device__ float x(long long i) const { return moe_ld<", dt, ">(p[0], i); }");
  w.line("__device__ float router(long long i) const { return moe_ld<", rdt, ">(p[1], i); }");
  w.line("__device__ float gate_up(long long i) const { return moe_ld<", dt, ">(p[2], i); }");
  w.line("__device__ float down(long long i) const { return moe_ld<", dt, ">(p[3], i); }");
  w.line("__device__ float route_weights(long long i) const { return moe_ld<0>(p[4], i); }");
  w.line("__device__ float shared_gate_up(long long i) const { return moe_ld<", dt,
         ">(p[5], i); }");
  w.line("__device__ float shared_down(long long i) const { return moe_ld<", dt, ">(p[6], i); }");
  w.line("__device__ float shared_gate(long long i) const { return moe_ld<", dt, ">(p[7], i); }");
  w.line("__device__ void store(long long i, float v) const { moe_st<", dt, ">(q, i, v); }");
  w.close("};");
  w.open("EFFC_KERNEL void __launch_bounds__(256) moe_ref(const void* a0, const void* a1, "
         "const void* a2, const void* a3, const void* a4, const void* a5, const void* a6, "
         "const void* a7, void* y) {");
  w.line("ref_io l{{a0, a1, a2, a3, a4, a5, a6, a7}, y};");
  w.line("moe_token<ref_cfg, 256>(l);");
  w.close();
  return w.str();
}

/// Bench helpers: device fill, the cuBLAS loop's gather and act kernels.
const char *kHelperSource = R"CUDA(
__device__ __forceinline__ unsigned bench_hash(unsigned x) {
  x ^= x >> 16; x *= 0x7feb352du; x ^= x >> 15; x *= 0x846ca68bu; x ^= x >> 16; return x;
}
// n values ~ N(0, scale^2) (hash + Box-Muller) stored as dt (0 f32, 1 f16, 2 bf16).
EFFC_KERNEL void bench_fill(void* p, long long n, int dt, unsigned seed, float scale) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
    unsigned a = bench_hash(unsigned(i) * 2u + seed * 0x9e3779b9u), b = bench_hash(unsigned(i) * 2u + 1u + seed * 0x85ebca6bu);
    float u1 = (a >> 8) * (1.0f / 16777216.0f) + 1e-7f, u2 = (b >> 8) * (1.0f / 16777216.0f);
    float v = scale * sqrtf(-2.0f * logf(u1)) * cosf(6.283185307f * u2);
    if (dt == 0) moe_st<0>(p, i, v); else if (dt == 1) moe_st<1>(p, i, v); else moe_st<2>(p, i, v);
  }
}
// xg[p] = x[sorted[p] / K] (16-bit rows of H elements).
EFFC_KERNEL void bench_gather(const unsigned short* x, const int* order, unsigned short* xg, int rows, int H, int E, int K) {
  const int p = blockIdx.x;
  if (p >= rows) return;
  const int t = order[E + 1 + p] / K;
  for (int c = threadIdx.x; c < H; c += blockDim.x) xg[(long long)p * H + c] = x[(long long)t * H + c];
}
// The reference of the perf layers (moe_token's one block per token would
// stream 0.7 GB per token there): fp32 throughout, one warp per dot product.
__device__ float bench_ld(const void* p, long long i, int dt) {
  return dt == 0 ? moe_ld<0>(p, i) : dt == 1 ? moe_ld<1>(p, i) : moe_ld<2>(p, i);
}
// h[r][i] = act(w[e][i] . x[r / K]) * (w[e][I + i] . x[r / K]), e = experts[r]
// (0 without experts), rows r < rows.
EFFC_KERNEL void bench_ref_h(const void* x, const void* w, const long long* experts, float* h, int rows, int K, int H, int I, int dt, int gelu) {
  const long long wid = (blockIdx.x * (long long)blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (wid >= (long long)rows * I) return;
  const int r = int(wid / I), i = int(wid % I), t = r / K;
  const long long e = experts ? experts[r] : 0;
  float g = 0.0f, u = 0.0f;
  for (int c = lane; c < H; c += 32) {
    const float xv = bench_ld(x, (long long)t * H + c, dt);
    g += bench_ld(w, (e * 2 * I + i) * H + c, dt) * xv;
    u += bench_ld(w, (e * 2 * I + I + i) * H + c, dt) * xv;
  }
  g = warp_reduce(g, SumOp());
  u = warp_reduce(u, SumOp());
  if (lane == 0) h[wid] = (gelu ? moe_act<true>(g) : moe_act<false>(g)) * u;
}
// y[t][o] = sum_j weights[t*K+j] down[e_j][o] . h[t*K+j] + s(t) shared_down[o] . hs[t]
// (s = sigmoid(shared_gate . x[t]) with a gate, else 1), one warp per (t, o).
EFFC_KERNEL void bench_ref_y(const void* x, const float* h, const void* down, const long long* experts, const float* weights, const float* hs, const void* sd, const void* sg, void* y, int T, int K, int H, int I, int Is, int dt) {
  const long long wid = (blockIdx.x * (long long)blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (wid >= (long long)T * H) return;
  const int t = int(wid / H), o = int(wid % H);
  float v = 0.0f;
  for (int j = 0; j < K; ++j) {
    const long long e = experts[t * K + j];
    float d = 0.0f;
    for (int c = lane; c < I; c += 32) d += bench_ld(down, (e * H + o) * I + c, dt) * h[(long long)(t * K + j) * I + c];
    v += weights[t * K + j] * warp_reduce(d, SumOp());
  }
  if (hs) {
    float s = 1.0f, d = 0.0f, g = 0.0f;
    for (int c = lane; c < Is; c += 32) d += bench_ld(sd, (long long)o * Is + c, dt) * hs[(long long)t * Is + c];
    if (sg) {
      for (int c = lane; c < H; c += 32) g += bench_ld(sg, c, dt) * bench_ld(x, (long long)t * H + c, dt);
      s = 1.0f / (1.0f + __expf(-warp_reduce(g, SumOp())));
    }
    v += s * warp_reduce(d, SumOp());
  }
  if (lane == 0) { if (dt == 0) moe_st<0>(y, wid, v); else if (dt == 1) moe_st<1>(y, wid, v); else moe_st<2>(y, wid, v); }
}
// h[r][i] = act(gu[r][i]) * gu[r][I + i], 16-bit (bf = bf16).
EFFC_KERNEL void bench_act(const unsigned short* gu, unsigned short* h, long long rows, int I, int bf, int gelu) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < rows * I; i += (long long)gridDim.x * blockDim.x) {
    const long long r = i / I, c = i % I;
    const float g = bf ? bf16_to_f32(gu[r * 2 * I + c]) : f16_to_f32(gu[r * 2 * I + c]);
    const float u = bf ? bf16_to_f32(gu[r * 2 * I + I + c]) : f16_to_f32(gu[r * 2 * I + I + c]);
    const float v = (gelu ? moe_act<true>(g) : moe_act<false>(g)) * u;
    h[i] = bf ? f32_to_bf16(v) : f32_to_f16(v);
  }
}
)CUDA";

Kernels buildKernels(const Case &c, const Variant &v) {
  Kernels k;
  k.variant = v.name;
  const Layer &l = c.layer;
  std::string src = moePrelude(v.wgmma, v.tma) + kHelperSource, text;
  auto add = [&](bool ok) {
    if (ok)
      src += text;
    return ok;
  };
  RouteSpec rs;
  rs.T = c.T, rs.H = l.H, rs.E = l.E, rs.K = l.K, rs.x = l.dtype;
  rs.router = l.routing == Routing::Scores ? DType::FLOAT32 : l.dtype;
  rs.routing = l.routing, rs.normTopk = l.normTopk, rs.hasRouteWeights = l.routeWeights;
  rs.routedScale = l.routedScale;
  const Rows rows = routedRows(c.T);
  k.permuteUsed = rows == Rows::Sorted;
  PermuteSpec ps{c.T, l.E, l.K};
  ExpertGemmSpec up;
  up.T = c.T, up.K = l.K, up.E = l.E, up.N = l.I, up.KD = l.H, up.dtype = l.dtype;
  up.rows = rows, up.gated = true, up.gelu = l.gelu, up.mmaBk = v.mmaBk, up.mmaBn = v.mmaBn;
  up.wgmma = v.wgmma, up.tma = v.tma, up.gemvUnroll = gGemvUnroll;
  ExpertGemmSpec down = up;
  down.N = l.H, down.KD = l.I, down.gated = false;
  ExpertGemmSpec sup = up;
  sup.K = 1, sup.E = 1, sup.N = l.Is, sup.rows = Rows::Dense;
  ExpertGemmSpec sdown = sup;
  sdown.N = l.H, sdown.KD = l.Is, sdown.gated = false;
  CombineSpec cs;
  cs.T = c.T, cs.H = l.H, cs.K = l.K, cs.E = l.E, cs.x = l.dtype, cs.sorted = k.permuteUsed;
  cs.hasShared = l.hasShared(), cs.hasSharedGate = l.sharedGate;
  CombineSpec cs2 = cs;
  cs2.sorted = true;
  // Permute is compiled always: the cuBLAS loop needs the order too.
  bool ok = add(emitRoute(rs, "moe_route", text, k.route, k.error)) &&
            add(emitPermute(ps, "moe_permute", text, k.permute, k.error)) &&
            add(emitExpertGemm(up, "moe_up", text, k.up, k.error)) &&
            add(emitExpertGemm(down, "moe_down", text, k.down, k.error)) &&
            add(emitCombine(cs, "moe_combine", text, k.combine, k.error)) &&
            add(emitCombine(cs2, "moe_combine_sorted", text, k.combineSorted, k.error));
  if (ok && l.hasShared())
    ok = add(emitExpertGemm(sup, "moe_shared_up", text, k.sharedUp, k.error)) &&
         add(emitExpertGemm(sdown, "moe_shared_down", text, k.sharedDown, k.error));
  if (!ok)
    return k;
  k.upMaps = expertGemmTmaMaps(up), k.downMaps = expertGemmTmaMaps(down);
  if (l.hasShared())
    k.sharedUpMaps = expertGemmTmaMaps(sup), k.sharedDownMaps = expertGemmTmaMaps(sdown);
  k.upTc = usesTensorCores(up);
  k.downTc = usesTensorCores(down);
  k.tile = usesWgmmaTma(up) ? std::string("wgmma-tma")
           : usesWgmma(up)
               ? std::string("wgmma")
               : "n" + std::to_string(mmaTileN(up)) + "k" + std::to_string(mmaTileK(up));
  if (c.perf) {
    // Routing of the first kRefRows tokens (the warp-per-dot variant, not the
    // staged-chunk one the prefill sizes run).
    RouteSpec ref = rs;
    ref.T = std::min<int64_t>(c.T, kRefRows);
    if (!add(emitRoute(ref, "moe_ref_route", text, k.refRoute, k.error)))
      return k;
  } else {
    src += referenceKernel(c);
    k.ref.block[0] = 256;
  }
  k.source = src;
  return k;
}

// ----------------------------------------------------------------- device --

/// The driver calls (bench/common/BenchGpu.h), errors named effc-moe-bench;
/// a sync waits for the whole context.
class Gpu : public bench::Gpu {
public:
  explicit Gpu(const cuda::Driver *d) : bench::Gpu(d, "effc-moe-bench") {}
  bool sync(const std::string &what) { return ok(a_.cuCtxSynchronize(), "sync after " + what); }
};

/// Median of event-timed calls of `step` after 2 warm-ups.
template <class Step> double timeMs(Gpu &g, int reps, Step step) {
  return bench::median(bench::eventTimes(g, 2, reps, step), -1);
}

/// Medians (ms) of event-timed calls of each step, alternating step by step
/// for `reps` rounds after 2 warm-up calls of each, so that clock or
/// neighbour drift hits every step alike; -1 for a step with no timing.
std::vector<double> interleavedMs(Gpu &g, int reps,
                                  const std::vector<std::function<void()>> &steps) {
  const cuda::DriverApi &a = g.api();
  std::vector<std::vector<float>> t(steps.size());
  cuda::CUevent e0 = nullptr, e1 = nullptr;
  if (g.ok(a.cuEventCreate(&e0, cuda::CU_EVENT_DEFAULT), "cuEventCreate") &&
      g.ok(a.cuEventCreate(&e1, cuda::CU_EVENT_DEFAULT), "cuEventCreate")) {
    for (int w = 0; w < 2; ++w)
      for (const auto &step : steps)
        step();
    g.sync("warm-up");
    for (int r = 0; r < reps && !g.failed(); ++r)
      for (size_t i = 0; i < steps.size() && !g.failed(); ++i) {
        if (!g.ok(a.cuEventRecord(e0, g.stream()), "cuEventRecord (start)"))
          break;
        steps[i]();
        if (!g.ok(a.cuEventRecord(e1, g.stream()), "cuEventRecord (end)") || !g.sync("timed call"))
          break;
        float ms = 0;
        if (g.ok(a.cuEventElapsedTime(&ms, e0, e1), "cuEventElapsedTime"))
          t[i].push_back(ms);
      }
  }
  if (e0)
    g.ok(a.cuEventDestroy(e0), "cuEventDestroy");
  if (e1)
    g.ok(a.cuEventDestroy(e1), "cuEventDestroy");
  std::vector<double> med;
  for (const std::vector<float> &v : t)
    med.push_back(bench::median(v, -1));
  return med;
}

// ----------------------------------------------------------------- cuBLAS --

/// The slice of cuBLAS the baseline calls, resolved at run time.
struct Cublas {
  using Handle = void *;
  int (*create)(Handle *) = nullptr;
  int (*destroy)(Handle) = nullptr;
  int (*gemmEx)(Handle, int, int, int, int, int, const void *, const void *, int, int, const void *,
                int, int, const void *, void *, int, int, int, int) = nullptr;
  Handle handle = nullptr;
  std::string why;
  static constexpr int OP_N = 0, OP_T = 1, R_32F = 0, R_16F = 2, R_16BF = 14, COMPUTE_32F = 68,
                       GEMM_DEFAULT = -1;

  bool load() {
    std::vector<std::string> names;
    std::string env = cuda::getEnv("EFFC_CUBLAS");
    if (!env.empty())
      names.push_back(env);
    else
      names = {"libcublas.so.13", "libcublas.so.12", "libcublas.so",
               "/usr/local/cuda/lib64/libcublas.so", "/usr/local/cuda/lib/libcublas.so"};
    std::string loaded;
    void *lib = cuda::openFirst(names, &loaded, &why);
    if (!lib)
      return false;
    create = (int (*)(Handle *))cuda::symbol(lib, "cublasCreate_v2");
    destroy = (int (*)(Handle))cuda::symbol(lib, "cublasDestroy_v2");
    gemmEx = (decltype(gemmEx))cuda::symbol(lib, "cublasGemmEx");
    if (!create || !destroy || !gemmEx) {
      why = loaded + " lacks cublasCreate_v2/cublasDestroy_v2/cublasGemmEx";
      return false;
    }
    if (int r = create(&handle); r != 0) {
      why = "cublasCreate_v2 returned " + std::to_string(r);
      return false;
    }
    return true;
  }
  /// The handle goes before the Gpu (main declares the Gpu first) and
  /// before exit, not in cuBLAS's own teardown.
  ~Cublas() {
    if (handle && destroy)
      if (int r = destroy(handle); r != 0)
        std::fprintf(stderr, "effc-moe-bench: cublasDestroy_v2 returned %d\n", r);
  }
  /// Row-major out[m, n] = a[m, k] . w[n, k]^T (a, w 16-bit; out 16-bit or
  /// f32): column-major out^T = w^T(op T) a^T. cuBLAS's status (0: success).
  /// On the handle's stream, the legacy default stream the bench launches on.
  int gemm(int m, int n, int k, const void *a, const void *w, void *out, int abType,
           int outType) const {
    const float one = 1.0f, zero = 0.0f;
    return gemmEx(handle, OP_T, OP_N, n, m, k, &one, w, abType, k, a, abType, k, &zero, out,
                  outType, n, COMPUTE_32F, GEMM_DEFAULT);
  }
};

// ------------------------------------------------------------------- run --

/// One variant's kernels in a case: check and time.
struct VariantResult {
  std::string name, kernels, error;
  double ms = -1, err = -1;
  bool pass = false;
};

struct Result {
  std::string label, error; // error: the case's own (cuBLAS, lookups)
  double cublasMs = -1, floorMs = -1, bytesMs = -1, flopsMs = -1, errCublas = -1;
  int64_t expertsTouched = 0;
  std::vector<VariantResult> variants;
  bool pass() const {
    return !variants.empty() && std::all_of(variants.begin(), variants.end(),
                                            [](const VariantResult &v) { return v.pass; });
  }
};

struct Env {
  Gpu *gpu = nullptr;
  Cublas *cublas = nullptr;
  double bandwidth = 0; // bytes/s, measured
  double peakFlops = 0; // FLOP/s of 16-bit tensor cores (0: unknown)
  std::string arch;
  int reps = 20;
};

struct Weights {
  cuda::CUdeviceptr router = 0, gateUp = 0, down = 0, sharedGateUp = 0, sharedDown = 0,
                    sharedGate = 0;
};

double relErr(const std::vector<float> &y, const std::vector<float> &ref) {
  double maxDiff = 0, maxRef = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (!std::isfinite(y[i]))
      return INFINITY;
    maxDiff = std::max(maxDiff, double(std::fabs(y[i] - ref[i])));
    maxRef = std::max(maxRef, double(std::fabs(ref[i])));
  }
  return maxDiff / std::max(maxRef, 1e-30);
}

float toFloat(const uint8_t *p, DType t) {
  if (t == DType::FLOAT32) {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, p, 2);
  uint32_t u;
  if (t == DType::BFLOAT16) {
    u = uint32_t(h) << 16;
  } else {
    uint32_t sign = uint32_t(h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ffu;
    if (e == 0) {
      float f = std::ldexp(float(m), -24);
      return sign ? -f : f;
    }
    u = e == 31 ? (sign | 0x7f800000u | (m << 13)) : (sign | ((e + 112) << 23) | (m << 13));
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

std::vector<float> download(Gpu &g, cuda::CUdeviceptr p, int64_t n, DType t) {
  std::vector<uint8_t> b(size_t(n) * esize(t));
  g.ok(g.api().cuMemcpyDtoH(b.data(), p, b.size()), "cuMemcpyDtoH");
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[size_t(i)] = toFloat(&b[size_t(i) * esize(t)], t);
  return v;
}

/// The device functions of one variant's module.
struct Functions {
  cuda::CUfunction route = nullptr, permute = nullptr, up = nullptr, down = nullptr,
                   combine = nullptr, combineSorted = nullptr, ref = nullptr, refH = nullptr,
                   refY = nullptr, gather = nullptr, act = nullptr, sharedUp = nullptr,
                   sharedDown = nullptr;
};

/// Case `c` with each variant's kernels `ks` (every one built for c): each
/// variant checked against one reference and, with `time`, timed beside one
/// cuBLAS loop. Buffers and modules go on every return.
Result runCase(Env &env, const Case &c, const std::vector<const Kernels *> &ks, const Weights &w,
               cuda::CUdeviceptr x, cuda::CUdeviceptr scores, cuda::CUdeviceptr routeWeights,
               bool time) {
  Gpu &g = *env.gpu;
  g.clearFailure(); // an earlier case's failure is its own (a sticky one fails here again)
  const Layer &l = c.layer;
  Result r;
  r.label = c.label();
  const int64_t T = c.T, TK = T * l.K, es = esize(l.dtype);
  const int64_t refRows = std::min<int64_t>(T, c.perf ? kRefRows : 32);
  auto phase = [&](const std::string &what) { setPhase("case " + r.label + ": " + what); };
  for (const Kernels *k : ks) {
    VariantResult v;
    v.name = k->variant;
    v.kernels = std::string(k->permuteUsed ? "sorted" : "slots") +
                (k->upTc ? " up:mma-" + k->tile : " up:gemv") +
                (k->downTc ? " down:mma" : " down:gemv");
    r.variants.push_back(v);
  }
  struct Owned { // this case's buffers and modules, released on every return
    Gpu &g;
    std::vector<cuda::CUdeviceptr> buffers;
    std::vector<cuda::CUmodule> modules;
    ~Owned() {
      for (cuda::CUdeviceptr p : buffers)
        g.free(p);
      for (cuda::CUmodule m : modules)
        if (m)
          g.unloadModule(m);
    }
  } owned{g, {}, {}};
  auto alloc = [&](int64_t bytes) {
    cuda::CUdeviceptr p = g.alloc(size_t(bytes));
    owned.buffers.push_back(p);
    return p;
  };

  std::vector<Functions> fns;
  for (const Kernels *k : ks) {
    phase("loading the module of variant " + k->variant);
    cuda::CUmodule mod = g.loadModule(k->cubin, r.label + " " + k->variant);
    owned.modules.push_back(mod);
    auto fn = [&](const char *name, const LaunchDims &d = LaunchDims()) {
      return g.function(mod, name, d.sharedBytes);
    };
    Functions f;
    f.route = fn("moe_route"), f.permute = fn("moe_permute"), f.up = fn("moe_up", k->up);
    f.down = fn("moe_down", k->down), f.combine = fn("moe_combine");
    f.combineSorted = fn("moe_combine_sorted");
    f.ref = c.perf ? fn("moe_ref_route") : fn("moe_ref");
    f.refH = fn("bench_ref_h"), f.refY = fn("bench_ref_y"), f.gather = fn("bench_gather");
    f.act = fn("bench_act");
    if (l.hasShared()) {
      f.sharedUp = fn("moe_shared_up", k->sharedUp);
      f.sharedDown = fn("moe_shared_down", k->sharedDown);
    }
    fns.push_back(f);
  }
  if (g.failed()) {
    r.error = "module load or kernel lookup failed";
    return r;
  }
  // The route, permute, sorted combine and reference kernels are the same in
  // every variant: the first variant's run the reference and the cuBLAS loop.
  const Kernels &k0 = *ks[0];
  const Functions &f0 = fns[0];
  phase("allocating buffers");
  // order: offsets [E + 1], sorted [T*K], inv [T*K] (device/moe.cuh).
  cuda::CUdeviceptr experts = alloc(TK * 8), weights = alloc(TK * 4),
                    order = alloc((l.E + 1 + 2 * TK) * 4), h = alloc(TK * l.I * es),
                    z = alloc(TK * l.H * 4), hs = alloc(T * std::max<int64_t>(l.Is, 1) * es),
                    zs = alloc(T * l.H * 4), y = alloc(T * l.H * es),
                    yref = alloc(refRows * l.H * es);
  if (g.failed()) {
    r.error = "allocation failed";
    return r;
  }
  cuda::CUdeviceptr none = 0, gateUp = w.gateUp, downW = w.down;
  cuda::CUdeviceptr routerArg = l.routing == Routing::Scores ? scores : w.router;
  cuda::CUdeviceptr rwArg = l.routeWeights ? routeWeights : 0;
  cuda::CUdeviceptr sgu = l.hasShared() ? w.sharedGateUp : 0, sd = l.hasShared() ? w.sharedDown : 0,
                    sg = l.sharedGate ? w.sharedGate : 0;
  cuda::CUdeviceptr zsArg = l.hasShared() ? zs : 0;
  // The TMA variants' tensor maps on these buffers: per variant up, down,
  // shared up, shared down (empty for the other kernels).
  std::vector<std::array<std::vector<cuda::CuTensorMap>, 4>> maps(ks.size());
  for (size_t i = 0; i < ks.size(); ++i) {
    const Kernels &k = *ks[i];
    g.encodeTensorMaps(k.upMaps, {x, gateUp}, maps[i][0]);
    g.encodeTensorMaps(k.downMaps, {h, downW}, maps[i][1]);
    g.encodeTensorMaps(k.sharedUpMaps, {x, sgu}, maps[i][2]);
    g.encodeTensorMaps(k.sharedDownMaps, {hs, sd}, maps[i][3]);
  }
  if (g.failed()) {
    r.error = "tensor map encoding failed";
    return r;
  }
  // An expert GEMM's launch: its pointers, then its tensor maps if any.
  auto expertGemm = [&](cuda::CUfunction fn, const LaunchDims &d, std::vector<void *> params,
                        std::vector<cuda::CuTensorMap> &tms) {
    for (cuda::CuTensorMap &m : tms)
      params.push_back(&m);
    g.launch(fn, d, params);
  };

  auto effc = [&](size_t i) {
    const Kernels &k = *ks[i];
    const Functions &f = fns[i];
    cuda::CUdeviceptr index = k.permuteUsed ? order : experts;
    g.launch(f.route, k.route, {&x, &routerArg, &rwArg, &experts, &weights});
    if (k.permuteUsed)
      g.launch(f.permute, k.permute, {&experts, &order});
    expertGemm(f.up, k.up, {&x, &gateUp, &index, &h}, maps[i][0]);
    if (l.hasShared())
      expertGemm(f.sharedUp, k.sharedUp, {&x, &sgu, &none, &hs}, maps[i][2]);
    expertGemm(f.down, k.down, {&h, &downW, &index, &z}, maps[i][1]);
    if (l.hasShared())
      expertGemm(f.sharedDown, k.sharedDown, {&hs, &sd, &none, &zs}, maps[i][3]);
    cuda::CUdeviceptr orderArg = k.permuteUsed ? order : 0;
    g.launch(f.combine, k.combine, {&x, &z, &weights, &orderArg, &zsArg, &sg, &y});
  };

  // Reference on the first rows.
  phase("reference kernels");
  if (c.perf) {
    // Route the first rows, then h and y with one warp per dot product.
    const int64_t RK = refRows * l.K;
    cuda::CUdeviceptr refExperts = alloc(RK * 8), refWeights = alloc(RK * 4),
                      refH = alloc(RK * l.I * 4);
    cuda::CUdeviceptr refHs = l.hasShared() ? alloc(refRows * l.Is * 4) : 0;
    g.launch(f0.ref, k0.refRoute, {&x, &routerArg, &rwArg, &refExperts, &refWeights});
    int rows = int(RK), K = int(l.K), H = int(l.H), I = int(l.I), Is = int(l.Is), R = int(refRows);
    int dt = l.dtype == DType::FLOAT32 ? 0 : l.dtype == DType::FLOAT16 ? 1 : 2, gelu = l.gelu;
    auto warps = [](int64_t n) {
      LaunchDims d;
      d.grid[0] = uint32_t((n * 32 + 255) / 256);
      d.block[0] = 256;
      return d;
    };
    g.launch(f0.refH, warps(RK * l.I),
             {&x, &gateUp, &refExperts, &refH, &rows, &K, &H, &I, &dt, &gelu});
    if (l.hasShared()) {
      int one = 1;
      cuda::CUdeviceptr noExperts = 0;
      g.launch(f0.refH, warps(refRows * l.Is),
               {&x, &sgu, &noExperts, &refHs, &R, &one, &H, &Is, &dt, &gelu});
    }
    g.launch(f0.refY, warps(refRows * l.H),
             {&x, &refH, &downW, &refExperts, &refWeights, &refHs, &sd, &sg, &yref, &R, &K, &H, &I,
              &Is, &dt});
  } else {
    LaunchDims rl = k0.ref;
    rl.grid[0] = uint32_t(refRows);
    g.launch(f0.ref, rl, {&x, &routerArg, &gateUp, &downW, &rwArg, &sgu, &sd, &sg, &yref});
  }
  g.sync("reference kernels");
  if (g.failed()) {
    r.error = "reference kernels failed";
    return r;
  }
  const std::vector<float> ref = download(g, yref, refRows * l.H, l.dtype);
  const double tol = l.dtype == DType::FLOAT32 ? 1e-4 : 2e-2;
  // Each variant on y poisoned first (NaN in every dtype): an unwritten row fails.
  for (size_t i = 0; i < ks.size(); ++i) {
    VariantResult &v = r.variants[i];
    phase("variant " + v.name + ": effc kernels (check)");
    g.ok(g.api().cuMemsetD8(y, 0xff, size_t(T * l.H * es)), "cuMemsetD8 (poison y)");
    effc(i);
    g.sync("effc kernels (variant " + v.name + ")");
    if (g.failed()) {
      v.error = "launch failed";
      for (size_t j = i + 1; j < ks.size(); ++j)
        r.variants[j].error = "not run (variant " + v.name + " failed)";
      return r;
    }
    v.err = relErr(download(g, y, refRows * l.H, l.dtype), ref);
    std::vector<float> all = download(g, y, T * l.H, l.dtype);
    const bool written =
        std::all_of(all.begin(), all.end(), [](float f) { return std::isfinite(f); });
    v.pass = written && v.err <= tol && !g.failed();
    if (!written)
      v.error = "rows left unwritten or not finite";
  }

  // The experts the routing touched (for the bytes floor).
  phase("counting the experts touched");
  g.launch(f0.permute, k0.permute, {&experts, &order});
  std::vector<int32_t> offsets(size_t(l.E + 1));
  g.sync("permute");
  if (g.ok(g.api().cuMemcpyDtoH(offsets.data(), order, offsets.size() * 4),
           "cuMemcpyDtoH (expert offsets)"))
    for (int64_t e = 0; e < l.E; ++e)
      r.expertsTouched += offsets[size_t(e + 1)] > offsets[size_t(e)];

  // cuBLAS per-expert loop (16-bit only).
  const bool cublasOk = env.cublas && l.dtype != DType::FLOAT32;
  cuda::CUdeviceptr xg = 0, gu = 0, hsg = 0;
  if (cublasOk) {
    xg = alloc(TK * l.H * es);
    gu = alloc(TK * 2 * l.I * es);
    if (l.hasShared())
      hsg = alloc(T * 2 * l.Is * es);
  }
  const int abType = l.dtype == DType::BFLOAT16 ? Cublas::R_16BF : Cublas::R_16F;
  int bf = l.dtype == DType::BFLOAT16, gelu = l.gelu;
  std::string cublasError; // the first failed cuBLAS call
  auto gemm = [&](const std::string &what, int m, int n, int kd, const void *a, const void *wt,
                  void *out, int outType) {
    const int st = env.cublas->gemm(m, n, kd, a, wt, out, abType, outType);
    if (st != 0 && cublasError.empty())
      cublasError = "cublasGemmEx (" + what + ", " + std::to_string(m) + "x" + std::to_string(n) +
                    "x" + std::to_string(kd) + ") returned " + std::to_string(st);
  };
  auto act = [&](cuda::CUdeviceptr in, cuda::CUdeviceptr out, long long rows, int I) {
    LaunchDims d;
    d.grid[0] = uint32_t(std::min<long long>(8192, (rows * I + 255) / 256));
    d.block[0] = 256;
    g.launch(f0.act, d, {&in, &out, &rows, &I, &bf, &gelu});
  };
  auto baseline = [&]() {
    g.launch(f0.route, k0.route, {&x, &routerArg, &rwArg, &experts, &weights});
    g.launch(f0.permute, k0.permute, {&experts, &order});
    std::vector<int32_t> off(size_t(l.E + 1));
    if (!g.ok(g.api().cuMemcpyDtoH(off.data(), order, off.size() * 4), "cuMemcpyDtoH offsets"))
      return;
    // Offsets from the device: refuse any that would index outside the rows.
    for (int64_t e = 0; e < l.E; ++e)
      if (off[size_t(e)] < 0 || off[size_t(e + 1)] < off[size_t(e)] || off[size_t(e + 1)] > TK) {
        if (cublasError.empty())
          cublasError = "permute offsets out of range at expert " + std::to_string(e);
        return;
      }
    int rows = int(TK), H = int(l.H), E = int(l.E), K = int(l.K);
    LaunchDims gd;
    gd.grid[0] = uint32_t(TK);
    gd.block[0] = 256;
    g.launch(f0.gather, gd, {&x, &order, &xg, &rows, &H, &E, &K});
    for (int64_t e = 0; e < l.E; ++e) {
      const int c0 = off[size_t(e)], n = off[size_t(e + 1)] - c0;
      if (n == 0)
        continue;
      gemm("expert " + std::to_string(e) + " gate_up", n, int(2 * l.I), int(l.H),
           (const char *)(uintptr_t)xg + int64_t(c0) * l.H * es,
           (const char *)(uintptr_t)w.gateUp + e * 2 * l.I * l.H * es,
           (char *)(uintptr_t)gu + int64_t(c0) * 2 * l.I * es, abType);
    }
    act(gu, h, (long long)TK, int(l.I));
    for (int64_t e = 0; e < l.E; ++e) {
      const int c0 = off[size_t(e)], n = off[size_t(e + 1)] - c0;
      if (n == 0)
        continue;
      gemm("expert " + std::to_string(e) + " down", n, int(l.H), int(l.I),
           (const char *)(uintptr_t)h + int64_t(c0) * l.I * es,
           (const char *)(uintptr_t)w.down + e * l.H * l.I * es,
           (char *)(uintptr_t)z + int64_t(c0) * l.H * 4, Cublas::R_32F);
    }
    if (l.hasShared()) {
      gemm("shared gate_up", int(T), int(2 * l.Is), int(l.H), (const void *)x, (const void *)sgu,
           (void *)hsg, abType);
      act(hsg, hs, (long long)T, int(l.Is));
      gemm("shared down", int(T), int(l.H), int(l.Is), (const void *)hs, (const void *)sd,
           (void *)zs, Cublas::R_32F);
    }
    g.launch(f0.combineSorted, k0.combineSorted, {&x, &z, &weights, &order, &zsArg, &sg, &y});
  };
  if (cublasOk && !g.failed()) {
    phase("cuBLAS loop (check)");
    g.ok(g.api().cuMemsetD8(y, 0xff, size_t(T * l.H * es)), "cuMemsetD8 (poison y)");
    baseline();
    g.sync("cuBLAS loop");
    if (cublasError.empty() && !g.failed())
      r.errCublas = relErr(download(g, y, refRows * l.H, l.dtype), ref);
  }

  if (time && !g.failed()) {
    phase("timing cuBLAS and the variants, interleaved");
    std::vector<std::function<void()>> steps;
    for (size_t i = 0; i < ks.size(); ++i)
      steps.push_back([&, i] { effc(i); });
    const bool timeCublas = cublasOk && cublasError.empty();
    if (timeCublas)
      steps.push_back(baseline);
    const std::vector<double> ms = interleavedMs(g, env.reps, steps);
    for (size_t i = 0; i < ks.size(); ++i)
      r.variants[i].ms = ms[i];
    if (timeCublas)
      r.cublasMs = ms.back();
    const double bytes = double(r.expertsTouched) * 3 * l.H * l.I * es + 3.0 * l.H * l.Is * es +
                         double(l.E) * l.H * es * (l.routing != Routing::Scores) +
                         2.0 * T * l.H * es;
    const double flops = 2.0 * T * (l.K * 3.0 * l.H * l.I + 3.0 * l.H * l.Is + double(l.E) * l.H);
    r.bytesMs = env.bandwidth > 0 ? 1e3 * bytes / env.bandwidth : -1;
    r.flopsMs = env.peakFlops > 0 ? 1e3 * flops / env.peakFlops : -1;
    r.floorMs = std::max(r.bytesMs, r.flopsMs);
  }
  if (!cublasError.empty())
    r.error = cublasError;
  if (g.failed() && r.error.empty())
    r.error = "a driver call failed (see above)";
  phase("releasing the case's buffers and modules");
  return r;
}

/// Device-to-device copy bandwidth (read + write bytes / s) over 1 GiB.
double measureBandwidth(Gpu &g) {
  const size_t n = size_t(1) << 30;
  cuda::CUdeviceptr a = g.alloc(n), b = g.alloc(n);
  double ms = -1;
  if (a && b)
    ms = timeMs(g, 10, [&] {
      g.ok(g.api().cuMemcpyDtoDAsync(b, a, n, g.stream()), "cuMemcpyDtoDAsync (bandwidth)");
    });
  g.free(a);
  g.free(b);
  return ms > 0 ? 2.0 * double(n) / (ms * 1e-3) : 0;
}

/// Dense 16-bit tensor-core peak by device name (TFLOP/s), 0 when unknown.
double peakTflops(const std::string &name) {
  if (name.find("H100") != std::string::npos || name.find("H200") != std::string::npos ||
      name.find("H800") != std::string::npos)
    return name.find("PCIe") != std::string::npos ? 756 : 989;
  if (name.find("A100") != std::string::npos || name.find("A800") != std::string::npos)
    return 312;
  if (name.find("L40S") != std::string::npos)
    return 362;
  return 0;
}

std::vector<int64_t> parseList(const std::string &s) {
  std::vector<int64_t> v;
  size_t at = 0;
  while (at < s.size()) {
    size_t comma = s.find(',', at);
    v.push_back(std::atoll(s.substr(at, comma - at).c_str()));
    at = comma == std::string::npos ? s.size() : comma + 1;
  }
  return v;
}

std::string us(double ms) {
  if (ms < 0)
    return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", ms * 1e3);
  return b;
}

std::vector<std::string> splitList(const std::string &s) {
  std::vector<std::string> v;
  for (size_t at = 0; at <= s.size();) {
    size_t comma = std::min(s.find(',', at), s.size());
    v.push_back(s.substr(at, comma - at));
    at = comma + 1;
  }
  return v;
}

} // namespace

int main(int argc, char **argv) {
  installCrashHandler();
  std::setvbuf(stdout, nullptr, _IOLBF, 0); // the log is whole up to a crash
  bool check = false, perf = false, compileOnly = false;
  std::string arch, only;
  std::vector<std::string> variantNames = {"default"};
  std::vector<int64_t> tokens = {1, 8, 64, 512, 4096};
  double peakOverride = 0;
  int reps = 20, compileThreads = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&](const char *p) { return a.substr(std::strlen(p)); };
    if (a == "--check")
      check = true;
    else if (a == "--perf")
      perf = true;
    else if (a == "--compile-only")
      compileOnly = true;
    else if (a.rfind("--arch=", 0) == 0)
      arch = val("--arch=");
    else if (a.rfind("--only=", 0) == 0)
      only = val("--only=");
    else if (a.rfind("--tokens=", 0) == 0)
      tokens = parseList(val("--tokens="));
    else if (a.rfind("--reps=", 0) == 0)
      reps = std::max(1, std::atoi(val("--reps=").c_str()));
    else if (a.rfind("--mma-bk=", 0) == 0)
      gMmaBk = std::atoi(val("--mma-bk=").c_str());
    else if (a.rfind("--gemv-unroll=", 0) == 0)
      gGemvUnroll = std::atoi(val("--gemv-unroll=").c_str());
    else if (a == "--wgmma")
      variantNames = {"wgmma"};
    else if (a.rfind("--variants=", 0) == 0)
      variantNames = splitList(val("--variants="));
    else if (a.rfind("--mma-bn=", 0) == 0)
      gMmaBn = std::atoi(val("--mma-bn=").c_str());
    else if (a.rfind("--compile-threads=", 0) == 0)
      compileThreads = std::max(1, std::atoi(val("--compile-threads=").c_str()));
    else if (a.rfind("--peak-tflops=", 0) == 0)
      peakOverride = std::atof(val("--peak-tflops=").c_str());
    else {
      std::fprintf(stderr, "usage: effc-moe-bench [--check] [--perf] [--tokens=1,8,..] [--reps=N] "
                           "[--only=SUBSTR,..] [--mma-bk=32|64] [--mma-bn=128|256] "
                           "[--wgmma | --variants=default,wgmma,tma,nBNkBK,..] "
                           "[--gemv-unroll=1|2|4] "
                           "[--peak-tflops=F] [--compile-threads=N] "
                           "[--compile-only --arch=sm_90]\n");
      return 2;
    }
  }
  if (!check && !perf)
    check = perf = true;
  std::vector<Case> cases;
  if (check)
    cases = checkCases();
  if (perf)
    for (const Case &c : perfCases(tokens))
      cases.push_back(c);
  if (!only.empty()) {
    // Comma-separated substrings: a case runs when its label contains one.
    const std::vector<std::string> keys = splitList(only);
    cases.erase(std::remove_if(cases.begin(), cases.end(),
                               [&](const Case &c) {
                                 for (const std::string &k : keys)
                                   if (c.label().find(k) != std::string::npos)
                                     return false;
                                 return true;
                               }),
                cases.end());
  }

  const cuda::Driver *drv = nullptr;
  if (!compileOnly) {
    setPhase("opening the device");
    drv = bench::openDevice("effc-moe-bench", arch);
    if (!drv)
      return 1;
  }
  if (arch.empty())
    arch = "sm_90";
  // wgmma needs the arch-specific target (every variant is compiled for it).
  const bool anyWgmma =
      std::find(variantNames.begin(), variantNames.end(), "wgmma") != variantNames.end() ||
      std::find(variantNames.begin(), variantNames.end(), "tma") != variantNames.end();
  if (anyWgmma && arch == "sm_90")
    arch = "sm_90a";
  if (anyWgmma && arch != "sm_90a") {
    std::fprintf(stderr,
                 "effc-moe-bench: the wgmma and tma variants need sm_90a, the device is %s\n",
                 arch.c_str());
    return 1;
  }
  std::vector<Variant> variants;
  for (const std::string &name : variantNames) {
    Variant v;
    std::string error;
    if (!parseVariant(name, arch == "sm_90a", v, error)) {
      std::fprintf(stderr, "effc-moe-bench: --variants: %s\n", error.c_str());
      return 2;
    }
    if (std::any_of(variants.begin(), variants.end(),
                    [&](const Variant &u) { return u.name == name; })) {
      std::fprintf(stderr, "effc-moe-bench: --variants: '%s' listed twice\n", name.c_str());
      return 2;
    }
    variants.push_back(v);
  }
  const bool multi = variants.size() > 1;
  if (Status st = nvrtc::load(); !st.ok()) {
    std::fprintf(stderr, "effc-moe-bench: %s\n", st.message().c_str());
    return 1;
  }

  // Compile: one translation unit per case and variant (ks[case][variant]),
  // generated here and NVRTC-compiled on --compile-threads threads (default:
  // the cores, at most 16; NVRTC compiles dominate a run, and NVRTC takes
  // concurrent calls on distinct programs).
  std::vector<std::vector<Kernels>> ks;
  std::vector<Kernels *> toCompile;
  for (const Case &c : cases) {
    ks.emplace_back();
    for (const Variant &v : variants) {
      setPhase("generating " + c.label() + " [" + v.name + "]");
      ks.back().push_back(buildKernels(c, v));
    }
  }
  for (std::vector<Kernels> &kc : ks)
    for (Kernels &k : kc)
      if (k.error.empty())
        toCompile.push_back(&k);
  const unsigned threads = std::max(
      1u,
      std::min({compileThreads > 0 ? unsigned(compileThreads) : std::thread::hardware_concurrency(),
                16u, unsigned(toCompile.size())}));
  setPhase("NVRTC-compiling " + std::to_string(toCompile.size()) + " translation units on " +
           std::to_string(threads) + " threads");
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t j; (j = next++) < toCompile.size();) {
      Kernels &k = *toCompile[j];
      auto r = nvrtc::compile(k.source, nvrtc::compileOptions(arch, {}), "moe_bench.cu");
      if (r.ok())
        k.cubin = std::move(r->cubin);
      else
        k.error = r.status().message();
    }
  };
  runThreads(threads, worker);
  bool allOk = true;
  for (size_t i = 0; i < cases.size(); ++i)
    for (const Kernels &k : ks[i]) {
      const std::string label = cases[i].label() + (multi ? " [" + k.variant + "]" : "");
      if (!k.error.empty() || compileOnly)
        std::printf("%-40s %s\n", label.c_str(), k.error.empty() ? "compiled" : k.error.c_str());
      allOk = allOk && k.error.empty();
    }
  if (compileOnly)
    return allOk ? 0 : 1;

  Gpu gpu(drv);
  Cublas cublas; // destroyed before gpu
  Env env;
  env.gpu = &gpu;
  env.reps = reps;
  env.arch = arch;
  setPhase("loading cuBLAS");
  if (cublas.load())
    env.cublas = &cublas;
  else
    std::printf("cuBLAS baseline: not available (%s); set EFFC_CUBLAS=/path/libcublas.so\n",
                cublas.why.c_str());
  if (perf) {
    setPhase("measuring the copy bandwidth");
    env.bandwidth = measureBandwidth(gpu);
    env.peakFlops = 1e12 * (peakOverride > 0 ? peakOverride : peakTflops(drv->deviceName));
    std::printf("floor: copy bandwidth %.0f GB/s (measured), 16-bit peak %s\n", env.bandwidth / 1e9,
                env.peakFlops > 0 ? (std::to_string(int(env.peakFlops / 1e12)) + " TFLOP/s").c_str()
                                  : "unknown (--peak-tflops=F)");
  }
  if (multi) {
    std::string line = "variants:";
    for (const Variant &v : variants)
      line += " " + v.name + " (" +
              (v.wgmma ? std::string("wgmma where it fits, else mma.sync")
                       : "mma.sync, B tile " + (v.mmaBn ? std::to_string(v.mmaBn) : "default") +
                             ", k-tile " + (v.mmaBk ? std::to_string(v.mmaBk) : "default")) +
              ")";
    std::printf("%s; arch %s\n", line.c_str(), arch.c_str());
  }

  // Helper module for filling inputs.
  setPhase("compiling the fill kernels");
  std::string helper = moePrelude() + kHelperSource;
  auto hc = nvrtc::compile(helper, nvrtc::compileOptions(arch, {}), "moe_fill.cu");
  if (!hc.ok()) {
    std::fprintf(stderr, "effc-moe-bench: %s\n", hc.status().message().c_str());
    return 1;
  }
  cuda::CUmodule helperMod = gpu.loadModule(hc->cubin, "fill kernels");
  cuda::CUfunction fill = gpu.function(helperMod, "bench_fill");
  if (!fill)
    return 1;
  unsigned seed = 1;
  auto randomize = [&](cuda::CUdeviceptr p, int64_t n, DType t, float scale) {
    long long nn = n;
    int dt = t == DType::FLOAT32 ? 0 : t == DType::FLOAT16 ? 1 : 2;
    LaunchDims l;
    l.grid[0] = 4096;
    l.block[0] = 256;
    unsigned s = seed++;
    gpu.launch(fill, l, {&p, &nn, &dt, &s, &scale});
  };

  std::vector<Result> results;
  // Cases of one layer share weights (allocated for the layer, inputs for
  // its largest T).
  for (size_t i = 0; i < cases.size();) {
    size_t j = i;
    int64_t maxT = 0;
    while (j < cases.size() && cases[j].layer.name == cases[i].layer.name)
      maxT = std::max(maxT, cases[j++].T);
    const Layer &l = cases[i].layer;
    const int es = esize(l.dtype);
    setPhase("allocating and filling the weights of " + l.name);
    gpu.clearFailure(); // an earlier layer's failures are reported already
    Weights w;
    w.router = gpu.alloc(l.E * l.H * es);
    w.gateUp = gpu.alloc(l.E * 2 * l.I * l.H * es);
    w.down = gpu.alloc(l.E * l.H * l.I * es);
    randomize(w.router, l.E * l.H, l.dtype, 1.0f / std::sqrt(float(l.H)));
    randomize(w.gateUp, l.E * 2 * l.I * l.H, l.dtype, 1.0f / std::sqrt(float(l.H)));
    randomize(w.down, l.E * l.H * l.I, l.dtype, 1.0f / std::sqrt(float(l.I)));
    if (l.hasShared()) {
      w.sharedGateUp = gpu.alloc(2 * l.Is * l.H * es);
      w.sharedDown = gpu.alloc(l.H * l.Is * es);
      w.sharedGate = gpu.alloc(l.H * es);
      randomize(w.sharedGateUp, 2 * l.Is * l.H, l.dtype, 1.0f / std::sqrt(float(l.H)));
      randomize(w.sharedDown, l.H * l.Is, l.dtype, 1.0f / std::sqrt(float(l.Is)));
      randomize(w.sharedGate, l.H, l.dtype, 1.0f / std::sqrt(float(l.H)));
    }
    cuda::CUdeviceptr x = gpu.alloc(maxT * l.H * es), scores = gpu.alloc(maxT * l.E * 4),
                      rw = gpu.alloc(maxT * l.E * 4);
    randomize(x, maxT * l.H, l.dtype, 1.0f);
    randomize(scores, maxT * l.E, DType::FLOAT32, 1.0f);
    randomize(rw, maxT * l.E, DType::FLOAT32, 0.5f);
    // A layer whose weights or inputs could not be made fails its cases
    // without launching on them.
    gpu.sync("filling the weights of " + l.name);
    const bool layerOk = !gpu.failed();
    for (; i < j; ++i) {
      Result r;
      r.label = cases[i].label();
      if (!layerOk)
        r.error = "the layer's weights or inputs could not be allocated or filled";
      std::vector<const Kernels *> kp;
      for (const Kernels &k : ks[i]) {
        kp.push_back(&k);
        if (!k.error.empty() && r.error.empty())
          r.error = k.error;
      }
      if (r.error.empty())
        r = runCase(env, cases[i], kp, w, x, scores, rw, cases[i].perf);
      if (r.variants.empty()) // not run: every variant fails with the case's reason
        for (const Variant &v : variants)
          r.variants.push_back(VariantResult{v.name, "-", r.error});
      for (const VariantResult &v : r.variants) {
        const std::string label = r.label + (multi ? " [" + v.name + "]" : "");
        const std::string why = !v.error.empty() ? v.error : v.pass ? "" : r.error;
        std::printf("%-40s %-26s err %.2e%s%s\n", label.c_str(), v.kernels.c_str(), v.err,
                    v.pass ? " PASS" : " FAIL", why.empty() ? "" : (" (" + why + ")").c_str());
      }
      if (r.pass() && !r.error.empty()) // the case's own trouble (cuBLAS), not a check
        std::printf("%-40s note: %s\n", r.label.c_str(), r.error.c_str());
      allOk = allOk && r.pass();
      if (cases[i].perf)
        results.push_back(r);
    }
    setPhase("freeing the weights of " + l.name);
    for (cuda::CUdeviceptr p :
         {w.router, w.gateUp, w.down, w.sharedGateUp, w.sharedDown, w.sharedGate, x, scores, rw})
      gpu.free(p);
  }

  // One row per case: cuBLAS, the floor and each variant against both (the
  // same cuBLAS timing for every variant). One variant: its columns are
  // named effc.
  if (!results.empty()) {
    std::printf("\n%-26s %6s %9s %9s %9s %9s %9s", "layer (bf16)", "experts", "cublas_us",
                "floor_us", "bytes_us", "flops_us", "err_cub");
    for (const Variant &v : variants) {
      const std::string n = multi ? v.name : "effc";
      std::printf(" %10s %10s %10s", (n + "_us").c_str(), ("cub/" + n).c_str(),
                  (n + "/flr").c_str());
    }
    std::printf("\n");
    for (const Result &r : results) {
      char e[16] = "-";
      if (r.errCublas >= 0)
        std::snprintf(e, sizeof e, "%.1e", r.errCublas);
      std::printf("%-26s %6lld %9s %9s %9s %9s %9s", r.label.c_str(), (long long)r.expertsTouched,
                  us(r.cublasMs).c_str(), us(r.floorMs).c_str(), us(r.bytesMs).c_str(),
                  us(r.flopsMs).c_str(), e);
      for (const VariantResult &v : r.variants) {
        char a[16] = "-", b[16] = "-";
        if (v.ms > 0 && r.cublasMs > 0)
          std::snprintf(a, sizeof a, "%.2f", r.cublasMs / v.ms);
        if (v.ms > 0 && r.floorMs > 0)
          std::snprintf(b, sizeof b, "%.2f", v.ms / r.floorMs);
        std::printf(" %10s %10s %10s", us(v.ms).c_str(), a, b);
      }
      std::printf("\n");
    }
    std::printf("(floor = max(bytes_us, flops_us); bytes_us = the weights of the experts "
                "touched + shared expert + router + x, y over the measured copy bandwidth)\n");
  }
  std::printf("%s\n", allOk ? "ALL CHECKS PASS" : "SOME CHECKS FAILED");
  // The Gpu's modules, the cuBLAS handle, then exit's own teardown.
  setPhase("exit (cuBLAS handle, modules, static destructors)");
  return allOk ? 0 : 1;
}
