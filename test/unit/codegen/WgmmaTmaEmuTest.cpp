// The TMA warp-specialized wgmma GEMM (wgmma_tma_gemm of
// compiler/codegen/device/wgmma_gemm.cuh) run on the host by emulation
// (CudaEmulation.h: a std::thread per CUDA thread of a block), so its
// persistent tile walk, mbarrier pipeline and epilogue are checked without a
// GPU, with runtime rows (issue 16: M read from effc_dims, planned at the
// bound) above all. The mbarriers, TMA boxes and wgmma are emulated from
// the PTX ISA by HopperEmulation.h (the layout the kernel's header describes
// and an H100 run checked), so this test checks the kernel's logic, not
// Hopper's layouts. Clusters (split-K > 1) are not emulated: the specs here take no
// split. Each case's config mirrors what emitWgmmaGemm writes for the same
// GemmSpec (checked on its text), its launch is wgmmaGemmLaunch's, the
// runtime grid rule evaluated at the run's rows as the cuda backend does.
// Inputs are small integers (exact fp32 sums), so every stored row must equal
// the bf16 of the reference exactly; C starts NaN-poisoned and A's rows past
// the run's M are NaN: rows past the run's M must stay poisoned.
#include "compiler/codegen/core/KernelDesc.h"
#include "compiler/codegen/gemm/GemmSpec.h"
#include "compiler/codegen/gemm/WgmmaGemm.h"
#include "host/HostKernels.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <string>

#include "CudaEmulation.h"

namespace emu {

inline Dim3 gridDim{1, 1, 1};

// ---- shared memory: one u32 address space --------------------------------
// [0, kDynBytes): the dynamic shared memory; static __shared__ arrays (the
// kernel's mbarriers and run extents) get 4 KiB windows from 0x100000 on.
constexpr u32 kDynBytes = 227 * 1024, kStaticBase = 0x100000;
alignas(1024) unsigned char gDynSmem[kDynBytes];
inline std::mutex gSpaceMutex;
inline std::vector<unsigned char *> gStatics;
inline u32 emu_smem_u32(const void *p) {
  auto *c = static_cast<unsigned char *>(const_cast<void *>(p));
  if (c >= gDynSmem && c < gDynSmem + kDynBytes)
    return u32(c - gDynSmem);
  std::lock_guard<std::mutex> lock(gSpaceMutex);
  for (size_t i = 0; i < gStatics.size(); ++i)
    if (gStatics[i] == c)
      return kStaticBase + u32(i) * 0x1000;
  gStatics.push_back(c);
  return kStaticBase + u32(gStatics.size() - 1) * 0x1000;
}
inline unsigned char *emu_ptr(u32 a) {
  if (a < kDynBytes)
    return gDynSmem + a;
  std::lock_guard<std::mutex> lock(gSpaceMutex);
  return gStatics.at((a - kStaticBase) / 0x1000) + (a & 0xFFF);
}

#define smem_u32 emu_smem_u32
#define WG_DYN_SMEM(name) unsigned char *name = gDynSmem
#include "hopper.cuh" // HopTensorMap, the descriptor encoders; no asm is instantiated
// tcg_gemm's `extern __shared__` array (never instantiated here) as a plain
// extern declaration.
#undef __shared__
#define __shared__
#include "tensor_core_gemm.cuh"
#undef __shared__
#define __shared__ static
} // namespace emu

#include "HopperEmulation.h" // after hopper.cuh: the hop_* names become the emulation's

namespace emu {
#include "wgmma_gemm.cuh"
#undef __shared__

} // namespace emu

#include "DecodeGemvCase.h"

