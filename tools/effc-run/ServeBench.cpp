// effc-run --serve-bench FILE: replays a request trace through the serving
// engine in real time and reports throughput and latency percentiles, the
// numbers serving benchmarks (vLLM's benchmark_serving) report: time to
// first token from the request's arrival, inter-token latency (each gap
// between a request's updates, shared by the tokens it brought), end-to-end
// latency.
#include "Commands.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace effc::run {
namespace {

using Clock = std::chrono::steady_clock;

struct TraceRequest {
  double arrival = 0; // seconds from the start
  int64_t promptLength = 0, outputLength = 0;
  int line = 0;
  // Measured:
  RequestId id = 0;
  bool submitted = false, done = false;
  double firstToken = -1, last = -1, finished = -1;
  int64_t tokens = 0;
  std::string error;
};

StatusOr<std::vector<TraceRequest>> readTrace(const std::string &path) {
  std::ifstream in(path);
  if (!in)
    return Status::error(path + ": cannot open the request trace");
  std::vector<TraceRequest> trace;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    line = line.substr(0, line.find('#'));
    std::istringstream fields(line);
    TraceRequest r;
    std::string extra;
    if (!(fields >> r.arrival)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos)
        continue; // blank or comment
      return Status::error(path + ":" + std::to_string(n) +
                           ": expected ARRIVAL_S PROMPT_LEN OUTPUT_LEN, got '" + line + "'");
    }
    if (!(fields >> r.promptLength >> r.outputLength) || (fields >> extra) ||
        !std::isfinite(r.arrival) || r.arrival < 0 || r.promptLength < 1 || r.outputLength < 1)
      return Status::error(
          path + ":" + std::to_string(n) +
          ": expected ARRIVAL_S (>= 0) PROMPT_LEN (>= 1) OUTPUT_LEN (>= 1), got '" + line + "'");
    r.line = n;
    trace.push_back(r);
  }
  if (trace.empty())
    return Status::error(path + ": no requests");
  std::stable_sort(trace.begin(), trace.end(), [](const TraceRequest &a, const TraceRequest &b) {
    return a.arrival < b.arrival;
  });
  return trace;
}

/// The p-th percentile (0..100) by linear interpolation, as numpy's default.
double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  double at = p / 100 * double(v.size() - 1);
  size_t lo = size_t(std::floor(at)), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (at - double(lo));
}

void printLatency(const char *name, const std::vector<double> &seconds) {
  double mean = 0;
  for (double s : seconds)
    mean += s;
  mean = seconds.empty() ? 0 : mean / double(seconds.size());
  std::printf("%s ms: mean %.3f p50 %.3f p90 %.3f p99 %.3f max %.3f (%zu samples)\n", name,
              mean * 1e3, percentile(seconds, 50) * 1e3, percentile(seconds, 90) * 1e3,
              percentile(seconds, 99) * 1e3, percentile(seconds, 100) * 1e3, seconds.size());
}

} // namespace

