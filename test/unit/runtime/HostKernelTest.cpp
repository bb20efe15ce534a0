// Host kernels the ONNX node tests do not cover (attention, rope, rms_norm,
// gelu), low-precision storage and error reporting.
#include "TestUtil.h"

#include "HostTensorRefs.h"
#include "host/HostKernels.h"

#include <cmath>
#include <random>

using namespace effc;
using host::Attrs;
using host::ConstTensorRef;
using host::TensorRef;
using test::cref;
using test::f32;
using test::ref;

namespace {

HostTensor randomF32(std::vector<int64_t> shape, std::mt19937 &rng) {
  HostTensor t(DType::FLOAT32, shape);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.data<float>()[i] = u(rng);
  return t;
}

// Straight from the definition in Attention.cpp, in double.
std::vector<double> attentionRef(const HostTensor &q, const HostTensor &k, const HostTensor &v,
                                 const HostTensor *mask, double scale, bool causal,
                                 int64_t window) {
  int64_t B = q.shape()[0], Hq = q.shape()[1], S = q.shape()[2], D = q.shape()[3];
  int64_t Hkv = k.shape()[1], L = k.shape()[2], Dv = v.shape()[3];
  std::vector<double> out(B * Hq * S * Dv, 0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hq; ++h)
      for (int64_t i = 0; i < S; ++i) {
        int64_t hk = h / (Hq / Hkv), pos = i + L - S;
        std::vector<double> s(L, -INFINITY);
        for (int64_t j = 0; j < L; ++j) {
          if (causal && j > pos)
            continue;
          if (window && j <= pos - window)
            continue;
          if (mask && mask->dtype() == DType::BOOL && !mask->data<uint8_t>()[(i * L + j)])
            continue;
          double acc = 0;
          for (int64_t d = 0; d < D; ++d)
            acc += q.data<float>()[((b * Hq + h) * S + i) * D + d] *
                   k.data<float>()[((b * Hkv + hk) * L + j) * D + d];
          s[j] = acc * scale +
                 (mask && mask->dtype() == DType::FLOAT32 ? mask->data<float>()[i * L + j] : 0);
        }
        double mx = -INFINITY, sum = 0;
        for (double x : s)
          mx = std::max(mx, x);
        if (mx == -INFINITY)
          continue;
        for (double &x : s)
          sum += x = std::exp(x - mx);
        for (int64_t j = 0; j < L; ++j)
          for (int64_t d = 0; d < Dv; ++d)
            out[((b * Hq + h) * S + i) * Dv + d] +=
                s[j] / sum * v.data<float>()[((b * Hkv + hk) * L + j) * Dv + d];
      }
  return out;
}

} // namespace

TEST(HostKernels, RegistryHasEveryContractOp) {
  for (const char *op : {"eff.add",        "eff.sub",
                         "eff.mul",        "eff.div",
                         "eff.pow",        "eff.max",
                         "eff.min",        "eff.equal",
                         "eff.greater",    "eff.greater_or_equal",
                         "eff.less",       "eff.less_or_equal",
                         "eff.and",        "eff.or",
                         "eff.xor",        "eff.where",
                         "eff.cos",        "eff.sin",
                         "eff.exp",        "eff.log",
                         "eff.neg",        "eff.not",
                         "eff.reciprocal", "eff.relu",
                         "eff.sigmoid",    "eff.sqrt",
                         "eff.tanh",       "eff.erf",
                         "eff.abs",        "eff.is_nan",
                         "eff.identity",   "eff.gelu",
                         "eff.cast",       "eff.clip",
                         "eff.reduce_max", "eff.reduce_mean",
                         "eff.reduce_sum", "eff.softmax",
                         "eff.cum_sum",    "eff.top_k",
                         "eff.matmul",     "eff.gemm",
                         "eff.concat",     "eff.constant_of_shape",
                         "eff.expand",     "eff.flatten",
                         "eff.gather",     "eff.gather_elements",
                         "eff.gather_nd",  "eff.range",
                         "eff.reshape",    "eff.shape",
                         "eff.slice",      "eff.split",
                         "eff.squeeze",    "eff.unsqueeze",
                         "eff.transpose",  "eff.trilu",
                         "eff.layer_norm", "eff.rms_norm",
                         "eff.rope",       "eff.attention"})
    EXPECT_TRUE(host::hasKernel(op)) << op;
  EXPECT_FALSE(host::hasKernel("eff.nope"));
}

