//===- OpDescription.cpp - an eff op as a KernelDesc ----------------------===//
#include "compiler/codegen/KernelEmitter.h"

#include "dialects/eff/ConstantFolding.h"
#include "dialects/eff/KernelOperands.h"
#include "dialects/eff/ShapeInference.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"

namespace effc::codegen {

namespace {

bool describeValue(mlir::Value value, TensorDesc &t, std::string &error) {
  auto type = mlir::dyn_cast<mlir::RankedTensorType>(value.getType());
  if (!type || !type.hasStaticShape()) {
    error = "dynamic shape; bind the model's input dims with --shape";
    return false;
  }
  t.dtype = mlir::eff::toDType(type.getElementType());
  if (t.dtype == DType::UNDEFINED) {
    error = "unsupported element type";
    return false;
  }
  t.shape.assign(type.getShape().begin(), type.getShape().end());
  // Shape-like operands (axes, starts, K, ...) are small integer constants.
  if (mlir::isa<mlir::IntegerType>(type.getElementType()) && type.getNumElements() <= 4096)
    if (auto ints = mlir::eff::getConstantInts(value))
      t.constInts = std::vector<int64_t>(ints->begin(), ints->end());
  return true;
}

} // namespace

std::optional<KernelDesc> describeKernelOp(mlir::Operation *op, const std::string &name,
                                           std::string &error) {
  KernelDesc desc;
  desc.op = op->getName().getStringRef().str();
  desc.name = name;
  desc.attrs = mlir::eff::toHostAttrs(op);
  // Unit attributes (eff.attention's `causal`) mean 1.
  for (mlir::NamedAttribute named : op->getAttrs())
    if (mlir::isa<mlir::UnitAttr>(named.getValue()))
      desc.attrs[named.getName().str()] = int64_t(1);
  for (mlir::Value operand : mlir::eff::getKernelOperands(op)) {
    TensorDesc t;
    if (!operand) {
      t.present = false;
    } else if (!describeValue(operand, t, error)) {
      error = desc.op + ": operand " + std::to_string(desc.inputs.size()) + ": " + error;
      return std::nullopt;
    }
    desc.inputs.push_back(std::move(t));
  }
  for (mlir::Value result : op->getResults()) {
    TensorDesc t;
    if (!describeValue(result, t, error)) {
      error = desc.op + ": result " + std::to_string(desc.outputs.size()) + ": " + error;
      return std::nullopt;
    }
    t.constInts.reset();
    desc.outputs.push_back(std::move(t));
  }
  return desc;
}

} // namespace effc::codegen
