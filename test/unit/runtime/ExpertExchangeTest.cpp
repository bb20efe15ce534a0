// The token exchange of expert parallelism (effc --expert-parallel=all-to-all,
// issue 20): eff.expert_dispatch / eff.expert_combine in a device plan. The
// reader checks their inputs and outputs a device and the expert splits, the
// placement leaves each output on its device alone (a kernel on another
// device reading it is refused), and the host backend's simulated devices
// move the rows as the op descriptions say: each token to the devices of its
// experts (padding rows: x 0, experts -1, weights 0), the outputs back and
// summed per token. The cuda backend's path (cuda/ExpertExchange.cpp: the
// host plan, row gathers, Collectives::allToAllv, the per-token sum) is
// replayed here over host memory and HostCollectives against the host
// kernels, and its kernels (expert_exchange.cuh) compile with NVRTC for
// sm_80, sm_90 and sm_90a; test/gpu/multigpu.sh runs it on a GPU.
#include "CudaTestUtil.h"
#include "TestUtil.h"

#include "Artifact.h"
#include "Collectives.h"
#include "DevicePlan.h"
#include "cuda/ExpertExchange.h"
#include "cuda/MultiDeviceSession.h"
#include "cuda/Nvrtc.h"
#include "effc/Session.h"
#include "host/HostKernels.h"
#include "host/MoEExchange.h"

#include <algorithm>
#include <cstring>

using namespace effc;
using namespace effc::test;

