// RUN: effc-opt %s | effc-opt | FileCheck %s
// eff.expert_dispatch / eff.expert_combine (ExpertExchangeOps.td) print and
// parse back; their result types follow from the inputs: receive capacity
// C = the sum of the devices' token counts (2 + 3 here), one [C, H] / [C, k]
// triple a device, and one [T_i, H] row block a device back.

// CHECK-LABEL: func @exchange
// CHECK: %[[D:.*]]:6 = eff.expert_dispatch %arg0, %arg1, %arg2, %arg3, %arg4, %arg5 {devices = array<i64: 0, 1>, expert_splits = array<i64: 0, 3, 5>} : (tensor<2x8xbf16>, tensor<3x8xbf16>, tensor<2x2xi64>, tensor<3x2xi64>, tensor<2x2xf32>, tensor<3x2xf32>) -> (tensor<5x8xbf16>, tensor<5x8xbf16>, tensor<5x2xi64>, tensor<5x2xi64>, tensor<5x2xf32>, tensor<5x2xf32>)
// CHECK: eff.expert_combine %[[D]]#0, %[[D]]#1, %arg2, %arg3 {devices = array<i64: 0, 1>, expert_splits = array<i64: 0, 3, 5>} : (tensor<5x8xbf16>, tensor<5x8xbf16>, tensor<2x2xi64>, tensor<3x2xi64>) -> (tensor<2x8xbf16>, tensor<3x8xbf16>)
func.func @exchange(%x0: tensor<2x8xbf16>, %x1: tensor<3x8xbf16>, %e0: tensor<2x2xi64>, %e1: tensor<3x2xi64>, %w0: tensor<2x2xf32>, %w1: tensor<3x2xf32>) -> (tensor<2x8xbf16>, tensor<3x8xbf16>) attributes {eff.devices = 2 : i64} {
  %d:6 = eff.expert_dispatch %x0, %x1, %e0, %e1, %w0, %w1 {devices = array<i64: 0, 1>, expert_splits = array<i64: 0, 3, 5>} : (tensor<2x8xbf16>, tensor<3x8xbf16>, tensor<2x2xi64>, tensor<3x2xi64>, tensor<2x2xf32>, tensor<3x2xf32>) -> (tensor<5x8xbf16>, tensor<5x8xbf16>, tensor<5x2xi64>, tensor<5x2xi64>, tensor<5x2xf32>, tensor<5x2xf32>)
  %c:2 = eff.expert_combine %d#0, %d#1, %e0, %e1 {devices = array<i64: 0, 1>, expert_splits = array<i64: 0, 3, 5>} : (tensor<5x8xbf16>, tensor<5x8xbf16>, tensor<2x2xi64>, tensor<3x2xi64>) -> (tensor<2x8xbf16>, tensor<3x8xbf16>)
  return %c#0, %c#1 : tensor<2x8xbf16>, tensor<3x8xbf16>
}
