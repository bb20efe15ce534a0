// RUN: effc-opt %s --eff-raise-attention -split-input-file | FileCheck %s
// RUN: effc-opt %s --eff-raise-attention=remarks=true -split-input-file -verify-diagnostics -o /dev/null
// RUN: effc-opt %s --eff-raise-attention="remarks=true allow-float-mask=false" -split-input-file 2>&1 >/dev/null | FileCheck %s --check-prefix=NOFLOAT

// Legacy (TorchScript) export: k^T by a transpose, Div by sqrt(d) on the
// scores, an additive constant 0 / finfo.min mask that is the causal pattern.
// CHECK-LABEL: func.func @legacy_div_scale_causal_mask
// CHECK-NEXT: %[[A:.*]] = eff.attention %arg0, %arg1, %arg2 {causal, num_kv_heads = 4 : i64, scale = 0.353553{{[0-9]*}} : f32}
// CHECK-NEXT: return %[[A]]
func.func @legacy_div_scale_causal_mask(%q: tensor<2x4x4x8xf32>, %k: tensor<2x4x4x8xf32>, %v: tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x4x8xf32>) -> tensor<2x4x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<2x4x4x8xf32>, tensor<2x4x8x4xf32>) -> tensor<2x4x4x4xf32>
  %c = eff.constant {value = dense<2.82842708> : tensor<f32>} : tensor<f32>
  %d = eff.div %s, %c : (tensor<2x4x4x4xf32>, tensor<f32>) -> tensor<2x4x4x4xf32>
  %m = eff.constant {value = dense<[[[[0.0, -3.40282347E+38, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, 0.0, -3.40282347E+38], [0.0, 0.0, 0.0, 0.0]]]]> : tensor<1x1x4x4xf32>} : tensor<1x1x4x4xf32>
  %a = eff.add %d, %m : (tensor<2x4x4x4xf32>, tensor<1x1x4x4xf32>) -> tensor<2x4x4x4xf32>
  // expected-remark @+1 {{raised attention (causal, num_kv_heads=4, scale=0.353553)}}
  %p = eff.softmax %a : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<2x4x4x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o : tensor<2x4x4x8xf32>
}

// -----

