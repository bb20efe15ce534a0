// RUN: effc-opt %s -split-input-file -eff-refine-shapes | FileCheck %s
// Round-trip of the shape ops. Results declared as tensor<*x..> are refined by
// re-running inference, so the CHECK lines show the inferred types.

// CHECK-LABEL: func @reshape
func.func @reshape(%x: tensor<2x3x4xf32>, %d: tensor<?x12x?xf32>, %s: tensor<3xi64>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %c0 = eff.constant {value = dense<[0, -1]> : tensor<2xi64>} : tensor<2xi64>
  %c1 = eff.constant {value = dense<[4, 0, 2, -1]> : tensor<4xi64>} : tensor<4xi64>
  %c2 = eff.constant {value = dense<[0, 0, 3, -1]> : tensor<4xi64>} : tensor<4xi64>
  %c3 = eff.constant {value = dense<[0, 24]> : tensor<2xi64>} : tensor<2xi64>
  // CHECK: eff.reshape %{{.*}}, %{{.*}} : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<2x12xf32>
  %0 = eff.reshape %x, %c0 : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<*xf32>
  // CHECK: eff.reshape %{{.*}}, %{{.*}} : (tensor<2x3x4xf32>, tensor<4xi64>) -> tensor<4x3x2x1xf32>
  %1 = eff.reshape %x, %c1 : (tensor<2x3x4xf32>, tensor<4xi64>) -> tensor<*xf32>
  // Copied dynamic dims cancel out, so -1 is still known.
  // CHECK: eff.reshape %{{.*}}, %{{.*}} : (tensor<?x12x?xf32>, tensor<4xi64>) -> tensor<?x12x3x?xf32>
  %2 = eff.reshape %d, %c2 : (tensor<?x12x?xf32>, tensor<4xi64>) -> tensor<*xf32>
  // allowzero: 0 is a real zero-size dim.
  // CHECK: eff.reshape %{{.*}}, %{{.*}} {allowzero = 1 : i64} : (tensor<0x3xf32>, tensor<2xi64>) -> tensor<0x24xf32>
  %z = eff.constant {value = dense<0.0> : tensor<0x3xf32>} : tensor<0x3xf32>
  %3 = eff.reshape %z, %c3 {allowzero = 1 : i64} : (tensor<0x3xf32>, tensor<2xi64>) -> tensor<*xf32>
  // A non-constant shape of known length gives the rank.
  // CHECK: eff.reshape %{{.*}}, %{{.*}} : (tensor<2x3x4xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  %4 = eff.reshape %x, %s : (tensor<2x3x4xf32>, tensor<3xi64>) -> tensor<*xf32>
  // CHECK: eff.reshape %{{.*}}, %{{.*}} : (tensor<?x12x?xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  %5 = eff.reshape %d, %c0 : (tensor<?x12x?xf32>, tensor<2xi64>) -> tensor<*xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// The shape subgraph of a dynamic-batch export: dims that come from static
// dims of a Shape are known even though the batch dim is not.
// CHECK-LABEL: func @reshape_partial_shape
func.func @reshape_partial_shape(%x: tensor<?x16x768xf32>) -> tensor<*xf32> {
  %shape = eff.shape %x : (tensor<?x16x768xf32>) -> tensor<3xi64>
  %i0 = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %i1 = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %ax = eff.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %b = eff.gather %shape, %i0 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %s = eff.gather %shape, %i1 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %b1 = eff.unsqueeze %b, %ax : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %s1 = eff.unsqueeze %s, %ax : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %heads = eff.constant {value = dense<[12, 64]> : tensor<2xi64>} : tensor<2xi64>
  %target = eff.concat %b1, %s1, %heads {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<2xi64>) -> tensor<4xi64>
  // CHECK: eff.reshape %{{.*}}, %{{.*}} : (tensor<?x16x768xf32>, tensor<4xi64>) -> tensor<?x16x12x64xf32>
  %r = eff.reshape %x, %target : (tensor<?x16x768xf32>, tensor<4xi64>) -> tensor<*xf32>
  return %r : tensor<*xf32>
}

// -----

// CHECK-LABEL: func @expand
func.func @expand(%x: tensor<3x1xf32>, %y: tensor<?x1x5xf32>, %s: tensor<2xi64>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %c0 = eff.constant {value = dense<[2, 1, 6]> : tensor<3xi64>} : tensor<3xi64>
  %c1 = eff.constant {value = dense<[4, 1]> : tensor<2xi64>} : tensor<2xi64>
  // CHECK: eff.expand %{{.*}}, %{{.*}} : (tensor<3x1xf32>, tensor<3xi64>) -> tensor<2x3x6xf32>
  %0 = eff.expand %x, %c0 : (tensor<3x1xf32>, tensor<3xi64>) -> tensor<*xf32>
  // Target dims of 1 keep the input's (bidirectional broadcast).
  // CHECK: eff.expand %{{.*}}, %{{.*}} : (tensor<?x1x5xf32>, tensor<2xi64>) -> tensor<?x4x5xf32>
  %1 = eff.expand %y, %c1 : (tensor<?x1x5xf32>, tensor<2xi64>) -> tensor<*xf32>
  // Unknown target values: dims > 1 of the input survive.
  // CHECK: eff.expand %{{.*}}, %{{.*}} : (tensor<?x1x5xf32>, tensor<2xi64>) -> tensor<?x?x5xf32>
  %2 = eff.expand %y, %s : (tensor<?x1x5xf32>, tensor<2xi64>) -> tensor<*xf32>
  %c2 = eff.constant {value = dense<[1, 4]> : tensor<2xi64>} : tensor<2xi64>
  // CHECK: eff.expand %{{.*}}, %{{.*}} : (tensor<3x1xf32>, tensor<2xi64>) -> tensor<3x4xf32>
  %3 = eff.expand %x, %c2 : (tensor<3x1xf32>, tensor<2xi64>) -> tensor<*xf32>
  return %0, %1, %2, %3 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// CHECK-LABEL: func @concat
func.func @concat(%a: tensor<2x3xf32>, %b: tensor<2x5xf32>, %c: tensor<?x?xf32>, %u: tensor<*xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  // CHECK: eff.concat %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
  %0 = eff.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<*xf32>
  // CHECK: eff.concat %{{.*}}, %{{.*}}, %{{.*}} {axis = -1 : i64} : (tensor<2x3xf32>, tensor<?x?xf32>, tensor<2x5xf32>) -> tensor<2x?xf32>
  %1 = eff.concat %a, %c, %b {axis = -1 : i64} : (tensor<2x3xf32>, tensor<?x?xf32>, tensor<2x5xf32>) -> tensor<*xf32>
  // CHECK: eff.concat %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<?x?xf32>, tensor<2x3xf32>) -> tensor<?x3xf32>
  %2 = eff.concat %c, %a {axis = 0 : i64} : (tensor<?x?xf32>, tensor<2x3xf32>) -> tensor<*xf32>
  // CHECK: eff.concat %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<*xf32>, tensor<2x3xf32>) -> tensor<?x3xf32>
  %3 = eff.concat %u, %a {axis = 0 : i64} : (tensor<*xf32>, tensor<2x3xf32>) -> tensor<*xf32>
  return %0, %1, %2, %3 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// CHECK-LABEL: func @flatten
func.func @flatten(%x: tensor<2x3x4xf32>, %d: tensor<?x3x4xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  // CHECK: eff.flatten %{{.*}} : (tensor<2x3x4xf32>) -> tensor<2x12xf32>
  %0 = eff.flatten %x : (tensor<2x3x4xf32>) -> tensor<*xf32>
  // CHECK: eff.flatten %{{.*}} {axis = 0 : i64} : (tensor<2x3x4xf32>) -> tensor<1x24xf32>
  %1 = eff.flatten %x {axis = 0 : i64} : (tensor<2x3x4xf32>) -> tensor<*xf32>
  // CHECK: eff.flatten %{{.*}} {axis = 3 : i64} : (tensor<2x3x4xf32>) -> tensor<24x1xf32>
  %2 = eff.flatten %x {axis = 3 : i64} : (tensor<2x3x4xf32>) -> tensor<*xf32>
  // CHECK: eff.flatten %{{.*}} {axis = -1 : i64} : (tensor<?x3x4xf32>) -> tensor<?x4xf32>
  %3 = eff.flatten %d {axis = -1 : i64} : (tensor<?x3x4xf32>) -> tensor<*xf32>
  // CHECK: eff.flatten %{{.*}} : (tensor<?x3x4xf32>) -> tensor<?x12xf32>
  %4 = eff.flatten %d {axis = 1 : i64} : (tensor<?x3x4xf32>) -> tensor<*xf32>
  return %0, %1, %2, %3, %4 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// CHECK-LABEL: func @slice
func.func @slice(%x: tensor<10x20x30xf32>, %d: tensor<?x20xf32>, %dyn: tensor<1xi64>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %s0 = eff.constant {value = dense<[1, -5]> : tensor<2xi64>} : tensor<2xi64>
  %e0 = eff.constant {value = dense<[9223372036854775807, -1]> : tensor<2xi64>} : tensor<2xi64>
  %a0 = eff.constant {value = dense<[0, 2]> : tensor<2xi64>} : tensor<2xi64>
  %st0 = eff.constant {value = dense<[2, 1]> : tensor<2xi64>} : tensor<2xi64>
  // dim 0: 1, 3, 5, 7, 9; dim 2: 25..28.
  // CHECK: eff.slice %{{.*}}, %{{.*}}, %{{.*}} axes %{{.*}} steps %{{.*}} : (tensor<10x20x30xf32>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>) -> tensor<5x20x4xf32>
  %0 = eff.slice %x, %s0, %e0 axes %a0 steps %st0 : (tensor<10x20x30xf32>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>) -> tensor<*xf32>
  // Negative step from the end to INT64_MIN reverses the whole dim.
  %s1 = eff.constant {value = dense<-1> : tensor<1xi64>} : tensor<1xi64>
  %e1 = eff.constant {value = dense<-9223372036854775808> : tensor<1xi64>} : tensor<1xi64>
  %a1 = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %st1 = eff.constant {value = dense<-1> : tensor<1xi64>} : tensor<1xi64>
  // CHECK: eff.slice {{.*}} -> tensor<10x20x30xf32>
  %1 = eff.slice %x, %s1, %e1 axes %a1 steps %st1 : (tensor<10x20x30xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<*xf32>
  // Negative step 3 from 18 down to (but not) 2: 18, 15, 12, 9, 6, 3.
  %s2 = eff.constant {value = dense<18> : tensor<1xi32>} : tensor<1xi32>
  %e2 = eff.constant {value = dense<2> : tensor<1xi32>} : tensor<1xi32>
  %st2 = eff.constant {value = dense<-3> : tensor<1xi32>} : tensor<1xi32>
  // CHECK: eff.slice {{.*}} -> tensor<10x6x30xf32>
  %2 = eff.slice %x, %s2, %e2 axes %a1 steps %st2 : (tensor<10x20x30xf32>, tensor<1xi32>, tensor<1xi32>, tensor<1xi64>, tensor<1xi32>) -> tensor<*xf32>
  // No axes: starts/ends apply to the leading dims; an empty range gives 0.
  %s3 = eff.constant {value = dense<[5, 20]> : tensor<2xi64>} : tensor<2xi64>
  %e3 = eff.constant {value = dense<[100, 30]> : tensor<2xi64>} : tensor<2xi64>
  // CHECK: eff.slice %{{.*}}, %{{.*}}, %{{.*}} : (tensor<10x20x30xf32>, tensor<2xi64>, tensor<2xi64>) -> tensor<5x0x30xf32>
  %3 = eff.slice %x, %s3, %e3 : (tensor<10x20x30xf32>, tensor<2xi64>, tensor<2xi64>) -> tensor<*xf32>
  // A dynamic dim stays dynamic; untouched dims keep their size.
  // CHECK: eff.slice {{.*}} -> tensor<?x20xf32>
  %4 = eff.slice %d, %s1, %e1 axes %a1 steps %st1 : (tensor<?x20xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<*xf32>
  // Non-constant starts on a known axis.
  // CHECK: eff.slice {{.*}} -> tensor<10x?x30xf32>
  %5 = eff.slice %x, %dyn, %e1 axes %a1 steps %st1 : (tensor<10x20x30xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<*xf32>
  // A start before the beginning with a negative step selects nothing
  // (numpy slicing, as the ONNX reference implementation).
  %s6 = eff.constant {value = dense<-100> : tensor<1xi64>} : tensor<1xi64>
  // CHECK: eff.slice {{.*}} -> tensor<10x0x30xf32>
  %6 = eff.slice %x, %s6, %e1 axes %a1 steps %st1 : (tensor<10x20x30xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<*xf32>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// CHECK-LABEL: func @split
func.func @split(%x: tensor<2x10xf32>, %d: tensor<2x?xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %sizes = eff.constant {value = dense<[3, 7]> : tensor<2xi64>} : tensor<2xi64>
  // CHECK: eff.split %{{.*}}, %{{.*}} {axis = 1 : i64, num_outputs = 2 : i64} : (tensor<2x10xf32>, tensor<2xi64>) -> (tensor<2x3xf32>, tensor<2x7xf32>)
  %0:2 = eff.split %x, %sizes {axis = 1 : i64, num_outputs = 2 : i64} : (tensor<2x10xf32>, tensor<2xi64>) -> (tensor<*xf32>, tensor<*xf32>)
  // Uneven: ceil(10 / 3) = 4, the last piece smaller.
  // CHECK: eff.split %{{.*}} {axis = -1 : i64, num_outputs = 3 : i64} : (tensor<2x10xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x2xf32>)
  %1:3 = eff.split %x {axis = -1 : i64, num_outputs = 3 : i64} : (tensor<2x10xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>)
  // Known sizes on a dynamic dim.
  // CHECK: eff.split %{{.*}}, %{{.*}} {axis = 1 : i64, num_outputs = 2 : i64} : (tensor<2x?xf32>, tensor<2xi64>) -> (tensor<2x3xf32>, tensor<2x7xf32>)
  %2:2 = eff.split %d, %sizes {axis = 1 : i64, num_outputs = 2 : i64} : (tensor<2x?xf32>, tensor<2xi64>) -> (tensor<*xf32>, tensor<*xf32>)
  return %0#0, %0#1, %1#0, %1#1, %1#2, %2#0, %2#1 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// CHECK-LABEL: func @squeeze_unsqueeze
func.func @squeeze_unsqueeze(%x: tensor<1x3x1x5xf32>, %d: tensor<?x1x?xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %a = eff.constant {value = dense<[0, -2]> : tensor<2xi64>} : tensor<2xi64>
  %b = eff.constant {value = dense<[0, 3, -1]> : tensor<3xi64>} : tensor<3xi64>
  // CHECK: eff.squeeze %{{.*}}, %{{.*}} : (tensor<1x3x1x5xf32>, tensor<2xi64>) -> tensor<3x5xf32>
  %0 = eff.squeeze %x, %a : (tensor<1x3x1x5xf32>, tensor<2xi64>) -> tensor<*xf32>
  // CHECK: eff.squeeze %{{.*}} : (tensor<1x3x1x5xf32>) -> tensor<3x5xf32>
  %1 = eff.squeeze %x : (tensor<1x3x1x5xf32>) -> tensor<*xf32>
  // Without axes a dynamic dim might be 1: the rank is unknown.
  // CHECK: eff.squeeze %{{.*}} : (tensor<?x1x?xf32>) -> tensor<*xf32>
  %2 = eff.squeeze %d : (tensor<?x1x?xf32>) -> tensor<*xf32>
  // Axes index the result (rank 5): 0, 3 and 4 become 1.
  // CHECK: eff.unsqueeze %{{.*}}, %{{.*}} : (tensor<3x5xf32>, tensor<3xi64>) -> tensor<1x3x5x1x1xf32>
  %3 = eff.unsqueeze %0, %b : (tensor<*xf32>, tensor<3xi64>) -> tensor<*xf32>
  // CHECK: eff.unsqueeze %{{.*}}, %{{.*}} : (tensor<?x1x?xf32>, tensor<2xi64>) -> tensor<1x?x1x1x?xf32>
  %4 = eff.unsqueeze %d, %a : (tensor<?x1x?xf32>, tensor<2xi64>) -> tensor<*xf32>
  return %0, %1, %2, %3, %4 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// CHECK-LABEL: func @transpose_trilu
func.func @transpose_trilu(%x: tensor<2x3x?xf32>, %m: tensor<4x4xf32>, %k: tensor<i64>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  // CHECK: eff.transpose %{{.*}} {perm = array<i64: 0, 2, 1>} : (tensor<2x3x?xf32>) -> tensor<2x?x3xf32>
  %0 = eff.transpose %x {perm = array<i64: 0, 2, 1>} : (tensor<2x3x?xf32>) -> tensor<*xf32>
  // No perm: reversed.
  // CHECK: eff.transpose %{{.*}} : (tensor<2x3x?xf32>) -> tensor<?x3x2xf32>
  %1 = eff.transpose %x : (tensor<2x3x?xf32>) -> tensor<*xf32>
  // CHECK: eff.trilu %{{.*}}, %{{.*}} {upper = 0 : i64} : (tensor<4x4xf32>, tensor<i64>) -> tensor<4x4xf32>
  %2 = eff.trilu %m, %k {upper = 0 : i64} : (tensor<4x4xf32>, tensor<i64>) -> tensor<*xf32>
  // CHECK: eff.trilu %{{.*}} : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %3 = eff.trilu %m : (tensor<4x4xf32>) -> tensor<*xf32>
  return %0, %1, %2, %3 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}
