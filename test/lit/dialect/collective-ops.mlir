// RUN: effc-opt %s -split-input-file | effc-opt -split-input-file | FileCheck %s --check-prefix=ROUND
// RUN: effc-opt %s -split-input-file -canonicalize | FileCheck %s --check-prefix=FOLD
// eff.all_reduce / eff.all_gather (CollectiveOps.td) print and parse back,
// and on constants fold through their host kernels (the sum in fp32 in
// operand order; the blocks' concat along the axis).

// ROUND-LABEL: func @ops
// ROUND: eff.all_reduce %arg0, %arg1 {devices = array<i64: 0, 1>} : (tensor<2x3xbf16>, tensor<2x3xbf16>) -> tensor<2x3xbf16>
// ROUND: eff.all_gather %arg2, %arg3 {axis = 1 : i64, devices = array<i64: 1, 0>} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
func.func @ops(%a: tensor<2x3xbf16>, %b: tensor<2x3xbf16>, %c: tensor<2x3xf32>, %d: tensor<2x5xf32>) -> (tensor<2x3xbf16>, tensor<2x8xf32>) attributes {eff.devices = 2 : i64} {
  %r = eff.all_reduce %a, %b {devices = array<i64: 0, 1>} : (tensor<2x3xbf16>, tensor<2x3xbf16>) -> tensor<2x3xbf16>
  %g = eff.all_gather %c, %d {axis = 1 : i64, devices = array<i64: 1, 0>} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
  return %r, %g : tensor<2x3xbf16>, tensor<2x8xf32>
}

// -----

// FOLD-LABEL: func @fold
// FOLD: eff.constant {value = dense<7.000000e+00> : tensor<2x2xf32>}
// FOLD: eff.constant {value = dense<{{\[}}[1.000000e+00, 1.000000e+00, 2.000000e+00], [1.000000e+00, 1.000000e+00, 2.000000e+00]]> : tensor<2x3xf32>}
// FOLD-NOT: eff.all_
func.func @fold() -> (tensor<2x2xf32>, tensor<2x3xf32>) {
  %a = eff.constant {value = dense<1.0> : tensor<2x2xf32>} : tensor<2x2xf32>
  %b = eff.constant {value = dense<2.0> : tensor<2x2xf32>} : tensor<2x2xf32>
  %c = eff.constant {value = dense<4.0> : tensor<2x2xf32>} : tensor<2x2xf32>
  %s = eff.all_reduce %a, %b, %c {devices = array<i64: 0, 1, 2>} : (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %e = eff.constant {value = dense<2.0> : tensor<2x1xf32>} : tensor<2x1xf32>
  %g = eff.all_gather %a, %e {axis = 1 : i64, devices = array<i64: 0, 1>} : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
  return %s, %g : tensor<2x2xf32>, tensor<2x3xf32>
}
