//===- HostKernelFolding.cpp - eff constant folding through the host kernels ===//
#include "dialects/eff/hostfold/HostKernelFolding.h"

#include "dialects/eff/ConstantFolding.h"
#include "dialects/eff/EffDialect.h"
#include "dialects/eff/KernelOperands.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"

using namespace mlir;

namespace mlir::eff {

namespace {

/// Folds an eff op by running the host backend's reference kernel of the same
/// name on its constant operands.
struct HostKernelEvaluator : public EffConstantEvaluator {
  using EffConstantEvaluator::EffConstantEvaluator;
  LogicalResult evaluate(Operation *op, ArrayRef<Attribute> operands,
                         SmallVectorImpl<OpFoldResult> &results) const final;
};

/// The kernel inputs of `op` from its constant operands; false when one is
/// not a constant whose bytes are available.
bool collectInputs(Operation *op, ArrayRef<Attribute> operands,
                   std::vector<std::vector<char>> &storage,
                   std::vector<effc::host::ConstTensorRef> &inputs) {
  SmallVector<KernelOperandAttr> slots = getKernelOperandAttrs(op, operands);
  storage.resize(slots.size());
  for (auto [i, slot] : llvm::enumerate(slots)) {
    if (slot.absent) {
      inputs.push_back({effc::DType::UNDEFINED, {}, nullptr});
      continue;
    }
    auto attr = dyn_cast_or_null<ElementsAttr>(slot.value);
    if (!attr || !getElementsBytes(attr, storage[i]))
      return false;
    auto shape = attr.getShapedType().getShape();
    inputs.push_back({toDType(attr.getElementType()),
                      std::vector<int64_t>(shape.begin(), shape.end()), storage[i].data()});
  }
  return true;
}

} // namespace

effc::host::Attrs toHostAttrs(Operation *op) {
  effc::host::Attrs attrs;
  for (NamedAttribute named : op->getAttrs()) {
    StringRef name = named.getName().strref();
    Attribute a = named.getValue();
    if (name == "operandSegmentSizes" || name == "resultSegmentSizes")
      continue;
    // BoolAttr is an i1 IntegerAttr whose sign-extended `true` would be -1.
    if (auto b = dyn_cast<BoolAttr>(a))
      attrs[name.str()] = int64_t(b.getValue());
    else if (auto i = dyn_cast<IntegerAttr>(a))
      attrs[name.str()] = int64_t(i.getValue().getSExtValue());
    else if (isa<UnitAttr>(a))
      attrs[name.str()] = int64_t(1); // flags such as eff.attention's `causal`
    else if (auto f = dyn_cast<FloatAttr>(a))
      attrs[name.str()] = f.getValueAsDouble();
    else if (auto s = dyn_cast<StringAttr>(a))
      attrs[name.str()] = s.str();
    else if (auto ints = dyn_cast<DenseI64ArrayAttr>(a))
      attrs[name.str()] = std::vector<int64_t>(ints.asArrayRef().begin(), ints.asArrayRef().end());
    else if (auto floats = dyn_cast<DenseF32ArrayAttr>(a))
      attrs[name.str()] =
          std::vector<double>(floats.asArrayRef().begin(), floats.asArrayRef().end());
    else if (auto elements = dyn_cast<DenseElementsAttr>(a);
             elements && elements.getNumElements() == 1) {
      // One-element tensors (ConstantOfShape's value) pass as a scalar.
      if (isa<FloatType>(elements.getElementType()))
        attrs[name.str()] = (*elements.getValues<APFloat>().begin()).convertToDouble();
      else if (elements.getElementType().isInteger(1))
        attrs[name.str()] = int64_t(*elements.getValues<bool>().begin());
      else
        attrs[name.str()] = int64_t((*elements.getValues<APInt>().begin()).getSExtValue());
    }
  }
  return attrs;
}

LogicalResult HostKernelEvaluator::evaluate(Operation *op, ArrayRef<Attribute> operands,
                                            SmallVectorImpl<OpFoldResult> &results) const {
  std::string name = op->getName().getStringRef().str();
  if (!effc::host::hasKernel(name))
    return failure();
  int64_t totalBytes = 0;
  for (Type t : op->getResultTypes()) {
    auto rt = dyn_cast<RankedTensorType>(t);
    if (!rt || !rt.hasStaticShape() || toDType(rt.getElementType()) == effc::DType::UNDEFINED)
      return failure();
    totalBytes += rt.getNumElements() * elementBytes(rt.getElementType());
  }
  if (totalBytes > kMaxFoldBytes)
    return failure();
  std::vector<std::vector<char>> inputStorage;
  std::vector<effc::host::ConstTensorRef> inputs;
  if (!collectInputs(op, operands, inputStorage, inputs))
    return failure();

  std::vector<std::vector<char>> outputStorage;
  std::vector<effc::host::TensorRef> outputs;
  for (Type t : op->getResultTypes()) {
    auto rt = cast<RankedTensorType>(t);
    outputStorage.emplace_back(size_t(rt.getNumElements() * elementBytes(rt.getElementType())));
    outputs.push_back({toDType(rt.getElementType()),
                       std::vector<int64_t>(rt.getShape().begin(), rt.getShape().end()),
                       outputStorage.back().data()});
  }
  effc::Status status = effc::host::runKernel(name, toHostAttrs(op), inputs, outputs);
  if (!status.ok())
    return failure(); // The op stays; execution reports the problem with context.
  std::string hint = (op->getName().stripDialect() + "_folded").str();
  for (auto [t, bytes] : llvm::zip(op->getResultTypes(), outputStorage))
    results.push_back(makeElementsAttr(cast<ShapedType>(t), bytes, hint));
  return success();
}

void registerHostKernelFolding(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *, EffDialect *dialect) {
    if (!dialect->getRegisteredInterface<EffConstantEvaluator>())
      dialect->addInterfaces<HostKernelEvaluator>();
  });
}

} // namespace mlir::eff
