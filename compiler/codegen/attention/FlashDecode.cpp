//===- FlashDecode.cpp - split-KV decode kernels and their plan -----------===//
//
// How many splits: FlashAttention-2's num_splits_heuristic. Work units are
// B * Hkv * row blocks CTAs; with fewer than ~0.8 waves of CTA slots (SMs x
// CTAs per SM) the KV axis is split so the grid fills the GPU, taking the
// fewest splits whose wave efficiency (waves / ceil(waves)) is within 85% of
// the best: more splits cost combine traffic and shorter streams per CTA.
//
#include "compiler/codegen/attention/AttentionTemplates.h"
#include "compiler/codegen/attention/FlashAttention.h"

#include <algorithm>
#include <cmath>

namespace effc::codegen {

namespace {

struct DecodeTiles {
  int warps = 4, stages = 3, rowSlices = 1, rowBlocks = 1, blockN = 64;
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
  t.blockN = 16 * t.warps;
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

} // namespace

bool flashDecodeApplicable(const AttentionSpec &sp) {
  return sp.S <= 16 && flashAttentionUnsupported(sp).empty();
}

std::string emitFlashDecode(const AttentionSpec &spec, const std::string &name, FlashDecodePlan *plan) {
  if (!flashDecodeApplicable(spec))
    return "";
  const AttentionSpec sp = resolveAttentionStrides(spec);
  const DecodeTiles t = decodeTiles(sp);
  const int64_t tiles = (sp.L + t.blockN - 1) / t.blockN;
  const int64_t units = sp.B * sp.Hkv * t.rowBlocks;
  int splits = chooseSplits(units, sp.numSMs * t.ctasPerSM, tiles);
  const int64_t chunk = (tiles + splits - 1) / splits * t.blockN;
  splits = int((sp.L + chunk - 1) / chunk); // no empty split
  const int64_t rows = sp.B * sp.Hq * sp.S;
  const int64_t lseOffset = roundUpTo(rows * splits * sp.Dv, 4);
  const int64_t wsBytes = splits > 1 ? (lseOffset + rows * splits) * 4 : 0;

  auto I = [](int64_t v) { return std::to_string(v); };
  const std::string cfg = "effc_attn_cfg_" + name;
  std::string s;
  s += "// split-KV decode: q [" + I(sp.B) + "," + I(sp.Hq) + "," + I(sp.S) + "," + I(sp.D) + "] kv [" + I(sp.B) +
       "," + I(sp.Hkv) + "," + I(sp.L) + "] splits=" + I(splits) + " chunk=" + I(chunk) + " rows/CTA=" +
       I(16 * t.rowSlices) + " stages=" + I(t.stages) + ", " + I(t.sharedBytes) + " B shared\n";
  s += "struct " + cfg + " {\n" + attentionConfigCommon(sp);
  s += "  static constexpr int NW = " + I(t.warps) + ", STAGES = " + I(t.stages) + ", RT = " + I(t.rowSlices) +
       ", ROWS_TOTAL = " + I((sp.Hq / sp.Hkv) * sp.S) + ", CHUNK = " + I(chunk) + ", SPLITS = " + I(splits) + ";\n";
  s += "  static constexpr effc_attn::i64 LSE_OFFSET = " + I(lseOffset) + ";\n};\n";
  s += "extern \"C\" __global__ void __launch_bounds__(" + I(32 * t.warps) + ") " + name +
       attentionParams(sp, true) + " {\n";
  s += "  effc_attn::decode_split<" + cfg + ">(in0, in1, in2, " + attentionMaskArg(sp) + ", out0, out1);\n}\n";
  if (splits > 1) {
    s += "extern \"C\" __global__ void __launch_bounds__(128) " + name +
         "_combine(const void* __restrict__ in0, void* __restrict__ out0) {\n";
    s += "  effc_attn::decode_combine<" + cfg + ">(in0, out0);\n}\n";
  }
  if (plan) {
    *plan = FlashDecodePlan();
    plan->numSplits = splits;
    plan->workspaceBytes = wsBytes;
    plan->splitKernel = name;
    plan->split.grid[0] = uint32_t(splits);
    plan->split.grid[1] = uint32_t(sp.Hkv * t.rowBlocks);
    plan->split.grid[2] = uint32_t(sp.B);
    plan->split.block[0] = uint32_t(32 * t.warps);
    plan->split.sharedBytes = uint32_t(t.sharedBytes);
    if (splits > 1) {
      plan->combineKernel = name + "_combine";
      plan->combine.grid[0] = uint32_t((rows + 3) / 4);
      plan->combine.block[0] = 128;
    }
  }
  return s;
}

} // namespace effc::codegen
