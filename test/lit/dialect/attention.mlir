// RUN: effc-opt %s -split-input-file -eff-refine-shapes | FileCheck %s
// Round-trip of attention, attention_partial and attention_combine. Results
// declared as tensor<*x..> are refined by re-running inference (CHECK shows
// the result).

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

// -----

// Split-KV decode: 4 splits of a 1-query GQA attention with a bool padding
// mask; partials and LSE are f32 whatever q's type, combine returns bf16.
// CHECK-LABEL: func @attention_split_decode
func.func @attention_split_decode(%q: tensor<2x8x1x64xbf16>, %k: tensor<2x2x1000x64xbf16>, %v: tensor<2x2x1000x64xbf16>, %m: tensor<2x1x1x1000xi1>) -> tensor<*xbf16> {
  // CHECK: %[[P:.*]], %[[L:.*]] = eff.attention_partial %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {num_kv_heads = 2 : i64, num_splits = 4 : i64, scale = 1.250000e-01 : f32} : (tensor<2x8x1x64xbf16>, tensor<2x2x1000x64xbf16>, tensor<2x2x1000x64xbf16>, tensor<2x1x1x1000xi1>) -> (tensor<4x2x8x1x64xf32>, tensor<4x2x8x1xf32>)
  %p:2 = eff.attention_partial %q, %k, %v, %m {num_kv_heads = 2 : i64, num_splits = 4 : i64, scale = 0.125 : f32} : (tensor<2x8x1x64xbf16>, tensor<2x2x1000x64xbf16>, tensor<2x2x1000x64xbf16>, tensor<2x1x1x1000xi1>) -> (tensor<*xf32>, tensor<*xf32>)
  // CHECK: eff.attention_combine %[[P]], %[[L]] {to = 16 : i64} : (tensor<4x2x8x1x64xf32>, tensor<4x2x8x1xf32>) -> tensor<2x8x1x64xbf16>
  %o = eff.attention_combine %p#0, %p#1 {to = 16 : i64} : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xbf16>
  return %o : tensor<*xbf16>
}

// -----

// Causal + window on the partial op; dynamic dims propagate (the batch from
// k, Dv from v), the combine's batch from whichever operand knows it.
// CHECK-LABEL: func @attention_split_dynamic
func.func @attention_split_dynamic(%q: tensor<?x4x2x32xf16>, %k: tensor<3x4x?x32xf16>, %v: tensor<*xf16>, %lse: tensor<2x5x4x2xf32>, %op: tensor<2x?x4x2x16xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf16>) {
  // CHECK: eff.attention_partial %{{.*}}, %{{.*}}, %{{.*}} {causal, num_kv_heads = 4 : i64, num_splits = 2 : i64, scale = 5.000000e-01 : f32, window = 128 : i64} : (tensor<?x4x2x32xf16>, tensor<3x4x?x32xf16>, tensor<*xf16>) -> (tensor<2x3x4x2x?xf32>, tensor<2x3x4x2xf32>)
  %p:2 = eff.attention_partial %q, %k, %v {causal, num_kv_heads = 4 : i64, num_splits = 2 : i64, scale = 0.5 : f32, window = 128 : i64} : (tensor<?x4x2x32xf16>, tensor<3x4x?x32xf16>, tensor<*xf16>) -> (tensor<*xf32>, tensor<*xf32>)
  // CHECK: eff.attention_combine %{{.*}}, %{{.*}} {to = 10 : i64} : (tensor<2x?x4x2x16xf32>, tensor<2x5x4x2xf32>) -> tensor<5x4x2x16xf16>
  %o = eff.attention_combine %op, %lse {to = 10 : i64} : (tensor<2x?x4x2x16xf32>, tensor<2x5x4x2xf32>) -> tensor<*xf16>
  return %p#0, %p#1, %o : tensor<*xf32>, tensor<*xf32>, tensor<*xf16>
}
