// eff-partition-devices attention=ring remarks=true: which eff.attention
// became ring attention (layout, rows a device, hops) and, for every other
// one, why not. With attention=replicate every attention says so.
// RUN: effc-opt %s -eff-partition-devices="devices=2 attention=ring remarks=true" -verify-diagnostics -split-input-file
// RUN: effc-opt %s -eff-partition-devices="devices=2 remarks=true" -split-input-file 2>&1 | FileCheck %s --check-prefix=REPL
// REPL-COUNT-8: remark: replicated: not ring attention: attention=replicate (--devices-attention=ring cuts it)

func.func @causal(%q: tensor<2x4x8x16xf32>, %k: tensor<2x2x8x16xf32>, %v: tensor<2x2x8x16xf32>) -> tensor<2x4x8x16xf32> {
  // expected-remark @+1 {{ring attention over 2 devices: striped tokens (device d holds tokens d, d + 2, ..., for causal balance), 4 query rows a device, causal; the K/V blocks pass the ring in 1 hop, partial results merged by log-sum-exp, the rows gathered on every device}}
  %y = eff.attention %q, %k, %v {causal, num_kv_heads = 2 : i64, scale = 0.25 : f32} : (tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %y : tensor<2x4x8x16xf32>
}

// -----

func.func @full(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  // expected-remark @+1 {{ring attention over 2 devices: contiguous tokens (device d holds tokens d * 4 .. d * 4 + 3), 4 query rows a device, full; the K/V blocks pass the ring in 1 hop}}
  %y = eff.attention %q, %k, %v {num_kv_heads = 4 : i64, scale = 0.25 : f32} : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %y : tensor<2x4x8x16xf32>
}

// -----

func.func @mask(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>, %m: tensor<2x1x1x8xi1>) -> tensor<2x4x8x16xf32> {
  // expected-remark @+1 {{replicated: not ring attention: it has a mask operand (ring attention cuts causal or full attention without one)}}
  %y = eff.attention %q, %k, %v, %m {num_kv_heads = 4 : i64, scale = 0.25 : f32} : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x1x1x8xi1>) -> tensor<2x4x8x16xf32>
  return %y : tensor<2x4x8x16xf32>
}

// -----

func.func @window(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  // expected-remark @+1 {{replicated: not ring attention: sliding window 4}}
  %y = eff.attention %q, %k, %v {causal, window = 4 : i64, num_kv_heads = 4 : i64, scale = 0.25 : f32} : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %y : tensor<2x4x8x16xf32>
}

// -----

func.func @softcap(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  // expected-remark @+1 {{replicated: not ring attention: soft-capped scores}}
  %y = eff.attention %q, %k, %v {causal, softcap = 50.0 : f32, num_kv_heads = 4 : i64, scale = 0.25 : f32} : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %y : tensor<2x4x8x16xf32>
}

// -----

func.func @cache(%q: tensor<2x4x1x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>) -> tensor<2x4x1x16xf32> {
  // expected-remark @+1 {{replicated: not ring attention: 1 queries over 8 keys (a KV cache or cross attention; ring attention needs queries and keys at the same positions)}}
  %y = eff.attention %q, %k, %v {causal, num_kv_heads = 4 : i64, scale = 0.25 : f32} : (tensor<2x4x1x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x1x16xf32>
  return %y : tensor<2x4x1x16xf32>
}

// -----

func.func @odd(%q: tensor<2x4x7x16xf32>, %k: tensor<2x4x7x16xf32>, %v: tensor<2x4x7x16xf32>) -> tensor<2x4x7x16xf32> {
  // expected-remark @+1 {{replicated: not ring attention: sequence 7 does not divide over 2 devices}}
  %y = eff.attention %q, %k, %v {causal, num_kv_heads = 4 : i64, scale = 0.25 : f32} : (tensor<2x4x7x16xf32>, tensor<2x4x7x16xf32>, tensor<2x4x7x16xf32>) -> tensor<2x4x7x16xf32>
  return %y : tensor<2x4x7x16xf32>
}

// -----

func.func @dynamic(%q: tensor<2x4x?x16xf32>, %k: tensor<2x4x?x16xf32>, %v: tensor<2x4x?x16xf32>) -> tensor<2x4x?x16xf32> {
  // expected-remark @+1 {{replicated: not ring attention: q, k and v are not static 4-D tensors (compile with fixed --dim values)}}
  %y = eff.attention %q, %k, %v {causal, num_kv_heads = 4 : i64, scale = 0.25 : f32} : (tensor<2x4x?x16xf32>, tensor<2x4x?x16xf32>, tensor<2x4x?x16xf32>) -> tensor<2x4x?x16xf32>
  return %y : tensor<2x4x?x16xf32>
}
