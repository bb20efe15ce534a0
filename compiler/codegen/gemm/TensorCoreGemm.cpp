//===- TensorCoreGemm.cpp - mma.sync GEMM kernel text ----------------------===//
//
// The kernel is the tcg_gemm<C> template of
// compiler/codegen/device/tensor_core_gemm.cuh (its structure is described
// there); this file checks the spec, chooses the tile and writes the config
// struct C (every size, stride, dtype and flag as a static constexpr), the
// fused epilogue lambda and the EFFC_KERNEL wrapper.
//
// Next steps for Hopper: wgmma (sm_90a) fed by TMA with mbarriers and warp
// specialization; split-K for small M*N; a shared-memory staged epilogue
// with 16-byte stores.
//
#include "compiler/codegen/gemm/TensorCoreGemm.h"

#include "compiler/codegen/core/CudaWriter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace effc::codegen::tcgemm {

namespace {

int elemSize(DType t) {
  switch (t) {
  case DType::FLOAT32:
    return 4;
  case DType::FLOAT16:
  case DType::BFLOAT16:
    return 2;
  default:
    return 0;
  }
}

const char *typeSuffix(DType t) {
  return t == DType::FLOAT32 ? "f32" : t == DType::FLOAT16 ? "f16" : "bf16";
}

/// The device template's name of an element type (TCG_F32, ...).
const char *tcgType(DType t) {
  return t == DType::FLOAT32 ? "TCG_F32" : t == DType::FLOAT16 ? "TCG_F16" : "TCG_BF16";
}

bool isPow2(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

} // namespace

bool coalesceBatch(const GemmSpec &s, BatchLoop &loop) {
  loop = BatchLoop();
  loop.count = s.batch();
  if (loop.count <= 1)
    return true;
  if (s.aBatchStrides.size() != s.batchDims.size() || s.bBatchStrides.size() != s.batchDims.size())
    return false;
  // Innermost non-unit dim first: each outer dim must step by the inner
  // dims' extent times the innermost step.
  int64_t expectA = -1, expectB = -1, inner = 1;
  for (size_t d = s.batchDims.size(); d-- > 0;) {
    if (s.batchDims[d] == 1)
      continue;
    int64_t sa = s.aBatchStrides[d], sb = s.bBatchStrides[d];
    if (expectA < 0) {
      expectA = sa, expectB = sb;
    } else if (sa != expectA * inner || sb != expectB * inner) {
      return false;
    }
    inner *= s.batchDims[d];
  }
  loop.strideA = expectA < 0 ? 0 : expectA;
  loop.strideB = expectB < 0 ? 0 : expectB;
  return true;
}

void emitEpilogueLambda(CudaWriter &w, const GemmEpilogue &e, const std::string &valueType) {
  w.open("auto epilogue = [&](", valueType, " v, long long bz, int row, int col) -> ", valueType,
         " {  // fused epilogue");
  for (size_t at = 0; at < e.code.size();) {
    size_t end = std::min(e.code.find('\n', at), e.code.size());
    if (end > at)
      w.line(e.code.substr(at, end - at));
    at = end + 1;
  }
  w.line("return v;");
  w.close("};");
}

namespace {
/// Dynamic shared memory of the cp.async ring: `stages` A and B tiles.
int64_t ringBytes(const GemmSpec &s, const TileConfig &t) {
  return int64_t(t.stages) * (t.bm + t.bn) * t.bk * elemSize(s.aType);
}
} // namespace

std::string unsupportedReason(const GemmSpec &s) {
  auto isOperandType = [](DType t) {
    return t == DType::FLOAT32 || t == DType::FLOAT16 || t == DType::BFLOAT16;
  };
  if (s.batch() <= 0 || s.M <= 0 || s.N <= 0 || s.K <= 0)
    return "empty problem (batch, M, N and K must be positive)";
  const int64_t kMaxDim = int64_t(1) << 30;
  if (s.M > kMaxDim || s.N > kMaxDim || s.K > kMaxDim)
    return "a dimension exceeds 2^30 (32-bit index math inside a tile)";
  if (!isOperandType(s.aType) || s.aType != s.bType)
    return "A and B must share one dtype among float32, float16, bfloat16";
  if (!isOperandType(s.yType))
    return "C must be float32, float16 or bfloat16";
  if (s.hasBias && !isOperandType(s.biasType))
    return "bias must be float32, float16 or bfloat16";
  if (!std::isfinite(float(s.alpha)) || !std::isfinite(float(s.beta)))
    return "alpha and beta must be finite";
  if (s.lda < 0 || s.ldb < 0 || s.ldc < 0)
    return "negative leading dimension";
  if (s.ldA() < (s.transA ? s.M : s.K) || s.ldB() < (s.transB ? s.K : s.N) || s.ldC() < s.N)
    return "a leading dimension is shorter than its row";
  BatchLoop loop;
  if (!coalesceBatch(s, loop))
    return "batch dims do not coalesce into one stride per operand";
  if (loop.strideA < 0 || loop.strideB < 0)
    return "negative batch stride";
  if (s.tile.bm > 0) {
    const TileConfig &t = s.tile;
    int esz = elemSize(s.aType);
    if (!isPow2(t.bm) || !isPow2(t.bn) || !isPow2(t.bk) || t.warpsM <= 0 || t.warpsN <= 0)
      return "tile sizes must be powers of two";
    if (t.bm % (16 * t.warpsM) || t.bn % (16 * t.warpsN))
      return "warp tile must be a multiple of 16x16";
    if (t.bk % (s.aType == DType::FLOAT32 ? 8 : 16) || t.bk * esz < 32)
      return "bk must be a multiple of the mma k and span two 16-byte chunks";
    if (t.stages < 2 || t.stages > 8)
      return "stages must be in [2, 8]";
    if (t.threads() > 1024)
      return "too many warps";
    // fp32 m/n-contiguous tiles swizzle over 8 chunks: 32 elements wide.
    if (s.aType == DType::FLOAT32 && ((s.transA && t.bm < 32) || (!s.transB && t.bn < 32)))
      return "fp32 m/n-contiguous operands need bm/bn >= 32";
    if (ringBytes(s, t) > 227 * 1024)
      return "tile needs more than 227 KiB of shared memory";
  }
  // A named decode GEMV (s.decodeGemv) must be one that applies to `s`.
  DecodeGemv dv;
  if (std::string why; decodeRows(s) && !chooseDecodeGemv(s, dv, why))
    return why;
  return "";
}

namespace {
/// The decode GEMV variants, the one list of their names: decodeGemvVariants
/// (what effc --decode-gemv accepts) and chooseDecodeGemv both read it.
struct DecodeGemvVariant {
  const char *name;
  DecodeGemv kernel; ///< rows with cols 0: the width by rule (chooseDecodeGemv)
  /// Rows by rule only where the rule's width is at least this; v1 below.
  int minRuleCols = 0;
};
// "wide": rows only where N is wide enough for 128+ columns an item (LM
// heads; Llama-3.2-1B's merged gate/up, N = 16384, takes 128). On an H100
// (decode_gemv_variants.sh, 2026-12-07) rows was 1.9x faster than v1 on
// Llama-3.2-1B's lm head (2048 x 128256: 195 vs 369 us) and 1.1x on GPT-2's,
// but 1.2-1.8x slower on the 2048- and 8192-wide projections, where the rule
// picks 16..64 columns. The merged gate/up was not timed alone; the whole
// model with rows everywhere (2.38 ms/step against v1's 2.53) implies it
// gains too (about 15 us a layer, once the other shapes' losses are taken out).
constexpr DecodeGemvVariant kDecodeGemvVariants[] = {
    {"v1", {false, 16}},      {"rows", {true, 0}},      {"rows16", {true, 16}},
    {"rows32", {true, 32}},   {"rows64", {true, 64}},   {"rows128", {true, 128}},
    {"rows256", {true, 256}}, {"wide", {true, 0}, 128},
};
} // namespace

const std::vector<std::string> &decodeGemvVariants() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const DecodeGemvVariant &v : kDecodeGemvVariants)
      out.push_back(v.name);
    return out;
  }();
  return names;
}

