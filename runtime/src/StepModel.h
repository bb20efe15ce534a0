// What the Generator's loop needs from a model (effc/Generator.h): start
// sequences from their prompts, append one token to each live sequence, and
// after each call the logits of every sequence's next token. The recompute
// step model (RecomputeStepModel.cpp) reruns a fixed-shape window; the
// KV-cache step model (PastStepModel.cpp) drives a decoder exported with past
// (prefill, then one-token steps that feed each run's cache to the next).
#pragma once

#include "Sampler.h"
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

/// How a step model picks tokens itself (StepModel::pickTokens).
struct PickRule {
  SamplingParams sampling; ///< temperature 0: greedy
  uint64_t seed = 0;
};

class StepModel {
public:
  virtual ~StepModel() = default;
  virtual int64_t maxBatch() const = 0;
  /// Tokens a sequence may hold (prompt + generated).
  virtual int64_t maxLength() const = 0;
  virtual int64_t vocabSize() const = 0;
  virtual const char *mode() const = 0;
  /// What bounds maxLength(), for the error of a request that exceeds it.
  virtual std::string lengthLimit() const {
    return std::string(mode()) + " mode generates within the compiled seq";
  }

  /// Starts prompts.size() (<= maxBatch()) sequences; the Generator has
  /// checked the lengths and ids. `logits` becomes prompts.size() x
  /// vocabSize() floats: row b predicts sequence b's next token. `padToken`
  /// fills what the sequences do not hold.
  virtual Status prefill(const std::vector<std::vector<int64_t>> &prompts, int64_t padToken,
                         std::vector<float> &logits) = 0;
  /// Appends tokens[b] to every sequence b with live[b] and rewrites the
  /// logits rows of the live sequences (the others keep their values).
  virtual Status step(const std::vector<int64_t> &tokens, const std::vector<bool> &live,
                      std::vector<float> &logits) = 0;

  /// Picks that need no logits on the host: while `rule` is set, prefill
  /// and step leave `logits` as it is and write each (live) sequence b's
  /// token into picks()[b] instead, -1 where its row holds a NaN: the first
  /// maximum (temperature 0) or the token sampled with the random word
  /// tokenRandom(rule->seed, b, k), k = 0 for the prefill's picks and j for
  /// the j-th step's (Sampler.h; on the cuda backend the pick runs on the
  /// device and only the ids cross). nullptr turns it off. Returns whether
  /// the model does this; if not, the Generator picks from the logits.
  virtual bool pickTokens(const PickRule *rule) {
    (void)rule;
    return false;
  }
  const std::vector<int64_t> &picks() const { return picks_; }

protected:
  std::vector<int64_t> picks_;
};

/// EFFC_GENERATE_HOST_LOGITS=1 (set, not "0"): generation on the cuda backend
/// brings every run's whole logits to the host and picks there, as before
/// the logits stayed on the device (the "before" of timings, and the host
/// picks that device picks are compared with).
bool wholeLogitsToHost();

/// Recompute mode over `session` (RecomputeStepModel.cpp); errors say why the
/// model cannot generate this way.
StatusOr<std::unique_ptr<StepModel>> makeRecomputeStepModel(Session &session);

/// Whether the model takes past_key_values.* inputs (an Optimum-style decoder
/// with past), which the KV-cache mode drives.
bool hasPastInputs(const Model &model);
/// Where KV-cache mode keeps the cache between runs (PastStepModel.cpp).
enum class PastCacheFeed {
  /// In two buffers of the session's memory (device memory on the cuda
  /// backend): each run reads the past from one and writes the present into
  /// the other (Session::runInto); only ids, mask, positions and logits move
  /// between host and device. Taken when the model's outputs are logits and
  /// present.* alone, with fixed heads and head dims; else FeedOutputs.
  SessionBuffers,
  /// Each run's present.* come back to the host (Session::run) and go in as
  /// the next run's past_key_values.* (the first stage; kept as the reference
  /// the other is checked against, GeneratorTest).
  FeedOutputs,
  /// The artifact keeps the cache in session state (Model::states(), issue
  /// 14 S4): one buffer per cache tensor that each run appends to in place;
  /// only ids, mask, positions go in and logits come out; a new generation
  /// resets the state's rows (Session::resetState). Always taken for such
  /// an artifact (it has no past inputs to feed).
  StateBound,
};
/// KV-cache mode over such a model (PastStepModel.cpp): prefill with an
/// empty past, then one token per step, each run's present.* the next run's
/// past; errors say why the model cannot generate this way.
StatusOr<std::unique_ptr<StepModel>>
makePastStepModel(Session &session, PastCacheFeed feed = PastCacheFeed::SessionBuffers);

} // namespace effc::detail
