// With remarks, eff-paged-kv says per attention over an eff.kv_append what
// it became or why not, and on the function when nothing was converted.
// RUN: effc-opt %s --eff-paged-kv="page-size=4 remarks=true" -split-input-file -verify-diagnostics -o /dev/null
// RUN: effc-opt %s --eff-paged-kv=page-size=4 -split-input-file | FileCheck %s --check-prefix=ROPE

// The causal + padding mask of a decoder with past (key j <= query past + i
// and attention_mask[b, j] != 0), checked at 9 (past, seq) probes.
func.func @converted(%ids: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                     %am: tensor<1x?xi64> {eff.dim_params = ["", "total"], eff.name = "attention_mask"},
                     %pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                     %pv: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"},
                     %q: tensor<1x2x?x4xf32>, %k: tensor<1x2x?x4xf32>, %v: tensor<1x2x?x4xf32>)
    -> (tensor<1x2x?x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"},
        tensor<1x2x?x4xf32> {eff.name = "present.0.value"})
    attributes {eff.dims = {past = array<i64: 0, 12>, seq = array<i64: 1, 4>, total = array<i64: 1, 16>}} {
  %c0 = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %c1 = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %ax1 = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %ax12 = eff.constant {value = dense<[1, 2]> : tensor<2xi64>} : tensor<2xi64>
  %s1 = eff.shape %ids {end = 2 : i64, start = 1 : i64} : (tensor<1x?xi64>) -> tensor<1xi64>
  %s = eff.squeeze %s1 : (tensor<1xi64>) -> tensor<i64>
  %p1 = eff.shape %pk {end = 3 : i64, start = 2 : i64} : (tensor<1x2x?x4xf32>) -> tensor<1xi64>
  %p = eff.squeeze %p1 : (tensor<1xi64>) -> tensor<i64>
  %t = eff.add %p, %s : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %qr = eff.range %c0, %s, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qpos = eff.add %qr, %p : (tensor<?xi64>, tensor<i64>) -> tensor<?xi64>
  %kpos = eff.range %c0, %t, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qcol = eff.unsqueeze %qpos, %ax1 : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x1xi64>
  %causal = eff.less_or_equal %kpos, %qcol : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %amb = eff.cast %am {to = 9 : i64} : (tensor<1x?xi64>) -> tensor<1x?xi1>
  %amu = eff.unsqueeze %amb, %ax12 : (tensor<1x?xi1>, tensor<2xi64>) -> tensor<1x1x1x?xi1>
  %mask = eff.and %causal, %amu : (tensor<?x?xi1>, tensor<1x1x1x?xi1>) -> tensor<1x1x?x?xi1>
  %kk = eff.kv_append %pk, %k {capacity = 16 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  %vv = eff.kv_append %pv, %v {capacity = 16 : i64, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{paged KV: attention 0 reads 'present.0.key' and 'present.0.value' through the block table (4 pages of 4 positions, 4 per sequence); its mask is replaced by seq_lens and causal (equal to causal + padding at 9 probes of (past, seq))}}
  %y = eff.attention %q, %kk, %vv, %mask {num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x1x?x?xi1>) -> tensor<1x2x?x4xf32>
  return %y, %kk, %vv : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
}

// -----

// attention_mask's length also sizes a position table (cos of range(total),
// as eff-kv-cache builds RoPE's) read at position_ids: the bound of total
// sizes it instead and attention_mask goes.
// ROPE-LABEL: func.func @rope_table
// ROPE-NOT: attention_mask
// ROPE: eff.constant {value = dense<16> : tensor<1xi64>} : tensor<1xi64>
// ROPE-LABEL: func.func @table_not_at_positions
// ROPE-SAME: eff.name = "attention_mask"
// expected-remark @+1 {{paged KV: attention_mask's length only sized tables read at position_ids: they are 16 positions long (its bound) and the input goes}}
func.func @rope_table(%ids: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                     %am: tensor<1x?xi64> {eff.dim_params = ["", "total"], eff.name = "attention_mask"},
                     %pos: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "position_ids"},
                     %pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                     %pv: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"},
                     %q: tensor<1x2x?x4xf32>, %k: tensor<1x2x?x4xf32>, %v: tensor<1x2x?x4xf32>)
    -> (tensor<1x2x?x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"},
        tensor<1x2x?x4xf32> {eff.name = "present.0.value"}, tensor<1x?xf32> {eff.name = "cos"})
    attributes {eff.dims = {past = array<i64: 0, 12>, seq = array<i64: 1, 4>, total = array<i64: 1, 16>}} {
  %c0 = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %c1 = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %ax1 = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %ax12 = eff.constant {value = dense<[1, 2]> : tensor<2xi64>} : tensor<2xi64>
  %s1 = eff.shape %ids {end = 2 : i64, start = 1 : i64} : (tensor<1x?xi64>) -> tensor<1xi64>
  %s = eff.squeeze %s1 : (tensor<1xi64>) -> tensor<i64>
  %p1 = eff.shape %pk {end = 3 : i64, start = 2 : i64} : (tensor<1x2x?x4xf32>) -> tensor<1xi64>
  %p = eff.squeeze %p1 : (tensor<1xi64>) -> tensor<i64>
  %t = eff.add %p, %s : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %qr = eff.range %c0, %s, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qpos = eff.add %qr, %p : (tensor<?xi64>, tensor<i64>) -> tensor<?xi64>
  %kpos = eff.range %c0, %t, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qcol = eff.unsqueeze %qpos, %ax1 : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x1xi64>
  %causal = eff.less_or_equal %kpos, %qcol : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %amb = eff.cast %am {to = 9 : i64} : (tensor<1x?xi64>) -> tensor<1x?xi1>
  %amu = eff.unsqueeze %amb, %ax12 : (tensor<1x?xi1>, tensor<2xi64>) -> tensor<1x1x1x?xi1>
  %mask = eff.and %causal, %amu : (tensor<?x?xi1>, tensor<1x1x1x?xi1>) -> tensor<1x1x?x?xi1>
  %kk = eff.kv_append %pk, %k {capacity = 16 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  %vv = eff.kv_append %pv, %v {capacity = 16 : i64, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{paged KV: attention 0 reads 'present.0.key' and 'present.0.value' through the block table (4 pages of 4 positions, 4 per sequence); its mask is replaced by seq_lens and causal (equal to causal + padding at 9 probes of (past, seq))}}
  %y = eff.attention %q, %kk, %vv, %mask {num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x1x?x?xi1>) -> tensor<1x2x?x4xf32>
  %tl1 = eff.shape %am {end = 2 : i64, start = 1 : i64} : (tensor<1x?xi64>) -> tensor<1xi64>
  %tl = eff.squeeze %tl1 : (tensor<1xi64>) -> tensor<i64>
  %tr = eff.range %c0, %tl, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %trf = eff.cast %tr {to = 1 : i64} : (tensor<?xi64>) -> tensor<?xf32>
  %tcos = eff.cos %trf : (tensor<?xf32>) -> tensor<?xf32>
  %g = eff.gather %tcos, %pos {axis = 0 : i64} : (tensor<?xf32>, tensor<1x?xi64>) -> tensor<1x?xf32>
  return %y, %kk, %vv, %g : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x?xf32>
}

// -----

// The same table read at input_ids' values: its length matters, so
// attention_mask stays (named).
// expected-remark @+1 {{paged KV: attention_mask stays an input: a table of that length reaches an eff.gather that is not at position_ids along its length}}
func.func @table_not_at_positions(%ids: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                     %am: tensor<1x?xi64> {eff.dim_params = ["", "total"], eff.name = "attention_mask"},
                     %pos: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "position_ids"},
                     %pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                     %pv: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"},
                     %q: tensor<1x2x?x4xf32>, %k: tensor<1x2x?x4xf32>, %v: tensor<1x2x?x4xf32>)
    -> (tensor<1x2x?x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"},
        tensor<1x2x?x4xf32> {eff.name = "present.0.value"}, tensor<1x?xf32> {eff.name = "cos"})
    attributes {eff.dims = {past = array<i64: 0, 12>, seq = array<i64: 1, 4>, total = array<i64: 1, 16>}} {
  %c0 = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %c1 = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %ax1 = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %ax12 = eff.constant {value = dense<[1, 2]> : tensor<2xi64>} : tensor<2xi64>
  %s1 = eff.shape %ids {end = 2 : i64, start = 1 : i64} : (tensor<1x?xi64>) -> tensor<1xi64>
  %s = eff.squeeze %s1 : (tensor<1xi64>) -> tensor<i64>
  %p1 = eff.shape %pk {end = 3 : i64, start = 2 : i64} : (tensor<1x2x?x4xf32>) -> tensor<1xi64>
  %p = eff.squeeze %p1 : (tensor<1xi64>) -> tensor<i64>
  %t = eff.add %p, %s : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %qr = eff.range %c0, %s, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qpos = eff.add %qr, %p : (tensor<?xi64>, tensor<i64>) -> tensor<?xi64>
  %kpos = eff.range %c0, %t, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qcol = eff.unsqueeze %qpos, %ax1 : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x1xi64>
  %causal = eff.less_or_equal %kpos, %qcol : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %amb = eff.cast %am {to = 9 : i64} : (tensor<1x?xi64>) -> tensor<1x?xi1>
  %amu = eff.unsqueeze %amb, %ax12 : (tensor<1x?xi1>, tensor<2xi64>) -> tensor<1x1x1x?xi1>
  %mask = eff.and %causal, %amu : (tensor<?x?xi1>, tensor<1x1x1x?xi1>) -> tensor<1x1x?x?xi1>
  %kk = eff.kv_append %pk, %k {capacity = 16 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  %vv = eff.kv_append %pv, %v {capacity = 16 : i64, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{paged KV: attention 0 reads 'present.0.key' and 'present.0.value' through the block table (4 pages of 4 positions, 4 per sequence); its mask is replaced by seq_lens and causal (equal to causal + padding at 9 probes of (past, seq))}}
  %y = eff.attention %q, %kk, %vv, %mask {num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x1x?x?xi1>) -> tensor<1x2x?x4xf32>
  %tl1 = eff.shape %am {end = 2 : i64, start = 1 : i64} : (tensor<1x?xi64>) -> tensor<1xi64>
  %tl = eff.squeeze %tl1 : (tensor<1xi64>) -> tensor<i64>
  %tr = eff.range %c0, %tl, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %trf = eff.cast %tr {to = 1 : i64} : (tensor<?xi64>) -> tensor<?xf32>
  %tcos = eff.cos %trf : (tensor<?xf32>) -> tensor<?xf32>
  %g = eff.gather %tcos, %ids {axis = 0 : i64} : (tensor<?xf32>, tensor<1x?xi64>) -> tensor<1x?xf32>
  return %y, %kk, %vv, %g : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x?xf32>
}

// -----

// A sliding window built into the mask (keys within 3 positions of the
// query) is found at the probes and becomes the paged op's window.
func.func @mask_window(%ids: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                     %am: tensor<1x?xi64> {eff.dim_params = ["", "total"], eff.name = "attention_mask"},
                     %pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                     %pv: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"},
                     %q: tensor<1x2x?x4xf32>, %k: tensor<1x2x?x4xf32>, %v: tensor<1x2x?x4xf32>)
    -> (tensor<1x2x?x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"},
        tensor<1x2x?x4xf32> {eff.name = "present.0.value"})
    attributes {eff.dims = {past = array<i64: 0, 12>, seq = array<i64: 1, 4>, total = array<i64: 1, 16>}} {
  %c0 = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %c1 = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %ax1 = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %ax12 = eff.constant {value = dense<[1, 2]> : tensor<2xi64>} : tensor<2xi64>
  %s1 = eff.shape %ids {end = 2 : i64, start = 1 : i64} : (tensor<1x?xi64>) -> tensor<1xi64>
  %s = eff.squeeze %s1 : (tensor<1xi64>) -> tensor<i64>
  %p1 = eff.shape %pk {end = 3 : i64, start = 2 : i64} : (tensor<1x2x?x4xf32>) -> tensor<1xi64>
  %p = eff.squeeze %p1 : (tensor<1xi64>) -> tensor<i64>
  %t = eff.add %p, %s : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %qr = eff.range %c0, %s, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qpos = eff.add %qr, %p : (tensor<?xi64>, tensor<i64>) -> tensor<?xi64>
  %kpos = eff.range %c0, %t, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qcol = eff.unsqueeze %qpos, %ax1 : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x1xi64>
  %causal = eff.less_or_equal %kpos, %qcol : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %amb = eff.cast %am {to = 9 : i64} : (tensor<1x?xi64>) -> tensor<1x?xi1>
  %amu = eff.unsqueeze %amb, %ax12 : (tensor<1x?xi1>, tensor<2xi64>) -> tensor<1x1x1x?xi1>
  %c3 = eff.constant {value = dense<3> : tensor<i64>} : tensor<i64>
  %dist = eff.sub %qcol, %kpos : (tensor<?x1xi64>, tensor<?xi64>) -> tensor<?x?xi64>
  %near = eff.less %dist, %c3 : (tensor<?x?xi64>, tensor<i64>) -> tensor<?x?xi1>
  %win = eff.and %causal, %near : (tensor<?x?xi1>, tensor<?x?xi1>) -> tensor<?x?xi1>
  %mask = eff.and %win, %amu : (tensor<?x?xi1>, tensor<1x1x1x?xi1>) -> tensor<1x1x?x?xi1>
  %kk = eff.kv_append %pk, %k {capacity = 16 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  %vv = eff.kv_append %pv, %v {capacity = 16 : i64, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{paged KV: attention 0 reads 'present.0.key' and 'present.0.value' through the block table (4 pages of 4 positions, 4 per sequence), sliding window of 3 positions; its mask is replaced by seq_lens, causal and the window (equal to causal + padding + a sliding window of 3 positions at 9 probes of (past, seq))}}
  %y = eff.attention %q, %kk, %vv, %mask {num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x1x?x?xi1>) -> tensor<1x2x?x4xf32>
  return %y, %kk, %vv : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
}

// -----

// A window that also keeps keys 0 and 1 (attention sinks, StreamingLLM) is not
// one sliding window: named, and the model stays unpaged.
// expected-remark @+1 {{paged KV: no layer converted}}
func.func @mask_window_sink(%ids: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                     %am: tensor<1x?xi64> {eff.dim_params = ["", "total"], eff.name = "attention_mask"},
                     %pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                     %pv: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"},
                     %q: tensor<1x2x?x4xf32>, %k: tensor<1x2x?x4xf32>, %v: tensor<1x2x?x4xf32>)
    -> (tensor<1x2x?x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"},
        tensor<1x2x?x4xf32> {eff.name = "present.0.value"})
    attributes {eff.dims = {past = array<i64: 0, 12>, seq = array<i64: 1, 4>, total = array<i64: 1, 16>}} {
  %c0 = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %c1 = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %ax1 = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %ax12 = eff.constant {value = dense<[1, 2]> : tensor<2xi64>} : tensor<2xi64>
  %s1 = eff.shape %ids {end = 2 : i64, start = 1 : i64} : (tensor<1x?xi64>) -> tensor<1xi64>
  %s = eff.squeeze %s1 : (tensor<1xi64>) -> tensor<i64>
  %p1 = eff.shape %pk {end = 3 : i64, start = 2 : i64} : (tensor<1x2x?x4xf32>) -> tensor<1xi64>
  %p = eff.squeeze %p1 : (tensor<1xi64>) -> tensor<i64>
  %t = eff.add %p, %s : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %qr = eff.range %c0, %s, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qpos = eff.add %qr, %p : (tensor<?xi64>, tensor<i64>) -> tensor<?xi64>
  %kpos = eff.range %c0, %t, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qcol = eff.unsqueeze %qpos, %ax1 : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x1xi64>
  %causal = eff.less_or_equal %kpos, %qcol : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %amb = eff.cast %am {to = 9 : i64} : (tensor<1x?xi64>) -> tensor<1x?xi1>
  %amu = eff.unsqueeze %amb, %ax12 : (tensor<1x?xi1>, tensor<2xi64>) -> tensor<1x1x1x?xi1>
  %c3 = eff.constant {value = dense<3> : tensor<i64>} : tensor<i64>
  %dist = eff.sub %qcol, %kpos : (tensor<?x1xi64>, tensor<?xi64>) -> tensor<?x?xi64>
  %near0 = eff.less %dist, %c3 : (tensor<?x?xi64>, tensor<i64>) -> tensor<?x?xi1>
  %c2 = eff.constant {value = dense<2> : tensor<i64>} : tensor<i64>
  %first = eff.less %kpos, %c2 : (tensor<?xi64>, tensor<i64>) -> tensor<?xi1>
  %near = eff.or %near0, %first : (tensor<?x?xi1>, tensor<?xi1>) -> tensor<?x?xi1>
  %win = eff.and %causal, %near : (tensor<?x?xi1>, tensor<?x?xi1>) -> tensor<?x?xi1>
  %mask = eff.and %win, %amu : (tensor<?x?xi1>, tensor<1x1x1x?xi1>) -> tensor<1x1x?x?xi1>
  %kk = eff.kv_append %pk, %k {capacity = 16 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  %vv = eff.kv_append %pv, %v {capacity = 16 : i64, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{paged KV: attention 0 not converted: the mask masks keys that causal + padding attends and is not a sliding window of 3 positions either (query 6, key 1, row 0 at past=6, seq=1)}}
  %y = eff.attention %q, %kk, %vv, %mask {num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x1x?x?xi1>) -> tensor<1x2x?x4xf32>
  return %y, %kk, %vv : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
}

// -----

// A mask that hides each query's own position is no window.
// expected-remark @+1 {{paged KV: no layer converted}}
func.func @mask_hides_diagonal(%ids: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                     %am: tensor<1x?xi64> {eff.dim_params = ["", "total"], eff.name = "attention_mask"},
                     %pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                     %pv: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"},
                     %q: tensor<1x2x?x4xf32>, %k: tensor<1x2x?x4xf32>, %v: tensor<1x2x?x4xf32>)
    -> (tensor<1x2x?x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"},
        tensor<1x2x?x4xf32> {eff.name = "present.0.value"})
    attributes {eff.dims = {past = array<i64: 0, 12>, seq = array<i64: 1, 4>, total = array<i64: 1, 16>}} {
  %c0 = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %c1 = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %ax1 = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %ax12 = eff.constant {value = dense<[1, 2]> : tensor<2xi64>} : tensor<2xi64>
  %s1 = eff.shape %ids {end = 2 : i64, start = 1 : i64} : (tensor<1x?xi64>) -> tensor<1xi64>
  %s = eff.squeeze %s1 : (tensor<1xi64>) -> tensor<i64>
  %p1 = eff.shape %pk {end = 3 : i64, start = 2 : i64} : (tensor<1x2x?x4xf32>) -> tensor<1xi64>
  %p = eff.squeeze %p1 : (tensor<1xi64>) -> tensor<i64>
  %t = eff.add %p, %s : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %qr = eff.range %c0, %s, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qpos = eff.add %qr, %p : (tensor<?xi64>, tensor<i64>) -> tensor<?xi64>
  %kpos = eff.range %c0, %t, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qcol = eff.unsqueeze %qpos, %ax1 : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x1xi64>
  %causal = eff.less_or_equal %kpos, %qcol : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %amb = eff.cast %am {to = 9 : i64} : (tensor<1x?xi64>) -> tensor<1x?xi1>
  %amu = eff.unsqueeze %amb, %ax12 : (tensor<1x?xi1>, tensor<2xi64>) -> tensor<1x1x1x?xi1>
  %c3 = eff.constant {value = dense<3> : tensor<i64>} : tensor<i64>
  %dist = eff.sub %qcol, %kpos : (tensor<?x1xi64>, tensor<?xi64>) -> tensor<?x?xi64>
  %near = eff.less %c0, %dist : (tensor<i64>, tensor<?x?xi64>) -> tensor<?x?xi1>
  %win = eff.and %causal, %near : (tensor<?x?xi1>, tensor<?x?xi1>) -> tensor<?x?xi1>
  %mask = eff.and %win, %amu : (tensor<?x?xi1>, tensor<1x1x1x?xi1>) -> tensor<1x1x?x?xi1>
  %kk = eff.kv_append %pk, %k {capacity = 16 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  %vv = eff.kv_append %pv, %v {capacity = 16 : i64, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{paged KV: attention 0 not converted: the mask hides a query's own position (no sliding window does)}}
  %y = eff.attention %q, %kk, %vv, %mask {num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x1x?x?xi1>) -> tensor<1x2x?x4xf32>
  return %y, %kk, %vv : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
}

// -----

// Padding without causal lets a query see later keys: not what seq_lens and
// causal say.
// expected-remark @+1 {{paged KV: no layer converted}}
func.func @mask_not_causal(%ids: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                     %am: tensor<1x?xi64> {eff.dim_params = ["", "total"], eff.name = "attention_mask"},
                     %pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                     %pv: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"},
                     %q: tensor<1x2x?x4xf32>, %k: tensor<1x2x?x4xf32>, %v: tensor<1x2x?x4xf32>)
    -> (tensor<1x2x?x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"},
        tensor<1x2x?x4xf32> {eff.name = "present.0.value"})
    attributes {eff.dims = {past = array<i64: 0, 12>, seq = array<i64: 1, 4>, total = array<i64: 1, 16>}} {
  %c0 = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %c1 = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %ax1 = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %ax12 = eff.constant {value = dense<[1, 2]> : tensor<2xi64>} : tensor<2xi64>
  %s1 = eff.shape %ids {end = 2 : i64, start = 1 : i64} : (tensor<1x?xi64>) -> tensor<1xi64>
  %s = eff.squeeze %s1 : (tensor<1xi64>) -> tensor<i64>
  %p1 = eff.shape %pk {end = 3 : i64, start = 2 : i64} : (tensor<1x2x?x4xf32>) -> tensor<1xi64>
  %p = eff.squeeze %p1 : (tensor<1xi64>) -> tensor<i64>
  %t = eff.add %p, %s : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %qr = eff.range %c0, %s, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qpos = eff.add %qr, %p : (tensor<?xi64>, tensor<i64>) -> tensor<?xi64>
  %kpos = eff.range %c0, %t, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qcol = eff.unsqueeze %qpos, %ax1 : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x1xi64>
  %causal = eff.less_or_equal %kpos, %qcol : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %amb = eff.cast %am {to = 9 : i64} : (tensor<1x?xi64>) -> tensor<1x?xi1>
  %amu = eff.unsqueeze %amb, %ax12 : (tensor<1x?xi1>, tensor<2xi64>) -> tensor<1x1x1x?xi1>
  %mask = eff.unsqueeze %amb, %ax12 : (tensor<1x?xi1>, tensor<2xi64>) -> tensor<1x1x1x?xi1>
  %kk = eff.kv_append %pk, %k {capacity = 16 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  %vv = eff.kv_append %pv, %v {capacity = 16 : i64, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{paged KV: attention 0 not converted: the mask lets query 1 attend key 3 of row 0 at past=0, seq=4, which causal + padding masks}}
  %y = eff.attention %q, %kk, %vv, %mask {num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x1x1x?xi1>) -> tensor<1x2x?x4xf32>
  return %y, %kk, %vv : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
}

// -----

// A float mask that adds anything but 0 and a large negative (a bias).
// expected-remark @+1 {{paged KV: no layer converted}}
func.func @mask_bias(%ids: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                     %am: tensor<1x?xi64> {eff.dim_params = ["", "total"], eff.name = "attention_mask"},
                     %pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                     %pv: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"},
                     %q: tensor<1x2x?x4xf32>, %k: tensor<1x2x?x4xf32>, %v: tensor<1x2x?x4xf32>)
    -> (tensor<1x2x?x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"},
        tensor<1x2x?x4xf32> {eff.name = "present.0.value"})
    attributes {eff.dims = {past = array<i64: 0, 12>, seq = array<i64: 1, 4>, total = array<i64: 1, 16>}} {
  %c0 = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %c1 = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %ax1 = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %ax12 = eff.constant {value = dense<[1, 2]> : tensor<2xi64>} : tensor<2xi64>
  %s1 = eff.shape %ids {end = 2 : i64, start = 1 : i64} : (tensor<1x?xi64>) -> tensor<1xi64>
  %s = eff.squeeze %s1 : (tensor<1xi64>) -> tensor<i64>
  %p1 = eff.shape %pk {end = 3 : i64, start = 2 : i64} : (tensor<1x2x?x4xf32>) -> tensor<1xi64>
  %p = eff.squeeze %p1 : (tensor<1xi64>) -> tensor<i64>
  %t = eff.add %p, %s : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %qr = eff.range %c0, %s, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qpos = eff.add %qr, %p : (tensor<?xi64>, tensor<i64>) -> tensor<?xi64>
  %kpos = eff.range %c0, %t, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qcol = eff.unsqueeze %qpos, %ax1 : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x1xi64>
  %causal = eff.less_or_equal %kpos, %qcol : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %amb = eff.cast %am {to = 9 : i64} : (tensor<1x?xi64>) -> tensor<1x?xi1>
  %amu = eff.unsqueeze %amb, %ax12 : (tensor<1x?xi1>, tensor<2xi64>) -> tensor<1x1x1x?xi1>
  %m = eff.and %causal, %amu : (tensor<?x?xi1>, tensor<1x1x1x?xi1>) -> tensor<1x1x?x?xi1>
  %zero = eff.constant {value = dense<0.0> : tensor<f32>} : tensor<f32>
  %half = eff.constant {value = dense<-0.5> : tensor<f32>} : tensor<f32>
  %mask = eff.where %m, %zero, %half : (tensor<1x1x?x?xi1>, tensor<f32>, tensor<f32>) -> tensor<1x1x?x?xf32>
  %kk = eff.kv_append %pk, %k {capacity = 16 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  %vv = eff.kv_append %pv, %v {capacity = 16 : i64, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{paged KV: attention 0 not converted: the mask adds -0.50 at past=0, seq=2 (a bias, not only 0 and -inf)}}
  %y = eff.attention %q, %kk, %vv, %mask {num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x1x?x?xf32>) -> tensor<1x2x?x4xf32>
  return %y, %kk, %vv : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
}

// -----

// A mask that reads input_ids' values (rows of pad id 0 attend) differs
// between probes (ids 0 at one, 1 at the next).
// expected-remark @+1 {{paged KV: no layer converted}}
func.func @mask_pad_id(%ids: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                     %am: tensor<1x?xi64> {eff.dim_params = ["", "total"], eff.name = "attention_mask"},
                     %pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                     %pv: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"},
                     %q: tensor<1x2x?x4xf32>, %k: tensor<1x2x?x4xf32>, %v: tensor<1x2x?x4xf32>)
    -> (tensor<1x2x?x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"},
        tensor<1x2x?x4xf32> {eff.name = "present.0.value"})
    attributes {eff.dims = {past = array<i64: 0, 12>, seq = array<i64: 1, 4>, total = array<i64: 1, 16>}} {
  %c0 = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %c1 = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %ax1 = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %ax12 = eff.constant {value = dense<[1, 2]> : tensor<2xi64>} : tensor<2xi64>
  %s1 = eff.shape %ids {end = 2 : i64, start = 1 : i64} : (tensor<1x?xi64>) -> tensor<1xi64>
  %s = eff.squeeze %s1 : (tensor<1xi64>) -> tensor<i64>
  %p1 = eff.shape %pk {end = 3 : i64, start = 2 : i64} : (tensor<1x2x?x4xf32>) -> tensor<1xi64>
  %p = eff.squeeze %p1 : (tensor<1xi64>) -> tensor<i64>
  %t = eff.add %p, %s : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %qr = eff.range %c0, %s, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qpos = eff.add %qr, %p : (tensor<?xi64>, tensor<i64>) -> tensor<?xi64>
  %kpos = eff.range %c0, %t, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qcol = eff.unsqueeze %qpos, %ax1 : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x1xi64>
  %causal = eff.less_or_equal %kpos, %qcol : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %amb = eff.cast %am {to = 9 : i64} : (tensor<1x?xi64>) -> tensor<1x?xi1>
  %amu = eff.unsqueeze %amb, %ax12 : (tensor<1x?xi1>, tensor<2xi64>) -> tensor<1x1x1x?xi1>
  %zid = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %real = eff.equal %ids, %zid : (tensor<1x?xi64>, tensor<i64>) -> tensor<1x?xi1>
  %ax13 = eff.constant {value = dense<[1, 3]> : tensor<2xi64>} : tensor<2xi64>
  %rows = eff.unsqueeze %real, %ax13 : (tensor<1x?xi1>, tensor<2xi64>) -> tensor<1x1x?x1xi1>
  %m0 = eff.and %causal, %amu : (tensor<?x?xi1>, tensor<1x1x1x?xi1>) -> tensor<1x1x?x?xi1>
  %mask = eff.and %m0, %rows : (tensor<1x1x?x?xi1>, tensor<1x1x?x1xi1>) -> tensor<1x1x?x?xi1>
  %kk = eff.kv_append %pk, %k {capacity = 16 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  %vv = eff.kv_append %pv, %v {capacity = 16 : i64, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{paged KV: attention 0 not converted: the mask}}
  %y = eff.attention %q, %kk, %vv, %mask {num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x1x?x?xi1>) -> tensor<1x2x?x4xf32>
  return %y, %kk, %vv : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
}

// -----

// expected-remark @+1 {{paged KV: not converted: no eff.attention reads an eff.kv_append (a decoder with past after eff-kv-cache-inplace)}}
func.func @no_cache(%q: tensor<1x2x3x4xf32>, %k: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %y = eff.attention %q, %k, %k {causal, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %y : tensor<1x2x3x4xf32>
}

// -----

// The attention's own window (causal) becomes the paged op's.
func.func @window(%ids: tensor<1x1xi64> {eff.name = "input_ids"},
                  %pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                  %pv: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"},
                  %q: tensor<1x2x1x4xf32>, %k: tensor<1x2x1x4xf32>, %v: tensor<1x2x1x4xf32>)
    -> (tensor<1x2x1x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"},
        tensor<1x2x?x4xf32> {eff.name = "present.0.value"}) {
  %kk = eff.kv_append %pk, %k {capacity = 16 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x?x4xf32>
  %vv = eff.kv_append %pv, %v {capacity = 16 : i64, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{paged KV: attention 0 reads 'present.0.key' and 'present.0.value' through the block table (4 pages of 4 positions, 4 per sequence), sliding window of 4 positions}}
  %y = eff.attention %q, %kk, %vv {causal, window = 4 : i64, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x1x4xf32>
  return %y, %kk, %vv : tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
}

// -----

// A window on an attention that is not causal (no mask either) has no
// query position to count back from.
// expected-remark @+1 {{paged KV: no layer converted (all or none: one pool layout per model)}}
func.func @window_not_causal(%ids: tensor<1x1xi64> {eff.name = "input_ids"},
                  %pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                  %pv: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"},
                  %q: tensor<1x2x1x4xf32>, %k: tensor<1x2x1x4xf32>, %v: tensor<1x2x1x4xf32>)
    -> (tensor<1x2x1x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"},
        tensor<1x2x?x4xf32> {eff.name = "present.0.value"}) {
  %kk = eff.kv_append %pk, %k {capacity = 16 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x?x4xf32>
  %vv = eff.kv_append %pv, %v {capacity = 16 : i64, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{paged KV: attention 0 not converted: it has a sliding window without causal masking (eff.paged_attention's window counts back from a causal query)}}
  %y = eff.attention %q, %kk, %vv {window = 4 : i64, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x1x4xf32>
  return %y, %kk, %vv : tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
}

// -----

// A soft-cap (Gemma 2) has no paged form.
// expected-remark @+1 {{paged KV: no layer converted (all or none: one pool layout per model)}}
func.func @softcap(%ids: tensor<1x1xi64> {eff.name = "input_ids"},
                  %pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                  %pv: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"},
                  %q: tensor<1x2x1x4xf32>, %k: tensor<1x2x1x4xf32>, %v: tensor<1x2x1x4xf32>)
    -> (tensor<1x2x1x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"},
        tensor<1x2x?x4xf32> {eff.name = "present.0.value"}) {
  %kk = eff.kv_append %pk, %k {capacity = 16 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x?x4xf32>
  %vv = eff.kv_append %pv, %v {capacity = 16 : i64, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{paged KV: attention 0 not converted: it has a soft-cap, ALiBi or sinks (eff.paged_attention has none)}}
  %y = eff.attention %q, %kk, %vv {causal, softcap = 5.0e+01 : f32, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x1x4xf32>
  return %y, %kk, %vv : tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
}

// -----

// expected-remark @+1 {{paged KV: no layer converted}}
func.func @other_reader(%ids: tensor<1x1xi64> {eff.name = "input_ids"},
                        %pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                        %pv: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"},
                        %q: tensor<1x2x1x4xf32>, %k: tensor<1x2x1x4xf32>, %v: tensor<1x2x1x4xf32>)
    -> (tensor<1x2x1x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"},
        tensor<1x2x?x4xf32> {eff.name = "present.0.value"}, tensor<1x2x?x4xf32> {eff.name = "twice"}) {
  %kk = eff.kv_append %pk, %k {capacity = 16 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x?x4xf32>
  %vv = eff.kv_append %pv, %v {capacity = 16 : i64, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x?x4xf32>
  %twice = eff.add %kk, %kk : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{paged KV: attention 0 not converted: the cache is also read by eff.add}}
  %y = eff.attention %q, %kk, %vv {causal, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x1x4xf32>
  return %y, %kk, %vv, %twice : tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
}

// -----

// expected-remark @+1 {{paged KV: no layer converted}}
func.func @mask_input(%ids: tensor<1x1xi64> {eff.name = "input_ids"}, %m: tensor<1x1x1x?xi1> {eff.name = "my_mask"},
                      %pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                      %pv: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"},
                      %q: tensor<1x2x1x4xf32>, %k: tensor<1x2x1x4xf32>, %v: tensor<1x2x1x4xf32>)
    -> (tensor<1x2x1x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"},
        tensor<1x2x?x4xf32> {eff.name = "present.0.value"}) {
  %kk = eff.kv_append %pk, %k {capacity = 16 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x?x4xf32>
  %vv = eff.kv_append %pv, %v {capacity = 16 : i64, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{paged KV: attention 0 not converted: the mask reads the input 'my_mask'}}
  %y = eff.attention %q, %kk, %vv, %m {num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x1x1x?xi1>) -> tensor<1x2x1x4xf32>
  return %y, %kk, %vv : tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
}

// -----

// expected-remark @+1 {{paged KV: not converted: no input_ids input (its [batch, seq] dims name the new inputs')}}
func.func @no_ids(%pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                  %pv: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"},
                  %q: tensor<1x2x1x4xf32>, %k: tensor<1x2x1x4xf32>, %v: tensor<1x2x1x4xf32>)
    -> (tensor<1x2x1x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"},
        tensor<1x2x?x4xf32> {eff.name = "present.0.value"}) {
  %kk = eff.kv_append %pk, %k {capacity = 16 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x?x4xf32>
  %vv = eff.kv_append %pv, %v {capacity = 16 : i64, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x?x4xf32>
  %y = eff.attention %q, %kk, %vv {causal, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x1x4xf32>
  return %y, %kk, %vv : tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
}

// -----

// expected-remark @+1 {{paged KV: not converted: the batch has no upper bound (--dim batch=N, or give pool-pages)}}
func.func @no_batch_bound(%ids: tensor<?x1xi64> {eff.dim_params = ["batch", ""], eff.name = "input_ids"},
                          %pk: tensor<?x2x?x4xf32> {eff.dim_params = ["batch", "", "past", ""], eff.name = "past_key_values.0.key"},
                          %pv: tensor<?x2x?x4xf32> {eff.dim_params = ["batch", "", "past", ""], eff.name = "past_key_values.0.value"},
                          %q: tensor<?x2x1x4xf32>, %k: tensor<?x2x1x4xf32>, %v: tensor<?x2x1x4xf32>)
    -> (tensor<?x2x1x4xf32> {eff.name = "attn"}, tensor<?x2x?x4xf32> {eff.name = "present.0.key"},
        tensor<?x2x?x4xf32> {eff.name = "present.0.value"}) {
  %kk = eff.kv_append %pk, %k {capacity = 16 : i64, state = "present.0.key"} : (tensor<?x2x?x4xf32>, tensor<?x2x1x4xf32>) -> tensor<?x2x?x4xf32>
  %vv = eff.kv_append %pv, %v {capacity = 16 : i64, state = "present.0.value"} : (tensor<?x2x?x4xf32>, tensor<?x2x1x4xf32>) -> tensor<?x2x?x4xf32>
  %y = eff.attention %q, %kk, %vv {causal, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<?x2x1x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) -> tensor<?x2x1x4xf32>
  return %y, %kk, %vv : tensor<?x2x1x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>
}

// -----

// A batch read off a past input whose dim 0 is not named as input_ids' (no
// proof they are one dim) keeps reading the past: the layer stays unpaged.
// expected-remark @+1 {{paged KV: no layer converted}}
func.func @batch_read_other_dim(%ids: tensor<?x1xi64> {eff.dim_params = ["batch", ""], eff.name = "input_ids"},
                                %pk: tensor<?x2x?x4xf32> {eff.dim_params = ["rows", "", "past", ""], eff.name = "past_key_values.0.key"},
                                %pv: tensor<?x2x?x4xf32> {eff.dim_params = ["rows", "", "past", ""], eff.name = "past_key_values.0.value"},
                                %q: tensor<?x2x1x4xf32>, %k: tensor<?x2x1x4xf32>, %v: tensor<?x2x1x4xf32>)
    -> (tensor<?x2x1x4xf32> {eff.name = "attn"}, tensor<?x2x?x4xf32> {eff.name = "present.0.key"},
        tensor<?x2x?x4xf32> {eff.name = "present.0.value"}, tensor<1xi64> {eff.name = "batch"})
    attributes {eff.dims = {batch = array<i64: 1, 3>, rows = array<i64: 1, 3>, past = array<i64: 0, 15>}} {
  %b = eff.shape %pv {end = 1 : i64} : (tensor<?x2x?x4xf32>) -> tensor<1xi64>
  %kk = eff.kv_append %pk, %k {capacity = 16 : i64, state = "present.0.key"} : (tensor<?x2x?x4xf32>, tensor<?x2x1x4xf32>) -> tensor<?x2x?x4xf32>
  %vv = eff.kv_append %pv, %v {capacity = 16 : i64, state = "present.0.value"} : (tensor<?x2x?x4xf32>, tensor<?x2x1x4xf32>) -> tensor<?x2x?x4xf32>
  // expected-remark @+1 {{paged KV: attention 0 not converted: the past input 'past_key_values.0.value' is also read by eff.shape}}
  %y = eff.attention %q, %kk, %vv {causal, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<?x2x1x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) -> tensor<?x2x1x4xf32>
  return %y, %kk, %vv, %b : tensor<?x2x1x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<1xi64>
}