TEST(HostKernels, AttentionHandComputed) {
  // One query over two keys, scale 1: scores [0, ln 3] -> weights [1/4, 3/4].
  HostTensor q = f32({1, 1, 1, 1}, {1}), k = f32({1, 1, 2, 1}, {0, float(std::log(3.0))});
  HostTensor v = f32({1, 1, 2, 2}, {4, 0, 0, 8}), o(DType::FLOAT32, {1, 1, 1, 2});
  ASSERT_TRUE(
      host::runKernel("eff.attention", {{"scale", 1.0}}, {cref(q), cref(k), cref(v)}, {ref(o)})
          .ok());
  EXPECT_NEAR(o.data<float>()[0], 1.0, 1e-6);
  EXPECT_NEAR(o.data<float>()[1], 6.0, 1e-6);
  // Causal with S == L: the first query sees only key 0.
  HostTensor q2 = f32({1, 1, 2, 1}, {1, 1}), o2(DType::FLOAT32, {1, 1, 2, 2});
  ASSERT_TRUE(host::runKernel("eff.attention", {{"scale", 1.0}, {"causal", int64_t(1)}},
                              {cref(q2), cref(k), cref(v)}, {ref(o2)})
                  .ok());
  EXPECT_NEAR(o2.data<float>()[0], 4.0, 1e-6);
  EXPECT_NEAR(o2.data<float>()[1], 0.0, 1e-6);
}

TEST(HostKernels, AttentionSoftcapHandComputed) {
  // Scores [0, 6] at scale 1 soft-capped by 2 become [0, 2 tanh 3] before
  // the softmax; an additive mask comes after the cap (-1 on key 0 stays -1,
  // it is not capped).
  HostTensor q = f32({1, 1, 1, 1}, {1}), k = f32({1, 1, 2, 1}, {0, 6});
  HostTensor v = f32({1, 1, 2, 1}, {1, 0}), o(DType::FLOAT32, {1, 1, 1, 1});
  auto weight0 = [](double s0, double s1) { return 1 / (1 + std::exp(s1 - s0)); };
  ASSERT_TRUE(host::runKernel("eff.attention", {{"scale", 1.0}, {"softcap", 2.0}},
                              {cref(q), cref(k), cref(v)}, {ref(o)})
                  .ok());
  EXPECT_NEAR(o.data<float>()[0], weight0(0, 2 * std::tanh(3.0)), 1e-6);
  HostTensor mask = f32({1, 2}, {-1, 0});
  ASSERT_TRUE(host::runKernel("eff.attention", {{"scale", 1.0}, {"softcap", 2.0}},
                              {cref(q), cref(k), cref(v), cref(mask)}, {ref(o)})
                  .ok());
  EXPECT_NEAR(o.data<float>()[0], weight0(-1, 2 * std::tanh(3.0)), 1e-6);
  Status st =
      host::runKernel("eff.attention", {{"softcap", -1.0}}, {cref(q), cref(k), cref(v)}, {ref(o)});
  EXPECT_EQ(st.message(), "eff.attention: softcap must be >= 0 and finite");
}

