// effc-run command line (hand-rolled: the tool must not depend on LLVM).
#pragma once

#include "Compare.h"
#include "effc/Generator.h"
#include "effc/SessionOptions.h"
#include "effc/Status.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace effc::run {

struct Options {
  std::string artifact;
  /// SessionOptions::fromEnvironment() with the session flags applied.
  SessionOptions session = SessionOptions::fromEnvironment();
  std::string testData;
  /// --then-test-data DIR (repeatable): after --test-data, each DIR's inputs
  /// run in the same session and are compared (graph replays, other dims).
  std::vector<std::string> thenTestData;
  Tolerances tol;
  bool rowRtolGiven = false;    // else rowRtol = kRowRtolPerRtol * rtol
  bool top1MarginGiven = false; // else top1Margin = rtol
  int64_t randomSeed = -1;      // --random-inputs SEED; -1: off
  /// --dim NAME=N: a symbolic dim's value for --random-inputs.
  std::map<std::string, int64_t> dims;
  std::string saveTestData;
  std::vector<std::pair<std::string, std::string>> inputs; // --input NAME=FILE
  std::string outputDir;
  /// --generate N and its sampling options (effc/Generator.h).
  int64_t generate = 0;
  bool teacherForcing = false;
  /// --prompt-lengths L[,L...]: row b of --input holds L[b] prompt tokens.
  std::vector<int64_t> promptLengths;
  GenerationOptions generation;
  /// Serving through effc::Engine (Serve.cpp): --stagger N (-1: off),
  /// --repeat R (0: off), --draft FILE --speculate K, --serve-bench FILE.
  int64_t stagger = -1;
  int64_t repeat = 0;
  std::string draft;
  int64_t speculate = 0;
  std::string serveBench;
  /// KV-cache mode's paged pool (models with past): --kv-page-size N,
  /// --kv-pool-pages N (0: enough for every slot), --no-prefix-sharing.
  int64_t kvPageSize = 16;
  int64_t kvPoolPages = 0;
  bool prefixSharing = true;
  bool kvOptionsGiven = false;
  /// --max-seqs N: requests the engine runs at once (0: the compiled batch).
  int64_t maxSequences = 0;
  bool usesEngine() const {
    return stagger >= 0 || repeat > 0 || !draft.empty() || !serveBench.empty();
  }
  int bench = 0;
  bool stats = false;
  bool verbose = false;
  bool help = false;
};

/// --row-rtol's default relative to --rtol: a row's own max|ref| is below the
/// output's, so the same error is a larger fraction of it (the shared models'
/// logits rows measure 1.2-1.9x their max_rel_err in fp32, bf16 and fp16).
constexpr double kRowRtolPerRtol = 4;

/// Parses argv; errors name the offending option.
StatusOr<Options> parseOptions(int argc, char **argv);
extern const char *kHelpText;

} // namespace effc::run
