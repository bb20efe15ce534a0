// The serving engine (effc/Engine.h) over scripted slot models
// (runtime/src/SlotModel.h): continuous batching (requests joining and
// finishing at any step, the queue, cancel, poll and callbacks, errors) and
// speculative decoding (greedy output equals the target's; rejection
// sampling draws from the target's distribution, not the draft's).
#include "effc/Engine.h"
#include "SlotModel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

using namespace effc;
using namespace effc::detail;

namespace {

/// Next-token logits are a fixed function of (salt, last token, position):
/// pseudo-random in [-2, 2), or, with `fixed`, the same row everywhere.
class ScriptedSlots final : public SlotModel {
public:
  static constexpr int64_t V = 8;
  ScriptedSlots(uint64_t salt, int64_t slots = 3, int64_t maxLength = 40)
      : salt_(salt), held_(size_t(slots)), maxLength_(maxLength) {}

  std::vector<float> fixed;     // when set: every row
  int forwards = 0;             // forward passes so far
  int failAtForward = -1;       // forward number that fails
  std::vector<size_t> fedSlots; // how many slots each forward fed
  int64_t pages = 0;            // > 0: a pool of this many pages of 4 tokens
  int64_t mostPagesHeld = 0;    // over the forwards

  int64_t slots() const override { return int64_t(held_.size()); }
  int64_t maxLength() const override { return maxLength_; }
  int64_t vocabSize() const override { return V; }
  const char *mode() const override { return "scripted"; }
  int64_t length(int64_t slot) const override { return int64_t(held_[size_t(slot)].size()); }

  Status forward(const std::vector<Feed> &feeds, std::vector<std::vector<float>> &logits) override {
    if (forwards++ == failAtForward)
      return Status::error("scripted failure");
    fedSlots.push_back(feeds.size());
    logits.resize(feeds.size());
    for (size_t f = 0; f < feeds.size(); ++f) {
      auto &seq = held_[size_t(feeds[f].slot)];
      EXPECT_FALSE(feeds[f].tokens.empty());
      seq.insert(seq.end(), feeds[f].tokens.begin(), feeds[f].tokens.end());
      EXPECT_LE(int64_t(seq.size()), maxLength_);
      if (pages > 0) { // the Engine preempted enough that every slot fits the pool
        EXPECT_LE(pagesHeld(), pages);
        mostPagesHeld = std::max(mostPagesHeld, pagesHeld());
      }
      logits[f].clear();
      for (int64_t r = 0; r < feeds[f].logitsRows; ++r) {
        size_t position = seq.size() - size_t(feeds[f].logitsRows) + size_t(r);
        auto row = rowAfter(seq[position], int64_t(position));
        logits[f].insert(logits[f].end(), row.begin(), row.end());
      }
    }
    return Status::OK();
  }
  Status truncate(int64_t slot, int64_t length) override {
    EXPECT_LE(length, int64_t(held_[size_t(slot)].size()));
    held_[size_t(slot)].resize(size_t(length));
    return Status::OK();
  }
  void release(int64_t slot) override { held_[size_t(slot)].clear(); }
  void reset(int64_t) override {
    for (auto &h : held_)
      h.clear();
  }
  int64_t unitsToGrow(int64_t slot, int64_t length) const override {
    int64_t held = (int64_t(held_[size_t(slot)].size()) + 3) / 4;
    return pages > 0 ? std::max<int64_t>((length + 3) / 4 - held, 0) : 0;
  }
  int64_t freeUnits() const override { return pages > 0 ? pages - pagesHeld() : 0; }
  int64_t pagesHeld() const {
    int64_t n = 0;
    for (auto &h : held_)
      n += (int64_t(h.size()) + 3) / 4;
    return n;
  }
  PoolUsage pool() const override {
    if (pages > 0)
      return PoolUsage{"pages", pages, pagesHeld(), pages * 4, 0, 4};
    PoolUsage p{"slots", slots(), 0, slots() * maxLength_, 0};
    for (auto &h : held_) {
      p.used += !h.empty();
      p.tokensHeld += int64_t(h.size());
    }
    return p;
  }

