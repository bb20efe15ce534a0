// What serving (effc/Engine.h) needs from a model: sequences that live in
// slots and advance independently. One forward pass appends tokens to any
// set of slots (a new sequence's prompt, one decode token, or a speculative
// draft of several) and gives the logits of the last few positions of each;
// a slot can be rewound (speculative decoding drops rejected drafts) or
// released (its sequence finished) while the others go on.
//
// Recompute mode (RecomputeStepModel.cpp) is one implementation: a slot
// is one row of the compiled [batch, seq] window, so there are `batch` slots
// of `seq` tokens and every forward reruns the whole window. A KV-cache model
// (PagedSlotModel.cpp) implements the same calls over its paged cache:
// forward() appends the new tokens' K/V to each slot's pages (allocated as a
// slot grows), truncate() moves a slot's length back, release() frees its
// pages, and pool() reports pages instead of rows. The Generator's batch-synchronous
// StepModel (StepModel.h) is an adapter over this interface
// (makeStepModelOverSlots).
#pragma once

#include "effc/Status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace effc {
class Model;
class Session;
} // namespace effc

namespace effc::detail {

/// What holds the sequences' state, for metrics (/metrics, effc-run).
struct PoolUsage {
  std::string unit;     ///< "slots" (recompute rows) or, with paging, "pages"
  int64_t capacity = 0; ///< units in the pool
  int64_t used = 0;     ///< units holding a live sequence
  int64_t tokensCapacity = 0;
  int64_t tokensHeld = 0; ///< tokens the live sequences hold
  // Paged KV cache only (PagedKvCache::Usage):
  int64_t pageSize = 0;    ///< tokens per page
  int64_t rowsStored = 0;  ///< positions written in the used pages (a shared one once)
  int64_t shared = 0;      ///< pages more than one sequence holds now
  int64_t peakUsed = 0;    ///< most pages used at once
  int64_t sharedTotal = 0; ///< page references taken over from another sequence
  int64_t copiedTotal = 0; ///< copy-on-write page copies
  int64_t cached = 0;      ///< used pages only the prefix cache holds (reclaimable)
};

/// What the forward passes computed for new tokens, for metrics: runs of
/// the model, token positions they computed (rows x columns of their
/// input_ids), and of those the padded ones, which held no token (rows
/// padded to a run's longest feed, to the compiled batch or seq).
struct RunUsage {
  int64_t runs = 0;
  int64_t positions = 0;
  int64_t padded = 0;
};

class SlotModel {
public:
  virtual ~SlotModel() = default;
  /// Sequences held at once.
  virtual int64_t slots() const = 0;
  /// Tokens a slot may hold.
  virtual int64_t maxLength() const = 0;
  virtual int64_t vocabSize() const = 0;
  virtual const char *mode() const = 0;
  /// What bounds maxLength(), for the error of a request that exceeds it.
  virtual std::string lengthLimit() const {
    return std::string(mode()) + " mode generates within the compiled seq";
  }
  /// Tokens slot `slot` holds now.
  virtual int64_t length(int64_t slot) const = 0;

  struct Feed {
    int64_t slot = 0;
    std::vector<int64_t> tokens; ///< appended to the slot (at least one)
    int64_t logitsRows = 1;      ///< 1..tokens.size(): logits of the last rows positions
  };
  /// Appends every feed's tokens to its slot in one batched forward pass.
  /// logits[f] becomes feeds[f].logitsRows x vocabSize() floats: row r
  /// predicts the token after position length - logitsRows + r. Slots must
  /// be distinct; ids in the vocabulary; lengths within maxLength().
  virtual Status forward(const std::vector<Feed> &feeds,
                         std::vector<std::vector<float>> &logits) = 0;
  /// Forgets what slot `slot` holds past `length` (<= its length).
  virtual Status truncate(int64_t slot, int64_t length) = 0;
  /// Empties slot `slot`; its storage returns to the pool.
  virtual void release(int64_t slot) = 0;
  /// Empties every slot; `padToken` fills positions no sequence holds
  /// (recompute mode's window; a causal model never reads them).
  virtual void reset(int64_t padToken) = 0;
  virtual PoolUsage pool() const = 0;
  /// Since the start (zeros where a model does not count them).
  virtual RunUsage runs() const { return {}; }
  /// Pool units growing `slot` to `length` tokens takes (0 where the slots
  /// are preallocated, as in recompute mode); the Engine preempts
  /// sequences when the active ones need more than freeUnits().
  virtual int64_t unitsToGrow(int64_t /*slot*/, int64_t /*length*/) const { return 0; }
  virtual int64_t freeUnits() const { return 0; }
};

/// Recompute mode over `session` (RecomputeStepModel.cpp): slots are the rows
/// of the compiled [batch, seq] window. Errors say why the model cannot
/// generate this way.
StatusOr<std::unique_ptr<SlotModel>> makeRecomputeSlotModel(Session &session);

/// KV-cache mode over a decoder exported with past (PagedSlotModel.cpp): the
/// slots' K/V live in a paged pool (PagedKvCache.h) of `pages` pages of
/// `pageSize` tokens (0: enough for every slot at the longest length), and
/// with `sharePrefixes` a new sequence takes over the pages of the longest
/// prefix it shares with another (copy-on-write), and finished sequences'
/// pages stay in a prefix cache until the pool needs them. Slots: `slots`
/// (0: the compiled batch's upper bound); a forward over more slots than
/// the compiled batch runs them in several runs of at most that batch.
struct PagedOptions {
  int64_t pageSize = 16;
  int64_t pages = 0;
  bool sharePrefixes = true;
  int64_t slots = 0;
};
StatusOr<std::unique_ptr<SlotModel>> makePagedSlotModel(Session &session,
                                                        const PagedOptions &options);
/// Whether `model` was compiled with --paged-kv (kv_pages.* pool inputs):
/// makePagedSlotModel serves it without gathering a past.
bool hasPagedKvPool(const Model &model);

class StepModel;
/// The Generator's batch-synchronous interface over a slot model: prefill
/// fills slots 0..n-1, step appends one token to each live one.
std::unique_ptr<StepModel> makeStepModelOverSlots(std::unique_ptr<SlotModel> slots);

} // namespace effc::detail
