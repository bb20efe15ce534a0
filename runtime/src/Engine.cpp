// Continuous batching and speculative decoding over slot models
// (effc/Engine.h, SlotModel.h). A request's life: checked and queued by
// submit(); given a free slot at the start of a step; each step feeds it
// what its slot does not hold yet (the prompt at first, then the token
// picked last step) and picks from the last logits row; finished requests
// free their slot at once, so the next step admits a waiting one.
#include "effc/Engine.h"

#include "Sampler.h"
#include "SlotModel.h"
#include "StepModel.h"
#include "effc/Session.h"

#include <algorithm>
#include <cmath>

namespace effc {

const char *finishReasonName(FinishReason reason) {
  switch (reason) {
  case FinishReason::Running:
    return "running";
  case FinishReason::Length:
    return "length";
  case FinishReason::Stop:
    return "stop";
  case FinishReason::Cancelled:
    return "cancelled";
  case FinishReason::Error:
    return "error";
  }
  return "unknown";
}

struct Engine::Sequence {
  RequestId id = 0;
  Request request;
  detail::SamplingParams sampling;
  detail::TokenRng rng{0, 0};
  std::vector<int64_t> tokens; // prompt + generated
  int64_t generated = 0;
  int64_t slot = -1;
  int64_t admitted = 0;                  // admission order (the latest is preempted first)
  int64_t targetHeld = 0, draftHeld = 0; // tokens each model's slot holds
  FinishReason finish = FinishReason::Running;
  std::string error;
};

namespace {
std::string str(int64_t v) { return std::to_string(v); }
} // namespace

namespace {
/// Recompute mode, or KV-cache mode over a paged cache for a decoder with past.
StatusOr<std::unique_ptr<detail::SlotModel>> makeSlotModel(Session &session,
                                                           const EngineOptions &options) {
  if (options.maxSequences < 0)
    return Status::error("max sequences must be >= 0 (0: the compiled batch), got " +
                         str(options.maxSequences));
  if (!detail::hasPastInputs(session.model()) && !detail::hasPagedKvPool(session.model())) {
    auto m = detail::makeRecomputeSlotModel(session);
    if (m.ok() && options.maxSequences > (*m)->slots())
      return Status::error(session.model().path() + ": " + str(options.maxSequences) +
                           " sequences at once: recompute mode holds one per row of the "
                           "compiled batch (" +
                           str((*m)->slots()) + "); more need a decoder with past (KV-cache mode)");
    return m;
  }
  detail::PagedOptions paged;
  paged.pageSize = options.kvPageSize;
  paged.pages = options.kvPoolPages;
  paged.sharePrefixes = options.sharePrefixes;
  paged.slots = options.maxSequences;
  return detail::makePagedSlotModel(session, paged);
}
} // namespace

StatusOr<std::unique_ptr<Engine>> Engine::create(Session &target, const EngineOptions &options) {
  auto t = makeSlotModel(target, options);
  if (!t.ok())
    return t.status();
  std::unique_ptr<detail::SlotModel> draft;
  if (options.draft != nullptr) {
    if (options.speculate < 1)
      return Status::error("speculative decoding: speculate must be >= 1 draft tokens per step, "
                           "got " +
                           str(options.speculate));
    auto d = makeSlotModel(*options.draft, options);
    if (!d.ok())
      return Status::error("draft model: " + d.status().message());
    if ((*d)->vocabSize() != (*t)->vocabSize())
      return Status::error(
          "draft model " + options.draft->model().path() + " has a vocabulary of " +
          str((*d)->vocabSize()) + " tokens, the target " + target.model().path() + " has " +
          str((*t)->vocabSize()) + "; speculative decoding needs the same vocabulary");
    draft = std::move(*d);
  } else if (options.speculate != 0) {
    return Status::error("speculate " + str(options.speculate) + " needs a draft model");
  }
  if (options.maxQueued < 0)
    return Status::error("maxQueued must be >= 0, got " + str(options.maxQueued));
  return std::unique_ptr<Engine>(new Engine(std::move(*t), std::move(draft), options));
}

Engine::Engine(std::unique_ptr<detail::SlotModel> target, std::unique_ptr<detail::SlotModel> draft,
               const EngineOptions &options)
    : target_(std::move(target)), draft_(std::move(draft)), options_(options) {
  slots_ = target_->slots();
  if (draft_)
    slots_ = std::min(slots_, draft_->slots());
  if (options_.maxSequences > 0)
    slots_ = std::min(slots_, options_.maxSequences);
  active_.resize(size_t(slots_));
  target_->reset(0);
  if (draft_)
    draft_->reset(0);
  stats_.slots = slots_;
  detail::PoolUsage pool = target_->pool();
  poolPageSize_ = pool.pageSize;
  poolPages_ = pool.capacity;
}

Engine::~Engine() = default;

int64_t Engine::slots() const { return slots_; }
int64_t Engine::maxLength() const {
  return draft_ ? std::min(target_->maxLength(), draft_->maxLength()) : target_->maxLength();
}
int64_t Engine::vocabSize() const { return target_->vocabSize(); }
const char *Engine::mode() const { return target_->mode(); }

StatusOr<RequestId> Engine::submit(Request r) {
  const int64_t V = vocabSize();
  if (r.prompt.empty())
    return Status::error("empty prompt");
  for (size_t k = 0; k < r.prompt.size(); ++k)
    if (r.prompt[k] < 0 || r.prompt[k] >= V)
      return Status::error("prompt token " + str(int64_t(k)) + " = " + str(r.prompt[k]) +
                           " is outside the vocabulary [0, " + str(V) + ")");
  for (int64_t id : r.stopTokenIds)
    if (id < 0 || id >= V)
      return Status::error("stop token " + str(id) + " is outside the vocabulary [0, " + str(V) +
                           ")");
  if (r.maxNewTokens < 1)
    return Status::error("max new tokens must be >= 1, got " + str(r.maxNewTokens));
  int64_t length = int64_t(r.prompt.size());
  if (r.maxNewTokens > maxLength() - length)
    return Status::error("prompt of " + str(length) + " tokens + " + str(r.maxNewTokens) +
                         " new tokens exceeds the model's " + str(maxLength()) + " positions (" +
                         target_->lengthLimit() + ")");
  if (poolPageSize_ > 0 &&
      (length + r.maxNewTokens + poolPageSize_ - 1) / poolPageSize_ > poolPages_)
    return Status::error(
        "prompt of " + str(length) + " tokens + " + str(r.maxNewTokens) + " new tokens needs " +
        str((length + r.maxNewTokens + poolPageSize_ - 1) / poolPageSize_) + " pages of " +
        str(poolPageSize_) + " tokens; the KV pool has " + str(poolPages_));
  detail::SamplingParams sampling{r.temperature, r.topK, r.topP};
  EFFC_RETURN_IF_ERROR(detail::checkSamplingParams(sampling));

  auto s = std::make_unique<Sequence>();
  s->sampling = sampling;
  s->rng = detail::TokenRng(r.seed, 0);
  s->tokens = r.prompt;
  s->request = std::move(r);
  std::lock_guard<std::mutex> lock(mu_);
  if (int64_t(queue_.size()) >= options_.maxQueued)
    return Status::error("the queue is full (" + str(int64_t(queue_.size())) +
                         " requests wait for one of " + str(slots_) + " slots); try again later");
  s->id = nextId_++;
  RequestId id = s->id;
  if (!s->request.onUpdate)
    polled_[id].id = id;
  queue_.push_back(std::move(s));
  ++stats_.submitted;
  ++stats_.queued;
  workCv_.notify_all();
  return id;
}

bool Engine::cancel(RequestId id) {
  std::lock_guard<std::mutex> lock(mu_);
  bool live = std::any_of(queue_.begin(), queue_.end(), [&](auto &s) { return s->id == id; }) ||
              std::any_of(active_.begin(), active_.end(), [&](auto &s) {
                return s && s->id == id && s->finish == FinishReason::Running;
              });
  if (live) {
    cancelRequests_.push_back(id);
    workCv_.notify_all();
  }
  return live;
}

void Engine::cancelAll() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelAll_ = true;
  workCv_.notify_all();
}

