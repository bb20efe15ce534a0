// Serving many generation requests with one model (issue 19): continuous
// batching and speculative decoding over the runtime's step models.
//
// Requests arrive at any time (submit is thread-safe) with their own prompt,
// sampling settings, max new tokens and stop ids. Each step() runs every
// active request in one batched forward pass: new requests have their
// prompt prefilled and get their first token in the same pass in which the
// others decode one token. Tokens are handed out as they are produced,
// through the request's callback or poll(), and each request finishes on its
// own (stop token, max new tokens, cancel), freeing its slot for the next.
//
// Slots. Each active request occupies one slot of the step model. In
// recompute mode the slots are the rows of the compiled batch, [batch, seq]
// from effc --dim batch=B --dim seq=S: B requests run at once, each within S
// tokens (prompt + new), and every step reruns the whole window. A decoder
// exported with past (past_key_values.* inputs, compiled with symbolic seq,
// past and total as effc/Generator.h says) runs in KV-cache mode over a paged
// cache: the compiled batch of slots (or EngineOptions::maxSequences, more
// than the compiled batch: a step runs them in several runs of at most the
// compiled batch, each padding its rows to its longest feed; a model
// compiled with effc --paged-kv --packed-tokens instead packs every fed
// sequence's tokens back to back, up to the compiled seq a run, no padding:
// EngineStats::runPadded), their K/V in one pool of pages of
// EngineOptions::kvPageSize tokens, allocated as a sequence grows and freed
// when it finishes; a new request whose prompt shares a prefix with a
// running one, or with a finished one whose pages the prefix cache still
// holds, shares that prefix's pages (copy-on-write at the first page they
// write differently). When the running requests need more pages than
// are free, the most recently admitted one is preempted: its pages are
// freed and it goes back to the front of the queue, to be recomputed from
// its tokens when pages are free again. When all slots are busy, new
// requests wait in a first-come first-served queue (at most
// EngineOptions::maxQueued; beyond that submit refuses).
//
// Speculative decoding (EngineOptions::draft): a draft model with the same
// vocabulary proposes `speculate` tokens per request one at a time, then the
// target scores all of them in one forward pass over K+1 positions. Greedy
// requests keep the longest prefix the target agrees with plus the target's
// own next token, so the output is exactly the target's greedy output;
// sampling requests use rejection sampling (accept a draft token with
// probability min(1, p/q), else draw from max(0, p - q)), so tokens follow the
// target's distribution. Both models are then rewound to the accepted length.
//
// Errors are Status values; nothing throws. The Engine uses its sessions
// from the thread that calls step(); they must outlive it.
#pragma once

#include "effc/Status.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace effc {

class Session;
namespace detail {
class SlotModel; // runtime-internal: runtime/src/SlotModel.h
}

using RequestId = uint64_t;

enum class FinishReason {
  Running,   ///< not finished yet
  Length,    ///< max new tokens reached
  Stop,      ///< emitted a stop token (included in the tokens)
  Cancelled, ///< cancel() or the engine shut down
  Error,     ///< the model failed; RequestUpdate::error says why
};
/// "running", "length", "stop", "cancelled", "error".
const char *finishReasonName(FinishReason reason);

/// What a request produced since its last update.
struct RequestUpdate {
  RequestId id = 0;
  std::vector<int64_t> tokens;
  FinishReason finish = FinishReason::Running;
  std::string error;
};

struct Request {
  /// Token ids (not empty, each in [0, vocabSize())).
  std::vector<int64_t> prompt;
  /// >= 1; prompt + maxNewTokens must fit the model's maxLength().
  int64_t maxNewTokens = 16;
  /// Sampling as effc::GenerationOptions: 0 greedy; else softmax(logits /
  /// temperature) after top-k and top-p, drawn from a stream seeded by `seed`.
  double temperature = 0;
  int64_t topK = 0;
  double topP = 1;
  uint64_t seed = 0;
  /// The request ends after it emits one of these.
  std::vector<int64_t> stopTokenIds;
  /// Called from step() (the stepping thread, no engine lock held) with each
  /// update; the last one has finish != Running. Without it, updates collect
  /// for poll().
  std::function<void(const RequestUpdate &)> onUpdate;
};

struct EngineOptions {
  /// Speculative decoding: the draft model's session (same vocabulary as
  /// the target), and how many tokens it proposes per step (>= 1).
  Session *draft = nullptr;
  int64_t speculate = 0;
  /// Requests that may wait for a slot; submit refuses more.
  int64_t maxQueued = 4096;
  /// KV-cache mode (models with past): tokens per page, pages in the pool
  /// (0: enough for every slot at the longest length; fewer make the engine
  /// preempt), and whether prompts with a common prefix share its pages.
  int64_t kvPageSize = 16;
  int64_t kvPoolPages = 0;
  bool sharePrefixes = true;
  /// Requests that run at once (0: the compiled batch's upper bound). In
  /// KV-cache mode it may exceed the compiled batch: each step then runs the
  /// active requests in several runs of at most that batch (all advance
  /// every step). Recompute mode holds one request per compiled row: at
  /// most the compiled batch.
  int64_t maxSequences = 0;
};

