// The Hopper wgmma GEMM generator (WgmmaGemm.h): when emitGemm picks it
// (sm_90a artifacts only, 16-byte aligned 16-bit operands), what it rejects,
// and NVRTC compiles of a spread of specs for sm_90a (no GPU needed).
// Numerics are checked on an H100 by test/gpu/hopper_gemm.sh.
#include "compiler/codegen/device/DeviceCode.h"
#include "compiler/codegen/gemm/Gemm.h"
#include "compiler/codegen/gemm/TensorCoreGemm.h"
#include "compiler/codegen/gemm/WgmmaGemm.h"
#include "cuda/Nvrtc.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

using namespace effc;
using namespace effc::codegen;

namespace {

GemmSpec gemm(int64_t m, int64_t n, int64_t k, DType ab, DType c) {
  GemmSpec s;
  s.M = m;
  s.N = n;
  s.K = k;
  s.aType = s.bType = ab;
  s.yType = c;
  return s;
}

KernelDesc matmulDesc(int64_t m, int64_t n, int64_t k, DType t) {
  KernelDesc d;
  d.op = std::string(opName(EffOp::MatMulOp));
  d.name = "k_mm";
  d.inputs = {TensorDesc{t, {m, k}}, TensorDesc{t, {k, n}}};
  d.outputs = {TensorDesc{t, {m, n}}};
  return d;
}

struct NamedSpec {
  std::string name;
  GemmSpec spec;
};

/// Dtypes x transposes x ragged sizes x every tile, epilogues, batches.
std::vector<NamedSpec> wgmmaSpread() {
  std::vector<NamedSpec> out;
  int id = 0;
  auto add = [&](const std::string &what, GemmSpec s) {
    s.sm90a = true;
    out.push_back({"wg_" + std::to_string(id++) + "_" + what, s});
  };
  for (DType t : {DType::BFLOAT16, DType::FLOAT16})
    for (int tr = 0; tr < 4; ++tr) {
      GemmSpec s = gemm(197, 263, 140, t, t); // ragged M, N, K; odd N: unpaired stores
      s.transA = tr & 1;
      s.transB = tr & 2;
      s.lda = s.transA ? 200 : 144;
      s.ldb = s.transB ? 144 : 264;
      add(std::string(t == DType::FLOAT16 ? "f16" : "bf16") + "_tr" + std::to_string(tr), s);
    }
  for (const TileConfig &tile : wgmma::candidateTiles()) {
    GemmSpec s = gemm(4096, 4096, 4096, DType::BFLOAT16, DType::BFLOAT16);
    s.tile = tile;
    add("tile_" + wgmma::tileName(tile), s);
  }
  {
    GemmSpec s = gemm(16, 2048, 1024, DType::BFLOAT16, DType::FLOAT32);
    s.hasBias = true;
    s.biasType = DType::FLOAT32;
    s.biasStrideN = 1;
    s.numInputs = 4;
    s.epilogue.code =
        "v = v < 0.0f ? 0.0f : v;\nv += tcg_ld_bf16(in3, (long long)row * 2048 + col);";
    add("decode_bias_relu_residual", s);
  }
  {
    GemmSpec s = gemm(128, 64, 96, DType::BFLOAT16, DType::BFLOAT16);
    s.transB = true;
    s.batchDims = {12};
    s.aBatchStrides = {128 * 96};
    s.bBatchStrides = {0};
    add("batched_broadcast_b", s);
  }
  // Ragged edges on the largest tiles (the most registers in the epilogue).
  for (int tile : {0, 2}) {
    GemmSpec s = gemm(197, 263, 140, DType::BFLOAT16, DType::BFLOAT16);
    s.lda = 144;
    s.ldb = 264;
    s.tile = wgmma::candidateTiles()[size_t(tile)];
    add("ragged_" + wgmma::tileName(s.tile), s);
  }
  {
    GemmSpec s = gemm(16, 512, 2048, DType::BFLOAT16, DType::BFLOAT16);
    s.splitK = 8; // the largest cluster (TMA variant only)
    add("split8", s);
  }
  // Runtime rows (M = batch * seq of the symbolic dims, planned at the
  // bound): unsplit on the big tile, ragged with a bias, split-K 2 and 4
  // (the TMA variant's cluster along y).
  {
    GemmSpec s = gemm(2 * 512, 4096, 4096, DType::BFLOAT16, DType::BFLOAT16);
    s.runtimeRows = Extent::dim(0) * Extent(2);
    add("rt_rows_big", s);
    GemmSpec r = gemm(197, 263, 144, DType::FLOAT16, DType::FLOAT16);
    r.ldb = 264;
    r.hasBias = true;
    r.biasType = DType::FLOAT16;
    r.biasStrideN = 1;
    r.numInputs = 3;
    r.runtimeRows = Extent::dim(1) + Extent(5);
    add("rt_rows_ragged_bias", r);
    GemmSpec k = gemm(32, 512, 2048, DType::BFLOAT16, DType::BFLOAT16);
    k.runtimeRows = Extent::dim(0);
    add("rt_rows_split2", k);
    k.splitK = 4;
    add("rt_rows_split4", k);
  }
  // eff-k-major-weights: an odd-N weight stored [N, K] (B K-major, the last
  // N tile ragged): GPT-2's LM head (N = 50257) at a prompt and over
  // runtime rows, a small odd N in fp16.
  {
    GemmSpec s = gemm(512, 50257, 768, DType::BFLOAT16, DType::BFLOAT16);
    s.transB = true;
    add("kmajor_lm_head", s);
    s.M = 2 * 512;
    s.runtimeRows = Extent::dim(0) * Extent(2);
    add("kmajor_lm_head_rt_rows", s);
    GemmSpec o = gemm(17, 77, 128, DType::FLOAT16, DType::FLOAT16);
    o.transB = true;
    add("kmajor_odd_n_f16", o);
  }
  // Each of the above again as the TMA warp-specialized kernel.
  const size_t cpAsync = out.size();
  for (size_t i = 0; i < cpAsync; ++i) {
    NamedSpec t = out[i];
    t.name += "_tma";
    t.spec.tma = true;
    out.push_back(t);
  }
  return out;
}

} // namespace

