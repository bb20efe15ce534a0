//===- Safetensors.h - reader for the .safetensors format ---------*- C++ -*-===//
//
// A .safetensors file is an 8-byte little-endian header length N, N bytes of
// JSON header, then the data section:
//   {"__metadata__": {"format": "pt"},
//    "w": {"dtype": "F32", "shape": [8, 128], "data_offsets": [0, 4096]}, ...}
// data_offsets are [begin, end) byte offsets into the data section. Like the
// reference implementation, the tensors must tile the data section exactly
// (no gaps, no overlaps). The file is untrusted: every field is validated and
// every problem is an llvm::Error naming the file and the tensor.
//
#ifndef EFFC_COMPILER_LORA_SAFETENSORS_H
#define EFFC_COMPILER_LORA_SAFETENSORS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace effc::lora {

/// The format's own limit on the header length.
constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

struct SafetensorInfo {
  std::string name;
  std::string dtype;          // as spelled in the header: "F32", "F16", "BF16", "I64", ...
  std::vector<int64_t> shape; // [] is a scalar
  uint64_t numElements = 1;
  uint64_t begin = 0, end = 0; // byte range within the data section
};

class SafetensorsFile {
public:
  /// Maps and parses the file at `path`.
  static llvm::Expected<SafetensorsFile> open(llvm::StringRef path);
  /// Parses a whole file held in `buffer`; `path` prefixes error messages.
  static llvm::Expected<SafetensorsFile> parse(std::unique_ptr<llvm::MemoryBuffer> buffer,
                                               llvm::StringRef path);

  const std::string &path() const { return path_; }
  /// Sorted by name.
  llvm::ArrayRef<SafetensorInfo> tensors() const { return tensors_; }
  const SafetensorInfo *find(llvm::StringRef name) const;
  /// The optional "__metadata__" string map.
  const std::map<std::string, std::string> &metadata() const { return metadata_; }

  /// The tensor's raw little-endian bytes.
  llvm::ArrayRef<uint8_t> bytes(const SafetensorInfo &tensor) const;
  /// The tensor's elements converted to fp32, row-major. F32, F16 and BF16
  /// tensors only; other dtypes are an error naming the tensor and its dtype.
  llvm::Expected<std::vector<float>> readAsFloat32(const SafetensorInfo &tensor) const;

private:
  SafetensorsFile() = default;

  std::string path_;
  std::unique_ptr<llvm::MemoryBuffer> buffer_;
  uint64_t dataStart_ = 0;
  std::vector<SafetensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

/// Bytes per element of a safetensors dtype; 0 for a dtype this reader does
/// not know (including the sub-byte F4/F6 types).
unsigned safetensorsDTypeSize(llvm::StringRef dtype);

/// IEEE binary16 and bfloat16 bit patterns to fp32 (exact).
float halfToFloat(uint16_t bits);
float bfloat16ToFloat(uint16_t bits);

} // namespace effc::lora

#endif
