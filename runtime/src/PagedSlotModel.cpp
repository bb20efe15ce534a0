// Serving slots over a decoder exported with past, its KV cache paged
// (issue 19 parts 1 and 3; SlotModel.h, PagedKvCache.h). Each slot's K/V
// live in pages of one pool shared by every slot, allocated as the slot
// grows and returned when it is truncated or released; a new sequence whose
// prompt shares a prefix with a sequence another slot holds (or with a
// prompt fed in the same call) takes over that prefix's pages and computes
// only the rest, and a write into a shared page copies it first. A finished
// (or preempted) sequence's pages stay in a prefix cache (as many entries as
// slots, least recently used evicted first, and whenever a run needs their
// pages): a later prompt with the same prefix takes them over as from a live
// slot, so sharing does not need the requests to overlap in time.
//
// One forward pass = one or more runs of the compiled model (PastModel.h's
// layout: input_ids [batch, seq], attention_mask [batch, past + seq],
// position_ids, past_key_values.* [batch, heads, past, head_dim] ->
// logits, present.*). There may be more slots than the compiled batch
// (PagedOptions::slots): a run takes at most the compiled batch of them and a
// forward runs as many as its feeds need, so every fed slot advances. A
// run's past is as long as the longest of them (P), each row's own positions first
// and masked padding after them (as PastStepModel's right padding: a masked
// key is invisible, so the row computes what it would alone), its new tokens
// at P.. with the mask on, at most seq (and total - P) per run, a longer
// feed continuing in the next run. The past is gathered from the pages and
// the new rows of present.* written back into them.
//
// A model compiled with --paged-kv (passes/PagedKv.cpp) needs neither: its
// inputs kv_pages.* are the page pools themselves (PagedKvCache's store,
// same layout), block_table / seq_lens / slot_mapping say where each row's
// positions and new rows are, eff.paged_kv_write stores the new rows and
// eff.paged_attention reads the pages. A run's rows are left-padded (the new
// tokens are the last of the S columns, padded columns write nothing);
// kv_pages_out.* (the pools after the run) are copied back into the store.
// Compiled with --packed-tokens too (passes/PackedTokens.cpp: input_ids [1,
// T], block_table [seqs, max_pages], token_seq [T], token_seq_lens [T]), a
// run holds the new tokens of every fed slot back to back, no padding (at
// most seq.max tokens a run; decode tokens first, then prompt chunks): one
// block table row per fed slot, and each token names its row, its position
// + 1 and its own slot (slot_mapping).
// Compiled with --kv-state too, the pools are session state (StateInfo::pages):
// nothing feeds or returns them, the model writes the new rows in place, the
// store is dropped and a copy-on-write copies the page inside the session
// (Session::copyStatePage). Copy-on-write and the prefix cache are the same
// bookkeeping.
#include "PagedKvCache.h"
#include "PastModel.h"
#include "SlotModel.h"
#include "effc/Session.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <string>

namespace effc::detail {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

constexpr const char *kPoolPrefix = "kv_pages.";
constexpr const char *kPoolOutPrefix = "kv_pages_out.";

/// What a model compiled with --paged-kv takes besides PastLayout's ids,
/// positions and logits.
struct PoolLayout {
  size_t table = 0, lens = 0, slots = 0; ///< input indices
  /// effc --packed-tokens: input token_seq (each token's block table row)
  /// and per-token lengths.
  bool packed = false;
  size_t tokenSeq = 0;
  int64_t pageSize = 0, pages = 0, maxPages = 0;
  /// The pools are session state (effc --paged-kv --kv-state): nothing
  /// feeds or returns them; [heads, rowBytes] per pool, for the cache.
  std::vector<PagedKvCache::TensorLayout> statePools;
};

class PagedSlotModel final : public SlotModel {
public:
  /// `cache` has `slots` serving slots and, after them, the prefix cache's.
  /// With `pool`, the model reads the cache's store as its page pools.
  PagedSlotModel(Session &session, PastLayout layout, PagedKvCache cache, int64_t slots, bool share,
                 std::optional<PoolLayout> pool = std::nullopt)
      : session_(session), l_(std::move(layout)), cache_(std::move(cache)), share_(share),
        slots_(slots), held_(size_t(cache_.slots())), pool_(pool) {
    for (int64_t c = cache_.slots() - 1; c >= slots_; --c)
      freeCache_.push_back(c);
  }

  int64_t slots() const override { return slots_; }
  int64_t maxLength() const override { return std::min(l_.past.max + 1, l_.total.max); }
  int64_t vocabSize() const override { return l_.vocab; }
  const char *mode() const override { return "kv-cache"; }
  int64_t length(int64_t slot) const override { return cache_.length(slot); }
  std::string lengthLimit() const override {
    if (pool_)
      return "the block table holds " + str(pool_->maxPages) + " pages of " + str(pool_->pageSize) +
             " tokens per sequence (compiled with --paged-kv)";
    return "the KV cache holds past <= " + str(l_.past.max) + " tokens: compiled with --dim " +
           l_.past.name + "=" + str(l_.past.min) + ".." + str(l_.past.max) +
           (l_.total.name.empty() ? std::string() : ", total <= " + str(l_.total.max));
  }

