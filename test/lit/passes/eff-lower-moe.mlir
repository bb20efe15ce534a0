// eff-lower-moe: each eff.moe becomes eff.moe_route, eff.moe_expert_gemm
// for gate/up and down (and for a shared expert, dense rows) and
// eff.moe_combine. Decode (at most 8 tokens) keeps slot order; prefill
// sorts the slots by expert first (eff.moe_permute). float64 stays whole.
// RUN: effc-opt %s -eff-lower-moe -canonicalize | FileCheck %s

// CHECK-LABEL: func @decode
// CHECK: %[[E:.*]], %[[W:.*]] = eff.moe_route %arg0, %arg1 {norm_topk = 1 : i64, num_experts = 5 : i64, top_k = 2 : i64}
// CHECK-NOT: eff.moe_permute
// CHECK: %[[H:.*]] = eff.moe_expert_gemm %arg0, %{{.*}}, %[[E]] {activation = "gelu", gated = 1 : i64, rows = "slots", top_k = 2 : i64} : (tensor<3x8xbf16>, tensor<5x6x8xbf16>, tensor<3x2xi64>) -> tensor<6x3xbf16>
// CHECK: %[[Z:.*]] = eff.moe_expert_gemm %[[H]], %{{.*}}, %[[E]] {rows = "slots", top_k = 2 : i64} : (tensor<6x3xbf16>, tensor<5x8x3xbf16>, tensor<3x2xi64>) -> tensor<6x8xf32>
// CHECK: %[[HS:.*]] = eff.moe_expert_gemm %arg0, %{{.*}} {activation = "gelu", gated = 1 : i64, rows = "dense"} : (tensor<3x8xbf16>, tensor<1x10x8xbf16>) -> tensor<3x5xbf16>
// CHECK: %[[ZS:.*]] = eff.moe_expert_gemm %[[HS]], %{{.*}} {rows = "dense"} : (tensor<3x5xbf16>, tensor<1x8x5xbf16>) -> tensor<3x8xf32>
// CHECK: %[[Y:.*]] = eff.moe_combine %arg0, %[[Z]], %[[W]], %[[ZS]], %arg2 {num_experts = 5 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 1>}
// CHECK: return %[[Y]]
func.func @decode(%x: tensor<3x8xbf16>, %r: tensor<5x8xbf16>, %sg: tensor<1x8xbf16>) -> tensor<3x8xbf16> {
  %gu = eff.constant {value = dense<0.5> : tensor<5x6x8xbf16>} : tensor<5x6x8xbf16>
  %d = eff.constant {value = dense<0.25> : tensor<5x8x3xbf16>} : tensor<5x8x3xbf16>
  %sgu = eff.constant {value = dense<0.5> : tensor<10x8xbf16>} : tensor<10x8xbf16>
  %sd = eff.constant {value = dense<0.25> : tensor<8x5xbf16>} : tensor<8x5xbf16>
  %y = eff.moe %x, %r experts %gu, %d shared %sgu, %sd shared_gate %sg {num_experts = 5 : i64, top_k = 2 : i64, norm_topk = 1 : i64, activation = "gelu"} : (tensor<3x8xbf16>, tensor<5x8xbf16>, tensor<5x6x8xbf16>, tensor<5x8x3xbf16>, tensor<10x8xbf16>, tensor<8x5xbf16>, tensor<1x8xbf16>) -> tensor<3x8xbf16>
  return %y : tensor<3x8xbf16>
}

// CHECK-LABEL: func @prefill
// CHECK: %[[E:.*]], %[[W:.*]] = eff.moe_route %arg0, %arg1, %arg2 {norm_topk = 1 : i64, num_experts = 4 : i64, routed_scale = 2.500000e+00 : f32, routing = "scores", top_k = 2 : i64}
// CHECK: %[[O:.*]] = eff.moe_permute %[[E]] {num_experts = 4 : i64} : (tensor<9x2xi64>) -> tensor<41xi32>
// CHECK: %[[H:.*]] = eff.moe_expert_gemm %arg0, %{{.*}}, %[[O]] {gated = 1 : i64, top_k = 2 : i64} : (tensor<9x8xf32>, tensor<4x6x8xf32>, tensor<41xi32>) -> tensor<18x3xf32>
// CHECK: %[[Z:.*]] = eff.moe_expert_gemm %[[H]], %{{.*}}, %[[O]] {top_k = 2 : i64} : (tensor<18x3xf32>, tensor<4x8x3xf32>, tensor<41xi32>) -> tensor<18x8xf32>
// CHECK: %[[Y:.*]] = eff.moe_combine %arg0, %[[Z]], %[[W]], %[[O]] {num_experts = 4 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0>}
// CHECK: return %[[Y]]
func.func @prefill(%x: tensor<9x8xf32>, %s: tensor<9x4xf32>, %rw: tensor<9x4xf32>) -> tensor<9x8xf32> {
  %gu = eff.constant {value = dense<0.5> : tensor<4x6x8xf32>} : tensor<4x6x8xf32>
  %d = eff.constant {value = dense<0.25> : tensor<4x8x3xf32>} : tensor<4x8x3xf32>
  %y = eff.moe %x, %s experts %gu, %d weights %rw {num_experts = 4 : i64, top_k = 2 : i64, norm_topk = 1 : i64, routing = "scores", routed_scale = 2.5 : f32} : (tensor<9x8xf32>, tensor<9x4xf32>, tensor<4x6x8xf32>, tensor<4x8x3xf32>, tensor<9x4xf32>) -> tensor<9x8xf32>
  return %y : tensor<9x8xf32>
}

// CHECK-LABEL: func @f64
// CHECK: eff.moe %arg0, %arg1 experts
// CHECK-NOT: eff.moe_
func.func @f64(%x: tensor<3x8xf64>, %r: tensor<4x8xf64>) -> tensor<3x8xf64> {
  %gu = eff.constant {value = dense<0.5> : tensor<4x6x8xf64>} : tensor<4x6x8xf64>
  %d = eff.constant {value = dense<0.25> : tensor<4x8x3xf64>} : tensor<4x8x3xf64>
  %y = eff.moe %x, %r experts %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<3x8xf64>, tensor<4x8xf64>, tensor<4x6x8xf64>, tensor<4x8x3xf64>) -> tensor<3x8xf64>
  return %y : tensor<3x8xf64>
}
