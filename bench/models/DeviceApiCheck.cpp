// effc-device-api-check: the device side of the session API on a real model
// and GPU (test/gpu/device_api.sh runs it). Public API only (effc/effc.h);
// the caller stream comes from libcuda directly, as an application's would.
//
//   effc-device-api-check MODEL.effc --input NAME=FILE... [--time N]
//
// Checks, each against run() with host inputs and outputs on a cuda session
// (byte-identical: same kernels, same inputs): device inputs; runOnDevice;
// runInto device buffers (every output) and host buffers; a caller stream
// (device-only runs return unsynchronized); CUDA graphs off; a replay with
// other output buffers (graph node update); two sessions on two threads.
// Prints one "check NAME: PASS|FAIL" line each and "effc-device-api-check:
// PASS|FAIL". With --time N, also the median step time of: host in/out
// (run), device in + runOnDevice, device in + runInto preallocated device
// buffers, and the kernels alone (timeKernels).
#include "effc/effc.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <functional>
#include <thread>

using namespace effc;

namespace {

int failures = 0;

void report(const std::string &name, const Status &st) {
  std::printf("check %s: %s%s\n", name.c_str(),
              st.ok() ? "PASS" : "FAIL: ", st.ok() ? "" : st.message().c_str());
  std::fflush(stdout);
  failures += !st.ok();
}

Status sameBytes(const std::vector<HostTensor> &want, const std::vector<HostTensor> &got,
                 const Model &m) {
  if (want.size() != got.size())
    return Status::error("output count differs");
  for (size_t k = 0; k < want.size(); ++k)
    if (want[k].byteSize() != got[k].byteSize() ||
        std::memcmp(want[k].data(), got[k].data(), want[k].byteSize()))
      return Status::error("output '" + m.outputs()[k].name + "' differs from run()'s");
  return Status::OK();
}

StatusOr<std::vector<HostTensor>> toHost(const std::vector<DeviceTensor> &d) {
  std::vector<HostTensor> h;
  for (const DeviceTensor &t : d) {
    auto x = t.toHost();
    if (!x.ok())
      return x.status();
    h.push_back(std::move(*x));
  }
  return h;
}

// A CUstream from libcuda, created in the current (primary) context.
struct CallerStream {
  using Fn = int (*)(void **, unsigned);
  void *lib = dlopen("libcuda.so.1", RTLD_NOW);
  void *stream = nullptr;
  int (*sync)(void *) = nullptr;
  int (*destroy)(void *) = nullptr;
  Status create() {
    if (!lib)
      return Status::error("libcuda.so.1 not found");
    auto make = reinterpret_cast<Fn>(dlsym(lib, "cuStreamCreate"));
    sync = reinterpret_cast<int (*)(void *)>(dlsym(lib, "cuStreamSynchronize"));
    destroy = reinterpret_cast<int (*)(void *)>(dlsym(lib, "cuStreamDestroy_v2"));
    if (!make || !sync || !destroy || make(&stream, 1 /*non-blocking*/) != 0)
      return Status::error("cuStreamCreate failed");
    return Status::OK();
  }
  ~CallerStream() {
    if (stream)
      destroy(stream);
  }
};

double medianMs(int n, const std::function<Status()> &step, Status *st) {
  std::vector<double> ms;
  for (int i = 0; i < n + 3 && st->ok(); ++i) {
    auto t0 = std::chrono::steady_clock::now();
    *st = step();
    double t =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (i >= 3)
      ms.push_back(t);
  }
  if (ms.empty())
    return 0;
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

} // namespace

int main(int argc, char **argv) {
  std::string path;
  std::map<std::string, std::string> files;
  int timeRuns = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--input" && i + 1 < argc) {
      std::string v = argv[++i];
      size_t eq = v.find('=');
      if (eq == std::string::npos)
        return std::fprintf(stderr, "--input expects NAME=FILE\n"), 1;
      files[v.substr(0, eq)] = v.substr(eq + 1);
    } else if (a == "--time" && i + 1 < argc) {
      timeRuns = std::atoi(argv[++i]);
    } else if (path.empty() && a[0] != '-') {
      path = a;
    } else {
      return std::fprintf(stderr, "usage: %s MODEL.effc --input NAME=FILE... [--time N]\n",
                          argv[0]),
             1;
    }
  }
  auto model = Model::load(path);
  if (!model.ok())
    return std::fprintf(stderr, "error: %s\n", model.status().message().c_str()), 1;
  const Model &m = **model;
  std::vector<HostTensor> hostIn;
  std::map<std::string, Tensor> in, devIn;
  std::vector<DeviceTensor> devInputs;
  for (const TensorInfo &info : m.inputs()) {
    if (!files.count(info.name))
      return std::fprintf(stderr, "error: no --input for '%s'\n", info.name.c_str()), 1;
    auto t = readTensorFile(files[info.name]);
    if (!t.ok())
      return std::fprintf(stderr, "error: %s\n", t.status().message().c_str()), 1;
    hostIn.push_back(std::move(*t));
  }
  for (size_t i = 0; i < hostIn.size(); ++i)
    in[m.inputs()[i].name] = hostIn[i].view();

  SessionOptions opts; // built-in defaults: cuda, graphs on, device 0
  opts.verbosity = 2;  // the per-run lines say which inputs/outputs were bound
  auto s = Session::create(*model, opts);
  if (!s.ok())
    return std::fprintf(stderr, "error: %s\n", s.status().message().c_str()), 1;
  auto ref = (*s)->run(in);
  if (!ref.ok())
    return std::fprintf(stderr, "error: %s\n", ref.status().message().c_str()), 1;
  for (const HostTensor &h : hostIn) {
    auto d = DeviceTensor::copyOf(h.view());
    if (!d.ok())
      return std::fprintf(stderr, "error: %s\n", d.status().message().c_str()), 1;
    devInputs.push_back(*d);
  }
  for (size_t i = 0; i < devInputs.size(); ++i)
    devIn[m.inputs()[i].name] = devInputs[i].view();

  // Device inputs, host outputs (inputs bound into the kernels).
  {
    auto r = (*s)->run(devIn);
    report("device-inputs-run", r.ok() ? sameBytes(*ref, *r, m) : r.status());
  }
  // runOnDevice, from host and from device inputs.
  for (auto *inputs : {&in, &devIn}) {
    auto r = (*s)->runOnDevice(*inputs);
    Status st = r.status();
    if (r.ok()) {
      auto h = toHost(*r);
      st = h.ok() ? sameBytes(*ref, *h, m) : h.status();
    }
    report(inputs == &in ? "runOnDevice-host-inputs" : "runOnDevice-device-inputs", st);
  }
  // runInto device buffers, twice with different buffers (graph node update).
  std::vector<DeviceTensor> outA, outB;
  std::map<std::string, MutableTensor> intoA, intoB;
  for (const TensorInfo &o : m.outputs()) {
    auto a = DeviceTensor::allocate(o.dtype, o.shape), b = DeviceTensor::allocate(o.dtype, o.shape);
    if (!a.ok() || !b.ok())
      return std::fprintf(stderr, "error: allocating outputs\n"), 1;
    outA.push_back(*a), outB.push_back(*b);
    intoA[o.name] = a->mutableView(), intoB[o.name] = b->mutableView();
  }
  for (auto *into : {&intoA, &intoB}) {
    Status st = (*s)->runInto(devIn, *into);
    if (st.ok()) {
      auto h = toHost(into == &intoA ? outA : outB);
      st = h.ok() ? sameBytes(*ref, *h, m) : h.status();
    }
    report(into == &intoA ? "runInto-device-buffers" : "runInto-other-device-buffers", st);
  }
  // runInto host buffers.
  {
    std::vector<HostTensor> hostOut;
    std::map<std::string, MutableTensor> into;
    for (const TensorInfo &o : m.outputs())
      hostOut.emplace_back(o.dtype, o.shape);
    for (size_t k = 0; k < hostOut.size(); ++k)
      into[m.outputs()[k].name] = hostOut[k].mutableView();
    Status st = (*s)->runInto(devIn, into);
    report("runInto-host-buffers", st.ok() ? sameBytes(*ref, hostOut, m) : st);
  }
  // A caller stream: device-only runs are queued, not waited for.
  {
    CallerStream cs;
    Status st = cs.create();
    if (st.ok()) {
      SessionOptions so = opts;
      so.stream = cs.stream;
      auto ss = Session::create(*model, so);
      st = ss.status();
      if (ss.ok()) {
        if ((*ss)->stream() != cs.stream)
          st = Status::error("the session does not use the caller's stream");
        for (int rep = 0; st.ok() && rep < 3; ++rep)
          st = (*ss)->runInto(devIn, rep % 2 ? intoB : intoA);
        if (st.ok() && cs.sync(cs.stream) != 0)
          st = Status::error("cuStreamSynchronize failed");
        if (st.ok()) {
          auto h = toHost(outA);
          st = h.ok() ? sameBytes(*ref, *h, m) : h.status();
        }
        if (st.ok()) {
          auto r = (*ss)->runOnDevice(devIn); // tensors freed on the caller's stream
          st = r.ok() ? Status::OK() : r.status();
          if (r.ok()) {
            auto h = toHost(*r);
            st = h.ok() ? sameBytes(*ref, *h, m) : h.status();
          }
        }
      }
    }
    report("caller-stream", st);
  }
  // CUDA graphs off (eager launches), device in and out.
  {
    SessionOptions eager = opts;
    eager.cudaGraphs = false;
    auto se = Session::create(*model, eager);
    Status st = se.status();
    if (se.ok()) {
      auto r = (*se)->runOnDevice(devIn);
      st = r.status();
      if (r.ok()) {
        auto h = toHost(*r);
        st = h.ok() ? sameBytes(*ref, *h, m) : h.status();
      }
    }
    report("cuda-graphs-off", st);
  }
  // Two sessions on two threads, device in and out, 10 runs each.
  {
    Status st[2];
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t)
      threads.emplace_back([&, t] {
        SessionOptions quiet = opts;
        quiet.verbosity = 0;
        auto st2 = Session::create(*model, quiet);
        st[t] = st2.status();
        for (int rep = 0; st2.ok() && st[t].ok() && rep < 10; ++rep) {
          auto r = (*st2)->runOnDevice(devIn);
          if (!r.ok()) {
            st[t] = r.status();
            break;
          }
          auto h = toHost(*r);
          st[t] = h.ok() ? sameBytes(*ref, *h, m) : h.status();
        }
      });
    for (auto &th : threads)
      th.join();
    report("two-sessions-two-threads", st[0].ok() ? st[1] : st[0]);
  }

  if (timeRuns > 0) {
    SessionOptions quiet = opts;
    quiet.verbosity = 0;
    auto ts = Session::create(*model, quiet);
    if (!ts.ok())
      return std::fprintf(stderr, "error: %s\n", ts.status().message().c_str()), 1;
    Session &t = **ts;
    Status st;
    double hostMs = medianMs(
        timeRuns,
        [&] {
          auto r = t.run(in);
          return r.ok() ? Status::OK() : r.status();
        },
        &st);
    double onDevMs = medianMs(
        timeRuns,
        [&] {
          auto r = t.runOnDevice(devIn);
          return r.ok() ? Status::OK() : r.status();
        },
        &st);
    double intoMs = medianMs(timeRuns, [&] { return t.runInto(devIn, intoA); }, &st);
    auto kernels = t.timeKernels(timeRuns);
    report("timing-runs", st.ok() ? kernels.status().ok() ? Status::OK() : kernels.status() : st);
    if (st.ok() && kernels.ok()) {
      std::vector<double> k = *kernels;
      std::sort(k.begin(), k.end());
      std::printf("time: step median over %d runs: host in/out (run) %.3f ms | device in, "
                  "runOnDevice %.3f ms | device in, runInto device buffers %.3f ms | kernels "
                  "alone %.3f ms\n",
                  timeRuns, hostMs, onDevMs, intoMs, k[k.size() / 2]);
    }
  }
  std::printf("effc-device-api-check: %s\n", failures ? "FAIL" : "PASS");
  return failures ? 1 : 0;
}
