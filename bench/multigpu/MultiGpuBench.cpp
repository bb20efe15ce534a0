// effc-multigpu-bench (issue 20): the collectives of runtime/src/Collectives.h
// on GPUs, checked and timed.
//
//   effc-multigpu-bench --check [--gpus=N]        NCCL over GPUs 0..N-1 (default: all, >= 2)
//   effc-multigpu-bench --check-streams=N [--device=D]
//                                                 N simulated devices = N streams of one GPU
//   effc-multigpu-bench --bench [--gpus=1,2,4,8] [--tokens=32768,65536,131072]
//                       [--hidden=4096] [--top-k=2] [--kv-heads=8] [--head-dim=128] [--reps=10]
//
// --check / --check-streams: all-reduce, all-gather, reduce-scatter (fp32 and
// bf16), all-to-all-v with uneven counts (int64) and a ring shift, on device
// buffers filled with small integers (every sum exact in any order), each
// compared with the host simulation (HostCollectives) element for element.
// Exit status 1 on any mismatch or error.
//
// --bench, per GPU count N (N = 1 is the no-communication baseline):
//   - the NCCL bus bandwidth of all-reduce, all-gather and all-to-all at 256 MiB
//     per rank (nccl-tests' busbw: algbw * 2(N-1)/N for all-reduce, (N-1)/N
//     for the others) and of one ring hop (send/recv to the next rank);
//   - per token count T: the MoE layer's token exchange (T/N tokens a rank,
//     top-k copies of H bf16 values each, uniform routing: dispatch all-to-all
//     then combine all-to-all) and ring attention's K/V traffic (N-1 hops of
//     a [kv_heads, T/N, 2 * head_dim] bf16 block), timed with NCCL, printed
//     beside the time the measured bus bandwidth predicts.
// What it does not time yet: the compute of the partitioned MoE layer and
// ring attention (the effc --devices planner that emits those kernels is not
// written), so no scaling efficiency is printed; the columns say so.
// A requested GPU count above what the machine has is an error, never a skip.
#include "Collectives.h"
#include "cuda/DriverApi.h"
#include "cuda/Nccl.h"
#include "cuda/StreamCollectives.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace effc;
using namespace effc::cuda;

