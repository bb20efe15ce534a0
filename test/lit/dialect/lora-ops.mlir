// RUN: effc-opt %s -split-input-file -eff-refine-shapes | FileCheck %s
// RUN: effc-opt %s -split-input-file -eff-refine-shapes | effc-opt -split-input-file | FileCheck %s
// Round trip of lora_linear and lora_expand; results declared tensor<*x..>
// are refined by re-running inference (x's rows with w's N; acc's type).

// One adapter: a [K, R], b [R, N], no lora_index; rows from all of x's
// leading dims.
// CHECK-LABEL: func @single
func.func @single(%x: tensor<2x16x64xf32>, %w: tensor<64x32xf32>, %a: tensor<64x8xf32>, %b: tensor<8x32xf32>) -> tensor<*xf32> {
  // CHECK: eff.lora_linear %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {scale = 2.000000e+00 : f64} : (tensor<2x16x64xf32>, tensor<64x32xf32>, tensor<64x8xf32>, tensor<8x32xf32>) -> tensor<2x16x32xf32>
  %0 = eff.lora_linear %x, %w, %a, %b {scale = 2.0 : f64} : (tensor<2x16x64xf32>, tensor<64x32xf32>, tensor<64x8xf32>, tensor<8x32xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

// Stacked adapters chosen per group of rows by lora_index (int64 or int32);
// scale defaults to 1.
// CHECK-LABEL: func @stacked
func.func @stacked(%x: tensor<4x64xbf16>, %w: tensor<64x32xbf16>, %a: tensor<3x64x8xbf16>, %b: tensor<3x8x32xbf16>, %i: tensor<2xi64>, %j: tensor<4xi32>) -> (tensor<*xbf16>, tensor<*xbf16>) {
  // CHECK: eff.lora_linear %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : (tensor<4x64xbf16>, tensor<64x32xbf16>, tensor<3x64x8xbf16>, tensor<3x8x32xbf16>, tensor<2xi64>) -> tensor<4x32xbf16>
  %0 = eff.lora_linear %x, %w, %a, %b, %i : (tensor<4x64xbf16>, tensor<64x32xbf16>, tensor<3x64x8xbf16>, tensor<3x8x32xbf16>, tensor<2xi64>) -> tensor<*xbf16>
  // CHECK: eff.lora_linear {{.*}} : (tensor<4x64xbf16>, tensor<64x32xbf16>, tensor<3x64x8xbf16>, tensor<3x8x32xbf16>, tensor<4xi32>) -> tensor<4x32xbf16>
  %1 = eff.lora_linear %x, %w, %a, %b, %j : (tensor<4x64xbf16>, tensor<64x32xbf16>, tensor<3x64x8xbf16>, tensor<3x8x32xbf16>, tensor<4xi32>) -> tensor<*xbf16>
  return %0, %1 : tensor<*xbf16>, tensor<*xbf16>
}

// -----

// Dynamic rows stay dynamic; N comes from w.
// CHECK-LABEL: func @dynamic_rows
func.func @dynamic_rows(%x: tensor<?x64xf16>, %w: tensor<64x32xf16>, %a: tensor<64x4xf16>, %b: tensor<4x32xf16>) -> tensor<*xf16> {
  // CHECK: -> tensor<?x32xf16>
  %0 = eff.lora_linear %x, %w, %a, %b : (tensor<?x64xf16>, tensor<64x32xf16>, tensor<64x4xf16>, tensor<4x32xf16>) -> tensor<*xf16>
  return %0 : tensor<*xf16>
}

// -----

// lora_expand reads its adapters' columns [t_offset, t_offset + n * R) of a
// shared t.
// CHECK-LABEL: func @expand
func.func @expand(%acc: tensor<2x2x32xf32>, %t: tensor<2x2x40xf32>, %b: tensor<3x8x32xf32>, %i: tensor<4xi32>, %b1: tensor<16x32xf32>) -> (tensor<*xf32>, tensor<*xf32>) {
  // CHECK: eff.lora_expand %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {scale = 5.000000e-01 : f64, t_offset = 16 : i64} : (tensor<2x2x32xf32>, tensor<2x2x40xf32>, tensor<3x8x32xf32>, tensor<4xi32>) -> tensor<2x2x32xf32>
  %0 = eff.lora_expand %acc, %t, %b, %i {scale = 0.5 : f64, t_offset = 16 : i64} : (tensor<2x2x32xf32>, tensor<2x2x40xf32>, tensor<3x8x32xf32>, tensor<4xi32>) -> tensor<*xf32>
  // CHECK: eff.lora_expand %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x2x32xf32>, tensor<2x2x40xf32>, tensor<16x32xf32>) -> tensor<2x2x32xf32>
  %1 = eff.lora_expand %acc, %t, %b1 : (tensor<2x2x32xf32>, tensor<2x2x40xf32>, tensor<16x32xf32>) -> tensor<*xf32>
  return %0, %1 : tensor<*xf32>, tensor<*xf32>
}
