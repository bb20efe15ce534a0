#include "Sampler.h"

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

namespace {
uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
} // namespace

TokenRng::TokenRng(uint64_t seed, uint64_t stream) : state_(mix(seed) ^ mix(~stream)) {}

uint64_t TokenRng::next() {
  state_ += 0x9e3779b97f4a7c15ULL;
  return mix(state_);
}

namespace {

/// The tokens sampling may pick, most likely first (ties: lower id first),
/// with their unnormalized probabilities after temperature, top-k and top-p.
struct Candidates {
  std::vector<int64_t> ids;
  std::vector<double> prob;
  double sum = 0;
  bool allImpossible = false; ///< every logit -inf: the first id, no draw
};

Candidates candidates(const float *logits, int64_t vocab, const SamplingParams &p) {
  // Candidates by logit, ties by id: only the prefix that top-k or top-p
  // can keep needs to be in order.
  Candidates c;
  std::vector<int64_t> &ids = c.ids;
  ids.assign(size_t(vocab), 0);
  std::iota(ids.begin(), ids.end(), int64_t(0));
  auto before = [&](int64_t a, int64_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  size_t kept = size_t(vocab);
  if (p.topK > 0 && p.topK < vocab) {
    kept = size_t(p.topK);
    std::partial_sort(ids.begin(), ids.begin() + ptrdiff_t(kept), ids.end(), before);
  } else if (p.topP < 1) {
    std::sort(ids.begin(), ids.end(), before);
  }
  ids.resize(kept);

  // softmax(logits / temperature) over the candidates, in double.
  double top = -INFINITY;
  for (int64_t id : ids)
    top = std::max(top, double(logits[id]));
  if (top == -INFINITY) { // every candidate impossible: the first one
    ids.resize(1);
    c.prob = {1.0};
    c.sum = 1;
    c.allImpossible = true;
    return c;
  }
  std::vector<double> &prob = c.prob;
  prob.resize(kept);
  double sum = 0;
  for (size_t i = 0; i < kept; ++i) {
    // +inf logits: those tokens share the mass; the rest get none.
    double z = std::isinf(top) && top > 0 ? (logits[ids[i]] == top ? 0 : -INFINITY)
                                          : (double(logits[ids[i]]) - top) / p.temperature;
    sum += prob[i] = std::exp(z);
  }
  // top-p: the shortest prefix (in logit order) whose mass reaches topP; a
  // token is kept while the mass before it is below topP, so the first always is.
  if (p.topP < 1) {
    double mass = 0;
    size_t n = 0;
    while (n < kept && mass < p.topP * sum)
      mass += prob[n++];
    kept = n;
    sum = mass;
    ids.resize(kept);
    prob.resize(kept);
  }
  c.sum = sum;
  return c;
}

} // namespace

int64_t pickToken(const float *logits, int64_t vocab, const SamplingParams &p, TokenRng &rng) {
  if (p.temperature == 0) // first maximum, as torch.argmax
    return int64_t(std::max_element(logits, logits + vocab) - logits);
  Candidates c = candidates(logits, vocab, p);
  if (c.allImpossible)
    return c.ids[0];
  double u = rng.uniform() * c.sum, acc = 0;
  for (size_t i = 0; i < c.ids.size(); ++i) {
    acc += c.prob[i];
    if (u < acc)
      return c.ids[i];
  }
  return c.ids.back(); // u rounded up to the total
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
    dist[size_t(c.ids[i])] = c.prob[i] / c.sum;
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