// Legacy BERT/OPT: k^T is transpose(k [B,L,H,D], perm 0,2,3,1) straight from
// the head split, the scale sits on the q projection before its head split,
// and an all-zero mask disappears.
// CHECK-LABEL: func.func @legacy_permuted_key_scaled_projection
// CHECK-DAG: %[[Q4:.*]] = eff.reshape %arg0
// CHECK-DAG: %[[Q:.*]] = eff.transpose %[[Q4]] {perm = array<i64: 0, 2, 1, 3>}
// CHECK-DAG: %[[K:.*]] = eff.transpose %arg1 {perm = array<i64: 0, 2, 1, 3>}
// CHECK: eff.attention %[[Q]], %[[K]], %arg2 {num_kv_heads = 4 : i64, scale = 0.353553{{[0-9]*}} : f32}
// CHECK-NOT: eff.softmax
// CHECK-NOT: eff.mul
func.func @legacy_permuted_key_scaled_projection(%x: tensor<2x4x32xf32>, %k: tensor<2x4x4x8xf32>, %v: tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32> {
  %c = eff.constant {value = dense<0.353553385> : tensor<f32>} : tensor<f32>
  %xs = eff.mul %x, %c : (tensor<2x4x32xf32>, tensor<f32>) -> tensor<2x4x32xf32>
  %shape = eff.constant {value = dense<[2, 4, 4, 8]> : tensor<4xi64>} : tensor<4xi64>
  %q4 = eff.reshape %xs, %shape : (tensor<2x4x32xf32>, tensor<4xi64>) -> tensor<2x4x4x8xf32>
  %q = eff.transpose %q4 {perm = array<i64: 0, 2, 1, 3>} : (tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  %kt = eff.transpose %k {perm = array<i64: 0, 2, 3, 1>} : (tensor<2x4x4x8xf32>) -> tensor<2x4x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<2x4x4x8xf32>, tensor<2x4x8x4xf32>) -> tensor<2x4x4x4xf32>
  %m = eff.constant {value = dense<0.0> : tensor<2x1x4x4xf32>} : tensor<2x1x4x4xf32>
  %a = eff.add %s, %m : (tensor<2x4x4x4xf32>, tensor<2x1x4x4xf32>) -> tensor<2x4x4x4xf32>
  // expected-remark @+1 {{raised attention (num_kv_heads=4, scale=0.353553)}}
  %p = eff.softmax %a : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<2x4x4x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o : tensor<2x4x4x8xf32>
}

// -----

// Dynamo SDPA decomposition: sqrt(scale) on q and on k^T, k^T through a 3-D
// [B*H, D, L] view, a constant bool causal mask through
// Where(mask, scores, -inf), and the NaN guard after the softmax.
// CHECK-LABEL: func.func @dynamo_sqrt_scale_bool_mask_nan_guard
// CHECK-NEXT: %[[A:.*]] = eff.attention %arg0, %arg1, %arg2 {causal, num_kv_heads = 4 : i64, scale = 0.353553{{[0-9]*}} : f32}
// CHECK-NEXT: return %[[A]]
func.func @dynamo_sqrt_scale_bool_mask_nan_guard(%q: tensor<2x4x4x8xf32>, %k: tensor<2x4x4x8xf32>, %v: tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32> {
  %c = eff.constant {value = dense<0.594603539> : tensor<f32>} : tensor<f32>
  %s3 = eff.constant {value = dense<[-1, 4, 8]> : tensor<3xi64>} : tensor<3xi64>
  %s4 = eff.constant {value = dense<[2, 4, 8, 4]> : tensor<4xi64>} : tensor<4xi64>
  %k3 = eff.reshape %k, %s3 : (tensor<2x4x4x8xf32>, tensor<3xi64>) -> tensor<8x4x8xf32>
  %kt3 = eff.transpose %k3 {perm = array<i64: 0, 2, 1>} : (tensor<8x4x8xf32>) -> tensor<8x8x4xf32>
  %kt = eff.reshape %kt3, %s4 : (tensor<8x8x4xf32>, tensor<4xi64>) -> tensor<2x4x8x4xf32>
  %qs = eff.mul %q, %c : (tensor<2x4x4x8xf32>, tensor<f32>) -> tensor<2x4x4x8xf32>
  %ks = eff.mul %kt, %c : (tensor<2x4x8x4xf32>, tensor<f32>) -> tensor<2x4x8x4xf32>
  %s = eff.matmul %qs, %ks : (tensor<2x4x4x8xf32>, tensor<2x4x8x4xf32>) -> tensor<2x4x4x4xf32>
  %m = eff.constant {value = dense<[[[[true, false, false, false], [true, true, false, false], [true, true, true, false], [true, true, true, true]]]]> : tensor<1x1x4x4xi1>} : tensor<1x1x4x4xi1>
  %ninf = eff.constant {value = dense<0xFF800000> : tensor<f32>} : tensor<f32>
  %w = eff.where %m, %s, %ninf : (tensor<1x1x4x4xi1>, tensor<2x4x4x4xf32>, tensor<f32>) -> tensor<2x4x4x4xf32>
  // expected-remark @+1 {{raised attention (causal, num_kv_heads=4, scale=0.353553)}}
  %p = eff.softmax %w : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %nan = eff.is_nan %p : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xi1>
  %zero = eff.constant {value = dense<0.0> : tensor<f32>} : tensor<f32>
  %g = eff.where %nan, %zero, %p : (tensor<2x4x4x4xi1>, tensor<f32>, tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %o = eff.matmul %g, %v : (tensor<2x4x4x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o : tensor<2x4x4x8xf32>
}

// -----

// GQA repeat_kv (Unsqueeze -> Expand -> Reshape) on K and V: the attention
// reads the 2 kv heads and q's 4 heads share them.
// CHECK-LABEL: func.func @gqa_repeat_kv
// CHECK-NEXT: %[[A:.*]] = eff.attention %arg0, %arg1, %arg2 {causal, num_kv_heads = 2 : i64, scale = 0.353553{{[0-9]*}} : f32} : (tensor<2x4x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x4x4x8xf32>
// CHECK-NEXT: return %[[A]]
func.func @gqa_repeat_kv(%q: tensor<2x4x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>) -> tensor<2x4x4x8xf32> {
  %axes = eff.constant {value = dense<2> : tensor<1xi64>} : tensor<1xi64>
  %s5 = eff.constant {value = dense<[2, 2, 2, 4, 8]> : tensor<5xi64>} : tensor<5xi64>
  %s4 = eff.constant {value = dense<[2, 4, 4, 8]> : tensor<4xi64>} : tensor<4xi64>
  %ku = eff.unsqueeze %k, %axes : (tensor<2x2x4x8xf32>, tensor<1xi64>) -> tensor<2x2x1x4x8xf32>
  %ke = eff.expand %ku, %s5 : (tensor<2x2x1x4x8xf32>, tensor<5xi64>) -> tensor<2x2x2x4x8xf32>
  %kr = eff.reshape %ke, %s4 : (tensor<2x2x2x4x8xf32>, tensor<4xi64>) -> tensor<2x4x4x8xf32>
  %vu = eff.unsqueeze %v, %axes : (tensor<2x2x4x8xf32>, tensor<1xi64>) -> tensor<2x2x1x4x8xf32>
  %ve = eff.expand %vu, %s5 : (tensor<2x2x1x4x8xf32>, tensor<5xi64>) -> tensor<2x2x2x4x8xf32>
  %vr = eff.reshape %ve, %s4 : (tensor<2x2x2x4x8xf32>, tensor<4xi64>) -> tensor<2x4x4x8xf32>
  %kt = eff.transpose %kr {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x4x8xf32>) -> tensor<2x4x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<2x4x4x8xf32>, tensor<2x4x8x4xf32>) -> tensor<2x4x4x4xf32>
  %c = eff.constant {value = dense<0.353553385> : tensor<f32>} : tensor<f32>
  %d = eff.mul %s, %c : (tensor<2x4x4x4xf32>, tensor<f32>) -> tensor<2x4x4x4xf32>
  %m = eff.constant {value = dense<[[[[0.0, -3.40282347E+38, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, 0.0, -3.40282347E+38], [0.0, 0.0, 0.0, 0.0]]]]> : tensor<1x1x4x4xf32>} : tensor<1x1x4x4xf32>
  %a = eff.add %d, %m : (tensor<2x4x4x4xf32>, tensor<1x1x4x4xf32>) -> tensor<2x4x4x4xf32>
  // expected-remark @+1 {{raised attention (causal, num_kv_heads=2, scale=0.353553)}}
  %p = eff.softmax %a : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %o = eff.matmul %p, %vr : (tensor<2x4x4x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o : tensor<2x4x4x8xf32>
}

// -----

// MQA through matmul broadcasting: one kv head for all query heads.
// CHECK-LABEL: func.func @mqa_broadcast
// CHECK: eff.attention %arg0, %arg1, %arg2 {num_kv_heads = 1 : i64, scale = 1.000000e+00 : f32} : (tensor<2x4x4x8xf32>, tensor<2x1x4x8xf32>, tensor<2x1x4x8xf32>) -> tensor<2x4x4x8xf32>
func.func @mqa_broadcast(%q: tensor<2x4x4x8xf32>, %k: tensor<2x1x4x8xf32>, %v: tensor<2x1x4x8xf32>) -> tensor<2x4x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x1x4x8xf32>) -> tensor<2x1x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<2x4x4x8xf32>, tensor<2x1x8x4xf32>) -> tensor<2x4x4x4xf32>
  // expected-remark @+1 {{raised attention (num_kv_heads=1, scale=1)}}
  %p = eff.softmax %s : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<2x4x4x4xf32>, tensor<2x1x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o : tensor<2x4x4x8xf32>
}

// -----

// Sliding window: the banded causal pattern of width 2 becomes causal +
// window = 2.
// CHECK-LABEL: func.func @sliding_window
// CHECK: eff.attention %arg0, {{.*}} {causal, num_kv_heads = 4 : i64, scale = 1.000000e+00 : f32, window = 2 : i64}
// CHECK-NOT: eff.constant
func.func @sliding_window(%q: tensor<2x4x4x8xf32>, %k: tensor<2x4x4x8xf32>, %v: tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x4x8xf32>) -> tensor<2x4x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<2x4x4x8xf32>, tensor<2x4x8x4xf32>) -> tensor<2x4x4x4xf32>
  %m = eff.constant {value = dense<[[[[0.0, -3.40282347E+38, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, -3.40282347E+38, -3.40282347E+38], [-3.40282347E+38, 0.0, 0.0, -3.40282347E+38], [-3.40282347E+38, -3.40282347E+38, 0.0, 0.0]]]]> : tensor<1x1x4x4xf32>} : tensor<1x1x4x4xf32>
  %a = eff.add %s, %m : (tensor<2x4x4x4xf32>, tensor<1x1x4x4xf32>) -> tensor<2x4x4x4xf32>
  // expected-remark @+1 {{raised attention (causal, window=2, num_kv_heads=4, scale=1)}}
  %p = eff.softmax %a : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<2x4x4x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o : tensor<2x4x4x8xf32>
}

