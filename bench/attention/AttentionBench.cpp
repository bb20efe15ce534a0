// effc-attention-bench: generates effc's attention kernels (FlashAttention-2
// forward, split-KV decode), compiles them with NVRTC for the device's arch,
// checks them against the naive fp32 reference kernel on fresh random inputs
// (outputs poisoned with NaN first, so an unwritten element fails) and times
// them with CUDA events (warm-up, then the median of single-launch times).
//
//   effc-attention-bench [--check] [--perf] [--decode] [--sweep [--configs=C,C..]]
//                        [--reps=N] [--jobs=N] [--only=SUBSTR] [--dump=DIR]
//                        [--compile-only --arch=sm_90]
//
// --check: small problems covering head dims 64..256, dtypes, causal,
// window, GQA, masks, soft-capping, ALiBi, sinks, q != kv length, strided views, decode
// splits.
// --perf: forward, bf16, 16k tokens x 2048 hidden, d in {64,128}, N in
// 512..16k, causal and not (FLOPs = 4*B*N^2*H*d, /2 causal); error on the
// rows of batch 0, heads 0-1. --decode: q_len 1, GQA 32/8, d 128, batch 8,
// KV 1k..32k, GB/s of K+V read (K/V rotated over >= 256 MB so L2 does not
// serve them). Without any of the three, all run.
// --sweep (only when asked): forward tile/option candidates (FlashForwardConfig,
// forced through AttentionSpec::forwardConfig) against the heuristic's default
// on the --perf problem definition for d128 and d64, causal and not, N in
// {1k, 4k, 16k}: one input set and one reference per problem, every candidate
// checked on the same sampled rows (poisoned output) and timed in interleaved
// rounds (clock drift hits all alike); prints `SWEEP ...` lines, a table and
// per (d, causal) the candidates ranked by geometric-mean speedup over the
// default. --configs=m128n32w4s3-se-r2,... replaces the built-in candidates.
// Prints `RESULT key=value ...` lines (bench/attention/run.sh joins them with
// torch SDPA) and a table. Exit status 1 when any check fails.
#include "bench/common/BenchGpu.h"
#include "compiler/codegen/attention/FlashAttention.h"
#include "compiler/codegen/device/DeviceCode.h"
#include "cuda/DriverApi.h"
#include "cuda/Nvrtc.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace effc;
using namespace effc::codegen;

