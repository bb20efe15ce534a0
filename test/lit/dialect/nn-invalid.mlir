// RUN: effc-opt %s -split-input-file -verify-diagnostics
// One case per error path of layer_norm, rms_norm, rope and attention.

func.func @layer_norm_stash_type(%x: tensor<2x16xf32>, %s: tensor<16xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{stash_type must be an ONNX float data type (1, 10, 11, 16), got 7}}
  %0 = eff.layer_norm %x, %s {stash_type = 7 : i64} : (tensor<2x16xf32>, tensor<16xf32>) -> tensor<2x16xf32>
  return %0 : tensor<2x16xf32>
}

// -----

func.func @layer_norm_scale_type(%x: tensor<2x16xf32>, %s: tensor<16xf16>) -> tensor<2x16xf32> {
  // expected-error @+1 {{Scale has element type 'f16' but X has 'f32'}}
  %0 = eff.layer_norm %x, %s : (tensor<2x16xf32>, tensor<16xf16>) -> tensor<2x16xf32>
  return %0 : tensor<2x16xf32>
}

// -----

func.func @layer_norm_bias_type(%x: tensor<2x16xf32>, %s: tensor<16xf32>, %b: tensor<16xbf16>) -> tensor<2x16xf32> {
  // expected-error @+1 {{B has element type 'bf16' but X has 'f32'}}
  %0 = eff.layer_norm %x, %s, %b : (tensor<2x16xf32>, tensor<16xf32>, tensor<16xbf16>) -> tensor<2x16xf32>
  return %0 : tensor<2x16xf32>
}

// -----

func.func @layer_norm_scalar(%x: tensor<f32>, %s: tensor<f32>) -> tensor<f32> {
  // expected-error @+1 {{X must have rank >= 1}}
  %0 = eff.layer_norm %x, %s : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @layer_norm_axis(%x: tensor<2x8x16xf32>, %s: tensor<16xf32>) -> tensor<2x8x16xf32> {
  // expected-error @+1 {{axis 3 is out of range for rank 3}}
  %0 = eff.layer_norm %x, %s {axis = 3 : i64} : (tensor<2x8x16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
  return %0 : tensor<2x8x16xf32>
}

// -----

func.func @layer_norm_scale_shape(%x: tensor<2x8x16xf32>, %s: tensor<8xf32>) -> tensor<2x8x16xf32> {
  // expected-error @+1 {{Scale of shape [8] does not broadcast to the normalized shape [16] (X.shape[2:])}}
  %0 = eff.layer_norm %x, %s : (tensor<2x8x16xf32>, tensor<8xf32>) -> tensor<2x8x16xf32>
  return %0 : tensor<2x8x16xf32>
}

// -----

func.func @layer_norm_bias_shape(%x: tensor<2x8x16xf32>, %s: tensor<8x16xf32>, %b: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  // expected-error @+1 {{B of shape [2x8x16] does not broadcast to the normalized shape [8x16] (X.shape[1:])}}
  %0 = eff.layer_norm %x, %s, %b {axis = 1 : i64} : (tensor<2x8x16xf32>, tensor<8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %0 : tensor<2x8x16xf32>
}

// -----

func.func @rms_norm_stash_type(%x: tensor<2x16xf32>, %s: tensor<16xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{stash_type must be an ONNX float data type (1, 10, 11, 16), got 0}}
  %0 = eff.rms_norm %x, %s {stash_type = 0 : i64} : (tensor<2x16xf32>, tensor<16xf32>) -> tensor<2x16xf32>
  return %0 : tensor<2x16xf32>
}

// -----

func.func @rms_norm_axis(%x: tensor<2x16xf32>, %s: tensor<16xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{axis -3 is out of range for rank 2}}
  %0 = eff.rms_norm %x, %s {axis = -3 : i64} : (tensor<2x16xf32>, tensor<16xf32>) -> tensor<2x16xf32>
  return %0 : tensor<2x16xf32>
}

// -----

func.func @rms_norm_scale_shape(%x: tensor<2x16xf32>, %s: tensor<32xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{scale of shape [32] does not broadcast to the normalized shape [16] (X.shape[1:])}}
  %0 = eff.rms_norm %x, %s : (tensor<2x16xf32>, tensor<32xf32>) -> tensor<2x16xf32>
  return %0 : tensor<2x16xf32>
}

// -----

func.func @rope_interleaved(%x: tensor<1x4x8x16xf32>, %c: tensor<64x8xf32>, %p: tensor<1x8xi64>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{interleaved must be 0 or 1, got 2}}
  %0 = eff.rope %x, %c, %c, %p {interleaved = 2 : i64} : (tensor<1x4x8x16xf32>, tensor<64x8xf32>, tensor<64x8xf32>, tensor<1x8xi64>) -> tensor<1x4x8x16xf32>
  return %0 : tensor<1x4x8x16xf32>
}

