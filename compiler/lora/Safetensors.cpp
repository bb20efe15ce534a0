//===- Safetensors.cpp - reader for the .safetensors format ---------------===//
#include "compiler/lora/Safetensors.h"

#include "compiler/lora/Json.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace effc::lora {
namespace {

llvm::Error fail(llvm::StringRef path, const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), (path + ": " + msg).str());
}

llvm::Error failTensor(llvm::StringRef path, llvm::StringRef tensor, const llvm::Twine &msg) {
  return fail(path, "tensor '" + tensor + "': " + msg);
}

/// A JSON value as it appears in the file, for messages.
std::string show(const llvm::json::Value &v) { return llvm::formatv("{0}", v).str(); }

std::optional<int64_t> nonNegativeInt(const llvm::json::Value &v) {
  std::optional<int64_t> i = v.getAsInteger();
  if (!i || *i < 0)
    return std::nullopt;
  return i;
}

llvm::Expected<SafetensorInfo> parseTensorEntry(llvm::StringRef path, llvm::StringRef name,
                                                const llvm::json::Value &value, uint64_t dataSize) {
  const llvm::json::Object *entry = value.getAsObject();
  if (!entry)
    return failTensor(path, name, "header entry is " + show(value) + ", not an object");
  SafetensorInfo info;
  info.name = name.str();

  std::optional<llvm::StringRef> dtype = entry->getString("dtype");
  if (!dtype)
    return failTensor(path, name, "missing string 'dtype'");
  info.dtype = dtype->str();
  unsigned elementSize = safetensorsDTypeSize(*dtype);
  if (elementSize == 0)
    return failTensor(path, name, "unknown dtype '" + *dtype + "'");

  const llvm::json::Array *shape = entry->getArray("shape");
  if (!shape)
    return failTensor(path, name, "missing array 'shape'");
  for (const llvm::json::Value &dim : *shape) {
    std::optional<int64_t> d = nonNegativeInt(dim);
    if (!d)
      return failTensor(path, name, "shape entry " + show(dim) + " is not a non-negative integer");
    info.shape.push_back(*d);
    bool overflow = false;
    info.numElements = llvm::SaturatingMultiply(info.numElements, uint64_t(*d), &overflow);
    if (overflow)
      return failTensor(path, name,
                        "shape " + show(*entry->get("shape")) +
                            " has more elements than fit in 64 bits");
  }
  bool overflow = false;
  uint64_t byteSize = llvm::SaturatingMultiply(info.numElements, uint64_t(elementSize), &overflow);
  if (overflow)
    return failTensor(path, name, "size in bytes does not fit in 64 bits");

  const llvm::json::Array *offsets = entry->getArray("data_offsets");
  if (!offsets || offsets->size() != 2)
    return failTensor(path, name, "'data_offsets' must be an array [begin, end]");
  std::optional<int64_t> begin = nonNegativeInt((*offsets)[0]);
  std::optional<int64_t> end = nonNegativeInt((*offsets)[1]);
  if (!begin || !end)
    return failTensor(path, name,
                      "data_offsets " + show(*entry->get("data_offsets")) +
                          " are not non-negative integers");
  info.begin = uint64_t(*begin);
  info.end = uint64_t(*end);
  if (info.begin > info.end)
    return failTensor(
        path, name,
        llvm::formatv("data_offsets [{0}, {1}] end before they begin", info.begin, info.end).str());
  if (info.end > dataSize)
    return failTensor(path, name,
                      llvm::formatv("data_offsets [{0}, {1}] run past the {2}-byte data section",
                                    info.begin, info.end, dataSize)
                          .str());
  if (info.end - info.begin != byteSize)
    return failTensor(path, name,
                      llvm::formatv("data_offsets [{0}, {1}] hold {2} bytes but {3} {4} needs {5}",
                                    info.begin, info.end, info.end - info.begin, info.dtype,
                                    show(*entry->get("shape")), byteSize)
                          .str());
  return info;
}

} // namespace

unsigned safetensorsDTypeSize(llvm::StringRef dtype) {
  return llvm::StringSwitch<unsigned>(dtype)
      .Cases("BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", 1)
      .Cases("I16", "U16", "F16", "BF16", 2)
      .Cases("I32", "U32", "F32", 4)
      .Cases("I64", "U64", "F64", "C64", 8)
      .Default(0);
}

