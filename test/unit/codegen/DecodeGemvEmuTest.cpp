// The decode paths of a runtime-rows GEMM (what the mma.sync and wgmma
// kernels run for at most tcgemm::decodeRows rows; issue 14) on the host by
// emulation (CudaEmulation.h: a std::thread per CUDA thread, warp shuffles
// from their PTX definition): tcg_decode_gemv (v1) and tcg_decode_gemv_rows
// at every column width chooseDecodeGemv can pick (16..256), against an
// fp64 reference. Each case: 3 CTAs of 64 threads (2 warps, grid-stride over
// the items, both warps splitting K), runs of 1, 3, 8 and 13 rows (one
// partial pass, two full passes, four passes), alpha 2, a bias and a fused
// epilogue that differs per row and column; N = 200 (16-byte aligned rows,
// a ragged last item at most widths), N = 50 (rows not 16-byte aligned:
// element loads, a 16-byte chunk straddling N; and rows padded to 56:
// aligned, element loads for the chunk past N only), K = 96 and K = 100 (a
// ragged last warp step at widths 16..64), bf16 and fp16. Small integer
// operands, so every sum is exact and each stored value must equal the
// reference rounded to the output type; C starts NaN-poisoned: rows past
// the run's stay poisoned. Then chooseDecodeGemv's rule and errors.
#include "compiler/codegen/gemm/GemmSpec.h"
#include "compiler/codegen/gemm/TensorCoreGemm.h"
#include "compiler/codegen/gemm/WgmmaGemm.h"

#include <gtest/gtest.h>

#include <string>

#include "CudaEmulation.h"

namespace emu {

inline Dim3 gridDim{1, 1, 1};
// tcg_gemm's `extern __shared__` array (never instantiated here) as a plain
// extern declaration.
#undef __shared__
#define __shared__
#include "tensor_core_gemm.cuh"
#undef __shared__
#define __shared__ static

} // namespace emu

#include "DecodeGemvCase.h"

