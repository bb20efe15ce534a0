//===- LoRATerm.h - the LoRA expand term of one output element ---*- C++ -*-===//
//
// eff.lora_expand adds scale * sum_r t[row][t_offset + g * R + r] * b[g][r][col]
// to each element (g: the row's adapter). The GEMM epilogue (gemm_epilogue
// fusions) and the standalone kernels (LoRAEmitter.cpp) emit it through
// these helpers, so the indexing and the "no adapter" rule live once.
//
#ifndef EFFC_COMPILER_CODEGEN_LORATERM_H
#define EFFC_COMPILER_CODEGEN_LORATERM_H

#include "compiler/codegen/core/DTypeInfo.h"
#include "compiler/codegen/core/KernelDesc.h"

#include <string>

namespace effc::codegen {

/// An eff.lora_expand as its kernel reads it.
struct LoRAGeometry {
  int64_t rows = 0, N = 0, R = 0;
  /// Stacked adapters: n of them, chosen per group of rowsPerGroup rows by
  /// lora_index (indices outside [0, n) mean none). Else one adapter.
  bool stacked = false;
  int64_t adapters = 1, rowsPerGroup = 1;
  /// Columns of t and the first one this op reads.
  int64_t tColumns = 0, tOffset = 0;
  double scale = 1.0;
  DType tType = DType::FLOAT32, bType = DType::FLOAT32, indexType = DType::INT64;
};

/// Checks the op's operands (acc, t, b, [lora_index]) and attributes
/// (scale, t_offset) and fills `g`; false with `error` naming the problem.
bool describeLoRAExpand(const KernelDesc &desc, LoRAGeometry &g, std::string &error);

/// Typed (storage-type) pointer expressions of t, b and lora_index.
struct LoRAOperands {
  std::string t, b, index;
};

/// Statements declaring `sum` (kind `kind`) as the unscaled LoRA term of
/// the element at (`row`, `col`): row indexes the flattened leading dims.
/// 0 for rows without an adapter.
std::string emitLoRATerm(const LoRAGeometry &g, const LoRAOperands &operands,
                         const std::string &row, const std::string &col, const std::string &sum,
                         Compute kind);

/// `value + scale * sum` in kind `kind`.
std::string addScaledLoRATerm(const LoRAGeometry &g, const std::string &value,
                              const std::string &sum, Compute kind);

} // namespace effc::codegen

#endif
