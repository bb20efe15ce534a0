//===- DTypeInfo.h - element types in generated CUDA -------------*- C++ -*-===//
//
// Every dtype has a storage type (what the buffer holds: fp16/bf16 as raw
// u16 bits, bool as one byte) and a compute kind, matching the host
// kernels: fp16/bf16/fp32 compute in float, fp64 in double, integers in
// int64, bool as bool. Loads widen to a compute kind, stores narrow with the
// host's rules (round-to-nearest-even for fp16/bf16, float->int truncates and
// saturates with NaN -> 0, narrow ints wrap).
//
#ifndef EFFC_COMPILER_CODEGEN_DTYPEINFO_H
#define EFFC_COMPILER_CODEGEN_DTYPEINFO_H

#include "effc/DType.h"

#include <string>

namespace effc::codegen {

enum class Compute { F32, F64, I64, Bool };

Compute computeOf(DType t);
/// "float", "u16", "i64", "u8", ...
const char *storageType(DType t);
/// "float", "double", "i64", "bool".
const char *computeType(Compute c);
bool isFloatCompute(Compute c);

/// `expr` (of kind `from`) as kind `to`.
std::string convert(const std::string &expr, Compute from, Compute to);
/// The element `ptr[idx]` (ptr typed with storageType(t)) as kind `to`.
std::string loadAs(DType t, const std::string &ptr, const std::string &idx, Compute to);
/// Same, as the dtype's own compute kind.
std::string load(DType t, const std::string &ptr, const std::string &idx);
/// A storage value `raw` of dtype t (an element already read) as its compute kind.
std::string fromStorage(DType t, const std::string &raw);
/// `expr` (of kind `from`) rounded to dtype t and back: computeOf(t) holding
/// exactly what a store then a load would give (fused intermediates keep the
/// host's per-op rounding).
std::string roundTo(DType t, const std::string &expr, Compute from);
/// `expr` (of kind `from`) as a storage value of dtype `t`.
std::string storeValue(DType t, const std::string &expr, Compute from);

/// Largest (positive) and lowest values of a compute kind, as CUDA literals:
/// identities of max/min reductions.
std::string lowestOf(Compute c);
std::string highestOf(Compute c);

} // namespace effc::codegen

#endif