namespace {

int fail(const std::string &m) {
  std::fprintf(stderr, "effc-multigpu-bench: %s\n", m.c_str());
  return 1;
}

std::vector<int64_t> parseList(const std::string &s) {
  std::vector<int64_t> out;
  size_t at = 0;
  while (at <= s.size()) {
    size_t comma = s.find(',', at);
    std::string item = s.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (!item.empty())
      out.push_back(std::atoll(item.c_str()));
    if (comma == std::string::npos)
      break;
    at = comma + 1;
  }
  return out;
}

StatusOr<int> gpuCount() {
  auto d = getDriver(0);
  if (!d.ok())
    return d.status();
  int n = 0;
  EFFC_RETURN_IF_ERROR((*d)->check((*d)->api.cuDeviceGetCount(&n), "cuDeviceGetCount"));
  return n;
}

/// Device buffers, one per rank, each on its rank's device.
struct RankBuffers {
  std::vector<const Driver *> drivers;
  std::vector<CUdeviceptr> ptrs;
  std::vector<size_t> bytes;
  ~RankBuffers() {
    for (size_t r = 0; r < ptrs.size(); ++r)
      if (ptrs[r] && drivers[r]->makeCurrent().ok())
        drivers[r]->api.cuMemFree(ptrs[r]);
  }
  Status alloc(const std::vector<int> &devices, const std::vector<size_t> &sizes) {
    for (size_t r = 0; r < devices.size(); ++r) {
      auto d = getDriver(devices[r]);
      if (!d.ok())
        return d.status();
      drivers.push_back(*d);
      EFFC_RETURN_IF_ERROR((*d)->makeCurrent());
      CUdeviceptr p = 0;
      EFFC_RETURN_IF_ERROR((*d)->check((*d)->api.cuMemAlloc(&p, std::max<size_t>(sizes[r], 16)),
                                       "cuMemAlloc " + std::to_string(sizes[r]) + " bytes"));
      ptrs.push_back(p);
      bytes.push_back(sizes[r]);
    }
    return Status::OK();
  }
  Status upload(size_t r, const void *src) {
    EFFC_RETURN_IF_ERROR(drivers[r]->makeCurrent());
    return drivers[r]->check(drivers[r]->api.cuMemcpyHtoD(ptrs[r], src, bytes[r]), "cuMemcpyHtoD");
  }
  Status download(size_t r, void *dst) {
    EFFC_RETURN_IF_ERROR(drivers[r]->makeCurrent());
    return drivers[r]->check(drivers[r]->api.cuMemcpyDtoH(dst, ptrs[r], bytes[r]), "cuMemcpyDtoH");
  }
  std::vector<const void *> cptrs() const {
    std::vector<const void *> v;
    for (CUdeviceptr p : ptrs)
      v.push_back(reinterpret_cast<const void *>(p));
    return v;
  }
  std::vector<void *> mptrs() const {
    std::vector<void *> v;
    for (CUdeviceptr p : ptrs)
      v.push_back(reinterpret_cast<void *>(p));
    return v;
  }
};

template <typename T> std::vector<const void *> hostC(std::vector<std::vector<T>> &v) {
  std::vector<const void *> o;
  for (auto &x : v)
    o.push_back(x.data());
  return o;
}
template <typename T> std::vector<void *> hostM(std::vector<std::vector<T>> &v) {
  std::vector<void *> o;
  for (auto &x : v)
    o.push_back(x.data());
  return o;
}

/// One check: the same call on the device collectives (device buffers) and
/// on the host simulation (host buffers), outputs compared bytewise.
struct Checker {
  Collectives &dev, &host;
  std::vector<int> devices; // rank -> device ordinal of its buffers
  int failures = 0;

