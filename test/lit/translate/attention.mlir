// eff.attention (GQA 4/2 heads, causal) from planned eff IR: one
// FlashAttention-style kernel, one block per (query tile, head, batch), with
// the attention device code emitted once; the manifest has that grid.
// RUN: effc-translate --eff-to-cuda %s | FileCheck %s --check-prefix=CUDA
// RUN: effc-translate --eff-to-manifest %s | FileCheck %s --check-prefix=MANIFEST

// CUDA-LABEL: // eff.attention
// CUDA-NEXT: EFFC_KERNEL void __launch_bounds__(192) k0_attention(const void* __restrict__ in0, const void* __restrict__ in1, const void* __restrict__ in2, void* __restrict__ out0) {
// CUDA: // q [1x4x6x16] k [1x2x6x16] v [1x2x6x16] causal
// CUDA: const int b = blockIdx.z, h = blockIdx.y, hk = h / 2;
// CUDA: l = l * corr + warp_reduce(p, SumOp());

// MANIFEST-LABEL: kernels {
// MANIFEST-NEXT: op: "eff.attention"
// MANIFEST: key: "causal"
// MANIFEST-NEXT: value {
// MANIFEST-NEXT: i: 1
// MANIFEST: key: "num_kv_heads"
// MANIFEST-NEXT: value {
// MANIFEST-NEXT: i: 2
// MANIFEST: source: "k0_attention"
// MANIFEST-NEXT: launch {
// MANIFEST-NEXT: grid: 1
// MANIFEST-NEXT: grid: 4
// MANIFEST-NEXT: grid: 1
// MANIFEST-NEXT: block: 192
// MANIFEST-NEXT: block: 1
// MANIFEST-NEXT: block: 1
// MANIFEST-NEXT: }

func.func @main(%q: tensor<1x4x6x16xf32> {eff.name = "q"}, %k: tensor<1x2x6x16xf32> {eff.name = "k"},
                %v: tensor<1x2x6x16xf32> {eff.name = "v"}) -> (tensor<1x4x6x16xf32> {eff.name = "o"}) {
  %0 = eff.attention %q, %k, %v {causal, num_kv_heads = 2 : i64, scale = 2.500000e-01 : f32} : (tensor<1x4x6x16xf32>, tensor<1x2x6x16xf32>, tensor<1x2x6x16xf32>) -> tensor<1x4x6x16xf32>
  return %0 : tensor<1x4x6x16xf32>
}
