// quant_linear_mma (compiler/codegen/device/quant_linear.cuh), the prefill
// tensor-core GEMM over packed weights, run on the host by emulation
// (CudaEmulation.h, shared with MoEEmuTest): the
// template is compiled as C++ with one std::thread per CUDA thread of a
// block, __syncthreads a block barrier, and the warp-collective ldmatrix and
// mma.sync m16n8k16 emulated from their PTX ISA fragment maps (each lane
// posts its registers, the warp meets at a barrier, each lane reads what the
// hardware would give it). Shared memory is the template's own static
// arrays, cp.async an immediate copy with zero fill. Checked against effc's
// host reference kernel (runtime/src/host/QuantLinear.cpp) on the same bytes
// for every scheme the kernel takes (int8 per channel and blocked, int4 with
// and without zero points, nf4, fp4, double-quantized absmaxes), every tile the emitter picks, bf16
// and fp16 activations, row/column/K tails. No GPU or NVRTC needed; the GPU run is effc-quant-bench
// --check.
#include "CudaEmulation.h"
#include "host/HostKernels.h"
#include "host/QuantLinear.h"

#include <gtest/gtest.h>

#include <random>

namespace emu {
#include "quant_linear.cuh"
#undef __shared__

} // namespace emu

namespace {

using namespace effc;

/// One run of quant_linear_mma<C, BM, BN, BF> over `a` (16-bit bits) with
/// `blocksY` x `blocksX` blocks of 256 threads; fp32 outputs.
template <class C, int BM, int BN, bool BF, class LS>
std::vector<float> runEmulated(const std::vector<uint16_t> &a, const std::vector<uint8_t> &w,
                               const std::vector<uint8_t> &zp, const LS &loadScale) {
  std::vector<float> y(size_t(C::ROWS * C::N), NAN);
  auto store = [&](long long i, float v) { y.at(size_t(i)) = v; };
  const int gridX = int((C::N + BN - 1) / BN), gridY = int((C::ROWS + BM - 1) / BM);
  emu::launch(unsigned(gridX), unsigned(gridY), [&] {
    emu::quant_linear_mma<C, BM, BN, BF>(w.data(), zp.empty() ? nullptr : zp.data(), a.data(),
                                         loadScale, store);
  });
  return y;
}

/// One run of quant_linear_gemv_vec<C> (the decode GEMV) over fp32 `a`:
/// ceil(N / 8) blocks of 256 threads, one warp per column.
template <class C, class LS>
std::vector<float> runEmulatedVec(const std::vector<float> &a, const std::vector<uint8_t> &w,
                                  const std::vector<uint8_t> &zp, const LS &loadScale) {
  std::vector<float> y(size_t(C::ROWS * C::N), NAN);
  auto store = [&](long long i, float v) { y.at(size_t(i)) = v; };
  auto loadA = [&](long long i) -> float { return a.at(size_t(i)); };
  const int gridX = int((C::N + 7) / 8);
  emu::launch(unsigned(gridX), 1, [&] {
    emu::quant_linear_gemv_vec<C>(w.data(), zp.empty() ? nullptr : zp.data(), loadA, loadScale,
                                  store);
  });
  return y;
}

/// One run of quant_linear_gemv_mma<C, BF> (the tensor-core decode GEMV;
/// BS: quant_linear_gemv_mma_bs, LUT: with its nf4/fp4 pair table, FAST: its
/// FAST decodes) over `a` (16-bit bits): ceil(N / 16) blocks of 256 threads.
template <class C, bool BF, bool BS = false, bool LUT = false, bool FAST = false, class LS>
std::vector<float> runEmulatedGemvMma(const std::vector<uint16_t> &a, const std::vector<uint8_t> &w,
                                      const std::vector<uint8_t> &zp, const LS &loadScale) {
  std::vector<float> y(size_t(C::ROWS * C::N), NAN);
  auto store = [&](long long i, float v) { y.at(size_t(i)) = v; };
  const int gridX = int((C::N + 15) / 16);
  emu::launch(unsigned(gridX), 1, [&] {
    if constexpr (BS)
      emu::quant_linear_gemv_mma_bs<C, BF, 1, LUT, FAST>(w.data(), zp.empty() ? nullptr : zp.data(),
                                                         a.data(), loadScale, store);
    else
      emu::quant_linear_gemv_mma<C, BF>(w.data(), zp.empty() ? nullptr : zp.data(), a.data(),
                                        loadScale, store);
  });
  return y;
}

template <int SCHEME_, int LAYOUT_, int BITS_, int K_, int N_, int BLOCK_, long long ROWS_,
          bool ZP_>
struct Config {
  static constexpr int SCHEME = SCHEME_, LAYOUT = LAYOUT_, BITS = BITS_;
  static constexpr int K = K_, N = N_, BLOCK = BLOCK_, BLOCKS = (K_ + BLOCK_ - 1) / BLOCK_,
                       BLOCK_BYTES = BLOCK_ * BITS_ / 8;
  static constexpr long long ROWS = ROWS_;
  static constexpr bool HAS_ZP = ZP_;
  static constexpr float THRESHOLD = 6.0f;
};

/// Random packed operands of C, the emulated kernel and the host reference
/// on the same bytes; returns max |y - ref| / max |ref|. DQ: nf4/fp4 scales
/// double quantized (quant_defs.cuh's QL_DQ bytes, decoded by ql_dq_absmax).
/// VEC: quant_linear_gemv_vec on the same (16-bit rounded) activations
/// instead of quant_linear_mma (BM, BN unused); GMMA 1: quant_linear_gemv_mma,
/// 2: quant_linear_gemv_mma_bs, 3: quant_linear_gemv_mma_bs with the pair table,
/// 4: quant_linear_gemv_mma_bs with its FAST decodes. `out`: the kernel's y.
template <class C, int BM, int BN, bool BF, bool DQ = false, bool VEC = false, int GMMA = 0>
double maxRelError(uint32_t seed, std::vector<float> *out = nullptr) {
  std::mt19937 rng(seed);
  const bool flat = C::LAYOUT == QL_LAYOUT_BNB_FLAT;
  std::vector<uint8_t> w(flat ? size_t(C::N * C::K / 2)
                              : size_t(C::N * C::BLOCKS * C::BLOCK_BYTES));
  for (auto &b : w)
    b = uint8_t(rng() >> 24);
  const size_t nScales = flat ? size_t(C::N * C::K / C::BLOCK) : size_t(C::N * C::BLOCKS);
  std::vector<float> scales(nScales);
  std::uniform_real_distribution<float> u(0.5f, 2.0f);
  for (auto &s : scales)
    s = u(rng) * (C::BITS == 8 ? 1.0f / 127.0f : C::SCHEME == QL_INT4 ? 0.125f : 1.0f);
  constexpr long long kBlocks = C::N * C::K / C::BLOCK; // flat layout
  std::vector<uint8_t> dq;
  if constexpr (DQ) {
    dq.assign(size_t(QL_DQ_BYTES(kBlocks)), 0);
    for (long long i = 0; i < kBlocks; ++i)
      dq[size_t(i)] = uint8_t(rng() >> 24);
    for (long long g = 0; g <= QL_DQ_GROUPS(kBlocks); ++g) { // group scales, then the offset
      const float v = u(rng) * 0.5f;
      std::memcpy(dq.data() + QL_DQ_PAD(kBlocks) + 4 * g, &v, 4);
    }
  }
  std::vector<uint8_t> zp;
  if (C::HAS_ZP) {
    zp.resize(size_t(C::N * C::BLOCKS));
    for (auto &z : zp)
      z = uint8_t(rng() % (C::BITS == 8 ? 256 : 16));
  }
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<uint16_t> a(size_t(C::ROWS * C::K));
  std::vector<float> af(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const float v = nd(rng);
    a[i] = BF ? emu::f32_to_bf16(v) : emu::f32_to_f16(v);
    af[i] = BF ? emu::bf16_to_f32(a[i]) : emu::f16_to_f32(a[i]);
  }
  std::vector<float> ref(size_t(C::ROWS * C::N));
  std::vector<int64_t> wShape = flat ? std::vector<int64_t>{C::N * C::K / 2}
                                     : std::vector<int64_t>{C::N, C::BLOCKS, C::BLOCK_BYTES};
  std::vector<int64_t> sShape = DQ     ? std::vector<int64_t>{int64_t(dq.size())}
                                : flat ? std::vector<int64_t>{int64_t(nScales)}
                                       : std::vector<int64_t>{C::N, C::BLOCKS};
  host::Attrs attrs = {{"scheme", int64_t(C::SCHEME)},
                       {"layout", int64_t(C::LAYOUT)},
                       {"K", int64_t(C::K)},
                       {"N", int64_t(C::N)},
                       {"block_size", int64_t(C::BLOCK)},
                       {"double_quant", int64_t(DQ)}};
  Status st = host::runKernel(
      "eff.quant_linear", attrs,
      {{DType::FLOAT32, {C::ROWS, C::K}, af.data()},
       {DType::UINT8, wShape, w.data()},
       DQ ? host::ConstTensorRef{DType::UINT8, sShape, dq.data()}
          : host::ConstTensorRef{DType::FLOAT32, sShape, scales.data()},
       {DType::UINT8, C::HAS_ZP ? std::vector<int64_t>{C::N, C::BLOCKS} : std::vector<int64_t>{},
        C::HAS_ZP ? zp.data() : nullptr}},
      {{DType::FLOAT32, {C::ROWS, C::N}, ref.data()}});
  EXPECT_TRUE(st.ok()) << st.message();
  std::vector<float> y;
  if constexpr (GMMA && DQ)
    y = runEmulatedGemvMma < C, BF, GMMA >= 2, GMMA == 3,
    GMMA == 4 > (a, w, zp,
                 [&](long long i) -> float { return emu::ql_dq_absmax<kBlocks>(dq.data(), i); });
  else if constexpr (GMMA)
    y = runEmulatedGemvMma < C, BF, GMMA >= 2, GMMA == 3,
    GMMA == 4 > (a, w, zp, [&](long long i) -> float { return scales.at(size_t(i)); });
  else if constexpr (VEC && DQ)
    y = runEmulatedVec<C>(
        af, w, zp, [&](long long i) -> float { return emu::ql_dq_absmax<kBlocks>(dq.data(), i); });
  else if constexpr (VEC)
    y = runEmulatedVec<C>(af, w, zp, [&](long long i) -> float { return scales.at(size_t(i)); });
  else if constexpr (DQ)
    y = runEmulated<C, BM, BN, BF>(
        a, w, zp, [&](long long i) -> float { return emu::ql_dq_absmax<kBlocks>(dq.data(), i); });
  else
    y = runEmulated<C, BM, BN, BF>(a, w, zp,
                                   [&](long long i) -> float { return scales.at(size_t(i)); });
  double maxRef = 0, maxErr = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    maxRef = std::max(maxRef, std::fabs(double(ref[i])));
    maxErr = std::isnan(y[i]) ? INFINITY : std::max(maxErr, std::fabs(double(y[i]) - ref[i]));
  }
  if (out)
    *out = y;
  return maxErr / std::max(maxRef, 1e-30);
}

