// effc-serve: an OpenAI-compatible completions server over effc::Engine
// (continuous batching, optional speculative decoding), on cpp-httplib.
//
//   effc-serve MODEL.effc [--draft D.effc [--speculate K]] [--port N] ...
//
// One thread steps the engine; HTTP worker threads submit requests and wait
// for their tokens (whole responses, or server-sent events with stream).
// SIGTERM/SIGINT: stop accepting, let running requests finish for up to
// --shutdown-grace seconds, cancel the rest, exit 0.
#include "Api.h"
#include "effc/effc.h"

#include <httplib.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <pthread.h>
#include <random>
#include <thread>

using namespace effc;
using namespace effc::serve;

namespace {

using Clock = std::chrono::steady_clock;

const char *kHelp =
    "USAGE: effc-serve MODEL.effc [options]\n"
    "\n"
    "Serves a causal LM artifact (compiled at a window, e.g. effc --dim batch=8 --dim seq=512)\n"
    "through an OpenAI-compatible HTTP API: POST /v1/completions (prompt as token ids,\n"
    "max_tokens, temperature, top_p, top_k, seed, stop ids, stream), GET /v1/models, /health,\n"
    "/metrics (Prometheus text). Each choice has token_ids and text (the ids, space-separated).\n"
    "Requests share the model through continuous batching: the compiled batch's rows are the\n"
    "slots; more requests wait in a queue. A decoder exported with past (compiled with symbolic\n"
    "seq/past/total) keeps its KV cache in a paged pool: prompts with a common prefix share its\n"
    "pages, and a full pool preempts the latest request (recomputed later).\n"
    "\n"
    "OPTIONS:\n"
    "  --port N                port to listen on (default 8000; 0: any free port, printed)\n"
    "  --host ADDR             address to bind (default 127.0.0.1)\n"
    "  --backend=cuda|host     (default cuda, or $EFFC_BACKEND)\n"
    "  --draft FILE            speculative decoding with this draft model (same vocabulary)\n"
    "  --speculate K           draft tokens per step with --draft (default 4)\n"
    "  --kv-page-size N        KV-cache mode: tokens per page of the paged KV cache (default 16)\n"
    "  --kv-pool-pages N       KV-cache mode: pages in the pool (default: every slot at its\n"
    "                          longest); fewer make the engine preempt\n"
    "  --no-prefix-sharing     KV-cache mode: prompts with a common prefix do not share pages\n"
    "  --max-seqs N            requests running at once (default: the compiled batch); in\n"
    "                          KV-cache mode more than the compiled batch run each step in\n"
    "                          several runs of at most that batch\n"
    "  --model-name NAME       the model name in responses (default: MODEL's file name)\n"
    "  --max-queued N          requests that may wait for a slot; more get 503 (default 1024)\n"
    "  --threads N             HTTP worker threads, i.e. open connections served at once\n"
    "                          (default 16)\n"
    "  --shutdown-grace S      on SIGTERM, seconds running requests may take to finish before\n"
    "                          they are cancelled (default 10)\n"
    "  -v, --verbose           log every request on stderr\n"
    "  -h, --help              print this help\n";

struct ServeOptions {
  std::string artifact, draft, modelName, host = "127.0.0.1";
  SessionOptions session = SessionOptions::fromEnvironment();
  int port = 8000;
  int64_t speculate = 0, maxQueued = 1024, threads = 16, kvPageSize = 16, kvPoolPages = 0;
  int64_t maxSequences = 0;
  bool prefixSharing = true;
  double shutdownGrace = 10;
  bool verbose = false, help = false;
};

StatusOr<ServeOptions> parseOptions(int argc, char **argv) {
  ServeOptions o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i], name = a, value;
    bool hasValue = false;
    if (size_t eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      hasValue = true;
    }
    auto need = [&]() -> StatusOr<std::string> {
      if (hasValue)
        return value;
      if (i + 1 >= argc)
        return Status::error("option " + name + " needs a value");
      return std::string(argv[++i]);
    };
    auto integer = [&](int64_t lo, int64_t hi, int64_t &out) -> Status {
      auto v = need();
      if (!v.ok())
        return v.status();
      char *end = nullptr;
      long long x = std::strtoll(v->c_str(), &end, 10);
      if (v->empty() || *end || x < lo || x > hi)
        return Status::error("option " + name + ": expected an integer in [" + std::to_string(lo) +
                             ", " + std::to_string(hi) + "], got '" + *v + "'");
      out = x;
      return Status::OK();
    };
    if (name == "-h" || name == "--help") {
      o.help = true;
    } else if (name == "-v" || name == "--verbose") {
      o.verbose = true;
    } else if (name == "--port") {
      int64_t p;
      EFFC_RETURN_IF_ERROR(integer(0, 65535, p));
      o.port = int(p);
    } else if (name == "--speculate") {
      EFFC_RETURN_IF_ERROR(integer(1, 64, o.speculate));
    } else if (name == "--kv-page-size") {
      EFFC_RETURN_IF_ERROR(integer(1, 65536, o.kvPageSize));
    } else if (name == "--kv-pool-pages") {
      EFFC_RETURN_IF_ERROR(integer(0, 1 << 30, o.kvPoolPages));
    } else if (name == "--no-prefix-sharing") {
      o.prefixSharing = false;
    } else if (name == "--max-seqs") {
      EFFC_RETURN_IF_ERROR(integer(1, 1 << 20, o.maxSequences));
    } else if (name == "--max-queued") {
      EFFC_RETURN_IF_ERROR(integer(0, 1 << 20, o.maxQueued));
    } else if (name == "--threads") {
      EFFC_RETURN_IF_ERROR(integer(1, 1024, o.threads));
    } else if (name == "--shutdown-grace") {
      int64_t s;
      EFFC_RETURN_IF_ERROR(integer(0, 3600, s));
      o.shutdownGrace = double(s);
    } else if (name == "--host" || name == "--draft" || name == "--model-name" ||
               name == "--backend") {
      auto v = need();
      if (!v.ok())
        return v.status();
      (name == "--host"         ? o.host
       : name == "--draft"      ? o.draft
       : name == "--model-name" ? o.modelName
                                : o.session.backend) = *v;
    } else if (!a.empty() && a[0] == '-') {
      return Status::error("unknown option '" + a + "' (see --help)");
    } else if (o.artifact.empty()) {
      o.artifact = a;
    } else {
      return Status::error("more than one model given: '" + o.artifact + "' and '" + a + "'");
    }
  }
  if (o.help)
    return o;
  if (o.artifact.empty())
    return Status::error("no model given (usage: effc-serve MODEL.effc [options]; see --help)");
  if (o.speculate > 0 && o.draft.empty())
    return Status::error("option --speculate needs --draft FILE");
  if (!o.draft.empty() && o.speculate == 0)
    o.speculate = 4;
  if (o.modelName.empty()) {
    o.modelName = o.artifact.substr(o.artifact.find_last_of('/') + 1);
    if (size_t dot = o.modelName.rfind(".effc"); dot != std::string::npos && dot > 0)
      o.modelName = o.modelName.substr(0, dot);
  }
  return o;
}

