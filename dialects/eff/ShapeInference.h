//===- ShapeInference.h - helpers for eff result-type inference --*- C++ -*-===//
//
// Shared by the ops' inferReturnTypes: ONNX broadcasting, axis normalization,
// and reading constant operands (shape-like inputs are int64 tensors that the
// importer folds to constants, so shapes can be inferred statically).
//
#ifndef EFFC_DIALECTS_EFF_SHAPEINFERENCE_H
#define EFFC_DIALECTS_EFF_SHAPEINFERENCE_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/TypeRange.h"
#include "mlir/IR/Value.h"
#include "mlir/IR/ValueRange.h"
#include "mlir/Support/LogicalResult.h"

#include <optional>

namespace mlir::eff {

/// Same element types and no two known dims that differ.
bool areCompatibleTensorTypes(TypeRange lhs, TypeRange rhs);

/// ONNX multidirectional broadcast of `shapes`; dynamic dims stay dynamic
/// unless another operand fixes them. Fails (with a message through `loc`)
/// on incompatible known dims.
FailureOr<SmallVector<int64_t>> broadcastShapes(std::optional<Location> loc,
                                                ArrayRef<ArrayRef<int64_t>> shapes);

/// Result type of an elementwise op over `operands`: the broadcast shape with
/// the first operand's element type, or i1 when `boolResult`.
LogicalResult inferBroadcastResult(MLIRContext *ctx, std::optional<Location> loc,
                                   ValueRange operands, bool boolResult,
                                   SmallVectorImpl<Type> &types);

/// Normalizes an ONNX axis in [-rank, rank) to [0, rank); fails with a message.
FailureOr<int64_t> normalizeAxis(std::optional<Location> loc, int64_t axis, int64_t rank,
                                 StringRef what = "axis");

/// The constant attribute behind `value` (an eff.constant or anything that
/// folds to one), or null.
ElementsAttr getConstantElements(Value value);

/// The integer values of a constant integer tensor operand, or nullopt when
/// it is not a known constant.
std::optional<SmallVector<int64_t>> getConstantInts(Value value);

/// The single value of a constant scalar (or one-element) numeric tensor.
std::optional<double> getConstantScalar(Value value);

/// A ranked tensor type with `shape` and `elementType`.
RankedTensorType tensorOf(ArrayRef<int64_t> shape, Type elementType);

} // namespace mlir::eff

#endif