// Shapes with a row tail (40 or 150 rows), a column tail (N 72 or 200) and K
// tiles that overhang K (K 96: one and a half 64-tiles, three 32-tiles).
constexpr int kInt8 = QL_INT8, kInt4 = QL_INT4, kNF4 = QL_NF4, kFP4 = QL_FP4;
constexpr int kBlocks = QL_LAYOUT_NBLOCKS, kFlat = QL_LAYOUT_BNB_FLAT;

// One scale per column (applied in the epilogue): exact codes, fp32 sums.
TEST(QuantMmaEmulated, Int8PerChannel) {
  EXPECT_LE((maxRelError<Config<kInt8, kBlocks, 8, 96, 72, 96, 40, false>, 32, 64, true>(1)), 1e-5);
  EXPECT_LE((maxRelError<Config<kInt8, kBlocks, 8, 96, 200, 96, 150, false>, 128, 128, true>(2)),
            1e-5);
  EXPECT_LE((maxRelError<Config<kInt8, kBlocks, 8, 96, 72, 96, 40, false>, 64, 64, false>(3)),
            1e-5);
}

// Scales per block of K: decoded values rounded to bf16/fp16.
TEST(QuantMmaEmulated, Int8Blocked) {
  EXPECT_LE((maxRelError<Config<kInt8, kBlocks, 8, 96, 72, 32, 40, false>, 64, 128, true>(4)),
            1e-2);
  EXPECT_LE((maxRelError<Config<kInt8, kBlocks, 8, 96, 72, 48, 40, true>, 32, 64, false>(5)), 3e-3);
}

