// eff.ring_attention on the cuda backend (cuda/RingAttention.{h,cpp},
// issue 20): the checks it makes before a GPU is opened, the schedule (whose
// block each position holds at each hop, causal skips, the scratch slots),
// the path replayed over host memory with HostCollectives (the kernels of
// ring_attention.cuh written out here in C++: chunked online softmax in
// fp32, normalize, gather, place) against the host kernel for contiguous and
// striped, causal and full, GQA, N = 2, 3, 4; and ring_attention.cuh
// compiles with NVRTC for sm_80, sm_90 and sm_90a. test/gpu/multigpu.sh
// runs it on a GPU.
#include "CudaTestUtil.h"
#include "TestUtil.h"

#include "Artifact.h"
#include "Collectives.h"
#include "HostTensorRefs.h"
#include "cuda/Nvrtc.h"
#include "cuda/RingAttention.h"
#include "host/HostKernels.h"
#include "host/RingAttention.h"

#include <algorithm>
#include <cmath>
#include <random>

using namespace effc;
using namespace effc::test;

namespace {

/// eff.ring_attention over `devices` of blocks q [1, 4, 4, 8], k/v [1, 2, 4,
/// 8] (dtype t), result [1, 4, 4 N, 8].
ManifestBuilder ringPlan(const std::vector<int64_t> &devices, DType t = DType::FLOAT32) {
  ManifestBuilder mb;
  const int64_t N = int64_t(devices.size());
  std::vector<int> in;
  for (int g = 0; g < 3; ++g)
    for (int64_t i = 0; i < N; ++i)
      in.push_back(mb.buffer("b" + std::to_string(g * N + i), t, {1, g ? 2 : 4, 4, 8}));
  int y = mb.buffer("y", t, {1, 4, 4 * N, 8});
  mb.kernel("eff.ring_attention", in, {y},
            {{"devices", attrInts(devices)},
             {"scale", attrF(0.25)},
             {"causal", attrI(1)},
             {"striped", attrI(1)},
             {"num_kv_heads", attrI(2)}});
  mb.output("y", y);
  mb.m.set_devices(N);
  return mb;
}

TEST(RingAttentionCuda, ShapeOfTheKernelAndItsChecks) {
  auto s = cuda::ringKernelShape(ringPlan({0, 1, 2}).m, 0, 3);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->B, 1);
  EXPECT_EQ(s->Hq, 4);
  EXPECT_EQ(s->Hkv, 2);
  EXPECT_EQ(s->n, 4);
  EXPECT_EQ(s->D, 8);
  EXPECT_EQ(s->Dv, 8);
  EXPECT_EQ(s->N, 3);
  EXPECT_FLOAT_EQ(s->scale, 0.25f);
  EXPECT_TRUE(s->causal);
  EXPECT_TRUE(s->striped);
  s = cuda::ringKernelShape(ringPlan({1, 0}).m, 0, 2);
  ASSERT_FALSE(s.ok());
  EXPECT_CONTAINS(s.status().message(),
                  "cuda backend: kernel 0 (eff.ring_attention at test/eff.ring_attention): the "
                  "cuda backend runs the ring over devices 0..1 listed in order");
  s = cuda::ringKernelShape(ringPlan({0, 1}, DType::FLOAT64).m, 0, 2);
  ASSERT_FALSE(s.ok());
  EXPECT_CONTAINS(s.status().message(), "float64 blocks (float32, float16 or bfloat16 only)");
  artifact::Manifest m = ringPlan({0, 1}).m;
  m.mutable_buffers(3)->set_shape(2, 3); // k_1 of 3 rows
  s = cuda::ringKernelShape(m, 0, 2);
  ASSERT_FALSE(s.ok());
  EXPECT_CONTAINS(s.status().message(), "block 3 is float32 [1, 2, 3, 8], expected float32 [1, 2, "
                                        "4, 8]");
}