  Status forward(const std::vector<Feed> &feeds, std::vector<std::vector<float>> &logits) override {
    std::vector<bool> seen(size_t(slots()), false);
    for (const Feed &f : feeds) {
      if (f.slot < 0 || f.slot >= slots() || seen[size_t(f.slot)] || f.tokens.empty() ||
          f.logitsRows < 1 || f.logitsRows > int64_t(f.tokens.size()) ||
          length(f.slot) + int64_t(f.tokens.size()) > maxLength())
        return Status::error("internal error: bad kv-cache feed for slot " + str(f.slot));
      seen[size_t(f.slot)] = true;
      for (int64_t t : f.tokens)
        if (t < 0 || t >= l_.vocab)
          return Status::error("internal error: token " + str(t) + " outside the vocabulary");
    }
    logits.assign(feeds.size(), {});
    std::vector<Item> items(feeds.size()), now, later;
    for (size_t f = 0; f < feeds.size(); ++f) {
      Item &it = items[f];
      it.feed = f;
      it.slot = feeds[f].slot;
      it.tokens = &feeds[f].tokens;
      it.finalLength = length(it.slot) + int64_t(feeds[f].tokens.size());
      it.rows = feeds[f].logitsRows;
      logits[f].assign(size_t(it.rows * l_.vocab), 0.f);
      if (share_ && length(it.slot) == 0)
        findPrefix(items, f);
      if (it.leader >= 0)
        later.push_back(it);
      else
        now.push_back(it);
    }
    // Sequences sharing a live slot's prefix take its pages now; those
    // sharing the prompt of another feed of this call wait for its run.
    for (Item &it : now)
      if (it.source >= 0)
        EFFC_RETURN_IF_ERROR(takePrefix(it, it.source));
    EFFC_RETURN_IF_ERROR(runItems(now, logits));
    for (Item &it : later)
      EFFC_RETURN_IF_ERROR(takePrefix(it, items[size_t(it.leader)].slot));
    return runItems(later, logits);
  }

  Status truncate(int64_t slot, int64_t length) override {
    if (length < 0 || length > cache_.length(slot))
      return Status::error("internal error: truncate slot " + str(slot) + " to " + str(length));
    cache_.truncate(slot, length);
    held_[size_t(slot)].resize(size_t(length));
    return Status::OK();
  }
  /// With prefix sharing the slot's pages move into the prefix cache (unless
  /// a cached sequence already starts with all its tokens).
  void release(int64_t slot) override {
    auto &held = held_[size_t(slot)];
    bool cache = share_ && freeCache_.size() + lru_.size() > 0 && !held.empty();
    for (auto it = lru_.begin(); cache && it != lru_.end();) {
      const auto &other = held_[size_t(*it)];
      size_t n = std::min(other.size(), held.size());
      if (!std::equal(other.begin(), other.begin() + long(n), held.begin())) {
        ++it;
      } else if (other.size() >= held.size()) {
        cache = false; // already cached
      } else {
        evict(*it); // a shorter prefix of this one
        it = lru_.erase(it);
      }
    }
    if (!cache) {
      cache_.release(slot);
      held.clear();
      return;
    }
    if (freeCache_.empty()) {
      evict(lru_.front());
      lru_.pop_front();
    }
    int64_t c = freeCache_.back();
    freeCache_.pop_back();
    cache_.move(c, slot);
    held_[size_t(c)] = std::move(held);
    held.clear();
    lru_.push_back(c);
  }
  void reset(int64_t padToken) override {
    for (int64_t s = 0; s < cache_.slots(); ++s) {
      cache_.release(s);
      held_[size_t(s)].clear();
    }
    lru_.clear();
    freeCache_.clear();
    for (int64_t c = cache_.slots() - 1; c >= slots_; --c)
      freeCache_.push_back(c);
    pad_ = padToken;
  }
  PoolUsage pool() const override {
    PagedKvCache::Usage u = cache_.usage();
    PoolUsage p;
    p.unit = "pages";
    p.capacity = u.pages;
    p.used = u.used;
    p.tokensCapacity = u.pages * cache_.pageSize();
    p.tokensHeld = 0; // the serving slots' (not the prefix cache's)
    for (int64_t slot = 0; slot < slots_; ++slot)
      p.tokensHeld += cache_.length(slot);
    p.pageSize = cache_.pageSize();
    p.rowsStored = u.rowsStored;
    p.shared = u.shared;
    p.peakUsed = u.peakUsed;
    p.sharedTotal = u.sharedTotal;
    p.copiedTotal = u.copiedTotal;
    p.cached = reclaimable();
    return p;
  }
  int64_t unitsToGrow(int64_t slot, int64_t length) const override {
    return cache_.pagesToGrow(slot, std::min(length, maxLength()));
  }
  /// Free pages and those only the prefix cache holds (evicted on demand).
  int64_t freeUnits() const override { return cache_.freePages() + reclaimable(); }
  RunUsage runs() const override { return runs_; }

private:
  struct Item {
    size_t feed = 0;
    int64_t slot = 0;
    const std::vector<int64_t> *tokens = nullptr;
    int64_t done = 0;        ///< tokens of the feed the slot holds
    int64_t finalLength = 0; ///< the slot's length after the feed
    int64_t rows = 1;        ///< logits rows wanted (the last positions)
    int64_t shared = 0;      ///< prefix positions taken over from another slot
    int64_t source = -1;     ///< a live slot to share them from
    int64_t leader = -1;     ///< or the feed (index) whose prompt shares them
  };

