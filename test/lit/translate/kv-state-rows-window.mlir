// eff.kv_append into session state through rows_perm and rows_offset (the V
// heads of a merged q/k/v projection, eff-merge-sibling-linears): new_rows
// are the projection's [B, S, 8, 16] output (4 q, 2 k, 2 v heads) and the
// append takes heads 6..7. The CUDA kernel visits the window's elements
// (B * 2 * S * 16), not new_rows' (B * 8 * S * 16): slices b * 2 + h past
// the run's batch would land in other rows of the state or past its end
// (Llama-3.2-1B, 48 projection heads over 8 kv heads, crashed at batch >= 2).
// RUN: effc-translate --eff-to-cuda --kv-state %s | FileCheck %s --check-prefix=CUDA
// RUN: effc-translate --eff-to-manifest --kv-state %s | FileCheck %s
// RUN: effc %s --kv-state -o %t.effc
// RUN: effc-nvrtc-check %t.effc --arch=sm_80,sm_90a | FileCheck %s --check-prefix=NVRTC

// CUDA-LABEL: k0_kv_append(
// CUDA: for (int i = {{.*}}; i < int(32 * effc_dims[0] * effc_dims[2]);
// CUDA-NEXT: const int bh = i / (16 * effc_dims[2]);
// CUDA-NEXT: const int s = (i % (16 * effc_dims[2])) / 16;
// CUDA-NEXT: y0[(bh * 11 + (effc_dims[1])) * 16 + i % (16 * effc_dims[2])] = x1[96 + (bh / 2) * (128 * effc_dims[2]) + (bh % 2) * 16 + s * 128 + (i % 16) * 1];
// NVRTC: sm_80: 1 kernels compiled
// NVRTC: sm_90a: 1 kernels compiled

// The state holds the largest batch's rows: [4, 2, 11, 16].
// CHECK-LABEL: states {
// CHECK-NEXT: input: "past_key_values.0.value"
// CHECK: shape: 4
// CHECK-NEXT: shape: 2
// CHECK-NEXT: shape: 11
// CHECK-NEXT: shape: 16
// CHECK-NEXT: size_bytes: 5632

func.func @main(%qkv: tensor<?x?x8x16xf32> {eff.dim_params = ["batch", "seq", "", ""], eff.name = "qkv"},
                %pv: tensor<?x2x?x16xf32> {eff.dim_params = ["batch", "", "past", ""], eff.name = "past_key_values.0.value"})
    -> (tensor<?x2x?x16xf32> {eff.name = "present.0.value"})
    attributes {eff.dims = {batch = array<i64: 1, 4>, past = array<i64: 0, 7>, seq = array<i64: 1, 4>}} {
  %v = eff.kv_append %pv, %qkv {capacity = 11 : i64, rows_offset = array<i64: 0, 6, 0, 0>, rows_perm = array<i64: 0, 2, 1, 3>, state = "present.0.value"} : (tensor<?x2x?x16xf32>, tensor<?x?x8x16xf32>) -> tensor<?x2x?x16xf32>
  return %v : tensor<?x2x?x16xf32>
}
