//===- MoEKernels.cpp - the staged mixture-of-experts kernels -------------===//
#include "compiler/codegen/moe/MoEKernels.h"

#include "compiler/codegen/core/CudaWriter.h"
#include "compiler/codegen/device/DeviceCode.h"
#include "moe_tiles.cuh"

#include <algorithm>

namespace effc::codegen::moe {
namespace {

constexpr int kGemvWarps = 8;
/// Up to this many tokens the route kernel scores with one warp per dot
/// product (lanes over H) instead of staging router chunks per 8 tokens.
constexpr int64_t kRouteWarpDotsMaxTokens = 64;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// The MOE_F32/F16/BF16 number of a float dtype; -1 for any other.
int elementCode(DType t) {
  switch (t) {
  case DType::FLOAT32:
    return 0;
  case DType::FLOAT16:
    return 1;
  case DType::BFLOAT16:
    return 2;
  default:
    return -1;
  }
}

/// The device spelling of elementCode(t).
const char *elementName(DType t) {
  static const char *names[] = {"MOE_F32", "MOE_F16", "MOE_BF16"};
  return names[elementCode(t) < 0 ? 0 : elementCode(t)];
}

const char *routingName(Routing r) {
  static const char *names[] = {"MOE_SOFTMAX_TOPK", "MOE_TOPK_SOFTMAX", "MOE_SCORES"};
  return names[int(r)];
}

const char *flag(bool b) { return b ? "true" : "false"; }

bool checkElement(DType t, const char *what, std::string &error) {
  if (elementCode(t) >= 0)
    return true;
  error = std::string(what) + " must be float32, float16 or bfloat16, got " + dtypeName(t);
  return false;
}

bool checkSizes(std::initializer_list<int64_t> sizes, std::string &error) {
  for (int64_t s : sizes)
    if (s < 1 || s > (int64_t(1) << 30)) {
      error = "MoE sizes must be in [1, 2^30], got " + std::to_string(s);
      return false;
    }
  return true;
}

/// `EFFC_KERNEL void __launch_bounds__(threads) name(in0.., out0..) {`.
void openWrapper(CudaWriter &w, const std::string &name, int threads, int inputs, int outputs) {
  std::string params;
  for (int i = 0; i < inputs; ++i)
    params += (params.empty() ? "" : ", ") + std::string("const void* __restrict__ in") +
              std::to_string(i);
  for (int i = 0; i < outputs; ++i)
    params +=
        (params.empty() ? "" : ", ") + std::string("void* __restrict__ out") + std::to_string(i);
  w.open("EFFC_KERNEL void __launch_bounds__(", threads, ") ", name, "(", params, ") {");
}

} // namespace

bool parseRouting(const std::string &name, Routing &out) {
  if (name == "softmax_topk")
    out = Routing::SoftmaxTopk;
  else if (name == "topk_softmax")
    out = Routing::TopkSoftmax;
  else if (name == "scores")
    out = Routing::Scores;
  else
    return false;
  return true;
}

std::string moePrelude(bool wgmma, bool tma) {
  if (wgmma && tma)
    return deviceSources({"primitives.cuh", "hopper.cuh", "moe_tiles.cuh", "moe.cuh",
                          "moe_wgmma.cuh", "moe_wgmma_tma.cuh"});
  if (wgmma)
    return deviceSources(
        {"primitives.cuh", "hopper.cuh", "moe_tiles.cuh", "moe.cuh", "moe_wgmma.cuh"});
  return deviceSources({"primitives.cuh", "moe_tiles.cuh", "moe.cuh"});
}

bool emitRoute(const RouteSpec &s, const std::string &name, std::string &source, LaunchDims &launch,
               std::string &error) {
  if (!checkSizes({s.T, s.H, s.E, s.K}, error) || !checkElement(s.x, "x", error) ||
      !checkElement(s.router, "router", error) ||
      (s.hasRouteWeights && !checkElement(s.routeWeights, "route_weights", error)))
    return false;
  if (s.E > kMaxExperts || s.K > s.E) {
    error = "the MoE route kernel needs top_k <= num_experts <= " + std::to_string(kMaxExperts) +
            ", got top_k " + std::to_string(s.K) + ", num_experts " + std::to_string(s.E);
    return false;
  }
  // Few tokens: a block of 1024 threads per token, a warp per score;
  // more: 8 tokens per block of 256 threads over staged router chunks.
  const bool warpDots = s.T <= kRouteWarpDotsMaxTokens;
  const int tokens = warpDots ? 1 : 8, threads = warpDots ? 1024 : 256;
  int rvec = 1;
  if (s.x == s.router && s.x != DType::FLOAT32 && s.H % 8 == 0)
    rvec = 8;
  else if (s.x == s.router && s.x == DType::FLOAT32 && s.H % 4 == 0)
    rvec = 4;
  const std::string cfg = name + "_cfg";
  CudaWriter w;
  w.open("struct ", cfg, " {");
  w.line("static constexpr int T = ", s.T, ", H = ", s.H, ", E = ", s.E, ", K = ", s.K,
         ", ROUTING = ", routingName(s.routing), ";");
  w.line("static constexpr int TOKENS = ", tokens, ", THREADS = ", threads, ", RVEC = ", rvec, ";");
  w.line("static constexpr int X_DT = ", elementName(s.x), ", R_DT = ", elementName(s.router),
         ", RW_DT = ", elementName(s.hasRouteWeights ? s.routeWeights : DType::FLOAT32), ";");
  w.line("static constexpr bool NORM_TOPK = ", flag(s.normTopk),
         ", HAS_ROUTE_WEIGHTS = ", flag(s.hasRouteWeights), ", WARP_DOTS = ", flag(warpDots), ";");
  w.line("static constexpr float ROUTED_SCALE = ", floatLit(s.routedScale), ";");
  w.close("};");
  w.line("// experts, weights [", s.T, ", ", s.K, "] of ", s.E, " experts (fp32 routing)");
  openWrapper(w, name, threads, 3, 2);
  w.line("moe_route<", cfg, ">(in0, in1, in2, (long long*)out0, (float*)out1);");
  w.close();
  source = w.str();
  launch = LaunchDims();
  launch.grid[0] = uint32_t(ceilDiv(s.T, tokens));
  launch.block[0] = uint32_t(threads);
  return true;
}

bool emitPermute(const PermuteSpec &s, const std::string &name, std::string &source,
                 LaunchDims &launch, std::string &error) {
  if (!checkSizes({s.T, s.E, s.K, s.T * s.K}, error))
    return false;
  if (s.E > kMaxExperts) {
    error = "the MoE permute kernel handles at most " + std::to_string(kMaxExperts) +
            " experts, got " + std::to_string(s.E);
    return false;
  }
  const std::string cfg = name + "_cfg";
  CudaWriter w;
  w.open("struct ", cfg, " {");
  w.line("static constexpr int T = ", s.T, ", E = ", s.E, ", K = ", s.K, ";");
  w.close("};");
  w.line("// order [", s.E + 1 + 2 * s.T * s.K, "]: ", s.T * s.K, " slots sorted by expert");
  openWrapper(w, name, 1024, 1, 1);
  w.line("moe_permute<", cfg, ">((const long long*)in0, (int*)out0);");
  w.close();
  source = w.str();
  launch = LaunchDims();
  launch.block[0] = 1024;
  return true;
}

int mmaTileK(const ExpertGemmSpec &s) {
  if (s.mmaBk == 32 || s.mmaBk == 64)
    return s.mmaBk;
  return s.KD % 64 == 0 ? 64 : 32;
}

int mmaTileN(const ExpertGemmSpec &s) { return s.mmaBn == 256 ? 256 : 128; }

bool usesWgmma(const ExpertGemmSpec &s) {
  const bool sixteen = s.dtype == DType::BFLOAT16 || s.dtype == DType::FLOAT16;
  return s.wgmma && sixteen && s.rows != Rows::Slots && s.KD % 64 == 0 &&
         s.N % (s.gated ? 128 : 256) == 0 && s.outRows() >= 16;
}

bool usesWgmmaTma(const ExpertGemmSpec &s) { return s.tma && usesWgmma(s); }

std::vector<TensorMapDesc> expertGemmTmaMaps(const ExpertGemmSpec &s) {
  if (!usesWgmmaTma(s))
    return {};
  // a: x [T, KD] (gated, sorted: gathered rows; the map is unused), h
  // [T*K, KD] (down) or the dense rows [T, KD].
  const int64_t aRows = s.rows == Rows::Sorted && s.gated ? s.T : s.outRows();
  const int64_t wRows = s.gated ? 2 * s.N : s.N;
  auto map = [&](int arg, int64_t rows, int64_t batch) {
    TensorMapDesc m;
    m.arg = arg;
    m.dtype = s.dtype;
    m.dims = {uint64_t(s.KD), uint64_t(rows), uint64_t(batch)};
    m.strides = {uint64_t(s.KD) * 2, uint64_t(rows * s.KD) * 2};
    m.box = {64, 128, 1};
    m.elementStrides = {1, 1, 1};
    return m;
  };
  return {map(0, aRows, 1), map(1, wRows, s.E)};
}

bool wantsWgmma(bool sm90a, GemmKernelChoice gemm) {
  if (!sm90a)
    return false;
  switch (gemm) {
  case GemmKernelChoice::Wgmma:
  case GemmKernelChoice::Tma:
    return true;
  case GemmKernelChoice::Mma:
    return false;
  case GemmKernelChoice::Auto:
    return kMoEWgmmaByDefault;
  }
  return false;
}

bool wantsWgmmaTma(bool sm90a, GemmKernelChoice gemm) {
  return sm90a && gemm == GemmKernelChoice::Tma;
}

bool usesTensorCores(const ExpertGemmSpec &s) {
  if (usesWgmma(s))
    return true;
  const bool sixteen = s.dtype == DType::BFLOAT16 || s.dtype == DType::FLOAT16;
  const int64_t cols = s.gated ? mmaTileN(s) / 2 : mmaTileN(s);
  return sixteen && s.rows != Rows::Slots && s.KD % mmaTileK(s) == 0 && s.N % cols == 0 &&
         s.outRows() >= 16;
}

bool emitExpertGemm(const ExpertGemmSpec &s, const std::string &name, std::string &source,
                    LaunchDims &launch, std::string &error) {
  if (!checkSizes({s.T, s.K, s.E, s.N, s.KD, s.outRows()}, error) ||
      !checkElement(s.dtype, "expert weights", error))
    return false;
  if (s.rows == Rows::Slots && s.T > kSlotRowsMaxTokens) {
    error = "slot rows (no permutation) serve at most " + std::to_string(kSlotRowsMaxTokens) +
            " tokens, got " + std::to_string(s.T);
    return false;
  }
  if (s.rows == Rows::Dense && s.E != 1) {
    error = "dense rows (the shared expert) need one expert, got " + std::to_string(s.E);
    return false;
  }
  if (s.mmaBk != 0 && s.mmaBk != 32 && s.mmaBk != 64) {
    error = "the tensor-core k-tile is 32 or 64, got " + std::to_string(s.mmaBk);
    return false;
  }
  if (s.gemvUnroll != 1 && s.gemvUnroll != 2 && s.gemvUnroll != 4) {
    error = "the GEMV unroll is 1, 2 or 4, got " + std::to_string(s.gemvUnroll);
    return false;
  }
  if (s.mmaBn != 0 && s.mmaBn != 128 && s.mmaBn != 256) {
    error = "the tensor-core B tile is 128 or 256 rows, got " + std::to_string(s.mmaBn);
    return false;
  }
  const bool mma = usesTensorCores(s), wgmma = usesWgmma(s), tma = usesWgmmaTma(s);
  const int bk = wgmma ? MOE_WGMMA_BK : mmaTileK(s), bn = wgmma ? MOE_WGMMA_BN : mmaTileN(s);
  const int stages = wgmma || bk == 32 ? 4 : 3;
  const int esize = s.dtype == DType::FLOAT32 ? 4 : 2;
  const int vec = s.KD % (16 / esize) == 0 ? 16 / esize : 1;
  const std::string cfg = name + "_cfg";
  CudaWriter w;
  w.open("struct ", cfg, " {");
  w.line("static constexpr int N = ", s.N, ", KD = ", s.KD, ", T = ", s.T, ", K = ", s.K,
         ", E = ", s.E, ";");
  w.line("static constexpr int DT = ", elementName(s.dtype),
         ", OUT_DT = ", elementName(s.gated ? s.dtype : DType::FLOAT32), ", VEC = ", vec,
         ", SLOT_CAP = ", s.rows == Rows::Slots ? s.T : 1, ", BK = ", bk, ", STAGES = ", stages,
         ", BN = ", bn, ", UNROLL = ", s.gemvUnroll, ";");
  w.line("static constexpr bool BF16 = ", flag(s.dtype == DType::BFLOAT16),
         ", SORTED = ", flag(s.rows == Rows::Sorted), ", DENSE = ", flag(s.rows == Rows::Dense),
         ", GATED = ", flag(s.gated), ", GELU = ", flag(s.gelu), ";");
  w.close("};");
  w.line("// ", s.gated ? "gate/up" : "down", " of ",
         s.rows == Rows::Dense ? std::string("the shared expert")
                               : std::to_string(s.E) + " experts",
         ": [", s.outRows(), ", ", s.N, "] over ", s.KD,
         tma     ? " (wgmma, TMA)"
         : wgmma ? " (wgmma)"
         : mma   ? " (tensor cores)"
                 : " (GEMV)");
  launch = LaunchDims();
  // Bound on the experts' 128-row tiles: sum ceil(c_e / 128) over experts
  // with sum c_e = T*K is < T*K/128 + E (and each c_e <= T).
  int64_t tiles = ceilDiv(s.outRows(), MOE_MMA_BM);
  if (s.rows == Rows::Sorted)
    tiles = std::min(ceilDiv(s.T * s.K, MOE_MMA_BM) + s.E - 1, s.E * ceilDiv(s.T, MOE_MMA_BM));
  if (tma) {
    // 1 producer + 2 consumer warpgroups; the tensor maps after the pointers
    // (expertGemmTmaMaps); minimum 1 block an SM for setmaxnreg.
    w.open("EFFC_KERNEL void __launch_bounds__(384, 1) ", name,
           "(const void* __restrict__ in0, const void* __restrict__ in1, ",
           "const void* __restrict__ in2, void* __restrict__ out0, ",
           "const __grid_constant__ HopTensorMap tmA, const __grid_constant__ HopTensorMap tmW) {");
    w.line("moe_grouped_wgmma_tma<", cfg, ">(in0, (const int*)in2, out0, &tmA, &tmW);");
    w.close();
  } else if (wgmma || mma) {
    openWrapper(w, name, 256, 3, 1);
    w.line(wgmma ? "moe_grouped_wgmma<" : "moe_grouped_mma<", cfg,
           ">(in0, in1, (const int*)in2, out0);");
    w.close();
  }
  // The grouped GEMMs: one MOE_MMA_BM x bn tile a block (gated: bn / 2
  // outputs, from bn / 2 gate and bn / 2 up rows).
  if (tma || wgmma || mma) {
    launch.grid[0] = uint32_t(tiles);
    launch.grid[1] = uint32_t(s.N / (s.gated ? bn / 2 : bn));
    launch.block[0] = tma ? 384 : 256;
    launch.sharedBytes = uint32_t(tma     ? MOE_WGMMA_TMA_SMEM(stages)
                                  : wgmma ? MOE_WGMMA_SMEM(stages)
                                          : MOE_MMA_SMEM(bn, bk, stages));
  } else {
    openWrapper(w, name, 32 * kGemvWarps, 3, 1);
    w.line("moe_expert_gemv<", cfg, ">(in0, in1, in2, out0);");
    w.close();
    launch.grid[0] = uint32_t(ceilDiv(s.N, kGemvWarps));
    // Slot rows: one block row per expert the slots can name (device/moe.cuh).
    launch.grid[1] = uint32_t(s.rows == Rows::Slots ? std::min(s.E, s.T * s.K) : s.E);
    launch.block[0] = 32 * kGemvWarps;
  }
  source = w.str();
  return true;
}

bool emitCombine(const CombineSpec &s, const std::string &name, std::string &source,
                 LaunchDims &launch, std::string &error) {
  if (!checkSizes({s.T, s.H, s.K, s.E}, error) || !checkElement(s.x, "x", error))
    return false;
  const std::string cfg = name + "_cfg";
  CudaWriter w;
  w.open("struct ", cfg, " {");
  w.line("static constexpr int T = ", s.T, ", H = ", s.H, ", K = ", s.K, ", E = ", s.E,
         ", X_DT = ", elementName(s.x), ";");
  w.line("static constexpr bool SORTED = ", flag(s.sorted), ", HAS_SHARED = ", flag(s.hasShared),
         ", HAS_SHARED_GATE = ", flag(s.hasSharedGate), ";");
  w.close("};");
  w.line("// y [", s.T, ", ", s.H, "] = the weighted sum of ", s.K, " expert rows per token",
         s.hasShared ? " + the shared expert" : "");
  openWrapper(w, name, 256, 6, 1);
  w.line("moe_combine<", cfg, ">((const float*)in1, (const float*)in2, (const int*)in3, ",
         "(const float*)in4, in0, in5, out0);");
  w.close();
  source = w.str();
  launch = LaunchDims();
  launch.grid[0] = uint32_t(s.T);
  launch.block[0] = 256;
  return true;
}

} // namespace effc::codegen::moe
