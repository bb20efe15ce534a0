// effc-model-bench: times a whole-model artifact the way effc-run --bench
// does (end-to-end runs with copies; on cuda the same with device inputs and
// outputs, no host copies; then kernel-only CUDA-graph replays) and
// checks the numerics of what it timed: every timed run's outputs must be
// bit-identical to the first run's (the kernels are deterministic: a
// difference is a race or state left over from an earlier replay), and the
// outputs of a run made after all the replays must match the reference
// (same metric as effc-run --test-data: max_rel_err, per-row error, top-1).
//
//   effc-model-bench MODEL.effc --input NAME=FILE... --reference NAME=FILE...
//                    [--rtol F] [--runs N] [--backend=cuda|host]
//
// Every output needs a --reference (.npy or TensorProto .pb, any float
// dtype). --rtol (default 1e-4) bounds max_rel_err; each row (last axis) may
// have 4 x rtol of its own max|ref|; a row's argmax must match the
// reference's where the reference's top-2 gap exceeds 2 x rtol of the row's
// scale (a smaller gap may flip within the tolerance). Prints the bench lines
// of effc-run --bench, one `replays:` line, one `output NAME: ...` line per
// output and `effc-model-bench: PASS|FAIL`; exit 1 on FAIL or any error.
#include "Compare.h"
#include "effc/Model.h"
#include "effc/Session.h"
#include "effc/TensorIO.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

using namespace effc;

namespace {

struct Options {
  std::string artifact, backend = "cuda";
  std::map<std::string, std::string> inputs, references; // NAME -> FILE
  double rtol = 1e-4;
  int runs = 20;
};

int fail(const std::string &message) {
  std::fprintf(stderr, "effc-model-bench: error: %s\n", message.c_str());
  return 1;
}

// NAME=FILE into `into`; false with `error` set when malformed or repeated.
bool addNamedFile(const std::string &option, const std::string &value,
                  std::map<std::string, std::string> &into, std::string &error) {
  size_t eq = value.find('=');
  if (eq == 0 || eq == std::string::npos || eq + 1 == value.size()) {
    error = option + ": expected NAME=FILE, got '" + value + "'";
    return false;
  }
  if (!into.emplace(value.substr(0, eq), value.substr(eq + 1)).second) {
    error = option + ": '" + value.substr(0, eq) + "' given twice";
    return false;
  }
  return true;
}

bool parseOptions(int argc, char **argv, Options &o, std::string &error) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string &out) {
      if (i + 1 >= argc) {
        error = a + ": missing value";
        return false;
      }
      out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--input" || a == "--reference") {
      if (!value(v) || !addNamedFile(a, v, a == "--input" ? o.inputs : o.references, error))
        return false;
    } else if (a == "--rtol" || a == "--runs") {
      if (!value(v))
        return false;
      char *end = nullptr;
      double x = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end || !(x > 0)) {
        error = a + ": expected a positive number, got '" + v + "'";
        return false;
      }
      if (a == "--rtol") {
        o.rtol = x;
      } else if (x != std::floor(x) || x > 1e6) {
        error = "--runs: expected a whole number up to 1e6, got '" + v + "'";
        return false;
      } else {
        o.runs = int(x);
      }
    } else if (a.rfind("--backend=", 0) == 0) {
      o.backend = a.substr(10);
    } else if (!a.empty() && a[0] == '-') {
      error = "unknown option '" + a + "'";
      return false;
    } else if (!o.artifact.empty()) {
      error = "more than one artifact: '" + o.artifact + "' and '" + a + "'";
      return false;
    } else {
      o.artifact = a;
    }
  }
  if (o.artifact.empty())
    error = "usage: effc-model-bench MODEL.effc --input NAME=FILE... --reference NAME=FILE...";
  return error.empty();
}

