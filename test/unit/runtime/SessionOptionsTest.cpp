// The session API without a GPU: SessionOptions defaults and environment,
// the cuda default's no-GPU error, arena limits, runInto/runOnDevice on the
// host backend and the errors that name the input or output.
#include "CudaTestUtil.h"

#include <algorithm>
#include <cstring>

using namespace effc;
using namespace effc::test;

namespace {

// Every variable fromEnvironment() reads, unset for one scope.
struct CleanEnv {
  ScopedEnv e[8] = {{"EFFC_BACKEND", nullptr},    {"EFFC_CUDA_DEVICE", nullptr},
                    {"EFFC_CACHE_DIR", nullptr},  {"EFFC_CACHE", nullptr},
                    {"EFFC_CUDA_GRAPH", nullptr}, {"EFFC_CUDA_SYNC", nullptr},
                    {"EFFC_CUDA_ARCH", nullptr},  {"EFFC_VERBOSE", nullptr}};
};

std::shared_ptr<const Model> small() { return loadBytes(smallModel().bytes(), "m.effc"); }

SessionOptions hostOptions() {
  SessionOptions o;
  o.backend = "host";
  return o;
}

#define EXPECT_HAS(haystack, needle)                                                               \
  do {                                                                                             \
    std::string h_ = (haystack);                                                                   \
    EXPECT_NE(h_.find(needle), std::string::npos) << h_;                                           \
  } while (0)

} // namespace

TEST(SessionOptions, BuiltInDefaults) {
  CleanEnv clean;
  SessionOptions d;
  EXPECT_EQ(d.backend, "cuda");
  EXPECT_EQ(d.device, 0);
  EXPECT_EQ(d.stream, nullptr);
  EXPECT_EQ(d.kernelCacheDir, "");
  EXPECT_TRUE(d.kernelCache);
  EXPECT_TRUE(d.cudaGraphs);
  EXPECT_EQ(d.arenaLimitBytes, 0u);
  EXPECT_EQ(d.verbosity, 0);
  EXPECT_FALSE(d.syncAfterEachKernel);
  EXPECT_EQ(d.cudaArch, "");
  // Without any variable set, fromEnvironment() is exactly the defaults.
  SessionOptions e = SessionOptions::fromEnvironment();
  EXPECT_EQ(e.backend, d.backend);
  EXPECT_EQ(e.device, d.device);
  EXPECT_EQ(e.kernelCacheDir, d.kernelCacheDir);
  EXPECT_EQ(e.kernelCache, d.kernelCache);
  EXPECT_EQ(e.cudaGraphs, d.cudaGraphs);
  EXPECT_EQ(e.verbosity, d.verbosity);
  EXPECT_EQ(e.syncAfterEachKernel, d.syncAfterEachKernel);
  EXPECT_EQ(e.cudaArch, d.cudaArch);
}

TEST(SessionOptions, EnvironmentSetsDefaults) {
  CleanEnv clean;
  ScopedEnv b("EFFC_BACKEND", "host"), dev("EFFC_CUDA_DEVICE", "3"),
      dir("EFFC_CACHE_DIR", "/tmp/kc"), cache("EFFC_CACHE", "0"), g("EFFC_CUDA_GRAPH", "off"),
      sync("EFFC_CUDA_SYNC", "1"), arch("EFFC_CUDA_ARCH", "sm_90a"), v("EFFC_VERBOSE", "2");
  SessionOptions o = SessionOptions::fromEnvironment();
  EXPECT_EQ(o.backend, "host");
  EXPECT_EQ(o.device, 3);
  EXPECT_EQ(o.kernelCacheDir, "/tmp/kc");
  EXPECT_FALSE(o.kernelCache);
  EXPECT_FALSE(o.cudaGraphs);
  EXPECT_TRUE(o.syncAfterEachKernel);
  EXPECT_EQ(o.cudaArch, "sm_90a");
  EXPECT_EQ(o.verbosity, 2);
  // Words and out-of-range numbers for the verbosity; a bad device ordinal.
  ScopedEnv v2("EFFC_VERBOSE", "yes"), dev2("EFFC_CUDA_DEVICE", "gpu1");
  o = SessionOptions::fromEnvironment();
  EXPECT_EQ(o.verbosity, 1);
  EXPECT_EQ(o.device, -1);
  ScopedEnv v3("EFFC_VERBOSE", "9");
  EXPECT_EQ(SessionOptions::fromEnvironment().verbosity, 2);
}

