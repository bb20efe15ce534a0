// What the cuda backend, effc-nvrtc-check and --embed-cubin read from a
// manifest: the CUDA source, per-kernel launch data and embedded cubins.
// All checks work without a GPU.
#pragma once

#include "DimExpr.h"
#include "cuda/DriverApi.h"
#include "effc/Status.h"

#include <cstdint>

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

/// Kernel `k`'s tensor maps (Kernel.tensor_maps) within cuTensorMapEncodeTiled's
/// rules (rank 1..5, extents 1..2^32, strides multiples of 16 below 2^40
/// bytes, box 1..256, element strides 1..8, known enum values, a 16/32-bit
/// float dtype, a 128-byte swizzle row at most) and inside the buffer of the
/// argument they name; errors name the kernel, the map and the buffer.
/// checkKernels runs it for every kernel.
Status checkTensorMaps(const artifact::Manifest &m, int k);

/// Encodes tensor map `i` of kernel `k` over `address` (the device address
/// of the argument it names) with exactly the manifest's parameters. Errors
/// (no cuTensorMapEncodeTiled in the driver, an address that is not 16-byte
/// aligned, the driver's CUresult) name the kernel, the map, the argument's
/// buffer and the call.
Status encodeTensorMap(const DriverApi &api, const artifact::Manifest &m, int k, int i,
                       CUdeviceptr address, CuTensorMap &out);

/// A grid dim of a kernel with runtime extents (Launch.grid_exprs): at a
/// run's dims, clamp(ceil(count / perBlock), 1, cap) blocks.
struct GridRule {
  int axis = 0;
  DimExpr count;
  uint64_t perBlock = 1, cap = 1;
};
/// Kernel `k`'s grid rules (validated by the artifact reader).
std::vector<GridRule> gridRules(const artifact::Manifest &m, int k);
/// Each dim's bucket top: its value rounded up to a power of two, at most its
/// max. Grids are computed there, so a CUDA graph replays unchanged while the
/// dims stay within one bucket (a decode loop crosses few).
std::vector<int64_t> bucketTops(const std::vector<int64_t> &values,
                                const std::vector<int64_t> &maxima);
/// The grid dim for a run at `values` (bucket tops `tops`): the larger of the
/// rule at both, so it covers the run even where an expression does not grow
/// with every dim.
uint32_t runtimeGridDim(const GridRule &rule, const std::vector<int64_t> &values,
                        const std::vector<int64_t> &tops);

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
