// RUN: effc-opt %s -split-input-file -verify-diagnostics
// One case per error path of attention, attention_partial and attention_combine.

func.func @attention_num_kv_heads_positive(%q: tensor<1x8x4x64xf32>, %k: tensor<1x8x4x64xf32>) -> tensor<1x8x4x64xf32> {
  // expected-error @+1 {{num_kv_heads must be positive, got 0}}
  %0 = eff.attention %q, %k, %k {num_kv_heads = 0 : i64, scale = 0.125 : f32} : (tensor<1x8x4x64xf32>, tensor<1x8x4x64xf32>, tensor<1x8x4x64xf32>) -> tensor<1x8x4x64xf32>
  return %0 : tensor<1x8x4x64xf32>
}

// -----

func.func @attention_window(%q: tensor<1x8x4x64xf32>, %k: tensor<1x8x4x64xf32>) -> tensor<1x8x4x64xf32> {
  // expected-error @+1 {{window must be >= 0 (0 = no window), got -1}}
  %0 = eff.attention %q, %k, %k {num_kv_heads = 8 : i64, scale = 0.125 : f32, window = -1 : i64} : (tensor<1x8x4x64xf32>, tensor<1x8x4x64xf32>, tensor<1x8x4x64xf32>) -> tensor<1x8x4x64xf32>
  return %0 : tensor<1x8x4x64xf32>
}

// -----

func.func @attention_softcap(%q: tensor<1x8x4x64xf32>, %k: tensor<1x8x4x64xf32>) -> tensor<1x8x4x64xf32> {
  // expected-error @+1 {{softcap must be >= 0 and finite (0 = none), got -3}}
  %0 = eff.attention %q, %k, %k {num_kv_heads = 8 : i64, scale = 0.125 : f32, softcap = -3.0 : f32} : (tensor<1x8x4x64xf32>, tensor<1x8x4x64xf32>, tensor<1x8x4x64xf32>) -> tensor<1x8x4x64xf32>
  return %0 : tensor<1x8x4x64xf32>
}

// -----

func.func @attention_partial_softcap(%q: tensor<1x8x4x64xf32>, %k: tensor<1x8x4x64xf32>) -> (tensor<2x1x8x4x64xf32>, tensor<2x1x8x4xf32>) {
  // expected-error @+1 {{softcap must be >= 0 and finite (0 = none), got INF}}
  %0, %1 = eff.attention_partial %q, %k, %k {num_kv_heads = 8 : i64, num_splits = 2 : i64, scale = 0.125 : f32, softcap = 0x7F800000 : f32} : (tensor<1x8x4x64xf32>, tensor<1x8x4x64xf32>, tensor<1x8x4x64xf32>) -> (tensor<2x1x8x4x64xf32>, tensor<2x1x8x4xf32>)
  return %0, %1 : tensor<2x1x8x4x64xf32>, tensor<2x1x8x4xf32>
}

// -----

func.func @attention_scale(%q: tensor<1x8x4x64xf32>, %k: tensor<1x8x4x64xf32>) -> tensor<1x8x4x64xf32> {
  // expected-error @+1 {{scale must be positive and finite, got -1}}
  %0 = eff.attention %q, %k, %k {num_kv_heads = 8 : i64, scale = -1.0 : f32} : (tensor<1x8x4x64xf32>, tensor<1x8x4x64xf32>, tensor<1x8x4x64xf32>) -> tensor<1x8x4x64xf32>
  return %0 : tensor<1x8x4x64xf32>
}

// -----

func.func @attention_missing_scale(%q: tensor<1x8x4x64xf32>, %k: tensor<1x8x4x64xf32>) -> tensor<1x8x4x64xf32> {
  // expected-error @+1 {{requires attribute 'scale'}}
  %0 = eff.attention %q, %k, %k {num_kv_heads = 8 : i64} : (tensor<1x8x4x64xf32>, tensor<1x8x4x64xf32>, tensor<1x8x4x64xf32>) -> tensor<1x8x4x64xf32>
  return %0 : tensor<1x8x4x64xf32>
}

// -----