/// The updates of one HTTP request's choices, filled by the engine thread.
struct Call {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<size_t, RequestUpdate>> events;
  std::vector<RequestId> ids;
  size_t unfinished = 0;
};

class Server {
public:
  Server(const ServeOptions &o, Engine &engine) : o_(o), engine_(engine) {
    limits_ = {engine.vocabSize(), engine.maxLength()};
    created_ = int64_t(std::time(nullptr));
    seeds_.seed(std::random_device{}());
  }

  void install(httplib::Server &http) {
    http.Post("/v1/completions", [this](const httplib::Request &req, httplib::Response &res) {
      completions(req, res);
    });
    http.Get("/v1/models", [this](const httplib::Request &, httplib::Response &res) {
      res.set_content(modelsJson(o_.modelName, created_, engine_.maxLength()), "application/json");
    });
    http.Get("/health", [this](const httplib::Request &, httplib::Response &res) {
      if (stopping_) {
        res.status = 503;
        res.set_content("{\"status\":\"shutting down\"}", "application/json");
      } else {
        res.set_content("{\"status\":\"ok\"}", "application/json");
      }
    });
    http.Get("/metrics", [this](const httplib::Request &, httplib::Response &res) {
      res.set_content(metrics(), "text/plain; version=0.0.4");
    });
    // Every 4xx/5xx gets a JSON body (httplib's own, e.g. 404 or 413, have none).
    http.set_error_handler([this](const httplib::Request &req, httplib::Response &res) {
      if (res.status >= 400 && res.status < 500)
        ++clientErrors_;
      if (!res.body.empty())
        return;
      ApiError e{res.status, "", "", "invalid_request_error"};
      e.message = res.status == 404 ? "no such endpoint: " + req.method + " " + req.path +
                                          " (POST /v1/completions, GET /v1/models, /health, "
                                          "/metrics)"
                  : res.status == 413
                      ? "the request body is too large (at most 1 MiB)"
                      : "the request failed with HTTP status " + std::to_string(res.status);
      res.set_content(errorJson(e), "application/json");
    });
    http.set_payload_max_length(1 << 20);
    http.set_logger([this](const httplib::Request &req, const httplib::Response &res) {
      ++httpRequests_;
      if (o_.verbose)
        std::fprintf(stderr, "effc-serve: %s %s -> %d\n", req.method.c_str(), req.path.c_str(),
                     res.status);
    });
  }