float halfToFloat(uint16_t bits) {
  uint32_t sign = uint32_t(bits & 0x8000u) << 16;
  uint32_t exponent = (bits >> 10) & 0x1fu, mantissa = bits & 0x3ffu;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in fp32.
    float magnitude = std::ldexp(float(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  uint32_t f32Exponent = exponent == 0x1fu ? 0xffu : exponent + (127 - 15);
  return llvm::bit_cast<float>(sign | (f32Exponent << 23) | (mantissa << 13));
}

float bfloat16ToFloat(uint16_t bits) { return llvm::bit_cast<float>(uint32_t(bits) << 16); }

llvm::Expected<SafetensorsFile> SafetensorsFile::open(llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fail(path, "cannot read: " + buffer.getError().message());
  return parse(std::move(*buffer), path);
}

llvm::Expected<SafetensorsFile> SafetensorsFile::parse(std::unique_ptr<llvm::MemoryBuffer> buffer,
                                                       llvm::StringRef path) {
  llvm::StringRef bytes = buffer->getBuffer();
  if (bytes.size() < 8)
    return fail(path, llvm::formatv("file is {0} bytes, too short for the 8-byte header length",
                                    bytes.size())
                          .str());
  uint64_t headerSize = llvm::support::endian::read64le(bytes.data());
  if (headerSize > kMaxSafetensorsHeaderBytes)
    return fail(path, llvm::formatv("header length {0} exceeds the format's limit of {1} bytes",
                                    headerSize, kMaxSafetensorsHeaderBytes)
                          .str());
  if (headerSize > bytes.size() - 8)
    return fail(path, llvm::formatv("header length {0} runs past the end of the {1}-byte file",
                                    headerSize, bytes.size())
                          .str());

  llvm::Expected<llvm::json::Value> header = parseJsonBounded(bytes.substr(8, headerSize));
  if (!header)
    return fail(path, "header is not valid JSON: " + llvm::toString(header.takeError()));
  const llvm::json::Object *entries = header->getAsObject();
  if (!entries)
    return fail(path, "header is not a JSON object");

  SafetensorsFile file;
  file.path_ = path.str();
  file.dataStart_ = 8 + headerSize;
  uint64_t dataSize = bytes.size() - file.dataStart_;
  for (const auto &[key, value] : *entries) {
    if (key == "__metadata__") {
      const llvm::json::Object *metadata = value.getAsObject();
      if (!metadata)
        return fail(path, "'__metadata__' is " + show(value) + ", not an object");
      for (const auto &[mkey, mvalue] : *metadata) {
        std::optional<llvm::StringRef> s = mvalue.getAsString();
        if (!s)
          return fail(path, "'__metadata__' entry '" + mkey.str() + "' is " + show(mvalue) +
                                ", not a string");
        file.metadata_[mkey.str()] = s->str();
      }
      continue;
    }
    llvm::Expected<SafetensorInfo> info = parseTensorEntry(path, key, value, dataSize);
    if (!info)
      return info.takeError();
    file.tensors_.push_back(std::move(*info));
  }

  // The tensors must tile the data section: sorted by offset, each begins
  // where the previous one ended and the last ends at the end of the file.
  std::vector<const SafetensorInfo *> byOffset;
  for (const SafetensorInfo &t : file.tensors_)
    byOffset.push_back(&t);
  std::sort(byOffset.begin(), byOffset.end(), [](const SafetensorInfo *a, const SafetensorInfo *b) {
    return std::tie(a->begin, a->end, a->name) < std::tie(b->begin, b->end, b->name);
  });
  uint64_t covered = 0;
  for (const SafetensorInfo *t : byOffset) {
    if (t->begin < covered)
      return failTensor(path, t->name,
                        llvm::formatv("data_offsets [{0}, {1}] overlap another tensor's bytes "
                                      "(which end at {2})",
                                      t->begin, t->end, covered)
                            .str());
    if (t->begin > covered)
      return failTensor(path, t->name,
                        llvm::formatv("data_offsets [{0}, {1}] leave bytes [{2}, {0}) of the "
                                      "data section unused",
                                      t->begin, t->end, covered)
                            .str());
    covered = t->end;
  }
  if (covered != dataSize)
    return fail(path, llvm::formatv("the tensors cover {0} bytes of the {1}-byte data section",
                                    covered, dataSize)
                          .str());

  std::sort(file.tensors_.begin(), file.tensors_.end(),
            [](const SafetensorInfo &a, const SafetensorInfo &b) { return a.name < b.name; });
  file.buffer_ = std::move(buffer);
  return file;
}

const SafetensorInfo *SafetensorsFile::find(llvm::StringRef name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const SafetensorInfo &t, llvm::StringRef n) { return t.name < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

llvm::ArrayRef<uint8_t> SafetensorsFile::bytes(const SafetensorInfo &tensor) const {
  const auto *data = reinterpret_cast<const uint8_t *>(buffer_->getBufferStart()) + dataStart_;
  return llvm::ArrayRef<uint8_t>(data + tensor.begin, tensor.end - tensor.begin);
}

llvm::Expected<std::vector<float>>
SafetensorsFile::readAsFloat32(const SafetensorInfo &tensor) const {
  llvm::ArrayRef<uint8_t> raw = bytes(tensor);
  std::vector<float> out(tensor.numElements);
  if (tensor.dtype == "F32") {
    for (uint64_t i = 0; i < tensor.numElements; ++i)
      out[i] = llvm::bit_cast<float>(llvm::support::endian::read32le(raw.data() + 4 * i));
  } else if (tensor.dtype == "F16") {
    for (uint64_t i = 0; i < tensor.numElements; ++i)
      out[i] = halfToFloat(llvm::support::endian::read16le(raw.data() + 2 * i));
  } else if (tensor.dtype == "BF16") {
    for (uint64_t i = 0; i < tensor.numElements; ++i)
      out[i] = bfloat16ToFloat(llvm::support::endian::read16le(raw.data() + 2 * i));
  } else {
    return failTensor(path_, tensor.name,
                      "dtype " + tensor.dtype + " is not supported (effc reads F32, F16 and BF16)");
  }
  return out;
}

} // namespace effc::lora
