// effc-run --generate through the serving engine (effc/Engine.h):
// --stagger N (row i submitted at step i*N), --repeat R (each row R times at
// once), --draft D --speculate K (speculative decoding). Each row of the
// prompt is a request of --generate N tokens; with --test-data every request
// must reproduce its row's reference tokens.
#include "Commands.h"

#include <cstdio>

namespace effc::run {
namespace {

struct Submission {
  int64_t row = 0, copy = 0, step = 0; // submitted before engine step `step`
  RequestId id = 0;
  std::vector<int64_t> tokens;
  FinishReason finish = FinishReason::Running;
  std::string error;
  int64_t firstTokenStep = -1, finishStep = -1;
};

std::string join(const std::vector<int64_t> &tokens) {
  std::string s;
  for (int64_t t : tokens)
    s += (s.empty() ? "" : " ") + std::to_string(t);
  return s;
}

/// Prompt rows (and reference tokens with --test-data).
Status readPrompts(const Options &o, const Session &session,
                   std::vector<std::vector<int64_t>> &prompts,
                   std::vector<std::vector<int64_t>> &reference) {
  const TensorInfo &ids = session.model().inputs()[0];
  std::string file = o.testData.empty() ? "" : o.testData + "/input_0.pb";
  for (auto &[name, path] : o.inputs) {
    if (name != ids.name)
      return Status::error(session.model().path() + ": --generate: unknown input '" + name +
                           "' (model inputs: " + ids.name + ")");
    file = path;
  }
  if (file.empty())
    return Status::error("--generate needs --input " + ids.name +
                         "=FILE (the prompts, one per row) or --test-data DIR");
  auto prompt = readTensorFile(file);
  if (!prompt.ok())
    return prompt.status();
  const auto &shape = prompt->shape();
  if ((prompt->dtype() != DType::INT64 && prompt->dtype() != DType::INT32) || shape.size() != 2)
    return Status::error(file + ": expected int64 or int32 prompts [rows, length], got " +
                         dtypeName(prompt->dtype()) + " " + shapeToString(shape));
  for (int64_t r = 0; r < shape[0]; ++r) {
    prompts.emplace_back();
    for (int64_t t = 0; t < shape[1]; ++t)
      prompts.back().push_back(prompt->dtype() == DType::INT64
                                   ? prompt->data<int64_t>()[r * shape[1] + t]
                                   : int64_t(prompt->data<int32_t>()[r * shape[1] + t]));
  }
  if (o.testData.empty())
    return Status::OK();
  auto ref = readTensorProtoFile(o.testData + "/output_0.pb");
  if (!ref.ok())
    return ref.status();
  const auto &rs = ref->shape();
  if (ref->dtype() != DType::INT64 || rs.size() != 2 || rs[0] != shape[0] || rs[1] != o.generate)
    return Status::error(o.testData + "/output_0.pb: expected int64 reference tokens [" +
                         std::to_string(shape[0]) + ", " + std::to_string(o.generate) +
                         "] (--generate " + std::to_string(o.generate) + "), got " +
                         dtypeName(ref->dtype()) + " " + shapeToString(rs));
  for (int64_t r = 0; r < rs[0]; ++r)
    reference.emplace_back(ref->data<int64_t>() + r * rs[1],
                           ref->data<int64_t>() + (r + 1) * rs[1]);
  return Status::OK();
}

} // namespace

void printEngineRuns(const EngineStats &stats) {
  if (stats.runs > 0)
    std::printf("runs: %lld of the target, %lld token positions, %lld of them padding (%.1f%%)\n",
                (long long)stats.runs, (long long)stats.runPositions, (long long)stats.runPadded,
                stats.runPositions ? 100.0 * double(stats.runPadded) / double(stats.runPositions)
                                   : 0.0);
}

StatusOr<bool> runEngine(const Options &o, Session &target, Session *draft) {
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
  std::vector<std::vector<int64_t>> prompts, reference;
  EFFC_RETURN_IF_ERROR(readPrompts(o, target, prompts, reference));

  std::vector<Submission> subs;
  const int64_t copies = std::max<int64_t>(o.repeat, 1);
  for (int64_t r = 0; r < int64_t(prompts.size()); ++r)
    for (int64_t c = 0; c < copies; ++c)
      subs.push_back({r, c, o.stagger > 0 ? r * o.stagger : 0});

  size_t submitted = 0, finished = 0;
  int64_t maxRunning = 0;
  EngineStats peak; // the pool at the step with the most pages in use
  for (int64_t step = 0; finished < subs.size(); ++step) {
    for (Submission &s : subs)
      if (s.step == step) {
        Request req;
        req.prompt = prompts[size_t(s.row)];
        req.maxNewTokens = o.generate;
        req.temperature = o.generation.temperature;
        req.topK = o.generation.topK;
        req.topP = o.generation.topP;
        req.seed = o.generation.seed;
        req.stopTokenIds = o.generation.stopTokenIds;
        auto id = e.submit(std::move(req));
        if (!id.ok())
          return Status::error("row " + std::to_string(s.row) + ": " + id.status().message());
        s.id = *id;
        ++submitted;
      }
    if (!e.hasWork())
      continue; // nothing submitted yet: the next row's step comes
    Status st = e.step();
    EngineStats now = e.stats();
    maxRunning = std::max(maxRunning, now.slotsUsed);
    if (now.poolUsed > peak.poolUsed)
      peak = now;
    for (Submission &s : subs) {
      if (s.id == 0 || s.finish != FinishReason::Running)
        continue;
      auto u = e.poll(s.id);
      if (!u.ok())
        return u.status();
      if (!u->tokens.empty() && s.firstTokenStep < 0)
        s.firstTokenStep = step;
      s.tokens.insert(s.tokens.end(), u->tokens.begin(), u->tokens.end());
      if (u->finish != FinishReason::Running) {
        s.finish = u->finish;
        s.error = u->error;
        s.finishStep = step;
        ++finished;
      }
    }
    if (!st.ok())
      return st;
  }

  EngineStats stats = e.stats();
  std::printf("engine: %s mode, %lld slots, %zu requests, %lld steps, at most %lld running at "
              "once\n",
              e.mode(), (long long)e.slots(), subs.size(), (long long)stats.steps,
              (long long)maxRunning);
  const bool paged = stats.poolUnit == "pages";
  if (paged) {
    const int64_t rows = peak.poolUsed * stats.poolPageSize;
    std::printf("kv pool: %lld pages of %lld tokens; at most %lld in use (step with %lld of %lld "
                "token rows written, waste %.1f%%); %lld in use at the end (%lld cached for "
                "prefix reuse)\n",
                (long long)stats.poolCapacity, (long long)stats.poolPageSize,
                (long long)stats.poolPeakUsed, (long long)peak.poolRowsStored, (long long)rows,
                rows ? 100.0 * double(rows - peak.poolRowsStored) / double(rows) : 0.0,
                (long long)stats.poolUsed, (long long)stats.poolCached);
    std::printf("preempted: %lld\n", (long long)stats.preempted);
  }
  printEngineRuns(stats);
  for (const Submission &s : subs) {
    std::string name = "row " + std::to_string(s.row) +
                       (copies > 1 ? " copy " + std::to_string(s.copy) : std::string());
    std::printf("%s: submitted at step %lld, first token at step %lld, finished at step %lld (%s)",
                name.c_str(), (long long)s.step, (long long)s.firstTokenStep,
                (long long)s.finishStep, finishReasonName(s.finish));
    if (reference.empty())
      std::printf(": %s", join(s.tokens).c_str());
    std::printf("\n");
    if (s.finish == FinishReason::Error)
      return Status::error(name + ": " + s.error);
  }
  if (draft != nullptr)
    std::printf(
        "acceptance: %.4f (%lld of %lld draft tokens accepted, speculate %lld)\n",
        stats.draftProposed ? double(stats.draftAccepted) / double(stats.draftProposed) : 0.0,
        (long long)stats.draftAccepted, (long long)stats.draftProposed, (long long)o.speculate);
  if (paged)
    std::printf("shared pages: %lld (pages a request took over from another with the same "
                "prefix; copy-on-write copies: %lld)\n",
                (long long)stats.pagesSharedTotal, (long long)stats.pagesCopiedTotal);
  else if (o.repeat > 0)
    std::printf("shared pages: 0 (%s mode keeps each copy in its own batch row: no paged KV "
                "cache, so nothing to share)\n",
                e.mode());
  if (reference.empty())
    return true;

  int64_t match = 0, total = 0;
  std::string firstMismatch;
  for (const Submission &s : subs) {
    const auto &ref = reference[size_t(s.row)];
    for (size_t k = 0; k < ref.size(); ++k) {
      bool same = k < s.tokens.size() && s.tokens[k] == ref[k];
      match += same;
      ++total;
      if (!same && firstMismatch.empty())
        firstMismatch = " (first mismatch: row " + std::to_string(s.row) +
                        (copies > 1 ? " copy " + std::to_string(s.copy) : std::string()) +
                        " token " + std::to_string(k) + ": got " +
                        (k < s.tokens.size() ? std::to_string(s.tokens[k]) : std::string("none")) +
                        ", reference " + std::to_string(ref[k]) + ")";
    }
  }
  std::printf("tokens: %lld/%lld match%s\n", (long long)match, (long long)total,
              firstMismatch.c_str());
  return match == total;
}

} // namespace effc::run