  /// The engine thread: steps while there is work, until done().
  void runEngine() {
    while (!done_) {
      if (!engine_.waitForWork(std::chrono::milliseconds(100)))
        continue;
      Status s = engine_.step();
      if (!s.ok())
        std::fprintf(stderr, "effc-serve: error: the model failed a step: %s\n",
                     s.message().c_str());
      std::lock_guard<std::mutex> lock(samplesMu_);
      samples_.push_back({Clock::now(), engine_.stats().generatedTokens});
      while (samples_.size() > 2 && Clock::now() - samples_.front().first > kRateWindow)
        samples_.pop_front();
    }
  }

  void beginShutdown() { stopping_ = true; }
  void done() {
    done_ = true;
    engine_.wake();
  }

private:
  static constexpr std::chrono::seconds kRateWindow{10};

  void fail(httplib::Response &res, const ApiError &e) {
    res.status = e.status;
    res.set_content(errorJson(e), "application/json");
  }

  void completions(const httplib::Request &req, httplib::Response &res) {
    if (stopping_)
      return fail(res, {503, "the server is shutting down", "", "server_error"});
    CompletionParams p;
    ApiError error;
    if (!parseCompletion(req.body, limits_, p, error))
      return fail(res, error);
    EngineStats stats = engine_.stats();
    if (stats.queued + int64_t(p.prompts.size()) > o_.maxQueued)
      return fail(res, {503,
                        "too many requests waiting (" + std::to_string(stats.queued) + " for " +
                            std::to_string(stats.slots) + " slots); try again later",
                        "", "server_error"});
    auto call = std::make_shared<Call>();
    uint64_t seed = 0;
    {
      std::lock_guard<std::mutex> lock(seedMu_);
      seed = p.seedGiven ? p.seed : seeds_();
    }
    for (size_t k = 0; k < p.prompts.size(); ++k) {
      Request r;
      r.prompt = p.prompts[k];
      r.maxNewTokens = p.maxTokens;
      r.temperature = p.temperature;
      r.topK = p.topK;
      r.topP = p.topP;
      r.seed = seed + k; // choices of one request draw different streams
      r.stopTokenIds = p.stop;
      r.onUpdate = [call, k](const RequestUpdate &u) {
        std::lock_guard<std::mutex> lock(call->mu);
        call->events.push_back({k, u});
        call->cv.notify_all();
      };
      auto id = engine_.submit(std::move(r));
      if (!id.ok()) {
        for (RequestId submitted : call->ids)
          engine_.cancel(submitted);
        return fail(res, {400, id.status().message(), "prompt"});
      }
      std::lock_guard<std::mutex> lock(call->mu);
      call->ids.push_back(*id);
      ++call->unfinished;
    }
    ++completions_;
    std::string id = "cmpl-" + std::to_string(nextId_++);
    int64_t created = int64_t(std::time(nullptr)), promptTokens = 0;
    for (const auto &prompt : p.prompts)
      promptTokens += int64_t(prompt.size());
    if (p.stream)
      return stream(res, call, id, created);

    std::vector<ChoiceJson> choices(p.prompts.size());
    int64_t completionTokens = 0;
    std::string failure;
    std::unique_lock<std::mutex> lock(call->mu);
    while (call->unfinished > 0 || !call->events.empty()) {
      call->cv.wait(lock, [&] { return !call->events.empty(); });
      auto [k, u] = std::move(call->events.front());
      call->events.pop_front();
      choices[k].index = int64_t(k);
      choices[k].tokenIds.insert(choices[k].tokenIds.end(), u.tokens.begin(), u.tokens.end());
      completionTokens += int64_t(u.tokens.size());
      if (u.finish != FinishReason::Running) {
        --call->unfinished;
        choices[k].finishReason = finishReasonName(u.finish);
        if (u.finish == FinishReason::Error)
          failure = u.error;
        else if (u.finish == FinishReason::Cancelled && failure.empty())
          failure = "the request was cancelled (the server is shutting down)";
      }
    }
    if (!failure.empty())
      return fail(res, {failureStatus(failure), failure, "", "server_error"});
    res.set_content(
        completionJson(id, created, o_.modelName, choices, promptTokens, completionTokens),
        "application/json");
  }

