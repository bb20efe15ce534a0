// How a Session runs: backend, device, stream, kernel cache, CUDA graphs,
// limits and logging. Every field has a built-in default; the environment
// variables listed per field only change those defaults, through
// fromEnvironment(), which is what Session::create uses when no options are
// given. A field set in code always wins.
#pragma once

#include <cstdint>
#include <string>

namespace effc {

struct SessionOptions {
  /// "cuda" (generated kernels on an NVIDIA GPU) or "host" (the reference C++
  /// kernels). Without a usable GPU/driver, "cuda" fails at Session::create;
  /// it never falls back to "host" silently. Env: EFFC_BACKEND.
  std::string backend = "cuda";
  /// CUDA device ordinal of the session (cuda backend). Device tensors passed
  /// to or returned by the session live on this device. Env: EFFC_CUDA_DEVICE.
  int device = 0;
  /// Run an artifact compiled with effc --devices=N on N devices (issue 20).
  /// The host backend simulates them in one process: one buffer arena per
  /// device, placed kernels on their device, replicated kernels on each,
  /// collectives reading the producing device's buffers (memcpy); it checks
  /// that no device reads another's data outside a collective. The cuda
  /// backend takes 1 only (for now). 1 runs any artifact as one device.
  int devices = 1;
  /// The caller's cudaStream_t / CUstream (same handle), or null: the session
  /// creates its own non-blocking stream. A caller stream is never destroyed
  /// by the session and must outlive it and every DeviceTensor it returned.
  void *stream = nullptr;
  /// Where NVRTC-compiled modules are cached; "" = the default directory
  /// ($XDG_CACHE_HOME/effc, else ~/.cache/effc). Env: EFFC_CACHE_DIR.
  std::string kernelCacheDir;
  /// Use the on-disk kernel cache at all. Env: EFFC_CACHE (0/false/off/no).
  bool kernelCache = true;
  /// Replay the kernel sequence as one CUDA graph (cuda backend).
  /// Env: EFFC_CUDA_GRAPH.
  bool cudaGraphs = true;
  /// Session creation fails when the model's planned arena is larger;
  /// 0 = no limit.
  uint64_t arenaLimitBytes = 0;
  /// 0 quiet; 1 one line on stderr per module load/compile (where the kernels
  /// came from: embedded cubin, cache or NVRTC and its time); 2 also one line
  /// per run. Env: EFFC_VERBOSE.
  int verbosity = 0;
  /// Synchronize after every kernel launch so that an asynchronous fault
  /// names its kernel (debugging; implies no CUDA graph). Env: EFFC_CUDA_SYNC.
  bool syncAfterEachKernel = false;
  /// Compile for this GPU architecture ("sm_90a") instead of the device's
  /// own; "" = the device's. Env: EFFC_CUDA_ARCH.
  std::string cudaArch;

  /// The defaults above, overridden by whichever of the environment variables
  /// are set. An EFFC_CUDA_DEVICE that is not a non-negative integer gives
  /// device = -1, which Session::create reports.
  static SessionOptions fromEnvironment();
};

} // namespace effc
