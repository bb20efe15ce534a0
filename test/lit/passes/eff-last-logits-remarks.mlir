// With remarks, eff-last-logits says what the logits became.
// RUN: effc-opt %s --eff-last-logits=remarks=true -verify-diagnostics -o /dev/null

func.func @lm(%ids: tensor<2x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
              %h: tensor<2x?x4xf32>) -> (tensor<2x?x8xf32> {eff.name = "logits"})
    attributes {eff.dims = {seq = array<i64: 1, 32>}} {
  %w = eff.constant {value = dense<0.5> : tensor<4x8xf32>} : tensor<4x8xf32>
  // expected-remark @+1 {{eff-last-logits: 'logits' computed at input 'logits_index' only: 'tensor<2x1x8xf32>' (the LM head over 1 row of each sequence's runtime positions)}}
  %l = eff.matmul %h, %w : (tensor<2x?x4xf32>, tensor<4x8xf32>) -> tensor<2x?x8xf32>
  return %l : tensor<2x?x8xf32>
}