bool chooseDecodeGemv(const GemmSpec &s, DecodeGemv &out, std::string &error) {
  const bool forced = !s.decodeGemv.empty();
  const std::string name = forced ? s.decodeGemv : kDefaultDecodeGemv;
  out = DecodeGemv();
  const DecodeGemvVariant *variant = nullptr;
  for (const DecodeGemvVariant &v : kDecodeGemvVariants)
    if (name == v.name)
      variant = &v;
  if (!variant) {
    std::string names;
    for (const std::string &n : decodeGemvVariants())
      names += (names.empty() ? "" : ", ") + n;
    error = "decode GEMV '" + name + "' is not a variant (" + names + ")";
    return false;
  }
  if (!variant->kernel.rows) {
    out = variant->kernel;
    return true;
  }
  if (s.transB) {
    if (!forced)
      return true; // the default falls back to v1
    error = "decode GEMV '" + name + "' does not apply (B stored [N][K]: v1's loads run along k)";
    return false;
  }
  out.rows = true;
  if (variant->kernel.cols > 0) {
    out.cols = variant->kernel.cols;
    return true;
  }
  // By rule: the widest W whose ceil(N / W) items fill at least 90% of
  // their waves over the SMs (one CTA an SM), else the fullest.
  const int64_t sms = s.numSMs > 0 ? s.numSMs : 132;
  double best = -1;
  for (int c : {256, 128, 64, 32, 16}) {
    const int64_t items = ceilDiv(s.N, c);
    const double fill = double(items) / double(ceilDiv(items, sms) * sms);
    if (fill >= 0.9) {
      out.cols = c;
      break;
    }
    if (fill > best)
      best = fill, out.cols = c;
  }
  if (out.cols < variant->minRuleCols)
    out = DecodeGemv(); // v1
  return true;
}

