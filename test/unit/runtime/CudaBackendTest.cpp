// The cuda backend on a machine without a GPU: manifest checks name the
// kernel, and a missing driver is a clean error from Session::create.
#include "CudaTestUtil.h"
#include "cuda/CudaManifest.h"

using namespace effc;
using namespace effc::test;

namespace {

std::string createError(const std::string &bytes) {
  auto model = loadBytes(bytes, "m.effc");
  if (!model)
    return "<load failed>";
  auto s = Session::create(model, "cuda");
  return s.ok() ? "<ok>" : s.status().message();
}

template <typename F> std::string mutatedError(F f) {
  std::string payload;
  ManifestBuilder mb = smallCudaModel(&payload);
  f(mb.m, payload);
  return createError(bytesWithPayload(mb, payload));
}

#define EXPECT_HAS(haystack, needle)                                                               \
  do {                                                                                             \
    std::string h_ = (haystack);                                                                   \
    EXPECT_NE(h_.find(needle), std::string::npos) << h_;                                           \
  } while (0)

} // namespace

TEST(CudaBackend, IsKnown) {
  auto be = getBackend("cuda");
  ASSERT_TRUE(be.ok()) << be.status().message();
  EXPECT_EQ((*be)->name(), "cuda");
}

TEST(CudaBackend, KernelWithoutCudaCodeIsNamed) {
  // smallModel() has only host ops: no Kernel.source.
  EXPECT_EQ(createError(smallModel().bytes()),
            "m.effc: cuda backend: kernel 0 (eff.matmul at test/eff.matmul): no CUDA kernel "
            "generated for eff.matmul");
  EXPECT_HAS(mutatedError([](auto &m, auto &) { m.mutable_kernels(2)->clear_source(); }),
             "m.effc: cuda backend: kernel 2 (eff.relu at test/eff.relu): no CUDA kernel generated "
             "for eff.relu");
}

TEST(CudaBackend, LaunchGeometryIsChecked) {
  EXPECT_HAS(mutatedError([](auto &m, auto &) { m.mutable_kernels(1)->clear_launch(); }),
             "kernel 1 (eff.mul at test/eff.mul): CUDA kernel 'k_mul' has no launch geometry");
  EXPECT_HAS(mutatedError([](auto &m, auto &) {
               m.mutable_kernels(1)->mutable_launch()->set_block(0, 2048);
             }),
             "kernel 1 (eff.mul at test/eff.mul): launch geometry of 'k_mul' out of CUDA limits "
             "(grid 8, block 2048)");
  EXPECT_HAS(
      mutatedError([](auto &m, auto &) { m.mutable_kernels(0)->mutable_launch()->set_grid(0, 0); }),
      "out of CUDA limits (grid 0, block 256)");
  EXPECT_HAS(
      mutatedError([](auto &m, auto &) { m.mutable_kernels(0)->mutable_launch()->clear_block(); }),
      "needs 1-3 block dims");
  EXPECT_HAS(mutatedError([](auto &m, auto &) {
               m.mutable_kernels(2)->mutable_launch()->set_shared_bytes(1 << 20);
             }),
             "asks for 1048576 bytes of dynamic shared memory");
}

TEST(CudaBackend, CudaSourceAndCubinsAreBoundsChecked) {
  EXPECT_HAS(mutatedError([](auto &m, auto &) { m.set_cuda_source_size(0); }),
             "m.effc: cuda backend: the artifact holds no CUDA source");
  // The artifact reader rejects bad ranges already; the backend's own checks
  // (it may get manifests from elsewhere) are tested directly.
  std::string payload;
  ManifestBuilder mb = smallCudaModel(&payload);
  mb.m.set_cuda_source_size(payload.size() + 1);
  EXPECT_HAS(cuda::cudaSource(mb.m, payload).status().message(), "is outside the payload");
  mb.m.set_cuda_source_offset(~0ull - 3);
  EXPECT_HAS(cuda::cudaSource(mb.m, payload).status().message(), "is outside the payload");
  auto *c = mb.m.add_cubins();
  c->set_arch("sm_90");
  c->set_offset(payload.size());
  c->set_size(10);
  EXPECT_HAS(cuda::embeddedCubin(mb.m, payload, "sm_90").status().message(),
             "embedded cubin for sm_90 [");
  auto none = cuda::embeddedCubin(mb.m, payload, "sm_80");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  c->set_offset(1);
  c->set_size(5);
  auto some = cuda::embeddedCubin(mb.m, payload, "sm_90");
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(**some, payload.substr(1, 5));
}