func.func @attention_kv_type(%q: tensor<1x8x4x64xf32>, %k: tensor<1x8x4x64xf16>, %v: tensor<1x8x4x64xf32>) -> tensor<1x8x4x64xf32> {
  // expected-error @+1 {{k has element type 'f16' but q has 'f32'}}
  %0 = eff.attention %q, %k, %v {num_kv_heads = 8 : i64, scale = 0.125 : f32} : (tensor<1x8x4x64xf32>, tensor<1x8x4x64xf16>, tensor<1x8x4x64xf32>) -> tensor<1x8x4x64xf32>
  return %0 : tensor<1x8x4x64xf32>
}

// -----

func.func @attention_rank(%q: tensor<8x4x64xf32>, %k: tensor<1x8x4x64xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{q must be 4-D [B, H, seq, head_dim], got rank 3}}
  %0 = eff.attention %q, %k, %k {num_kv_heads = 8 : i64, scale = 0.125 : f32} : (tensor<8x4x64xf32>, tensor<1x8x4x64xf32>, tensor<1x8x4x64xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @attention_k_batch(%q: tensor<1x8x4x64xf32>, %k: tensor<2x8x4x64xf32>, %v: tensor<1x8x4x64xf32>) -> tensor<1x8x4x64xf32> {
  // expected-error @+1 {{k has batch 2 but q has 1}}
  %0 = eff.attention %q, %k, %v {num_kv_heads = 8 : i64, scale = 0.125 : f32} : (tensor<1x8x4x64xf32>, tensor<2x8x4x64xf32>, tensor<1x8x4x64xf32>) -> tensor<1x8x4x64xf32>
  return %0 : tensor<1x8x4x64xf32>
}

// -----

func.func @attention_v_batch(%q: tensor<1x8x4x64xf32>, %k: tensor<1x8x4x64xf32>, %v: tensor<3x8x4x64xf32>) -> tensor<1x8x4x64xf32> {
  // expected-error @+1 {{v has batch 3 but q has 1}}
  %0 = eff.attention %q, %k, %v {num_kv_heads = 8 : i64, scale = 0.125 : f32} : (tensor<1x8x4x64xf32>, tensor<1x8x4x64xf32>, tensor<3x8x4x64xf32>) -> tensor<1x8x4x64xf32>
  return %0 : tensor<1x8x4x64xf32>
}

// -----

func.func @attention_v_heads(%q: tensor<1x8x4x64xf32>, %k: tensor<1x2x4x64xf32>, %v: tensor<1x4x4x64xf32>) -> tensor<1x8x4x64xf32> {
  // expected-error @+1 {{v has 4 heads but k has 2}}
  %0 = eff.attention %q, %k, %v {num_kv_heads = 2 : i64, scale = 0.125 : f32} : (tensor<1x8x4x64xf32>, tensor<1x2x4x64xf32>, tensor<1x4x4x64xf32>) -> tensor<1x8x4x64xf32>
  return %0 : tensor<1x8x4x64xf32>
}

// -----

func.func @attention_head_dim(%q: tensor<1x8x4x80xf32>, %k: tensor<1x8x4x64xf32>) -> tensor<1x8x4x64xf32> {
  // expected-error @+1 {{k has head dim 64 but q has 80}}
  %0 = eff.attention %q, %k, %k {num_kv_heads = 8 : i64, scale = 0.125 : f32} : (tensor<1x8x4x80xf32>, tensor<1x8x4x64xf32>, tensor<1x8x4x64xf32>) -> tensor<1x8x4x64xf32>
  return %0 : tensor<1x8x4x64xf32>
}

// -----

func.func @attention_kv_length(%q: tensor<1x8x4x64xf32>, %k: tensor<1x8x12x64xf32>, %v: tensor<1x8x10x64xf32>) -> tensor<1x8x4x64xf32> {
  // expected-error @+1 {{v has kv length 10 but k has 12}}
  %0 = eff.attention %q, %k, %v {num_kv_heads = 8 : i64, scale = 0.125 : f32} : (tensor<1x8x4x64xf32>, tensor<1x8x12x64xf32>, tensor<1x8x10x64xf32>) -> tensor<1x8x4x64xf32>
  return %0 : tensor<1x8x4x64xf32>
}

// -----

func.func @attention_num_kv_heads_mismatch(%q: tensor<1x8x4x64xf32>, %k: tensor<1x2x4x64xf32>) -> tensor<1x8x4x64xf32> {
  // expected-error @+1 {{num_kv_heads 4 does not match the 2 heads of k and v}}
  %0 = eff.attention %q, %k, %k {num_kv_heads = 4 : i64, scale = 0.125 : f32} : (tensor<1x8x4x64xf32>, tensor<1x2x4x64xf32>, tensor<1x2x4x64xf32>) -> tensor<1x8x4x64xf32>
  return %0 : tensor<1x8x4x64xf32>
}

// -----

func.func @attention_num_kv_heads_divide(%q: tensor<1x8x4x64xf32>, %k: tensor<1x3x4x64xf32>) -> tensor<1x8x4x64xf32> {
  // expected-error @+1 {{num_kv_heads 3 does not divide 8 query heads}}
  %0 = eff.attention %q, %k, %k {num_kv_heads = 3 : i64, scale = 0.125 : f32} : (tensor<1x8x4x64xf32>, tensor<1x3x4x64xf32>, tensor<1x3x4x64xf32>) -> tensor<1x8x4x64xf32>
  return %0 : tensor<1x8x4x64xf32>
}

// -----

func.func @attention_mask_shape(%q: tensor<2x8x4x64xf32>, %k: tensor<2x8x6x64xf32>, %m: tensor<2x1x4x4xi1>) -> tensor<2x8x4x64xf32> {
  // expected-error @+1 {{mask of shape [2x1x4x4] does not broadcast to [B, Hq, S, L] = [2x8x4x6]}}
  %0 = eff.attention %q, %k, %k, %m {num_kv_heads = 8 : i64, scale = 0.125 : f32} : (tensor<2x8x4x64xf32>, tensor<2x8x6x64xf32>, tensor<2x8x6x64xf32>, tensor<2x1x4x4xi1>) -> tensor<2x8x4x64xf32>
  return %0 : tensor<2x8x4x64xf32>
}

// -----

func.func @attention_mask_int(%q: tensor<2x8x4x64xf32>, %k: tensor<2x8x6x64xf32>, %m: tensor<2x1x4x6xi32>) -> tensor<2x8x4x64xf32> {
  // expected-error @+1 {{operand #3 must be tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float or 1-bit signless integer values}}
  %0 = eff.attention %q, %k, %k, %m {num_kv_heads = 8 : i64, scale = 0.125 : f32} : (tensor<2x8x4x64xf32>, tensor<2x8x6x64xf32>, tensor<2x8x6x64xf32>, tensor<2x1x4x6xi32>) -> tensor<2x8x4x64xf32>
  return %0 : tensor<2x8x4x64xf32>
}

// -----

func.func @attention_partial_num_splits(%q: tensor<1x8x1x64xbf16>, %k: tensor<1x8x512x64xbf16>) -> tensor<*xf32> {
  // expected-error @+1 {{num_splits must be >= 1, got -2}}
  %p:2 = eff.attention_partial %q, %k, %k {num_kv_heads = 8 : i64, num_splits = -2 : i64, scale = 0.125 : f32} : (tensor<1x8x1x64xbf16>, tensor<1x8x512x64xbf16>, tensor<1x8x512x64xbf16>) -> (tensor<*xf32>, tensor<*xf32>)
  return %p#0 : tensor<*xf32>
}

// -----

func.func @attention_partial_missing_num_splits(%q: tensor<1x8x1x64xbf16>, %k: tensor<1x8x512x64xbf16>) -> tensor<2x1x8x1x64xf32> {
  // expected-error @+1 {{requires attribute 'num_splits'}}
  %p:2 = eff.attention_partial %q, %k, %k {num_kv_heads = 8 : i64, scale = 0.125 : f32} : (tensor<1x8x1x64xbf16>, tensor<1x8x512x64xbf16>, tensor<1x8x512x64xbf16>) -> (tensor<2x1x8x1x64xf32>, tensor<2x1x8x1xf32>)
  return %p#0 : tensor<2x1x8x1x64xf32>
}

// -----

// The checks eff.attention makes apply to the partial op too.
func.func @attention_partial_num_kv_heads(%q: tensor<1x8x1x64xbf16>, %k: tensor<1x3x512x64xbf16>) -> tensor<2x1x8x1x64xf32> {
  // expected-error @+1 {{num_kv_heads 3 does not divide 8 query heads}}
  %p:2 = eff.attention_partial %q, %k, %k {num_kv_heads = 3 : i64, num_splits = 2 : i64, scale = 0.125 : f32} : (tensor<1x8x1x64xbf16>, tensor<1x3x512x64xbf16>, tensor<1x3x512x64xbf16>) -> (tensor<2x1x8x1x64xf32>, tensor<2x1x8x1xf32>)
  return %p#0 : tensor<2x1x8x1x64xf32>
}

// -----

func.func @attention_partial_mask(%q: tensor<1x8x1x64xbf16>, %k: tensor<1x8x512x64xbf16>, %m: tensor<1x1x1x500xi1>) -> tensor<2x1x8x1x64xf32> {
  // expected-error @+1 {{mask of shape [1x1x1x500] does not broadcast to [B, Hq, S, L] = [1x8x1x512]}}
  %p:2 = eff.attention_partial %q, %k, %k, %m {num_kv_heads = 8 : i64, num_splits = 2 : i64, scale = 0.125 : f32} : (tensor<1x8x1x64xbf16>, tensor<1x8x512x64xbf16>, tensor<1x8x512x64xbf16>, tensor<1x1x1x500xi1>) -> (tensor<2x1x8x1x64xf32>, tensor<2x1x8x1xf32>)
  return %p#0 : tensor<2x1x8x1x64xf32>
}

// -----

// Partials are f32 whatever q's type.
func.func @attention_partial_result_type(%q: tensor<1x8x1x64xbf16>, %k: tensor<1x8x512x64xbf16>) -> tensor<2x1x8x1x64xbf16> {
  // expected-error @+1 {{result #0 must be tensor of 32-bit float values}}
  %p:2 = eff.attention_partial %q, %k, %k {num_kv_heads = 8 : i64, num_splits = 2 : i64, scale = 0.125 : f32} : (tensor<1x8x1x64xbf16>, tensor<1x8x512x64xbf16>, tensor<1x8x512x64xbf16>) -> (tensor<2x1x8x1x64xbf16>, tensor<2x1x8x1xf32>)
  return %p#0 : tensor<2x1x8x1x64xbf16>
}

// -----

func.func @attention_partial_result_shape(%q: tensor<1x8x1x64xbf16>, %k: tensor<1x8x512x64xbf16>) -> tensor<3x1x8x1x64xf32> {
  // expected-error @+2 {{inferred type(s) 'tensor<2x1x8x1x64xf32>', 'tensor<2x1x8x1xf32>' are incompatible with return type(s) of operation 'tensor<3x1x8x1x64xf32>', 'tensor<2x1x8x1xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %p:2 = eff.attention_partial %q, %k, %k {num_kv_heads = 8 : i64, num_splits = 2 : i64, scale = 0.125 : f32} : (tensor<1x8x1x64xbf16>, tensor<1x8x512x64xbf16>, tensor<1x8x512x64xbf16>) -> (tensor<3x1x8x1x64xf32>, tensor<2x1x8x1xf32>)
  return %p#0 : tensor<3x1x8x1x64xf32>
}

// -----

func.func @attention_combine_to(%p: tensor<2x1x8x1x64xf32>, %l: tensor<2x1x8x1xf32>) -> tensor<1x8x1x64xf32> {
  // expected-error @+1 {{to must be 1 (f32), 10 (f16) or 16 (bf16), got 7}}
  %o = eff.attention_combine %p, %l {to = 7 : i64} : (tensor<2x1x8x1x64xf32>, tensor<2x1x8x1xf32>) -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}

// -----

func.func @attention_combine_partial_rank(%p: tensor<2x8x1x64xf32>, %l: tensor<2x1x8x1xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{o_partial must be 5-D [splits, B, Hq, S, Dv], got rank 4}}
  %o = eff.attention_combine %p, %l {to = 1 : i64} : (tensor<2x8x1x64xf32>, tensor<2x1x8x1xf32>) -> tensor<*xf32>
  return %o : tensor<*xf32>
}

