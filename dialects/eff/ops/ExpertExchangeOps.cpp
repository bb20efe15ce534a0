//===- ExpertExchangeOps.cpp - expert_dispatch, expert_combine ------------===//
// The runtime sizes the token exchange from these types and lists alone
// (the receive capacity C, the rows' widths, which device holds which
// experts), so the verifiers check every shape the transfers rely on.
#include "dialects/eff/EffOps.h"

#include "llvm/ADT/DenseSet.h"

using namespace mlir;
using namespace mlir::eff;

namespace {

/// The N = |devices| groups of `inputs` (kinds of each): an emitter of
/// errors when the count is not kinds * N.
LogicalResult checkGroups(std::optional<Location> loc, StringRef op, size_t inputs, size_t n,
                          size_t kinds) {
  if (n == 0)
    return emitOptionalError(loc, op, " needs at least one device");
  if (inputs != kinds * n)
    return emitOptionalError(loc, op, " has ", inputs, " inputs for ", n, " devices; it takes ",
                             kinds, " per device (", kinds * n, ")");
  return success();
}

RankedTensorType ranked2D(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && t.getRank() == 2 && t.hasStaticShape() ? t : RankedTensorType();
}

/// Devices distinct, >= 0 and below the function's `eff.devices`; the
/// expert splits N + 1 entries, from 0, non-decreasing.
LogicalResult verifyPlan(Operation *op, ArrayRef<int64_t> devices, ArrayRef<int64_t> splits) {
  int64_t count = 0;
  for (Operation *p = op->getParentOp(); p && !count; p = p->getParentOp())
    if (auto attr = p->getAttrOfType<IntegerAttr>("eff.devices"))
      count = attr.getInt();
  llvm::DenseSet<int64_t> seen;
  for (auto [i, d] : llvm::enumerate(devices)) {
    if (d < 0 || (count > 0 && d >= count))
      return op->emitOpError("device ")
             << i << " is " << d << ", outside 0.." << (count > 0 ? count - 1 : int64_t(0))
             << (count > 0 ? " (the function's eff.devices)" : " (devices are >= 0)");
    if (!seen.insert(d).second)
      return op->emitOpError("device ") << d << " is given twice";
  }
  if (splits.size() != devices.size() + 1)
    return op->emitOpError("expert_splits has ")
           << splits.size() << " entries for " << devices.size()
           << " devices (one more: device i holds experts splits[i] .. splits[i + 1] - 1)";
  if (splits.front() != 0)
    return op->emitOpError("expert_splits starts at ") << splits.front() << ", not 0";
  for (size_t i = 1; i < splits.size(); ++i)
    if (splits[i] < splits[i - 1])
      return op->emitOpError("expert_splits decreases at entry ")
             << i << " (" << splits[i - 1] << " then " << splits[i] << ")";
  return success();
}

/// The routing of device i: experts_i [T_i, k] int64 and (weights) [T_i, k]
/// f32, T_i = rows; k the same on every device.
LogicalResult checkRouting(std::optional<Location> loc, StringRef op, StringRef what, size_t i,
                           Value v, Type element, int64_t rows, int64_t &k) {
  RankedTensorType t = ranked2D(v);
  if (!t || t.getElementType() != element)
    return emitOptionalError(loc, op, " ", what, "_", i, " is ", v.getType(), "; want a static [",
                             rows, ", k] tensor of ", element);
  if (t.getDimSize(0) != rows || (k >= 0 && t.getDimSize(1) != k))
    return emitOptionalError(loc, op, " ", what, "_", i, " is ", v.getType(), "; want [", rows,
                             ", ", k < 0 ? t.getDimSize(1) : k, "] (a row per token, k slots)");
  k = t.getDimSize(1);
  return success();
}

} // namespace

//===- expert_dispatch --------------------------------------------------------===//