// -----

// Decode with a KV cache (S = 2 queries, L = 4 keys): the bottom-right causal
// pattern (query i at position i + L - S) is `causal`...
// CHECK-LABEL: func.func @kv_cache_causal_bottom_right
// CHECK: eff.attention {{.*}} {causal, num_kv_heads = 4 : i64
// CHECK-NOT: eff.constant
func.func @kv_cache_causal_bottom_right(%q: tensor<2x4x2x8xf32>, %k: tensor<2x4x4x8xf32>, %v: tensor<2x4x4x8xf32>) -> tensor<2x4x2x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x4x8xf32>) -> tensor<2x4x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<2x4x2x8xf32>, tensor<2x4x8x4xf32>) -> tensor<2x4x2x4xf32>
  %m = eff.constant {value = dense<[[true, true, true, false], [true, true, true, true]]> : tensor<2x4xi1>} : tensor<2x4xi1>
  %ninf = eff.constant {value = dense<0xFF800000> : tensor<f32>} : tensor<f32>
  %w = eff.where %m, %s, %ninf : (tensor<2x4xi1>, tensor<2x4x2x4xf32>, tensor<f32>) -> tensor<2x4x2x4xf32>
  // expected-remark @+1 {{raised attention (causal, num_kv_heads=4, scale=1)}}
  %p = eff.softmax %w : (tensor<2x4x2x4xf32>) -> tensor<2x4x2x4xf32>
  %o = eff.matmul %p, %v : (tensor<2x4x2x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x2x8xf32>
  return %o : tensor<2x4x2x8xf32>
}