TEST(QuantMmaEmulated, Int4) {
  // MatMulNBits-style block 32, with and without zero points; K 80 pads
  // the last block.
  EXPECT_LE((maxRelError<Config<kInt4, kBlocks, 4, 96, 72, 32, 40, false>, 32, 64, true>(6)), 1e-2);
  EXPECT_LE((maxRelError<Config<kInt4, kBlocks, 4, 80, 200, 32, 150, true>, 128, 128, true>(7)),
            1e-2);
  EXPECT_LE((maxRelError<Config<kInt4, kBlocks, 4, 96, 72, 96, 40, true>, 64, 64, true>(8)), 1e-5);
}

TEST(QuantMmaEmulated, NF4AndFP4) {
  EXPECT_LE((maxRelError<Config<kNF4, kFlat, 4, 128, 72, 64, 40, false>, 64, 128, true>(9)), 1e-2);
  EXPECT_LE((maxRelError<Config<kNF4, kFlat, 4, 96, 200, 32, 150, false>, 128, 128, false>(10)),
            3e-3);
  EXPECT_LE((maxRelError<Config<kFP4, kFlat, 4, 96, 72, 64, 40, false>, 32, 64, true>(11)), 1e-2);
}

// Double-quantized absmaxes (--quantize-double) decoded in the kernel.
TEST(QuantMmaEmulated, NF4DoubleQuant) {
  EXPECT_LE((maxRelError<Config<kNF4, kFlat, 4, 128, 200, 64, 40, false>, 64, 64, true, true>(12)),
            1e-2);
  EXPECT_LE(
      (maxRelError<Config<kFP4, kFlat, 4, 96, 72, 32, 150, false>, 128, 128, false, true>(13)),
      3e-3);
}

