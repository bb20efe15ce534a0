// eff.moe's verifier: attributes in range, and every operand's shape follows
// from E, H, I (and Is for the shared expert); errors name the operand.
// RUN: effc-opt %s -split-input-file -verify-diagnostics

func.func @top_k_range(%x: tensor<3x8xf32>, %r: tensor<4x8xf32>, %gu: tensor<4x6x8xf32>, %d: tensor<4x8x3xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{top_k must be in [1, num_experts = 4], got 5}}
  %y = eff.moe %x, %r experts %gu, %d {num_experts = 4 : i64, top_k = 5 : i64} : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>, tensor<4x8x3xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @routing_name(%x: tensor<3x8xf32>, %r: tensor<4x8xf32>, %gu: tensor<4x6x8xf32>, %d: tensor<4x8x3xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{routing must be softmax_topk, topk_softmax or scores, got 'sigmoid'}}
  %y = eff.moe %x, %r experts %gu, %d {num_experts = 4 : i64, top_k = 2 : i64, routing = "sigmoid"} : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>, tensor<4x8x3xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @activation_name(%x: tensor<3x8xf32>, %r: tensor<4x8xf32>, %gu: tensor<4x6x8xf32>, %d: tensor<4x8x3xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{activation must be silu or gelu, got 'relu'}}
  %y = eff.moe %x, %r experts %gu, %d {num_experts = 4 : i64, top_k = 2 : i64, activation = "relu"} : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>, tensor<4x8x3xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @norm_with_topk_softmax(%x: tensor<3x8xf32>, %r: tensor<4x8xf32>, %gu: tensor<4x6x8xf32>, %d: tensor<4x8x3xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{norm_topk does nothing with topk_softmax routing}}
  %y = eff.moe %x, %r experts %gu, %d {num_experts = 4 : i64, top_k = 2 : i64, norm_topk = 1 : i64, routing = "topk_softmax"} : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>, tensor<4x8x3xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @router_experts(%x: tensor<3x8xf32>, %r: tensor<5x8xf32>, %gu: tensor<4x6x8xf32>, %d: tensor<4x8x3xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{router must be [E, H], got [5, 8] (dim 0 should be 4)}}
  %y = eff.moe %x, %r experts %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<3x8xf32>, tensor<5x8xf32>, tensor<4x6x8xf32>, tensor<4x8x3xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @gate_up_odd(%x: tensor<3x8xf32>, %r: tensor<4x8xf32>, %gu: tensor<4x5x8xf32>, %d: tensor<4x8x3xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{gate_up's second dim (2I) must be even, got 5}}
  %y = eff.moe %x, %r experts %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x5x8xf32>, tensor<4x8x3xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @down_inter(%x: tensor<3x8xf32>, %r: tensor<4x8xf32>, %gu: tensor<4x6x8xf32>, %d: tensor<4x8x4xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{down must be [E, H, I], got [4, 8, 4] (dim 2 should be 3)}}
  %y = eff.moe %x, %r experts %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>, tensor<4x8x4xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @route_weights_need_scores(%x: tensor<3x8xf32>, %r: tensor<4x8xf32>, %gu: tensor<4x6x8xf32>, %d: tensor<4x8x3xf32>, %w: tensor<3x4xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{route_weights is only read with scores routing}}
  %y = eff.moe %x, %r experts %gu, %d weights %w {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>, tensor<4x8x3xf32>, tensor<3x4xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @shared_gate_alone(%x: tensor<3x8xf32>, %r: tensor<4x8xf32>, %gu: tensor<4x6x8xf32>, %d: tensor<4x8x3xf32>, %sg: tensor<1x8xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{shared_gate needs a shared expert}}
  %y = eff.moe %x, %r experts %gu, %d shared_gate %sg {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>, tensor<4x8x3xf32>, tensor<1x8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @shared_down_shape(%x: tensor<3x8xf32>, %r: tensor<4x8xf32>, %gu: tensor<4x6x8xf32>, %d: tensor<4x8x3xf32>, %sgu: tensor<10x8xf32>, %sd: tensor<8x4xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{shared_down must be [H, Is], got [8, 4] (dim 1 should be 5)}}
  %y = eff.moe %x, %r experts %gu, %d shared %sgu, %sd {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>, tensor<4x8x3xf32>, tensor<10x8xf32>, tensor<8x4xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @route_router(%x: tensor<3x8xf32>, %r: tensor<4x7xf32>) -> (tensor<3x2xi64>, tensor<3x2xf32>) {
  // expected-error @+1 {{router must be [E, H], got [4, 7] (dim 1 should be 8)}}
  %e, %w = eff.moe_route %x, %r {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<3x8xf32>, tensor<4x7xf32>) -> (tensor<3x2xi64>, tensor<3x2xf32>)
  return %e, %w : tensor<3x2xi64>, tensor<3x2xf32>
}

// -----

func.func @experts_down(%x: tensor<3x8xf32>, %e: tensor<3x2xi64>, %w: tensor<3x2xf32>, %gu: tensor<2x6x8xf32>, %d: tensor<3x8x3xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{down must be [G, H, I], got [3, 8, 3] (dim 0 should be 2)}}
  %y = eff.moe_experts %x, %e, %w, %gu, %d {first_expert = 2 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0>} : (tensor<3x8xf32>, tensor<3x2xi64>, tensor<3x2xf32>, tensor<2x6x8xf32>, tensor<3x8x3xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}
