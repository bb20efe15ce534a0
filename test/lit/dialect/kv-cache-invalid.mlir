// RUN: effc-opt %s -split-input-file -verify-diagnostics
// One case per error path of eff.kv_append, eff.paged_attention(_partial) and
// eff.paged_kv_write.

func.func @rank(%p: tensor<2x3x4xf32>, %n: tensor<2x1x4xf32>) -> tensor<2x4x4xf32> {
  // expected-error @+1 {{past and new_rows must be 4-D [B, H, seq, head_dim], got 'tensor<2x3x4xf32>' and 'tensor<2x1x4xf32>'}}
  %0 = eff.kv_append %p, %n {capacity = 8 : i64, state = "present.0.key"} : (tensor<2x3x4xf32>, tensor<2x1x4xf32>) -> tensor<2x4x4xf32>
  return %0 : tensor<2x4x4xf32>
}

// -----

func.func @element_type(%p: tensor<1x2x3x4xf32>, %n: tensor<1x2x1x4xf16>) -> tensor<1x2x4x4xf32> {
  // expected-error @+1 {{must have one element type}}
  %0 = eff.kv_append %p, %n {capacity = 8 : i64, state = "present.0.key"} : (tensor<1x2x3x4xf32>, tensor<1x2x1x4xf16>) -> tensor<1x2x4x4xf32>
  return %0 : tensor<1x2x4x4xf32>
}

// -----

func.func @heads(%p: tensor<1x2x3x4xf32>, %n: tensor<1x1x1x4xf32>) -> tensor<1x2x4x4xf32> {
  // expected-error @+1 {{differ in dim 1 (only dim 2, the sequence, may)}}
  %0 = eff.kv_append %p, %n {capacity = 8 : i64, state = "present.0.key"} : (tensor<1x2x3x4xf32>, tensor<1x1x1x4xf32>) -> tensor<1x2x4x4xf32>
  return %0 : tensor<1x2x4x4xf32>
}

// -----

func.func @capacity(%p: tensor<1x2x3x4xf32>, %n: tensor<1x2x2x4xf32>) -> tensor<1x2x5x4xf32> {
  // expected-error @+1 {{past and new_rows hold 5 rows, more than the cache's capacity 4}}
  %0 = eff.kv_append %p, %n {capacity = 4 : i64, state = "present.0.key"} : (tensor<1x2x3x4xf32>, tensor<1x2x2x4xf32>) -> tensor<1x2x5x4xf32>
  return %0 : tensor<1x2x5x4xf32>
}

// -----

