// eff-partition-moe: each eff.moe becomes one eff.moe_route (over all E
// experts) and `partitions` eff.moe_experts over contiguous expert groups
// (sizes differ by at most one, larger first), summed; the shared expert
// goes with the last group; group p carries eff.stream = p + 1 (its CUDA
// side stream). More partitions than experts give one group per
// expert; partitions=1 changes nothing.
// RUN: effc-opt %s -eff-partition-moe=partitions=2 -canonicalize | FileCheck %s --check-prefix=TWO
// RUN: effc-opt %s -eff-partition-moe=partitions=8 -canonicalize | FileCheck %s --check-prefix=EIGHT
// RUN: effc-opt %s -eff-partition-moe=partitions=1 | FileCheck %s --check-prefix=ONE
// RUN: not effc-opt %s -eff-partition-moe=partitions=0 2>&1 | FileCheck %s --check-prefix=ZERO

// TWO-LABEL: func @shared
// TWO: %[[E:.*]], %[[W:.*]] = eff.moe_route %arg0, %arg1 {norm_topk = 1 : i64, num_experts = 5 : i64, top_k = 2 : i64} : (tensor<3x8xf32>, tensor<5x8xf32>) -> (tensor<3x2xi64>, tensor<3x2xf32>)
// TWO: %[[A:.*]] = eff.moe_experts %arg0, %[[E]], %[[W]], %{{.*}}, %{{.*}} {activation = "gelu", eff.stream = 1 : i64, first_expert = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0>} : (tensor<3x8xf32>, tensor<3x2xi64>, tensor<3x2xf32>, tensor<3x6x8xf32>, tensor<3x8x3xf32>) -> tensor<3x8xf32>
// TWO: %[[B:.*]] = eff.moe_experts %arg0, %[[E]], %[[W]], %{{.*}}, %{{.*}}, %arg2, %arg3, %arg4 {activation = "gelu", eff.stream = 2 : i64, first_expert = 3 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 1>} : (tensor<3x8xf32>, tensor<3x2xi64>, tensor<3x2xf32>, tensor<2x6x8xf32>, tensor<2x8x3xf32>, tensor<10x8xf32>, tensor<8x5xf32>, tensor<1x8xf32>) -> tensor<3x8xf32>
// TWO: %[[Y:.*]] = eff.add %[[A]], %[[B]]
// TWO: return %[[Y]]
// TWO-NOT: eff.moe

// EIGHT-LABEL: func @shared
// EIGHT-COUNT-1: eff.moe_route
// EIGHT-COUNT-5: eff.moe_experts {{.*}}tensor<1x6x8xf32>
// EIGHT-NOT: eff.moe_experts

// ONE-LABEL: func @shared
// ONE: eff.moe %arg0, %arg1 experts
// ONE-NOT: eff.moe_

// ZERO: error: eff-partition-moe: partitions must be >= 1, got 0
func.func @shared(%x: tensor<3x8xf32>, %r: tensor<5x8xf32>, %sgu: tensor<10x8xf32>, %sd: tensor<8x5xf32>, %sg: tensor<1x8xf32>) -> tensor<3x8xf32> {
  %gu = eff.constant {value = dense<0.5> : tensor<5x6x8xf32>} : tensor<5x6x8xf32>
  %d = eff.constant {value = dense<0.25> : tensor<5x8x3xf32>} : tensor<5x8x3xf32>
  %y = eff.moe %x, %r experts %gu, %d shared %sgu, %sd shared_gate %sg {num_experts = 5 : i64, top_k = 2 : i64, norm_topk = 1 : i64, activation = "gelu"} : (tensor<3x8xf32>, tensor<5x8xf32>, tensor<5x6x8xf32>, tensor<5x8x3xf32>, tensor<10x8xf32>, tensor<8x5xf32>, tensor<1x8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}
