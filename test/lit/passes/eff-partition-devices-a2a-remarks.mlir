// eff-partition-devices expert-parallel=all-to-all remarks=true: what each
// device does in a planned layer, and every reason a layer keeps the
// replicated form (its remark then ends with "not all-to-all: <why>").
// RUN: effc-opt %s -eff-partition-devices="devices=2 expert-parallel=all-to-all remarks=true" -verify-diagnostics -split-input-file

func.func @planned(%x: tensor<4x8xf32>, %r: tensor<5x8xf32>, %gu0: tensor<3x6x8xf32>, %d0: tensor<3x8x3xf32>, %gu1: tensor<2x6x8xf32>, %d1: tensor<2x8x3xf32>) -> tensor<4x8xf32> {
  // expected-remark @+1 {{expert parallel (all-to-all) over 2 devices: device 0: tokens 0..1, experts 0..2; device 1: tokens 2..3, experts 3..4; eff.expert_dispatch sends each token to the devices holding its experts, eff.expert_combine returns their weighted outputs and sums them per token, an all-gather joins the token shards (the ops after the layer stay replicated)}}
  %e, %w = eff.moe_route %x, %r {num_experts = 5 : i64, top_k = 2 : i64} : (tensor<4x8xf32>, tensor<5x8xf32>) -> (tensor<4x2xi64>, tensor<4x2xf32>)
  %a = eff.moe_experts %x, %e, %w, %gu0, %d0 {first_expert = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0>} : (tensor<4x8xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<3x6x8xf32>, tensor<3x8x3xf32>) -> tensor<4x8xf32>
  %b = eff.moe_experts %x, %e, %w, %gu1, %d1 {first_expert = 3 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0>} : (tensor<4x8xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<2x6x8xf32>, tensor<2x8x3xf32>) -> tensor<4x8xf32>
  %y = eff.add %a, %b : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @dynamic(%x: tensor<?x8xf32>, %r: tensor<5x8xf32>, %gu0: tensor<3x6x8xf32>, %d0: tensor<3x8x3xf32>, %gu1: tensor<2x6x8xf32>, %d1: tensor<2x8x3xf32>) -> tensor<?x8xf32> {
  // expected-remark @+1 {{expert parallel over 2 of 2 devices: experts 0..2 on device 0, experts 3..4 on device 1; the partial outputs are summed by an all-reduce; not all-to-all: the tokens are not a static [T, H] tensor (compile with fixed dims)}}
  %e, %w = eff.moe_route %x, %r {num_experts = 5 : i64, top_k = 2 : i64} : (tensor<?x8xf32>, tensor<5x8xf32>) -> (tensor<?x2xi64>, tensor<?x2xf32>)
  %a = eff.moe_experts %x, %e, %w, %gu0, %d0 {first_expert = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0>} : (tensor<?x8xf32>, tensor<?x2xi64>, tensor<?x2xf32>, tensor<3x6x8xf32>, tensor<3x8x3xf32>) -> tensor<?x8xf32>
  %b = eff.moe_experts %x, %e, %w, %gu1, %d1 {first_expert = 3 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0>} : (tensor<?x8xf32>, tensor<?x2xi64>, tensor<?x2xf32>, tensor<2x6x8xf32>, tensor<2x8x3xf32>) -> tensor<?x8xf32>
  %y = eff.add %a, %b : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

func.func @one_token(%x: tensor<1x8xf32>, %r: tensor<5x8xf32>, %gu0: tensor<3x6x8xf32>, %d0: tensor<3x8x3xf32>, %gu1: tensor<2x6x8xf32>, %d1: tensor<2x8x3xf32>) -> tensor<1x8xf32> {
  // expected-remark @+1 {{not all-to-all: 1 tokens, fewer than the 2 devices}}
  %e, %w = eff.moe_route %x, %r {num_experts = 5 : i64, top_k = 2 : i64} : (tensor<1x8xf32>, tensor<5x8xf32>) -> (tensor<1x2xi64>, tensor<1x2xf32>)
  %a = eff.moe_experts %x, %e, %w, %gu0, %d0 {first_expert = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0>} : (tensor<1x8xf32>, tensor<1x2xi64>, tensor<1x2xf32>, tensor<3x6x8xf32>, tensor<3x8x3xf32>) -> tensor<1x8xf32>
  %b = eff.moe_experts %x, %e, %w, %gu1, %d1 {first_expert = 3 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0>} : (tensor<1x8xf32>, tensor<1x2xi64>, tensor<1x2xf32>, tensor<2x6x8xf32>, tensor<2x8x3xf32>) -> tensor<1x8xf32>
  %y = eff.add %a, %b : (tensor<1x8xf32>, tensor<1x8xf32>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

func.func @one_group(%x: tensor<3x8xf32>, %r: tensor<1x8xf32>, %gu: tensor<1x6x8xf32>, %d: tensor<1x8x3xf32>) -> tensor<3x8xf32> {
  // expected-remark @+1 {{(fewer expert groups than devices); not all-to-all: 1 expert groups, fewer than the 2 devices}}
  %e, %w = eff.moe_route %x, %r {num_experts = 1 : i64, top_k = 1 : i64} : (tensor<3x8xf32>, tensor<1x8xf32>) -> (tensor<3x1xi64>, tensor<3x1xf32>)
  %a = eff.moe_experts %x, %e, %w, %gu, %d {first_expert = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0>} : (tensor<3x8xf32>, tensor<3x1xi64>, tensor<3x1xf32>, tensor<1x6x8xf32>, tensor<1x8x3xf32>) -> tensor<3x8xf32>
  return %a : tensor<3x8xf32>
}

// -----

func.func @shared(%x: tensor<4x8xf32>, %r: tensor<5x8xf32>, %gu0: tensor<3x6x8xf32>, %d0: tensor<3x8x3xf32>, %gu1: tensor<2x6x8xf32>, %d1: tensor<2x8x3xf32>, %sgu: tensor<6x8xf32>, %sd: tensor<8x3xf32>) -> tensor<4x8xf32> {
  // expected-remark @+1 {{not all-to-all: a group holds the shared expert, which runs on every token (not exchanged yet)}}
  %e, %w = eff.moe_route %x, %r {num_experts = 5 : i64, top_k = 2 : i64} : (tensor<4x8xf32>, tensor<5x8xf32>) -> (tensor<4x2xi64>, tensor<4x2xf32>)
  %a = eff.moe_experts %x, %e, %w, %gu0, %d0 {first_expert = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0>} : (tensor<4x8xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<3x6x8xf32>, tensor<3x8x3xf32>) -> tensor<4x8xf32>
  %b = eff.moe_experts %x, %e, %w, %gu1, %d1, %sgu, %sd {first_expert = 3 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 0>} : (tensor<4x8xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<2x6x8xf32>, tensor<2x8x3xf32>, tensor<6x8xf32>, tensor<8x3xf32>) -> tensor<4x8xf32>
  %y = eff.add %a, %b : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @routing_read(%x: tensor<4x8xf32>, %r: tensor<5x8xf32>, %gu0: tensor<3x6x8xf32>, %d0: tensor<3x8x3xf32>, %gu1: tensor<2x6x8xf32>, %d1: tensor<2x8x3xf32>) -> (tensor<4x8xf32>, tensor<4x2xf32>) {
  // expected-remark @+1 {{not all-to-all: the routing is read by an op other than the expert groups (func.return)}}
  %e, %w = eff.moe_route %x, %r {num_experts = 5 : i64, top_k = 2 : i64} : (tensor<4x8xf32>, tensor<5x8xf32>) -> (tensor<4x2xi64>, tensor<4x2xf32>)
  %a = eff.moe_experts %x, %e, %w, %gu0, %d0 {first_expert = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0>} : (tensor<4x8xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<3x6x8xf32>, tensor<3x8x3xf32>) -> tensor<4x8xf32>
  %b = eff.moe_experts %x, %e, %w, %gu1, %d1 {first_expert = 3 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0>} : (tensor<4x8xf32>, tensor<4x2xi64>, tensor<4x2xf32>, tensor<2x6x8xf32>, tensor<2x8x3xf32>) -> tensor<4x8xf32>
  %y = eff.add %a, %b : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y, %w : tensor<4x8xf32>, tensor<4x2xf32>
}
