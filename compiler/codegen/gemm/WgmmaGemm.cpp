//===- WgmmaGemm.cpp - Hopper wgmma GEMM kernel text -----------------------===//
//
// The kernel is the wgmma_gemm<C> template of
// compiler/codegen/device/wgmma_gemm.cuh (structure described there); this
// file checks the spec, chooses the tile and writes the config struct, the
// fused epilogue lambda and the EFFC_KERNEL wrapper. The config carries the
// same names as the mma.sync kernel's (TensorCoreGemm.cpp), so both share
// the epilogue code of tensor_core_gemm.cuh.
//
// Tile rule: as tcgemm::chooseTile, cost = ceil(tiles / numSMs) * bm * bn /
// efficiency. The efficiencies are first guesses until an H100 sweep
// (test/gpu/hopper_gemm.sh) refits them.
//
#include "compiler/codegen/gemm/WgmmaGemm.h"

#include "compiler/codegen/core/CudaWriter.h"
#include "compiler/codegen/device/DeviceCode.h"
#include "compiler/codegen/gemm/TensorCoreGemm.h"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace effc::codegen::wgmma {

namespace {

struct Candidate {
  TileConfig tile;
  double efficiency;
};

// bk = 64 (one 128-byte swizzled row), one warpgroup (4 warps) per 64 rows;
// every tile's ring fits in 192 KiB (+1 KiB alignment slack).
const std::vector<Candidate> &candidates() {
  static const std::vector<Candidate> list = {
      {{128, 256, 64, 8, 1, 4}, 1.00}, {{128, 128, 64, 8, 1, 6}, 0.85},
      {{64, 256, 64, 4, 1, 5}, 0.75},  {{64, 128, 64, 4, 1, 8}, 0.65},
      {{64, 64, 64, 4, 1, 8}, 0.45},
  };
  return list;
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

int64_t ringBytes(const TileConfig &t) { return int64_t(t.stages) * (t.bm + t.bn) * 128 + 1024; }

const char *tcgType(DType t) {
  return t == DType::FLOAT32 ? "TCG_F32" : t == DType::FLOAT16 ? "TCG_F16" : "TCG_BF16";
}

} // namespace

std::vector<TileConfig> candidateTiles() {
  std::vector<TileConfig> out;
  for (const Candidate &c : candidates())
    out.push_back(c.tile);
  return out;
}

std::string tileName(const TileConfig &t) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "wg%dx%d_s%d", t.bm, t.bn, t.stages);
  return buf;
}

std::string unsupportedReason(const GemmSpec &s) {
  GemmSpec general = s;
  general.tile = TileConfig{0, 0, 0, 0, 0, 0};
  if (std::string why = tcgemm::unsupportedReason(general); !why.empty())
    return why;
  if ((s.aType != DType::BFLOAT16 && s.aType != DType::FLOAT16) || s.bType != s.aType)
    return "wgmma kernel: A and B must both be bf16 or both fp16";
  tcgemm::BatchLoop batch;
  tcgemm::coalesceBatch(s, batch);
  if (s.ldA() % 8 || s.ldB() % 8)
    return "wgmma kernel: A and B rows must be 16-byte aligned (leading dims multiple of 8)";
  if (batch.count > 1 && (batch.strideA % 8 || batch.strideB % 8))
    return "wgmma kernel: batch strides must be multiples of 8 elements";
  return "";
}

TileConfig chooseTile(const GemmSpec &s) {
  for (const Candidate &c : candidates())
    if (s.tile == c.tile)
      return s.tile;
  TileConfig best = candidates().front().tile;
  double bestCost = -1;
  int sms = s.numSMs > 0 ? s.numSMs : 132;
  for (const Candidate &c : candidates()) {
    int64_t tiles = s.batch() * ceilDiv(s.M, c.tile.bm) * ceilDiv(s.N, c.tile.bn);
    double cost =
        double(ceilDiv(tiles, sms)) * double(c.tile.bm) * double(c.tile.bn) / c.efficiency;
    if (bestCost < 0 || cost < bestCost) {
      bestCost = cost;
      best = c.tile;
    }
  }
  return best;
}

std::string wgmmaGemmPrelude() {
  return deviceSources({"primitives.cuh", "tensor_core_gemm.cuh", "hopper.cuh", "wgmma_gemm.cuh"});
}

