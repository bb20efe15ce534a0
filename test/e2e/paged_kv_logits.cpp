// effc-paged-kv-logits UNPAGED.effc PAGED.effc PAGE_SIZE [BACKEND]: the
// serving engine's slot model (runtime/src/PagedSlotModel.cpp) over a
// decoder with past compiled without and with --paged-kv=PAGE_SIZE must give
// the same logits for every forward of one script: a prompt alone, a
// decode step next to another slot's prompt (rows of different lengths: the
// gather path right-pads them, the paged one left-pads), prefix sharing
// from a live slot and from the prefix cache (pages taken over, a
// copy-on-write copy at the first divergent page), a rewind (truncate, as
// speculative decoding does) and a multi-row feed after it. Prints each
// forward's largest difference relative to the largest logit and exits 1
// when one exceeds 1e-4 or a forward fails.
//
// effc-paged-kv-logits UNPAGED.effc PACKED.effc PAGE_SIZE BACKEND packed:
// PACKED compiled with --paged-kv --packed-tokens (passes/PackedTokens.cpp).
// Each forward must also run its tokens packed, no padding: one run per
// forward (two where a prompt shares the prefix of another prompt of the
// same forward; none here), computing exactly the positions the feeds add
// beyond what prefix sharing took over (listed with the script), and the
// run counters' positions of none of them padding.
#include "SlotModel.h"
#include "effc/Model.h"
#include "effc/Session.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace effc;
using detail::SlotModel;

namespace {

// Measured: 0 on llama-withpast (host, fp32; both attention kernels sum the
// keys in one order); the margin is for other backends and dtypes.
constexpr double kTolerance = 1e-4;

StatusOr<std::unique_ptr<SlotModel>> open(const std::string &path, const std::string &backend,
                                          int64_t pageSize, std::unique_ptr<Session> &session) {
  auto model = Model::load(path);
  if (!model.ok())
    return model.status();
  auto s = Session::create(*model, backend);
  if (!s.ok())
    return s.status();
  session = std::move(*s);
  detail::PagedOptions options;
  options.pageSize = pageSize;
  options.slots = 2; // the script's (a packed model's default follows its pool)
  return detail::makePagedSlotModel(*session, options);
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s UNPAGED.effc PAGED.effc PAGE_SIZE [BACKEND [packed]]\n",
                 argv[0]);
    return 2;
  }
  const std::string backend = argc > 4 ? argv[4] : "host";
  const int64_t pageSize = std::atoll(argv[3]);
  std::unique_ptr<Session> sa, sb;
  auto a = open(argv[1], backend, pageSize, sa);
  auto b = open(argv[2], backend, pageSize, sb);
  for (auto *m : {&a, &b})
    if (!m->ok()) {
      std::fprintf(stderr, "error: %s\n", m->status().message().c_str());
      return 1;
    }
  SlotModel &ref = **a, &paged = **b;
  const int64_t V = ref.vocabSize();
  // Deterministic prompts inside the vocabulary.
  auto tokens = [&](int64_t n, int64_t seed) {
    std::vector<int64_t> t;
    for (int64_t i = 0; i < n; ++i)
      t.push_back((seed * 131 + i * 29 + i * i * 7) % V);
    return t;
  };
  std::vector<int64_t> p0 = tokens(18, 1), p1 = tokens(7, 2);
  std::vector<int64_t> p2 = p0; // shares p0's first 13 positions
  p2.resize(13);
  for (int64_t t : tokens(5, 3))
    p2.push_back(t);
  using Feeds = std::vector<SlotModel::Feed>;
  struct Step {
    const char *what;
    Feeds feeds;
    int release = -1, truncateSlot = -1;
    int64_t truncateTo = 0;
    int64_t computed = 0; ///< positions the feeds add, less those shared
  };
  // p2 shares 13 positions with p0 (the prefix cache's) and 17 of its 18
  // with slot 0's live p2 (the last is computed for its logits).
  std::vector<Step> script = {
      {"slot 0: prompt of 18", {{0, p0, 1}}, -1, -1, 0, 18},
      {"slot 0: one token; slot 1: prompt of 7", {{0, {5}, 1}, {1, p1, 2}}, -1, -1, 0, 8},
      {"slot 1: one token", {{1, {9}, 1}}, -1, -1, 0, 1},
      {"slot 0 released (prefix cache); slot 0: a prompt sharing 13 positions of it",
       {{0, p2, 1}, {1, {11}, 1}},
       0,
       -1,
       0,
       5 + 1},
      {"slot 1: rewound by 2, then 3 tokens with 3 logits rows", {{1, {3, 4, 5}, 3}}, -1, 1, 8, 3},
      {"slot 1: prompt sharing slot 0's live pages (copy-on-write)", {{1, p2, 1}}, 1, -1, 0, 1},
      {"both: one token", {{0, {7}, 1}, {1, {8}, 1}}, -1, -1, 0, 2},
  };
  const bool packed = argc > 5 && std::string(argv[5]) == "packed";
  bool ok = true;
  for (size_t i = 0; i < script.size(); ++i) {
    Step &step = script[i];
    for (SlotModel *m : {&ref, &paged}) {
      if (step.release >= 0)
        m->release(step.release);
      if (step.truncateSlot >= 0) {
        Status s = m->truncate(step.truncateSlot, step.truncateTo);
        if (!s.ok()) {
          std::fprintf(stderr, "error: %s\n", s.message().c_str());
          return 1;
        }
      }
    }
    std::vector<std::vector<float>> la, lb;
    const detail::RunUsage before = paged.runs();
    Status sa2 = ref.forward(step.feeds, la), sb2 = paged.forward(step.feeds, lb);
    if (!sa2.ok() || !sb2.ok()) {
      std::fprintf(stderr, "forward %zu (%s) failed: %s\n", i, step.what,
                   (!sa2.ok() ? sa2 : sb2).message().c_str());
      return 1;
    }
    double diff = 0, peak = 0;
    for (size_t f = 0; f < la.size(); ++f)
      for (size_t j = 0; j < la[f].size(); ++j) {
        diff = std::max(diff, double(std::fabs(la[f][j] - lb[f][j])));
        peak = std::max(peak, double(std::fabs(la[f][j])));
      }
    const double rel = peak > 0 ? diff / peak : diff;
    const bool pass = rel <= kTolerance && std::isfinite(rel);
    ok = ok && pass;
    std::printf("forward %zu (%s): max |diff| / max |logit| = %.3g: %s\n", i, step.what, rel,
                pass ? "PASS" : "FAIL");
    const detail::RunUsage after = paged.runs();
    const int64_t runs = after.runs - before.runs, positions = after.positions - before.positions,
                  padded = after.padded - before.padded;
    std::printf("  second model: %lld runs, %lld token positions, %lld padded\n", (long long)runs,
                (long long)positions, (long long)padded);
    if (packed && (runs != 1 || positions != step.computed || padded != 0)) {
      std::printf("  FAIL: packed tokens: expected 1 run of %lld positions, none padded\n",
                  (long long)step.computed);
      ok = false;
    }
  }
  detail::PoolUsage u = paged.pool();
  std::printf("paged: %lld pages of %lld in use, %lld page references shared, %lld "
              "copy-on-write copies\n",
              (long long)u.used, (long long)u.pageSize, (long long)u.sharedTotal,
              (long long)u.copiedTotal);
  std::printf("%s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
