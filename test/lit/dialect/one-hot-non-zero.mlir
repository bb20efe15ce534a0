// RUN: effc-opt %s -split-input-file -eff-refine-shapes -canonicalize | FileCheck %s
// eff.one_hot and eff.non_zero: inferred shapes (non_zero's count is dynamic
// unless its input is a constant) and their folds on constants.

// CHECK-LABEL: func @shapes
func.func @shapes(%i: tensor<3x2xi64>, %m: tensor<2x5xi1>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xi64>) {
  %depth = eff.constant {value = dense<4> : tensor<i64>} : tensor<i64>
  %values = eff.constant {value = dense<[0.0, 1.0]> : tensor<2xf32>} : tensor<2xf32>
  // CHECK: eff.one_hot {{.*}} -> tensor<3x2x4xf32>
  %0 = eff.one_hot %i, %depth, %values : (tensor<3x2xi64>, tensor<i64>, tensor<2xf32>) -> tensor<*xf32>
  // CHECK: eff.one_hot {{.*}} {axis = 0 : i64} {{.*}} -> tensor<4x3x2xf32>
  %1 = eff.one_hot %i, %depth, %values {axis = 0 : i64} : (tensor<3x2xi64>, tensor<i64>, tensor<2xf32>) -> tensor<*xf32>
  // CHECK: eff.non_zero {{.*}} -> tensor<2x?xi64>
  %2 = eff.non_zero %m : (tensor<2x5xi1>) -> tensor<*xi64>
  return %0, %1, %2 : tensor<*xf32>, tensor<*xf32>, tensor<*xi64>
}

// -----

// Negative indices count from depth; out-of-range ones mark nothing.
// CHECK-LABEL: func @fold_one_hot
// CHECK: dense<{{\[}}[0, 1, 0], [0, 0, 1], [0, 0, 0]]> : tensor<3x3xi64>
func.func @fold_one_hot() -> tensor<*xi64> {
  %i = eff.constant {value = dense<[1, -1, 5]> : tensor<3xi64>} : tensor<3xi64>
  %depth = eff.constant {value = dense<3.0> : tensor<f32>} : tensor<f32>
  %values = eff.constant {value = dense<[0, 1]> : tensor<2xi64>} : tensor<2xi64>
  %0 = eff.one_hot %i, %depth, %values : (tensor<3xi64>, tensor<f32>, tensor<2xi64>) -> tensor<*xi64>
  return %0 : tensor<*xi64>
}

// -----

// Row-major coordinates of the nonzero elements, one row per dim.
// CHECK-LABEL: func @fold_non_zero
// CHECK: dense<{{\[}}[0, 1, 1], [1, 0, 2]]> : tensor<2x3xi64>
func.func @fold_non_zero() -> tensor<*xi64> {
  %m = eff.constant {value = dense<[[0.0, 2.0, 0.0], [-1.0, 0.0, 3.0]]> : tensor<2x3xf32>} : tensor<2x3xf32>
  %0 = eff.non_zero %m : (tensor<2x3xf32>) -> tensor<*xi64>
  return %0 : tensor<*xi64>
}