namespace {

using namespace effc;
using namespace effc::codegen;

/// The config emitWgmmaGemm writes for a bf16 [M, K] x B GEMM (B [N][K]
/// when TB, else [K][N]), with RUNTIME_M and rows() = effc_dims[0] when RT,
/// the ping-pong schedule when PP, a fused epilogue (TestEpilogue) when EPI.
template <int M_, int N_, int K_, bool TB, bool RT, int BM_, int BN_, int STAGES_, bool BIAS,
          bool PP = false, bool EPI = false>
struct Cfg {
  static constexpr int BM = BM_, BN = BN_, STAGES = STAGES_, SPLIT = 1;
  static constexpr bool PINGPONG = PP;
  static constexpr int A_TYPE = emu::TCG_BF16, Y_TYPE = emu::TCG_BF16, BIAS_TYPE = emu::TCG_BF16;
  static constexpr bool TRANS_A = false, TRANS_B = TB, HAS_BIAS = BIAS, EPILOGUE = EPI;
  static constexpr int M = M_, N = N_, K = K_;
  static constexpr long long LDA = K_, LDB = TB ? K_ : N_, LDC = N_;
  static constexpr long long BATCH = 1, Z_GRID = 1, BATCH_STRIDE_A = 0, BATCH_STRIDE_B = 0;
  static constexpr float ALPHA = 1.0f, BETA = 1.0f;
  static constexpr long long BIAS_STRIDE_M = 0, BIAS_STRIDE_N = BIAS ? 1 : 0;
  static constexpr bool RUNTIME_M = RT;
  static long long rows(const long long *effc_dims) { return effc_dims[0]; }
};

/// A fused epilogue of the EPI configs: exact in fp32 on the small integer
/// sums, different per row and column (a store at the wrong element shows).
struct TestEpilogue {
  float operator()(float v, long long, int row, int col) const {
    return (v < 0.0f ? 0.5f * v : v) + float(row % 3) - float(col % 5);
  }
};
/// The same epilogue as the generator's text (spec.epilogue, for the
/// emitted config's EPILOGUE flag).
constexpr const char *kTestEpilogueCode =
    "v = (v < 0.0f ? 0.5f * v : v) + (float)(row % 3) - (float)(col % 5);";

/// A run's operands (B as stored: [N][K] when TRANS_B) and its output.
struct EmuRun {
  std::vector<uint16_t> a, b, c;
};

/// Runs Cfg C as wgmma_tma_gemm over `runRows` rows (RUNTIME_M; else C::M)
/// with the launch wgmmaGemmLaunch gives `spec` (numSMs small: each CTA
/// walks several tiles); checks stored rows exactly and the rest poisoned.
/// `out`: where the operands and output are left for further checks.
template <class C>
void runCase(GemmSpec spec, int64_t runRows, uint32_t seed, EmuRun *out = nullptr) {
  SCOPED_TRACE(std::to_string(C::M) + "x" + std::to_string(C::N) + "x" + std::to_string(C::K) +
               (C::TRANS_B ? " B^T" : " B") + (C::RUNTIME_M ? " runtime rows " : " rows ") +
               std::to_string(runRows));
  // The generator's choice is this config's.
  ASSERT_TRUE(wgmma::usesTma(spec)) << wgmma::tmaUnsupportedReason(spec);
  ASSERT_EQ(wgmma::splitK(spec), 1);
  const TileConfig t = wgmma::tmaTile(spec);
  ASSERT_EQ(t.bm, C::BM);
  ASSERT_EQ(t.bn, C::BN);
  ASSERT_EQ(t.stages, C::STAGES);
  const std::string text = wgmma::emitWgmmaGemm(spec, "k");
  ASSERT_NE(text.find("static constexpr int BM = " + std::to_string(C::BM) +
                      ", BN = " + std::to_string(C::BN) +
                      ", STAGES = " + std::to_string(C::STAGES) + ", SPLIT = 1;"),
            std::string::npos)
      << text;
  ASSERT_NE(text.find("static constexpr int M = " + std::to_string(C::M) +
                      ", N = " + std::to_string(C::N) + ", K = " + std::to_string(C::K) + ";"),
            std::string::npos)
      << text;
  ASSERT_NE(text.find(std::string("RUNTIME_M = ") + (C::RUNTIME_M ? "true" : "false")),
            std::string::npos);
  if (C::RUNTIME_M) {
    ASSERT_NE(text.find("rows(const long long *effc_dims) { return (effc_dims[0]); }"),
              std::string::npos)
        << text;
  }
  ASSERT_NE(text.find(std::string("TRANS_B = ") + (C::TRANS_B ? "true" : "false")),
            std::string::npos);
  ASSERT_EQ(wgmma::usesPingpong(spec), C::PINGPONG) << wgmma::pingpongUnsupportedReason(spec);
  ASSERT_NE(text.find(std::string("PINGPONG = ") + (C::PINGPONG ? "true;" : "false;")),
            std::string::npos)
      << text;
  ASSERT_NE(text.find(std::string("EPILOGUE = ") + (C::EPILOGUE ? "true;" : "false;")),
            std::string::npos)
      << text;

  // Operands: small integers; A's rows past the run's M are NaN.
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> small(-2, 2);
  std::vector<uint16_t> a(size_t(C::M) * C::K), b(size_t(C::N) * C::K), bias(C::N);
  for (int64_t r = 0; r < C::M; ++r)
    for (int k = 0; k < C::K; ++k)
      a[size_t(r) * C::K + k] = r < runRows ? emu::f32_to_bf16(float(small(rng))) : 0x7FC0;
  for (auto &x : b)
    x = emu::f32_to_bf16(float(small(rng)));
  for (auto &x : bias)
    x = emu::f32_to_bf16(float(small(rng)));
  std::vector<uint16_t> c(size_t(C::M) * C::N, 0xFFFF); // NaN poison

  // The maps the plan writes (wgmma::tmaMaps), "encoded" for the emulation.
  std::vector<TensorMapDesc> maps = wgmma::tmaMaps(spec);
  ASSERT_EQ(maps.size(), 2u);
  emu::HopTensorMap tm[2] = {emu::emu_encode(maps[0], a.data()),
                             emu::emu_encode(maps[1], b.data())};
  // A's map spans the planned rows (the bound), not the run's.
  EXPECT_EQ(maps[0].dims[1], uint64_t(C::M));

  // The launch: planned grid, x following the run (the cuda backend's rule).
  LaunchDims l = wgmma::wgmmaGemmLaunch(spec);
  for (const RuntimeGrid &r : l.runtimeGrid) {
    int64_t count = 0;
    for (const auto &[dims, coeff] : r.count.terms()) {
      int64_t term = coeff;
      for (size_t d = 0; d < dims.size(); ++d)
        term *= runRows;
      count += term;
    }
    l.grid[r.axis] = uint32_t(std::clamp<int64_t>((count + r.perBlock - 1) / r.perBlock, 1, r.cap));
  }
  ASSERT_EQ(l.grid[1], 1u);
  ASSERT_LE(l.sharedBytes, emu::kDynBytes);
  const long long dims[1] = {runRows};
  emu::gridDim = {l.grid[0], 1, 1};
  {
    std::lock_guard<std::mutex> lock(emu::gBarMutex);
    emu::gBars.clear();
  }
  emu::launch(
      l.grid[0], 1,
      [&] {
        if constexpr (C::EPILOGUE)
          emu::wgmma_tma_gemm<C>(C::HAS_BIAS ? bias.data() : nullptr, c.data(), &tm[0], &tm[1],
                                 TestEpilogue(), C::RUNTIME_M ? dims : nullptr);
        else
          emu::wgmma_tma_gemm<C>(C::HAS_BIAS ? bias.data() : nullptr, c.data(), &tm[0], &tm[1],
                                 emu::TcgNoEpilogue(), C::RUNTIME_M ? dims : nullptr);
      },
      l.block[0]);

  // Rows < the run's M: exactly bf16(sum) (+ bias); the rest untouched.
  int bad = 0, written = 0;
  for (int64_t r = 0; r < C::M; ++r)
    for (int n = 0; n < C::N; ++n) {
      const uint16_t got = c[size_t(r) * C::N + n];
      if (r >= runRows) {
        written += got != 0xFFFF;
        continue;
      }
      double s = C::HAS_BIAS ? emu::bf16_to_f32(bias[n]) : 0.0;
      for (int k = 0; k < C::K; ++k) {
        const float bv =
            emu::bf16_to_f32(C::TRANS_B ? b[size_t(n) * C::K + k] : b[size_t(k) * C::N + n]);
        s += double(emu::bf16_to_f32(a[size_t(r) * C::K + k])) * bv;
      }
      if constexpr (C::EPILOGUE)
        s = TestEpilogue()(float(s), 0, int(r), n);
      if (got != emu::f32_to_bf16(float(s)) && bad++ < 5)
        ADD_FAILURE() << "C[" << r << "][" << n << "] = " << emu::bf16_to_f32(got) << ", want "
                      << s;
    }
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(written, 0) << "elements written in rows past the run's M";
  if (out)
    *out = {std::move(a), std::move(b), std::move(c)};
}

/// A bf16 spec on the 64x64 tile, or `tile` (a wgmma::candidateTiles() entry
/// or, with pingpong, none: the ping-pong plan's own choice).
GemmSpec spec(int64_t m, int64_t n, int64_t k, bool transB, bool runtime, bool bias, int sms,
              TileConfig tile = {64, 64, 64, 4, 1, 8}, bool pingpong = false,
              bool epilogue = false) {
  GemmSpec s;
  s.pingpong = pingpong;
  if (epilogue)
    s.epilogue.code = kTestEpilogueCode;
  s.tile = tile;
  s.M = m, s.N = n, s.K = k;
  s.transB = transB;
  s.aType = s.bType = s.yType = DType::BFLOAT16;
  s.sm90a = s.tma = true;
  s.numSMs = sms;
  if (bias) {
    s.hasBias = true;
    s.biasType = DType::BFLOAT16;
    s.biasStrideN = 1;
    s.numInputs = 3;
  }
  if (runtime)
    s.runtimeRows = Extent::dim(0);
  return s;
}

} // namespace

