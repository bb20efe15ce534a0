//===- KernelOperands.h - an eff op's operands in kernel input order -*- C++ -*-===//
#ifndef EFFC_DIALECTS_EFF_KERNELOPERANDS_H
#define EFFC_DIALECTS_EFF_KERNELOPERANDS_H

#include "mlir/IR/Operation.h"

namespace mlir::eff {

/// The op's operands in the positions its kernel (host or generated) expects:
/// absent optional operands (operandSegmentSizes entries of 0) appear as null
/// values, so slot i is always the i-th ONNX input.
SmallVector<Value> getKernelOperands(Operation *op);

/// Same for the operand attributes handed to a folder (null = not constant;
/// absent optional operands are marked by `absent` in the result).
struct KernelOperandAttr {
  Attribute value;
  bool absent = false;
};
SmallVector<KernelOperandAttr> getKernelOperandAttrs(Operation *op, ArrayRef<Attribute> operands);

} // namespace mlir::eff

#endif
