// GPU smoke test of the cuda backend: only with EFFC_TEST_GPU=1 on a machine
// with an NVIDIA driver (test/gpu/cuda_backend_smoke.sh runs it). Compares
// every cuda run with the host backend on a hand-built artifact: an add, a
// mul reading it through an ALIAS, a kernel with 64 KiB of dynamic shared
// memory; graph capture then replay, eager mode, embedded cubins, threads.
#include "CudaTestUtil.h"
#include "cuda/DriverApi.h"
#include "cuda/EmbedCubins.h"
#include "effc/TensorIO.h"

#include <cmath>
#include <cstring>
#include <thread>

using namespace effc;
using namespace effc::test;

namespace {

std::vector<float> input(int seed) {
  std::vector<float> x(1024);
  for (int i = 0; i < 1024; ++i)
    x[i] = float(((i + seed) * 37) % 101) / 25.f - 2.f;
  return x;
}

class CudaGpu : public ::testing::Test {
protected:
  void SetUp() override {
    if (!std::getenv("EFFC_TEST_GPU") || std::string(std::getenv("EFFC_TEST_GPU")) != "1")
      EFFC_SKIP_GPU_OR_OPT_IN() << "set EFFC_TEST_GPU=1 to run on a GPU";
    auto d = cuda::getDriver();
    ASSERT_TRUE(d.ok()) << d.status().message();
    arch_ = nvrtc::archForComputeCapability((*d)->ccMajor, (*d)->ccMinor);
    std::printf("device: %s (%s), driver %d\n", (*d)->deviceName.c_str(), arch_.c_str(),
                (*d)->driverVersion);
    ASSERT_FALSE(cache_.path().empty());
  }

  // Runs both backends on `x` and compares every output.
  void expectSameAsHost(Session &cuda, const std::vector<float> &x, RunProfile *profile = nullptr) {
    std::map<std::string, Tensor> in{{"x", Tensor{DType::FLOAT32, {4, 256}, x.data()}}};
    auto host =
        Session::create(std::shared_ptr<const Model>(&cuda.model(), [](const Model *) {}), "host");
    ASSERT_TRUE(host.ok()) << host.status().message();
    auto want = (*host)->run(in);
    ASSERT_TRUE(want.ok()) << want.status().message();
    auto got = cuda.run(in, profile);
    ASSERT_TRUE(got.ok()) << got.status().message();
    ASSERT_EQ(got->size(), want->size());
    for (size_t o = 0; o < got->size(); ++o) {
      const HostTensor &g = (*got)[o], &w = (*want)[o];
      ASSERT_EQ(g.shape(), w.shape());
      double maxErr = 0, maxRef = 0;
      for (int64_t i = 0; i < g.numElements(); ++i) {
        maxErr = std::max(maxErr, std::fabs(g.elementAsDouble(i) - w.elementAsDouble(i)));
        maxRef = std::max(maxRef, std::fabs(w.elementAsDouble(i)));
      }
      EXPECT_LE(maxErr, 1e-6 * std::max(1.0, maxRef))
          << "output " << cuda.model().outputs()[o].name;
    }
  }

  std::shared_ptr<const Model> model(ManifestBuilder &mb, const std::string &payload) {
    return loadBytes(bytesWithPayload(mb, payload), "smoke.effc");
  }

  std::string arch_;
  TempDir cache_;
};

} // namespace

TEST_F(CudaGpu, GraphCaptureThenReplayMatchesHost) {
  ScopedEnv xdg("XDG_CACHE_HOME", cache_.path().c_str());
  std::string payload;
  ManifestBuilder mb = smallCudaModel(&payload);
  auto m = model(mb, payload);
  ASSERT_TRUE(m);
  auto s = Session::create(m, "cuda");
  ASSERT_TRUE(s.ok()) << s.status().message();
  for (int run = 0; run < 3; ++run)
    expectSameAsHost(**s, input(run)); // capture, then replays with new inputs
  // A second session (JIT from the cache now) shares the model's weights.
  auto s2 = Session::create(m, "cuda");
  ASSERT_TRUE(s2.ok()) << s2.status().message();
  expectSameAsHost(**s2, input(7));
  expectSameAsHost(**s, input(8));
}

