// RUN: effc-opt %s -split-input-file -eff-refine-shapes -canonicalize | FileCheck %s
// Round-trip and inference of scatter_nd, scatter_elements and tile; constant
// operands fold through the host kernels (ConstantFolding).

// CHECK-LABEL: func @scatter
func.func @scatter(%x: tensor<4x5x6xf32>, %i: tensor<3x2xi64>, %u: tensor<3x6xf32>,
                   %e: tensor<2x5x6xi32>, %v: tensor<2x5x6xf32>) -> (tensor<*xf32>, tensor<*xf32>) {
  // CHECK: eff.scatter_nd %{{.*}}, %{{.*}}, %{{.*}} {reduction = "max"} : (tensor<4x5x6xf32>, tensor<3x2xi64>, tensor<3x6xf32>) -> tensor<4x5x6xf32>
  %0 = eff.scatter_nd %x, %i, %u {reduction = "max"} : (tensor<4x5x6xf32>, tensor<3x2xi64>, tensor<3x6xf32>) -> tensor<*xf32>
  // CHECK: eff.scatter_elements %{{.*}}, %{{.*}}, %{{.*}} {reduction = "add"} : (tensor<4x5x6xf32>, tensor<2x5x6xi32>, tensor<2x5x6xf32>) -> tensor<4x5x6xf32>
  %1 = eff.scatter_elements %x, %e, %v {reduction = "add"} : (tensor<4x5x6xf32>, tensor<2x5x6xi32>, tensor<2x5x6xf32>) -> tensor<*xf32>
  return %0, %1 : tensor<*xf32>, tensor<*xf32>
}

// -----

// CHECK-LABEL: func @tile
func.func @tile(%x: tensor<2x?x3xf16>, %r: tensor<3xi64>) -> (tensor<*xf16>, tensor<*xf16>, tensor<*xf16>) {
  %c = eff.constant {value = dense<[2, 1, 0]> : tensor<3xi64>} : tensor<3xi64>
  // CHECK: eff.tile %{{.*}}, %{{.*}} : (tensor<2x?x3xf16>, tensor<3xi64>) -> tensor<4x?x0xf16>
  %0 = eff.tile %x, %c : (tensor<2x?x3xf16>, tensor<3xi64>) -> tensor<*xf16>
  // Run-time repeats: every dim unknown.
  // CHECK: eff.tile %{{.*}}, %{{.*}} : (tensor<2x?x3xf16>, tensor<3xi64>) -> tensor<?x?x?xf16>
  %1 = eff.tile %x, %r : (tensor<2x?x3xf16>, tensor<3xi64>) -> tensor<*xf16>
  // All ones: the input itself.
  %ones = eff.constant {value = dense<1> : tensor<3xi64>} : tensor<3xi64>
  %2 = eff.tile %x, %ones : (tensor<2x?x3xf16>, tensor<3xi64>) -> tensor<*xf16>
  // CHECK: return %{{.*}}, %{{.*}}, %arg0
  return %0, %1, %2 : tensor<*xf16>, tensor<*xf16>, tensor<*xf16>
}

// -----

// Constant operands fold through the host kernels: duplicate tuples add up.
// CHECK-LABEL: func @fold
func.func @fold() -> (tensor<4xf32>, tensor<2x4xi64>, tensor<3xi64>) {
  %x = eff.constant {value = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>} : tensor<4xf32>
  %i = eff.constant {value = dense<[[1], [3], [1]]> : tensor<3x1xi64>} : tensor<3x1xi64>
  %u = eff.constant {value = dense<[10.0, 20.0, 30.0]> : tensor<3xf32>} : tensor<3xf32>
  // CHECK-DAG: dense<[1.000000e+00, 4.200000e+01, 3.000000e+00, 2.400000e+01]> : tensor<4xf32>
  %0 = eff.scatter_nd %x, %i, %u {reduction = "add"} : (tensor<4xf32>, tensor<3x1xi64>, tensor<3xf32>) -> tensor<4xf32>
  %t = eff.constant {value = dense<[[1, 2]]> : tensor<1x2xi64>} : tensor<1x2xi64>
  %r = eff.constant {value = dense<[2, 2]> : tensor<2xi64>} : tensor<2xi64>
  // CHECK-DAG: dense<{{\[}}[1, 2, 1, 2], [1, 2, 1, 2]]> : tensor<2x4xi64>
  %1 = eff.tile %t, %r : (tensor<1x2xi64>, tensor<2xi64>) -> tensor<2x4xi64>
  %y = eff.constant {value = dense<[5, 5, 5]> : tensor<3xi64>} : tensor<3xi64>
  %j = eff.constant {value = dense<[2, -3, 2]> : tensor<3xi64>} : tensor<3xi64>
  %v = eff.constant {value = dense<[7, 1, 9]> : tensor<3xi64>} : tensor<3xi64>
  // Both updates of slot 2 combine; -3 wraps to slot 0.
  // CHECK-DAG: dense<[5, 5, 9]> : tensor<3xi64>
  %2 = eff.scatter_elements %y, %j, %v {reduction = "max"} : (tensor<3xi64>, tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
  // CHECK-NOT: eff.scatter
  // CHECK-NOT: eff.tile
  return %0, %1, %2 : tensor<4xf32>, tensor<2x4xi64>, tensor<3xi64>
}
