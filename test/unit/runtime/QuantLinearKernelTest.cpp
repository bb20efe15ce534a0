// Host reference kernel of eff.quant_linear (runtime/src/host/QuantLinear.cpp)
// on hand-computed cases, one per scheme: int4 with and without zero points
// (low nibble first, a last block that K does not fill), int8, NF4 and FP4
// (bitsandbytes code books, high nibble first, a block spanning two rows),
// dynamic int8 (DynamicQuantizeLinear's scale/zero point, int32 sums), and
// shape errors.
#include "HostTensorRefs.h"
#include "effc/Tensor.h"
#include "host/HostKernels.h"
#include "host/QuantLinear.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace effc;
using host::Attrs;
using host::ConstTensorRef;
using test::cref;
using test::f32;
using test::ref;

namespace {

HostTensor u8(std::vector<int64_t> shape, std::vector<uint8_t> v) {
  return HostTensor::fromVector<uint8_t>(DType::UINT8, std::move(shape), v);
}

Attrs attrs(host::QuantScheme scheme, int64_t K, int64_t N, int64_t bs) {
  bool bnb = scheme == host::QuantScheme::NF4 || scheme == host::QuantScheme::FP4;
  return {{"scheme", int64_t(scheme)},
          {"layout", int64_t(bnb ? host::QuantLayout::BnbFlat : host::QuantLayout::NBlocks)},
          {"K", K},
          {"N", N},
          {"block_size", bs}};
}

Status run(const Attrs &a, const std::vector<const HostTensor *> &in, HostTensor &out) {
  std::vector<ConstTensorRef> inputs;
  for (const HostTensor *t : in)
    inputs.push_back(cref(*t));
  return host::runKernel("eff.quant_linear", a, inputs, {ref(out)});
}

std::vector<float> values(const HostTensor &t) {
  std::vector<float> v;
  for (int64_t i = 0; i < t.numElements(); ++i)
    v.push_back(float(t.elementAsDouble(i)));
  return v;
}

} // namespace

// K = 3, block 2: column n holds blocks {k0, k1} and {k2, pad}. Codes low
// nibble first; without zero points the zero point is 8.
TEST(QuantLinearKernel, Int4BlocksWithPartialLastBlock) {
  // Column 0: codes 9, 7 | 12 (pad 15) -> (1, -1) * 0.5, (4) * 2 -> 0.5, -0.5, 8
  // Column 1: codes 8, 10 | 0 -> 0, 2 * 1, -8 * 0.25 -> 0, 2, -2
  HostTensor w = u8({2, 2, 1}, {0x79, 0xFC, 0xA8, 0x00});
  HostTensor s = f32({2, 2}, {0.5f, 2.0f, 1.0f, 0.25f});
  HostTensor a = f32({2, 3}, {1, 2, 3, -1, 0, 0.5f});
  HostTensor y(DType::FLOAT32, {2, 2});
  ASSERT_TRUE(run(attrs(host::QuantScheme::Int4, 3, 2, 2), {&a, &w, &s}, y).ok());
  // Row 0: 0.5 - 1 + 24 = 23.5; 0 + 4 - 6 = -2. Row 1: -0.5 + 4 = 3.5; -1.
  EXPECT_EQ(values(y), (std::vector<float>{23.5f, -2.0f, 3.5f, -1.0f}));
}

TEST(QuantLinearKernel, Int4ZeroPointsAndInt8) {
  // int4, zero points 3 and 0: column 0 codes 5, 1 -> (2, -2) * 1; column 1
  // codes 4, 6 -> (4, 6) * 0.5.
  HostTensor w4 = u8({2, 1, 1}, {0x15, 0x64});
  HostTensor s = f32({2, 1}, {1.0f, 0.5f});
  HostTensor zp = u8({2, 1}, {3, 0});
  HostTensor a = f32({1, 2}, {1, 2});
  HostTensor y(DType::FLOAT32, {1, 2});
  ASSERT_TRUE(run(attrs(host::QuantScheme::Int4, 2, 2, 2), {&a, &w4, &s, &zp}, y).ok());
  EXPECT_EQ(values(y), (std::vector<float>{-2.0f, 8.0f}));
  // int8 without zero points (128): codes 130, 120 -> 2, -8.
  HostTensor w8 = u8({1, 1, 2}, {130, 120});
  HostTensor s8 = f32({1, 1}, {0.25f});
  HostTensor y1(DType::FLOAT32, {1, 1});
  ASSERT_TRUE(run(attrs(host::QuantScheme::Int8, 2, 1, 2), {&a, &w8, &s8}, y1).ok());
  EXPECT_EQ(values(y1), (std::vector<float>{0.25f * (2 - 16)}));
}

