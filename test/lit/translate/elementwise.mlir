// Emission from planned eff IR, without the importer or the pass pipeline:
// one grid-stride kernel per elementwise op with its shapes baked in, and the
// manifest entry derived from the same plan (buffers bound, launch geometry).
// The second eff.add is the first one again: it is emitted once and its
// manifest entry launches k0_add.
// RUN: effc-translate --eff-to-cuda %s | FileCheck %s --check-prefix=CUDA
// RUN: effc-translate --eff-to-manifest %s | FileCheck %s --check-prefix=MANIFEST

// CUDA: #define EFFC_KERNEL extern "C" __global__
// CUDA-LABEL: // eff.add
// CUDA-NEXT: EFFC_KERNEL void __launch_bounds__(256) k0_add(const void* __restrict__ in0, const void* __restrict__ in1, void* __restrict__ out0) {
// CUDA: for (int i = int(blockIdx.x) * 256 + threadIdx.x; i < 30; i += int(gridDim.x) * 256) {
// CUDA: y0[o0] = (v0 + v1);
// CUDA-LABEL: // eff.cast
// CUDA-NEXT: k1_cast(const void* __restrict__ in0, void* __restrict__ out0)
// CUDA: s0.v[j] = f32_to_f16(v0);
// CUDA-NOT: k2_add

// MANIFEST-LABEL: buffers {
// MANIFEST-NEXT: name: "a"
// MANIFEST: inputs {
// MANIFEST-NEXT: name: "a"
// MANIFEST-NEXT: }
// MANIFEST-NEXT: inputs {
// MANIFEST-NEXT: name: "b"
// MANIFEST-NEXT: buffer: 1
// MANIFEST: kernels {
// MANIFEST-NEXT: op: "eff.add"
// MANIFEST-NEXT: inputs: 0
// MANIFEST-NEXT: inputs: 1
// MANIFEST-NEXT: outputs: 2
// MANIFEST-NEXT: location: "loc(\"{{.*}}elementwise.mlir\":{{[0-9]+}}:8)"
// MANIFEST-NEXT: source: "k0_add"
// MANIFEST-NEXT: launch {
// MANIFEST-NEXT: grid: 1
// MANIFEST-NEXT: grid: 1
// MANIFEST-NEXT: grid: 1
// MANIFEST-NEXT: block: 256
// MANIFEST-NEXT: block: 1
// MANIFEST-NEXT: block: 1
// MANIFEST-NEXT: }
// MANIFEST: kernels {
// MANIFEST-NEXT: op: "eff.cast"
// MANIFEST: key: "to"
// MANIFEST-NEXT: value {
// MANIFEST-NEXT: i: 10
// MANIFEST: source: "k1_cast"
// MANIFEST: kernels {
// MANIFEST-NEXT: op: "eff.add"
// MANIFEST: source: "k0_add"

func.func @main(%a: tensor<2x3x5xf32> {eff.name = "a"}, %b: tensor<5xf32> {eff.name = "b"})
    -> (tensor<2x3x5xf16> {eff.name = "y"}, tensor<2x3x5xf32> {eff.name = "z"}) {
  %0 = eff.add %a, %b : (tensor<2x3x5xf32>, tensor<5xf32>) -> tensor<2x3x5xf32>
  %1 = eff.cast %0 {to = 10 : i64} : (tensor<2x3x5xf32>) -> tensor<2x3x5xf16>
  %2 = eff.add %a, %b : (tensor<2x3x5xf32>, tensor<5xf32>) -> tensor<2x3x5xf32>
  return %1, %2 : tensor<2x3x5xf16>, tensor<2x3x5xf32>
}
