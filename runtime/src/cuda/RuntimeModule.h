// The device modules the cuda backend compiles itself at session start
// (not generated per model): argmax_rows.cuh (cuda/DeviceArgmax),
// sample_rows.cuh (cuda/DeviceSampler, after token_sampling.cuh),
// expert_exchange.cuh (cuda/ExpertExchange) and ring_attention.cuh
// (cuda/RingAttention), each embedded at build time with primitives.cuh
// before it (runtime/src/CMakeLists.txt, EmbedDeviceCode.cmake), compiled
// by NVRTC for the GPU's arch through the kernel cache and loaded with
// cuModuleLoadData once per GPU and process (loadOncePerProcess); a loaded
// module stays loaded for the process.
#pragma once

#include "cuda/DriverApi.h"
#include "effc/DType.h"
#include "effc/SessionOptions.h"
#include "effc/Status.h"

#include <cstddef>
#include <initializer_list>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace effc::cuda {

/// One embedded device file: the entries of the kDeviceFiles[] that
/// EmbedDeviceCode.cmake writes.
struct DeviceFile {
  const char *name;
  const char *text;
};

/// The files' texts one after the other: the module's NVRTC source.
template <size_t N> std::string joinDeviceFiles(const DeviceFile (&files)[N]) {
  std::string text;
  for (const DeviceFile &f : files)
    text += f.text;
  return text;
}

/// The `dtype` argument of these modules' kernels (primitives.cuh's
/// EFFC_DT_F32/F16/BF16): 0, 1, 2 for float32, float16, bfloat16; -1 for
/// any other dtype (not readable by them).
int runtimeDtypeCode(DType t);

/// Compiles `source` (the module `what`, e.g. "the ring attention kernels",
/// from the device file `file`) for `d`'s arch through the kernel cache
/// (options.kernelCache / kernelCacheDir), loads it on `d`'s GPU and looks
/// up each function of `functions` into its CUfunction. Errors name the
/// module, the file, the arch and the function not found.
Status loadRuntimeModule(const Driver &d, const SessionOptions &options, const std::string &source,
                         const std::string &what, const std::string &file,
                         std::initializer_list<std::pair<CUfunction *, const char *>> functions);

/// What `load()` gives for `key` (a GPU), loaded once per call site and
/// process (thread-safe); a failed load is not kept, the next call retries.
template <class Functions, class Key, class Load>
StatusOr<Functions> loadOncePerProcess(const Key &key, Load load) {
  static std::mutex mu;
  static std::map<Key, Functions> loaded;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = loaded.find(key); it != loaded.end())
    return it->second;
  StatusOr<Functions> f = load();
  if (f.ok())
    loaded.emplace(key, *f);
  return f;
}

} // namespace effc::cuda
