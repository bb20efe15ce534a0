// eff-quantize-weights' math (compiler/quant/WeightQuantizer.h) on
// hand-computed values: int8 codes and scales per channel and per block
// (ragged K), NF4 codes in bitsandbytes' flat layout and nibble order, and
// double quantization's dynamic map.
#include "compiler/quant/WeightQuantizer.h"

#include "host/QuantLinear.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

using namespace effc::quant;

TEST(WeightQuantizer, Int8PerChannelHandComputed) {
  // W [K=3, N=2]: column 0 = [1, -0.5, 0.25], column 1 all zero.
  const float w[] = {1.f, 0.f, -0.5f, 0.f, 0.25f, 0.f};
  PackedWeight p = quantizeInt8(w, 3, 2, /*block=*/0);
  EXPECT_EQ(p.codesShape, (std::vector<int64_t>{2, 1, 3}));
  EXPECT_EQ(p.scalesShape, (std::vector<int64_t>{2, 1}));
  EXPECT_FLOAT_EQ(p.scales[0], 1.f / 127.f);
  // round(127 * w) + 128: 127 -> 255, -63.5 -> -64 (ties to even) -> 64, 31.75 -> 32 -> 160.
  EXPECT_EQ(std::vector<int>(p.codes.begin(), p.codes.begin() + 3),
            (std::vector<int>{255, 64, 160}));
  EXPECT_FLOAT_EQ(p.scales[1], 1.f); // an all-zero channel: every code is the zero point
  EXPECT_EQ(std::vector<int>(p.codes.begin() + 3, p.codes.end()),
            (std::vector<int>{128, 128, 128}));
}

TEST(WeightQuantizer, Int8BlocksWithRaggedK) {
  std::mt19937 rng(3);
  std::normal_distribution<float> dist;
  const int64_t K = 5, N = 3;
  std::vector<float> w(K * N);
  for (float &x : w)
    x = dist(rng);
  PackedWeight p = quantizeInt8(w.data(), K, N, /*block=*/2);
  ASSERT_EQ(p.codesShape, (std::vector<int64_t>{N, 3, 2}));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      const int64_t b = k / 2;
      const float scale = p.scales[size_t(n * 3 + b)];
      const float back = float(int(p.codes[size_t((n * 3 + b) * 2 + k % 2)]) - 128) * scale;
      EXPECT_LE(std::fabs(back - w[size_t(k * N + n)]), scale / 2 + 1e-7f) << n << "," << k;
    }
  // The padding code of the last block decodes to 0.
  for (int64_t n = 0; n < N; ++n)
    EXPECT_EQ(p.codes[size_t((n * 3 + 2) * 2 + 1)], 128);
}

TEST(WeightQuantizer, NF4FlatLayoutAndNibbleOrder) {
  // W [K=2, N=2] = [[a, b], [c, d]]; W^T flattened = a, c, b, d; one block.
  // Values on the code book (absmax 2): codes 15, 0, 7, 8.
  const float *book = effc::host::kNF4CodeBook;
  const float w[] = {2.f * book[15], 2.f * book[7], 2.f * book[0], 2.f * book[8]};
  PackedWeight p = quantizeNF4(w, 2, 2, /*block=*/64, /*doubleQuant=*/false);
  EXPECT_EQ(p.codesShape, (std::vector<int64_t>{2}));
  EXPECT_EQ(p.scalesShape, (std::vector<int64_t>{1}));
  EXPECT_FLOAT_EQ(p.scales[0], 2.f);
  EXPECT_EQ(p.codes[0], (15 << 4) | 0); // a (high nibble), c
  EXPECT_EQ(p.codes[1], (7 << 4) | 8);  // b, d
}

TEST(WeightQuantizer, NF4RoundTripIsNearest) {
  std::mt19937 rng(5);
  std::normal_distribution<float> dist;
  const int64_t K = 100, N = 7; // 700 values: 11 blocks of 64, the last ragged
  std::vector<float> w(K * N);
  for (float &x : w)
    x = dist(rng);
  PackedWeight p = quantizeNF4(w.data(), K, N, 64, false);
  ASSERT_EQ(p.scales.size(), 11u);
  for (int64_t f = 0; f < K * N; ++f) {
    const int code = f % 2 ? p.codes[size_t(f / 2)] & 15 : p.codes[size_t(f / 2)] >> 4;
    const float x = w[size_t((f % K) * N + f / K)] / p.scales[size_t(f / 64)];
    for (int c = 0; c < 16; ++c) // no other code is nearer
      EXPECT_LE(std::fabs(effc::host::kNF4CodeBook[code] - x),
                std::fabs(effc::host::kNF4CodeBook[c] - x) + 1e-7f);
  }
}