namespace {

/// Two devices, experts 0..1 on device 0 and 2..3 on device 1. x0 = -xa on
/// device 0 (2 tokens), x1 = -xb on device 1 (3 tokens); dispatch; y_j =
/// -received_j on device j; combine; all-gather on axis 0.
ManifestBuilder exchange() {
  ManifestBuilder mb;
  int xa = mb.buffer("xa", DType::FLOAT32, {2, 3});
  int xb = mb.buffer("xb", DType::FLOAT32, {3, 3});
  int ea = mb.buffer("ea", DType::INT64, {2, 2});
  int eb = mb.buffer("eb", DType::INT64, {3, 2});
  int wa = mb.buffer("wa", DType::FLOAT32, {2, 2});
  int wb = mb.buffer("wb", DType::FLOAT32, {3, 2});
  int x0 = mb.buffer("x0", DType::FLOAT32, {2, 3});
  int x1 = mb.buffer("x1", DType::FLOAT32, {3, 3});
  std::vector<int> got;
  for (const char *name : {"r0", "r1"})
    got.push_back(mb.buffer(name, DType::FLOAT32, {5, 3}));
  for (const char *name : {"re0", "re1"})
    got.push_back(mb.buffer(name, DType::INT64, {5, 2}));
  for (const char *name : {"rw0", "rw1"})
    got.push_back(mb.buffer(name, DType::FLOAT32, {5, 2}));
  int y0 = mb.buffer("y0", DType::FLOAT32, {5, 3});
  int y1 = mb.buffer("y1", DType::FLOAT32, {5, 3});
  int o0 = mb.buffer("o0", DType::FLOAT32, {2, 3});
  int o1 = mb.buffer("o1", DType::FLOAT32, {3, 3});
  int out = mb.buffer("out", DType::FLOAT32, {5, 3});
  const std::map<std::string, artifact::Attr> plan = {{"devices", attrInts({0, 1})},
                                                      {"expert_splits", attrInts({0, 2, 4})}};
  mb.kernel("eff.neg", {xa}, {x0})->set_device(1);
  mb.kernel("eff.neg", {xb}, {x1})->set_device(2);
  mb.kernel("eff.expert_dispatch", {x0, x1, ea, eb, wa, wb}, got, plan);
  mb.kernel("eff.neg", {got[0]}, {y0})->set_device(1);
  mb.kernel("eff.neg", {got[1]}, {y1})->set_device(2);
  mb.kernel("eff.expert_combine", {y0, y1, ea, eb}, {o0, o1}, plan);
  mb.kernel("eff.all_gather", {o0, o1}, {out}, {{"axis", attrI(0)}, {"devices", attrInts({0, 1})}});
  for (auto [name, id] :
       {std::pair{"xa", xa}, {"xb", xb}, {"ea", ea}, {"eb", eb}, {"wa", wa}, {"wb", wb}})
    mb.input(name, id);
  mb.output("out", out);
  mb.output("r0", got[0]);
  mb.output("re1", got[3]);
  mb.output("rw1", got[5]);
  mb.m.set_devices(2);
  return mb;
}

std::string readerError(const std::function<void(artifact::Manifest &)> &fn) {
  ArtifactSections s;
  std::string bytes = exchange().bytes();
  EXPECT_TRUE(
      parseArtifact(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size(), "v", &s).ok());
  fn(s.manifest);
  Status st = validateManifest(s.manifest, 0);
  return st.ok() ? std::string("<valid>") : st.message();
}

TEST(ExpertExchange, ReaderChecksInputsOutputsAndSplits) {
  EXPECT_EQ(readerError([](auto &) {}), "<valid>");
  EXPECT_CONTAINS(
      readerError([](auto &m) { m.mutable_kernels(2)->mutable_outputs()->RemoveLast(); }),
      "kernel 2 (eff.expert_dispatch at test/eff.expert_dispatch): 5 outputs (want "
      "6: 3 a device)");
  EXPECT_CONTAINS(readerError([](auto &m) { m.mutable_kernels(5)->add_outputs(0); }),
                  "kernel 5 (eff.expert_combine at test/eff.expert_combine): 3 outputs (want 2: "
                  "1 a device)");
  EXPECT_CONTAINS(
      readerError([](auto &m) { m.mutable_kernels(5)->mutable_inputs()->RemoveLast(); }),
      "kernel 5 (eff.expert_combine at test/eff.expert_combine): 3 inputs and 2 "
      "entries in its 'devices' attribute (2 inputs per device)");
  EXPECT_CONTAINS(
      readerError([](auto &m) { m.mutable_kernels(2)->mutable_attrs()->erase("expert_splits"); }),
      "kernel 2 (eff.expert_dispatch at test/eff.expert_dispatch): 'expert_splits' "
      "has 0 entries for 2 devices (want one more)");
}

TEST(ExpertExchange, OutputsStayOnTheirDevice) {
  ArtifactSections s;
  std::string bytes = exchange().bytes();
  ASSERT_TRUE(
      parseArtifact(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size(), "v", &s).ok());
  auto p = placeKernels(s.manifest, 2, "v.effc");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->runsOn, (std::vector<int>{0, 1, -1, 0, 1, -1, -1}));
  EXPECT_EQ(p->inputFrom[5], (std::vector<int>{0, 1, -1, -1}));
  EXPECT_EQ(p->outputFrom, (std::vector<int>{-1, 0, 1, 1}));
  // Device 1 reading what device 0 received.
  s.manifest.mutable_kernels(4)->set_inputs(0, s.manifest.kernels(3).inputs(0));
  auto bad = placeKernels(s.manifest, 2, "v.effc");
  ASSERT_FALSE(bad.ok());
  EXPECT_CONTAINS(bad.status().message(), "kernel 4 (eff.neg at test/eff.neg) (on device 1) reads "
                                          "buffer 8 (input 0), which only device 0 computed");
}

TEST(ExpertExchange, CountsFollowTheRouting) {
  const std::vector<int64_t> ea = {0, 1, 0, 2}, eb = {3, 2, 1, 3, 2, 2};
  auto counts = host::exchangeCounts({ea.data(), eb.data()}, {2, 3}, 2, {0, 2, 4});
  EXPECT_EQ(counts, (std::vector<std::vector<int64_t>>{{2, 1}, {1, 3}}));
}

