// Element types of effc tensors. Numbering = onnx.TensorProto.DataType (and
// effc.artifact.DType), so conversions between the three are plain casts.
#pragma once

#include <cstddef>
#include <cstdint>

namespace effc {

enum class DType : int32_t {
  UNDEFINED = 0,
  FLOAT32 = 1,
  UINT8 = 2,
  INT8 = 3,
  UINT16 = 4,
  INT16 = 5,
  INT32 = 6,
  INT64 = 7,
  BOOL = 9,
  FLOAT16 = 10,
  FLOAT64 = 11,
  UINT32 = 12,
  UINT64 = 13,
  BFLOAT16 = 16,
};

/// Bytes per element; 0 for UNDEFINED or an unknown value.
size_t dtypeSize(DType t);
/// "float32", "int64", "bfloat16", ...; "undefined(<n>)" style text is not
/// returned: unknown values give "unknown".
const char *dtypeName(DType t);
/// True when `v` is one of the enumerators above except UNDEFINED.
bool isValidDType(int64_t v);
/// float16/bfloat16/float32/float64.
bool isFloatDType(DType t);
/// Signed or unsigned integers (not bool).
bool isIntDType(DType t);

/// IEEE binary16 / bfloat16 conversions; stores round to nearest-even.
float halfToFloat(uint16_t h);
uint16_t floatToHalf(float f);
float bf16ToFloat(uint16_t b);
uint16_t floatToBf16(float f);

} // namespace effc
