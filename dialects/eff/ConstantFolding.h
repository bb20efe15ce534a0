//===- ConstantFolding.h - fold eff ops with the host reference kernels -*- C++ -*-===//
//
// An eff op whose operands are all constants folds by running the host
// backend's reference kernel for it: folding and execution share one
// implementation of every op's semantics. The dialect does not link the
// host kernels: it asks the EffConstantEvaluator dialect interface, which
// dialects/eff/hostfold (EffHostFolding) implements with them and tools
// register (registerEffcDialects in passes/Registration.h does).
//
#ifndef EFFC_DIALECTS_EFF_CONSTANTFOLDING_H
#define EFFC_DIALECTS_EFF_CONSTANTFOLDING_H

#include "effc/DType.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectInterface.h"
#include "mlir/IR/OpDefinition.h"

#include <vector>

namespace mlir::eff {

/// Largest result (in bytes) the folder materializes; bigger results stay ops.
constexpr int64_t kMaxFoldBytes = int64_t(256) << 20;
/// Results up to this many elements become dense literals (readable in IR and
/// by matchers); larger ones become dense_resource blobs.
constexpr int64_t kMaxInlineElements = 64;

/// Computes an eff op's results from constant operands (the host kernels,
/// registered from outside the dialect: registerHostKernelFolding).
class EffConstantEvaluator : public DialectInterface::Base<EffConstantEvaluator> {
public:
  EffConstantEvaluator(Dialect *dialect) : Base(dialect) {}
  /// The results of `op` on `operands` (attributes, null where not
  /// constant), or failure when it cannot or should not be evaluated.
  virtual LogicalResult evaluate(Operation *op, ArrayRef<Attribute> operands,
                                 SmallVectorImpl<OpFoldResult> &results) const = 0;
};

/// Single-result fold through the host kernel, or null when not foldable.
OpFoldResult foldWithHostKernel(Operation *op, ArrayRef<Attribute> operands);
/// Multi-result fold through the host kernel (the registered
/// EffConstantEvaluator; a fatal error when the context has none, so a tool
/// that forgot to register it does not silently stop folding).
LogicalResult foldWithHostKernel(Operation *op, ArrayRef<Attribute> operands,
                                 SmallVectorImpl<OpFoldResult> &results);

/// The effc::DType of an MLIR element type, or DType::UNDEFINED.
effc::DType toDType(Type elementType);
/// The MLIR element type of an effc::DType, or null.
Type fromDType(MLIRContext *ctx, effc::DType dtype);

/// Bytes per element of constant data (one per bool), 0 for an element type
/// with no effc::DType.
int64_t elementBytes(Type elementType);
/// Raw little-endian bytes of a constant (one byte per bool), or false when the
/// data is not available (e.g. an elided resource).
bool getElementsBytes(ElementsAttr attr, std::vector<char> &bytes);
/// A constant of `type` holding `bytes` (dense literal or dense_resource blob).
ElementsAttr makeElementsAttr(ShapedType type, ArrayRef<char> bytes, StringRef blobHint);

} // namespace mlir::eff

#endif
