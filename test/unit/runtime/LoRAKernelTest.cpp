// Host reference kernels of unmerged LoRA (runtime/src/host/LoRA.cpp):
// eff.lora_linear and eff.lora_expand on hand-computed cases (one adapter,
// stacked adapters chosen per row group, "no adapter" indices), bf16 storage
// with fp32 accumulation, the decomposition identity the compiler relies on,
// and errors.
#include "HostTensorRefs.h"
#include "effc/Tensor.h"
#include "host/HostKernels.h"

#include <gtest/gtest.h>

#include <random>

using namespace effc;
using host::Attrs;
using host::ConstTensorRef;
using host::TensorRef;
using test::cref;
using test::f32;
using test::ref;

namespace {

HostTensor i64(std::vector<int64_t> v) {
  return HostTensor::fromVector<int64_t>(DType::INT64, {int64_t(v.size())}, v);
}
HostTensor bf16(std::vector<int64_t> shape, const std::vector<float> &v) {
  std::vector<uint16_t> bits;
  for (float f : v)
    bits.push_back(floatToBf16(f));
  return HostTensor::fromVector<uint16_t>(DType::BFLOAT16, std::move(shape), bits);
}
std::vector<float> values(const HostTensor &t) {
  std::vector<float> v;
  for (int64_t i = 0; i < t.numElements(); ++i)
    v.push_back(float(t.elementAsDouble(i)));
  return v;
}
HostTensor random(std::vector<int64_t> shape, std::mt19937 &rng) {
  HostTensor t(DType::FLOAT32, shape);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.data<float>()[i] = u(rng);
  return t;
}

Status run(const std::string &op, const Attrs &attrs, const std::vector<const HostTensor *> &in,
           HostTensor &out) {
  std::vector<ConstTensorRef> inputs;
  for (const HostTensor *t : in)
    inputs.push_back(cref(*t));
  return host::runKernel(op, attrs, inputs, {ref(out)});
}

} // namespace

TEST(LoRAKernels, Registered) {
  EXPECT_TRUE(host::hasKernel("eff.lora_linear"));
  EXPECT_TRUE(host::hasKernel("eff.lora_expand"));
}

TEST(LoRAKernels, SingleAdapterHandComputed) {
  // x [1, 2, 2] (two rows), w = I, a = [1, 1]^T (R = 1), b = [[2, -1]]:
  // y = x + 0.5 * (x0 + x1) * [2, -1].
  HostTensor x = f32({1, 2, 2}, {1, 2, 3, 4}), w = f32({2, 2}, {1, 0, 0, 1});
  HostTensor a = f32({2, 1}, {1, 1}), b = f32({1, 2}, {2, -1}), y(DType::FLOAT32, {1, 2, 2});
  ASSERT_TRUE(run("eff.lora_linear", {{"scale", 0.5}}, {&x, &w, &a, &b}, y).ok());
  // Row 0: [1, 2] + 0.5 * 3 * [2, -1] = [4, 0.5]; row 1: [3, 4] + 0.5 * 7 * [2, -1] = [10, 0.5].
  EXPECT_EQ(values(y), (std::vector<float>{4, 0.5f, 10, 0.5f}));
}

TEST(LoRAKernels, StackedAdaptersPerRowGroupAndNone) {
  // 6 rows, lora_index [3]: rows 0-1 adapter 1, rows 2-3 index -1, rows 4-5
  // index 2 = n (out of range): both mean "no adapter" and are never read.
  HostTensor x = f32({6, 1}, {1, 2, 3, 4, 5, 6}), w = f32({1, 1}, {10});
  HostTensor a = f32({2, 1, 1}, {100, 2}), b = f32({2, 1, 1}, {100, 3}), y(DType::FLOAT32, {6, 1});
  HostTensor index = i64({1, -1, 2});
  ASSERT_TRUE(run("eff.lora_linear", {{"scale", 1.0}}, {&x, &w, &a, &b, &index}, y).ok());
  // Adapter 1 adds x * 2 * 3 = 6x.
  EXPECT_EQ(values(y), (std::vector<float>{16, 32, 30, 40, 50, 60}));
  // int32 indices select the same way.
  HostTensor index32 = HostTensor::fromVector<int32_t>(DType::INT32, {3}, {0, 1, -7});
  ASSERT_TRUE(run("eff.lora_linear", {}, {&x, &w, &a, &b, &index32}, y).ok());
  EXPECT_EQ(values(y), (std::vector<float>{10 + 10000, 20 + 20000, 30 + 18, 40 + 24, 50, 60}));
}

