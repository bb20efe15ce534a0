// With remarks, every GEMM left without a fused epilogue says why.
// RUN: effc-opt %s --eff-fuse-gemm-epilogue=remarks=true -split-input-file -verify-diagnostics -o /dev/null

func.func @returned(%a: tensor<4x8xf32>, %w: tensor<8x8xf32>) -> tensor<4x8xf32> {
  // expected-remark @+1 {{no epilogue fused: its result is returned}}
  %m = eff.matmul %a, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  return %m : tensor<4x8xf32>
}

// -----

func.func @multi_use(%a: tensor<4x8xf32>, %w: tensor<8x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  // expected-remark @+1 {{no epilogue fused: its result has 2 uses (a value read by several kernels is stored)}}
  %m = eff.matmul %a, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %r = eff.relu %m : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %m, %r : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

func.func @reduction_follows(%a: tensor<4x8xf32>, %w: tensor<8x8xf32>) -> tensor<4x8xf32> {
  // expected-remark @+1 {{no epilogue fused: its only user 'eff.softmax' is not elementwise}}
  %m = eff.matmul %a, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %p = eff.softmax %m : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %p : tensor<4x8xf32>
}

// -----

// The consumer broadcasts the GEMM result to a larger shape.
func.func @broadcast(%a: tensor<4x8xf32>, %w: tensor<8x8xf32>, %b: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  // expected-remark @+1 {{no epilogue fused: its consumer 'eff.add' has another result shape (broadcast)}}
  %m = eff.matmul %a, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %r = eff.add %m, %b : (tensor<4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return %r : tensor<2x4x8xf32>
}

// -----

// The epilogue stores the GEMM's float type.
func.func @non_float(%a: tensor<4x8xf32>, %w: tensor<8x8xf32>, %b: tensor<4x8xf32>) -> tensor<4x8xi1> {
  // expected-remark @+1 {{no epilogue fused: its consumer 'eff.less' has a non-float result}}
  %m = eff.matmul %a, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %r = eff.less %m, %b : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xi1>
  return %r : tensor<4x8xi1>
}

// -----

// SwiGLU: the product of two GEMMs joins the first one only.
func.func @one_gemm_per_kernel(%a: tensor<4x8xf32>, %w1: tensor<8x8xf32>, %w2: tensor<8x8xf32>) -> tensor<4x8xf32> {
  %g = eff.matmul %a, %w1 : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  // expected-remark @+1 {{no epilogue fused: its consumer is already the epilogue of another GEMM (one GEMM per kernel)}}
  %u = eff.matmul %a, %w2 : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %r = eff.mul %g, %u : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

func.func @vector_operand(%a: tensor<8xf32>, %w: tensor<8x4xf32>) -> tensor<4xf32> {
  // expected-remark @+1 {{no epilogue fused: an operand is 1-D}}
  %m = eff.matmul %a, %w : (tensor<8xf32>, tensor<8x4xf32>) -> tensor<4xf32>
  %r = eff.relu %m : (tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// Dynamic rows without bounded dims (eff.dims): nothing shows the relu's
// shape equal to the GEMM's (passes/eff-fuse-gemm-epilogue-symbolic.mlir).
func.func @dynamic(%a: tensor<?x8xf32>, %w: tensor<8x4xf32>) -> tensor<?x4xf32> {
  // expected-remark @+1 {{no epilogue fused: its consumer 'eff.relu' has a result shape that no probe of the bounded dims (eff.dims) shows equal}}
  %m = eff.matmul %a, %w : (tensor<?x8xf32>, tensor<8x4xf32>) -> tensor<?x4xf32>
  %r = eff.relu %m : (tensor<?x4xf32>) -> tensor<?x4xf32>
  return %r : tensor<?x4xf32>
}

// -----

// A fused epilogue gets no remark.
func.func @fused(%a: tensor<4x8xf32>, %w: tensor<8x8xf32>) -> tensor<4x8xf32> {
  %m = eff.matmul %a, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %r = eff.relu %m : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}
