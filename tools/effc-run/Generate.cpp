// effc-run --generate: tokens from a prompt file, or the reference check of a
// generate_N directory (prompt, reference tokens, logits of every step).
#include "Commands.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>

namespace effc::run {
namespace {

std::string joinTokens(const std::vector<int64_t> &tokens) {
  std::string s;
  for (int64_t t : tokens)
    s += (s.empty() ? "" : " ") + std::to_string(t);
  return s;
}

StatusOr<bool> checkAgainstReference(const Options &o, Generator &g) {
  auto prompt = readTensorProtoFile(o.testData + "/input_0.pb");
  if (!prompt.ok())
    return prompt.status();
  auto refTokens = readTensorProtoFile(o.testData + "/output_0.pb");
  if (!refTokens.ok())
    return refTokens.status();
  auto refLogits = readTensorProtoFile(o.testData + "/output_1.pb");
  if (!refLogits.ok())
    return refLogits.status();
  const auto &ts = refTokens->shape();
  if (refTokens->dtype() != DType::INT64 || ts.size() != 2 || ts[0] != prompt->shape()[0])
    return Status::error(o.testData + "/output_0.pb: expected int64 reference tokens [" +
                         std::to_string(prompt->shape()[0]) + ", N], got " +
                         dtypeName(refTokens->dtype()) + " " + shapeToString(ts));
  if (ts[1] != o.generate)
    return Status::error(o.testData + "/output_0.pb holds " + std::to_string(ts[1]) +
                         " tokens per sequence; --generate asks for " + std::to_string(o.generate));
  GenerationOptions opts = o.generation;
  opts.returnLogits = true;
  std::vector<std::vector<int64_t>> reference(static_cast<size_t>(ts[0]));
  for (int64_t b = 0; b < ts[0]; ++b)
    reference[size_t(b)].assign(refTokens->data<int64_t>() + b * ts[1],
                                refTokens->data<int64_t>() + (b + 1) * ts[1]);
  if (o.teacherForcing)
    opts.forcedTokens = reference;
  auto result = g.generate(prompt->view(), opts);
  if (!result.ok())
    return result.status();

  int64_t match = 0, total = ts[0] * ts[1];
  std::string firstMismatch;
  for (size_t b = 0; b < reference.size(); ++b)
    for (size_t k = 0; k < reference[b].size(); ++k) {
      bool same = k < result->tokens[b].size() && result->tokens[b][k] == reference[b][k];
      match += same;
      if (!same && firstMismatch.empty())
        firstMismatch = " (first mismatch: sequence " + std::to_string(b) + " token " +
                        std::to_string(k) + ": got " +
                        (k < result->tokens[b].size() ? std::to_string(result->tokens[b][k])
                                                      : std::string("none")) +
                        ", reference " + std::to_string(reference[b][k]) + ")";
    }
  std::printf(
      "tokens: %lld/%lld match%s%s\n", (long long)match, (long long)total, firstMismatch.c_str(),
      o.teacherForcing && match != total ? " (teacher forcing: the logits line decides)" : "");
  Comparison c = compareTensors(result->logits, *refLogits, o.tol);
  if (!c.shapesMatch)
    std::fprintf(stderr, "effc-run: note: output logits: shape %s, reference %s\n",
                 shapeToString(result->logits.shape()).c_str(),
                 shapeToString(refLogits->shape()).c_str());
  std::printf("output logits: %s\n", describe(c, o.tol).c_str());
  return c.pass() && (o.teacherForcing || match == total);
}

/// --generate N --bench R: one warm-up generation (kernels loaded, graphs
/// captured, buffers allocated), then R timed ones. Each new token's time is
/// taken when the Generator has picked it for every sequence (its onToken),
/// i.e. with its logits on the host: the device work behind it has finished,
/// so host clock readings bracket device work without an extra sync. Token 0
/// ends the time to first token (prefill + first pick); tokens 1.. end one
/// decode step each. Prints the last run's tokens and one 'generate timing:'
/// line of key=value fields (bench/generate/run.sh parses it).
StatusOr<GenerationResult> timeGeneration(const Options &o, Generator &g, const Tensor &prompt) {
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
  };
  GenerationOptions opts = o.generation;
  std::vector<Clock::time_point> marks;
  opts.onToken = [&marks](int64_t) { marks.push_back(Clock::now()); };
  auto warm = g.generate(prompt, opts, o.promptLengths);
  if (!warm.ok())
    return warm.status();
  std::vector<double> ttft, steps, totals;
  StatusOr<GenerationResult> last = Status::error("no timed run");
  for (int r = 0; r < o.bench; ++r) {
    marks.clear();
    auto start = Clock::now();
    last = g.generate(prompt, opts, o.promptLengths);
    auto end = Clock::now();
    if (!last.ok())
      return last.status();
    if (marks.empty())
      return Status::error("internal error: --bench: no token was reported");
    ttft.push_back(ms(start, marks[0]));
    for (size_t k = 1; k < marks.size(); ++k)
      steps.push_back(ms(marks[k - 1], marks[k]));
    totals.push_back(ms(start, end));
  }
  auto median = [](std::vector<double> v) {
    if (v.empty())
      return 0.0;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  };
  auto quantile = [](std::vector<double> v, double q) {
    if (v.empty())
      return 0.0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5))];
  };
  double mean =
      steps.empty() ? 0.0 : std::accumulate(steps.begin(), steps.end(), 0.0) / double(steps.size());
  int64_t batch = prompt.shape[0], width = prompt.shape[1];
  int64_t generated = 0;
  for (const auto &t : last->tokens)
    generated += int64_t(t.size());
  for (size_t b = 0; b < last->tokens.size(); ++b)
    std::printf("sequence %zu: %s\n", b, joinTokens(last->tokens[b]).c_str());
  std::printf("generate timing: mode=%s batch=%lld prompt=%lld new_tokens=%lld runs=%d warmup=1 "
              "ttft_ms=%.3f step_ms_median=%.4f step_ms_mean=%.4f step_ms_min=%.4f "
              "step_ms_p90=%.4f decode_tok_s=%.1f total_ms=%.3f generated=%lld\n",
              g.mode(), (long long)batch, (long long)width, (long long)o.generate, o.bench,
              median(ttft), median(steps), mean, quantile(steps, 0), quantile(steps, 0.9),
              mean > 0 ? double(batch) * 1000.0 / mean : 0.0, median(totals), (long long)generated);
  return last;
}

