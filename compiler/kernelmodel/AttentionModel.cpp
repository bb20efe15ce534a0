//===- AttentionModel.cpp - attention kernels' tiles and decisions --------===//
//
// Split-KV decode, how many splits: FlashAttention-2's num_splits_heuristic.
// Work units are B * Hkv * row blocks CTAs; with fewer than ~0.8 waves of CTA
// slots (SMs x CTAs per SM) the KV axis is split so the grid fills the GPU,
// taking the fewest splits whose wave efficiency (waves / ceil(waves)) is
// within 85% of the best: more splits cost combine traffic and shorter
// streams per CTA. Where the keys are cut is splitKvChunk
// (host/SplitKvAttention.h), shared with the host kernels: a multiple of the
// KV tile.
//
#include "compiler/kernelmodel/AttentionModel.h"
#include "host/SplitKvAttention.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <utility>

namespace effc::codegen {

int64_t roundUpTo(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

AttentionSpec resolveAttentionStrides(AttentionSpec s) {
  auto fill = [](AttentionStrides &st, int64_t heads, int64_t seq, int64_t dim) {
    if (!st.isZero())
      return;
    st.seq = dim;
    st.head = seq * dim;
    st.batch = heads * seq * dim;
  };
  fill(s.q, s.Hq, s.S, s.D);
  fill(s.k, s.Hkv, s.L, s.D);
  fill(s.v, s.Hkv, s.L, s.Dv);
  fill(s.o, s.Hq, s.S, s.Dv);
  return s;
}

std::string flashAttentionUnsupported(const AttentionSpec &sp) {
  if (sp.dtype != DType::FLOAT16 && sp.dtype != DType::BFLOAT16 && sp.dtype != DType::FLOAT32)
    return "storage dtype must be f16, bf16 or f32";
  if (sp.B < 1 || sp.Hq < 1 || sp.Hkv < 1 || sp.S < 1 || sp.L < 1)
    return "empty shape";
  if (sp.Hq % sp.Hkv)
    return "q heads must be a multiple of kv heads";
  if (sp.D % 8 || sp.Dv % 8 || sp.D > 256 || sp.Dv > 256)
    return "head dims must be multiples of 8 up to 256 (16-byte rows)";
  if (sp.B > 65535 || sp.Hq > 65535)
    return "batch and heads must be <= 65535 (grid y/z)";
  const int64_t big = int64_t(1) << 30;
  if (sp.S >= big || sp.L >= big)
    return "sequence lengths must be < 2^30";
  if (sp.window < 0)
    return "window must be >= 0";
  if (sp.mask == AttentionMask::Additive && sp.maskDType != DType::FLOAT32 &&
      sp.maskDType != DType::FLOAT16 && sp.maskDType != DType::BFLOAT16)
    return "additive mask must be f32, f16 or bf16";
  AttentionSpec r = resolveAttentionStrides(sp);
  for (const AttentionStrides *st : {&r.q, &r.k, &r.v, &r.o})
    if (st->batch % 8 || st->head % 8 || st->seq % 8)
      return "strides must be multiples of 8 elements (16-byte aligned rows)";
  if (!std::isfinite(sp.scale) || sp.scale <= 0)
    return "scale must be finite and > 0";
  return "";
}

static int64_t sharedLimit(int sm) {
  if (sm >= 90)
    return 227 * 1024;
  if (sm == 80 || sm == 87)
    return 163 * 1024;
  return 99 * 1024;
}

// Shared memory of the forward kernel: the Q tile (also the output staging
// buffer) plus the K/V ring, rows padded by 16 bytes.
static int64_t forwardSharedBytes(const AttentionSpec &sp, const FlashForwardConfig &c) {
  const int64_t DP = roundUpTo(sp.D, 16), DVP = roundUpTo(sp.Dv, 16), dmax = std::max(DP, DVP);
  return int64_t(c.blockM) * (dmax + 8) * 2 + int64_t(c.stages) * c.blockN * (DP + 8 + DVP + 8) * 2;
}

static int forwardCtasPerSM(const FlashForwardConfig &c) {
  return int(std::max<int64_t>(
      1, std::min<int64_t>(228 * 1024 / (c.sharedBytes + 1024), 2048 / (32 * c.warps))));
}

FlashForwardConfig chooseFlashForwardConfig(const AttentionSpec &sp) {
  if (sp.forwardConfig) {
    FlashForwardConfig c = *sp.forwardConfig;
    c.sharedBytes = forwardSharedBytes(sp, c);
    c.ctasPerSM = forwardCtasPerSM(c);
    return c;
  }
  FlashForwardConfig c;
  const int64_t dmax = std::max(roundUpTo(sp.D, 16), roundUpTo(sp.Dv, 16));
  // Registers per thread: O = MI*DVP/2, S = MI*BN/2 (MI = 16-row slices per
  // warp). Two slices per warp (BM=128, 4 warps) halve the shared-memory
  // traffic per MMA, which is what bounds mma.sync attention on H100; only
  // d > 128 needs one slice (8 warps) to keep O in registers.
  if (dmax <= 64) {
    c.blockM = 128, c.blockN = 64, c.warps = 4, c.qInRegisters = true;
  } else if (dmax <= 128) {
    c.blockM = 128, c.blockN = 64, c.warps = 4;
  } else {
    c.blockM = 128, c.blockN = 64, c.warps = 8;
  }
  // Short queries or too few CTAs to fill the GPU: one slice per warp.
  int64_t ctas = (sp.S + c.blockM - 1) / c.blockM * sp.B * sp.Hq;
  if (c.warps == 4 && (sp.S <= 64 || ctas < sp.numSMs))
    c.blockM = 64, c.qInRegisters = false;
  c.stages = 2;
  // Measured on H100 (bench/attention --sweep, NOTES.md): compiling out the
  // impossible edge checks and the lazy rescale win on every d64/d128 row
  // (+4..9%); causal d128 prefers 32-key tiles (finer diagonal, fewer
  // registers).
  c.staticEdges = true;
  c.rescale = 2;
  if (sp.causal && dmax > 64 && dmax <= 128 && c.blockM == 128)
    c.blockN = 32;
  while (forwardSharedBytes(sp, c) > sharedLimit(sp.sm) && c.blockN > 16)
    c.blockN /= 2;
  c.sharedBytes = forwardSharedBytes(sp, c);
  c.ctasPerSM = forwardCtasPerSM(c);
  return c;
}

std::string flashForwardConfigError(const AttentionSpec &sp, const FlashForwardConfig &c) {
  auto I = [](int64_t v) { return std::to_string(v); };
  if (c.warps < 1 || c.warps > 16)
    return "warps must be 1..16 (got " + I(c.warps) + ")";
  if (c.blockM < 16 || c.blockM % (16 * c.warps))
    return "blockM (" + I(c.blockM) + ") must be a multiple of 16 * warps (" + I(16 * c.warps) +
           "): each warp owns whole 16-row mma slices";
  const int64_t mi = c.blockM / (16 * c.warps);
  if (mi > 4)
    return "at most 4 16-row slices per warp (blockM / (16 * warps) = " + I(mi) + ")";
  if (c.blockN < 16 || c.blockN > 256 || c.blockN % 16)
    return "blockN (" + I(c.blockN) + ") must be a multiple of 16 in [16, 256] (k16 steps of P V)";
  if (c.stages < 2 || c.stages > 8)
    return "stages (" + I(c.stages) + ") must be 2..8 (the cp.async ring needs a tile in flight)";
  if (c.rescale < 0 || c.rescale > 2)
    return "rescale must be 0, 1 or 2";
  if (c.minBlocksPerSM < 0 || c.minBlocksPerSM > 32)
    return "minBlocksPerSM must be 0..32";
  const int64_t DP = roundUpTo(sp.D, 16), DVP = roundUpTo(sp.Dv, 16);
  // Registers per thread held across the loop: fp32 accumulators of O and
  // S (+ the Q fragments, two 16-bit values per register); beyond this the
  // kernel would live in local memory.
  const int64_t acc = mi * DVP / 2 + mi * c.blockN / 2 + (c.qInRegisters ? mi * DP / 4 : 0);
  if (acc > 224)
    return "needs " + I(acc) + " accumulator registers per thread (O " + I(mi * DVP / 2) + " + S " +
           I(mi * c.blockN / 2) + (c.qInRegisters ? " + Q " + I(mi * DP / 4) : std::string()) +
           "; at most 224 of 255): fewer slices per warp, a smaller blockN or Q from shared memory";
  const int64_t smem = forwardSharedBytes(sp, c);
  if (smem > sharedLimit(sp.sm))
    return "needs " + I(smem) + " B of shared memory (sm_" + I(sp.sm) + " allows " +
           I(sharedLimit(sp.sm)) + " per block): smaller blockM, blockN or fewer stages";
  if (c.minBlocksPerSM > 0) {
    // 64K registers per SM, allocated per warp in units of 256.
    const int64_t cap =
        std::min<int64_t>(255, 65536 / (int64_t(c.minBlocksPerSM) * 32 * c.warps) / 8 * 8);
    if (cap < acc + 24)
      return "minBlocksPerSM " + I(c.minBlocksPerSM) + " caps registers at " + I(cap) +
             " per thread; the " + "accumulators alone need " + I(acc) +
             " (+ ~24 for addresses and softmax state)";
    const int64_t smPerSM = sp.sm >= 90                    ? 228 * 1024
                            : (sp.sm == 80 || sp.sm == 87) ? 164 * 1024
                                                           : 100 * 1024;
    if (int64_t(c.minBlocksPerSM) * (smem + 1024) > smPerSM)
      return "minBlocksPerSM " + I(c.minBlocksPerSM) + " CTAs of " + I(smem) +
             " B do not fit the SM's shared memory";
    if (int64_t(c.minBlocksPerSM) * 32 * c.warps > 2048)
      return "minBlocksPerSM " + I(c.minBlocksPerSM) + " exceeds 2048 threads per SM";
  }
  return "";
}

std::string flashForwardConfigName(const FlashForwardConfig &c) {
  std::string s = "m" + std::to_string(c.blockM) + "n" + std::to_string(c.blockN) + "w" +
                  std::to_string(c.warps) + "s" + std::to_string(c.stages);
  if (c.qInRegisters)
    s += "-q";
  if (c.minBlocksPerSM)
    s += "-b" + std::to_string(c.minBlocksPerSM);
  if (c.staticEdges)
    s += "-se";
  if (c.rescale)
    s += "-r" + std::to_string(c.rescale);
  return s;
}

bool parseFlashForwardConfig(const std::string &text, FlashForwardConfig *out, std::string *error) {
  FlashForwardConfig c;
  size_t i = 0;
  auto fail = [&](const std::string &why) {
    if (error)
      *error =
          "forward config '" + text + "': " + why + " (syntax: m128n64w4s2[-q][-bN][-se][-r1|-r2])";
    return false;
  };
  auto number = [&](int *v) {
    size_t j = i;
    while (j < text.size() && std::isdigit((unsigned char)text[j]))
      ++j;
    if (j == i || j - i > 4)
      return false;
    *v = std::atoi(text.substr(i, j - i).c_str());
    i = j;
    return true;
  };
  for (auto [key, field] : {std::pair<char, int *>{'m', &c.blockM},
                            {'n', &c.blockN},
                            {'w', &c.warps},
                            {'s', &c.stages}}) {
    if (i >= text.size() || text[i] != key)
      return fail(std::string("expected '") + key + "'");
    ++i;
    if (!number(field))
      return fail(std::string("expected a number after '") + key + "'");
  }
  while (i < text.size()) {
    if (text[i] != '-')
      return fail("expected '-' before an option");
    ++i;
    if (text.compare(i, 2, "se") == 0 && (i + 2 == text.size() || text[i + 2] == '-')) {
      c.staticEdges = true, i += 2;
    } else if (i < text.size() && text[i] == 'q' && (i + 1 == text.size() || text[i + 1] == '-')) {
      c.qInRegisters = true, ++i;
    } else if (i < text.size() && (text[i] == 'b' || text[i] == 'r')) {
      int *field = text[i] == 'b' ? &c.minBlocksPerSM : &c.rescale;
      ++i;
      if (!number(field))
        return fail("expected a number after -b / -r");
    } else {
      return fail("unknown option at '" + text.substr(i) + "'");
    }
  }
  *out = c;
  return true;
}

AttentionSpec packedAttentionSpec(DType dtype, const std::vector<int64_t> &q,
                                  const std::vector<int64_t> &k, const std::vector<int64_t> &v,
                                  DType maskDType, const std::vector<int64_t> &maskShape) {
  AttentionSpec spec;
  spec.B = q[0], spec.Hq = q[1], spec.S = q[2], spec.D = q[3];
  spec.Hkv = k[1], spec.L = k[2], spec.Dv = v[3];
  spec.dtype = dtype;
  spec.sm = 80;
  if (maskDType != DType::UNDEFINED) {
    spec.mask = maskDType == DType::BOOL ? AttentionMask::Bool : AttentionMask::Additive;
    spec.maskDType = maskDType;
    // Row-major strides of the mask, 0 where it broadcasts (size-1 or missing dims).
    const size_t off = 4 - maskShape.size();
    int64_t stride = 1;
    for (size_t d = maskShape.size(); d-- > 0;) {
      spec.maskStrides[off + d] = maskShape[d] == 1 ? 0 : stride;
      stride *= maskShape[d];
    }
  }
  return spec;
}

namespace {

// Each warp scores 16 keys of a KV tile.
constexpr int kDecodeWarps = 4, kDecodeBlockN = 16 * kDecodeWarps;
static_assert(kSplitKvKeyAlign % kDecodeBlockN == 0, "split chunks must be whole KV tiles");

} // namespace

FlashDecodeTiles chooseFlashDecodeTiles(const AttentionSpec &sp) {
  FlashDecodeTiles t;
  t.warps = kDecodeWarps, t.blockN = kDecodeBlockN;
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
  t.ctasPerSM =
      int(std::max<int64_t>(1, std::min<int64_t>(228 * 1024 / (t.sharedBytes + 1024), 16)));
  return t;
}

namespace {

int chooseSplits(int64_t units, int slots, int64_t tiles) {
  if (units >= int64_t(0.8 * slots) || tiles <= 1)
    return 1;
  const int maxSplits =
      int(std::min<int64_t>({tiles, 128, std::max<int64_t>(1, 2 * slots / units + 1)}));
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

int chooseFlashDecodeSplits(const AttentionSpec &spec) {
  const AttentionSpec sp = resolveAttentionStrides(spec);
  const FlashDecodeTiles t = chooseFlashDecodeTiles(sp);
  const int64_t tiles = (sp.L + t.blockN - 1) / t.blockN;
  const int64_t units = sp.B * sp.Hkv * t.rowBlocks;
  const int splits = chooseSplits(units, sp.numSMs * t.ctasPerSM, tiles);
  const int64_t chunk = splitKvChunk(sp.L, splits);
  return int((sp.L + chunk - 1) / chunk); // no empty split
}

double attentionFlops(const AttentionSpec &sp) {
  double f =
      2.0 * double(sp.B) * double(sp.Hq) * double(sp.S) * double(sp.L) * double(sp.D + sp.Dv);
  if (sp.causal && sp.S == sp.L)
    f *= 0.5;
  return f;
}

} // namespace effc::codegen
