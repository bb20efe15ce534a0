//===- ShapeProbe.cpp - a function's shapes at concrete input shapes -----===//
#include "dialects/eff/ShapeProbe.h"

#include "dialects/eff/EffDialect.h"
#include "dialects/eff/EffOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

#include <functional>

namespace mlir::eff {

namespace {

/// `func` cloned into `clone` (`mapping` from the original) with argument i
/// shaped argShapes[i] (empty: as declared) and, where argValues[i] is set,
/// replaced by that constant; then the ops `keep` accepts (all when null; it
/// sees the original ops) have their result types inferred again in order
/// and the results that fold replaced by their constants.
LogicalResult specialize(Operation *func, ArrayRef<SmallVector<int64_t>> argShapes,
                         ArrayRef<Attribute> argValues, function_ref<bool(Operation *)> keep,
                         StringRef where, IRMapping &mapping, OwningOpRef<Operation *> &clone,
                         llvm::DenseMap<Value, Value> &foldedTo,
                         llvm::DenseMap<Value, Value> *bodyValues = nullptr) {
  clone = func->clone(mapping);
  Block &body = clone.get()->getRegion(0).front();
  Block &source = func->getRegion(0).front();
  OpBuilder builder(clone.get()->getContext());
  for (auto [i, arg] : llvm::enumerate(body.getArguments())) {
    if (i < argShapes.size() && !argShapes[i].empty()) {
      auto type = cast<RankedTensorType>(arg.getType());
      arg.setType(RankedTensorType::get(argShapes[i], type.getElementType()));
    }
    if (i < argValues.size() && argValues[i]) {
      builder.setInsertionPointToStart(&body);
      Operation *constant =
          builder.getContext()->getLoadedDialect<EffDialect>()->materializeConstant(
              builder, argValues[i], arg.getType(), func->getLoc());
      if (!constant)
        return func->emitError("no constant for argument ") << i << " at the probe " << where;
      arg.replaceAllUsesWith(constant->getResult(0));
    }
  }
  // The clone's ops in the originals' order, after the argument constants
  // inserted at the start.
  SmallVector<Operation *> ops;
  unsigned inserted = 0;
  for (Attribute value : argValues)
    inserted += value ? 1 : 0;
  auto cloned = body.without_terminator().begin();
  std::advance(cloned, inserted);
  for (Operation &originalOp : source.without_terminator()) {
    if (!keep || keep(&originalOp))
      ops.push_back(&*cloned);
    ++cloned;
  }
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
        for (auto [original, result] : llvm::zip(bodyOp.getResults(), copy->getResults())) {
          if (Value folded = foldedTo.lookup(result))
            bodyMapping.map(original, folded);
          if (bodyValues)
            (*bodyValues)[original] = bodyMapping.lookup(original);
        }
      }
      for (auto [result, yielded] :
           llvm::zip(fusion.getResults(), inner.getTerminator()->getOperands())) {
        Value value = bodyMapping.lookup(yielded);
        // A fusion over symbolic shapes: its result takes the shape the
        // body gives at this probe.
        if (value.getType() != result.getType() &&
            succeeded(verifyCompatibleShape(value.getType(), result.getType())))
          result.setType(value.getType());
        if (value.getType() == result.getType()) {
          result.replaceAllUsesWith(value);
          foldedTo[result] = value;
        }
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
  return success();
}

} // namespace

FailureOr<llvm::DenseMap<Value, SmallVector<int64_t>>>
probeShapes(Operation *func, ArrayRef<SmallVector<int64_t>> argShapes, StringRef where) {
  IRMapping mapping;
  OwningOpRef<Operation *> clone;
  llvm::DenseMap<Value, Value> foldedTo, bodyValues;
  if (failed(
          specialize(func, argShapes, {}, nullptr, where, mapping, clone, foldedTo, &bodyValues)))
    return failure();
  Block &original = func->getRegion(0).front();
  llvm::DenseMap<Value, SmallVector<int64_t>> extents;
  // An eff.fusion body's values (index-mapping ops give them shapes other
  // than the fusion's) as refined where the body ran op by op.
  auto probedValue = [&](Value original) {
    Value cloned = mapping.lookup(original);
    if (isa<FusionOp>(original.getParentRegion()->getParentOp()))
      if (Value refined = bodyValues.lookup(cloned))
        return refined;
    return cloned;
  };
  auto record = [&](Value original) -> LogicalResult {
    auto type = dyn_cast<RankedTensorType>(original.getType());
    if (!type || type.hasStaticShape())
      return success();
    auto probed = dyn_cast<RankedTensorType>(probedValue(original).getType());
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
  for (Operation &op : original.without_terminator()) {
    for (Value result : op.getResults())
      if (failed(record(result)))
        return failure();
    if (auto fusion = dyn_cast<FusionOp>(op))
      for (Operation &bodyOp : fusion.getBody().front().without_terminator())
        for (Value result : bodyOp.getResults())
          if (failed(record(result)))
            return failure();
  }
  return extents;
}

FailureOr<SmallVector<Attribute>> probeValues(Operation *func,
                                              ArrayRef<SmallVector<int64_t>> argShapes,
                                              ArrayRef<Attribute> argValues, ArrayRef<Value> wanted,
                                              StringRef where) {
  // Only what `wanted` is computed from is evaluated.
  llvm::DenseSet<Operation *> slice;
  SmallVector<Value> work(wanted.begin(), wanted.end());
  while (!work.empty()) {
    Operation *def = work.pop_back_val().getDefiningOp();
    if (!def || !slice.insert(def).second)
      continue;
    work.append(def->operand_begin(), def->operand_end());
  }
  IRMapping mapping;
  OwningOpRef<Operation *> clone;
  llvm::DenseMap<Value, Value> foldedTo;
  if (failed(specialize(
          func, argShapes, argValues, [&](Operation *op) { return slice.contains(op); }, where,
          mapping, clone, foldedTo)))
    return failure();
  SmallVector<Attribute> values;
  for (Value v : wanted) {
    Value probed = mapping.lookupOrDefault(v);
    while (Value next = foldedTo.lookup(probed))
      probed = next;
    if (auto arg = dyn_cast<BlockArgument>(v); arg && size_t(arg.getArgNumber()) < argValues.size())
      if (Attribute given = argValues[arg.getArgNumber()]) {
        values.push_back(given);
        continue;
      }
    Attribute value;
    matchPattern(probed, m_Constant(&value));
    values.push_back(value);
  }
  return values;
}

FailureOr<SmallVector<Attribute>> probeValuesQuietly(Operation *func,
                                                     ArrayRef<SmallVector<int64_t>> argShapes,
                                                     ArrayRef<Attribute> argValues,
                                                     ArrayRef<Value> wanted, StringRef where,
                                                     std::string &diagnostic) {
  diagnostic.clear();
  ScopedDiagnosticHandler quiet(func->getContext(), [&](Diagnostic &d) {
    if (diagnostic.empty())
      diagnostic = d.str();
    return success();
  });
  return probeValues(func, argShapes, argValues, wanted, where);
}

} // namespace mlir::eff