TEST(LoRAKernels, ExpandReadsItsColumnsOfT) {
  // acc [3, 2]; t [3, 5] read from column t_offset = 1; n = 2 adapters of R = 2.
  // Row 0 adapter 0: columns 1, 2; row 1 adapter 1: columns 3, 4; row 2: none.
  HostTensor acc = f32({3, 2}, {1, 1, 1, 1, 1, 1});
  HostTensor t = f32({3, 5}, {9, 1, 2, 9, 9, 9, 9, 9, 3, 4, 9, 9, 9, 9, 9});
  HostTensor b = f32({2, 2, 2}, {1, 0, 0, 1, 2, 0, 0, 2}), index = i64({0, 1, 5}),
             y(DType::FLOAT32, {3, 2});
  ASSERT_TRUE(
      run("eff.lora_expand", {{"scale", 0.5}, {"t_offset", int64_t(1)}}, {&acc, &t, &b, &index}, y)
          .ok());
  // Row 0: 1 + 0.5 * [1, 2] = [1.5, 2]; row 1: 1 + 0.5 * 2 * [3, 4] = [4, 5].
  EXPECT_EQ(values(y), (std::vector<float>{1.5f, 2, 4, 5, 1, 1}));
}

TEST(LoRAKernels, Bf16AccumulatesInFp32AndRoundsOnce) {
  // x w = 1 + 3 * 2^-9 in fp32, which rounds to 1 + 2^-7 in bf16; adding the
  // terms in bf16 would lose each 2^-9 and give 1. The LoRA term is 0 here
  // (a = 0) but goes through the same sum.
  float tiny = 1.0f / 512;
  HostTensor x = bf16({1, 4}, {1, 1, 1, 1}), w = bf16({4, 1}, {1, tiny, tiny, tiny});
  HostTensor a = bf16({4, 1}, {0, 0, 0, 0}), b = bf16({1, 1}, {1}), y(DType::BFLOAT16, {1, 1});
  ASSERT_TRUE(run("eff.lora_linear", {}, {&x, &w, &a, &b}, y).ok());
  EXPECT_EQ(y.data<uint16_t>()[0], floatToBf16(1.0f + 1.0f / 128));
  // The expand likewise: acc 1 plus 3 * 2^-9 from three products.
  HostTensor acc = bf16({1, 1}, {1}), t = bf16({1, 3}, {tiny, tiny, tiny}),
             b3 = bf16({3, 1}, {1, 1, 1});
  ASSERT_TRUE(run("eff.lora_expand", {}, {&acc, &t, &b3}, y).ok());
  EXPECT_EQ(y.data<uint16_t>()[0], floatToBf16(1.0f + 1.0f / 128));
  // Stacked bf16 with index -1 on the second group: x w only.
  HostTensor x2 = bf16({2, 1}, {2, 2}), w2 = bf16({1, 1}, {3}), a2 = bf16({1, 1, 1}, {1}),
             b2 = bf16({1, 1, 1}, {0.5f});
  HostTensor index = i64({0, -1}), y2(DType::BFLOAT16, {2, 1});
  ASSERT_TRUE(run("eff.lora_linear", {{"scale", 4.0}}, {&x2, &w2, &a2, &b2, &index}, y2).ok());
  EXPECT_EQ(values(y2), (std::vector<float>{6 + 4 * 2 * 0.5f, 6}));
}