namespace {

struct Options {
  bool check = false, perf = false, decode = false, sweep = false, compileOnly = false;
  std::string only, arch, dump, configs;
  int reps = 20, jobs = 0;
};

enum class Kind { Forward, Decode };

/// One benchmark/check problem and what it produced.
struct Problem {
  std::string label; // "fwd d128 N4096 causal"
  Kind kind = Kind::Forward;
  AttentionSpec spec;
  bool perf = false;
  int64_t refRows = -1; // rows [0, refRows) checked; -1 = all
  // --sweep: problems of one group share inputs and the reference (which only
  // the group's first problem, the default config, compiles).
  int group = -1;
  bool withRef = true;
  std::string config; // flashForwardConfigName, "default:..." for the heuristic's
  int64_t smem = 0;
  // compile
  std::string source, error;
  std::string cubin;
  LaunchDims launch, refLaunch;
  FlashDecodePlan plan;
  std::string kernel, ref;
  int regs = -1, spill = -1;
  double compileMs = 0;
  // results
  double maxAbsErr = -1, relErr = -1, ms = -1, rate = -1;
  bool pass = false, ran = false;
};

int elemSize(DType t) { return t == DType::FLOAT32 ? 4 : 2; }
const char *shortType(DType t) {
  return t == DType::FLOAT32 ? "f32" : t == DType::FLOAT16 ? "f16" : "bf16";
}

// ------------------------------------------------------------ host numbers --

uint16_t toBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return 0x7fc0;
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}
float fromBf16(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t toF16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  int32_t e = int32_t((x >> 23) & 0xff) - 127 + 15;
  uint32_t m = x & 0x7fffffu;
  if (((x >> 23) & 0xff) == 0xff)
    return uint16_t(sign | 0x7c00u | (m ? 0x200u : 0));
  if (e >= 31)
    return uint16_t(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10)
      return uint16_t(sign);
    m |= 0x800000u;
    uint32_t shift = uint32_t(14 - e);
    uint32_t half = m >> shift, rem = m & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1)))
      ++half;
    return uint16_t(sign | half);
  }
  uint32_t half = sign | (uint32_t(e) << 10) | (m >> 13), rem = m & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1)))
    ++half;
  return uint16_t(half);
}
float fromF16(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ffu, u;
  if (e == 0) {
    if (m == 0) {
      u = sign;
    } else {
      int sh = 0;
      while (!(m & 0x400u)) {
        m <<= 1;
        ++sh;
      }
      u = sign | (uint32_t(127 - 15 - sh + 1) << 23) | ((m & 0x3ffu) << 13);
    }
  } else if (e == 31) {
    u = sign | 0x7f800000u | (m << 13);
  } else {
    u = sign | ((e - 15 + 127) << 23) | (m << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

/// Random normal values stored as `t`.
std::vector<uint8_t> randomTensor(int64_t n, DType t, std::mt19937 &rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<uint8_t> b(size_t(n) * elemSize(t));
  for (int64_t i = 0; i < n; ++i) {
    float v = nd(rng);
    if (t == DType::FLOAT32)
      std::memcpy(&b[i * 4], &v, 4);
    else {
      uint16_t h = t == DType::BFLOAT16 ? toBf16(v) : toF16(v);
      std::memcpy(&b[i * 2], &h, 2);
    }
  }
  return b;
}

float loadAs(const std::vector<uint8_t> &b, int64_t i, DType t) {
  if (t == DType::FLOAT32) {
    float f;
    std::memcpy(&f, &b[i * 4], 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, &b[i * 2], 2);
  return t == DType::BFLOAT16 ? fromBf16(h) : fromF16(h);
}

/// Elements a strided [n0, n1, n2, d] view spans.
int64_t span(const AttentionStrides &s, int64_t n0, int64_t n1, int64_t n2, int64_t d) {
  return (n0 - 1) * s.batch + (n1 - 1) * s.head + (n2 - 1) * s.seq + d;
}

int64_t maskSpan(const AttentionSpec &s) {
  const auto &m = s.maskStrides;
  return (s.B - 1) * m[0] + (s.Hq - 1) * m[1] + (s.S - 1) * m[2] + (s.L - 1) * m[3] + 1;
}

/// Random mask: bool ~85% true with every 7th (b, h, i) row fully false (no
/// allowed key: zeros); additive in [-3, 0] with ~10% -inf and every 7th row
/// all -inf.
std::vector<uint8_t> randomMask(const AttentionSpec &s, std::mt19937 &rng) {
  const int64_t n = maskSpan(s);
  const int es = s.mask == AttentionMask::Bool ? 1 : elemSize(s.maskDType);
  std::vector<uint8_t> b(size_t(n) * es);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  auto put = [&](int64_t i, float v) {
    if (s.mask == AttentionMask::Bool)
      b[i] = v != -INFINITY; // -inf -> false
    else if (s.maskDType == DType::FLOAT32)
      std::memcpy(&b[i * 4], &v, 4);
    else {
      uint16_t h = s.maskDType == DType::BFLOAT16 ? toBf16(v) : toF16(v);
      std::memcpy(&b[i * 2], &h, 2);
    }
  };
  for (int64_t i = 0; i < n; ++i) {
    float r = u(rng);
    float v = r < 0.12f ? -INFINITY : -3.0f * u(rng);
    put(i, v);
  }
  // Fully masked rows where the mask has a row dim.
  if (s.maskStrides[2] != 0)
    for (int64_t b0 = 0; b0 < s.B; ++b0)
      for (int64_t h = 0; h < s.Hq; ++h)
        for (int64_t i = 3; i < s.S; i += 7)
          for (int64_t j = 0; j < s.L; ++j)
            put(b0 * s.maskStrides[0] + h * s.maskStrides[1] + i * s.maskStrides[2] +
                    j * s.maskStrides[3],
                -INFINITY);
  return b;
}

// ---------------------------------------------------------------- compile --

void parsePtxas(const std::string &log, const std::string &fn, int *regs, int *spill) {
  size_t at = log.find("Function properties for " + fn + "\n");
  if (at == std::string::npos)
    at = log.find("Function properties for " + fn);
  if (at == std::string::npos)
    return;
  size_t sp = log.find(" bytes spill stores", at);
  if (sp != std::string::npos) {
    size_t b = log.rfind(' ', sp - 1);
    *spill = std::atoi(log.c_str() + b + 1);
  }
  size_t u = log.find("Used ", at);
  if (u != std::string::npos)
    *regs = std::atoi(log.c_str() + u + 5);
}

void build(Problem &p, int id) {
  p.kernel = "attn" + std::to_string(id);
  p.ref = p.kernel + "_ref";
  std::string src = attentionPrelude();
  std::string k, why;
  if (p.kind == Kind::Forward)
    k = emitFlashAttentionForward(p.spec, p.kernel, &p.launch, &why);
  else
    k = emitFlashDecode(p.spec, p.kernel, &p.plan);
  if (k.empty()) {
    p.error = "unsupported: " + (why.empty() ? flashAttentionUnsupported(p.spec) : why);
    return;
  }
  if (p.kind == Kind::Forward)
    p.smem = chooseFlashForwardConfig(resolveAttentionStrides(p.spec)).sharedBytes;
  src += k;
  if (p.withRef)
    src += emitAttentionReference(p.spec, p.ref, &p.refLaunch);
  else
    p.ref.clear();
  p.source = src;
}

void compileAll(std::vector<Problem> &ps, const std::string &arch, int threads) {
  std::atomic<size_t> next{0};
  auto worker = [&]() {
    for (size_t i; (i = next++) < ps.size();) {
      Problem &p = ps[i];
      if (!p.error.empty())
        continue;
      auto c = nvrtc::compile(p.source, nvrtc::compileOptions(arch, {"--ptxas-options=-v"}),
                              p.kernel + ".cu");
      if (!c.ok()) {
        p.error = c.status().message();
        continue;
      }
      p.cubin = std::move(c->cubin);
      p.compileMs = c->ms;
      parsePtxas(c->log, p.kernel, &p.regs, &p.spill);
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < std::max(1, threads); ++i)
    pool.emplace_back(worker);
  for (std::thread &t : pool)
    t.join();
}

// ----------------------------------------------------------------- device --

/// The driver calls (bench/common/BenchGpu.h), errors named effc-attention-bench.
class Gpu : public bench::Gpu {
public:
  explicit Gpu(const cuda::Driver *d) : bench::Gpu(d, "effc-attention-bench") {}
};

/// Device-side fill with pseudo-normal values (hash + Box-Muller): the
/// benchmark tensors are up to 0.5 GB each, too slow to draw on the host.
const char *kFillSource = R"CUDA(
__device__ __forceinline__ unsigned hash32(unsigned x) {
  x ^= x >> 16; x *= 0x7feb352du; x ^= x >> 15; x *= 0x846ca68bu; x ^= x >> 16; return x;
}
EFFC_KERNEL void effc_fill(void* p, long long n, int code, unsigned seed) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
    unsigned a = hash32(unsigned(i) * 2u + seed * 0x9e3779b9u), b = hash32(unsigned(i) * 2u + 1u + seed * 0x85ebca6bu);
    float u1 = (a >> 8) * (1.0f / 16777216.0f) + 1e-7f, u2 = (b >> 8) * (1.0f / 16777216.0f);
    float v = sqrtf(-2.0f * logf(u1)) * cosf(6.283185307f * u2);
    if (code == 0) ((float*)p)[i] = v;
    else {
      const unsigned r = code == 1 ? pack2<true>(v, 0.0f) : pack2<false>(v, 0.0f);
      ((unsigned short*)p)[i] = (unsigned short)(r & 0xffffu);
    }
  }
}
)CUDA";

struct Filler {
  cuda::CUfunction fn = nullptr;
  bool run(Gpu &g, cuda::CUdeviceptr p, int64_t n, DType t, unsigned seed) {
    long long nn = n;
    int code = t == DType::FLOAT32 ? 0 : t == DType::BFLOAT16 ? 1 : 2;
    LaunchDims l;
    l.grid[0] = 2048;
    l.block[0] = 256;
    return g.launch(fn, l, {&p, &nn, &code, &seed});
  }
};

/// Median of single-launch event times after 3 warm-ups; `step(i)` enqueues
/// repetition i (it may rotate input buffers).
template <class Step> double timeMedian(Gpu &g, int reps, Step step) {
  int i = 0;
  return bench::median(bench::eventTimes(g, 3, reps, [&] { step(i++); }), -1);
}

/// Runs one problem: inputs, reference rows, flash kernel(s) on a poisoned
/// output, comparison, timing.
void runProblem(Gpu &g, Problem &p, Filler &fill, const Options &opt, unsigned seed) {
  const AttentionSpec s = resolveAttentionStrides(p.spec);
  const cuda::DriverApi &a = g.api();
  std::vector<cuda::CUdeviceptr> bufs;
  auto track = [&](cuda::CUdeviceptr d) {
    bufs.push_back(d);
    return d;
  };
  const int es = elemSize(s.dtype);
  const int64_t nq = span(s.q, s.B, s.Hq, s.S, s.D), nk = span(s.k, s.B, s.Hkv, s.L, s.D),
                nv = span(s.v, s.B, s.Hkv, s.L, s.Dv), no = span(s.o, s.B, s.Hq, s.S, s.Dv);
  // Decode perf: rotate K/V over >= 256 MB so that L2 (50 MB) does not serve them.
  int copies = 1;
  if (p.perf && p.kind == Kind::Decode)
    copies = int(std::max<int64_t>(1, (int64_t(256) << 20) / ((nk + nv) * es) + 1));
  std::mt19937 rng(seed);
  cuda::CUdeviceptr Q = 0, M = 0, O = 0, WO = 0, WL = 0, R = 0;
  std::vector<cuda::CUdeviceptr> K(copies), V(copies);
  if (p.perf) {
    Q = track(g.alloc(size_t(nq) * es));
    fill.run(g, Q, nq, s.dtype, seed);
    for (int c = 0; c < copies; ++c) {
      K[c] = track(g.alloc(size_t(nk) * es));
      V[c] = track(g.alloc(size_t(nv) * es));
      fill.run(g, K[c], nk, s.dtype, seed + 1 + 2 * c);
      fill.run(g, V[c], nv, s.dtype, seed + 2 + 2 * c);
    }
  } else {
    Q = track(g.upload(randomTensor(nq, s.dtype, rng)));
    K[0] = track(g.upload(randomTensor(nk, s.dtype, rng)));
    V[0] = track(g.upload(randomTensor(nv, s.dtype, rng)));
  }
  if (s.mask != AttentionMask::None)
    M = track(g.upload(randomMask(s, rng)));
  O = track(g.alloc(size_t(no) * es));
  if (p.kind == Kind::Decode && p.plan.numSplits > 1) {
    WO = track(g.alloc(size_t(p.plan.partialBytes)));
    WL = track(g.alloc(size_t(p.plan.lseBytes)));
  }
  const int64_t rows = s.B * s.Hq * s.S;
  const int64_t refRows = p.refRows < 0 ? rows : std::min(rows, p.refRows);
  R = track(g.alloc(size_t(refRows * s.Dv) * 4));
  cuda::CUmodule mod = g.loadModule(p.cubin, p.kernel);
  cuda::CUfunction ref = g.function(mod, p.ref, p.refLaunch.sharedBytes);
  cuda::CUfunction f = nullptr, comb = nullptr;
  if (p.kind == Kind::Forward) {
    f = g.function(mod, p.kernel, p.launch.sharedBytes);
  } else {
    f = g.function(mod, p.plan.splitKernel, p.plan.split.sharedBytes);
    if (!p.plan.combineKernel.empty())
      comb = g.function(mod, p.plan.combineKernel, 0);
  }
  const bool hasMaskArg = s.mask != AttentionMask::None || s.maskParam;
  auto enqueue = [&](int rep) {
    int c = rep % copies;
    std::vector<void *> args{&Q, &K[c], &V[c]};
    if (hasMaskArg)
      args.push_back(&M);
    if (p.kind == Kind::Forward || !comb) {
      args.push_back(&O);
      return g.launch(f, p.kind == Kind::Forward ? p.launch : p.plan.split, args);
    }
    args.push_back(&WO); // split-KV: partial O and LSE, then the combine
    args.push_back(&WL);
    return g.launch(f, p.plan.split, args) && g.launch(comb, p.plan.combine, {&WO, &WL, &O});
  };
  if (!g.failed() && ref && f && (p.plan.combineKernel.empty() || comb)) {
    LaunchDims rl = p.refLaunch;
    rl.grid[0] = uint32_t(refRows);
    int rowBegin = 0;
    g.launch(ref, rl, {&Q, &K[0], &V[0], &M, &R, &rowBegin});
    g.ok(a.cuMemsetD8(O, 0xFF, size_t(no) * es), "poison"); // NaN in every dtype
    if (enqueue(0) && g.sync(p.label)) {
      std::vector<uint8_t> out(size_t(no) * es);
      std::vector<float> refv(size_t(refRows * s.Dv));
      g.ok(a.cuMemcpyDtoH(out.data(), O, out.size()), "cuMemcpyDtoH");
      g.ok(a.cuMemcpyDtoH(refv.data(), R, refv.size() * 4), "cuMemcpyDtoH");
      double maxErr = 0, maxRef = 0;
      bool nan = false;
      for (int64_t r = 0; r < refRows; ++r) {
        const int64_t i = r % s.S, h = (r / s.S) % s.Hq, b = r / (s.S * s.Hq);
        for (int64_t d = 0; d < s.Dv; ++d) {
          float got = loadAs(out, b * s.o.batch + h * s.o.head + i * s.o.seq + d, s.dtype);
          float want = refv[size_t(r * s.Dv + d)];
          if (!std::isfinite(got) || !std::isfinite(want))
            nan = true;
          maxErr = std::max(maxErr, double(std::fabs(got - want)));
          maxRef = std::max(maxRef, double(std::fabs(want)));
        }
      }
      p.maxAbsErr = nan ? NAN : maxErr;
      p.relErr = nan ? NAN : maxErr / std::max(maxRef, 1e-6);
      // bf16 output alone rounds at 2^-9 relative; P goes through the mma in
      // the operand type (bf16: 2^-9, f16/f32->f16: 2^-12).
      const double tol = s.dtype == DType::BFLOAT16 ? 2.5e-2 : 5e-3;
      p.pass = !nan && p.relErr <= tol;
      p.ran = true;
      if (p.perf && !opt.compileOnly) {
        p.ms = timeMedian(g, opt.reps, enqueue);
        if (p.ms > 0) {
          if (p.kind == Kind::Forward)
            p.rate = attentionFlops(s) / (p.ms * 1e-3) / 1e12; // TFLOP/s
          else
            p.rate = double((nk + nv) * es) / (p.ms * 1e-3) / 1e9; // GB/s of K+V
        }
      }
    }
  }
  for (cuda::CUdeviceptr b : bufs)
    if (b)
      a.cuMemFree(b);
  if (g.failed() && !p.ran)
    p.error = p.error.empty() ? "device error (see stderr)" : p.error;
  g.clearFailure();
}

// ---------------------------------------------------------------- problems --

AttentionSpec attn(int64_t b, int64_t hq, int64_t hkv, int64_t s, int64_t l, int64_t d, DType t) {
  AttentionSpec a;
  a.B = b, a.Hq = hq, a.Hkv = hkv, a.S = s, a.L = l, a.D = d, a.Dv = d;
  a.dtype = t;
  a.scale = float(1.0 / std::sqrt(double(d)));
  return a;
}

void addChecks(std::vector<Problem> &ps) {
  auto add = [&](const std::string &label, Kind k, const AttentionSpec &s) {
    Problem p;
    p.label = label;
    p.kind = k;
    p.spec = s;
    ps.push_back(p);
  };
  const DType types[] = {DType::BFLOAT16, DType::FLOAT16, DType::FLOAT32};
  for (int64_t d : {64, 80, 96, 128, 256})
    for (DType t : types) {
      std::string base = std::string("chk d") + std::to_string(d) + " " + shortType(t);
      add(base + " S=L=197", Kind::Forward, attn(2, 4, 4, 197, 197, d, t));
      AttentionSpec c = attn(1, 8, 2, 333, 333, d, t);
      c.causal = true;
      add(base + " causal gqa4 333", Kind::Forward, c);
    }
  {
    AttentionSpec s = attn(2, 8, 8, 77, 300, 128, DType::BFLOAT16);
    add("chk q77 kv300", Kind::Forward, s);
    s.causal = true;
    add("chk q77 kv300 causal", Kind::Forward, s);
    s = attn(1, 4, 4, 300, 100, 64, DType::BFLOAT16);
    s.causal = true;
    add("chk q300 kv100 causal (rows w/o keys)", Kind::Forward, s);
  }
  {
    AttentionSpec s = attn(2, 8, 4, 500, 500, 128, DType::BFLOAT16);
    s.causal = true, s.window = 100;
    add("chk causal window100", Kind::Forward, s);
    s.causal = false, s.window = 37;
    add("chk window37 (no causal)", Kind::Forward, s);
  }
  {
    AttentionSpec s = attn(2, 4, 4, 150, 170, 64, DType::FLOAT16);
    s.mask = AttentionMask::Bool, s.maskStrides = {150 * 170, 0, 170, 1};
    add("chk bool mask [B,1,S,L]", Kind::Forward, s);
    s.mask = AttentionMask::Additive, s.maskDType = DType::FLOAT32,
    s.maskStrides = {4 * 150 * 170, 150 * 170, 170, 1};
    add("chk f32 additive mask [B,H,S,L]", Kind::Forward, s);
    s = attn(2, 4, 4, 150, 170, 128, DType::BFLOAT16);
    s.causal = true;
    s.mask = AttentionMask::Additive, s.maskDType = DType::BFLOAT16, s.maskStrides = {170, 0, 0, 1};
    add("chk bf16 padding mask [B,L] causal", Kind::Forward, s);
  }
  {
    AttentionSpec s = attn(2, 8, 2, 129, 129, 128, DType::BFLOAT16);
    s.Dv = 64, s.maskParam = true;
    add("chk Dv64 != D128, null mask slot", Kind::Forward, s);
    s = attn(2, 8, 8, 100, 100, 64, DType::FLOAT16);
    s.q = {100 * 8 * 64, 64, 8 * 64};
    s.o = {100 * 8 * 64, 64, 8 * 64};
    add("chk strided q/o [B,S,H,D]", Kind::Forward, s);
  }
  {
    // Soft-capping (Gemma-2): a cap of 1.5 bends scores of the N(0, 1)
    // inputs (scaled scores ~ N(0, 1)), so the tanh is exercised, not idle.
    AttentionSpec s = attn(2, 8, 2, 333, 333, 128, DType::BFLOAT16);
    s.causal = true, s.softcap = 1.5f;
    add("chk softcap1.5 causal gqa4 bf16", Kind::Forward, s);
    s = attn(2, 4, 4, 150, 170, 64, DType::FLOAT16);
    s.softcap = 1.5f, s.window = 40, s.causal = true;
    s.mask = AttentionMask::Additive, s.maskDType = DType::FLOAT32, s.maskStrides = {170, 0, 0, 1};
    add("chk softcap1.5 swa40 f32 padding mask f16", Kind::Forward, s);
    s = attn(2, 4, 4, 197, 197, 96, DType::FLOAT32);
    s.softcap = 50.0f, s.mask = AttentionMask::Bool, s.maskStrides = {197 * 197, 0, 197, 1};
    add("chk softcap50 bool mask f32", Kind::Forward, s);
    // ALiBi: MPT-like slopes 2^-(8h/H) over 8 heads; alone, and with
    // soft-capping, a window and a padding mask.
    const std::vector<float> slopes8 = {0.5f,     0.25f,     0.125f,     0.0625f,
                                        0.03125f, 0.015625f, 0.0078125f, 0.00390625f};
    s = attn(2, 8, 2, 333, 333, 128, DType::BFLOAT16);
    s.causal = true, s.alibiSlopes = slopes8;
    add("chk alibi causal gqa4 bf16", Kind::Forward, s);
    s = attn(2, 8, 8, 150, 170, 64, DType::FLOAT16);
    s.alibiSlopes = slopes8, s.softcap = 1.5f, s.causal = true, s.window = 40;
    s.mask = AttentionMask::Additive, s.maskDType = DType::FLOAT32, s.maskStrides = {170, 0, 0, 1};
    add("chk alibi softcap1.5 swa40 padding mask f16", Kind::Forward, s);
    // Sinks (gpt-oss: one logit per head, with a sliding window); one head's
    // sink dominates its rows.
    const std::vector<float> sinks8 = {0.5f, -1.0f, 2.0f, 0.0f, 1.0f, 1.5f, -2.0f, 9.0f};
    s = attn(2, 8, 2, 257, 257, 64, DType::BFLOAT16);
    s.causal = true, s.window = 128, s.sinks = sinks8;
    add("chk sinks causal swa128 gqa4 bf16", Kind::Forward, s);
  }
  // Decode.
  {
    AttentionSpec s = attn(4, 16, 4, 1, 3000, 128, DType::BFLOAT16);
    s.softcap = 1.5f;
    add("chk dec softcap1.5 gqa4 L3000", Kind::Decode, s);
    s = attn(2, 8, 8, 3, 900, 64, DType::FLOAT16);
    s.softcap = 2.0f, s.causal = true, s.window = 200;
    s.mask = AttentionMask::Additive, s.maskDType = DType::FLOAT16, s.maskStrides = {900, 0, 0, 1};
    add("chk dec softcap2 q3 swa200 padding mask", Kind::Decode, s);
    s = attn(4, 8, 2, 2, 3000, 128, DType::BFLOAT16);
    s.causal = true;
    s.alibiSlopes = {0.5f, 0.25f, 0.125f, 0.0625f, 0.03125f, 0.015625f, 0.0078125f, 0.00390625f};
    add("chk dec alibi q2 gqa4 L3000", Kind::Decode, s);
    s = attn(4, 8, 2, 1, 3000, 64, DType::BFLOAT16);
    s.sinks = {0.5f, -1.0f, 2.0f, 0.0f, 1.0f, 1.5f, -2.0f, 9.0f};
    add("chk dec sinks gqa4 L3000", Kind::Decode, s);
  }
  add("chk dec b8 gqa4 L4096", Kind::Decode, attn(8, 32, 8, 1, 4096, 128, DType::BFLOAT16));
  add("chk dec b1 mha L1000 f16 d64", Kind::Decode, attn(1, 16, 16, 1, 1000, 64, DType::FLOAT16));
  add("chk dec d256 L3000", Kind::Decode, attn(2, 8, 4, 1, 3000, 256, DType::BFLOAT16));
  add("chk dec d80 f32 L777", Kind::Decode, attn(2, 8, 8, 1, 777, 80, DType::FLOAT32));
  {
    AttentionSpec s = attn(2, 32, 4, 4, 2048, 128, DType::BFLOAT16);
    s.causal = true;
    add("chk dec q4 gqa8 causal", Kind::Decode, s);
    s = attn(2, 32, 2, 16, 1500, 64, DType::BFLOAT16);
    s.causal = true, s.window = 300;
    add("chk dec q16 gqa16 swa300 (row blocks)", Kind::Decode, s);
    s = attn(3, 8, 8, 2, 333, 96, DType::BFLOAT16);
    s.mask = AttentionMask::Bool, s.maskStrides = {333, 0, 0, 1};
    add("chk dec bool mask d96", Kind::Decode, s);
    add("chk dec big batch (1 split)", Kind::Decode, attn(64, 32, 8, 1, 512, 128, DType::BFLOAT16));
  }
}

void addPerf(std::vector<Problem> &ps) {
  for (int64_t d : {64, 128})
    for (int causal = 0; causal < 2; ++causal)
      for (int64_t n : {512, 1024, 2048, 4096, 8192, 16384}) {
        const int64_t b = 16384 / n, h = 2048 / d;
        Problem p;
        p.label =
            "fwd d" + std::to_string(d) + " N" + std::to_string(n) + (causal ? " causal" : "");
        p.kind = Kind::Forward;
        p.spec = attn(b, h, h, n, n, d, DType::BFLOAT16);
        p.spec.causal = causal;
        p.perf = true;
        p.refRows = 2 * n; // batch 0, heads 0-1: every causal/edge case of the tiles
        ps.push_back(p);
      }
}

void addDecode(std::vector<Problem> &ps) {
  for (int64_t l : {1024, 2048, 4096, 8192, 16384, 32768}) {
    Problem p;
    p.label = "decode d128 L" + std::to_string(l);
    p.kind = Kind::Decode;
    p.spec = attn(8, 32, 8, 1, l, 128, DType::BFLOAT16);
    p.perf = true;
    ps.push_back(p);
  }
}

// ------------------------------------------------------------------ sweep --

/// Built-in forward candidates per head dim (the heuristic's default runs
/// first in every group; a candidate equal to it is dropped).
std::vector<std::string> sweepCandidates(int64_t d) {
  if (d > 64)
    return {// The default's tiles (2 slices/warp, 4 warps, 2 CTAs/SM) with each
            // code option alone, then together (-se-r1 is bit-identical to the
            // default's numerics; -se-r2 the leanest loop).
            "m128n64w4s2-se", "m128n64w4s2-r1", "m128n64w4s2-r2", "m128n64w4s2-se-r1",
            "m128n64w4s2-se-r2",
            // Half the S registers (blockN 32), 2- and 3-deep rings, still 2 CTAs/SM.
            "m128n32w4s2-se-r2", "m128n32w4s3-se-r2",
            // 2 slices/warp with 8 warps (1 CTA/SM): K/V read from L2 once per 256 rows.
            "m256n64w8s2-se-r2", "m256n32w8s3-se-r2",
            // 1 slice/warp: far fewer registers, more ldmatrix bytes per mma.
            "m128n64w8s2-q-se-r2", "m128n64w8s2-se-r2-b2", "m64n64w4s2-q-se-r2",
            "m128n128w8s2-se-r2"};
  return {"m128n64w4s2-q-se",    "m128n64w4s2-q-r1",    "m128n64w4s2-q-r2",   "m128n64w4s2-q-se-r1",
          "m128n64w4s2-q-se-r2", "m128n64w4s2-se-r2",   "m128n128w4s2-se-r2", "m128n32w4s3-q-se-r2",
          "m192n64w4s2-se-r2",   "m256n64w8s2-q-se-r2", "m128n64w8s2-q-se-r2"};
}

bool addSweep(std::vector<Problem> &ps, const Options &opt) {
  std::vector<std::string> override;
  for (size_t at = 0; at < opt.configs.size();) {
    size_t comma = opt.configs.find(',', at);
    if (comma == std::string::npos)
      comma = opt.configs.size();
    if (comma > at)
      override.push_back(opt.configs.substr(at, comma - at));
    at = comma + 1;
  }
  int group = 0;
  for (int64_t d : {128, 64})
    for (int causal = 0; causal < 2; ++causal)
      for (int64_t n : {1024, 4096, 16384}) {
        const int64_t b = 16384 / n, h = 2048 / d;
        Problem base;
        base.label =
            "fwd d" + std::to_string(d) + " N" + std::to_string(n) + (causal ? " causal" : "");
        base.kind = Kind::Forward;
        base.spec = attn(b, h, h, n, n, d, DType::BFLOAT16);
        base.spec.causal = causal;
        base.perf = true;
        base.group = group++;
        const std::string def = flashForwardConfigName(chooseFlashForwardConfig(base.spec));
        base.config = "default:" + def;
        ps.push_back(base);
        for (const std::string &text : override.empty() ? sweepCandidates(d) : override) {
          Problem p = base;
          p.withRef = false;
          p.config = text;
          FlashForwardConfig c;
          std::string why;
          if (!parseFlashForwardConfig(text, &c, &why)) {
            std::fprintf(stderr, "effc-attention-bench: %s\n", why.c_str());
            return false;
          }
          if (flashForwardConfigName(c) == def)
            continue;
          p.spec.forwardConfig = c;
          ps.push_back(p);
        }
      }
  return true;
}

/// Runs one sweep group (ps[idx[0]] is the default and owns the reference):
/// shared inputs, reference rows once, every config checked on them, then
/// timed in `rounds` interleaved rounds. False when the CUDA context died
/// (a sticky error: nothing after it can run).
bool runSweepGroup(Gpu &g, std::vector<Problem> &ps, const std::vector<size_t> &idx, Filler &fill,
                   const Options &opt, unsigned seed) {
  Problem &p0 = ps[idx[0]];
  const AttentionSpec s = resolveAttentionStrides(p0.spec);
  const cuda::DriverApi &a = g.api();
  const int es = elemSize(s.dtype);
  const int64_t nq = span(s.q, s.B, s.Hq, s.S, s.D), nk = span(s.k, s.B, s.Hkv, s.L, s.D),
                nv = span(s.v, s.B, s.Hkv, s.L, s.Dv), no = span(s.o, s.B, s.Hq, s.S, s.Dv);
  // Checked rows (flattened [B, Hq, S]): head 0's first and last 512 (every
  // row position of the tiles, the first and the longest causal rows) and
  // head 1's first 128 (head offsets).
  std::vector<std::pair<int64_t, int64_t>> ranges{{0, std::min<int64_t>(s.S, 512)}};
  if (s.S > 512)
    ranges.push_back({std::max<int64_t>(512, s.S - 512), s.S});
  if (s.B * s.Hq > 1)
    ranges.push_back({s.S, s.S + std::min<int64_t>(s.S, 128)});
  int64_t refRows = 0;
  for (auto &r : ranges)
    refRows += r.second - r.first;
  cuda::CUdeviceptr Q = g.alloc(size_t(nq) * es), K = g.alloc(size_t(nk) * es),
                    V = g.alloc(size_t(nv) * es), O = g.alloc(size_t(no) * es),
                    R = g.alloc(size_t(refRows * s.Dv) * 4), M = 0;
  fill.run(g, Q, nq, s.dtype, seed);
  fill.run(g, K, nk, s.dtype, seed + 1);
  fill.run(g, V, nv, s.dtype, seed + 2);
  std::vector<float> refv(size_t(refRows * s.Dv));
  bool haveRef = false;
  if (p0.error.empty()) {
    auto t0 = std::chrono::steady_clock::now();
    cuda::CUfunction ref =
        g.function(g.loadModule(p0.cubin, p0.kernel), p0.ref, p0.refLaunch.sharedBytes);
    int64_t off = 0;
    for (auto &r : ranges) {
      if (!ref)
        break;
      LaunchDims rl = p0.refLaunch;
      rl.grid[0] = uint32_t(r.second - r.first);
      int rowBegin = int(r.first);
      cuda::CUdeviceptr out = R + cuda::CUdeviceptr(off * s.Dv * 4);
      g.launch(ref, rl, {&Q, &K, &V, &M, &out, &rowBegin});
      off += r.second - r.first;
    }
    haveRef = ref && g.sync("reference " + p0.label) &&
              g.ok(a.cuMemcpyDtoH(refv.data(), R, refv.size() * 4), "cuMemcpyDtoH reference");
    std::printf("# %s: reference on %lld rows in %.2f s\n", p0.label.c_str(), (long long)refRows,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  bool alive = true;
  auto contextAlive = [&]() {
    g.clearFailure();
    return a.cuCtxSynchronize() == cuda::CUDA_SUCCESS;
  };
  if (!haveRef) {
    for (size_t i : idx)
      if (ps[i].error.empty())
        ps[i].error = "no reference (the default's translation unit failed)";
    alive = contextAlive();
  }
  std::vector<cuda::CUfunction> fns(idx.size(), nullptr);
  for (size_t k = 0; k < idx.size() && alive && haveRef; ++k) {
    Problem &p = ps[idx[k]];
    if (!p.error.empty())
      continue;
    cuda::CUfunction f =
        g.function(g.loadModule(p.cubin, p.kernel), p.kernel, p.launch.sharedBytes);
    std::vector<void *> args{&Q, &K, &V, &O};
    if (f && g.ok(a.cuMemsetD8(O, 0xFF, size_t(no) * es), "poison") &&
        g.launch(f, p.launch, args) && g.sync(p.label + " " + p.config)) {
      // o is packed [B, Hq, S, Dv]: flattened row r starts at r * Dv.
      std::vector<uint8_t> out(size_t(refRows * s.Dv) * es);
      int64_t at = 0;
      for (auto &rg : ranges) {
        g.ok(a.cuMemcpyDtoH(out.data() + at * s.Dv * es,
                            O + cuda::CUdeviceptr(rg.first * s.Dv * es),
                            size_t((rg.second - rg.first) * s.Dv * es)),
             "cuMemcpyDtoH");
        at += rg.second - rg.first;
      }
      double maxErr = 0, maxRef = 0;
      bool nan = false;
      for (int64_t r = 0; r < refRows * s.Dv; ++r) {
        float got = loadAs(out, r, s.dtype), want = refv[size_t(r)];
        if (!std::isfinite(got) || !std::isfinite(want))
          nan = true;
        maxErr = std::max(maxErr, double(std::fabs(got - want)));
        maxRef = std::max(maxRef, double(std::fabs(want)));
      }
      p.maxAbsErr = nan ? NAN : maxErr;
      p.relErr = nan ? NAN : maxErr / std::max(maxRef, 1e-6);
      p.pass = !nan && p.relErr <= 2.5e-2; // bf16 (as --perf)
      p.ran = true;
      fns[k] = f;
    }
    if (g.failed()) {
      p.error = "device error (see stderr)";
      alive = contextAlive();
    }
  }
  // Timing: rounds over all configs, so that clock/thermal drift spreads evenly.
  const int rounds = 3, per = std::max(3, (opt.reps + rounds - 1) / rounds);
  std::vector<std::vector<float>> samples(idx.size());
  for (int round = 0; round < rounds && alive && !opt.compileOnly; ++round)
    for (size_t k = 0; k < idx.size() && alive; ++k) {
      Problem &p = ps[idx[k]];
      if (!fns[k] || !p.error.empty())
        continue;
      std::vector<void *> args{&Q, &K, &V, &O};
      std::vector<float> t =
          bench::eventTimes(g, 2, per, [&]() { g.launch(fns[k], p.launch, args); });
      samples[k].insert(samples[k].end(), t.begin(), t.end());
      if (g.failed()) {
        p.error = "device error while timing (see stderr)";
        alive = contextAlive();
      }
    }
  for (size_t k = 0; k < idx.size(); ++k) {
    Problem &p = ps[idx[k]];
    std::vector<float> &t = samples[k];
    if (p.error.empty() && !t.empty()) {
      std::sort(t.begin(), t.end());
      p.ms = t[t.size() / 2];
      p.rate = attentionFlops(s) / (p.ms * 1e-3) / 1e12;
    }
  }
  for (cuda::CUdeviceptr b : {Q, K, V, O, R})
    if (b)
      a.cuMemFree(b);
  g.clearFailure();
  return alive;
}

const char *statusOf(const Problem &p) {
  return !p.error.empty() ? "ERROR" : p.pass ? "PASS" : "FAIL";
}

void printSweepRow(const Problem &p, const Problem &def) {
  const double vs = p.rate > 0 && def.rate > 0 ? p.rate / def.rate : 0;
  std::printf("SWEEP label=\"%s\" config=%s d=%lld N=%lld causal=%d smem=%lld regs=%d spill=%d "
              "ms=%.4f rate=%.1f "
              "vs_default=%.3f max_abs_err=%.3g rel_err=%.3g status=%s\n",
              p.label.c_str(), p.config.c_str(), (long long)p.spec.D, (long long)p.spec.S,
              int(p.spec.causal), (long long)p.smem, p.regs, p.spill, p.ms, p.rate, vs, p.maxAbsErr,
              p.relErr, statusOf(p));
  if (!p.error.empty())
    std::printf("  error: %s\n", p.error.substr(0, 600).c_str());
}

/// Per (d, causal): the configs ranked by geometric-mean speedup over the
/// default across N (a config missing or failing at some N ranks last).
void printSweepSummary(const std::vector<Problem> &ps) {
  std::vector<std::string> families; // "fwd d128", "fwd d128 causal"
  std::vector<int64_t> ns;
  auto familyOf = [](const Problem &p) {
    return "fwd d" + std::to_string(p.spec.D) + (p.spec.causal ? " causal" : "");
  };
  for (const Problem &p : ps) {
    if (p.group < 0)
      continue;
    if (std::find(families.begin(), families.end(), familyOf(p)) == families.end())
      families.push_back(familyOf(p));
    if (std::find(ns.begin(), ns.end(), p.spec.S) == ns.end())
      ns.push_back(p.spec.S);
  }
  std::sort(ns.begin(), ns.end());
  for (const std::string &fam : families) {
    std::vector<std::string> configs;
    for (const Problem &p : ps) {
      if (p.group < 0 || familyOf(p) != fam)
        continue;
      const std::string c = p.config.rfind("default:", 0) == 0 ? "default" : p.config;
      if (std::find(configs.begin(), configs.end(), c) == configs.end())
        configs.push_back(c);
    }
    struct Row {
      std::string config;
      std::vector<double> rate;
      double geo = 0;
      bool allPass = true;
    };
    std::vector<Row> rows;
    std::string defName;
    for (const std::string &c : configs) {
      Row r{c, std::vector<double>(ns.size(), -1)};
      double logSum = 0;
      int cnt = 0;
      for (size_t k = 0; k < ns.size(); ++k) {
        const Problem *me = nullptr, *def = nullptr;
        for (const Problem &p : ps) {
          if (p.group < 0 || familyOf(p) != fam || p.spec.S != ns[k])
            continue;
          const bool isDef = p.config.rfind("default:", 0) == 0;
          if (isDef) {
            def = &p;
            defName = p.config.substr(8);
          }
          if ((c == "default") == isDef && (isDef || p.config == c))
            me = &p;
        }
        if (!me) // equal to the default at this N
          me = def;
        if (!me || !def)
          continue;
        r.allPass = r.allPass && me->error.empty() && me->pass;
        r.rate[k] = me->rate;
        if (me->rate > 0 && def->rate > 0 && me->pass) {
          logSum += std::log(me->rate / def->rate);
          ++cnt;
        }
      }
      r.geo = cnt == int(ns.size()) ? std::exp(logSum / cnt) : 0;
      rows.push_back(r);
    }
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Row &x, const Row &y) { return x.geo > y.geo; });
    std::printf("\n== %s: configs by geometric-mean speedup over the default (%s), TFLOP/s per N\n",
                fam.c_str(), defName.c_str());
    std::printf("%-24s", "config");
    for (int64_t n : ns)
      std::printf(" %8s", ("N" + std::to_string(n)).c_str());
    std::printf(" %8s  %s\n", "geomean", "checks");
    for (const Row &r : rows) {
      std::printf("%-24s", r.config.c_str());
      for (double v : r.rate)
        std::printf(" %8.1f", v);
      std::printf(" %7.3fx  %s\n", r.geo, r.allPass ? "PASS" : "NOT ALL PASS");
    }
  }
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
    else if (a == "--decode")
      o.decode = true;
    else if (a == "--sweep")
      o.sweep = true;
    else if (const char *v = val("--configs="))
      o.configs = v;
    else if (a == "--compile-only")
      o.compileOnly = true;
    else if (const char *v = val("--reps="))
      o.reps = std::max(1, std::atoi(v));
    else if (const char *v = val("--jobs="))
      o.jobs = std::atoi(v);
    else if (const char *v = val("--only="))
      o.only = v;
    else if (const char *v = val("--arch="))
      o.arch = v;
    else if (const char *v = val("--dump="))
      o.dump = v;
    else {
      std::fprintf(
          stderr,
          "usage: effc-attention-bench [--check] [--perf] [--decode] [--sweep [--configs=C,..]] "
          "[--reps=N] [--jobs=N] [--only=SUBSTR] [--dump=DIR] [--compile-only --arch=sm_90]\n");
      return false;
    }
  }
  if (!o.check && !o.perf && !o.decode && !o.sweep)
    o.check = o.perf = o.decode = true;
  return true;
}

} // namespace

