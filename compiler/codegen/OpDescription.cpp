//===- OpDescription.cpp - an eff op as a KernelDesc ----------------------===//
#include "compiler/codegen/KernelEmitter.h"

#include "dialects/eff/ConstantFolding.h"
#include "dialects/eff/EffOps.h"
#include "dialects/eff/KernelOperands.h"
#include "dialects/eff/ShapeInference.h"
#include "dialects/eff/hostfold/HostKernelFolding.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"

namespace effc::codegen {

namespace {

bool describeValue(mlir::Value value, TensorDesc &t, std::string &error,
                   const SymbolicShapeFn &symbolic) {
  auto type = mlir::dyn_cast<mlir::RankedTensorType>(value.getType());
  bool isStatic = type && type.hasStaticShape();
  if (!type || (!isStatic && !(symbolic && symbolic(value, t)))) {
    error = "dynamic shape; fix the model's input dims with --dim NAME=N or --shape";
    return false;
  }
  t.dtype = mlir::eff::toDType(type.getElementType());
  if (t.dtype == DType::UNDEFINED) {
    error = "unsupported element type";
    return false;
  }
  if (isStatic)
    t.shape.assign(type.getShape().begin(), type.getShape().end());
  // Shape-like operands (axes, starts, K, ...) are small integer constants.
  if (mlir::isa<mlir::IntegerType>(type.getElementType()) && type.getNumElements() <= 4096)
    if (auto ints = mlir::eff::getConstantInts(value))
      t.constInts = std::vector<int64_t>(ints->begin(), ints->end());
  return true;
}

} // namespace

std::optional<KernelDesc> describeKernelOp(mlir::Operation *op, const std::string &name,
                                           std::string &error, const SymbolicShapeFn &symbolic) {
  KernelDesc desc;
  desc.op = op->getName().getStringRef().str();
  desc.name = name;
  // The host kernels' attributes (unit attributes such as eff.attention's
  // `causal` as 1): the manifest stores exactly these.
  desc.attrs = mlir::eff::toHostAttrs(op);
  for (mlir::Value operand : mlir::eff::getKernelOperands(op)) {
    TensorDesc t;
    if (!operand) {
      t.present = false;
    } else if (!describeValue(operand, t, error, symbolic)) {
      error = desc.op + ": operand " + std::to_string(desc.inputs.size()) + ": " + error;
      return std::nullopt;
    }
    desc.inputs.push_back(std::move(t));
  }
  for (mlir::Value result : op->getResults()) {
    TensorDesc t;
    if (!describeValue(result, t, error, symbolic)) {
      error = desc.op + ": result " + std::to_string(desc.outputs.size()) + ": " + error;
      return std::nullopt;
    }
    t.constInts.reset();
    desc.outputs.push_back(std::move(t));
  }
  // A fusion's body: each op described on its own, operands as value indices
  // (block arguments first, then each body result: the artifact's numbering).
  if (auto fusion = mlir::dyn_cast<mlir::eff::FusionOp>(op)) {
    // The kind by its name, as the artifact stores it (not the enum's value).
    desc.attrs["kind"] = mlir::eff::stringifyFusionKind(fusion.getKind()).str();
    mlir::Block &block = fusion.getBody().front();
    llvm::DenseMap<mlir::Value, int> index;
    for (mlir::BlockArgument arg : block.getArguments())
      index[arg] = int(arg.getArgNumber());
    int next = int(block.getNumArguments());
    for (mlir::Operation &inner : block.without_terminator()) {
      std::optional<KernelDesc> innerDesc = describeKernelOp(&inner, "", error, symbolic);
      if (!innerDesc) {
        error = desc.op + ": body: " + error;
        return std::nullopt;
      }
      FusedOp fused{std::move(*innerDesc), {}};
      for (mlir::Value operand : mlir::eff::getKernelOperands(&inner)) {
        // A constant kernel input (a fused slice's starts, ends, axes,
        // steps) carries its values into the body op's description.
        if (auto arg = mlir::dyn_cast_or_null<mlir::BlockArgument>(operand);
            arg && arg.getOwner() == &block) {
          TensorDesc &t = fused.desc.inputs[fused.operands.size()];
          if (!t.constInts)
            t.constInts = desc.inputs[arg.getArgNumber()].constInts;
        }
        fused.operands.push_back(operand ? index.lookup(operand) : -1);
      }
      for (mlir::Value result : inner.getResults())
        index[result] = next++;
      desc.body.push_back(std::move(fused));
    }
    for (mlir::Value yielded : block.getTerminator()->getOperands())
      desc.bodyOutputs.push_back(index.lookup(yielded));
  }
  return desc;
}

} // namespace effc::codegen
