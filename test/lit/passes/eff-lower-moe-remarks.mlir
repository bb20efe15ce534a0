// eff-lower-moe=remarks: every reason an eff.moe stays whole (its per-token
// kernel runs it).
// RUN: effc-opt %s -eff-lower-moe=remarks=true -verify-diagnostics -split-input-file

func.func @f64(%x: tensor<3x8xf64>, %r: tensor<4x8xf64>, %gu: tensor<4x6x8xf64>, %d: tensor<4x8x3xf64>) -> tensor<3x8xf64> {
  // expected-remark @+1 {{eff.moe kept whole (per-token kernel): the stage kernels take float32, float16 and bfloat16}}
  %y = eff.moe %x, %r experts %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<3x8xf64>, tensor<4x8xf64>, tensor<4x6x8xf64>, tensor<4x8x3xf64>) -> tensor<3x8xf64>
  return %y : tensor<3x8xf64>
}

// -----

func.func @experts(%x: tensor<3x8xf32>, %r: tensor<300x8xf32>, %gu: tensor<300x2x8xf32>, %d: tensor<300x8x1xf32>) -> tensor<3x8xf32> {
  // expected-remark @+1 {{eff.moe kept whole (per-token kernel): more than 256 experts}}
  %y = eff.moe %x, %r experts %gu, %d {num_experts = 300 : i64, top_k = 2 : i64} : (tensor<3x8xf32>, tensor<300x8xf32>, tensor<300x2x8xf32>, tensor<300x8x1xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

func.func @dynamic(%x: tensor<?x8xf32>, %r: tensor<4x8xf32>, %gu: tensor<4x6x8xf32>, %d: tensor<4x8x3xf32>) -> tensor<?x8xf32> {
  // expected-remark @+1 {{eff.moe kept whole (per-token kernel): dynamic shapes}}
  %y = eff.moe %x, %r experts %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>, tensor<4x8x3xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
