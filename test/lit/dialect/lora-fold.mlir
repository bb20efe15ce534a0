// RUN: effc-opt %s -split-input-file -canonicalize | FileCheck %s
// lora_linear and lora_expand on constants fold through the host kernels
// (runtime/src/host/LoRA.cpp), like every eff op.

// Constant operands fold through the host kernel. Rows 0-1 use adapter 1,
// rows 2-3 index -1 (no adapter), so: rows 0-1 = x w + 2 * (x a1) b1 =
// 1 + 2 * (1 * 1) * 3 = 7; rows 2-3 = x w = 1.
// CHECK-LABEL: func @fold
// CHECK: eff.constant {value = dense<{{\[}}[7.000000e+00, 7.000000e+00], [7.000000e+00, 7.000000e+00], [1.000000e+00, 1.000000e+00], [1.000000e+00, 1.000000e+00]]> : tensor<4x2xf32>}
func.func @fold() -> tensor<4x2xf32> {
  %x = eff.constant {value = dense<1.0> : tensor<4x1xf32>} : tensor<4x1xf32>
  %w = eff.constant {value = dense<1.0> : tensor<1x2xf32>} : tensor<1x2xf32>
  %a = eff.constant {value = dense<[[[5.0]], [[1.0]]]> : tensor<2x1x1xf32>} : tensor<2x1x1xf32>
  %b = eff.constant {value = dense<[[[5.0, 5.0]], [[3.0, 3.0]]]> : tensor<2x1x2xf32>} : tensor<2x1x2xf32>
  %i = eff.constant {value = dense<[1, -1]> : tensor<2xi64>} : tensor<2xi64>
  %0 = eff.lora_linear %x, %w, %a, %b, %i {scale = 2.0 : f64} : (tensor<4x1xf32>, tensor<1x2xf32>, tensor<2x1x1xf32>, tensor<2x1x2xf32>, tensor<2xi64>) -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

// lora_expand: row 0 uses adapter 0 (columns 1..2 of t with t_offset 1),
// row 1 adapter 1 (columns 3..4), row 2 index 7 >= n (no adapter).
// Row 0: 1 + 0.5 * (1 * 1 + 2 * 1) = 2.5; row 1: 1 + 0.5 * (3 * 2 + 4 * 2) = 8;
// row 2: 1.
// CHECK-LABEL: func @fold_expand
// CHECK: eff.constant {value = dense<{{\[}}[2.500000e+00], [8.000000e+00], [1.000000e+00]]> : tensor<3x1xf32>}
func.func @fold_expand() -> tensor<3x1xf32> {
  %acc = eff.constant {value = dense<1.0> : tensor<3x1xf32>} : tensor<3x1xf32>
  %t = eff.constant {value = dense<[[9.0, 1.0, 2.0, 9.0, 9.0], [9.0, 9.0, 9.0, 3.0, 4.0], [9.0, 9.0, 9.0, 9.0, 9.0]]> : tensor<3x5xf32>} : tensor<3x5xf32>
  %b = eff.constant {value = dense<[[[1.0], [1.0]], [[2.0], [2.0]]]> : tensor<2x2x1xf32>} : tensor<2x2x1xf32>
  %i = eff.constant {value = dense<[0, 1, 7]> : tensor<3xi32>} : tensor<3xi32>
  %0 = eff.lora_expand %acc, %t, %b, %i {scale = 0.5 : f64, t_offset = 1 : i64} : (tensor<3x1xf32>, tensor<3x5xf32>, tensor<2x2x1xf32>, tensor<3xi32>) -> tensor<3x1xf32>
  return %0 : tensor<3x1xf32>
}