TEST(RingAttentionCuda, ScheduleVisitsEveryBlockOnceAndSkipsOnlyMaskedOnes) {
  for (bool striped : {false, true})
    for (int N : {2, 3, 4}) {
      cuda::RingKernelShape s;
      s.N = N, s.n = 3, s.causal = true, s.striped = striped;
      for (int p = 0; p < N; ++p) {
        std::vector<int> seen;
        for (int hop = 0; hop < N; ++hop)
          seen.push_back(cuda::ringOrigin(p, hop, N));
        EXPECT_EQ(seen[0], p);
        std::sort(seen.begin(), seen.end());
        for (int o = 0; o < N; ++o) {
          EXPECT_EQ(seen[size_t(o)], o);
          // Skipped exactly when no key position <= any query position.
          const auto qp = host::ringPositions(s.n * N, N, p, striped),
                     kp = host::ringPositions(s.n * N, N, o, striped);
          EXPECT_EQ(cuda::ringBlockSkipped(s, p, o), kp.front() > qp.back())
              << "N " << N << " p " << p << " o " << o;
        }
        // The block held at hop h + 1 is the previous position's at hop h.
        for (int hop = 0; hop + 1 < N; ++hop)
          EXPECT_EQ(cuda::ringOrigin(p, hop + 1, N), cuda::ringOrigin(ringPrev(p, N), hop, N));
      }
      s.causal = false;
      for (int o = 1; o < N; ++o)
        EXPECT_FALSE(cuda::ringBlockSkipped(s, 0, o));
    }
  EXPECT_EQ(cuda::ringSlot(0), -1);
  EXPECT_EQ(cuda::ringSlot(1), 1);
  EXPECT_EQ(cuda::ringSlot(2), 0);
}

/// effc_ring_attend over host memory: the same chunks of `T` keys, causal
/// limit and online (O, m, l) update.
void attend(const cuda::RingKernelShape &s, const float *q, const float *k, const float *v,
            float *O, float *M, float *L, int qOrigin, int kOrigin, bool first, int64_t T) {
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.Hq; ++h)
      for (int64_t i = 0; i < s.n; ++i) {
        const int64_t kh = h / (s.Hq / s.Hkv), row = (b * s.Hq + h) * s.n + i;
        const float *Q = q + row * s.D, *K = k + (b * s.Hkv + kh) * s.n * s.D,
                    *V = v + (b * s.Hkv + kh) * s.n * s.Dv;
        float *o = O + row * s.Dv;
        if (first)
          std::fill(o, o + s.Dv, 0.f);
        int64_t end = s.n;
        if (s.causal) {
          const int64_t qpos = s.striped ? qOrigin + i * s.N : qOrigin * s.n + i;
          const int64_t base = s.striped ? kOrigin : kOrigin * s.n, stride = s.striped ? s.N : 1;
          end = std::min(s.n, qpos < base ? 0 : (qpos - base) / stride + 1);
        }
        float m = first ? -INFINITY : M[row], l = first ? 0.f : L[row];
        std::vector<float> p(static_cast<size_t>(T));
        for (int64_t c = 0; c < end; c += T) {
          const int64_t cnt = std::min(T, end - c);
          float cmax = -INFINITY;
          for (int64_t j = 0; j < cnt; ++j) {
            float dot = 0;
            for (int64_t d = 0; d < s.D; ++d)
              dot += Q[d] * K[(c + j) * s.D + d];
            p[size_t(j)] = dot * s.scale;
            cmax = std::max(cmax, p[size_t(j)]);
          }
          const float mnew = std::max(m, cmax);
          float sum = 0;
          for (int64_t j = 0; j < cnt; ++j)
            sum += p[size_t(j)] = std::exp(p[size_t(j)] - mnew);
          const float alpha = std::exp(m - mnew);
          for (int64_t d = 0; d < s.Dv; ++d) {
            float acc = o[d] * alpha;
            for (int64_t j = 0; j < cnt; ++j)
              acc += p[size_t(j)] * V[(c + j) * s.Dv + d];
            o[d] = acc;
          }
          l = l * alpha + sum;
          m = mnew;
        }
        M[row] = m;
        L[row] = l;
      }
}

