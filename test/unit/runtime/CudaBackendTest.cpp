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

namespace {
// A TMA tensor map over kernel 0's argument 0 (x: fp32 [4, 256], 4096
// bytes): rows of 256 elements, 32 x 4 boxes (128 bytes: the swizzle span).
void addTensorMap(artifact::Manifest &m) {
  artifact::TensorMap *t = m.mutable_kernels(0)->add_tensor_maps();
  t->set_arg(0);
  t->set_dtype(artifact::FLOAT32);
  for (uint64_t d : {256, 4})
    t->add_dims(d);
  t->add_strides(1024);
  for (uint32_t b : {32, 4})
    t->add_box(b);
  for (uint32_t e : {1, 1})
    t->add_element_strides(e);
  t->set_swizzle(3);
  t->set_l2_promotion(3);
}

// What the mocked cuTensorMapEncodeTiled was called with.
struct EncodeCall {
  int calls = 0, dataType = -1, interleave = -1, swizzle = -1, l2 = -1, oob = -1;
  unsigned rank = 0;
  void *address = nullptr;
  std::vector<unsigned long long> dims, strides;
  std::vector<unsigned> box, elementStrides;
  cuda::CUresult result = cuda::CUDA_SUCCESS;
} encodeCall;

cuda::CUresult mockEncode(cuda::CuTensorMap *out, int dataType, unsigned rank, void *address,
                          const unsigned long long *dims, const unsigned long long *strides,
                          const unsigned *box, const unsigned *elementStrides, int interleave,
                          int swizzle, int l2, int oob) {
  EncodeCall &c = encodeCall;
  ++c.calls;
  c.dataType = dataType, c.rank = rank, c.address = address;
  c.dims.assign(dims, dims + rank);
  c.strides.assign(strides, strides + rank - 1);
  c.box.assign(box, box + rank);
  c.elementStrides.assign(elementStrides, elementStrides + rank);
  c.interleave = interleave, c.swizzle = swizzle, c.l2 = l2, c.oob = oob;
  out->bits[0] = 0x5eed;
  return c.result;
}
} // namespace

