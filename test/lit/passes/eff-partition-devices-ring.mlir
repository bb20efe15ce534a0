// eff-partition-devices attention=ring (--devices-attention=ring): an
// eff.attention over the whole sequence becomes one eff.ring_attention; the
// rows of device d's tokens are eff.gather's of q, k and v on the sequence
// axis placed on d (striped: d, d + N, ...; contiguous: d * n ..), and the
// ring op's result (every token's row, on every device) replaces the
// attention. Causal attention is striped by default, full attention
// contiguous; ring-layout forces either. attention=replicate (the default)
// leaves it alone.
// RUN: effc-opt %s -eff-partition-devices="devices=2 attention=ring" | FileCheck %s --check-prefix=TWO
// RUN: effc-opt %s -eff-partition-devices="devices=4 attention=ring ring-layout=contiguous" | FileCheck %s --check-prefix=CONT
// RUN: effc-opt %s -eff-partition-devices="devices=2" | FileCheck %s --check-prefix=REPL
// RUN: not effc-opt %s -eff-partition-devices="devices=2 attention=rings" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not effc-opt %s -eff-partition-devices="devices=2 attention=ring ring-layout=zigzag" 2>&1 | FileCheck %s --check-prefix=BADLAYOUT

// TWO-LABEL: func @causal
// TWO: %[[I0:.*]] = eff.constant {value = dense<[0, 2, 4, 6]> : tensor<4xi64>}
// TWO: %[[Q0:.*]] = eff.gather %arg0, %[[I0]] {axis = 2 : i64, eff.device = 0 : i64} : (tensor<1x4x8x16xf32>, tensor<4xi64>) -> tensor<1x4x4x16xf32>
// TWO: %[[K0:.*]] = eff.gather %arg1, %[[I0]] {axis = 2 : i64, eff.device = 0 : i64} : (tensor<1x2x8x16xf32>, tensor<4xi64>) -> tensor<1x2x4x16xf32>
// TWO: %[[V0:.*]] = eff.gather %arg2, %[[I0]] {axis = 2 : i64, eff.device = 0 : i64} : (tensor<1x2x8x8xf32>, tensor<4xi64>) -> tensor<1x2x4x8xf32>
// TWO: %[[I1:.*]] = eff.constant {value = dense<[1, 3, 5, 7]> : tensor<4xi64>}
// TWO: %[[Q1:.*]] = eff.gather %arg0, %[[I1]] {axis = 2 : i64, eff.device = 1 : i64}
// TWO: %[[K1:.*]] = eff.gather %arg1, %[[I1]] {axis = 2 : i64, eff.device = 1 : i64}
// TWO: %[[V1:.*]] = eff.gather %arg2, %[[I1]] {axis = 2 : i64, eff.device = 1 : i64}
// TWO: %[[Y:.*]] = eff.ring_attention %[[Q0]], %[[Q1]], %[[K0]], %[[K1]], %[[V0]], %[[V1]] {causal, devices = array<i64: 0, 1>, num_kv_heads = 2 : i64, scale = 2.500000e-01 : f32, striped} : ({{.*}}) -> tensor<1x4x8x8xf32>
// TWO-NOT: eff.attention
// TWO: return %[[Y]]
// TWO-LABEL: func @full
// TWO: eff.constant {value = dense<[0, 1, 2, 3]> : tensor<4xi64>}
// TWO: eff.constant {value = dense<[4, 5, 6, 7]> : tensor<4xi64>}
// TWO: eff.ring_attention {{.*}} {devices = array<i64: 0, 1>, num_kv_heads = 2 : i64, scale = 2.500000e-01 : f32} :

// CONT-LABEL: func @causal
// CONT: eff.constant {value = dense<[0, 1]> : tensor<2xi64>}
// CONT: eff.constant {value = dense<[6, 7]> : tensor<2xi64>}
// CONT: eff.gather %arg2, %{{.*}} {axis = 2 : i64, eff.device = 3 : i64}
// CONT: eff.ring_attention {{.*}} {causal, devices = array<i64: 0, 1, 2, 3>, num_kv_heads = 2 : i64, scale = 2.500000e-01 : f32} : (tensor<1x4x2x16xf32>, {{.*}}) -> tensor<1x4x8x8xf32>

// REPL-LABEL: func @causal
// REPL-NOT: eff.ring_attention
// REPL: eff.attention

// BAD: eff-partition-devices: attention must be replicate or ring, got 'rings'
// BADLAYOUT: eff-partition-devices: ring-layout must be auto, striped or contiguous, got 'zigzag'

func.func @causal(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x8xf32>) -> tensor<1x4x8x8xf32> {
  %y = eff.attention %q, %k, %v {causal, num_kv_heads = 2 : i64, scale = 0.25 : f32} : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>) -> tensor<1x4x8x8xf32>
  return %y : tensor<1x4x8x8xf32>
}

func.func @full(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x8xf32>) -> tensor<1x4x8x8xf32> {
  %y = eff.attention %q, %k, %v {num_kv_heads = 2 : i64, scale = 0.25 : f32} : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>) -> tensor<1x4x8x8xf32>
  return %y : tensor<1x4x8x8xf32>
}
