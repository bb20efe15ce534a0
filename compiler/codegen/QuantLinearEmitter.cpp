//===- QuantLinearEmitter.cpp - eff.quant_linear kernels ------------------===//
//
// A config struct with every size baked in, the dtype glue as lambdas and a
// call of a template of device/quant_linear.cuh: for up to kVecGemvRows rows
// (decode) the tensor-core GEMV (gemv_mma: bf16/fp16 activations, a
// weight-only scheme, 16-byte chunks that line up with K and the scale
// blocks; gemv_mma_bs, one scale per mma, where the blocks hold its
// windows), else the warp-per-column GEMV with 128-bit loads of the packed
// weight when its 16-byte chunks line up with the scale blocks, else the
// scalar GEMV (up to kGemvRows rows); above, the tensor-core GEMM (mma) for
// bf16/fp16 activations when 16-code chunks line up with the scale blocks,
// else the 32x32 tiled kernel. All decode the packed codes on chip; the
// weight stays packed in memory. Which decode GEMV (and its split-K / pair
// table variants) is chooseDecodeGemv's one decision; effc-quant-bench
// forces each by the gemv_variant attr to time them side by side.
//
#include "compiler/codegen/Families.h"
#include "compiler/codegen/core/DTypeInfo.h"
#include "compiler/codegen/core/EmitterUtil.h"
#include "dialects/eff/EffOps.h"
#include "host/QuantLinear.h"

#include <iterator>