StatusOr<RequestUpdate> Engine::poll(RequestId id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = polled_.find(id);
  if (it == polled_.end())
    return Status::error("unknown request " + std::to_string(id) +
                         " (never submitted, finished and polled already, or it has a callback)");
  RequestUpdate u = std::move(it->second);
  if (u.finish != FinishReason::Running)
    polled_.erase(it);
  else
    it->second = RequestUpdate{id, {}, FinishReason::Running, {}};
  return u;
}

bool Engine::hasWork() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !queue_.empty() || stats_.slotsUsed > 0;
}

bool Engine::waitForWork(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  workCv_.wait_for(lock, timeout, [&] { return !queue_.empty() || stats_.slotsUsed > 0; });
  return !queue_.empty() || stats_.slotsUsed > 0;
}

void Engine::wake() {
  std::lock_guard<std::mutex> lock(mu_);
  workCv_.notify_all();
}

EngineStats Engine::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void Engine::finishSlot(Sequence &s) {
  target_->release(s.slot);
  if (draft_)
    draft_->release(s.slot);
}

void Engine::admitLocked(std::vector<RequestUpdate> &cancelled,
                         std::vector<std::function<void(const RequestUpdate &)>> &callbacks) {
  auto cancels = [&](RequestId id) {
    return cancelAll_ ||
           std::find(cancelRequests_.begin(), cancelRequests_.end(), id) != cancelRequests_.end();
  };
  auto drop = [&](std::unique_ptr<Sequence> s) {
    cancelled.push_back({s->id, {}, FinishReason::Cancelled, {}});
    callbacks.push_back(s->request.onUpdate);
    ++stats_.finished;
  };
  for (auto &slot : active_)
    if (slot && cancels(slot->id)) {
      finishSlot(*slot);
      --stats_.slotsUsed;
      drop(std::move(slot));
    }
  for (auto it = queue_.begin(); it != queue_.end();)
    if (cancels((*it)->id)) {
      drop(std::move(*it));
      it = queue_.erase(it);
      --stats_.queued;
    } else {
      ++it;
    }
  cancelRequests_.clear();
  cancelAll_ = false;
  for (size_t slot = 0; slot < active_.size() && !queue_.empty(); ++slot)
    if (!active_[slot]) {
      active_[slot] = std::move(queue_.front());
      queue_.pop_front();
      active_[slot]->slot = int64_t(slot);
      active_[slot]->admitted = ++admissions_;
      --stats_.queued;
      ++stats_.slotsUsed;
    }
}

