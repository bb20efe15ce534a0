//===- DimBounds.h - upper bounds of bounded symbolic dims ------*- C++ -*-===//
//
// What passes that decide by size (eff-split-kv-decode, eff-kv-cache-inplace)
// read of `effc --dim NAME=MIN..MAX`: the bounds the importer records in
// eff.dims on the function and the dim names in each argument's
// eff.dim_params.
//
//===----------------------------------------------------------------------===//
#ifndef EFFC_PASSES_DIMBOUNDS_H
#define EFFC_PASSES_DIMBOUNDS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <cstdint>
#include <optional>

namespace mlir::eff {

/// The upper bound eff.dims gives dim `name` of `func`, or nullopt.
std::optional<int64_t> dimUpperBound(func::FuncOp func, StringRef name);

/// The largest value dim `d` of argument `arg` takes: static, or the upper
/// bound of the dim its eff.dim_params names; nullopt when neither is known.
std::optional<int64_t> argDimMax(func::FuncOp func, unsigned arg, unsigned d);

} // namespace mlir::eff

#endif // EFFC_PASSES_DIMBOUNDS_H
