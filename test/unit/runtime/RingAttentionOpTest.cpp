// eff.ring_attention (issue 20, effc --devices-attention=ring): the host
// kernel equals eff.attention over the whole sequence (batch > 1, GQA,
// causal or full, striped or contiguous token blocks, 2 and 4 devices);
// it refuses malformed blocks naming them; in an artifact the reader takes
// three blocks (q, k, v) per device, the placement finds block i on device
// devices[i % N], and the host backend's simulated devices run it.
#include "TestUtil.h"

#include "Artifact.h"
#include "DevicePlan.h"
#include "HostTensorRefs.h"
#include "effc/Session.h"
#include "host/HostKernels.h"
#include "host/RingAttention.h"

#include <cmath>
#include <random>

using namespace effc;
using namespace effc::test;

namespace {

HostTensor random(std::vector<int64_t> shape, std::mt19937 &rng) {
  HostTensor t(DType::FLOAT32, shape);
  std::uniform_real_distribution<float> u(-2, 2);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.data<float>()[i] = u(rng);
  return t;
}

/// Rows `pos` of x [B, H, S, W] along the sequence: [B, H, |pos|, W].
HostTensor rowsOf(const HostTensor &x, const std::vector<int64_t> &pos) {
  const int64_t B = x.shape()[0], H = x.shape()[1], S = x.shape()[2], W = x.shape()[3];
  const int64_t n = int64_t(pos.size());
  HostTensor out(DType::FLOAT32, {B, H, n, W});
  for (int64_t bh = 0; bh < B * H; ++bh)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t w = 0; w < W; ++w)
        out.data<float>()[(bh * n + i) * W + w] = x.data<float>()[(bh * S + pos[i]) * W + w];
  return out;
}

struct OpCase {
  int devices;
  int64_t B, S, Hq, Hkv, D, Dv;
  bool causal, striped;
};

TEST(RingAttentionOp, HostKernelEqualsAttention) {
  const OpCase cases[] = {
      {2, 2, 16, 4, 2, 8, 8, true, true}, {2, 2, 16, 4, 2, 8, 8, true, false},
      {4, 2, 16, 4, 1, 8, 4, true, true}, {4, 1, 32, 2, 2, 16, 16, false, false},
      {4, 3, 8, 2, 2, 4, 4, false, true}, {1, 2, 5, 2, 1, 4, 4, true, false},
  };
  for (const OpCase &c : cases) {
    SCOPED_TRACE(std::to_string(c.devices) + " devices, S " + std::to_string(c.S) +
                 (c.causal ? " causal" : "") + (c.striped ? " striped" : " contiguous"));
    std::mt19937 rng(77 + c.S);
    HostTensor q = random({c.B, c.Hq, c.S, c.D}, rng), k = random({c.B, c.Hkv, c.S, c.D}, rng),
               v = random({c.B, c.Hkv, c.S, c.Dv}, rng);
    HostTensor want(DType::FLOAT32, {c.B, c.Hq, c.S, c.Dv}), got(DType::FLOAT32, want.shape());
    const double scale = 0.3;
    host::Attrs attrs{{"scale", scale}, {"causal", int64_t(c.causal)}, {"num_kv_heads", c.Hkv}};
    Status st = host::runKernel("eff.attention", attrs, {cref(q), cref(k), cref(v)}, {ref(want)});
    ASSERT_TRUE(st.ok()) << st.message();
    std::vector<HostTensor> blocks;
    for (const HostTensor *x : {&q, &k, &v})
      for (int d = 0; d < c.devices; ++d)
        blocks.push_back(rowsOf(*x, host::ringPositions(c.S, c.devices, d, c.striped)));
    std::vector<host::ConstTensorRef> in;
    for (const HostTensor &b : blocks)
      in.push_back(cref(b));
    std::vector<int64_t> devices;
    for (int d = 0; d < c.devices; ++d)
      devices.push_back(d);
    attrs["devices"] = devices;
    attrs["striped"] = int64_t(c.striped);
    st = host::runKernel("eff.ring_attention", attrs, in, {ref(got)});
    ASSERT_TRUE(st.ok()) << st.message();
    double err = 0;
    for (int64_t i = 0; i < want.numElements(); ++i)
      err = std::max(err, double(std::fabs(got.data<float>()[i] - want.data<float>()[i])));
    EXPECT_LE(err, 1e-5);
  }
}

TEST(RingAttentionOp, HostKernelRefusesMalformedBlocks) {
  std::mt19937 rng(3);
  HostTensor q = random({1, 2, 4, 4}, rng), k = random({1, 1, 4, 4}, rng),
             k3 = random({1, 1, 3, 4}, rng), out(DType::FLOAT32, {1, 2, 8, 4});
  host::Attrs attrs{
      {"scale", 0.5}, {"num_kv_heads", int64_t(1)}, {"devices", std::vector<int64_t>{0, 1}}};
  Status st = host::runKernel("eff.ring_attention", attrs,
                              {cref(q), cref(q), cref(k), cref(k), cref(k)}, {ref(out)});
  ASSERT_FALSE(st.ok());
  EXPECT_CONTAINS(st.message(), "eff.ring_attention: 5 blocks for 2 devices (q, k and v blocks");
  st = host::runKernel("eff.ring_attention", attrs,
                       {cref(q), cref(q), cref(k), cref(k3), cref(k), cref(k)}, {ref(out)});
  ASSERT_FALSE(st.ok());
  EXPECT_CONTAINS(st.message(), "block 3 is float32 [1, 1, 3, 4], expected float32 [1, 1, 4, 4]");
  attrs["num_kv_heads"] = int64_t(2);
  st = host::runKernel("eff.ring_attention", attrs,
                       {cref(q), cref(q), cref(k), cref(k), cref(k), cref(k)}, {ref(out)});
  ASSERT_FALSE(st.ok());
  EXPECT_CONTAINS(st.message(), "num_kv_heads 2 differs from the k blocks' 1 heads");
}

