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
// weight stays packed in memory.
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
  } else if (useMmaGemv(g) && d.intAttr("gemv_mma", 1) != 0) {
    // (effc-quant-bench --decode=vec sets gemv_mma = 0 to time gemv_vec,
    // --decode=mma gemv_mma = 2 to time gemv_mma where gemv_mma_bs fits.)
    c.variant = useBlockScaledGemv(g) && d.intAttr("gemv_mma", 1) != 2 ? "gemv_mma_bs" : "gemv_mma";
    c.launch.grid[0] = uint32_t(ceilDiv(g.N, kMmaGemvColumns));
  } else if (useVectorGemv(g) || g.rows <= kGemvRows) {
    c.variant = useVectorGemv(g) ? "gemv_vec" : "gemv";
    c.launch.grid[0] = uint32_t(ceilDiv(g.N, kThreads / 32));
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
  openKernel(w, d, kThreads);
  w.line("// y[", g.rows, "][", g.N, "] = a W, W [", g.K, "][", g.N, "] ", schemeNames[g.scheme],
         ", block ", g.blockSize, g.hasZeroPoints ? ", zero points" : "",
         g.doubleQuant ? ", double quantized" : "",
         g.scheme == int64_t(host::QuantScheme::LLMInt8)
             ? ", outliers |a| >= " + floatLit(g.threshold)
             : std::string(),
         " (", c.variant, ")");
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
  else if (c.variant == "gemv_mma" || c.variant == "gemv_mma_bs")
    w.line("quant_linear_", c.variant, "<", cfg, ", ", flag(g.aType == DType::BFLOAT16), ">(x1, ",
           zp, ", x0, loadScale, store);");
  else
    w.line("quant_linear_", c.variant, "<", cfg, ">(x1, ", zp, ", loadA, loadScale, store);");
  w.close();
  out = w.str();
  return true;
}

} // namespace effc::codegen