// What eff-decompose-lora builds: t = x a_flat (a_flat[k][g * R + r] =
// a[g][k][r]), y0 = x w, y = lora_expand(y0, t, b). On fp32 the result is the
// same sum in the same order as lora_linear's.
TEST(LoRAKernels, DecompositionMatchesLinear) {
  std::mt19937 rng(7);
  const int64_t rows = 6, K = 5, N = 4, n = 3, R = 2;
  HostTensor x = random({2, 3, K}, rng), w = random({K, N}, rng), a = random({n, K, R}, rng),
             b = random({n, R, N}, rng);
  HostTensor index = i64({2, -1, 0}); // three groups of two rows
  HostTensor y(DType::FLOAT32, {2, 3, N});
  Attrs attrs{{"scale", 1.5}};
  ASSERT_TRUE(run("eff.lora_linear", attrs, {&x, &w, &a, &b, &index}, y).ok());

  HostTensor flat(DType::FLOAT32, {K, n * R});
  for (int64_t g = 0; g < n; ++g)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t r = 0; r < R; ++r)
        flat.data<float>()[k * n * R + g * R + r] = a.data<float>()[(g * K + k) * R + r];
  HostTensor t(DType::FLOAT32, {2, 3, n * R}), y0(DType::FLOAT32, {2, 3, N}),
      y1(DType::FLOAT32, {2, 3, N});
  ASSERT_TRUE(run("eff.matmul", {}, {&x, &flat}, t).ok());
  ASSERT_TRUE(run("eff.matmul", {}, {&x, &w}, y0).ok());
  ASSERT_TRUE(run("eff.lora_expand", attrs, {&y0, &t, &b, &index}, y1).ok());
  for (int64_t i = 0; i < rows * N; ++i)
    EXPECT_NEAR(y1.data<float>()[i], y.data<float>()[i], 1e-6) << i;
}

TEST(LoRAKernels, ErrorsNameTheProblem) {
  HostTensor x = f32({3, 2}, {1, 2, 3, 4, 5, 6}), w = f32({2, 2}, {1, 0, 0, 1});
  HostTensor a = f32({2, 2, 1}, {1, 1, 1, 1}), b = f32({2, 1, 2}, {1, 1, 1, 1}),
             y(DType::FLOAT32, {3, 2});
  HostTensor index = i64({0, 1});
  EXPECT_EQ(run("eff.lora_linear", {}, {&x, &w, &a, &b, &index}, y).message(),
            "eff.lora_linear: 3 rows do not split into lora_index's 2 groups");
  HostTensor a2 = f32({2, 1}, {1, 1}), b2 = f32({1, 2}, {1, 1});
  EXPECT_EQ(run("eff.lora_linear", {}, {&x, &w, &a2, &b2, &index}, y).message(),
            "eff.lora_linear: b must be [n, R, N] with lora_index, got [1, 2]");
  HostTensor a3 = f32({3, 1}, {1, 1, 1});
  EXPECT_EQ(run("eff.lora_linear", {}, {&x, &w, &a3, &b2}, y).message(),
            "eff.lora_linear: a must be [2, 1], got [3, 1]");
  HostTensor t = f32({3, 1}, {1, 1, 1}), acc = f32({3, 2}, {0, 0, 0, 0, 0, 0});
  EXPECT_EQ(run("eff.lora_expand", {{"t_offset", int64_t(1)}}, {&acc, &t, &b2}, y).message(),
            "eff.lora_expand: t has 1 columns but the adapters read [1, 2)");
  HostTensor xi = HostTensor::fromVector<int32_t>(DType::INT32, {3, 2}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(run("eff.lora_linear", {}, {&xi, &w, &a2, &b2}, y).message(),
            "eff.lora_linear: unsupported dtype int32");
}