struct EngineStats {
  int64_t slots = 0, slotsUsed = 0, queued = 0;
  int64_t submitted = 0, finished = 0, generatedTokens = 0, steps = 0;
  /// Speculative decoding: draft tokens proposed and accepted.
  int64_t draftProposed = 0, draftAccepted = 0;
  /// The target's state pool ("slots" in recompute mode; pages with paging).
  std::string poolUnit;
  int64_t poolCapacity = 0, poolUsed = 0, poolTokensCapacity = 0, poolTokensHeld = 0;
  /// Paged KV cache: tokens per page, positions written in the used pages
  /// (poolUsed * poolPageSize - poolRowsStored is the waste), pages held by
  /// more than one sequence now, the most pages used at once, page
  /// references taken over by prefix sharing and copy-on-write copies since
  /// the start, and sequences preempted (their pages freed, recomputed later).
  int64_t poolPageSize = 0, poolRowsStored = 0, poolShared = 0, poolPeakUsed = 0;
  int64_t pagesSharedTotal = 0, pagesCopiedTotal = 0, preempted = 0;
  /// Used pages only the prefix cache holds (finished sequences' prompts,
  /// evicted when the pool needs them).
  int64_t poolCached = 0;
  /// The target's runs since the start (KV-cache mode; 0 in recompute
  /// mode), the token positions they computed for new tokens and how many
  /// of those were padding (no token: rows padded to a run's longest feed,
  /// or to the compiled batch or seq). A model compiled with effc
  /// --packed-tokens packs each run's tokens back to back: no padding.
  int64_t runs = 0, runPositions = 0, runPadded = 0;
};

class Engine {
public:
  /// An engine over `target` (and options.draft): the step models say why a
  /// model cannot generate (effc/Generator.h lists the requirements).
  static StatusOr<std::unique_ptr<Engine>> create(Session &target,
                                                  const EngineOptions &options = {});
  /// Over slot models (runtime-internal and tests); `draft` may be null.
  Engine(std::unique_ptr<detail::SlotModel> target, std::unique_ptr<detail::SlotModel> draft,
         const EngineOptions &options);
  ~Engine();
  Engine(const Engine &) = delete;
  Engine &operator=(const Engine &) = delete;

  /// Queues a request (any thread). Errors name what is wrong with it.
  StatusOr<RequestId> submit(Request request);
  /// Ends a request at the next step (any thread); false if it is unknown or
  /// already finished.
  bool cancel(RequestId id);
  /// Ends every request (shutdown): each gets a Cancelled update at the next step.
  void cancelAll();
  /// A request without onUpdate: the tokens since the last poll and whether it
  /// finished (any thread). A finished request is forgotten once polled.
  StatusOr<RequestUpdate> poll(RequestId id);

  /// One batched step over every active request (admitting waiting ones
  /// first). Call from one thread. A model error fails the requests of
  /// that step (FinishReason::Error), frees their slots and is returned; the
  /// engine goes on serving.
  Status step();
  /// Whether a step would do anything (any thread).
  bool hasWork() const;
  /// Waits until there is work, wake() is called or `timeout` passes;
  /// returns hasWork().
  bool waitForWork(std::chrono::milliseconds timeout);
  void wake();

  EngineStats stats() const;
  /// Requests that run at once (the slots), tokens per request, vocabulary.
  int64_t slots() const;
  int64_t maxLength() const;
  int64_t vocabSize() const;
  /// "recompute" or "kv-cache" (see effc/Generator.h).
  const char *mode() const;

private:
  struct Sequence;
  /// Moves cancelled requests out and waiting ones into free slots (lock held).
  void admitLocked(std::vector<RequestUpdate> &cancelled,
                   std::vector<std::function<void(const RequestUpdate &)>> &callbacks);
  Status decodeStep(std::vector<std::pair<Sequence *, std::vector<int64_t>>> &produced);
  Status speculativeStep(std::vector<std::pair<Sequence *, std::vector<int64_t>>> &produced);
  void finishSlot(Sequence &s);
  /// Preempts the most recently admitted requests while the active ones
  /// need more pool units than are free (lock held).
  void preemptLocked(std::vector<RequestUpdate> &failed,
                     std::vector<std::function<void(const RequestUpdate &)>> &callbacks);

  std::unique_ptr<detail::SlotModel> target_, draft_;
  EngineOptions options_;
  int64_t slots_ = 0;
  int64_t admissions_ = 0;
  int64_t poolPageSize_ = 0, poolPages_ = 0; // the target's, fixed at construction

  mutable std::mutex mu_; // guards everything below
  std::condition_variable workCv_;
  RequestId nextId_ = 1;
  std::deque<std::unique_ptr<Sequence>> queue_;
  std::vector<std::unique_ptr<Sequence>> active_; // by slot; null: free
  std::map<RequestId, RequestUpdate> polled_;     // requests without onUpdate
  std::vector<RequestId> cancelRequests_;
  bool cancelAll_ = false;
  EngineStats stats_;
};

} // namespace effc
