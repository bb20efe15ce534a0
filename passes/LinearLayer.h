//===- LinearLayer.h - linear layers with a constant weight -----*- C++ -*-===//
//
// What the passes that rewrite weights (eff-insert-lora,
// eff-quantize-weights) look for: x [..., K] times a constant weight, as
// exporters write it.
//
//===----------------------------------------------------------------------===//
#ifndef EFFC_PASSES_LINEARLAYER_H
#define EFFC_PASSES_LINEARLAYER_H

#include "dialects/eff/EffOps.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::eff {

/// x [..., K] times a constant weight stored [K, N] (MatMul; Gemm) or [N, K]
/// (Gemm or MatMul transB = 1).
struct LinearLayer {
  Operation *op = nullptr;
  Value x;
  mutable ConstantOp weight; // op handles are not const-correct
  bool weightIsNK = false;
  int64_t K = 0, N = 0;
  /// The PyTorch module path the importer recorded ("" when none).
  std::string modulePath;
};

/// `op` as a linear layer, or nullopt (not a MatMul/Gemm, transposed x, a
/// weight that is not a static 2-D constant). `needModulePath`: also nullopt
/// without a recorded module path.
std::optional<LinearLayer> asLinearLayer(Operation *op, bool needModulePath);

/// The fp32 values of a constant, or nullopt when it is not fp32 data.
std::optional<std::vector<float>> readF32(ConstantOp constant);

} // namespace mlir::eff

#endif
