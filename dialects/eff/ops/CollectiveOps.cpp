//===- CollectiveOps.cpp - all_reduce, all_gather ----------------------------===//
// The runtime moves bytes between devices by these ops' types and device
// lists alone (Collectives.h counts elements per rank), so the verifiers
// check every shape and device the transfer relies on.
#include "dialects/eff/ConstantFolding.h"
#include "dialects/eff/EffOps.h"

#include "llvm/ADT/DenseSet.h"

using namespace mlir;
using namespace mlir::eff;

namespace {

/// devices: one per operand, distinct, >= 0 and below the `eff.devices` of
/// the enclosing function (eff-partition-devices' device count) when it has
/// one.
LogicalResult verifyDevices(Operation *op, ArrayRef<int64_t> devices) {
  if (devices.size() != op->getNumOperands())
    return op->emitOpError("has ") << op->getNumOperands() << " operands but " << devices.size()
                                   << " devices; each operand needs its device";
  if (devices.empty())
    return op->emitOpError("needs at least one operand");
  int64_t count = 0;
  for (Operation *p = op->getParentOp(); p && !count; p = p->getParentOp())
    if (auto attr = p->getAttrOfType<IntegerAttr>("eff.devices"))
      count = attr.getInt();
  llvm::DenseSet<int64_t> seen;
  for (auto [i, d] : llvm::enumerate(devices)) {
    if (d < 0)
      return op->emitOpError("operand ") << i << " is on device " << d << " (devices are >= 0)";
    if (count > 0 && d >= count)
      return op->emitOpError("operand ") << i << " is on device " << d << ", but the function is "
                                         << "planned for " << count << " devices (eff.devices)";
    if (!seen.insert(d).second)
      return op->emitOpError("device ") << d << " is given twice; one operand per device";
  }
  return success();
}

} // namespace

LogicalResult AllReduceOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor, SmallVectorImpl<Type> &types) {
  ValueRange partials = adaptor.getPartials();
  if (partials.empty())
    return emitOptionalError(loc, "all_reduce needs at least one partial");
  types.push_back(partials.front().getType());
  return success();
}

LogicalResult AllReduceOp::verify() {
  Type first = getPartials().front().getType();
  for (auto [i, v] : llvm::enumerate(getPartials()))
    if (v.getType() != first)
      return emitOpError("partial ") << i << " has type " << v.getType() << ", partial 0 " << first
                                     << "; every device's partial has the same type";
  if (getResult().getType() != first)
    return emitOpError("result type ")
           << getResult().getType() << " differs from the partials' " << first;
  return verifyDevices(*this, getDevices());
}

OpFoldResult AllReduceOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}

LogicalResult AllGatherOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor, SmallVectorImpl<Type> &types) {
  ValueRange blocks = adaptor.getBlocks();
  if (blocks.empty())
    return emitOptionalError(loc, "all_gather needs at least one block");
  auto first = dyn_cast<RankedTensorType>(blocks.front().getType());
  if (!first)
    return emitOptionalError(loc, "all_gather block 0 is unranked");
  const int64_t axis = adaptor.getAxis();
  if (axis < 0 || axis >= first.getRank())
    return emitOptionalError(loc, "all_gather axis ", axis, " is outside 0..", first.getRank() - 1,
                             " (rank ", first.getRank(), ")");
  SmallVector<int64_t> shape(first.getShape());
  for (auto [i, v] : llvm::enumerate(blocks.drop_front())) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t || t.getRank() != first.getRank() || t.getElementType() != first.getElementType())
      return emitOptionalError(loc, "all_gather block ", i + 1, " has type ", v.getType(),
                               "; block 0 is ", first, " (blocks agree in element type and rank)");
    for (int64_t d = 0; d < t.getRank(); ++d) {
      if (d == axis) {
        shape[d] = ShapedType::isDynamic(shape[d]) || t.isDynamicDim(d)
                       ? ShapedType::kDynamic
                       : shape[d] + t.getDimSize(d);
        continue;
      }
      if (t.getDimSize(d) != first.getDimSize(d))
        return emitOptionalError(loc, "all_gather block ", i + 1, " has dim ", d, " = ",
                                 t.getDimSize(d), ", block 0 ", first.getDimSize(d),
                                 " (blocks differ only along axis ", axis, ")");
    }
  }
  types.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

LogicalResult AllGatherOp::verify() { return verifyDevices(*this, getDevices()); }

OpFoldResult AllGatherOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}