namespace {

using namespace effc;
using namespace effc::codegen;

/// The config emitTensorCoreGemm writes (the decode path's part of it).
template <int N_, int K_, bool F16, int LDB_ = N_> struct Cfg {
  static constexpr int A_TYPE = F16 ? emu::TCG_F16 : emu::TCG_BF16, Y_TYPE = A_TYPE,
                       BIAS_TYPE = A_TYPE;
  static constexpr bool TRANS_A = false, TRANS_B = false, HAS_BIAS = true, EPILOGUE = true;
  static constexpr int M = 64, N = N_, K = K_;
  static constexpr long long LDA = K_, LDB = LDB_, LDC = N_;
  static constexpr long long BATCH = 1;
  static constexpr float ALPHA = 2.0f, BETA = 1.0f;
  static constexpr long long BIAS_STRIDE_M = 0, BIAS_STRIDE_N = 1;
};

/// Exact on small integers, different per row and column.
struct Epilogue {
  float operator()(float v, long long, int row, int col) const {
    return (v < 0.0f ? 0.5f * v : v) + float(row % 3) - float(col % 5);
  }
};

/// W = 0: tcg_decode_gemv (v1); else tcg_decode_gemv_rows<C, W>.
template <class C, int W> void runCase(int rows, uint32_t seed) {
  SCOPED_TRACE("N " + std::to_string(C::N) + " K " + std::to_string(C::K) + " W " +
               std::to_string(W) + " rows " + std::to_string(rows) +
               (C::A_TYPE == emu::TCG_F16 ? " fp16" : " bf16"));
  DecodeGemvCase<C> t(seed);
  t.launch([&] {
    if constexpr (W == 0)
      emu::tcg_decode_gemv<C>(t.a.data(), t.b, t.biasOrNull(), t.c.data(), Epilogue(), rows,
                              t.red.data());
    else
      emu::tcg_decode_gemv_rows<C, W>(t.a.data(), t.b, t.biasOrNull(), t.c.data(), Epilogue(), rows,
                                      t.red.data());
  });
  t.check(rows, Epilogue());
}

template <class C> void runWidths(uint32_t seed) {
  for (int rows : {1, 3, 8, 13}) {
    runCase<C, 0>(rows, seed + 1);
    runCase<C, 16>(rows, seed + 2);
    runCase<C, 32>(rows, seed + 3);
    runCase<C, 64>(rows, seed + 4);
    runCase<C, 128>(rows, seed + 5);
    runCase<C, 256>(rows, seed + 6);
  }
}

TEST(DecodeGemvEmu, AlignedRowsBf16) { runWidths<Cfg<200, 96, false>>(100); }
TEST(DecodeGemvEmu, AlignedRowsRaggedKFp16) { runWidths<Cfg<200, 100, true>>(200); }
TEST(DecodeGemvEmu, MisalignedRowsBf16) { runWidths<Cfg<50, 96, false>>(300); }
TEST(DecodeGemvEmu, MisalignedRowsRaggedKFp16) { runWidths<Cfg<50, 100, true>>(400); }
// Rows padded to 56 (16-byte aligned): the chunk at column 48 straddles N.
TEST(DecodeGemvEmu, PaddedRowsChunkPastN) { runWidths<Cfg<50, 96, false, 56>>(500); }

/// A Llama-style decode GEMM over runtime rows: [M, K] x [K, N] (transB:
/// [N, K]) planned at 4096 rows.
GemmSpec decodeSpec(int64_t n, int64_t k, bool transB = false, const std::string &variant = "") {
  GemmSpec s;
  s.M = 4096, s.N = n, s.K = k;
  s.transB = transB;
  s.aType = s.bType = s.yType = DType::BFLOAT16;
  s.runtimeRows = Extent::dim(0);
  s.decodeGemv = variant;
  return s;
}

int ruleCols(int64_t n, int64_t k) {
  tcgemm::DecodeGemv dv;
  std::string error;
  EXPECT_TRUE(tcgemm::chooseDecodeGemv(decodeSpec(n, k, false, "rows"), dv, error)) << error;
  EXPECT_TRUE(dv.rows);
  return dv.cols;
}

// "rows": the widest W whose items fill >= 90% of their waves on 132 SMs.
TEST(DecodeGemvEmu, RowsRuleOnLlamaShapes) {
  EXPECT_EQ(ruleCols(8192, 2048), 64);    // gate/up: 128 items
  EXPECT_EQ(ruleCols(2048, 2048), 16);    // q/o: 128 items
  EXPECT_EQ(ruleCols(2048, 8192), 16);    // down
  EXPECT_EQ(ruleCols(512, 2048), 16);     // k/v: 32 items, the fullest
  EXPECT_EQ(ruleCols(128256, 2048), 256); // lm head: 501 items, 4 waves at 95%
  EXPECT_EQ(ruleCols(50257, 768), 128);   // GPT-2 lm head: 393 items in 3 waves
}

TEST(DecodeGemvEmu, VariantsAndErrors) {
  tcgemm::DecodeGemv dv;
  std::string error;
  for (const std::string &v : tcgemm::decodeGemvVariants()) {
    EXPECT_TRUE(tcgemm::chooseDecodeGemv(decodeSpec(2048, 2048, false, v), dv, error)) << v;
    EXPECT_EQ(dv.rows, v != "v1" && v != "wide") << v; // wide: v1 on N = 2048
    EXPECT_EQ(tcgemm::unsupportedReason(decodeSpec(2048, 2048, false, v)), "") << v;
  }
  EXPECT_TRUE(tcgemm::chooseDecodeGemv(decodeSpec(2048, 2048, false, "rows128"), dv, error));
  EXPECT_EQ(dv.cols, 128);
  // wide (the default): rows where the rule gives 128+ columns (LM heads), else v1.
  EXPECT_TRUE(tcgemm::chooseDecodeGemv(decodeSpec(128256, 2048), dv, error));
  EXPECT_TRUE(dv.rows);
  EXPECT_EQ(dv.cols, 256);
  EXPECT_TRUE(tcgemm::chooseDecodeGemv(decodeSpec(50257, 768, false, "wide"), dv, error));
  EXPECT_TRUE(dv.rows);
  EXPECT_EQ(dv.cols, 128);
  EXPECT_TRUE(tcgemm::chooseDecodeGemv(decodeSpec(8192, 2048), dv, error));
  EXPECT_FALSE(dv.rows);
  EXPECT_EQ(dv.cols, 16);
  // B [N][K]: the default falls back to v1; a named rows variant is an error.
  EXPECT_TRUE(tcgemm::chooseDecodeGemv(decodeSpec(2048, 2048, true), dv, error));
  EXPECT_FALSE(dv.rows);
  EXPECT_NE(tcgemm::unsupportedReason(decodeSpec(2048, 2048, true, "rows64")).find("[N][K]"),
            std::string::npos);
  EXPECT_NE(
      tcgemm::unsupportedReason(decodeSpec(2048, 2048, false, "rows48")).find("is not a variant"),
      std::string::npos);
  // The launch adds one CTA per item (at most 4 per SM).
  EXPECT_EQ(tcgemm::decodeCtas(decodeSpec(8192, 2048, false, "rows64")), 128);
  EXPECT_EQ(tcgemm::decodeCtas(decodeSpec(8192, 2048, false, "v1")), 512);
  EXPECT_EQ(tcgemm::decodeCtas(decodeSpec(128256, 2048, false, "rows16")), 4 * 132);
  // The emitted branch calls the chosen kernel.
  GemmSpec s = decodeSpec(8192, 2048, false, "rows");
  const std::string text = tcgemm::emitTensorCoreGemm(s, "k");
  EXPECT_NE(text.find("tcg_decode_gemv_rows<effc_gemm_cfg_k, 64>(A_, B_, nullptr, C_, "
                      "TcgNoEpilogue(), effc_rows, (float *)tcg_smem);"),
            std::string::npos)
      << text;
  s.decodeGemv = "v1";
  EXPECT_NE(tcgemm::emitTensorCoreGemm(s, "k").find("tcg_decode_gemv<effc_gemm_cfg_k>(A_, B_"),
            std::string::npos);
}

} // namespace

