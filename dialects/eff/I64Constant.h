//===- I64Constant.h - a 1-D i64 eff.constant ------------------*- C++ -*-===//
//
// Axes, starts, ends and shapes that passes hand to eff.slice, eff.squeeze,
// eff.reshape and friends are operands, not attributes (as in ONNX): one
// builder for the small constant they take.
//
#ifndef EFFC_DIALECTS_EFF_I64CONSTANT_H
#define EFFC_DIALECTS_EFF_I64CONSTANT_H

#include "dialects/eff/EffOps.h"

namespace mlir::eff {

/// eff.constant of type tensor<N x i64> holding `values`.
inline Value i64Constant(OpBuilder &b, Location loc, ArrayRef<int64_t> values) {
  auto type = RankedTensorType::get({int64_t(values.size())}, b.getI64Type());
  return b.create<ConstantOp>(loc, type, DenseIntElementsAttr::get(type, values));
}

} // namespace mlir::eff

#endif // EFFC_DIALECTS_EFF_I64CONSTANT_H
