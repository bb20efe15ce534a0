// A gemm_epilogue over bounded symbolic rows (eff-fuse-gemm-epilogue's
// @residual in passes/eff-fuse-gemm-epilogue-symbolic.mlir): one CUDA kernel
// planned at the largest rows (batch 4 x seq 32 = 128) that reads the run's
// rows from effc_dims; the Hopper TMA kernel takes it too (bf16).
// RUN: effc-translate --eff-to-manifest %s | FileCheck %s
// RUN: sed 's/f32/bf16/g' %s | effc-translate --eff-to-plan --arch=sm_90a | FileCheck %s --check-prefix=SM90A
// CHECK: op: "eff.fusion"
// CHECK: body {
// CHECK: op: "eff.matmul"
// CHECK: op: "eff.add"
// CHECK: uses_dims: true
// CHECK: choice: "Fusion ffma M=128 N=8 K=8"
// SM90A: {{k[0-9]+}}_fusion Fusion wgmma-tma M=128 N=8 K=8
func.func @residual(%x: tensor<?x?x8xf32> {eff.dim_params = ["batch", "seq", ""], eff.name = "x"},
                    %w: tensor<8x8xf32> {eff.name = "w"}) -> (tensor<?x?x8xf32> {eff.name = "y"})
    attributes {eff.dims = {batch = array<i64: 1, 4>, seq = array<i64: 1, 32>}} {
  %0 = eff.fusion gemm_epilogue(%x, %w) : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32> {
  ^bb0(%a: tensor<?x?x8xf32>, %b: tensor<8x8xf32>):
    %1 = eff.matmul %a, %b : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %2 = eff.add %1, %a : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    eff.yield %2 : tensor<?x?x8xf32>
  }
  return %0 : tensor<?x?x8xf32>
}
