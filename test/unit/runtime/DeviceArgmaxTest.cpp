// The Generator's greedy pick on the device (compiler/codegen/device/
// argmax_rows.cuh, runtime/src/cuda/DeviceArgmax.cpp): it compiles with NVRTC
// for sm_80, sm_90 and sm_90a (no GPU needed), and on a GPU (EFFC_TEST_GPU=1)
// it picks what the host reference (greedyToken, the Sampler's greedy rule)
// picks: the first maximum, -1 for a row with a NaN, 0 for a row of -inf,
// in float32, fp16 and bf16, from selected rows of a larger tensor; the
// logits rows it copies back are the selected rows.
#include "cuda/DeviceArgmax.h"
#include "RowKernelTestUtil.h"
#include "Sampler.h"
#include "cuda/DriverApi.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

using namespace effc;
using namespace effc::test;

TEST(DeviceArgmax, CompilesWithNvrtcForSm80Sm90Sm90a) {
  EFFC_REQUIRE_NVRTC();
  const std::string source = cuda::argmaxRowsSource();
  expectCompilesForSm80Sm90Sm90a(source, "effc_argmax_rows", "argmax_rows.cu");
}

namespace {

/// Rows of V values with what makes a pick wrong: ties (first wins), the
/// maximum at either end, a NaN, all -inf, +inf twice.
std::vector<float> trickyRows(int64_t rows, int64_t V) {
  std::vector<float> x(size_t(rows * V));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t v = 0; v < V; ++v)
      x[size_t(r * V + v)] = float(((r * 131 + v * 37) % 257) - 128) / 16.f;
  const float inf = std::numeric_limits<float>::infinity();
  auto row = [&](int64_t r) { return x.data() + r * V; };
  row(0)[V - 1] = 100, row(0)[V - 300] = 100; // tie: the lower index
  row(1)[0] = 50;                             // first element
  row(2)[V - 1] = 50;                         // last element
  row(3)[V / 2] = std::nanf("");              // NaN: -1
  std::fill(row(4), row(4) + V, -inf);        // all -inf: 0
  row(5)[7] = inf, row(5)[V - 2] = inf;       // +inf twice: the first
  for (int64_t v = 0; v < V; ++v)             // equal everywhere: 0
    row(6)[v] = 1.5f;
  return x;
}

} // namespace

TEST(DeviceArgmaxGpu, MatchesTheHostReference) {
  if (!std::getenv("EFFC_TEST_GPU") || std::string(std::getenv("EFFC_TEST_GPU")) != "1")
    EFFC_SKIP_GPU_OR_OPT_IN() << "set EFFC_TEST_GPU=1 to run on a GPU";
  const int64_t rows = 9, V = 50257; // GPT-2's vocabulary: not a multiple of the block
  std::vector<float> x = trickyRows(rows, V);
  const std::vector<int64_t> selected = {6, 0, 3, 1, 8, 2, 4, 5};
  for (DType dtype : {DType::FLOAT32, DType::BFLOAT16, DType::FLOAT16}) {
    // A picker per dtype: one keeps the rows it uploaded, so a second dtype's
    // first pick would copy only the ids (the byte count below expects both).
    auto picker = cuda::DeviceArgmax::create(SessionOptions{});
    ASSERT_TRUE(picker.ok()) << picker.status().message();
    HostTensor host = logitsAs(dtype, {rows, 1, V}, x);
    auto dev = DeviceTensor::copyOf(host.view());
    ASSERT_TRUE(dev.ok()) << dev.status().message();
    std::vector<int64_t> ids;
    uint64_t bytes = 0;
    Status s = (*picker)->pick(dev->view(), selected, nullptr, ids, bytes);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(bytes, 2 * 8 * selected.size()); // the rows, then the ids
    ASSERT_EQ(ids.size(), selected.size());
    for (size_t k = 0; k < selected.size(); ++k) {
      std::vector<float> row(static_cast<size_t>(V));
      for (int64_t v = 0; v < V; ++v)
        row[size_t(v)] = float(host.elementAsDouble(selected[k] * V + v));
      EXPECT_EQ(ids[k], detail::greedyToken(row.data(), V))
          << dtypeName(dtype) << " row " << selected[k];
    }
    EXPECT_EQ(ids[2], -1);      // the NaN row
    EXPECT_EQ(ids[6], 0);       // all -inf
    EXPECT_EQ(ids[0], 0);       // all equal
    EXPECT_EQ(ids[1], V - 300); // the tie's first
    // Same rows again: the indices are not copied a second time.
    bytes = 0;
    ASSERT_TRUE((*picker)->pick(dev->view(), selected, nullptr, ids, bytes).ok());
    EXPECT_EQ(bytes, 8 * selected.size());
    // The rows themselves, for sampling.
    HostTensor back;
    bytes = 0;
    ASSERT_TRUE(cuda::copyLogitsRows(dev->view(), {2, 3, 7}, nullptr, back, bytes).ok());
    EXPECT_EQ(bytes, 3 * V * dtypeSize(dtype));
    ASSERT_EQ(back.shape(), (std::vector<int64_t>{3, V}));
    EXPECT_EQ(std::memcmp(back.data(),
                          static_cast<const char *>(host.data()) + 2 * V * dtypeSize(dtype),
                          size_t(V) * dtypeSize(dtype)),
              0);
    EXPECT_EQ(std::memcmp(static_cast<const char *>(back.data()) + 2 * V * dtypeSize(dtype),
                          static_cast<const char *>(host.data()) + 7 * V * dtypeSize(dtype),
                          size_t(V) * dtypeSize(dtype)),
              0);
  }
}
