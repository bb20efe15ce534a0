// eff-paged-kv: a decoder-with-past layer after eff-kv-cache-inplace
// (eff.kv_append of the new rows to past_key_values.i, read by attention
// and returned as present.i) becomes a page pool: the past input is the
// pool kv_pages.i [pages, kv_heads, page_size, head_dim], eff.paged_kv_write
// stores the new rows (returned as kv_pages_out.i) and eff.paged_attention
// reads them through the new block_table / seq_lens inputs; the mask and
// attention_mask die, and the dims only they named leave eff.dims.
// RUN: effc-opt %s --eff-paged-kv=page-size=4 -split-input-file | FileCheck %s
// RUN: effc-opt %s --eff-paged-kv="page-size=16 pool-pages=7" -split-input-file | FileCheck %s --check-prefix=POOL
// RUN: effc-opt %s --eff-paged-kv="page-size=4 splits=2" -split-input-file | FileCheck %s --check-prefix=SPLIT

// capacity 20 = 5 pages of 4 per sequence; batch bound 3: 15 pages.
// CHECK-LABEL: func.func @layer
// CHECK-SAME: (%[[IDS:.*]]: tensor<?x?xi64> {eff.dim_params = ["batch", "seq"], eff.name = "input_ids"},
// CHECK-SAME: %[[PK:.*]]: tensor<15x2x4x8xf32> {eff.name = "kv_pages.0.key"},
// CHECK-SAME: %[[PV:.*]]: tensor<15x2x4x8xf32> {eff.name = "kv_pages.0.value"},
// CHECK-SAME: %[[Q:[^:]*]]: tensor<?x4x?x8xf32>, %[[K:[^:]*]]: tensor<?x2x?x8xf32>, %[[V:[^:]*]]: tensor<?x2x?x8xf32>,
// CHECK-SAME: %[[TABLE:.*]]: tensor<?x5xi32> {eff.dim_params = ["batch", ""], eff.name = "block_table"},
// CHECK-SAME: %[[LENS:.*]]: tensor<?xi32> {eff.dim_params = ["batch"], eff.name = "seq_lens"},
// CHECK-SAME: %[[SLOTS:.*]]: tensor<?x?xi32> {eff.dim_params = ["batch", "seq"], eff.name = "slot_mapping"})
// CHECK-SAME: -> (tensor<?x4x?x8xf32> {eff.name = "attn"}, tensor<15x2x4x8xf32> {eff.name = "kv_pages_out.0.key"}, tensor<15x2x4x8xf32> {eff.name = "kv_pages_out.0.value"})
// CHECK-SAME: attributes {eff.dims = {batch = array<i64: 1, 3>, seq = array<i64: 1, 4>}}
// CHECK-NEXT: %[[WK:.*]] = eff.paged_kv_write %[[PK]], %[[K]], %[[SLOTS]] : (tensor<15x2x4x8xf32>, tensor<?x2x?x8xf32>, tensor<?x?xi32>) -> tensor<15x2x4x8xf32>
// CHECK-NEXT: %[[WV:.*]] = eff.paged_kv_write %[[PV]], %[[V]], %[[SLOTS]]
// CHECK-NEXT: %[[Y:.*]] = eff.paged_attention %[[Q]], %[[WK]], %[[WV]], %[[TABLE]], %[[LENS]] {scale = 5.000000e-01 : f32}
// CHECK-NEXT: return %[[Y]], %[[WK]], %[[WV]]
// splits=2: the split-KV pair over chunks of whole pages instead.
// SPLIT-LABEL: func.func @layer
// SPLIT: %[[O:.*]], %[[LSE:.*]] = eff.paged_attention_partial %{{.*}} {num_splits = 2 : i64, scale = 5.000000e-01 : f32} : {{.*}} -> (tensor<2x?x4x?x8xf32>, tensor<2x?x4x?xf32>)
// SPLIT-NEXT: %[[Y:.*]] = eff.attention_combine %[[O]], %[[LSE]] {to = 1 : i64} : {{.*}} -> tensor<?x4x?x8xf32>
// SPLIT-NEXT: return %[[Y]]
// POOL-LABEL: func.func @layer
// POOL: tensor<7x2x16x8xf32> {eff.name = "kv_pages.0.key"}
// POOL: tensor<?x2xi32> {eff.dim_params = ["batch", ""], eff.name = "block_table"}
func.func @layer(%ids: tensor<?x?xi64> {eff.dim_params = ["batch", "seq"], eff.name = "input_ids"},
                 %am: tensor<?x?xi64> {eff.dim_params = ["batch", "total"], eff.name = "attention_mask"},
                 %pk: tensor<?x2x?x8xf32> {eff.dim_params = ["batch", "", "past", ""], eff.name = "past_key_values.0.key"},
                 %pv: tensor<?x2x?x8xf32> {eff.dim_params = ["batch", "", "past", ""], eff.name = "past_key_values.0.value"},
                 %q: tensor<?x4x?x8xf32>, %k: tensor<?x2x?x8xf32>, %v: tensor<?x2x?x8xf32>)
    -> (tensor<?x4x?x8xf32> {eff.name = "attn"}, tensor<?x2x?x8xf32> {eff.name = "present.0.key"},
        tensor<?x2x?x8xf32> {eff.name = "present.0.value"})
    attributes {eff.dims = {batch = array<i64: 1, 3>, past = array<i64: 0, 16>, seq = array<i64: 1, 4>, total = array<i64: 1, 20>}} {
  // The causal + padding mask of a decoder with past (what eff-paged-kv
  // checks it is, at probe points): key j <= query past + i, and
  // attention_mask[b, j] != 0.
  %c0 = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %c1 = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %ax1 = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %ax12 = eff.constant {value = dense<[1, 2]> : tensor<2xi64>} : tensor<2xi64>
  %s1 = eff.shape %ids {end = 2 : i64, start = 1 : i64} : (tensor<?x?xi64>) -> tensor<1xi64>
  %s = eff.squeeze %s1 : (tensor<1xi64>) -> tensor<i64>
  %p1 = eff.shape %pk {end = 3 : i64, start = 2 : i64} : (tensor<?x2x?x8xf32>) -> tensor<1xi64>
  %p = eff.squeeze %p1 : (tensor<1xi64>) -> tensor<i64>
  %t = eff.add %p, %s : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %qr = eff.range %c0, %s, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qpos = eff.add %qr, %p : (tensor<?xi64>, tensor<i64>) -> tensor<?xi64>
  %kpos = eff.range %c0, %t, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qcol = eff.unsqueeze %qpos, %ax1 : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x1xi64>
  %causal = eff.less_or_equal %kpos, %qcol : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %amb = eff.cast %am {to = 9 : i64} : (tensor<?x?xi64>) -> tensor<?x?xi1>
  %amu = eff.unsqueeze %amb, %ax12 : (tensor<?x?xi1>, tensor<2xi64>) -> tensor<?x1x1x?xi1>
  %mask = eff.and %causal, %amu : (tensor<?x?xi1>, tensor<?x1x1x?xi1>) -> tensor<?x1x?x?xi1>
  %kk = eff.kv_append %pk, %k {capacity = 20 : i64, state = "present.0.key"} : (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  %vv = eff.kv_append %pv, %v {capacity = 20 : i64, state = "present.0.value"} : (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  %y = eff.attention %q, %kk, %vv, %mask {num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<?x4x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x1x?x?xi1>) -> tensor<?x4x?x8xf32>
  return %y, %kk, %vv : tensor<?x4x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>
}

// -----

// GQA through repeat_kv views (reshapes of keys and values), static batch 2 and
// one new row, causal without a mask: the views die with the appends.
// CHECK-LABEL: func.func @repeat_kv
// CHECK-NOT: eff.reshape
// CHECK-NOT: eff.kv_append
// CHECK: eff.paged_kv_write {{.*}} : (tensor<8x1x4x4xf32>, tensor<2x1x1x4xf32>, tensor<2x1xi32>) -> tensor<8x1x4x4xf32>
// CHECK: eff.paged_attention {{.*}} {scale = 5.000000e-01 : f32} : (tensor<2x2x1x4xf32>, tensor<8x1x4x4xf32>, tensor<8x1x4x4xf32>, tensor<2x4xi32>, tensor<2xi32>) -> tensor<2x2x1x4xf32>
func.func @repeat_kv(%ids: tensor<2x1xi64> {eff.name = "input_ids"},
                     %pk: tensor<2x1x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.3.key"},
                     %pv: tensor<2x1x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.3.value"},
                     %k: tensor<2x1x1x4xf32>, %v: tensor<2x1x1x4xf32>, %q: tensor<2x2x1x4xf32>, %shape: tensor<4xi64>)
    -> (tensor<2x2x1x4xf32> {eff.name = "attn"}, tensor<2x1x?x4xf32> {eff.name = "present.3.key"},
        tensor<2x1x?x4xf32> {eff.name = "present.3.value"})
    attributes {eff.dims = {past = array<i64: 0, 15>}} {
  %kk = eff.kv_append %pk, %k {capacity = 16 : i64, state = "present.3.key"} : (tensor<2x1x?x4xf32>, tensor<2x1x1x4xf32>) -> tensor<2x1x?x4xf32>
  %vv = eff.kv_append %pv, %v {capacity = 16 : i64, state = "present.3.value"} : (tensor<2x1x?x4xf32>, tensor<2x1x1x4xf32>) -> tensor<2x1x?x4xf32>
  %rep = eff.reshape %kk, %shape : (tensor<2x1x?x4xf32>, tensor<4xi64>) -> tensor<2x2x?x4xf32>
  %repv = eff.reshape %vv, %shape : (tensor<2x1x?x4xf32>, tensor<4xi64>) -> tensor<2x2x?x4xf32>
  %y = eff.attention %q, %rep, %repv {causal, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<2x2x1x4xf32>, tensor<2x2x?x4xf32>, tensor<2x2x?x4xf32>) -> tensor<2x2x1x4xf32>
  return %y, %kk, %vv : tensor<2x2x1x4xf32>, tensor<2x1x?x4xf32>, tensor<2x1x?x4xf32>
}

// -----

// Gemma-style alternating layers: layer 0's mask is causal + padding within a
// sliding window of 5 positions (query q sees keys q - 4..q), layer 1's plain
// causal + padding. Each paged op gets its own window (0, the default, is
// not printed); the split-KV form carries it too.
// CHECK-LABEL: func.func @alternating_windows
// CHECK: eff.paged_attention {{.*}} {scale = 5.000000e-01 : f32, window = 5 : i64} : (tensor<?x4x?x8xf32>,
// CHECK: eff.paged_attention {{.*}} {scale = 5.000000e-01 : f32} : (tensor<?x4x?x8xf32>,
// SPLIT-LABEL: func.func @alternating_windows
// SPLIT: eff.paged_attention_partial {{.*}} {num_splits = 2 : i64, scale = 5.000000e-01 : f32, window = 5 : i64}
// SPLIT: eff.paged_attention_partial {{.*}} {num_splits = 2 : i64, scale = 5.000000e-01 : f32} :
func.func @alternating_windows(%ids: tensor<?x?xi64> {eff.dim_params = ["batch", "seq"], eff.name = "input_ids"},
                 %am: tensor<?x?xi64> {eff.dim_params = ["batch", "total"], eff.name = "attention_mask"},
                 %pk: tensor<?x2x?x8xf32> {eff.dim_params = ["batch", "", "past", ""], eff.name = "past_key_values.0.key"},
                 %pv: tensor<?x2x?x8xf32> {eff.dim_params = ["batch", "", "past", ""], eff.name = "past_key_values.0.value"},
                 %pk1: tensor<?x2x?x8xf32> {eff.dim_params = ["batch", "", "past", ""], eff.name = "past_key_values.1.key"},
                 %pv1: tensor<?x2x?x8xf32> {eff.dim_params = ["batch", "", "past", ""], eff.name = "past_key_values.1.value"},
                 %q: tensor<?x4x?x8xf32>, %k: tensor<?x2x?x8xf32>, %v: tensor<?x2x?x8xf32>)
    -> (tensor<?x4x?x8xf32> {eff.name = "attn"}, tensor<?x2x?x8xf32> {eff.name = "present.0.key"},
        tensor<?x2x?x8xf32> {eff.name = "present.0.value"}, tensor<?x4x?x8xf32> {eff.name = "attn1"},
        tensor<?x2x?x8xf32> {eff.name = "present.1.key"}, tensor<?x2x?x8xf32> {eff.name = "present.1.value"})
    attributes {eff.dims = {batch = array<i64: 1, 3>, past = array<i64: 0, 16>, seq = array<i64: 1, 4>, total = array<i64: 1, 20>}} {
  %c0 = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %c1 = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %c5 = eff.constant {value = dense<5> : tensor<i64>} : tensor<i64>
  %ax1 = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %ax12 = eff.constant {value = dense<[1, 2]> : tensor<2xi64>} : tensor<2xi64>
  %s1 = eff.shape %ids {end = 2 : i64, start = 1 : i64} : (tensor<?x?xi64>) -> tensor<1xi64>
  %s = eff.squeeze %s1 : (tensor<1xi64>) -> tensor<i64>
  %p1 = eff.shape %pk {end = 3 : i64, start = 2 : i64} : (tensor<?x2x?x8xf32>) -> tensor<1xi64>
  %p = eff.squeeze %p1 : (tensor<1xi64>) -> tensor<i64>
  %t = eff.add %p, %s : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %qr = eff.range %c0, %s, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qpos = eff.add %qr, %p : (tensor<?xi64>, tensor<i64>) -> tensor<?xi64>
  %kpos = eff.range %c0, %t, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qcol = eff.unsqueeze %qpos, %ax1 : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x1xi64>
  %causal = eff.less_or_equal %kpos, %qcol : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %amb = eff.cast %am {to = 9 : i64} : (tensor<?x?xi64>) -> tensor<?x?xi1>
  %amu = eff.unsqueeze %amb, %ax12 : (tensor<?x?xi1>, tensor<2xi64>) -> tensor<?x1x1x?xi1>
  %mask1 = eff.and %causal, %amu : (tensor<?x?xi1>, tensor<?x1x1x?xi1>) -> tensor<?x1x?x?xi1>
  %dist = eff.sub %qcol, %kpos : (tensor<?x1xi64>, tensor<?xi64>) -> tensor<?x?xi64>
  %near = eff.less %dist, %c5 : (tensor<?x?xi64>, tensor<i64>) -> tensor<?x?xi1>
  %win = eff.and %causal, %near : (tensor<?x?xi1>, tensor<?x?xi1>) -> tensor<?x?xi1>
  %mask = eff.and %win, %amu : (tensor<?x?xi1>, tensor<?x1x1x?xi1>) -> tensor<?x1x?x?xi1>
  %kk = eff.kv_append %pk, %k {capacity = 20 : i64, state = "present.0.key"} : (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  %vv = eff.kv_append %pv, %v {capacity = 20 : i64, state = "present.0.value"} : (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  %y = eff.attention %q, %kk, %vv, %mask {num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<?x4x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x1x?x?xi1>) -> tensor<?x4x?x8xf32>
  %kk1 = eff.kv_append %pk1, %k {capacity = 20 : i64, state = "present.1.key"} : (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  %vv1 = eff.kv_append %pv1, %v {capacity = 20 : i64, state = "present.1.value"} : (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  %y1 = eff.attention %q, %kk1, %vv1, %mask1 {num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<?x4x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x1x?x?xi1>) -> tensor<?x4x?x8xf32>
  return %y, %kk, %vv, %y1, %kk1, %vv1 : tensor<?x4x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x4x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>
}

// -----

// The batch read off a past input (eff.shape of its dim 0, as Llama's
// attention reshapes do with a symbolic batch) comes from input_ids, whose
// dim 0 has the same eff.dim_params name: the past is left to its append and
// the layer is paged (else "also read by eff.shape").
// CHECK-LABEL: func.func @batch_read_off_past
// CHECK-SAME: (%[[IDS:.*]]: tensor<?x?xi64> {eff.dim_params = ["batch", "seq"], eff.name = "input_ids"},
// CHECK: %[[B:.*]] = eff.shape %[[IDS]] {end = 1 : i64} : (tensor<?x?xi64>) -> tensor<1xi64>
// CHECK: eff.paged_attention
// CHECK: return {{.*}}, %[[B]] :
func.func @batch_read_off_past(%ids: tensor<?x?xi64> {eff.dim_params = ["batch", "seq"], eff.name = "input_ids"},
                 %pk: tensor<?x2x?x8xf32> {eff.dim_params = ["batch", "", "past", ""], eff.name = "past_key_values.0.key"},
                 %pv: tensor<?x2x?x8xf32> {eff.dim_params = ["batch", "", "past", ""], eff.name = "past_key_values.0.value"},
                 %q: tensor<?x4x?x8xf32>, %k: tensor<?x2x?x8xf32>, %v: tensor<?x2x?x8xf32>)
    -> (tensor<?x4x?x8xf32> {eff.name = "attn"}, tensor<?x2x?x8xf32> {eff.name = "present.0.key"},
        tensor<?x2x?x8xf32> {eff.name = "present.0.value"}, tensor<1xi64> {eff.name = "batch"})
    attributes {eff.dims = {batch = array<i64: 1, 3>, past = array<i64: 0, 16>, seq = array<i64: 1, 4>}} {
  %b = eff.shape %pv {end = 1 : i64} : (tensor<?x2x?x8xf32>) -> tensor<1xi64>
  %kk = eff.kv_append %pk, %k {capacity = 20 : i64, state = "present.0.key"} : (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  %vv = eff.kv_append %pv, %v {capacity = 20 : i64, state = "present.0.value"} : (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  %y = eff.attention %q, %kk, %vv {causal, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<?x4x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x4x?x8xf32>
  return %y, %kk, %vv, %b : tensor<?x4x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<1xi64>
}
