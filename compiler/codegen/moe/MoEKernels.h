//===- MoEKernels.h - the staged mixture-of-experts kernels -----*- C++ -*-===//
//
// An eff.moe layer runs as stages (device/moe.cuh has the data between them):
//   route    x, router[, route_weights] -> experts int64 [T,K], weights f32 [T,K]
//   permute  experts -> order (offsets, stable sort by expert, inverse)
//   gemm     gated: a = x, w = gate_up [G, 2N, KD] -> h [rows, N] = act(g) * u
//            down:  a = h, w = down [G, N, KD]     -> z f32 [rows, N]
//   combine  z, weights[, order][, zs][, shared_gate] -> y [T, H]
// Each generator writes the config struct and an EFFC_KERNEL wrapper with the
// artifact ABI (inputs, then outputs, as pointers; absent inputs null) and
// fills the launch. Plain C++: effc-moe-bench calls the same functions.
//
#ifndef EFFC_COMPILER_CODEGEN_MOE_MOEKERNELS_H
#define EFFC_COMPILER_CODEGEN_MOE_MOEKERNELS_H

#include "compiler/codegen/core/KernelDesc.h"
#include "compiler/kernelmodel/MoEModel.h"
#include "effc/DType.h"

#include <cstdint>
#include <string>
#include <vector>

