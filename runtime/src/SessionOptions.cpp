// SessionOptions::fromEnvironment: the one place the runtime reads its
// switches from the environment (they only set defaults).
#include "effc/SessionOptions.h"

#include "cuda/DynLib.h"

#include <algorithm>
#include <cstdlib>

namespace effc {

SessionOptions SessionOptions::fromEnvironment() {
  using cuda::envFlag;
  using cuda::getEnv;
  SessionOptions o;
  if (std::string b = getEnv("EFFC_BACKEND"); !b.empty())
    o.backend = b;
  if (std::string d = getEnv("EFFC_CUDA_DEVICE"); !d.empty()) {
    char *end = nullptr;
    long v = std::strtol(d.c_str(), &end, 10);
    o.device = *end || v < 0 || v > 1 << 20 ? -1 : int(v);
  }
  o.kernelCacheDir = getEnv("EFFC_CACHE_DIR");
  o.kernelCache = envFlag("EFFC_CACHE", true);
  o.cudaGraphs = envFlag("EFFC_CUDA_GRAPH", true);
  o.syncAfterEachKernel = envFlag("EFFC_CUDA_SYNC", false);
  o.cudaArch = getEnv("EFFC_CUDA_ARCH");
  if (std::string v = getEnv("EFFC_VERBOSE"); !v.empty()) {
    char *end = nullptr;
    long n = std::strtol(v.c_str(), &end, 10);
    // A number is the level (clamped to 0..2); words read like EFFC_CACHE's.
    o.verbosity = *end ? int(envFlag("EFFC_VERBOSE", false)) : int(std::max(0L, std::min(n, 2L)));
  }
  return o;
}

} // namespace effc