/// -v: one more generation, untimed, whose decode step K (half-way) runs
/// without the CUDA graph, each kernel timed (Session::profileNextRun), and
/// its per-kernel table on stderr: where a decode step's time goes.
Status profileDecodeStep(const Options &o, Session &session, Generator &g, const Tensor &prompt) {
  if (o.generate < 2) {
    std::fprintf(stderr, "decode step profile: --generate %lld has no decode step\n",
                 (long long)o.generate);
    return Status::OK();
  }
  const int64_t step = o.generate / 2;
  RunProfile profile;
  GenerationOptions opts = o.generation;
  // Token t is on the host once onToken(t) runs; the next run makes token t + 1.
  opts.onToken = [&](int64_t t) {
    if (t == step - 1)
      session.profileNextRun(&profile);
  };
  auto result = g.generate(prompt, opts, o.promptLengths);
  session.profileNextRun(nullptr);
  if (!result.ok())
    return result.status();
  if (profile.kernels.empty()) {
    std::fprintf(stderr,
                 "decode step %lld: no per-kernel times (the step ran on device outputs, "
                 "which are not profiled)\n",
                 (long long)step);
    return Status::OK();
  }
  std::fprintf(stderr,
               "decode step %lld of %lld (batch %lld, %s mode), kernels timed one by one "
               "(no CUDA graph):\n",
               (long long)step, (long long)o.generate, (long long)prompt.shape[0], g.mode());
  printProfile(profile);
  return Status::OK();
}

} // namespace

StatusOr<bool> runGenerate(const Options &o, Session &session) {
  auto generator = Generator::create(session);
  if (!generator.ok())
    return generator.status();
  if (!o.testData.empty())
    return checkAgainstReference(o, **generator);
  const TensorInfo &ids = session.model().inputs()[0];
  std::string file;
  for (auto &[name, path] : o.inputs)
    if (name == ids.name)
      file = path;
    else
      return Status::error(session.model().path() + ": --generate: unknown input '" + name +
                           "' (model inputs: " + ids.name + ")");
  if (file.empty())
    return Status::error("--generate needs --input " + ids.name +
                         "=FILE (the prompts, one per row) or --test-data DIR");
  auto prompt = readTensorFile(file);
  if (!prompt.ok())
    return prompt.status();
  if (o.bench > 0) {
    auto timed = timeGeneration(o, **generator, prompt->view());
    if (!timed.ok())
      return timed.status();
  } else {
    auto result = (*generator)->generate(prompt->view(), o.generation, o.promptLengths);
    if (!result.ok())
      return result.status();
    for (size_t b = 0; b < result->tokens.size(); ++b)
      std::printf("sequence %zu: %s\n", b, joinTokens(result->tokens[b]).c_str());
  }
  if (o.verbose)
    EFFC_RETURN_IF_ERROR(profileDecodeStep(o, session, **generator, prompt->view()));
  return true;
}

} // namespace effc::run
