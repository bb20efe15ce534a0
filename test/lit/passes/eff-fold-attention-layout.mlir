// eff-fold-attention-layout: a transpose [B, S, H, D] -> [B, H, S, D] whose
// only reader is eff.kv_append's new_rows folds into the append (rows_perm),
// composed with a rows_perm the append already has (back to none when the
// two cancel). Not folded, with a remark: a transpose with other readers,
// new rows of eff.paged_kv_write. Attention's output side:
// eff-fold-attention-layout-output.mlir.
// RUN: effc-opt %s --eff-fold-attention-layout=remarks=true -split-input-file -verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @value_append(
// CHECK-NOT: eff.transpose
// CHECK: %[[V:.*]] = eff.kv_append %arg0, %arg1 {capacity = 64 : i64, rows_perm = array<i64: 0, 2, 1, 3>, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x?x2x4xf32>) -> tensor<1x2x?x4xf32>
// CHECK: return %[[V]]
func.func @value_append(%past: tensor<1x2x?x4xf32>, %proj: tensor<1x?x2x4xf32>) -> tensor<1x2x?x4xf32> {
  %t = eff.transpose %proj {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x?x2x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{kv_append 'present.0.value' reads its rows through the permutation of 1 folded transpose(s) (rows_perm = [0, 2, 1, 3]); no further fold: new_rows is no eff.transpose's result}}
  %v = eff.kv_append %past, %t {capacity = 64 : i64, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  return %v : tensor<1x2x?x4xf32>
}

// -----

// Two transposes in a row compose: [0, 2, 1, 3] twice is none (both fold,
// no rows_perm is left); rows stored [B, D, H, S] read through [0, 2, 3, 1].
// CHECK-LABEL: func.func @compose(
// CHECK-NOT: eff.transpose
// CHECK: eff.kv_append %arg0, %arg1 {capacity = 64 : i64, state = "present.0.key"}
// CHECK: eff.kv_append %arg0, %arg2 {capacity = 64 : i64, rows_perm = array<i64: 0, 2, 3, 1>, state = "present.1.key"}
func.func @compose(%past: tensor<1x2x?x4xf32>, %rows: tensor<1x2x?x4xf32>, %dhs: tensor<1x4x2x?xf32>) -> (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) {
  %a = eff.transpose %rows {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x2x?x4xf32>) -> tensor<1x?x2x4xf32>
  %b = eff.transpose %a {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x?x2x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{permutation of 2 folded transpose(s) (rows_perm = none)}}
  %k = eff.kv_append %past, %b {capacity = 64 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  %c = eff.transpose %dhs {perm = array<i64: 0, 2, 3, 1>} : (tensor<1x4x2x?xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{permutation of 1 folded transpose(s) (rows_perm = [0, 2, 3, 1])}}
  %k1 = eff.kv_append %past, %c {capacity = 64 : i64, state = "present.1.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  return %k, %k1 : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
}

// -----

// Not folded: the transposed rows are also returned (the transpose stays a
// kernel either way), and rows that come from no transpose.
// CHECK-LABEL: func.func @shared_transpose(
// CHECK: %[[T:.*]] = eff.transpose %arg1
// CHECK: eff.kv_append %arg0, %[[T]] {capacity = 64 : i64, state = "present.0.value"}
// CHECK: eff.kv_append %arg0, %arg2 {capacity = 64 : i64, state = "present.0.key"}
func.func @shared_transpose(%past: tensor<1x2x?x4xf32>, %proj: tensor<1x?x2x4xf32>, %k: tensor<1x2x?x4xf32>) -> (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) {
  %t = eff.transpose %proj {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x?x2x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{kv_append 'present.0.value' reads new_rows as given: the transpose has other readers (it stays a kernel either way)}}
  %v = eff.kv_append %past, %t {capacity = 64 : i64, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{kv_append 'present.0.key' reads new_rows as given: new_rows is no eff.transpose's result}}
  %kk = eff.kv_append %past, %k {capacity = 64 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  return %v, %t, %kk : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
}

// -----

// Not folded: paged_kv_write's rows.
// CHECK-LABEL: func.func @not_yet(
// CHECK: eff.transpose %arg1
// CHECK: eff.paged_kv_write
func.func @not_yet(%pool: tensor<8x2x4x4xf32>, %proj: tensor<1x?x2x4xf32>, %slots: tensor<1x?xi32>) -> tensor<8x2x4x4xf32> {
  %t = eff.transpose %proj {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x?x2x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{paged_kv_write's transposed rows stay a kernel: eff.paged_kv_write reads [B, H, S, D] rows only (no rows layout)}}
  %w = eff.paged_kv_write %pool, %t, %slots : (tensor<8x2x4x4xf32>, tensor<1x2x?x4xf32>, tensor<1x?xi32>) -> tensor<8x2x4x4xf32>
  return %w : tensor<8x2x4x4xf32>
}

// -----

func.func @bad_perm(%past: tensor<1x2x?x4xf32>, %rows: tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32> {
  // expected-error @+1 {{rows_perm must be a permutation of 0..3, got [0, 1, 1, 3]}}
  %v = eff.kv_append %past, %rows {capacity = 64 : i64, rows_perm = array<i64: 0, 1, 1, 3>, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  return %v : tensor<1x2x?x4xf32>
}

// -----

// The value heads of a merged q/k/v projection (eff-merge-sibling-linears):
// a slice of heads [6, 8) of [B, S, 8, D], transposed, then appended. The
// transpose folds into rows_perm, then the slice into rows_offset (on the
// rows' H dim): the append reads the merged heads in place.
// CHECK-LABEL: func.func @merged_value_heads(
// CHECK-NOT: eff.slice
// CHECK-NOT: eff.transpose
// CHECK: eff.kv_append %arg0, %arg1 {capacity = 64 : i64, rows_offset = array<i64: 0, 6, 0, 0>, rows_perm = array<i64: 0, 2, 1, 3>, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x?x8x4xf32>) -> tensor<1x2x?x4xf32>
func.func @merged_value_heads(%past: tensor<1x2x?x4xf32>, %qkv: tensor<1x?x8x4xf32>) -> tensor<1x2x?x4xf32> {
  %s0 = eff.constant {value = dense<6> : tensor<1xi64>} : tensor<1xi64>
  %s1 = eff.constant {value = dense<8> : tensor<1xi64>} : tensor<1xi64>
  %ax = eff.constant {value = dense<2> : tensor<1xi64>} : tensor<1xi64>
  %v = eff.slice %qkv, %s0, %s1 axes %ax : (tensor<1x?x8x4xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x?x2x4xf32>
  %t = eff.transpose %v {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x?x2x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+2 {{permutation of 1 folded transpose(s) (rows_perm = [0, 2, 1, 3]); no further fold: new_rows is no eff.transpose's result}}
  // expected-remark @+1 {{kv_append 'present.0.value' reads its rows as a window of the slice's input (rows_offset = [0, 6, 0, 0])}}
  %a = eff.kv_append %past, %t {capacity = 64 : i64, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  return %a : tensor<1x2x?x4xf32>
}