// quant_linear_gemv_vec (decode, up to 16 rows): 1, 4 and 16 rows; K of
// several shared-memory slices with a short last one (16 rows: int8 slices of
// 512 k, K 1280 = 2.5 slices; int4/nf4 slices of 512 k), N 20 (the last block
// has warps past N that still meet the block barriers); fp32 sums of exactly
// rounded activations, so the tolerances are those of the summation order.
template <class C, bool DQ = false> double vecError(uint32_t seed) {
  return maxRelError<C, 0, 0, true, DQ, true>(seed);
}

TEST(QuantGemvVecEmulated, Int8) {
  EXPECT_LE((vecError<Config<kInt8, kBlocks, 8, 1280, 20, 64, 16, false>>(21)), 1e-5);
  EXPECT_LE((vecError<Config<kInt8, kBlocks, 8, 1280, 20, 1280, 4, true>>(22)), 1e-5);
  EXPECT_LE((vecError<Config<kInt8, kBlocks, 8, 4096, 9, 128, 4, false>>(23)), 1e-5);
  EXPECT_LE((vecError<Config<kInt8, kBlocks, 8, 1280, 20, 32, 1, false>>(24)), 1e-5);
}

TEST(QuantGemvVecEmulated, Int4) {
  EXPECT_LE((vecError<Config<kInt4, kBlocks, 4, 1280, 20, 32, 16, true>>(25)), 1e-5);
  EXPECT_LE((vecError<Config<kInt4, kBlocks, 4, 1280, 20, 64, 4, false>>(26)), 1e-5);
  // K 80: a K tail (a read from global memory, no staging).
  EXPECT_LE((vecError<Config<kInt4, kBlocks, 4, 80, 20, 32, 16, true>>(27)), 1e-5);
}