namespace effc::codegen {
namespace {

// The device code and the host kernel number schemes and layouts as ODS does.
static_assert(int(host::QuantScheme::Int4) == int(mlir::eff::QuantScheme::Int4) &&
              int(host::QuantScheme::Int8) == int(mlir::eff::QuantScheme::Int8) &&
              int(host::QuantScheme::NF4) == int(mlir::eff::QuantScheme::NF4) &&
              int(host::QuantScheme::FP4) == int(mlir::eff::QuantScheme::FP4) &&
              int(host::QuantScheme::DynamicInt8) == int(mlir::eff::QuantScheme::DynamicInt8) &&
              int(host::QuantScheme::LLMInt8) == int(mlir::eff::QuantScheme::LLMInt8) &&
              host::kQuantSchemeCount == int(mlir::eff::getMaxEnumValForQuantScheme()) + 1);
static_assert(int(host::QuantLayout::NBlocks) == int(mlir::eff::QuantLayout::NBlocks) &&
              int(host::QuantLayout::BnbFlat) == int(mlir::eff::QuantLayout::BnbFlat));

constexpr int kThreads = 256;
constexpr int64_t kGemvRows = 8;
constexpr int64_t kVecGemvRows = 16;
constexpr int64_t kTile = 32;
constexpr int64_t kMmaGemvColumns = 16; // quant_linear_gemv_mma's columns per block

struct QuantGeometry {
  int64_t scheme, layout, bits, K, N, blockSize, blocks, rows;
  bool hasZeroPoints;
  bool doubleQuant; // nf4/fp4 scales as quant_defs.cuh's QL_DQ bytes
  DType aType;
  float threshold; // llm_int8
};

bool describeQuantLinear(const KernelDesc &d, QuantGeometry &g, std::string &error) {
  if (d.inputs.size() < 3 || d.outputs.size() != 1) {
    error = d.op + ": expected a, weight, scales, [zero_points] and one output";
    return false;
  }
  g.scheme = d.intAttr("scheme", -1);
  g.layout = d.intAttr("layout", -1);
  g.K = d.intAttr("K", 0);
  g.N = d.intAttr("N", 0);
  g.blockSize = d.intAttr("block_size", 0);
  g.threshold = float(d.floatAttr("threshold", 6.0));
  if (g.scheme < 0 || g.scheme >= host::kQuantSchemeCount || g.layout < 0 || g.layout > 1 ||
      g.K <= 0 || g.N <= 0 || g.blockSize <= 0) {
    error = d.op + ": bad scheme, layout, K, N or block_size";
    return false;
  }
  auto scheme = host::QuantScheme(g.scheme);
  g.bits = scheme == host::QuantScheme::Int8 || scheme == host::QuantScheme::DynamicInt8 ||
                   scheme == host::QuantScheme::LLMInt8
               ? 8
               : 4;
  g.blocks = ceilDiv(g.K, g.blockSize);
  g.hasZeroPoints = d.hasInput(3);
  g.doubleQuant = d.intAttr("double_quant", 0) != 0;
  const TensorDesc &a = d.inputs[0];
  if (a.shape.empty() || a.shape.back() != g.K) {
    error = d.op + ": a must be [..., " + std::to_string(g.K) + "], got " + shapeText(a.shape);
    return false;
  }
  g.rows = a.numElements() / g.K;
  g.aType = a.dtype;
  if (!isFloatCompute(computeOf(a.dtype)) ||
      (g.doubleQuant ? d.inputs[2].dtype != DType::UINT8
                     : !isFloatCompute(computeOf(d.inputs[2].dtype)))) {
    error = d.op + ": a must be a float tensor and scales float (ui8 with double_quant)";
    return false;
  }
  if (g.doubleQuant && g.layout != int64_t(host::QuantLayout::BnbFlat)) {
    error = d.op + ": double_quant is an nf4/fp4 option";
    return false;
  }
  return true;
}

/// quant_linear_gemv_vec reads each column's codes in 16-byte chunks, each
/// inside one scale block (and, in the flat layout, starting the column on a
/// chunk).
bool useVectorGemv(const QuantGeometry &g) {
  if (g.rows > kVecGemvRows || g.scheme == int64_t(host::QuantScheme::DynamicInt8))
    return false;
  const int64_t codes = 128 / g.bits;
  if (g.blockSize % codes != 0)
    return false;
  return g.layout != int64_t(host::QuantLayout::BnbFlat) || g.K % codes == 0;
}

/// quant_linear_gemv_mma: decode rows of bf16/fp16 activations, a
/// weight-only scheme, K and the scale blocks in whole 16-byte chunks.
bool useMmaGemv(const QuantGeometry &g) {
  auto scheme = host::QuantScheme(g.scheme);
  if (g.rows > kVecGemvRows || (g.aType != DType::BFLOAT16 && g.aType != DType::FLOAT16))
    return false;
  if (scheme != host::QuantScheme::Int4 && scheme != host::QuantScheme::Int8 &&
      scheme != host::QuantScheme::NF4 && scheme != host::QuantScheme::FP4)
    return false;
  const int64_t codes = 128 / g.bits;
  return g.K % codes == 0 && g.blockSize % codes == 0;
}

/// quant_linear_gemv_mma_bs: gemv_mma's cases whose scale blocks (unless one
/// per column) hold whole windows of 4 lanes x P bytes, P the largest of 16,
/// 8, 4 that does (at least 8 codes a lane), K in whole pieces, and in the
/// flat layout columns that start on a block. The template's static_asserts
/// are these conditions.
bool useBlockScaledGemv(const QuantGeometry &g) {
  if (!useMmaGemv(g))
    return false;
  const bool flat = g.layout == int64_t(host::QuantLayout::BnbFlat);
  const bool perChannel = !flat && g.blocks == 1;
  const int64_t blockBytes = g.blockSize * g.bits / 8;
  const int64_t span = perChannel ? 64 : blockBytes;
  const int64_t p = span % 64 == 0 ? 16 : span % 32 == 0 ? 8 : 4;
  if (p < g.bits || (g.K * g.bits / 8) % p != 0)
    return false;
  return perChannel || (blockBytes % (4 * p) == 0 && (!flat || g.K % g.blockSize == 0));
}

/// gemv_mma_bs's windows per column (4 lanes x P bytes; the template's
/// WINS_ALL).
int64_t blockScaledWindows(const QuantGeometry &g) {
  const bool flat = g.layout == int64_t(host::QuantLayout::BnbFlat);
  const int64_t span = !flat && g.blocks == 1 ? 64 : g.blockSize * g.bits / 8;
  const int64_t p = span % 64 == 0 ? 16 : span % 32 == 0 ? 8 : 4;
  return ceilDiv(g.K * g.bits / 8 / p, 4);
}

/// The decode GEMV of a quant_linear that a GEMV takes (M <= 16).
struct DecodeGemv {
  std::string kernel; // gemv_vec, gemv, gemv_mma, gemv_mma_bs
  int64_t split = 1;  // gemv_mma_bs: CTAs of a cluster along K (sm_90)
  bool lut = false;   // gemv_mma_bs: the nf4/fp4 byte-pair table
  bool fast = false;  // gemv_mma_bs: the FAST decodes (lop3 int4, prmt book)
};

constexpr int64_t kSMs = 132;         // H100 SXM (the split-K target)
constexpr int64_t kCtasPerSM = 2;     // split-K: CTAs per SM to aim for
constexpr int64_t kMinSplitWins = 16; // split-K: windows a K slice keeps at least

/// gemv_mma_bs's split-K factor (1, 2, 4 or 8) for `g`: the smallest that
/// gives kCtasPerSM CTAs per SM of ceil(N / 16) x split, as long as every
/// slice keeps kMinSplitWins windows (2 per warp).
int64_t autoSplit(const QuantGeometry &g) {
  const int64_t ctas = ceilDiv(g.N, kMmaGemvColumns), wins = blockScaledWindows(g);
  int64_t split = 1;
  while (split < 8 && ctas * split < kCtasPerSM * kSMs && ceilDiv(wins, split * 2) >= kMinSplitWins)
    split *= 2;
  return split;
}

/// The default decode GEMV where several apply: the one name to change when
/// effc-quant-bench (test/gpu/quant_gemv_variants.sh) finds a faster one.
/// "bs": gemv_mma_bs where it fits, else gemv_mma.
constexpr const char *kDefaultDecodeGemv = "bs";

/// The decode GEMV for `g` (rows <= kVecGemvRows): `name` is a variant of
/// effc-quant-bench --gemv-variant (empty: kDefaultDecodeGemv): vec
/// (gemv_vec, or the scalar gemv where 16-byte chunks do not fit), mma
/// (gemv_mma), bs (gemv_mma_bs), bs_lut (with the nf4/fp4 pair table),
/// bs_fast (its FAST decodes: int4 by lop3 pairs, nf4/fp4 from a book in
/// registers by prmt, int8 with bf16 by prmt), bs_sk / bs_lut_sk / bs_fast_sk
/// (split-K over a cluster, autoSplit; sm_90a), bs_skN / bs_lut_skN /
/// bs_fast_skN (split N = 2, 4, 8). The default falls back (bs to mma to vec)
/// where a kernel does not fit; a named one that does not fit is an error
/// saying why.
bool chooseDecodeGemv(const QuantGeometry &g, bool sm90, std::string name, DecodeGemv &out,
                      std::string &error) {
  const bool forced = !name.empty();
  if (!forced)
    name = kDefaultDecodeGemv;
  auto fail = [&](const std::string &why) {
    error = "eff.quant_linear: decode GEMV '" + name + "' " + why;
    return false;
  };
  const bool book =
      g.scheme == int64_t(host::QuantScheme::NF4) || g.scheme == int64_t(host::QuantScheme::FP4);
  if (name == "vec") {
    if (!useVectorGemv(g) && g.rows > kGemvRows)
      return fail("does not apply (more than 8 rows without 16-byte chunks)");
    out.kernel = useVectorGemv(g) ? "gemv_vec" : "gemv";
    return true;
  }
  if (name == "mma" || name.rfind("bs", 0) == 0) {
    if (!useMmaGemv(g)) {
      if (forced)
        return fail("does not apply (16-bit activations, a weight-only scheme, K and blocks in "
                    "16-byte chunks)");
      return chooseDecodeGemv(g, sm90, "vec", out, error);
    }
    out.kernel = "gemv_mma";
    if (name == "mma")
      return true;
    if (!useBlockScaledGemv(g)) {
      if (forced)
        return fail("does not apply (scale blocks that hold whole windows)");
      return true;
    }
    out.kernel = "gemv_mma_bs";
    std::string rest = name.substr(2);
    if (rest.rfind("_lut", 0) == 0) {
      if (!book)
        return fail("does not apply (the pair table is for nf4/fp4)");
      out.lut = true;
      rest = rest.substr(4);
    } else if (rest.rfind("_fast", 0) == 0) {
      out.fast = true;
      rest = rest.substr(5);
    }
    if (rest.empty())
      return true;
    if (rest == "_sk")
      out.split = autoSplit(g);
    else if (rest == "_sk2" || rest == "_sk4" || rest == "_sk8")
      out.split = rest[3] - '0';
    else
      return fail("is not a variant (vec, mma, bs, bs_lut, bs_fast, bs_sk, bs_sk2/4/8, "
                  "bs_lut_sk, bs_lut_sk2/4/8, bs_fast_sk, bs_fast_sk2/4/8)");
    if (out.split > 1 && !sm90)
      return fail("needs thread block clusters (sm_90)");
    if (out.split > 1 && ceilDiv(blockScaledWindows(g), out.split) < 8)
      return fail("leaves fewer windows than warps per K slice");
    return true;
  }
  return fail("is not a variant (vec, mma, bs, bs_lut, bs_fast, bs_sk, bs_sk2/4/8, bs_lut_sk, "
              "bs_lut_sk2/4/8, bs_fast_sk, bs_fast_sk2/4/8)");
}

/// quant_linear_mma: more rows than the GEMVs take, 16-bit activations (the
/// MMA operands), a weight-only scheme and 16-code chunks that start on a
/// 16-byte activation chunk and lie in one scale block.
bool useMma(const QuantGeometry &g) {
  auto scheme = host::QuantScheme(g.scheme);
  if (g.rows <= kVecGemvRows || (g.aType != DType::BFLOAT16 && g.aType != DType::FLOAT16))
    return false;
  if (scheme != host::QuantScheme::Int4 && scheme != host::QuantScheme::Int8 &&
      scheme != host::QuantScheme::NF4 && scheme != host::QuantScheme::FP4)
    return false;
  return g.K % 16 == 0 && g.blockSize % 16 == 0;
}

/// The MMA tile (BM, BN): the largest that still gives about one block per
/// SM of an H100 (132) or A100 (108), else the smallest.
std::pair<int64_t, int64_t> mmaTile(const QuantGeometry &g) {
  static const std::pair<int64_t, int64_t> tiles[] = {{128, 128}, {64, 128}, {64, 64}, {32, 64}};
  for (auto [bm, bn] : tiles)
    if (ceilDiv(g.rows, bm) * ceilDiv(g.N, bn) >= 108)
      return {bm, bn};
  return tiles[std::size(tiles) - 1];
}

} // namespace

bool chooseQuantLinear(const KernelDesc &d, KernelChoice &c, std::string &error) {
  QuantGeometry g;
  if (!describeQuantLinear(d, g, error))
    return false;
  c.launch.block[0] = kThreads;
  if (useMma(g)) {
    auto [bm, bn] = mmaTile(g);
    c.variant = "mma";
    c.launch.grid[0] = uint32_t(ceilDiv(g.N, bn));
    c.launch.grid[1] = uint32_t(ceilDiv(g.rows, bm));
    c.setParam("bm", bm);
    c.setParam("bn", bn);
  } else if (g.rows <= kVecGemvRows && (useMmaGemv(g) || useVectorGemv(g) || g.rows <= kGemvRows)) {
    // (effc-quant-bench --gemv-variant=NAME sets gemv_variant to time each.)
    DecodeGemv v;
    if (!chooseDecodeGemv(g, d.sm90a, d.stringAttr("gemv_variant", ""), v, error))
      return false;
    c.variant = v.kernel;
    if (v.kernel == "gemv_mma" || v.kernel == "gemv_mma_bs") {
      c.launch.grid[0] = uint32_t(ceilDiv(g.N, kMmaGemvColumns));
      c.launch.grid[1] = uint32_t(v.split);
      c.setParam("split", v.split);
      c.setParam("lut", v.lut);
      c.setParam("fast", v.fast);
      // Clusters: the artifact then targets sm_90a (as the wgmma GEMMs do).
      c.needsHopperPrelude = v.split > 1;
    } else {
      c.launch.grid[0] = uint32_t(ceilDiv(g.N, kThreads / 32));
    }
  } else {
    c.variant = "tiled";
    c.launch.grid[0] = uint32_t(ceilDiv(g.N, kTile));
    c.launch.grid[1] = uint32_t(ceilDiv(g.rows, kTile));
  }
  c.setParam("rows", g.rows);
  c.needsQuantPrelude = true;
  return true;
}

bool instantiateQuantLinear(const KernelDesc &d, const KernelChoice &c, std::string &out,
                            std::string &error) {
  QuantGeometry g;
  if (!describeQuantLinear(d, g, error))
    return false;
  static const char *schemeNames[] = {"int4", "int8", "nf4", "fp4", "dynamic_int8", "llm_int8"};
  static_assert(std::size(schemeNames) == size_t(host::kQuantSchemeCount));
  const std::string cfg = "effc_ql_cfg_" + d.name;
  auto flag = [](bool b) { return b ? "true" : "false"; };
  CudaWriter w;
  w.open("struct ", cfg, " {");
  w.line("static constexpr int SCHEME = ", g.scheme, ", LAYOUT = ", g.layout, ", BITS = ", g.bits,
         ";");
  w.line("static constexpr int K = ", g.K, ", N = ", g.N, ", BLOCK = ", g.blockSize,
         ", BLOCKS = ", g.blocks, ", BLOCK_BYTES = ", g.blockSize * g.bits / 8, ";");
  w.line("static constexpr long long ROWS = ", g.rows, ";");
  w.line("static constexpr bool HAS_ZP = ", flag(g.hasZeroPoints), ";");
  w.line("static constexpr float THRESHOLD = ", floatLit(g.threshold), ";");
  w.close("};");
  const int64_t split = c.param("split", 1);
  // gemv_mma_bs split-K: the SPLIT CTAs of a column block form a cluster.
  openKernel(w, d, kThreads,
             split > 1 ? "__cluster_dims__(1, " + std::to_string(split) + ", 1) " : "");
  w.line("// y[", g.rows, "][", g.N, "] = a W, W [", g.K, "][", g.N, "] ", schemeNames[g.scheme],
         ", block ", g.blockSize, g.hasZeroPoints ? ", zero points" : "",
         g.doubleQuant ? ", double quantized" : "",
         g.scheme == int64_t(host::QuantScheme::LLMInt8)
             ? ", outliers |a| >= " + floatLit(g.threshold)
             : std::string(),
         " (", c.variant, split > 1 ? ", split-K " + std::to_string(split) : std::string(),
         c.param("lut") ? ", pair table" : "", c.param("fast") ? ", fast decode" : "", ")");
  w.line("auto loadA = [&](long long i) -> float { return ",
         loadAs(d.inputs[0].dtype, "x0", "i", Compute::F32), "; };");
  if (g.doubleQuant)
    w.line("auto loadScale = [&](long long i) -> float { return ql_dq_absmax<",
           ceilDiv(g.N * g.K, g.blockSize), ">(x2, i); };");
  else
    w.line("auto loadScale = [&](long long i) -> float { return ",
           loadAs(d.inputs[2].dtype, "x2", "i", Compute::F32), "; };");
  w.line("auto store = [&](long long i, float v) { y0[i] = ",
         storeValue(d.outputs[0].dtype, "v", Compute::F32), "; };");
  const char *zp = g.hasZeroPoints ? "x3" : "(const u8 *)nullptr";
  if (c.variant == "mma")
    w.line("quant_linear_mma<", cfg, ", ", c.param("bm"), ", ", c.param("bn"), ", ",
           flag(g.aType == DType::BFLOAT16), ">(x1, ", zp, ", x0, loadScale, store);");
  else if (c.variant == "gemv_mma")
    w.line("quant_linear_gemv_mma<", cfg, ", ", flag(g.aType == DType::BFLOAT16), ">(x1, ", zp,
           ", x0, loadScale, store);");
  else if (c.variant == "gemv_mma_bs")
    w.line("quant_linear_gemv_mma_bs<", cfg, ", ", flag(g.aType == DType::BFLOAT16),
           split > 1 || c.param("lut") || c.param("fast")
               ? ", " + std::to_string(split) + ", " + flag(c.param("lut") != 0) + ", " +
                     flag(c.param("fast") != 0)
               : std::string(),
           ">(x1, ", zp, ", x0, loadScale, store);");
  else
    w.line("quant_linear_", c.variant, "<", cfg, ">(x1, ", zp, ", loadA, loadScale, store);");
  w.close();
  out = w.str();
  return true;
}

} // namespace effc::codegen
