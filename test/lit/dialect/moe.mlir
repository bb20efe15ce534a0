// eff.moe round-trips with and without its optional operands.
// RUN: effc-opt %s | effc-opt | FileCheck %s

// CHECK-LABEL: func @plain
// CHECK: eff.moe %{{.*}}, %{{.*}} experts %{{.*}}, %{{.*}} {norm_topk = 1 : i64, num_experts = 4 : i64
func.func @plain(%x: tensor<3x8xf32>, %r: tensor<4x8xf32>, %gu: tensor<4x6x8xf32>, %d: tensor<4x8x3xf32>) -> tensor<3x8xf32> {
  %y = eff.moe %x, %r experts %gu, %d {num_experts = 4 : i64, top_k = 2 : i64, norm_topk = 1 : i64} : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>, tensor<4x8x3xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// CHECK-LABEL: func @scores_shared
// CHECK: eff.moe %{{.*}}, %{{.*}} experts %{{.*}}, %{{.*}} weights %{{.*}} shared %{{.*}}, %{{.*}} shared_gate %{{.*}} {{{.*}}routing = "scores"
func.func @scores_shared(%x: tensor<3x8xbf16>, %s: tensor<3x4xf32>, %w: tensor<3x4xf32>, %gu: tensor<4x6x8xbf16>, %d: tensor<4x8x3xbf16>, %sgu: tensor<10x8xbf16>, %sd: tensor<8x5xbf16>, %sg: tensor<1x8xbf16>) -> tensor<3x8xbf16> {
  %y = eff.moe %x, %s experts %gu, %d weights %w shared %sgu, %sd shared_gate %sg {num_experts = 4 : i64, top_k = 2 : i64, routing = "scores", routed_scale = 2.5 : f32} : (tensor<3x8xbf16>, tensor<3x4xf32>, tensor<4x6x8xbf16>, tensor<4x8x3xbf16>, tensor<3x4xf32>, tensor<10x8xbf16>, tensor<8x5xbf16>, tensor<1x8xbf16>) -> tensor<3x8xbf16>
  return %y : tensor<3x8xbf16>
}