TEST(ExpertExchange, TwoSimulatedDevicesExchangeTheTokens) {
  auto s = hostSession(exchange().bytes(), 2);
  ASSERT_TRUE(s);
  std::vector<float> xa = {1, 2, 3, 4, 5, 6}, xb = {7, 8, 9, 10, 11, 12, 13, 14, 15};
  // a0 -> device 0; a1 -> 0 and 1; b0 -> 1; b1 -> 0 and 1; b2 -> 1.
  std::vector<int64_t> ea = {0, 1, 0, 2}, eb = {3, 2, 1, 3, 2, 2};
  std::vector<float> wa = {.5f, .5f, .25f, .75f}, wb = {.1f, .9f, .2f, .8f, .3f, .7f};
  auto out = s->run({{"xa", Tensor{DType::FLOAT32, {2, 3}, xa.data()}},
                     {"xb", Tensor{DType::FLOAT32, {3, 3}, xb.data()}},
                     {"ea", Tensor{DType::INT64, {2, 2}, ea.data()}},
                     {"eb", Tensor{DType::INT64, {3, 2}, eb.data()}},
                     {"wa", Tensor{DType::FLOAT32, {2, 2}, wa.data()}},
                     {"wb", Tensor{DType::FLOAT32, {3, 2}, wb.data()}}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  // Each token's row comes back once from every device it went to.
  const float *y = static_cast<const float *>((*out)[0].data());
  const std::vector<float> times = {1, 2, 1, 2, 1};
  for (int t = 0; t < 5; ++t)
    for (int h = 0; h < 3; ++h)
      EXPECT_FLOAT_EQ(y[t * 3 + h], times[size_t(t)] * (t < 2 ? xa[size_t(t * 3 + h)]
                                                              : xb[size_t((t - 2) * 3 + h)]))
          << t << "," << h;
  // Device 0 received a0, a1, b1 (as x0 = -xa, x1 = -xb), then padding.
  const float *r0 = static_cast<const float *>((*out)[1].data());
  const std::vector<float> want0 = {-1, -2, -3, -4, -5, -6, -10, -11, -12, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(std::vector<float>(r0, r0 + 15), want0);
  // Device 1 received a1, b0, b1, b2 with their routing, then one padding row.
  const int64_t *re1 = static_cast<const int64_t *>((*out)[2].data());
  EXPECT_EQ(std::vector<int64_t>(re1, re1 + 10),
            (std::vector<int64_t>{0, 2, 3, 2, 1, 3, 2, 2, -1, -1}));
  const float *rw1 = static_cast<const float *>((*out)[3].data());
  EXPECT_EQ(std::vector<float>(rw1, rw1 + 10),
            (std::vector<float>{.25f, .75f, .1f, .9f, .2f, .8f, .3f, .7f, 0, 0}));
}

// The cuda path over host memory: the send rows gathered by planExchange's
// sendRows (what effc_expert_gather_rows does), three all-to-all-v calls
// into the receive buffers, the padding filled (effc_expert_fill), then the
// rows back by one all-to-all-v and summed by combineRows
// (effc_expert_combine_rows); everything equals the host kernels.
TEST(ExpertExchange, CudaPathOverHostMemoryEqualsTheHostKernels) {
  const size_t n = 3;
  const int64_t H = 4, K = 2;
  const std::vector<int64_t> tokens = {3, 2, 4}, splits = {0, 2, 3, 6};
  std::vector<std::vector<float>> x(n), w(n);
  std::vector<std::vector<int64_t>> e(n);
  for (size_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < tokens[i]; ++t) {
      for (int64_t h = 0; h < H; ++h)
        x[i].push_back(float(100 * i + 10 * t + h));
      for (int64_t s = 0; s < K; ++s) {
        e[i].push_back((7 * int64_t(i) + 3 * t + 2 * s) % 6);
        w[i].push_back(0.1f * float(s + 1));
      }
    }
  const int64_t capacity = 9;
  // The host kernel: received rows per device.
  std::vector<host::ConstTensorRef> in;
  for (size_t i = 0; i < n; ++i)
    in.push_back({DType::FLOAT32, {tokens[i], H}, x[i].data()});
  for (size_t i = 0; i < n; ++i)
    in.push_back({DType::INT64, {tokens[i], K}, e[i].data()});
  for (size_t i = 0; i < n; ++i)
    in.push_back({DType::FLOAT32, {tokens[i], K}, w[i].data()});
  std::vector<std::vector<float>> wantX(n, std::vector<float>(size_t(capacity * H))),
      wantW(n, std::vector<float>(size_t(capacity * K)));
  std::vector<std::vector<int64_t>> wantE(n, std::vector<int64_t>(size_t(capacity * K)));
  std::vector<host::TensorRef> out;
  for (size_t j = 0; j < n; ++j)
    out.push_back({DType::FLOAT32, {capacity, H}, wantX[j].data()});
  for (size_t j = 0; j < n; ++j)
    out.push_back({DType::INT64, {capacity, K}, wantE[j].data()});
  for (size_t j = 0; j < n; ++j)
    out.push_back({DType::FLOAT32, {capacity, K}, wantW[j].data()});
  const host::Attrs attrs = {{"devices", std::vector<int64_t>{0, 1, 2}}, {"expert_splits", splits}};
  Status st = host::runKernel("eff.expert_dispatch", attrs, in, out);
  ASSERT_TRUE(st.ok()) << st.message();

  // The cuda path's plan and moves.
  std::vector<const int64_t *> routing;
  for (const auto &r : e)
    routing.push_back(r.data());
  host::ExchangePlan plan = host::planExchange(routing, tokens, K, splits);
  auto coll = makeHostCollectives(int(n));
  ASSERT_TRUE(coll.ok());
  auto gather = [&](const auto &src, int64_t width, size_t i) {
    std::vector<std::decay_t<decltype(src[0][0])>> rows;
    for (int64_t t : plan.sendRows[i])
      rows.insert(rows.end(), src[i].begin() + t * width, src[i].begin() + (t + 1) * width);
    return rows;
  };
  std::vector<std::vector<float>> sendX(n), sendW(n), gotX(n), gotW(n);
  std::vector<std::vector<int64_t>> sendE(n), gotE(n);
  std::vector<const void *> sx(n), se(n), sw(n);
  std::vector<void *> rx(n), re(n), rw(n);
  std::vector<std::vector<size_t>> cx(n, std::vector<size_t>(n)), ck = cx;
  for (size_t i = 0; i < n; ++i) {
    sendX[i] = gather(x, H, i);
    sendE[i] = gather(e, K, i);
    sendW[i] = gather(w, K, i);
    gotX[i].assign(size_t(capacity * H), -7.f); // garbage until filled
    gotE[i].assign(size_t(capacity * K), 77);
    gotW[i].assign(size_t(capacity * K), -7.f);
    sx[i] = sendX[i].data(), se[i] = sendE[i].data(), sw[i] = sendW[i].data();
    rx[i] = gotX[i].data(), re[i] = gotE[i].data(), rw[i] = gotW[i].data();
    for (size_t j = 0; j < n; ++j) {
      cx[i][j] = size_t(plan.counts[i][j] * H);
      ck[i][j] = size_t(plan.counts[i][j] * K);
    }
  }
  ASSERT_TRUE((*coll)->allToAllv(sx, rx, cx, DType::FLOAT32).ok());
  ASSERT_TRUE((*coll)->allToAllv(se, re, ck, DType::INT64).ok());
  ASSERT_TRUE((*coll)->allToAllv(sw, rw, ck, DType::FLOAT32).ok());
  for (size_t j = 0; j < n; ++j) {
    int64_t got = 0;
    for (size_t q = 0; q < n; ++q)
      got += plan.counts[q][j];
    std::fill(gotX[j].begin() + got * H, gotX[j].end(), 0.f);
    std::memset(gotE[j].data() + got * K, 0xff, size_t((capacity - got) * K) * sizeof(int64_t));
    std::fill(gotW[j].begin() + got * K, gotW[j].end(), 0.f);
    EXPECT_EQ(gotX[j], wantX[j]) << "device " << j;
    EXPECT_EQ(gotE[j], wantE[j]) << "device " << j;
    EXPECT_EQ(gotW[j], wantW[j]) << "device " << j;
  }

  // Combine: y_j = the received rows times (j + 2), back and summed.
  std::vector<std::vector<float>> y(n);
  for (size_t j = 0; j < n; ++j)
    for (float v : gotX[j])
      y[j].push_back(v * float(j + 2));
  std::vector<host::ConstTensorRef> cin;
  for (size_t j = 0; j < n; ++j)
    cin.push_back({DType::FLOAT32, {capacity, H}, y[j].data()});
  for (size_t i = 0; i < n; ++i)
    cin.push_back({DType::INT64, {tokens[i], K}, e[i].data()});
  std::vector<std::vector<float>> wantO(n), staged(n), gotO(n);
  std::vector<host::TensorRef> cout;
  for (size_t i = 0; i < n; ++i) {
    wantO[i].resize(size_t(tokens[i] * H));
    cout.push_back({DType::FLOAT32, {tokens[i], H}, wantO[i].data()});
  }
  st = host::runKernel("eff.expert_combine", attrs, cin, cout);
  ASSERT_TRUE(st.ok()) << st.message();
  std::vector<const void *> ys(n);
  std::vector<void *> rs(n);
  std::vector<std::vector<size_t>> back(n, std::vector<size_t>(n));
  for (size_t j = 0; j < n; ++j) {
    ys[j] = y[j].data();
    staged[j].assign(size_t(capacity * H * n), -7.f);
    rs[j] = staged[j].data();
    for (size_t i = 0; i < n; ++i)
      back[j][i] = size_t(plan.counts[i][j] * H);
  }
  ASSERT_TRUE((*coll)->allToAllv(ys, rs, back, DType::FLOAT32).ok());
  for (size_t i = 0; i < n; ++i) {
    gotO[i].assign(size_t(tokens[i] * H), 0.f);
    for (int64_t t = 0; t < tokens[i]; ++t)
      for (int64_t h = 0; h < H; ++h) {
        float acc = 0.f;
        for (size_t j = 0; j < n; ++j)
          if (int64_t row = plan.combineRows[i][size_t(t) * n + j]; row >= 0)
            acc += staged[i][size_t(row * H + h)];
        gotO[i][size_t(t * H + h)] = acc;
      }
    EXPECT_EQ(gotO[i], wantO[i]) << "device " << i;
  }
}

TEST(ExpertExchange, KernelsCompileWithNvrtcForSm80Sm90Sm90a) {
  EFFC_REQUIRE_NVRTC();
  const std::string source = cuda::expertExchangeSource();
  for (const char *arch : {"sm_80", "sm_90", "sm_90a"}) {
    auto c = nvrtc::compile(source, nvrtc::compileOptions(arch, {}), "expert_exchange.cu");
    ASSERT_TRUE(c.ok()) << arch << ": " << c.status().message();
    auto fns = nvrtc::cubinFunctions(c->cubin.data(), c->cubin.size());
    ASSERT_TRUE(fns.ok()) << fns.status().message();
    for (const char *fn :
         {"effc_expert_gather_rows", "effc_expert_combine_rows", "effc_expert_fill"})
      EXPECT_NE(std::find(fns->begin(), fns->end(), fn), fns->end()) << arch << " " << fn;
  }
}

// Token shards of different sizes (N does not divide T) are all-gathered on
// axis 0 by the cuda backend with one sendRecv batch (gatherTransfers);
// replayed over host memory it gives the host kernel's concat, also when
// the operands' devices are not in rank order.
TEST(ExpertExchange, UnevenShardsGatherAsTheConcat) {
  const std::vector<int> devices = {1, 2, 0};
  const std::vector<int64_t> rows = {2, 3, 1};
  const int64_t H = 4;
  std::vector<std::vector<float>> blocks(3);
  std::vector<size_t> counts;
  for (size_t i = 0; i < 3; ++i) {
    for (int64_t e = 0; e < rows[i] * H; ++e)
      blocks[i].push_back(float(100 * i + size_t(e)));
    counts.push_back(blocks[i].size());
  }
  std::vector<std::vector<float>> outs(3, std::vector<float>(6 * H, -1.f));
  std::vector<cuda::CUdeviceptr> b, o;
  for (auto &v : blocks)
    b.push_back(cuda::CUdeviceptr(v.data()));
  for (auto &v : outs)
    o.push_back(cuda::CUdeviceptr(v.data()));
  auto coll = makeHostCollectives(3);
  ASSERT_TRUE(coll.ok());
  ASSERT_TRUE(
      (*coll)
          ->sendRecv(cuda::gatherTransfers(b, o, devices, counts, sizeof(float)), DType::FLOAT32)
          .ok());
  std::vector<host::ConstTensorRef> in;
  for (size_t i = 0; i < 3; ++i)
    in.push_back({DType::FLOAT32, {rows[i], H}, blocks[i].data()});
  std::vector<float> want(6 * H);
  ASSERT_TRUE(host::runKernel("eff.all_gather",
                              {{"axis", int64_t(0)}, {"devices", std::vector<int64_t>{1, 2, 0}}},
                              in, {{DType::FLOAT32, {6, H}, want.data()}})
                  .ok());
  for (size_t r = 0; r < 3; ++r)
    EXPECT_EQ(outs[r], want) << "rank " << r;
}

} // namespace