  /// The longest prefix feed `f` (an empty slot) shares with what a live
  /// slot holds or with an earlier empty slot's feed of this call; at least
  /// its last `rows` positions stay to be computed (their logits are wanted).
  void findPrefix(std::vector<Item> &items, size_t f) {
    Item &it = items[f];
    const auto &tokens = *it.tokens;
    const int64_t cap = int64_t(tokens.size()) - it.rows;
    auto common = [&](const std::vector<int64_t> &other) {
      int64_t n = std::min<int64_t>(cap, int64_t(other.size())), c = 0;
      while (c < n && other[size_t(c)] == tokens[size_t(c)])
        ++c;
      return c;
    };
    std::vector<bool> fedEmpty(size_t(cache_.slots()), false);
    for (size_t g = 0; g < f; ++g)
      if (items[g].finalLength == int64_t(items[g].tokens->size()))
        fedEmpty[size_t(items[g].slot)] = true;
    for (int64_t s = 0; s < cache_.slots(); ++s) // live slots and the prefix cache
      if (s != it.slot && !fedEmpty[size_t(s)] && !held_[size_t(s)].empty()) {
        int64_t c = common(held_[size_t(s)]);
        if (c > it.shared) {
          it.shared = c;
          it.source = s;
        }
      }
    for (size_t g = 0; g < f; ++g)
      if (items[g].finalLength == int64_t(items[g].tokens->size()) && items[g].leader < 0) {
        int64_t c = common(*items[g].tokens);
        if (c > it.shared) {
          it.shared = c;
          it.source = -1;
          it.leader = int64_t(g);
        }
      }
  }

  Status takePrefix(Item &it, int64_t from) {
    auto used = std::find(lru_.begin(), lru_.end(), from);
    if (used != lru_.end()) { // a cached sequence: now the most recently used
      lru_.erase(used);
      lru_.push_back(from);
    }
    auto pages = cache_.share(it.slot, from, it.shared);
    if (!pages.ok())
      return pages.status();
    held_[size_t(it.slot)].assign(it.tokens->begin(), it.tokens->begin() + it.shared);
    it.done = it.shared;
    return Status::OK();
  }

  /// The items of the next run: at most the compiled batch of those with
  /// tokens left. A run pads every row to its longest feed, so with a batch
  /// range (a run of fewer rows costs less) feeds of one token (decode steps)
  /// run apart from longer ones (prompts, drafts), which go longest first.
  std::vector<Item *> nextGroup(std::vector<Item> &items) const {
    std::vector<Item *> pending;
    for (Item &it : items)
      if (it.done < int64_t(it.tokens->size()))
        pending.push_back(&it);
    auto left = [](const Item *it) { return int64_t(it->tokens->size()) - it->done; };
    const bool apart = l_.batch.min < l_.batch.max;
    if (apart)
      std::stable_sort(pending.begin(), pending.end(),
                       [&](const Item *a, const Item *b) { return left(a) > left(b); });
    std::vector<Item *> group;
    for (Item *it : pending)
      if (int64_t(group.size()) < l_.batch.max &&
          (!apart || group.empty() || (left(it) > 1) == (left(group[0]) > 1)))
        group.push_back(it);
    return group;
  }

