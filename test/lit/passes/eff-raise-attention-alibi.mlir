// ALiBi (MPT, BLOOM): a constant bias added to the scores whose values are,
// per head, slope_h * j plus a per-row constant is read numerically into
// eff.attention's `alibi_slopes` (times the factors applied after it), and
// may sit beside other mask terms.
// RUN: effc-opt %s --eff-raise-attention -split-input-file | FileCheck %s
// RUN: effc-opt %s --eff-raise-attention=remarks=true -split-input-file -verify-diagnostics -o /dev/null

// MPT (dynamo): scores * scale + bias[H, 1, L] = slope_h * (j - (L - 1)),
// then where(causal, -max, scores).
// CHECK-LABEL: func.func @mpt_bias_and_causal_where
// CHECK: eff.attention %arg0, %arg1, %arg2 {alibi_slopes = array<f32: 2.500000e-01, 6.250000e-02>, causal, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32}
// CHECK-NOT: eff.add
func.func @mpt_bias_and_causal_where(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x4x8xf32>) -> tensor<1x2x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %c = eff.constant {value = dense<0.5> : tensor<f32>} : tensor<f32>
  %s1 = eff.mul %s, %c : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %bias = eff.constant {value = dense<[[[-0.75, -0.5, -0.25, 0.0]], [[-0.1875, -0.125, -0.0625, 0.0]]]> : tensor<2x1x4xf32>} : tensor<2x1x4xf32>
  %a = eff.add %s1, %bias : (tensor<1x2x4x4xf32>, tensor<2x1x4xf32>) -> tensor<1x2x4x4xf32>
  %m = eff.constant {value = dense<[[[[false, true, true, true], [false, false, true, true], [false, false, false, true], [false, false, false, false]]]]> : tensor<1x1x4x4xi1>} : tensor<1x1x4x4xi1>
  %fill = eff.constant {value = dense<-3.40282347E+38> : tensor<f32>} : tensor<f32>
  %w = eff.where %m, %fill, %a : (tensor<1x1x4x4xi1>, tensor<f32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  // expected-remark @+1 {{raised attention (causal, alibi slopes=[0.25, 0.0625], num_kv_heads=2, scale=0.5)}}
  %p = eff.softmax %w : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// BLOOM-style slope_h * j as [1, H, 1, L], and slope * (j - i) as a
// head-less [S, L] bias under an outer factor 2 (slopes double).
// CHECK-LABEL: func.func @bloom_slope_times_j
// CHECK: eff.attention %arg0, %arg1, %arg2 {alibi_slopes = array<f32: 5.000000e-01, 1.250000e-01>, num_kv_heads = 2 : i64, scale = 1.000000e+00 : f32}
func.func @bloom_slope_times_j(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x4x8xf32>) -> tensor<1x2x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %bias = eff.constant {value = dense<[[[[0.0, 0.5, 1.0, 1.5]], [[0.0, 0.125, 0.25, 0.375]]]]> : tensor<1x2x1x4xf32>} : tensor<1x2x1x4xf32>
  %a = eff.add %bias, %s : (tensor<1x2x1x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  // expected-remark @+1 {{raised attention (alibi slopes=[0.5, 0.125], num_kv_heads=2, scale=1)}}
  %p = eff.softmax %a : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @relative_j_minus_i_headless
// CHECK: eff.attention %arg0, %arg1, %arg2 {alibi_slopes = array<f32: 5.000000e-01, 5.000000e-01>, num_kv_heads = 2 : i64, scale = 2.000000e+00 : f32}
func.func @relative_j_minus_i_headless(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x4x8xf32>) -> tensor<1x2x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %bias = eff.constant {value = dense<[[0.0, 0.25, 0.5, 0.75], [-0.25, 0.0, 0.25, 0.5], [-0.5, -0.25, 0.0, 0.25], [-0.75, -0.5, -0.25, 0.0]]> : tensor<4x4xf32>} : tensor<4x4xf32>
  %a = eff.add %s, %bias : (tensor<1x2x4x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4x4xf32>
  %two = eff.constant {value = dense<2.0> : tensor<f32>} : tensor<f32>
  %a2 = eff.mul %a, %two : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  // expected-remark @+1 {{raised attention (alibi slopes=[0.5, 0.5], num_kv_heads=2, scale=2)}}
  %p = eff.softmax %a2 : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// Not linear in j (a learned relative bias): not ALiBi. The causal where
// becomes `causal` and the bias stays the float mask, [2, 1, 4] as written.
// CHECK-LABEL: func.func @nonlinear_bias_not_alibi
// CHECK: %[[BIAS:.*]] = eff.constant {{.*}} : tensor<2x1x4xf32>
// CHECK: eff.attention %arg0, %arg1, %arg2, %[[BIAS]] {causal, num_kv_heads = 2 : i64, scale = 1.000000e+00 : f32}
func.func @nonlinear_bias_not_alibi(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x4x8xf32>) -> tensor<1x2x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %bias = eff.constant {value = dense<[[[0.0, 0.5, 0.75, 1.5]], [[0.0, 0.125, 0.25, 0.375]]]> : tensor<2x1x4xf32>} : tensor<2x1x4xf32>
  %a = eff.add %s, %bias : (tensor<1x2x4x4xf32>, tensor<2x1x4xf32>) -> tensor<1x2x4x4xf32>
  %m = eff.constant {value = dense<[[[[false, true, true, true], [false, false, true, true], [false, false, false, true], [false, false, false, false]]]]> : tensor<1x1x4x4xi1>} : tensor<1x1x4x4xi1>
  %fill = eff.constant {value = dense<-3.40282347E+38> : tensor<f32>} : tensor<f32>
  %w = eff.where %m, %fill, %a : (tensor<1x1x4x4xi1>, tensor<f32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  // expected-remark @+1 {{raised attention (causal, float mask, num_kv_heads=2, scale=1)}}
  %p = eff.softmax %w : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// Linear in j but with a slope that changes from row to row: not one slope
// per head. Without another mask term it is kept as the float mask.
// CHECK-LABEL: func.func @slope_varies_by_row
// CHECK: eff.attention %arg0, %arg1, %arg2, %{{.*}} {num_kv_heads = 2 : i64, scale = 1.000000e+00 : f32}
func.func @slope_varies_by_row(%q: tensor<1x2x2x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x2x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x4x8xf32>) -> tensor<1x2x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<1x2x2x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x2x4xf32>
  %bias = eff.constant {value = dense<[[0.0, 0.25, 0.5, 0.75], [0.0, 0.5, 1.0, 1.5]]> : tensor<2x4xf32>} : tensor<2x4xf32>
  %a = eff.add %s, %bias : (tensor<1x2x2x4xf32>, tensor<2x4xf32>) -> tensor<1x2x2x4xf32>
  // expected-remark @+1 {{raised attention (float mask, num_kv_heads=2, scale=1)}}
  %p = eff.softmax %a : (tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32>
  %o = eff.matmul %p, %v : (tensor<1x2x2x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x2x8xf32>
  return %o : tensor<1x2x2x8xf32>
}

// -----

// Two data terms beside a causal where (a learned bias and a padding mask
// argument): they are summed into one float mask, the pattern is `causal`.
// CHECK-LABEL: func.func @bias_and_padding_and_causal
// CHECK: %[[SUM:.*]] = eff.add %arg3, %{{.*}} : (tensor<1x1x1x4xf32>, tensor<2x1x4xf32>) -> tensor<1x2x1x4xf32>
// CHECK: eff.attention %arg0, %arg1, %arg2, %[[SUM]] {causal, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32}
func.func @bias_and_padding_and_causal(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %pad: tensor<1x1x1x4xf32>) -> tensor<1x2x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x4x8xf32>) -> tensor<1x2x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %half = eff.constant {value = dense<5.0e-01> : tensor<f32>} : tensor<f32>
  %sc = eff.mul %s, %half : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %bias = eff.constant {value = dense<[[[0.0, 0.5, 0.75, 1.5]], [[0.0, 0.125, 0.25, 0.375]]]> : tensor<2x1x4xf32>} : tensor<2x1x4xf32>
  %a = eff.add %sc, %bias : (tensor<1x2x4x4xf32>, tensor<2x1x4xf32>) -> tensor<1x2x4x4xf32>
  %b = eff.add %a, %pad : (tensor<1x2x4x4xf32>, tensor<1x1x1x4xf32>) -> tensor<1x2x4x4xf32>
  %m = eff.constant {value = dense<[[[[false, true, true, true], [false, false, true, true], [false, false, false, true], [false, false, false, false]]]]> : tensor<1x1x4x4xi1>} : tensor<1x1x4x4xi1>
  %fill = eff.constant {value = dense<-3.40282347E+38> : tensor<f32>} : tensor<f32>
  %w = eff.where %m, %fill, %b : (tensor<1x1x4x4xi1>, tensor<f32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  // expected-remark @+1 {{raised attention (causal, float mask (sum of 2 terms), num_kv_heads=2, scale=0.5)}}
  %p = eff.softmax %w : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}
