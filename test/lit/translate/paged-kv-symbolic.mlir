// The paged kernels over runtime extents (issue 19 with issue 14 S3): one
// artifact serves prefill chunks and decode steps, the batch and the new
// rows (seq) bound by eff.dims. Their configs keep the upper bounds (the
// grid: 3 x 4 heads x 8 rows = 96 blocks; the write's grid covers the
// pool, 12 x 2 x 4 x 16 elements)
// and read the run's batch and seq from effc_dims (batch = dim 0, seq = dim
// 1); every kernel compiles with NVRTC for sm_80, sm_90 and sm_90a.
// RUN: effc-translate --eff-to-cuda %s | FileCheck %s
// RUN: effc %s -o %t.effc
// RUN: effc-nvrtc-check %t.effc --arch=sm_80,sm_90,sm_90a | FileCheck %s --check-prefix=NVRTC
// RUN: effc-translate --eff-to-manifest %s | FileCheck %s --check-prefix=MANIFEST
// NVRTC: sm_80: 4 kernels compiled
// NVRTC: sm_90: 4 kernels compiled
// NVRTC: sm_90a: 4 kernels compiled

// CHECK: static constexpr int NP = 12, H = 2, PS = 4, D = 16, B = 3, S = 8;
// CHECK-NEXT: i64 batch(const long long *effc_dims) { return {{\(?}}effc_dims[0]{{\)?}}; }
// CHECK-NEXT: i64 seq(const long long *effc_dims) { return {{\(?}}effc_dims[1]{{\)?}}; }
// CHECK: k0_paged_kv_write({{.*}}, const long long* __restrict__ effc_dims) {
// CHECK: effc_paged::paged_kv_write<effc_paged_write_cfg_{{.*}}>(in0, in1, in2, out0, effc_dims);
// CHECK: static constexpr int B = 3, HQ = 4, S = 8, D = 16, NP = 12, HKV = 2, PS = 4, MB = 4, GROUP = 2;
// CHECK-NEXT: i64 batch(const long long *effc_dims) { return {{\(?}}effc_dims[0]{{\)?}}; }
// CHECK-NEXT: i64 seq(const long long *effc_dims) { return {{\(?}}effc_dims[1]{{\)?}}; }
// CHECK: effc_paged::paged_attention_row<effc_paged_cfg_{{.*}}, 4>(in0, in1, in2, in3, in4, out0, effc_dims);
// CHECK: effc_paged::paged_attention_split_row<effc_paged_cfg_{{.*}}, 4, 2, 8>(in0, in1, in2, in3, in4, (float *)out0, (float *)out1, effc_dims);
// MANIFEST: op: "eff.paged_kv_write"
// MANIFEST: uses_dims: true
// MANIFEST: op: "eff.paged_attention"
// MANIFEST: launch {
// MANIFEST-NEXT: grid: 96
// MANIFEST: uses_dims: true
// MANIFEST: op: "eff.paged_attention_partial"
// MANIFEST: launch {
// MANIFEST-NEXT: grid: 96
// MANIFEST-NEXT: grid: 2
// MANIFEST: uses_dims: true
module {
  func.func @main(%q: tensor<?x4x?x16xf32> {eff.dim_params = ["batch", "", "seq", ""], eff.name = "q"},
                  %r: tensor<?x2x?x16xf32> {eff.dim_params = ["batch", "", "seq", ""], eff.name = "rows"},
                  %m: tensor<?x?xi32> {eff.dim_params = ["batch", "seq"], eff.name = "slot_mapping"},
                  %k: tensor<12x2x4x16xf32> {eff.name = "pool"},
                  %t: tensor<?x4xi32> {eff.dim_params = ["batch", ""], eff.name = "block_table"},
                  %l: tensor<?xi32> {eff.dim_params = ["batch"], eff.name = "seq_lens"})
      -> (tensor<12x2x4x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>)
      attributes {eff.dims = {batch = array<i64: 1, 3>, seq = array<i64: 1, 8>}} {
    %w = eff.paged_kv_write %k, %r, %m : (tensor<12x2x4x16xf32>, tensor<?x2x?x16xf32>, tensor<?x?xi32>) -> tensor<12x2x4x16xf32>
    %y = eff.paged_attention %q, %w, %w, %t, %l {scale = 0.25 : f32} : (tensor<?x4x?x16xf32>, tensor<12x2x4x16xf32>, tensor<12x2x4x16xf32>, tensor<?x4xi32>, tensor<?xi32>) -> tensor<?x4x?x16xf32>
    %o, %lse = eff.paged_attention_partial %q, %w, %w, %t, %l {scale = 0.25 : f32, num_splits = 2 : i64} : (tensor<?x4x?x16xf32>, tensor<12x2x4x16xf32>, tensor<12x2x4x16xf32>, tensor<?x4xi32>, tensor<?xi32>) -> (tensor<2x?x4x?x16xf32>, tensor<2x?x4x?xf32>)
    %z = eff.attention_combine %o, %lse {to = 1 : i64} : (tensor<2x?x4x?x16xf32>, tensor<2x?x4x?xf32>) -> tensor<?x4x?x16xf32>
    return %w, %y, %z : tensor<12x2x4x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>
  }
}