  /// Runs the items' remaining tokens, at most the compiled batch of slots
  /// and seq tokens per run, writing each item's wanted logits rows.
  Status runItems(std::vector<Item> &items, std::vector<std::vector<float>> &logits) {
    if (pool_ && pool_->packed)
      return runPacked(items, logits);
    const Model &model = session_.model();
    const int64_t V = l_.vocab;
    for (;;) {
      std::vector<Item *> group = nextGroup(items);
      if (group.empty())
        return Status::OK();
      if (pool_) {
        EFFC_RETURN_IF_ERROR(runPooled(group, logits));
        continue;
      }
      int64_t P = 0, S = 0;
      for (Item *it : group) {
        P = std::max(P, length(it->slot));
        S = std::max(S, int64_t(it->tokens->size()) - it->done);
      }
      S = std::min({S, l_.seq.max, l_.total.max - P});
      if (S < 1 || P > l_.past.max)
        return Status::error("internal error: kv-cache run of past " + str(P) + " beyond bounds");
      const int64_t B = std::max<int64_t>(int64_t(group.size()), l_.batch.min), T = P + S;
      std::vector<int64_t> ids(size_t(B * S), pad_), positions(size_t(B * S), 0),
          mask(size_t(B * T), 0), count(size_t(B), 1), start(size_t(B), 0);
      for (int64_t b = 0; b < B; ++b) {
        if (b < int64_t(group.size())) {
          Item &it = *group[size_t(b)];
          start[size_t(b)] = length(it.slot);
          count[size_t(b)] = std::min(S, int64_t(it.tokens->size()) - it.done);
        }
        const int64_t L = start[size_t(b)], n = count[size_t(b)];
        for (int64_t t = 0; t < S; ++t) {
          if (t < n && b < int64_t(group.size()))
            ids[size_t(b * S + t)] =
                (*group[size_t(b)]->tokens)[size_t(group[size_t(b)]->done + t)];
          positions[size_t(b * S + t)] = L + std::min(t, n);
        }
        for (int64_t j = 0; j < L; ++j)
          mask[size_t(b * T + j)] = 1;
        for (int64_t t = 0; t < n; ++t)
          mask[size_t(b * T + P + t)] = 1;
      }
      HostFeeds feeds;
      EFFC_RETURN_IF_ERROR(feeds.addInts(model, l_.ids, {B, S}, ids));
      if (l_.mask >= 0)
        EFFC_RETURN_IF_ERROR(feeds.addInts(model, size_t(l_.mask), {B, T}, mask));
      if (l_.positions >= 0)
        EFFC_RETURN_IF_ERROR(feeds.addInts(model, size_t(l_.positions), {B, S}, positions));
      // The past: each row's positions gathered from its pages, zeros after.
      for (size_t k = 0; k < l_.cache.size(); ++k) {
        const TensorInfo &in = model.inputs()[l_.cache[k].first];
        const int64_t H = in.shape[1], R = in.shape[3] * int64_t(dtypeSize(in.dtype));
        auto *past = static_cast<uint8_t *>(feeds.add(in, {B, H, P, in.shape[3]}).data());
        for (size_t b = 0; b < group.size(); ++b)
          for (int64_t h = 0; h < H; ++h)
            for (int64_t t = 0; t < start[b]; ++t)
              std::memcpy(past + ((int64_t(b) * H + h) * P + t) * R,
                          cache_.row(group[b]->slot, k, h, t), size_t(R));
      }
      // Pages for the new rows, from the prefix cache if the pool is short.
      int64_t need = 0;
      for (size_t b = 0; b < group.size(); ++b)
        need += cache_.pagesToGrow(group[b]->slot, start[b] + count[b]);
      while (cache_.freePages() < need && !lru_.empty()) {
        evict(lru_.front());
        lru_.pop_front();
      }
      auto outputs = session_.run(feeds.views);
      if (!outputs.ok())
        return outputs.status();
      countRun(B * S, std::vector<int64_t>(count.begin(), count.begin() + long(group.size())));
      const HostTensor &out = (*outputs)[l_.logits];
      // The new rows of present.* into the pages, then the logits rows.
      for (size_t b = 0; b < group.size(); ++b) {
        Item &it = *group[b];
        EFFC_RETURN_IF_ERROR(cache_.append(it.slot, count[b]));
      }
      for (size_t k = 0; k < l_.cache.size(); ++k) {
        const HostTensor &present = (*outputs)[l_.cache[k].second];
        const auto &shape = present.shape();
        if (shape.size() != 4 || shape[0] != B || shape[2] != T)
          return Status::error("kv-cache: output '" + model.outputs()[l_.cache[k].second].name +
                               "' has shape " + shapeToString(shape) + ", expected [" + str(B) +
                               ", heads, " + str(T) + ", head_dim] (past " + str(P) + " + seq " +
                               str(S) + ")");
        const int64_t H = shape[1], R = shape[3] * int64_t(dtypeSize(present.dtype()));
        const auto *src = static_cast<const uint8_t *>(present.data());
        for (size_t b = 0; b < group.size(); ++b)
          for (int64_t h = 0; h < H; ++h)
            for (int64_t t = 0; t < count[b]; ++t)
              std::memcpy(cache_.row(group[b]->slot, k, h, start[b] + t),
                          src + ((int64_t(b) * H + h) * T + P + t) * R, size_t(R));
      }
      for (size_t b = 0; b < group.size(); ++b) {
        Item &it = *group[b];
        auto &held = held_[size_t(it.slot)];
        held.insert(held.end(), it.tokens->begin() + it.done,
                    it.tokens->begin() + it.done + count[b]);
        for (int64_t t = 0; t < count[b]; ++t) {
          int64_t r = start[b] + t - (it.finalLength - it.rows);
          if (r < 0)
            continue;
          float *dst = logits[it.feed].data() + r * V;
          int64_t base = (int64_t(b) * S + t) * V;
          for (int64_t v = 0; v < V; ++v)
            dst[v] = float(out.elementAsDouble(base + v));
        }
        it.done += count[b];
      }
    }
  }

  /// One run of a model compiled with --paged-kv over `group`: each row's
  /// new tokens are the last of the S columns, the pools are the store.
  Status runPooled(const std::vector<Item *> &group, std::vector<std::vector<float>> &logits) {
    const Model &model = session_.model();
    const int64_t PS = pool_->pageSize, MB = pool_->maxPages;
    int64_t S = 0;
    for (Item *it : group)
      S = std::max(S, int64_t(it->tokens->size()) - it->done);
    // A fixed seq takes every run at its length (left padding fills it).
    S = std::max(std::min(S, l_.seq.max), l_.seq.min);
    const int64_t B = std::max<int64_t>(int64_t(group.size()), l_.batch.min);
    std::vector<int64_t> count(group.size()), start(group.size());
    int64_t need = 0;
    for (size_t b = 0; b < group.size(); ++b) {
      start[b] = length(group[b]->slot);
      count[b] = std::min(S, int64_t(group[b]->tokens->size()) - group[b]->done);
      need += cache_.pagesToGrow(group[b]->slot, start[b] + count[b]);
    }
    // Pages for the new rows (from the prefix cache if the pool is short),
    // taken before the run: the model writes the rows into them.
    while (cache_.freePages() < need && !lru_.empty()) {
      evict(lru_.front());
      lru_.pop_front();
    }
    for (size_t b = 0; b < group.size(); ++b)
      EFFC_RETURN_IF_ERROR(cache_.append(group[b]->slot, count[b]));
    std::vector<int64_t> ids(size_t(B * S), pad_), positions(size_t(B * S), 0),
        table(size_t(B * MB), 0), lens(size_t(B), 0), slots(size_t(B * S), -1);
    for (size_t b = 0; b < group.size(); ++b) {
      const Item &it = *group[b];
      const int64_t L = start[b], n = count[b], row = int64_t(b) * S;
      const std::vector<int32_t> &pages = cache_.blockTable(it.slot);
      if (int64_t(pages.size()) > MB)
        return Status::error("internal error: slot " + str(it.slot) + " holds " +
                             str(int64_t(pages.size())) + " pages, the block table " + str(MB));
      std::copy(pages.begin(), pages.end(), table.begin() + long(int64_t(b) * MB));
      lens[b] = L + n;
      for (int64_t c = 0; c < S; ++c)
        positions[size_t(row + c)] = L; // padded columns: any valid position
      for (int64_t t = 0; t < n; ++t) {
        const int64_t c = S - n + t, pos = L + t;
        ids[size_t(row + c)] = (*it.tokens)[size_t(it.done + t)];
        positions[size_t(row + c)] = pos;
        slots[size_t(row + c)] = int64_t(pages[size_t(pos / PS)]) * PS + pos % PS;
      }
    }
    HostFeeds feeds;
    EFFC_RETURN_IF_ERROR(feeds.addInts(model, l_.ids, {B, S}, ids));
    if (l_.positions >= 0)
      EFFC_RETURN_IF_ERROR(feeds.addInts(model, size_t(l_.positions), {B, S}, positions));
    EFFC_RETURN_IF_ERROR(feeds.addInts(model, pool_->table, {B, MB}, table));
    EFFC_RETURN_IF_ERROR(feeds.addInts(model, pool_->lens, {B}, lens));
    EFFC_RETURN_IF_ERROR(feeds.addInts(model, pool_->slots, {B, S}, slots));
    // Row b's new tokens: the last count[b] of its S columns.
    std::vector<int64_t> first(group.size());
    for (size_t b = 0; b < group.size(); ++b)
      first[b] = int64_t(b) * S + S - count[b];
    EFFC_RETURN_IF_ERROR(runAndTake(feeds, B * S, group, count, start, first, logits));
    return Status::OK();
  }

