// eff-packed-tokens: a paged decoder with input_ids [1, seq] runs many
// sequences' tokens packed along seq, attention one query row per token
// through its sequence's block_table row (token_seq) and token_seq_lens; or,
// with remarks, why not.
// RUN: effc-opt %s --eff-packed-tokens="remarks=true" -split-input-file -verify-diagnostics -o /dev/null
// RUN: effc-opt %s --eff-packed-tokens -split-input-file | FileCheck %s

// CHECK-LABEL: func.func @converted
// CHECK-SAME: %[[TABLE:[^:]*]]: tensor<?x4xi32> {eff.dim_params = ["seqs", ""], eff.name = "block_table"}
// CHECK-SAME: %{{.*}}: tensor<?xi32> {eff.dim_params = ["seq"], eff.name = "token_seq_lens"}
// CHECK-SAME: %[[SEQ:[^:]*]]: tensor<?xi32> {eff.dim_params = ["seq"], eff.name = "token_seq"}
// CHECK-SAME: eff.dims = {seq = array<i64: 1, 8>, seqs = array<i64: 1, 8>}
// CHECK: %[[ROWS:.*]] = eff.gather %[[TABLE]], %[[SEQ]] {{.*}} -> tensor<?x4xi32>
// CHECK: %[[Q:.*]] = eff.transpose %{{.*}} {perm = array<i64: 2, 1, 0, 3>} : (tensor<1x2x?x4xf32>) -> tensor<?x2x1x4xf32>
// CHECK: %[[Y:.*]] = eff.paged_attention %[[Q]], %{{.*}}, %{{.*}}, %[[ROWS]], {{.*}} -> tensor<?x2x1x4xf32>
// CHECK: eff.transpose %[[Y]] {perm = array<i64: 2, 1, 0, 3>} : (tensor<?x2x1x4xf32>) -> tensor<1x2x?x4xf32>
// expected-remark @+1 {{packed tokens: input_ids [1, T] holds the new tokens of many sequences back to back; 1 paged attentions run one query row per token through its sequence's row of block_table [seqs, 4] (token_seq [T]) and token_seq_lens [T]; no other op mixes tokens}}
func.func @converted(%ids: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                     %pk: tensor<4x2x4x4xf32> {eff.name = "kv_pages.0.key"},
                     %pv: tensor<4x2x4x4xf32> {eff.name = "kv_pages.0.value"},
                     %table: tensor<1x4xi32> {eff.dim_params = ["", ""], eff.name = "block_table"},
                     %lens: tensor<1xi32> {eff.dim_params = [""], eff.name = "seq_lens"},
                     %slots: tensor<1x?xi32> {eff.dim_params = ["", "seq"], eff.name = "slot_mapping"},
                     %q: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "seq", ""]},
                     %k: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "seq", ""]},
                     %v: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "seq", ""]})
    -> (tensor<1x?x8xf32> {eff.name = "attn"}, tensor<4x2x4x4xf32> {eff.name = "kv_pages_out.0.key"},
        tensor<4x2x4x4xf32> {eff.name = "kv_pages_out.0.value"})
    attributes {eff.dims = {seq = array<i64: 1, 8>}} {
  %kw = eff.paged_kv_write %pk, %k, %slots : (tensor<4x2x4x4xf32>, tensor<1x2x?x4xf32>, tensor<1x?xi32>) -> tensor<4x2x4x4xf32>
  %vw = eff.paged_kv_write %pv, %v, %slots : (tensor<4x2x4x4xf32>, tensor<1x2x?x4xf32>, tensor<1x?xi32>) -> tensor<4x2x4x4xf32>
  %y = eff.paged_attention %q, %kw, %vw, %table, %lens {scale = 5.000000e-01 : f32} : (tensor<1x2x?x4xf32>, tensor<4x2x4x4xf32>, tensor<4x2x4x4xf32>, tensor<1x4xi32>, tensor<1xi32>) -> tensor<1x2x?x4xf32>
  // Per token: heads next to each other, a norm over them, the token count
  // read only to reshape.
  %t = eff.transpose %y {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x2x?x4xf32>) -> tensor<1x?x2x4xf32>
  %s = eff.shape %ids : (tensor<1x?xi64>) -> tensor<2xi64>
  %c8 = eff.constant {value = dense<8> : tensor<1xi64>} : tensor<1xi64>
  %shape = eff.concat %s, %c8 {axis = 0 : i64} : (tensor<2xi64>, tensor<1xi64>) -> tensor<3xi64>
  %r = eff.reshape %t, %shape : (tensor<1x?x2x4xf32>, tensor<3xi64>) -> tensor<1x?x8xf32>
  %sm = eff.softmax %r : (tensor<1x?x8xf32>) -> tensor<1x?x8xf32>
  return %sm, %kw, %vw : tensor<1x?x8xf32>, tensor<4x2x4x4xf32>, tensor<4x2x4x4xf32>
}

// -----

