// The staged MoE kernels of compiler/codegen/device/moe.cuh run on the host
// by emulation (CudaEmulation.h, shared with QuantMmaEmuTest): the templates
// compiled as C++ with one std::thread per CUDA thread of a block,
// __syncthreads a block barrier, ldmatrix, mma.sync m16n8k16 and the warp
// shuffles of warp_reduce emulated per warp (lanes post, meet, read),
// cp.async an immediate copy with zero fill. Checked against the host
// reference stages (runtime/src/host/MoEStages.cpp) on the same bytes:
//   moe_grouped_mma: gated (act(g) * u to bf16/fp16) and down (f32) over
//     sorted rows of several 128-row tiles and experts with no rows;
//   moe_expert_gemv, slot rows: a decode step whose slots name few of many
//     experts (the block row is the expert's rank among those named, so the
//     grid has min(E, T*K) rows), gated and down.
//   moe_grouped_wgmma and its TMA variant moe_grouped_wgmma_tma (sm_90a:
//     wgmma, mbarriers and TMA boxes emulated by HopperEmulation.h).
// No GPU or NVRTC needed; the GPU check is effc-moe-bench --check.
#include "CudaEmulation.h"
#include "compiler/codegen/moe/MoEKernels.h"
#include "host/HostKernels.h"
#include "moe_tiles.cuh"

#include <gtest/gtest.h>

#include <random>

namespace emu {

alignas(1024) unsigned char gDynSmem[MOE_WGMMA_TMA_SMEM(4)];
#define MOE_DYN_SMEM(name) unsigned char *name = gDynSmem
#include "hopper.cuh" // the layout encoders (hop_sw128, hop_desc_sw128); no asm is instantiated
#include "moe.cuh"

// One shared-memory array: an address is its offset (smem_u32 of the
// dynamic array is 0; the TMA kernel keeps its mbarriers there too).
inline unsigned char *emu_ptr(u32 a) { return gSmem + a; }
} // namespace emu

#include "HopperEmulation.h" // after hopper.cuh: the hop_* names become the emulation's

namespace emu {
#include "moe_wgmma.cuh"
#include "moe_wgmma_tma.cuh"
#undef __shared__

} // namespace emu

