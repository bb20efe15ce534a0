// RUN: effc-opt %s -split-input-file -eff-refine-shapes | FileCheck %s
// Round-trip of reduce_*, softmax, cum_sum and top_k. Results declared as
// tensor<*x..> (or with ? dims) are refined by re-running inference, so the
// CHECK lines show the inferred types.

// CHECK-LABEL: func @reduce_sum_axes
func.func @reduce_sum_axes(%x: tensor<2x3x4xf32>) -> tensor<*xf32> {
  %axes = eff.constant {value = dense<[1]> : tensor<1xi64>} : tensor<1xi64>
  // CHECK: eff.reduce_sum %{{.*}}, %{{.*}} : (tensor<2x3x4xf32>, tensor<1xi64>) -> tensor<2x1x4xf32>
  %0 = eff.reduce_sum %x, %axes : (tensor<2x3x4xf32>, tensor<1xi64>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

// CHECK-LABEL: func @reduce_mean_negative_axes_no_keepdims
func.func @reduce_mean_negative_axes_no_keepdims(%x: tensor<2x3x4xf16>) -> tensor<*xf16> {
  %axes = eff.constant {value = dense<[-1, 0]> : tensor<2xi64>} : tensor<2xi64>
  // CHECK: eff.reduce_mean %{{.*}}, %{{.*}} {keepdims = 0 : i64} : (tensor<2x3x4xf16>, tensor<2xi64>) -> tensor<3xf16>
  %0 = eff.reduce_mean %x, %axes {keepdims = 0 : i64} : (tensor<2x3x4xf16>, tensor<2xi64>) -> tensor<*xf16>
  return %0 : tensor<*xf16>
}

// -----

// No axes: reduce every dim.
// CHECK-LABEL: func @reduce_max_all
func.func @reduce_max_all(%x: tensor<2x3xi32>) -> (tensor<*xi32>, tensor<*xi32>) {
  // CHECK: eff.reduce_max %{{.*}} : (tensor<2x3xi32>) -> tensor<1x1xi32>
  %0 = eff.reduce_max %x : (tensor<2x3xi32>) -> tensor<*xi32>
  // CHECK: eff.reduce_max %{{.*}} {keepdims = 0 : i64} : (tensor<2x3xi32>) -> tensor<i32>
  %1 = eff.reduce_max %x {keepdims = 0 : i64} : (tensor<2x3xi32>) -> tensor<*xi32>
  return %0, %1 : tensor<*xi32>, tensor<*xi32>
}

// -----

// An empty axes constant is "no axes"; with noop_with_empty_axes the op is an identity.
// CHECK-LABEL: func @reduce_noop_empty_axes
func.func @reduce_noop_empty_axes(%x: tensor<2x3xf32>) -> (tensor<*xf32>, tensor<*xf32>) {
  %axes = eff.constant {value = dense<> : tensor<0xi64>} : tensor<0xi64>
  // CHECK: eff.reduce_sum %{{.*}}, %{{.*}} {noop_with_empty_axes = 1 : i64} : (tensor<2x3xf32>, tensor<0xi64>) -> tensor<2x3xf32>
  %0 = eff.reduce_sum %x, %axes {noop_with_empty_axes = 1 : i64} : (tensor<2x3xf32>, tensor<0xi64>) -> tensor<*xf32>
  // CHECK: eff.reduce_sum %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<0xi64>) -> tensor<1x1xf32>
  %1 = eff.reduce_sum %x, %axes : (tensor<2x3xf32>, tensor<0xi64>) -> tensor<*xf32>
  return %0, %1 : tensor<*xf32>, tensor<*xf32>
}

// -----

// Axes not known: keepdims keeps the rank (1s stay 1); otherwise the rank
// drops by the static number of axes.
// CHECK-LABEL: func @reduce_unknown_axes
func.func @reduce_unknown_axes(%x: tensor<2x1x5xf32>, %axes: tensor<2xi64>) -> (tensor<*xf32>, tensor<*xf32>) {
  // CHECK: eff.reduce_sum %{{.*}}, %{{.*}} : (tensor<2x1x5xf32>, tensor<2xi64>) -> tensor<?x1x?xf32>
  %0 = eff.reduce_sum %x, %axes : (tensor<2x1x5xf32>, tensor<2xi64>) -> tensor<*xf32>
  // CHECK: eff.reduce_sum %{{.*}}, %{{.*}} {keepdims = 0 : i64} : (tensor<2x1x5xf32>, tensor<2xi64>) -> tensor<?xf32>
  %1 = eff.reduce_sum %x, %axes {keepdims = 0 : i64} : (tensor<2x1x5xf32>, tensor<2xi64>) -> tensor<*xf32>
  return %0, %1 : tensor<*xf32>, tensor<*xf32>
}

// -----

// Dynamic dims that are not reduced stay dynamic; unranked stays unranked.
// CHECK-LABEL: func @reduce_dynamic
func.func @reduce_dynamic(%x: tensor<?x8xf32>, %u: tensor<*xf32>) -> (tensor<*xf32>, tensor<*xf32>) {
  %axes = eff.constant {value = dense<[1]> : tensor<1xi64>} : tensor<1xi64>
  // CHECK: eff.reduce_max %{{.*}}, %{{.*}} : (tensor<?x8xf32>, tensor<1xi64>) -> tensor<?x1xf32>
  %0 = eff.reduce_max %x, %axes : (tensor<?x8xf32>, tensor<1xi64>) -> tensor<*xf32>
  // CHECK: eff.reduce_max %{{.*}}, %{{.*}} : (tensor<*xf32>, tensor<1xi64>) -> tensor<*xf32>
  %1 = eff.reduce_max %u, %axes : (tensor<*xf32>, tensor<1xi64>) -> tensor<*xf32>
  return %0, %1 : tensor<*xf32>, tensor<*xf32>
}

// -----

// ReduceMax-20 accepts bool.
// CHECK-LABEL: func @reduce_max_bool
func.func @reduce_max_bool(%x: tensor<4x2xi1>) -> tensor<4x1xi1> {
  %axes = eff.constant {value = dense<[1]> : tensor<1xi64>} : tensor<1xi64>
  // CHECK: eff.reduce_max %{{.*}}, %{{.*}} : (tensor<4x2xi1>, tensor<1xi64>) -> tensor<4x1xi1>
  %0 = eff.reduce_max %x, %axes : (tensor<4x2xi1>, tensor<1xi64>) -> tensor<4x1xi1>
  return %0 : tensor<4x1xi1>
}

// -----

// CHECK-LABEL: func @softmax
func.func @softmax(%x: tensor<2x12x16x16xf32>, %y: tensor<?x5xbf16>) -> (tensor<2x12x16x16xf32>, tensor<?x5xbf16>) {
  // CHECK: eff.softmax %{{.*}} : (tensor<2x12x16x16xf32>) -> tensor<2x12x16x16xf32>
  %0 = eff.softmax %x : (tensor<2x12x16x16xf32>) -> tensor<2x12x16x16xf32>
  // CHECK: eff.softmax %{{.*}} {axis = 0 : i64} : (tensor<?x5xbf16>) -> tensor<?x5xbf16>
  %1 = eff.softmax %y {axis = 0 : i64} : (tensor<?x5xbf16>) -> tensor<?x5xbf16>
  return %0, %1 : tensor<2x12x16x16xf32>, tensor<?x5xbf16>
}

// -----

// CHECK-LABEL: func @cum_sum
func.func @cum_sum(%x: tensor<2x3xi64>, %axis: tensor<i32>) -> (tensor<2x3xi64>, tensor<2x3xi64>) {
  %a = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  // CHECK: eff.cum_sum %{{.*}}, %{{.*}} {exclusive = 1 : i64, reverse = 1 : i64} : (tensor<2x3xi64>, tensor<1xi64>) -> tensor<2x3xi64>
  %0 = eff.cum_sum %x, %a {exclusive = 1 : i64, reverse = 1 : i64} : (tensor<2x3xi64>, tensor<1xi64>) -> tensor<2x3xi64>
  // CHECK: eff.cum_sum %{{.*}}, %{{.*}} : (tensor<2x3xi64>, tensor<i32>) -> tensor<2x3xi64>
  %1 = eff.cum_sum %x, %axis : (tensor<2x3xi64>, tensor<i32>) -> tensor<2x3xi64>
  return %0, %1 : tensor<2x3xi64>, tensor<2x3xi64>
}

// -----

// CHECK-LABEL: func @top_k
func.func @top_k(%x: tensor<3x10xf32>, %k: tensor<1xi64>) -> (tensor<*xf32>, tensor<*xi64>, tensor<*xf32>, tensor<*xi64>) {
  %c2 = eff.constant {value = dense<2> : tensor<1xi64>} : tensor<1xi64>
  // CHECK: eff.top_k %{{.*}}, %{{.*}} {largest = 0 : i64, sorted = 0 : i64} : (tensor<3x10xf32>, tensor<1xi64>) -> (tensor<3x2xf32>, tensor<3x2xi64>)
  %v0, %i0 = eff.top_k %x, %c2 {largest = 0 : i64, sorted = 0 : i64} : (tensor<3x10xf32>, tensor<1xi64>) -> (tensor<*xf32>, tensor<*xi64>)
  // CHECK: eff.top_k %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<3x10xf32>, tensor<1xi64>) -> (tensor<?x10xf32>, tensor<?x10xi64>)
  %v1, %i1 = eff.top_k %x, %k {axis = 0 : i64} : (tensor<3x10xf32>, tensor<1xi64>) -> (tensor<*xf32>, tensor<*xi64>)
  return %v0, %i0, %v1, %i1 : tensor<*xf32>, tensor<*xi64>, tensor<*xf32>, tensor<*xi64>
}