// Index of the first output whose bytes differ from `first`, or -1.
int firstDifference(const std::vector<HostTensor> &first, const std::vector<HostTensor> &got) {
  for (size_t k = 0; k < first.size(); ++k)
    if (first[k].byteSize() != got[k].byteSize() ||
        std::memcmp(first[k].data(), got[k].data(), first[k].byteSize()) != 0)
      return int(k);
  return -1;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  std::string error;
  if (!parseOptions(argc, argv, o, error))
    return fail(error);
  auto model = Model::load(o.artifact);
  if (!model.ok())
    return fail(model.status().message());
  const std::vector<TensorInfo> &ins = (*model)->inputs(), &outs = (*model)->outputs();

  std::vector<HostTensor> inputs;
  for (const TensorInfo &info : ins) {
    auto it = o.inputs.find(info.name);
    if (it == o.inputs.end())
      return fail(o.artifact + ": no --input for model input '" + info.name + "'");
    auto t = readTensorFile(it->second);
    if (!t.ok())
      return fail(t.status().message());
    inputs.push_back(std::move(*t));
    o.inputs.erase(it);
  }
  if (!o.inputs.empty())
    return fail("--input " + o.inputs.begin()->first + ": the model has no such input");
  std::vector<HostTensor> references;
  for (const TensorInfo &info : outs) {
    auto it = o.references.find(info.name);
    if (it == o.references.end())
      return fail(o.artifact + ": no --reference for model output '" + info.name + "'");
    auto t = readTensorFile(it->second);
    if (!t.ok())
      return fail(t.status().message());
    references.push_back(std::move(*t));
    o.references.erase(it);
  }
  if (!o.references.empty())
    return fail("--reference " + o.references.begin()->first + ": the model has no such output");
  std::vector<Tensor> views;
  for (const HostTensor &t : inputs)
    views.push_back(t.view());

  auto session = Session::create(*model, o.backend);
  if (!session.ok())
    return fail(session.status().message());
  auto first = (*session)->runPositional(views); // on cuda: captures the graph, then replays it
  if (!first.ok())
    return fail(first.status().message());

  // Warm-up and timed end-to-end runs, each checked against the first.
  int warmups = std::min(3, std::max(1, o.runs / 10)), runs = 1, differing = 0, firstDiffering = -1;
  std::vector<double> ms;
  for (int i = 0; i < warmups + o.runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = (*session)->runPositional(views);
    if (!r.ok())
      return fail(r.status().message());
    if (i >= warmups)
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    ++runs;
    if (firstDifference(*first, *r) >= 0 && differing++ == 0)
      firstDiffering = runs;
  }
  std::sort(ms.begin(), ms.end());
  std::printf(
      "bench: %d runs, median %.3f ms, min %.3f ms, p90 %.3f ms (end to end, with copies)\n",
      o.runs, median(ms), ms[0], ms[std::min(ms.size() - 1, size_t(0.9 * double(ms.size())))]);

  // On cuda, the same step without host copies: inputs uploaded once, every
  // output written into a preallocated device buffer (runInto; the kernels
  // write the logits there directly). The last such run's outputs must be
  // bit-identical to the first run's too. The buffers outlive the replays
  // below, which reuse this run's bindings.
  std::vector<DeviceTensor> devIn, devOut;
  if (o.backend == "cuda") {
    std::vector<Tensor> devViews;
    std::vector<MutableTensor> outViews;
    for (const HostTensor &t : inputs) {
      auto d = DeviceTensor::copyOf(t.view());
      if (!d.ok())
        return fail(d.status().message());
      devIn.push_back(*d);
      devViews.push_back(d->view());
    }
    for (const TensorInfo &info : outs) {
      auto d = DeviceTensor::allocate(info.dtype, info.shape);
      if (!d.ok())
        return fail(d.status().message());
      devOut.push_back(*d);
      outViews.push_back(d->mutableView());
    }
    std::vector<double> dms;
    for (int i = 0; i < warmups + o.runs; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      Status st = (*session)->runIntoPositional(devViews, outViews);
      if (!st.ok())
        return fail(st.message());
      if (i >= warmups)
        dms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
      ++runs;
    }
    std::vector<HostTensor> got;
    for (const DeviceTensor &d : devOut) {
      auto h = d.toHost();
      if (!h.ok())
        return fail(h.status().message());
      got.push_back(std::move(*h));
    }
    if (firstDifference(*first, got) >= 0 && differing++ == 0)
      firstDiffering = runs;
    std::sort(dms.begin(), dms.end());
    std::printf("bench: device-io median %.3f ms, min %.3f ms over %d runs (device inputs and "
                "outputs, runInto: no host copies)\n",
                median(dms), dms[0], o.runs);
  }

  // Kernel-only replays (the numbers benchmarks report), then one more run:
  // its outputs are what the replays left behind on the same inputs.
  int replays = 0;
  auto device = (*session)->timeKernels(o.runs);
  if (device.ok()) {
    replays = o.runs;
    std::printf("bench: device median %.3f ms, min %.3f ms (kernels only)\n", median(*device),
                *std::min_element(device->begin(), device->end()));
  } else if (o.backend == "cuda") {
    return fail(device.status().message());
  }
  auto last = (*session)->runPositional(views);
  if (!last.ok())
    return fail(last.status().message());
  ++runs;
  if (firstDifference(*first, *last) >= 0 && differing++ == 0)
    firstDiffering = runs;

  bool pass = differing == 0;
  std::printf(
      "replays: %d runs and %d kernel-only replays; outputs bit-identical to the first run's: %s\n",
      runs, replays,
      differing == 0 ? "yes"
                     : ("NO (" + std::to_string(differing) + " runs differ, first: run " +
                        std::to_string(firstDiffering) + ")")
                           .c_str());
  run::Tolerances tol;
  tol.rtol = o.rtol;
  tol.rowRtol = 4 * o.rtol;
  tol.top1Margin = 2 * o.rtol;
  for (size_t k = 0; k < outs.size(); ++k) {
    run::Comparison c = run::compareTensors((*last)[k], references[k], tol);
    pass = pass && c.pass();
    std::printf("output %s: %s (after the timed runs and replays)\n", outs[k].name.c_str(),
                run::describe(c, tol).c_str());
  }
  std::printf("effc-model-bench: %s\n", pass ? "PASS" : "FAIL");
  return pass ? 0 : 1;
}
