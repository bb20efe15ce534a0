// RUN: effc-opt %s -split-input-file -verify-diagnostics
// One case per error path of matmul and gemm.

func.func @matmul_element_types(%a: tensor<2x3xf32>, %b: tensor<3x4xf16>) -> tensor<2x4xf32> {
  // expected-error @+2 {{b has element type 'f16' but a has 'f32'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.matmul %a, %b : (tensor<2x3xf32>, tensor<3x4xf16>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @matmul_transb_rank(%a: tensor<2x3xf32>, %b: tensor<2x4x3xf32>) -> tensor<*xf32> {
  // expected-error @+2 {{matmul transB = 1 needs a 2-D b ([N, K]), got rank 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.matmul %a, %b {transB = 1 : i64} : (tensor<2x3xf32>, tensor<2x4x3xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @matmul_transb_value(%a: tensor<2x3xf32>, %b: tensor<4x3xf32>) -> tensor<*xf32> {
  // expected-error @+2 {{matmul transB must be 0 or 1, got 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.matmul %a, %b {transB = 2 : i64} : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @matmul_transb_contraction(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<*xf32> {
  // expected-error @+2 {{contraction dims differ: a has K = 3 but b has K = 4 (shapes [2x3] and [3x4])}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.matmul %a, %b {transB = 1 : i64} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @matmul_scalar(%a: tensor<f32>, %b: tensor<3x4xf32>) -> tensor<*xf32> {
  // expected-error @+2 {{matmul operands must be at least 1-D, got a scalar}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.matmul %a, %b : (tensor<f32>, tensor<3x4xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @matmul_contraction(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<*xf32> {
  // expected-error @+2 {{contraction dims differ: a has K = 3 but b has K = 4 (shapes [2x3] and [4x5])}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @matmul_batch(%a: tensor<2x2x3xf32>, %b: tensor<3x3x5xf32>) -> tensor<*xf32> {
  // expected-error @+2 {{operand shapes are not broadcast-compatible}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.matmul %a, %b : (tensor<2x2x3xf32>, tensor<3x3x5xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @matmul_wrong_result(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{inferred type(s) 'tensor<2x4xf32>' are incompatible with return type(s) of operation 'tensor<2x3xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.matmul %a, %b : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @gemm_a_rank(%a: tensor<1x4x3xf32>, %b: tensor<3x5xf32>) -> tensor<*xf32> {
  // expected-error @+2 {{A must be 2-D, got rank 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.gemm %a, %b : (tensor<1x4x3xf32>, tensor<3x5xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @gemm_b_rank(%a: tensor<4x3xf32>, %b: tensor<3xf32>) -> tensor<*xf32> {
  // expected-error @+2 {{B must be 2-D, got rank 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.gemm %a, %b : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @gemm_contraction(%a: tensor<4x3xf32>, %b: tensor<3x5xf32>) -> tensor<*xf32> {
  // expected-error @+2 {{contraction dims differ: op(A) has K = 4 but op(B) has K = 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.gemm %a, %b {transA = 1 : i64} : (tensor<4x3xf32>, tensor<3x5xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @gemm_c_broadcast(%a: tensor<4x3xf32>, %b: tensor<3x5xf32>, %c: tensor<4xf32>) -> tensor<*xf32> {
  // expected-error @+2 {{C of shape [4] does not broadcast to [4x5]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.gemm %a, %b, %c : (tensor<4x3xf32>, tensor<3x5xf32>, tensor<4xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @gemm_c_element_type(%a: tensor<4x3xf32>, %b: tensor<3x5xf32>, %c: tensor<5xf16>) -> tensor<*xf32> {
  // expected-error @+2 {{C has element type 'f16' but A has 'f32'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.gemm %a, %b, %c : (tensor<4x3xf32>, tensor<3x5xf32>, tensor<5xf16>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @gemm_trans_not_bool(%a: tensor<4x3xf32>, %b: tensor<5x3xf32>) -> tensor<4x5xf32> {
  // expected-error @+1 {{transB must be 0 or 1, got 2}}
  %0 = eff.gemm %a, %b {transB = 2 : i64} : (tensor<4x3xf32>, tensor<5x3xf32>) -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}