TEST(HostKernels, AttentionAlibiHandComputed) {
  // Two heads, one query at the last of 3 positions, q.k = 0 everywhere:
  // head h's weights are softmax(slope_h * (j - 2)) over keys 0..2.
  HostTensor q = f32({1, 2, 1, 1}, {0, 0}), k = f32({1, 2, 3, 1}, {1, 2, 3, 1, 2, 3});
  HostTensor v = f32({1, 2, 3, 1}, {1, 0, 0, 0, 0, 1}), o(DType::FLOAT32, {1, 2, 1, 1});
  Attrs a{{"scale", 1.0}, {"alibi_slopes", std::vector<double>{0.5, 2.0}}};
  ASSERT_TRUE(host::runKernel("eff.attention", a, {cref(q), cref(k), cref(v)}, {ref(o)}).ok());
  auto weight = [](double slope, int j) {
    double sum = 0;
    for (int t = 0; t < 3; ++t)
      sum += std::exp(slope * (t - 2));
    return std::exp(slope * (j - 2)) / sum;
  };
  EXPECT_NEAR(o.data<float>()[0], weight(0.5, 0), 1e-6); // head 0 reads key 0's value
  EXPECT_NEAR(o.data<float>()[1], weight(2.0, 2), 1e-6); // head 1 reads key 2's value
  a["alibi_slopes"] = std::vector<double>{0.5};
  Status st = host::runKernel("eff.attention", a, {cref(q), cref(k), cref(v)}, {ref(o)});
  EXPECT_EQ(st.message(), "eff.attention: alibi_slopes must be 2 floats (one per query head)");
}

TEST(HostKernels, AttentionSinksHandComputed) {
  // Two heads, one query over 2 keys with q.k = 0: each key weighs
  // 1 / (2 + exp(sink_h)); the sink's share goes nowhere (value 0).
  HostTensor q = f32({1, 2, 1, 1}, {0, 0}), k = f32({1, 2, 2, 1}, {1, 2, 1, 2});
  HostTensor v = f32({1, 2, 2, 1}, {3, 5, 3, 5}), o(DType::FLOAT32, {1, 2, 1, 1});
  Attrs a{{"scale", 1.0}, {"sinks", std::vector<double>{0.0, 2.0}}};
  ASSERT_TRUE(host::runKernel("eff.attention", a, {cref(q), cref(k), cref(v)}, {ref(o)}).ok());
  EXPECT_NEAR(o.data<float>()[0], 8.0 / 3.0, 1e-6);
  EXPECT_NEAR(o.data<float>()[1], 8.0 / (2.0 + std::exp(2.0)), 1e-6);
  // A row with no allowed key still gives 0 (all weight on the sink).
  HostTensor none = HostTensor(DType::BOOL, {1, 1, 1, 2});
  none.data<uint8_t>()[0] = none.data<uint8_t>()[1] = 0;
  ASSERT_TRUE(
      host::runKernel("eff.attention", a, {cref(q), cref(k), cref(v), cref(none)}, {ref(o)}).ok());
  EXPECT_EQ(o.data<float>()[0], 0.f);
  a["sinks"] = std::vector<double>{0.5, 1, 2};
  Status st = host::runKernel("eff.attention", a, {cref(q), cref(k), cref(v)}, {ref(o)});
  EXPECT_EQ(st.message(), "eff.attention: sinks must be 2 floats (one per query head)");
}

