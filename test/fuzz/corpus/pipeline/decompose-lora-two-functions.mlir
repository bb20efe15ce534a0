// RUN: effc-opt %s --eff-decompose-lora -split-input-file | FileCheck %s
// RUN: effc-opt %s --eff-decompose-lora=share-shrink=false -split-input-file | FileCheck %s --check-prefix=NOSHARE

// One adapter: t = x a, the base GEMM, and the expand on its result.
// CHECK-LABEL: func.func @single
// CHECK-SAME: (%[[X:.*]]: tensor<2x16x64xf32>, %[[W:.*]]: tensor<64x32xf32>, %[[A:.*]]: tensor<64x8xf32>, %[[B:.*]]: tensor<8x32xf32>)
// CHECK-NEXT: %[[T:.*]] = eff.matmul %[[X]], %[[A]] : (tensor<2x16x64xf32>, tensor<64x8xf32>) -> tensor<2x16x8xf32>
// CHECK-NEXT: %[[Y0:.*]] = eff.matmul %[[X]], %[[W]] : (tensor<2x16x64xf32>, tensor<64x32xf32>) -> tensor<2x16x32xf32>
// CHECK-NEXT: %[[Y:.*]] = eff.lora_expand %[[Y0]], %[[T]], %[[B]] {scale = 2.000000e+00 : f64} : (tensor<2x16x32xf32>, tensor<2x16x8xf32>, tensor<8x32xf32>) -> tensor<2x16x32xf32>
// CHECK-NEXT: return %[[Y]]
func.func @single(%x: tensor<2x16x64xf32>, %w: tensor<64x32xf32>, %a: tensor<64x8xf32>, %b: tensor<8x32xf32>) -> tensor<2x16x32xf32> {
  %0 = eff.lora_linear %x, %w, %a, %b {scale = 2.0 : f64} : (tensor<2x16x64xf32>, tensor<64x32xf32>, tensor<64x8xf32>, tensor<8x32xf32>) -> tensor<2x16x32xf32>
  return %0 : tensor<2x16x32xf32>
}

// -----

// Stacked adapters a [n, K, R]: a_flat = reshape(transpose(a, [1, 0, 2]),
// [K, n * R]), adapter-major columns; lora_index moves to the expand.
// CHECK-LABEL: func.func @stacked
// CHECK: %[[KM:.*]] = eff.transpose %arg2 {perm = array<i64: 1, 0, 2>} : (tensor<3x64x4xbf16>) -> tensor<64x3x4xbf16>
// CHECK-NEXT: %[[S:.*]] = eff.constant {value = dense<[0, -1]> : tensor<2xi64>}
// CHECK-NEXT: %[[AF:.*]] = eff.reshape %[[KM]], %[[S]] : (tensor<64x3x4xbf16>, tensor<2xi64>) -> tensor<64x12xbf16>
// CHECK-NEXT: %[[T:.*]] = eff.matmul %arg0, %[[AF]] : (tensor<8x64xbf16>, tensor<64x12xbf16>) -> tensor<8x12xbf16>
// CHECK-NEXT: %[[Y0:.*]] = eff.matmul %arg0, %arg1
// CHECK-NEXT: eff.lora_expand %[[Y0]], %[[T]], %arg3, %arg4 : (tensor<8x32xbf16>, tensor<8x12xbf16>, tensor<3x4x32xbf16>, tensor<2xi64>) -> tensor<8x32xbf16>
func.func @stacked(%x: tensor<8x64xbf16>, %w: tensor<64x32xbf16>, %a: tensor<3x64x4xbf16>, %b: tensor<3x4x32xbf16>, %i: tensor<2xi64>) -> tensor<8x32xbf16> {
  %0 = eff.lora_linear %x, %w, %a, %b, %i : (tensor<8x64xbf16>, tensor<64x32xbf16>, tensor<3x64x4xbf16>, tensor<3x4x32xbf16>, tensor<2xi64>) -> tensor<8x32xbf16>
  return %0 : tensor<8x32xbf16>
}

// -----

