// Ring attention's math on N simulated devices (host/RingAttention.h over
// HostCollectives): the merged ring result equals eff.attention's host
// kernel on the whole sequence within 1e-5, causal and not, contiguous and
// striped, GQA, with a T that the device count does not divide; striped
// assignment balances the causal work, contiguous does not.
#include "TestUtil.h"

#include "Collectives.h"
#include "HostTensorRefs.h"
#include "host/HostKernels.h"
#include "host/RingAttention.h"

#include <algorithm>
#include <cmath>
#include <random>

using namespace effc;
using test::cref;
using test::ref;

namespace {

struct RingCase {
  int devices;
  int64_t T, Hq, Hkv, D, Dv;
  bool causal, striped;
};

std::string caseName(const RingCase &c) {
  return std::to_string(c.devices) + "dev_T" + std::to_string(c.T) + "_H" + std::to_string(c.Hq) +
         "/" + std::to_string(c.Hkv) + (c.causal ? "_causal" : "") +
         (c.striped ? "_striped" : "_contiguous");
}

HostTensor random(std::vector<int64_t> shape, std::mt19937 &rng) {
  HostTensor t(DType::FLOAT32, shape);
  std::uniform_real_distribution<float> u(-2, 2);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.data<float>()[i] = u(rng);
  return t;
}

// Rows `pos` of a [H, T, W] tensor, as [H, pos.size(), W].
std::vector<float> rowsOf(const HostTensor &t, const std::vector<int64_t> &pos) {
  const int64_t H = t.shape()[1], T = t.shape()[2], W = t.shape()[3];
  std::vector<float> out;
  for (int64_t h = 0; h < H; ++h)
    for (int64_t p : pos)
      out.insert(out.end(), t.data<float>() + (h * T + p) * W,
                 t.data<float>() + (h * T + p + 1) * W);
  return out;
}

// Runs the ring; returns max |ring - eff.attention| and fills work per device.
double ringError(const RingCase &c, std::vector<int64_t> &work) {
  std::mt19937 rng(1234 + c.T);
  HostTensor q = random({1, c.Hq, c.T, c.D}, rng), k = random({1, c.Hkv, c.T, c.D}, rng),
             v = random({1, c.Hkv, c.T, c.Dv}, rng), plain(DType::FLOAT32, {1, c.Hq, c.T, c.Dv});
  const float scale = 1.f / std::sqrt(float(c.D));
  Status st = host::runKernel(
      "eff.attention",
      {{"scale", double(scale)}, {"causal", int64_t(c.causal)}, {"num_kv_heads", c.Hkv}},
      {cref(q), cref(k), cref(v)}, {ref(plain)});
  EXPECT_TRUE(st.ok()) << st.message();

  auto comm = makeHostCollectives(c.devices);
  EXPECT_TRUE(comm.ok()) << comm.status().message();
  std::vector<std::vector<int64_t>> pos;
  std::vector<std::vector<float>> qs, ks, vs, outs;
  for (int d = 0; d < c.devices; ++d) {
    pos.push_back(host::ringPositions(c.T, c.devices, d, c.striped));
    qs.push_back(rowsOf(q, pos[d]));
    ks.push_back(rowsOf(k, pos[d]));
    vs.push_back(rowsOf(v, pos[d]));
    outs.emplace_back(size_t(c.Hq) * pos[d].size() * c.Dv, -7.f);
  }
  std::vector<const float *> qp, kp, vp;
  std::vector<float *> op;
  for (int d = 0; d < c.devices; ++d) {
    qp.push_back(qs[d].data());
    kp.push_back(ks[d].data());
    vp.push_back(vs[d].data());
    op.push_back(outs[d].data());
  }
  host::RingAttentionShape shape{c.Hq, c.Hkv, c.D, c.Dv, scale, c.causal};
  st = host::ringAttention(**comm, shape, pos, qp, kp, vp, op, &work);
  EXPECT_TRUE(st.ok()) << st.message();

  double err = 0;
  size_t covered = 0;
  for (int d = 0; d < c.devices; ++d) {
    const int64_t n = int64_t(pos[d].size());
    covered += pos[d].size();
    for (int64_t h = 0; h < c.Hq; ++h)
      for (int64_t i = 0; i < n; ++i)
        for (int64_t e = 0; e < c.Dv; ++e) {
          const float want = plain.data<float>()[(h * c.T + pos[d][i]) * c.Dv + e];
          err = std::max(err, double(std::fabs(outs[d][(h * n + i) * c.Dv + e] - want)));
        }
  }
  EXPECT_EQ(covered, size_t(c.T)) << "positions must cover the sequence once";
  return err;
}

TEST(RingAttention, EqualsPlainAttention) {
  const RingCase cases[] = {
      {1, 37, 2, 2, 16, 16, false, false}, {2, 64, 4, 2, 16, 8, false, false},
      {2, 64, 4, 2, 16, 8, true, false},   {2, 64, 4, 2, 16, 8, true, true},
      {4, 37, 4, 1, 8, 8, true, true},     {4, 37, 4, 1, 8, 8, true, false},
      {4, 100, 2, 2, 32, 16, false, true}, {8, 130, 2, 1, 16, 16, true, true},
      {3, 5, 2, 2, 4, 4, true, false}, // the last device's block is short
  };
  for (const RingCase &c : cases) {
    std::vector<int64_t> work;
    EXPECT_LE(ringError(c, work), 1e-5) << caseName(c);
  }
}

TEST(RingAttention, StripedBalancesCausalWork) {
  std::vector<int64_t> contiguous, striped;
  ringError({4, 256, 2, 2, 8, 8, true, false}, contiguous);
  ringError({4, 256, 2, 2, 8, 8, true, true}, striped);
  auto ratio = [](const std::vector<int64_t> &w) {
    return double(*std::max_element(w.begin(), w.end())) /
           double(*std::min_element(w.begin(), w.end()));
  };
  // Contiguous: device 3 computes 64*64*3 + its diagonal, device 0 only the diagonal (~7x).
  EXPECT_GT(ratio(contiguous), 5.0);
  // Striped: every device about T*T/2/4 pairs (device d: 2080 + (d*64)*... differs by < 3%).
  EXPECT_LT(ratio(striped), 1.03);
  int64_t total = 0;
  for (int64_t w : striped)
    total += w;
  EXPECT_EQ(total, 2 * 256 * 257 / 2) << "every allowed pair once (2 heads)";
}

TEST(RingAttention, MergeIsTheCombineFormula) {
  // Two halves of one row merged equal the softmax over the whole row.
  float o[2] = {1.f, 2.f}, lse[1] = {0.5f};
  const float o2[2] = {3.f, -1.f}, lse2[1] = {1.5f};
  host::mergePartial(o, lse, o2, lse2, 1, 2);
  const float wa = std::exp(0.5f), wb = std::exp(1.5f);
  EXPECT_NEAR(o[0], (wa * 1 + wb * 3) / (wa + wb), 1e-6);
  EXPECT_NEAR(o[1], (wa * 2 - wb * 1) / (wa + wb), 1e-6);
  EXPECT_NEAR(lse[0], std::log(wa + wb), 1e-6);
  // A side without allowed keys (lse -inf) leaves the other unchanged.
  float o3[2] = {4.f, 5.f}, lse3[1] = {0.25f};
  const float none[2] = {100.f, 100.f}, noneLse[1] = {-INFINITY};
  host::mergePartial(o3, lse3, none, noneLse, 1, 2);
  EXPECT_EQ(o3[0], 4.f);
  EXPECT_EQ(o3[1], 5.f);
  EXPECT_EQ(lse3[0], 0.25f);
}

TEST(RingAttention, WrongDeviceListsAreErrors) {
  auto comm = makeHostCollectives(2);
  ASSERT_TRUE(comm.ok());
  float x = 0;
  Status st = host::ringAttention(**comm, {2, 2, 1, 1, 1.f, false}, {{0}}, {&x}, {&x}, {&x}, {&x});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("2 entries (one per device)"), std::string::npos) << st.message();
}

} // namespace
