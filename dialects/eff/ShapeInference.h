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
#include <string>

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

/// The entries of a small 1-D or scalar integer tensor, each known or not.
/// Unknown entries are nullopt, never ShapedType::kDynamic: that sentinel is
/// INT64_MIN, a value a malformed model can hold and that must be rejected,
/// not read as "dynamic".
using PartialInts = SmallVector<std::optional<int64_t>>;

/// The values of a small 1-D or scalar integer tensor where some entries may
/// be unknown, looking through the shape subgraphs exporters emit: eff.shape
/// of a partly dynamic tensor, concat, gather and slice with constant
/// indices, unsqueeze/squeeze/reshape, casts to int64. Constants give all
/// entries; nullopt when even the length is unknown.
std::optional<PartialInts> getPartialConstantInts(Value value);

/// A partial shape value as tensor dims: unknown entries become
/// ShapedType::kDynamic. Callers reject negative known entries first.
SmallVector<int64_t> partialIntsAsDims(const PartialInts &ints);

/// `value` as a constant (its type, the entries from getPartialConstantInts)
/// when every entry is known, else null. Folders use it for shape values.
DenseIntElementsAttr getKnownIntsAttr(Value value);

/// ONNX/numpy slicing of one dim of static size `dim`: clamps start and end
/// (negative values count from the end, out-of-range ones are clamped as
/// Python does) and returns {first index, number of elements}. step != 0.
std::pair<int64_t, int64_t> resolveSliceDim(int64_t dim, int64_t start, int64_t end, int64_t step);

/// A ranked tensor type with `shape` and `elementType`.
RankedTensorType tensorOf(ArrayRef<int64_t> shape, Type elementType);

/// True when `from` broadcasts unidirectionally to `to` (ONNX: only `from` is
/// stretched): rank(from) <= rank(to) and each right-aligned dim of `from` is
/// 1 or equals the one in `to`; unknown dims on either side pass.
bool isUnidirectionallyBroadcastable(ArrayRef<int64_t> from, ArrayRef<int64_t> to);

/// "2x?x4" (dynamic dims as ?), for diagnostics.
std::string shapeToString(ArrayRef<int64_t> shape);

} // namespace mlir::eff

#endif
