// RUN: effc-opt %s -canonicalize -split-input-file | FileCheck %s
// Reductions, softmax, cum_sum and top_k of constants fold through the host
// kernels; identity reductions fold away.

// CHECK-LABEL: func @reduce_sum_const
func.func @reduce_sum_const() -> (tensor<2xf32>, tensor<1x3xi64>) {
  %x = eff.constant {value = dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>} : tensor<2x3xf32>
  %i = eff.constant {value = dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi64>} : tensor<2x3xi64>
  %a1 = eff.constant {value = dense<[1]> : tensor<1xi64>} : tensor<1xi64>
  %a0 = eff.constant {value = dense<[0]> : tensor<1xi64>} : tensor<1xi64>
  // CHECK-DAG: eff.constant {value = dense<[6.000000e+00, 1.500000e+01]> : tensor<2xf32>} : tensor<2xf32>
  // CHECK-DAG: eff.constant {value = dense<{{\[\[}}5, 7, 9]]> : tensor<1x3xi64>} : tensor<1x3xi64>
  // CHECK-NOT: eff.reduce_sum
  %0 = eff.reduce_sum %x, %a1 {keepdims = 0 : i64} : (tensor<2x3xf32>, tensor<1xi64>) -> tensor<2xf32>
  %1 = eff.reduce_sum %i, %a0 : (tensor<2x3xi64>, tensor<1xi64>) -> tensor<1x3xi64>
  return %0, %1 : tensor<2xf32>, tensor<1x3xi64>
}

// -----

// CHECK-LABEL: func @reduce_max_mean_const
func.func @reduce_max_mean_const() -> (tensor<f32>, tensor<2x1xf32>) {
  %x = eff.constant {value = dense<[[1.0, -2.0], [4.0, 3.0]]> : tensor<2x2xf32>} : tensor<2x2xf32>
  %a = eff.constant {value = dense<[-1]> : tensor<1xi64>} : tensor<1xi64>
  // CHECK-DAG: eff.constant {value = dense<4.000000e+00> : tensor<f32>} : tensor<f32>
  // CHECK-DAG: eff.constant {value = dense<{{\[\[}}-5.000000e-01], [3.500000e+00]]> : tensor<2x1xf32>} : tensor<2x1xf32>
  // CHECK-NOT: eff.reduce
  %0 = eff.reduce_max %x {keepdims = 0 : i64} : (tensor<2x2xf32>) -> tensor<f32>
  %1 = eff.reduce_mean %x, %a : (tensor<2x2xf32>, tensor<1xi64>) -> tensor<2x1xf32>
  return %0, %1 : tensor<f32>, tensor<2x1xf32>
}

// -----

// noop_with_empty_axes without axes, and keepdims over dims of size 1, are identities.
// CHECK-LABEL: func @reduce_identity
// CHECK-SAME: (%[[X:.*]]: tensor<4x1xf32>)
func.func @reduce_identity(%x: tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>, tensor<4xf32>) {
  %a = eff.constant {value = dense<[1]> : tensor<1xi64>} : tensor<1xi64>
  %0 = eff.reduce_sum %x {noop_with_empty_axes = 1 : i64} : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %1 = eff.reduce_mean %x, %a : (tensor<4x1xf32>, tensor<1xi64>) -> tensor<4x1xf32>
  // keepdims = 0 changes the type: not an identity.
  // CHECK: %[[R:.*]] = eff.reduce_max %[[X]], %{{.*}} {keepdims = 0 : i64}
  %2 = eff.reduce_max %x, %a {keepdims = 0 : i64} : (tensor<4x1xf32>, tensor<1xi64>) -> tensor<4xf32>
  // CHECK: return %[[X]], %[[X]], %[[R]]
  return %0, %1, %2 : tensor<4x1xf32>, tensor<4x1xf32>, tensor<4xf32>
}

// -----

// CHECK-LABEL: func @softmax_const
func.func @softmax_const() -> tensor<2x2xf32> {
  %x = eff.constant {value = dense<[[0.0, 0.0], [1.0, 1.0]]> : tensor<2x2xf32>} : tensor<2x2xf32>
  // CHECK: eff.constant {value = dense<5.000000e-01> : tensor<2x2xf32>} : tensor<2x2xf32>
  // CHECK-NOT: eff.softmax
  %0 = eff.softmax %x : (tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

// CHECK-LABEL: func @cum_sum_const
func.func @cum_sum_const() -> (tensor<4xi32>, tensor<4xi32>) {
  %x = eff.constant {value = dense<[1, 2, 3, 4]> : tensor<4xi32>} : tensor<4xi32>
  %a = eff.constant {value = dense<0> : tensor<i32>} : tensor<i32>
  // CHECK-DAG: eff.constant {value = dense<[1, 3, 6, 10]> : tensor<4xi32>} : tensor<4xi32>
  // CHECK-DAG: eff.constant {value = dense<[9, 7, 4, 0]> : tensor<4xi32>} : tensor<4xi32>
  // CHECK-NOT: eff.cum_sum
  %0 = eff.cum_sum %x, %a : (tensor<4xi32>, tensor<i32>) -> tensor<4xi32>
  %1 = eff.cum_sum %x, %a {exclusive = 1 : i64, reverse = 1 : i64} : (tensor<4xi32>, tensor<i32>) -> tensor<4xi32>
  return %0, %1 : tensor<4xi32>, tensor<4xi32>
}

// -----

// CHECK-LABEL: func @top_k_const
func.func @top_k_const() -> (tensor<2xf32>, tensor<2xi64>) {
  %x = eff.constant {value = dense<[3.0, 1.0, 4.0, 1.5]> : tensor<4xf32>} : tensor<4xf32>
  %k = eff.constant {value = dense<2> : tensor<1xi64>} : tensor<1xi64>
  // CHECK-DAG: eff.constant {value = dense<[4.000000e+00, 3.000000e+00]> : tensor<2xf32>} : tensor<2xf32>
  // CHECK-DAG: eff.constant {value = dense<[2, 0]> : tensor<2xi64>} : tensor<2xi64>
  // CHECK-NOT: eff.top_k
  %v, %i = eff.top_k %x, %k : (tensor<4xf32>, tensor<1xi64>) -> (tensor<2xf32>, tensor<2xi64>)
  return %v, %i : tensor<2xf32>, tensor<2xi64>
}