// The static kernel first: the emulation agrees with it on ragged M and N
// (one CTA per SM of 3: each walks several tiles, the ring's phases wrap).
TEST(WgmmaTmaEmu, StaticRaggedTiles) {
  using C = Cfg<197, 136, 256, true, false, 64, 64, 8, false>;
  runCase<C>(spec(197, 136, 256, true, false, false, 3), 197, 1);
}

// Runtime rows, B [N][K] (eff.gemm transB, with a bias): the run's M below
// one tile, at a tile edge, ragged in the middle, at the bound.
TEST(WgmmaTmaEmu, RuntimeRowsTransposedB) {
  using C = Cfg<192, 128, 256, true, true, 64, 64, 8, true>;
  for (int64_t rows : {1, 64, 100, 192})
    runCase<C>(spec(192, 128, 256, true, true, true, 3), rows, uint32_t(rows));
}

// Runtime rows, B [K][N] (eff.matmul: B MN-major through its TMA boxes).
TEST(WgmmaTmaEmu, RuntimeRowsMatmul) {
  using C = Cfg<256, 192, 128, false, true, 64, 64, 8, false>;
  for (int64_t rows : {3, 130, 255})
    runCase<C>(spec(256, 192, 128, false, true, false, 4), rows, uint32_t(rows) + 7);
}

