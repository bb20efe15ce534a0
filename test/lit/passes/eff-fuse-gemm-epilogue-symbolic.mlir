// GEMM epilogues over bounded symbolic rows (eff.dims): the consumer fuses
// when the probes of the dims show its shape equal to the GEMM's; otherwise
// a remark says why.
// RUN: effc-opt %s --eff-fuse-gemm-epilogue -split-input-file | FileCheck %s
// RUN: effc-opt %s --eff-fuse-gemm-epilogue=remarks=true -split-input-file -verify-diagnostics -o /dev/null
// (translate/gemm-epilogue-symbolic.mlir plans the fused @residual.)

// o_proj + residual over [batch, seq, 8]: one gemm_epilogue kernel.
// CHECK-LABEL: func.func @residual
// CHECK: %[[F:.*]] = eff.fusion gemm_epilogue(%{{.*}}, %{{.*}}) : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32> {
// CHECK-NEXT: ^bb0(%[[X:.*]]: tensor<?x?x8xf32>, %[[W:.*]]: tensor<8x8xf32>):
// CHECK-NEXT: %[[M:.*]] = eff.matmul %[[X]], %[[W]]
// CHECK-NEXT: eff.add %[[M]], %[[X]]
// CHECK: eff.yield
// CHECK: return %[[F]]
func.func @residual(%x: tensor<?x?x8xf32> {eff.dim_params = ["batch", "seq", ""], eff.name = "x"},
                    %w: tensor<8x8xf32>) -> tensor<?x?x8xf32>
    attributes {eff.dims = {batch = array<i64: 1, 4>, seq = array<i64: 1, 32>}} {
  %m = eff.matmul %x, %w : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  %a = eff.add %m, %x : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  return %a : tensor<?x?x8xf32>
}

// -----

// A dim bounded to 1 (beam) broadcast against past: the add's type agrees
// with the GEMM's (?x8) but its shape does not at the probes.
// CHECK-LABEL: func.func @other_rows
// CHECK-NOT: eff.fusion
func.func @other_rows(%x: tensor<?x8xf32> {eff.dim_params = ["beam", ""], eff.name = "x"},
                      %y: tensor<?x8xf32> {eff.dim_params = ["past", ""], eff.name = "y"},
                      %w: tensor<8x8xf32>) -> tensor<?x8xf32>
    attributes {eff.dims = {beam = array<i64: 1, 1>, past = array<i64: 2, 32>}} {
  // expected-remark @+1 {{no epilogue fused: its consumer 'eff.add' has a result shape that no probe of the bounded dims (eff.dims) shows equal}}
  %m = eff.matmul %x, %w : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
  %a = eff.add %m, %y : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  return %a : tensor<?x8xf32>
}

// -----

// Without bounds nothing relates the dynamic rows.
// CHECK-LABEL: func.func @unbounded
// CHECK-NOT: eff.fusion
func.func @unbounded(%x: tensor<?x8xf32>, %w: tensor<8x8xf32>) -> tensor<?x8xf32> {
  // expected-remark @+1 {{no epilogue fused: its consumer 'eff.relu' has a result shape that no probe of the bounded dims (eff.dims) shows equal}}
  %m = eff.matmul %x, %w : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
  %r = eff.relu %m : (tensor<?x8xf32>) -> tensor<?x8xf32>
  return %r : tensor<?x8xf32>
}
