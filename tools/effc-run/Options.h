// effc-run command line (hand-rolled: the tool must not depend on LLVM).
#pragma once

#include "effc/Status.h"

#include <string>
#include <utility>
#include <vector>

namespace effc::run {

struct Options {
  std::string artifact;
  std::string backend = "host";
  std::string testData;
  double rtol = 1e-4;
  double atol = 0;
  std::vector<std::pair<std::string, std::string>> inputs; // --input NAME=FILE
  std::string outputDir;
  int bench = 0;
  bool stats = false;
  bool verbose = false;
  bool help = false;
};

/// Parses argv; errors name the offending option.
StatusOr<Options> parseOptions(int argc, char **argv);
extern const char *kHelpText;

} // namespace effc::run
