// RUN: effc-opt %s -canonicalize -split-input-file | FileCheck %s
// Norms and rope of constants fold through the host kernels; attention never folds.

// mean 2, variance 1 (epsilon 0): [-1, 1] * Scale + B.
// CHECK-LABEL: func @layer_norm_const
func.func @layer_norm_const() -> tensor<1x2xf32> {
  %x = eff.constant {value = dense<[[1.0, 3.0]]> : tensor<1x2xf32>} : tensor<1x2xf32>
  %s = eff.constant {value = dense<[2.0, 1.0]> : tensor<2xf32>} : tensor<2xf32>
  %b = eff.constant {value = dense<[0.5, 0.0]> : tensor<2xf32>} : tensor<2xf32>
  // CHECK: eff.constant {value = dense<{{\[\[}}-1.500000e+00, 1.000000e+00]]> : tensor<1x2xf32>} : tensor<1x2xf32>
  // CHECK-NOT: eff.layer_norm
  %0 = eff.layer_norm %x, %s, %b {epsilon = 0.0 : f32} : (tensor<1x2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  return %0 : tensor<1x2xf32>
}

// -----

// rms 2 (epsilon 0): [1, -1] * scale.
// CHECK-LABEL: func @rms_norm_const
func.func @rms_norm_const() -> tensor<1x2xf32> {
  %x = eff.constant {value = dense<[[2.0, -2.0]]> : tensor<1x2xf32>} : tensor<1x2xf32>
  %s = eff.constant {value = dense<[3.0, 1.0]> : tensor<2xf32>} : tensor<2xf32>
  // CHECK: eff.constant {value = dense<{{\[\[}}3.000000e+00, -1.000000e+00]]> : tensor<1x2xf32>} : tensor<1x2xf32>
  // CHECK-NOT: eff.rms_norm
  %0 = eff.rms_norm %x, %s {epsilon = 0.0 : f32} : (tensor<1x2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  return %0 : tensor<1x2xf32>
}

// -----

// A quarter turn (cos 0, sin 1) maps (1, 0) to (0, 1).
// CHECK-LABEL: func @rope_const
func.func @rope_const() -> tensor<1x1x1x2xf32> {
  %x = eff.constant {value = dense<[[[[1.0, 0.0]]]]> : tensor<1x1x1x2xf32>} : tensor<1x1x1x2xf32>
  %cos = eff.constant {value = dense<0.0> : tensor<1x1x1xf32>} : tensor<1x1x1xf32>
  %sin = eff.constant {value = dense<1.0> : tensor<1x1x1xf32>} : tensor<1x1x1xf32>
  // CHECK: eff.constant {value = dense<{{\[\[\[\[}}0.000000e+00, 1.000000e+00]]]]> : tensor<1x1x1x2xf32>} : tensor<1x1x1x2xf32>
  // CHECK-NOT: eff.rope
  %0 = eff.rope %x, %cos, %sin : (tensor<1x1x1x2xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32>) -> tensor<1x1x1x2xf32>
  return %0 : tensor<1x1x1x2xf32>
}

// -----

// CHECK-LABEL: func @attention_never_folds
func.func @attention_never_folds() -> tensor<1x1x1x2xf32> {
  %x = eff.constant {value = dense<1.0> : tensor<1x1x1x2xf32>} : tensor<1x1x1x2xf32>
  // CHECK: eff.attention
  %0 = eff.attention %x, %x, %x {num_kv_heads = 1 : i64, scale = 1.0 : f32} : (tensor<1x1x1x2xf32>, tensor<1x1x1x2xf32>, tensor<1x1x1x2xf32>) -> tensor<1x1x1x2xf32>
  return %0 : tensor<1x1x1x2xf32>
}
