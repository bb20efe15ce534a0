// RUN: effc-opt %s -split-input-file -verify-diagnostics
// One case per error path of eff.kv_append.

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