void Engine::preemptLocked(std::vector<RequestUpdate> &failed,
                           std::vector<std::function<void(const RequestUpdate &)>> &callbacks) {
  for (;;) {
    int64_t needTarget = 0, needDraft = 0, running = 0;
    Sequence *latest = nullptr;
    for (auto &s : active_) {
      if (!s)
        continue;
      ++running;
      // What this step may grow the slot to: the pending tokens and the drafts.
      int64_t length =
          std::min({int64_t(s->tokens.size()) + (draft_ ? options_.speculate : 0),
                    int64_t(s->request.prompt.size()) + s->request.maxNewTokens, maxLength()});
      needTarget += target_->unitsToGrow(s->slot, length);
      if (draft_)
        needDraft += draft_->unitsToGrow(s->slot, length);
      if (!latest || s->admitted > latest->admitted)
        latest = s.get();
    }
    if (needTarget <= target_->freeUnits() && (!draft_ || needDraft <= draft_->freeUnits()))
      return;
    Sequence &s = *latest;
    finishSlot(s);
    --stats_.slotsUsed;
    auto &slot = active_[size_t(s.slot)];
    if (running == 1) { // not even one request fits: it fails
      s.finish = FinishReason::Error;
      s.error = "the KV pool is too small for this request (" + str(poolPages_) + " pages of " +
                str(poolPageSize_) + " tokens)";
      failed.push_back({s.id, {}, s.finish, s.error});
      callbacks.push_back(s.request.onUpdate);
      ++stats_.finished;
      slot.reset();
      continue;
    }
    // Recomputed from its tokens (prompt + generated) when readmitted.
    if (s.targetHeld > 0 || s.draftHeld > 0)
      ++stats_.preempted;
    s.targetHeld = s.draftHeld = 0;
    s.slot = -1;
    queue_.push_front(std::move(slot));
    ++stats_.queued;
  }
}