  /// Runs `feeds` with the pools (a run of `positions` token positions that
  /// held the group's `count` tokens); then each item g of `group` holds its
  /// count[g] tokens more, the t-th from position start[g] + t, whose logits
  /// are the output's flattened row first[g] + t (kept from its feed's first
  /// returned row on).
  Status runAndTake(HostFeeds &feeds, int64_t positions, const std::vector<Item *> &group,
                    const std::vector<int64_t> &count, const std::vector<int64_t> &start,
                    const std::vector<int64_t> &first, std::vector<std::vector<float>> &logits) {
    feedPools(feeds);
    auto outputs = session_.run(feeds.views);
    if (!outputs.ok())
      return outputs.status();
    EFFC_RETURN_IF_ERROR(storePools(*outputs));
    countRun(positions, count);
    const HostTensor &out = (*outputs)[l_.logits];
    const int64_t V = l_.vocab;
    for (size_t g = 0; g < group.size(); ++g) {
      Item &it = *group[g];
      auto &held = held_[size_t(it.slot)];
      held.insert(held.end(), it.tokens->begin() + it.done,
                  it.tokens->begin() + it.done + count[g]);
      for (int64_t t = 0; t < count[g]; ++t) {
        int64_t r = start[g] + t - (it.finalLength - it.rows);
        if (r < 0)
          continue;
        float *dst = logits[it.feed].data() + r * V;
        const int64_t base = (first[g] + t) * V;
        for (int64_t v = 0; v < V; ++v)
          dst[v] = float(out.elementAsDouble(base + v));
      }
      it.done += count[g];
    }
    return Status::OK();
  }

  /// The pools as inputs (views of the store; none when they are session state).
  void feedPools(HostFeeds &feeds) {
    for (size_t k = 0; k < l_.cache.size(); ++k) {
      const TensorInfo &in = session_.model().inputs()[l_.cache[k].first];
      Tensor pool;
      pool.dtype = in.dtype;
      pool.shape = in.shape;
      pool.data = cache_.data(k);
      feeds.views[in.name] = pool;
    }
  }
  /// The pools a run returned (kv_pages_out.*) back into the store.
  Status storePools(const std::vector<HostTensor> &outputs) {
    for (size_t k = 0; k < l_.cache.size(); ++k) {
      const HostTensor &out = outputs[l_.cache[k].second];
      if (out.byteSize() != cache_.dataBytes(k))
        return Status::error("paged kv: output '" +
                             session_.model().outputs()[l_.cache[k].second].name + "' has shape " +
                             shapeToString(out.shape()) + ", not its pool's");
      std::memcpy(cache_.data(k), out.data(), out.byteSize());
    }
    return Status::OK();
  }
  /// A run of `positions` token positions that held `count` tokens.
  void countRun(int64_t positions, const std::vector<int64_t> &count) {
    int64_t tokens = 0;
    for (int64_t n : count)
      tokens += n;
    ++runs_.runs;
    runs_.positions += positions;
    runs_.padded += positions - tokens;
  }