  /// The logits after `token` at `position`.
  std::vector<float> rowAfter(int64_t token, int64_t position) const {
    if (!fixed.empty())
      return fixed;
    std::vector<float> row(static_cast<size_t>(V));
    for (int64_t v = 0; v < V; ++v) {
      uint64_t h = salt_ * 0x9e3779b97f4a7c15ULL ^ uint64_t(token * 131 + position * 7919 + v);
      h = (h ^ (h >> 31)) * 0xbf58476d1ce4e5b9ULL;
      h ^= h >> 29;
      row[size_t(v)] = float(double(h >> 11) * 0x1.0p-53 * 4 - 2);
    }
    return row;
  }

  /// The greedy continuation of `prompt` by n tokens.
  std::vector<int64_t> greedy(std::vector<int64_t> seq, int64_t n) const {
    std::vector<int64_t> out;
    for (int64_t k = 0; k < n; ++k) {
      auto row = rowAfter(seq.back(), int64_t(seq.size()) - 1);
      int64_t t = int64_t(std::max_element(row.begin(), row.end()) - row.begin());
      out.push_back(t);
      seq.push_back(t);
    }
    return out;
  }

private:
  uint64_t salt_;
  std::vector<std::vector<int64_t>> held_;
  int64_t maxLength_;
};

struct EngineRig {
  ScriptedSlots *target, *draft = nullptr;
  std::unique_ptr<Engine> engine;
  explicit EngineRig(int64_t speculate = 0, uint64_t draftSalt = 2, int64_t slots = 3) {
    target = new ScriptedSlots(1, slots);
    std::unique_ptr<SlotModel> d;
    if (speculate > 0)
      d.reset(draft = new ScriptedSlots(draftSalt, slots));
    EngineOptions o;
    o.speculate = speculate;
    o.maxQueued = 8;
    engine = std::make_unique<Engine>(std::unique_ptr<SlotModel>(target), std::move(d), o);
  }
};

Request greedyRequest(std::vector<int64_t> prompt, int64_t n) {
  Request r;
  r.prompt = std::move(prompt);
  r.maxNewTokens = n;
  return r;
}

/// Steps until `ids` are all finished; their tokens by poll().
std::map<RequestId, std::vector<int64_t>>
drain(Engine &e, const std::vector<RequestId> &ids,
      std::map<RequestId, FinishReason> *reasons = nullptr) {
  std::map<RequestId, std::vector<int64_t>> tokens;
  size_t finished = 0;
  for (int step = 0; finished < ids.size() && step < 1000; ++step) {
    EXPECT_TRUE(e.step().ok());
    for (RequestId id : ids) {
      if (reasons && reasons->count(id))
        continue;
      auto u = e.poll(id);
      if (!u.ok())
        continue; // finished and polled before
      tokens[id].insert(tokens[id].end(), u->tokens.begin(), u->tokens.end());
      if (u->finish != FinishReason::Running) {
        ++finished;
        if (reasons)
          (*reasons)[id] = u->finish;
      }
    }
  }
  return tokens;
}

} // namespace

TEST(Engine, RequestsJoinAndFinishAtAnyStep) {
  EngineRig run;
  Engine &e = *run.engine;
  auto a = e.submit(greedyRequest({1, 2, 3}, 6));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(e.step().ok()); // a: prefill + its first token
  ASSERT_TRUE(e.step().ok());
  auto b = e.submit(greedyRequest({4}, 3)); // joins while a decodes
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(e.step().ok());
  EXPECT_EQ(run.target->fedSlots.back(), 2u); // one batched pass for both
  EXPECT_EQ(e.stats().slotsUsed, 2);
  std::map<RequestId, FinishReason> reasons;
  auto tokens = drain(e, {*a, *b}, &reasons);
  EXPECT_FALSE(e.poll(*a).ok()); // finished and polled: forgotten
  // Polls collect everything since the last one, the first steps' tokens too.
  EXPECT_EQ(tokens[*a], run.target->greedy({1, 2, 3}, 6));
  EXPECT_EQ(reasons[*b], FinishReason::Length);
  EXPECT_EQ(tokens[*b], run.target->greedy({4}, 3));
  EXPECT_EQ(e.stats().generatedTokens, 9);
  EXPECT_EQ(e.stats().slotsUsed, 0);
  EXPECT_FALSE(e.hasWork());
}

