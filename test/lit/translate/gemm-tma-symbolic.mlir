// GEMMs whose M follows the symbolic dims (runtime rows: batch * seq, planned
// at the bound) take the TMA warp-specialized wgmma kernel on sm_90a (issue
// 16). The tile, split-K and tensor maps are those of the planned M (A's map
// covers the planned rows; TMA zero-fills past them); the kernel reads the
// run's M from effc_dims (config RUNTIME_M, rows()), so the manifest marks it
// uses_dims, and where the planned M has several row tiles its grid's x
// follows the run (a grid_exprs rule over (rows + BM - 1) * tiles_n / BM,
// capped at the planned clusters). A split-K cluster lies along y there
// (grid (8, 2, 1), __cluster_dims__(1, 2, 1)). --gemm=wgmma keeps the
// cp.async kernel (no maps). A GEMM planned above 16 rows has the decode
// path (tcg_decode_gemv for runs of at most 16 rows, decode_rows=16): its
// rule counts ceil(min(N / 16, 4 * SMs) / split) clusters more (k2: 64 x 64
// = 4096 more in the count).
// RUN: effc-translate --eff-to-plan --arch=sm_90a %s | FileCheck %s --check-prefix=PLAN
// RUN: effc-translate --eff-to-cuda --arch=sm_90a %s | FileCheck %s --check-prefix=CUDA
// RUN: effc-translate --eff-to-manifest --arch=sm_90a %s | FileCheck %s --check-prefix=MANIFEST
// RUN: effc-translate --eff-to-plan --arch=sm_90a --gemm=wgmma %s | FileCheck %s --check-prefix=CPASYNC
// RUN: effc-translate --eff-to-manifest --arch=sm_90a --gemm=wgmma %s | FileCheck %s --check-prefix=NOMAPS
// The three kernels build with NVRTC for sm_90a (split-K cluster along y,
// bias, the grid rule's kernel), as TMA and as cp.async kernels.
// RUN: effc %s --arch=sm_90a -o %t.effc
// RUN: effc-nvrtc-check %t.effc --arch=sm_90a | FileCheck %s --check-prefix=NVRTC
// RUN: effc %s --arch=sm_90a --gemm=wgmma -o %t.cpasync.effc
// RUN: effc-nvrtc-check %t.cpasync.effc --arch=sm_90a | FileCheck %s --check-prefix=NVRTC
// NVRTC: needs sm_90a
// NVRTC: sm_90a: 3 kernels compiled

// PLAN: k0_matmul Matmul wgmma-tma M=32 N=512 K=2048 bm=64 bn=64 bk=64 stages=8 split=2 decode_rows=16 grid=(8,2,1) block=(256,1,1) smem=148480 tensor_maps=2{{$}}
// PLAN: k1_gemm Matmul wgmma-tma M=16 N=512 K=256 bm=64 bn=64 bk=64 stages=8 split=1 grid=(8,1,1) block=(256,1,1) smem=132096 tensor_maps=2{{$}}
// PLAN: k2_matmul Matmul wgmma-tma M=512 N=1024 K=256 bm=64 bn=64 bk=64 stages=8 split=1 decode_rows=16 grid=(128,1,1) block=(256,1,1) smem=132096 grid.x=ceil((512 * effc_dims[0] + 5104)/64)<=128 tensor_maps=2{{$}}
// CPASYNC: k0_matmul Matmul wgmma M=32
// CPASYNC: k1_gemm Matmul wgmma M=16
// CPASYNC: k2_matmul Matmul wgmma M=512

// CUDA-LABEL: struct effc_wgmma_cfg_k0_matmul {
// CUDA: static constexpr int M = 32, N = 512, K = 2048;
// CUDA: static constexpr bool RUNTIME_M = true;
// CUDA-NEXT: static __device__ __forceinline__ long long rows(const long long *effc_dims) { return (2 * effc_dims[0]); }
// CUDA: EFFC_KERNEL void __launch_bounds__(256, 1) __cluster_dims__(1, 2, 1) k0_matmul(const void *__restrict__ A_, const void *__restrict__ B_, void *__restrict__ C_, const long long* __restrict__ effc_dims, const __grid_constant__ HopTensorMap tmA, const __grid_constant__ HopTensorMap tmB) {
// CUDA-NEXT: if (int(min((long long)32, max(0ll, (long long)(2 * effc_dims[0])))) <= 16) {  // a decode-sized run: tcg_decode_gemv
// CUDA: tcg_decode_gemv<effc_wgmma_cfg_k0_matmul>(A_, B_, nullptr, C_, TcgNoEpilogue(), int(min((long long)32, max(0ll, (long long)(2 * effc_dims[0])))), (float *)tcg_smem);
// CUDA: wgmma_tma_gemm<effc_wgmma_cfg_k0_matmul>(nullptr, C_, &tmA, &tmB, TcgNoEpilogue(), effc_dims);
// CUDA-LABEL: struct effc_wgmma_cfg_k1_gemm {
// CUDA: static constexpr bool TRANS_A = false, TRANS_B = true, HAS_BIAS = true, EPILOGUE = false;
// CUDA: rows(const long long *effc_dims) { return (effc_dims[0]); }
// CUDA: k1_gemm(const void *__restrict__ A_, const void *__restrict__ B_, const void *__restrict__ bias_, void *__restrict__ C_, const long long* __restrict__ effc_dims, const __grid_constant__ HopTensorMap tmA, const __grid_constant__ HopTensorMap tmB) {
// CUDA-NEXT: wgmma_tma_gemm<effc_wgmma_cfg_k1_gemm>(bias_, C_, &tmA, &tmB, TcgNoEpilogue(), effc_dims);
// CUDA-LABEL: struct effc_wgmma_cfg_k2_matmul {
// CUDA: static constexpr int M = 512, N = 1024, K = 256;
// CUDA: rows(const long long *effc_dims) { return (32 * effc_dims[0]); }