// -----

// ...while the top-left one (j <= i) is not what `causal` means there: it
// stays the mask operand.
// CHECK-LABEL: func.func @kv_cache_causal_top_left_kept
// CHECK: %[[M:.*]] = eff.constant {{.*}} : tensor<2x4xi1>
// CHECK: eff.attention {{.*}}, %[[M]] {num_kv_heads = 4 : i64
func.func @kv_cache_causal_top_left_kept(%q: tensor<2x4x2x8xf32>, %k: tensor<2x4x4x8xf32>, %v: tensor<2x4x4x8xf32>) -> tensor<2x4x2x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x4x8xf32>) -> tensor<2x4x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<2x4x2x8xf32>, tensor<2x4x8x4xf32>) -> tensor<2x4x2x4xf32>
  %m = eff.constant {value = dense<[[true, false, false, false], [true, true, false, false]]> : tensor<2x4xi1>} : tensor<2x4xi1>
  %ninf = eff.constant {value = dense<0xFF800000> : tensor<f32>} : tensor<f32>
  %w = eff.where %m, %s, %ninf : (tensor<2x4xi1>, tensor<2x4x2x4xf32>, tensor<f32>) -> tensor<2x4x2x4xf32>
  // expected-remark @+1 {{raised attention (bool mask, num_kv_heads=4, scale=1)}}
  %p = eff.softmax %w : (tensor<2x4x2x4xf32>) -> tensor<2x4x2x4xf32>
  %o = eff.matmul %p, %v : (tensor<2x4x2x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x2x8xf32>
  return %o : tensor<2x4x2x8xf32>
}

// -----

