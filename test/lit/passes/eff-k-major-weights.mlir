// eff-k-major-weights: a bf16/fp16 constant matmul weight [K, N] with N not
// a multiple of 8 (rows not 16-byte aligned: no TMA map or wgmma load can
// read them) is stored [N, K] with the matmul's transB = 1; K must be a
// multiple of 8 and every use of the weight the b of an eff.matmul (they
// share the copy). Aligned, fp32 and non-constant weights are left alone.
// RUN: effc-opt %s --eff-k-major-weights -split-input-file | FileCheck %s
// RUN: effc-opt %s --eff-k-major-weights=remarks=true -split-input-file -verify-diagnostics -o /dev/null

// The data moves: row n of the stored weight is column n of the original.
// CHECK-LABEL: func.func @odd_n
// CHECK: %[[W:.*]] = eff.constant {value = dense<{{\[\[}}0.000000e+00, 7.000000e+00, 1.400000e+01, 2.100000e+01, 2.800000e+01, 3.500000e+01, 4.200000e+01, 4.900000e+01], [1.000000e+00, 8.000000e+00,
// CHECK-SAME: tensor<7x8xbf16>
// CHECK: eff.matmul %{{.*}}, %[[W]] {transB = 1 : i64} : (tensor<2x3x8xbf16>, tensor<7x8xbf16>) -> tensor<2x3x7xbf16>
func.func @odd_n(%x: tensor<2x3x8xbf16>) -> tensor<2x3x7xbf16> {
  %w = eff.constant {value = dense<[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                                    [7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0],
                                    [14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0],
                                    [21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0],
                                    [28.0, 29.0, 30.0, 31.0, 32.0, 33.0, 34.0],
                                    [35.0, 36.0, 37.0, 38.0, 39.0, 40.0, 41.0],
                                    [42.0, 43.0, 44.0, 45.0, 46.0, 47.0, 48.0],
                                    [49.0, 50.0, 51.0, 52.0, 53.0, 54.0, 55.0]]> : tensor<8x7xbf16>} : tensor<8x7xbf16>
  // expected-remark @+1 {{eff-k-major-weights: weight [8, 7] (rows of 14 bytes, not a multiple of 16: no TMA tensor map or wgmma load can read it) stored [7, 8] (matmul transB = 1; rows of 16 bytes): B is read K-major by the sm_90a wgmma/TMA GEMM}}
  %y = eff.matmul %x, %w : (tensor<2x3x8xbf16>, tensor<8x7xbf16>) -> tensor<2x3x7xbf16>
  return %y : tensor<2x3x7xbf16>
}

// -----

// A vocab-sized fp16 head (splat: reshaped, nothing moves), read by two
// matmuls: both take the one [N, K] copy.
// CHECK-LABEL: func.func @shared_head
// CHECK: %[[W:.*]] = eff.constant {value = dense<5.000000e-01> : tensor<50257x64xf16>} : tensor<50257x64xf16>
// CHECK: eff.matmul %{{.*}}, %[[W]] {transB = 1 : i64} : (tensor<4x64xf16>, tensor<50257x64xf16>) -> tensor<4x50257xf16>
// CHECK: eff.matmul %{{.*}}, %[[W]] {transB = 1 : i64} : (tensor<1x64xf16>, tensor<50257x64xf16>) -> tensor<1x50257xf16>
// CHECK-NOT: tensor<64x50257xf16>
func.func @shared_head(%x: tensor<4x64xf16>, %z: tensor<1x64xf16>) -> (tensor<4x50257xf16>, tensor<1x50257xf16>) {
  %w = eff.constant {value = dense<0.5> : tensor<64x50257xf16>} : tensor<64x50257xf16>
  // expected-remark @+1 {{weight [64, 50257] (rows of 100514 bytes, not a multiple of 16: no TMA tensor map or wgmma load can read it) stored [50257, 64]}}
  %y = eff.matmul %x, %w : (tensor<4x64xf16>, tensor<64x50257xf16>) -> tensor<4x50257xf16>
  // expected-remark @+1 {{stored [50257, 64] (matmul transB = 1; rows of 128 bytes)}}
  %v = eff.matmul %z, %w : (tensor<1x64xf16>, tensor<64x50257xf16>) -> tensor<1x50257xf16>
  return %y, %v : tensor<4x50257xf16>, tensor<1x50257xf16>
}

// -----

// Kept [K, N], with a remark saying why: K not a multiple of 8 either; the
// weight read by something other than a matmul's b.
// CHECK-LABEL: func.func @kept
// CHECK: eff.matmul %{{.*}}, %{{.*}} : (tensor<2x6xbf16>, tensor<6x7xbf16>) -> tensor<2x7xbf16>
// CHECK: eff.matmul %{{.*}}, %{{.*}} : (tensor<2x8xbf16>, tensor<8x7xbf16>) -> tensor<2x7xbf16>
// CHECK-NOT: transB
func.func @kept(%x: tensor<2x6xbf16>, %u: tensor<2x8xbf16>) -> (tensor<2x7xbf16>, tensor<2x7xbf16>, tensor<8x7xbf16>) {
  %a = eff.constant {value = dense<1.0> : tensor<6x7xbf16>} : tensor<6x7xbf16>
  // expected-remark @+1 {{eff-k-major-weights: weight [6, 7] (rows of 14 bytes, not a multiple of 16: no TMA tensor map or wgmma load can read it) kept [K, N]: K = 6 is not a multiple of 8 either, so [N, K] rows would not be 16-byte aligned}}
  %y = eff.matmul %x, %a : (tensor<2x6xbf16>, tensor<6x7xbf16>) -> tensor<2x7xbf16>
  %b = eff.constant {value = dense<2.0> : tensor<8x7xbf16>} : tensor<8x7xbf16>
  // expected-remark @+1 {{kept [K, N]: the weight is also read by func.return (operand 2), not only as the b of eff.matmul}}
  %v = eff.matmul %u, %b : (tensor<2x8xbf16>, tensor<8x7xbf16>) -> tensor<2x7xbf16>
  return %y, %v, %b : tensor<2x7xbf16>, tensor<2x7xbf16>, tensor<8x7xbf16>
}

// -----

// Left alone, no remark: aligned N, fp32 (no wgmma), a weight that is not a
// constant.
// CHECK-LABEL: func.func @alone
// CHECK-NOT: transB
func.func @alone(%x: tensor<2x8xbf16>, %f: tensor<2x8xf32>, %w: tensor<8x7xbf16>) -> (tensor<2x16xbf16>, tensor<2x7xf32>, tensor<2x7xbf16>) {
  %a = eff.constant {value = dense<1.0> : tensor<8x16xbf16>} : tensor<8x16xbf16>
  %y = eff.matmul %x, %a : (tensor<2x8xbf16>, tensor<8x16xbf16>) -> tensor<2x16xbf16>
  %b = eff.constant {value = dense<1.0> : tensor<8x7xf32>} : tensor<8x7xf32>
  %v = eff.matmul %f, %b : (tensor<2x8xf32>, tensor<8x7xf32>) -> tensor<2x7xf32>
  %u = eff.matmul %x, %w : (tensor<2x8xbf16>, tensor<8x7xbf16>) -> tensor<2x7xbf16>
  return %y, %v, %u : tensor<2x16xbf16>, tensor<2x7xf32>, tensor<2x7xbf16>
}
