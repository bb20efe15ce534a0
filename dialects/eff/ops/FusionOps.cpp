//===- FusionOps.cpp - kernel regions -------------------------------------===//
#include "dialects/eff/EffOps.h"

using namespace mlir;
using namespace mlir::eff;

LogicalResult FusionOp::verify() {
  if (getKind() != "elementwise")
    return emitOpError("unknown fusion kind '") << getKind() << "'";
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError("body has ") << body.getNumArguments() << " arguments for "
                                    << getInputs().size() << " inputs";
  for (auto [arg, input] : llvm::zip(body.getArguments(), getInputs()))
    if (arg.getType() != input.getType())
      return emitOpError("body argument type ") << arg.getType() << " differs from input type "
                                                << input.getType();
  auto yield = cast<YieldOp>(body.getTerminator());
  if (yield.getValues().getTypes() != getResultTypes())
    return emitOpError("yielded types differ from the result types");
  for (Operation &op : body.without_terminator()) {
    if (op.getDialect() != (*this)->getDialect() || isa<FusionOp>(op))
      return op.emitOpError("cannot be fused: only eff ops (and no nested fusion) may appear in an eff.fusion body");
    for (Type t : op.getResultTypes())
      if (auto rt = dyn_cast<RankedTensorType>(t);
          !rt || rt.getShape() != cast<ShapedType>(getResult(0).getType()).getShape())
        return op.emitOpError("result shape ")
               << t << " differs from the elementwise fusion's shape " << getResult(0).getType();
  }
  return success();
}
