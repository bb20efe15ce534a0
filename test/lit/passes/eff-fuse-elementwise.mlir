// RUN: effc-opt %s --eff-fuse-elementwise -split-input-file | FileCheck %s
// RUN: effc-opt %s --eff-fuse-elementwise=max-ops=2 -split-input-file | FileCheck %s --check-prefix=MAX2

// A GELU (tanh form) chain becomes one kernel; the matmul that feeds it stays.
// CHECK-LABEL: func.func @gelu_chain
// CHECK: %[[MM:.*]] = eff.matmul
// CHECK: %[[F:.*]] = eff.fusion elementwise(%[[MM]], %{{.*}}, %{{.*}}) : (tensor<4x8xf32>, tensor<f32>, tensor<f32>) -> tensor<4x8xf32> {
// CHECK-NEXT: ^bb0(%[[X:.*]]: tensor<4x8xf32>, %[[C:.*]]: tensor<f32>, %[[H:.*]]: tensor<f32>):
// CHECK-NEXT: %[[P:.*]] = eff.mul %[[X]], %[[C]]
// CHECK-NEXT: %[[T:.*]] = eff.tanh %[[P]]
// CHECK-NEXT: %[[A:.*]] = eff.add %[[T]], %[[H]]
// CHECK-NEXT: %[[R:.*]] = eff.mul %[[X]], %[[A]]
// CHECK-NEXT: eff.yield %[[R]] : tensor<4x8xf32>
// CHECK: return %[[F]]
// MAX2-LABEL: func.func @gelu_chain
// MAX2-COUNT-2: eff.fusion
func.func @gelu_chain(%a: tensor<4x16xf32>, %w: tensor<16x8xf32>) -> tensor<4x8xf32> {
  %c = eff.constant {value = dense<0.79> : tensor<f32>} : tensor<f32>
  %h = eff.constant {value = dense<1.0> : tensor<f32>} : tensor<f32>
  %x = eff.matmul %a, %w : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %p = eff.mul %x, %c : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %t = eff.tanh %p : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %s = eff.add %t, %h : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %r = eff.mul %x, %s : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

// A value used outside the chain ends the group there: both results stay
// reachable, and no value is computed twice.
// CHECK-LABEL: func.func @shared_producer
// CHECK: %[[E:.*]] = eff.exp
// CHECK: eff.fusion elementwise(%[[E]]
// CHECK: eff.reduce_sum %[[E]]
func.func @shared_producer(%x: tensor<2x4xf32>, %axes: tensor<1xi64>) -> (tensor<2x4xf32>, tensor<2x1xf32>) {
  %e = eff.exp %x : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %n = eff.neg %e : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %r = eff.relu %n : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %s = eff.reduce_sum %e, %axes : (tensor<2x4xf32>, tensor<1xi64>) -> tensor<2x1xf32>
  return %r, %s : tensor<2x4xf32>, tensor<2x1xf32>
}

// -----

// A producer with a smaller (broadcast) shape is an input, not a fused op.
// CHECK-LABEL: func.func @broadcast_input
// CHECK: %[[B:.*]] = eff.sqrt %arg1
// CHECK: eff.fusion elementwise(%arg0, %[[B]])
// CHECK-NOT: eff.sqrt
func.func @broadcast_input(%x: tensor<2x4xf32>, %b: tensor<4xf32>) -> tensor<2x4xf32> {
  %sb = eff.sqrt %b : (tensor<4xf32>) -> tensor<4xf32>
  %y = eff.add %x, %sb : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %z = eff.sigmoid %y : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %z : tensor<2x4xf32>
}

// -----

// A single elementwise op is left alone.
// CHECK-LABEL: func.func @single
// CHECK-NOT: eff.fusion
func.func @single(%x: tensor<8xf32>) -> tensor<8xf32> {
  %y = eff.relu %x : (tensor<8xf32>) -> tensor<8xf32>
  return %y : tensor<8xf32>
}
