// RUN: effc-opt %s -split-input-file -eff-refine-shapes | FileCheck %s
// Round-trip of layer_norm, rms_norm and rope. Results declared as
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