TEST(QuantGemvVecEmulated, NF4AndFP4) {
  EXPECT_LE((vecError<Config<kNF4, kFlat, 4, 1280, 20, 64, 16, false>>(28)), 1e-5);
  EXPECT_LE((vecError<Config<kFP4, kFlat, 4, 1024, 20, 64, 3, false>>(29)), 1e-5);
  EXPECT_LE((vecError<Config<kNF4, kFlat, 4, 1280, 20, 64, 16, false>, true>(30)), 1e-5);
}

// quant_linear_gemv_mma (decode on tensor cores, up to 16 rows): 1, 3, 8,
// 9 and 16 rows (one or two n8 row tiles), N 20 and 40 (columns past N in
// the last block), K of several super-steps per warp with a partial last
// one (int8 K 1040: 65 chunks; nf4 K 1056: 33) and of fewer chunks than
// lanes (K 96), several batches of loads (K 4112 int8, 8192 nf4),
// per-channel scales (exact bf16 codes, scale in the
// epilogue), blocked scales, zero points, double-quantized absmaxes, fp16.
template <class C, bool BF = true, bool DQ = false> double gemvMmaError(uint32_t seed) {
  return maxRelError<C, 0, 0, BF, DQ, false, 1>(seed);
}

TEST(QuantGemvMmaEmulated, Int8) {
  EXPECT_LE((gemvMmaError<Config<kInt8, kBlocks, 8, 1040, 20, 1040, 1, false>>(41)), 1e-5);
  EXPECT_LE((gemvMmaError<Config<kInt8, kBlocks, 8, 1040, 40, 1040, 9, true>>(42)), 1e-5);
  EXPECT_LE((gemvMmaError<Config<kInt8, kBlocks, 8, 4096, 20, 4096, 16, false>, false>(43)), 1e-5);
  EXPECT_LE((gemvMmaError<Config<kInt8, kBlocks, 8, 1024, 20, 64, 3, false>>(44)), 1e-2);
  EXPECT_LE((gemvMmaError<Config<kInt8, kBlocks, 8, 96, 20, 32, 8, true>>(45)), 1e-2);
  // 257 chunks: 9 super-steps for warp 0, batches of 2 (the next in flight),
  // the last batch half empty.
  EXPECT_LE((gemvMmaError<Config<kInt8, kBlocks, 8, 4112, 20, 4112, 2, false>>(55)), 1e-5);
}

TEST(QuantGemvMmaEmulated, Int4) {
  EXPECT_LE((gemvMmaError<Config<kInt4, kBlocks, 4, 1056, 20, 32, 1, false>>(46)), 1e-2);
  EXPECT_LE((gemvMmaError<Config<kInt4, kBlocks, 4, 1056, 40, 32, 16, true>>(47)), 1e-2);
  EXPECT_LE((gemvMmaError<Config<kInt4, kBlocks, 4, 1024, 20, 1024, 8, true>>(48)), 1e-5);
  EXPECT_LE((gemvMmaError<Config<kInt4, kBlocks, 4, 96, 20, 96, 4, false>, false>(49)), 1e-5);
}