  /// Runs the items' remaining tokens over a model compiled with
  /// --packed-tokens: each run packs the next tokens of every item with
  /// tokens left back to back (decode tokens first, then the others in feed
  /// order, a longer feed cut where the run is full: at most seq.max tokens),
  /// padded only up to a fixed seq.min.
  Status runPacked(std::vector<Item> &items, std::vector<std::vector<float>> &logits) {
    const Model &model = session_.model();
    const int64_t PS = pool_->pageSize, MB = pool_->maxPages;
    for (;;) {
      std::vector<Item *> pending, group;
      for (Item &it : items)
        if (it.done < int64_t(it.tokens->size()))
          pending.push_back(&it);
      auto left = [](const Item *it) { return int64_t(it->tokens->size()) - it->done; };
      std::stable_partition(pending.begin(), pending.end(),
                            [&](const Item *it) { return left(it) == 1; });
      std::vector<int64_t> count, start, offset;
      int64_t T = 0;
      for (Item *it : pending) {
        if (T == l_.seq.max)
          break;
        group.push_back(it);
        count.push_back(std::min(left(it), l_.seq.max - T));
        start.push_back(length(it->slot));
        offset.push_back(T);
        T += count.back();
      }
      if (group.empty())
        return Status::OK();
      const int64_t TP = std::max(T, l_.seq.min); // positions run
      int64_t need = 0;
      for (size_t g = 0; g < group.size(); ++g)
        need += cache_.pagesToGrow(group[g]->slot, start[g] + count[g]);
      while (cache_.freePages() < need && !lru_.empty()) {
        evict(lru_.front());
        lru_.pop_front();
      }
      for (size_t g = 0; g < group.size(); ++g)
        EFFC_RETURN_IF_ERROR(cache_.append(group[g]->slot, count[g]));
      // Padded positions (only up to a fixed seq.min): length 0 (their
      // queries see nothing), slot -1 (nothing written).
      const int64_t N = int64_t(group.size());
      std::vector<int64_t> ids(size_t(TP), pad_), positions(size_t(TP), 0),
          table(size_t(N * MB), 0), tokenSeq(size_t(TP), 0), lens(size_t(TP), 0),
          slots(size_t(TP), -1);
      for (size_t g = 0; g < group.size(); ++g) {
        const Item &it = *group[g];
        const std::vector<int32_t> &pages = cache_.blockTable(it.slot);
        if (int64_t(pages.size()) > MB)
          return Status::error("internal error: slot " + str(it.slot) + " holds " +
                               str(int64_t(pages.size())) + " pages, the block table " + str(MB));
        std::copy(pages.begin(), pages.end(), table.begin() + long(int64_t(g) * MB));
        for (int64_t t = 0; t < count[g]; ++t) {
          const int64_t c = offset[g] + t, pos = start[g] + t;
          ids[size_t(c)] = (*it.tokens)[size_t(it.done + t)];
          positions[size_t(c)] = pos;
          slots[size_t(c)] = int64_t(pages[size_t(pos / PS)]) * PS + pos % PS;
          tokenSeq[size_t(c)] = int64_t(g);
          lens[size_t(c)] = pos + 1;
        }
      }
      HostFeeds feeds;
      EFFC_RETURN_IF_ERROR(feeds.addInts(model, l_.ids, {1, TP}, ids));
      if (l_.positions >= 0)
        EFFC_RETURN_IF_ERROR(feeds.addInts(model, size_t(l_.positions), {1, TP}, positions));
      EFFC_RETURN_IF_ERROR(feeds.addInts(model, pool_->table, {N, MB}, table));
      EFFC_RETURN_IF_ERROR(feeds.addInts(model, pool_->tokenSeq, {TP}, tokenSeq));
      EFFC_RETURN_IF_ERROR(feeds.addInts(model, pool_->lens, {TP}, lens));
      EFFC_RETURN_IF_ERROR(feeds.addInts(model, pool_->slots, {1, TP}, slots));
      EFFC_RETURN_IF_ERROR(runAndTake(feeds, TP, group, count, start, offset, logits));
    }
  }

  /// Empties prefix-cache slot `c` (the caller drops it from lru_).
  void evict(int64_t c) {
    cache_.release(c);
    held_[size_t(c)].clear();
    freeCache_.push_back(c);
  }

  /// Pages that only prefix-cache slots hold.
  int64_t reclaimable() const {
    std::map<int32_t, int32_t> refs;
    for (int64_t c : lru_)
      for (int32_t page : cache_.blockTable(c))
        ++refs[page];
    int64_t n = 0;
    for (auto [page, count] : refs)
      n += cache_.refCount(page) == count;
    return n;
  }