/// x [1, 2, 4, 4]: a = -x on device 0, b = exp(x) on device 1; y =
/// ring_attention(q, k and v blocks (a, b)), causal, striped: a
/// sequence of 8 tokens, device 0 holding tokens 0, 2, 4, 6.
ManifestBuilder ringPlan() {
  ManifestBuilder mb;
  int x = mb.buffer("x", DType::FLOAT32, {1, 2, 4, 4});
  int a = mb.buffer("a", DType::FLOAT32, {1, 2, 4, 4});
  int b = mb.buffer("b", DType::FLOAT32, {1, 2, 4, 4});
  int y = mb.buffer("y", DType::FLOAT32, {1, 2, 8, 4});
  mb.kernel("eff.neg", {x}, {a})->set_device(1);
  mb.kernel("eff.exp", {x}, {b})->set_device(2);
  mb.kernel("eff.ring_attention", {a, b, a, b, a, b}, {y},
            {{"devices", attrInts({0, 1})},
             {"scale", attrF(0.5f)},
             {"causal", attrI(1)},
             {"striped", attrI(1)},
             {"num_kv_heads", attrI(2)}});
  mb.input("x", x);
  mb.output("y", y);
  mb.m.set_devices(2);
  return mb;
}

TEST(RingAttentionOp, PlanReaderAndPlacement) {
  std::string bytes = ringPlan().bytes();
  ArtifactSections s;
  ASSERT_TRUE(
      parseArtifact(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size(), "r", &s).ok());
  EXPECT_TRUE(checkDevicePlan(s.manifest).ok());
  auto p = placeKernels(s.manifest, 2, "r.effc");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->runsOn, (std::vector<int>{0, 1, -1}));
  EXPECT_EQ(p->inputFrom[2], (std::vector<int>{0, 1, 0, 1, 0, 1}));
  EXPECT_EQ(p->outputFrom, (std::vector<int>{-1}));
  // Block 2 (k on ring position 0) read from device 1's buffer while the
  // devices list says position 0 is device 0.
  artifact::Manifest c = s.manifest;
  c.mutable_kernels(2)->set_inputs(2, 2); // b (device 1) for k_0
  auto bad = placeKernels(c, 2, "r.effc");
  ASSERT_FALSE(bad.ok());
  EXPECT_CONTAINS(bad.status().message(), "reads buffer 2 (input 2), which only device 1 "
                                          "computed; its 'devices' attribute says device 0");
  // Not three blocks per device.
  c = s.manifest;
  c.mutable_kernels(2)->mutable_inputs()->RemoveLast();
  Status st = validateManifest(c, 0);
  ASSERT_FALSE(st.ok());
  EXPECT_CONTAINS(st.message(), "kernel 2 (eff.ring_attention at test/eff.ring_attention): 5 "
                                "inputs and 2 entries in its 'devices' attribute");
}

TEST(RingAttentionOp, HostBackendRunsThePlan) {
  auto s = hostSession(ringPlan().bytes(), 2);
  ASSERT_TRUE(s);
  std::mt19937 rng(5);
  HostTensor x = random({1, 2, 4, 4}, rng);
  auto out = s->run({{"x", Tensor{DType::FLOAT32, {1, 2, 4, 4}, x.data<float>()}}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  // The same kernel on the blocks computed here.
  HostTensor a(DType::FLOAT32, x.shape()), b(DType::FLOAT32, x.shape());
  for (int64_t i = 0; i < x.numElements(); ++i) {
    a.data<float>()[i] = -x.data<float>()[i];
    b.data<float>()[i] = std::exp(x.data<float>()[i]);
  }
  HostTensor want(DType::FLOAT32, {1, 2, 8, 4});
  Status st = host::runKernel("eff.ring_attention",
                              {{"devices", std::vector<int64_t>{0, 1}},
                               {"scale", 0.5},
                               {"causal", int64_t(1)},
                               {"striped", int64_t(1)},
                               {"num_kv_heads", int64_t(2)}},
                              {cref(a), cref(b), cref(a), cref(b), cref(a), cref(b)}, {ref(want)});
  ASSERT_TRUE(st.ok()) << st.message();
  const float *y = static_cast<const float *>((*out)[0].data());
  for (int64_t i = 0; i < want.numElements(); ++i)
    EXPECT_FLOAT_EQ(y[i], want.data<float>()[i]) << i;
}

} // namespace
