//===- OnnxTensors.cpp - ONNX TensorProto -> ElementsAttr ------------------===//
#include "compiler/onnx/OnnxTensors.h"

#include "dialects/eff/ConstantFolding.h"

#include "mlir/IR/BuiltinTypes.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "onnx/onnx.pb.h"

#include <cstring>

using namespace mlir;

namespace effc {

Type onnxElementType(MLIRContext &ctx, int32_t dataType) {
  if (!effc::isValidDType(dataType))
    return {};
  return mlir::eff::fromDType(&ctx, effc::DType(dataType));
}

std::string onnxDataTypeName(int32_t dataType) {
  if (onnx::TensorProto_DataType_IsValid(dataType))
    return onnx::TensorProto_DataType_Name(onnx::TensorProto_DataType(dataType));
  return "<" + std::to_string(dataType) + ">";
}

namespace onnx_import {

struct ExternalDataCache::Impl {
  llvm::StringMap<std::unique_ptr<llvm::MemoryBuffer>> files;
};

ExternalDataCache::ExternalDataCache() : impl(std::make_unique<Impl>()) {}
ExternalDataCache::~ExternalDataCache() = default;

bool ExternalDataCache::read(const std::string &dir, const std::string &location, int64_t offset,
                             int64_t length, std::vector<char> &out, std::string &error) {
  if (location.empty()) {
    error = "external data has no 'location'";
    return false;
  }
  if (llvm::sys::path::is_absolute(location) || location.find('\0') != std::string::npos) {
    error = "external data location '" + location + "' must be a relative path";
    return false;
  }
  for (auto it = llvm::sys::path::begin(location), e = llvm::sys::path::end(location); it != e;
       ++it)
    if (*it == "..") {
      error = "external data location '" + location + "' leaves the model directory";
      return false;
    }
  llvm::SmallString<256> path(dir.empty() ? "." : dir);
  llvm::sys::path::append(path, location);
  auto &slot = impl->files[path.str()];
  if (!slot) {
    auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
    if (!buffer) {
      error = "cannot read external data file '" + std::string(path.str()) +
              "': " + buffer.getError().message();
      impl->files.erase(path.str());
      return false;
    }
    slot = std::move(*buffer);
  }
  int64_t size = int64_t(slot->getBufferSize());
  if (offset < 0 || offset > size) {
    error = "external data offset " + std::to_string(offset) + " is outside '" +
            std::string(path.str()) + "' (" + std::to_string(size) + " bytes)";
    return false;
  }
  if (length < 0)
    length = size - offset;
  if (length > size - offset) {
    error = "external data [" + std::to_string(offset) + ", " + std::to_string(offset) + "+" +
            std::to_string(length) + ") runs past the end of '" + std::string(path.str()) + "' (" +
            std::to_string(size) + " bytes)";
    return false;
  }
  out.assign(slot->getBufferStart() + offset, slot->getBufferStart() + offset + length);
  return true;
}

} // namespace onnx_import

/// Largest tensor the importer accepts (elements * width), a guard against
/// absurd declared dims.
static constexpr int64_t kMaxTensorBytes = int64_t(1) << 40;

template <typename Src, typename Dst>
static void copyConverted(const google::protobuf::RepeatedField<Src> &src, std::vector<char> &out) {
  out.resize(size_t(src.size()) * sizeof(Dst));
  for (int i = 0; i < src.size(); ++i) {
    Dst v = Dst(src.Get(i));
    std::memcpy(out.data() + size_t(i) * sizeof(Dst), &v, sizeof(Dst));
  }
}

bool decodeOnnxTensor(MLIRContext &ctx, const onnx::TensorProto &tensor,
                      const std::string &externalDir, onnx_import::ExternalDataCache *cache,
                      ShapedType &type, std::vector<char> &bytes, std::string &error) {
  int32_t dt = tensor.data_type();
  Type elt = onnxElementType(ctx, dt);
  if (!elt) {
    error = "tensor data type " + onnxDataTypeName(dt) + " is not supported";
    return false;
  }
  int64_t width = elt.isInteger(1) ? 1 : int64_t(effc::dtypeSize(effc::DType(dt)));
  llvm::SmallVector<int64_t> dims;
  int64_t n = 1;
  for (int64_t d : tensor.dims()) {
    if (d < 0) {
      error = "tensor has a negative dim " + std::to_string(d);
      return false;
    }
    if (d != 0 && n > kMaxTensorBytes / d / width) {
      error = "tensor is too large (dims overflow)";
      return false;
    }
    n *= d;
    dims.push_back(d);
  }
  if (n * width > kMaxTensorBytes) {
    error = "tensor is too large";
    return false;
  }
  int64_t expected = n * width;
  type = RankedTensorType::get(dims, elt);

  if (tensor.has_data_location() && tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const onnx::StringStringEntryProto &kv : tensor.external_data()) {
      auto parseInt = [&](const std::string &s, int64_t &v) {
        return !llvm::StringRef(s).getAsInteger(10, v) && v >= 0;
      };
      if (kv.key() == "location")
        location = kv.value();
      else if (kv.key() == "offset") {
        if (!parseInt(kv.value(), offset)) {
          error = "external data offset '" + kv.value() + "' is not a non-negative integer";
          return false;
        }
      } else if (kv.key() == "length") {
        if (!parseInt(kv.value(), length)) {
          error = "external data length '" + kv.value() + "' is not a non-negative integer";
          return false;
        }
      }
    }
    if (length >= 0 && length != expected) {
      error = "external data length " + std::to_string(length) + " does not match the " +
              std::to_string(expected) + " bytes its dims and type need";
      return false;
    }
    onnx_import::ExternalDataCache localCache;
    if (!(cache ? cache : &localCache)->read(externalDir, location, offset, expected, bytes, error))
      return false;
    if (elt.isInteger(1))
      for (char &c : bytes)
        c = c ? 1 : 0;
    return true;
  }

