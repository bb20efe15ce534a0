// The device plan of an artifact (runtime/src/DevicePlan.h, issue 20): the
// collective ops eff.all_reduce / eff.all_gather between kernels placed on
// devices. The reader refuses every malformed plan naming the kernel, the
// placement refuses a kernel reading another device's data outside a
// collective, the host backend's N simulated devices run the plan, and the
// cuda backend checks it before it opens a GPU (test/gpu/multigpu.sh runs it).
#include "TestUtil.h"

#include "Artifact.h"
#include "DevicePlan.h"
#include "cuda/MultiDeviceSession.h"
#include "effc/Backend.h"
#include "effc/Session.h"
#include "host/HostKernels.h"

#include <cmath>
#include <cstring>

using namespace effc;
using namespace effc::test;

namespace {

/// x [2, 3]: a = -x on device 0, b = exp(x) on device 1, s = all_reduce(a,
/// b), g = all_gather(a, b) on axis 1, both outputs.
ManifestBuilder twoDevices() {
  ManifestBuilder mb;
  int x = mb.buffer("x", DType::FLOAT32, {2, 3});
  int a = mb.buffer("a", DType::FLOAT32, {2, 3});
  int b = mb.buffer("b", DType::FLOAT32, {2, 3});
  int s = mb.buffer("s", DType::FLOAT32, {2, 3});
  int g = mb.buffer("g", DType::FLOAT32, {2, 6});
  mb.kernel("eff.neg", {x}, {a})->set_device(1);
  mb.kernel("eff.exp", {x}, {b})->set_device(2);
  mb.kernel("eff.all_reduce", {a, b}, {s}, {{"devices", attrInts({0, 1})}});
  mb.kernel("eff.all_gather", {a, b}, {g}, {{"axis", attrI(1)}, {"devices", attrInts({0, 1})}});
  mb.input("x", x);
  mb.output("s", s);
  mb.output("g", g);
  mb.m.set_devices(2);
  return mb;
}

struct DevicePlan : ::testing::Test {
  artifact::Manifest m;
  void SetUp() override {
    std::string bytes = twoDevices().bytes();
    ArtifactSections s;
    ASSERT_TRUE(
        parseArtifact(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size(), "v", &s).ok());
    m = s.manifest;
    ASSERT_EQ(m.format_version(), 3u); // a device plan needs version 3
  }
  std::string error(const std::function<void(artifact::Manifest &)> &fn) {
    artifact::Manifest c = m;
    fn(c);
    Status s = validateManifest(c, 0);
    return s.ok() ? std::string("<valid>") : s.message();
  }
};

TEST_F(DevicePlan, ReaderRefusesMalformedCollectives) {
  EXPECT_EQ(error([](auto &) {}), "<valid>");
  // The string of an effc before the collective ops names no collective
  // this runtime knows.
  EXPECT_CONTAINS(error([](auto &c) { c.mutable_kernels(2)->set_collective("all_reduce"); }),
                  "kernel 2 (eff.all_reduce at test/eff.all_reduce): unknown collective "
                  "'all_reduce' (Kernel.collective)");
  EXPECT_CONTAINS(error([](auto &c) { c.mutable_kernels(0)->set_collective("all_to_all"); }),
                  "kernel 0 (eff.neg at test/eff.neg): unknown collective 'all_to_all'");
  EXPECT_CONTAINS(error([](auto &c) { c.mutable_kernels(1)->set_device(3); }),
                  "kernel 1 (eff.exp at test/eff.exp): on device 2 of a plan for 2 device(s)");
  EXPECT_CONTAINS(error([](auto &c) { c.mutable_kernels(2)->set_device(1); }),
                  "kernel 2 (eff.all_reduce at test/eff.all_reduce): a collective runs on every "
                  "device, not on device 0");
  EXPECT_CONTAINS(
      error([](auto &c) { (*c.mutable_kernels(2)->mutable_attrs())["devices"] = attrInts({0}); }),
      "kernel 2 (eff.all_reduce at test/eff.all_reduce): 2 inputs and 1 entries in "
      "its 'devices' attribute");
  EXPECT_CONTAINS(error([](auto &c) { c.mutable_kernels(3)->mutable_attrs()->erase("devices"); }),
                  "kernel 3 (eff.all_gather at test/eff.all_gather): 2 inputs and 0 entries");
  EXPECT_CONTAINS(error([](auto &c) {
                    (*c.mutable_kernels(2)->mutable_attrs())["devices"] = attrInts({1, 1});
                  }),
                  "input 1 on device 1: outside 0..1 or given twice");
  EXPECT_CONTAINS(error([](auto &c) {
                    (*c.mutable_kernels(3)->mutable_attrs())["devices"] = attrInts({0, 2});
                  }),
                  "input 1 on device 2: outside 0..1 or given twice");
  EXPECT_CONTAINS(
      error([](auto &c) { (*c.mutable_kernels(3)->mutable_attrs())["axis"] = attrI(2); }),
      "kernel 3 (eff.all_gather at test/eff.all_gather): axis 2 missing or outside "
      "the output's rank 2");
  EXPECT_CONTAINS(error([](auto &c) { c.mutable_kernels(3)->add_outputs(3); }),
                  "2 outputs (a collective has one)");
  EXPECT_CONTAINS(error([](auto &c) {
                    c.set_devices(1);
                    c.mutable_kernels(0)->set_device(0);
                    c.mutable_kernels(1)->set_device(0);
                  }),
                  "kernel 2 (eff.all_reduce at test/eff.all_reduce): a collective in a manifest "
                  "without a device plan");
}

TEST_F(DevicePlan, PlacementFollowsTheCollectives) {
  auto p = placeKernels(m, 2, "v.effc");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->runsOn, (std::vector<int>{0, 1, -1, -1}));
  EXPECT_EQ(p->inputFrom[2], (std::vector<int>{0, 1}));
  EXPECT_EQ(p->outputFrom, (std::vector<int>{-1, -1}));
  // A collective whose devices list disagrees with where its inputs are.
  artifact::Manifest c = m;
  (*c.mutable_kernels(2)->mutable_attrs())["devices"] = attrInts({1, 0});
  auto bad = placeKernels(c, 2, "v.effc");
  ASSERT_FALSE(bad.ok());
  EXPECT_CONTAINS(bad.status().message(),
                  "v.effc: kernel 2 (eff.all_reduce at test/eff.all_reduce) (on every device) "
                  "reads buffer 1 (input 0), which only device 0 computed; its 'devices' "
                  "attribute says device 1");
  // A replicated kernel reading device 1's data without a collective.
  c = m;
  c.mutable_kernels(2)->set_op("eff.add");
  c.mutable_kernels(2)->mutable_attrs()->clear();
  bad = placeKernels(c, 2, "v.effc");
  ASSERT_FALSE(bad.ok());
  EXPECT_CONTAINS(bad.status().message(),
                  "kernel 2 (eff.add at test/eff.all_reduce) (on every device) reads buffer 1 "
                  "(input 0), which only device 0 computed; another device's data needs a "
                  "collective");
}