  template <typename T>
  void run(const std::string &name, std::vector<std::vector<T>> in, std::vector<size_t> outElems,
           const std::function<Status(Collectives &, const std::vector<const void *> &,
                                      const std::vector<void *> &)> &call) {
    const size_t n = in.size();
    std::vector<std::vector<T>> want(n), got(n);
    for (size_t r = 0; r < n; ++r) {
      want[r].assign(outElems[r], T(0));
      got[r].assign(outElems[r], T(0));
    }
    Status st = call(host, hostC(in), hostM(want));
    RankBuffers din, dout;
    std::vector<size_t> inBytes, outBytes;
    for (size_t r = 0; r < n; ++r) {
      inBytes.push_back(in[r].size() * sizeof(T));
      outBytes.push_back(outElems[r] * sizeof(T));
    }
    if (st.ok())
      st = din.alloc(devices, inBytes);
    if (st.ok())
      st = dout.alloc(devices, outBytes);
    for (size_t r = 0; r < n && st.ok(); ++r)
      st = din.upload(r, in[r].data());
    if (st.ok())
      st = call(dev, din.cptrs(), dout.mptrs());
    if (st.ok())
      st = dev.synchronize();
    for (size_t r = 0; r < n && st.ok(); ++r)
      st = dout.download(r, got[r].data());
    bool same = st.ok();
    for (size_t r = 0; r < n && same; ++r)
      same = std::memcmp(got[r].data(), want[r].data(), outElems[r] * sizeof(T)) == 0;
    std::printf("check %-34s %s%s\n", name.c_str(), same ? "PASS" : "FAIL",
                st.ok() ? (same ? "" : " (differs from the host simulation)")
                        : (" (" + st.message() + ")").c_str());
    failures += !same;
  }
};

int runChecks(Collectives &dev, const std::vector<int> &devices) {
  const int n = dev.size();
  auto host = makeHostCollectives(n);
  if (!host.ok())
    return fail(host.status().message());
  std::printf("collectives: %s\n", dev.describe().c_str());
  Checker c{dev, **host, devices};
  const size_t count = 1000;
  auto ints = [&](size_t elems, int salt) {
    std::vector<std::vector<float>> v(static_cast<size_t>(n));
    for (int r = 0; r < n; ++r)
      for (size_t i = 0; i < elems; ++i)
        v[r].push_back(float((i * 7 + r * 13 + salt) % 64)); // sums stay exact
    return v;
  };
  auto bf = [](std::vector<std::vector<float>> f) {
    std::vector<std::vector<uint16_t>> v(f.size());
    for (size_t r = 0; r < f.size(); ++r)
      for (float x : f[r])
        v[r].push_back(floatToBf16(x));
    return v;
  };
  const std::vector<size_t> one(size_t(n), count), all(size_t(n), count * size_t(n));
  c.run<float>("all-reduce fp32", ints(count, 1), one, [&](Collectives &x, auto s, auto r) {
    return x.allReduceSum(s, r, count, DType::FLOAT32);
  });
  c.run<uint16_t>("all-reduce bf16", bf(ints(count, 2)), one, [&](Collectives &x, auto s, auto r) {
    return x.allReduceSum(s, r, count, DType::BFLOAT16);
  });
  c.run<float>("all-gather fp32", ints(count, 3), all, [&](Collectives &x, auto s, auto r) {
    return x.allGather(s, r, count, DType::FLOAT32);
  });
  c.run<float>("reduce-scatter fp32", ints(count * n, 4), one, [&](Collectives &x, auto s, auto r) {
    return x.reduceScatterSum(s, r, count, DType::FLOAT32);
  });
  c.run<uint16_t>("reduce-scatter bf16", bf(ints(count * n, 5)), one,
                  [&](Collectives &x, auto s, auto r) {
                    return x.reduceScatterSum(s, r, count, DType::BFLOAT16);
                  });
  // all-to-all-v: rank q sends (q + 2p) % 5 * 3 elements to p (some zero).
  const size_t un = static_cast<size_t>(n);
  std::vector<std::vector<size_t>> counts(un, std::vector<size_t>(un));
  std::vector<std::vector<int64_t>> a2a(static_cast<size_t>(n));
  std::vector<size_t> a2aOut(static_cast<size_t>(n), 0);
  for (int q = 0; q < n; ++q)
    for (int p = 0; p < n; ++p) {
      counts[q][p] = size_t((q + 2 * p) % 5) * 3;
      for (size_t i = 0; i < counts[q][p]; ++i)
        a2a[q].push_back(q * 100000 + p * 1000 + int64_t(i));
      a2aOut[p] += counts[q][p];
    }
  c.run<int64_t>("all-to-all-v int64 (uneven)", a2a, a2aOut, [&](Collectives &x, auto s, auto r) {
    return x.allToAllv(s, r, counts, DType::INT64);
  });
  c.run<float>("ring shift (send/recv) fp32", ints(count, 6), one,
               [&](Collectives &x, auto s, auto r) {
                 std::vector<Transfer> hop;
                 for (int q = 0; q < n; ++q)
                   hop.push_back({q, ringNext(q, n), s[q], r[ringNext(q, n)], count});
                 return x.sendRecv(hop, DType::FLOAT32);
               });
  std::printf("%d check(s) failed\n", c.failures);
  return c.failures ? 1 : 0;
}

double seconds(const std::function<Status()> &f, Collectives &c, int reps, Status &st) {
  st = f(); // warm-up
  if (st.ok())
    st = c.synchronize();
  if (!st.ok())
    return -1;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps && st.ok(); ++i)
    st = f();
  if (st.ok())
    st = c.synchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
}

struct BenchArgs {
  std::vector<int64_t> gpus{1, 2, 4, 8}, tokens{32768, 65536, 131072};
  int64_t hidden = 4096, topK = 2, kvHeads = 8, headDim = 128;
  int reps = 10;
};

