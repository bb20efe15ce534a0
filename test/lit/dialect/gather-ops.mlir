// RUN: effc-opt %s -split-input-file -eff-refine-shapes | FileCheck %s
// Round-trip of gather, gather_elements and gather_nd; results declared as
// tensor<*x..> are refined by inference.

// CHECK-LABEL: func @gather
func.func @gather(%x: tensor<5x4x3xf32>, %i: tensor<2x6xi64>, %j: tensor<i32>, %d: tensor<?x768xf16>, %ids: tensor<?x?xi64>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf16>) {
  // CHECK: eff.gather %{{.*}}, %{{.*}} : (tensor<5x4x3xf32>, tensor<2x6xi64>) -> tensor<2x6x4x3xf32>
  %0 = eff.gather %x, %i : (tensor<5x4x3xf32>, tensor<2x6xi64>) -> tensor<*xf32>
  // CHECK: eff.gather %{{.*}}, %{{.*}} {axis = -2 : i64} : (tensor<5x4x3xf32>, tensor<2x6xi64>) -> tensor<5x2x6x3xf32>
  %1 = eff.gather %x, %i {axis = -2 : i64} : (tensor<5x4x3xf32>, tensor<2x6xi64>) -> tensor<*xf32>
  // A scalar index drops the axis.
  // CHECK: eff.gather %{{.*}}, %{{.*}} {axis = 2 : i64} : (tensor<5x4x3xf32>, tensor<i32>) -> tensor<5x4xf32>
  %2 = eff.gather %x, %j {axis = 2 : i64} : (tensor<5x4x3xf32>, tensor<i32>) -> tensor<*xf32>
  // Embedding lookup.
  // CHECK: eff.gather %{{.*}}, %{{.*}} : (tensor<?x768xf16>, tensor<?x?xi64>) -> tensor<?x?x768xf16>
  %3 = eff.gather %d, %ids : (tensor<?x768xf16>, tensor<?x?xi64>) -> tensor<*xf16>
  return %0, %1, %2, %3 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf16>
}

// -----

// CHECK-LABEL: func @gather_elements
func.func @gather_elements(%x: tensor<3x4xf32>, %i: tensor<2x4xi32>, %u: tensor<*xi64>) -> (tensor<*xf32>, tensor<*xf32>) {
  // CHECK: eff.gather_elements %{{.*}}, %{{.*}} : (tensor<3x4xf32>, tensor<2x4xi32>) -> tensor<2x4xf32>
  %0 = eff.gather_elements %x, %i {axis = 0 : i64} : (tensor<3x4xf32>, tensor<2x4xi32>) -> tensor<*xf32>
  // CHECK: eff.gather_elements %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<3x4xf32>, tensor<*xi64>) -> tensor<?x?xf32>
  %1 = eff.gather_elements %x, %u {axis = 1 : i64} : (tensor<3x4xf32>, tensor<*xi64>) -> tensor<*xf32>
  return %0, %1 : tensor<*xf32>, tensor<*xf32>
}

// -----

// CHECK-LABEL: func @gather_nd
func.func @gather_nd(%x: tensor<2x3x4x5xf32>, %i: tensor<6x2xi64>, %b: tensor<?x7x1xi64>, %q: tensor<2x?xi64>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  // CHECK: eff.gather_nd %{{.*}}, %{{.*}} : (tensor<2x3x4x5xf32>, tensor<6x2xi64>) -> tensor<6x4x5xf32>
  %0 = eff.gather_nd %x, %i : (tensor<2x3x4x5xf32>, tensor<6x2xi64>) -> tensor<*xf32>
  // Batch dims come from data where the indices' are dynamic.
  // CHECK: eff.gather_nd %{{.*}}, %{{.*}} {batch_dims = 1 : i64} : (tensor<2x3x4x5xf32>, tensor<?x7x1xi64>) -> tensor<2x7x4x5xf32>
  %1 = eff.gather_nd %x, %b {batch_dims = 1 : i64} : (tensor<2x3x4x5xf32>, tensor<?x7x1xi64>) -> tensor<*xf32>
  // A full index tuple gathers scalars.
  %full = eff.constant {value = dense<[[1, 2, 3, 4]]> : tensor<1x4xi64>} : tensor<1x4xi64>
  // CHECK: eff.gather_nd %{{.*}}, %{{.*}} : (tensor<2x3x4x5xf32>, tensor<1x4xi64>) -> tensor<1xf32>
  %2 = eff.gather_nd %x, %full : (tensor<2x3x4x5xf32>, tensor<1x4xi64>) -> tensor<*xf32>
  // An unknown tuple length leaves the rank unknown.
  // CHECK: eff.gather_nd %{{.*}}, %{{.*}} : (tensor<2x3x4x5xf32>, tensor<2x?xi64>) -> tensor<*xf32>
  %3 = eff.gather_nd %x, %q : (tensor<2x3x4x5xf32>, tensor<2x?xi64>) -> tensor<*xf32>
  return %0, %1, %2, %3 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}
