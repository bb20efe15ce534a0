// The Generator's batch-synchronous StepModel over a SlotModel: sequence b
// lives in slot b; prefill empties every slot and feeds the prompts, a step
// feeds one token to each live sequence. One forward pass per call, as the
// StepModel contract has it.
#include "SlotModel.h"
#include "StepModel.h"

#include <algorithm>
#include <string>

namespace effc::detail {
namespace {

class SlotStepModel final : public StepModel {
public:
  explicit SlotStepModel(std::unique_ptr<SlotModel> slots) : slots_(std::move(slots)) {}

  int64_t maxBatch() const override { return slots_->slots(); }
  int64_t maxLength() const override { return slots_->maxLength(); }
  int64_t vocabSize() const override { return slots_->vocabSize(); }
  const char *mode() const override { return slots_->mode(); }

  Status prefill(const std::vector<std::vector<int64_t>> &prompts, int64_t padToken,
                 std::vector<float> &logits) override {
    slots_->reset(padToken);
    logits.assign(prompts.size() * size_t(vocabSize()), 0.f);
    std::vector<SlotModel::Feed> feeds;
    for (size_t b = 0; b < prompts.size(); ++b)
      feeds.push_back({int64_t(b), prompts[b], 1});
    sequences_ = prompts.size();
    return run(feeds, logits);
  }

  Status step(const std::vector<int64_t> &tokens, const std::vector<bool> &live,
              std::vector<float> &logits) override {
    if (tokens.size() != sequences_ || live.size() != sequences_ ||
        logits.size() != sequences_ * size_t(vocabSize()))
      return Status::error("internal error: step before prefill");
    std::vector<SlotModel::Feed> feeds;
    for (size_t b = 0; b < sequences_; ++b)
      if (live[b])
        feeds.push_back({int64_t(b), {tokens[b]}, 1});
    return run(feeds, logits);
  }

private:
  /// One forward over `feeds`, each feed's row into its sequence's row of
  /// `logits` (the other rows keep their values).
  Status run(const std::vector<SlotModel::Feed> &feeds, std::vector<float> &logits) {
    const size_t V = size_t(vocabSize());
    logits.resize(sequences_ * V, 0.f);
    if (feeds.empty())
      return Status::OK();
    EFFC_RETURN_IF_ERROR(slots_->forward(feeds, rows_));
    for (size_t k = 0; k < feeds.size(); ++k)
      std::copy_n(rows_[k].data(), V, logits.data() + size_t(feeds[k].slot) * V);
    return Status::OK();
  }

  std::unique_ptr<SlotModel> slots_;
  size_t sequences_ = 0;
  std::vector<std::vector<float>> rows_;
};

} // namespace

std::unique_ptr<StepModel> makeStepModelOverSlots(std::unique_ptr<SlotModel> slots) {
  return std::make_unique<SlotStepModel>(std::move(slots));
}

} // namespace effc::detail