// sm_80/sm_90 artifacts (spec.sm90a false) keep the mma.sync kernel, byte
// for byte; sm_90a takes the wgmma kernel where it applies.
TEST(WgmmaGemm, OnlySm90aArtifactsPickIt) {
  std::string error;
  GemmSpec s;
  KernelDesc d = matmulDesc(4096, 2048, 2048, DType::BFLOAT16);
  ASSERT_TRUE(describeGemm(d, s, error)) << error;
  EXPECT_FALSE(s.sm90a); // describeGemm's default
  EXPECT_FALSE(usesWgmma(s));
  CudaKernel mma = emitGemm(d, s);
  EXPECT_EQ(mma.source, tcgemm::emitTensorCoreGemm(s, "k_mm"));
  EXPECT_EQ(mma.source.find("wgmma"), std::string::npos);

  s.sm90a = true;
  EXPECT_TRUE(usesWgmma(s));
  CudaKernel wg = emitGemm(d, s);
  EXPECT_NE(wg.source.find("// effc wgmma GEMM (sm_90a): C[1][4096][2048]"), std::string::npos)
      << wg.source;
  EXPECT_NE(
      wg.source.find("wgmma_gemm<effc_wgmma_cfg_k_mm>(A_, B_, nullptr, C_, TcgNoEpilogue());"),
      std::string::npos)
      << wg.source;
  EXPECT_EQ(wg.launch.block[0], 256u);
  EXPECT_TRUE(wg.needsGemmPrelude);

  // fp32 stays the exact FFMA kernel; unaligned rows keep mma.sync.
  KernelDesc f = matmulDesc(64, 48, 32, DType::FLOAT32);
  ASSERT_TRUE(describeGemm(f, s, error)) << error;
  s.sm90a = true;
  EXPECT_FALSE(usesWgmma(s));
  KernelDesc odd = matmulDesc(77, 130, 100, DType::FLOAT16); // K = 100: rows of 200 bytes
  ASSERT_TRUE(describeGemm(odd, s, error)) << error;
  s.sm90a = true;
  EXPECT_TRUE(usesTensorCores(s));
  EXPECT_FALSE(usesWgmma(s));
  EXPECT_NE(emitGemm(odd, s).source.find("tcg_gemm<"), std::string::npos);
}

TEST(WgmmaGemm, RejectsWhatItCannotDo) {
  EXPECT_EQ(wgmma::unsupportedReason(gemm(128, 128, 64, DType::BFLOAT16, DType::FLOAT32)), "");
  EXPECT_NE(wgmma::unsupportedReason(gemm(128, 128, 64, DType::FLOAT32, DType::FLOAT32)), "");
  GemmSpec lda = gemm(128, 128, 60, DType::BFLOAT16, DType::BFLOAT16);
  EXPECT_NE(wgmma::unsupportedReason(lda), ""); // K = 60: A rows of 120 bytes
  lda.lda = 64;
  lda.ldb = 0;
  EXPECT_EQ(wgmma::unsupportedReason(lda), ""); // padded A rows; B [60][128] is aligned
  GemmSpec batch = gemm(64, 64, 64, DType::FLOAT16, DType::FLOAT16);
  batch.batchDims = {3};
  batch.aBatchStrides = {64 * 64 + 4};
  batch.bBatchStrides = {0};
  batch.lda = 64;
  EXPECT_NE(wgmma::unsupportedReason(batch), "");
}

