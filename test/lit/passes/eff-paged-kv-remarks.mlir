// With remarks, eff-paged-kv says per attention over an eff.kv_append what
// it became or why not, and on the function when nothing was converted.
// RUN: effc-opt %s --eff-paged-kv="page-size=4 remarks=true" -split-input-file -verify-diagnostics -o /dev/null

func.func @converted(%ids: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                     %mask: tensor<1x1x?x?xi1> {eff.name = "attention_mask"},
                     %pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                     %pv: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"},
                     %q: tensor<1x2x?x4xf32>, %k: tensor<1x2x?x4xf32>, %v: tensor<1x2x?x4xf32>)
    -> (tensor<1x2x?x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"},
        tensor<1x2x?x4xf32> {eff.name = "present.0.value"})
    attributes {eff.dims = {past = array<i64: 0, 12>, seq = array<i64: 1, 4>}} {
  %kk = eff.kv_append %pk, %k {capacity = 16 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  %vv = eff.kv_append %pv, %v {capacity = 16 : i64, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{paged KV: attention 0 reads 'present.0.key' and 'present.0.value' through the block table (4 pages of 4 positions, 4 per sequence); its mask is replaced by seq_lens and causal}}
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

// One layer that cannot be paged keeps every layer unpaged.
// expected-remark @+1 {{paged KV: no layer converted (all or none: one pool layout per model)}}
func.func @window(%ids: tensor<1x1xi64> {eff.name = "input_ids"},
                  %pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                  %pv: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"},
                  %q: tensor<1x2x1x4xf32>, %k: tensor<1x2x1x4xf32>, %v: tensor<1x2x1x4xf32>)
    -> (tensor<1x2x1x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"},
        tensor<1x2x?x4xf32> {eff.name = "present.0.value"}) {
  %kk = eff.kv_append %pk, %k {capacity = 16 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x?x4xf32>
  %vv = eff.kv_append %pv, %v {capacity = 16 : i64, state = "present.0.value"} : (tensor<1x2x?x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x?x4xf32>
  // expected-remark @+1 {{paged KV: attention 0 not converted: it has a sliding window, a soft-cap, ALiBi or sinks (eff.paged_attention has none)}}
  %y = eff.attention %q, %kk, %vv {causal, window = 4 : i64, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x1x4xf32>
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