TEST(QuantGemvMmaEmulated, NF4AndFP4) {
  EXPECT_LE((gemvMmaError<Config<kNF4, kFlat, 4, 1056, 20, 32, 1, false>>(50)), 1e-2);
  EXPECT_LE((gemvMmaError<Config<kNF4, kFlat, 4, 2048, 40, 64, 16, false>>(51)), 1e-2);
  EXPECT_LE((gemvMmaError<Config<kNF4, kFlat, 4, 2048, 20, 64, 9, false>, false>(52)), 3e-3);
  EXPECT_LE((gemvMmaError<Config<kFP4, kFlat, 4, 1024, 20, 64, 4, false>>(53)), 1e-2);
  EXPECT_LE((gemvMmaError<Config<kNF4, kFlat, 4, 8192, 20, 64, 4, false>>(56)), 1e-2);
  EXPECT_LE((gemvMmaError<Config<kNF4, kFlat, 4, 1024, 20, 64, 16, false>, true, true>(54)), 1e-2);
}

// quant_linear_gemv_mma_bs (one scale block per mma): pieces of 16, 8 and
// 4 bytes a lane (int8 block 64 / 32, int4 block 128 / 64 / 32, nf4 block
// 64 and 128, fp4), per channel (16-byte pieces, scale in the epilogue),
// zero points (int4 and int8, through the fma's bias), fp16 (int8 by prmt
// into 1024 + c) and bf16 (int8 through fp32), 1..16 rows, N 20 / 40, K with
// a partial last window (int4 K 1056 block 32: 33 blocks, a window each),
// K past the last whole block (int8 K 1040 block 64, zero-padded), several
// batches (K 8192), double-quantized absmaxes. Tolerances as gemv_mma's.
template <class C, bool BF = true, bool DQ = false> double gemvMmaBsError(uint32_t seed) {
  return maxRelError<C, 0, 0, BF, DQ, false, 2>(seed);
}

TEST(QuantGemvMmaBsEmulated, Int8) {
  EXPECT_LE((gemvMmaBsError<Config<kInt8, kBlocks, 8, 1040, 20, 1040, 1, false>>(61)), 1e-5);
  EXPECT_LE((gemvMmaBsError<Config<kInt8, kBlocks, 8, 1040, 40, 1040, 9, true>>(62)), 1e-5);
  EXPECT_LE((gemvMmaBsError<Config<kInt8, kBlocks, 8, 4096, 20, 4096, 16, false>, false>(63)),
            1e-5);
  EXPECT_LE((gemvMmaBsError<Config<kInt8, kBlocks, 8, 1024, 20, 64, 3, false>>(64)), 1e-2);
  EXPECT_LE((gemvMmaBsError<Config<kInt8, kBlocks, 8, 1024, 20, 32, 4, true>, false>(65)), 3e-3);
  EXPECT_LE((gemvMmaBsError<Config<kInt8, kBlocks, 8, 1040, 40, 64, 2, true>>(66)), 1e-2);
  EXPECT_LE((gemvMmaBsError<Config<kInt8, kBlocks, 8, 8192, 20, 128, 1, false>, false>(67)), 3e-3);
}

TEST(QuantGemvMmaBsEmulated, Int4) {
  EXPECT_LE((gemvMmaBsError<Config<kInt4, kBlocks, 4, 1056, 20, 32, 1, false>>(71)), 1e-2);
  EXPECT_LE((gemvMmaBsError<Config<kInt4, kBlocks, 4, 1056, 40, 32, 16, true>>(72)), 1e-2);
  EXPECT_LE((gemvMmaBsError<Config<kInt4, kBlocks, 4, 1024, 20, 1024, 8, true>>(73)), 1e-5);
  EXPECT_LE((gemvMmaBsError<Config<kInt4, kBlocks, 4, 2048, 20, 128, 4, true>, false>(74)), 3e-3);
  EXPECT_LE((gemvMmaBsError<Config<kInt4, kBlocks, 4, 8192, 20, 64, 1, false>>(75)), 1e-2);
}