namespace {
// The decode kernels' cross-warp sums live in the tile kernel's dynamic
// shared memory (its ring): rows256 takes 1 KiB a warp (v1 256 B). Every
// candidate tile of the mma.sync kernel and the TMA wgmma kernel's plan
// for the decode shapes leave that much.
TEST(DecodeGemvEmu, EveryKernelsRingHoldsTheSums) {
  for (DType t : {DType::BFLOAT16, DType::FLOAT16})
    for (const TileConfig &tile : tcgemm::candidateTiles(t)) {
      GemmSpec s = decodeSpec(8192, 2048, false, "rows256");
      s.aType = s.bType = s.yType = t;
      s.tile = tile;
      ASSERT_EQ(tcgemm::unsupportedReason(s), "") << tcgemm::tileName(tile);
      const LaunchDims l = tcgemm::tensorCoreGemmLaunch(s);
      EXPECT_GE(l.sharedBytes, l.block[0] / 32 * 1024) << tcgemm::tileName(tile);
    }
  for (auto [n, k] : {std::pair<int64_t, int64_t>{2048, 2048},
                      {512, 2048},
                      {8192, 2048},
                      {2048, 8192},
                      {128256, 2048}}) {
    GemmSpec s = decodeSpec(n, k, false, "rows256");
    s.sm90a = s.tma = true;
    ASSERT_TRUE(wgmma::usesTma(s)) << n << "x" << k;
    const LaunchDims l = wgmma::wgmmaGemmLaunch(s);
    EXPECT_GE(l.sharedBytes, l.block[0] / 32 * 1024) << n << "x" << k;
  }
}
} // namespace
