// eff-partition-devices (--devices=N): MoE expert groups go to devices in
// contiguous runs and the add chain over them becomes a sum per device and
// one eff.all_reduce (a residual add after it stays); eff.matmul with a
// constant [K, C] weight becomes N column blocks (the weight's slices fold to
// constants) joined by an eff.all_gather on the last axis. A non-constant weight, columns that do
// not divide, blocks below min-columns (default 8) and devices=1 change
// nothing.
// RUN: effc-opt %s -eff-partition-moe=partitions=2 -eff-partition-devices="devices=2 min-columns=2" | FileCheck %s --check-prefix=TWO
// RUN: effc-opt %s -eff-partition-moe=partitions=4 -eff-partition-devices="devices=2 min-columns=2" | FileCheck %s --check-prefix=FOUR
// RUN: effc-opt %s -eff-partition-devices="devices=2 min-columns=4" | FileCheck %s --check-prefix=MIN
// RUN: effc-opt %s -eff-partition-devices=devices=1 | FileCheck %s --check-prefix=ONE
// RUN: not effc-opt %s -eff-partition-devices=devices=0 2>&1 | FileCheck %s --check-prefix=ZERO

// TWO-LABEL: func @moe
// TWO: %[[E:.*]], %[[W:.*]] = eff.moe_route
// TWO: %[[A:.*]] = eff.moe_experts {{.*}}eff.device = 0 : i64{{.*}}first_expert = 0
// TWO: %[[B:.*]] = eff.moe_experts {{.*}}eff.device = 1 : i64{{.*}}first_expert = 3
// TWO: %[[S:.*]] = eff.all_reduce %[[A]], %[[B]] {devices = array<i64: 0, 1>} : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
// TWO: %[[R:.*]] = eff.add %[[S]], %arg0 :
// TWO: return %[[R]]

// Four groups on two devices: two each, summed on their device, then one
// all-reduce of the two sums (the old add chain is gone).
// FOUR-LABEL: func @moe
// FOUR: %[[G0:.*]] = eff.moe_experts {{.*}}eff.device = 0 : i64{{.*}}first_expert = 0
// FOUR: %[[G1:.*]] = eff.moe_experts {{.*}}eff.device = 0 : i64{{.*}}first_expert = 2
// FOUR: %[[G2:.*]] = eff.moe_experts {{.*}}eff.device = 1 : i64{{.*}}first_expert = 3
// FOUR: %[[G3:.*]] = eff.moe_experts {{.*}}eff.device = 1 : i64{{.*}}first_expert = 4
// FOUR-NEXT: %[[S0:.*]] = eff.add %[[G0]], %[[G1]] {eff.device = 0 : i64}
// FOUR-NEXT: %[[S1:.*]] = eff.add %[[G2]], %[[G3]] {eff.device = 1 : i64}
// FOUR-NEXT: %[[R:.*]] = eff.all_reduce %[[S0]], %[[S1]] {devices = array<i64: 0, 1>}
// FOUR-NEXT: eff.add %[[R]], %arg0 :
func.func @moe(%x: tensor<3x8xf32>, %r: tensor<5x8xf32>) -> tensor<3x8xf32> {
  %gu = eff.constant {value = dense<0.5> : tensor<5x6x8xf32>} : tensor<5x6x8xf32>
  %d = eff.constant {value = dense<0.25> : tensor<5x8x3xf32>} : tensor<5x8x3xf32>
  %y = eff.moe %x, %r experts %gu, %d {num_experts = 5 : i64, top_k = 2 : i64} : (tensor<3x8xf32>, tensor<5x8xf32>, tensor<5x6x8xf32>, tensor<5x8x3xf32>) -> tensor<3x8xf32>
  %h = eff.add %y, %x : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  return %h : tensor<3x8xf32>
}

