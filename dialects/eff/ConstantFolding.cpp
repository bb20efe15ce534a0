//===- ConstantFolding.cpp - fold eff ops with the host reference kernels --===//
#include "dialects/eff/ConstantFolding.h"
#include "dialects/eff/KernelOperands.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Operation.h"

#include <cstring>

using namespace mlir;

namespace mlir::eff {

effc::DType toDType(Type t) {
  using effc::DType;
  if (t.isF32()) return DType::FLOAT32;
  if (t.isF16()) return DType::FLOAT16;
  if (t.isBF16()) return DType::BFLOAT16;
  if (t.isF64()) return DType::FLOAT64;
  auto it = dyn_cast<IntegerType>(t);
  if (!it)
    return DType::UNDEFINED;
  bool isUnsigned = it.isUnsigned();
  switch (it.getWidth()) {
  case 1: return DType::BOOL;
  case 8: return isUnsigned ? DType::UINT8 : DType::INT8;
  case 16: return isUnsigned ? DType::UINT16 : DType::INT16;
  case 32: return isUnsigned ? DType::UINT32 : DType::INT32;
  case 64: return isUnsigned ? DType::UINT64 : DType::INT64;
  default: return DType::UNDEFINED;
  }
}

Type fromDType(MLIRContext *ctx, effc::DType dtype) {
  using effc::DType;
  Builder b(ctx);
  switch (dtype) {
  case DType::FLOAT32: return b.getF32Type();
  case DType::FLOAT16: return b.getF16Type();
  case DType::BFLOAT16: return b.getBF16Type();
  case DType::FLOAT64: return b.getF64Type();
  case DType::BOOL: return b.getI1Type();
  case DType::INT8: return b.getIntegerType(8);
  case DType::INT16: return b.getIntegerType(16);
  case DType::INT32: return b.getIntegerType(32);
  case DType::INT64: return b.getIntegerType(64);
  case DType::UINT8: return b.getIntegerType(8, /*isSigned=*/false);
  case DType::UINT16: return b.getIntegerType(16, false);
  case DType::UINT32: return b.getIntegerType(32, false);
  case DType::UINT64: return b.getIntegerType(64, false);
  default: return {};
  }
}

static int64_t elementBytes(Type t) {
  return t.isInteger(1) ? 1 : int64_t(effc::dtypeSize(toDType(t)));
}

bool getElementsBytes(ElementsAttr attr, std::vector<char> &bytes) {
  Type elt = attr.getElementType();
  int64_t n = attr.getNumElements(), width = elementBytes(elt);
  if (width == 0)
    return false;
  bytes.assign(size_t(n * width), 0);
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    if (elt.isInteger(1)) {
      // Dense i1 literals are bit-packed; kernels read one byte per bool.
      size_t i = 0;
      for (bool v : dense.getValues<bool>())
        bytes[i++] = v ? 1 : 0;
      return true;
    }
    ArrayRef<char> raw = dense.getRawData();
    if (dense.isSplat()) {
      for (int64_t i = 0; i < n; ++i)
        std::memcpy(bytes.data() + i * width, raw.data(), size_t(width));
      return true;
    }
    if (int64_t(raw.size()) != n * width)
      return false;
    // An empty tensor has no storage: memcpy must not see its null pointer.
    if (!raw.empty())
      std::memcpy(bytes.data(), raw.data(), raw.size());
    return true;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return false;
    ArrayRef<char> data = blob->getData();
    if (int64_t(data.size()) != n * width)
      return false;
    if (!data.empty())
      std::memcpy(bytes.data(), data.data(), data.size());
    return true;
  }
  return false;
}

ElementsAttr makeElementsAttr(ShapedType type, ArrayRef<char> bytes, StringRef blobHint) {
  Type elt = type.getElementType();
  if (type.getNumElements() <= kMaxInlineElements) {
    if (elt.isInteger(1)) {
      SmallVector<bool> values;
      for (char c : bytes)
        values.push_back(c != 0);
      return DenseElementsAttr::get(type, values);
    }
    return DenseElementsAttr::getFromRawBuffer(type, bytes);
  }
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
      bytes, /*align=*/std::max<size_t>(size_t(elementBytes(elt)), 8));
  return DenseResourceElementsAttr::get(type, blobHint, std::move(blob));
}

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
      attrs[name.str()] = std::vector<double>(floats.asArrayRef().begin(), floats.asArrayRef().end());
    else if (auto elements = dyn_cast<DenseElementsAttr>(a); elements && elements.getNumElements() == 1) {
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

/// The kernel inputs of `op` from its constant operands; false when one is
/// not a constant whose bytes are available.
static bool collectInputs(Operation *op, ArrayRef<Attribute> operands,
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

LogicalResult foldWithHostKernel(Operation *op, ArrayRef<Attribute> operands,
                                 SmallVectorImpl<OpFoldResult> &results) {
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

OpFoldResult foldWithHostKernel(Operation *op, ArrayRef<Attribute> operands) {
  SmallVector<OpFoldResult, 1> results;
  if (failed(foldWithHostKernel(op, operands, results)) || results.size() != 1)
    return {};
  return results.front();
}

} // namespace mlir::eff
