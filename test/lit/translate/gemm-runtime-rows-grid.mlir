// Every tensor-core GEMM over runtime rows (M = batch * seq, planned at the
// bound 4096) launches only the row tiles the run needs: the mma.sync kernel
// (a vocab-sized N = 50257, whose B rows are not 16-byte aligned, so no
// wgmma) and the cp.async wgmma kernel (--gemm=wgmma) get a grid.x rule over
// the run's tiles, ceil((rows + BM - 1) * tilesN / BM), and their kernels
// read the run's rows (the raster and the stores stop there). sm_80 too.
// Both are planned above 16 rows, so a run of at most 16 rows takes the
// decode path (decode_rows=16) over the launch's CTAs: the rule counts the
// decode kernel's CTAs more. The vocab-wide GEMM takes tcg_decode_gemv_rows
// with 128 columns an item (the default decode GEMV, wide: ceil(50257 / 128)
// = 393 CTAs, 393 x 128 = 50304); the 768-wide one tcg_decode_gemv, 16
// columns an item (48 CTAs, 48 x 128 = 6144).
// RUN: effc-translate --eff-to-plan --arch=sm_90a --remarks %s 2>&1 | FileCheck %s
// RUN: effc-translate --eff-to-plan --arch=sm_90a --gemm=wgmma %s 2>&1 | FileCheck %s --check-prefix=CPASYNC
// RUN: effc-translate --eff-to-plan --arch=sm_80 %s 2>&1 | FileCheck %s --check-prefix=SM80
// RUN: effc-translate --eff-to-cuda --arch=sm_90a %s | FileCheck %s --check-prefix=CUDA
// RUN: effc-translate --eff-to-cuda --arch=sm_90a --gemm=wgmma %s | FileCheck %s --check-prefix=CUDA-CPASYNC
// The manifest records each choice (Kernel.choice, diagnostics only).
// RUN: effc-translate --eff-to-manifest --arch=sm_90a %s | FileCheck %s --check-prefix=MANIFEST
// MANIFEST: choice: "Matmul mma M=4096 N=50257 K=768 bm=128 bn=256 bk=32 warps_m=2 warps_n=4 stages=4 decode_rows=16"
// MANIFEST: choice: "Matmul wgmma-tma M=4096 N=768 K=768 bm=128 bn=256 bk=64 stages=4 split=1 decode_rows=16"
// Every kernel (mma.sync with and without aligned rows, TMA, cp.async wgmma,
// each with its decode path) builds with NVRTC for sm_80, sm_90 and sm_90a.
// RUN: effc %s --arch=sm_90a -o %t.sm90a.effc
// RUN: effc-nvrtc-check %t.sm90a.effc --arch=sm_90a | FileCheck %s --check-prefix=NVRTC
// RUN: effc %s --arch=sm_90a --gemm=wgmma -o %t.cpasync.effc
// RUN: effc-nvrtc-check %t.cpasync.effc --arch=sm_90a | FileCheck %s --check-prefix=NVRTC
// RUN: effc %s --arch=sm_80 -o %t.sm80.effc
// RUN: effc-nvrtc-check %t.sm80.effc --arch=sm_80 | FileCheck %s --check-prefix=NVRTC
// RUN: effc-nvrtc-check %t.sm80.effc --arch=sm_90 | FileCheck %s --check-prefix=NVRTC
// RUN: rm -f %t.sm90a.effc %t.cpasync.effc %t.sm80.effc
// NVRTC: sm_{{80|90|90a}}: 2 kernels compiled

// CHECK: remark: eff.matmul 4096x50257x768: mma.sync kernel, not wgmma (wgmma kernel: A and B rows must be 16-byte aligned (leading dims multiple of 8)) over runtime rows (M = (effc_dims[0] * effc_dims[1]) up to 4096: the grid and stores follow the run's M); runs of at most 16 rows take the decode path over the launch's CTAs
// CHECK: k0_matmul Matmul mma M=4096 N=50257 K=768 bm=128 bn=256 {{.*}} grid=(6304,1,1) {{.*}} grid.x=ceil((197 * effc_dims[0] * effc_dims[1] + 75323)/128)<=6304
// CHECK: k1_matmul Matmul wgmma-tma M=4096 N=768 K=768 {{.*}} grid.x=ceil((3 * effc_dims[0] * effc_dims[1] + 6525)/128)<=96
// CPASYNC: k1_matmul Matmul wgmma M=4096 N=768 K=768 bm=128 bn=256 {{.*}} grid=(96,1,1) {{.*}} grid.x=ceil((3 * effc_dims[0] * effc_dims[1] + 6525)/128)<=96
// SM80: k0_matmul Matmul mma M=4096 N=50257 {{.*}} grid.x=ceil((197 * effc_dims[0] * effc_dims[1] + 75323)/128)<=6304
// SM80: k1_matmul Matmul mma M=4096 N=768 K=768 bm=128 bn=64 {{.*}} grid.x=ceil((12 * effc_dims[0] * effc_dims[1] + 7668)/128)<=384
// CUDA: const int effc_rows = int(min((long long)4096, max(0ll, (long long)(effc_dims[0] * effc_dims[1]))));
// CUDA-NEXT: if (effc_rows <= 16) {  // a decode-sized run: tcg_decode_gemv_rows
// CUDA: tcg_decode_gemv_rows<effc_gemm_cfg_k0_matmul, 128>(A_, B_, nullptr, C_, TcgNoEpilogue(), effc_rows, (float *)tcg_smem);
// CUDA: tcg_gemm<effc_gemm_cfg_k0_matmul>(A_, B_, nullptr, C_, TcgNoEpilogue(), effc_rows);
// CUDA-CPASYNC: tcg_decode_gemv<effc_wgmma_cfg_k1_matmul>(A_, B_, nullptr, C_, TcgNoEpilogue(),
// CUDA-CPASYNC: wgmma_gemm<effc_wgmma_cfg_k1_matmul>(A_, B_, nullptr, C_, TcgNoEpilogue(), effc_dims);

module {
  func.func @main(%x: tensor<?x?x768xbf16> {eff.dim_params = ["batch", "seq", ""], eff.name = "x"})
      -> (tensor<?x?x50257xbf16>, tensor<?x?x768xbf16>)
      attributes {eff.dims = {batch = array<i64: 1, 8>, seq = array<i64: 1, 512>}} {
    %w = eff.constant {value = dense<5.000000e-01> : tensor<768x50257xbf16>} : tensor<768x50257xbf16>
    %w2 = eff.constant {value = dense<5.000000e-01> : tensor<768x768xbf16>} : tensor<768x768xbf16>
    %y = eff.matmul %x, %w : (tensor<?x?x768xbf16>, tensor<768x50257xbf16>) -> tensor<?x?x50257xbf16>
    %z = eff.matmul %x, %w2 : (tensor<?x?x768xbf16>, tensor<768x768xbf16>) -> tensor<?x?x768xbf16>
    return %y, %z : tensor<?x?x50257xbf16>, tensor<?x?x768xbf16>
  }
}