// Constant adapters: the transpose and reshape fold at compile time (column
// g * R + r of a_flat is a[g][:, r]) and the original constant goes away.
// CHECK-LABEL: func.func @constant_adapter
// CHECK-NOT: eff.transpose
// CHECK-NOT: eff.reshape
// CHECK: %[[AF:.*]] = eff.constant {value = dense<{{\[}}[1.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>}
// CHECK-NOT: tensor<2x2x1xf32>
// CHECK: eff.matmul %arg0, %[[AF]]
func.func @constant_adapter(%x: tensor<4x2xf32>, %w: tensor<2x2xf32>, %b: tensor<2x1x2xf32>, %i: tensor<2xi64>) -> tensor<4x2xf32> {
  %a = eff.constant {value = dense<[[[1.0], [2.0]], [[3.0], [4.0]]]> : tensor<2x2x1xf32>} : tensor<2x2x1xf32>
  %y = eff.lora_linear %x, %w, %a, %b, %i : (tensor<4x2xf32>, tensor<2x2xf32>, tensor<2x2x1xf32>, tensor<2x1x2xf32>, tensor<2xi64>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// q/k/v on one x share one shrink GEMM over [a_q | a_k flat | a_v]; each
// expand reads its columns through t_offset (0, 8, 8 + 2 * 4 = 16).
// CHECK-LABEL: func.func @shared_shrink
// CHECK: %[[AK:.*]] = eff.reshape
// CHECK-NEXT: %[[CAT:.*]] = eff.concat %arg4, %[[AK]], %arg9 {axis = 1 : i64} : (tensor<64x8xf32>, tensor<64x8xf32>, tensor<64x8xf32>) -> tensor<64x24xf32>
// CHECK-NEXT: %[[T:.*]] = eff.matmul %arg0, %[[CAT]] : (tensor<2x16x64xf32>, tensor<64x24xf32>) -> tensor<2x16x24xf32>
// CHECK-NEXT: %[[Q0:.*]] = eff.matmul %arg0, %arg1
// CHECK-NEXT: eff.lora_expand %[[Q0]], %[[T]], %arg5 {scale = 2.000000e+00 : f64} :
// CHECK-NEXT: %[[K0:.*]] = eff.matmul %arg0, %arg2
// CHECK-NEXT: eff.lora_expand %[[K0]], %[[T]], %arg7, %arg8 {t_offset = 8 : i64} :
// CHECK-NEXT: %[[V0:.*]] = eff.matmul %arg0, %arg3
// CHECK-NEXT: eff.lora_expand %[[V0]], %[[T]], %arg10 {scale = 5.000000e-01 : f64, t_offset = 16 : i64} :
// NOSHARE-LABEL: func.func @shared_shrink
// NOSHARE-NOT: eff.concat
// NOSHARE-COUNT-6: eff.matmul
// NOSHARE-NOT: t_offset
// NOSHARE: return
func.func @shared_shrink(%x: tensor<2x16x64xf32>, %wq: tensor<64x64xf32>, %wk: tensor<64x32xf32>, %wv: tensor<64x32xf32>, %aq: tensor<64x8xf32>, %bq: tensor<8x64xf32>, %ak: tensor<2x64x4xf32>, %bk: tensor<2x4x32xf32>, %i: tensor<2xi64>, %av: tensor<64x8xf32>, %bv: tensor<8x32xf32>) -> (tensor<2x16x64xf32>, tensor<2x16x32xf32>, tensor<2x16x32xf32>) {
  %q = eff.lora_linear %x, %wq, %aq, %bq {scale = 2.0 : f64} : (tensor<2x16x64xf32>, tensor<64x64xf32>, tensor<64x8xf32>, tensor<8x64xf32>) -> tensor<2x16x64xf32>
  %k = eff.lora_linear %x, %wk, %ak, %bk, %i : (tensor<2x16x64xf32>, tensor<64x32xf32>, tensor<2x64x4xf32>, tensor<2x4x32xf32>, tensor<2xi64>) -> tensor<2x16x32xf32>
  %v = eff.lora_linear %x, %wv, %av, %bv {scale = 0.5 : f64} : (tensor<2x16x64xf32>, tensor<64x32xf32>, tensor<64x8xf32>, tensor<8x32xf32>) -> tensor<2x16x32xf32>
  return %q, %k, %v : tensor<2x16x64xf32>, tensor<2x16x32xf32>, tensor<2x16x32xf32>
}

// -----

// An adapter computed after the first lora_linear on x is not available
// there: that op gets its own shrink GEMM.
// CHECK-LABEL: func.func @late_adapter
// CHECK: %[[T0:.*]] = eff.matmul %arg0, %arg2 : (tensor<4x16xf32>, tensor<16x2xf32>) -> tensor<4x2xf32>
// CHECK: eff.lora_expand %{{.*}}, %[[T0]], %arg3 :
// CHECK: %[[A1:.*]] = eff.neg %arg2
// CHECK-NEXT: %[[T1:.*]] = eff.matmul %arg0, %[[A1]]
// CHECK-NEXT: %[[Y1:.*]] = eff.matmul %arg0, %arg1
// CHECK-NEXT: eff.lora_expand %[[Y1]], %[[T1]], %arg3 :
func.func @late_adapter(%x: tensor<4x16xf32>, %w: tensor<16x8xf32>, %a: tensor<16x2xf32>, %b: tensor<2x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %0 = eff.lora_linear %x, %w, %a, %b : (tensor<4x16xf32>, tensor<16x8xf32>, tensor<16x2xf32>, tensor<2x8xf32>) -> tensor<4x8xf32>
  %a1 = eff.neg %a : (tensor<16x2xf32>) -> tensor<16x2xf32>
  %1 = eff.lora_linear %x, %w, %a1, %b : (tensor<4x16xf32>, tensor<16x8xf32>, tensor<16x2xf32>, tensor<2x8xf32>) -> tensor<4x8xf32>
  return %0, %1 : tensor<4x8xf32>, tensor<4x8xf32>
}
