// The collectives contract (Collectives.h) on N simulated host devices:
// all-reduce, all-gather, reduce-scatter, all-to-all with uneven counts and a
// ring shift, each against values written out by hand; bad calls are errors.
// The NCCL implementation (cuda/Nccl.h) runs the same checks on GPUs through
// effc-multigpu-bench --check; without libnccl it must say so.
#include "TestUtil.h"

#include "Collectives.h"
#include "cuda/Nccl.h"

#include <numeric>

using namespace effc;

namespace {

std::unique_ptr<Collectives> host(int n) {
  auto c = makeHostCollectives(n);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? std::move(*c) : nullptr;
}

template <typename T> std::vector<const void *> cptrs(std::vector<std::vector<T>> &v) {
  std::vector<const void *> out;
  for (auto &x : v)
    out.push_back(x.data());
  return out;
}
template <typename T> std::vector<void *> ptrs(std::vector<std::vector<T>> &v) {
  std::vector<void *> out;
  for (auto &x : v)
    out.push_back(x.data());
  return out;
}

TEST(HostCollectives, AllReduceAllGatherReduceScatter) {
  for (int n : {1, 2, 3, 4, 8}) {
    auto c = host(n);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->size(), n);
    const size_t count = 5;
    std::vector<std::vector<float>> send(n), recv(n, std::vector<float>(count * n, -1.f));
    for (int r = 0; r < n; ++r)
      for (size_t i = 0; i < count * n; ++i)
        send[r].push_back(float(r * 100 + i));
    // all-reduce of the first `count` elements
    ASSERT_TRUE(c->allReduceSum(cptrs(send), ptrs(recv), count, DType::FLOAT32).ok());
    for (int r = 0; r < n; ++r)
      for (size_t i = 0; i < count; ++i)
        EXPECT_EQ(recv[r][i], float(100 * n * (n - 1) / 2 + n * i)) << n << " ranks, " << i;
    // all-gather: rank q's first `count` elements land at block q everywhere
    ASSERT_TRUE(c->allGather(cptrs(send), ptrs(recv), count, DType::FLOAT32).ok());
    for (int r = 0; r < n; ++r)
      for (int q = 0; q < n; ++q)
        for (size_t i = 0; i < count; ++i)
          EXPECT_EQ(recv[r][q * count + i], float(q * 100 + i));
    // reduce-scatter: rank r gets block r of the sum
    ASSERT_TRUE(c->reduceScatterSum(cptrs(send), ptrs(recv), count, DType::FLOAT32).ok());
    for (int r = 0; r < n; ++r)
      for (size_t i = 0; i < count; ++i)
        EXPECT_EQ(recv[r][i], float(100 * n * (n - 1) / 2 + n * (r * count + i)));
  }
}

TEST(HostCollectives, HalfTypesSumInFp32AndRoundOnce) {
  auto c = host(4);
  ASSERT_TRUE(c);
  // bf16 1.0 + 3 * 2^-9: each 2^-9 alone is lost next to 1.0 (bf16 keeps 8
  // bits), their fp32 sum 3 * 2^-9 rounds up to 2^-7.
  const uint16_t one = floatToBf16(1.f), tiny = floatToBf16(1.f / 512);
  std::vector<std::vector<uint16_t>> send{{one}, {tiny}, {tiny}, {tiny}}, recv(4, {0});
  ASSERT_TRUE(c->allReduceSum(cptrs(send), ptrs(recv), 1, DType::BFLOAT16).ok());
  EXPECT_EQ(bf16ToFloat(recv[2][0]), 1.f + 1.f / 128);
}

TEST(HostCollectives, AllToAllvUnevenCounts) {
  const int n = 3;
  auto c = host(n);
  ASSERT_TRUE(c);
  // counts[q][p]: tokens rank q routes to rank p's experts.
  std::vector<std::vector<size_t>> counts{{1, 0, 2}, {2, 2, 0}, {0, 1, 3}};
  std::vector<std::vector<int64_t>> send(n), recv(n);
  for (int q = 0; q < n; ++q)
    for (int p = 0; p < n; ++p)
      for (size_t i = 0; i < counts[q][p]; ++i)
        send[q].push_back(q * 100 + p * 10 + int64_t(i));
  for (int p = 0; p < n; ++p) {
    size_t total = 0;
    for (int q = 0; q < n; ++q)
      total += counts[q][p];
    recv[p].assign(total, -1);
  }
  ASSERT_TRUE(c->allToAllv(cptrs(send), ptrs(recv), counts, DType::INT64).ok());
  EXPECT_EQ(recv[0], (std::vector<int64_t>{0, 100, 101}));
  EXPECT_EQ(recv[1], (std::vector<int64_t>{110, 111, 210}));
  EXPECT_EQ(recv[2], (std::vector<int64_t>{20, 21, 220, 221, 222}));
}

TEST(HostCollectives, RingShift) {
  const int n = 4;
  auto c = host(n);
  ASSERT_TRUE(c);
  std::vector<std::vector<float>> a(n), b(n, std::vector<float>(2, 0.f));
  std::vector<Transfer> hop;
  for (int r = 0; r < n; ++r) {
    a[r] = {float(r), float(r) + 0.5f};
    hop.push_back({r, ringNext(r, n), a[r].data(), b[ringNext(r, n)].data(), 2});
  }
  ASSERT_TRUE(c->sendRecv(hop, DType::FLOAT32).ok());
  for (int r = 0; r < n; ++r)
    EXPECT_EQ(b[r], (std::vector<float>{float(ringPrev(r, n)), float(ringPrev(r, n)) + 0.5f}));
}

TEST(HostCollectives, BadCallsAreErrors) {
  auto c = host(2);
  ASSERT_TRUE(c);
  float x = 0, y = 0;
  Status st = c->allReduceSum({&x}, {&y}, 1, DType::FLOAT32);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("all-reduce: 1 send and 1 receive buffers for 2 ranks"),
            std::string::npos)
      << st.message();
  st = c->allReduceSum({&x, &x}, {&y, &y}, 1, DType::BOOL);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cannot sum bool"), std::string::npos) << st.message();
  st = c->sendRecv({{0, 2, &x, &y, 1}}, DType::FLOAT32);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("0 -> 2 outside ranks 0..1"), std::string::npos) << st.message();
  st = c->allToAllv({&x, &x}, {&y, &y}, {{1, 0}}, DType::FLOAT32);
  ASSERT_FALSE(st.ok());
  EXPECT_FALSE(makeHostCollectives(0).ok());
}

// No libnccl on the CI machines: loading it fails with a message that says
// what was searched and how to point at it, never a crash. Where NCCL is
// installed the test checks that the library's version was read instead.
TEST(Nccl, MissingLibraryIsAClearError) {
  auto api = cuda::loadNccl();
  if (api.ok()) {
    EXPECT_GT((*api)->version, 0);
    EXPECT_FALSE((*api)->libraryPath.empty());
    return;
  }
  const std::string &m = api.status().message();
  EXPECT_NE(m.find("nccl: cannot load libnccl.so.2"), std::string::npos) << m;
  EXPECT_NE(m.find("EFFC_NCCL_PATH"), std::string::npos) << m;
  EXPECT_NE(m.find("nvidia-nccl"), std::string::npos) << m;
}

} // namespace