LogicalResult ExpertDispatchOp::inferResultTypes(MLIRContext *ctx, std::optional<Location> loc,
                                                 Adaptor adaptor, SmallVectorImpl<Type> &types) {
  ValueRange in = adaptor.getInputs();
  const size_t n = adaptor.getDevices().size();
  if (failed(checkGroups(loc, "expert_dispatch", in.size(), n, 3)))
    return failure();
  RankedTensorType x0 = ranked2D(in[0]);
  if (!x0)
    return emitOptionalError(loc, "expert_dispatch x_0 is ", in[0].getType(),
                             "; want a static [T, H] tensor");
  int64_t capacity = 0, k = -1;
  for (size_t i = 0; i < n; ++i) {
    RankedTensorType x = ranked2D(in[i]);
    if (!x || x.getElementType() != x0.getElementType() || x.getDimSize(1) != x0.getDimSize(1))
      return emitOptionalError(loc, "expert_dispatch x_", i, " is ", in[i].getType(), "; x_0 is ",
                               x0, " (every device's rows have x_0's width and type)");
    const int64_t rows = x.getDimSize(0);
    if (failed(checkRouting(loc, "expert_dispatch", "experts", i, in[n + i],
                            IntegerType::get(ctx, 64), rows, k)) ||
        failed(checkRouting(loc, "expert_dispatch", "weights", i, in[2 * n + i],
                            Float32Type::get(ctx), rows, k)))
      return failure();
    capacity += rows;
  }
  for (size_t i = 0; i < n; ++i)
    types.push_back(RankedTensorType::get({capacity, x0.getDimSize(1)}, x0.getElementType()));
  for (size_t i = 0; i < n; ++i)
    types.push_back(RankedTensorType::get({capacity, k}, IntegerType::get(ctx, 64)));
  for (size_t i = 0; i < n; ++i)
    types.push_back(RankedTensorType::get({capacity, k}, Float32Type::get(ctx)));
  return success();
}

LogicalResult ExpertDispatchOp::verify() {
  return verifyPlan(*this, getDevices(), getExpertSplits());
}

LogicalResult ExpertDispatchOp::fold(FoldAdaptor, SmallVectorImpl<OpFoldResult> &) {
  return failure();
}

//===- expert_combine ---------------------------------------------------------===//

LogicalResult ExpertCombineOp::inferResultTypes(MLIRContext *ctx, std::optional<Location> loc,
                                                Adaptor adaptor, SmallVectorImpl<Type> &types) {
  ValueRange in = adaptor.getInputs();
  const size_t n = adaptor.getDevices().size();
  if (failed(checkGroups(loc, "expert_combine", in.size(), n, 2)))
    return failure();
  RankedTensorType y0 = ranked2D(in[0]);
  if (!y0 || !isa<FloatType>(y0.getElementType()))
    return emitOptionalError(loc, "expert_combine y_0 is ", in[0].getType(),
                             "; want a static float [C, H] tensor");
  int64_t capacity = 0, k = -1;
  SmallVector<int64_t> rows;
  for (size_t i = 0; i < n; ++i) {
    RankedTensorType e = ranked2D(in[n + i]);
    if (!e)
      return emitOptionalError(loc, "expert_combine experts_", i, " is ", in[n + i].getType(),
                               "; want a static [T, k] int64 tensor");
    if (failed(checkRouting(loc, "expert_combine", "experts", i, in[n + i],
                            IntegerType::get(ctx, 64), e.getDimSize(0), k)))
      return failure();
    rows.push_back(e.getDimSize(0));
    capacity += e.getDimSize(0);
  }
  for (size_t j = 0; j < n; ++j)
    if (in[j].getType() != RankedTensorType::get({capacity, y0.getDimSize(1)}, y0.getElementType()))
      return emitOptionalError(
          loc, "expert_combine y_", j, " is ", in[j].getType(), "; want [", capacity, ", ",
          y0.getDimSize(1), "] ", y0.getElementType(),
          " (a row per token expert_dispatch can deliver: the sum of the T_i)");
  for (size_t i = 0; i < n; ++i)
    types.push_back(RankedTensorType::get({rows[i], y0.getDimSize(1)}, y0.getElementType()));
  return success();
}

LogicalResult ExpertCombineOp::verify() {
  return verifyPlan(*this, getDevices(), getExpertSplits());
}

LogicalResult ExpertCombineOp::fold(FoldAdaptor, SmallVectorImpl<OpFoldResult> &) {
  return failure();
}
