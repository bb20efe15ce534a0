// RUN: effc-opt %s -split-input-file -eff-refine-shapes | FileCheck %s
// Round-trip of layer_norm, rms_norm, rope and attention. Results declared as
// tensor<*x..> are refined by re-running inference (CHECK shows the result).

// CHECK-LABEL: func @layer_norm
func.func @layer_norm(%x: tensor<2x8x16xf32>, %s: tensor<16xf32>, %b: tensor<16xf32>, %s2: tensor<8x16xf32>, %s3: tensor<1x16xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  // CHECK: eff.layer_norm %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x8x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
  %0 = eff.layer_norm %x, %s, %b : (tensor<2x8x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<*xf32>
  // CHECK: eff.layer_norm %{{.*}}, %{{.*}} {axis = 1 : i64, epsilon = 9.99999996E-13 : f32} : (tensor<2x8x16xf32>, tensor<8x16xf32>) -> tensor<2x8x16xf32>
  %1 = eff.layer_norm %x, %s2 {axis = 1 : i64, epsilon = 1.0e-12 : f32} : (tensor<2x8x16xf32>, tensor<8x16xf32>) -> tensor<*xf32>
  // Scale broadcasts to X.shape[axis:].
  // CHECK: eff.layer_norm %{{.*}}, %{{.*}} {axis = -2 : i64} : (tensor<2x8x16xf32>, tensor<1x16xf32>) -> tensor<2x8x16xf32>
  %2 = eff.layer_norm %x, %s3 {axis = -2 : i64} : (tensor<2x8x16xf32>, tensor<1x16xf32>) -> tensor<*xf32>
  return %0, %1, %2 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// CHECK-LABEL: func @layer_norm_dynamic
func.func @layer_norm_dynamic(%x: tensor<?x?x768xf16>, %s: tensor<768xf16>, %u: tensor<*xf16>) -> (tensor<?x?x768xf16>, tensor<*xf16>) {
  // CHECK: eff.layer_norm %{{.*}}, %{{.*}} : (tensor<?x?x768xf16>, tensor<768xf16>) -> tensor<?x?x768xf16>
  %0 = eff.layer_norm %x, %s : (tensor<?x?x768xf16>, tensor<768xf16>) -> tensor<?x?x768xf16>
  // CHECK: eff.layer_norm %{{.*}}, %{{.*}} : (tensor<*xf16>, tensor<768xf16>) -> tensor<*xf16>
  %1 = eff.layer_norm %u, %s : (tensor<*xf16>, tensor<768xf16>) -> tensor<*xf16>
  return %0, %1 : tensor<?x?x768xf16>, tensor<*xf16>
}

// -----

// RMSNormalization-23: Y takes X's shape and scale's element type.
// CHECK-LABEL: func @rms_norm
func.func @rms_norm(%x: tensor<1x7x2048xf16>, %s: tensor<2048xf32>, %s16: tensor<2048xf16>) -> (tensor<*xf32>, tensor<*xf16>) {
  // CHECK: eff.rms_norm %{{.*}}, %{{.*}} {epsilon = 9.99999997E-7 : f32} : (tensor<1x7x2048xf16>, tensor<2048xf32>) -> tensor<1x7x2048xf32>
  %0 = eff.rms_norm %x, %s {epsilon = 1.0e-6 : f32} : (tensor<1x7x2048xf16>, tensor<2048xf32>) -> tensor<*xf32>
  // CHECK: eff.rms_norm %{{.*}}, %{{.*}} : (tensor<1x7x2048xf16>, tensor<2048xf16>) -> tensor<1x7x2048xf16>
  %1 = eff.rms_norm %x, %s16 : (tensor<1x7x2048xf16>, tensor<2048xf16>) -> tensor<*xf16>
  return %0, %1 : tensor<*xf32>, tensor<*xf16>
}

// -----

// 4-D X [B, H, S, D] with position ids into [max_pos, D/2] caches.
// CHECK-LABEL: func @rope_4d_position_ids
func.func @rope_4d_position_ids(%x: tensor<1x32x7x64xf32>, %cos: tensor<2048x32xf32>, %sin: tensor<2048x32xf32>, %pos: tensor<1x7xi64>) -> tensor<*xf32> {
  // CHECK: eff.rope %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : (tensor<1x32x7x64xf32>, tensor<2048x32xf32>, tensor<2048x32xf32>, tensor<1x7xi64>) -> tensor<1x32x7x64xf32>
  %0 = eff.rope %x, %cos, %sin, %pos : (tensor<1x32x7x64xf32>, tensor<2048x32xf32>, tensor<2048x32xf32>, tensor<1x7xi64>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

// 3-D X [B, S, H*D] needs num_heads; caches without position ids are [B, S, rot/2].
// CHECK-LABEL: func @rope_3d_partial_interleaved
func.func @rope_3d_partial_interleaved(%x: tensor<2x5x256xf16>, %cos: tensor<2x5x16xf16>, %sin: tensor<2x5x16xf16>) -> tensor<*xf16> {
  // CHECK: eff.rope %{{.*}}, %{{.*}}, %{{.*}} {interleaved = 1 : i64, num_heads = 4 : i64, rotary_embedding_dim = 32 : i64} : (tensor<2x5x256xf16>, tensor<2x5x16xf16>, tensor<2x5x16xf16>) -> tensor<2x5x256xf16>
  %0 = eff.rope %x, %cos, %sin {interleaved = 1 : i64, num_heads = 4 : i64, rotary_embedding_dim = 32 : i64} : (tensor<2x5x256xf16>, tensor<2x5x16xf16>, tensor<2x5x16xf16>) -> tensor<*xf16>
  return %0 : tensor<*xf16>
}

// -----

// CHECK-LABEL: func @rope_dynamic
func.func @rope_dynamic(%x: tensor<?x8x?x128xbf16>, %cos: tensor<?x64xbf16>, %sin: tensor<?x64xbf16>, %pos: tensor<?x?xi64>) -> tensor<?x8x?x128xbf16> {
  // CHECK: eff.rope %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {num_heads = 8 : i64} : (tensor<?x8x?x128xbf16>, tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<?x?xi64>) -> tensor<?x8x?x128xbf16>
  %0 = eff.rope %x, %cos, %sin, %pos {num_heads = 8 : i64} : (tensor<?x8x?x128xbf16>, tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<?x?xi64>) -> tensor<?x8x?x128xbf16>
  return %0 : tensor<?x8x?x128xbf16>
}

// -----

// Multi-head attention, causal.
// CHECK-LABEL: func @attention_mha
func.func @attention_mha(%q: tensor<2x12x128x64xf16>, %k: tensor<2x12x128x64xf16>, %v: tensor<2x12x128x64xf16>) -> tensor<*xf16> {
  // CHECK: eff.attention %{{.*}}, %{{.*}}, %{{.*}} {causal, num_kv_heads = 12 : i64, scale = 1.250000e-01 : f32} : (tensor<2x12x128x64xf16>, tensor<2x12x128x64xf16>, tensor<2x12x128x64xf16>) -> tensor<2x12x128x64xf16>
  %0 = eff.attention %q, %k, %v {causal, num_kv_heads = 12 : i64, scale = 0.125 : f32} : (tensor<2x12x128x64xf16>, tensor<2x12x128x64xf16>, tensor<2x12x128x64xf16>) -> tensor<*xf16>
  return %0 : tensor<*xf16>
}

// -----

// GQA decode step: 1 query against a 37-token KV cache, sliding window,
// value head dim differing from the query/key head dim.
// CHECK-LABEL: func @attention_gqa_decode_window
func.func @attention_gqa_decode_window(%q: tensor<1x32x1x128xbf16>, %k: tensor<1x8x37x128xbf16>, %v: tensor<1x8x37x96xbf16>) -> tensor<*xbf16> {
  // CHECK: eff.attention %{{.*}}, %{{.*}}, %{{.*}} {causal, num_kv_heads = 8 : i64, scale = 0.0883883461 : f32, window = 4096 : i64} : (tensor<1x32x1x128xbf16>, tensor<1x8x37x128xbf16>, tensor<1x8x37x96xbf16>) -> tensor<1x32x1x96xbf16>
  %0 = eff.attention %q, %k, %v {causal, num_kv_heads = 8 : i64, scale = 0.0883883461 : f32, window = 4096 : i64} : (tensor<1x32x1x128xbf16>, tensor<1x8x37x128xbf16>, tensor<1x8x37x96xbf16>) -> tensor<*xbf16>
  return %0 : tensor<*xbf16>
}

// -----

// Masks: bool (true = attend) broadcast over heads, float additive full size.
// CHECK-LABEL: func @attention_masks
func.func @attention_masks(%q: tensor<2x4x16x32xf32>, %k: tensor<2x1x24x32xf32>, %v: tensor<2x1x24x32xf32>, %bm: tensor<2x1x1x24xi1>, %fm: tensor<2x4x16x24xf32>, %pad: tensor<24xf16>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  // CHECK: eff.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {num_kv_heads = 1 : i64, scale = 0.176776692 : f32} : (tensor<2x4x16x32xf32>, tensor<2x1x24x32xf32>, tensor<2x1x24x32xf32>, tensor<2x1x1x24xi1>) -> tensor<2x4x16x32xf32>
  %0 = eff.attention %q, %k, %v, %bm {num_kv_heads = 1 : i64, scale = 0.176776692 : f32} : (tensor<2x4x16x32xf32>, tensor<2x1x24x32xf32>, tensor<2x1x24x32xf32>, tensor<2x1x1x24xi1>) -> tensor<*xf32>
  // CHECK: eff.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {num_kv_heads = 1 : i64, scale = 1.000000e+00 : f32} : (tensor<2x4x16x32xf32>, tensor<2x1x24x32xf32>, tensor<2x1x24x32xf32>, tensor<2x4x16x24xf32>) -> tensor<2x4x16x32xf32>
  %1 = eff.attention %q, %k, %v, %fm {num_kv_heads = 1 : i64, scale = 1.0 : f32} : (tensor<2x4x16x32xf32>, tensor<2x1x24x32xf32>, tensor<2x1x24x32xf32>, tensor<2x4x16x24xf32>) -> tensor<*xf32>
  // CHECK: eff.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {num_kv_heads = 1 : i64, scale = 1.000000e+00 : f32} : (tensor<2x4x16x32xf32>, tensor<2x1x24x32xf32>, tensor<2x1x24x32xf32>, tensor<24xf16>) -> tensor<2x4x16x32xf32>
  %2 = eff.attention %q, %k, %v, %pad {num_kv_heads = 1 : i64, scale = 1.0 : f32} : (tensor<2x4x16x32xf32>, tensor<2x1x24x32xf32>, tensor<2x1x24x32xf32>, tensor<24xf16>) -> tensor<*xf32>
  return %0, %1, %2 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// Dynamic batch/sequence: the batch may come from k or v.
// CHECK-LABEL: func @attention_dynamic
func.func @attention_dynamic(%q: tensor<?x8x?x64xf32>, %k: tensor<3x2x?x64xf32>, %v: tensor<*xf32>, %m: tensor<?x?xi1>) -> tensor<*xf32> {
  // CHECK: eff.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {num_kv_heads = 2 : i64, scale = 1.250000e-01 : f32} : (tensor<?x8x?x64xf32>, tensor<3x2x?x64xf32>, tensor<*xf32>, tensor<?x?xi1>) -> tensor<3x8x?x?xf32>
  %0 = eff.attention %q, %k, %v, %m {num_kv_heads = 2 : i64, scale = 0.125 : f32} : (tensor<?x8x?x64xf32>, tensor<3x2x?x64xf32>, tensor<*xf32>, tensor<?x?xi1>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}