// The 128x256 tile: two consumer warpgroups (384 threads), 4 stages.
TEST(WgmmaTmaEmu, RuntimeRowsTwoConsumers) {
  using C = Cfg<384, 256, 128, false, true, 128, 256, 4, false>;
  for (int64_t rows : {70, 257})
    runCase<C>(spec(384, 256, 128, false, true, false, 2, {128, 256, 64, 8, 1, 4}), rows,
               uint32_t(rows) + 11);
}

// The ping-pong schedule (GemmSpec.pingpong): the two consumer warpgroups
// alternate whole tiles of each CTA's walk, step their ring positions over
// each other's tiles and take turns through the `turn` mbarriers. Few SMs,
// so every CTA walks several tiles (and with 3 SMs some consumer 1 has
// none); k-tile counts that wrap the ring inside a tile (7 over 6 stages)
// and between tiles (4 over 8). 128 x 128 (two m64 blocks per warpgroup,
// the plan's replacement for 128 x 256), 64 x 64 and 64 x 256 tiles;
// ragged M and N, bias, a fused epilogue, runtime rows, B [N][K] and [K][N].
TEST(WgmmaTmaEmu, PingpongStaticRagged) {
  // The unforced plan: 128 x 256 becomes CUTLASS's 128 x 128 ping-pong tile.
  GemmSpec s = spec(197, 200, 448, true, false, true, 1, {0, 0, 0, 0, 0, 0}, true, true);
  EXPECT_EQ(wgmma::chooseTile(s).bn, 256);
  EXPECT_EQ(wgmma::kernelVariant(s), "wg128x128_s6_tma_pp");
  using C = Cfg<197, 200, 448, true, false, 128, 128, 6, true, true, true>;
  runCase<C>(s, 197, 51);
  s.numSMs = 3; // CTAs with 2, 1 and 1 tiles
  runCase<C>(s, 197, 52);
}