int runBench(const BenchArgs &a, int available) {
  for (int64_t n : a.gpus)
    if (n < 1 || n > available)
      return fail("--gpus lists " + std::to_string(n) + " GPUs; this machine has " +
                  std::to_string(available) + " (a multi-GPU benchmark needs them all; no skip)");
  std::printf("# MoE: H %lld, top-%lld, bf16, uniform routing; ring attention: kv_heads %lld, "
              "head_dim %lld, bf16\n",
              (long long)a.hidden, (long long)a.topK, (long long)a.kvHeads, (long long)a.headDim);
  std::printf("# compute (MoE experts, attention blocks) is not timed yet: the effc --devices "
              "planner is not written; no scaling efficiency below\n");
  for (int64_t n64 : a.gpus) {
    const int n = int(n64);
    if (n == 1) {
      std::printf("gpus 1: no communication (the single-GPU baseline is effc-moe-bench / "
                  "effc-attention-bench)\n");
      continue;
    }
    std::vector<int> devices;
    for (int r = 0; r < n; ++r)
      devices.push_back(r);
    auto comm = makeNcclCollectives(devices);
    if (!comm.ok())
      return fail(comm.status().message());
    Collectives &c = **comm;
    std::printf("gpus %d: %s\n", n, c.describe().c_str());
    // Bus bandwidth at 256 MiB a rank.
    const size_t big = size_t(256) << 20, elems = big / 4;
    auto s = std::make_unique<RankBuffers>(), r = std::make_unique<RankBuffers>();
    Status st = s->alloc(devices, std::vector<size_t>(size_t(n), big));
    if (st.ok())
      st = r->alloc(devices, std::vector<size_t>(size_t(n), big));
    if (!st.ok())
      return fail(st.message());
    const double f = double(n - 1) / n;
    double t =
        seconds([&] { return c.allReduceSum(s->cptrs(), r->mptrs(), elems, DType::FLOAT32); }, c,
                a.reps, st);
    if (!st.ok())
      return fail(st.message());
    const double busAR = big / t * 2 * f / 1e9;
    t = seconds([&] { return c.allGather(s->cptrs(), r->mptrs(), elems / n, DType::FLOAT32); }, c,
                a.reps, st);
    if (!st.ok())
      return fail(st.message());
    const double busAG = big / t * f / 1e9;
    std::vector<std::vector<size_t>> even(size_t(n), std::vector<size_t>(size_t(n), elems / n));
    t = seconds([&] { return c.allToAllv(s->cptrs(), r->mptrs(), even, DType::FLOAT32); }, c,
                a.reps, st);
    if (!st.ok())
      return fail(st.message());
    const double busA2A = big / t * f / 1e9;
    auto ringHop = [&](size_t count, DType dt) {
      std::vector<Transfer> hop;
      auto sp = s->cptrs();
      auto rp = r->mptrs();
      for (int q = 0; q < n; ++q)
        hop.push_back({q, ringNext(q, n), sp[q], rp[ringNext(q, n)], count});
      return c.sendRecv(hop, dt);
    };
    t = seconds([&] { return ringHop(elems, DType::FLOAT32); }, c, a.reps, st);
    if (!st.ok())
      return fail(st.message());
    const double busHop = big / t / 1e9;
    std::printf("  busbw GB/s: all-reduce %.1f  all-gather %.1f  all-to-all %.1f  ring hop %.1f\n",
                busAR, busAG, busA2A, busHop);
    std::printf("  %8s %14s %12s %12s %14s %12s %12s\n", "tokens", "moe_a2a_MiB", "moe_ms",
                "moe_bw_ms", "ring_hop_MiB", "ring_ms", "ring_bw_ms");
    for (int64_t T : a.tokens) {
      const int64_t local = (T + n - 1) / n;
      // MoE: each rank's tokens, top-k copies of H bf16 values, (N-1)/N leave.
      const size_t moeElems = size_t(local * a.topK * a.hidden);
      const size_t ringElems = size_t(a.kvHeads * local * 2 * a.headDim);
      const size_t need = std::max(moeElems, ringElems) * 2;
      if (need > s->bytes[0]) { // grow the buffers for this T
        s = std::make_unique<RankBuffers>();
        r = std::make_unique<RankBuffers>();
        st = s->alloc(devices, std::vector<size_t>(size_t(n), need));
        if (st.ok())
          st = r->alloc(devices, std::vector<size_t>(size_t(n), need));
        if (!st.ok())
          return fail(st.message());
      }
      std::vector<std::vector<size_t>> moeCounts(size_t(n),
                                                 std::vector<size_t>(size_t(n), moeElems / n));
      const double moe =
          2 *
          seconds([&] { return c.allToAllv(s->cptrs(), r->mptrs(), moeCounts, DType::BFLOAT16); },
                  c, a.reps, st); // dispatch + combine
      if (!st.ok())
        return fail(st.message());
      const double ring =
          (n - 1) * seconds([&] { return ringHop(ringElems, DType::BFLOAT16); }, c, a.reps, st);
      if (!st.ok())
        return fail(st.message());
      const double moeBytes = double(moeElems) * 2, ringBytes = double(ringElems) * 2;
      std::printf("  %8lld %14.1f %12.3f %12.3f %14.1f %12.3f %12.3f\n", (long long)T,
                  moeBytes / (1 << 20), moe * 1e3, 2 * moeBytes * f / (busA2A * 1e9) * 1e3,
                  ringBytes / (1 << 20), ring * 1e3, (n - 1) * ringBytes / (busHop * 1e9) * 1e3);
    }
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  bool check = false, bench = false;
  int streams = 0, device = 0, gpus = 0;
  BenchArgs b;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&](const char *p) { return a.substr(std::strlen(p)); };
    if (a == "--check")
      check = true;
    else if (a == "--bench")
      bench = true;
    else if (a.rfind("--check-streams=", 0) == 0)
      streams = std::atoi(val("--check-streams=").c_str());
    else if (a.rfind("--device=", 0) == 0)
      device = std::atoi(val("--device=").c_str());
    else if (a.rfind("--gpus=", 0) == 0) {
      b.gpus = parseList(val("--gpus="));
      gpus = b.gpus.empty() ? 0 : int(b.gpus.back());
    } else if (a.rfind("--tokens=", 0) == 0)
      b.tokens = parseList(val("--tokens="));
    else if (a.rfind("--hidden=", 0) == 0)
      b.hidden = std::atoll(val("--hidden=").c_str());
    else if (a.rfind("--top-k=", 0) == 0)
      b.topK = std::atoll(val("--top-k=").c_str());
    else if (a.rfind("--kv-heads=", 0) == 0)
      b.kvHeads = std::atoll(val("--kv-heads=").c_str());
    else if (a.rfind("--head-dim=", 0) == 0)
      b.headDim = std::atoll(val("--head-dim=").c_str());
    else if (a.rfind("--reps=", 0) == 0)
      b.reps = std::max(1, std::atoi(val("--reps=").c_str()));
    else
      return fail("unknown argument " + a +
                  "\nusage: effc-multigpu-bench --check [--gpus=N] | --check-streams=N "
                  "[--device=D] | --bench [--gpus=1,2,4,8] [--tokens=..] [--hidden=H] "
                  "[--top-k=K] [--kv-heads=H] [--head-dim=D] [--reps=R]");
  }
  if (check + bench + (streams > 0) != 1)
    return fail("give one of --check, --check-streams=N, --bench");
  if (streams > 0) {
    auto c = makeStreamCollectives(device, streams);
    if (!c.ok())
      return fail(c.status().message());
    return runChecks(**c, std::vector<int>(size_t(streams), device));
  }
  auto count = gpuCount();
  if (!count.ok())
    return fail(count.status().message());
  if (check) {
    const int n = gpus ? gpus : *count;
    if (n < 2 || n > *count)
      return fail("--check needs " + std::string(n < 2 ? "at least 2" : std::to_string(n)) +
                  " GPUs; this machine has " + std::to_string(*count) +
                  " (one GPU: --check-streams=N)");
    std::vector<int> devices;
    for (int r = 0; r < n; ++r)
      devices.push_back(r);
    auto c = makeNcclCollectives(devices);
    if (!c.ok())
      return fail(c.status().message());
    return runChecks(**c, devices);
  }
  return runBench(b, *count);
}