  static int failureStatus(const std::string &failure) {
    return failure.rfind("the request was cancelled", 0) == 0 ? 503 : 500;
  }

  void stream(httplib::Response &res, std::shared_ptr<Call> call, const std::string &id,
              int64_t created) {
    res.set_header("Cache-Control", "no-cache");
    auto started = std::make_shared<std::vector<bool>>(call->ids.size(), false);
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, call, id, created, started](size_t, httplib::DataSink &sink) {
          std::unique_lock<std::mutex> lock(call->mu);
          if (call->unfinished == 0 && call->events.empty()) {
            std::string last = "data: [DONE]\n\n";
            bool ok = sink.write(last.data(), last.size());
            sink.done();
            return ok;
          }
          call->cv.wait(lock, [&] { return !call->events.empty(); });
          std::string out;
          while (!call->events.empty()) {
            auto [k, u] = std::move(call->events.front());
            call->events.pop_front();
            if (u.finish != FinishReason::Running)
              --call->unfinished;
            if (u.finish == FinishReason::Error || u.finish == FinishReason::Cancelled) {
              ApiError e{u.finish == FinishReason::Error ? 500 : 503,
                         u.finish == FinishReason::Error
                             ? u.error
                             : "the request was cancelled (the server is shutting down)",
                         "", "server_error"};
              out += "data: " + errorJson(e) + "\n\n";
              continue;
            }
            ChoiceJson c{int64_t(k), u.tokens,
                         u.finish == FinishReason::Running ? "" : finishReasonName(u.finish),
                         (*started)[k]};
            (*started)[k] = (*started)[k] || !u.tokens.empty();
            out += "data: " + completionJson(id, created, o_.modelName, {c}, -1, 0) + "\n\n";
          }
          lock.unlock();
          return sink.write(out.data(), out.size());
        },
        [this, call](bool success) {
          if (success)
            return;
          // The client went away: its requests stop taking slots.
          std::lock_guard<std::mutex> lock(call->mu);
          for (RequestId r : call->ids)
            engine_.cancel(r);
        });
  }

  std::string metrics() {
    EngineStats s = engine_.stats();
    double rate = 0;
    {
      std::lock_guard<std::mutex> lock(samplesMu_);
      if (samples_.size() >= 2) {
        double dt = std::chrono::duration<double>(Clock::now() - samples_.front().first).count();
        if (dt > 0)
          rate = double(s.generatedTokens - samples_.front().second) / dt;
      }
    }
    std::string out;
    auto metric = [&](const char *name, const char *type, const char *help, double value,
                      const std::string &labels = "") {
      char line[512];
      std::snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s%s %.17g\n", name, help, name,
                    type, name, labels.c_str(), value);
      out += line;
    };
    metric("effc_http_requests_total", "counter", "HTTP requests answered.", double(httpRequests_));
    metric("effc_http_client_errors_total", "counter", "HTTP requests answered with a 4xx.",
           double(clientErrors_));
    metric("effc_completion_requests_total", "counter", "Completion requests accepted.",
           double(completions_));
    metric("effc_requests_submitted_total", "counter", "Sequences submitted to the engine.",
           double(s.submitted));
    metric("effc_requests_finished_total", "counter", "Sequences finished.", double(s.finished));
    metric("effc_slots", "gauge", "Sequences that can run at once (--max-seqs).", double(s.slots));
    metric("effc_requests_running", "gauge", "Sequences in a slot.", double(s.slotsUsed));
    metric("effc_requests_waiting", "gauge", "Sequences waiting for a slot.", double(s.queued));
    metric("effc_generated_tokens_total", "counter", "Tokens generated.",
           double(s.generatedTokens));
    metric("effc_generated_tokens_per_second", "gauge",
           "Tokens generated per second over the last 10 s of steps.", rate);
    metric("effc_engine_steps_total", "counter", "Batched engine steps.", double(s.steps));
    std::string unit = "{unit=\"" + s.poolUnit + "\"}";
    metric("effc_pool_capacity", "gauge",
           "Units of the sequence state pool (recompute mode: slots = batch rows).",
           double(s.poolCapacity), unit);
    metric("effc_pool_used", "gauge", "Units of the pool holding a sequence.", double(s.poolUsed),
           unit);
    metric("effc_pool_tokens_capacity", "gauge", "Tokens the pool can hold.",
           double(s.poolTokensCapacity));
    metric("effc_pool_tokens_used", "gauge", "Tokens the live sequences hold.",
           double(s.poolTokensHeld));
    if (s.poolPageSize > 0) { // paged KV cache
      metric("effc_kv_page_size", "gauge", "Tokens per page of the paged KV cache.",
             double(s.poolPageSize));
      metric("effc_kv_pages_shared", "gauge", "Pages more than one sequence holds now.",
             double(s.poolShared));
      metric("effc_kv_pages_peak", "gauge", "Most pages in use at once.", double(s.poolPeakUsed));
      metric("effc_kv_pages_cached", "gauge",
             "Used pages only the prefix cache holds (finished prompts; evicted on demand).",
             double(s.poolCached));
      metric("effc_kv_waste_tokens", "gauge",
             "Token rows of the used pages that hold nothing (the last pages' free rows).",
             double(s.poolUsed * s.poolPageSize - s.poolRowsStored));
      metric("effc_kv_prefix_shared_pages_total", "counter",
             "Page references a sequence took over from another with the same prefix.",
             double(s.pagesSharedTotal));
      metric("effc_kv_copy_on_write_total", "counter", "Shared pages copied before a write.",
             double(s.pagesCopiedTotal));
      metric("effc_preempted_total", "counter",
             "Sequences preempted (pages freed, recomputed later) because the pool was full.",
             double(s.preempted));
      metric("effc_model_runs_total", "counter", "Runs of the target model.", double(s.runs));
      metric("effc_run_token_positions_total", "counter",
             "Token positions the target's runs computed for new tokens.", double(s.runPositions));
      metric("effc_run_padded_positions_total", "counter",
             "Of those, padding (no token: rows padded to a run's longest feed; 0 with effc "
             "--packed-tokens).",
             double(s.runPadded));
    }
    metric("effc_speculative_draft_tokens_total", "counter", "Draft tokens proposed.",
           double(s.draftProposed));
    metric("effc_speculative_accepted_tokens_total", "counter", "Draft tokens accepted.",
           double(s.draftAccepted));
    return out;
  }

  const ServeOptions &o_;
  Engine &engine_;
  ModelLimits limits_;
  int64_t created_ = 0;
  std::atomic<bool> stopping_{false}, done_{false};
  std::atomic<int64_t> nextId_{1}, completions_{0}, httpRequests_{0}, clientErrors_{0};
  std::mutex seedMu_;
  std::mt19937_64 seeds_;
  std::mutex samplesMu_;
  std::deque<std::pair<Clock::time_point, int64_t>> samples_;
};