  auto sizeMismatch = [&](const char *field, int64_t got) {
    error = std::string(field) + " holds " + std::to_string(got) + " " +
            (std::strcmp(field, "raw_data") == 0 ? "bytes" : "values") + ", but dims need " +
            std::to_string(std::strcmp(field, "raw_data") == 0 ? expected : n);
    return false;
  };

  if (tensor.has_raw_data()) {
    const std::string &raw = tensor.raw_data();
    if (int64_t(raw.size()) != expected)
      return sizeMismatch("raw_data", int64_t(raw.size()));
    bytes.assign(raw.begin(), raw.end());
    if (elt.isInteger(1))
      for (char &c : bytes)
        c = c ? 1 : 0;
    return true;
  }

  using effc::DType;
  switch (DType(dt)) {
  case DType::FLOAT32:
    if (tensor.float_data_size() != n)
      return sizeMismatch("float_data", tensor.float_data_size());
    copyConverted<float, float>(tensor.float_data(), bytes);
    return true;
  case DType::FLOAT64:
    if (tensor.double_data_size() != n)
      return sizeMismatch("double_data", tensor.double_data_size());
    copyConverted<double, double>(tensor.double_data(), bytes);
    return true;
  case DType::INT64:
    if (tensor.int64_data_size() != n)
      return sizeMismatch("int64_data", tensor.int64_data_size());
    copyConverted<int64_t, int64_t>(tensor.int64_data(), bytes);
    return true;
  case DType::UINT32:
    if (tensor.uint64_data_size() != n)
      return sizeMismatch("uint64_data", tensor.uint64_data_size());
    copyConverted<uint64_t, uint32_t>(tensor.uint64_data(), bytes);
    return true;
  case DType::UINT64:
    if (tensor.uint64_data_size() != n)
      return sizeMismatch("uint64_data", tensor.uint64_data_size());
    copyConverted<uint64_t, uint64_t>(tensor.uint64_data(), bytes);
    return true;
  case DType::INT32:
  case DType::INT16:
  case DType::INT8:
  case DType::UINT16:
  case DType::UINT8:
  case DType::BOOL:
  case DType::FLOAT16:
  case DType::BFLOAT16: {
    if (tensor.int32_data_size() != n)
      return sizeMismatch("int32_data", tensor.int32_data_size());
    switch (DType(dt)) {
    case DType::INT32:
      copyConverted<int32_t, int32_t>(tensor.int32_data(), bytes);
      break;
    case DType::INT16:
      copyConverted<int32_t, int16_t>(tensor.int32_data(), bytes);
      break;
    case DType::INT8:
      copyConverted<int32_t, int8_t>(tensor.int32_data(), bytes);
      break;
    case DType::UINT8:
      copyConverted<int32_t, uint8_t>(tensor.int32_data(), bytes);
      break;
    // fp16/bf16: the 16 bits of each value, zero-extended into an int32.
    default:
      copyConverted<int32_t, uint16_t>(tensor.int32_data(), bytes);
      break;
    case DType::BOOL:
      bytes.resize(size_t(n));
      for (int64_t i = 0; i < n; ++i)
        bytes[size_t(i)] = tensor.int32_data(int(i)) != 0 ? 1 : 0;
      break;
    }
    return true;
  }
  default:
    error = "tensor data type " + onnxDataTypeName(dt) + " is not supported";
    return false;
  }
}

ElementsAttr convertOnnxTensor(MLIRContext &ctx, const onnx::TensorProto &tensor,
                               const std::string &blobName, const std::string &externalDir,
                               onnx_import::ExternalDataCache *cache, std::string &error) {
  ShapedType type;
  std::vector<char> bytes;
  if (!decodeOnnxTensor(ctx, tensor, externalDir, cache, type, bytes, error))
    return {};
  return mlir::eff::makeElementsAttr(type, bytes, blobName.empty() ? "tensor" : blobName);
}

} // namespace effc