std::string tmaUnsupportedReason(const GemmSpec &s) {
  if (std::string why = unsupportedReason(s); !why.empty())
    return why;
  // Runtime rows (s.runtimeRows) are one batch of planned rows s.M: the
  // maps cover s.M, the tile walk and the stores follow the run's M.
  if (s.hasRuntimeRows() && s.batch() != 1)
    return "TMA kernel: runtime rows in a batched GEMM";
  // The kernel's tile arithmetic is 32-bit (its producer runs on 40 registers).
  if (s.batch() * ceilDiv(s.M, 64) * ceilDiv(s.N, 64) >= (int64_t(1) << 31))
    return "TMA kernel: 2^31 or more 64x64 tiles";
  // cuTensorMapEncodeTiled: extents below 2^32, strides below 2^40 bytes.
  tcgemm::BatchLoop batch;
  tcgemm::coalesceBatch(s, batch);
  if (std::max({s.M, s.N, s.K, batch.count}) >= (int64_t(1) << 32))
    return "TMA kernel: an extent of 2^32 or more";
  const int64_t strideBytes =
      2 * std::max({s.ldA() * (s.transA ? s.K : s.M), s.ldB() * (s.transB ? s.N : s.K),
                    batch.strideA, batch.strideB});
  if (strideBytes >= (int64_t(1) << 40))
    return "TMA kernel: a stride of 2^40 bytes or more";
  return "";
}

bool usesTma(const GemmSpec &s) { return s.sm90a && s.tma && tmaUnsupportedReason(s).empty(); }

namespace {
// Dynamic shared memory a CTA may have: 227 KiB less the kernel's static
// 1 KiB (the mbarriers, padded by the ring's 1024-byte alignment).
constexpr int64_t kMaxDynamicSmem = 227 * 1024 - 1024;

int64_t tmaSmemBytes(const TileConfig &t, int split) {
  return ringBytes(t) + (split > 1 ? int64_t(t.bm) * t.bn * 4 : 0);
}

/// The tile and split of a usesTma kernel: split-K over a cluster of 4 or 2
/// CTAs, the largest whose CTAs (tiles x split) fill at most half the SMs
/// with at least 16 k-tiles per split; the ring shortened to fit the
/// reduction buffer (3 stages at least, else no split). spec.splitK forces
/// the factor. With runtime rows both are chosen at the planned (largest)
/// M, s.M, like the maps: the prefill-sized runs where the GEMM time lies
/// get their tile, and a run's M below one row tile has the same tile count
/// as any other such M (so a bound of at most BM rows is exact for it). Fitted to an H100 sweep of
/// splits 1/2/4/8 (bench/gemm/ README.md): the best split gave 32-64 CTAs on every skinny shape
/// (16x1024x4096 sk4 15.1 TFLOP/s vs 11.2 unsplit; 128x1024x4096 sk2 114.8
/// vs 86.6, sk4 76.7); sk8 was the slowest everywhere.
std::pair<TileConfig, int> cooperativePlan(const GemmSpec &s) {
  TileConfig t = chooseTile(s);
  tcgemm::BatchLoop batch;
  tcgemm::coalesceBatch(s, batch);
  const int64_t sms = s.numSMs > 0 ? s.numSMs : 132;
  const int64_t tiles = batch.count * ceilDiv(s.M, t.bm) * ceilDiv(s.N, t.bn);
  const int64_t kTiles = ceilDiv(s.K, 64);
  int64_t split = 1;
  if (s.splitK > 0)
    split = std::min<int64_t>({8, s.splitK, kTiles});
  else
    for (int64_t c : {4, 2})
      if (2 * tiles * c <= sms && kTiles >= 16 * c) {
        split = c;
        break;
      }
  if (split < 2)
    return {t, 1};
  TileConfig shorter = t;
  while (tmaSmemBytes(shorter, int(split)) > kMaxDynamicSmem && shorter.stages > 3)
    --shorter.stages;
  if (tmaSmemBytes(shorter, int(split)) > kMaxDynamicSmem)
    return {t, 1};
  return {shorter, int(split)};
}

/// The ping-pong plan of a usesTma spec asking for it: its tile, or the
/// reason it keeps the cooperative schedule.
std::pair<TileConfig, std::string> pingpongPlan(const GemmSpec &s) {
  GemmSpec p = s;
  const bool forced = chooseTile(s) == s.tile;
  if (!forced) {
    p.tile = chooseTile(s);
    if (p.tile.bm * p.tile.bn > 128 * 128)
      p.tile = TileConfig{128, 128, 64, 8, 1, 6};
  }
  if (p.tile.bm * p.tile.bn > 128 * 128)
    return {p.tile, "ping-pong: tile " + tileName(p.tile) +
                        " held by one warpgroup needs more than 128 accumulators per thread "
                        "(at most 128x128)"};
  auto [t, split] = cooperativePlan(p);
  if (split > 1)
    return {t, "ping-pong: split-K " + std::to_string(split) + " at tile " + tileName(t) +
                   " (a cluster shares each tile; ping-pong alternates whole tiles)"};
  return {t, ""};
}

/// The TMA kernel's tile, split and schedule (true: ping-pong).
struct TmaPlan {
  TileConfig tile;
  int split = 1;
  bool pingpong = false;
  int threads() const { return 128 + (pingpong ? 256 : tile.threads()); }
};

TmaPlan tmaPlan(const GemmSpec &s) {
  if (s.pingpong) {
    auto [t, why] = pingpongPlan(s);
    if (why.empty())
      return {t, 1, true};
  }
  auto [t, split] = cooperativePlan(s);
  return {t, split, false};
}
} // namespace

