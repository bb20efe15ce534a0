// eff-kv-cache (effc --kv-cache): a decoder exported without a cache gets
// the with-past interface. Positions (Range over input_ids' seq) are
// re-evaluated over attention_mask's total: the causal mask keeps the rows
// [total - seq, total) and is and-ed with attention_mask, the position table
// [1, seq, 1] is gathered at position_ids ([2, seq, 1]); K and V are joined
// to past_key_values.0.* and returned as present.0.*.
// RUN: effc-opt %s --eff-kv-cache | FileCheck %s
// RUN: not effc-opt %s --eff-kv-cache=past-dim=cache 2>&1 | FileCheck %s --check-prefix=DIM
// DIM: kv-cache: no bounds for the cache dims 'cache' and 'total' (compile with e.g. --dim past=0..255 --dim total=1..288)

// CHECK-LABEL: func.func @decoder
// CHECK-SAME: %[[IDS:.*]]: tensor<2x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"}
// CHECK-SAME: %[[AM:.*]]: tensor<2x?xi64> {eff.dim_params = ["", "total"], eff.name = "attention_mask"}
// CHECK-SAME: %[[POS:.*]]: tensor<2x?xi64> {eff.dim_params = ["", "seq"], eff.name = "position_ids"}
// CHECK-SAME: %[[PK:.*]]: tensor<2x1x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"}
// CHECK-SAME: %[[PV:.*]]: tensor<2x1x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"}
// CHECK-SAME: -> (tensor<2x2x?x4xf32> {eff.name = "logits"}, tensor<2x1x?x4xf32> {eff.name = "present.0.key"}, tensor<2x1x?x4xf32> {eff.name = "present.0.value"})
// The table over all total positions, gathered at position_ids:
// CHECK: %[[T:.*]] = eff.shape %[[AM]] {end = 2 : i64, start = 1 : i64}
// CHECK: %[[TS:.*]] = eff.squeeze %[[T]]
// CHECK: %[[R:.*]] = eff.range %{{.*}}, %[[TS]], %{{.*}}
// CHECK: %[[F:.*]] = eff.cast %[[R]] {to = 1 : i64}
// CHECK: %[[TAB:.*]] = eff.unsqueeze %[[F]]
// CHECK: %[[G:.*]] = eff.gather %[[TAB]], %[[POS]] {axis = 1 : i64} : (tensor<1x?x1xf32>, tensor<2x?xi64>) -> tensor<1x2x?x1xf32>
// CHECK: %[[GS:.*]] = eff.squeeze %[[G]], %{{.*}} : (tensor<1x2x?x1xf32>, tensor<1xi64>) -> tensor<2x?x1xf32>
// CHECK: %[[H:.*]] = eff.add %{{.*}}, %[[GS]]
// The padding mask and the causal mask's rows of the new queries:
// CHECK: %[[AMB:.*]] = eff.cast %[[AM]] {to = 9 : i64}
// CHECK: %[[PAD:.*]] = eff.unsqueeze %[[AMB]], %{{.*}} : (tensor<2x?xi1>, tensor<2xi64>) -> tensor<2x1x1x?xi1>
// CHECK: eff.less_or_equal
// CHECK: %[[FULL:.*]] = eff.unsqueeze %{{.*}} : (tensor<?x?xi1>, tensor<2xi64>) -> tensor<1x1x?x?xi1>
// CHECK: %[[TOTAL:.*]] = eff.shape %[[AM]] {end = 2 : i64, start = 1 : i64}
// CHECK: %[[SEQ:.*]] = eff.shape %[[IDS]] {end = 2 : i64, start = 1 : i64}
// CHECK: %[[END:.*]] = eff.squeeze %[[TOTAL]]
// CHECK: %[[PAST:.*]] = eff.sub %[[TOTAL]], %[[SEQ]]
// CHECK: %[[START:.*]] = eff.squeeze %[[PAST]]
// CHECK: %[[QROWS:.*]] = eff.range %[[START]], %[[END]], %{{.*}} : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
// CHECK: %[[ROWS:.*]] = eff.gather %[[FULL]], %[[QROWS]] {axis = 2 : i64} : (tensor<1x1x?x?xi1>, tensor<?xi64>) -> tensor<1x1x?x?xi1>
// CHECK: %[[MASK:.*]] = eff.and %[[ROWS]], %[[PAD]] : (tensor<1x1x?x?xi1>, tensor<2x1x1x?xi1>) -> tensor<2x1x?x?xi1>
// CHECK: %[[K:.*]] = eff.concat %[[PK]], %[[NEW:.*]] {axis = 2 : i64}
// CHECK: %[[V:.*]] = eff.concat %[[PV]], %[[NEW]] {axis = 2 : i64}
// CHECK: %[[Y:.*]] = eff.attention %{{.*}}, %[[K]], %[[V]], %[[MASK]]
// CHECK: return %[[Y]], %[[K]], %[[V]]

