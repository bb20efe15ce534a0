// Text generation with a causal language model (issue 14 part 3): a prefill
// of the prompts, then one token per step for every sequence of a batch,
// picked greedily or by seeded sampling, until max new tokens or a stop token.
//
// The loop runs over a step model: something that starts sequences from their
// prompts and appends one token to each, giving the logits of every
// sequence's next token after each call (runtime/src/StepModel.h). Today's
// one is recompute mode: a fixed-shape artifact (input_ids [batch, seq] ->
// logits [batch, seq, vocab], compiled with e.g. --dim batch=2 --dim seq=32)
// runs the whole window again each step, prompt and generated tokens
// right-padded in it. With causal attention the logits at position t depend
// only on tokens <= t, so each sequence reads its own last position and
// sequences of different lengths share a batch. Each step costs a full
// forward pass (O(n^2) over a generation) and, on the cuda backend, only
// the logits rows a step reads come back to the host, for picking there.
//
// A decoder exported with past (Optimum's past_key_values.{i}.key/value ->
// present.{i}.key/value, with attention_mask and position_ids) runs in
// KV-cache mode instead: compiled with symbolic seq, past and total (e.g.
// --dim seq=1..32 --dim past=0..255 --dim total=1..288), it prefills the
// prompts from an empty past (in chunks of at most max seq tokens), then runs
// one token per step, each run's present.* the next run's past, kept in the
// session's memory (on the cuda backend the cache and the logits stay on the
// device: only the ids go in, and each sequence's last logits row, or
// without returned logits only its token id, picked on the device, greedy
// or sampled, comes back). Prompts
// of different lengths are right-padded and masked (PastStepModel.cpp says
// why); a sequence holds at most past's bound + 1 tokens.
//
// Errors are Status messages; nothing throws. A Generator uses its Session
// (one thread at a time, like the Session itself); the Session must outlive it.
#pragma once

#include "effc/Status.h"
#include "effc/Tensor.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace effc {

class Session;
namespace detail {
class StepModel; // runtime-internal: runtime/src/StepModel.h
}

struct GenerationOptions {
  /// Tokens to generate per sequence (>= 1); fewer when a stop token ends it.
  int64_t maxNewTokens = 16;
  /// 0: greedy (the first argmax). > 0: sample from softmax(logits /
  /// temperature) after the top-k and top-p filters.
  double temperature = 0;
  /// Sampling: keep only the k most likely tokens; 0: all.
  int64_t topK = 0;
  /// Sampling: keep the most likely tokens whose probability mass reaches
  /// top_p (at least one); 1: all. In (0, 1].
  double topP = 1;
  /// Sampling seed. Sequence b's k-th new token is drawn with the random
  /// word of (seed, b, k) (Philox4x32-10), so its tokens do not depend on
  /// the other sequences of the batch, and the cuda backend's device picks
  /// give the host's tokens (compiler/codegen/device/token_sampling.cuh).
  uint64_t seed = 0;
  /// A sequence ends after it emits one of these (the stop token is returned).
  std::vector<int64_t> stopTokenIds;
  /// Fills the window past each sequence's tokens (never read by a causal model).
  int64_t padTokenId = 0;
  /// Teacher forcing: when not empty, one row per sequence with at least
  /// maxNewTokens tokens; row b's k-th token is fed back as sequence b's k-th
  /// new token instead of the one picked (which is still returned). Stop
  /// tokens apply to the fed token. For checking logits step by step where a
  /// near-tie may pick another token (bf16).
  std::vector<std::vector<int64_t>> forcedTokens;
  /// Return the logits each token was picked from.
  bool returnLogits = false;
  /// Called with k once every live sequence's k-th new token is picked (k = 0
  /// right after the prefill). The token (or the logits it was picked from)
  /// is on the host by then, so the device work behind it has finished: effc-run
  /// --generate N --bench R times the prefill and each decode step with it.
  std::function<void(int64_t k)> onToken;
};

struct GenerationResult {
  /// Per sequence, the tokens picked (stop token included).
  std::vector<std::vector<int64_t>> tokens;
  /// With returnLogits: float32 [sequences, maxNewTokens, vocab], the model's
  /// logits at each step (before temperature); zero after a sequence ended.
  HostTensor logits;
};

class Generator {
public:
  /// A generator over `session`'s model: KV-cache mode when it has
  /// past_key_values.* inputs, else recompute mode. Refuses, with the reason,
  /// a model with past it cannot drive (an input other than input_ids,
  /// attention_mask, position_ids and past/present pairs; a fixed past or a
  /// seq that cannot be 1), and in recompute mode a model that
  /// is not a causal LM with one integer input [batch, seq] and float
  /// logits [batch, seq, vocab] of fixed shape: an artifact whose attention
  /// kernels are not all causal (an encoder such as BERT), one without a
  /// raised attention kernel (nothing shows it is causal), or one with more
  /// inputs. In recompute mode each
  /// step also checks that a sequence's earlier logits did not change when
  /// its next token was written, so an attention the compiler did not raise
  /// that looks ahead is an error, not wrong tokens.
  static StatusOr<std::unique_ptr<Generator>> create(Session &session);
  /// Over any step model (runtime-internal and tests).
  explicit Generator(std::unique_ptr<detail::StepModel> model);
  ~Generator();

  /// Generates from `prompts` (one token list per sequence, not empty; at
  /// most maxBatch() sequences, each of at most maxLength() - maxNewTokens
  /// tokens, ids in [0, vocabSize())).
  StatusOr<GenerationResult> generate(const std::vector<std::vector<int64_t>> &prompts,
                                      const GenerationOptions &options);
  /// Same from a host tensor of int64 or int32 ids [sequences, width]; row b
  /// holds promptLengths[b] tokens (default: every row full).
  StatusOr<GenerationResult> generate(const Tensor &inputIds, const GenerationOptions &options,
                                      const std::vector<int64_t> &promptLengths = {});

  /// Sequences per call, tokens per sequence (prompt + new), vocabulary size.
  int64_t maxBatch() const;
  int64_t maxLength() const;
  int64_t vocabSize() const;
  /// How steps run: "recompute" (the whole window each step) or "kv-cache".
  const char *mode() const;

private:
  std::unique_ptr<detail::StepModel> model_;
};

} // namespace effc