std::string pingpongUnsupportedReason(const GemmSpec &s) {
  if (!usesTma(s))
    return "ping-pong: not the TMA kernel (" +
           (s.sm90a && s.tma ? tmaUnsupportedReason(s) : std::string("no tensor maps")) + ")";
  return pingpongPlan(s).second;
}

bool usesPingpong(const GemmSpec &s) { return s.pingpong && usesTma(s) && tmaPlan(s).pingpong; }

int splitK(const GemmSpec &s) { return usesTma(s) ? tmaPlan(s).split : 1; }

TileConfig tmaTile(const GemmSpec &s) { return tmaPlan(s).tile; }

std::string kernelVariant(const GemmSpec &s) {
  if (!usesTma(s))
    return tileName(chooseTile(s));
  const TmaPlan p = tmaPlan(s);
  return tileName(p.tile) + "_tma" + (p.split > 1 ? "_sk" + std::to_string(p.split) : "") +
         (p.pingpong ? "_pp" : "");
}

std::vector<TensorMapDesc> tmaMaps(const GemmSpec &s) {
  if (!usesTma(s))
    return {};
  const TileConfig t = tmaPlan(s).tile;
  tcgemm::BatchLoop batch;
  tcgemm::coalesceBatch(s, batch);
  auto map = [&](int arg, bool kContig, int64_t mn, int64_t ld, int64_t batchStride, int mnTile) {
    TensorMapDesc m;
    m.arg = arg;
    m.dtype = s.aType;
    const int64_t rows = kContig ? mn : s.K;
    const bool batched = batch.count > 1 && batchStride != 0;
    m.dims = {uint64_t(kContig ? s.K : mn), uint64_t(rows), uint64_t(batched ? batch.count : 1)};
    m.strides = {uint64_t(ld) * 2, uint64_t(batched ? batchStride : rows * ld) * 2};
    m.box = {64, uint32_t(kContig ? mnTile : 64), 1};
    m.elementStrides = {1, 1, 1};
    return m; // swizzle 128 B, no interleave, L2 256 B, zero fill: the defaults
  };
  return {map(0, !s.transA, s.M, s.ldA(), batch.strideA, t.bm),
          map(1, s.transB, s.N, s.ldB(), batch.strideB, t.bn)};
}