TEST(WgmmaTmaEmu, PingpongRuntimeRowsMatmul) {
  using C = Cfg<256, 192, 256, false, true, 64, 64, 8, false, true>;
  for (int64_t rows : {3, 130, 255})
    runCase<C>(spec(256, 192, 256, false, true, false, 2, {64, 64, 64, 4, 1, 8}, true), rows,
               uint32_t(rows) + 60);
}

TEST(WgmmaTmaEmu, PingpongRuntimeRowsEpilogueWideTile) {
  using C = Cfg<320, 264, 128, true, true, 64, 256, 5, true, true, true>;
  for (int64_t rows : {1, 64, 250})
    runCase<C>(spec(320, 264, 128, true, true, true, 2, {64, 256, 64, 4, 1, 5}, true, true), rows,
               uint32_t(rows) + 70);
}

// Where ping-pong cannot apply the plan keeps the cooperative schedule and
// says why: a forced 128 x 256 tile (256 accumulators per thread), a split.
TEST(WgmmaTmaEmu, PingpongFallsBackWithAReason) {
  GemmSpec wide = spec(512, 512, 256, false, false, false, 132, {128, 256, 64, 8, 1, 4}, true);
  EXPECT_FALSE(wgmma::usesPingpong(wide));
  EXPECT_NE(wgmma::pingpongUnsupportedReason(wide).find("more than 128 accumulators"),
            std::string::npos)
      << wgmma::pingpongUnsupportedReason(wide);
  EXPECT_EQ(wgmma::kernelVariant(wide), "wg128x256_s4_tma");
  GemmSpec skinny = spec(16, 512, 2048, false, false, false, 132, {0, 0, 0, 0, 0, 0}, true);
  EXPECT_FALSE(wgmma::usesPingpong(skinny));
  EXPECT_NE(wgmma::pingpongUnsupportedReason(skinny).find("split-K 2"), std::string::npos)
      << wgmma::pingpongUnsupportedReason(skinny);
  EXPECT_EQ(wgmma::kernelVariant(skinny), "wg64x64_s8_tma_sk2");
  skinny.tma = false;
  EXPECT_NE(wgmma::pingpongUnsupportedReason(skinny).find("not the TMA kernel"), std::string::npos);
  // The cooperative plan is unchanged by the request where it falls back.
  GemmSpec asked = spec(4096, 2048, 2048, false, false, false, 132, {0, 0, 0, 0, 0, 0}, true);
  EXPECT_TRUE(wgmma::usesPingpong(asked));
  EXPECT_EQ(wgmma::wgmmaGemmLaunch(asked).block[0], 384u);
  EXPECT_EQ(wgmma::wgmmaGemmLaunch(asked).sharedBytes, 6u * 256 * 128 + 1024);
  asked.pingpong = false;
  EXPECT_EQ(wgmma::kernelVariant(asked), "wg128x256_s4_tma");
}

