// Per-element load/store for any dtype: the host kernels are written against
// these (clarity over speed). Floats go through double, integers through
// int64 so that int64 arithmetic stays exact.
#pragma once

#include "effc/DType.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace effc::host {

template <typename T> inline T rd(const void *p, size_t i) {
  T v;
  std::memcpy(&v, static_cast<const char *>(p) + i * sizeof(T), sizeof(T));
  return v;
}
template <typename T> inline void wr(void *p, size_t i, T v) {
  std::memcpy(static_cast<char *>(p) + i * sizeof(T), &v, sizeof(T));
}

inline double loadF(DType t, const void *p, size_t i) {
  switch (t) {
  case DType::FLOAT32:
    return rd<float>(p, i);
  case DType::FLOAT64:
    return rd<double>(p, i);
  case DType::FLOAT16:
    return halfToFloat(rd<uint16_t>(p, i));
  case DType::BFLOAT16:
    return bf16ToFloat(rd<uint16_t>(p, i));
  case DType::INT8:
    return rd<int8_t>(p, i);
  case DType::UINT8:
    return rd<uint8_t>(p, i);
  case DType::INT16:
    return rd<int16_t>(p, i);
  case DType::UINT16:
    return rd<uint16_t>(p, i);
  case DType::INT32:
    return rd<int32_t>(p, i);
  case DType::UINT32:
    return rd<uint32_t>(p, i);
  case DType::INT64:
    return double(rd<int64_t>(p, i));
  case DType::UINT64:
    return double(rd<uint64_t>(p, i));
  case DType::BOOL:
    return rd<uint8_t>(p, i) ? 1.0 : 0.0;
  default:
    return 0;
  }
}

inline int64_t loadI(DType t, const void *p, size_t i) {
  switch (t) {
  case DType::INT8:
    return rd<int8_t>(p, i);
  case DType::UINT8:
    return rd<uint8_t>(p, i);
  case DType::INT16:
    return rd<int16_t>(p, i);
  case DType::UINT16:
    return rd<uint16_t>(p, i);
  case DType::INT32:
    return rd<int32_t>(p, i);
  case DType::UINT32:
    return rd<uint32_t>(p, i);
  case DType::INT64:
    return rd<int64_t>(p, i);
  case DType::UINT64:
    return int64_t(rd<uint64_t>(p, i));
  case DType::BOOL:
    return rd<uint8_t>(p, i) ? 1 : 0;
  default: {
    // Float to int: truncate toward zero, saturate, NaN -> 0 (never UB).
    double d = loadF(t, p, i);
    if (std::isnan(d))
      return 0;
    if (d >= 9.2233720368547758e18)
      return std::numeric_limits<int64_t>::max();
    if (d <= -9.2233720368547758e18)
      return std::numeric_limits<int64_t>::min();
    return int64_t(d);
  }
  }
}

inline void storeI(DType t, void *p, size_t i, int64_t v) {
  switch (t) {
  case DType::INT8:
    wr<int8_t>(p, i, int8_t(v));
    break;
  case DType::UINT8:
    wr<uint8_t>(p, i, uint8_t(v));
    break;
  case DType::INT16:
    wr<int16_t>(p, i, int16_t(v));
    break;
  case DType::UINT16:
    wr<uint16_t>(p, i, uint16_t(v));
    break;
  case DType::INT32:
    wr<int32_t>(p, i, int32_t(v));
    break;
  case DType::UINT32:
    wr<uint32_t>(p, i, uint32_t(v));
    break;
  case DType::INT64:
    wr<int64_t>(p, i, v);
    break;
  case DType::UINT64:
    wr<uint64_t>(p, i, uint64_t(v));
    break;
  case DType::BOOL:
    wr<uint8_t>(p, i, v != 0);
    break;
  case DType::FLOAT32:
    wr<float>(p, i, float(v));
    break;
  case DType::FLOAT64:
    wr<double>(p, i, double(v));
    break;
  case DType::FLOAT16:
    wr<uint16_t>(p, i, floatToHalf(float(v)));
    break;
  case DType::BFLOAT16:
    wr<uint16_t>(p, i, floatToBf16(float(v)));
    break;
  default:
    break;
  }
}

/// Stores a double; integers get truncation toward zero (saturated, NaN -> 0)
/// like a C cast, bool gets v != 0.
inline void storeF(DType t, void *p, size_t i, double v) {
  switch (t) {
  case DType::FLOAT32:
    wr<float>(p, i, float(v));
    break;
  case DType::FLOAT64:
    wr<double>(p, i, v);
    break;
  case DType::FLOAT16:
    wr<uint16_t>(p, i, floatToHalf(float(v)));
    break;
  case DType::BFLOAT16:
    wr<uint16_t>(p, i, floatToBf16(float(v)));
    break;
  case DType::BOOL:
    wr<uint8_t>(p, i, v != 0);
    break;
  default: {
    double d = v;
    wr<double>(&d, 0, d);
    storeI(t, p, i, loadI(DType::FLOAT64, &d, 0));
  }
  }
}

} // namespace effc::host
