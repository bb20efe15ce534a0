//===- Gemm.h - the one place GEMM kernels are emitted -----------*- C++ -*-===//
//
// Every matmul/gemm goes through emitGemm(desc, spec) with the one GemmSpec
// (GemmSpec.h): 16-bit operands get the tensor-core kernel
// (TensorCoreGemm.h), everything else the FFMA kernel (Gemm.cpp). The GEMM
// benchmark calls the same entry for the shapes it times. MLIR-free, like
// the rest of this directory.
//
#ifndef EFFC_COMPILER_CODEGEN_GEMM_GEMM_H
#define EFFC_COMPILER_CODEGEN_GEMM_GEMM_H

#include "compiler/codegen/core/DTypeInfo.h"
#include "compiler/codegen/core/KernelDesc.h"
#include "compiler/codegen/gemm/GemmSpec.h"

namespace effc::codegen {

/// The accumulator kind: fp32 for 16/32-bit floats, fp64 for fp64 and
/// integer operands (as the host kernels, which widen integers to double).
Compute accumulatorKind(const GemmSpec &spec);

/// True when the tensor-core kernel runs `spec` (emitGemm's choice): 16-bit
/// A and B of one dtype (fp32 stays exact FFMA: the fp32 contract is 1e-4
/// against the reference, TF32 gives ~3e-4), batch dims that coalesce into
/// one stride per operand, and A, B, bias as kernel inputs 0, 1, 2.
bool usesTensorCores(const GemmSpec &spec);

/// True when emitGemm picks the Hopper wgmma kernel (WgmmaGemm.h): a
/// tensor-core spec of an sm_90a artifact (spec.sm90a) whose operands it
/// supports. Others keep the mma.sync kernel.
bool usesWgmma(const GemmSpec &spec);

/// emitGemm's kernel without its text: name, launch and whether it needs the
/// GEMM device code (what planning needs). An unemittable `spec` (see
/// emitGemm) gets the default launch and no device code.
CudaKernel planGemm(const KernelDesc &desc, const GemmSpec &spec);

/// Emits the GEMM kernel named desc.name with desc's ABI (the tensor-core
/// kernel, or a shared-memory tiled FFMA kernel: 64x64x16 tiles, 4x4 per
/// thread, batch on grid.z). Empty source when `spec` is not emittable
/// (non-packed leading dims on the FFMA path).
CudaKernel emitGemm(const KernelDesc &desc, const GemmSpec &spec);

} // namespace effc::codegen

#endif
