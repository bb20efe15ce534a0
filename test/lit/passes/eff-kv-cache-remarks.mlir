// With remarks, eff-kv-cache says per attention and positional tensor what
// it became; what it cannot convert is an error naming the op and why (the
// function is then left as it was).
// RUN: effc-opt %s --eff-kv-cache=remarks=true -split-input-file -verify-diagnostics -o /dev/null

// expected-error @+1 {{kv-cache: input 'attention_mask': a model without past may have no input besides input_ids (its masks and positions would cover the new tokens only)}}
func.func @other_input(%ids: tensor<2x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                       %m: tensor<2x?xi64> {eff.name = "attention_mask"})
    -> tensor<2x?xi64> attributes {eff.dims = {past = array<i64: 0, 63>, seq = array<i64: 1, 8>, total = array<i64: 1, 64>}} {
  return %m : tensor<2x?xi64>
}

// -----

// expected-error @+1 {{kv-cache: the model has no input 'input_ids' [batch, seq]}}
func.func @no_ids(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  return %x : tensor<2x4xf32>
}

// -----

// expected-error @+1 {{kv-cache: input 'input_ids' must be [batch, seq] with a symbolic seq (compile with --dim seq=1..N)}}
func.func @fixed_seq(%ids: tensor<2x8xi64> {eff.name = "input_ids"}) -> tensor<2x8xi64> {
  return %ids : tensor<2x8xi64>
}

// -----