// NF4, K = 3, N = 2, block 4: the flat [N, K] codes 0..5 are blocks
// {f0..f3} and {f4, f5}; block 0 spans both rows. High nibble first.
TEST(QuantLinearKernel, NF4CodeBookAndBlocksAcrossRows) {
  // Codes: f0 = 15 (1.0), f1 = 0 (-1.0), f2 = 7 (0), f3 = 8 (0.0795803),
  // f4 = 12 (0.4407098), f5 = 4 (-0.2844414).
  HostTensor w = u8({3}, {0xF0, 0x78, 0xC4});
  HostTensor absmax = f32({2}, {2.0f, 0.5f});
  HostTensor a = f32({1, 3}, {1, 1, 1});
  HostTensor y(DType::FLOAT32, {1, 2});
  ASSERT_TRUE(run(attrs(host::QuantScheme::NF4, 3, 2, 4), {&a, &w, &absmax}, y).ok());
  std::vector<float> got = values(y);
  EXPECT_FLOAT_EQ(got[0], 2.0f * 1.0f + 2.0f * -1.0f + 0.0f);
  EXPECT_FLOAT_EQ(got[1], 2.0f * 0.07958029955625534f + 0.5f * 0.44070982933044434f +
                              0.5f * -0.28444138169288635f);
}

TEST(QuantLinearKernel, FP4CodeBook) {
  // Codes 3 (1.0), 4 (1/3), 9 (-1/192), 14 (-1/6) in one block, absmax 3.
  HostTensor w = u8({2}, {0x34, 0x9E});
  HostTensor absmax = f32({1}, {3.0f});
  HostTensor a = f32({1, 4}, {1, 1, 1, 1});
  HostTensor y(DType::FLOAT32, {1, 1});
  ASSERT_TRUE(run(attrs(host::QuantScheme::FP4, 4, 1, 4), {&a, &w, &absmax}, y).ok());
  EXPECT_NEAR(values(y)[0], 3.0f * (1.0f + 0.33333333f - 0.005208333333f - 0.16666667f), 1e-6);
}

// a = [-1, 0.6, 2]: lo -1, hi 2, scale 3/255, zero point round(85) = 85;
// q = round(a / s) + 85 = 0, 136, 255. Ties round to even.
TEST(QuantLinearKernel, DynamicInt8MatchesDynamicQuantizeLinear) {
  host::DynamicQuantParams p = host::dynamicQuantParams(-1.0f, 2.0f);
  EXPECT_FLOAT_EQ(p.scale, 3.0f / 255.0f);
  EXPECT_EQ(p.zeroPoint, 85);
  EXPECT_EQ(host::dynamicQuantize(-1.0f, p), 0);
  EXPECT_EQ(host::dynamicQuantize(0.6f, p), 136);
  EXPECT_EQ(host::dynamicQuantize(2.0f, p), 255);
  EXPECT_EQ(host::dynamicQuantize(9.0f, p), 255); // saturates
  host::DynamicQuantParams unit = host::dynamicQuantParams(0.0f, 255.0f);
  EXPECT_EQ(unit.scale, 1.0f);
  EXPECT_EQ(unit.zeroPoint, 0);
  EXPECT_EQ(host::dynamicQuantize(2.5f, unit), 2);
  EXPECT_EQ(host::dynamicQuantize(3.5f, unit), 4);
  // NaN quantizes to 0 (no undefined float -> int conversion).
  EXPECT_EQ(host::dynamicQuantize(std::nanf(""), unit), 0);
  // W codes (zero point 130): column 0 = 131, 129, 132 -> 1, -1, 2.
  HostTensor w = u8({1, 1, 3}, {131, 129, 132});
  HostTensor s = f32({1, 1}, {0.5f});
  HostTensor zp = u8({1, 1}, {130});
  HostTensor a = f32({1, 3}, {-1.0f, 0.6f, 2.0f});
  HostTensor y(DType::FLOAT32, {1, 1});
  ASSERT_TRUE(run(attrs(host::QuantScheme::DynamicInt8, 3, 1, 3), {&a, &w, &s, &zp}, y).ok());
  // (0 - 85) * 1 + (136 - 85) * -1 + (255 - 85) * 2 = -85 - 51 + 340 = 204.
  EXPECT_FLOAT_EQ(values(y)[0], 204.0f * (p.scale * 0.5f));
}

TEST(QuantLinearKernel, Errors) {
  HostTensor a = f32({1, 4}, {1, 1, 1, 1});
  HostTensor w = u8({2, 1, 1}, {0, 0});
  HostTensor s = f32({2, 1}, {1, 1});
  HostTensor y(DType::FLOAT32, {1, 2});
  EXPECT_EQ(run(attrs(host::QuantScheme::Int4, 4, 2, 2), {&a, &w, &s}, y).message(),
            "eff.quant_linear: weight must be [2, 2, 1], got [2, 1, 1]");
  HostTensor w2 = u8({2, 2, 1}, {0, 0, 0, 0});
  EXPECT_EQ(run(attrs(host::QuantScheme::Int4, 4, 2, 2), {&a, &w2, &s}, y).message(),
            "eff.quant_linear: scales must be [2, 2], got [2, 1]");
  HostTensor absmax = f32({1}, {1});
  EXPECT_EQ(run(attrs(host::QuantScheme::NF4, 4, 2, 4), {&a, &w2, &absmax}, y).message(),
            "eff.quant_linear: weight must be [4], got [2, 2, 1]");
}