TEST(WgmmaGemm, TileRuleAndLaunch) {
  GemmSpec big = gemm(8192, 8192, 8192, DType::BFLOAT16, DType::BFLOAT16);
  TileConfig t = wgmma::chooseTile(big);
  EXPECT_EQ(t.bm * t.bn, 128 * 256);
  LaunchDims l = wgmma::wgmmaGemmLaunch(big);
  EXPECT_EQ(l.grid[0], 64u * 32u);
  EXPECT_EQ(l.block[0], 256u);
  EXPECT_EQ(l.sharedBytes, 4u * (128 + 256) * 128 + 1024);
  for (const TileConfig &c : wgmma::candidateTiles()) {
    EXPECT_EQ(c.threads(), 128 * (c.bm / 64)) << wgmma::tileName(c);
    GemmSpec forced = big;
    forced.tile = c;
    EXPECT_TRUE(wgmma::chooseTile(forced) == c);
    EXPECT_LE(wgmma::wgmmaGemmLaunch(forced).sharedBytes, 227u * 1024);
  }
  // Decode-sized M: a 64-row tile (one warpgroup) wastes the least.
  EXPECT_EQ(wgmma::chooseTile(gemm(16, 4096, 4096, DType::BFLOAT16, DType::BFLOAT16)).bm, 64);
}

// The spread in one translation unit compiles for sm_90a with no spills and
// every symbol; the same text does not compile for sm_90 (wgmma needs the
// `a` target), which is why only sm_90a artifacts may carry it.
TEST(WgmmaGemm, CompilesWithNvrtcForSm90aOnly) {
  Status loaded = nvrtc::load();
  ASSERT_TRUE(loaded.ok()) << "libnvrtc not loadable: " << loaded.message();
  std::vector<NamedSpec> specs = wgmmaSpread();
  std::string source = wgmma::wgmmaGemmPrelude();
  for (const NamedSpec &ns : specs) {
    std::string k = wgmma::emitWgmmaGemm(ns.spec, ns.name);
    ASSERT_FALSE(k.empty()) << ns.name << ": " << wgmma::unsupportedReason(ns.spec);
    source += k;
  }
  auto c = nvrtc::compile(source, nvrtc::compileOptions("sm_90a", {"--ptxas-options=-v"}),
                          "wgmma_spread.cu");
  ASSERT_TRUE(c.ok()) << c.status().message();
  auto fns = nvrtc::cubinFunctions(c->cubin.data(), c->cubin.size());
  ASSERT_TRUE(fns.ok()) << fns.status().message();
  for (const NamedSpec &ns : specs) {
    EXPECT_NE(std::find(fns->begin(), fns->end(), ns.name), fns->end()) << "lacks " << ns.name;
    size_t at = c->log.find("'" + ns.name + "'");
    ASSERT_NE(at, std::string::npos) << "no ptxas report for " << ns.name << "\n" << c->log;
    size_t spill = c->log.find("spill stores", at);
    ASSERT_NE(spill, std::string::npos);
    size_t lineStart = c->log.rfind('\n', spill);
    std::string line = c->log.substr(lineStart + 1, c->log.find('\n', spill) - lineStart - 1);
    EXPECT_NE(line.find(", 0 bytes spill stores"), std::string::npos) << ns.name << ": " << line;
  }
  // The TMA kernels' setmaxnreg takes effect (ptxas warns when it ignores it).
  EXPECT_EQ(c->log.find("setmaxnreg"), std::string::npos) << c->log;
  // ptxas serializes wgmma (a silent slowdown) when it cannot prove the
  // accumulators stay in registers; it says so in a warning.
  EXPECT_EQ(c->log.find("serialized"), std::string::npos) << c->log;
  std::printf("[ sm_90a ] %zu wgmma kernels, %.0f ms\n", specs.size(), c->ms);

  auto sm90 = nvrtc::compile(source, nvrtc::compileOptions("sm_90", {}), "wgmma_spread.cu");
  EXPECT_FALSE(sm90.ok()) << "wgmma compiled for sm_90";
}