TEST(DevicePlanHost, TwoSimulatedDevicesRunTheCollectives) {
  auto s = hostSession(twoDevices().bytes(), 2);
  ASSERT_TRUE(s);
  std::vector<float> x = {0.f, 1.f, -1.f, 0.5f, 2.f, -3.f};
  auto out = s->run({{"x", Tensor{DType::FLOAT32, {2, 3}, x.data()}}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  const float *sum = static_cast<const float *>((*out)[0].data());
  const float *gathered = static_cast<const float *>((*out)[1].data());
  for (int r = 0; r < 2; ++r)
    for (int j = 0; j < 3; ++j) {
      const float v = x[size_t(r * 3 + j)];
      EXPECT_FLOAT_EQ(sum[r * 3 + j], -v + std::exp(v)) << r << "," << j;
      EXPECT_FLOAT_EQ(gathered[r * 6 + j], -v);
      EXPECT_FLOAT_EQ(gathered[r * 6 + 3 + j], std::exp(v));
    }
}

// The cuda backend's session over several devices (cuda/MultiDeviceSession)
// refuses a device count or a placement the artifact does not hold before it
// looks for a GPU, so these messages are the same on any machine.
TEST(DevicePlanCuda, ChecksThePlanBeforeOpeningAGpu) {
  auto backend = getBackend("cuda");
  ASSERT_TRUE(backend.ok()) << backend.status().message();
  auto error = [&](const std::string &bytes, int devices) {
    SessionOptions options;
    options.backend = "cuda";
    options.devices = devices;
    auto s = (*backend)->createSession(loadBytes(bytes, "plan.effc"), options);
    return s.ok() ? std::string("<created>") : s.status().message();
  };
  const std::string plan = twoDevices().bytes();
  EXPECT_CONTAINS(error(plan, 3), "plan.effc: cuda backend: devices = 3 but the artifact was "
                                  "partitioned for 2 (effc --devices=2)");
  EXPECT_CONTAINS(error(plan, 1), "plan.effc: cuda backend: devices = 1 but the artifact was "
                                  "partitioned for 2");
  EXPECT_CONTAINS(error(smallModel().bytes(), 2),
                  "plan.effc: cuda backend: devices = 2 but the artifact is not partitioned "
                  "(compile it with effc --devices=2)");
  ManifestBuilder leak = twoDevices();
  leak.m.mutable_kernels(2)->set_op("eff.add");
  leak.m.mutable_kernels(2)->mutable_attrs()->clear();
  EXPECT_CONTAINS(error(leak.bytes(), 2),
                  "plan.effc: cuda backend: device plan: kernel 2 (eff.add at "
                  "test/eff.all_reduce) (on every device) reads buffer 1 (input 0), which only "
                  "device 0 computed");
}

// The cuda backend places an all-gather's blocks (gathered back to back,
// rank q's at q * outer * inner) with one 2-D copy per block; run here over
// host memory, the copies give the host kernel's concat, also when the
// operands' devices are not in rank order.
TEST(DevicePlanCuda, GatheredBlocksLandAsTheConcat) {
  const std::vector<int> devices = {2, 0, 1}; // operand i comes from rank devices[i]
  const std::vector<int64_t> blockShape = {2, 3, 2};
  const size_t outer = 6, inner = 2 * sizeof(float), blockFloats = 12;
  std::vector<std::vector<float>> blocks(3, std::vector<float>(blockFloats));
  for (size_t i = 0; i < 3; ++i)
    for (size_t e = 0; e < blockFloats; ++e)
      blocks[i][e] = float(100 * i + e);
  std::vector<float> staging(3 * blockFloats);
  for (size_t i = 0; i < 3; ++i)
    std::memcpy(&staging[size_t(devices[i]) * blockFloats], blocks[i].data(),
                blockFloats * sizeof(float));
  std::vector<float> out(3 * blockFloats, -1.f), want(3 * blockFloats);
  for (const cuda::CudaMemcpy2D &c :
       cuda::placeGatheredBlocks(cuda::CUdeviceptr(staging.data()), cuda::CUdeviceptr(out.data()),
                                 devices, outer, inner)) {
    ASSERT_GE(c.srcPitch, c.WidthInBytes);
    ASSERT_GE(c.dstPitch, c.WidthInBytes);
    for (size_t h = 0; h < c.Height; ++h)
      std::memcpy(reinterpret_cast<char *>(c.dstDevice) + h * c.dstPitch,
                  reinterpret_cast<const char *>(c.srcDevice) + h * c.srcPitch, c.WidthInBytes);
  }
  std::vector<host::ConstTensorRef> in;
  for (const auto &b : blocks)
    in.push_back({DType::FLOAT32, blockShape, b.data()});
  ASSERT_TRUE(host::runKernel("eff.all_gather",
                              {{"axis", int64_t(2)}, {"devices", std::vector<int64_t>{2, 0, 1}}},
                              in, {{DType::FLOAT32, {2, 3, 6}, want.data()}})
                  .ok());
  EXPECT_EQ(out, want);
}

} // namespace
