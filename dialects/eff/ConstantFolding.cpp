//===- ConstantFolding.cpp - fold eff ops with the host reference kernels --===//
#include "dialects/eff/ConstantFolding.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Operation.h"

#include "llvm/Support/ErrorHandling.h"

#include <cstring>

using namespace mlir;

namespace mlir::eff {

effc::DType toDType(Type t) {
  using effc::DType;
  if (t.isF32())
    return DType::FLOAT32;
  if (t.isF16())
    return DType::FLOAT16;
  if (t.isBF16())
    return DType::BFLOAT16;
  if (t.isF64())
    return DType::FLOAT64;
  auto it = dyn_cast<IntegerType>(t);
  if (!it)
    return DType::UNDEFINED;
  bool isUnsigned = it.isUnsigned();
  switch (it.getWidth()) {
  case 1:
    return DType::BOOL;
  case 8:
    return isUnsigned ? DType::UINT8 : DType::INT8;
  case 16:
    return isUnsigned ? DType::UINT16 : DType::INT16;
  case 32:
    return isUnsigned ? DType::UINT32 : DType::INT32;
  case 64:
    return isUnsigned ? DType::UINT64 : DType::INT64;
  default:
    return DType::UNDEFINED;
  }
}

Type fromDType(MLIRContext *ctx, effc::DType dtype) {
  using effc::DType;
  Builder b(ctx);
  switch (dtype) {
  case DType::FLOAT32:
    return b.getF32Type();
  case DType::FLOAT16:
    return b.getF16Type();
  case DType::BFLOAT16:
    return b.getBF16Type();
  case DType::FLOAT64:
    return b.getF64Type();
  case DType::BOOL:
    return b.getI1Type();
  case DType::INT8:
    return b.getIntegerType(8);
  case DType::INT16:
    return b.getIntegerType(16);
  case DType::INT32:
    return b.getIntegerType(32);
  case DType::INT64:
    return b.getIntegerType(64);
  case DType::UINT8:
    return b.getIntegerType(8, /*isSigned=*/false);
  case DType::UINT16:
    return b.getIntegerType(16, false);
  case DType::UINT32:
    return b.getIntegerType(32, false);
  case DType::UINT64:
    return b.getIntegerType(64, false);
  default:
    return {};
  }
}

int64_t elementBytes(Type t) {
  if (t.isInteger(1))
    return 1;
  // Every type toDType maps is a whole number of bytes wide.
  return toDType(t) == effc::DType::UNDEFINED ? 0 : int64_t(t.getIntOrFloatBitWidth() / 8);
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

LogicalResult foldWithHostKernel(Operation *op, ArrayRef<Attribute> operands,
                                 SmallVectorImpl<OpFoldResult> &results) {
  auto *evaluator = op->getDialect()->getRegisteredInterface<EffConstantEvaluator>();
  if (!evaluator)
    llvm::report_fatal_error("eff dialect loaded without its constant evaluator: register it with "
                             "mlir::eff::registerEffcDialects (or registerHostKernelFolding)");
  return evaluator->evaluate(op, operands, results);
}

OpFoldResult foldWithHostKernel(Operation *op, ArrayRef<Attribute> operands) {
  SmallVector<OpFoldResult, 1> results;
  if (failed(foldWithHostKernel(op, operands, results)) || results.size() != 1)
    return {};
  return results.front();
}

} // namespace mlir::eff
