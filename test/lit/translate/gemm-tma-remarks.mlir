// effc --remarks says why an sm_90a GEMM that runs on tensor cores is not on
// the kernel --gemm prefers, and which kernel a GEMM whose M follows the
// symbolic dims got: a bf16 one takes the TMA kernel over runtime rows (its
// maps, tile and split chosen at the planned M; issue 16); its static
// neighbour takes the TMA kernel and says nothing; an fp32 GEMM (FFMA on
// every arch) says nothing either, nor does any GEMM under --gemm=mma or
// --gemm=wgmma (the kernel they ask for).
// RUN: effc-translate --eff-to-plan --arch=sm_90a --remarks %s 2>&1 | FileCheck %s
// RUN: effc-translate --eff-to-plan --arch=sm_90a %s 2>&1 | FileCheck %s --check-prefix=QUIET
// RUN: effc-translate --eff-to-plan --arch=sm_90a --gemm=mma --remarks %s 2>&1 | FileCheck %s --check-prefix=QUIET
// RUN: effc-translate --eff-to-plan --arch=sm_90a --gemm=wgmma --remarks %s 2>&1 | FileCheck %s --check-prefix=CPASYNC

// CHECK: remark: eff.matmul 64x32x64: TMA wgmma kernel wg64x64_s8_tma over runtime rows (M = (2 * effc_dims[0]) up to 64: maps, tile and split-K chosen at 64 rows; the grid and stores follow the run's M; runs of at most 16 rows take the decode path over the launch's CTAs)
// CHECK-NOT: remark:
// CHECK: k0_matmul Matmul wgmma-tma M=64
// CHECK: k1_matmul Matmul wgmma-tma M=128
// CHECK: k2_matmul Matmul ffma
// QUIET-NOT: remark:
// CPASYNC-NOT: remark:
// CPASYNC: k0_matmul Matmul wgmma M=64
// CPASYNC-NOT: remark:

module {
  func.func @main(%x: tensor<2x?x64xbf16> {eff.dim_params = ["", "seq", ""], eff.name = "x"},
                  %s: tensor<128x64xbf16> {eff.name = "s"}, %f: tensor<16x64xf32> {eff.name = "f"})
      -> (tensor<2x?x32xbf16>, tensor<128x32xbf16>, tensor<16x32xf32>)
      attributes {eff.dims = {seq = array<i64: 1, 32>}} {
    %w = eff.constant {value = dense<5.000000e-01> : tensor<64x32xbf16>} : tensor<64x32xbf16>
    %wf = eff.constant {value = dense<5.000000e-01> : tensor<64x32xf32>} : tensor<64x32xf32>
    %y = eff.matmul %x, %w : (tensor<2x?x64xbf16>, tensor<64x32xbf16>) -> tensor<2x?x32xbf16>
    %z = eff.matmul %s, %w : (tensor<128x64xbf16>, tensor<64x32xbf16>) -> tensor<128x32xbf16>
    %g = eff.matmul %f, %wf : (tensor<16x64xf32>, tensor<64x32xf32>) -> tensor<16x32xf32>
    return %y, %z, %g : tensor<2x?x32xbf16>, tensor<128x32xbf16>, tensor<16x32xf32>
  }
}