// Padding mask from an attention_mask input (data-dependent, [B,1,1,L]):
// kept as the float mask operand.
// CHECK-LABEL: func.func @padding_mask_input
// CHECK: eff.attention %arg0, {{.*}}, %arg2, %arg3 {num_kv_heads = 4 : i64
func.func @padding_mask_input(%q: tensor<2x4x4x8xf32>, %k: tensor<2x4x4x8xf32>, %v: tensor<2x4x4x8xf32>, %pad: tensor<2x1x1x4xf32>) -> tensor<2x4x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x4x8xf32>) -> tensor<2x4x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<2x4x4x8xf32>, tensor<2x4x8x4xf32>) -> tensor<2x4x4x4xf32>
  %a = eff.add %pad, %s : (tensor<2x1x1x4xf32>, tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  // expected-remark @+1 {{raised attention (float mask, num_kv_heads=4, scale=1)}}
  %p = eff.softmax %a : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<2x4x4x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o : tensor<2x4x4x8xf32>
}
// NOFLOAT: remark: softmax not raised to attention: float mask is not a causal/window pattern (allow-float-mask=false)

// -----

// A bool padding mask with a -inf fill is the bool mask operand; the scale
// applied after the mask does not change it.
// CHECK-LABEL: func.func @bool_padding_mask_input
// CHECK: eff.attention %arg0, {{.*}}, %arg2, %arg3 {num_kv_heads = 4 : i64, scale = 5.000000e-01 : f32}
func.func @bool_padding_mask_input(%q: tensor<2x4x4x8xf32>, %k: tensor<2x4x4x8xf32>, %v: tensor<2x4x4x8xf32>, %pad: tensor<2x1x1x4xi1>) -> tensor<2x4x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x4x8xf32>) -> tensor<2x4x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<2x4x4x8xf32>, tensor<2x4x8x4xf32>) -> tensor<2x4x4x4xf32>
  %ninf = eff.constant {value = dense<0xFF800000> : tensor<f32>} : tensor<f32>
  %w = eff.where %pad, %s, %ninf : (tensor<2x1x1x4xi1>, tensor<2x4x4x4xf32>, tensor<f32>) -> tensor<2x4x4x4xf32>
  %c = eff.constant {value = dense<2.0> : tensor<f32>} : tensor<f32>
  %d = eff.div %w, %c : (tensor<2x4x4x4xf32>, tensor<f32>) -> tensor<2x4x4x4xf32>
  // expected-remark @+1 {{raised attention (bool mask, num_kv_heads=4, scale=0.5)}}
  %p = eff.softmax %d : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<2x4x4x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o : tensor<2x4x4x8xf32>
}

// -----

// Where(mask, scores, finfo.min) with a data-dependent mask: a finite fill
// gives a uniform row where every key is masked, so the mask becomes the
// exact additive where(mask, 0, fill) rather than a bool mask.
// CHECK-LABEL: func.func @finite_fill_becomes_float_mask
// CHECK: %[[M:.*]] = eff.where %arg3, {{.*}} : (tensor<2x1x1x4xi1>, tensor<f32>, tensor<f32>) -> tensor<2x1x1x4xf32>
// CHECK: eff.attention %arg0, {{.*}}, %arg2, %[[M]]
func.func @finite_fill_becomes_float_mask(%q: tensor<2x4x4x8xf32>, %k: tensor<2x4x4x8xf32>, %v: tensor<2x4x4x8xf32>, %pad: tensor<2x1x1x4xi1>) -> tensor<2x4x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x4x8xf32>) -> tensor<2x4x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<2x4x4x8xf32>, tensor<2x4x8x4xf32>) -> tensor<2x4x4x4xf32>
  %min = eff.constant {value = dense<-3.40282347E+38> : tensor<f32>} : tensor<f32>
  %w = eff.where %pad, %s, %min : (tensor<2x1x1x4xi1>, tensor<2x4x4x4xf32>, tensor<f32>) -> tensor<2x4x4x4xf32>
  // expected-remark @+1 {{raised attention (float mask, num_kv_heads=4, scale=1)}}
  %p = eff.softmax %w : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<2x4x4x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o : tensor<2x4x4x8xf32>
}

// -----

