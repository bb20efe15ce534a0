// Runtime extents (issue 14 stage S3) with a symbolic seq: the GEMM's M, the
// rows of a reduction and the attention's query rows (and its causal offset
// total - seq) come from effc_dims (seq = 0, total = 1). Kernels and grids are
// planned at the upper bounds; grid dims that follow the dims are printed as
// grid.x=ceil(COUNT/PER_BLOCK)<=CAP and stored as Launch.grid_exprs.
// RUN: effc-translate --eff-to-plan %s | FileCheck %s --check-prefix=PLAN
// RUN: effc-translate --eff-to-cuda %s | FileCheck %s --check-prefix=CUDA
// RUN: effc-translate --eff-to-manifest %s | FileCheck %s --check-prefix=MANIFEST

// PLAN: k0_matmul Matmul ffma M=64 N=32 K=64 grid=(1,1,1) block=(256,1,1) smem=0{{$}}
// PLAN-NEXT: k1_reduce_mean Reduction warp-per-row rows=64 length=64 grid=(8,1,1) block=(256,1,1) smem=0 grid.x=ceil((2 * effc_dims[0])/8)<=8
// PLAN-NEXT: k2_attention Attention warp-per-query-row rows=8 key_tile=32 grid=(4,2,2) block=(256,1,1) smem=0 grid.x=ceil((effc_dims[0])/8)<=4

// One [M, K] x [K, N] GEMM over A's rows (M = 2 * seq, planned at 64): M
// tiles past the run's rows return first.
// CUDA-LABEL: k0_matmul(const void* __restrict__ in0, const void* __restrict__ in1, void* __restrict__ out0, const long long* __restrict__ effc_dims) {
// CUDA: if (int(blockIdx.x) * 64 >= int(2 * effc_dims[0])) return;
// CUDA-NEXT: // Y[1][64][32] = A * B, K = 64
// CUDA-LABEL: k1_reduce_mean(
// CUDA: for (int row = int(blockIdx.x) * 8 + (threadIdx.x >> 5); row < int(2 * effc_dims[0]); row += int(gridDim.x) * 8) {
// CUDA: if (lane == 0) y0[row] = acc / (float)64;
// CUDA-LABEL: k2_attention(
// CUDA: if (i0 >= (effc_dims[0]) || b >= 2) return;
// CUDA-NEXT: const bool live = i < (effc_dims[0]);
// CUDA-NEXT: const int pos = i + (effc_dims[1] - effc_dims[0]);  // queries are the last S positions
// CUDA-NEXT: const int qBase = ((int)(b * 2 + h) * (effc_dims[0])) * 16;
// CUDA: jEnd = min(jEnd, int(min((long long)(i0 + 8), (long long)(effc_dims[0])) - 1 + (effc_dims[1] - effc_dims[0]) + 1));

// MANIFEST-LABEL: op: "eff.reduce_mean"
// MANIFEST: launch {
// MANIFEST: grid_exprs {
// MANIFEST-NEXT: count {
// MANIFEST-NEXT: terms {
// MANIFEST-NEXT: coeff: 2
// MANIFEST-NEXT: dims: 0
// MANIFEST-NEXT: }
// MANIFEST-NEXT: }
// MANIFEST-NEXT: per_block: 8
// MANIFEST-NEXT: cap: 8
// MANIFEST-NEXT: }
// MANIFEST: uses_dims: true

module {
  func.func @main(%x: tensor<2x?x64xf32> {eff.dim_params = ["", "seq", ""], eff.name = "x"},
                  %q: tensor<2x2x?x16xf32> {eff.dim_params = ["", "", "seq", ""], eff.name = "q"},
                  %k: tensor<2x2x?x16xf32> {eff.dim_params = ["", "", "total", ""], eff.name = "k"})
      -> (tensor<2x?x32xf32>, tensor<2x?x1xf32>, tensor<2x2x?x16xf32>)
      attributes {eff.dims = {seq = array<i64: 1, 32>, total = array<i64: 1, 64>}} {
    %w = eff.constant {value = dense<5.000000e-01> : tensor<64x32xf32>} : tensor<64x32xf32>
    %axes = eff.constant {value = dense<-1> : tensor<1xi64>} : tensor<1xi64>
    %y = eff.matmul %x, %w : (tensor<2x?x64xf32>, tensor<64x32xf32>) -> tensor<2x?x32xf32>
    %m = eff.reduce_mean %x, %axes : (tensor<2x?x64xf32>, tensor<1xi64>) -> tensor<2x?x1xf32>
    %a = eff.attention %q, %k, %k {causal, num_kv_heads = 2 : i64, scale = 2.500000e-01 : f32} : (tensor<2x2x?x16xf32>, tensor<2x2x?x16xf32>, tensor<2x2x?x16xf32>) -> tensor<2x2x?x16xf32>
    return %y, %m, %a : tensor<2x?x32xf32>, tensor<2x?x1xf32>, tensor<2x2x?x16xf32>
  }
}
