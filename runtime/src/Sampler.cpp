#include "Sampler.h"

#include "token_sampling.cuh"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

namespace effc::detail {

Status checkSamplingParams(const SamplingParams &p) {
  if (!(p.temperature >= 0) || !std::isfinite(p.temperature))
    return Status::error("temperature must be >= 0 and finite (0: greedy), got " +
                         std::to_string(p.temperature));
  if (p.topK < 0)
    return Status::error("top_k must be >= 0 (0: off), got " + std::to_string(p.topK));
  if (!(p.topP > 0 && p.topP <= 1))
    return Status::error("top_p must be in (0, 1] (1: off), got " + std::to_string(p.topP));
  return Status::OK();
}

uint64_t tokenRandom(uint64_t seed, uint64_t sequence, uint64_t step) {
  return ts_philox(seed, sequence, step);
}

namespace {

/// The tokens sampling may pick in token_sampling.cuh's order, with their
/// integer weights (steps 1-5 there).
struct Candidates {
  std::vector<int64_t> ids;
  std::vector<uint64_t> weight;
  uint64_t sum = 0;           ///< S' (the kept weights' sum)
  bool allImpossible = false; ///< every logit -inf: token 0, no draw
};

Candidates candidates(const float *logits, int64_t vocab, const SamplingParams &p) {
  Candidates c;
  const float m = *std::max_element(logits, logits + vocab);
  if (m == -INFINITY) {
    c.ids = {0};
    c.weight = {1};
    c.sum = 1;
    c.allImpossible = true;
    return c;
  }
  // The order (step 1): only the prefix top-k keeps needs sorting, but the
  // draw walks the candidates in order, so without top-k all of them.
  const int idBits = ts_id_bits(uint64_t(vocab));
  std::vector<uint64_t> keys(static_cast<size_t>(vocab));
  for (int64_t v = 0; v < vocab; ++v)
    keys[size_t(v)] = ts_order_key(logits[v], uint64_t(v), idBits);
  const size_t kept = p.topK > 0 && p.topK < vocab ? size_t(p.topK) : size_t(vocab);
  std::partial_sort(keys.begin(), keys.begin() + ptrdiff_t(kept), keys.end());
  keys.resize(kept);
  const float scale = ts_scale(p.temperature);
  const uint64_t idMask = (uint64_t(1) << idBits) - 1;
  uint64_t sum = 0;
  for (uint64_t key : keys) {
    int64_t id = int64_t(key & idMask);
    c.ids.push_back(id);
    c.weight.push_back(ts_weight(logits[id], m, scale));
    sum += c.weight.back();
  }
  // top-p (step 5): the shortest prefix whose weights reach the target.
  if (p.topP < 1) {
    const uint64_t target = ts_top_p_target(sum, p.topP);
    uint64_t mass = 0;
    size_t n = 0;
    while (mass < target)
      mass += c.weight[n++];
    c.ids.resize(n);
    c.weight.resize(n);
    sum = mass;
  }
  c.sum = sum;
  return c;
}

} // namespace

int64_t sampleToken(const float *logits, int64_t vocab, const SamplingParams &p, uint64_t random) {
  if (p.temperature == 0) // first maximum, as torch.argmax
    return int64_t(std::max_element(logits, logits + vocab) - logits);
  Candidates c = candidates(logits, vocab, p);
  if (c.allImpossible)
    return c.ids[0];
  // Step 6: the first candidate whose prefix sum exceeds the draw's point.
  const uint64_t t = ts_draw(random, c.sum);
  uint64_t acc = 0;
  for (size_t i = 0; i < c.ids.size(); ++i) {
    acc += c.weight[i];
    if (acc > t)
      return c.ids[i];
  }
  return c.ids.back(); // not reached: t < c.sum
}

int64_t checkedToken(const float *logits, int64_t vocab, const SamplingParams &p, uint64_t random) {
  if (std::any_of(logits, logits + vocab, [](float x) { return std::isnan(x); }))
    return -1;
  return sampleToken(logits, vocab, p, random);
}

int64_t pickToken(const float *logits, int64_t vocab, const SamplingParams &p, TokenRng &rng) {
  if (p.temperature == 0)
    return sampleToken(logits, vocab, p, 0);
  return sampleToken(logits, vocab, p, rng.next());
}

int64_t greedyToken(const float *logits, int64_t vocab) {
  if (std::any_of(logits, logits + vocab, [](float x) { return std::isnan(x); }))
    return -1;
  return int64_t(std::max_element(logits, logits + vocab) - logits);
}

std::vector<double> tokenDistribution(const float *logits, int64_t vocab, const SamplingParams &p) {
  std::vector<double> dist(size_t(vocab), 0.0);
  if (p.temperature == 0) {
    dist[size_t(std::max_element(logits, logits + vocab) - logits)] = 1;
    return dist;
  }
  Candidates c = candidates(logits, vocab, p);
  for (size_t i = 0; i < c.ids.size(); ++i)
    dist[size_t(c.ids[i])] = double(c.weight[i]) / double(c.sum);
  return dist;
}

int64_t drawToken(const std::vector<double> &weights, TokenRng &rng) {
  double sum = 0;
  int64_t last = -1;
  for (size_t i = 0; i < weights.size(); ++i)
    if (weights[i] > 0) {
      sum += weights[i];
      last = int64_t(i);
    }
  if (last < 0)
    return -1;
  double u = rng.uniform() * sum, acc = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    acc += weights[i];
    if (weights[i] > 0 && u < acc)
      return int64_t(i);
  }
  return last; // u rounded up to the total
}

} // namespace effc::detail
