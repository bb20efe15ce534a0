// The tensor-core GEMM generator: spec validation, tile choice, and NVRTC
// compiles of a spread of specs for sm_80 and sm_90 (no GPU needed; the
// compile tests are skipped when libnvrtc cannot be loaded). Numerics are
// checked on the GPU by bench/gemm (effc-gemm-bench --check-only).
#include "compiler/codegen/gemm/Gemm.h"
#include "compiler/codegen/gemm/TensorCoreGemm.h"
#include "compiler/codegen/gemm/WgmmaGemm.h"
#include "cuda/Nvrtc.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

using namespace effc;
using namespace effc::codegen;
using namespace effc::codegen::tcgemm;

namespace {

#define REQUIRE_NVRTC()                                                                            \
  do {                                                                                             \
    Status st = nvrtc::load();                                                                     \
    if (!st.ok())                                                                                  \
      FAIL() << "libnvrtc not loadable: " << st.message();                                         \
  } while (0)

GemmSpec gemm(int64_t m, int64_t n, int64_t k, DType ab, DType c) {
  GemmSpec s;
  s.M = m;
  s.N = n;
  s.K = k;
  s.aType = s.bType = ab;
  s.yType = c;
  return s;
}

/// Batch dims {count} over packed A and B (or B broadcast).
void setBatch(GemmSpec &s, int64_t count, bool broadcastB = false) {
  s.batchDims = {count};
  s.aBatchStrides = {s.M * s.K};
  s.bBatchStrides = {broadcastB ? 0 : s.K * s.N};
}

struct NamedSpec {
  std::string name;
  GemmSpec spec;
};

/// Dtypes x transposes x odd sizes x epilogues, plus every candidate tile.
std::vector<NamedSpec> specSpread() {
  std::vector<NamedSpec> out;
  int id = 0;
  auto add = [&](const std::string &what, const GemmSpec &s) {
    out.push_back({"tcg_" + std::to_string(id++) + "_" + what, s});
  };
  for (DType t : {DType::BFLOAT16, DType::FLOAT16, DType::FLOAT32})
    for (int tr = 0; tr < 4; ++tr) {
      GemmSpec s = gemm(77, 130, 100, t, t); // nothing divides a tile; K % 8 != 0
      s.transA = tr & 1;
      s.transB = tr & 2;
      add("odd_tr" + std::to_string(tr), s);
      GemmSpec big = gemm(512, 768, 768, t, DType::FLOAT32);
      big.transA = tr & 1;
      big.transB = tr & 2;
      add("big_tr" + std::to_string(tr), big);
    }
  {
    GemmSpec s = gemm(4096, 2048, 2048, DType::BFLOAT16, DType::BFLOAT16);
    s.hasBias = true;
    s.biasType = DType::BFLOAT16;
    s.biasStrideN = 1;
    s.epilogue.code = "v = 0.5f * v * (1.0f + tanhf(0.7978845608f * (v + 0.044715f * v * v * v)));";
    add("bias_gelu_tanh", s);
  }
  {
    GemmSpec s = gemm(100, 300, 64, DType::FLOAT16, DType::FLOAT16);
    s.hasBias = true;
    s.biasType = DType::FLOAT32;
    s.biasStrideM = 301;
    s.biasStrideN = 1;
    s.beta = 0.5;
    s.alpha = 0.125;
    s.numInputs = 4;
    s.epilogue.code = "v = 0.5f * v * (1.0f + erff(v * 0.70710678f));\n"
                      "v += cvt_f16_to_f32(((const u16 *)in3)[(long long)row * 300 + col]);";
    s.ldc = 301;
    add("full_bias_residual_ldc", s);
  }
  {
    GemmSpec s = gemm(16, 2048, 2048, DType::BFLOAT16, DType::FLOAT32);
    s.numInputs = 3;
    s.epilogue.code =
        "v = v < 0.0f ? 0.0f : v;\nv += ((const float *)in2)[(long long)row * 2048 + col];";
    add("decode_relu_residual", s);
  }
  {
    // Batched attention-like product with B broadcast over the batch.
    GemmSpec s = gemm(128, 64, 96, DType::BFLOAT16, DType::BFLOAT16);
    s.transB = true;
    setBatch(s, 12, /*broadcastB=*/true);
    add("batched_broadcast_b", s);
  }
  {
    GemmSpec s = gemm(64, 64, 33, DType::FLOAT32, DType::BFLOAT16); // unaligned rows: element loads
    s.transA = true;
    add("f32_unaligned", s);
  }
  for (DType t : {DType::BFLOAT16, DType::FLOAT32})
    for (const TileConfig &tile : candidateTiles(t)) {
      GemmSpec s = gemm(1000, 1000, 520, t, t);
      s.tile = tile;
      add(std::string(t == DType::FLOAT32 ? "f32_" : "bf16_") + "tile_" + tileName(tile), s);
    }
  return out;
}

bool contains(const std::vector<std::string> &v, const std::string &s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

} // namespace

TEST(TensorCoreGemm, RejectsWhatItCannotDo) {
  EXPECT_EQ(unsupportedReason(gemm(64, 64, 64, DType::BFLOAT16, DType::BFLOAT16)), "");
  GemmSpec mixed = gemm(64, 64, 64, DType::BFLOAT16, DType::BFLOAT16);
  mixed.bType = DType::FLOAT16;
  EXPECT_NE(unsupportedReason(mixed), "");
  EXPECT_NE(unsupportedReason(gemm(0, 64, 64, DType::BFLOAT16, DType::BFLOAT16)), "");
  EXPECT_NE(unsupportedReason(gemm(64, 64, 64, DType::INT8, DType::INT8)), "");
  GemmSpec shortLd = gemm(64, 64, 64, DType::FLOAT32, DType::FLOAT32);
  shortLd.lda = 32;
  EXPECT_NE(unsupportedReason(shortLd), "");
  GemmSpec badTile = gemm(64, 64, 64, DType::BFLOAT16, DType::BFLOAT16);
  badTile.tile = TileConfig{128, 128, 32, 4, 4, 4}; // warp tile 32x32 is fine
  EXPECT_EQ(unsupportedReason(badTile), "");
  badTile.tile = TileConfig{128, 96, 32, 2, 2, 4}; // not a power of two
  EXPECT_NE(unsupportedReason(badTile), "");
  badTile.tile = TileConfig{128, 256, 128, 2, 4, 4}; // 384 KiB of shared memory
  EXPECT_NE(unsupportedReason(badTile), "");
  EXPECT_EQ(emitTensorCoreGemm(mixed, "k"), "");
}

/// eff.matmul of `a` x `b` (shapes) in dtype t, as the planner describes it.
static KernelDesc matmulDesc(std::vector<int64_t> a, std::vector<int64_t> b, std::vector<int64_t> y,
                             DType t) {
  KernelDesc d;
  d.op = std::string(opName(EffOp::MatMulOp));
  d.name = "k_mm";
  d.inputs = {TensorDesc{t, a}, TensorDesc{t, b}};
  d.outputs = {TensorDesc{t, y}};
  return d;
}

// The entry the compiler (MatmulEmitter) and effc-gemm-bench share:
// describeGemm, then emitGemm picks the kernel.
TEST(Gemm, ShippedEntryPicksTheKernel) {
  std::string error;
  GemmSpec s;
  KernelDesc bf16 = matmulDesc({2, 3, 64, 32}, {32, 48}, {2, 3, 64, 48}, DType::BFLOAT16);
  ASSERT_TRUE(describeGemm(bf16, s, error)) << error;
  EXPECT_EQ(s.batch(), 6);
  EXPECT_TRUE(usesTensorCores(s)); // [2, 3] over packed A, B broadcast: one stride each
  CudaKernel k = emitGemm(bf16, s);
  EXPECT_TRUE(k.needsGemmPrelude);
  EXPECT_NE(k.source.find("// effc tensor-core GEMM: C[6][64][48]"), std::string::npos) << k.source;

  // fp32 stays exact: the FFMA kernel.
  KernelDesc fp32 = matmulDesc({64, 32}, {32, 48}, {64, 48}, DType::FLOAT32);
  ASSERT_TRUE(describeGemm(fp32, s, error)) << error;
  EXPECT_FALSE(usesTensorCores(s));
  k = emitGemm(fp32, s);
  EXPECT_TRUE(k.needsGemmPrelude); // the ffma_gemm template
  EXPECT_NE(k.source.find("// Y[1][64][48] = A * B, K = 32"), std::string::npos) << k.source;
  EXPECT_NE(k.source.find(
                "ffma_gemm<effc_ffma_cfg_k_mm, float>(loadA, loadB, loadBias, store, epilogue);"),
            std::string::npos)
      << k.source;
  EXPECT_EQ(k.source.find("tcg_gemm<"), std::string::npos);
  EXPECT_EQ(k.launch.block[0], 256u);

  // Batch dims that do not coalesce (A varies over the outer, B over the
  // inner one) take the FFMA kernel, which indexes each dim.
  KernelDesc mixed = matmulDesc({2, 1, 64, 32}, {1, 3, 32, 48}, {2, 3, 64, 48}, DType::BFLOAT16);
  ASSERT_TRUE(describeGemm(mixed, s, error)) << error;
  EXPECT_FALSE(usesTensorCores(s));
  EXPECT_NE(emitGemm(mixed, s).source.find("// Y[6][64][48]"), std::string::npos);

  // A fused epilogue is one lambda, called per element by either kernel.
  ASSERT_TRUE(describeGemm(fp32, s, error)) << error;
  s.epilogue.code = "v = v * 2.0f;";
  k = emitGemm(fp32, s);
  EXPECT_NE(
      k.source.find("auto epilogue = [&](float v, long long bz, int row, int col) -> float {"),
      std::string::npos);
  EXPECT_NE(k.source.find("HAS_BIAS = false, EPILOGUE = true;"), std::string::npos) << k.source;
}

TEST(TensorCoreGemm, TileRule) {
  // Large token counts: the biggest tile; 512 tokens: smaller tiles so 132
  // SMs get work.
  EXPECT_EQ(chooseTile(gemm(4096, 2048, 2048, DType::BFLOAT16, DType::BFLOAT16)).bm *
                chooseTile(gemm(4096, 2048, 2048, DType::BFLOAT16, DType::BFLOAT16)).bn,
            128 * 256);
  EXPECT_EQ(chooseTile(gemm(8192, 8192, 8192, DType::FLOAT32, DType::FLOAT32)).bm *
                chooseTile(gemm(8192, 8192, 8192, DType::FLOAT32, DType::FLOAT32)).bn,
            128 * 256);
  TileConfig small = chooseTile(gemm(512, 768, 3072, DType::BFLOAT16, DType::BFLOAT16));
  EXPECT_LE(small.bm * small.bn, 64 * 128);
  EXPECT_LE(chooseTile(gemm(16, 4096, 4096, DType::BFLOAT16, DType::BFLOAT16)).bm, 32);
  GemmSpec forced = gemm(4096, 4096, 4096, DType::BFLOAT16, DType::BFLOAT16);
  forced.tile = TileConfig{64, 64, 32, 2, 2, 3};
  EXPECT_TRUE(chooseTile(forced) == forced.tile);
}

TEST(TensorCoreGemm, LaunchGeometry) {
  GemmSpec s = gemm(1000, 1000, 520, DType::BFLOAT16, DType::BFLOAT16);
  setBatch(s, 3);
  s.tile = TileConfig{128, 128, 32, 2, 2, 4};
  std::string src = emitTensorCoreGemm(s, "k_gemm");
  ASSERT_FALSE(src.empty());
  LaunchDims l = tensorCoreGemmLaunch(s);
  EXPECT_EQ(l.grid[0], 8u * 8u);
  EXPECT_EQ(l.grid[1], 1u);
  EXPECT_EQ(l.grid[2], 3u);
  EXPECT_EQ(l.block[0], 128u);
  EXPECT_EQ(l.sharedBytes, 4u * (128 + 128) * 32 * 2);
  // EFFC_KERNEL (primitives.cuh) is `extern "C" __global__`.
  EXPECT_NE(src.find("EFFC_KERNEL void __launch_bounds__(128, 1) k_gemm("), std::string::npos);
  EXPECT_NE(src.find("k_gemm(const void *__restrict__ A_, const void *__restrict__ B_, void "
                     "*__restrict__ C_)"),
            std::string::npos)
      << src.substr(0, 600);
  // ABI: A, B, [bias], [the epilogue's inputs], C.
  s.hasBias = true;
  s.biasStrideN = 1;
  s.numInputs = 4;
  s.epilogue.code = "v += tcg_ld_bf16(in3, col);";
  src = emitTensorCoreGemm(s, "k_gemm");
  EXPECT_NE(src.find("A_, const void *__restrict__ B_, const void *__restrict__ bias_, const void "
                     "*__restrict__ "
                     "in3, void *__restrict__ C_)"),
            std::string::npos);
  // The kernel is the tcg_gemm template over a config struct; the lambda is
  // its epilogue functor.
  EXPECT_NE(src.find("static constexpr bool TRANS_A = false, TRANS_B = false, HAS_BIAS = true, "
                     "EPILOGUE = true;"),
            std::string::npos)
      << src;
  EXPECT_NE(src.find("tcg_gemm<effc_gemm_cfg_k_gemm>(A_, B_, bias_, C_, epilogue);"),
            std::string::npos)
      << src;
  // Batch dims that do not coalesce into one stride are the FFMA kernel's.
  s.batchDims = {2, 3};
  s.aBatchStrides = {1, 2};
  s.bBatchStrides = {0, 0};
  EXPECT_NE(unsupportedReason(s), "");
}

// All kernels of the spread in one translation unit (the prelude once, as
// the compiler emits it), compiled per arch; every symbol must be there and
// the big-tile kernels must not spill.
TEST(TensorCoreGemm, CompilesWithNvrtcForSm80AndSm90) {
  REQUIRE_NVRTC();
  std::vector<NamedSpec> specs = specSpread();
  std::string source = tensorCoreGemmPrelude();
  for (const NamedSpec &ns : specs) {
    std::string k = emitTensorCoreGemm(ns.spec, ns.name);
    ASSERT_FALSE(k.empty()) << ns.name << ": " << unsupportedReason(ns.spec);
    EXPECT_LE(tensorCoreGemmLaunch(ns.spec).sharedBytes, 227u * 1024) << ns.name;
    source += k;
  }
  // A second prelude is harmless (include guard).
  source += tensorCoreGemmPrelude();
  for (const char *arch : {"sm_80", "sm_90"}) {
    auto c = nvrtc::compile(source, nvrtc::compileOptions(arch, {"--ptxas-options=-v"}),
                            "tcgemm_spread.cu");
    ASSERT_TRUE(c.ok()) << arch << ": " << c.status().message();
    auto fns = nvrtc::cubinFunctions(c->cubin.data(), c->cubin.size());
    ASSERT_TRUE(fns.ok()) << fns.status().message();
    for (const NamedSpec &ns : specs)
      EXPECT_TRUE(contains(*fns, ns.name)) << arch << " lacks " << ns.name;
    // ptxas -v: "Compiling entry function 'NAME' ..." then "... N bytes spill stores ...".
    const std::string &log = c->log;
    for (const NamedSpec &ns : specs) {
      if (ns.name.find("_big_") == std::string::npos &&
          ns.name.find("bias_gelu") == std::string::npos)
        continue;
      size_t at = log.find("'" + ns.name + "'");
      ASSERT_NE(at, std::string::npos) << arch << ": no ptxas report for " << ns.name << "\n"
                                       << log;
      size_t spill = log.find("spill stores", at);
      ASSERT_NE(spill, std::string::npos);
      size_t lineStart = log.rfind('\n', spill);
      std::string line = log.substr(lineStart + 1, log.find('\n', spill) - lineStart - 1);
      EXPECT_NE(line.find(", 0 bytes spill stores"), std::string::npos)
          << arch << " " << ns.name << ": " << line;
    }
    std::printf("[ %s ] %zu kernels, %.0f ms\n", arch, specs.size(), c->ms);
  }
}

namespace {
/// Decode-sized GEMMs over runtime rows (planned at 256 rows: smaller tile
/// kernels, quicker compiles): Llama's gate projection (bf16, bias, a silu *
/// up epilogue reading input 3), GPT-2's lm head (fp16, N = 50257: rows not
/// 16-byte aligned; v1, rows and rows16) and q/o stored [N][K] (v1 only),
/// each with decode variant `variant`.
std::vector<NamedSpec> decodeSpecs(const std::string &variant, bool wgmmaTma) {
  std::vector<NamedSpec> out;
  auto add = [&](const std::string &what, GemmSpec s) {
    s.runtimeRows = Extent::dim(0);
    s.decodeGemv = variant;
    s.sm90a = s.tma = wgmmaTma;
    out.push_back({std::string(wgmmaTma ? "wg_" : "tcg_") + "dv_" + variant + "_" + what, s});
  };
  GemmSpec gate = gemm(256, 8192, 2048, DType::BFLOAT16, DType::BFLOAT16);
  gate.hasBias = true;
  gate.biasType = DType::BFLOAT16;
  gate.biasStrideN = 1;
  gate.numInputs = 4;
  gate.epilogue.code = "v = v / (1.0f + __expf(-v)) * "
                       "bf16_to_f32(((const u16 *)in3)[(long long)row * 8192 + col]);";
  add("gate_silu_up", gate);
  GemmSpec head = gemm(256, 50257, 768, DType::FLOAT16, DType::FLOAT16);
  // (the wgmma kernels take 16-byte aligned rows only)
  if (!wgmmaTma && (variant == "v1" || variant == "rows" || variant == "rows16"))
    add("lm_head_50257", head);
  GemmSpec qo = gemm(256, 2048, 2048, DType::BFLOAT16, DType::BFLOAT16);
  qo.transB = true;
  if (variant == "v1")
    add("qo_nk", qo);
  return out;
}

/// Compiles `specs` in one unit per arch with ptxas -v: every kernel there,
/// none spilling (the decode path runs in the tile kernel's registers).
void compileNoSpills(const std::string &source, const std::vector<NamedSpec> &specs,
                     std::initializer_list<const char *> archs) {
  for (const char *arch : archs) {
    auto c = nvrtc::compile(source, nvrtc::compileOptions(arch, {"--ptxas-options=-v"}),
                            "decode_variants.cu");
    ASSERT_TRUE(c.ok()) << arch << ": " << c.status().message();
    auto fns = nvrtc::cubinFunctions(c->cubin.data(), c->cubin.size());
    ASSERT_TRUE(fns.ok()) << fns.status().message();
    const std::string &log = c->log;
    for (const NamedSpec &ns : specs) {
      EXPECT_TRUE(contains(*fns, ns.name)) << arch << " lacks " << ns.name;
      size_t at = log.find("'" + ns.name + "'");
      ASSERT_NE(at, std::string::npos) << arch << ": no ptxas report for " << ns.name;
      size_t spill = log.find("spill stores", at);
      ASSERT_NE(spill, std::string::npos);
      size_t lineStart = log.rfind('\n', spill);
      std::string line = log.substr(lineStart + 1, log.find('\n', spill) - lineStart - 1);
      EXPECT_NE(line.find(", 0 bytes spill stores"), std::string::npos)
          << arch << " " << ns.name << ": " << line;
    }
    std::printf("[ %s ] %zu decode-variant kernels, %.0f ms\n", arch, specs.size(), c->ms);
  }
}
} // namespace

// Every decode GEMV variant (tcgemm::decodeGemvVariants) in the mma.sync
// kernel for sm_80, sm_90 and sm_90a, and in the TMA wgmma kernel (what
// --gemm=auto ships on sm_90a) for sm_90a; the emitted branch names the
// chosen kernel. Numerics: DecodeGemvEmuTest (host emulation) and
// test/gpu/decode_gemv_variants.sh.
TEST(TensorCoreGemm, DecodeVariantsCompileWithNvrtc) {
  REQUIRE_NVRTC();
  std::vector<NamedSpec> tcg, wg;
  std::string tcgSource = tensorCoreGemmPrelude(), wgSource = wgmma::wgmmaGemmPrelude();
  for (const std::string &v : decodeGemvVariants()) {
    for (const NamedSpec &ns : decodeSpecs(v, false)) {
      ASSERT_EQ(decodeRows(ns.spec), kDecodeRows) << ns.name;
      DecodeGemv dv;
      std::string why;
      ASSERT_TRUE(chooseDecodeGemv(ns.spec, dv, why)) << ns.name << ": " << why;
      std::string k = emitTensorCoreGemm(ns.spec, ns.name);
      ASSERT_FALSE(k.empty()) << ns.name << ": " << unsupportedReason(ns.spec);
      EXPECT_NE(k.find(dv.rows ? "tcg_decode_gemv_rows<" : "tcg_decode_gemv<"), std::string::npos)
          << ns.name;
      tcgSource += k;
      tcg.push_back(ns);
    }
    for (const NamedSpec &ns : decodeSpecs(v, true)) {
      ASSERT_TRUE(wgmma::usesTma(ns.spec))
          << ns.name << ": " << wgmma::tmaUnsupportedReason(ns.spec);
      std::string k = wgmma::emitWgmmaGemm(ns.spec, ns.name);
      ASSERT_FALSE(k.empty()) << ns.name;
      wgSource += k;
      wg.push_back(ns);
    }
  }
  compileNoSpills(tcgSource, tcg, {"sm_80", "sm_90", "sm_90a"});
  compileNoSpills(wgSource, wg, {"sm_90a"});
}
