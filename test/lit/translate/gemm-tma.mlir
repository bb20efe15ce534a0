// effc --arch=sm_90a puts a bf16 GEMM with a fused epilogue (bias, relu,
// residual) on the TMA warp-specialized wgmma kernel (issue 16): the plan's
// choice (tile, split, two tensor maps), the kernel's __grid_constant__ map
// parameters after the pointers, and the manifest's tensor_maps (A: K-major
// [128][256], B: MN-major [256][512], 64-element boxes, 128-byte swizzle)
// that the cuda backend encodes. --gemm=wgmma keeps the cp.async wgmma
// kernel (no maps), --gemm=mma and other archs the mma.sync kernel.
// RUN: effc-translate --eff-to-plan --arch=sm_90a %s | FileCheck %s --check-prefix=PLAN
// RUN: effc-translate --eff-to-plan --arch=sm_90a --gemm=tma %s | FileCheck %s --check-prefix=PLAN
// RUN: effc-translate --eff-to-cuda --arch=sm_90a %s | FileCheck %s --check-prefix=CUDA
// RUN: effc-translate --eff-to-manifest --arch=sm_90a %s | FileCheck %s --check-prefix=MANIFEST
// RUN: effc-translate --eff-to-plan --arch=sm_90a --gemm=wgmma %s | FileCheck %s --check-prefix=CPASYNC
// RUN: effc-translate --eff-to-manifest --arch=sm_90a --gemm=wgmma %s | FileCheck %s --check-prefix=NOMAPS
// RUN: effc-translate --eff-to-plan --arch=sm_90a --gemm=mma %s | FileCheck %s --check-prefix=MMA
// RUN: effc-translate --eff-to-plan --arch=sm_90 %s | FileCheck %s --check-prefix=MMA
// RUN: effc-translate --eff-to-plan --arch=sm_90,sm_90a %s | FileCheck %s --check-prefix=MMA
// RUN: effc-translate --eff-to-manifest %s | FileCheck %s --check-prefix=NOMAPS

// PLAN: k0_fusion Fusion wgmma-tma M=128 N=512 K=256 bm=64 bn=64 bk=64 stages=8 split=1 grid=(16,1,1) block=(256,1,1) smem=132096 tensor_maps=2{{$}}
// CPASYNC: k0_fusion Fusion wgmma M=128 N=512 K=256 bm=64 bn=64 bk=64 warps_m=4 warps_n=1 stages=8 grid=(16,1,1) block=(128,1,1) smem=132096{{$}}
// MMA: k0_fusion Fusion mma M=128 N=512 K=256

// CUDA-COUNT-1: #define EFFC_DEVICE_HOPPER_CUH
// CUDA: // wg64x64_s8_tma, smem 132096 B, TMA warp-specialized persistent
// CUDA: EFFC_KERNEL void __launch_bounds__(256, 1) k0_fusion(const void *__restrict__ A_, const void *__restrict__ B_, const void *__restrict__ in2, const void *__restrict__ in3, void *__restrict__ C_, const __grid_constant__ HopTensorMap tmA, const __grid_constant__ HopTensorMap tmB) {
// CUDA: wgmma_tma_gemm<effc_wgmma_cfg_k0_fusion>(nullptr, C_, &tmA, &tmB, epilogue);

// MANIFEST-LABEL: kernels {
// MANIFEST: source: "k0_fusion"
// MANIFEST: launch {
// MANIFEST-NEXT: grid: 16
// MANIFEST: shared_bytes: 132096
// MANIFEST-NEXT: }
// MANIFEST-NEXT: tensor_maps {
// MANIFEST-NEXT: dtype: BFLOAT16
// MANIFEST-NEXT: dims: 256
// MANIFEST-NEXT: dims: 128
// MANIFEST-NEXT: dims: 1
// MANIFEST-NEXT: strides: 512
// MANIFEST-NEXT: strides: 65536
// MANIFEST-NEXT: box: 64
// MANIFEST-NEXT: box: 64
// MANIFEST-NEXT: box: 1
// MANIFEST-NEXT: element_strides: 1
// MANIFEST-NEXT: element_strides: 1
// MANIFEST-NEXT: element_strides: 1
// MANIFEST-NEXT: swizzle: 3
// MANIFEST-NEXT: l2_promotion: 3
// MANIFEST-NEXT: }
// MANIFEST-NEXT: tensor_maps {
// MANIFEST-NEXT: arg: 1
// MANIFEST-NEXT: dtype: BFLOAT16
// MANIFEST-NEXT: dims: 512
// MANIFEST-NEXT: dims: 256
// MANIFEST-NEXT: dims: 1
// MANIFEST-NEXT: strides: 1024
// MANIFEST-NEXT: strides: 262144
// MANIFEST-NEXT: box: 64
// MANIFEST-NEXT: box: 64
// MANIFEST-NEXT: box: 1
// MANIFEST: }
// MANIFEST-NOT: tensor_maps
// NOMAPS-NOT: tensor_maps

func.func @main(%a: tensor<128x256xbf16> {eff.name = "a"}, %w: tensor<256x512xbf16> {eff.name = "w"},
                %bias: tensor<512xbf16> {eff.name = "bias"}, %r: tensor<128x512xbf16> {eff.name = "r"})
    -> (tensor<128x512xbf16> {eff.name = "y"}) {
  %0 = eff.fusion gemm_epilogue(%a, %w, %bias, %r) : (tensor<128x256xbf16>, tensor<256x512xbf16>, tensor<512xbf16>, tensor<128x512xbf16>) -> tensor<128x512xbf16> {
  ^bb0(%x: tensor<128x256xbf16>, %y: tensor<256x512xbf16>, %b: tensor<512xbf16>, %res: tensor<128x512xbf16>):
    %1 = eff.matmul %x, %y : (tensor<128x256xbf16>, tensor<256x512xbf16>) -> tensor<128x512xbf16>
    %2 = eff.add %1, %b : (tensor<128x512xbf16>, tensor<512xbf16>) -> tensor<128x512xbf16>
    %3 = eff.relu %2 : (tensor<128x512xbf16>) -> tensor<128x512xbf16>
    %4 = eff.add %3, %res : (tensor<128x512xbf16>, tensor<128x512xbf16>) -> tensor<128x512xbf16>
    eff.yield %4 : tensor<128x512xbf16>
  }
  return %0 : tensor<128x512xbf16>
}