// -----

func.func @rope_negative_num_heads(%x: tensor<1x4x8x16xf32>, %c: tensor<64x8xf32>, %p: tensor<1x8xi64>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{num_heads must be >= 0, got -1}}
  %0 = eff.rope %x, %c, %c, %p {num_heads = -1 : i64} : (tensor<1x4x8x16xf32>, tensor<64x8xf32>, tensor<64x8xf32>, tensor<1x8xi64>) -> tensor<1x4x8x16xf32>
  return %0 : tensor<1x4x8x16xf32>
}

// -----

func.func @rope_negative_rotary_dim(%x: tensor<1x4x8x16xf32>, %c: tensor<64x8xf32>, %p: tensor<1x8xi64>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{rotary_embedding_dim must be >= 0, got -2}}
  %0 = eff.rope %x, %c, %c, %p {rotary_embedding_dim = -2 : i64} : (tensor<1x4x8x16xf32>, tensor<64x8xf32>, tensor<64x8xf32>, tensor<1x8xi64>) -> tensor<1x4x8x16xf32>
  return %0 : tensor<1x4x8x16xf32>
}

// -----

func.func @rope_odd_rotary_dim(%x: tensor<1x4x8x16xf32>, %c: tensor<64x8xf32>, %p: tensor<1x8xi64>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{rotary_embedding_dim must be even, got 7}}
  %0 = eff.rope %x, %c, %c, %p {rotary_embedding_dim = 7 : i64} : (tensor<1x4x8x16xf32>, tensor<64x8xf32>, tensor<64x8xf32>, tensor<1x8xi64>) -> tensor<1x4x8x16xf32>
  return %0 : tensor<1x4x8x16xf32>
}

// -----

func.func @rope_cache_type(%x: tensor<1x4x8x16xf32>, %c: tensor<64x8xf16>, %p: tensor<1x8xi64>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{cos_cache has element type 'f16' but X has 'f32'}}
  %0 = eff.rope %x, %c, %c, %p : (tensor<1x4x8x16xf32>, tensor<64x8xf16>, tensor<64x8xf16>, tensor<1x8xi64>) -> tensor<1x4x8x16xf32>
  return %0 : tensor<1x4x8x16xf32>
}

// -----

func.func @rope_num_heads_mismatch(%x: tensor<1x4x8x16xf32>, %c: tensor<64x8xf32>, %p: tensor<1x8xi64>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{num_heads 8 does not match X's 4 heads (X is [B, H, S, D])}}
  %0 = eff.rope %x, %c, %c, %p {num_heads = 8 : i64} : (tensor<1x4x8x16xf32>, tensor<64x8xf32>, tensor<64x8xf32>, tensor<1x8xi64>) -> tensor<1x4x8x16xf32>
  return %0 : tensor<1x4x8x16xf32>
}

// -----

func.func @rope_3d_without_num_heads(%x: tensor<1x8x64xf32>, %c: tensor<64x8xf32>, %p: tensor<1x8xi64>) -> tensor<1x8x64xf32> {
  // expected-error @+1 {{a 3-D X [B, S, hidden] needs num_heads}}
  %0 = eff.rope %x, %c, %c, %p : (tensor<1x8x64xf32>, tensor<64x8xf32>, tensor<64x8xf32>, tensor<1x8xi64>) -> tensor<1x8x64xf32>
  return %0 : tensor<1x8x64xf32>
}

// -----

func.func @rope_3d_hidden_not_multiple(%x: tensor<1x8x64xf32>, %c: tensor<64x8xf32>, %p: tensor<1x8xi64>) -> tensor<1x8x64xf32> {
  // expected-error @+1 {{hidden size 64 is not a multiple of num_heads 3}}
  %0 = eff.rope %x, %c, %c, %p {num_heads = 3 : i64} : (tensor<1x8x64xf32>, tensor<64x8xf32>, tensor<64x8xf32>, tensor<1x8xi64>) -> tensor<1x8x64xf32>
  return %0 : tensor<1x8x64xf32>
}

// -----

func.func @rope_rank(%x: tensor<8x64xf32>, %c: tensor<64x8xf32>, %p: tensor<1x8xi64>) -> tensor<8x64xf32> {
  // expected-error @+1 {{X must be 3-D [B, S, hidden] or 4-D [B, H, S, D], got rank 2}}
  %0 = eff.rope %x, %c, %c, %p : (tensor<8x64xf32>, tensor<64x8xf32>, tensor<64x8xf32>, tensor<1x8xi64>) -> tensor<8x64xf32>
  return %0 : tensor<8x64xf32>
}

// -----

func.func @rope_rotary_dim_exceeds_head(%x: tensor<1x4x8x16xf32>, %c: tensor<64x16xf32>, %p: tensor<1x8xi64>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{rotary_embedding_dim 32 exceeds head size 16}}
  %0 = eff.rope %x, %c, %c, %p {rotary_embedding_dim = 32 : i64} : (tensor<1x4x8x16xf32>, tensor<64x16xf32>, tensor<64x16xf32>, tensor<1x8xi64>) -> tensor<1x4x8x16xf32>
  return %0 : tensor<1x4x8x16xf32>
}

