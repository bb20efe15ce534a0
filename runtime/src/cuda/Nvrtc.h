// NVRTC (CUDA's runtime compiler) for effc: compiles an artifact's CUDA
// source to a cubin without a GPU or driver. Used by the cuda backend (JIT on
// session creation, with an on-disk cache), by effc-nvrtc-check, and by the
// compiler for --embed-cubin. libnvrtc is dlopen()ed, never linked.
#pragma once

#include "effc/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace effc {
namespace nvrtc {

/// Loads libnvrtc once per process. Tries $EFFC_NVRTC_PATH (only it, when
/// set), then libnvrtc.so.13, .so.12, .so on the loader path, then the same
/// under $CUDA_HOME/lib64 and /usr/local/cuda/lib64. The error lists the tries.
Status load();
/// The loaded library's version, "13.0".
StatusOr<std::string> version();

/// The options effc compiles with: --gpu-architecture=ARCH (cubin), then
/// `extra` (the artifact manifest's nvrtc_options), then -default-device and --std=c++17
/// unless `extra` already sets them.
std::vector<std::string> compileOptions(const std::string &arch,
                                        const std::vector<std::string> &extra);

struct Compiled {
  std::string cubin; // ELF image for cuModuleLoadData
  std::string log;   // NVRTC's log (warnings); empty on a cache hit
  double ms = 0;     // compile time; 0 on a cache hit
  bool fromCache = false;
};

/// Compiles `source` with exactly `options` (see compileOptions). A compile
/// error comes back with NVRTC's log in the message.
StatusOr<Compiled> compile(const std::string &source, const std::vector<std::string> &options,
                           const std::string &name = "effc_kernels.cu");

/// compile(source, compileOptions(arch, extra)) through the cubin cache in
/// `cacheDir` ("" = no cache; see cacheDirectory): <16 hex digits>.cubin
/// keyed by FNV-1a of source, options, arch and NVRTC version. An entry that
/// fails its header check (magic, key, size, checksum) is recompiled and
/// rewritten atomically; an unwritable cache directory only costs the cache,
/// never the compile.
StatusOr<Compiled> compileCached(const std::string &source, const std::string &arch,
                                 const std::vector<std::string> &extra,
                                 const std::string &cacheDir);

/// `configured` when not empty, else the default cache directory
/// $XDG_CACHE_HOME/effc (else ~/.cache/effc); "" when none can be named.
std::string cacheDirectory(const std::string &configured = "");
/// Cache key and file of one compilation.
uint64_t cacheKey(const std::string &source, const std::vector<std::string> &options,
                  const std::string &arch, const std::string &nvrtcVersion);
std::string cacheFile(const std::string &dir, uint64_t key);
/// Cache entry codec: 32-byte header (magic "EFFCUBN1", key, size, FNV-1a of
/// the cubin, little-endian) then the cubin. decode fails on any mismatch.
std::string encodeCacheEntry(uint64_t key, const std::string &cubin);
StatusOr<std::string> decodeCacheEntry(uint64_t key, const std::string &bytes);

/// "sm_90" for compute capability 9.0.
std::string archForComputeCapability(int major, int minor);

/// Names of the function symbols (STT_FUNC) of an ELF64 cubin, read from its
/// .symtab: needs no driver. Errors on anything that is not a sane ELF64.
StatusOr<std::vector<std::string>> cubinFunctions(const void *data, size_t size);

} // namespace nvrtc
} // namespace effc