TEST(WeightQuantizer, DynamicMapIsBitsandbytes) {
  const std::array<float, 256> &map = dynamicMap8();
  // quant_defs.cuh's table is bitsandbytes' create_dynamic_map(signed=True,
  // max_exponent_bits=7, total_bits=8): for exponent i, the midpoints of
  // torch.linspace(0.1, 1, 2^i + 1) (fp32) scaled by 10^(i - 6), both signs;
  // then 0 and 1; sorted.
  std::vector<float> built;
  for (int i = 0; i < 7; ++i) {
    const int items = (1 << i) + 1;
    const float scale = float(std::pow(10.0, double(i - 6)));
    for (int j = 0; j + 1 < items; ++j) {
      const float lo = 0.1f + (1.f - 0.1f) * float(j) / float(items - 1);
      const float hi = 0.1f + (1.f - 0.1f) * float(j + 1) / float(items - 1);
      built.push_back(scale * ((lo + hi) / 2.f));
      built.push_back(-scale * ((lo + hi) / 2.f));
    }
  }
  built.push_back(0.f);
  built.push_back(1.f);
  std::sort(built.begin(), built.end());
  ASSERT_EQ(built.size(), 256u);
  for (size_t i = 0; i < 256; ++i)
    EXPECT_EQ(map[i], built[i]) << i;
  std::set<float> unique(map.begin(), map.end());
  EXPECT_EQ(unique.size(), 256u);
  EXPECT_TRUE(std::is_sorted(map.begin(), map.end()));
  EXPECT_EQ(map.back(), 1.f);
  EXPECT_EQ(unique.count(0.f), 1u);
  // The smallest magnitudes: 10^-6 * 0.55 (exponent 0, one mean of 0.1 and 1).
  EXPECT_FLOAT_EQ(*unique.upper_bound(0.f), 0.55e-6f);
  EXPECT_FLOAT_EQ(map.front(), -0.5f * (0.1f + 0.9f * 63.f / 64.f + 1.f));
}

TEST(WeightQuantizer, DoubleQuantizationIsClose) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(0.5f, 3.f);
  std::vector<float> absmax(600);
  for (float &x : absmax)
    x = u(rng);
  std::vector<float> back = doubleQuantize(absmax);
  for (size_t i = 0; i < absmax.size(); ++i)
    EXPECT_NEAR(back[i], absmax[i], 0.02f * absmax[i]) << i;
  // A constant block is its own mean: exact.
  EXPECT_EQ(doubleQuantize(std::vector<float>(10, 1.25f)), std::vector<float>(10, 1.25f));
  // Stored as bytes: an index per value, a fp32 scale per 256, the offset.
  const std::vector<uint8_t> bytes = doubleQuantizeBytes(absmax);
  EXPECT_EQ(bytes.size(), size_t(600 + 4 * 3 + 4));
}

TEST(WeightQuantizer, NF4DoubleQuantStoresBytes) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.f, 0.02f);
  const int64_t K = 256, N = 96; // 384 blocks of 64: two groups of 256
  std::vector<float> w(size_t(K * N));
  for (float &x : w)
    x = nd(rng);
  PackedWeight plain = quantizeNF4(w.data(), K, N, 64, false);
  PackedWeight dq = quantizeNF4(w.data(), K, N, 64, true);
  EXPECT_EQ(dq.codes, plain.codes);
  EXPECT_TRUE(dq.scales.empty());
  EXPECT_EQ(dq.scalesShape, std::vector<int64_t>{384 + 4 * 2 + 4});
  EXPECT_EQ(dq.scaleBytes.size(), size_t(384 + 4 * 2 + 4));
  std::vector<float> back = doubleQuantize(plain.scales);
  for (int64_t b = 0; b < 384; ++b)
    EXPECT_EQ(effc::host::dqAbsmax(dq.scaleBytes.data(), 384, b), back[size_t(b)]) << b;
}