int main(int argc, char **argv) {
  Options opt;
  if (!parseArgs(argc, argv, opt))
    return 2;
  std::vector<Problem> ps;
  if (opt.check)
    addChecks(ps);
  if (opt.perf)
    addPerf(ps);
  if (opt.decode)
    addDecode(ps);
  if (opt.sweep && !addSweep(ps, opt))
    return 2;
  if (!opt.only.empty())
    ps.erase(std::remove_if(
                 ps.begin(), ps.end(),
                 [&](const Problem &p) { return p.label.find(opt.only) == std::string::npos; }),
             ps.end());
  for (size_t i = 0; i < ps.size(); ++i)
    build(ps[i], int(i));

  const cuda::Driver *drv = nullptr;
  std::string arch = opt.arch;
  if (!opt.compileOnly) {
    drv = bench::openDevice("effc-attention-bench", arch);
    if (!drv)
      return 1;
  }
  if (arch.empty())
    arch = "sm_90";
  if (Status st = nvrtc::load(); !st.ok()) {
    std::fprintf(stderr, "effc-attention-bench: %s\n", st.message().c_str());
    return 1;
  }
  int threads = opt.jobs > 0 ? opt.jobs : int(std::max(1u, std::thread::hardware_concurrency()));
  auto t0 = std::chrono::steady_clock::now();
  compileAll(ps, arch, threads);
  double compileS = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("compiled %zu translation units for %s in %.1f s (%d threads)\n", ps.size(),
              arch.c_str(), compileS, threads);
  if (!opt.dump.empty())
    for (const Problem &p : ps) {
      std::ofstream f(opt.dump + "/" + p.kernel + ".cu");
      f << "// " << p.label << "\n" << p.source;
    }
  bool allOk = true;
  if (opt.compileOnly) {
    for (const Problem &p : ps) {
      if (p.group >= 0)
        std::printf("%-24s %-24s smem=%-6lld regs=%-3d spill=%-3d compile=%4.0f ms %s\n",
                    p.label.c_str(), p.config.c_str(), (long long)p.smem, p.regs, p.spill,
                    p.compileMs, p.error.empty() ? "ok" : p.error.c_str());
      else
        std::printf("%-44s %s regs=%d spill=%d compile=%.0f ms\n", p.label.c_str(),
                    p.error.empty() ? "ok" : p.error.c_str(), p.regs, p.spill, p.compileMs);
      allOk = allOk && p.error.empty();
    }
    return allOk ? 0 : 1;
  }

  Gpu g(drv);
  Filler fill;
  {
    auto c = nvrtc::compile(std::string(deviceFile("primitives.cuh")) + kFillSource,
                            nvrtc::compileOptions(arch, {}), "fill.cu");
    if (!c.ok()) {
      std::fprintf(stderr, "fill kernel: %s\n", c.status().message().c_str());
      return 1;
    }
    fill.fn = g.function(g.loadModule(c->cubin, "fill"), "effc_fill", 0);
    if (!fill.fn)
      return 1;
  }
  unsigned seed = 12345;
  for (Problem &p : ps) {
    if (p.group >= 0)
      continue;
    if (p.error.empty())
      runProblem(g, p, fill, opt, seed += 101);
    const char *status = !p.error.empty() ? "ERROR" : p.pass ? "PASS" : "FAIL";
    allOk = allOk && p.error.empty() && p.pass;
    const AttentionSpec &s = p.spec;
    std::printf("RESULT label=\"%s\" kind=%s d=%lld S=%lld L=%lld B=%lld Hq=%lld Hkv=%lld "
                "causal=%d dtype=%s "
                "ms=%.4f rate=%.1f unit=%s max_abs_err=%.3g rel_err=%.3g regs=%d spill=%d "
                "splits=%d status=%s\n",
                p.label.c_str(), p.kind == Kind::Forward ? "fwd" : "decode", (long long)s.D,
                (long long)s.S, (long long)s.L, (long long)s.B, (long long)s.Hq, (long long)s.Hkv,
                int(s.causal), shortType(s.dtype), p.ms, p.rate,
                p.kind == Kind::Forward ? "TFLOP/s" : "GB/s", p.maxAbsErr, p.relErr, p.regs,
                p.spill, p.kind == Kind::Decode ? p.plan.numSplits : 0, status);
    if (!p.error.empty())
      std::printf("  error: %s\n", p.error.substr(0, 2000).c_str());
    std::fflush(stdout);
  }
  // --sweep: group by group, each printed as soon as it is timed.
  bool sweepAlive = true;
  for (size_t i = 0; i < ps.size() && sweepAlive;) {
    if (ps[i].group < 0) {
      ++i;
      continue;
    }
    std::vector<size_t> idx;
    for (size_t j = i; j < ps.size() && ps[j].group == ps[i].group; ++j)
      idx.push_back(j);
    i += idx.size();
    auto t0 = std::chrono::steady_clock::now();
    sweepAlive = runSweepGroup(g, ps, idx, fill, opt, seed += 101);
    for (size_t j : idx) {
      printSweepRow(ps[j], ps[idx[0]]);
      allOk = allOk && ps[j].error.empty() && ps[j].pass;
    }
    std::printf("# %s: %zu configs in %.1f s\n", ps[idx[0]].label.c_str(), idx.size(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    std::fflush(stdout);
    if (!sweepAlive)
      std::printf("# CUDA context lost in this group: the sweep stops here (rerun with --configs "
                  "without the "
                  "config that failed)\n");
  }
  if (opt.sweep) {
    std::printf("\n%-24s %-24s %7s %4s %5s %9s %8s %7s %9s %s\n", "problem", "config", "smem",
                "regs", "spill", "ms", "TFLOP/s", "vs def", "max_err", "status");
    for (const Problem &p : ps)
      if (p.group >= 0) {
        const Problem *def = nullptr;
        for (const Problem &q : ps)
          if (q.group == p.group && !def)
            def = &q;
        std::printf("%-24s %-24s %7lld %4d %5d %9.4f %8.1f %6.3fx %9.2e %s\n", p.label.c_str(),
                    p.config.c_str(), (long long)p.smem, p.regs, p.spill, p.ms, p.rate,
                    p.rate > 0 && def->rate > 0 ? p.rate / def->rate : 0.0, p.maxAbsErr,
                    statusOf(p));
      }
    printSweepSummary(ps);
  }
  bool anyOther = false;
  for (const Problem &p : ps)
    anyOther = anyOther || p.group < 0;
  if (!anyOther)
    return allOk ? 0 : 1;
  std::printf("\n%-44s %10s %12s %10s %6s %6s %s\n", "problem", "ms", "rate", "rel_err", "regs",
              "spill", "status");
  for (const Problem &p : ps)
    if (p.group < 0)
      std::printf("%-44s %10.4f %8.1f %-4s %10.3g %6d %6d %s\n", p.label.c_str(), p.ms, p.rate,
                  p.kind == Kind::Forward ? "TF/s" : "GB/s", p.relErr, p.regs, p.spill,
                  !p.error.empty() ? "ERROR"
                  : p.pass         ? "PASS"
                                   : "FAIL");
  return allOk ? 0 : 1;
}
