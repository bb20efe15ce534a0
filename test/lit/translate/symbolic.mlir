// Runtime extents (issue 14 stage S3): with bounded dims (eff.dims: past = 0,
// total = 1) a kernel touching a symbolic tensor takes a trailing
// `const long long* effc_dims` and reads its extents from it; the grid covers
// the upper bounds (16512 = 2*2*258*16 items; a run's grid follows
// grid.x: at each dim's bucket top, a power of two) and the loop stops at the
// run's extent. The static kernels of the same IR are unchanged (the other
// translate tests). The manifest marks these kernels uses_dims.
// RUN: effc-translate --eff-to-plan %s | FileCheck %s --check-prefix=PLAN
// RUN: effc-translate --eff-to-cuda %s | FileCheck %s --check-prefix=CUDA
// RUN: effc-translate --eff-to-manifest %s | FileCheck %s --check-prefix=MANIFEST

// PLAN: k0_concat DataMovement grid-stride items=16512 grid=(65,1,1) block=(256,1,1) smem=0 grid.x=ceil((64 * effc_dims[0] + 192)/256)<=65
// PLAN-NEXT: k1_transpose DataMovement grid-stride items=16512 grid=(65,1,1) block=(256,1,1) smem=0 grid.x=ceil((64 * effc_dims[0] + 192)/256)<=65
// PLAN-NEXT: k2_shape Generator single-thread grid=(1,1,1) block=(32,1,1) smem=0{{$}}
// PLAN-NEXT: k3_neg Elementwise grid-stride items=16512 vec=1 grid=(65,1,1) block=(256,1,1) smem=0 grid.x=ceil((64 * effc_dims[0] + 192)/256)<=65
// PLAN-NEXT: k4_attention Attention warp-per-query-row rows=3 key_tile=32 grid=(1,2,2) block=(96,1,1) smem=0{{$}}

// The KV append: past rows from x0, then the 3 new ones.
// CUDA-LABEL: k0_concat(const void* __restrict__ in0, const void* __restrict__ in1, void* __restrict__ out0, const long long* __restrict__ effc_dims) {
// CUDA: for (int i = int(blockIdx.x) * 256 + threadIdx.x; i < int(64 * effc_dims[0] + 192); i += int(gridDim.x) * 256) {
// CUDA-NEXT: const int inner = i % 16;
// CUDA-NEXT: const int a = (i / 16) % (effc_dims[0] + 3);
// CUDA-NEXT: const int outer = i / (16 * effc_dims[0] + 48);
// CUDA-NEXT: if (a < (effc_dims[0])) { y0[i] = x0[(outer * (effc_dims[0]) + (a - 0)) * 16 + inner]; continue; }
// CUDA-NEXT: y0[i] = x1[(outer * 3 + (a - (effc_dims[0]))) * 16 + inner];
// CUDA-LABEL: k1_transpose(
// CUDA: const int oc2 = ocr % (effc_dims[0] + 3); ocr /= (effc_dims[0] + 3);
// CUDA: const int o0 = oc0 * (16 * effc_dims[0] + 48) + oc1 + oc2 * 16;
// CUDA-LABEL: k2_shape(
// CUDA: y0[0] = (effc_dims[0]);
// CUDA-LABEL: k3_neg(
// CUDA: i < int(64 * effc_dims[0] + 192);
// The attention's key length past+3, the causal offset L - S = past and the
// mask's strides over total.
// CUDA-LABEL: k4_attention(
// CUDA-SAME: void* __restrict__ out0, const long long* __restrict__ effc_dims) {
// CUDA: // q [2x2x3x16] k [2x2x258x16] v [2x2x258x16] causal bool mask
// CUDA: if (i0 >= 3 || b >= 2) return;
// CUDA: const int pos = i + (effc_dims[0]);  // queries are the last S positions
// CUDA: const int kBase = ((int)(b * 2 + hk) * (effc_dims[0] + 3)) * 16;
// CUDA: int jBegin = 0, jEnd = (effc_dims[0] + 3);
// CUDA-NEXT: jEnd = min(jEnd, int(min((long long)(i0 + 3), (long long)3) - 1 + (effc_dims[0]) + 1));
// CUDA: if (!x3[(int)b * (3 * effc_dims[1]) + (int)i * (effc_dims[1]) + (int)j * 1]) s = -EFFC_INF_F;

// MANIFEST: source: "k0_concat"
// MANIFEST: uses_dims: true
// MANIFEST: source: "k4_attention"
// MANIFEST: uses_dims: true
// MANIFEST: dims {
// MANIFEST-NEXT: name: "past"
// MANIFEST-NEXT: max: 255

module {
  func.func @main(%k: tensor<2x2x?x16xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past"},
                  %new: tensor<2x2x3x16xf32> {eff.name = "new"},
                  %q: tensor<2x2x3x16xf32> {eff.name = "q"},
                  %mask: tensor<2x1x3x?xi1> {eff.dim_params = ["", "", "", "total"], eff.name = "mask"})
      -> (tensor<2x2x3x16xf32>, tensor<2x2x16x?xf32>, tensor<1xi64>, tensor<2x2x?x16xf32>)
      attributes {eff.dims = {past = array<i64: 0, 255>, total = array<i64: 3, 258>}} {
    %c = eff.concat %k, %new {axis = -2 : i64} : (tensor<2x2x?x16xf32>, tensor<2x2x3x16xf32>) -> tensor<2x2x?x16xf32>
    %t = eff.transpose %c {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x2x?x16xf32>) -> tensor<2x2x16x?xf32>
    %s = eff.shape %k {end = 3 : i64, start = 2 : i64} : (tensor<2x2x?x16xf32>) -> tensor<1xi64>
    %n = eff.neg %c : (tensor<2x2x?x16xf32>) -> tensor<2x2x?x16xf32>
    %a = eff.attention %q, %c, %c, %mask {causal, num_kv_heads = 2 : i64, scale = 2.500000e-01 : f32} : (tensor<2x2x3x16xf32>, tensor<2x2x?x16xf32>, tensor<2x2x?x16xf32>, tensor<2x1x3x?xi1>) -> tensor<2x2x3x16xf32>
    return %a, %t, %s, %n : tensor<2x2x3x16xf32>, tensor<2x2x16x?xf32>, tensor<1xi64>, tensor<2x2x?x16xf32>
  }
}