int decodeRows(const GemmSpec &s) {
  return s.hasRuntimeRows() && !s.transA && s.batch() == 1 && s.aType != DType::FLOAT32 &&
                 s.M > kDecodeRows
             ? kDecodeRows
             : 0;
}

int64_t decodeCtas(const GemmSpec &s) {
  DecodeGemv dv;
  std::string error; // (a named variant that does not apply: unsupportedReason says why)
  chooseDecodeGemv(s, dv, error);
  return std::min<int64_t>(ceilDiv(s.N, dv.cols), 4 * int64_t(s.numSMs > 0 ? s.numSMs : 132));
}

std::string runRowsExpr(const GemmSpec &s) {
  return "int(min((long long)" + std::to_string(s.M) + ", max(0ll, (long long)" +
         s.runtimeRows.text() + ")))";
}

void emitDecodeBranch(CudaWriter &w, const GemmSpec &s, const std::string &cfg,
                      const std::string &epi, const std::string &rows) {
  DecodeGemv dv;
  std::string error; // (a named variant that does not apply: unsupportedReason says why)
  chooseDecodeGemv(s, dv, error);
  w.open("if (", rows, " <= ", decodeRows(s),
         ") {  // a decode-sized run: ", dv.rows ? "tcg_decode_gemv_rows" : "tcg_decode_gemv");
  w.line("extern __shared__ __align__(128) unsigned char tcg_smem[];");
  const char *bias = s.hasBias ? "bias_" : "nullptr";
  if (dv.rows)
    w.line("tcg_decode_gemv_rows<", cfg, ", ", dv.cols, ">(A_, B_, ", bias, ", C_, ", epi, ", ",
           rows, ", (float *)tcg_smem);");
  else
    w.line("tcg_decode_gemv<", cfg, ">(A_, B_, ", bias, ", C_, ", epi, ", ", rows,
           ", (float *)tcg_smem);");
  w.line("return;");
  w.close();
}