// A softmax over the tokens: each token would see the others.
// CHECK-LABEL: func.func @softmax_over_tokens
// CHECK-SAME: eff.name = "block_table"
// expected-remark @+1 {{packed tokens: not converted: an eff.softmax over the tokens}}
func.func @softmax_over_tokens(%ids: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                     %pk: tensor<4x2x4x4xf32> {eff.name = "kv_pages.0.key"},
                     %pv: tensor<4x2x4x4xf32> {eff.name = "kv_pages.0.value"},
                     %table: tensor<1x4xi32> {eff.dim_params = ["", ""], eff.name = "block_table"},
                     %lens: tensor<1xi32> {eff.dim_params = [""], eff.name = "seq_lens"},
                     %slots: tensor<1x?xi32> {eff.dim_params = ["", "seq"], eff.name = "slot_mapping"},
                     %q: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "seq", ""]},
                     %k: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "seq", ""]},
                     %v: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "seq", ""]})
    -> (tensor<1x2x?x4xf32> {eff.name = "attn"}, tensor<4x2x4x4xf32> {eff.name = "kv_pages_out.0.key"},
        tensor<4x2x4x4xf32> {eff.name = "kv_pages_out.0.value"})
    attributes {eff.dims = {seq = array<i64: 1, 8>}} {
  %kw = eff.paged_kv_write %pk, %k, %slots : (tensor<4x2x4x4xf32>, tensor<1x2x?x4xf32>, tensor<1x?xi32>) -> tensor<4x2x4x4xf32>
  %vw = eff.paged_kv_write %pv, %v, %slots : (tensor<4x2x4x4xf32>, tensor<1x2x?x4xf32>, tensor<1x?xi32>) -> tensor<4x2x4x4xf32>
  %y = eff.paged_attention %q, %kw, %vw, %table, %lens {scale = 5.000000e-01 : f32} : (tensor<1x2x?x4xf32>, tensor<4x2x4x4xf32>, tensor<4x2x4x4xf32>, tensor<1x4xi32>, tensor<1xi32>) -> tensor<1x2x?x4xf32>
  %sm = eff.softmax %y {axis = 2 : i64} : (tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  return %sm, %kw, %vw : tensor<1x2x?x4xf32>, tensor<4x2x4x4xf32>, tensor<4x2x4x4xf32>
}

// -----

// Scores of every query against every key (an unpaged attention's first
// product) pair tokens.
// expected-remark @+1 {{packed tokens: not converted: an eff.matmul contracts or pairs tokens}}
func.func @pairs_tokens(%ids: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                     %pk: tensor<4x2x4x4xf32> {eff.name = "kv_pages.0.key"},
                     %table: tensor<1x4xi32> {eff.dim_params = ["", ""], eff.name = "block_table"},
                     %lens: tensor<1xi32> {eff.dim_params = [""], eff.name = "seq_lens"},
                     %slots: tensor<1x?xi32> {eff.dim_params = ["", "seq"], eff.name = "slot_mapping"},
                     %q: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "seq", ""]},
                     %kt: tensor<1x2x4x?xf32> {eff.dim_params = ["", "", "", "seq"]})
    -> (tensor<1x2x?x?xf32> {eff.name = "scores"}, tensor<1x2x?x4xf32> {eff.name = "attn"})
    attributes {eff.dims = {seq = array<i64: 1, 8>}} {
  %y = eff.paged_attention %q, %pk, %pk, %table, %lens {scale = 5.000000e-01 : f32} : (tensor<1x2x?x4xf32>, tensor<4x2x4x4xf32>, tensor<4x2x4x4xf32>, tensor<1x4xi32>, tensor<1xi32>) -> tensor<1x2x?x4xf32>
  %s = eff.matmul %q, %kt : (tensor<1x2x?x4xf32>, tensor<1x2x4x?xf32>) -> tensor<1x2x?x?xf32>
  return %s, %y : tensor<1x2x?x?xf32>, tensor<1x2x?x4xf32>
}

// -----

// Rows of a batch of 2: the tokens are not one row.
// expected-remark @+1 {{packed tokens: not converted: input_ids is not [1, seq] (compile with --dim batch=1: the packed tokens are its seq)}}
func.func @batch_two(%ids: tensor<2x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                     %table: tensor<2x4xi32> {eff.dim_params = ["", ""], eff.name = "block_table"},
                     %lens: tensor<2xi32> {eff.dim_params = [""], eff.name = "seq_lens"},
                     %slots: tensor<2x?xi32> {eff.dim_params = ["", "seq"], eff.name = "slot_mapping"})
    -> (tensor<2x?xi64> {eff.name = "out"})
    attributes {eff.dims = {seq = array<i64: 1, 8>}} {
  return %ids : tensor<2x?xi64>
}

// -----

// A reshape that moves elements across tokens ([1, 2, T, 4] as [T, 8]: a
// row would hold both heads of other tokens).
// expected-remark @+1 {{packed tokens: not converted: eff.reshape regroups the tokens (not one token dim after the same leading elements)}}
func.func @regroups(%ids: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                     %pk: tensor<4x2x4x4xf32> {eff.name = "kv_pages.0.key"},
                     %table: tensor<1x4xi32> {eff.dim_params = ["", ""], eff.name = "block_table"},
                     %lens: tensor<1xi32> {eff.dim_params = [""], eff.name = "seq_lens"},
                     %slots: tensor<1x?xi32> {eff.dim_params = ["", "seq"], eff.name = "slot_mapping"},
                     %q: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "seq", ""]})
    -> (tensor<?x8xf32> {eff.name = "attn"})
    attributes {eff.dims = {seq = array<i64: 1, 8>}} {
  %y = eff.paged_attention %q, %pk, %pk, %table, %lens {scale = 5.000000e-01 : f32} : (tensor<1x2x?x4xf32>, tensor<4x2x4x4xf32>, tensor<4x2x4x4xf32>, tensor<1x4xi32>, tensor<1xi32>) -> tensor<1x2x?x4xf32>
  %shape = eff.constant {value = dense<[-1, 8]> : tensor<2xi64>} : tensor<2xi64>
  %r = eff.reshape %y, %shape : (tensor<1x2x?x4xf32>, tensor<2xi64>) -> tensor<?x8xf32>
  return %r : tensor<?x8xf32>
}