// Kernel.tensor_maps: checked with the manifest (no GPU), and encoded with
// exactly the manifest's parameters (the driver call mocked).
TEST(CudaBackend, TensorMapsAreCheckedAndEncodedAsDescribed) {
  std::string payload;
  ManifestBuilder mb = smallCudaModel(&payload);
  addTensorMap(mb.m);
  artifact::Manifest m = mb.m;
  for (auto &b : *m.mutable_buffers())
    if (!b.size_bytes())
      b.set_size_bytes(uint64_t(numElements({b.shape().begin(), b.shape().end()})) * 4);
  EXPECT_TRUE(cuda::checkKernels(m).ok()) << cuda::checkKernels(m).message();
  auto mutated = [&](auto f) {
    artifact::Manifest c = m;
    f(*c.mutable_kernels(0)->mutable_tensor_maps(0));
    return cuda::checkKernels(c).message();
  };
  const std::string where = "kernel 0 (eff.add at test/eff.add): tensor map 0 over argument ";
  EXPECT_EQ(mutated([](auto &t) { t.set_arg(3); }),
            where + "3: names no buffer (the kernel has 2 inputs and 1 outputs)");
  EXPECT_EQ(mutated([](auto &t) { t.set_strides(0, 1000); }),
            where + "0 (buffer 0 'x'): strides [1000] must be multiples of 16 bytes below 2^40");
  EXPECT_EQ(mutated([](auto &t) { t.set_box(0, 64); }),
            where + "0 (buffer 0 'x'): inner box of 256 bytes exceeds the 128-byte swizzle");
  EXPECT_EQ(mutated([](auto &t) { t.set_dims(1, 5); }),
            where + "0 (buffer 0 'x'): addresses 5120 bytes, the buffer has 4096");
  EXPECT_EQ(mutated([](auto &t) { t.set_dtype(artifact::INT8); }),
            where + "0 (buffer 0 'x'): dtype 3 is not fp16, bf16 or fp32");
  EXPECT_EQ(mutated([](auto &t) { t.clear_box(); }),
            where + "0 (buffer 0 'x'): rank 2 with 1 strides, 0 box dims and 2 element strides "
                    "(rank 1..5, rank-1 strides, rank box dims and element strides)");
  EXPECT_EQ(mutated([](auto &t) { t.set_swizzle(4); }),
            where + "0 (buffer 0 'x'): interleave 0, swizzle 4, l2 promotion 3 or oob fill 0 "
                    "is not a cuda.h value");
  // The cuda backend's manifest check (before any driver) runs it too.
  EXPECT_HAS(mutatedError([](auto &mm, auto &) {
               addTensorMap(mm);
               mm.mutable_kernels(0)->mutable_tensor_maps(0)->set_arg(9);
             }),
             "m.effc: cuda backend: " + where + "9: names no buffer");

  cuda::DriverApi api{};
  cuda::CuTensorMap out;
  encodeCall = EncodeCall();
  Status st = cuda::encodeTensorMap(api, m, 0, 0, 0x10000, out);
  EXPECT_EQ(st.message(), "cuda backend: " + where +
                              "0 (buffer 0 'x'): the driver has no cuTensorMapEncodeTiled (a "
                              "CUDA 12+ driver is needed for TMA kernels; compile with "
                              "--gemm=wgmma to avoid them)");
  api.cuTensorMapEncodeTiled = &mockEncode;
  ASSERT_TRUE(cuda::encodeTensorMap(api, m, 0, 0, 0x10000, out).ok());
  EXPECT_EQ(encodeCall.calls, 1);
  EXPECT_EQ(out.bits[0], 0x5eedu);
  EXPECT_EQ(encodeCall.dataType, cuda::CU_TENSOR_MAP_DATA_TYPE_FLOAT32);
  EXPECT_EQ(encodeCall.rank, 2u);
  EXPECT_EQ(encodeCall.address, reinterpret_cast<void *>(0x10000));
  EXPECT_EQ(encodeCall.dims, (std::vector<unsigned long long>{256, 4}));
  EXPECT_EQ(encodeCall.strides, (std::vector<unsigned long long>{1024}));
  EXPECT_EQ(encodeCall.box, (std::vector<unsigned>{32, 4}));
  EXPECT_EQ(encodeCall.elementStrides, (std::vector<unsigned>{1, 1}));
  EXPECT_EQ(encodeCall.interleave, cuda::CU_TENSOR_MAP_INTERLEAVE_NONE);
  EXPECT_EQ(encodeCall.swizzle, cuda::CU_TENSOR_MAP_SWIZZLE_128B);
  EXPECT_EQ(encodeCall.l2, cuda::CU_TENSOR_MAP_L2_PROMOTION_L2_256B);
  EXPECT_EQ(encodeCall.oob, cuda::CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  // TMA needs a 16-byte aligned address: refused before the driver call.
  st = cuda::encodeTensorMap(api, m, 0, 0, 0x10008, out);
  EXPECT_EQ(st.message(), "cuda backend: " + where +
                              "0 (buffer 0 'x'): address 0x10008 is not 16-byte aligned (TMA "
                              "needs it)");
  EXPECT_EQ(encodeCall.calls, 1);
  // The driver's error names the kernel, the buffer and the CUresult.
  encodeCall.result = 1; // CUDA_ERROR_INVALID_VALUE
  st = cuda::encodeTensorMap(api, m, 0, 0, 0x10000, out);
  EXPECT_EQ(st.message(), "cuda backend: " + where +
                              "0 (buffer 0 'x'): cuTensorMapEncodeTiled failed: CUDA error 1 "
                              "(dims [256,4], strides [1024], box [32,4])");
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
