// A bf16 GEMM with a fused epilogue (eff.fusion gemm_epilogue) from planned
// eff IR: the tensor-core GEMM's device code is emitted once, the kernel
// instantiates it with the epilogue (bias, tanh, residual), and the manifest
// entry has the tile grid (M tiles, N tiles, batch) the kernel was planned for.
// RUN: effc-translate --eff-to-cuda %s | FileCheck %s --check-prefix=CUDA
// RUN: effc-translate --eff-to-manifest %s | FileCheck %s --check-prefix=MANIFEST

// CUDA: tensor_core_gemm.cuh
// CUDA-LABEL: k0_fusion(
// CUDA: tanhf({{.*}}// eff.tanh
// CUDA-NOT: tensor_core_gemm.cuh

// MANIFEST-LABEL: kernels {
// MANIFEST-NEXT: op: "eff.fusion"
// MANIFEST: s: "gemm_epilogue"
// MANIFEST: inputs: 0
// MANIFEST-NEXT: inputs: 1
// MANIFEST-NEXT: inputs: 2
// MANIFEST-NEXT: inputs: 3
// MANIFEST-NEXT: outputs: 4
// MANIFEST: source: "k0_fusion"
// MANIFEST-NEXT: body {
// MANIFEST-NEXT: op: "eff.matmul"
// MANIFEST-NEXT: attrs {
// MANIFEST-NEXT: key: "transB"
// MANIFEST-NEXT: value {
// MANIFEST-NEXT: i: 0
// MANIFEST-NEXT: }
// MANIFEST-NEXT: }
// MANIFEST-NEXT: operands: 0
// MANIFEST-NEXT: operands: 1
// MANIFEST-NEXT: result_dtypes: BFLOAT16
// MANIFEST: body_outputs: 9
// MANIFEST-NEXT: launch {
// MANIFEST-NEXT: grid: 1
// MANIFEST-NEXT: grid: 1
// MANIFEST-NEXT: grid: 2
// MANIFEST-NEXT: block: 128
// MANIFEST-NEXT: block: 1
// MANIFEST-NEXT: block: 1
// MANIFEST-NEXT: shared_bytes: 73728
// MANIFEST-NEXT: }

func.func @main(%a: tensor<2x4x16xbf16> {eff.name = "a"}, %w: tensor<16x8xbf16> {eff.name = "w"},
                %r: tensor<2x4x8xf32> {eff.name = "r"}, %bias: tensor<8xbf16> {eff.name = "bias"})
    -> (tensor<2x4x8xf32> {eff.name = "y"}) {
  %0 = eff.fusion gemm_epilogue(%a, %w, %r, %bias) : (tensor<2x4x16xbf16>, tensor<16x8xbf16>, tensor<2x4x8xf32>, tensor<8xbf16>) -> tensor<2x4x8xf32> {
  ^bb0(%x: tensor<2x4x16xbf16>, %y: tensor<16x8xbf16>, %res: tensor<2x4x8xf32>, %b: tensor<8xbf16>):
    %1 = eff.matmul %x, %y : (tensor<2x4x16xbf16>, tensor<16x8xbf16>) -> tensor<2x4x8xbf16>
    %2 = eff.cast %res {to = 16 : i64} : (tensor<2x4x8xf32>) -> tensor<2x4x8xbf16>
    %3 = eff.add %1, %b : (tensor<2x4x8xbf16>, tensor<8xbf16>) -> tensor<2x4x8xbf16>
    %4 = eff.tanh %3 : (tensor<2x4x8xbf16>) -> tensor<2x4x8xbf16>
    %5 = eff.add %4, %2 : (tensor<2x4x8xbf16>, tensor<2x4x8xbf16>) -> tensor<2x4x8xbf16>
    %6 = eff.cast %5 {to = 1 : i64} : (tensor<2x4x8xbf16>) -> tensor<2x4x8xf32>
    eff.yield %6 : tensor<2x4x8xf32>
  }
  return %0 : tensor<2x4x8xf32>
}