  Session &session_;
  PastLayout l_;
  PagedKvCache cache_;
  bool share_ = true;
  int64_t slots_ = 0; ///< serving slots: cache_'s first slots; the prefix cache's after them
  int64_t pad_ = 0;
  std::vector<std::vector<int64_t>> held_; ///< per slot: the tokens its pages hold
  std::deque<int64_t> lru_;                ///< prefix-cache slots in use, oldest first
  std::vector<int64_t> freeCache_;         ///< prefix-cache slots free
  std::optional<PoolLayout> pool_;         ///< compiled with --paged-kv
  RunUsage runs_;
};

/// The layout of a model compiled with --paged-kv, or an error saying why
/// the engine cannot drive it. `l.cache` pairs kv_pages.* with kv_pages_out.*.
StatusOr<std::pair<PastLayout, PoolLayout>> analyzePoolModel(const Model &model) {
  auto refuse = [&](const std::string &why) {
    return Status::error(model.path() + ": cannot serve (paged KV cache compiled in): " + why);
  };
  const auto &ins = model.inputs();
  const auto &outs = model.outputs();
  auto outputIndex = [&](const std::string &name) {
    for (size_t k = 0; k < outs.size(); ++k)
      if (outs[k].name == name)
        return int(k);
    return -1;
  };
  PastLayout l;
  PoolLayout p;
  int ids = -1, table = -1, lens = -1, slots = -1;
  for (size_t i = 0; i < ins.size(); ++i) {
    const TensorInfo &in = ins[i];
    if (in.name == "input_ids") {
      ids = int(i);
    } else if (in.name == "position_ids") {
      l.positions = int(i);
    } else if (in.name == "block_table") {
      table = int(i);
    } else if (in.name == "seq_lens" || in.name == "token_seq_lens") {
      lens = int(i);
    } else if (in.name == "token_seq") {
      p.packed = true;
      p.tokenSeq = i;
    } else if (in.name == "slot_mapping") {
      slots = int(i);
    } else if (in.name.rfind(kPoolPrefix, 0) == 0) {
      std::string out = kPoolOutPrefix + in.name.substr(std::string(kPoolPrefix).size());
      int o = outputIndex(out);
      if (o < 0 || outs[size_t(o)].shape != in.shape || outs[size_t(o)].dtype != in.dtype)
        return refuse("input '" + in.name + "' has no output '" + out + "' of its shape");
      if (in.shape.size() != 4 || in.shape[0] < 1 || in.shape[1] < 1 || in.shape[2] < 1 ||
          in.shape[3] < 1)
        return refuse("pool '" + in.name +
                      "' must be a fixed [pages, kv_heads, page_size, head_dim], got " +
                      shapeToString(in.shape));
      if (p.pageSize == 0) {
        p.pages = in.shape[0];
        p.pageSize = in.shape[2];
      } else if (in.shape[0] != p.pages || in.shape[2] != p.pageSize) {
        return refuse("pools '" + ins[l.cache.front().first].name + "' and '" + in.name +
                      "' differ in pages or page size");
      }
      l.cache.emplace_back(i, size_t(o));
    } else {
      return refuse("input '" + in.name +
                    "' is none of input_ids, position_ids, block_table, seq_lens, "
                    "slot_mapping, kv_pages.* (or token_seq, token_seq_lens), so nothing "
                    "knows what to feed it");
    }
  }
  // Pools kept in session state (all pools or none: the compiler's rule).
  for (const StateInfo &st : model.states()) {
    if (!st.pages)
      return refuse("session state '" + st.output + "' is a contiguous cache, not a page pool");
    if (!l.cache.empty())
      return refuse("pool '" + st.input + "' is session state but '" +
                    ins[l.cache.front().first].name + "' is an input");
    if (st.shape.size() != 4 || st.shape[0] < 1 || st.shape[1] < 1 || st.shape[2] < 1 ||
        st.shape[3] < 1)
      return refuse("pool '" + st.input + "' must be a fixed [pages, kv_heads, page_size, " +
                    "head_dim], got " + shapeToString(st.shape));
    if (p.pageSize == 0) {
      p.pages = st.shape[0];
      p.pageSize = st.shape[2];
    } else if (st.shape[0] != p.pages || st.shape[2] != p.pageSize) {
      return refuse("pools '" + model.states().front().input + "' and '" + st.input +
                    "' differ in pages or page size");
    }
    p.statePools.push_back({st.shape[1], st.shape[3] * int64_t(dtypeSize(st.dtype))});
  }
  if (ids < 0 || table < 0 || lens < 0 || slots < 0 || (l.cache.empty() && p.statePools.empty()))
    return refuse("expected inputs input_ids, block_table, seq_lens, slot_mapping and kv_pages.* "
                  "(or the pools in session state)");
  if (p.packed != (ins[size_t(lens)].name == "token_seq_lens"))
    return refuse(p.packed ? "input token_seq (packed tokens) needs token_seq_lens, not seq_lens"
                           : "input token_seq_lens needs token_seq (packed tokens)");
  l.ids = size_t(ids);
  p.table = size_t(table);
  p.lens = size_t(lens);
  p.slots = size_t(slots);
  auto extent = [&](const TensorInfo &info, size_t d, PastExtent &e) -> Status {
    if (d >= info.shape.size())
      return Status::error("input '" + info.name + "' has rank " + str(int64_t(info.shape.size())));
    if (info.shape[d] >= 0) {
      e = {"", info.shape[d], info.shape[d]};
      return Status::OK();
    }
    const std::string &name = d < info.dimNames.size() ? info.dimNames[d] : std::string();
    for (const DimInfo &dim : model.dims())
      if (dim.name == name) {
        e = {dim.name, dim.min, dim.max};
        return Status::OK();
      }
    return Status::error("input '" + info.name + "' dim " + str(int64_t(d)) + " is '" + name +
                         "', not a dim of its own");
  };
  if (Status s = extent(ins[l.ids], 0, l.batch); !s.ok())
    return refuse(s.message());
  if (Status s = extent(ins[l.ids], 1, l.seq); !s.ok())
    return refuse(s.message());
  const TensorInfo &t = ins[p.table];
  if (t.shape.size() != 2 || t.shape[1] < 1)
    return refuse("input 'block_table' must be [" + std::string(p.packed ? "seqs" : "batch") +
                  ", max_pages], got " + shapeToString(t.shape));
  // Packed tokens (effc --packed-tokens): one row of input_ids holds them.
  if (p.packed && (l.batch.min != 1 || l.batch.max != 1))
    return refuse("input_ids must be [1, tokens] with input token_seq, got batch " +
                  str(l.batch.min) + ".." + str(l.batch.max));
  p.maxPages = t.shape[1];
  l.past = {"", 0, p.maxPages * p.pageSize - 1};
  l.total = {"", 1, p.maxPages * p.pageSize};
  int logits = outputIndex("logits");
  if (logits < 0 || outs[size_t(logits)].shape.size() != 3 || outs[size_t(logits)].shape[2] <= 0)
    return refuse("no output 'logits' [batch, seq, vocab] with a fixed vocab");
  l.logits = size_t(logits);
  l.vocab = outs[size_t(logits)].shape[2];
  return std::make_pair(std::move(l), p);
}

/// The slot model of a model compiled with --paged-kv: the cache's page
/// size is the compiled one, its pages at most the compiled pool's.
StatusOr<std::unique_ptr<SlotModel>> makePoolSlotModel(Session &session,
                                                       const PagedOptions &options) {
  auto layout = analyzePoolModel(session.model());
  if (!layout.ok())
    return layout.status();
  PastLayout &l = layout->first;
  const PoolLayout &p = layout->second;
  const Model &model = session.model();
  if (options.pageSize != p.pageSize)
    return Status::error(model.path() + ": compiled with --paged-kv=" + str(p.pageSize) +
                         " (pages of " + str(p.pageSize) + " tokens); the KV page size is " +
                         str(options.pageSize) + " (--kv-page-size " + str(p.pageSize) +
                         " to serve it)");
  if (options.pages < 0 || options.pages > p.pages)
    return Status::error(model.path() + ": the compiled KV pools hold " + str(p.pages) +
                         " pages (effc --paged-kv-pages); the engine asks for " +
                         str(options.pages));
  std::vector<PagedKvCache::TensorLayout> tensors = p.statePools;
  for (auto [in, out] : l.cache) {
    const TensorInfo &info = model.inputs()[in];
    tensors.push_back({info.shape[1], info.shape[3] * int64_t(dtypeSize(info.dtype))});
  }
  // Packed tokens: any number of sequences per run; by default as many as
  // the compiled pool holds at their longest (a smaller pool preempts).
  const int64_t pages = options.pages > 0 ? options.pages : p.pages;
  const int64_t slots = options.slots > 0 ? options.slots
                        : p.packed        ? std::max<int64_t>(1, p.pages / p.maxPages)
                                          : l.batch.max;
  const int64_t cacheSlots = options.sharePrefixes ? slots : 0;
  auto cache =
      PagedKvCache::create(p.pageSize, pages, slots + cacheSlots, std::move(tensors), p.pages);
  if (!cache.ok())
    return cache.status();
  // Pools in session state: the pages stay on the session's device; a
  // copy-on-write copies one page there.
  if (!p.statePools.empty())
    cache->keepPagesElsewhere(
        [&session](int32_t from, int32_t to) { return session.copyStatePage(from, to); });
  return std::unique_ptr<SlotModel>(new PagedSlotModel(session, std::move(l), std::move(*cache),
                                                       slots, options.sharePrefixes, p));
}

} // namespace

