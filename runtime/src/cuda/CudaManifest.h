// What the cuda backend, effc-nvrtc-check and --embed-cubin read from a
// manifest: the CUDA source, per-kernel launch data and embedded cubins.
// All checks work without a GPU.
#pragma once

#include "effc/Status.h"

#include <optional>
#include <string>
#include <vector>

namespace effc {
namespace artifact {
class Manifest;
class Kernel;
} // namespace artifact

namespace cuda {

/// "kernel 3 (eff.add at /layer0/Add)".
std::string kernelWhere(const artifact::Kernel &k, int index);

/// Manifest.cuda_source_* bounds-checked against the payload; an error when
/// the artifact has no CUDA source.
StatusOr<std::string> cudaSource(const artifact::Manifest &m, const std::string &payload);

/// Every kernel names a __global__ function and has a launch geometry within
/// CUDA's limits; errors name the kernel ("... no CUDA kernel generated for
/// eff.xxx").
Status checkKernels(const artifact::Manifest &m);

/// Distinct Kernel.source names, in first-use order.
std::vector<std::string> kernelFunctions(const artifact::Manifest &m);

/// The embedded cubin for exactly `arch` ("sm_90"), bounds-checked; nullopt
/// when there is none.
StatusOr<std::optional<std::string>>
embeddedCubin(const artifact::Manifest &m, const std::string &payload, const std::string &arch);

/// Every kernel function is among the cubin's function symbols; the error
/// lists the missing ones. `what` names the cubin in messages.
Status checkCubinHasKernels(const artifact::Manifest &m, const std::string &cubin,
                            const std::string &what);

} // namespace cuda
} // namespace effc
