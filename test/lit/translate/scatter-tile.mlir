// The scatter and tile kernels (DataMovement family): one thread per output
// element. A scatter thread starts from its data element and applies, in the
// host kernel's order, every update that targets it (no atomics, so
// duplicate indices reduce deterministically); tile reads the input at its
// coordinates modulo the input dims. Every variant compiles with NVRTC.
// RUN: effc-translate --eff-to-cuda %s | FileCheck %s
// RUN: effc %s -o %t.effc
// RUN: effc-nvrtc-check %t.effc --arch=sm_80,sm_90,sm_90a | FileCheck %s --check-prefix=NVRTC
// NVRTC: sm_80: 7 kernels compiled
// NVRTC: sm_90: 7 kernels compiled
// NVRTC: sm_90a: 7 kernels compiled

// scatter_nd replacing rows of a 6x4 matrix: a thread scans the 3 tuples;
// the last update of a slot wins.
// CHECK-LABEL: // eff.scatter_nd
// CHECK-NEXT: k0_scatter_nd(
// CHECK: i < 24;
// CHECK-NEXT: const i64 slot = (i64)(i / 4), e = (i64)(i % 4);
// CHECK-NEXT: float acc = x0[i];
// CHECK-NEXT: for (i64 t = 0; t < 3; ++t) {
// CHECK: const i64 v = wrap_index((i64)x1[t * 1 + 0], 6LL);
// CHECK: if (ok && s == slot) {
// CHECK-NEXT: acc = x2[t * 4 + e];
// CHECK: y0[i] = acc;

// bf16 add: accumulates in float, rounds once on the store.
// CHECK-LABEL: // eff.scatter_nd
// CHECK-NEXT: k1_scatter_nd(
// CHECK: float acc = bf16_to_f32(x0[i]);
// CHECK: const float u = bf16_to_f32(x2[t * 4 + e]);
// CHECK-NEXT: acc = acc + u;
// CHECK: y0[i] = f32_to_bf16(acc);

// int64 mul wraps; 2-tuples address single elements.
// CHECK-LABEL: // eff.scatter_nd
// CHECK-NEXT: k2_scatter_nd(
// CHECK: s += v * 4;
// CHECK: s += v * 1;
// CHECK: acc = (i64)((unsigned long long)acc * (unsigned long long)u);

// CHECK-LABEL: // eff.scatter_nd
// CHECK-NEXT: k3_scatter_nd(
// CHECK: acc = MaxOp()(acc, u);
// CHECK-LABEL: // eff.scatter_nd
// CHECK-NEXT: k4_scatter_nd(
// CHECK: acc = MinOp()(acc, u);

// scatter_elements on axis 1 with 2x3 int32 indices into 6x4 data: a thread
// whose row is past the indices' rows keeps its value, the others scan
// their 3 updates along the axis.
// CHECK-LABEL: // eff.scatter_elements
// CHECK-NEXT: k5_scatter_elements(
// CHECK: if (true && c0 < 2) {
// CHECK-NEXT: for (i64 a = 0; a < 3; ++a) {
// CHECK-NEXT: const i64 j = 0 + (i64)c0 * 3 + a * 1;
// CHECK-NEXT: const i64 v = wrap_index((i64)x1[j], 4LL);
// CHECK-NEXT: if (v == (i64)c1) {
// CHECK: acc = acc + u;

// tile 6x4 by [2, 1]: only the repeated dim takes a modulo.
// CHECK-LABEL: // eff.tile
// CHECK-NEXT: k6_tile(
// CHECK: i < 48;
// CHECK: y0[i] = x0[(c0 % 6) * 4 + c1 * 1];

func.func @main(%x: tensor<6x4xf32> {eff.name = "x"}, %rows: tensor<3x1xi64> {eff.name = "rows"},
                %u: tensor<3x4xf32> {eff.name = "u"}, %xb: tensor<6x4xbf16> {eff.name = "xb"},
                %ub: tensor<3x4xbf16> {eff.name = "ub"}, %xi: tensor<6x4xi64> {eff.name = "xi"},
                %cells: tensor<5x2xi64> {eff.name = "cells"}, %ui: tensor<5xi64> {eff.name = "ui"},
                %xh: tensor<6x4xf16> {eff.name = "xh"}, %uh: tensor<3x4xf16> {eff.name = "uh"},
                %e: tensor<2x3xi32> {eff.name = "e"}, %ue: tensor<2x3xf32> {eff.name = "ue"})
    -> (tensor<6x4xf32> {eff.name = "y0"}, tensor<6x4xbf16> {eff.name = "y1"},
        tensor<6x4xi64> {eff.name = "y2"}, tensor<6x4xf16> {eff.name = "y3"},
        tensor<6x4xf32> {eff.name = "y4"}, tensor<6x4xf32> {eff.name = "y5"},
        tensor<12x4xf32> {eff.name = "y6"}) {
  %0 = eff.scatter_nd %x, %rows, %u : (tensor<6x4xf32>, tensor<3x1xi64>, tensor<3x4xf32>) -> tensor<6x4xf32>
  %1 = eff.scatter_nd %xb, %rows, %ub {reduction = "add"} : (tensor<6x4xbf16>, tensor<3x1xi64>, tensor<3x4xbf16>) -> tensor<6x4xbf16>
  %2 = eff.scatter_nd %xi, %cells, %ui {reduction = "mul"} : (tensor<6x4xi64>, tensor<5x2xi64>, tensor<5xi64>) -> tensor<6x4xi64>
  %3 = eff.scatter_nd %xh, %rows, %uh {reduction = "max"} : (tensor<6x4xf16>, tensor<3x1xi64>, tensor<3x4xf16>) -> tensor<6x4xf16>
  %4 = eff.scatter_nd %x, %rows, %u {reduction = "min"} : (tensor<6x4xf32>, tensor<3x1xi64>, tensor<3x4xf32>) -> tensor<6x4xf32>
  %5 = eff.scatter_elements %x, %e, %ue {axis = 1 : i64, reduction = "add"} : (tensor<6x4xf32>, tensor<2x3xi32>, tensor<2x3xf32>) -> tensor<6x4xf32>
  %r = eff.constant {value = dense<[2, 1]> : tensor<2xi64>} : tensor<2xi64>
  %6 = eff.tile %x, %r : (tensor<6x4xf32>, tensor<2xi64>) -> tensor<12x4xf32>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<6x4xf32>, tensor<6x4xbf16>, tensor<6x4xi64>, tensor<6x4xf16>, tensor<6x4xf32>, tensor<6x4xf32>, tensor<12x4xf32>
}