// TWO-LABEL: func @linear
// TWO: %[[W0:.*]] = eff.constant {value = dense<{{\[\[}}1.000000e+00, 2.000000e+00], [5.000000e+00, 6.000000e+00]]> : tensor<2x2xf32>}
// TWO: %[[Y0:.*]] = eff.matmul %arg0, %[[W0]] {eff.device = 0 : i64} : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
// TWO: %[[W1:.*]] = eff.constant {value = dense<{{\[\[}}3.000000e+00, 4.000000e+00], [7.000000e+00, 8.000000e+00]]> : tensor<2x2xf32>}
// TWO: %[[Y1:.*]] = eff.matmul %arg0, %[[W1]] {eff.device = 1 : i64} : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
// TWO: %[[Y:.*]] = eff.all_gather %[[Y0]], %[[Y1]] {axis = 1 : i64, devices = array<i64: 0, 1>} : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x4xf32>
// TWO: return %[[Y]]
// MIN-LABEL: func @linear
// MIN: eff.matmul %arg0, %{{.*}} : (tensor<3x2xf32>, tensor<2x4xf32>) -> tensor<3x4xf32>
// MIN-NOT: eff.device =
// ONE-LABEL: func @linear
// ONE-NOT: eff.device
func.func @linear(%x: tensor<3x2xf32>) -> tensor<3x4xf32> {
  %w = eff.constant {value = dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf32>} : tensor<2x4xf32>
  %y = eff.matmul %x, %w : (tensor<3x2xf32>, tensor<2x4xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// A batched (3-D) activation: the all-gather joins the last axis.
// TWO-LABEL: func @batched
// TWO: eff.all_gather {{.*}}{axis = 2 : i64, devices = array<i64: 0, 1>} : (tensor<2x3x2xf32>, tensor<2x3x2xf32>) -> tensor<2x3x4xf32>
func.func @batched(%x: tensor<2x3x2xf32>) -> tensor<2x3x4xf32> {
  %w = eff.constant {value = dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf32>} : tensor<2x4xf32>
  %y = eff.matmul %x, %w : (tensor<2x3x2xf32>, tensor<2x4xf32>) -> tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}

// TWO-LABEL: func @kept
// TWO-NOT: eff.device =
// TWO: return
func.func @kept(%x: tensor<3x2xf32>, %wa: tensor<2x4xf32>) -> (tensor<3x4xf32>, tensor<3x3xf32>) {
  %a = eff.matmul %x, %wa : (tensor<3x2xf32>, tensor<2x4xf32>) -> tensor<3x4xf32>
  %w = eff.constant {value = dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>} : tensor<2x3xf32>
  %b = eff.matmul %x, %w : (tensor<3x2xf32>, tensor<2x3xf32>) -> tensor<3x3xf32>
  return %a, %b : tensor<3x4xf32>, tensor<3x3xf32>
}

// ZERO: error: eff-partition-devices: devices must be >= 1, got 0

// A gated MLP: gate and up column-parallel, act(gate) * up per block on its
// device, down row-parallel (each device's rows of the weight) summed by an
// all-reduce; the all-gathers are left without users (the canonicalizer
// removes them).
// TWO-LABEL: func @mlp
// TWO: %[[G0:.*]] = eff.matmul %arg0, %{{.*}} {eff.device = 0 : i64} : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
// TWO: %[[G1:.*]] = eff.matmul %arg0, %{{.*}} {eff.device = 1 : i64}
// TWO: %[[U0:.*]] = eff.matmul %arg0, %{{.*}} {eff.device = 0 : i64}
// TWO: %[[U1:.*]] = eff.matmul %arg0, %{{.*}} {eff.device = 1 : i64}
// TWO: %[[S0:.*]] = eff.sigmoid %[[G0]] {eff.device = 0 : i64} : (tensor<3x2xf32>) -> tensor<3x2xf32>
// TWO: %[[A0:.*]] = eff.mul %[[G0]], %[[S0]] {eff.device = 0 : i64}
// TWO: %[[H0:.*]] = eff.mul %[[A0]], %[[U0]] {eff.device = 0 : i64}
// TWO: %[[S1:.*]] = eff.sigmoid %[[G1]] {eff.device = 1 : i64}
// TWO: %[[A1:.*]] = eff.mul %[[G1]], %[[S1]] {eff.device = 1 : i64}
// TWO: %[[H1:.*]] = eff.mul %[[A1]], %[[U1]] {eff.device = 1 : i64}
// TWO: %[[W0:.*]] = eff.constant {value = dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>}
// TWO: %[[P0:.*]] = eff.matmul %[[H0]], %[[W0]] {eff.device = 0 : i64} : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
// TWO: %[[W1:.*]] = eff.constant {value = dense<{{\[\[}}5.000000e+00, 6.000000e+00], [7.000000e+00, 8.000000e+00]]> : tensor<2x2xf32>}
// TWO: %[[P1:.*]] = eff.matmul %[[H1]], %[[W1]] {eff.device = 1 : i64}
// TWO: %[[Y:.*]] = eff.all_reduce %[[P0]], %[[P1]] {devices = array<i64: 0, 1>}
// TWO: return %[[Y]]
func.func @mlp(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %wg = eff.constant {value = dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [1.5, 2.5, 3.5, 4.5], [0.5, 1.0, 1.5, 2.0]]> : tensor<4x4xf32>} : tensor<4x4xf32>
  %wu = eff.constant {value = dense<[[2.0, 1.0, 0.0, -1.0], [1.0, 1.0, 2.0, 2.0], [0.5, 0.25, 0.125, 1.0], [3.0, 2.0, 1.0, 0.0]]> : tensor<4x4xf32>} : tensor<4x4xf32>
  %wd = eff.constant {value = dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]> : tensor<4x2xf32>} : tensor<4x2xf32>
  %g = eff.matmul %x, %wg : (tensor<3x4xf32>, tensor<4x4xf32>) -> tensor<3x4xf32>
  %u = eff.matmul %x, %wu : (tensor<3x4xf32>, tensor<4x4xf32>) -> tensor<3x4xf32>
  %s = eff.sigmoid %g : (tensor<3x4xf32>) -> tensor<3x4xf32>
  %a = eff.mul %g, %s : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  %h = eff.mul %a, %u : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  %y = eff.matmul %h, %wd : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
