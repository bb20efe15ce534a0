// RUN: effc-opt %s -split-input-file -verify-diagnostics
// One case per error path of lora_linear and lora_expand: every message names
// the operand and the dims that disagree.

func.func @linear_element_type(%x: tensor<4x64xf32>, %w: tensor<64x32xf32>, %a: tensor<64x8xbf16>, %b: tensor<8x32xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{a has element type 'bf16' but x has 'f32'}}
  %0 = eff.lora_linear %x, %w, %a, %b : (tensor<4x64xf32>, tensor<64x32xf32>, tensor<64x8xbf16>, tensor<8x32xf32>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// -----

func.func @linear_scalar(%x: tensor<f32>, %w: tensor<64x32xf32>, %a: tensor<64x8xf32>, %b: tensor<8x32xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{x must have rank >= 1 ([..., K]), got a scalar}}
  %0 = eff.lora_linear %x, %w, %a, %b : (tensor<f32>, tensor<64x32xf32>, tensor<64x8xf32>, tensor<8x32xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @linear_w_rank(%x: tensor<4x64xf32>, %w: tensor<1x64x32xf32>, %a: tensor<64x8xf32>, %b: tensor<8x32xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{w must be 2-D [K, N], got rank 3}}
  %0 = eff.lora_linear %x, %w, %a, %b : (tensor<4x64xf32>, tensor<1x64x32xf32>, tensor<64x8xf32>, tensor<8x32xf32>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// -----

func.func @linear_k(%x: tensor<4x64xf32>, %w: tensor<64x32xf32>, %a: tensor<48x8xf32>, %b: tensor<8x32xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{a has K = 48 but x has K = 64}}
  %0 = eff.lora_linear %x, %w, %a, %b : (tensor<4x64xf32>, tensor<64x32xf32>, tensor<48x8xf32>, tensor<8x32xf32>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// -----

func.func @linear_w_k(%x: tensor<4x64xf32>, %w: tensor<32x32xf32>, %a: tensor<64x8xf32>, %b: tensor<8x32xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{w has K = 32 but x has K = 64}}
  %0 = eff.lora_linear %x, %w, %a, %b : (tensor<4x64xf32>, tensor<32x32xf32>, tensor<64x8xf32>, tensor<8x32xf32>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// -----

func.func @linear_n(%x: tensor<4x64xf32>, %w: tensor<64x32xf32>, %a: tensor<64x8xf32>, %b: tensor<8x16xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{b has N = 16 but w has N = 32}}
  %0 = eff.lora_linear %x, %w, %a, %b : (tensor<4x64xf32>, tensor<64x32xf32>, tensor<64x8xf32>, tensor<8x16xf32>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// -----

func.func @linear_r(%x: tensor<4x64xf32>, %w: tensor<64x32xf32>, %a: tensor<64x8xf32>, %b: tensor<4x32xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{b has R = 4 but a has R = 8}}
  %0 = eff.lora_linear %x, %w, %a, %b : (tensor<4x64xf32>, tensor<64x32xf32>, tensor<64x8xf32>, tensor<4x32xf32>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// -----

func.func @linear_stacked_without_index(%x: tensor<4x64xf32>, %w: tensor<64x32xf32>, %a: tensor<2x64x8xf32>, %b: tensor<2x8x32xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{without lora_index, a must be 2-D [K, R] (one adapter), got rank 3 (stacked adapters need lora_index)}}
  %0 = eff.lora_linear %x, %w, %a, %b : (tensor<4x64xf32>, tensor<64x32xf32>, tensor<2x64x8xf32>, tensor<2x8x32xf32>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// -----

func.func @linear_index_single(%x: tensor<4x64xf32>, %w: tensor<64x32xf32>, %a: tensor<64x8xf32>, %b: tensor<8x32xf32>, %i: tensor<2xi64>) -> tensor<4x32xf32> {
  // expected-error @+1 {{with lora_index, a must be 3-D [n, K, R] (stacked adapters), got rank 2}}
  %0 = eff.lora_linear %x, %w, %a, %b, %i : (tensor<4x64xf32>, tensor<64x32xf32>, tensor<64x8xf32>, tensor<8x32xf32>, tensor<2xi64>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// -----

func.func @linear_adapter_count(%x: tensor<4x64xf32>, %w: tensor<64x32xf32>, %a: tensor<3x64x8xf32>, %b: tensor<2x8x32xf32>, %i: tensor<2xi64>) -> tensor<4x32xf32> {
  // expected-error @+1 {{b has n (adapters) = 2 but a has n (adapters) = 3}}
  %0 = eff.lora_linear %x, %w, %a, %b, %i : (tensor<4x64xf32>, tensor<64x32xf32>, tensor<3x64x8xf32>, tensor<2x8x32xf32>, tensor<2xi64>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// -----

func.func @linear_groups(%x: tensor<2x3x64xf32>, %w: tensor<64x32xf32>, %a: tensor<2x64x8xf32>, %b: tensor<2x8x32xf32>, %i: tensor<4xi64>) -> tensor<2x3x32xf32> {
  // expected-error @+1 {{the 6 rows do not split into lora_index's 4 equal groups}}
  %0 = eff.lora_linear %x, %w, %a, %b, %i : (tensor<2x3x64xf32>, tensor<64x32xf32>, tensor<2x64x8xf32>, tensor<2x8x32xf32>, tensor<4xi64>) -> tensor<2x3x32xf32>
  return %0 : tensor<2x3x32xf32>
}

// -----

func.func @linear_index_rank(%x: tensor<4x64xf32>, %w: tensor<64x32xf32>, %a: tensor<2x64x8xf32>, %b: tensor<2x8x32xf32>, %i: tensor<2x1xi64>) -> tensor<4x32xf32> {
  // expected-error @+1 {{lora_index must be 1-D [batch], got rank 2}}
  %0 = eff.lora_linear %x, %w, %a, %b, %i : (tensor<4x64xf32>, tensor<64x32xf32>, tensor<2x64x8xf32>, tensor<2x8x32xf32>, tensor<2x1xi64>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// -----

func.func @linear_index_type(%x: tensor<4x64xf32>, %w: tensor<64x32xf32>, %a: tensor<2x64x8xf32>, %b: tensor<2x8x32xf32>, %i: tensor<2xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{operand #4 must be tensor of 32-bit signless integer or 64-bit signless integer values}}
  %0 = eff.lora_linear %x, %w, %a, %b, %i : (tensor<4x64xf32>, tensor<64x32xf32>, tensor<2x64x8xf32>, tensor<2x8x32xf32>, tensor<2xf32>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// -----

func.func @linear_scale(%x: tensor<4x64xf32>, %w: tensor<64x32xf32>, %a: tensor<64x8xf32>, %b: tensor<8x32xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{scale must be finite, got}}
  %0 = eff.lora_linear %x, %w, %a, %b {scale = 0x7FF0000000000000 : f64} : (tensor<4x64xf32>, tensor<64x32xf32>, tensor<64x8xf32>, tensor<8x32xf32>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// -----

func.func @linear_wrong_result(%x: tensor<4x64xf32>, %w: tensor<64x32xf32>, %a: tensor<64x8xf32>, %b: tensor<8x32xf32>) -> tensor<4x64xf32> {
  // expected-error @+2 {{inferred type(s) 'tensor<4x32xf32>' are incompatible with return type(s) of operation 'tensor<4x64xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.lora_linear %x, %w, %a, %b : (tensor<4x64xf32>, tensor<64x32xf32>, tensor<64x8xf32>, tensor<8x32xf32>) -> tensor<4x64xf32>
  return %0 : tensor<4x64xf32>
}

// -----

func.func @expand_element_type(%acc: tensor<4x32xf32>, %t: tensor<4x8xf16>, %b: tensor<8x32xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{t has element type 'f16' but acc has 'f32'}}
  %0 = eff.lora_expand %acc, %t, %b : (tensor<4x32xf32>, tensor<4x8xf16>, tensor<8x32xf32>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// -----

func.func @expand_t_rank(%acc: tensor<2x2x32xf32>, %t: tensor<4x8xf32>, %b: tensor<8x32xf32>) -> tensor<2x2x32xf32> {
  // expected-error @+1 {{t must have acc's rank 3 ([..., n * R]), got rank 2}}
  %0 = eff.lora_expand %acc, %t, %b : (tensor<2x2x32xf32>, tensor<4x8xf32>, tensor<8x32xf32>) -> tensor<2x2x32xf32>
  return %0 : tensor<2x2x32xf32>
}

// -----

func.func @expand_t_rows(%acc: tensor<2x2x32xf32>, %t: tensor<2x3x8xf32>, %b: tensor<8x32xf32>) -> tensor<2x2x32xf32> {
  // expected-error @+1 {{t of shape [2x3x8] does not have acc's rows: acc is [2x2x32] (dim 1 differs)}}
  %0 = eff.lora_expand %acc, %t, %b : (tensor<2x2x32xf32>, tensor<2x3x8xf32>, tensor<8x32xf32>) -> tensor<2x2x32xf32>
  return %0 : tensor<2x2x32xf32>
}

// -----

func.func @expand_n(%acc: tensor<4x32xf32>, %t: tensor<4x8xf32>, %b: tensor<8x64xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{b has N = 64 but acc has N = 32}}
  %0 = eff.lora_expand %acc, %t, %b : (tensor<4x32xf32>, tensor<4x8xf32>, tensor<8x64xf32>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// -----

func.func @expand_columns(%acc: tensor<4x32xf32>, %t: tensor<4x24xf32>, %b: tensor<2x8x32xf32>, %i: tensor<4xi64>) -> tensor<4x32xf32> {
  // expected-error @+1 {{t has 24 columns but the adapters read columns [16, 32) (t_offset + n * R with n = 2, R = 8)}}
  %0 = eff.lora_expand %acc, %t, %b, %i {t_offset = 16 : i64} : (tensor<4x32xf32>, tensor<4x24xf32>, tensor<2x8x32xf32>, tensor<4xi64>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// -----

func.func @expand_offset(%acc: tensor<4x32xf32>, %t: tensor<4x8xf32>, %b: tensor<8x32xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{t_offset must be >= 0, got -8}}
  %0 = eff.lora_expand %acc, %t, %b {t_offset = -8 : i64} : (tensor<4x32xf32>, tensor<4x8xf32>, tensor<8x32xf32>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// -----

func.func @expand_stacked_without_index(%acc: tensor<4x32xf32>, %t: tensor<4x16xf32>, %b: tensor<2x8x32xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{without lora_index, b must be 2-D [R, N] (one adapter), got rank 3 (stacked adapters need lora_index)}}
  %0 = eff.lora_expand %acc, %t, %b : (tensor<4x32xf32>, tensor<4x16xf32>, tensor<2x8x32xf32>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// -----

func.func @expand_groups(%acc: tensor<4x32xf32>, %t: tensor<4x16xf32>, %b: tensor<2x8x32xf32>, %i: tensor<3xi32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{the 4 rows do not split into lora_index's 3 equal groups}}
  %0 = eff.lora_expand %acc, %t, %b, %i : (tensor<4x32xf32>, tensor<4x16xf32>, tensor<2x8x32xf32>, tensor<3xi32>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}
