// Input checking and concurrent sessions over one model.
#include "TestUtil.h"

#include <thread>

using namespace effc;
using namespace effc::test;

namespace {
std::string runError(Session &s, const std::map<std::string, Tensor> &in) {
  auto r = s.run(in);
  return r.ok() ? "<ok>" : r.status().message();
}
} // namespace

TEST(Session, InputChecking) {
  auto model = loadBytes(smallModel().bytes(), "m.effc");
  auto s = Session::create(model, "host");
  ASSERT_TRUE(s.ok());
  std::vector<float> x(6, 1);
  std::vector<int64_t> xi(6, 1);
  EXPECT_EQ(runError(**s, {}), "m.effc: missing input 'x'");
  EXPECT_EQ(runError(**s, {{"x", Tensor{DType::FLOAT32, {2, 3}, x.data()}},
                           {"z", Tensor{DType::FLOAT32, {1}, x.data()}}}),
            "m.effc: unknown input 'z' (model inputs: x)");
  EXPECT_EQ(runError(**s, {{"x", Tensor{DType::INT64, {2, 3}, xi.data()}}}),
            "m.effc: input 'x': dtype expected float32, got int64");
  EXPECT_EQ(runError(**s, {{"x", Tensor{DType::FLOAT32, {3, 2}, x.data()}}}),
            "m.effc: input 'x': shape expected [2, 3], got [3, 2]");
  EXPECT_EQ(runError(**s, {{"x", Tensor{DType::FLOAT32, {2, 3}, nullptr}}}),
            "m.effc: input 'x': null data");
  auto p = (*s)->runPositional({});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "m.effc: expected 1 inputs, got 0");
  EXPECT_EQ(runError(**s, {{"x", Tensor{DType::FLOAT32, {2, 3}, x.data()}}}), "<ok>");
}

TEST(Session, ProfileListsKernels) {
  auto s = Session::create(loadBytes(smallModel().bytes()), "host");
  ASSERT_TRUE(s.ok());
  std::vector<float> x(6, 1);
  RunProfile prof;
  ASSERT_TRUE((*s)->run({{"x", Tensor{DType::FLOAT32, {2, 3}, x.data()}}}, &prof).ok());
  ASSERT_EQ(prof.kernels.size(), 3u);
  EXPECT_EQ(prof.kernels[1].op, "eff.add");
  EXPECT_EQ(prof.kernels[1].location, "test/eff.add");
}

// Bigger model so that runs overlap: y = softmax(x @ W) with 64x64 x 64x64.
TEST(Session, ConcurrentSessionsShareOneModel) {
  ManifestBuilder mb;
  const int n = 64;
  std::vector<float> w(n * n);
  for (int i = 0; i < n * n; ++i)
    w[i] = float((i * 37) % 11) / 11.f - 0.5f;
  int x = mb.buffer("x", DType::FLOAT32, {n, n});
  int wid = mb.weight("w", {n, n}, w);
  int mm = mb.buffer("mm", DType::FLOAT32, {n, n});
  int y = mb.buffer("y", DType::FLOAT32, {n, n});
  mb.kernel("eff.matmul", {x, wid}, {mm});
  mb.kernel("eff.softmax", {mm}, {y});
  mb.input("x", x);
  mb.output("y", y);
  auto model = loadBytes(mb.bytes());
  ASSERT_TRUE(model);

  auto inputFor = [&](int t) {
    std::vector<float> v(n * n);
    for (int i = 0; i < n * n; ++i)
      v[i] = float((i + t * 13) % 7) / 7.f;
    return v;
  };
  // Reference results, one thread.
  std::vector<std::vector<float>> ref;
  for (int t = 0; t < 4; ++t) {
    auto s = Session::create(model, "host");
    auto in = inputFor(t);
    auto out = (*s)->run({{"x", Tensor{DType::FLOAT32, {n, n}, in.data()}}});
    ASSERT_TRUE(out.ok());
    ref.emplace_back((*out)[0].data<float>(), (*out)[0].data<float>() + n * n);
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      auto s = Session::create(model, "host");
      if (!s.ok()) {
        mismatches[t] = -1;
        return;
      }
      auto in = inputFor(t);
      for (int rep = 0; rep < 20; ++rep) {
        auto out = (*s)->run({{"x", Tensor{DType::FLOAT32, {n, n}, in.data()}}});
        if (!out.ok() || std::memcmp((*out)[0].data(), ref[t].data(), n * n * 4))
          ++mismatches[t];
      }
    });
  for (auto &th : threads)
    th.join();
  for (int t = 0; t < 4; ++t)
    EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}
