// RUN: effc-opt %s -split-input-file | effc-opt -split-input-file | FileCheck %s --check-prefix=ROUND
// RUN: effc-opt %s -split-input-file -canonicalize | FileCheck %s --check-prefix=FOLD
// eff.ring_attention (RingAttentionOps.td) prints and parses back, its
// result type is inferred from the blocks ([B, Hq, N * n, Dv]), and on
// constants it folds through its host kernel (the ring on simulated
// devices): causal and striped, token 0 (device 0) sees key 0 alone, token
// 1 (device 1) keys 0 and 1 with equal scores.

// ROUND-LABEL: func @ops
// ROUND: eff.ring_attention %arg0, %arg1, %arg2, %arg3, %arg4, %arg5 {causal, devices = array<i64: 0, 1>, num_kv_heads = 1 : i64, scale = 5.000000e-01 : f32, striped} : (tensor<2x4x3x8xbf16>, tensor<2x4x3x8xbf16>, tensor<2x1x3x8xbf16>, tensor<2x1x3x8xbf16>, tensor<2x1x3x16xbf16>, tensor<2x1x3x16xbf16>) -> tensor<2x4x6x16xbf16>
func.func @ops(%q0: tensor<2x4x3x8xbf16>, %q1: tensor<2x4x3x8xbf16>, %k0: tensor<2x1x3x8xbf16>, %k1: tensor<2x1x3x8xbf16>, %v0: tensor<2x1x3x16xbf16>, %v1: tensor<2x1x3x16xbf16>) -> tensor<2x4x6x16xbf16> attributes {eff.devices = 2 : i64} {
  %y = eff.ring_attention %q0, %q1, %k0, %k1, %v0, %v1 {causal, devices = array<i64: 0, 1>, num_kv_heads = 1 : i64, scale = 0.5 : f32, striped} : (tensor<2x4x3x8xbf16>, tensor<2x4x3x8xbf16>, tensor<2x1x3x8xbf16>, tensor<2x1x3x8xbf16>, tensor<2x1x3x16xbf16>, tensor<2x1x3x16xbf16>) -> tensor<2x4x6x16xbf16>
  return %y : tensor<2x4x6x16xbf16>
}

// -----

// FOLD-LABEL: func @fold
// FOLD: %[[Y:.*]] = eff.constant {value = dense<{{\[\[\[\[}}2.000000e+00, 2.000000e+00], [3.000000e+00, 3.000000e+00]]]]> : tensor<1x1x2x2xf32>}
// FOLD: return %[[Y]]
func.func @fold() -> tensor<1x1x2x2xf32> {
  %q = eff.constant {value = dense<1.0> : tensor<1x1x1x2xf32>} : tensor<1x1x1x2xf32>
  %v0 = eff.constant {value = dense<2.0> : tensor<1x1x1x2xf32>} : tensor<1x1x1x2xf32>
  %v1 = eff.constant {value = dense<4.0> : tensor<1x1x1x2xf32>} : tensor<1x1x1x2xf32>
  %y = eff.ring_attention %q, %q, %q, %q, %v0, %v1 {causal, devices = array<i64: 0, 1>, num_kv_heads = 1 : i64, scale = 1.0 : f32, striped} : (tensor<1x1x1x2xf32>, tensor<1x1x1x2xf32>, tensor<1x1x1x2xf32>, tensor<1x1x1x2xf32>, tensor<1x1x1x2xf32>, tensor<1x1x1x2xf32>) -> tensor<1x1x2x2xf32>
  return %y : tensor<1x1x2x2xf32>
}
