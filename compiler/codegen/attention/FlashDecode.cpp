//===- FlashDecode.cpp - split-KV decode kernels and their plan -----------===//
//
// How many splits: FlashAttention-2's num_splits_heuristic. Work units are
// B * Hkv * row blocks CTAs; with fewer than ~0.8 waves of CTA slots (SMs x
// CTAs per SM) the KV axis is split so the grid fills the GPU, taking the
// fewest splits whose wave efficiency (waves / ceil(waves)) is within 85% of
// the best: more splits cost combine traffic and shorter streams per CTA.
//
// Where the keys are cut is splitKvChunk (effc/SplitKvAttention.h), shared
// with the host kernels: a multiple of the KV tile BN.
//
#include "compiler/codegen/attention/AttentionTemplates.h"
#include "compiler/codegen/attention/FlashAttention.h"
#include "effc/SplitKvAttention.h"

#include <algorithm>
#include <cmath>

namespace effc::codegen {

namespace {

// Each warp scores 16 keys of a KV tile.
constexpr int kDecodeWarps = 4, kDecodeBlockN = 16 * kDecodeWarps;
static_assert(kSplitKvKeyAlign % kDecodeBlockN == 0, "split chunks must be whole KV tiles");

struct DecodeTiles {
  int warps = kDecodeWarps, stages = 3, rowSlices = 1, rowBlocks = 1, blockN = kDecodeBlockN;
  int64_t sharedBytes = 0;
  int ctasPerSM = 1;
};

DecodeTiles decodeTiles(const AttentionSpec &sp) {
  DecodeTiles t;
  const int64_t DP = roundUpTo(sp.D, 16), DVP = roundUpTo(sp.Dv, 16);
  const int64_t rows = (sp.Hq / sp.Hkv) * sp.S;
  // O registers per thread = rowSlices * DVP / 2: keep them <= 128.
  const int64_t maxSlices = std::max<int64_t>(1, 256 / DVP);
  t.rowSlices = int(std::min<int64_t>((rows + 15) / 16, maxSlices));
  t.rowBlocks = int((rows + 16 * t.rowSlices - 1) / (16 * t.rowSlices));
  const int64_t limit = sp.sm >= 90 ? 227 * 1024 : sp.sm == 80 ? 163 * 1024 : 99 * 1024;
  auto smem = [&] {
    int64_t pipe = 16 * t.rowSlices * (DP + 8) * 2 + t.stages * t.blockN * (DP + 8 + DVP + 8) * 2;
    int64_t merge = (2 * t.warps * 16 * t.rowSlices + t.warps * 16 * t.rowSlices * (DVP + 4)) * 4;
    return std::max(pipe, merge);
  };
  while (smem() > limit && t.stages > 2)
    --t.stages;
  t.sharedBytes = smem();
  t.ctasPerSM = int(std::max<int64_t>(1, std::min<int64_t>(228 * 1024 / (t.sharedBytes + 1024), 16)));
  return t;
}

int chooseSplits(int64_t units, int slots, int64_t tiles) {
  if (units >= int64_t(0.8 * slots) || tiles <= 1)
    return 1;
  const int maxSplits = int(std::min<int64_t>({tiles, 128, std::max<int64_t>(1, 2 * slots / units + 1)}));
  std::vector<double> eff(maxSplits + 1, 0.0);
  double best = 0;
  auto eligible = [&](int s) {
    // A split count that gives the same chunk size as s-1 only adds CTAs.
    return s == 1 || (tiles + s - 1) / s != (tiles + s - 2) / (s - 1);
  };
  for (int s = 1; s <= maxSplits; ++s) {
    if (!eligible(s))
      continue;
    double waves = double(units * s) / slots;
    eff[s] = waves / std::ceil(waves);
    best = std::max(best, eff[s]);
  }
  for (int s = 1; s <= maxSplits; ++s)
    if (eligible(s) && eff[s] >= 0.85 * best)
      return s;
  return 1;
}

std::string I(int64_t v) { return std::to_string(v); }

/// The split (or direct) kernel: config struct + extern "C" wrapper.
std::string splitKernelSource(const AttentionSpec &sp, const DecodeTiles &t, int splits, bool direct,
                              const std::string &name) {
  const int64_t chunk = splitKvChunk(sp.L, splits);
  const std::string cfg = "effc_attn_cfg_" + name;
  std::string s;
  s += "// split-KV decode" + std::string(direct ? " (direct)" : " partial") + ": q [" + I(sp.B) + "," +
       I(sp.Hq) + "," + I(sp.S) + "," + I(sp.D) + "] kv [" + I(sp.B) + "," + I(sp.Hkv) + "," + I(sp.L) +
       "] splits=" + I(splits) + " chunk=" + I(chunk) + " rows/CTA=" + I(16 * t.rowSlices) + " stages=" +
       I(t.stages) + ", " + I(t.sharedBytes) + " B shared\n";
  s += "struct " + cfg + " {\n" + attentionConfigCommon(sp);
  s += "  static constexpr int NW = " + I(t.warps) + ", STAGES = " + I(t.stages) + ", RT = " + I(t.rowSlices) +
       ", ROWS_TOTAL = " + I((sp.Hq / sp.Hkv) * sp.S) + ", CHUNK = " + I(chunk) + ";\n";
  s += std::string("  static constexpr bool DIRECT = ") + (direct ? "true" : "false") + ";\n};\n";
  s += "EFFC_KERNEL void __launch_bounds__(" + I(32 * t.warps) + ") " + name +
       attentionParams(sp, !direct) + " {\n";
  s += "  effc_attn::decode_split<" + cfg + ">(in0, in1, in2, " + attentionMaskArg(sp) + ", out0, " +
       (direct ? "nullptr" : "out1") + ");\n}\n";
  return s;
}

LaunchDims splitLaunch(const AttentionSpec &sp, const DecodeTiles &t, int splits) {
  LaunchDims l;
  l.grid[0] = uint32_t(splits);
  l.grid[1] = uint32_t(sp.Hkv * t.rowBlocks);
  l.grid[2] = uint32_t(sp.B);
  l.block[0] = uint32_t(32 * t.warps);
  l.sharedBytes = uint32_t(t.sharedBytes);
  return l;
}

} // namespace

bool flashDecodeApplicable(const AttentionSpec &sp) {
  return sp.S <= 16 && flashAttentionUnsupported(sp).empty();
}

int chooseFlashDecodeSplits(const AttentionSpec &spec) {
  const AttentionSpec sp = resolveAttentionStrides(spec);
  const DecodeTiles t = decodeTiles(sp);
  const int64_t tiles = (sp.L + t.blockN - 1) / t.blockN;
  const int64_t units = sp.B * sp.Hkv * t.rowBlocks;
  const int splits = chooseSplits(units, sp.numSMs * t.ctasPerSM, tiles);
  const int64_t chunk = splitKvChunk(sp.L, splits);
  return int((sp.L + chunk - 1) / chunk); // no empty split
}

std::string emitFlashDecodePartial(const AttentionSpec &spec, int splits, const std::string &name,
                                   LaunchDims *launch) {
  if (!flashDecodeApplicable(spec) || splits < 1 || splits > 65535)
    return "";
  const AttentionSpec sp = resolveAttentionStrides(spec);
  const DecodeTiles t = decodeTiles(sp);
  if (launch)
    *launch = splitLaunch(sp, t, splits);
  return splitKernelSource(sp, t, splits, /*direct=*/false, name);
}

std::string emitFlashDecodeCombine(const AttentionSpec &spec, int splits, const std::string &name,
                                   LaunchDims *launch) {
  const AttentionSpec sp = resolveAttentionStrides(spec);
  if (splits < 1 || sp.B < 1 || sp.Hq < 1 || sp.S < 1 || sp.Dv < 1)
    return "";
  const bool f32 = sp.dtype == DType::FLOAT32, bf = sp.dtype == DType::BFLOAT16;
  if (!f32 && !bf && sp.dtype != DType::FLOAT16)
    return "";
  const int64_t rows = sp.B * sp.Hq * sp.S;
  const std::string cfg = "effc_attn_cfg_" + name;
  std::string s = "// split-KV decode combine: " + I(splits) + " splits of [" + I(sp.B) + "," + I(sp.Hq) + "," +
                  I(sp.S) + "," + I(sp.Dv) + "]\n";
  s += "struct " + cfg + " {\n";
  s += std::string("  typedef ") + (f32 ? "float" : "effc_attn::u16") + " Elem;\n";
  s += std::string("  static constexpr bool OUT_BF = ") + (bf ? "true" : "false") + ";\n";
  s += "  static constexpr int DV = " + I(sp.Dv) + ", SPLITS = " + I(splits) + ", HQ = " + I(sp.Hq) +
       ", S = " + I(sp.S) + ";\n";
  s += "  static constexpr effc_attn::i64 ROWS = " + I(rows) + ", OB = " + I(sp.o.batch) + ", OH = " +
       I(sp.o.head) + ", OS = " + I(sp.o.seq) + ";\n};\n";
  s += "EFFC_KERNEL void __launch_bounds__(128) " + name +
       "(const void* __restrict__ in0, const void* __restrict__ in1, void* __restrict__ out0) {\n";
  s += "  effc_attn::decode_combine<" + cfg + ">(in0, in1, out0);\n}\n";
  if (launch) {
    *launch = LaunchDims();
    launch->grid[0] = uint32_t((rows + 3) / 4); // one warp per row
    launch->block[0] = 128;
  }
  return s;
}

std::string emitFlashDecode(const AttentionSpec &spec, const std::string &name, FlashDecodePlan *plan) {
  if (!flashDecodeApplicable(spec))
    return "";
  const AttentionSpec sp = resolveAttentionStrides(spec);
  const DecodeTiles t = decodeTiles(sp);
  const int splits = chooseFlashDecodeSplits(sp);
  const int64_t rows = sp.B * sp.Hq * sp.S;
  FlashDecodePlan p;
  p.numSplits = splits;
  p.splitKernel = name;
  p.split = splitLaunch(sp, t, splits);
  std::string s = splitKernelSource(sp, t, splits, /*direct=*/splits == 1, name);
  if (splits > 1) {
    p.partialBytes = int64_t(splits) * rows * sp.Dv * 4;
    p.lseBytes = int64_t(splits) * rows * 4;
    p.combineKernel = name + "_combine";
    s += emitFlashDecodeCombine(sp, splits, p.combineKernel, &p.combine);
  }
  if (plan)
    *plan = p;
  return s;
}

} // namespace effc::codegen
