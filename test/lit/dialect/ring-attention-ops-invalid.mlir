// RUN: effc-opt %s -split-input-file -verify-diagnostics
// One case per error path of eff.ring_attention's verifier and inference:
// the runtime sends the K/V blocks around the ring by these types and the
// device list alone.

func.func @count(%q: tensor<1x2x4x8xf32>, %k: tensor<1x1x4x8xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{has 5 blocks for 2 devices (q, k and v blocks, one each per device)}}
  %y = eff.ring_attention %q, %q, %k, %k, %k {devices = array<i64: 0, 1>, num_kv_heads = 1 : i64, scale = 1.0 : f32} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>) -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @dynamic(%q: tensor<1x2x?x8xf32>, %k: tensor<1x1x4x8xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{q block 0 must be a static 4-D tensor, got 'tensor<1x2x?x8xf32>'}}
  %y = eff.ring_attention %q, %q, %k, %k, %k, %k {devices = array<i64: 0, 1>, num_kv_heads = 1 : i64, scale = 1.0 : f32} : (tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>) -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @twice(%q: tensor<1x2x4x8xf32>, %k: tensor<1x1x4x8xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{device 1 is given twice; one ring position per device}}
  %y = eff.ring_attention %q, %q, %k, %k, %k, %k {devices = array<i64: 1, 1>, num_kv_heads = 1 : i64, scale = 1.0 : f32} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>) -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @outside(%q: tensor<1x2x4x8xf32>, %k: tensor<1x1x4x8xf32>) -> tensor<1x2x8x8xf32> attributes {eff.devices = 2 : i64} {
  // expected-error @+1 {{ring position 1 is device 2, outside 0..1 (the function's eff.devices)}}
  %y = eff.ring_attention %q, %q, %k, %k, %k, %k {devices = array<i64: 0, 2>, num_kv_heads = 1 : i64, scale = 1.0 : f32} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>) -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @heads(%q: tensor<1x3x4x8xf32>, %k: tensor<1x2x4x8xf32>) -> tensor<1x3x8x8xf32> {
  // expected-error @+1 {{num_kv_heads 2 with k blocks of 2 heads and q blocks of 3 (query heads a multiple of the kv heads)}}
  %y = eff.ring_attention %q, %q, %k, %k, %k, %k {devices = array<i64: 0, 1>, num_kv_heads = 2 : i64, scale = 1.0 : f32} : (tensor<1x3x4x8xf32>, tensor<1x3x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x3x8x8xf32>
  return %y : tensor<1x3x8x8xf32>
}

// -----

func.func @rows(%q: tensor<1x2x4x8xf32>, %k: tensor<1x1x4x8xf32>, %k3: tensor<1x1x3x8xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{k block 1 has type 'tensor<1x1x3x8xf32>', expected 'tensor<1x1x4x8xf32>' (every device holds 4 rows of each)}}
  %y = eff.ring_attention %q, %q, %k, %k3, %k, %k {devices = array<i64: 0, 1>, num_kv_heads = 1 : i64, scale = 1.0 : f32} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x3x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>) -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @dtype(%q: tensor<1x2x4x8xf32>, %k: tensor<1x1x4x8xf32>, %v: tensor<1x1x4x8xf16>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{v block 0 has type 'tensor<1x1x4x8xf16>', expected 'tensor<1x1x4x8xf32>'}}
  %y = eff.ring_attention %q, %q, %k, %k, %v, %v {devices = array<i64: 0, 1>, num_kv_heads = 1 : i64, scale = 1.0 : f32} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf16>, tensor<1x1x4x8xf16>) -> tensor<1x2x8x8xf16>
  return %y : tensor<1x2x8x8xf16>
}
