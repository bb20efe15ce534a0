// Attention over runtime extents (issue 14): with bounded dims (eff.dims:
// seq = 0, step = 1, total = 2) the bf16 attention runs the FlashAttention-2
// kernel and the split-KV decode pair runs the split-KV kernels, planned at the
// upper bounds (tiles, splits, shared memory, grid), each taking the trailing
// effc_dims and reading the run's query/key lengths and the strides that depend
// on them (attn_ext from the config's extents(); STATIC_EDGES off). Grids that
// follow the run: FA2's query tiles, the combine's rows. Static attention kernels
// are unchanged (translate/attention.mlir).
// RUN: effc-translate --eff-to-plan %s | FileCheck %s --check-prefix=PLAN
// RUN: effc-translate --eff-to-cuda %s | FileCheck %s --check-prefix=CUDA
// RUN: effc-translate --eff-to-manifest %s | FileCheck %s --check-prefix=MANIFEST

// PLAN: k0_attention Attention flash-attention-2 block_m=64 block_n=64 warps=4 stages=2 grid=(2,4,2) block=(128,1,1) smem=15360 grid.x=ceil((effc_dims[0])/64)<=2
// PLAN-NEXT: k1_attention_partial AttentionPartial flash-decode-partial splits=3 grid=(3,2,2) block=(128,1,1) smem=19968{{$}}
// PLAN-NEXT: k2_attention_combine AttentionCombine flash-decode-combine splits=3 grid=(32,1,1) block=(128,1,1) smem=0 grid.x=ceil((8 * effc_dims[1])/4)<=32

// CUDA: // FlashAttention-2 forward: q [2,4,128,16] kv [2,2,287,16/16] bf16 causal (bounds; runtime extents)
// CUDA: static constexpr bool STATIC_EDGES = false;
// CUDA-NEXT: static constexpr bool RUNTIME_DIMS = true;
// CUDA: return effc_attn::attn_ext{int(2), int((effc_dims[0])), int((effc_dims[2])), (64 * effc_dims[0]), (16 * effc_dims[0]), 16, (32 * effc_dims[2]), (16 * effc_dims[2]), 16, (32 * effc_dims[2]), (16 * effc_dims[2]), 16, (64 * effc_dims[0]), (16 * effc_dims[0]), 16, 0, 0, 0, 0};
// CUDA: EFFC_KERNEL void __launch_bounds__(128) k0_attention(const void* __restrict__ in0, const void* __restrict__ in1, const void* __restrict__ in2, void* __restrict__ out0, const long long* __restrict__ effc_dims) {
// CUDA-NEXT: effc_attn::fa2_forward<effc_attn_cfg_k0_attention>(in0, in1, in2, nullptr, out0, effc_dims);
// CUDA: // split-KV decode partial: q [2,4,16,16] kv [2,2,287] splits=3 chunk=128 rows/CTA=32 stages=3, 19968 B shared (bounds; runtime extents)
// CUDA: static constexpr int SPLITS = 3, KEY_ALIGN = 64;
// CUDA-NEXT: static constexpr bool RUNTIME_DIMS = true;
// CUDA: return effc_attn::attn_ext{int(2), int((effc_dims[1])), int((effc_dims[2])),
// CUDA: k1_attention_partial({{.*}}void* __restrict__ out1, const long long* __restrict__ effc_dims) {
// CUDA-NEXT: effc_attn::decode_split<effc_attn_cfg_k1_attention_partial>(in0, in1, in2, nullptr, out0, out1, effc_dims);
// CUDA: // split-KV decode combine: 3 splits of [2,4,16,16]
// CUDA: return effc_attn::attn_ext{int(2), int((effc_dims[1])), int(0), 0, 0, 0, 0, 0, 0, 0, 0, 0, (64 * effc_dims[1]), (16 * effc_dims[1]), 16, 0, 0, 0, 0};
// CUDA: k2_attention_combine({{.*}}void* __restrict__ out0, const long long* __restrict__ effc_dims) {
// CUDA-NEXT: effc_attn::decode_combine<effc_attn_cfg_k2_attention_combine>(in0, in1, out0, effc_dims);

// MANIFEST: source: "k0_attention"
// MANIFEST: uses_dims: true
// MANIFEST: source: "k1_attention_partial"
// MANIFEST: uses_dims: true
// MANIFEST: source: "k2_attention_combine"
// MANIFEST: uses_dims: true

module {
  func.func @main(%q: tensor<2x4x?x16xbf16> {eff.dim_params = ["", "", "seq", ""], eff.name = "q"},
                  %k: tensor<2x2x?x16xbf16> {eff.dim_params = ["", "", "total", ""], eff.name = "k"},
                  %v: tensor<2x2x?x16xbf16> {eff.dim_params = ["", "", "total", ""], eff.name = "v"},
                  %q1: tensor<2x4x?x16xbf16> {eff.dim_params = ["", "", "step", ""], eff.name = "q1"})
      -> (tensor<2x4x?x16xbf16>, tensor<2x4x?x16xbf16>)
      attributes {eff.dims = {seq = array<i64: 1, 128>, step = array<i64: 1, 16>, total = array<i64: 1, 287>}} {
    %a = eff.attention %q, %k, %v {causal, num_kv_heads = 2 : i64, scale = 2.500000e-01 : f32} : (tensor<2x4x?x16xbf16>, tensor<2x2x?x16xbf16>, tensor<2x2x?x16xbf16>) -> tensor<2x4x?x16xbf16>
    %p:2 = eff.attention_partial %q1, %k, %v {causal, num_kv_heads = 2 : i64, num_splits = 3 : i64, scale = 2.500000e-01 : f32} : (tensor<2x4x?x16xbf16>, tensor<2x2x?x16xbf16>, tensor<2x2x?x16xbf16>) -> (tensor<3x2x4x?x16xf32>, tensor<3x2x4x?xf32>)
    %o = eff.attention_combine %p#0, %p#1 {to = 16 : i64} : (tensor<3x2x4x?x16xf32>, tensor<3x2x4x?xf32>) -> tensor<2x4x?x16xbf16>
    return %a, %o : tensor<2x4x?x16xbf16>, tensor<2x4x?x16xbf16>
  }
}