// A constant weight [K, N] whose rows are not 16-byte aligned (N odd: no
// TMA map can read it), stored [N, K] by eff-k-major-weights: the spec is
// describeGemm's of the eff.matmul(a [M, K], w [N, K]) {transB = 1} the
// pass leaves, the TMA kernel reads B K-major, TMA zero-fills the ragged
// last N tile and the stores stop at N. The output must equal the host
// backend's eff.matmul on the same operands (the host reference, which
// reads the logical [K, N] weight through transB) on every run row. N = 77
// at static M in {1, 17, 64, 200}; GPT-2's vocab, N = 50257, over runtime
// rows planned at 200, run at 1, 17, 64 and 200 (one k-tile: emulation time).
namespace {
GemmSpec kMajorSpec(int64_t m, int64_t n, int64_t k, bool runtime) {
  KernelDesc d;
  d.op = "eff.matmul";
  d.attrs["transB"] = int64_t(1);
  d.inputs = {TensorDesc{DType::BFLOAT16, {m, k}}, TensorDesc{DType::BFLOAT16, {n, k}}};
  d.outputs = {TensorDesc{DType::BFLOAT16, {m, n}}};
  GemmSpec s;
  std::string error;
  EXPECT_TRUE(describeGemm(d, s, error)) << error;
  EXPECT_TRUE(s.transB);
  EXPECT_EQ(s.N, n);
  EXPECT_EQ(s.ldB(), k);
  const GemmSpec shaped = spec(m, n, k, true, runtime, false, 8);
  s.tile = shaped.tile;
  s.sm90a = s.tma = true;
  s.numSMs = shaped.numSMs;
  s.runtimeRows = shaped.runtimeRows;
  // Stored [K, N] the rows of B would keep it off every wgmma kernel.
  GemmSpec kn = s;
  kn.transB = false;
  EXPECT_FALSE(wgmma::unsupportedReason(kn).empty());
  return s;
}

template <class C> void runKMajorCase(int64_t runRows, uint32_t seed) {
  EmuRun r;
  runCase<C>(kMajorSpec(C::M, C::N, C::K, C::RUNTIME_M), runRows, seed, &r);
  if (r.c.empty())
    return; // runCase failed before the launch
  std::vector<uint16_t> want(size_t(runRows) * C::N);
  Status st = host::runKernel(
      "eff.matmul", {{"transB", int64_t(1)}},
      {{DType::BFLOAT16, {runRows, C::K}, r.a.data()}, {DType::BFLOAT16, {C::N, C::K}, r.b.data()}},
      {{DType::BFLOAT16, {runRows, C::N}, want.data()}});
  ASSERT_TRUE(st.ok()) << st.message();
  int bad = 0;
  for (size_t i = 0; i < want.size(); ++i)
    if (r.c[i] != want[i] && bad++ < 5)
      ADD_FAILURE() << "C[" << i / C::N << "][" << i % C::N << "] = " << emu::bf16_to_f32(r.c[i])
                    << ", the host backend's " << emu::bf16_to_f32(want[i]);
  EXPECT_EQ(bad, 0);
}
} // namespace

TEST(WgmmaTmaEmu, KMajorWeightOddN) {
  runKMajorCase<Cfg<1, 77, 128, true, false, 64, 64, 8, false>>(1, 31);
  runKMajorCase<Cfg<17, 77, 128, true, false, 64, 64, 8, false>>(17, 32);
  runKMajorCase<Cfg<64, 77, 128, true, false, 64, 64, 8, false>>(64, 33);
  runKMajorCase<Cfg<200, 77, 128, true, false, 64, 64, 8, false>>(200, 34);
}

TEST(WgmmaTmaEmu, KMajorWeightVocabN) {
  using C = Cfg<200, 50257, 64, true, true, 64, 64, 8, false>;
  for (int64_t rows : {1, 17, 64, 200})
    runKMajorCase<C>(rows, 40u + uint32_t(rows));
}

