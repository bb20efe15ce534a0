// Elementwise fusion over bounded symbolic dims (eff.dims): dynamic shapes
// fuse where every probe of the dims gives them one shape; a shape that
// differs at a probe (another dim, or a broadcast of size 1) stays apart and
// says why.
// RUN: effc-opt %s --eff-fuse-elementwise -split-input-file | FileCheck %s
// RUN: effc-opt %s --eff-fuse-elementwise=remarks=true -split-input-file -verify-diagnostics -o /dev/null

// mul(x, rsqrt) * w + x over [batch, seq, 8]: one kernel; the weight [8]
// broadcasts in as an input.
// CHECK-LABEL: func.func @same_dims
// CHECK: %[[F:.*]] = eff.fusion elementwise(%{{.*}}, %{{.*}}) : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32> {
// CHECK: eff.mul
// CHECK: eff.add
// CHECK: eff.yield
// CHECK-NOT: eff.fusion
// CHECK: return %[[F]]
func.func @same_dims(%x: tensor<?x?x8xf32> {eff.dim_params = ["batch", "seq", ""], eff.name = "x"},
                     %w: tensor<8xf32>) -> tensor<?x?x8xf32>
    attributes {eff.dims = {batch = array<i64: 1, 4>, seq = array<i64: 1, 32>}} {
  %m = eff.mul %x, %w : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %a = eff.add %m, %x : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  return %a : tensor<?x?x8xf32>
}

// -----

// A dim bounded to 1 (beam) broadcasts against another (past): the exp's
// type agrees with the add's (?x?) but the probes tell beam from past
// apart, so it does not join the add's kernel.
// CHECK-LABEL: func.func @other_dims
// CHECK-NOT: eff.fusion
// CHECK: eff.exp
// CHECK: eff.add
func.func @other_dims(%x: tensor<?x?xf32> {eff.dim_params = ["seq", "beam"], eff.name = "x"},
                      %y: tensor<?x?xf32> {eff.dim_params = ["seq", "past"], eff.name = "y"})
    -> tensor<?x?xf32>
    attributes {eff.dims = {beam = array<i64: 1, 1>, past = array<i64: 2, 32>, seq = array<i64: 1, 32>}} {
  // expected-remark @+1 {{not fused: its shape ?x? differs from its consumer's ?x? (dynamic dims that differ at a probe of the bounded dims); no elementwise or index-mapping op produces its operands}}
  %e = eff.exp %x : (tensor<?x?xf32>) -> tensor<?x?xf32>
  // expected-remark @+1 {{not fused: its producer 'eff.exp' has another shape (dynamic dims that differ at a probe of the bounded dims)}}
  %a = eff.add %e, %y : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  return %a : tensor<?x?xf32>
}

// -----

// Without bounds (no eff.dims) nothing relates two dynamic dims: no fusion.
// CHECK-LABEL: func.func @unbounded
// CHECK-NOT: eff.fusion
func.func @unbounded(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  // expected-remark @+1 {{not fused: its shape ?x8 differs from its consumer's ?x8 (dynamic dims that no probe of bounded dims (eff.dims) relates); no elementwise or index-mapping op produces its operands}}
  %e = eff.exp %x : (tensor<?x8xf32>) -> tensor<?x8xf32>
  // expected-remark @+1 {{not fused: its producer 'eff.exp' has another shape (dynamic dims that no probe of bounded dims (eff.dims) relates)}}
  %n = eff.neg %e : (tensor<?x8xf32>) -> tensor<?x8xf32>
  return %n : tensor<?x8xf32>
}