struct PathCase {
  int N;
  int64_t B, n, Hq, Hkv, D, Dv;
  bool causal, striped;
};

TEST(RingAttentionCuda, CudaPathOverHostMemoryEqualsTheHostKernel) {
  const PathCase cases[] = {
      {2, 2, 8, 4, 2, 8, 8, true, true},  {2, 2, 8, 4, 2, 8, 8, true, false},
      {4, 1, 5, 4, 1, 8, 4, true, true},  {4, 2, 4, 2, 2, 16, 16, false, false},
      {3, 2, 3, 2, 2, 4, 4, true, false}, {3, 1, 7, 6, 3, 4, 8, false, true},
      {4, 1, 1, 2, 1, 4, 4, true, true},
  };
  for (const PathCase &pc : cases) {
    SCOPED_TRACE(std::to_string(pc.N) + " devices, n " + std::to_string(pc.n) +
                 (pc.causal ? " causal" : "") + (pc.striped ? " striped" : " contiguous"));
    cuda::RingKernelShape s;
    s.B = pc.B, s.Hq = pc.Hq, s.Hkv = pc.Hkv, s.n = pc.n, s.D = pc.D, s.Dv = pc.Dv, s.N = pc.N;
    s.scale = 0.4f, s.causal = pc.causal, s.striped = pc.striped;
    const size_t N = size_t(pc.N);
    const size_t kE = size_t(s.B * s.Hkv * s.n * s.D), vE = size_t(s.B * s.Hkv * s.n * s.Dv),
                 rows = size_t(s.B * s.Hq * s.n), S = size_t(s.n) * N;
    std::mt19937 rng(11 + pc.N * 7 + int(pc.n));
    std::uniform_real_distribution<float> u(-2, 2);
    std::vector<HostTensor> blocks;
    for (int g = 0; g < 3; ++g)
      for (size_t p = 0; p < N; ++p) {
        HostTensor t(DType::FLOAT32, {s.B, g ? s.Hkv : s.Hq, s.n, g == 2 ? s.Dv : s.D});
        for (int64_t e = 0; e < t.numElements(); ++e)
          t.data<float>()[e] = u(rng);
        blocks.push_back(std::move(t));
      }
    // The host kernel.
    std::vector<host::ConstTensorRef> in;
    for (const HostTensor &b : blocks)
      in.push_back(cref(b));
    std::vector<int64_t> devices;
    for (size_t p = 0; p < N; ++p)
      devices.push_back(int64_t(p));
    HostTensor want(DType::FLOAT32, {s.B, s.Hq, int64_t(S), s.Dv});
    Status st = host::runKernel("eff.ring_attention",
                                {{"devices", devices},
                                 {"scale", double(s.scale)},
                                 {"causal", int64_t(s.causal)},
                                 {"striped", int64_t(s.striped)},
                                 {"num_kv_heads", s.Hkv}},
                                in, {ref(want)});
    ASSERT_TRUE(st.ok()) << st.message();

    // The cuda path: hops over two slots a rank, sends by HostCollectives.
    auto coll = makeHostCollectives(pc.N);
    ASSERT_TRUE(coll.ok());
    std::vector<std::vector<float>> slot[2], O(N), ML(N), mine(N), staging(N),
        out(N, std::vector<float>(S * size_t(s.Hq * s.B * s.Dv), -7.f));
    for (auto &sl : slot)
      sl.assign(N, std::vector<float>(kE + vE, -9.f));
    auto block = [&](size_t p, int hop) {
      const int sl = cuda::ringSlot(hop);
      if (sl < 0)
        return std::pair{blocks[N + p].data<float>(), blocks[2 * N + p].data<float>()};
      return std::pair{slot[sl][p].data(), slot[sl][p].data() + kE};
    };
    for (size_t p = 0; p < N; ++p) {
      O[p].assign(rows * size_t(s.Dv), -5.f); // garbage until the first hop
      ML[p].assign(2 * rows, -5.f);
    }
    for (int hop = 0; hop < pc.N; ++hop) {
      for (size_t p = 0; p < N; ++p) {
        const int origin = cuda::ringOrigin(int(p), hop, pc.N);
        if (cuda::ringBlockSkipped(s, int(p), origin))
          continue;
        auto [kp, vp] = block(p, hop);
        attend(s, blocks[p].data<float>(), kp, vp, O[p].data(), ML[p].data(), ML[p].data() + rows,
               int(p), origin, hop == 0, 3);
      }
      if (hop + 1 == pc.N)
        break;
      std::vector<Transfer> sends;
      for (size_t p = 0; p < N; ++p) {
        const int to = ringNext(int(p), pc.N);
        auto [kp, vp] = block(p, hop);
        float *dst = slot[cuda::ringSlot(hop + 1)][size_t(to)].data();
        sends.push_back({int(p), to, kp, dst, kE});
        sends.push_back({int(p), to, vp, dst + kE, vE});
      }
      ASSERT_TRUE((*coll)->sendRecv(sends, DType::FLOAT32).ok());
    }
    std::vector<const void *> send;
    std::vector<void *> recv;
    for (size_t p = 0; p < N; ++p) { // effc_ring_finalize
      mine[p].resize(rows * size_t(s.Dv));
      staging[p].assign(N * rows * size_t(s.Dv), -3.f);
      for (size_t r = 0; r < rows; ++r)
        for (int64_t d = 0; d < s.Dv; ++d) {
          const float l = ML[p][rows + r];
          mine[p][r * size_t(s.Dv) + size_t(d)] =
              l > 0 ? O[p][r * size_t(s.Dv) + size_t(d)] / l : 0;
        }
      send.push_back(mine[p].data());
      recv.push_back(staging[p].data());
    }
    ASSERT_TRUE((*coll)->allGather(send, recv, rows * size_t(s.Dv), DType::FLOAT32).ok());
    for (size_t p = 0; p < N; ++p) // effc_ring_place
      for (int64_t b = 0; b < s.B; ++b)
        for (int64_t h = 0; h < s.Hq; ++h)
          for (size_t tok = 0; tok < S; ++tok) {
            const size_t o = s.striped ? tok % N : tok / size_t(s.n),
                         r = s.striped ? tok / N : tok % size_t(s.n);
            for (int64_t d = 0; d < s.Dv; ++d)
              out[p][((size_t(b * s.Hq + h)) * S + tok) * size_t(s.Dv) + size_t(d)] =
                  staging[p][(((o * size_t(s.B) + size_t(b)) * size_t(s.Hq) + size_t(h)) *
                                  size_t(s.n) +
                              r) *
                                 size_t(s.Dv) +
                             size_t(d)];
          }
    for (size_t p = 0; p < N; ++p) {
      double err = 0;
      for (int64_t e = 0; e < want.numElements(); ++e)
        err = std::max(err, double(std::fabs(out[p][size_t(e)] - want.data<float>()[e])));
      EXPECT_LE(err, 2e-6) << "rank " << p;
    }
  }
}

TEST(RingAttentionCuda, KernelsCompileWithNvrtcForSm80Sm90Sm90a) {
  EFFC_REQUIRE_NVRTC();
  const std::string source = cuda::ringAttentionSource();
  for (const char *arch : {"sm_80", "sm_90", "sm_90a"}) {
    auto c = nvrtc::compile(source, nvrtc::compileOptions(arch, {}), "ring_attention.cu");
    ASSERT_TRUE(c.ok()) << arch << ": " << c.status().message();
    auto fns = nvrtc::cubinFunctions(c->cubin.data(), c->cubin.size());
    ASSERT_TRUE(fns.ok()) << fns.status().message();
    for (const char *fn : {"effc_ring_attend", "effc_ring_finalize", "effc_ring_place"})
      EXPECT_NE(std::find(fns->begin(), fns->end(), fn), fns->end()) << arch << " " << fn;
  }
}

} // namespace