// The hopper.cuh building blocks the GEMM does not use yet (mbarrier, TMA,
// setmaxnreg) assemble for sm_90a: one kernel calls each, so ptxas checks
// their PTX (an uncalled inline function never reaches it).
TEST(WgmmaGemm, HopperBuildingBlocksAssembleForSm90a) {
  Status loaded = nvrtc::load();
  ASSERT_TRUE(loaded.ok()) << "libnvrtc not loadable: " << loaded.message();
  std::string source = deviceSources({"primitives.cuh", "hopper.cuh"}) + R"(
struct TmapStandIn { alignas(64) unsigned long long bits[16]; };  // CUtensorMap: 128 bytes
EFFC_KERNEL void __launch_bounds__(256, 1) hopper_blocks(const __grid_constant__ TmapStandIn tmap, float *out) {
  __shared__ __align__(1024) unsigned char tile[8192];
  __shared__ __align__(8) unsigned long long bar;
  const u32 b = smem_u32(&bar), t = smem_u32(tile);
  if (threadIdx.x == 0) {
    hop_tma_prefetch_desc(&tmap);
    hop_mbar_init(b, 1);
    hop_mbar_init_fence();
  }
  __syncthreads();
  if (threadIdx.x >= 128) {
    hop_setmaxnreg_dec<40>();
    if (threadIdx.x == 128) {
      hop_mbar_arrive_expect_tx(b, 8192);
      hop_tma_load_2d(t, &tmap, b, 0, 0);
    }
  } else {
    hop_setmaxnreg_inc<232>();
    hop_mbar_wait(b, 0);
    hop_fence_proxy_async_smem();
    float acc[32];
    for (int i = 0; i < 32; ++i) acc[i] = 0.f;
    hop_wgmma_fence();
    hop_wgmma_m64k16<64, true, false, false>(acc, hop_desc_sw128(t, 16, 1024), hop_desc_sw128(t, 16, 1024), 0);
    hop_wgmma_commit();
    hop_wgmma_wait<0>();
    for (int i = 0; i < 32; ++i) hop_fence_operand(acc[i]);
    out[threadIdx.x] = acc[threadIdx.x & 31];
    hop_mbar_arrive(b);
  }
}
)";
  auto c = nvrtc::compile(source, nvrtc::compileOptions("sm_90a", {"--ptxas-options=-v"}),
                          "hopper_blocks.cu");
  ASSERT_TRUE(c.ok()) << c.status().message();
  auto fns = nvrtc::cubinFunctions(c->cubin.data(), c->cubin.size());
  ASSERT_TRUE(fns.ok()) << fns.status().message();
  EXPECT_NE(std::find(fns->begin(), fns->end(), "hopper_blocks"), fns->end());
  // ptxas ignores setmaxnreg without a register cap at entry; it warns then.
  EXPECT_EQ(c->log.find("setmaxnreg"), std::string::npos) << c->log;
  EXPECT_NE(c->log.find("hopper_blocks"), std::string::npos) << "no ptxas report: " << c->log;
}

