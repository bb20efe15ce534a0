// RUN: effc-opt %s -split-input-file -eff-refine-shapes | FileCheck %s
// Round-trip of matmul and gemm. Results declared as tensor<*x..> are refined
// by re-running inference, so the CHECK lines show the inferred types.

// CHECK-LABEL: func @matmul_2d
func.func @matmul_2d(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<*xf32> {
  // CHECK: eff.matmul %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %0 = eff.matmul %a, %b : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

// Batch dims broadcast (numpy).
// CHECK-LABEL: func @matmul_batch_broadcast
func.func @matmul_batch_broadcast(%a: tensor<5x1x2x3xf16>, %b: tensor<4x3x6xf16>) -> tensor<*xf16> {
  // CHECK: eff.matmul %{{.*}}, %{{.*}} : (tensor<5x1x2x3xf16>, tensor<4x3x6xf16>) -> tensor<5x4x2x6xf16>
  %0 = eff.matmul %a, %b : (tensor<5x1x2x3xf16>, tensor<4x3x6xf16>) -> tensor<*xf16>
  return %0 : tensor<*xf16>
}

// -----

// 1-D operands are promoted and the added dim dropped.
// CHECK-LABEL: func @matmul_vectors
func.func @matmul_vectors(%v: tensor<3xf32>, %m: tensor<2x3x4xf32>, %n: tensor<4x3xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  // CHECK: eff.matmul %{{.*}}, %{{.*}} : (tensor<3xf32>, tensor<2x3x4xf32>) -> tensor<2x4xf32>
  %0 = eff.matmul %v, %m : (tensor<3xf32>, tensor<2x3x4xf32>) -> tensor<*xf32>
  // CHECK: eff.matmul %{{.*}}, %{{.*}} : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4xf32>
  %1 = eff.matmul %n, %v : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<*xf32>
  // CHECK: eff.matmul %{{.*}}, %{{.*}} : (tensor<3xf32>, tensor<3xf32>) -> tensor<f32>
  %2 = eff.matmul %v, %v : (tensor<3xf32>, tensor<3xf32>) -> tensor<*xf32>
  return %0, %1, %2 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// Dynamic dims: a dynamic batch dim takes the other operand's known dim.
// CHECK-LABEL: func @matmul_dynamic
func.func @matmul_dynamic(%a: tensor<?x?x768xbf16>, %w: tensor<768x3072xbf16>, %b: tensor<?x4x?xbf16>, %u: tensor<*xbf16>) -> (tensor<*xbf16>, tensor<*xbf16>, tensor<*xbf16>) {
  // CHECK: eff.matmul %{{.*}}, %{{.*}} : (tensor<?x?x768xbf16>, tensor<768x3072xbf16>) -> tensor<?x?x3072xbf16>
  %0 = eff.matmul %a, %w : (tensor<?x?x768xbf16>, tensor<768x3072xbf16>) -> tensor<*xbf16>
  // CHECK: eff.matmul %{{.*}}, %{{.*}} : (tensor<?x4x?xbf16>, tensor<?x?x768xbf16>) -> tensor<?x4x768xbf16>
  %1 = eff.matmul %b, %a : (tensor<?x4x?xbf16>, tensor<?x?x768xbf16>) -> tensor<*xbf16>
  // CHECK: eff.matmul %{{.*}}, %{{.*}} : (tensor<*xbf16>, tensor<768x3072xbf16>) -> tensor<*xbf16>
  %2 = eff.matmul %u, %w : (tensor<*xbf16>, tensor<768x3072xbf16>) -> tensor<*xbf16>
  return %0, %1, %2 : tensor<*xbf16>, tensor<*xbf16>, tensor<*xbf16>
}

// -----

// CHECK-LABEL: func @matmul_int
func.func @matmul_int(%a: tensor<2x3xi32>, %b: tensor<3x2xi32>) -> tensor<2x2xi32> {
  // CHECK: eff.matmul %{{.*}}, %{{.*}} : (tensor<2x3xi32>, tensor<3x2xi32>) -> tensor<2x2xi32>
  %0 = eff.matmul %a, %b : (tensor<2x3xi32>, tensor<3x2xi32>) -> tensor<2x2xi32>
  return %0 : tensor<2x2xi32>
}

// -----

// CHECK-LABEL: func @gemm
func.func @gemm(%a: tensor<4x3xf32>, %at: tensor<3x4xf32>, %b: tensor<3x5xf32>, %bt: tensor<5x3xf32>) -> (tensor<*xf32>, tensor<*xf32>) {
  // CHECK: eff.gemm %{{.*}}, %{{.*}} : (tensor<4x3xf32>, tensor<3x5xf32>) -> tensor<4x5xf32>
  %0 = eff.gemm %a, %b : (tensor<4x3xf32>, tensor<3x5xf32>) -> tensor<*xf32>
  // CHECK: eff.gemm %{{.*}}, %{{.*}} {alpha = 5.000000e-01 : f32, transA = 1 : i64, transB = 1 : i64} : (tensor<3x4xf32>, tensor<5x3xf32>) -> tensor<4x5xf32>
  %1 = eff.gemm %at, %bt {alpha = 0.5 : f32, transA = 1 : i64, transB = 1 : i64} : (tensor<3x4xf32>, tensor<5x3xf32>) -> tensor<*xf32>
  return %0, %1 : tensor<*xf32>, tensor<*xf32>
}

// -----

// C broadcasts unidirectionally to [M, N]: a scalar, a row, a column, full.
// CHECK-LABEL: func @gemm_bias
func.func @gemm_bias(%a: tensor<4x3xf32>, %b: tensor<3x5xf32>, %s: tensor<f32>, %row: tensor<5xf32>, %col: tensor<4x1xf32>, %full: tensor<4x5xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  // CHECK: eff.gemm %{{.*}}, %{{.*}}, %{{.*}} : (tensor<4x3xf32>, tensor<3x5xf32>, tensor<f32>) -> tensor<4x5xf32>
  %0 = eff.gemm %a, %b, %s : (tensor<4x3xf32>, tensor<3x5xf32>, tensor<f32>) -> tensor<*xf32>
  // CHECK: eff.gemm %{{.*}}, %{{.*}}, %{{.*}} {beta = 2.000000e+00 : f32} : (tensor<4x3xf32>, tensor<3x5xf32>, tensor<5xf32>) -> tensor<4x5xf32>
  %1 = eff.gemm %a, %b, %row {beta = 2.0 : f32} : (tensor<4x3xf32>, tensor<3x5xf32>, tensor<5xf32>) -> tensor<*xf32>
  // CHECK: eff.gemm %{{.*}}, %{{.*}}, %{{.*}} : (tensor<4x3xf32>, tensor<3x5xf32>, tensor<4x1xf32>) -> tensor<4x5xf32>
  %2 = eff.gemm %a, %b, %col : (tensor<4x3xf32>, tensor<3x5xf32>, tensor<4x1xf32>) -> tensor<*xf32>
  // CHECK: eff.gemm %{{.*}}, %{{.*}}, %{{.*}} : (tensor<4x3xf32>, tensor<3x5xf32>, tensor<4x5xf32>) -> tensor<4x5xf32>
  %3 = eff.gemm %a, %b, %full : (tensor<4x3xf32>, tensor<3x5xf32>, tensor<4x5xf32>) -> tensor<*xf32>
  return %0, %1, %2, %3 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// A C dim other than 1 fixes a dynamic M or N.
// CHECK-LABEL: func @gemm_dynamic
func.func @gemm_dynamic(%a: tensor<?x3xf32>, %b: tensor<3x?xf32>, %c: tensor<4x5xf32>, %u: tensor<*xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  // CHECK: eff.gemm %{{.*}}, %{{.*}} : (tensor<?x3xf32>, tensor<3x?xf32>) -> tensor<?x?xf32>
  %0 = eff.gemm %a, %b : (tensor<?x3xf32>, tensor<3x?xf32>) -> tensor<*xf32>
  // CHECK: eff.gemm %{{.*}}, %{{.*}}, %{{.*}} : (tensor<?x3xf32>, tensor<3x?xf32>, tensor<4x5xf32>) -> tensor<4x5xf32>
  %1 = eff.gemm %a, %b, %c : (tensor<?x3xf32>, tensor<3x?xf32>, tensor<4x5xf32>) -> tensor<*xf32>
  // CHECK: eff.gemm %{{.*}}, %{{.*}} : (tensor<*xf32>, tensor<3x?xf32>) -> tensor<?x?xf32>
  %2 = eff.gemm %u, %b : (tensor<*xf32>, tensor<3x?xf32>) -> tensor<*xf32>
  return %0, %1, %2 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}