TEST(HostKernels, AttentionMatchesDefinition) {
  std::mt19937 rng(7);
  struct Cfg {
    int64_t B, Hq, Hkv, S, L, D, Dv;
    bool causal;
    int64_t window;
    int mask;
  };
  for (Cfg c : {Cfg{2, 4, 2, 5, 5, 8, 8, false, 0, 0}, Cfg{1, 4, 1, 3, 7, 4, 6, true, 0, 0},
                Cfg{1, 2, 2, 6, 6, 4, 4, true, 3, 0}, Cfg{1, 2, 1, 1, 9, 4, 4, true, 4, 0},
                Cfg{1, 2, 2, 4, 4, 4, 4, false, 0, 1}, Cfg{1, 2, 2, 4, 5, 4, 4, true, 0, 2}}) {
    HostTensor q = randomF32({c.B, c.Hq, c.S, c.D}, rng),
               k = randomF32({c.B, c.Hkv, c.L, c.D}, rng);
    HostTensor v = randomF32({c.B, c.Hkv, c.L, c.Dv}, rng),
               o(DType::FLOAT32, {c.B, c.Hq, c.S, c.Dv});
    HostTensor mask;
    std::vector<ConstTensorRef> ins{cref(q), cref(k), cref(v)};
    if (c.mask == 1) { // bool [S, L], row 0 fully masked -> zeros
      mask = HostTensor(DType::BOOL, {c.S, c.L});
      for (int64_t i = 0; i < c.S * c.L; ++i)
        mask.data<uint8_t>()[i] = (i / c.L) != 0 && (i % 3) != 0;
      ins.push_back(cref(mask));
    } else if (c.mask == 2) {
      mask = randomF32({c.S, c.L}, rng);
      ins.push_back(cref(mask));
    }
    double scale = 0.37;
    Attrs a{{"scale", scale},
            {"causal", int64_t(c.causal)},
            {"window", c.window},
            {"num_kv_heads", c.Hkv}};
    Status st = host::runKernel("eff.attention", a, ins, {ref(o)});
    ASSERT_TRUE(st.ok()) << st.message();
    auto want = attentionRef(q, k, v, c.mask ? &mask : nullptr, scale, c.causal, c.window);
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_NEAR(o.data<float>()[i], want[i], 1e-5) << i;
    if (c.mask == 1)
      for (int64_t d = 0; d < c.Dv; ++d)
        EXPECT_EQ(o.data<float>()[d], 0.f); // row with no allowed key
  }
}

TEST(HostKernels, AttentionErrors) {
  HostTensor q(DType::FLOAT32, {1, 3, 2, 4}), k(DType::FLOAT32, {1, 2, 2, 4}),
      o(DType::FLOAT32, {1, 3, 2, 4});
  Status st = host::runKernel("eff.attention", {}, {cref(q), cref(k), cref(k)}, {ref(o)});
  EXPECT_EQ(st.message(), "eff.attention: q heads must be a multiple of kv heads");
  HostTensor q2(DType::FLOAT32, {1, 2, 2, 4});
  st = host::runKernel("eff.attention", {{"num_kv_heads", int64_t(1)}},
                       {cref(q2), cref(k), cref(k)}, {ref(o)});
  EXPECT_NE(st.message().find("num_kv_heads 1 differs"), std::string::npos) << st.message();
}