TEST(SessionOptions, CodeWinsOverEnvironment) {
  CleanEnv clean;
  ScopedEnv b("EFFC_BACKEND", "cuda"), g("EFFC_CUDA_GRAPH", "0");
  SessionOptions o = SessionOptions::fromEnvironment();
  o.backend = "host";
  auto s = Session::create(small(), o);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ((*s)->backendName(), "host");
  EXPECT_FALSE((*s)->options().cudaGraphs); // from the environment
  // The backend-name overload keeps the environment's other defaults.
  auto s2 = Session::create(small(), "host");
  ASSERT_TRUE(s2.ok()) << s2.status().message();
  EXPECT_FALSE((*s2)->options().cudaGraphs);
  // And Session::create(model) reads EFFC_BACKEND.
  ScopedEnv h("EFFC_BACKEND", "host");
  auto s3 = Session::create(small());
  ASSERT_TRUE(s3.ok()) << s3.status().message();
  EXPECT_EQ((*s3)->backendName(), "host");
  EXPECT_EQ((*s3)->stream(), nullptr);
}

// The default backend is cuda; without a driver that is an error that names
// the model and says how to get the reference backend, never a fallback.
TEST(SessionOptions, DefaultBackendWithoutGpuIsAClearError) {
  CleanEnv clean;
  std::string payload;
  ManifestBuilder mb = smallCudaModel(&payload);
  auto model = loadBytes(bytesWithPayload(mb, payload), "gpu.effc");
  ASSERT_TRUE(model);
  auto s = Session::create(model);
  if (s.ok())
    EFFC_SKIP_GPU_OR_OPT_IN() << "a CUDA driver and device are present here";
  EXPECT_HAS(s.status().message(), "gpu.effc: cuda backend: no CUDA driver/GPU found (");
  EXPECT_HAS(s.status().message(), "); pass backend \"host\" for the reference backend");
  // Any device ordinal: the same answer.
  SessionOptions o;
  o.device = 1;
  auto s1 = Session::create(model, o);
  ASSERT_FALSE(s1.ok());
  EXPECT_HAS(s1.status().message(), "no CUDA driver/GPU found");
  // A bad ordinal is named before the driver is even tried.
  o.device = -1;
  auto bad = Session::create(model, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_HAS(bad.status().message(), "gpu.effc: cuda backend: device -1 is not a device ordinal");
  // DeviceTensor needs the driver too.
  auto t = DeviceTensor::allocate(DType::FLOAT32, {4});
  ASSERT_FALSE(t.ok());
  EXPECT_HAS(t.status().message(), "no CUDA driver/GPU found");
}

TEST(SessionOptions, ArenaLimit) {
  auto model = small();
  ASSERT_GT(model->arenaBytes(), 0u);
  SessionOptions o = hostOptions();
  o.arenaLimitBytes = model->arenaBytes();
  EXPECT_TRUE(Session::create(model, o).ok()); // exactly the limit is fine
  o.arenaLimitBytes = model->arenaBytes() - 1;
  auto s = Session::create(model, o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(),
            "m.effc: the planned arena needs " + std::to_string(model->arenaBytes()) +
                " bytes, over the limit of " + std::to_string(model->arenaBytes() - 1) +
                " (SessionOptions::arenaLimitBytes)");
}

TEST(HostSession, RunIntoHostBuffersMatchesRun) {
  auto s = Session::create(small(), hostOptions());
  ASSERT_TRUE(s.ok()) << s.status().message();
  std::vector<float> x{1, -2, 3, 0.5f, 5, -6};
  std::map<std::string, Tensor> in{{"x", Tensor{DType::FLOAT32, {2, 3}, x.data()}}};
  auto want = (*s)->run(in);
  ASSERT_TRUE(want.ok()) << want.status().message();
  std::vector<float> y(4, -99.f), flat(4, -99.f);
  Status st = (*s)->runInto(in, {{"y", MutableTensor{DType::FLOAT32, {2, 2}, y.data()}},
                                 {"flat", MutableTensor{DType::FLOAT32, {4}, flat.data()}}});
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(std::memcmp(y.data(), (*want)[0].data(), 16), 0);
  EXPECT_EQ(std::memcmp(flat.data(), (*want)[1].data(), 16), 0);
  EXPECT_NE(y[0], -99.f);
  // Positional, into HostTensors.
  HostTensor y2(DType::FLOAT32, {2, 2}), f2(DType::FLOAT32, {4});
  st = (*s)->runIntoPositional({in.at("x")}, {y2.mutableView(), f2.mutableView()});
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(std::memcmp(y2.data(), (*want)[0].data(), 16), 0);
  EXPECT_EQ(std::memcmp(f2.data(), (*want)[1].data(), 16), 0);
}

TEST(HostSession, RunIntoOutputErrors) {
  auto s = Session::create(small(), hostOptions());
  ASSERT_TRUE(s.ok()) << s.status().message();
  std::vector<float> x(6, 1), y(4), flat(4);
  std::vector<int64_t> yi(4);
  std::map<std::string, Tensor> in{{"x", Tensor{DType::FLOAT32, {2, 3}, x.data()}}};
  MutableTensor goodY{DType::FLOAT32, {2, 2}, y.data()}, goodF{DType::FLOAT32, {4}, flat.data()};
  auto err = [&](const std::map<std::string, MutableTensor> &out) {
    Status st = (*s)->runInto(in, out);
    return st.ok() ? std::string("<ok>") : st.message();
  };
  EXPECT_EQ(err({{"y", goodY}, {"flat", goodF}}), "<ok>");
  EXPECT_EQ(err({{"y", goodY}}), "m.effc: no buffer for output 'flat'");
  EXPECT_EQ(err({{"y", goodY}, {"flat", goodF}, {"z", goodF}}),
            "m.effc: unknown output 'z' (model outputs: y, flat)");
  EXPECT_EQ(err({{"y", MutableTensor{DType::INT64, {2, 2}, yi.data()}}, {"flat", goodF}}),
            "m.effc: output 'y': dtype expected float32, got int64");
  EXPECT_EQ(err({{"y", goodY}, {"flat", MutableTensor{DType::FLOAT32, {2, 2}, flat.data()}}}),
            "m.effc: output 'flat': shape expected [4], got [2, 2]");
  EXPECT_EQ(err({{"y", MutableTensor{DType::FLOAT32, {2, 2}, nullptr}}, {"flat", goodF}}),
            "m.effc: output 'y': null data");
  MutableTensor devY = goodY;
  devY.device = Device::Cuda;
  EXPECT_EQ(err({{"y", devY}, {"flat", goodF}}),
            "m.effc: output 'y': a CUDA device buffer; the host backend writes host memory only");
  Status st = (*s)->runIntoPositional({in.at("x")}, {goodY});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "m.effc: expected 2 output buffers, got 1");
}

