//===- KernelOperands.cpp - an eff op's operands in kernel input order ----===//
#include "dialects/eff/KernelOperands.h"

#include "mlir/IR/BuiltinAttributes.h"

namespace mlir::eff {

/// Segment sizes of the op's operand groups (one per ODS operand).
static SmallVector<int32_t> operandSegments(Operation *op) {
  if (auto seg = op->getAttrOfType<DenseI32ArrayAttr>("operandSegmentSizes"))
    return SmallVector<int32_t>(seg.asArrayRef());
  return SmallVector<int32_t>(op->getNumOperands(), 1);
}

template <typename T, typename Absent>
static SmallVector<T> expandSegments(Operation *op, ArrayRef<T> present, Absent makeAbsent) {
  SmallVector<T> slots;
  size_t next = 0;
  for (int32_t size : operandSegments(op)) {
    if (size == 0)
      slots.push_back(makeAbsent());
    for (int32_t k = 0; k < size && next < present.size(); ++k)
      slots.push_back(present[next++]);
  }
  return slots;
}

SmallVector<Value> getKernelOperands(Operation *op) {
  SmallVector<Value> present(op->getOperands());
  return expandSegments<Value>(op, present, [] { return Value(); });
}

SmallVector<KernelOperandAttr> getKernelOperandAttrs(Operation *op, ArrayRef<Attribute> operands) {
  SmallVector<KernelOperandAttr> present;
  for (Attribute a : operands)
    present.push_back({a, false});
  return expandSegments<KernelOperandAttr>(op, present, [] { return KernelOperandAttr{{}, true}; });
}

} // namespace mlir::eff