TEST(HostKernels, RopeHandComputed) {
  float c0 = 0.5f, c1 = 0.25f, s0 = 0.75f, s1 = -1.f;
  HostTensor x = f32({1, 1, 1, 4}, {1, 2, 3, 4}), cosC = f32({1, 1, 2}, {c0, c1}),
             sinC = f32({1, 1, 2}, {s0, s1});
  HostTensor o(DType::FLOAT32, {1, 1, 1, 4});
  ASSERT_TRUE(host::runKernel("eff.rope", {}, {cref(x), cref(cosC), cref(sinC)}, {ref(o)}).ok());
  std::vector<float> want{c0 * 1 - s0 * 3, c1 * 2 - s1 * 4, s0 * 1 + c0 * 3, s1 * 2 + c1 * 4};
  for (int i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(o.data<float>()[i], want[i]);
  ASSERT_TRUE(host::runKernel("eff.rope", {{"interleaved", int64_t(1)}},
                              {cref(x), cref(cosC), cref(sinC)}, {ref(o)})
                  .ok());
  std::vector<float> wantI{c0 * 1 - s0 * 2, s0 * 1 + c0 * 2, c1 * 3 - s1 * 4, s1 * 3 + c1 * 4};
  for (int i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(o.data<float>()[i], wantI[i]);
  // 3-D input, position_ids picking row 1 of a [2, 1] cache, rotary dim 2 of 4.
  HostTensor x3 = f32({1, 1, 4}, {1, 2, 3, 4}), cc = f32({2, 1}, {9, c0}),
             ss = f32({2, 1}, {9, s0});
  HostTensor pos = HostTensor::fromVector<int64_t>(DType::INT64, {1, 1}, {1}),
             o3(DType::FLOAT32, {1, 1, 4});
  Status st =
      host::runKernel("eff.rope", {{"num_heads", int64_t(1)}, {"rotary_embedding_dim", int64_t(2)}},
                      {cref(x3), cref(cc), cref(ss), cref(pos)}, {ref(o3)});
  ASSERT_TRUE(st.ok()) << st.message();
  std::vector<float> want3{c0 * 1 - s0 * 2, s0 * 1 + c0 * 2, 3, 4};
  for (int i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(o3.data<float>()[i], want3[i]);
}

TEST(HostKernels, RmsNormAndGelu) {
  HostTensor x = f32({1, 2}, {3, 4}), s = f32({2}, {1, 2}), o(DType::FLOAT32, {1, 2});
  ASSERT_TRUE(
      host::runKernel("eff.rms_norm", {{"epsilon", 0.0}}, {cref(x), cref(s)}, {ref(o)}).ok());
  double rms = std::sqrt((9 + 16) / 2.0);
  EXPECT_NEAR(o.data<float>()[0], 3 / rms, 1e-6);
  EXPECT_NEAR(o.data<float>()[1], 8 / rms, 1e-6);
  HostTensor g = f32({2}, {1, -0.5f}), go(DType::FLOAT32, {2});
  ASSERT_TRUE(host::runKernel("eff.gelu", {}, {cref(g)}, {ref(go)}).ok());
  EXPECT_NEAR(go.data<float>()[0], 0.8413447, 1e-6);
  ASSERT_TRUE(
      host::runKernel("eff.gelu", {{"approximate", std::string("tanh")}}, {cref(g)}, {ref(go)})
          .ok());
  EXPECT_NEAR(go.data<float>()[0], 0.5 * (1 + std::tanh(std::sqrt(2 / M_PI) * 1.044715)), 1e-6);
  EXPECT_FALSE(
      host::runKernel("eff.gelu", {{"approximate", std::string("fast")}}, {cref(g)}, {ref(go)})
          .ok());
}

TEST(HostKernels, HalfAndBfloatRoundOnStore) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalf(65504.f), 0x7bff);
  EXPECT_EQ(floatToHalf(1e6f), 0x7c00);
  EXPECT_EQ(floatToHalf(1.0f + 1.0f / 2048), 0x3c00); // tie -> even
  EXPECT_EQ(floatToHalf(1.0f + 3.0f / 2048), 0x3c02);
  EXPECT_EQ(floatToHalf(5.960464477539063e-08f), 0x0001); // smallest subnormal
  EXPECT_EQ(halfToFloat(0x0001), 5.960464477539063e-08f);
  EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(NAN))));
  EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(floatToBf16(1.0f + 1.0f / 256), 0x3f80); // tie -> even
  EXPECT_EQ(floatToBf16(1.0f + 3.0f / 256), 0x3f82);
  // An fp16 add rounds its fp32 result once on store.
  HostTensor a = HostTensor::fromVector<uint16_t>(DType::FLOAT16, {1}, {floatToHalf(1.0f)});
  HostTensor b = HostTensor::fromVector<uint16_t>(DType::FLOAT16, {1}, {floatToHalf(1.0f / 1024)});
  HostTensor o(DType::FLOAT16, {1});
  ASSERT_TRUE(host::runKernel("eff.add", {}, {cref(a), cref(b)}, {ref(o)}).ok());
  EXPECT_EQ(o.data<uint16_t>()[0], 0x3c01);
  HostTensor m16 =
      HostTensor::fromVector<uint16_t>(DType::BFLOAT16, {1, 2}, {floatToBf16(1), floatToBf16(2)});
  HostTensor w16 =
      HostTensor::fromVector<uint16_t>(DType::BFLOAT16, {2, 1}, {floatToBf16(3), floatToBf16(4)});
  HostTensor mo(DType::BFLOAT16, {1, 1});
  ASSERT_TRUE(host::runKernel("eff.matmul", {}, {cref(m16), cref(w16)}, {ref(mo)}).ok());
  EXPECT_EQ(bf16ToFloat(mo.data<uint16_t>()[0]), 11.f);
}