TEST(Engine, TokensMatchTheGreedyChainWithCallbacksAndAQueue) {
  EngineRig run;
  Engine &e = *run.engine;
  std::map<RequestId, std::vector<int64_t>> got;
  std::map<RequestId, FinishReason> finish;
  std::vector<std::vector<int64_t>> prompts = {{1}, {2, 3}, {4, 5, 6}, {7}, {0, 0}};
  std::vector<RequestId> ids;
  for (auto &p : prompts) {
    Request r = greedyRequest(p, 5);
    r.onUpdate = [&](const RequestUpdate &u) {
      got[u.id].insert(got[u.id].end(), u.tokens.begin(), u.tokens.end());
      if (u.finish != FinishReason::Running)
        finish[u.id] = u.finish;
    };
    auto id = e.submit(std::move(r));
    ASSERT_TRUE(id.ok()) << id.status().message();
    ids.push_back(*id);
  }
  ASSERT_TRUE(e.step().ok());
  EXPECT_EQ(e.stats().slotsUsed, 3); // three slots; two wait
  EXPECT_EQ(e.stats().queued, 2);
  for (int step = 0; step < 20 && e.hasWork(); ++step)
    ASSERT_TRUE(e.step().ok());
  for (size_t k = 0; k < prompts.size(); ++k) {
    EXPECT_EQ(got[ids[k]], run.target->greedy(prompts[k], 5)) << "request " << k;
    EXPECT_EQ(finish[ids[k]], FinishReason::Length);
  }
  EXPECT_EQ(e.stats().finished, 5);
  EXPECT_FALSE(e.poll(ids[0]).ok()); // callback requests are not polled
}

TEST(Engine, StopTokenAndCancel) {
  EngineRig run;
  Engine &e = *run.engine;
  auto chain = run.target->greedy({3}, 6);
  Request r = greedyRequest({3}, 6);
  r.stopTokenIds = {chain[2]};
  auto stopped = e.submit(r);
  auto active = e.submit(greedyRequest({5}, 30));
  ASSERT_TRUE(stopped.ok() && active.ok());
  ASSERT_TRUE(e.step().ok());
  // Fill the slots so a fourth request waits, then cancel it and the active one.
  auto third = e.submit(greedyRequest({6}, 30));
  auto queued = e.submit(greedyRequest({7}, 30));
  ASSERT_TRUE(third.ok() && queued.ok());
  ASSERT_TRUE(e.step().ok());
  EXPECT_EQ(e.stats().queued, 1);
  EXPECT_TRUE(e.cancel(*queued));
  EXPECT_TRUE(e.cancel(*active));
  EXPECT_FALSE(e.cancel(12345));
  std::map<RequestId, FinishReason> reasons;
  auto tokens = drain(e, {*stopped, *active, *queued}, &reasons);
  std::vector<int64_t> upToStop(chain.begin(), std::find(chain.begin(), chain.end(), chain[2]) + 1);
  EXPECT_EQ(reasons[*stopped], FinishReason::Stop);
  EXPECT_EQ(tokens[*stopped], upToStop); // the stop token included
  EXPECT_EQ(reasons[*active], FinishReason::Cancelled);
  EXPECT_EQ(reasons[*queued], FinishReason::Cancelled);
  EXPECT_TRUE(tokens[*queued].empty());
  e.cancelAll();
  ASSERT_TRUE(e.step().ok());
  auto u = e.poll(*third);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->finish, FinishReason::Cancelled);
  EXPECT_FALSE(e.hasWork());
}

