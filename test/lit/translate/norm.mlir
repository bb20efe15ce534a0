// Row kernels from planned eff IR: eff.layer_norm over 64 features gets one
// warp per row (8 rows per block), eff.softmax over 3000 elements one block
// per row; the manifest records each kernel's grid and block.
// RUN: effc-translate --eff-to-cuda %s | FileCheck %s --check-prefix=CUDA
// RUN: effc-translate --eff-to-manifest %s | FileCheck %s --check-prefix=MANIFEST

// CUDA-LABEL: // eff.layer_norm
// CUDA-NEXT: k0_layer_norm(const void* __restrict__ in0, const void* __restrict__ in1, const void* __restrict__ in2, void* __restrict__ out0) {
// CUDA: for (int row = int(blockIdx.x) * 8 + (threadIdx.x >> 5); row < 6; row += int(gridDim.x) * 8) {
// CUDA: const float inv = (float)1 / sqrtf(warp_reduce(sq, SumOp()) / (float)64 + 0.00100000005f);
// CUDA-LABEL: // eff.softmax
// CUDA-NEXT: k1_softmax(const void* __restrict__ in0, void* __restrict__ out0) {
// CUDA: for (int row = blockIdx.x; row < 2; row += gridDim.x) {
// CUDA: mx = block_reduce(mx, MaxOp());

// MANIFEST-LABEL: kernels {
// MANIFEST-NEXT: op: "eff.layer_norm"
// MANIFEST: key: "epsilon"
// MANIFEST-NEXT: value {
// MANIFEST-NEXT: f: 0.0010000000474974513
// MANIFEST: source: "k0_layer_norm"
// MANIFEST-NEXT: launch {
// MANIFEST-NEXT: grid: 1
// MANIFEST-NEXT: grid: 1
// MANIFEST-NEXT: grid: 1
// MANIFEST-NEXT: block: 256
// MANIFEST-NEXT: block: 1
// MANIFEST-NEXT: block: 1
// MANIFEST-NEXT: }
// MANIFEST-LABEL: kernels {
// MANIFEST-NEXT: op: "eff.softmax"
// MANIFEST: source: "k1_softmax"
// MANIFEST-NEXT: launch {
// MANIFEST-NEXT: grid: 2
// MANIFEST-NEXT: grid: 1
// MANIFEST-NEXT: grid: 1
// MANIFEST-NEXT: block: 256
// MANIFEST-NEXT: block: 1
// MANIFEST-NEXT: block: 1
// MANIFEST-NEXT: }

func.func @main(%x: tensor<2x3x64xf32> {eff.name = "x"}, %scale: tensor<64xf32> {eff.name = "scale"},
                %bias: tensor<64xf32> {eff.name = "bias"}, %z: tensor<2x3000xf32> {eff.name = "z"})
    -> (tensor<2x3x64xf32> {eff.name = "y"}, tensor<2x3000xf32> {eff.name = "p"}) {
  %0 = eff.layer_norm %x, %scale, %bias {epsilon = 1.000000e-03 : f32} : (tensor<2x3x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<2x3x64xf32>
  %1 = eff.softmax %z : (tensor<2x3000xf32>) -> tensor<2x3000xf32>
  return %0, %1 : tensor<2x3x64xf32>, tensor<2x3000xf32>
}
