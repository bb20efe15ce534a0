// RUN: effc-opt %s -split-input-file -verify-diagnostics
// One case per error path of layer_norm, rms_norm and rope.

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