TEST(Engine, SubmitErrors) {
  EngineRig run;
  Engine &e = *run.engine;
  auto error = [&](Request r) {
    auto id = e.submit(std::move(r));
    return id.ok() ? std::string("<ok>") : id.status().message();
  };
  EXPECT_EQ(error(greedyRequest({}, 1)), "empty prompt");
  EXPECT_EQ(error(greedyRequest({1, 8}, 1)), "prompt token 1 = 8 is outside the vocabulary [0, 8)");
  EXPECT_EQ(error(greedyRequest({1}, 0)), "max new tokens must be >= 1, got 0");
  EXPECT_EQ(error(greedyRequest({1, 2}, 39)),
            "prompt of 2 tokens + 39 new tokens exceeds the model's 40 positions (scripted mode "
            "generates within the compiled seq)");
  Request stop = greedyRequest({1}, 1);
  stop.stopTokenIds = {-1};
  EXPECT_EQ(error(stop), "stop token -1 is outside the vocabulary [0, 8)");
  Request sampling = greedyRequest({1}, 1);
  sampling.topP = 2;
  EXPECT_EQ(error(sampling), "top_p must be in (0, 1] (1: off), got 2.000000");
  for (int k = 0; k < 8; ++k) // maxQueued = 8
    EXPECT_EQ(error(greedyRequest({1}, 1)), "<ok>");
  EXPECT_EQ(error(greedyRequest({1}, 1)),
            "the queue is full (8 requests wait for one of 3 slots); try again later");
}

// A pool of pages (the paged KV cache's accounting): when the running
// requests need more pages than are free, the latest admitted is preempted
// (pages freed, back to the front of the queue) and recomputed later; every
// request still gives its greedy chain and the pool never overflows.
TEST(Engine, PreemptsWhenThePoolIsFullAndRecomputes) {
  for (int64_t speculate : {0, 2}) {
    SCOPED_TRACE("speculate " + std::to_string(speculate));
    auto *target = new ScriptedSlots(1, 3);
    target->pages = 6; // 24 tokens; each request below grows to 13 (4 pages)
    std::unique_ptr<SlotModel> draft;
    if (speculate > 0) {
      auto *d = new ScriptedSlots(2, 3);
      d->pages = 6;
      draft.reset(d);
    }
    EngineOptions o;
    o.speculate = speculate;
    Engine e(std::unique_ptr<SlotModel>(target), std::move(draft), o);
    std::vector<std::vector<int64_t>> prompts = {{1, 2, 3}, {4, 5, 6}, {7, 1, 2}};
    std::vector<RequestId> ids;
    for (auto &p : prompts) {
      auto id = e.submit(greedyRequest(p, 10));
      ASSERT_TRUE(id.ok()) << id.status().message();
      ids.push_back(*id);
    }
    auto tokens = drain(e, ids);
    for (size_t k = 0; k < ids.size(); ++k)
      EXPECT_EQ(tokens[ids[k]], target->greedy(prompts[k], 10)) << "request " << k;
    EXPECT_GT(e.stats().preempted, 0);
    EXPECT_EQ(e.stats().finished, 3);
    EXPECT_LE(target->mostPagesHeld, 6);
    EXPECT_GE(target->mostPagesHeld, 5); // two requests ran at once
    EXPECT_EQ(e.stats().poolUnit, "pages");
    // A request that cannot fit the pool alone is refused at once.
    auto big = e.submit(greedyRequest({1, 2}, 23));
    ASSERT_FALSE(big.ok());
    EXPECT_EQ(big.status().message(),
              "prompt of 2 tokens + 23 new tokens needs 7 pages of 4 tokens; the KV pool has 6");
  }
}

TEST(Engine, AModelErrorFailsThatStepsRequestsAndServingGoesOn) {
  EngineRig run;
  Engine &e = *run.engine;
  run.target->failAtForward = 1;
  auto a = e.submit(greedyRequest({1}, 5));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(e.step().ok());
  Status s = e.step();
  EXPECT_EQ(s.message(), "scripted failure");
  auto u = e.poll(*a);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->finish, FinishReason::Error);
  EXPECT_EQ(u->error, "scripted failure");
  EXPECT_EQ(e.stats().slotsUsed, 0);
  auto b = e.submit(greedyRequest({2}, 3));
  ASSERT_TRUE(b.ok());
  auto tokens = drain(e, {*b});
  EXPECT_EQ(tokens[*b], run.target->greedy({2}, 3));
}

