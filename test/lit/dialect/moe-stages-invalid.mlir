// The verifiers of eff-lower-moe's stages (eff.moe_permute,
// eff.moe_expert_gemm, eff.moe_combine): attributes in range, index forms
// per `rows`, shapes that agree; errors name the operand.
// RUN: effc-opt %s -split-input-file -verify-diagnostics

func.func @permute_experts(%e: tensor<6xi64>) -> tensor<17xi32> {
  // expected-error @+1 {{experts must be [T, k], got rank 1}}
  %o = eff.moe_permute %e {num_experts = 4 : i64} : (tensor<6xi64>) -> tensor<17xi32>
  return %o : tensor<17xi32>
}

// -----

func.func @gemm_rows(%a: tensor<3x8xf32>, %w: tensor<4x6x8xf32>) -> tensor<3x3xf32> {
  // expected-error @+1 {{rows must be sorted, slots or dense, got 'tokens'}}
  %h = eff.moe_expert_gemm %a, %w {rows = "tokens", gated = 1 : i64} : (tensor<3x8xf32>, tensor<4x6x8xf32>) -> tensor<3x3xf32>
  return %h : tensor<3x3xf32>
}

// -----

func.func @gemm_sorted_index(%a: tensor<3x8xf32>, %w: tensor<4x6x8xf32>, %e: tensor<3x2xi64>) -> tensor<6x3xf32> {
  // expected-error @+1 {{sorted rows need an int32 order [E + 1 + 2 T k] as index}}
  %h = eff.moe_expert_gemm %a, %w, %e {rows = "sorted", gated = 1 : i64, top_k = 2 : i64} : (tensor<3x8xf32>, tensor<4x6x8xf32>, tensor<3x2xi64>) -> tensor<6x3xf32>
  return %h : tensor<6x3xf32>
}

// -----

func.func @gemm_slots_top_k(%a: tensor<3x8xf32>, %w: tensor<4x6x8xf32>, %e: tensor<3x2xi64>) -> tensor<6x3xf32> {
  // expected-error @+1 {{index dim 1 must be 3 (top_k), got 2}}
  %h = eff.moe_expert_gemm %a, %w, %e {rows = "slots", gated = 1 : i64, top_k = 3 : i64} : (tensor<3x8xf32>, tensor<4x6x8xf32>, tensor<3x2xi64>) -> tensor<6x3xf32>
  return %h : tensor<6x3xf32>
}

// -----

func.func @gemm_kd(%a: tensor<3x8xf32>, %w: tensor<1x6x7xf32>) -> tensor<3x3xf32> {
  // expected-error @+1 {{w dim 2 must be 8 (a's KD), got 7}}
  %h = eff.moe_expert_gemm %a, %w {rows = "dense", gated = 1 : i64} : (tensor<3x8xf32>, tensor<1x6x7xf32>) -> tensor<3x3xf32>
  return %h : tensor<3x3xf32>
}

// -----

func.func @gemm_dense_experts(%a: tensor<3x8xf32>, %w: tensor<2x6x8xf32>) -> tensor<3x3xf32> {
  // expected-error @+1 {{w dim 0 must be 1 (one expert with dense rows), got 2}}
  %h = eff.moe_expert_gemm %a, %w {rows = "dense", gated = 1 : i64} : (tensor<3x8xf32>, tensor<2x6x8xf32>) -> tensor<3x3xf32>
  return %h : tensor<3x3xf32>
}

// -----

func.func @gemm_down_rows(%h: tensor<5x3xf32>, %w: tensor<4x8x3xf32>, %e: tensor<3x2xi64>) -> tensor<6x8xf32> {
  // expected-error @+1 {{a dim 0 must be 6 (one row per output row), got 5}}
  %z = eff.moe_expert_gemm %h, %w, %e {rows = "slots", top_k = 2 : i64} : (tensor<5x3xf32>, tensor<4x8x3xf32>, tensor<3x2xi64>) -> tensor<6x8xf32>
  return %z : tensor<6x8xf32>
}

// -----

func.func @combine_z(%x: tensor<3x8xf32>, %z: tensor<5x8xf32>, %w: tensor<3x2xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{z dim 0 must be 6 (T k), got 5}}
  %y = eff.moe_combine %x, %z, %w {num_experts = 4 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0>} : (tensor<3x8xf32>, tensor<5x8xf32>, tensor<3x2xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @combine_order(%x: tensor<3x8xf32>, %z: tensor<6x8xf32>, %w: tensor<3x2xf32>, %o: tensor<16xi32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{order dim 0 must be 17 (E + 1 + 2 T k), got 16}}
  %y = eff.moe_combine %x, %z, %w, %o {num_experts = 4 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0>} : (tensor<3x8xf32>, tensor<6x8xf32>, tensor<3x2xf32>, tensor<16xi32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @combine_gate(%x: tensor<3x8xf32>, %z: tensor<6x8xf32>, %w: tensor<3x2xf32>, %g: tensor<1x8xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{shared_gate needs shared_z (the shared expert)}}
  %y = eff.moe_combine %x, %z, %w, %g {num_experts = 4 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 1>} : (tensor<3x8xf32>, tensor<6x8xf32>, tensor<3x2xf32>, tensor<1x8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}