LaunchDims wgmmaGemmLaunch(const GemmSpec &s) {
  const TileConfig t = chooseTile(s);
  tcgemm::BatchLoop batch;
  tcgemm::coalesceBatch(s, batch);
  LaunchDims launch;
  if (usesTma(s)) { // persistent: one CTA per SM at most; a producer warpgroup
    const TmaPlan plan = tmaPlan(s);
    const TileConfig tt = plan.tile;
    const int split = plan.split;
    const int64_t total = batch.count * ceilDiv(s.M, tt.bm) * ceilDiv(s.N, tt.bn);
    const int64_t clusters = std::max<int64_t>(1, (s.numSMs > 0 ? s.numSMs : 132) / split);
    const int64_t used = std::max<int64_t>(1, std::min<int64_t>(total, clusters));
    launch.block[0] = uint32_t(plan.threads());
    launch.sharedBytes = uint32_t(tmaSmemBytes(tt, split));
    if (!s.hasRuntimeRows()) {
      launch.grid[0] = uint32_t(used * split);
      return launch;
    }
    // Runtime rows: clusters along x follow the run's tiles, at least
    // ceil(rows / BM) * tilesN (the count (rows + BM - 1) * tilesN over BM
    // blocks, at most tilesN more: those exit at once), at most the
    // planned ones; each cluster's SPLIT CTAs along y.
    launch.grid[0] = uint32_t(used);
    launch.grid[1] = uint32_t(split);
    // (else every run has the planned tiles). With a decode path
    // (tcgemm::decodeRows) ceil(decodeCtas / SPLIT) clusters more, over
    // which a decode run spreads; the tile walk leaves them.
    const int64_t decodeClusters =
        tcgemm::decodeRows(s) ? ceilDiv(tcgemm::decodeCtas(s), int64_t(split)) : 0;
    if (ceilDiv(s.M, tt.bm) > 1)
      launch.followRuntime(0,
                           (s.runtimeRows + Extent(tt.bm - 1)) * Extent(ceilDiv(s.N, tt.bn)) +
                               Extent(decodeClusters * tt.bm),
                           tt.bm, used);
    return launch;
  }
  launch.grid[0] = uint32_t(ceilDiv(s.M, t.bm) * ceilDiv(s.N, t.bn));
  launch.grid[2] = uint32_t(std::min<int64_t>(batch.count, 65535));
  launch.block[0] = uint32_t(t.threads());
  launch.sharedBytes = uint32_t(ringBytes(t));
  // Runtime rows (one batch): x follows the run's row tiles as in the
  // mma.sync kernel (tcgemm::tensorCoreGemmLaunch); extra CTAs exit at once.
  // With a decode path (tcgemm::decodeRows) decodeCtas(s) CTAs more.
  if (s.hasRuntimeRows() && ceilDiv(s.M, t.bm) > 1)
    launch.followRuntime(0,
                         (s.runtimeRows + Extent(t.bm - 1)) * Extent(ceilDiv(s.N, t.bn)) +
                             Extent(tcgemm::decodeRows(s) ? tcgemm::decodeCtas(s) * t.bm : 0),
                         t.bm, launch.grid[0]);
  return launch;
}