Status Engine::decodeStep(std::vector<std::pair<Sequence *, std::vector<int64_t>>> &produced) {
  std::vector<detail::SlotModel::Feed> feeds;
  std::vector<Sequence *> fed;
  for (auto &s : active_)
    if (s) {
      feeds.push_back({s->slot, {s->tokens.begin() + s->targetHeld, s->tokens.end()}, 1});
      fed.push_back(s.get());
    }
  std::vector<std::vector<float>> logits;
  EFFC_RETURN_IF_ERROR(target_->forward(feeds, logits));
  for (size_t k = 0; k < fed.size(); ++k) {
    Sequence &s = *fed[k];
    s.targetHeld = int64_t(s.tokens.size());
    produced.push_back({&s, {detail::pickToken(logits[k].data(), vocabSize(), s.sampling, s.rng)}});
  }
  return Status::OK();
}

Status Engine::speculativeStep(std::vector<std::pair<Sequence *, std::vector<int64_t>>> &produced) {
  const int64_t V = vocabSize();
  struct Spec {
    Sequence *s;
    int64_t k;                          // draft tokens this step
    std::vector<int64_t> drafts;        // proposed tokens
    std::vector<std::vector<double>> q; // the draft's distribution of each (sampling)
  };
  std::vector<Spec> specs;
  for (auto &s : active_)
    if (s) {
      // The target scores k drafts plus one token of its own within the
      // request's budget and the window.
      int64_t k = std::min({options_.speculate, s->request.maxNewTokens - s->generated - 1,
                            maxLength() - int64_t(s->tokens.size())});
      specs.push_back({s.get(), std::max<int64_t>(k, 0), {}, {}});
    }

  // Draft: one forward per proposed token, over the requests still proposing.
  std::vector<std::vector<float>> logits;
  for (int64_t round = 0; round < options_.speculate; ++round) {
    std::vector<detail::SlotModel::Feed> feeds;
    std::vector<Spec *> proposing;
    for (Spec &p : specs) {
      if (p.k <= round)
        continue;
      Sequence &s = *p.s;
      std::vector<int64_t> feed =
          round == 0 ? std::vector<int64_t>(s.tokens.begin() + s.draftHeld, s.tokens.end())
                     : std::vector<int64_t>{p.drafts.back()};
      feeds.push_back({s.slot, std::move(feed), 1});
      proposing.push_back(&p);
    }
    if (feeds.empty())
      break;
    EFFC_RETURN_IF_ERROR(draft_->forward(feeds, logits));
    for (size_t f = 0; f < proposing.size(); ++f) {
      Spec &p = *proposing[f];
      Sequence &s = *p.s;
      s.draftHeld += int64_t(feeds[f].tokens.size());
      if (s.sampling.temperature == 0) {
        p.drafts.push_back(detail::pickToken(logits[f].data(), V, s.sampling, s.rng));
      } else {
        p.q.push_back(detail::tokenDistribution(logits[f].data(), V, s.sampling));
        p.drafts.push_back(detail::drawToken(p.q.back(), s.rng));
      }
    }
  }

  // Target: what its slot lacks plus the drafts, k + 1 rows, in one pass.
  std::vector<detail::SlotModel::Feed> feeds;
  for (Spec &p : specs) {
    Sequence &s = *p.s;
    std::vector<int64_t> feed(s.tokens.begin() + s.targetHeld, s.tokens.end());
    feed.insert(feed.end(), p.drafts.begin(), p.drafts.end());
    feeds.push_back({s.slot, std::move(feed), p.k + 1});
  }
  EFFC_RETURN_IF_ERROR(target_->forward(feeds, logits));
  for (size_t f = 0; f < specs.size(); ++f) {
    Spec &p = specs[f];
    Sequence &s = *p.s;
    const int64_t before = int64_t(s.tokens.size());
    std::vector<int64_t> out;
    int64_t accepted = 0;
    for (int64_t j = 0; j <= p.k; ++j) {
      const float *row = logits[f].data() + j * V;
      if (j == p.k) { // every draft accepted: the target's next token
        out.push_back(detail::pickToken(row, V, s.sampling, s.rng));
        break;
      }
      int64_t d = p.drafts[size_t(j)];
      if (s.sampling.temperature == 0) {
        int64_t t = detail::pickToken(row, V, s.sampling, s.rng);
        out.push_back(t);
        if (t != d)
          break;
      } else {
        std::vector<double> pt = detail::tokenDistribution(row, V, s.sampling);
        const std::vector<double> &q = p.q[size_t(j)];
        if (s.rng.uniform() * q[size_t(d)] < pt[size_t(d)]) { // accept with min(1, p/q)
          out.push_back(d);
        } else {
          std::vector<double> residual(static_cast<size_t>(V), 0.0);
          for (size_t v = 0; v < residual.size(); ++v)
            residual[v] = std::max(0.0, pt[v] - q[v]);
          int64_t t = detail::drawToken(residual, s.rng);
          out.push_back(t >= 0 ? t : detail::drawToken(pt, s.rng));
          break;
        }
      }
      ++accepted;
    }
    std::lock_guard<std::mutex> lock(mu_);
    stats_.draftProposed += p.k;
    stats_.draftAccepted += accepted;
    // Both slots keep the accepted drafts; what follows them is dropped.
    s.targetHeld = before + accepted;
    EFFC_RETURN_IF_ERROR(target_->truncate(s.slot, s.targetHeld));
    if (s.draftHeld > s.targetHeld) {
      s.draftHeld = s.targetHeld;
      EFFC_RETURN_IF_ERROR(draft_->truncate(s.slot, s.draftHeld));
    }
    produced.push_back({&s, std::move(out)});
  }
  return Status::OK();
}

