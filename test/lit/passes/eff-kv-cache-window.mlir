// eff-kv-cache on a sliding-window mask (key j visible to query i iff
// j <= i and i - j < 4). The KV-cache runtime right-pads shorter rows in one
// cache, so slot distance would count padding against the window: a mask
// that is not exactly causal over positions (probed at total = its bound) is
// recomputed over all total positions and read at each row's token
// positions (cum_sum(attention_mask) - 1): rows at the new queries'
// positions, then each row's keys at the key positions (gather_elements),
// and-ed with attention_mask. A causal mask keeps the slot rows
// (eff-kv-cache.mlir); a mask that differs between heads at equal positions
// cannot be read per row and is an error (eff-kv-cache-remarks.mlir).
// RUN: effc-opt %s --eff-kv-cache | FileCheck %s
// RUN: effc-opt %s --eff-kv-cache=remarks=true -verify-diagnostics -o /dev/null
// Its window counts token positions: eff-kv-cache-inplace does not warn
// (eff-kv-cache-inplace-window.mlir: one over cache slots does).
// RUN: effc-opt %s --eff-kv-cache --eff-kv-cache-inplace -o /dev/null 2>&1 | FileCheck %s --check-prefix=QUIET --allow-empty
// QUIET-NOT: warning

// CHECK-LABEL: func.func @window
// CHECK-SAME: %[[IDS:[a-z0-9]*]]: tensor<2x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"}
// CHECK-SAME: %[[AM:[a-z0-9]*]]: tensor<2x?xi64> {eff.dim_params = ["", "total"], eff.name = "attention_mask"}
// The padding mask, then the window mask over all total positions [1, 1,
// total, total]:
// CHECK: eff.cast %[[AM]] {to = 9 : i64}
// CHECK: eff.less_or_equal
// CHECK: eff.less
// CHECK: %[[FULL:.*]] = eff.unsqueeze %{{.*}} : (tensor<?x?xi1>, tensor<2xi64>) -> tensor<1x1x?x?xi1>
// CHECK: %[[TOTAL:.*]] = eff.shape %[[AM]] {end = 2 : i64, start = 1 : i64}
// CHECK: %[[END:.*]] = eff.squeeze %[[TOTAL]]
// CHECK: %[[QROWS:.*]] = eff.range %{{.*}}, %[[END]], %{{.*}} : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
// Token positions of the cache slots:
// CHECK: %[[COUNT:.*]] = eff.cum_sum %[[AM]], %[[ONE:[^ ]*]] : (tensor<2x?xi64>, tensor<i64>) -> tensor<2x?xi64>
// CHECK: %[[P1:.*]] = eff.sub %[[COUNT]], %[[ONE]]
// CHECK: %[[KPOS:.*]] = eff.max %[[P1]], %{{.*}} : (tensor<2x?xi64>, tensor<i64>) -> tensor<2x?xi64>
// CHECK: %[[QPOS:.*]] = eff.gather %[[KPOS]], %[[QROWS]] {axis = 1 : i64} : (tensor<2x?xi64>, tensor<?xi64>) -> tensor<2x?xi64>
// CHECK: %[[RS:.*]] = eff.concat %{{.*}}, %[[TOTAL]] {axis = 0 : i64}
// CHECK: %[[TABLE:.*]] = eff.reshape %[[FULL]], %[[RS]] : (tensor<1x1x?x?xi1>, tensor<2xi64>) -> tensor<?x?xi1>
// CHECK: %[[QR:.*]] = eff.gather %[[TABLE]], %[[QPOS]] : (tensor<?x?xi1>, tensor<2x?xi64>) -> tensor<2x?x?xi1>
// CHECK: %[[K1:.*]] = eff.unsqueeze %[[KPOS]], %{{.*}} : (tensor<2x?xi64>, tensor<1xi64>) -> tensor<2x1x?xi64>
// CHECK: %[[QRS:.*]] = eff.shape %[[QR]]
// CHECK: %[[KX:.*]] = eff.expand %[[K1]], %[[QRS]]
// CHECK: %[[M:.*]] = eff.gather_elements %[[QR]], %[[KX]] {axis = 2 : i64} : (tensor<2x?x?xi1>, tensor<2x?x?xi64>) -> tensor<2x?x?xi1>
// CHECK: %[[M4:.*]] = eff.unsqueeze %[[M]], %{{.*}} : (tensor<2x?x?xi1>, tensor<1xi64>) -> tensor<2x1x?x?xi1>
// CHECK: %[[MASK:.*]] = eff.and %[[M4]], %{{.*}} : (tensor<2x1x?x?xi1>, tensor<2x1x1x?xi1>) -> tensor<2x1x?x?xi1>
// CHECK: eff.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[MASK]]

