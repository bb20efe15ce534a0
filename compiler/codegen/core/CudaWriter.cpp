//===- CudaWriter.cpp - exact literals for generated CUDA -----------------===//
#include "compiler/codegen/core/CudaWriter.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace effc::codegen {

std::string floatLit(float v) {
  if (std::isnan(v))
    return "__int_as_float(0x7fc00000)";
  if (std::isinf(v))
    return v > 0 ? "__int_as_float(0x7f800000)" : "__int_as_float(0xff800000)";
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.9g", double(v));
  std::string s = buf;
  // "1" -> "1.0f": a bare integer with an f suffix is not a float literal.
  if (s.find_first_of(".eE") == std::string::npos)
    s += ".0";
  return s + "f";
}

std::string doubleLit(double v) {
  if (std::isnan(v))
    return "__longlong_as_double(0x7ff8000000000000LL)";
  if (std::isinf(v))
    return v > 0 ? "__longlong_as_double(0x7ff0000000000000LL)"
                 : "__longlong_as_double((long long)0xfff0000000000000ULL)";
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  std::string s = buf;
  if (s.find_first_of(".eE") == std::string::npos)
    s += ".0";
  return s;
}

std::string i64Lit(int64_t v) {
  if (v == INT64_MIN)
    return "(-9223372036854775807LL - 1)";
  return std::to_string(v) + "LL";
}

std::string intList(const std::vector<int64_t> &values) {
  std::string s = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i)
      s += ", ";
    s += std::to_string(values[i]);
  }
  return s + "}";
}

} // namespace effc::codegen