// The TMA kernel only where the launcher passes tensor maps (spec.tma);
// its maps, launch and parameter list.
TEST(WgmmaGemm, TmaKernelOnlyWithTensorMaps) {
  GemmSpec s = gemm(8192, 8192, 8192, DType::BFLOAT16, DType::BFLOAT16);
  s.sm90a = true;
  EXPECT_FALSE(wgmma::usesTma(s));
  std::string cp = wgmma::emitWgmmaGemm(s, "k");
  EXPECT_NE(cp.find("wgmma_gemm<"), std::string::npos);
  EXPECT_EQ(cp.find("wgmma_tma_gemm<"), std::string::npos);
  EXPECT_EQ(cp.find("HopTensorMap"), std::string::npos);
  EXPECT_TRUE(wgmma::tmaMaps(s).empty());
  s.tma = true;
  ASSERT_TRUE(wgmma::usesTma(s));
  std::string tma = wgmma::emitWgmmaGemm(s, "k");
  EXPECT_NE(tma.find("wgmma_tma_gemm<"), std::string::npos);
  EXPECT_NE(tma.find("void *__restrict__ C_, const __grid_constant__ HopTensorMap tmA, "
                     "const __grid_constant__ HopTensorMap tmB)"),
            std::string::npos)
      << tma;
  EXPECT_NE(tma.find("__launch_bounds__(384, 1)"), std::string::npos) << tma;
  // Persistent: one CTA per SM; a producer warpgroup on top of the consumers.
  LaunchDims l = wgmma::wgmmaGemmLaunch(s);
  EXPECT_EQ(l.grid[0], 132u);
  EXPECT_EQ(l.grid[2], 1u);
  EXPECT_EQ(l.block[0], 384u);
  EXPECT_EQ(l.sharedBytes, 4u * (128 + 256) * 128 + 1024);
  s.numSMs = 114;
  EXPECT_EQ(wgmma::wgmmaGemmLaunch(s).grid[0], 114u);
  // A [M][K] K-major: box 64 k x BM rows; B [K][N] MN-major: 64 x 64 boxes.
  std::vector<TensorMapDesc> maps = wgmma::tmaMaps(s);
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps[0].arg, 0);
  EXPECT_EQ(maps[0].dtype, DType::BFLOAT16);
  EXPECT_EQ(maps[0].dims, (std::vector<uint64_t>{8192, 8192, 1}));
  EXPECT_EQ(maps[0].strides, (std::vector<uint64_t>{8192 * 2, 8192ull * 8192 * 2}));
  EXPECT_EQ(maps[0].elementStrides, (std::vector<uint32_t>{1, 1, 1}));
  // cuda.h: no interleave, 128-byte swizzle, L2 256 B, zero fill.
  EXPECT_EQ(maps[0].interleave, 0);
  EXPECT_EQ(maps[0].swizzle, 3);
  EXPECT_EQ(maps[0].l2Promotion, 3);
  EXPECT_EQ(maps[0].oobFill, 0);
  EXPECT_EQ(maps[0].strides[0], 8192u * 2);
  EXPECT_EQ(maps[0].box[0], 64u);
  EXPECT_EQ(maps[0].box[1], 128u);
  EXPECT_EQ(maps[1].arg, 1);
  EXPECT_EQ(maps[1].box[1], 64u);
  // Transposed B ([N][K], K-major) with padded rows, ragged sizes.
  GemmSpec t = gemm(197, 263, 140, DType::FLOAT16, DType::FLOAT16);
  t.sm90a = t.tma = true;
  t.transB = true;
  t.lda = t.ldb = 144;
  t.tile = wgmma::candidateTiles()[2]; // 64 x 256
  maps = wgmma::tmaMaps(t);
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps[1].dims[0], 140u);
  EXPECT_EQ(maps[1].dims[1], 263u);
  EXPECT_EQ(maps[1].strides[0], 144u * 2);
  EXPECT_EQ(maps[1].box[1], 256u);
  EXPECT_EQ(wgmma::wgmmaGemmLaunch(t).block[0], 256u);
  // A batch with a broadcast B: A's map walks the batch, B's stays at 0.
  GemmSpec b = gemm(128, 64, 96, DType::BFLOAT16, DType::BFLOAT16);
  b.sm90a = b.tma = true;
  b.transB = true;
  b.batchDims = {12};
  b.aBatchStrides = {128 * 96};
  b.bBatchStrides = {0};
  maps = wgmma::tmaMaps(b);
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps[0].dims[2], 12u);
  EXPECT_EQ(maps[0].strides[1], 128u * 96 * 2);
  EXPECT_EQ(maps[1].dims[2], 1u);
  EXPECT_NE(wgmma::emitWgmmaGemm(b, "kb").find("BATCH_STRIDE_B = 0"), std::string::npos);
  // Skinny tile counts split K over a cluster; 8192^3 does not. The tile
  // arithmetic is 32-bit: larger tile counts keep the cp.async kernel.
  EXPECT_EQ(wgmma::splitK(s), 1);
  EXPECT_EQ(wgmma::kernelVariant(s), "wg128x256_s4_tma");
  GemmSpec d = gemm(16, 4096, 4096, DType::BFLOAT16, DType::BFLOAT16);
  d.sm90a = d.tma = true;
  EXPECT_EQ(wgmma::kernelVariant(d), "wg64x64_s8_tma"); // 64 tiles: half the SMs already
  d.N = 2048;                                           // 32 tiles x 2 splits of 32 k-tiles
  EXPECT_EQ(wgmma::kernelVariant(d), "wg64x64_s8_tma_sk2");
  LaunchDims dl = wgmma::wgmmaGemmLaunch(d);
  EXPECT_EQ(dl.grid[0], 64u);
  EXPECT_EQ(dl.block[0], 256u);
  EXPECT_EQ(dl.sharedBytes, 8u * (64 + 64) * 128 + 1024 + 64 * 64 * 4); // + reduction buffer
  EXPECT_NE(wgmma::emitWgmmaGemm(d, "kd").find("__cluster_dims__(2, 1, 1) kd("), std::string::npos);
  GemmSpec kv = gemm(16, 512, 2048, DType::BFLOAT16, DType::BFLOAT16); // 8 tiles, 32 k-tiles
  kv.sm90a = kv.tma = true;
  EXPECT_EQ(wgmma::splitK(kv), 2); // at least 16 k-tiles per split
  EXPECT_EQ(wgmma::wgmmaGemmLaunch(kv).grid[0], 16u);
  GemmSpec down = gemm(16, 2048, 8192, DType::BFLOAT16, DType::BFLOAT16); // 32 tiles, 128 k-tiles
  down.sm90a = down.tma = true;
  EXPECT_EQ(wgmma::splitK(down), 2);                                     // 64 CTAs
  GemmSpec kv8 = gemm(16, 1024, 4096, DType::BFLOAT16, DType::BFLOAT16); // 16 tiles, 64 k-tiles
  kv8.sm90a = kv8.tma = true;
  EXPECT_EQ(wgmma::splitK(kv8), 4); // at most 4
  kv.splitK = 8;                    // forced (a sweep)
  EXPECT_EQ(wgmma::splitK(kv), 8);
  EXPECT_EQ(wgmma::wgmmaGemmLaunch(kv).grid[0], 64u);
  kv.splitK = 0;
  kv.K = 512; // 8 k-tiles
  EXPECT_EQ(wgmma::splitK(kv), 1);
  kv.K = 2048;
  kv.tma = false;
  EXPECT_EQ(wgmma::splitK(kv), 1);
  GemmSpec huge = gemm(65536, 65536, 64, DType::BFLOAT16, DType::BFLOAT16);
  huge.sm90a = huge.tma = true;
  huge.batchDims = {2};
  huge.aBatchStrides = huge.bBatchStrides = {0};
  EXPECT_TRUE(wgmma::usesTma(huge));
  huge.batchDims = {4096}; // 2^32 tiles of 64 x 64
  EXPECT_FALSE(wgmma::usesTma(huge));
  EXPECT_EQ(wgmma::tmaUnsupportedReason(huge), "TMA kernel: 2^31 or more 64x64 tiles");
  // Not for sm_80/sm_90 artifacts or K = 0.
  GemmSpec no = s;
  no.sm90a = false;
  EXPECT_FALSE(wgmma::usesTma(no));
  no = s;
  no.K = 0;
  EXPECT_FALSE(wgmma::usesTma(no));
  EXPECT_EQ(wgmma::tmaUnsupportedReason(no), "empty problem (batch, M, N and K must be positive)");
}

