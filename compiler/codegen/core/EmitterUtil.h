//===- EmitterUtil.h - pieces shared by the CUDA emitters --------*- C++ -*-===//
//
// Kernel signature (the artifact ABI), typed pointers, grid-stride loops and
// index math with every shape and stride baked in as a constant.
//
#ifndef EFFC_COMPILER_CODEGEN_EMITTERUTIL_H
#define EFFC_COMPILER_CODEGEN_EMITTERUTIL_H

#include "compiler/codegen/core/CudaWriter.h"
#include "compiler/codegen/core/KernelDesc.h"

#include <string>
#include <vector>

namespace effc::codegen {

constexpr int kElementwiseBlock = 256;
/// Grid-stride loops cap the grid here: enough blocks to fill any GPU.
constexpr int64_t kMaxGridBlocks = 8192;

/// `extern "C" __global__ void __launch_bounds__(T) name(const void* in0, ...,
/// void* out0, ...) {` plus typed pointers x<i> / y<i> (storage types);
/// `attributes` (e.g. "__cluster_dims__(1, 4, 1) ") go before the name.
void openKernel(CudaWriter &w, const KernelDesc &desc, int maxThreads,
                const std::string &attributes = "");

/// "int" when every tensor of the kernel is small enough for 32-bit index
/// math (much cheaper div/mod), else "i64".
std::string indexType(const KernelDesc &desc);

/// `for (T var = blockIdx.x * B + threadIdx.x; var < n; var += gridDim.x * B) {`
/// (n symbolic: read from effc_dims, the grid planned for its largest value).
void openGridStride(CudaWriter &w, const std::string &var, const std::string &type, int64_t n,
                    int block);
void openGridStride(CudaWriter &w, const std::string &var, const std::string &type, const Extent &n,
                    int block);
/// Launch for a grid-stride loop over n items with `block` threads.
LaunchDims gridStrideLaunch(int64_t n, int block);
int64_t ceilDiv(int64_t a, int64_t b);
/// The choice of a kernel that is one grid-stride loop over `items` (variant
/// "grid-stride", param items, gridStrideLaunch): most families' shape.
KernelChoice gridStrideChoice(const std::string &family, int64_t items,
                              int threads = kElementwiseBlock);

std::vector<int64_t> rowMajorStrides(const std::vector<int64_t> &shape);
std::vector<Extent> rowMajorStrides(const std::vector<Extent> &shape);
/// Element strides of `in` read as if broadcast (right-aligned) to `out`;
/// broadcast dims get stride 0 (a symbolic extent never broadcasts).
std::vector<int64_t> broadcastStrides(const std::vector<int64_t> &in,
                                      const std::vector<int64_t> &out);
std::vector<Extent> broadcastStrides(const std::vector<Extent> &in, const std::vector<Extent> &out);

/// An iteration space (dims, outermost first) and, per operand, the element
/// stride of each dim: baked constants (IndexSpace) or extents that may be
/// symbolic (SymIndexSpace, for kernels with runtime extents).
template <typename T> struct IndexSpaceOf {
  std::vector<T> dims;
  std::vector<std::vector<T>> strides;
};
using IndexSpace = IndexSpaceOf<int64_t>;
using SymIndexSpace = IndexSpaceOf<Extent>;
/// Drops unit dims and merges neighbours that every operand walks
/// contiguously, so broadcast index math costs as few div/mods as possible.
IndexSpace coalesce(IndexSpace space);
SymIndexSpace coalesce(SymIndexSpace space);

/// Emits `T <prefix><k> = ...;` for each operand k: the offset of flat index
/// `flat` (over space.dims) in that operand. Coordinates are peeled with
/// constant div/mod (effc_dims for symbolic extents); an operand that walks
/// the space contiguously gets `flat` itself.
void emitOffsets(CudaWriter &w, const std::string &flat, const std::string &type,
                 const IndexSpace &space, const std::string &prefix);
void emitOffsets(CudaWriter &w, const std::string &flat, const std::string &type,
                 const SymIndexSpace &space, const std::string &prefix);

/// Emits `T <prefix>0..n-1` = the coordinates of `flat` in row-major `dims`
/// (only those marked in `used`, when given: no unused variables).
void emitCoords(CudaWriter &w, const std::string &flat, const std::string &type,
                const std::vector<int64_t> &dims, const std::string &prefix,
                const std::vector<bool> &used = {});
void emitCoords(CudaWriter &w, const std::string &flat, const std::string &type,
                const std::vector<Extent> &dims, const std::string &prefix,
                const std::vector<bool> &used = {});

std::string shapeText(const std::vector<int64_t> &shape);

/// ONNX axis in [-rank, rank) -> [0, rank); false with `error` naming the op.
bool normalizeAxis(const KernelDesc &d, int64_t axis, int64_t rank, int64_t &out,
                   std::string &error);

} // namespace effc::codegen

#endif