// -----

func.func @attention_combine_lse_rank(%p: tensor<2x1x8x1x64xf32>, %l: tensor<2x8x1xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{lse must be 4-D [splits, B, Hq, S], got rank 3}}
  %o = eff.attention_combine %p, %l {to = 1 : i64} : (tensor<2x1x8x1x64xf32>, tensor<2x8x1xf32>) -> tensor<*xf32>
  return %o : tensor<*xf32>
}

// -----

func.func @attention_combine_lse_shape(%p: tensor<2x1x8x1x64xf32>, %l: tensor<3x1x8x1xf32>) -> tensor<1x8x1x64xf32> {
  // expected-error @+1 {{lse dim 0 is 3 but o_partial's is 2 (lse is o_partial's shape without Dv)}}
  %o = eff.attention_combine %p, %l {to = 1 : i64} : (tensor<2x1x8x1x64xf32>, tensor<3x1x8x1xf32>) -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}

// -----

func.func @attention_combine_operand_type(%p: tensor<2x1x8x1x64xbf16>, %l: tensor<2x1x8x1xf32>) -> tensor<1x8x1x64xbf16> {
  // expected-error @+1 {{operand #0 must be tensor of 32-bit float values}}
  %o = eff.attention_combine %p, %l {to = 16 : i64} : (tensor<2x1x8x1x64xbf16>, tensor<2x1x8x1xf32>) -> tensor<1x8x1x64xbf16>
  return %o : tensor<1x8x1x64xbf16>
}

