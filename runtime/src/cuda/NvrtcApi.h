// NVRTC entry points, declared here so the runtime builds without CUDA
// headers (signatures match nvrtc.h of CUDA 12/13).
#pragma once

#include "effc/Status.h"

#include <cstddef>
#include <string>

namespace effc::cuda {

using nvrtcResult = int;
using nvrtcProgram = struct _nvrtcProgram *;
constexpr nvrtcResult NVRTC_SUCCESS = 0;

struct NvrtcApi {
  const char *(*nvrtcGetErrorString)(nvrtcResult);
  nvrtcResult (*nvrtcVersion)(int *, int *);
  nvrtcResult (*nvrtcCreateProgram)(nvrtcProgram *, const char *, const char *, int,
                                    const char *const *, const char *const *);
  nvrtcResult (*nvrtcDestroyProgram)(nvrtcProgram *);
  nvrtcResult (*nvrtcCompileProgram)(nvrtcProgram, int, const char *const *);
  nvrtcResult (*nvrtcGetProgramLogSize)(nvrtcProgram, size_t *);
  nvrtcResult (*nvrtcGetProgramLog)(nvrtcProgram, char *);
  nvrtcResult (*nvrtcGetCUBINSize)(nvrtcProgram, size_t *);
  nvrtcResult (*nvrtcGetCUBIN)(nvrtcProgram, char *);

  std::string libraryPath; // what was dlopen()ed
  int major = 0, minor = 0;
};

/// Loads libnvrtc once per process (see effc::nvrtc::load for the search).
StatusOr<const NvrtcApi *> getNvrtc();

} // namespace effc::cuda