func.func @capacity_positive(%p: tensor<1x2x?x4xf32>, %n: tensor<1x2x1x4xf32>) -> tensor<1x2x?x4xf32> {
  // expected-error @+1 {{capacity must be >= 1, got 0}}
  %0 = eff.kv_append %p, %n {capacity = 0 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x?x4xf32>
  return %0 : tensor<1x2x?x4xf32>
}

// -----

func.func @state(%p: tensor<1x2x?x4xf32>, %n: tensor<1x2x1x4xf32>) -> tensor<1x2x?x4xf32> {
  // expected-error @+1 {{state must name the cache (the output it is returned as)}}
  %0 = eff.kv_append %p, %n {capacity = 8 : i64, state = ""} : (tensor<1x2x?x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x?x4xf32>
  return %0 : tensor<1x2x?x4xf32>
}

// -----
// eff.paged_attention: one case per verifier error.

func.func @paged_rank(%q: tensor<2x4x8xf32>, %k: tensor<4x2x4x8xf32>, %t: tensor<2x2xi32>, %l: tensor<2xi32>) -> tensor<2x4x8xf32> {
  // expected-error @+1 {{q must be 4-D [B, Hq, S, D] and k_cache, v_cache 4-D [pages, Hkv, page_size, D], got 'tensor<2x4x8xf32>'}}
  %0 = eff.paged_attention %q, %k, %k, %t, %l {scale = 1.0 : f32} : (tensor<2x4x8xf32>, tensor<4x2x4x8xf32>, tensor<4x2x4x8xf32>, tensor<2x2xi32>, tensor<2xi32>) -> tensor<2x4x8xf32>
  return %0 : tensor<2x4x8xf32>
}

// -----

func.func @paged_table_rank(%q: tensor<2x4x1x8xf32>, %k: tensor<4x2x4x8xf32>, %t: tensor<2xi32>, %l: tensor<2xi32>) -> tensor<2x4x1x8xf32> {
  // expected-error @+1 {{block_table must be 2-D [B, max_pages] and seq_lens 1-D [B], got 'tensor<2xi32>' and 'tensor<2xi32>'}}
  %0 = eff.paged_attention %q, %k, %k, %t, %l {scale = 1.0 : f32} : (tensor<2x4x1x8xf32>, tensor<4x2x4x8xf32>, tensor<4x2x4x8xf32>, tensor<2xi32>, tensor<2xi32>) -> tensor<2x4x1x8xf32>
  return %0 : tensor<2x4x1x8xf32>
}

// -----

func.func @paged_element_type(%q: tensor<2x4x1x8xf32>, %k: tensor<4x2x4x8xf16>, %t: tensor<2x2xi32>, %l: tensor<2xi32>) -> tensor<2x4x1x8xf32> {
  // expected-error @+1 {{must have one element type}}
  %0 = eff.paged_attention %q, %k, %k, %t, %l {scale = 1.0 : f32} : (tensor<2x4x1x8xf32>, tensor<4x2x4x8xf16>, tensor<4x2x4x8xf16>, tensor<2x2xi32>, tensor<2xi32>) -> tensor<2x4x1x8xf32>
  return %0 : tensor<2x4x1x8xf32>
}

// -----

func.func @paged_kv_differ(%q: tensor<2x4x1x8xf32>, %k: tensor<4x2x4x8xf32>, %v: tensor<5x2x4x8xf32>, %t: tensor<2x2xi32>, %l: tensor<2xi32>) -> tensor<2x4x1x8xf32> {
  // expected-error @+1 {{differ in dim 0}}
  %0 = eff.paged_attention %q, %k, %v, %t, %l {scale = 1.0 : f32} : (tensor<2x4x1x8xf32>, tensor<4x2x4x8xf32>, tensor<5x2x4x8xf32>, tensor<2x2xi32>, tensor<2xi32>) -> tensor<2x4x1x8xf32>
  return %0 : tensor<2x4x1x8xf32>
}

// -----

func.func @paged_head_dim(%q: tensor<2x4x1x8xf32>, %k: tensor<4x2x4x16xf32>, %t: tensor<2x2xi32>, %l: tensor<2xi32>) -> tensor<2x4x1x8xf32> {
  // expected-error @+1 {{k_cache has head dim 16 but q has 8}}
  %0 = eff.paged_attention %q, %k, %k, %t, %l {scale = 1.0 : f32} : (tensor<2x4x1x8xf32>, tensor<4x2x4x16xf32>, tensor<4x2x4x16xf32>, tensor<2x2xi32>, tensor<2xi32>) -> tensor<2x4x1x8xf32>
  return %0 : tensor<2x4x1x8xf32>
}

// -----

func.func @paged_heads(%q: tensor<2x3x1x8xf32>, %k: tensor<4x2x4x8xf32>, %t: tensor<2x2xi32>, %l: tensor<2xi32>) -> tensor<2x3x1x8xf32> {
  // expected-error @+1 {{k_cache's 2 kv heads do not divide q's 3 heads}}
  %0 = eff.paged_attention %q, %k, %k, %t, %l {scale = 1.0 : f32} : (tensor<2x3x1x8xf32>, tensor<4x2x4x8xf32>, tensor<4x2x4x8xf32>, tensor<2x2xi32>, tensor<2xi32>) -> tensor<2x3x1x8xf32>
  return %0 : tensor<2x3x1x8xf32>
}

// -----

func.func @paged_batch(%q: tensor<2x4x1x8xf32>, %k: tensor<4x2x4x8xf32>, %t: tensor<3x2xi32>, %l: tensor<2xi32>) -> tensor<2x4x1x8xf32> {
  // expected-error @+1 {{block_table has batch 3 but q has 2}}
  %0 = eff.paged_attention %q, %k, %k, %t, %l {scale = 1.0 : f32} : (tensor<2x4x1x8xf32>, tensor<4x2x4x8xf32>, tensor<4x2x4x8xf32>, tensor<3x2xi32>, tensor<2xi32>) -> tensor<2x4x1x8xf32>
  return %0 : tensor<2x4x1x8xf32>
}

// -----

func.func @paged_scale(%q: tensor<2x4x1x8xf32>, %k: tensor<4x2x4x8xf32>, %t: tensor<2x2xi32>, %l: tensor<2xi32>) -> tensor<2x4x1x8xf32> {
  // expected-error @+1 {{scale must be positive and finite, got 0}}
  %0 = eff.paged_attention %q, %k, %k, %t, %l {scale = 0.0 : f32} : (tensor<2x4x1x8xf32>, tensor<4x2x4x8xf32>, tensor<4x2x4x8xf32>, tensor<2x2xi32>, tensor<2xi32>) -> tensor<2x4x1x8xf32>
  return %0 : tensor<2x4x1x8xf32>
}

// -----

func.func @paged_causal(%q: tensor<2x4x1x8xf32>, %k: tensor<4x2x4x8xf32>, %t: tensor<2x2xi32>, %l: tensor<2xi32>) -> tensor<2x4x1x8xf32> {
  // expected-error @+1 {{causal must be 0 or 1, got 2}}
  %0 = eff.paged_attention %q, %k, %k, %t, %l {scale = 1.0 : f32, causal = 2 : i64} : (tensor<2x4x1x8xf32>, tensor<4x2x4x8xf32>, tensor<4x2x4x8xf32>, tensor<2x2xi32>, tensor<2xi32>) -> tensor<2x4x1x8xf32>
  return %0 : tensor<2x4x1x8xf32>
}

// -----

func.func @paged_window_negative(%q: tensor<2x4x1x8xf32>, %k: tensor<4x2x4x8xf32>, %t: tensor<2x2xi32>, %l: tensor<2xi32>) -> tensor<2x4x1x8xf32> {
  // expected-error @+1 {{window must be >= 0 (0: none), got -3}}
  %0 = eff.paged_attention %q, %k, %k, %t, %l {scale = 1.0 : f32, window = -3 : i64} : (tensor<2x4x1x8xf32>, tensor<4x2x4x8xf32>, tensor<4x2x4x8xf32>, tensor<2x2xi32>, tensor<2xi32>) -> tensor<2x4x1x8xf32>
  return %0 : tensor<2x4x1x8xf32>
}

// -----

func.func @paged_window_not_causal(%q: tensor<2x4x1x8xf32>, %k: tensor<4x2x4x8xf32>, %t: tensor<2x2xi32>, %l: tensor<2xi32>) -> tensor<2x4x1x8xf32> {
  // expected-error @+1 {{a sliding window (window = 4) needs causal = 1 (it counts back from each query's position)}}
  %0 = eff.paged_attention %q, %k, %k, %t, %l {scale = 1.0 : f32, causal = 0 : i64, window = 4 : i64} : (tensor<2x4x1x8xf32>, tensor<4x2x4x8xf32>, tensor<4x2x4x8xf32>, tensor<2x2xi32>, tensor<2xi32>) -> tensor<2x4x1x8xf32>
  return %0 : tensor<2x4x1x8xf32>
}

// -----

func.func @paged_partial_window(%q: tensor<2x4x1x8xf32>, %k: tensor<4x2x4x8xf32>, %t: tensor<2x2xi32>, %l: tensor<2xi32>) -> (tensor<2x2x4x1x8xf32>, tensor<2x2x4x1xf32>) {
  // expected-error @+1 {{window must be >= 0 (0: none), got -1}}
  %0, %1 = eff.paged_attention_partial %q, %k, %k, %t, %l {scale = 1.0 : f32, num_splits = 2 : i64, window = -1 : i64} : (tensor<2x4x1x8xf32>, tensor<4x2x4x8xf32>, tensor<4x2x4x8xf32>, tensor<2x2xi32>, tensor<2xi32>) -> (tensor<2x2x4x1x8xf32>, tensor<2x2x4x1xf32>)
  return %0, %1 : tensor<2x2x4x1x8xf32>, tensor<2x2x4x1xf32>
}

// -----

func.func @paged_splits(%q: tensor<2x4x1x8xf32>, %k: tensor<4x2x4x8xf32>, %t: tensor<2x2xi32>, %l: tensor<2xi32>) -> tensor<*xf32> {
  // expected-error @+1 {{num_splits must be >= 1, got 0}}
  %p:2 = eff.paged_attention_partial %q, %k, %k, %t, %l {scale = 1.0 : f32, num_splits = 0 : i64} : (tensor<2x4x1x8xf32>, tensor<4x2x4x8xf32>, tensor<4x2x4x8xf32>, tensor<2x2xi32>, tensor<2xi32>) -> (tensor<*xf32>, tensor<*xf32>)
  return %p#0 : tensor<*xf32>
}

// -----

func.func @paged_partial_scale(%q: tensor<2x4x1x8xf32>, %k: tensor<4x2x4x8xf32>, %t: tensor<2x2xi32>, %l: tensor<2xi32>) -> (tensor<2x2x4x1x8xf32>, tensor<2x2x4x1xf32>) {
  // expected-error @+1 {{scale must be positive and finite, got -1}}
  %0, %1 = eff.paged_attention_partial %q, %k, %k, %t, %l {scale = -1.0 : f32, num_splits = 2 : i64} : (tensor<2x4x1x8xf32>, tensor<4x2x4x8xf32>, tensor<4x2x4x8xf32>, tensor<2x2xi32>, tensor<2xi32>) -> (tensor<2x2x4x1x8xf32>, tensor<2x2x4x1xf32>)
  return %0, %1 : tensor<2x2x4x1x8xf32>, tensor<2x2x4x1xf32>
}

// -----

func.func @write_rank(%c: tensor<4x2x8xf32>, %r: tensor<1x2x1x8xf32>, %m: tensor<1x1xi32>) -> tensor<4x2x8xf32> {
  // expected-error @+1 {{cache must be 4-D [pages, H, page_size, D], new_rows 4-D [B, H, S, D] and slot_mapping 2-D [B, S], got 'tensor<4x2x8xf32>', 'tensor<1x2x1x8xf32>' and 'tensor<1x1xi32>'}}
  %0 = eff.paged_kv_write %c, %r, %m : (tensor<4x2x8xf32>, tensor<1x2x1x8xf32>, tensor<1x1xi32>) -> tensor<4x2x8xf32>
  return %0 : tensor<4x2x8xf32>
}

// -----

func.func @write_element_type(%c: tensor<4x2x4x8xf32>, %r: tensor<1x2x1x8xbf16>, %m: tensor<1x1xi32>) -> tensor<4x2x4x8xf32> {
  // expected-error @+1 {{must have one element type}}
  %0 = eff.paged_kv_write %c, %r, %m : (tensor<4x2x4x8xf32>, tensor<1x2x1x8xbf16>, tensor<1x1xi32>) -> tensor<4x2x4x8xf32>
  return %0 : tensor<4x2x4x8xf32>
}

// -----

func.func @write_heads(%c: tensor<4x2x4x8xf32>, %r: tensor<1x1x1x8xf32>, %m: tensor<1x1xi32>) -> tensor<4x2x4x8xf32> {
  // expected-error @+1 {{differ in dim 1 (heads)}}
  %0 = eff.paged_kv_write %c, %r, %m : (tensor<4x2x4x8xf32>, tensor<1x1x1x8xf32>, tensor<1x1xi32>) -> tensor<4x2x4x8xf32>
  return %0 : tensor<4x2x4x8xf32>
}

// -----

func.func @write_head_dim(%c: tensor<4x2x4x8xf32>, %r: tensor<1x2x1x4xf32>, %m: tensor<1x1xi32>) -> tensor<4x2x4x8xf32> {
  // expected-error @+1 {{differ in dim 3 (head dim)}}
  %0 = eff.paged_kv_write %c, %r, %m : (tensor<4x2x4x8xf32>, tensor<1x2x1x4xf32>, tensor<1x1xi32>) -> tensor<4x2x4x8xf32>
  return %0 : tensor<4x2x4x8xf32>
}

// -----

func.func @write_mapping(%c: tensor<4x2x4x8xf32>, %r: tensor<1x2x3x8xf32>, %m: tensor<1x2xi32>) -> tensor<4x2x4x8xf32> {
  // expected-error @+1 {{slot_mapping 'tensor<1x2xi32>' must be [B, S] of new_rows 'tensor<1x2x3x8xf32>'}}
  %0 = eff.paged_kv_write %c, %r, %m : (tensor<4x2x4x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2xi32>) -> tensor<4x2x4x8xf32>
  return %0 : tensor<4x2x4x8xf32>
}

// -----

func.func @write_mapping_type(%c: tensor<4x2x4x8xf32>, %r: tensor<1x2x1x8xf32>, %m: tensor<1x1xf32>) -> tensor<4x2x4x8xf32> {
  // expected-error @+1 {{operand #2 must be tensor of}}
  %0 = eff.paged_kv_write %c, %r, %m : (tensor<4x2x4x8xf32>, tensor<1x2x1x8xf32>, tensor<1x1xf32>) -> tensor<4x2x4x8xf32>
  return %0 : tensor<4x2x4x8xf32>
}