namespace {

using namespace effc;

using emu::launch;

template <int N_, int KD_, int T_, int K_, int E_, bool BF, bool SORTED_, bool GATED_, int BK_ = 32,
          int BN_ = 128>
struct Cfg {
  static constexpr int N = N_, KD = KD_, T = T_, K = K_, E = E_, BK = BK_,
                       STAGES = BK_ == 64 ? 3 : 4, BN = BN_, UNROLL = 4;
  static constexpr int DT = BF ? MOE_BF16 : MOE_F16, OUT_DT = GATED_ ? DT : MOE_F32, VEC = 8,
                       SLOT_CAP = SORTED_ ? 1 : T_;
  static constexpr bool BF16 = BF, SORTED = SORTED_, DENSE = false, GATED = GATED_, GELU = false;
};

std::vector<uint16_t> random16(size_t n, bool bf, std::mt19937 &rng, float scale) {
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<uint16_t> v(n);
  for (auto &x : v)
    x = bf ? emu::f32_to_bf16(nd(rng)) : emu::f32_to_f16(nd(rng));
  return v;
}

/// max |out - ref| / max |ref| of one expert GEMM kernel (KIND 0 GEMV, 1
/// mma.sync, 2 wgmma, 3 wgmma with TMA: the generator's tensor maps and
/// launch) over random operands, against the host stage
/// moe_expert_gemm. `experts` names each slot's expert; sorted rows take
/// their order from the host permute.
template <class C, int KIND>
double expertGemmError(const std::vector<int64_t> &experts, uint32_t seed) {
  std::mt19937 rng(seed);
  const DType dt = C::BF16 ? DType::BFLOAT16 : DType::FLOAT16;
  const int64_t TK = int64_t(C::T) * C::K, aRows = C::GATED ? C::T : TK;
  const int64_t wRows = C::GATED ? 2 * C::N : C::N;
  std::vector<uint16_t> a = random16(size_t(aRows * C::KD), C::BF16, rng, 1.0f);
  std::vector<uint16_t> w =
      random16(size_t(C::E * wRows * C::KD), C::BF16, rng, 1.0f / std::sqrt(float(C::KD)));
  std::vector<int32_t> order(size_t(C::E + 1 + 2 * TK));
  if (C::SORTED) {
    Status st = host::runKernel("eff.moe_permute", {{"num_experts", int64_t(C::E)}},
                                {{DType::INT64, {C::T, C::K}, experts.data()}},
                                {{DType::INT32, {int64_t(order.size())}, order.data()}});
    EXPECT_TRUE(st.ok()) << st.message();
  }
  const DType outType = C::GATED ? dt : DType::FLOAT32;
  const size_t outBytes = size_t(TK * C::N) * (C::GATED ? 2 : 4);
  std::vector<unsigned char> ref(outBytes), got(outBytes, 0xff); // 0xff..: NaN
  host::ConstTensorRef index =
      C::SORTED ? host::ConstTensorRef{DType::INT32, {int64_t(order.size())}, order.data()}
                : host::ConstTensorRef{DType::INT64, {C::T, C::K}, experts.data()};
  Status st =
      host::runKernel("eff.moe_expert_gemm",
                      {{"top_k", int64_t(C::K)},
                       {"rows", std::string(C::SORTED ? "sorted" : "slots")},
                       {"gated", int64_t(C::GATED)},
                       {"activation", std::string("silu")}},
                      {{dt, {aRows, C::KD}, a.data()}, {dt, {C::E, wRows, C::KD}, w.data()}, index},
                      {{outType, {TK, C::N}, ref.data()}});
  EXPECT_TRUE(st.ok()) << st.message();
  const void *idx = C::SORTED ? (const void *)order.data() : (const void *)experts.data();
  // The emitter's grid for the tensor-core kernels: a bound on the
  // experts' 128-row tiles, N columns.
  const unsigned tiles =
      unsigned(std::min<int64_t>((TK + 127) / 128 + C::E - 1, C::E * ((C::T + 127) / 128)));
  if constexpr (KIND == 1) {
    launch(tiles, unsigned(C::N / (C::GATED ? C::BN / 2 : C::BN)),
           [&] { emu::moe_grouped_mma<C>(a.data(), w.data(), (const int *)idx, got.data()); });
  } else if constexpr (KIND == 3) {
    codegen::moe::ExpertGemmSpec spec;
    spec.T = C::T, spec.K = C::K, spec.E = C::E, spec.N = C::N, spec.KD = C::KD;
    spec.dtype = dt, spec.gated = C::GATED;
    spec.rows = C::DENSE ? codegen::moe::Rows::Dense : codegen::moe::Rows::Sorted;
    spec.wgmma = spec.tma = true;
    std::string text, err;
    codegen::LaunchDims l;
    EXPECT_TRUE(codegen::moe::emitExpertGemm(spec, "k", text, l, err)) << err;
    EXPECT_NE(text.find("moe_grouped_wgmma_tma<k_cfg>"), std::string::npos) << text;
    EXPECT_LE(l.sharedBytes, sizeof emu::gDynSmem);
    EXPECT_EQ(l.grid[0], tiles);
    const std::vector<codegen::TensorMapDesc> maps = codegen::moe::expertGemmTmaMaps(spec);
    EXPECT_EQ(maps.size(), 2u);
    if (maps.size() != 2)
      return INFINITY;
    const emu::HopTensorMap tm[2] = {emu::emu_encode(maps[0], a.data()),
                                     emu::emu_encode(maps[1], w.data())};
    launch(
        l.grid[0], l.grid[1],
        [&] {
          emu::moe_grouped_wgmma_tma<C>(a.data(), (const int *)idx, got.data(), &tm[0], &tm[1]);
        },
        l.block[0]);
  } else if constexpr (KIND == 2) {
    launch(tiles, unsigned(C::N / (C::GATED ? 128 : 256)),
           [&] { emu::moe_grouped_wgmma<C>(a.data(), w.data(), (const int *)idx, got.data()); });
  } else {
    const unsigned gy = unsigned(C::SORTED ? C::E : std::min<int64_t>(C::E, TK));
    launch(unsigned((C::N + 7) / 8), gy,
           [&] { emu::moe_expert_gemv<C>(a.data(), w.data(), idx, got.data()); });
  }
  double maxRef = 0, maxErr = 0;
  for (int64_t i = 0; i < TK * C::N; ++i) {
    auto at = [&](const std::vector<unsigned char> &b) -> double {
      if (!C::GATED) {
        float f;
        std::memcpy(&f, b.data() + 4 * i, 4);
        return f;
      }
      uint16_t h;
      std::memcpy(&h, b.data() + 2 * i, 2);
      return C::BF16 ? emu::bf16_to_f32(h) : emu::f16_to_f32(h);
    };
    const double r = at(ref), g = at(got);
    maxRef = std::max(maxRef, std::fabs(r));
    maxErr = std::isnan(g) ? INFINITY : std::max(maxErr, std::fabs(g - r));
  }
  return maxErr / std::max(maxRef, 1e-30);
}

/// T*K slots over experts 0..E-1 with expert `skip` unused (skewed).
std::vector<int64_t> route(int64_t TK, int64_t E, int64_t skip, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int64_t> ex(static_cast<size_t>(TK));
  for (auto &e : ex) {
    do
      e = int64_t(rng() % uint32_t(E));
    while (e == skip);
  }
  return ex;
}

// 150 tokens, top-2 over 3 experts (one unused): 300 positions, tiles of
// 128 with tails; gate/up of 64 columns per block, down 128. h is rounded
// to 16 bits by both, so a sum that lands on a rounding boundary may differ
// by one ulp (bf16 2^-8 relative, fp16 2^-11).
TEST(MoEEmulated, GroupedMmaSorted) {
  const auto ex = route(300, 3, 1, 1);
  EXPECT_LE((expertGemmError<Cfg<64, 96, 150, 2, 3, true, true, true>, true>(ex, 2)), 8e-3);
  EXPECT_LE((expertGemmError<Cfg<64, 96, 150, 2, 3, false, true, true>, true>(ex, 3)), 1e-3);
  EXPECT_LE((expertGemmError<Cfg<128, 64, 150, 2, 3, true, true, false>, true>(ex, 4)), 1e-5);
}

// The same with k-tiles of 64 (ExpertGemmSpec::mmaBk 64: 3 stages, rows of
// 8 swizzled chunks): KD 192 is three k-tiles, KD 64 one (the ring's
// prologue covers the whole reduction).
TEST(MoEEmulated, GroupedMmaSortedK64) {
  const auto ex = route(300, 3, 1, 1);
  EXPECT_LE((expertGemmError<Cfg<64, 192, 150, 2, 3, true, true, true, 64>, true>(ex, 12)), 8e-3);
  EXPECT_LE((expertGemmError<Cfg<64, 192, 150, 2, 3, false, true, true, 64>, true>(ex, 13)), 1e-3);
  EXPECT_LE((expertGemmError<Cfg<128, 64, 150, 2, 3, true, true, false, 64>, true>(ex, 14)), 1e-5);
}

// 128x256 block tiles (ExpertGemmSpec::mmaBn 256: 64x64 per warp, gated
// 128 gate + 128 up rows per B tile; N 256 so that the up rows are not the
// gate rows after the block's), k-tiles of 64 and of 32; down over 40
// experts and 300 slots, so the tile-finding scan crosses a 32-expert step
// and some experts have no rows.
TEST(MoEEmulated, GroupedMmaSortedN256) {
  const auto ex = route(300, 40, 33, 21), few = route(300, 3, 1, 1);
  EXPECT_LE((expertGemmError<Cfg<256, 128, 150, 2, 3, true, true, true, 64, 256>, true>(few, 22)),
            8e-3);
  EXPECT_LE((expertGemmError<Cfg<256, 64, 150, 2, 40, true, true, false, 64, 256>, true>(ex, 23)),
            1e-5);
  EXPECT_LE((expertGemmError<Cfg<256, 96, 150, 2, 3, false, true, true, 32, 256>, true>(few, 24)),
            1e-3);
  EXPECT_LE((expertGemmError<Cfg<256, 96, 150, 2, 3, true, true, false, 32, 256>, true>(few, 25)),
            1e-5);
}

// The route kernel's few-token form (WARP_DOTS): a block of 1024 threads
// per token, a warp per expert score with 8-wide bf16 loads (RVEC), then
// softmax, top-k and norm_topk; against the host eff.moe_route.
template <int T_, int H_, int E_, int K_, int RVEC_> struct RouteCfg {
  static constexpr int T = T_, H = H_, E = E_, K = K_, ROUTING = MOE_SOFTMAX_TOPK;
  static constexpr int X_DT = MOE_BF16, R_DT = MOE_BF16, RW_DT = MOE_F32;
  static constexpr int TOKENS = 1, THREADS = 1024, RVEC = RVEC_;
  static constexpr bool NORM_TOPK = true, HAS_ROUTE_WEIGHTS = false, WARP_DOTS = true;
  static constexpr float ROUTED_SCALE = 1.5f;
};

template <class C> void checkRoute(uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint16_t> x = random16(size_t(C::T * C::H), true, rng, 1.0f);
  std::vector<uint16_t> router = random16(size_t(C::E * C::H), true, rng, 1.0f);
  std::vector<int64_t> ex(size_t(C::T * C::K), -1), exRef(ex.size());
  std::vector<float> w(ex.size(), NAN), wRef(ex.size());
  Status st = host::runKernel(
      "eff.moe_route",
      {{"num_experts", int64_t(C::E)},
       {"top_k", int64_t(C::K)},
       {"norm_topk", int64_t(1)},
       {"routing", std::string("softmax_topk")},
       {"routed_scale", 1.5}},
      {{DType::BFLOAT16, {C::T, C::H}, x.data()}, {DType::BFLOAT16, {C::E, C::H}, router.data()}},
      {{DType::INT64, {C::T, C::K}, exRef.data()}, {DType::FLOAT32, {C::T, C::K}, wRef.data()}});
  ASSERT_TRUE(st.ok()) << st.message();
  launch(
      unsigned(C::T), 1,
      [&] {
        emu::moe_route<C>(x.data(), router.data(), nullptr, (long long *)ex.data(), w.data());
      },
      C::THREADS);
  for (size_t i = 0; i < ex.size(); ++i) {
    EXPECT_EQ(ex[i], exRef[i]) << "slot " << i;
    EXPECT_NEAR(w[i], wRef[i], 1e-5) << "slot " << i;
  }
}

TEST(MoEEmulated, RouteWarpDots) {
  checkRoute<RouteCfg<3, 256, 40, 4, 8>>(31); // E > 32 warps: some warps score two experts
  checkRoute<RouteCfg<2, 72, 8, 2, 1>>(32);   // H % 8 != 0: scalar loads
}

// The sm_90a wgmma variant (device/moe_wgmma.cuh: 128x256x64 tiles, two
// warpgroups, 4 stages of 128B-swizzled k-tiles) with wgmma emulated from
// the PTX ISA's descriptor and fragment rules: gated (128 gate + 128 up
// rows per B tile) and down, bf16 and fp16, KD of one and of five k-tiles
// (the ring wraps), 40 experts (the tile scan's second step).
template <int N_, int KD_, int T_, int K_, int E_, bool BF, bool GATED_>
struct WgCfg : Cfg<N_, KD_, T_, K_, E_, BF, true, GATED_, 64, 256> {
  static constexpr int STAGES = 4;
};
/// WgCfg with dense rows (one expert, top-1).
template <int N_, int KD_, int T_, bool BF, bool GATED_>
struct WgDenseCfg : WgCfg<N_, KD_, T_, 1, 1, BF, GATED_> {
  static constexpr bool DENSE = true;
};
TEST(MoEEmulated, GroupedWgmmaSorted) {
  const auto few = route(300, 3, 1, 1);
  // Gated N 256: two column blocks, and the up rows are not the gate rows
  // after the block's (N != BN / 2).
  EXPECT_LE((expertGemmError<WgCfg<256, 320, 150, 2, 3, true, true>, 2>(few, 41)), 8e-3);
  EXPECT_LE((expertGemmError<WgCfg<256, 64, 150, 2, 3, false, true>, 2>(few, 42)), 1e-3);
  EXPECT_LE((expertGemmError<WgCfg<256, 320, 150, 2, 3, true, false>, 2>(few, 43)), 1e-5);
  const auto many = route(300, 40, 33, 21);
  EXPECT_LE((expertGemmError<WgCfg<256, 64, 150, 2, 40, true, false>, 2>(many, 44)), 1e-5);
}

// The TMA variant (device/moe_wgmma_tma.cuh: a producer warpgroup, weights
// by a 3-D tensor map, A gathered by cp.async (gate/up) or by a 2-D box of h
// (down), mbarrier ring; emulated by HopperEmulation.h), launched as the
// generator says over the maps it describes: ragged expert counts (one
// expert with no rows, counts not multiples of 128), one k-tile and five
// (the 4-stage ring wraps, the gathered stages' lagged publication), 40
// experts. Rows of a down tile past its expert's end are the next expert's
// h rows (computed, not stored): a wrong expert offset or row clamp shows.
TEST(MoEEmulated, GroupedWgmmaTmaSorted) {
  const auto few = route(300, 3, 1, 1);
  EXPECT_LE((expertGemmError<WgCfg<256, 320, 150, 2, 3, true, true>, 3>(few, 51)), 8e-3);
  EXPECT_LE((expertGemmError<WgCfg<256, 64, 150, 2, 3, false, true>, 3>(few, 52)), 1e-3);
  EXPECT_LE((expertGemmError<WgCfg<256, 320, 150, 2, 3, true, false>, 3>(few, 53)), 1e-5);
  const auto many = route(300, 40, 33, 21);
  EXPECT_LE((expertGemmError<WgCfg<256, 64, 150, 2, 40, true, false>, 3>(many, 54)), 1e-5);
  EXPECT_LE((expertGemmError<WgCfg<128, 384, 150, 2, 40, false, true>, 3>(many, 55)), 1e-3);
  // Dense rows (the shared expert: one expert, row t = token t, A by TMA for
  // gate/up too), against the sorted reference of one expert and top-1
  // (the same rows).
  const std::vector<int64_t> one(200, 0);
  EXPECT_LE((expertGemmError<WgDenseCfg<256, 192, 200, true, true>, 3>(one, 56)), 8e-3);
  EXPECT_LE((expertGemmError<WgDenseCfg<256, 192, 200, true, false>, 3>(one, 57)), 1e-5);
}

// Decode: 2 tokens, top-4 over 20 experts: at most 8 named; the grid has
// min(20, 8) block rows and each finds its expert by rank (a mistake sends
// rows to the wrong expert or leaves outputs NaN).
TEST(MoEEmulated, GemvSlotRowsOverManyExperts) {
  const auto ex = route(8, 20, -1, 5);
  EXPECT_LE((expertGemmError<Cfg<24, 64, 2, 4, 20, true, false, true>, false>(ex, 6)), 8e-3);
  EXPECT_LE((expertGemmError<Cfg<40, 48, 2, 4, 20, true, false, false>, false>(ex, 7)), 1e-5);
  // Two slots of one expert (rows share the weight stream).
  const std::vector<int64_t> dup = {7, 3, 19, 7, 3, 0, 12, 19};
  EXPECT_LE((expertGemmError<Cfg<24, 64, 2, 4, 20, false, false, true>, false>(dup, 8)), 1e-3);
}

} // namespace
