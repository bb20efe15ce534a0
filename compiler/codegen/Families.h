//===- Families.h - the kernel families behind KernelEmitter -----*- C++ -*-===//
//
// One emitter per family of ops; KernelEmitter.cpp maps op names to them.
// Each fills `out` (source + launch) or returns false with `error` set.
//
#ifndef EFFC_COMPILER_CODEGEN_FAMILIES_H
#define EFFC_COMPILER_CODEGEN_FAMILIES_H

#include "compiler/codegen/KernelDesc.h"

#include "compiler/codegen/DTypeInfo.h"

#include <functional>
#include <string>

namespace effc::codegen {

using EmitFn = bool (*)(const KernelDesc &desc, CudaKernel &out, std::string &error);

/// Unary/binary/variadic math, comparisons, logic, where, cast, clip.
bool emitElementwise(const KernelDesc &desc, CudaKernel &out, std::string &error);
/// eff.fusion elementwise: the fused body per element, in registers.
bool emitFusion(const KernelDesc &desc, CudaKernel &out, std::string &error);
/// eff.fusion gemm_epilogue: one GEMM kernel whose epilogue runs the body
/// after its first (matmul/gemm) op on each output element.
bool emitGemmEpilogue(const KernelDesc &desc, CudaKernel &out, std::string &error);
/// The epilogue of a "gemm_epilogue" body: statements evaluating body ops
/// 1.. on one output element, where variable `value` holds body op 0's
/// result (before rounding to its dtype) in kind `kind` and `offsets[k]` is
/// the element offset of kernel input k there (read through the untyped
/// `in<k>`). `row` (the output's leading dims flattened, a long long) and
/// `col` locate the element for eff.lora_expand, whose t, b and lora_index
/// are indexed, not broadcast. The statements reassign `value` to the
/// yielded value.
bool emitEpilogueBody(const KernelDesc &desc, const std::string &value, Compute kind,
                      const std::vector<std::string> &offsets, const std::string &row,
                      const std::string &col, std::string &code, std::string &error);
/// Kernel inputs that body ops read as eff.lora_expand's t, b or lora_index
/// (indexed by row and column rather than broadcast into the output).
std::vector<bool> loraSideInputs(const KernelDesc &desc);
/// Pure index maps: transpose, expand, slice, concat, split, gather*,
/// trilu and the reshape family (copies).
bool emitDataMovement(const KernelDesc &desc, CudaKernel &out, std::string &error);
/// Outputs computed from indices alone: range, constant_of_shape, shape.
bool emitGenerator(const KernelDesc &desc, CudaKernel &out, std::string &error);
/// reduce_sum/mean/max over any axes, softmax over any axis.
bool emitReduction(const KernelDesc &desc, CudaKernel &out, std::string &error);
/// layer_norm, rms_norm.
bool emitNorm(const KernelDesc &desc, CudaKernel &out, std::string &error);
/// cum_sum and top_k: per-line scans and selections.
bool emitScan(const KernelDesc &desc, CudaKernel &out, std::string &error);
/// rope (RotaryEmbedding-23).
bool emitRope(const KernelDesc &desc, CudaKernel &out, std::string &error);
/// matmul, gemm: describeGemm (gemm/GemmSpec.h), then emitGemm (Gemm.h).
bool emitMatmul(const KernelDesc &desc, CudaKernel &out, std::string &error);
/// lora_expand (when not fused into a GEMM epilogue) and lora_linear (when
/// eff-decompose-lora is skipped): one thread per output element.
bool emitLoRA(const KernelDesc &desc, CudaKernel &out, std::string &error);
/// attention.
bool emitAttention(const KernelDesc &desc, CudaKernel &out, std::string &error);
/// attention_partial, attention_combine: the split-KV decode kernels.
bool emitAttentionPartial(const KernelDesc &desc, CudaKernel &out, std::string &error);
bool emitAttentionCombine(const KernelDesc &desc, CudaKernel &out, std::string &error);

} // namespace effc::codegen

#endif