func.func @decoder(%ids: tensor<2x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"})
    -> (tensor<2x2x?x4xf32> {eff.name = "logits"})
    attributes {eff.dims = {past = array<i64: 0, 63>, seq = array<i64: 1, 8>, total = array<i64: 1, 64>}} {
  %emb = eff.constant {value = dense<0.5> : tensor<16x4xf32>} : tensor<16x4xf32>
  %zero = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %one = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %ax0 = eff.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %ax1 = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %ax01 = eff.constant {value = dense<[0, 1]> : tensor<2xi64>} : tensor<2xi64>
  %ax02 = eff.constant {value = dense<[0, 2]> : tensor<2xi64>} : tensor<2xi64>
  %x = eff.gather %emb, %ids : (tensor<16x4xf32>, tensor<2x?xi64>) -> tensor<2x?x4xf32>
  %s1 = eff.shape %ids {end = 2 : i64, start = 1 : i64} : (tensor<2x?xi64>) -> tensor<1xi64>
  %s = eff.squeeze %s1 : (tensor<1xi64>) -> tensor<i64>
  %pos = eff.range %zero, %s, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  // causal mask [1, 1, seq, seq]: key j <= query i
  %qi = eff.unsqueeze %pos, %ax1 : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x1xi64>
  %kj = eff.unsqueeze %pos, %ax0 : (tensor<?xi64>, tensor<1xi64>) -> tensor<1x?xi64>
  %le = eff.less_or_equal %kj, %qi : (tensor<1x?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %mask = eff.unsqueeze %le, %ax01 : (tensor<?x?xi1>, tensor<2xi64>) -> tensor<1x1x?x?xi1>
  // a position table [1, seq, 1] added to the embeddings
  %pf = eff.cast %pos {to = 1 : i64} : (tensor<?xi64>) -> tensor<?xf32>
  %table = eff.unsqueeze %pf, %ax02 : (tensor<?xf32>, tensor<2xi64>) -> tensor<1x?x1xf32>
  %h = eff.add %x, %table : (tensor<2x?x4xf32>, tensor<1x?x1xf32>) -> tensor<2x?x4xf32>
  %q = eff.unsqueeze %h, %ax1 : (tensor<2x?x4xf32>, tensor<1xi64>) -> tensor<2x1x?x4xf32>
  %q2 = eff.concat %q, %q {axis = 1 : i64} : (tensor<2x1x?x4xf32>, tensor<2x1x?x4xf32>) -> tensor<2x2x?x4xf32>
  %y = eff.attention %q2, %q, %q, %mask {num_kv_heads = 1 : i64, scale = 5.000000e-01 : f32} : (tensor<2x2x?x4xf32>, tensor<2x1x?x4xf32>, tensor<2x1x?x4xf32>, tensor<1x1x?x?xi1>) -> tensor<2x2x?x4xf32>
  return %y : tensor<2x2x?x4xf32>
}