// Runtime rows (issue 16): the TMA kernel takes a GEMM whose M follows the
// symbolic dims. Maps, tile and split are those of the planned (largest) M;
// the grid's x follows the run's tiles (a Launch.grid_exprs rule: ceil((rows
// + BM - 1) * tilesN / BM) clusters, capped at the planned ones), the split
// cluster lies along y, the config reads rows() from effc_dims and the
// stores stop at the run's M.
// GPT-2's LM head, [M, 768] x [768, 50257]: stored [K, N] its rows are
// 100514 bytes (no wgmma kernel); stored [N, K] (eff-k-major-weights,
// transB) the TMA kernel takes it, B's map over [N][K] rows of 1536 bytes,
// boxes of 64 k x BN rows (the ragged last N tile zero-filled by TMA).
TEST(WgmmaGemm, KMajorWeightTakesTheTmaKernel) {
  GemmSpec kn = gemm(512, 50257, 768, DType::BFLOAT16, DType::BFLOAT16);
  kn.sm90a = kn.tma = true;
  EXPECT_EQ(wgmma::unsupportedReason(kn),
            "wgmma kernel: A and B rows must be 16-byte aligned (leading dims multiple of 8)");
  EXPECT_FALSE(usesWgmma(kn));
  GemmSpec nk = kn;
  nk.transB = true;
  ASSERT_EQ(wgmma::tmaUnsupportedReason(nk), "");
  ASSERT_TRUE(wgmma::usesTma(nk));
  const TileConfig t = wgmma::tmaTile(nk);
  std::vector<TensorMapDesc> maps = wgmma::tmaMaps(nk);
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps[1].arg, 1);
  EXPECT_EQ(maps[1].dims, (std::vector<uint64_t>{768, 50257, 1}));
  EXPECT_EQ(maps[1].strides, (std::vector<uint64_t>{768 * 2, 768ull * 50257 * 2}));
  EXPECT_EQ(maps[1].box, (std::vector<uint32_t>{64, uint32_t(t.bn), 1}));
  std::string text = wgmma::emitWgmmaGemm(nk, "k");
  EXPECT_NE(text.find("TRANS_B = true"), std::string::npos) << text;
  EXPECT_NE(text.find("LDB = 768"), std::string::npos) << text;
}