// A constant 0 / finfo.min mask that is neither causal nor a window (here the
// upper triangle) is kept as the mask operand.
// CHECK-LABEL: func.func @non_causal_constant_mask_kept
// CHECK: %[[M:.*]] = eff.constant {{.*}} : tensor<1x1x4x4xf32>
// CHECK: eff.attention {{.*}}, %[[M]] {num_kv_heads = 4 : i64
func.func @non_causal_constant_mask_kept(%q: tensor<2x4x4x8xf32>, %k: tensor<2x4x4x8xf32>, %v: tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x4x8xf32>) -> tensor<2x4x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<2x4x4x8xf32>, tensor<2x4x8x4xf32>) -> tensor<2x4x4x4xf32>
  %m = eff.constant {value = dense<[[[[0.0, 0.0, 0.0, 0.0], [-3.40282347E+38, 0.0, 0.0, 0.0], [-3.40282347E+38, -3.40282347E+38, 0.0, 0.0], [-3.40282347E+38, -3.40282347E+38, -3.40282347E+38, 0.0]]]]> : tensor<1x1x4x4xf32>} : tensor<1x1x4x4xf32>
  %a = eff.add %s, %m : (tensor<2x4x4x4xf32>, tensor<1x1x4x4xf32>) -> tensor<2x4x4x4xf32>
  // expected-remark @+1 {{raised attention (float mask, num_kv_heads=4, scale=1)}}
  %p = eff.softmax %a : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<2x4x4x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o : tensor<2x4x4x8xf32>
}

// -----

// 3-D [B*H, S, D] form: unit batch dims around the op.
// CHECK-LABEL: func.func @three_d_form
// CHECK-DAG: %[[Q:.*]] = eff.unsqueeze %arg0
// CHECK-DAG: %[[K:.*]] = eff.unsqueeze %arg1
// CHECK-DAG: %[[V:.*]] = eff.unsqueeze %arg2
// CHECK: %[[A:.*]] = eff.attention %[[Q]], %[[K]], %[[V]] {num_kv_heads = 8 : i64, scale = 0.353553{{[0-9]*}} : f32} : (tensor<1x8x4x8xf32>, tensor<1x8x4x8xf32>, tensor<1x8x4x8xf32>) -> tensor<1x8x4x8xf32>
// CHECK: %[[R:.*]] = eff.squeeze %[[A]]
// CHECK: return %[[R]]
func.func @three_d_form(%q: tensor<8x4x8xf32>, %k: tensor<8x4x8xf32>, %v: tensor<8x4x8xf32>) -> tensor<8x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 2, 1>} : (tensor<8x4x8xf32>) -> tensor<8x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<8x4x8xf32>, tensor<8x8x4xf32>) -> tensor<8x4x4xf32>
  %c = eff.constant {value = dense<0.353553385> : tensor<f32>} : tensor<f32>
  %d = eff.mul %c, %s : (tensor<f32>, tensor<8x4x4xf32>) -> tensor<8x4x4xf32>
  // expected-remark @+1 {{raised attention (num_kv_heads=8, scale=0.353553)}}
  %p = eff.softmax %d {axis = 2 : i64} : (tensor<8x4x4xf32>) -> tensor<8x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<8x4x4xf32>, tensor<8x4x8xf32>) -> tensor<8x4x8xf32>
  return %o : tensor<8x4x8xf32>
}

// -----

// Negative: softmax over the query axis.
// CHECK-LABEL: func.func @wrong_axis
// CHECK: eff.softmax
// CHECK-NOT: eff.attention
func.func @wrong_axis(%q: tensor<2x4x4x8xf32>, %k: tensor<2x4x4x8xf32>, %v: tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x4x8xf32>) -> tensor<2x4x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<2x4x4x8xf32>, tensor<2x4x8x4xf32>) -> tensor<2x4x4x4xf32>
  // expected-remark @+1 {{softmax not raised to attention: softmax is not over the key axis}}
  %p = eff.softmax %s {axis = 2 : i64} : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<2x4x4x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o : tensor<2x4x4x8xf32>
}

// -----

