// eff-last-logits: the LM head (the matmul returned as `logits`) reads only
// hidden[b, logits_index[b], :]: a new last input logits_index [batch] named
// after input_ids' batch dim, gathered along seq, so logits are
// [batch, 1, vocab]; the full-seq matmul is gone. Anything else returned as
// logits, or no logits, is an error naming it.
// RUN: effc-opt %s --eff-last-logits -split-input-file -verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @lm
// CHECK-SAME: %[[IDX:[a-z0-9]+]]: tensor<?xi64> {eff.dim_params = ["batch"], eff.name = "logits_index"})
// CHECK-SAME: -> (tensor<?x1x8xf32> {eff.name = "logits"}, tensor<?x?x4xf32> {eff.name = "hidden"})
// CHECK: %[[R:.*]] = eff.reshape %[[IDX]], %{{.*}} : (tensor<?xi64>, tensor<3xi64>) -> tensor<?x1x1xi64>
// CHECK: %[[E:.*]] = eff.expand %[[R]], %{{.*}} : (tensor<?x1x1xi64>, tensor<3xi64>) -> tensor<?x1x4xi64>
// CHECK: %[[G:.*]] = eff.gather_elements %[[H:.*]], %[[E]] {axis = 1 : i64} : (tensor<?x?x4xf32>, tensor<?x1x4xi64>) -> tensor<?x1x4xf32>
// CHECK: %[[L:.*]] = eff.matmul %[[G]], %{{.*}} : (tensor<?x1x4xf32>, tensor<4x8xf32>) -> tensor<?x1x8xf32>
// CHECK-NOT: tensor<?x?x8xf32>
// CHECK: return %[[L]], %[[H]]
func.func @lm(%ids: tensor<?x?xi64> {eff.dim_params = ["batch", "seq"], eff.name = "input_ids"},
              %emb: tensor<16x4xf32>)
    -> (tensor<?x?x8xf32> {eff.name = "logits"}, tensor<?x?x4xf32> {eff.name = "hidden"})
    attributes {eff.dims = {batch = array<i64: 1, 4>, seq = array<i64: 1, 32>}} {
  %w = eff.constant {value = dense<0.5> : tensor<4x8xf32>} : tensor<4x8xf32>
  %h = eff.gather %emb, %ids {axis = 0 : i64} : (tensor<16x4xf32>, tensor<?x?xi64>) -> tensor<?x?x4xf32>
  %l = eff.matmul %h, %w : (tensor<?x?x4xf32>, tensor<4x8xf32>) -> tensor<?x?x8xf32>
  return %l, %h : tensor<?x?x8xf32>, tensor<?x?x4xf32>
}

// -----

// A fixed batch: logits_index [2] without dim names.
// CHECK-LABEL: func.func @fixed
// CHECK-SAME: tensor<2xi64> {eff.name = "logits_index"}
// CHECK: eff.matmul %{{.*}}, %{{.*}} : (tensor<2x1x4xf32>, tensor<4x8xf32>) -> tensor<2x1x8xf32>
func.func @fixed(%ids: tensor<2x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                 %emb: tensor<16x4xf32>) -> (tensor<2x?x8xf32> {eff.name = "logits"})
    attributes {eff.dims = {seq = array<i64: 1, 32>}} {
  %w = eff.constant {value = dense<0.5> : tensor<4x8xf32>} : tensor<4x8xf32>
  %h = eff.gather %emb, %ids {axis = 0 : i64} : (tensor<16x4xf32>, tensor<2x?xi64>) -> tensor<2x?x4xf32>
  %l = eff.matmul %h, %w : (tensor<2x?x4xf32>, tensor<4x8xf32>) -> tensor<2x?x8xf32>
  return %l : tensor<2x?x8xf32>
}

// -----

// expected-error @+1 {{eff-last-logits: 'logits' is 'eff.add', not eff.matmul(hidden [batch, seq, hidden], weight [hidden, vocab]) with a static hidden size and weight}}
func.func @not_a_head(%ids: tensor<2x?xi64> {eff.name = "input_ids"}, %x: tensor<2x?x8xf32>)
    -> (tensor<2x?x8xf32> {eff.name = "logits"}) {
  %l = eff.add %x, %x : (tensor<2x?x8xf32>, tensor<2x?x8xf32>) -> tensor<2x?x8xf32>
  return %l : tensor<2x?x8xf32>
}

// -----

// expected-error @+1 {{eff-last-logits: no function result named 'logits'}}
func.func @no_logits(%x: tensor<2x3x8xf32>) -> (tensor<2x3x8xf32> {eff.name = "out"}) {
  return %x : tensor<2x3x8xf32>
}