std::string emitWgmmaGemm(const GemmSpec &s, const std::string &name) {
  if (!unsupportedReason(s).empty())
    return "";
  const bool tma = usesTma(s);
  const TmaPlan plan = tma ? tmaPlan(s) : TmaPlan{chooseTile(s), 1, false};
  const TileConfig t = plan.tile;
  const int split = plan.split;
  tcgemm::BatchLoop batch;
  tcgemm::coalesceBatch(s, batch);
  const int64_t zGrid = std::min<int64_t>(batch.count, 65535);
  auto flag = [](bool b) { return b ? "true" : "false"; };
  const std::string cfg = "effc_wgmma_cfg_" + name;
  CudaWriter w;
  w.line("// effc wgmma GEMM (sm_90a): C[", batch.count, "][", s.M, "][", s.N,
         "] = ", float(s.alpha) == 1.0f ? "" : "alpha * ", "A", s.transA ? "^T" : "", " * B",
         s.transB ? "^T" : "", s.hasBias ? " + bias" : "",
         s.epilogue.empty() ? "" : ", fused epilogue", ", K = ", s.K);
  w.line("// ", tma ? kernelVariant(s) : tileName(t), ", smem ",
         tma ? tmaSmemBytes(t, split) : ringBytes(t), " B",
         tma ? (plan.pingpong ? ", TMA warp-specialized persistent, ping-pong"
                              : ", TMA warp-specialized persistent")
             : ", cp.async");
  w.open("struct ", cfg, " {");
  w.line("static constexpr int BM = ", t.bm, ", BN = ", t.bn, ", STAGES = ", t.stages,
         ", SPLIT = ", split, ";");
  if (tma) // the consumer warpgroups' schedule (wgmma_tma_gemm)
    w.line("static constexpr bool PINGPONG = ", flag(plan.pingpong), ";");
  w.line("static constexpr int A_TYPE = ", tcgType(s.aType), ", Y_TYPE = ", tcgType(s.yType),
         ", BIAS_TYPE = ", tcgType(s.biasType), ";");
  w.line("static constexpr bool TRANS_A = ", flag(s.transA), ", TRANS_B = ", flag(s.transB),
         ", HAS_BIAS = ", flag(s.hasBias), ", EPILOGUE = ", flag(!s.epilogue.empty()), ";");
  w.line("static constexpr int M = ", s.M, ", N = ", s.N, ", K = ", s.K, ";");
  w.line("static constexpr long long LDA = ", s.ldA(), ", LDB = ", s.ldB(), ", LDC = ", s.ldC(),
         ";");
  w.line("static constexpr long long BATCH = ", batch.count, ", Z_GRID = ", zGrid,
         ", BATCH_STRIDE_A = ", batch.strideA, ", BATCH_STRIDE_B = ", batch.strideB, ";");
  w.line("static constexpr float ALPHA = ", floatLit(float(s.alpha)),
         ", BETA = ", floatLit(float(s.beta)), ";");
  w.line("static constexpr long long BIAS_STRIDE_M = ", s.biasStrideM,
         ", BIAS_STRIDE_N = ", s.biasStrideN, ";");
  // Runtime rows: M above is the planned (largest) count, rows() the run's.
  w.line("static constexpr bool RUNTIME_M = ", flag(s.hasRuntimeRows()), ";");
  if (s.hasRuntimeRows())
    w.line("static __device__ __forceinline__ long long rows(const long long *effc_dims) { "
           "return ",
           s.runtimeRows.text(), "; }");
  w.close("};");
  std::string params = "const void *__restrict__ A_, const void *__restrict__ B_";
  if (s.hasBias)
    params += ", const void *__restrict__ bias_";
  for (int k = s.hasBias ? 3 : 2; k < s.numInputs; ++k)
    params += ", const void *__restrict__ in" + std::to_string(k);
  params += ", void *__restrict__ C_";
  if (s.hasRuntimeRows()) // the artifact ABI of a kernel with runtime extents
    params += ", const long long* __restrict__ effc_dims";
  if (tma) // the operands come through their tensor maps (tmaMaps)
    params +=
        ", const __grid_constant__ HopTensorMap tmA, const __grid_constant__ HopTensorMap tmB";
  // The split-K cluster: along x, or along y where the grid's x follows
  // the run's rows (wgmmaGemmLaunch).
  const std::string cluster = split <= 1 ? ""
                              : s.hasRuntimeRows()
                                  ? "__cluster_dims__(1, " + std::to_string(split) + ", 1) "
                                  : "__cluster_dims__(" + std::to_string(split) + ", 1, 1) ";
  w.open("EFFC_KERNEL void __launch_bounds__(", tma ? plan.threads() : t.threads(), ", 1) ",
         cluster, name, "(", params, ") {");
  const std::string epi = s.epilogue.empty() ? "TcgNoEpilogue()" : "epilogue";
  if (!s.epilogue.empty())
    tcgemm::emitEpilogueLambda(w, s.epilogue, "float");
  if (tcgemm::decodeRows(s)) // a decode-sized run: over every CTA of the launch
    tcgemm::emitDecodeBranch(w, s, cfg, epi, tcgemm::runRowsExpr(s));
  if (tma)
    w.line("wgmma_tma_gemm<", cfg, ">(", s.hasBias ? "bias_" : "nullptr", ", C_, &tmA, &tmB, ", epi,
           s.hasRuntimeRows() ? ", effc_dims" : "", ");");
  else
    w.line("wgmma_gemm<", cfg, ">(A_, B_, ", s.hasBias ? "bias_" : "nullptr", ", C_, ", epi,
           s.hasRuntimeRows() ? ", effc_dims" : "", ");");
  w.close();
  return w.str();
}

} // namespace effc::codegen::wgmma