// The matmul's A map: [32 rows][2048] (the planned rows), 64 x 64 boxes.
// MANIFEST-LABEL: source: "k0_matmul"
// MANIFEST: launch {
// MANIFEST-NEXT: grid: 8
// MANIFEST-NEXT: grid: 2
// MANIFEST-NEXT: grid: 1
// MANIFEST: shared_bytes: 148480
// MANIFEST-NEXT: }
// MANIFEST-NEXT: uses_dims: true
// MANIFEST-NEXT: tensor_maps {
// MANIFEST-NEXT: dtype: BFLOAT16
// MANIFEST-NEXT: dims: 2048
// MANIFEST-NEXT: dims: 32
// MANIFEST-NEXT: dims: 1
// MANIFEST: tensor_maps {
// MANIFEST-NEXT: arg: 1
// MANIFEST-LABEL: source: "k1_gemm"
// MANIFEST: uses_dims: true
// MANIFEST-NEXT: tensor_maps {
// MANIFEST-NEXT: dtype: BFLOAT16
// MANIFEST-NEXT: dims: 256
// MANIFEST-NEXT: dims: 16
// The large one: [512 rows][256]; the grid follows the run.
// MANIFEST-LABEL: source: "k2_matmul"
// MANIFEST: launch {
// MANIFEST-NEXT: grid: 128
// MANIFEST: grid_exprs {
// MANIFEST-NEXT: count {
// MANIFEST-NEXT: terms {
// MANIFEST-NEXT: coeff: 5104
// MANIFEST-NEXT: }
// MANIFEST-NEXT: terms {
// MANIFEST-NEXT: coeff: 512
// MANIFEST-NEXT: dims: 0
// MANIFEST-NEXT: }
// MANIFEST-NEXT: }
// MANIFEST-NEXT: per_block: 64
// MANIFEST-NEXT: cap: 128
// MANIFEST-NEXT: }
// MANIFEST-NEXT: }
// MANIFEST-NEXT: uses_dims: true
// MANIFEST-NEXT: tensor_maps {
// MANIFEST-NEXT: dtype: BFLOAT16
// MANIFEST-NEXT: dims: 256
// MANIFEST-NEXT: dims: 512
// MANIFEST-NEXT: dims: 1
// MANIFEST-NEXT: strides: 512
// MANIFEST-NEXT: strides: 262144
// MANIFEST-NEXT: box: 64
// MANIFEST-NEXT: box: 64
// NOMAPS-NOT: tensor_maps

module {
  func.func @main(%x: tensor<2x?x2048xbf16> {eff.dim_params = ["", "seq", ""], eff.name = "x"},
                  %h: tensor<?x256xbf16> {eff.dim_params = ["seq", ""], eff.name = "h"},
                  %p: tensor<32x?x256xbf16> {eff.dim_params = ["", "seq", ""], eff.name = "p"})
      -> (tensor<2x?x512xbf16> {eff.name = "y"}, tensor<?x512xbf16> {eff.name = "z"},
          tensor<32x?x1024xbf16> {eff.name = "q"})
      attributes {eff.dims = {seq = array<i64: 1, 16>}} {
    %w = eff.constant {value = dense<5.000000e-01> : tensor<2048x512xbf16>} : tensor<2048x512xbf16>
    %wt = eff.constant {value = dense<2.500000e-01> : tensor<512x256xbf16>} : tensor<512x256xbf16>
    %b = eff.constant {value = dense<1.000000e+00> : tensor<512xbf16>} : tensor<512xbf16>
    %wp = eff.constant {value = dense<1.250000e-01> : tensor<256x1024xbf16>} : tensor<256x1024xbf16>
    %y = eff.matmul %x, %w : (tensor<2x?x2048xbf16>, tensor<2048x512xbf16>) -> tensor<2x?x512xbf16>
    %z = eff.gemm %h, %wt, %b {transB = 1 : i64} : (tensor<?x256xbf16>, tensor<512x256xbf16>, tensor<512xbf16>) -> tensor<?x512xbf16>
    %q = eff.matmul %p, %wp : (tensor<32x?x256xbf16>, tensor<256x1024xbf16>) -> tensor<32x?x1024xbf16>
    return %y, %z, %q : tensor<2x?x512xbf16>, tensor<?x512xbf16>, tensor<32x?x1024xbf16>
  }
}
