// RUN: effc-opt %s --eff-fuse-elementwise --eff-fuse-gemm-epilogue -split-input-file | FileCheck %s
// RUN: effc-opt %s --eff-fuse-elementwise --eff-fuse-gemm-epilogue -split-input-file | effc-opt -split-input-file | FileCheck %s

// Linear + bias + GELU: the elementwise fusion that reads the matmul moves
// into its epilogue; the matmul's operands become the first inputs.
// CHECK-LABEL: func.func @bias_gelu
// CHECK-NOT: eff.matmul
// CHECK: %[[F:.*]] = eff.fusion "gemm_epilogue"(%arg0, %arg1, %arg2) : (tensor<4x16xf32>, tensor<16x8xf32>, tensor<8xf32>) -> tensor<4x8xf32> {
// CHECK-NEXT: ^bb0(%[[A:.*]]: tensor<4x16xf32>, %[[W:.*]]: tensor<16x8xf32>, %[[B:.*]]: tensor<8xf32>):
// CHECK-NEXT: %[[MM:.*]] = eff.matmul %[[A]], %[[W]]
// CHECK-NEXT: %[[S:.*]] = eff.add %[[MM]], %[[B]]
// CHECK-NEXT: %[[G:.*]] = eff.gelu %[[S]]
// CHECK-NEXT: eff.yield %[[G]] : tensor<4x8xf32>
// CHECK: return %[[F]]
func.func @bias_gelu(%a: tensor<4x16xf32>, %w: tensor<16x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %x = eff.matmul %a, %w : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %s = eff.add %x, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %g = eff.gelu %s : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %g : tensor<4x8xf32>
}

// -----

// A single elementwise consumer (residual add over a batched matmul) fuses.
// CHECK-LABEL: func.func @residual
// CHECK: eff.fusion "gemm_epilogue"(%arg0, %arg1, %arg2)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: eff.matmul
// CHECK-NEXT: eff.add
// CHECK-NEXT: eff.yield
func.func @residual(%a: tensor<2x4x16xf32>, %w: tensor<16x8xf32>, %r: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %x = eff.matmul %a, %w : (tensor<2x4x16xf32>, tensor<16x8xf32>) -> tensor<2x4x8xf32>
  %y = eff.add %r, %x : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return %y : tensor<2x4x8xf32>
}

// -----

// Gemm (with C) + scale + cast: the epilogue may change the stored dtype.
// CHECK-LABEL: func.func @scale_cast
// CHECK: eff.fusion "gemm_epilogue"(%arg0, %arg1, %arg2, %{{.*}}) : (tensor<4x16xf32>, tensor<8x16xf32>, tensor<8xf32>, tensor<f32>) -> tensor<4x8xf16>
// CHECK-NEXT: ^bb0
// CHECK-NEXT: eff.gemm
// CHECK-NEXT: eff.mul
// CHECK-NEXT: eff.cast
// CHECK-NEXT: eff.yield
func.func @scale_cast(%a: tensor<4x16xf32>, %w: tensor<8x16xf32>, %c: tensor<8xf32>) -> tensor<4x8xf16> {
  %k = eff.constant {value = dense<0.5> : tensor<f32>} : tensor<f32>
  %x = eff.gemm %a, %w, %c {transB = 1 : i64} : (tensor<4x16xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %s = eff.mul %x, %k : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %h = eff.cast %s {to = 10 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf16>
  return %h : tensor<4x8xf16>
}

// -----

// The matmul result is also returned: it must reach memory, no fusion.
// CHECK-LABEL: func.func @multi_use
// CHECK: %[[X:.*]] = eff.matmul
// CHECK-NOT: gemm_epilogue
// CHECK: return
func.func @multi_use(%a: tensor<4x16xf32>, %w: tensor<16x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %x = eff.matmul %a, %w : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %y = eff.relu %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %x, %y : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// A consumer that broadcasts the matmul result to a larger shape is not an
// epilogue of it.
// CHECK-LABEL: func.func @shape_change
// CHECK: eff.matmul
// CHECK-NOT: gemm_epilogue
// CHECK: return
func.func @shape_change(%a: tensor<4x16xf32>, %w: tensor<16x8xf32>, %r: tensor<3x4x8xf32>) -> tensor<3x4x8xf32> {
  %x = eff.matmul %a, %w : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %y = eff.add %x, %r : (tensor<4x8xf32>, tensor<3x4x8xf32>) -> tensor<3x4x8xf32>
  return %y : tensor<3x4x8xf32>
}
