//===- Prelude.h - helpers written once per CUDA translation unit -*- C++ -*-===//
#ifndef EFFC_COMPILER_CODEGEN_PRELUDE_H
#define EFFC_COMPILER_CODEGEN_PRELUDE_H

#include <string>

namespace effc::codegen {

/// Integer typedefs, fp16/bf16 <-> float conversions (bit operations,
/// round-to-nearest-even: NVRTC sees no cuda_fp16.h without an include path),
/// float -> int64 with the host's saturation, and warp/block reductions.
/// Self-contained: needs no header at all.
const std::string &cudaPrelude();

} // namespace effc::codegen

#endif
