// Logit soft-capping (Gemma-2): c * tanh(s / c) between the scores and the
// mask raises to eff.attention's `softcap`; the factors outside the tanh are
// the cap, those inside times the cap are `scale`.
// RUN: effc-opt %s --eff-raise-attention -split-input-file | FileCheck %s
// RUN: effc-opt %s --eff-raise-attention=remarks=true -split-input-file -verify-diagnostics -o /dev/null

// The dynamo export: (s * 0.125) / 50 -> tanh -> * 50 -> + causal mask.
// CHECK-LABEL: func.func @gemma2_softcap_causal
// CHECK: eff.attention %arg0, %arg1, %arg2 {causal, num_kv_heads = 4 : i64, scale = 1.250000e-01 : f32, softcap = 5.000000e+01 : f32}
// CHECK-NOT: eff.tanh
func.func @gemma2_softcap_causal(%q: tensor<2x4x4x8xf32>, %k: tensor<2x4x4x8xf32>, %v: tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x4x8xf32>) -> tensor<2x4x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<2x4x4x8xf32>, tensor<2x4x8x4xf32>) -> tensor<2x4x4x4xf32>
  %scale = eff.constant {value = dense<0.125> : tensor<f32>} : tensor<f32>
  %cap = eff.constant {value = dense<50.0> : tensor<f32>} : tensor<f32>
  %s1 = eff.mul %s, %scale : (tensor<2x4x4x4xf32>, tensor<f32>) -> tensor<2x4x4x4xf32>
  %s2 = eff.div %s1, %cap : (tensor<2x4x4x4xf32>, tensor<f32>) -> tensor<2x4x4x4xf32>
  %t = eff.tanh %s2 : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %s3 = eff.mul %t, %cap : (tensor<2x4x4x4xf32>, tensor<f32>) -> tensor<2x4x4x4xf32>
  %m = eff.constant {value = dense<[[[[0.0, -3.40282347E+38, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, 0.0, -3.40282347E+38], [0.0, 0.0, 0.0, 0.0]]]]> : tensor<1x1x4x4xf32>} : tensor<1x1x4x4xf32>
  %a = eff.add %s3, %m : (tensor<2x4x4x4xf32>, tensor<1x1x4x4xf32>) -> tensor<2x4x4x4xf32>
  // expected-remark @+1 {{raised attention (causal, softcap=50, num_kv_heads=4, scale=0.125)}}
  %p = eff.softmax %a : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<2x4x4x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o : tensor<2x4x4x8xf32>
}

// -----

// No mask, 1/c as a product inside and a factor after the tanh that
// multiplies into the cap: 2 * (30 * tanh(s * 0.5 * (1/60))) is
// 60 * tanh(0.5 * s / 60): softcap 60, scale 0.5.
// CHECK-LABEL: func.func @softcap_no_mask_outer_scale
// CHECK: eff.attention %arg0, %arg1, %arg2 {num_kv_heads = 4 : i64, scale = 5.000000e-01 : f32, softcap = 6.000000e+01 : f32}
func.func @softcap_no_mask_outer_scale(%q: tensor<2x4x4x8xf32>, %k: tensor<2x4x4x8xf32>, %v: tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x4x8xf32>) -> tensor<2x4x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<2x4x4x8xf32>, tensor<2x4x8x4xf32>) -> tensor<2x4x4x4xf32>
  %inner = eff.constant {value = dense<0.0166666675> : tensor<f32>} : tensor<f32>
  %half = eff.constant {value = dense<0.5> : tensor<f32>} : tensor<f32>
  %cap = eff.constant {value = dense<30.0> : tensor<f32>} : tensor<f32>
  %two = eff.constant {value = dense<2.0> : tensor<f32>} : tensor<f32>
  %s1 = eff.mul %half, %s : (tensor<f32>, tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %s2 = eff.mul %s1, %inner : (tensor<2x4x4x4xf32>, tensor<f32>) -> tensor<2x4x4x4xf32>
  %t = eff.tanh %s2 : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %s3 = eff.mul %t, %cap : (tensor<2x4x4x4xf32>, tensor<f32>) -> tensor<2x4x4x4xf32>
  %s4 = eff.mul %s3, %two : (tensor<2x4x4x4xf32>, tensor<f32>) -> tensor<2x4x4x4xf32>
  // expected-remark @+1 {{raised attention (softcap=60, num_kv_heads=4, scale=0.5)}}
  %p = eff.softmax %s4 : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<2x4x4x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o : tensor<2x4x4x8xf32>
}

// -----

// A mask added inside the tanh is capped with the scores (-inf becomes -c,
// not masked): not soft-capping, left alone with its reason.
// CHECK-LABEL: func.func @mask_inside_tanh
// CHECK-NOT: eff.attention
// CHECK: eff.tanh
func.func @mask_inside_tanh(%q: tensor<2x4x4x8xf32>, %k: tensor<2x4x4x8xf32>, %v: tensor<2x4x4x8xf32>, %pad: tensor<2x1x1x4xf32>) -> tensor<2x4x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x4x8xf32>) -> tensor<2x4x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<2x4x4x8xf32>, tensor<2x4x8x4xf32>) -> tensor<2x4x4x4xf32>
  %a = eff.add %s, %pad : (tensor<2x4x4x4xf32>, tensor<2x1x1x4xf32>) -> tensor<2x4x4x4xf32>
  %t = eff.tanh %a : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  // expected-remark @+1 {{softmax not raised to attention: an additive term inside the soft-capping tanh (not a mask after it)}}
  %p = eff.softmax %t : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<2x4x4x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o : tensor<2x4x4x8xf32>
}

// -----

// A negative factor outside the tanh is no cap.
// CHECK-LABEL: func.func @negative_cap
// CHECK-NOT: eff.attention
func.func @negative_cap(%q: tensor<2x4x4x8xf32>, %k: tensor<2x4x4x8xf32>, %v: tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x4x8xf32>) -> tensor<2x4x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<2x4x4x8xf32>, tensor<2x4x8x4xf32>) -> tensor<2x4x4x4xf32>
  %t = eff.tanh %s : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %neg = eff.constant {value = dense<-5.0> : tensor<f32>} : tensor<f32>
  %s1 = eff.mul %t, %neg : (tensor<2x4x4x4xf32>, tensor<f32>) -> tensor<2x4x4x4xf32>
  // expected-remark @+1 {{softmax not raised to attention: the factor outside the soft-capping tanh is not positive and finite}}
  %p = eff.softmax %s1 : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<2x4x4x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o : tensor<2x4x4x8xf32>
}

// -----

// tanh(tanh(s)) is not one soft-cap.
// CHECK-LABEL: func.func @double_tanh
// CHECK-NOT: eff.attention
func.func @double_tanh(%q: tensor<2x4x4x8xf32>, %k: tensor<2x4x4x8xf32>, %v: tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x4x8xf32>) -> tensor<2x4x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<2x4x4x8xf32>, tensor<2x4x8x4xf32>) -> tensor<2x4x4x4xf32>
  %t = eff.tanh %s : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %t2 = eff.tanh %t : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  // expected-remark @+1 {{softmax not raised to attention: more than one tanh on the scores (soft-capping applied twice)}}
  %p = eff.softmax %t2 : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<2x4x4x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o : tensor<2x4x4x8xf32>
}
