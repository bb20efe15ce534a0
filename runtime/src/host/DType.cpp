#include "effc/DType.h"

#include <cmath>
#include <cstring>

namespace effc {

size_t dtypeSize(DType t) {
  switch (t) {
  case DType::BOOL:
  case DType::UINT8:
  case DType::INT8:
    return 1;
  case DType::UINT16:
  case DType::INT16:
  case DType::FLOAT16:
  case DType::BFLOAT16:
    return 2;
  case DType::FLOAT32:
  case DType::INT32:
  case DType::UINT32:
    return 4;
  case DType::FLOAT64:
  case DType::INT64:
  case DType::UINT64:
    return 8;
  default:
    return 0;
  }
}

const char *dtypeName(DType t) {
  switch (t) {
  case DType::FLOAT32:
    return "float32";
  case DType::UINT8:
    return "uint8";
  case DType::INT8:
    return "int8";
  case DType::UINT16:
    return "uint16";
  case DType::INT16:
    return "int16";
  case DType::INT32:
    return "int32";
  case DType::INT64:
    return "int64";
  case DType::BOOL:
    return "bool";
  case DType::FLOAT16:
    return "float16";
  case DType::FLOAT64:
    return "float64";
  case DType::UINT32:
    return "uint32";
  case DType::UINT64:
    return "uint64";
  case DType::BFLOAT16:
    return "bfloat16";
  case DType::UNDEFINED:
    return "undefined";
  }
  return "unknown";
}

bool isValidDType(int64_t v) { return v > 0 && v <= 16 && dtypeSize(static_cast<DType>(v)) != 0; }

bool isFloatDType(DType t) {
  return t == DType::FLOAT32 || t == DType::FLOAT64 || t == DType::FLOAT16 || t == DType::BFLOAT16;
}

bool isIntDType(DType t) {
  switch (t) {
  case DType::UINT8:
  case DType::INT8:
  case DType::UINT16:
  case DType::INT16:
  case DType::INT32:
  case DType::INT64:
  case DType::UINT32:
  case DType::UINT64:
    return true;
  default:
    return false;
  }
}

static uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
static float floatOf(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  if (exp == 0x1f)
    return floatOf(sign | 0x7f800000 | (man << 13)); // inf/nan
  if (exp == 0) {                                    // zero or subnormal: man * 2^-24
    float v = std::ldexp(float(man), -24);
    return sign ? -v : v;
  }
  return floatOf(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t floatToHalf(float f) {
  uint32_t u = bitsOf(f);
  uint16_t sign = uint16_t((u >> 16) & 0x8000);
  uint32_t a = u & 0x7fffffff;
  if (a > 0x7f800000)
    return sign | 0x7e00; // nan
  if (a >= 0x477ff000)
    return sign | 0x7c00; // overflow -> inf (rounds up at 65520)
  if (a < 0x38800000) {   // subnormal half or zero
    // Exact in float: value / 2^-24, rounded to nearest-even by rint.
    float v = std::ldexp(floatOf(a), 24);
    return sign | uint16_t(std::nearbyint(v));
  }
  uint32_t mant = a + 0xc8000fff + ((a >> 13) & 1); // rebias exp (-112<<23) + RNE
  return sign | uint16_t(mant >> 13);
}

float bf16ToFloat(uint16_t b) { return floatOf(uint32_t(b) << 16); }

uint16_t floatToBf16(float f) {
  uint32_t u = bitsOf(f);
  if ((u & 0x7fffffff) > 0x7f800000)
    return uint16_t((u >> 16) | 0x40); // quiet nan
  u += 0x7fff + ((u >> 16) & 1);
  return uint16_t(u >> 16);
}

} // namespace effc