func.func @window(%ids: tensor<2x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"})
    -> (tensor<2x2x?x4xf32> {eff.name = "logits"})
    attributes {eff.dims = {past = array<i64: 0, 63>, seq = array<i64: 1, 8>, total = array<i64: 1, 64>}} {
  %emb = eff.constant {value = dense<0.5> : tensor<16x4xf32>} : tensor<16x4xf32>
  %zero = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %one = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %w = eff.constant {value = dense<4> : tensor<i64>} : tensor<i64>
  %ax0 = eff.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %ax1 = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %ax01 = eff.constant {value = dense<[0, 1]> : tensor<2xi64>} : tensor<2xi64>
  %x = eff.gather %emb, %ids : (tensor<16x4xf32>, tensor<2x?xi64>) -> tensor<2x?x4xf32>
  %s1 = eff.shape %ids {end = 2 : i64, start = 1 : i64} : (tensor<2x?xi64>) -> tensor<1xi64>
  %s = eff.squeeze %s1 : (tensor<1xi64>) -> tensor<i64>
  %pos = eff.range %zero, %s, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qi = eff.unsqueeze %pos, %ax1 : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x1xi64>
  %kj = eff.unsqueeze %pos, %ax0 : (tensor<?xi64>, tensor<1xi64>) -> tensor<1x?xi64>
  %le = eff.less_or_equal %kj, %qi : (tensor<1x?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %d = eff.sub %qi, %kj : (tensor<?x1xi64>, tensor<1x?xi64>) -> tensor<?x?xi64>
  %near = eff.less %d, %w : (tensor<?x?xi64>, tensor<i64>) -> tensor<?x?xi1>
  %both = eff.and %le, %near : (tensor<?x?xi1>, tensor<?x?xi1>) -> tensor<?x?xi1>
  %mask = eff.unsqueeze %both, %ax01 : (tensor<?x?xi1>, tensor<2xi64>) -> tensor<1x1x?x?xi1>
  %q = eff.unsqueeze %x, %ax1 : (tensor<2x?x4xf32>, tensor<1xi64>) -> tensor<2x1x?x4xf32>
  %q2 = eff.concat %q, %q {axis = 1 : i64} : (tensor<2x1x?x4xf32>, tensor<2x1x?x4xf32>) -> tensor<2x2x?x4xf32>
  // expected-remark @+1 {{kv-cache: attention over past_key_values.0.key/value + the new rows, returned as present.0.key/value; mask recomputed for all total positions and read at each row's token positions (query and key position = count of attention_mask before it; not causal alone, so slot distance would count padding), and-ed with attention_mask}}
  %y = eff.attention %q2, %q, %q, %mask {num_kv_heads = 1 : i64, scale = 5.000000e-01 : f32} : (tensor<2x2x?x4xf32>, tensor<2x1x?x4xf32>, tensor<2x1x?x4xf32>, tensor<1x1x?x?xi1>) -> tensor<2x2x?x4xf32>
  return %y : tensor<2x2x?x4xf32>
}
