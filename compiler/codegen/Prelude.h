//===- Prelude.h - helpers written once per CUDA translation unit -*- C++ -*-===//
#ifndef EFFC_COMPILER_CODEGEN_PRELUDE_H
#define EFFC_COMPILER_CODEGEN_PRELUDE_H

#include <string>

namespace effc::codegen {

/// The start of every generated translation unit: device/primitives.cuh
/// (typedefs, EFFC_KERNEL, fp16/bf16 conversions, reductions, mma data path)
/// and device/elementwise.cuh. Self-contained: needs no header at all.
const std::string &cudaPrelude();

} // namespace effc::codegen

#endif
