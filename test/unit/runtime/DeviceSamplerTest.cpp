// Sampling on the device (compiler/codegen/device/sample_rows.cuh,
// runtime/src/cuda/DeviceSampler.cpp): it compiles with NVRTC for sm_80,
// sm_90 and sm_90a (no GPU needed), and on a GPU (EFFC_TEST_GPU=1) it picks
// exactly the ids the host sampler (Sampler.h checkedToken, the definition of
// token_sampling.cuh) picks for the same random words: over temperatures,
// top-k (candidates listed in shared memory up to 1024, read from the row
// beyond) and top-p settings, seeds and steps, in float32, fp16 and bf16, for
// rows with ties, +inf, -inf, a NaN (-1) and all -inf (0), from selected rows
// of a larger tensor.
#include "cuda/DeviceSampler.h"
#include "RowKernelTestUtil.h"
#include "Sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using namespace effc;
using namespace effc::test;

TEST(DeviceSampler, CompilesWithNvrtcForSm80Sm90Sm90a) {
  EFFC_REQUIRE_NVRTC();
  const std::string source = cuda::sampleRowsSource();
  expectCompilesForSm80Sm90Sm90a(source, "effc_sample_rows", "sample_rows.cu");
}

namespace {

/// Rows of V logits: peaked like a language model's (a few large, a long
/// tail), with ties, two +inf, -inf entries, a NaN row and an all -inf row.
std::vector<float> samplingRows(int64_t rows, int64_t V) {
  std::mt19937_64 rng(11);
  std::normal_distribution<float> tail(0.f, 2.f);
  std::vector<float> x(size_t(rows * V));
  for (int64_t r = 0; r < rows; ++r) {
    float *row = x.data() + r * V;
    for (int64_t v = 0; v < V; ++v) // multiples of 1/64: exact in fp16, ties
      row[v] = std::round(std::clamp(tail(rng), -12.f, 5.f) * 64.f) / 64.f;
    for (int k = 0; k < 40; ++k)
      row[rng() % uint64_t(V)] = 6.f + float(k % 7); // ties among the top
  }
  const float inf = std::numeric_limits<float>::infinity();
  auto row = [&](int64_t r) { return x.data() + r * V; };
  row(1)[5] = inf, row(1)[V - 3] = inf, row(1)[9] = -inf; // +inf share the mass
  row(2)[V / 2] = std::nanf("");                          // NaN: -1
  std::fill(row(3), row(3) + V, -inf);                    // all -inf: 0
  for (int64_t v = 0; v < V; v += 3)                      // many impossible
    row(4)[v] = -inf;
  for (int64_t v = 0; v < V; ++v) // flat: every token a candidate
    row(5)[v] = float(v % 3) * 0.01f;
  return x;
}

} // namespace

TEST(DeviceSamplerGpu, MatchesTheHostSampler) {
  if (!std::getenv("EFFC_TEST_GPU") || std::string(std::getenv("EFFC_TEST_GPU")) != "1")
    EFFC_SKIP_GPU_OR_OPT_IN() << "set EFFC_TEST_GPU=1 to run on a GPU";
  const int64_t rows = 7, V = 50257; // GPT-2's vocabulary: not a multiple of the block
  std::vector<float> x = samplingRows(rows, V);
  auto sampler = cuda::DeviceSampler::create(SessionOptions{});
  ASSERT_TRUE(sampler.ok()) << sampler.status().message();
  const std::vector<int64_t> selected = {0, 1, 2, 3, 4, 5, 6};
  const std::vector<int64_t> sequences = {0, 1, 2, 3, 4, 5, 9};
  const std::vector<detail::SamplingParams> settings = {
      {0.8, 20, 0.9}, {1.0, 0, 1.0}, {0.7, 0, 0.95},   {1.3, 50, 1.0},
      {0.5, 1, 1.0},  {2.0, 0, 0.3}, {0.9, 2000, 0.8}, {1.1, 1024, 0.99}};
  int compared = 0;
  for (DType dtype : {DType::FLOAT32, DType::BFLOAT16, DType::FLOAT16}) {
    HostTensor host = logitsAs(dtype, {rows, 1, V}, x);
    auto dev = DeviceTensor::copyOf(host.view());
    ASSERT_TRUE(dev.ok()) << dev.status().message();
    for (const detail::SamplingParams &p : settings)
      for (uint64_t seed : {0ull, 1234ull})
        for (uint64_t step : {0ull, 1ull, 77ull}) {
          std::vector<int64_t> ids;
          uint64_t bytes = 0;
          Status s = (*sampler)->sample(dev->view(), selected, sequences, p, seed, step, nullptr,
                                        ids, bytes);
          ASSERT_TRUE(s.ok()) << s.message();
          ASSERT_EQ(ids.size(), selected.size());
          for (size_t k = 0; k < selected.size(); ++k) {
            std::vector<float> row(static_cast<size_t>(V));
            for (int64_t v = 0; v < V; ++v)
              row[size_t(v)] = float(host.elementAsDouble(selected[k] * V + v));
            const int64_t want = detail::checkedToken(
                row.data(), V, p, detail::tokenRandom(seed, uint64_t(sequences[k]), step));
            EXPECT_EQ(ids[k], want)
                << dtypeName(dtype) << " row " << selected[k] << " T " << p.temperature << " top_k "
                << p.topK << " top_p " << p.topP << " seed " << seed << " step " << step;
            ++compared;
          }
          EXPECT_EQ(ids[2], -1); // the NaN row
          EXPECT_EQ(ids[3], 0);  // all -inf
        }
  }
  EXPECT_EQ(compared, 3 * 8 * 2 * 3 * 7);
}