// -----

func.func @attention_alibi_count(%q: tensor<1x8x4x64xf32>, %k: tensor<1x8x4x64xf32>) -> tensor<1x8x4x64xf32> {
  // expected-error @+1 {{alibi_slopes has 2 values but q has 8 heads}}
  %0 = eff.attention %q, %k, %k {alibi_slopes = array<f32: 0.5, 0.25>, num_kv_heads = 8 : i64, scale = 0.125 : f32} : (tensor<1x8x4x64xf32>, tensor<1x8x4x64xf32>, tensor<1x8x4x64xf32>) -> tensor<1x8x4x64xf32>
  return %0 : tensor<1x8x4x64xf32>
}

// -----

func.func @attention_sinks_count(%q: tensor<1x8x4x64xf32>, %k: tensor<1x8x4x64xf32>) -> tensor<1x8x4x64xf32> {
  // expected-error @+1 {{sinks has 3 values but q has 8 heads}}
  %0 = eff.attention %q, %k, %k {sinks = array<f32: 0.5, 0.25, 1.0>, num_kv_heads = 8 : i64, scale = 0.125 : f32} : (tensor<1x8x4x64xf32>, tensor<1x8x4x64xf32>, tensor<1x8x4x64xf32>) -> tensor<1x8x4x64xf32>
  return %0 : tensor<1x8x4x64xf32>
}

// -----

func.func @attention_partial_sinks_finite(%q: tensor<1x2x1x64xf32>, %k: tensor<1x2x64x64xf32>) -> (tensor<2x1x2x1x64xf32>, tensor<2x1x2x1xf32>) {
  // expected-error @+1 {{sinks must be finite, got}}
  %o, %l = eff.attention_partial %q, %k, %k {sinks = array<f32: 0.5, 0x7F800000>, num_kv_heads = 2 : i64, num_splits = 2 : i64, scale = 0.125 : f32} : (tensor<1x2x1x64xf32>, tensor<1x2x64x64xf32>, tensor<1x2x64x64xf32>) -> (tensor<2x1x2x1x64xf32>, tensor<2x1x2x1xf32>)
  return %o, %l : tensor<2x1x2x1x64xf32>, tensor<2x1x2x1xf32>
}