TEST(WgmmaGemm, TmaKernelTakesRuntimeRows) {
  GemmSpec s = gemm(2 * 512, 4096, 4096, DType::BFLOAT16, DType::BFLOAT16);
  s.sm90a = s.tma = true;
  GemmSpec fixed = s;
  s.runtimeRows = Extent::dim(0) * Extent(2);
  ASSERT_EQ(wgmma::tmaUnsupportedReason(s), "");
  ASSERT_TRUE(wgmma::usesTma(s));
  EXPECT_EQ(wgmma::kernelVariant(s), wgmma::kernelVariant(fixed));
  EXPECT_EQ(wgmma::splitK(s), wgmma::splitK(fixed));
  // The maps are the planned ones: rows = the bound, zero fill past it.
  std::vector<TensorMapDesc> maps = wgmma::tmaMaps(s), fixedMaps = wgmma::tmaMaps(fixed);
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps[0].dims, (std::vector<uint64_t>{4096, 1024, 1}));
  EXPECT_EQ(maps[0].dims, fixedMaps[0].dims);
  EXPECT_EQ(maps[1].dims, fixedMaps[1].dims);
  const TileConfig t = wgmma::tmaTile(s);
  LaunchDims l = wgmma::wgmmaGemmLaunch(s), lf = wgmma::wgmmaGemmLaunch(fixed);
  EXPECT_EQ(l.grid[0], lf.grid[0]); // the planned grid, at the bound
  EXPECT_EQ(l.grid[1], 1u);
  EXPECT_EQ(l.block[0], lf.block[0]);
  EXPECT_EQ(l.sharedBytes, lf.sharedBytes);
  ASSERT_EQ(l.runtimeGrid.size(), 1u);
  EXPECT_EQ(l.runtimeGrid[0].axis, 0);
  EXPECT_EQ(l.runtimeGrid[0].perBlock, t.bm);
  EXPECT_EQ(l.runtimeGrid[0].cap, int64_t(l.grid[0]));
  // Planned above tcgemm::kDecodeRows: the decode path's clusters (one
  // CTA per 16 columns, at most 4 per SM, over the split) come on top.
  ASSERT_EQ(tcgemm::decodeRows(s), 16);
  const int64_t decodeClusters =
      (std::min<int64_t>(4096 / 16, 4 * 132) + wgmma::splitK(s) - 1) / wgmma::splitK(s);
  EXPECT_EQ(l.runtimeGrid[0].count,
            (Extent::dim(0) * Extent(2) + Extent(t.bm - 1)) * Extent(4096 / t.bn) +
                Extent(decodeClusters * t.bm));
  EXPECT_TRUE(lf.runtimeGrid.empty());
  EXPECT_EQ(tcgemm::decodeRows(fixed), 0);
  // At least every tile of each run's M gets a cluster (up to the cap): the
  // rule's count over BM is never below ceil(rows / BM) * tilesN.
  for (int64_t rows = 1; rows <= 1024; ++rows) {
    const int64_t need = ((rows + t.bm - 1) / t.bm) * (4096 / t.bn);
    const int64_t got =
        ((rows + t.bm - 1) * (4096 / t.bn) + decodeClusters * t.bm + t.bm - 1) / t.bm;
    ASSERT_GE(got, need) << rows;
    ASSERT_LE(got, need + 4096 / t.bn + decodeClusters) << rows;
  }
  std::string k = wgmma::emitWgmmaGemm(s, "kr");
  EXPECT_NE(k.find("static constexpr int M = 1024,"), std::string::npos) << k;
  EXPECT_NE(k.find("static constexpr bool RUNTIME_M = true;"), std::string::npos) << k;
  EXPECT_NE(k.find("rows(const long long *effc_dims) { return (2 * effc_dims[0]); }"),
            std::string::npos)
      << k;
  EXPECT_NE(k.find("void *__restrict__ C_, const long long* __restrict__ effc_dims, const "
                   "__grid_constant__ HopTensorMap tmA, const __grid_constant__ HopTensorMap tmB)"),
            std::string::npos)
      << k;
  EXPECT_NE(k.find("(nullptr, C_, &tmA, &tmB, TcgNoEpilogue(), effc_dims);"), std::string::npos)
      << k;
  // A run of at most 16 rows branches to the decode path first.
  EXPECT_NE(k.find("if (int(min((long long)1024, max(0ll, (long long)(2 * effc_dims[0])))) <= 16) "
                   "{  // a decode-sized run: tcg_decode_gemv"),
            std::string::npos)
      << k;
  EXPECT_LT(k.find("tcg_decode_gemv<effc_wgmma_cfg_kr>(A_, B_, nullptr, C_, TcgNoEpilogue(), "),
            k.find("wgmma_tma_gemm<effc_wgmma_cfg_kr>"))
      << k;
  EXPECT_NE(wgmma::emitWgmmaGemm(fixed, "kf").find("RUNTIME_M = false;"), std::string::npos);

  // Skinny: split-K chosen at the bound; the cluster along y, the grid's y.
  GemmSpec d = gemm(32, 512, 2048, DType::BFLOAT16, DType::BFLOAT16); // 8 tiles, 32 k-tiles
  d.sm90a = d.tma = true;
  d.runtimeRows = Extent::dim(0);
  ASSERT_EQ(wgmma::splitK(d), 2);
  LaunchDims dl = wgmma::wgmmaGemmLaunch(d);
  EXPECT_EQ(dl.grid[0], 8u);
  EXPECT_EQ(dl.grid[1], 2u);
  // A bound within one row tile: every run has the planned tiles (no rule).
  EXPECT_TRUE(dl.runtimeGrid.empty());
  d.M = 256;                      // 4 row tiles: the rule, capped at the planned clusters
  ASSERT_EQ(wgmma::splitK(d), 2); // 32 tiles x 2 = 64 CTAs
  EXPECT_EQ(wgmma::wgmmaGemmLaunch(d).grid[1], 2u);
  ASSERT_EQ(wgmma::wgmmaGemmLaunch(d).runtimeGrid.size(), 1u);
  EXPECT_EQ(wgmma::wgmmaGemmLaunch(d).runtimeGrid[0].cap, 32);
  d.M = 32;
  EXPECT_NE(wgmma::emitWgmmaGemm(d, "kd").find("__cluster_dims__(1, 2, 1) kd("), std::string::npos);
  // A batched GEMM with runtime rows keeps the cp.async kernel (not made by
  // effc: runtime rows come as one [rows, K] x [K, N] GEMM).
  GemmSpec b = d;
  b.batchDims = {2};
  b.aBatchStrides = {32 * 2048};
  b.bBatchStrides = {0};
  EXPECT_EQ(wgmma::tmaUnsupportedReason(b), "TMA kernel: runtime rows in a batched GEMM");
}