// The mma.sync and cp.async wgmma kernels over runtime rows (tcg_gemm,
// wgmma_gemm): their grouped raster (tcg_raster) laid over the run's
// ceil(rows / BM) tile-rows gives each of the run's tiles exactly one of the
// grid's first CTAs, at the grid the cuda backend launches (the rule
// ceil((rows + BM - 1) * tilesN / BM), capped at the planned grid), and no
// tile past the run's rows to any CTA (those exit at once).
TEST(WgmmaTmaEmu, NonTmaRasterCoversTheRunsTiles) {
  for (int bm : {64, 128})
    for (int tilesN : {1, 3, 12, 197}) {
      const int planned = 4096 / bm; // tile-rows of the planned M = 4096
      const int64_t cap = int64_t(planned) * tilesN;
      for (int64_t rows = 1; rows <= 4096; rows += rows < 300 ? 1 : 97) {
        const int runTiles = int((rows + bm - 1) / bm);
        const int64_t grid = std::clamp<int64_t>(((rows + bm - 1) * tilesN + bm - 1) / bm, 1, cap);
        ASSERT_GE(grid, int64_t(runTiles) * tilesN) << rows;
        std::vector<int> hits(size_t(runTiles) * tilesN, 0);
        for (int pid = 0; pid < int(grid); ++pid) {
          int m = -1, n = -1;
          if (!emu::tcg_raster(pid, runTiles, tilesN, m, n)) {
            ASSERT_GE(pid, runTiles * tilesN) << rows << " pid " << pid;
            continue;
          }
          ASSERT_LT(m, runTiles) << rows << " pid " << pid;
          ASSERT_LT(n, tilesN) << rows << " pid " << pid;
          ++hits[size_t(m) * tilesN + n];
        }
        for (int h : hits)
          ASSERT_EQ(h, 1) << "bm " << bm << " tilesN " << tilesN << " rows " << rows;
      }
    }
}

// The decode path of a runtime-rows GEMM (tcg_decode_gemv, what the mma.sync
// and wgmma kernels run for at most tcgemm::decodeRows rows): each of its
// 16-column items over a grid of 3 CTAs of 64 threads (grid-stride over the
// items), 4-row passes, the warp butterfly and the cross-warp sum. Small
// integer operands, so the fp32 sums are exact and the stores must equal
// the reference rounded to bf16; rows past the run's stay poisoned. B [K][N]
// and [N][K]; 16-byte loads where rows are aligned, element loads where
// they are not (N = 50: a vocab-like N; K = 100: A rows not aligned), a
// ragged last item, a bias; bf16 and fp16.
template <int N_, int K_, bool TB, bool BIAS, bool F16 = false> struct DvCfg {
  static constexpr int A_TYPE = F16 ? emu::TCG_F16 : emu::TCG_BF16, Y_TYPE = A_TYPE,
                       BIAS_TYPE = A_TYPE;
  static constexpr bool TRANS_A = false, TRANS_B = TB, HAS_BIAS = BIAS, EPILOGUE = false;
  static constexpr int M = 64, N = N_, K = K_;
  static constexpr long long LDA = K_, LDB = TB ? K_ : N_, LDC = N_;
  static constexpr long long BATCH = 1;
  static constexpr float ALPHA = 1.0f, BETA = 1.0f;
  static constexpr long long BIAS_STRIDE_M = 0, BIAS_STRIDE_N = BIAS ? 1 : 0;
};

template <class C> void runDecodeCase(int rows, uint32_t seed) {
  SCOPED_TRACE(std::to_string(C::N) + "x" + std::to_string(C::K) + (C::TRANS_B ? " B^T" : " B") +
               " rows " + std::to_string(rows));
  DecodeGemvCase<C> t(seed);
  t.launch([&] {
    emu::tcg_decode_gemv<C>(t.a.data(), t.b, t.biasOrNull(), t.c.data(), emu::TcgNoEpilogue(), rows,
                            t.red.data());
  });
  t.check(rows, emu::TcgNoEpilogue());
}

TEST(WgmmaTmaEmu, DecodeGemvMatchesTheReference) {
  for (int rows : {1, 3, 4, 5, 16}) {
    runDecodeCase<DvCfg<64, 96, false, true>>(rows, 11u + unsigned(rows)); // aligned, B [K][N]
    runDecodeCase<DvCfg<64, 96, true, false>>(rows, 23u + unsigned(rows)); // aligned, B [N][K]
    runDecodeCase<DvCfg<50, 96, false, true>>(rows, 37u + unsigned(rows)); // N = 50: element loads
    runDecodeCase<DvCfg<50, 100, true, true>>(rows, 41u + unsigned(rows)); // K = 100: element loads
    runDecodeCase<DvCfg<64, 96, false, true, true>>(rows, 53u + unsigned(rows)); // fp16
    runDecodeCase<DvCfg<64, 96, true, false, true>>(rows, 59u + unsigned(rows)); // fp16, B [N][K]
  }
}