// expected-error @+1 {{kv-cache: no bounds for the cache dims 'past' and 'total' (compile with e.g. --dim past=0..255 --dim total=1..288)}}
func.func @no_cache_dims(%ids: tensor<2x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"}) -> tensor<2x?xi64>
    attributes {eff.dims = {seq = array<i64: 1, 8>}} {
  return %ids : tensor<2x?xi64>
}

// -----

// expected-remark @+1 {{kv-cache: the model has past_key_values inputs already; eff-kv-cache-inplace turns its concats into cache appends}}
func.func @with_past(%ids: tensor<2x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                     %pk: tensor<2x1x?x4xf32> {eff.name = "past_key_values.0.key"}) -> tensor<2x?xi64> {
  return %ids : tensor<2x?xi64>
}

// -----

// Positions from token values (a cumsum over input_ids), a bidirectional
// attention (no mask, not causal).
// expected-error @+1 {{kv-cache: not converted: no eff.attention}}
func.func @token_positions(%ids: tensor<2x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"})
    -> tensor<2x?xi64> attributes {eff.dims = {past = array<i64: 0, 63>, seq = array<i64: 1, 8>, total = array<i64: 1, 64>}} {
  %ax = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  // expected-error @+2 {{kv-cache: not converted: input_ids is read by eff.cum_sum, not by an embedding gather or a shape: positions or masks computed from token values are not supported}}
  // expected-error @+1 {{kv-cache: not converted: eff.cum_sum computes positions from data, not from the sequence length: it cannot be offset by the cached length}}
  %c = eff.cum_sum %ids, %ax : (tensor<2x?xi64>, tensor<i64>) -> tensor<2x?xi64>
  return %c : tensor<2x?xi64>
}

// -----

func.func @bidirectional(%ids: tensor<2x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"})
    -> tensor<2x1x?x4xf32> attributes {eff.dims = {past = array<i64: 0, 63>, seq = array<i64: 1, 8>, total = array<i64: 1, 64>}} {
  %emb = eff.constant {value = dense<0.5> : tensor<16x4xf32>} : tensor<16x4xf32>
  %ax1 = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %x = eff.gather %emb, %ids : (tensor<16x4xf32>, tensor<2x?xi64>) -> tensor<2x?x4xf32>
  %q = eff.unsqueeze %x, %ax1 : (tensor<2x?x4xf32>, tensor<1xi64>) -> tensor<2x1x?x4xf32>
  // expected-error @+1 {{kv-cache: not converted: it is bidirectional (no causal attribute, no mask): an encoder's attention cannot attend over a cache}}
  %y = eff.attention %q, %q, %q {num_kv_heads = 1 : i64, scale = 5.000000e-01 : f32} : (tensor<2x1x?x4xf32>, tensor<2x1x?x4xf32>, tensor<2x1x?x4xf32>) -> tensor<2x1x?x4xf32>
  return %y : tensor<2x1x?x4xf32>
}

// -----

// A mask computed from the sequence length that compares no positions
// (all-attend), and the sequence length read as data (a scale).
func.func @no_compare(%ids: tensor<2x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"})
    -> tensor<2x1x?x4xf32> attributes {eff.dims = {past = array<i64: 0, 63>, seq = array<i64: 1, 8>, total = array<i64: 1, 64>}} {
  %emb = eff.constant {value = dense<0.5> : tensor<16x4xf32>} : tensor<16x4xf32>
  %ax1 = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %x = eff.gather %emb, %ids : (tensor<16x4xf32>, tensor<2x?xi64>) -> tensor<2x?x4xf32>
  %s = eff.shape %ids : (tensor<2x?xi64>) -> tensor<2xi64>
  %sf = eff.cast %s {to = 1 : i64} : (tensor<2xi64>) -> tensor<2xf32>
  %two = eff.constant {value = dense<2> : tensor<1xi64>} : tensor<1xi64>
  %sc = eff.slice %sf, %ax1, %two : (tensor<2xf32>, tensor<1xi64>, tensor<1xi64>) -> tensor<1xf32>
  %shape4 = eff.constant {value = dense<[1, 1, 1, 1]> : tensor<4xi64>} : tensor<4xi64>
  %full = eff.constant_of_shape %shape4 {value = dense<true> : tensor<1xi1>} : (tensor<4xi64>) -> tensor<1x1x1x1xi1>
  %s2 = eff.shape %ids {start = 1 : i64} : (tensor<2x?xi64>) -> tensor<1xi64>
  %m0 = eff.reshape %full, %ax1 : (tensor<1x1x1x1xi1>, tensor<1xi64>) -> tensor<1xi1>
  %mshape = eff.concat %ax1, %ax1, %s2, %s2 {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xi64>
  %mask = eff.expand %m0, %mshape : (tensor<1xi1>, tensor<4xi64>) -> tensor<1x1x?x?xi1>
  %q = eff.unsqueeze %x, %ax1 : (tensor<2x?x4xf32>, tensor<1xi64>) -> tensor<2x1x?x4xf32>
  // expected-error @+1 {{kv-cache: not converted: eff.mul reads a value computed from the sequence length (operand 1) as data, not as a shape: it cannot be offset by the cached length}}
  %scaled = eff.mul %x, %sc : (tensor<2x?x4xf32>, tensor<1xf32>) -> tensor<2x?x4xf32>
  // expected-error @+1 {{kv-cache: not converted: its mask compares no positions (no causal or window pattern): bidirectional attention cannot attend over a cache}}
  %y = eff.attention %q, %q, %q, %mask {num_kv_heads = 1 : i64, scale = 5.000000e-01 : f32} : (tensor<2x1x?x4xf32>, tensor<2x1x?x4xf32>, tensor<2x1x?x4xf32>, tensor<1x1x?x?xi1>) -> tensor<2x1x?x4xf32>
  return %y : tensor<2x1x?x4xf32>
}

// -----

// Position tables the batch would not line up with: [seq, 1] (no leading
// unit dim), and one read by a matmul.
func.func @tables(%ids: tensor<2x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"})
    -> (tensor<2x1x?x4xf32>, tensor<2x?x?xf32>) attributes {eff.dims = {past = array<i64: 0, 63>, seq = array<i64: 1, 8>, total = array<i64: 1, 64>}} {
  %emb = eff.constant {value = dense<0.5> : tensor<16x4xf32>} : tensor<16x4xf32>
  %zero = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %one = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %ax1 = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %ax0 = eff.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %x = eff.gather %emb, %ids : (tensor<16x4xf32>, tensor<2x?xi64>) -> tensor<2x?x4xf32>
  %s1 = eff.shape %ids {end = 2 : i64, start = 1 : i64} : (tensor<2x?xi64>) -> tensor<1xi64>
  %s = eff.squeeze %s1 : (tensor<1xi64>) -> tensor<i64>
  %pos = eff.range %zero, %s, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %pf = eff.cast %pos {to = 1 : i64} : (tensor<?xi64>) -> tensor<?xf32>
  // expected-error @+1 {{kv-cache: not converted: positional tensor eff.unsqueeze is not [1, ..., seq, ...] (unit dims before its sequence axis, the first one for the batch)}}
  %col = eff.unsqueeze %pf, %ax1 : (tensor<?xf32>, tensor<1xi64>) -> tensor<?x1xf32>
  %h = eff.add %x, %col : (tensor<2x?x4xf32>, tensor<?x1xf32>) -> tensor<2x?x4xf32>
  %row = eff.unsqueeze %pf, %ax0 : (tensor<?xf32>, tensor<1xi64>) -> tensor<1x?xf32>
  %row3 = eff.unsqueeze %row, %ax0 : (tensor<1x?xf32>, tensor<1xi64>) -> tensor<1x1x?xf32>
  %xt = eff.unsqueeze %x, %ax1 : (tensor<2x?x4xf32>, tensor<1xi64>) -> tensor<2x1x?x4xf32>
  %two = eff.constant {value = dense<2> : tensor<1xi64>} : tensor<1xi64>
  %cols = eff.slice %x, %ax0, %ax1 axes %two : (tensor<2x?x4xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x?x1xf32>
  // expected-error @+1 {{kv-cache: not converted: positional tensor eff.unsqueeze is read by eff.matmul, not by an elementwise op of its rank (RoPE tables and position embeddings are): its batch dim would not line up}}
  %mm = eff.matmul %cols, %row3 : (tensor<2x?x1xf32>, tensor<1x1x?xf32>) -> tensor<2x?x?xf32>
  %q = eff.unsqueeze %h, %ax1 : (tensor<2x?x4xf32>, tensor<1xi64>) -> tensor<2x1x?x4xf32>
  %y = eff.attention %q, %q, %q {causal, num_kv_heads = 1 : i64, scale = 5.000000e-01 : f32} : (tensor<2x1x?x4xf32>, tensor<2x1x?x4xf32>, tensor<2x1x?x4xf32>) -> tensor<2x1x?x4xf32>
  return %y, %mm : tensor<2x1x?x4xf32>, tensor<2x?x?xf32>
}

// -----

// A window on one head only: a mask that is not causal alone is read at
// each row's token positions, which needs one mask over positions for all
// batch rows and heads.
func.func @per_head(%ids: tensor<2x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"})
    -> (tensor<2x2x?x4xf32> {eff.name = "logits"})
    attributes {eff.dims = {past = array<i64: 0, 63>, seq = array<i64: 1, 8>, total = array<i64: 1, 64>}} {
  %emb = eff.constant {value = dense<0.5> : tensor<16x4xf32>} : tensor<16x4xf32>
  %zero = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %one = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %w = eff.constant {value = dense<[[[4]], [[100]]]> : tensor<2x1x1xi64>} : tensor<2x1x1xi64>
  %ax0 = eff.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %ax1 = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %x = eff.gather %emb, %ids : (tensor<16x4xf32>, tensor<2x?xi64>) -> tensor<2x?x4xf32>
  %s1 = eff.shape %ids {end = 2 : i64, start = 1 : i64} : (tensor<2x?xi64>) -> tensor<1xi64>
  %s = eff.squeeze %s1 : (tensor<1xi64>) -> tensor<i64>
  %pos = eff.range %zero, %s, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qi = eff.unsqueeze %pos, %ax1 : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x1xi64>
  %kj = eff.unsqueeze %pos, %ax0 : (tensor<?xi64>, tensor<1xi64>) -> tensor<1x?xi64>
  %le = eff.less_or_equal %kj, %qi : (tensor<1x?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %d = eff.sub %qi, %kj : (tensor<?x1xi64>, tensor<1x?xi64>) -> tensor<?x?xi64>
  %near = eff.less %d, %w : (tensor<?x?xi64>, tensor<2x1x1xi64>) -> tensor<2x?x?xi1>
  %both = eff.and %le, %near : (tensor<?x?xi1>, tensor<2x?x?xi1>) -> tensor<2x?x?xi1>
  %mask = eff.unsqueeze %both, %ax0 : (tensor<2x?x?xi1>, tensor<1xi64>) -> tensor<1x2x?x?xi1>
  %q = eff.unsqueeze %x, %ax1 : (tensor<2x?x4xf32>, tensor<1xi64>) -> tensor<2x1x?x4xf32>
  %q2 = eff.concat %q, %q {axis = 1 : i64} : (tensor<2x1x?x4xf32>, tensor<2x1x?x4xf32>) -> tensor<2x2x?x4xf32>
  // expected-error @+1 {{kv-cache: not converted: its mask differs between batch rows or heads at equal positions: it cannot be read at each row's token positions}}
  %y = eff.attention %q2, %q, %q, %mask {num_kv_heads = 1 : i64, scale = 5.000000e-01 : f32} : (tensor<2x2x?x4xf32>, tensor<2x1x?x4xf32>, tensor<2x1x?x4xf32>, tensor<1x2x?x?xi1>) -> tensor<2x2x?x4xf32>
  return %y : tensor<2x2x?x4xf32>
}