TEST_F(CudaGpu, EagerAndProfiledRunsMatchHost) {
  ScopedEnv xdg("XDG_CACHE_HOME", cache_.path().c_str());
  ScopedEnv graph("EFFC_CUDA_GRAPH", "0");
  ScopedEnv sync("EFFC_CUDA_SYNC", "1");
  std::string payload;
  ManifestBuilder mb = smallCudaModel(&payload);
  auto s = Session::create(model(mb, payload), "cuda");
  ASSERT_TRUE(s.ok()) << s.status().message();
  expectSameAsHost(**s, input(1));
  RunProfile prof;
  expectSameAsHost(**s, input(2), &prof);
  ASSERT_EQ(prof.kernels.size(), 3u);
  EXPECT_EQ(prof.kernels[2].op, "eff.relu");
  for (auto &k : prof.kernels)
    EXPECT_GE(k.ms, 0.0);
}

TEST_F(CudaGpu, EmbeddedCubinWithoutSource) {
  ScopedEnv nocache("EFFC_CACHE", "0");
  std::string payload;
  ManifestBuilder mb = smallCudaModel(&payload);
  ASSERT_TRUE(nvrtc::embedCubins(mb.m, payload, {arch_}).ok());
  mb.m.set_cuda_source_size(0); // only the cubin can serve now
  auto s = Session::create(model(mb, payload), "cuda");
  ASSERT_TRUE(s.ok()) << s.status().message();
  expectSameAsHost(**s, input(3));
  expectSameAsHost(**s, input(4));
}

TEST_F(CudaGpu, ConcurrentSessions) {
  ScopedEnv xdg("XDG_CACHE_HOME", cache_.path().c_str());
  std::string payload;
  ManifestBuilder mb = smallCudaModel(&payload);
  auto m = model(mb, payload);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      auto s = Session::create(m, "cuda");
      ASSERT_TRUE(s.ok()) << s.status().message();
      for (int r = 0; r < 20; ++r)
        expectSameAsHost(**s, input(t * 100 + r));
    });
  for (auto &th : threads)
    th.join();
}

TEST_F(CudaGpu, ErrorsNameTheKernel) {
  ScopedEnv xdg("XDG_CACHE_HOME", cache_.path().c_str());
  std::string payload;
  // A function missing from the module: session creation fails, naming it.
  {
    ManifestBuilder mb = smallCudaModel(&payload);
    mb.m.mutable_kernels(1)->set_source("k_missing");
    auto s = Session::create(model(mb, payload), "cuda");
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find(
                  "kernel 1 (eff.mul at test/eff.mul): CUDA kernel 'k_missing' not found"),
              std::string::npos)
        << s.status().message();
  }
  // A launch the driver refuses (256 threads into __launch_bounds__(128)):
  // not a sticky error, so the context stays usable for the other tests.
  for (const char *graph : {"1", "0"}) {
    ScopedEnv g("EFFC_CUDA_GRAPH", graph);
    ManifestBuilder mb = smallCudaModel(&payload);
    payload +=
        "extern \"C\" __global__ void __launch_bounds__(128) k_bounded(const float* a, const "
        "float* b, float* y) {\n"
        "  int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < 1024) y[i] = a[i] * b[i];\n}\n";
    mb.m.set_cuda_source_size(payload.size());
    mb.m.mutable_kernels(1)->set_source("k_bounded");
    mb.m.mutable_kernels(1)->mutable_launch()->set_block(0, 256);
    mb.m.mutable_kernels(1)->mutable_launch()->set_grid(0, 4);
    auto s = Session::create(model(mb, payload), "cuda");
    ASSERT_TRUE(s.ok()) << s.status().message();
    std::vector<float> x = input(0);
    auto r = (*s)->run({{"x", Tensor{DType::FLOAT32, {4, 256}, x.data()}}});
    ASSERT_FALSE(r.ok()) << "graph=" << graph;
    std::printf("graph=%s: %s\n", graph, r.status().message().c_str());
    EXPECT_NE(r.status().message().find("smoke.effc: cuda backend: "), std::string::npos)
        << r.status().message();
    // Under capture too: a refused capture is retried eagerly for the index.
    EXPECT_NE(r.status().message().find("kernel 1 (eff.mul"), std::string::npos)
        << r.status().message();
  }
  // Still healthy afterwards.
  ManifestBuilder mb = smallCudaModel(&payload);
  auto s = Session::create(model(mb, payload), "cuda");
  ASSERT_TRUE(s.ok()) << s.status().message();
  expectSameAsHost(**s, input(9));
}

