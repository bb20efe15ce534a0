// RUN: effc-opt %s --eff-refine-shapes -split-input-file | FileCheck %s

// A reshape whose target shape became a constant after import is refined to
// a static type, the refinement flows to its users and to the signature.
// CHECK-LABEL: func.func @reshape_refined
// CHECK-SAME: -> tensor<4x6xf32>
// CHECK: eff.reshape {{.*}} -> tensor<4x6xf32>
// CHECK: eff.relu {{.*}} -> tensor<4x6xf32>
func.func @reshape_refined(%x: tensor<2x3x4xf32>) -> tensor<?x?xf32> {
  %shape = eff.constant {value = dense<[4, 6]> : tensor<2xi64>} : tensor<2xi64>
  %r = eff.reshape %x, %shape : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  %y = eff.relu %r : (tensor<?x?xf32>) -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

// -----

// Nothing to refine when the shape is not known.
// CHECK-LABEL: func.func @unknown_shape
// CHECK: eff.reshape {{.*}} -> tensor<?x?xf32>
func.func @unknown_shape(%x: tensor<2x3x4xf32>, %shape: tensor<2xi64>) -> tensor<?x?xf32> {
  %r = eff.reshape %x, %shape : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}

// -----

// Broadcasting fixes a dynamic dim from the other operand.
// CHECK-LABEL: func.func @broadcast_refined
// CHECK: eff.add {{.*}} -> tensor<8x16xf32>
func.func @broadcast_refined(%a: tensor<8x16xf32>, %b: tensor<16xf32>) -> tensor<?x16xf32> {
  %c = eff.add %a, %b : (tensor<8x16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return %c : tensor<?x16xf32>
}
