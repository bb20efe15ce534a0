//===- RowKernel.h - one warp or one block per row ---------------*- C++ -*-===//
//
// The skeleton of every row-wise kernel (reductions, softmax, norms): rows
// of up to 1024 elements get one warp each (8 per block, no shared memory,
// shuffles only); longer rows, or few medium rows, get a whole block and
// reduce through block_reduce. Inside the row loop, `lane` strides the row
// by `width()` threads and `reduce()` combines across them; every thread
// gets the combined value.
//
#ifndef EFFC_COMPILER_CODEGEN_ROWKERNEL_H
#define EFFC_COMPILER_CODEGEN_ROWKERNEL_H

#include "compiler/codegen/core/CudaWriter.h"
#include "compiler/codegen/core/KernelDesc.h"

#include <string>

namespace effc::codegen {

class RowKernel {
public:
  /// The choice for `rows` rows of `rowLength` elements: variant
  /// warp-per-row or block-per-row, params rows and length, the launch.
  static KernelChoice choose(const std::string &family, int64_t rows, int64_t rowLength);
  /// With runtime extents: the grid of `choice` follows the run's rows.
  static void followRuntimeRows(KernelChoice &choice, const Extent &runtimeRows);
  /// The skeleton of that choice.
  explicit RowKernel(const KernelChoice &choice);

  int threads() const { return blockPerRow ? blockThreads : 256; }
  /// Threads cooperating on one row.
  int width() const { return blockPerRow ? blockThreads : 32; }
  /// `for (T row = ...; row < rows; ...) {` (after `lane` is defined).
  void openRowLoop(CudaWriter &w, const std::string &indexType) const;
  /// The same loop over `runtimeRows` rows (an expression of effc_dims with
  /// runtime extents; the grid covers the planned, largest, rows).
  void openRowLoop(CudaWriter &w, const std::string &indexType, const Extent &runtimeRows) const;
  /// "warp_reduce(v, SumOp())" or "block_reduce(v, SumOp())".
  std::string reduce(const std::string &value, const std::string &op) const;
  /// `for (T k = lane; k < n; k += width) {`.
  void openLaneLoop(CudaWriter &w, const std::string &var, const std::string &indexType,
                    int64_t n) const;

private:
  int64_t rows;
  bool blockPerRow;
  int blockThreads;
  static constexpr int kRowsPerBlock = 8;
};

} // namespace effc::codegen

#endif