namespace effc::codegen::moe {

/// Routing modes, numbered as device/moe.cuh's MOE_SOFTMAX_TOPK... .
enum class Routing { SoftmaxTopk = 0, TopkSoftmax = 1, Scores = 2 };
/// "softmax_topk" -> SoftmaxTopk...; false for an unknown name.
bool parseRouting(const std::string &name, Routing &out);

/// route: (x [T,H], router [E,H] or scores [T,E], route_weights [T,E] or
/// null) -> (experts int64 [T,K], weights f32 [T,K]): eff.moe_route.
struct RouteSpec {
  int64_t T = 0, H = 0, E = 0, K = 0;
  DType x = DType::BFLOAT16, router = DType::FLOAT32, routeWeights = DType::FLOAT32;
  Routing routing = Routing::SoftmaxTopk;
  bool normTopk = false, hasRouteWeights = false;
  float routedScale = 1.0f;
};

/// permute: (experts int64 [T,K]) -> (order int32 [E + 1 + 2*T*K]).
struct PermuteSpec {
  int64_t T = 0, E = 0, K = 0;
};

/// How an expert GEMM finds its rows.
enum class Rows {
  Sorted, // index = order: rows are positions, expert e's are contiguous
  Slots,  // index = experts int64 [T,K]: rows are slots t*K + j (decode)
  Dense,  // no index: one expert (G = 1), row t = token t (shared expert)
};

/// gemm: (a [*, KD], w [G, (gated ? 2 : 1) * N, KD], index or null) -> out
/// [rows, N]: gated h in a's type (act(gate) * up), down z in f32.
struct ExpertGemmSpec {
  int64_t T = 0, K = 1, E = 1, N = 0, KD = 0;
  DType dtype = DType::BFLOAT16; // a and w
  Rows rows = Rows::Sorted;
  bool gated = false, gelu = false;
  /// The tensor-core kernel's k-tile: 32 (4 stages) or 64 (3 stages; needs
  /// KD % 64); 0 picks 64 where KD % 64 == 0 (measured faster on an H100 at
  /// the Qwen-MoE prefill size), else 32.
  int mmaBk = 0;
  /// Its B tile: 128 or 256 weight rows (0: 128). 256 makes 128x256 block
  /// tiles (64x64 per warp; gated: 128 output columns), 144 KiB of shared
  /// memory at k-tile 64.
  int mmaBn = 0;
  /// sm_90a only: the wgmma variant (device/moe_wgmma.cuh, 128x256x64
  /// tiles) where its sizes fit (usesWgmma); the translation unit then needs
  /// moePrelude(true). Set from wantsWgmma (effc --gemm, the target).
  bool wgmma = false;
  /// With wgmma, sm_90a: the TMA warp-specialized variant
  /// (device/moe_wgmma_tma.cuh: weights, and A read in place, by TMA; 384
  /// threads) where usesWgmma; it takes the tensor maps expertGemmTmaMaps
  /// describes after its pointers. Set from wantsWgmmaTma (effc
  /// --gemm=tma) or effc-moe-bench's variant "tma"; not a default until
  /// test/gpu/moe_tma.sh has timed it.
  bool tma = false;
  /// The GEMV kernel's reduction-loop unroll (1: none, the measured
  /// default; 2 or 4 keep more weight loads in flight per warp).
  int gemvUnroll = 1;
  /// Output rows: T*K (sorted, slots) or T (dense).
  int64_t outRows() const { return rows == Rows::Dense ? T : T * K; }
};
/// The GEMV kernel serves Rows::Slots rows of at most this many tokens.
constexpr int64_t kSlotRowsMaxTokens = 64;
/// The rows of a layer's routed experts (compiler/kernelmodel/MoEModel.h).
inline Rows routedRows(int64_t T) { return sortsTokens(T) ? Rows::Sorted : Rows::Slots; }
/// The tensor-core grouped GEMM serves this spec (16-bit, divisible sizes,
/// sorted or dense rows); otherwise the expert GEMV kernel runs.
bool usesTensorCores(const ExpertGemmSpec &spec);
/// The tensor-core kernel's tile choice for a spec (mmaBk/mmaBn resolved).
int mmaTileK(const ExpertGemmSpec &spec);
int mmaTileN(const ExpertGemmSpec &spec);
/// spec.wgmma and the sizes fit moe_grouped_wgmma (16-bit, sorted or dense
/// rows, KD % 64, N % (gated ? 128 : 256)).
bool usesWgmma(const ExpertGemmSpec &spec);
/// usesWgmma and spec.tma: the TMA variant runs.
bool usesWgmmaTma(const ExpertGemmSpec &spec);
/// The TMA variant's tensor maps (empty unless usesWgmmaTma): A (arg 0, [rows
/// of a, KD] as a 3-D map (KD, rows, 1)) and the weights (arg 1, (KD, wRows,
/// E)), box (64, 128, 1), 128-byte swizzle.
std::vector<TensorMapDesc> expertGemmTmaMaps(const ExpertGemmSpec &spec);
/// sm_90a's default MoE grouped GEMM kernel: wgmma (moe_grouped_wgmma) where
/// it fits. test/gpu/moe_variants.sh timed both kernels in one run (H200,
/// 2026-12-07): wgmma/mma.sync 1.00 at T=8 (both GEMVs), 1.35 and 1.81 at
/// T=512 and 4096 for Mixtral-8x7B layers, 1.20 and 1.55 for Qwen-MoE. It
/// moves effc's sm_90a artifacts (--gemm=auto) and effc-moe-bench's
/// "default" variant together.
constexpr bool kMoEWgmmaByDefault = true;
/// The one choice of the expert GEMMs' kernel on a target: whether they ask
/// for the wgmma kernel (ExpertGemmSpec::wgmma; usesWgmma then says where it
/// fits). Only on sm_90a; effc --gemm=wgmma and --gemm=tma ask for it,
/// --gemm=mma never, auto follows kMoEWgmmaByDefault.
bool wantsWgmma(bool sm90a, GemmKernelChoice gemm);
/// Whether they ask for the TMA variant (ExpertGemmSpec::tma): effc
/// --gemm=tma on sm_90a only (auto keeps moe_grouped_wgmma: the TMA kernel
/// has not run on a GPU yet).
bool wantsWgmmaTma(bool sm90a, GemmKernelChoice gemm);

/// combine: (x [T,H], z f32 [rows,H], weights f32 [T,K], order or null, zs
/// f32 [T,H] or null, shared_gate [1,H] or null) -> y [T,H] in x's type.
struct CombineSpec {
  int64_t T = 0, H = 0, K = 0, E = 0;
  DType x = DType::BFLOAT16;
  bool sorted = false, hasShared = false, hasSharedGate = false;
};

/// Each writes kernel `name` (config struct named after it) into `source`
/// and its launch into `launch`; false with `error` for a spec it cannot
/// serve (the reason names the limit).
bool emitRoute(const RouteSpec &spec, const std::string &name, std::string &source,
               LaunchDims &launch, std::string &error);
bool emitPermute(const PermuteSpec &spec, const std::string &name, std::string &source,
                 LaunchDims &launch, std::string &error);
bool emitExpertGemm(const ExpertGemmSpec &spec, const std::string &name, std::string &source,
                    LaunchDims &launch, std::string &error);
bool emitCombine(const CombineSpec &spec, const std::string &name, std::string &source,
                 LaunchDims &launch, std::string &error);

/// The device files a translation unit of these kernels starts with;
/// `wgmma` adds hopper.cuh and moe_wgmma.cuh (sm_90a kernels), `tma` (with
/// wgmma) moe_wgmma_tma.cuh.
std::string moePrelude(bool wgmma = false, bool tma = false);

} // namespace effc::codegen::moe

#endif
