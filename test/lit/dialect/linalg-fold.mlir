// RUN: effc-opt %s -canonicalize -split-input-file | FileCheck %s
// matmul and gemm of constants fold through the host kernels.

// CHECK-LABEL: func @matmul_const
func.func @matmul_const() -> (tensor<2x2xf32>, tensor<2xi32>) {
  %a = eff.constant {value = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>} : tensor<2x2xf32>
  %b = eff.constant {value = dense<[[5.0, 6.0], [7.0, 8.0]]> : tensor<2x2xf32>} : tensor<2x2xf32>
  %v = eff.constant {value = dense<[1, -1]> : tensor<2xi32>} : tensor<2xi32>
  %m = eff.constant {value = dense<[[1, 2], [3, 4]]> : tensor<2x2xi32>} : tensor<2x2xi32>
  // CHECK-DAG: eff.constant {value = dense<{{\[\[}}1.900000e+01, 2.200000e+01], [4.300000e+01, 5.000000e+01]]> : tensor<2x2xf32>} : tensor<2x2xf32>
  // CHECK-DAG: eff.constant {value = dense<-2> : tensor<2xi32>} : tensor<2xi32>
  // CHECK-NOT: eff.matmul
  %0 = eff.matmul %a, %b : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %1 = eff.matmul %v, %m : (tensor<2xi32>, tensor<2x2xi32>) -> tensor<2xi32>
  return %0, %1 : tensor<2x2xf32>, tensor<2xi32>
}

// -----

// alpha * A B + beta * C = 2 * 11 + 3 * 1.
// CHECK-LABEL: func @gemm_const
func.func @gemm_const() -> tensor<1x1xf32> {
  %a = eff.constant {value = dense<[[1.0, 2.0]]> : tensor<1x2xf32>} : tensor<1x2xf32>
  %b = eff.constant {value = dense<[[3.0, 4.0]]> : tensor<1x2xf32>} : tensor<1x2xf32>
  %c = eff.constant {value = dense<1.0> : tensor<1xf32>} : tensor<1xf32>
  // CHECK: eff.constant {value = dense<2.500000e+01> : tensor<1x1xf32>} : tensor<1x1xf32>
  // CHECK-NOT: eff.gemm
  %0 = eff.gemm %a, %b, %c {alpha = 2.0 : f32, beta = 3.0 : f32, transB = 1 : i64} : (tensor<1x2xf32>, tensor<1x2xf32>, tensor<1xf32>) -> tensor<1x1xf32>
  return %0 : tensor<1x1xf32>
}

// -----

// transB: b stored [N, K] ([[5, 7], [6, 8]] is [[5, 6], [7, 8]] transposed),
// a 3-D a: the same product as @matmul_const per batch row.
// CHECK-LABEL: func @matmul_transb_const
func.func @matmul_transb_const() -> tensor<1x2x2xf32> {
  %a = eff.constant {value = dense<[[[1.0, 2.0], [3.0, 4.0]]]> : tensor<1x2x2xf32>} : tensor<1x2x2xf32>
  %b = eff.constant {value = dense<[[5.0, 7.0], [6.0, 8.0]]> : tensor<2x2xf32>} : tensor<2x2xf32>
  // CHECK: eff.constant {value = dense<{{\[\[\[}}1.900000e+01, 2.200000e+01], [4.300000e+01, 5.000000e+01]]]> : tensor<1x2x2xf32>} : tensor<1x2x2xf32>
  // CHECK-NOT: eff.matmul
  %0 = eff.matmul %a, %b {transB = 1 : i64} : (tensor<1x2x2xf32>, tensor<2x2xf32>) -> tensor<1x2x2xf32>
  return %0 : tensor<1x2x2xf32>
}
