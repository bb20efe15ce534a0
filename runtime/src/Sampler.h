// Picking the next token from one row of logits: greedy (argmax) or seeded
// sampling with temperature, top-k and top-p (nucleus) filtering, as HF
// transformers' LogitsWarpers define them. What a sampled token is, down to
// the bit (integer weights, the candidates' order, the Philox random word
// per (seed, sequence, step)), is defined once in
// compiler/codegen/device/token_sampling.cuh, which the device kernel
// (sample_rows.cuh) follows too: a seed gives the same tokens on the host
// and on the GPU.
#pragma once

#include "effc/Status.h"

#include <cstdint>
#include <vector>

namespace effc::detail {

struct SamplingParams {
  double temperature = 0; ///< 0: greedy (argmax); > 0: softmax(logits / temperature)
  int64_t topK = 0;       ///< keep the k most likely tokens; 0: all
  double topP = 1;        ///< keep the most likely tokens whose mass reaches topP; 1: all
};

/// Checks the ranges (temperature >= 0 and finite, topK >= 0, 0 < topP <= 1);
/// the message names the offending option.
Status checkSamplingParams(const SamplingParams &p);

/// The random word of sequence `sequence`'s `step`-th draw under `seed`
/// (Philox4x32-10, token_sampling.cuh's ts_philox): the Generator's draw for
/// new token `step` of sequence `sequence`, on the host and on the device.
uint64_t tokenRandom(uint64_t seed, uint64_t sequence, uint64_t step);

/// The random words of one stream (seed, stream): the k-th next() is
/// tokenRandom(seed, stream, k).
class TokenRng {
public:
  TokenRng(uint64_t seed, uint64_t stream) : seed_(seed), stream_(stream) {}
  uint64_t next() { return tokenRandom(seed_, stream_, counter_++); }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }

private:
  uint64_t seed_, stream_, counter_ = 0;
};

/// The next token from `logits[0, vocab)` (finite or infinite, no NaN).
/// Greedy picks the first maximum; sampling orders candidates by logit (ties:
/// lower id first), so topK = 1 is greedy, and draws with `random` (a
/// tokenRandom word) as token_sampling.cuh defines.
int64_t sampleToken(const float *logits, int64_t vocab, const SamplingParams &p, uint64_t random);
/// sampleToken, or -1 when one of the logits is NaN: what a step model that
/// picks itself (StepModel::pickTokens) gives on the host, as the device
/// kernels give it.
int64_t checkedToken(const float *logits, int64_t vocab, const SamplingParams &p, uint64_t random);
/// sampleToken with the stream's next word (taken only when sampling).
int64_t pickToken(const float *logits, int64_t vocab, const SamplingParams &p, TokenRng &rng);

/// Greedy's pick without the NaN check before it: the first maximum of
/// `logits[0, vocab)`, or -1 when one of them is NaN. The host reference of
/// the device's greedy pick (compiler/codegen/device/argmax_rows.cuh).
int64_t greedyToken(const float *logits, int64_t vocab);

/// The distribution pickToken draws from, over the whole vocabulary (greedy:
/// all mass on the first maximum). Speculative decoding's rejection sampling
/// compares the draft's and the target's.
std::vector<double> tokenDistribution(const float *logits, int64_t vocab, const SamplingParams &p);

/// A token drawn with probability proportional to `weights` (>= 0); -1 when
/// they are all zero.
int64_t drawToken(const std::vector<double> &weights, TokenRng &rng);

} // namespace effc::detail