TEST(HostSession, DeviceTensorsAreRejectedByName) {
  auto s = Session::create(small(), hostOptions());
  ASSERT_TRUE(s.ok()) << s.status().message();
  std::vector<float> x(6, 1);
  Tensor dev{DType::FLOAT32, {2, 3}, x.data(), Device::Cuda};
  auto r = (*s)->run({{"x", dev}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "m.effc: input 'x' is in CUDA device memory; the host backend "
                                  "takes host tensors only");
  // Whatever its device index: the host backend has no device.
  dev.deviceIndex = 2;
  r = (*s)->run({{"x", dev}});
  ASSERT_FALSE(r.ok());
  EXPECT_HAS(r.status().message(), "input 'x' is in CUDA device memory");
}

TEST(HostSession, RunOnDeviceSaysItNeedsCuda) {
  auto s = Session::create(small(), hostOptions());
  ASSERT_TRUE(s.ok()) << s.status().message();
  std::vector<float> x(6, 1);
  auto r = (*s)->runOnDevice({{"x", Tensor{DType::FLOAT32, {2, 3}, x.data()}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "m.effc: host backend: no device memory: runOnDevice needs the cuda backend");
  // Input errors come first, naming the input.
  r = (*s)->runOnDevice({});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "m.effc: missing input 'x'");
}

TEST(DeviceTensor, EmptyTensorIsHarmless) {
  DeviceTensor t;
  EXPECT_EQ(t.data(), nullptr);
  EXPECT_EQ(t.byteSize(), 0u);
  auto h = t.toHost();
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->byteSize(), 0u);
  Tensor v = t.view();
  EXPECT_EQ(v.device, Device::Cuda);
  auto c = DeviceTensor::copyOf(Tensor{DType::FLOAT32, {1}, nullptr, Device::Cuda});
  ASSERT_FALSE(c.ok());
  EXPECT_HAS(c.status().message(), "the source must be a host tensor");
}

// The artifact of the GPU test's copy paths (CudaGpu.DeviceInputsAndOutputs)
// is valid and means what that test assumes: on the host, relu overwrites the
// session's copy of x (never the caller's), and t_tail is t's second half.
TEST(HostSession, InPlaceModelOfTheCopyPathTest) {
  std::string payload;
  ManifestBuilder mb = inPlaceCudaModel(&payload);
  auto model = loadBytes(bytesWithPayload(mb, payload), "inplace.effc");
  ASSERT_TRUE(model);
  auto s = Session::create(model, hostOptions());
  ASSERT_TRUE(s.ok()) << s.status().message();
  std::vector<float> x(1024);
  for (int i = 0; i < 1024; ++i)
    x[i] = float(i % 7) - 3.f;
  std::vector<float> before = x;
  auto out = (*s)->run({{"x", Tensor{DType::FLOAT32, {4, 256}, x.data()}}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ(out->size(), 4u);
  EXPECT_EQ(x, before);
  const float *r = (*out)[1].data<float>(), *t = (*out)[2].data<float>();
  const float *tail = (*out)[3].data<float>();
  for (int i = 0; i < 1024; ++i)
    ASSERT_EQ(r[i], std::max(x[i], 0.f)) << i;
  for (int i = 0; i < 512; ++i)
    ASSERT_EQ(tail[i], t[512 + i]) << i;
}
