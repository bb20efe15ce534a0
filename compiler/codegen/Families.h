//===- Families.h - the kernel families behind KernelEmitter -----*- C++ -*-===//
//
// One emitter per family of ops (the ODS `cudaFamily`); KernelEmitter.cpp
// maps op names to them. Each family is two steps, so that planning never
// writes CUDA text:
//   chooseFoo(desc, choice, error)              variant, tile parameters and
//                                               launch geometry (KernelChoice);
//   instantiateFoo(desc, choice, source, error) the kernel text of that
//                                               choice; it reads the choice
//                                               and cannot change the launch.
// Both return false with `error` set when the op cannot be generated.
//
#ifndef EFFC_COMPILER_CODEGEN_FAMILIES_H
#define EFFC_COMPILER_CODEGEN_FAMILIES_H

#include "compiler/codegen/core/KernelDesc.h"

#include "compiler/codegen/core/DTypeInfo.h"

#include <string>
#include <vector>

namespace effc::codegen {

using ChooseFn = bool (*)(const KernelDesc &desc, KernelChoice &choice, std::string &error);
using InstantiateFn = bool (*)(const KernelDesc &desc, const KernelChoice &choice,
                               std::string &source, std::string &error);

#define EFFC_DECLARE_KERNEL_FAMILY(FAMILY)                                                         \
  bool choose##FAMILY(const KernelDesc &desc, KernelChoice &choice, std::string &error);           \
  bool instantiate##FAMILY(const KernelDesc &desc, const KernelChoice &choice,                     \
                           std::string &source, std::string &error);

/// Unary/binary/variadic math, comparisons, logic, where, cast, clip.
EFFC_DECLARE_KERNEL_FAMILY(Elementwise)
/// eff.fusion elementwise: the fused body per element, in registers.
EFFC_DECLARE_KERNEL_FAMILY(Fusion)
/// eff.fusion gemm_epilogue: one GEMM kernel whose epilogue runs the body
/// after its first (matmul/gemm) op on each output element.
EFFC_DECLARE_KERNEL_FAMILY(GemmEpilogue)
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
EFFC_DECLARE_KERNEL_FAMILY(DataMovement)
/// Outputs computed from indices alone: range, constant_of_shape, shape.
EFFC_DECLARE_KERNEL_FAMILY(Generator)
/// reduce_sum/mean/max over any axes, softmax over any axis.
EFFC_DECLARE_KERNEL_FAMILY(Reduction)
/// layer_norm, rms_norm.
EFFC_DECLARE_KERNEL_FAMILY(Norm)
/// cum_sum and top_k: per-line scans and selections.
EFFC_DECLARE_KERNEL_FAMILY(Scan)
/// rope (RotaryEmbedding-23).
EFFC_DECLARE_KERNEL_FAMILY(Rope)
/// matmul, gemm: describeGemm (gemm/GemmSpec.h); the choice is the
/// tensor-core kernel with chooseTile's tile, or the FFMA kernel; emitGemm
/// (Gemm.h) writes it.
EFFC_DECLARE_KERNEL_FAMILY(Matmul)
/// lora_expand (when not fused into a GEMM epilogue) and lora_linear (when
/// eff-decompose-lora is skipped): one thread per output element.
EFFC_DECLARE_KERNEL_FAMILY(LoRA)
/// quant_linear: packed quantized weights decoded in registers (GEMV for
/// few rows, a tiled kernel for more; device/quant_linear.cuh).
EFFC_DECLARE_KERNEL_FAMILY(QuantLinear)
/// moe (kept whole: one block per token, routing in fp32) and the stages
/// eff-lower-moe builds: moe_permute, moe_expert_gemm (grouped tensor-core
/// GEMM or GEMV), moe_combine (device/moe.cuh via compiler/codegen/moe).
EFFC_DECLARE_KERNEL_FAMILY(MoE)
/// moe_route, moe_experts: a partitioned eff.moe (--moe-partitions), one
/// block per token (device/moe_partition.cuh over moe.cuh's pieces).
EFFC_DECLARE_KERNEL_FAMILY(MoEPartition)
/// attention.
EFFC_DECLARE_KERNEL_FAMILY(Attention)
/// attention_partial, attention_combine: the split-KV decode kernels.
EFFC_DECLARE_KERNEL_FAMILY(AttentionPartial)
EFFC_DECLARE_KERNEL_FAMILY(AttentionCombine)
/// paged_attention: queries over a paged KV cache through a block table
/// (device/paged_attention.cuh, one block per query row);
/// paged_attention_partial: one block per (query row, split).
EFFC_DECLARE_KERNEL_FAMILY(PagedAttention)
EFFC_DECLARE_KERNEL_FAMILY(PagedAttentionPartial)
/// paged_kv_write: new K/V rows into their pages (device/paged_kv_write.cuh).
EFFC_DECLARE_KERNEL_FAMILY(PagedKvWrite)

} // namespace effc::codegen

#endif