StatusOr<bool> runServeBench(const Options &o, Session &target, Session *draft) {
  auto trace = readTrace(o.serveBench);
  if (!trace.ok())
    return trace.status();
  EngineOptions eo;
  eo.draft = draft;
  eo.speculate = o.speculate;
  eo.kvPageSize = o.kvPageSize;
  eo.kvPoolPages = o.kvPoolPages;
  eo.sharePrefixes = o.prefixSharing;
  eo.maxSequences = o.maxSequences;
  auto engine = Engine::create(target, eo);
  if (!engine.ok())
    return engine.status();
  Engine &e = **engine;
  for (const TraceRequest &r : *trace)
    if (r.promptLength + r.outputLength > e.maxLength())
      return Status::error(o.serveBench + ":" + std::to_string(r.line) + ": prompt " +
                           std::to_string(r.promptLength) + " + output " +
                           std::to_string(r.outputLength) + " tokens exceed the model's " +
                           std::to_string(e.maxLength()) + " positions");

  std::mt19937_64 ids(o.generation.seed);
  std::vector<double> itl;
  const Clock::time_point start = Clock::now();
  auto now = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  size_t next = 0, done = 0;
  int64_t maxRunning = 0, rowsAllocated = 0, rowsWritten = 0;
  EngineStats peak; // the step with the most pool units in use
  std::vector<TraceRequest> &reqs = *trace;
  while (done < reqs.size()) {
    for (; next < reqs.size() && reqs[next].arrival <= now(); ++next) {
      TraceRequest &r = reqs[next];
      Request req;
      for (int64_t t = 0; t < r.promptLength; ++t)
        req.prompt.push_back(int64_t(ids() % uint64_t(e.vocabSize())));
      req.maxNewTokens = r.outputLength;
      req.temperature = o.generation.temperature;
      req.topK = o.generation.topK;
      req.topP = o.generation.topP;
      req.seed = o.generation.seed + uint64_t(next);
      req.onUpdate = [&r, &itl, &now, &done](const RequestUpdate &u) {
        double t = now();
        if (!u.tokens.empty()) {
          if (r.firstToken < 0) {
            r.firstToken = t;
            for (size_t k = 1; k < u.tokens.size(); ++k)
              itl.push_back(0); // tokens that came with the first one (speculative)
          } else {
            for (size_t k = 0; k < u.tokens.size(); ++k)
              itl.push_back((t - r.last) / double(u.tokens.size()));
          }
          r.last = t;
          r.tokens += int64_t(u.tokens.size());
        }
        if (u.finish != FinishReason::Running) {
          r.finished = t;
          r.done = true;
          r.error = u.error;
          ++done;
        }
      };
      auto id = e.submit(std::move(req));
      if (!id.ok())
        return Status::error(o.serveBench + ":" + std::to_string(r.line) + ": " +
                             id.status().message());
      r.id = *id;
      r.submitted = true;
    }
    if (e.hasWork()) {
      Status s = e.step();
      if (!s.ok())
        return s;
      EngineStats now = e.stats();
      maxRunning = std::max(maxRunning, now.slotsUsed);
      if (now.poolUsed > peak.poolUsed)
        peak = now;
      // KV pool waste: token rows of the used pages that hold nothing yet
      // (each sequence's last, partly written page), summed over the steps.
      rowsAllocated += now.poolUsed * now.poolPageSize;
      rowsWritten += now.poolRowsStored;
    } else if (next < reqs.size()) {
      std::this_thread::sleep_for(
          std::chrono::duration<double>(std::max(0.0, std::min(reqs[next].arrival - now(), 0.01))));
    }
  }
  double makespan = now();

  std::vector<double> ttft, e2e;
  int64_t tokens = 0;
  for (const TraceRequest &r : reqs) {
    if (!r.error.empty())
      return Status::error(o.serveBench + ":" + std::to_string(r.line) + ": " + r.error);
    ttft.push_back(r.firstToken - r.arrival);
    e2e.push_back(r.finished - r.arrival);
    tokens += r.tokens;
  }
  EngineStats stats = e.stats();
  std::printf("serve-bench: %zu requests, %lld output tokens in %.3f s (%s mode, %lld slots, "
              "%lld steps)\n",
              reqs.size(), (long long)tokens, makespan, e.mode(), (long long)e.slots(),
              (long long)stats.steps);
  std::printf("throughput: %.2f output tokens/s, %.3f requests/s\n", double(tokens) / makespan,
              double(reqs.size()) / makespan);
  printLatency("time to first token", ttft);
  printLatency("inter-token latency", itl);
  printLatency("end-to-end latency", e2e);
  std::printf("running: at most %lld requests at once\n", (long long)maxRunning);
  printEngineRuns(stats);
  if (stats.poolUnit == "pages") {
    const int64_t peakRows = peak.poolUsed * stats.poolPageSize;
    std::printf(
        "kv pool: %lld pages of %lld tokens; at most %lld in use; waste %.2f%% at the "
        "peak (%lld of %lld token rows written), %.2f%% over all steps; preempted %lld\n",
        (long long)stats.poolCapacity, (long long)stats.poolPageSize, (long long)stats.poolPeakUsed,
        peakRows ? 100.0 * double(peakRows - peak.poolRowsStored) / double(peakRows) : 0.0,
        (long long)peak.poolRowsStored, (long long)peakRows,
        rowsAllocated ? 100.0 * double(rowsAllocated - rowsWritten) / double(rowsAllocated) : 0.0,
        (long long)stats.preempted);
  }
  if (draft != nullptr)
    std::printf(
        "acceptance: %.4f (%lld of %lld draft tokens accepted, speculate %lld)\n",
        stats.draftProposed ? double(stats.draftAccepted) / double(stats.draftProposed) : 0.0,
        (long long)stats.draftAccepted, (long long)stats.draftProposed, (long long)o.speculate);
  return true;
}

} // namespace effc::run
