// An eff.fusion elementwise kernel from planned eff IR: the fused body is
// evaluated per element in registers (one kernel, constants broadcast), and
// the manifest entry carries the same body for the host backend (ops,
// operands as value indices, result types) with the launch geometry.
// RUN: effc-translate --eff-to-cuda %s | FileCheck %s --check-prefix=CUDA
// RUN: effc-translate --eff-to-manifest %s | FileCheck %s --check-prefix=MANIFEST

// CUDA-LABEL: // eff.fusion
// CUDA-NEXT: EFFC_KERNEL void __launch_bounds__(256) k0_fusion(const void* __restrict__ in0, const void* __restrict__ in1, const void* __restrict__ in2, void* __restrict__ out0) {
// CUDA: tanhf(
// CUDA-NOT: EFFC_KERNEL

// MANIFEST-LABEL: kernels {
// MANIFEST-NEXT: op: "eff.fusion"
// MANIFEST-NEXT: attrs {
// MANIFEST-NEXT: key: "kind"
// MANIFEST-NEXT: value {
// MANIFEST-NEXT: s: "elementwise"
// MANIFEST: inputs: 0
// MANIFEST-NEXT: inputs: 1
// MANIFEST-NEXT: inputs: 2
// MANIFEST-NEXT: outputs: 3
// MANIFEST-NEXT: location: "loc(\"{{.*}}fusion.mlir\":{{[0-9]+}}:8)"
// MANIFEST-NEXT: source: "k0_fusion"
// MANIFEST-NEXT: body {
// MANIFEST-NEXT: op: "eff.mul"
// MANIFEST-NEXT: operands: 0
// MANIFEST-NEXT: operands: 1
// MANIFEST-NEXT: result_dtypes: FLOAT32
// MANIFEST-NEXT: result_shapes {
// MANIFEST-NEXT: values: 4
// MANIFEST-NEXT: values: 8
// MANIFEST: body {
// MANIFEST-NEXT: op: "eff.tanh"
// MANIFEST-NEXT: operands: 3
// MANIFEST: body {
// MANIFEST-NEXT: op: "eff.mul"
// MANIFEST-NEXT: operands: 4
// MANIFEST-NEXT: operands: 2
// MANIFEST: body_outputs: 5
// MANIFEST-NEXT: launch {
// MANIFEST-NEXT: grid: 1
// MANIFEST-NEXT: grid: 1
// MANIFEST-NEXT: grid: 1
// MANIFEST-NEXT: block: 256
// MANIFEST-NEXT: block: 1
// MANIFEST-NEXT: block: 1
// MANIFEST-NEXT: }

func.func @main(%x: tensor<4x8xf32> {eff.name = "x"}, %w: tensor<8xf32> {eff.name = "w"})
    -> (tensor<4x8xf32> {eff.name = "y"}) {
  %half = eff.constant {value = dense<5.000000e-01> : tensor<f32>} : tensor<f32>
  %0 = eff.fusion elementwise(%x, %w, %half) : (tensor<4x8xf32>, tensor<8xf32>, tensor<f32>) -> tensor<4x8xf32> {
  ^bb0(%a: tensor<4x8xf32>, %b: tensor<8xf32>, %c: tensor<f32>):
    %1 = eff.mul %a, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
    %2 = eff.tanh %1 : (tensor<4x8xf32>) -> tensor<4x8xf32>
    %3 = eff.mul %2, %c : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
    eff.yield %3 : tensor<4x8xf32>
  }
  return %0 : tensor<4x8xf32>
}