// Negative: the softmax input is not a matmul.
// CHECK-LABEL: func.func @softmax_of_non_matmul
// CHECK: eff.softmax
// CHECK-NOT: eff.attention
func.func @softmax_of_non_matmul(%x: tensor<2x4x4x4xf32>, %v: tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32> {
  %e = eff.exp %x : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  // expected-remark @+1 {{softmax not raised to attention: scores are not a matmul of two activations}}
  %p = eff.softmax %e : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<2x4x4x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o : tensor<2x4x4x8xf32>
}

// -----

// Negative: an MoE router (softmax of activations times a weight).
// CHECK-LABEL: func.func @router_softmax
// CHECK: eff.softmax
func.func @router_softmax(%x: tensor<32x16xf32>) -> tensor<32x4xf32> {
  %w = eff.constant {value = dense<0.5> : tensor<16x4xf32>} : tensor<16x4xf32>
  %l = eff.matmul %x, %w : (tensor<32x16xf32>, tensor<16x4xf32>) -> tensor<32x4xf32>
  // expected-remark @+1 {{softmax not raised to attention: scores are not a matmul of two activations}}
  %p = eff.softmax %l : (tensor<32x4xf32>) -> tensor<32x4xf32>
  return %p : tensor<32x4xf32>
}

// -----

// Negative: the scores are scaled by a data-dependent factor.
// CHECK-LABEL: func.func @data_dependent_scale
// CHECK: eff.softmax
// CHECK-NOT: eff.attention
func.func @data_dependent_scale(%q: tensor<2x4x4x8xf32>, %k: tensor<2x4x4x8xf32>, %v: tensor<2x4x4x8xf32>, %t: tensor<f32>) -> tensor<2x4x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x4x8xf32>) -> tensor<2x4x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<2x4x4x8xf32>, tensor<2x4x8x4xf32>) -> tensor<2x4x4x4xf32>
  %d = eff.mul %s, %t : (tensor<2x4x4x4xf32>, tensor<f32>) -> tensor<2x4x4x4xf32>
  // expected-remark @+1 {{softmax not raised to attention: scores are scaled by a non-constant (data-dependent) factor}}
  %p = eff.softmax %d : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<2x4x4x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o : tensor<2x4x4x8xf32>
}

// -----

// Negative: the probabilities are also returned (output_attentions).
// CHECK-LABEL: func.func @probabilities_escape
// CHECK: eff.softmax
// CHECK-NOT: eff.attention
func.func @probabilities_escape(%q: tensor<2x4x4x8xf32>, %k: tensor<2x4x4x8xf32>, %v: tensor<2x4x4x8xf32>) -> (tensor<2x4x4x8xf32>, tensor<2x4x4x4xf32>) {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x4x8xf32>) -> tensor<2x4x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<2x4x4x8xf32>, tensor<2x4x8x4xf32>) -> tensor<2x4x4x4xf32>
  // expected-remark @+1 {{softmax not raised to attention: softmax output has users other than the value matmul}}
  %p = eff.softmax %s : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<2x4x4x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o, %p : tensor<2x4x4x8xf32>, tensor<2x4x4x4xf32>
}

// -----

// Negative: masked scores set to a moderate value are a bias, not a mask.
// CHECK-LABEL: func.func @finite_small_fill
// CHECK: eff.softmax
// CHECK-NOT: eff.attention
func.func @finite_small_fill(%q: tensor<2x4x4x8xf32>, %k: tensor<2x4x4x8xf32>, %v: tensor<2x4x4x8xf32>, %pad: tensor<2x1x1x4xi1>) -> tensor<2x4x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x4x8xf32>) -> tensor<2x4x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<2x4x4x8xf32>, tensor<2x4x8x4xf32>) -> tensor<2x4x4x4xf32>
  %f = eff.constant {value = dense<-1.000000e+04> : tensor<f32>} : tensor<f32>
  %w = eff.where %pad, %s, %f : (tensor<2x1x1x4xi1>, tensor<2x4x4x4xf32>, tensor<f32>) -> tensor<2x4x4x4xf32>
  // expected-remark @+1 {{softmax not raised to attention: masked scores are set to -10000, not -inf}}
  %p = eff.softmax %w : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<2x4x4x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o : tensor<2x4x4x8xf32>
}