TEST(HostKernels, ErrorsNameOpAndNeverCrash) {
  HostTensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6}), b = f32({4}, {1, 2, 3, 4}),
             o(DType::FLOAT32, {2, 3});
  EXPECT_EQ(host::runKernel("eff.add", {}, {cref(a), cref(b)}, {ref(o)}).message(),
            "eff.add: shapes cannot be broadcast: [2, 3] vs [4]");
  HostTensor wrong(DType::FLOAT32, {3, 2});
  EXPECT_EQ(host::runKernel("eff.relu", {}, {cref(a)}, {ref(wrong)}).message(),
            "eff.relu: output 0 shape: expected [2, 3], got [3, 2]");
  EXPECT_EQ(host::runKernel("eff.relu", {}, {}, {ref(o)}).message(),
            "eff.relu: expected 1 inputs, got 0");
  EXPECT_EQ(host::runKernel("eff.what", {}, {}, {}).message(), "no host kernel for op 'eff.what'");
  HostTensor idx = HostTensor::fromVector<int64_t>(DType::INT64, {1}, {5}),
             go(DType::FLOAT32, {1, 3});
  EXPECT_EQ(host::runKernel("eff.gather", {}, {cref(a), cref(idx)}, {ref(go)}).message(),
            "eff.gather: index 5 out of range for dim 2");
  HostTensor i1 = HostTensor::fromVector<int32_t>(DType::INT32, {2}, {7, INT32_MIN});
  HostTensor i0 = HostTensor::fromVector<int32_t>(DType::INT32, {2}, {0, -1}),
             io(DType::INT32, {2});
  EXPECT_TRUE(host::runKernel("eff.div", {}, {cref(i1), cref(i0)}, {ref(io)}).ok()); // no SIGFPE
  EXPECT_EQ(io.data<int32_t>()[0], 0);
  EXPECT_FALSE(
      host::runKernel("eff.softmax", {{"axis", std::string("x")}}, {cref(a)}, {ref(o)}).ok());
  EXPECT_FALSE(
      host::runKernel("eff.cast", {{"to", int64_t(8)}}, {cref(a)}, {ref(o)}).ok()); // string
  HostTensor shape = HostTensor::fromVector<int64_t>(DType::INT64, {2}, {4, -3}),
             ro(DType::FLOAT32, {6});
  EXPECT_FALSE(host::runKernel("eff.reshape", {}, {cref(a), cref(shape)}, {ref(ro)}).ok());
}

TEST(HostKernels, MatmulLargeUsesThreadsAndIsCorrect) {
  std::mt19937 rng(3);
  HostTensor a = randomF32({3, 65, 70}, rng), b = randomF32({70, 33}, rng),
             o(DType::FLOAT32, {3, 65, 33});
  ASSERT_TRUE(host::runKernel("eff.matmul", {}, {cref(a), cref(b)}, {ref(o)}).ok());
  for (int64_t bi : {0, 2})
    for (int64_t m : {0, 64})
      for (int64_t n : {0, 32}) {
        double acc = 0;
        for (int64_t k = 0; k < 70; ++k)
          acc += double(a.data<float>()[(bi * 65 + m) * 70 + k]) * b.data<float>()[k * 33 + n];
        EXPECT_NEAR(o.data<float>()[(bi * 65 + m) * 33 + n], acc, 1e-4);
      }
}