// -----

func.func @rope_odd_head_size(%x: tensor<1x4x8x15xf32>, %c: tensor<64x7xf32>, %p: tensor<1x8xi64>) -> tensor<1x4x8x15xf32> {
  // expected-error @+1 {{head size 15 must be even for a full rotation}}
  %0 = eff.rope %x, %c, %c, %p : (tensor<1x4x8x15xf32>, tensor<64x7xf32>, tensor<64x7xf32>, tensor<1x8xi64>) -> tensor<1x4x8x15xf32>
  return %0 : tensor<1x4x8x15xf32>
}

// -----

func.func @rope_caches_differ(%x: tensor<1x4x8x16xf32>, %c: tensor<64x8xf32>, %s: tensor<32x8xf32>, %p: tensor<1x8xi64>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{cos_cache [64x8] and sin_cache [32x8] differ}}
  %0 = eff.rope %x, %c, %s, %p : (tensor<1x4x8x16xf32>, tensor<64x8xf32>, tensor<32x8xf32>, tensor<1x8xi64>) -> tensor<1x4x8x16xf32>
  return %0 : tensor<1x4x8x16xf32>
}

// -----

func.func @rope_position_ids_cache_rank(%x: tensor<1x4x8x16xf32>, %c: tensor<1x8x8xf32>, %p: tensor<1x8xi64>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{with position_ids, cos_cache must be 2-D [max_position, rotary_dim / 2], got rank 3}}
  %0 = eff.rope %x, %c, %c, %p : (tensor<1x4x8x16xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>, tensor<1x8xi64>) -> tensor<1x4x8x16xf32>
  return %0 : tensor<1x4x8x16xf32>
}

// -----

func.func @rope_position_ids_rank(%x: tensor<1x4x8x16xf32>, %c: tensor<64x8xf32>, %p: tensor<8xi64>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{position_ids must be 2-D [B, S], got rank 1}}
  %0 = eff.rope %x, %c, %c, %p : (tensor<1x4x8x16xf32>, tensor<64x8xf32>, tensor<64x8xf32>, tensor<8xi64>) -> tensor<1x4x8x16xf32>
  return %0 : tensor<1x4x8x16xf32>
}

// -----

func.func @rope_position_ids_shape(%x: tensor<1x4x8x16xf32>, %c: tensor<64x8xf32>, %p: tensor<1x7xi64>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{position_ids of shape [1x7] does not match X's [B, S] = [1x8]}}
  %0 = eff.rope %x, %c, %c, %p : (tensor<1x4x8x16xf32>, tensor<64x8xf32>, tensor<64x8xf32>, tensor<1x7xi64>) -> tensor<1x4x8x16xf32>
  return %0 : tensor<1x4x8x16xf32>
}

// -----

func.func @rope_no_position_ids_cache_rank(%x: tensor<1x4x8x16xf32>, %c: tensor<64x8xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{without position_ids, cos_cache must be 3-D [B, S, rotary_dim / 2], got rank 2}}
  %0 = eff.rope %x, %c, %c : (tensor<1x4x8x16xf32>, tensor<64x8xf32>, tensor<64x8xf32>) -> tensor<1x4x8x16xf32>
  return %0 : tensor<1x4x8x16xf32>
}

// -----

func.func @rope_cache_batch_seq(%x: tensor<2x4x8x16xf32>, %c: tensor<3x8x8xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{cos_cache of shape [3x8x8] does not match X's [B, S] = [2x8]}}
  %0 = eff.rope %x, %c, %c : (tensor<2x4x8x16xf32>, tensor<3x8x8xf32>, tensor<3x8x8xf32>) -> tensor<2x4x8x16xf32>
  return %0 : tensor<2x4x8x16xf32>
}

// -----

func.func @rope_cache_last_dim(%x: tensor<1x4x8x16xf32>, %c: tensor<64x16xf32>, %p: tensor<1x8xi64>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{cos_cache has last dim 16 but the rotary dim is 16 (expected 8)}}
  %0 = eff.rope %x, %c, %c, %p : (tensor<1x4x8x16xf32>, tensor<64x16xf32>, tensor<64x16xf32>, tensor<1x8xi64>) -> tensor<1x4x8x16xf32>
  return %0 : tensor<1x4x8x16xf32>
}

// -----

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
