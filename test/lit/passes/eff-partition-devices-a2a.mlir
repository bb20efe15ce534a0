// eff-partition-devices expert-parallel=all-to-all: a MoE layer's tokens are
// sharded over the devices (device d: rows d*T/N .. (d+1)*T/N - 1, uneven
// shards allowed), routed on their device, sent to the experts' devices by
// eff.expert_dispatch (receive capacity T rows: x, experts, weights), the
// groups run there on what they received (summed per device), the outputs
// come back and are summed per token by eff.expert_combine, and an
// eff.all_gather on axis 0 joins the shards. The old routing, groups and
// add chain are gone; a residual add after the layer stays replicated.
// expert-parallel=replicate (the default) keeps the all-reduce form.
// RUN: effc-opt %s -eff-partition-moe=partitions=4 -eff-partition-devices="devices=2 expert-parallel=all-to-all" | FileCheck %s --check-prefix=TWO
// RUN: effc-opt %s -eff-partition-moe=partitions=4 -eff-partition-devices="devices=4 expert-parallel=all-to-all" | FileCheck %s --check-prefix=FOUR
// RUN: effc-opt %s -eff-partition-moe=partitions=4 -eff-partition-devices="devices=2" | FileCheck %s --check-prefix=REPL
// RUN: not effc-opt %s -eff-partition-devices="devices=2 expert-parallel=ring" 2>&1 | FileCheck %s --check-prefix=BAD

// TWO-LABEL: func @moe
// TWO-SAME: attributes {eff.devices = 2 : i64}
// TWO: %[[X0:.*]] = eff.gather %arg0, %{{.*}} {eff.device = 0 : i64} : (tensor<5x8xf32>, tensor<2xi64>) -> tensor<2x8xf32>
// TWO: %[[E0:.*]], %[[W0:.*]] = eff.moe_route %[[X0]], %arg1 {eff.device = 0 : i64, num_experts = 5 : i64, top_k = 2 : i64} : (tensor<2x8xf32>, tensor<5x8xf32>) -> (tensor<2x2xi64>, tensor<2x2xf32>)
// TWO: %[[I1:.*]] = eff.constant {value = dense<[2, 3, 4]> : tensor<3xi64>}
// TWO-NEXT: %[[X1:.*]] = eff.gather %arg0, %[[I1]] {eff.device = 1 : i64} : (tensor<5x8xf32>, tensor<3xi64>) -> tensor<3x8xf32>
// TWO: %[[E1:.*]], %[[W1:.*]] = eff.moe_route %[[X1]], %arg1 {eff.device = 1 : i64
// TWO: %[[D:.*]]:6 = eff.expert_dispatch %[[X0]], %[[X1]], %[[E0]], %[[E1]], %[[W0]], %[[W1]] {devices = array<i64: 0, 1>, expert_splits = array<i64: 0, 3, 5>} : (tensor<2x8xf32>, tensor<3x8xf32>, tensor<2x2xi64>, tensor<3x2xi64>, tensor<2x2xf32>, tensor<3x2xf32>) -> (tensor<5x8xf32>, tensor<5x8xf32>, tensor<5x2xi64>, tensor<5x2xi64>, tensor<5x2xf32>, tensor<5x2xf32>)
// TWO: %[[G0:.*]] = eff.moe_experts %[[D]]#0, %[[D]]#2, %[[D]]#4, %{{.*}}, %{{.*}} {eff.device = 0 : i64{{.*}}first_expert = 0
// TWO: %[[G1:.*]] = eff.moe_experts %[[D]]#0, %[[D]]#2, %[[D]]#4, %{{.*}}, %{{.*}} {eff.device = 0 : i64{{.*}}first_expert = 2
// TWO: %[[S0:.*]] = eff.add %[[G0]], %[[G1]] {eff.device = 0 : i64}
// TWO: %[[G2:.*]] = eff.moe_experts %[[D]]#1, %[[D]]#3, %[[D]]#5, %{{.*}}, %{{.*}} {eff.device = 1 : i64{{.*}}first_expert = 3
// TWO: %[[G3:.*]] = eff.moe_experts %[[D]]#1, %[[D]]#3, %[[D]]#5, %{{.*}}, %{{.*}} {eff.device = 1 : i64{{.*}}first_expert = 4
// TWO: %[[S1:.*]] = eff.add %[[G2]], %[[G3]] {eff.device = 1 : i64}
// TWO: %[[C:.*]]:2 = eff.expert_combine %[[S0]], %[[S1]], %[[E0]], %[[E1]] {devices = array<i64: 0, 1>, expert_splits = array<i64: 0, 3, 5>} : (tensor<5x8xf32>, tensor<5x8xf32>, tensor<2x2xi64>, tensor<3x2xi64>) -> (tensor<2x8xf32>, tensor<3x8xf32>)
// TWO: %[[Y:.*]] = eff.all_gather %[[C]]#0, %[[C]]#1 {axis = 0 : i64, devices = array<i64: 0, 1>} : (tensor<2x8xf32>, tensor<3x8xf32>) -> tensor<5x8xf32>
// TWO: %[[R:.*]] = eff.add %[[Y]], %arg0 : (tensor<5x8xf32>, tensor<5x8xf32>) -> tensor<5x8xf32>
// TWO: return %[[R]]
// TWO-NOT: eff.all_reduce

// Four devices, one group each (experts 0..1, 2, 3, 4); the last device
// owns two token rows.
// FOUR-LABEL: func @moe
// FOUR-COUNT-4: eff.moe_route
// FOUR: eff.expert_dispatch {{.*}}{devices = array<i64: 0, 1, 2, 3>, expert_splits = array<i64: 0, 2, 3, 4, 5>}
// FOUR-COUNT-4: eff.moe_experts
// FOUR: %[[C:.*]]:4 = eff.expert_combine
// FOUR: eff.all_gather %[[C]]#0, %[[C]]#1, %[[C]]#2, %[[C]]#3 {axis = 0 : i64, devices = array<i64: 0, 1, 2, 3>} : (tensor<1x8xf32>, tensor<1x8xf32>, tensor<1x8xf32>, tensor<2x8xf32>) -> tensor<5x8xf32>

// REPL-LABEL: func @moe
// REPL-NOT: eff.expert_dispatch
// REPL: eff.all_reduce

// BAD: error: eff-partition-devices: expert-parallel must be replicate or all-to-all, got 'ring'
func.func @moe(%x: tensor<5x8xf32>, %r: tensor<5x8xf32>) -> tensor<5x8xf32> {
  %gu = eff.constant {value = dense<0.5> : tensor<5x6x8xf32>} : tensor<5x6x8xf32>
  %d = eff.constant {value = dense<0.25> : tensor<5x8x3xf32>} : tensor<5x8x3xf32>
  %y = eff.moe %x, %r experts %gu, %d {num_experts = 5 : i64, top_k = 2 : i64} : (tensor<5x8xf32>, tensor<5x8xf32>, tensor<5x6x8xf32>, tensor<5x8x3xf32>) -> tensor<5x8xf32>
  %h = eff.add %y, %x : (tensor<5x8xf32>, tensor<5x8xf32>) -> tensor<5x8xf32>
  return %h : tensor<5x8xf32>
}
