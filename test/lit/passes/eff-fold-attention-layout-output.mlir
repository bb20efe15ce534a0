// eff-fold-attention-layout, output side: a transpose that is the only
// reader of an eff.attention, eff.paged_attention or eff.attention_combine
// result folds into the op (out_perm: the op writes transpose([B, Hq, S,
// Dv], out_perm)), composed with an out_perm the op already has (none left
// when they cancel). Not folded, with a remark: a transpose that moves the
// head dim, a result with other readers, eff.ring_attention's output. Then
// the verifier's errors.
// RUN: effc-opt %s --eff-fold-attention-layout=remarks=true -split-input-file -verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @attention_output(
// CHECK-NOT: eff.transpose
// CHECK: %[[Y:.*]] = eff.attention %arg0, %arg1, %arg1 {num_kv_heads = 2 : i64, out_perm = array<i64: 0, 2, 1, 3>, scale = 5.000000e-01 : f32} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x?x2x4xf32>
// CHECK: %[[R:.*]] = eff.reshape %[[Y]]
// CHECK: return %[[R]]
func.func @attention_output(%q: tensor<1x2x?x4xf32>, %kv: tensor<1x2x?x4xf32>, %shape: tensor<3xi64>) -> tensor<1x?x8xf32> {
  // expected-remark @+1 {{eff.attention writes its output in the layout of the 1 transpose(s) that read it (out_perm = [0, 2, 1, 3]); none further: its reader is no eff.transpose}}
  %y = eff.attention %q, %kv, %kv {num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  %t = eff.transpose %y {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x2x?x4xf32>) -> tensor<1x?x2x4xf32>
  %r = eff.reshape %t, %shape : (tensor<1x?x2x4xf32>, tensor<3xi64>) -> tensor<1x?x8xf32>
  return %r : tensor<1x?x8xf32>
}

// -----

// Split-KV decode: the combine writes the result, so the layout is its.
// CHECK-LABEL: func.func @combine_output(
// CHECK-NOT: eff.transpose
// CHECK: %[[O:.*]] = eff.attention_combine %{{.*}}, %{{.*}} {out_perm = array<i64: 0, 2, 1, 3>, to = 16 : i64} : (tensor<4x2x8x1x64xf32>, tensor<4x2x8x1xf32>) -> tensor<2x1x8x64xbf16>
// CHECK: return %[[O]]
func.func @combine_output(%q: tensor<2x8x1x64xbf16>, %kv: tensor<2x2x512x64xbf16>) -> tensor<2x1x8x64xbf16> {
  %p, %l = eff.attention_partial %q, %kv, %kv {num_kv_heads = 2 : i64, num_splits = 4 : i64, scale = 1.250000e-01 : f32} : (tensor<2x8x1x64xbf16>, tensor<2x2x512x64xbf16>, tensor<2x2x512x64xbf16>) -> (tensor<4x2x8x1x64xf32>, tensor<4x2x8x1xf32>)
  // expected-remark @+1 {{eff.attention_combine writes its output in the layout of the 1 transpose(s) that read it (out_perm = [0, 2, 1, 3]); none further: its reader is no eff.transpose}}
  %o = eff.attention_combine %p, %l {to = 16 : i64} : (tensor<4x2x8x1x64xf32>, tensor<4x2x8x1xf32>) -> tensor<2x8x1x64xbf16>
  %t = eff.transpose %o {perm = array<i64: 0, 2, 1, 3>} : (tensor<2x8x1x64xbf16>) -> tensor<2x1x8x64xbf16>
  return %t : tensor<2x1x8x64xbf16>
}

// -----

// Composition: an op stored [B, S, H, D] read back through [0, 2, 1, 3] is
// [B, H, S, D] again (no out_perm left); [0, 2, 1, 3] then [1, 0, 2, 3]
// stores [S, B, H, D] (out_perm [2, 0, 1, 3]).
// CHECK-LABEL: func.func @compose(
// CHECK-NOT: eff.transpose
// CHECK: eff.attention %arg0, %arg1, %arg1 {num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : {{.*}} -> tensor<1x2x3x4xf32>
// CHECK: eff.attention %arg0, %arg1, %arg1 {num_kv_heads = 2 : i64, out_perm = array<i64: 2, 0, 1, 3>, scale = 5.000000e-01 : f32} : {{.*}} -> tensor<3x1x2x4xf32>
func.func @compose(%q: tensor<1x2x3x4xf32>, %kv: tensor<1x2x5x4xf32>) -> (tensor<1x2x3x4xf32>, tensor<3x1x2x4xf32>) {
  // expected-remark @+1 {{eff.attention writes its output in the layout of the 1 transpose(s) that read it (out_perm = none)}}
  %y = eff.attention %q, %kv, %kv {num_kv_heads = 2 : i64, out_perm = array<i64: 0, 2, 1, 3>, scale = 5.000000e-01 : f32} : (tensor<1x2x3x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x3x2x4xf32>
  %t = eff.transpose %y {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x3x2x4xf32>) -> tensor<1x2x3x4xf32>
  // expected-remark @+1 {{eff.attention writes its output in the layout of the 2 transpose(s) that read it (out_perm = [2, 0, 1, 3])}}
  %y2 = eff.attention %q, %kv, %kv {num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x3x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x3x4xf32>
  %a = eff.transpose %y2 {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x2x3x4xf32>) -> tensor<1x3x2x4xf32>
  %b = eff.transpose %a {perm = array<i64: 1, 0, 2, 3>} : (tensor<1x3x2x4xf32>) -> tensor<3x1x2x4xf32>
  return %t, %b : tensor<1x2x3x4xf32>, tensor<3x1x2x4xf32>
}

// -----

// Paged KV (effc --paged-kv): eff.paged_attention writes the layout too;
// a transpose moving its head dim stays.
// CHECK-LABEL: func.func @paged_output(
// CHECK: eff.paged_attention %arg0, %arg1, %arg1, %arg2, %arg3 {out_perm = array<i64: 0, 2, 1, 3>, scale = 5.000000e-01 : f32} : {{.*}} -> tensor<1x3x2x4xf32>
// CHECK-NEXT: eff.paged_attention {{.*}} -> tensor<1x2x3x4xf32>
// CHECK-NEXT: eff.transpose
// CHECK-NOT: eff.transpose
func.func @paged_output(%q: tensor<1x2x3x4xf32>, %pool: tensor<8x2x4x4xf32>, %table: tensor<1x2xi32>, %lens: tensor<1xi32>) -> (tensor<1x3x2x4xf32>, tensor<1x2x4x3xf32>) {
  // expected-remark @+1 {{eff.paged_attention writes its output in the layout of the 1 transpose(s) that read it (out_perm = [0, 2, 1, 3]); none further: its reader is no eff.transpose}}
  %p = eff.paged_attention %q, %pool, %pool, %table, %lens {scale = 5.000000e-01 : f32} : (tensor<1x2x3x4xf32>, tensor<8x2x4x4xf32>, tensor<8x2x4x4xf32>, tensor<1x2xi32>, tensor<1xi32>) -> tensor<1x2x3x4xf32>
  %t = eff.transpose %p {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x2x3x4xf32>) -> tensor<1x3x2x4xf32>
  // expected-remark @+1 {{eff.paged_attention output transpose stays a kernel: the transpose [0, 1, 3, 2] moves the head dim (out_perm would be [0, 1, 3, 2]; the kernels write rows of head_dim contiguous)}}
  %p2 = eff.paged_attention %q, %pool, %pool, %table, %lens {scale = 5.000000e-01 : f32} : (tensor<1x2x3x4xf32>, tensor<8x2x4x4xf32>, tensor<8x2x4x4xf32>, tensor<1x2xi32>, tensor<1xi32>) -> tensor<1x2x3x4xf32>
  %t2 = eff.transpose %p2 {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x3x4xf32>) -> tensor<1x2x4x3xf32>
  return %t, %t2 : tensor<1x3x2x4xf32>, tensor<1x2x4x3xf32>
}

// -----

// Not folded: eff.ring_attention's output (its kernels take no out_perm).
// CHECK-LABEL: func.func @ring_output(
// CHECK: eff.ring_attention
// CHECK-NEXT: eff.transpose
func.func @ring_output(%q: tensor<1x2x4x8xf32>, %k: tensor<1x1x4x8xf32>) -> tensor<1x8x2x8xf32> {
  // expected-remark @+1 {{eff.ring_attention output transpose stays a kernel: its kernels write [B, H, S, D] only (no out_perm)}}
  %y = eff.ring_attention %q, %q, %k, %k, %k, %k {devices = array<i64: 0, 1>, num_kv_heads = 1 : i64, scale = 1.0 : f32} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>) -> tensor<1x2x8x8xf32>
  %t = eff.transpose %y {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x2x8x8xf32>) -> tensor<1x8x2x8xf32>
  return %t : tensor<1x8x2x8xf32>
}

// -----

// Not folded: a transpose that moves the head dim, a result also returned
// (the transpose stays a kernel either way).
// CHECK-LABEL: func.func @not_folded(
// CHECK: eff.attention {{.*}} -> tensor<1x2x3x4xf32>
// CHECK: eff.transpose
// CHECK: eff.attention {{.*}} -> tensor<1x2x3x4xf32>
// CHECK: eff.transpose
func.func @not_folded(%q: tensor<1x2x3x4xf32>, %kv: tensor<1x2x5x4xf32>) -> (tensor<1x2x4x3xf32>, tensor<1x3x2x4xf32>, tensor<1x2x3x4xf32>) {
  // expected-remark @+1 {{eff.attention output transpose stays a kernel: the transpose [0, 1, 3, 2] moves the head dim (out_perm would be [0, 1, 3, 2]; the kernels write rows of head_dim contiguous)}}
  %y = eff.attention %q, %kv, %kv {num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x3x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x3x4xf32>
  %t = eff.transpose %y {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x3x4xf32>) -> tensor<1x2x4x3xf32>
  // expected-remark @+1 {{eff.attention output transpose stays a kernel: the result has other readers than the transpose (it stays a kernel either way)}}
  %y2 = eff.attention %q, %kv, %kv {num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x3x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x3x4xf32>
  %t2 = eff.transpose %y2 {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x2x3x4xf32>) -> tensor<1x3x2x4xf32>
  return %t, %t2, %y2 : tensor<1x2x4x3xf32>, tensor<1x3x2x4xf32>, tensor<1x2x3x4xf32>
}

// -----

func.func @bad_out_perm(%q: tensor<1x2x3x4xf32>, %kv: tensor<1x2x5x4xf32>) -> tensor<1x2x3x4xf32> {
  // expected-error @+1 {{out_perm must be a permutation of 0..3 with out_perm[3] = 3 (head dim last), got [0, 1, 1, 3]}}
  %y = eff.attention %q, %kv, %kv {num_kv_heads = 2 : i64, out_perm = array<i64: 0, 1, 1, 3>, scale = 5.000000e-01 : f32} : (tensor<1x2x3x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x3x4xf32>
  return %y : tensor<1x2x3x4xf32>
}

// -----

func.func @head_dim_moved(%q: tensor<1x2x3x4xf32>, %kv: tensor<1x2x5x4xf32>) -> tensor<1x2x4x3xf32> {
  // expected-error @+1 {{out_perm must be a permutation of 0..3 with out_perm[3] = 3 (head dim last), got [0, 1, 3, 2]}}
  %y = eff.attention %q, %kv, %kv {num_kv_heads = 2 : i64, out_perm = array<i64: 0, 1, 3, 2>, scale = 5.000000e-01 : f32} : (tensor<1x2x3x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x4x3xf32>
  return %y : tensor<1x2x4x3xf32>
}

// -----

// The result type is the permuted shape.
func.func @unpermuted_result(%q: tensor<1x2x3x4xf32>, %kv: tensor<1x2x5x4xf32>) -> tensor<1x2x3x4xf32> {
  // expected-error @+2 {{'eff.attention' op inferred type(s) 'tensor<1x3x2x4xf32>' are incompatible with return type(s) of operation 'tensor<1x2x3x4xf32>'}}
  // expected-error @+1 {{'eff.attention' op failed to infer returned types}}
  %y = eff.attention %q, %kv, %kv {num_kv_heads = 2 : i64, out_perm = array<i64: 0, 2, 1, 3>, scale = 5.000000e-01 : f32} : (tensor<1x2x3x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x3x4xf32>
  return %y : tensor<1x2x3x4xf32>
}

// -----

func.func @bad_combine_perm(%p: tensor<4x2x8x1x64xf32>, %l: tensor<4x2x8x1xf32>) -> tensor<2x8x1x64xbf16> {
  // expected-error @+1 {{out_perm must be a permutation of 0..3 with out_perm[3] = 3 (head dim last), got [0, 1, 2]}}
  %o = eff.attention_combine %p, %l {out_perm = array<i64: 0, 1, 2>, to = 16 : i64} : (tensor<4x2x8x1x64xf32>, tensor<4x2x8x1xf32>) -> tensor<2x8x1x64xbf16>
  return %o : tensor<2x8x1x64xbf16>
}

// -----

func.func @combine_unpermuted_result(%p: tensor<4x2x8x1x64xf32>, %l: tensor<4x2x8x1xf32>) -> tensor<2x8x1x64xbf16> {
  // expected-error @+2 {{'eff.attention_combine' op inferred type(s) 'tensor<2x1x8x64xbf16>' are incompatible with return type(s) of operation 'tensor<2x8x1x64xbf16>'}}
  // expected-error @+1 {{'eff.attention_combine' op failed to infer returned types}}
  %o = eff.attention_combine %p, %l {out_perm = array<i64: 0, 2, 1, 3>, to = 16 : i64} : (tensor<4x2x8x1x64xf32>, tensor<4x2x8x1xf32>) -> tensor<2x8x1x64xbf16>
  return %o : tensor<2x8x1x64xbf16>
}

// -----

func.func @bad_paged_perm(%q: tensor<1x2x3x4xf32>, %pool: tensor<8x2x4x4xf32>, %table: tensor<1x2xi32>, %lens: tensor<1xi32>) -> tensor<1x2x3x4xf32> {
  // expected-error @+1 {{out_perm must be a permutation of 0..3 with out_perm[3] = 3 (head dim last), got [2, 2, 1, 3]}}
  %p = eff.paged_attention %q, %pool, %pool, %table, %lens {out_perm = array<i64: 2, 2, 1, 3>, scale = 5.000000e-01 : f32} : (tensor<1x2x3x4xf32>, tensor<8x2x4x4xf32>, tensor<8x2x4x4xf32>, tensor<1x2xi32>, tensor<1xi32>) -> tensor<1x2x3x4xf32>
  return %p : tensor<1x2x3x4xf32>
}

// -----

func.func @paged_unpermuted_result(%q: tensor<1x2x3x4xf32>, %pool: tensor<8x2x4x4xf32>, %table: tensor<1x2xi32>, %lens: tensor<1xi32>) -> tensor<1x2x3x4xf32> {
  // expected-error @+2 {{'eff.paged_attention' op inferred type(s) 'tensor<1x3x2x4xf32>' are incompatible with return type(s) of operation 'tensor<1x2x3x4xf32>'}}
  // expected-error @+1 {{'eff.paged_attention' op failed to infer returned types}}
  %p = eff.paged_attention %q, %pool, %pool, %table, %lens {out_perm = array<i64: 0, 2, 1, 3>, scale = 5.000000e-01 : f32} : (tensor<1x2x3x4xf32>, tensor<8x2x4x4xf32>, tensor<8x2x4x4xf32>, tensor<1x2xi32>, tensor<1xi32>) -> tensor<1x2x3x4xf32>
  return %p : tensor<1x2x3x4xf32>
}