// The ping-pong schedule (GemmSpec.pingpong, a selectable variant of the
// TMA kernel): every spec of the spread that takes it (the cooperative
// plan's tile, 128 x 256 replaced by 128 x 128; no split), plus the
// Llama-3.2-1B prefill shapes, compiles with NVRTC for sm_90a in one unit,
// 384 threads (producer + 2 consumer warpgroups whatever BM), without
// spills, with setmaxnreg honoured and wgmma not serialized. Where it does
// not apply (128 x 256 forced, split-K) the text is the cooperative kernel's.
TEST(WgmmaGemm, PingpongVariantCompilesForSm90a) {
  Status loaded = nvrtc::load();
  ASSERT_TRUE(loaded.ok()) << "libnvrtc not loadable: " << loaded.message();
  std::vector<NamedSpec> specs;
  int fallbacks = 0;
  for (NamedSpec ns : wgmmaSpread()) {
    ns.spec.tma = ns.spec.pingpong = true;
    if (!wgmma::usesPingpong(ns.spec)) {
      ++fallbacks;
      EXPECT_FALSE(wgmma::pingpongUnsupportedReason(ns.spec).empty()) << ns.name;
      GemmSpec coop = ns.spec;
      coop.pingpong = false;
      EXPECT_EQ(wgmma::emitWgmmaGemm(ns.spec, "k"), wgmma::emitWgmmaGemm(coop, "k")) << ns.name;
      continue;
    }
    if (ns.name.size() > 4 && ns.name.compare(ns.name.size() - 4, 4, "_tma") == 0)
      continue; // the spread lists each spec twice (cp.async, _tma): one is enough
    ns.name += "_pp";
    specs.push_back(ns);
  }
  for (int64_t m : {512, 4096})
    for (auto [n, k] :
         {std::pair<int64_t, int64_t>{2048, 2048}, {512, 2048}, {8192, 2048}, {2048, 8192}}) {
      GemmSpec s = gemm(m, n, k, DType::BFLOAT16, DType::BFLOAT16);
      s.sm90a = s.tma = s.pingpong = true;
      ASSERT_TRUE(wgmma::usesPingpong(s))
          << m << "x" << n << "x" << k << ": " << wgmma::pingpongUnsupportedReason(s);
      specs.push_back(
          {"pp_llama_" + std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k), s});
    }
  EXPECT_GT(fallbacks, 0); // the 128 x 256 tile and the split-K specs
  EXPECT_GE(specs.size(), 20u);
  std::string source = wgmma::wgmmaGemmPrelude();
  for (const NamedSpec &ns : specs) {
    std::string k = wgmma::emitWgmmaGemm(ns.spec, ns.name);
    ASSERT_NE(k.find("static constexpr bool PINGPONG = true;"), std::string::npos) << k;
    ASSERT_NE(k.find("__launch_bounds__(384, 1)"), std::string::npos) << k;
    EXPECT_EQ(wgmma::wgmmaGemmLaunch(ns.spec).block[0], 384u) << ns.name;
    EXPECT_EQ(wgmma::splitK(ns.spec), 1) << ns.name;
    EXPECT_NE(wgmma::kernelVariant(ns.spec).find("_tma_pp"), std::string::npos) << ns.name;
    source += k;
  }
  auto c = nvrtc::compile(source, nvrtc::compileOptions("sm_90a", {"--ptxas-options=-v"}),
                          "wgmma_pingpong.cu");
  ASSERT_TRUE(c.ok()) << c.status().message();
  for (const NamedSpec &ns : specs) {
    size_t at = c->log.find("'" + ns.name + "'");
    ASSERT_NE(at, std::string::npos) << "no ptxas report for " << ns.name << "\n" << c->log;
    size_t spill = c->log.find("spill stores", at);
    ASSERT_NE(spill, std::string::npos);
    size_t lineStart = c->log.rfind('\n', spill);
    std::string line = c->log.substr(lineStart + 1, c->log.find('\n', spill) - lineStart - 1);
    EXPECT_NE(line.find(", 0 bytes spill stores"), std::string::npos) << ns.name << ": " << line;
  }
  EXPECT_EQ(c->log.find("setmaxnreg"), std::string::npos) << c->log;
  EXPECT_EQ(c->log.find("serialized"), std::string::npos) << c->log;
  std::printf("[ sm_90a ] %zu ping-pong kernels (%d specs fall back), %.0f ms\n", specs.size(),
              fallbacks, c->ms);
}