LaunchDims tensorCoreGemmLaunch(const GemmSpec &s) {
  const TileConfig t = chooseTile(s);
  BatchLoop batch;
  coalesceBatch(s, batch);
  LaunchDims launch;
  launch.grid[0] = uint32_t(ceilDiv(s.M, t.bm) * ceilDiv(s.N, t.bn));
  launch.grid[2] = uint32_t(std::min<int64_t>(batch.count, 65535));
  launch.block[0] = uint32_t(t.threads());
  launch.sharedBytes = uint32_t(ringBytes(s, t));
  // Runtime rows (one batch): x follows the run's row tiles, at least
  // ceil(rows / BM) * tilesN (the count (rows + BM - 1) * tilesN over BM
  // blocks, at most tilesN more: those exit at once), at most the planned.
  // With a decode path (decodeRows) at least decodeCtas(s) CTAs more, which
  // the tile walk leaves (they exit at once).
  if (s.hasRuntimeRows() && ceilDiv(s.M, t.bm) > 1)
    launch.followRuntime(0,
                         (s.runtimeRows + Extent(t.bm - 1)) * Extent(ceilDiv(s.N, t.bn)) +
                             Extent(decodeRows(s) ? decodeCtas(s) * t.bm : 0),
                         t.bm, launch.grid[0]);
  return launch;
}

std::string emitTensorCoreGemm(const GemmSpec &s, const std::string &name) {
  if (!unsupportedReason(s).empty())
    return "";
  const TileConfig t = chooseTile(s);
  BatchLoop batch;
  coalesceBatch(s, batch);
  const bool tf32 = s.aType == DType::FLOAT32;
  const int threads = t.threads();
  const int64_t zGrid = std::min<int64_t>(batch.count, 65535);
  const int64_t smemBytes = ringBytes(s, t);
  auto flag = [](bool b) { return b ? "true" : "false"; };
  const std::string cfg = "effc_gemm_cfg_" + name;
  CudaWriter w;

  w.line("// effc tensor-core GEMM: C[", batch.count, "][", s.M, "][", s.N,
         "] = ", float(s.alpha) == 1.0f ? "" : "alpha * ", "A", s.transA ? "^T" : "", " * B",
         s.transB ? "^T" : "", s.hasBias ? " + bias" : "",
         s.epilogue.empty() ? "" : ", fused epilogue", ", K = ", s.K, "; ", typeSuffix(s.aType),
         " -> ", typeSuffix(s.yType));
  w.line("// tile ", tileName(t), ", ", tf32 ? "mma m16n8k8 tf32" : "mma m16n8k16", ", smem ",
         smemBytes, " B");
  w.open("struct ", cfg, " {");
  w.line("static constexpr int BM = ", t.bm, ", BN = ", t.bn, ", BK = ", t.bk,
         ", WARPS_M = ", t.warpsM, ", WARPS_N = ", t.warpsN, ", STAGES = ", t.stages, ";");
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
  w.close("};");
  std::string params = "const void *__restrict__ A_, const void *__restrict__ B_";
  if (s.hasBias)
    params += ", const void *__restrict__ bias_";
  // The fused epilogue's inputs: every kernel input after A, B and the bias.
  for (int k = s.hasBias ? 3 : 2; k < s.numInputs; ++k)
    params += ", const void *__restrict__ in" + std::to_string(k);
  params += ", void *__restrict__ C_";
  if (s.hasRuntimeRows()) // the artifact ABI of a kernel with runtime extents
    params += ", const long long* __restrict__ effc_dims";
  w.open("EFFC_KERNEL void __launch_bounds__(", threads, ", 1) ", name, "(", params, ") {");
  // Runtime rows: the run's M (clamped to the planned M) bounds the row
  // tiles and the stores; a decode-sized run takes the decode path.
  const std::string epi = s.epilogue.empty() ? "TcgNoEpilogue()" : "epilogue";
  if (!s.epilogue.empty())
    emitEpilogueLambda(w, s.epilogue, "float");
  if (s.hasRuntimeRows())
    w.line("const int effc_rows = ", runRowsExpr(s), ";");
  if (decodeRows(s))
    emitDecodeBranch(w, s, cfg, epi, "effc_rows");
  w.line("tcg_gemm<", cfg, ">(A_, B_, ", s.hasBias ? "bias_" : "nullptr", ", C_, ", epi,
         s.hasRuntimeRows() ? ", effc_rows" : "", ");");
  w.close();
  return w.str();
}

} // namespace effc::codegen::tcgemm