TEST(Engine, GreedySpeculationGivesTheTargetsTokens) {
  for (int64_t k : {1, 2, 4, 7}) {
    for (uint64_t draftSalt : {1, 2}) { // 1: the draft is the target
      EngineRig run(k, draftSalt);
      Engine &e = *run.engine;
      std::vector<std::vector<int64_t>> prompts = {{1}, {2, 3}, {4, 5, 6}, {7}};
      std::vector<RequestId> ids;
      for (auto &p : prompts)
        ids.push_back(*e.submit(greedyRequest(p, 11)));
      auto tokens = drain(e, ids);
      for (size_t r = 0; r < prompts.size(); ++r)
        EXPECT_EQ(tokens[ids[r]], run.target->greedy(prompts[r], 11))
            << "K=" << k << " draft salt " << draftSalt << " request " << r;
      EngineStats s = e.stats();
      EXPECT_GT(s.draftProposed, 0);
      if (draftSalt == 1) {
        EXPECT_EQ(s.draftAccepted, s.draftProposed);
      } else {
        EXPECT_LT(s.draftAccepted, s.draftProposed);
      }
    }
  }
  // The draft as the target: K+1 tokens per target pass (11 tokens, K=4: 3
  // target passes per request, all four requests batched in each).
  EngineRig self(4, 1, 4);
  std::vector<RequestId> ids;
  for (int64_t p = 0; p < 4; ++p)
    ids.push_back(*self.engine->submit(greedyRequest({p}, 11)));
  drain(*self.engine, ids);
  EXPECT_EQ(self.target->forwards, 3);
}

TEST(Engine, RejectionSamplingDrawsFromTheTarget) {
  // Context-free distributions: the target p, a quite different draft q.
  // Every generated token must follow p (accepting drafts blindly would
  // give q, resampling wrongly something in between).
  const std::vector<double> p = {0.45, 0.25, 0.15, 0.1, 0.05, 0, 0, 0};
  const std::vector<double> q = {0.05, 0.1, 0.15, 0.2, 0.2, 0.3, 0, 0};
  auto logitsOf = [](const std::vector<double> &probs) {
    std::vector<float> l;
    for (double x : probs)
      l.push_back(x > 0 ? float(std::log(x)) : -INFINITY);
    return l;
  };
  for (int64_t k : {1, 3}) {
    EngineRig run(k, 2);
    run.target->fixed = logitsOf(p);
    run.draft->fixed = logitsOf(q);
    Engine &e = *run.engine;
    const int requests = 3000, n = 4;
    std::vector<int> counts(8, 0);
    int finished = 0;
    for (int r = 0; r < requests;) {
      while (r < requests && e.stats().queued < 4) { // keep the queue fed
        Request req = greedyRequest({1}, n);
        req.temperature = 1;
        req.seed = uint64_t(r++);
        req.onUpdate = [&](const RequestUpdate &u) {
          for (int64_t t : u.tokens)
            ++counts[size_t(t)];
          finished += u.finish != FinishReason::Running;
        };
        ASSERT_TRUE(e.submit(std::move(req)).ok());
      }
      ASSERT_TRUE(e.step().ok());
    }
    while (e.hasWork())
      ASSERT_TRUE(e.step().ok());
    EXPECT_EQ(finished, requests);
    const double total = double(requests) * n;
    for (size_t v = 0; v < 8; ++v)
      EXPECT_NEAR(counts[v] / total, p[v], 0.015) << "K=" << k << " token " << v;
    // One draft per step: its acceptance is sum_v min(p, q) = 0.45.
    EngineStats s = e.stats();
    if (k == 1)
      EXPECT_NEAR(double(s.draftAccepted) / double(s.draftProposed), 0.45, 0.03);
  }
}
