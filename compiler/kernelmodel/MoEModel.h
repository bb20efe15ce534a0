//===- MoEModel.h - which MoE stage kernels run a layer ----------*- C++ -*-===//
//
// The choices eff-lower-moe (passes/) and the MoE kernel generator
// (compiler/codegen/moe) share, as plain constants: when tokens skip the
// permutation, and the expert count the route/permute kernels' shared-memory
// arrays hold.
//
#ifndef EFFC_COMPILER_KERNELMODEL_MOEMODEL_H
#define EFFC_COMPILER_KERNELMODEL_MOEMODEL_H

#include <cstdint>

namespace effc::codegen::moe {

/// Decode: up to this many tokens skip the permutation (slot rows, GEMV
/// kernels that stream each selected expert's weights once); more tokens
/// are sorted by expert for the grouped GEMM.
constexpr int64_t kDecodeMaxTokens = 8;
/// The route and permute kernels size shared arrays by the expert count.
constexpr int64_t kMaxExperts = 256;

/// The layer's tokens are sorted by expert (prefill) rather than taken in
/// slot order (decode).
inline bool sortsTokens(int64_t tokens) { return tokens > kDecodeMaxTokens; }

} // namespace effc::codegen::moe

#endif
