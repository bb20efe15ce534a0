//===- FusionOps.cpp - kernel regions -------------------------------------===//
#include "dialects/eff/EffOps.h"

#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;
using namespace mlir::eff;

namespace {

/// True when `from` broadcasts (numpy rules) into `to` without growing it.
bool broadcastsInto(ArrayRef<int64_t> from, ArrayRef<int64_t> to) {
  if (from.size() > to.size())
    return false;
  size_t off = to.size() - from.size();
  for (size_t d = 0; d < from.size(); ++d)
    if (from[d] != 1 && from[d] != to[off + d])
      return false;
  return true;
}

/// "gemm_epilogue": matmul/gemm on block arguments first, then an
/// elementwise chain over its result shape that reads the matmul result.
/// eff.lora_expand may be part of the chain: its side operands (t, b,
/// lora_index) are block arguments indexed by row and column.
LogicalResult verifyGemmEpilogue(FusionOp fusion, Block &body) {
  auto ops = body.without_terminator();
  if (ops.empty())
    return fusion.emitOpError("gemm_epilogue body is empty");
  Operation &gemm = *ops.begin();
  if (!gemm.hasTrait<OpTrait::eff::GemmLike>())
    return gemm.emitOpError(
        "must be eff.matmul or eff.gemm: a gemm_epilogue body starts with its GEMM");
  for (Value operand : gemm.getOperands())
    if (!isa<BlockArgument>(operand))
      return gemm.emitOpError("operands of a gemm_epilogue's GEMM must be fusion inputs");
  // Dynamic dims: eff-fuse-gemm-epilogue fuses only a chain whose shapes
  // the probes of the bounded dims show equal to the GEMM's.
  auto type = dyn_cast<RankedTensorType>(gemm.getResult(0).getType());
  if (!type)
    return gemm.emitOpError("gemm_epilogue needs a ranked GEMM result");
  if (std::next(ops.begin()) == ops.end() || gemm.getResult(0).use_empty())
    return fusion.emitOpError("gemm_epilogue chain does not consume the GEMM result");
  for (Operation &op : llvm::drop_begin(ops)) {
    if (op.getDialect() != fusion->getDialect() || isa<FusionOp>(op) ||
        op.hasTrait<OpTrait::eff::GemmLike>())
      return op.emitOpError(
          "cannot be fused: a gemm_epilogue's chain holds only elementwise eff ops");
    for (Type t : op.getResultTypes())
      if (auto rt = dyn_cast<RankedTensorType>(t); !rt || rt.getShape() != type.getShape())
        return op.emitOpError("result shape ")
               << t << " differs from the GEMM result shape " << type;
    ValueRange broadcastOperands = op.getOperands();
    if (auto expand = dyn_cast<LoRAExpandOp>(op)) {
      for (Value side : expand->getOperands().drop_front())
        if (!isa<BlockArgument>(side))
          return op.emitOpError("t, b and lora_index of a fused lora_expand must be fusion inputs");
      broadcastOperands = expand->getOperands().take_front();
    }
    for (Value operand : broadcastOperands)
      if (isa<BlockArgument>(operand))
        if (auto rt = dyn_cast<RankedTensorType>(operand.getType());
            !rt || !broadcastsInto(rt.getShape(), type.getShape()))
          return op.emitOpError("input ")
                 << operand.getType() << " does not broadcast to the GEMM result shape " << type;
  }
  return success();
}

} // namespace

LogicalResult FusionOp::verify() {
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError("body has ")
           << body.getNumArguments() << " arguments for " << getInputs().size() << " inputs";
  for (auto [arg, input] : llvm::zip(body.getArguments(), getInputs()))
    if (arg.getType() != input.getType())
      return emitOpError("body argument type ")
             << arg.getType() << " differs from input type " << input.getType();
  auto yield = cast<YieldOp>(body.getTerminator());
  if (yield.getValues().getTypes() != getResultTypes())
    return emitOpError("yielded types differ from the result types");
  if (getKind() == FusionKind::GemmEpilogue)
    return verifyGemmEpilogue(*this, body);
  // A value of another shape only feeds index-mapping ops (transpose, slice,
  // concat), directly or through other such values: the kernel evaluates it
  // at the coordinates they map to.
  llvm::SmallPtrSet<Operation *, 8> otherShape;
  for (Operation &op : llvm::reverse(body.without_terminator())) {
    if (op.getDialect() != (*this)->getDialect() || isa<FusionOp>(op))
      return op.emitOpError(
          "cannot be fused: only eff ops (and no nested fusion) may appear in an eff.fusion body");
    for (Type t : op.getResultTypes()) {
      auto rt = dyn_cast<RankedTensorType>(t);
      if (rt && rt.getShape() == cast<ShapedType>(getResult(0).getType()).getShape())
        continue;
      bool feedsIndexMaps =
          rt && !op.use_empty() && llvm::all_of(op.getUsers(), [&](Operation *user) {
            return isa<TransposeOp, SliceOp, ConcatOp>(user) || otherShape.contains(user);
          });
      if (!feedsIndexMaps)
        return op.emitOpError("result shape ")
               << t << " differs from the elementwise fusion's shape " << getResult(0).getType()
               << " and is read other than through eff.transpose, eff.slice or eff.concat";
      otherShape.insert(&op);
    }
  }
  return success();
}