Status Engine::step() {
  std::vector<RequestUpdate> updates;
  std::vector<std::function<void(const RequestUpdate &)>> callbacks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    admitLocked(updates, callbacks);
    preemptLocked(updates, callbacks);
  }
  bool any = std::any_of(active_.begin(), active_.end(), [](auto &s) { return s != nullptr; });
  Status status = Status::OK();
  std::vector<std::pair<Sequence *, std::vector<int64_t>>> produced;
  if (any)
    status = draft_ ? speculativeStep(produced) : decodeStep(produced);

  {
    std::lock_guard<std::mutex> lock(mu_);
    if (any)
      ++stats_.steps;
    if (!status.ok()) {
      produced.clear();
      for (auto &s : active_)
        if (s) {
          s->finish = FinishReason::Error;
          s->error = status.message();
          produced.push_back({s.get(), {}});
        }
    }
    for (auto &[s, tokens] : produced) {
      RequestUpdate u{s->id, {}, s->finish, s->error};
      for (int64_t t : tokens) {
        if (s->finish != FinishReason::Running)
          break;
        u.tokens.push_back(t);
        s->tokens.push_back(t);
        ++s->generated;
        ++stats_.generatedTokens;
        const auto &stops = s->request.stopTokenIds;
        if (std::find(stops.begin(), stops.end(), t) != stops.end())
          s->finish = FinishReason::Stop;
        else if (s->generated >= s->request.maxNewTokens)
          s->finish = FinishReason::Length;
      }
      u.finish = s->finish;
      updates.push_back(u);
      callbacks.push_back(s->request.onUpdate);
    }
    // Finished requests free their slots now; the next step admits others.
    for (auto &s : active_)
      if (s && s->finish != FinishReason::Running) {
        finishSlot(*s);
        --stats_.slotsUsed;
        ++stats_.finished;
        s.reset();
      }
    for (size_t k = 0; k < updates.size(); ++k) {
      if (callbacks[k])
        continue;
      auto it = polled_.find(updates[k].id);
      if (it == polled_.end())
        continue;
      RequestUpdate &p = it->second;
      p.tokens.insert(p.tokens.end(), updates[k].tokens.begin(), updates[k].tokens.end());
      p.finish = updates[k].finish;
      p.error = updates[k].error;
    }
    detail::PoolUsage pool = target_->pool();
    stats_.poolUnit = pool.unit;
    stats_.poolCapacity = pool.capacity;
    stats_.poolUsed = pool.used;
    stats_.poolTokensCapacity = pool.tokensCapacity;
    stats_.poolTokensHeld = pool.tokensHeld;
    stats_.poolPageSize = pool.pageSize;
    stats_.poolRowsStored = pool.rowsStored;
    stats_.poolShared = pool.shared;
    stats_.poolPeakUsed = pool.peakUsed;
    stats_.pagesSharedTotal = pool.sharedTotal;
    stats_.pagesCopiedTotal = pool.copiedTotal;
    stats_.poolCached = pool.cached;
    detail::RunUsage runs = target_->runs();
    stats_.runs = runs.runs;
    stats_.runPositions = runs.positions;
    stats_.runPadded = runs.padded;
  }
  // Callbacks run without the lock, so they may submit or cancel.
  for (size_t k = 0; k < updates.size(); ++k)
    if (callbacks[k])
      callbacks[k](updates[k]);
  return status;
}

} // namespace effc