bool hasPagedKvPool(const Model &model) {
  for (const TensorInfo &in : model.inputs())
    if (in.name.rfind(kPoolPrefix, 0) == 0)
      return true;
  for (const StateInfo &st : model.states())
    if (st.pages)
      return true;
  return false;
}

StatusOr<std::unique_ptr<SlotModel>> makePagedSlotModel(Session &session,
                                                        const PagedOptions &options) {
  if (options.slots < 0)
    return Status::error("serving slots must be >= 0 (0: the compiled batch), got " +
                         str(options.slots));
  if (hasPagedKvPool(session.model()))
    return makePoolSlotModel(session, options);
  if (!session.model().states().empty())
    return Status::error(session.model().path() +
                         ": cannot serve with a paged KV cache: the artifact keeps its KV cache in "
                         "session state (one sequence set per session): compile it without "
                         "--kv-state");
  auto layout = analyzePastModel(session.model());
  if (!layout.ok())
    return layout.status();
  if (layout->logitsIndex >= 0)
    return Status::error(session.model().path() +
                         ": cannot serve with a paged KV cache: the artifact computes the logits "
                         "of one position per row (input 'logits_index'): compile it without "
                         "--last-logits");
  const Model &model = session.model();
  std::vector<PagedKvCache::TensorLayout> tensors;
  for (auto [in, out] : layout->cache) {
    const TensorInfo &info = model.inputs()[in];
    if (info.shape[1] < 1 || info.shape[3] < 1)
      return Status::error(model.path() + ": cannot serve with a paged KV cache: input '" +
                           info.name + "' has shape " + shapeToString(info.shape) +
                           "; its heads and head_dim must be fixed");
    tensors.push_back({info.shape[1], info.shape[3] * int64_t(dtypeSize(info.dtype))});
  }
  const int64_t slots = options.slots > 0 ? options.slots : layout->batch.max;
  const int64_t maxLength = std::min(layout->past.max + 1, layout->total.max);
  if (options.pageSize < 1)
    return Status::error("KV page size must be >= 1 token, got " + str(options.pageSize));
  if (options.pages < 0)
    return Status::error("KV pool pages must be >= 0 (0: enough for every slot), got " +
                         str(options.pages));
  int64_t pages = options.pages > 0
                      ? options.pages
                      : slots * ((maxLength + options.pageSize - 1) / options.pageSize);
  // As many prefix-cache entries as serving slots (with prefix sharing).
  const int64_t cacheSlots = options.sharePrefixes ? slots : 0;
  auto cache =
      PagedKvCache::create(options.pageSize, pages, slots + cacheSlots, std::move(tensors));
  if (!cache.ok())
    return cache.status();
  return std::unique_ptr<SlotModel>(new PagedSlotModel(
      session, std::move(*layout), std::move(*cache), slots, options.sharePrefixes));
}

} // namespace effc::detail
