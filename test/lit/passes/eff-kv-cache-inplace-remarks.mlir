// With remarks, every rank-4 concat along the sequence axis says whether it
// became eff.kv_append and, if not, why.
// RUN: effc-opt %s --eff-kv-cache-inplace=remarks=true -split-input-file -verify-diagnostics -o /dev/null

func.func @converted(%pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                     %k: tensor<1x2x2x4xf32>, %q: tensor<1x2x2x4xf32>, %v: tensor<1x2x?x4xf32>)
    -> (tensor<1x2x2x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"})
    attributes {eff.dims = {past = array<i64: 0, 30>}} {
  // expected-remark @+1 {{KV concat -> eff.kv_append into 'present.0.key', capacity 32 rows, attention reads it directly}}
  %kk = eff.concat %pk, %k {axis = 2 : i64} : (tensor<1x2x?x4xf32>, tensor<1x2x2x4xf32>) -> tensor<1x2x?x4xf32>
  %y = eff.attention %q, %kk, %v {causal, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x2x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x2x4xf32>
  return %y, %kk : tensor<1x2x2x4xf32>, tensor<1x2x?x4xf32>
}

// -----

func.func @not_a_past_input(%a: tensor<1x2x3x4xf32>, %b: tensor<1x2x1x4xf32>) -> tensor<1x2x4x4xf32> {
  // expected-remark @+1 {{KV concat not converted: its first operand is not a function input named past_key_values.{i}.key/value}}
  %c = eff.concat %a, %b {axis = 2 : i64} : (tensor<1x2x3x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x4x4xf32>
  return %c : tensor<1x2x4x4xf32>
}

// -----

func.func @three_operands(%a: tensor<1x2x3x4xf32> {eff.name = "past_key_values.0.key"}, %b: tensor<1x2x1x4xf32>) -> tensor<1x2x5x4xf32> {
  // expected-remark @+1 {{KV concat not converted: it joins 3 tensors, not past and new rows}}
  %c = eff.concat %a, %b, %b {axis = 2 : i64} : (tensor<1x2x3x4xf32>, tensor<1x2x1x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x5x4xf32>
  return %c : tensor<1x2x5x4xf32>
}

// -----

func.func @not_returned(%a: tensor<1x2x3x4xf32> {eff.name = "past_key_values.0.value"}, %b: tensor<1x2x1x4xf32>) -> tensor<1x2x4x4xf32> {
  // expected-remark @+1 {{KV concat not converted: the result is not returned (no present.0.value output)}}
  %c = eff.concat %a, %b {axis = -2 : i64} : (tensor<1x2x3x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x4x4xf32>
  %d = eff.relu %c : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  return %d : tensor<1x2x4x4xf32>
}

// -----

func.func @other_present(%a: tensor<1x2x3x4xf32> {eff.name = "past_key_values.0.key"}, %b: tensor<1x2x1x4xf32>)
    -> (tensor<1x2x4x4xf32> {eff.name = "present.1.key"}) {
  // expected-remark @+1 {{KV concat not converted: the result is returned as 'present.1.key', not 'present.0.key' (the present that feeds 'past_key_values.0.key' back)}}
  %c = eff.concat %a, %b {axis = 2 : i64} : (tensor<1x2x3x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x4x4xf32>
  return %c : tensor<1x2x4x4xf32>
}

// -----

func.func @no_attention(%a: tensor<1x2x3x4xf32> {eff.name = "past_key_values.0.key"}, %b: tensor<1x2x1x4xf32>)
    -> (tensor<1x2x4x4xf32> {eff.name = "present.0.key"}) {
  // expected-remark @+1 {{KV concat not converted: the result reaches no eff.attention key or value (was attention raised? eff-raise-attention --remarks tells)}}
  %c = eff.concat %a, %b {axis = 2 : i64} : (tensor<1x2x3x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x4x4xf32>
  return %c : tensor<1x2x4x4xf32>
}

// -----

// A past without bounds (a fixed-size or unbounded past): no capacity.
func.func @no_bound(%pk: tensor<1x2x?x4xf32> {eff.name = "past_key_values.0.key"},
                    %k: tensor<1x2x1x4xf32>, %q: tensor<1x2x1x4xf32>, %v: tensor<1x2x?x4xf32>)
    -> (tensor<1x2x1x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"}) {
  // expected-remark @+1 {{KV concat not converted: no upper bound for the past length (compile with --dim past=0..N and a bounded seq, or give max-length)}}
  %kk = eff.concat %pk, %k {axis = 2 : i64} : (tensor<1x2x?x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x?x4xf32>
  %y = eff.attention %q, %kk, %v {causal, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x1x4xf32>
  return %y, %kk : tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>
}

// -----

// One past length: nothing to keep between steps.
func.func @fixed_past(%pk: tensor<1x2x5x4xf32> {eff.name = "past_key_values.0.key"},
                      %k: tensor<1x2x1x4xf32>, %q: tensor<1x2x1x4xf32>, %v: tensor<1x2x6x4xf32>)
    -> (tensor<1x2x1x4xf32> {eff.name = "attn"}, tensor<1x2x6x4xf32> {eff.name = "present.0.key"}) {
  // expected-remark @+1 {{KV concat not converted: past has the fixed length 5: an artifact for one past length keeps no cache between steps}}
  %kk = eff.concat %pk, %k {axis = 2 : i64} : (tensor<1x2x5x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x6x4xf32>
  %y = eff.attention %q, %kk, %v {causal, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x1x4xf32>, tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>) -> tensor<1x2x1x4xf32>
  return %y, %kk : tensor<1x2x1x4xf32>, tensor<1x2x6x4xf32>
}

// -----

// Attention reads the cache through the exporter's K^T round trip.
func.func @round_trip(%pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                      %k: tensor<1x2x1x4xf32>, %q: tensor<1x2x1x4xf32>, %v: tensor<1x2x?x4xf32>)
    -> (tensor<1x2x1x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"})
    attributes {eff.dims = {past = array<i64: 0, 7>}} {
  // expected-remark @+1 {{KV concat -> eff.kv_append into 'present.0.key', capacity 8 rows, attention reads it through 2 reshape/expand/unsqueeze/transpose op(s) (repeat_kv, K^T round trip)}}
  %kk = eff.concat %pk, %k {axis = 2 : i64} : (tensor<1x2x?x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x?x4xf32>
  %kt = eff.transpose %kk {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x?x4xf32>) -> tensor<1x2x4x?xf32>
  %kb = eff.transpose %kt {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x4x?xf32>) -> tensor<1x2x?x4xf32>
  %y = eff.attention %q, %kb, %v {causal, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x1x4xf32>
  return %y, %kk : tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>
}
