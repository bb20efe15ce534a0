//===- ShapeProbe.cpp - a function's shapes at concrete input shapes -----===//
#include "dialects/eff/ShapeProbe.h"

#include "dialects/eff/EffOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

#include <functional>

namespace mlir::eff {

FailureOr<llvm::DenseMap<Value, SmallVector<int64_t>>>
probeShapes(Operation *func, ArrayRef<SmallVector<int64_t>> argShapes, StringRef where) {
  IRMapping mapping;
  OwningOpRef<Operation *> clone(func->clone(mapping));
  Block &body = clone.get()->getRegion(0).front();
  Block &original = func->getRegion(0).front();
  for (auto [i, arg] : llvm::enumerate(body.getArguments())) {
    if (i >= argShapes.size() || argShapes[i].empty())
      continue;
    auto type = cast<RankedTensorType>(arg.getType());
    arg.setType(RankedTensorType::get(argShapes[i], type.getElementType()));
  }
  SmallVector<Operation *> ops;
  for (Operation &op : body.without_terminator())
    ops.push_back(&op);
  OpBuilder builder(clone.get()->getContext());
  // What each folded result became (a constant or another value).
  llvm::DenseMap<Value, Value> foldedTo;
  std::function<LogicalResult(Operation *)> refine = [&](Operation *op) -> LogicalResult {
    if (isa<ConstantOp>(op))
      return success();
    // A fused shape computation (elementwise ops on small int64 tensors)
    // does not fold as a whole: its body runs here, op by op.
    if (auto fusion = dyn_cast<FusionOp>(op)) {
      Block &inner = fusion.getBody().front();
      IRMapping bodyMapping;
      for (auto [arg, input] : llvm::zip(inner.getArguments(), fusion.getInputs()))
        bodyMapping.map(arg, input);
      builder.setInsertionPoint(op);
      for (Operation &bodyOp : inner.without_terminator()) {
        Operation *copy = builder.clone(bodyOp, bodyMapping);
        if (failed(refine(copy)))
          return failure();
        // Later body ops read what a result folded to.
        for (auto [original, result] : llvm::zip(bodyOp.getResults(), copy->getResults()))
          if (Value folded = foldedTo.lookup(result))
            bodyMapping.map(original, folded);
      }
      for (auto [result, yielded] :
           llvm::zip(fusion.getResults(), inner.getTerminator()->getOperands())) {
        Value value = bodyMapping.lookup(yielded);
        if (value.getType() == result.getType())
          result.replaceAllUsesWith(value);
      }
      return success();
    }
    if (auto infer = dyn_cast<InferTypeOpInterface>(op)) {
      SmallVector<Type> types;
      if (failed(infer.inferReturnTypes(op->getContext(), op->getLoc(), op->getOperands(),
                                        op->getAttrDictionary(), op->getPropertiesStorage(),
                                        op->getRegions(), types)))
        return func->emitError("shape inference failed at the probe ")
               << where << " (the dims' values must be in their bounds)";
      for (auto [result, type] : llvm::zip(op->getResults(), types))
        result.setType(type);
    }
    SmallVector<Attribute> constants(op->getNumOperands());
    for (auto [i, operand] : llvm::enumerate(op->getOperands()))
      matchPattern(operand, m_Constant(&constants[i]));
    SmallVector<OpFoldResult> folded;
    if (failed(op->fold(constants, folded)) || folded.size() != op->getNumResults())
      return success();
    builder.setInsertionPointAfter(op);
    for (auto [result, fold] : llvm::zip(op->getResults(), folded)) {
      Value replacement = dyn_cast<Value>(fold);
      if (auto attr = dyn_cast<Attribute>(fold)) {
        Operation *constant =
            op->getDialect()->materializeConstant(builder, attr, result.getType(), op->getLoc());
        if (!constant)
          continue;
        replacement = constant->getResult(0);
      }
      if (replacement && replacement != result && replacement.getType() == result.getType()) {
        result.replaceAllUsesWith(replacement);
        foldedTo[result] = replacement;
      }
    }
    return success();
  };
  for (Operation *op : ops)
    if (failed(refine(op)))
      return failure();
  llvm::DenseMap<Value, SmallVector<int64_t>> extents;
  auto record = [&](Value original) -> LogicalResult {
    auto type = dyn_cast<RankedTensorType>(original.getType());
    if (!type || type.hasStaticShape())
      return success();
    auto probed = dyn_cast<RankedTensorType>(mapping.lookup(original).getType());
    if (!probed || !probed.hasStaticShape()) {
      Operation *op = original.getDefiningOp();
      return (op ? op->emitError() : func->emitError())
             << "a dim of this " << (op ? op->getName().getStringRef() : "input")
             << " result stays unknown with every input dim known (" << where
             << "): its size depends on data, which bounded dims cannot express";
    }
    extents[original] = SmallVector<int64_t>(probed.getShape());
    return success();
  };
  for (Value arg : original.getArguments())
    if (failed(record(arg)))
      return failure();
  for (Operation &op : original.without_terminator())
    for (Value result : op.getResults())
      if (failed(record(result)))
        return failure();
  return extents;
}

} // namespace mlir::eff
