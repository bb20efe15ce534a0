// RUN: effc-opt %s -split-input-file -verify-diagnostics

func.func @bad_kind(%x: tensor<4xf32>) -> tensor<4xf32> {
  // The kind is an enum (Eff_FusionKind): an unknown one does not parse.
  // expected-error @+1 {{invalid kind attribute specification: "tiled"}}
  %r = eff.fusion "tiled"(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    %n = eff.neg %a : (tensor<4xf32>) -> tensor<4xf32>
    eff.yield %n : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

func.func @shape_mismatch(%x: tensor<4xf32>, %y: tensor<2x4xf32>) -> tensor<4xf32> {
  %r = eff.fusion "elementwise"(%x, %y) : (tensor<4xf32>, tensor<2x4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>, %b: tensor<2x4xf32>):
    // expected-error @+1 {{result shape 'tensor<2x4xf32>' differs from the elementwise fusion's shape}}
    %n = eff.add %a, %b : (tensor<4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %m = eff.neg %a : (tensor<4xf32>) -> tensor<4xf32>
    eff.yield %m : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

func.func @arg_types(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{body argument type}}
  %r = eff.fusion "elementwise"(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf16>):
    %n = eff.cast %a {to = 1 : i64} : (tensor<4xf16>) -> tensor<4xf32>
    eff.yield %n : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

// A fused lora_expand reads t, b and lora_index at its row and column: they
// must be fusion inputs, not values computed in the body.
func.func @lora_expand_side_operand(%x: tensor<4x16xf32>, %w: tensor<16x8xf32>, %t: tensor<4x8xf32>, %b: tensor<8x8xf32>) -> tensor<4x8xf32> {
  %r = eff.fusion "gemm_epilogue"(%x, %w, %t, %b) : (tensor<4x16xf32>, tensor<16x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a0: tensor<4x16xf32>, %a1: tensor<16x8xf32>, %a2: tensor<4x8xf32>, %a3: tensor<8x8xf32>):
    %mm = eff.matmul %a0, %a1 : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
    %nt = eff.neg %a2 : (tensor<4x8xf32>) -> tensor<4x8xf32>
    // expected-error @+1 {{t, b and lora_index of a fused lora_expand must be fusion inputs}}
    %e = eff.lora_expand %mm, %nt, %a3 : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
    eff.yield %e : tensor<4x8xf32>
  }
  return %r : tensor<4x8xf32>
}