// Runtime extents: a kernel's grid at a run's dims is computed at each dim's
// bucket top (a power of two, at most the max) and never below what the run
// itself needs.
TEST(CudaBackend, RuntimeGridsFollowTheDimsByBucket) {
  using cuda::GridRule;
  EXPECT_EQ(cuda::bucketTops({0, 1, 3, 4, 5, 255}, {255, 255, 255, 255, 255, 255}),
            (std::vector<int64_t>{1, 1, 4, 4, 8, 255}));
  EXPECT_EQ(cuda::bucketTops({200, 0}, {255, 0}), (std::vector<int64_t>{255, 0}));
  // 64 * past + 192 items, 256 per block, at most 65 blocks (past <= 255).
  GridRule items;
  items.count.addTerm(64, {0});
  items.count.addTerm(192, {});
  items.perBlock = 256;
  items.cap = 65;
  auto grid = [&](const GridRule &r, int64_t past) {
    return cuda::runtimeGridDim(r, {past}, cuda::bucketTops({past}, {255}));
  };
  EXPECT_EQ(grid(items, 0), 1u); // 192 items (bucket 1: 256 items)
  EXPECT_EQ(grid(items, 5), 3u); // bucket 8: 704 items
  EXPECT_EQ(grid(items, 8), 3u); // the same bucket, the same grid
  EXPECT_EQ(grid(items, 9), 5u); // bucket 16: 1216 items
  EXPECT_EQ(grid(items, 255), 65u);
  // total - past (not monotone in past): the larger of the run's value (10
  // at past 200, total 210; 1 at the bucket tops 255, 256) and the tops'.
  GridRule diff;
  diff.count.addTerm(1, {1});
  diff.count.addTerm(-1, {0});
  diff.perBlock = 1;
  diff.cap = 300;
  EXPECT_EQ(cuda::runtimeGridDim(diff, {3, 10}, cuda::bucketTops({3, 10}, {255, 300})), 12u);
  EXPECT_EQ(cuda::runtimeGridDim(diff, {200, 210}, cuda::bucketTops({200, 210}, {255, 300})), 10u);
}

TEST(CudaBackend, NoDriverIsACleanError) {
  std::string payload;
  ManifestBuilder mb = smallCudaModel(&payload);
  std::string msg = createError(bytesWithPayload(mb, payload));
  if (msg == "<ok>")
    EFFC_SKIP_GPU_OR_OPT_IN() << "a CUDA driver and device are present here";
  EXPECT_HAS(msg, "cuda backend: ");
  // This machine class (CI, no NVIDIA driver) has no libcuda.so.1 at all.
  if (!std::getenv("EFFC_TEST_GPU"))
    EXPECT_HAS(msg, "m.effc: cuda backend: no CUDA driver/GPU found (libcuda.so.1 not found: ");
  // Asking again gives the same answer (the failed load is remembered).
  EXPECT_EQ(createError(bytesWithPayload(mb, payload)), msg);
}

TEST(CudaBackend, HostBackendRunsTheCudaModel) {
  // The same artifact stays runnable on the host (eff.* ops), which is what
  // the GPU smoke test compares against.
  std::string payload;
  ManifestBuilder mb = smallCudaModel(&payload);
  auto model = loadBytes(bytesWithPayload(mb, payload));
  ASSERT_TRUE(model);
  auto s = Session::create(model, "host");
  ASSERT_TRUE(s.ok()) << s.status().message();
  std::vector<float> x(1024, -0.5f);
  auto out = (*s)->run({{"x", Tensor{DType::FLOAT32, {4, 256}, x.data()}}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ(out->size(), 3u);
  EXPECT_EQ((*out)[1].data<float>()[0], 0.f); // relu(-0.5)
}