TEST(QuantGemvMmaBsEmulated, NF4AndFP4) {
  EXPECT_LE((gemvMmaBsError<Config<kNF4, kFlat, 4, 2048, 40, 64, 16, false>>(81)), 1e-2);
  EXPECT_LE((gemvMmaBsError<Config<kNF4, kFlat, 4, 2048, 20, 64, 1, false>, false>(82)), 3e-3);
  EXPECT_LE((gemvMmaBsError<Config<kFP4, kFlat, 4, 1024, 20, 64, 4, false>>(83)), 1e-2);
  EXPECT_LE((gemvMmaBsError<Config<kNF4, kFlat, 4, 8192, 20, 64, 1, false>>(84)), 1e-2);
  EXPECT_LE((gemvMmaBsError<Config<kNF4, kFlat, 4, 1024, 20, 128, 9, false>>(85)), 1e-2);
  EXPECT_LE((gemvMmaBsError<Config<kNF4, kFlat, 4, 1024, 20, 64, 16, false>, true, true>(86)),
            1e-2);
}

// gemv_mma_bs with the nf4/fp4 byte-pair table (--gemv-variant=bs_lut):
// the same cases as above; the table holds what the 16-entry book gives, so
// the errors are those of gemv_mma_bs.
template <class C, bool BF = true, bool DQ = false> double gemvMmaLutError(uint32_t seed) {
  return maxRelError<C, 0, 0, BF, DQ, false, 3>(seed);
}

TEST(QuantGemvMmaBsLutEmulated, NF4AndFP4) {
  EXPECT_LE((gemvMmaLutError<Config<kNF4, kFlat, 4, 2048, 40, 64, 16, false>>(91)), 1e-2);
  EXPECT_LE((gemvMmaLutError<Config<kNF4, kFlat, 4, 2048, 20, 64, 1, false>, false>(92)), 3e-3);
  EXPECT_LE((gemvMmaLutError<Config<kFP4, kFlat, 4, 1024, 20, 64, 4, false>>(93)), 1e-2);
  EXPECT_LE((gemvMmaLutError<Config<kNF4, kFlat, 4, 8192, 20, 64, 1, false>>(94)), 1e-2);
  EXPECT_LE((gemvMmaLutError<Config<kNF4, kFlat, 4, 1024, 20, 128, 9, false>>(95)), 1e-2);
  EXPECT_LE((gemvMmaLutError<Config<kNF4, kFlat, 4, 1024, 20, 64, 16, false>, true, true>(96)),
            1e-2);
}

