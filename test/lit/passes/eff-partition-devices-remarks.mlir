// eff-partition-devices=remarks: every reason it gives, for what it places
// on devices and for what stays replicated.
// RUN: effc-opt %s -eff-partition-devices="devices=2 remarks=true" -verify-diagnostics -split-input-file

func.func @experts(%x: tensor<3x8xf32>, %r: tensor<5x8xf32>, %gu0: tensor<3x6x8xf32>, %d0: tensor<3x8x3xf32>, %gu1: tensor<2x6x8xf32>, %d1: tensor<2x8x3xf32>) -> tensor<3x8xf32> {
  // expected-remark @+1 {{expert parallel over 2 of 2 devices: experts 0..2 on device 0, experts 3..4 on device 1; the partial outputs are summed by an all-reduce}}
  %e, %w = eff.moe_route %x, %r {num_experts = 5 : i64, top_k = 2 : i64} : (tensor<3x8xf32>, tensor<5x8xf32>) -> (tensor<3x2xi64>, tensor<3x2xf32>)
  %a = eff.moe_experts %x, %e, %w, %gu0, %d0 {first_expert = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0>} : (tensor<3x8xf32>, tensor<3x2xi64>, tensor<3x2xf32>, tensor<3x6x8xf32>, tensor<3x8x3xf32>) -> tensor<3x8xf32>
  %b = eff.moe_experts %x, %e, %w, %gu1, %d1 {first_expert = 3 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0>} : (tensor<3x8xf32>, tensor<3x2xi64>, tensor<3x2xf32>, tensor<2x6x8xf32>, tensor<2x8x3xf32>) -> tensor<3x8xf32>
  %y = eff.add %a, %b : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @one_group(%x: tensor<3x8xf32>, %r: tensor<1x8xf32>, %gu: tensor<1x6x8xf32>, %d: tensor<1x8x3xf32>) -> tensor<3x8xf32> {
  // expected-remark @+1 {{expert parallel over 1 of 2 devices: experts 0..0 on device 0; the partial outputs are summed by an all-reduce (fewer expert groups than devices)}}
  %e, %w = eff.moe_route %x, %r {num_experts = 1 : i64, top_k = 1 : i64} : (tensor<3x8xf32>, tensor<1x8xf32>) -> (tensor<3x1xi64>, tensor<3x1xf32>)
  %a = eff.moe_experts %x, %e, %w, %gu, %d {first_expert = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0>} : (tensor<3x8xf32>, tensor<3x1xi64>, tensor<3x1xf32>, tensor<1x6x8xf32>, tensor<1x8x3xf32>) -> tensor<3x8xf32>
  return %a : tensor<3x8xf32>
}

// -----

func.func @moe(%x: tensor<3x8xf32>, %r: tensor<4x8xf32>, %gu: tensor<4x6x8xf32>, %d: tensor<4x8x3xf32>) -> tensor<3x8xf32> {
  // expected-remark @+1 {{replicated: eff.moe was not split into expert groups (eff-partition-moe runs first with at least as many partitions as devices)}}
  %y = eff.moe %x, %r experts %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>, tensor<4x8x3xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @linears(%x: tensor<3x8xf32>, %wx: tensor<8x16xf32>) -> (tensor<3x16xf32>, tensor<3x16xf32>, tensor<3x9xf32>, tensor<3x4xf32>) {
  %w = eff.constant {value = dense<0.5> : tensor<8x16xf32>} : tensor<8x16xf32>
  // expected-remark @+1 {{column parallel over 2 devices; the blocks are joined by an all-gather}}
  %a = eff.matmul %x, %w : (tensor<3x8xf32>, tensor<8x16xf32>) -> tensor<3x16xf32>
  // expected-remark @+1 {{replicated: the weight is not a constant}}
  %b = eff.matmul %x, %wx : (tensor<3x8xf32>, tensor<8x16xf32>) -> tensor<3x16xf32>
  %w9 = eff.constant {value = dense<0.5> : tensor<8x9xf32>} : tensor<8x9xf32>
  // expected-remark @+1 {{replicated: 9 columns do not divide over 2 devices}}
  %c = eff.matmul %x, %w9 : (tensor<3x8xf32>, tensor<8x9xf32>) -> tensor<3x9xf32>
  %w4 = eff.constant {value = dense<0.5> : tensor<8x4xf32>} : tensor<8x4xf32>
  // expected-remark @+1 {{replicated: 2 columns a device, below min-columns 8}}
  %d = eff.matmul %x, %w4 : (tensor<3x8xf32>, tensor<8x4xf32>) -> tensor<3x4xf32>
  return %a, %b, %c, %d : tensor<3x16xf32>, tensor<3x16xf32>, tensor<3x9xf32>, tensor<3x4xf32>
}

// -----

func.func @mlp(%x: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %w1 = eff.constant {value = dense<0.5> : tensor<16x16xf32>} : tensor<16x16xf32>
  %w2 = eff.constant {value = dense<0.25> : tensor<16x16xf32>} : tensor<16x16xf32>
  // expected-remark @+1 {{column parallel over 2 devices; the blocks are joined by an all-gather}}
  %h = eff.matmul %x, %w1 : (tensor<3x16xf32>, tensor<16x16xf32>) -> tensor<3x16xf32>
  %t = eff.tanh %h : (tensor<3x16xf32>) -> tensor<3x16xf32>
  // expected-remark @+1 {{row parallel over 2 devices: the input's column blocks stay on their devices, the partial products are summed by an all-reduce}}
  %y = eff.matmul %t, %w2 : (tensor<3x16xf32>, tensor<16x16xf32>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

func.func @weight_rank(%x: tensor<2x3x8xf32>) -> tensor<2x3x16xf32> {
  %w = eff.constant {value = dense<0.5> : tensor<2x8x16xf32>} : tensor<2x8x16xf32>
  // expected-remark @+1 {{replicated: the weight is not a static 2-D [K, C] tensor}}
  %y = eff.matmul %x, %w : (tensor<2x3x8xf32>, tensor<2x8x16xf32>) -> tensor<2x3x16xf32>
  return %y : tensor<2x3x16xf32>
}

// -----

func.func @vector(%x: tensor<8xf32>) -> tensor<16xf32> {
  %w = eff.constant {value = dense<0.5> : tensor<8x16xf32>} : tensor<8x16xf32>
  // expected-remark @+1 {{replicated: the result is not at least 2-D}}
  %y = eff.matmul %x, %w : (tensor<8xf32>, tensor<8x16xf32>) -> tensor<16xf32>
  return %y : tensor<16xf32>
}

// -----

func.func @others(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %q: tensor<1x2x2x4xf32>, %k: tensor<1x2x3x4xf32>, %v: tensor<1x2x3x4xf32>) -> (tensor<4x16xf32>, tensor<1x2x2x4xf32>) {
  // expected-remark @+1 {{replicated: only eff.matmul with a constant weight is split column-parallel so far}}
  %g = eff.gemm %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  // expected-remark @+1 {{replicated: not ring attention: attention=replicate (--devices-attention=ring cuts it)}}
  %y = eff.attention %q, %k, %v {num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x2x4xf32>, tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x2x4xf32>
  return %g, %y : tensor<4x16xf32>, tensor<1x2x2x4xf32>
}
