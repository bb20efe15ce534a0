// With remarks, every elementwise op left as a kernel of its own says why.
// RUN: effc-opt %s --eff-fuse-elementwise=remarks=true -split-input-file -verify-diagnostics -o /dev/null
// RUN: effc-opt %s --eff-fuse-elementwise="remarks=true max-ops=1" -split-input-file 2>&1 >/dev/null | FileCheck %s --check-prefix=MAX1

// A value two kernels read is stored: exp is not fused into either.
func.func @multi_use(%a: tensor<4x8xf32>, %axes: tensor<1xi64>) -> (tensor<4x8xf32>, tensor<4x1xf32>) {
  // expected-remark @+1 {{not fused: its result is read by 2 ops that are not in one kernel; no elementwise or index-mapping op produces its operands}}
  %x = eff.exp %a : (tensor<4x8xf32>) -> tensor<4x8xf32>
  // expected-remark @+1 {{not fused: its producer 'eff.exp' has other users}}
  %y = eff.neg %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %m = eff.reduce_mean %x, %axes {keepdims = 1 : i64} : (tensor<4x8xf32>, tensor<1xi64>) -> tensor<4x1xf32>
  return %y, %m : tensor<4x8xf32>, tensor<4x1xf32>
}

// -----

// A reduction follows.
func.func @reduction_follows(%a: tensor<4x8xf32>, %axes: tensor<1xi64>) -> tensor<4x1xf32> {
  // expected-remark @+1 {{not fused: its only user 'eff.reduce_mean' is not elementwise; no elementwise or index-mapping op produces its operands}}
  %x = eff.abs %a : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %m = eff.reduce_mean %x, %axes {keepdims = 1 : i64} : (tensor<4x8xf32>, tensor<1xi64>) -> tensor<4x1xf32>
  return %m : tensor<4x1xf32>
}

// -----

// A broadcast operand has fewer elements than the kernel's output: it stays
// a kernel of its own and the consumer reads it as an input.
func.func @broadcast(%a: tensor<4x1xf32>, %b: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-remark @+1 {{not fused: its shape 4x1 differs from its consumer's 4x8 (a broadcast operand); no elementwise or index-mapping op produces its operands}}
  %x = eff.exp %a : (tensor<4x1xf32>) -> tensor<4x1xf32>
  // expected-remark @+1 {{not fused: its producer 'eff.exp' has another shape (broadcast)}}
  %y = eff.add %x, %b : (tensor<4x1xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Fused chains get no remark; the sole consumer of a GEMM is left to
// eff-fuse-gemm-epilogue (which remarks on the GEMM if it does not fuse).
func.func @fused_and_epilogue(%a: tensor<4x8xf32>, %w: tensor<8x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %x = eff.exp %a : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %y = eff.neg %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %m = eff.matmul %a, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %r = eff.relu %m : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y, %r : tensor<4x8xf32>, tensor<4x8xf32>
}

// max-ops=1: no group grows.
// MAX1: remark: not fused: its consumer's kernel already holds max-ops=1 ops; no elementwise or index-mapping op produces its operands
// MAX1: remark: not fused: its producer 'eff.exp' is in another kernel
