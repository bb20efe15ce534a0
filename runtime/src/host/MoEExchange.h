// The token exchange of expert parallelism (eff.expert_dispatch /
// eff.expert_combine, effc --expert-parallel=all-to-all): which of a device's
// tokens go to which device, from its routing alone. One reading for the
// host kernels (MoEExchange.cpp) and the multi-device runtime, which turns
// the counts into Collectives::allToAllv's per-pair counts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace effc::host {

/// Device j holds experts splits[j] .. splits[j + 1] - 1.
/// True when one of the k experts of a token (row `experts`) is on device j.
inline bool routesTo(const int64_t *experts, int64_t k, const std::vector<int64_t> &splits,
                     size_t j) {
  for (int64_t s = 0; s < k; ++s)
    if (experts[s] >= splits[j] && experts[s] < splits[j + 1])
      return true;
  return false;
}

/// counts[i][j]: how many tokens of device i (experts [T_i, k] row-major,
/// given per device) go to device j. Device j receives the tokens of
/// i = 0, 1, ... back to back, so its rows from i start at the sum of
/// counts[q][j] over q < i.
inline std::vector<std::vector<int64_t>> exchangeCounts(const std::vector<const int64_t *> &experts,
                                                        const std::vector<int64_t> &tokens,
                                                        int64_t k,
                                                        const std::vector<int64_t> &splits) {
  const size_t n = experts.size();
  std::vector<std::vector<int64_t>> counts(n, std::vector<int64_t>(n, 0));
  for (size_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < tokens[i]; ++t)
      for (size_t j = 0; j < n; ++j)
        counts[i][j] += routesTo(experts[i] + t * k, k, splits, j) ? 1 : 0;
  return counts;
}

/// What the cuda backend moves for one exchange, from the routing alone:
///   counts[i][j]      tokens of device i going to device j;
///   sendRows[i]       the token of each row device i sends, grouped by
///                     destination j = 0, 1, ... and in token order within
///                     one (dispatch gathers x, experts and weights rows so);
///   combineRows[i]    [T_i * N]: for token t and device j, the row of
///                     device i's combine receive buffer holding j's result
///                     for t, or -1. The combine sends each device's rows
///                     back in the order it received them, so that row is
///                     the position of (j, t) in sendRows[i].
struct ExchangePlan {
  std::vector<std::vector<int64_t>> counts, sendRows, combineRows;
};

inline ExchangePlan planExchange(const std::vector<const int64_t *> &experts,
                                 const std::vector<int64_t> &tokens, int64_t k,
                                 const std::vector<int64_t> &splits) {
  const size_t n = experts.size();
  ExchangePlan p;
  p.counts = exchangeCounts(experts, tokens, k, splits);
  p.sendRows.resize(n);
  p.combineRows.resize(n);
  for (size_t i = 0; i < n; ++i) {
    p.combineRows[i].assign(size_t(tokens[i]) * n, -1);
    for (size_t j = 0; j < n; ++j)
      for (int64_t t = 0; t < tokens[i]; ++t)
        if (routesTo(experts[i] + t * k, k, splits, j)) {
          p.combineRows[i][size_t(t) * n + j] = int64_t(p.sendRows[i].size());
          p.sendRows[i].push_back(t);
        }
  }
  return p;
}

} // namespace effc::host