// Writes the artifact and an input for the shell part of the smoke test
// (effc-run --backend=cuda vs host, effc-nvrtc-check).
// Needs no GPU, so the script's host half can be tried anywhere.
TEST(CudaSmokeArtifact, WriteForTools) {
  const char *dir = std::getenv("EFFC_SMOKE_DIR");
  if (!dir)
    EFFC_SKIP_GPU_OR_OPT_IN() << "EFFC_SMOKE_DIR not set";
  std::string payload;
  ManifestBuilder mb = smallCudaModel(&payload);
  std::string bytes = bytesWithPayload(mb, payload);
  FILE *f = std::fopen((std::string(dir) + "/smoke.effc").c_str(), "wb");
  ASSERT_TRUE(f);
  ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
  std::fclose(f);
  std::vector<float> x = input(5);
  HostTensor t = HostTensor::fromVector(DType::FLOAT32, {4, 256}, x);
  ASSERT_TRUE(writeNpyFile(std::string(dir) + "/x.npy", t).ok());
}

// Device inputs and outputs on both paths, against host-output runs:
//  - plain smallCudaModel: x is never written (bound), y/r/t_flat are whole
//    arena roots (kernels write the caller's buffers);
//  - a variant where relu writes x in place (an ALIAS of x) and an output is
//    a view into the middle of t: x must be copied (the caller's input stays
//    intact), and both such outputs are copied out.
// With CUDA graphs on and off (bench/models/DeviceApiCheck.cpp: caller streams).
TEST_F(CudaGpu, DeviceInputsAndOutputs) {
  ScopedEnv xdg("XDG_CACHE_HOME", cache_.path().c_str());
  for (bool inPlace : {false, true})
    for (bool graphs : {true, false}) {
      SCOPED_TRACE(std::string(inPlace ? "in-place variant" : "plain") +
                   (graphs ? ", graphs" : ", eager"));
      std::string payload;
      ManifestBuilder mb = inPlace ? inPlaceCudaModel(&payload) : smallCudaModel(&payload);
      auto m = model(mb, payload);
      ASSERT_TRUE(m);
      SessionOptions o = SessionOptions::fromEnvironment();
      o.cudaGraphs = graphs;
      auto s = Session::create(m, o);
      ASSERT_TRUE(s.ok()) << s.status().message();
      for (int run = 0; run < 3; ++run) {
        std::vector<float> x = input(40 + run);
        Tensor hx{DType::FLOAT32, {4, 256}, x.data()};
        auto want = (*s)->run({{"x", hx}});
        ASSERT_TRUE(want.ok()) << want.status().message();
        auto dx = DeviceTensor::copyOf(hx);
        ASSERT_TRUE(dx.ok()) << dx.status().message();
        auto onDev = (*s)->runOnDevice({{"x", dx->view()}});
        ASSERT_TRUE(onDev.ok()) << onDev.status().message();
        std::map<std::string, MutableTensor> into;
        std::vector<DeviceTensor> bufs;
        for (const TensorInfo &info : m->outputs()) {
          auto b = DeviceTensor::allocate(info.dtype, info.shape);
          ASSERT_TRUE(b.ok()) << b.status().message();
          bufs.push_back(*b);
          into[info.name] = b->mutableView();
        }
        ASSERT_TRUE((*s)->runInto({{"x", dx->view()}}, into).ok());
        for (size_t k = 0; k < want->size(); ++k) {
          auto a = (*onDev)[k].toHost(), b = bufs[k].toHost();
          ASSERT_TRUE(a.ok() && b.ok());
          EXPECT_EQ(std::memcmp(a->data(), (*want)[k].data(), a->byteSize()), 0)
              << "runOnDevice output " << k;
          EXPECT_EQ(std::memcmp(b->data(), (*want)[k].data(), b->byteSize()), 0)
              << "runInto output " << k;
        }
        // The caller's input is never written, even where a kernel writes x.
        auto back = dx->toHost();
        ASSERT_TRUE(back.ok());
        EXPECT_EQ(std::memcmp(back->data(), x.data(), x.size() * 4), 0);
      }
    }
}