// gemv_mma_bs with its FAST decodes (--gemv-variant=bs_fast): int4 codes
// paired (c i, c i+4) by lop3 with the activations permuted to match,
// int8 with bf16 by prmt, nf4/fp4 from the book held in registers (prmt
// lookups). The decoded 16-bit values are the ones gemv_mma_bs makes (one
// rounding: the code book value or nothing for integers), so each case
// checks two things on the same operands: the error against the host
// reference (gemv_mma_bs's tolerances: 1e-5 where the codes are exact and
// the scale comes in the epilogue, 3e-3 / 1e-2 where block scales and
// book values were rounded to 16 bits) and the distance to gemv_mma_bs's
// own output, at most 1e-5 of max |y| (only the fp32 summation order of
// the mma's k differs for int4). MatMulNBits int4 blocks 32 / 64 / 128 with
// and without zero points, int8 per channel and blocked, nf4 blocks 64 /
// 128, fp4, double-quantized absmaxes; bf16 and fp16; 1, 3, 4, 9, 16 rows;
// column tails (N 20, 37, 40), a partial last window (int4 K 1056 block
// 32), K past the last whole block (int8 K 1040), several batches (K 8192).
template <class C, bool BF = true, bool DQ = false>
void expectFast(uint32_t seed, double tolerance) {
  std::vector<float> fast, bs;
  const double err = maxRelError<C, 0, 0, BF, DQ, false, 4>(seed, &fast);
  maxRelError<C, 0, 0, BF, DQ, false, 2>(seed, &bs);
  EXPECT_LE(err, tolerance) << "seed " << seed;
  ASSERT_EQ(fast.size(), bs.size());
  double maxY = 0, maxDiff = 0;
  for (size_t i = 0; i < bs.size(); ++i) {
    maxY = std::max(maxY, std::fabs(double(bs[i])));
    maxDiff =
        std::isnan(fast[i]) ? INFINITY : std::max(maxDiff, std::fabs(double(fast[i]) - bs[i]));
  }
  EXPECT_LE(maxDiff, 1e-5 * maxY) << "seed " << seed << ": bs_fast differs from bs";
}

TEST(QuantGemvMmaBsFastEmulated, Int4) {
  expectFast<Config<kInt4, kBlocks, 4, 1056, 20, 32, 1, false>>(101, 1e-2);
  expectFast<Config<kInt4, kBlocks, 4, 1056, 40, 32, 16, true>>(102, 1e-2);
  expectFast<Config<kInt4, kBlocks, 4, 1024, 20, 1024, 8, true>>(103, 1e-5);
  expectFast<Config<kInt4, kBlocks, 4, 2048, 37, 128, 4, true>, false>(104, 3e-3);
  expectFast<Config<kInt4, kBlocks, 4, 8192, 20, 64, 1, false>>(105, 1e-2);
  expectFast<Config<kInt4, kBlocks, 4, 1024, 37, 64, 3, true>, false>(106, 3e-3);
  expectFast<Config<kInt4, kBlocks, 4, 1024, 20, 128, 1, false>, false>(107, 3e-3);
}

TEST(QuantGemvMmaBsFastEmulated, Int8) {
  expectFast<Config<kInt8, kBlocks, 8, 1040, 20, 1040, 1, false>>(111, 1e-5);
  expectFast<Config<kInt8, kBlocks, 8, 1040, 40, 1040, 9, true>>(112, 1e-5);
  expectFast<Config<kInt8, kBlocks, 8, 4096, 20, 4096, 16, false>, false>(113, 1e-5);
  expectFast<Config<kInt8, kBlocks, 8, 1024, 37, 64, 3, false>>(114, 1e-2);
  expectFast<Config<kInt8, kBlocks, 8, 1040, 40, 64, 2, true>>(115, 1e-2);
  expectFast<Config<kInt8, kBlocks, 8, 8192, 20, 128, 1, false>>(116, 3e-3);
}

TEST(QuantGemvMmaBsFastEmulated, NF4AndFP4) {
  expectFast<Config<kNF4, kFlat, 4, 2048, 40, 64, 16, false>>(121, 1e-2);
  expectFast<Config<kNF4, kFlat, 4, 2048, 20, 64, 1, false>, false>(122, 3e-3);
  expectFast<Config<kFP4, kFlat, 4, 1024, 20, 64, 4, false>>(123, 1e-2);
  expectFast<Config<kNF4, kFlat, 4, 8192, 20, 64, 1, false>>(124, 1e-2);
  expectFast<Config<kNF4, kFlat, 4, 1024, 37, 128, 9, false>>(125, 1e-2);
  expectFast<Config<kNF4, kFlat, 4, 1024, 20, 64, 16, false>, true, true>(126, 1e-2);
  expectFast<Config<kFP4, kFlat, 4, 1024, 37, 64, 1, false>, false>(127, 3e-3);
}

} // namespace
