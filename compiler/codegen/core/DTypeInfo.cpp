//===- DTypeInfo.cpp - element types in generated CUDA --------------------===//
#include "compiler/codegen/core/DTypeInfo.h"

namespace effc::codegen {

Compute computeOf(DType t) {
  switch (t) {
  case DType::FLOAT32:
  case DType::FLOAT16:
  case DType::BFLOAT16:
    return Compute::F32;
  case DType::FLOAT64:
    return Compute::F64;
  case DType::BOOL:
    return Compute::Bool;
  default:
    return Compute::I64;
  }
}

const char *storageType(DType t) {
  switch (t) {
  case DType::FLOAT32:
    return "float";
  case DType::FLOAT64:
    return "double";
  case DType::FLOAT16:
  case DType::BFLOAT16:
    return "u16";
  case DType::INT8:
    return "i8";
  case DType::UINT8:
    return "u8";
  case DType::INT16:
    return "i16";
  case DType::UINT16:
    return "u16";
  case DType::INT32:
    return "i32";
  case DType::UINT32:
    return "u32";
  case DType::INT64:
    return "i64";
  case DType::UINT64:
    return "u64";
  case DType::BOOL:
    return "u8";
  default:
    return "u8";
  }
}

const char *computeType(Compute c) {
  switch (c) {
  case Compute::F32:
    return "float";
  case Compute::F64:
    return "double";
  case Compute::I64:
    return "i64";
  case Compute::Bool:
    return "bool";
  }
  return "float";
}

bool isFloatCompute(Compute c) { return c == Compute::F32 || c == Compute::F64; }

std::string convert(const std::string &e, Compute from, Compute to) {
  if (from == to)
    return e;
  switch (to) {
  case Compute::F32:
    return "(float)(" + e + ")";
  case Compute::F64:
    return "(double)(" + e + ")";
  case Compute::I64:
    if (isFloatCompute(from))
      return "f2i64((double)(" + e + "))";
    return "(i64)(" + e + ")";
  case Compute::Bool:
    return "((" + e + ") != 0)";
  }
  return e;
}

std::string load(DType t, const std::string &ptr, const std::string &idx) {
  return fromStorage(t, ptr + "[" + idx + "]");
}

std::string fromStorage(DType t, const std::string &raw) {
  switch (t) {
  case DType::FLOAT16:
    return "f16_to_f32(" + raw + ")";
  case DType::BFLOAT16:
    return "bf16_to_f32(" + raw + ")";
  case DType::FLOAT32:
  case DType::FLOAT64:
    return raw;
  case DType::BOOL:
    return "(" + raw + " != 0)";
  default:
    return "(i64)" + raw;
  }
}

std::string loadAs(DType t, const std::string &ptr, const std::string &idx, Compute to) {
  return convert(load(t, ptr, idx), computeOf(t), to);
}

std::string storeValue(DType t, const std::string &e, Compute from) {
  switch (t) {
  case DType::FLOAT32:
    return convert(e, from, Compute::F32);
  case DType::FLOAT64:
    return convert(e, from, Compute::F64);
  case DType::FLOAT16:
    return "f32_to_f16(" + convert(e, from, Compute::F32) + ")";
  case DType::BFLOAT16:
    return "f32_to_bf16(" + convert(e, from, Compute::F32) + ")";
  case DType::BOOL:
    return "(u8)(" + convert(e, from, Compute::Bool) + ")";
  default:
    return std::string("(") + storageType(t) + ")(" + convert(e, from, Compute::I64) + ")";
  }
}

std::string roundTo(DType t, const std::string &e, Compute from) {
  switch (t) {
  case DType::FLOAT32:
  case DType::FLOAT64:
  case DType::INT64:
  case DType::BOOL: // storage holds every value of the compute kind
    return convert(e, from, computeOf(t));
  default:
    return fromStorage(t, storeValue(t, e, from));
  }
}

std::string lowestOf(Compute c) {
  switch (c) {
  case Compute::F32:
    return "(-EFFC_INF_F)";
  case Compute::F64:
    return "(-EFFC_INF_D)";
  case Compute::I64:
    return "(-9223372036854775807LL - 1)";
  case Compute::Bool:
    return "false";
  }
  return "0";
}

std::string highestOf(Compute c) {
  switch (c) {
  case Compute::F32:
    return "EFFC_INF_F";
  case Compute::F64:
    return "EFFC_INF_D";
  case Compute::I64:
    return "9223372036854775807LL";
  case Compute::Bool:
    return "true";
  }
  return "0";
}

} // namespace effc::codegen