int fail(const Status &s) {
  std::fprintf(stderr, "effc-serve: error: %s\n", s.message().c_str());
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  auto parsed = parseOptions(argc, argv);
  if (!parsed.ok())
    return fail(parsed.status());
  const ServeOptions &o = *parsed;
  if (o.help) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  // SIGTERM/SIGINT go to the thread that waits for them (blocked before any
  // other thread starts, so they all inherit the mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN); // a client that goes away is a failed write, not an exit

  auto model = Model::load(o.artifact);
  if (!model.ok())
    return fail(model.status());
  auto session = Session::create(*model, o.session);
  if (!session.ok())
    return fail(session.status());
  std::unique_ptr<Session> draft;
  if (!o.draft.empty()) {
    auto m = Model::load(o.draft);
    if (!m.ok())
      return fail(m.status());
    auto s = Session::create(*m, o.session);
    if (!s.ok())
      return fail(s.status());
    draft = std::move(*s);
  }
  EngineOptions eo;
  eo.draft = draft.get();
  eo.speculate = o.speculate;
  eo.maxQueued = o.maxQueued;
  eo.kvPageSize = o.kvPageSize;
  eo.kvPoolPages = o.kvPoolPages;
  eo.sharePrefixes = o.prefixSharing;
  eo.maxSequences = o.maxSequences;
  auto engine = Engine::create(**session, eo);
  if (!engine.ok())
    return fail(engine.status());

  Server server(o, **engine);
  httplib::Server http;
  int64_t threads = o.threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  server.install(http);
  int port = o.port;
  if (port == 0 ? (port = http.bind_to_any_port(o.host)) < 0 : !http.bind_to_port(o.host, port))
    return fail(Status::error("cannot listen on " + o.host + ":" + std::to_string(o.port)));
  std::printf(
      "effc-serve: listening on http://%s:%d (model %s: %s mode, %lld slots of %lld "
      "tokens%s)\n",
      o.host.c_str(), port, o.modelName.c_str(), (*engine)->mode(), (long long)(*engine)->slots(),
      (long long)(*engine)->maxLength(),
      draft ? (", speculative decoding with " + o.draft + ", K=" + std::to_string(o.speculate))
                  .c_str()
            : "");
  std::fflush(stdout);

  std::thread engineThread([&] { server.runEngine(); });
  std::atomic<bool> exiting{false};
  std::thread signalThread([&] {
    timespec poll{0, 200 * 1000 * 1000};
    while (!exiting) {
      int sig = sigtimedwait(&signals, nullptr, &poll);
      if (sig < 0)
        continue;
      std::fprintf(stderr, "effc-serve: %s: shutting down\n",
                   sig == SIGTERM ? "SIGTERM" : "SIGINT");
      server.beginShutdown();
      while (!http.is_running() && !exiting) // a signal before listening began
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      http.stop();
      auto deadline = Clock::now() + std::chrono::duration<double>(o.shutdownGrace);
      while ((*engine)->hasWork() && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      (*engine)->cancelAll();
      return;
    }
  });
  bool listened = http.listen_after_bind(); // returns once stopped and every handler is done
  exiting = true;
  server.done();
  engineThread.join();
  signalThread.join();
  if (!listened && !http.is_running())
    std::fprintf(stderr, "effc-serve: stopped\n");
  EngineStats s = (*engine)->stats();
  std::fprintf(stderr, "effc-serve: served %lld sequences, %lld tokens\n", (long long)s.finished,
               (long long)s.generatedTokens);
  return 0;
}
