// RUN: effc-opt %s --eff-split-kv-decode -split-input-file | FileCheck %s
// RUN: effc-opt %s --eff-split-kv-decode=remarks=true -split-input-file -verify-diagnostics -o /dev/null
// RUN: effc-opt %s --eff-split-kv-decode="splits=3 min-kv-len=0" -split-input-file | FileCheck %s --check-prefix=FORCED
// RUN: effc-opt %s --eff-split-kv-decode="num-sms=8" -split-input-file | FileCheck %s --check-prefix=SMALLGPU

// Llama-style decode step: 1 query, GQA 32/8, d 128, 4096 cached keys, batch
// 8. 64 (batch, kv head) CTAs leave an H100 (132 SMs x 2 CTAs) mostly idle:
// the heuristic splits the keys 4 ways (1024 keys per split).
// CHECK-LABEL: func.func @llama_decode_bf16
// CHECK-NEXT: %[[P:.*]], %[[L:.*]] = eff.attention_partial %arg0, %arg1, %arg2 {num_kv_heads = 8 : i64, num_splits = 4 : i64, scale = 0.0883883461 : f32} : (tensor<8x32x1x128xbf16>, tensor<8x8x4096x128xbf16>, tensor<8x8x4096x128xbf16>) -> (tensor<4x8x32x1x128xf32>, tensor<4x8x32x1xf32>)
// CHECK-NEXT: %[[O:.*]] = eff.attention_combine %[[P]], %[[L]] {to = 16 : i64} : (tensor<4x8x32x1x128xf32>, tensor<4x8x32x1xf32>) -> tensor<8x32x1x128xbf16>
// CHECK-NEXT: return %[[O]]
// FORCED-LABEL: func.func @llama_decode_bf16
// FORCED: eff.attention_partial {{.*}}num_splits = 3 : i64
// With 8 SMs, 64 CTAs are already 4 waves: nothing to split.
// SMALLGPU-LABEL: func.func @llama_decode_bf16
// SMALLGPU-NEXT: eff.attention %arg0
func.func @llama_decode_bf16(%q: tensor<8x32x1x128xbf16>, %k: tensor<8x8x4096x128xbf16>, %v: tensor<8x8x4096x128xbf16>) -> tensor<8x32x1x128xbf16> {
  // expected-remark @+1 {{split attention: num_splits=4, 1024 keys per split}}
  %0 = eff.attention %q, %k, %v {num_kv_heads = 8 : i64, scale = 0.0883883461 : f32} : (tensor<8x32x1x128xbf16>, tensor<8x8x4096x128xbf16>, tensor<8x8x4096x128xbf16>) -> tensor<8x32x1x128xbf16>
  return %0 : tensor<8x32x1x128xbf16>
}

// -----

// Speculative decoding (4 queries), f16, causal + sliding window, a bool
// padding mask: every attribute and the mask carry over to the partial op.
// CHECK-LABEL: func.func @spec_decode_f16_masked
// CHECK-NEXT: %[[P:.*]], %[[L:.*]] = eff.attention_partial %arg0, %arg1, %arg2, %arg3 {causal, num_kv_heads = 2 : i64, num_splits = {{[0-9]+}} : i64, scale = 1.250000e-01 : f32, window = 1024 : i64}
// CHECK-NEXT: eff.attention_combine %[[P]], %[[L]] {to = 10 : i64} : {{.*}} -> tensor<1x8x4x64xf16>
func.func @spec_decode_f16_masked(%q: tensor<1x8x4x64xf16>, %k: tensor<1x2x2048x64xf16>, %v: tensor<1x2x2048x64xf16>, %m: tensor<1x1x1x2048xi1>) -> tensor<1x8x4x64xf16> {
  // expected-remark @+1 {{split attention: num_splits=}}
  %0 = eff.attention %q, %k, %v, %m {causal, num_kv_heads = 2 : i64, scale = 0.125 : f32, window = 1024 : i64} : (tensor<1x8x4x64xf16>, tensor<1x2x2048x64xf16>, tensor<1x2x2048x64xf16>, tensor<1x1x1x2048xi1>) -> tensor<1x8x4x64xf16>
  return %0 : tensor<1x8x4x64xf16>
}

// -----

// fp32 keeps the exact kernel (fp32 models stay within 1e-4).
// CHECK-LABEL: func.func @fp32_not_split
// CHECK-NEXT: eff.attention
// FORCED-LABEL: func.func @fp32_not_split
// FORCED-NEXT: eff.attention
func.func @fp32_not_split(%q: tensor<8x32x1x128xf32>, %k: tensor<8x8x4096x128xf32>) -> tensor<8x32x1x128xf32> {
  // expected-remark @+1 {{attention not split: fp32 keeps the exact attention kernel (the decode kernel rounds operands to f16)}}
  %0 = eff.attention %q, %k, %k {num_kv_heads = 8 : i64, scale = 0.0883883461 : f32} : (tensor<8x32x1x128xf32>, tensor<8x8x4096x128xf32>, tensor<8x8x4096x128xf32>) -> tensor<8x32x1x128xf32>
  return %0 : tensor<8x32x1x128xf32>
}

// -----

// Prefill: too many queries.
// CHECK-LABEL: func.func @prefill_not_split
// CHECK-NEXT: eff.attention
func.func @prefill_not_split(%q: tensor<1x32x128x128xbf16>, %k: tensor<1x8x4096x128xbf16>) -> tensor<1x32x128x128xbf16> {
  // expected-remark @+1 {{attention not split: 128 queries > max-q-len 16}}
  %0 = eff.attention %q, %k, %k {causal, num_kv_heads = 8 : i64, scale = 0.0883883461 : f32} : (tensor<1x32x128x128xbf16>, tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16>) -> tensor<1x32x128x128xbf16>
  return %0 : tensor<1x32x128x128xbf16>
}

// -----

// A short KV cache: the combine launch would cost more than the split saves
// (min-kv-len=0 lifts the limit).
// CHECK-LABEL: func.func @short_kv_not_split
// CHECK-NEXT: eff.attention
// FORCED-LABEL: func.func @short_kv_not_split
// FORCED: eff.attention_partial {{.*}}num_splits = 3 : i64
func.func @short_kv_not_split(%q: tensor<1x32x1x128xbf16>, %k: tensor<1x8x256x128xbf16>) -> tensor<1x32x1x128xbf16> {
  // expected-remark @+1 {{attention not split: 256 keys < min-kv-len 512}}
  %0 = eff.attention %q, %k, %k {num_kv_heads = 8 : i64, scale = 0.0883883461 : f32} : (tensor<1x32x1x128xbf16>, tensor<1x8x256x128xbf16>, tensor<1x8x256x128xbf16>) -> tensor<1x32x1x128xbf16>
  return %0 : tensor<1x32x1x128xbf16>
}

// -----

// Batch 64 x 8 kv heads = 512 CTAs: the grid already fills the GPU.
// CHECK-LABEL: func.func @big_batch_not_split
// CHECK-NEXT: eff.attention
func.func @big_batch_not_split(%q: tensor<64x32x1x128xbf16>, %k: tensor<64x8x4096x128xbf16>) -> tensor<64x32x1x128xbf16> {
  // expected-remark @+1 {{attention not split: one split fills the GPU (enough batch x kv-head CTAs, or one KV tile)}}
  %0 = eff.attention %q, %k, %k {num_kv_heads = 8 : i64, scale = 0.0883883461 : f32} : (tensor<64x32x1x128xbf16>, tensor<64x8x4096x128xbf16>, tensor<64x8x4096x128xbf16>) -> tensor<64x32x1x128xbf16>
  return %0 : tensor<64x32x1x128xbf16>
}

// -----

// Head dim 100 is not a multiple of 8: the decode kernel cannot load it.
// CHECK-LABEL: func.func @head_dim_not_split
// CHECK-NEXT: eff.attention
func.func @head_dim_not_split(%q: tensor<1x8x1x100xbf16>, %k: tensor<1x8x4096x100xbf16>) -> tensor<1x8x1x100xbf16> {
  // expected-remark @+1 {{attention not split: the decode kernel cannot run it: head dims must be multiples of 8 up to 256 (16-byte rows)}}
  %0 = eff.attention %q, %k, %k {num_kv_heads = 8 : i64, scale = 0.1 : f32} : (tensor<1x8x1x100xbf16>, tensor<1x8x4096x100xbf16>, tensor<1x8x4096x100xbf16>) -> tensor<1x8x1x100xbf16>
  return %0 : tensor<1x8x1x100xbf16>
}

// -----

// CHECK-LABEL: func.func @dynamic_not_split
// CHECK-NEXT: eff.attention
func.func @dynamic_not_split(%q: tensor<?x8x1x64xbf16>, %k: tensor<?x8x4096x64xbf16>) -> tensor<?x8x1x64xbf16> {
  // expected-remark @+1 {{attention not split: dynamic shape without bounds (bounded decoders: input_ids [batch, seq] and past_key_values.* [.., .., past, ..] with --dim bounds)}}
  %0 = eff.attention %q, %k, %k {num_kv_heads = 8 : i64, scale = 0.125 : f32} : (tensor<?x8x1x64xbf16>, tensor<?x8x4096x64xbf16>, tensor<?x8x4096x64xbf16>) -> tensor<?x8x1x64xbf16>
  return %0 : tensor<?x8x1x64xbf16>
}

// -----

// Bounded symbolic dims (effc --dim past=0..4095, seq=1..4): the decision
// uses the decoder's bounds (4 queries, 4095 + 4 keys, batch 1: 8 CTAs,
// split 33 ways, as the static 4099-key case would); the partial results keep the dynamic query length and each
// run cuts its own keys.
// CHECK-LABEL: func.func @bounded_decoder
// CHECK-NEXT: eff.attention_partial {{.*}}num_splits = 33 : i64{{.*}} -> (tensor<33x1x32x?x128xf32>, tensor<33x1x32x?xf32>)
// CHECK-NEXT: eff.attention_combine {{.*}} -> tensor<1x32x?x128xbf16>
func.func @bounded_decoder(%ids: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                           %past: tensor<1x8x?x128xbf16> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                           %q: tensor<1x32x?x128xbf16>, %k: tensor<1x8x?x128xbf16>) -> tensor<1x32x?x128xbf16>
    attributes {eff.dims = {past = array<i64: 0, 4095>, seq = array<i64: 1, 4>}} {
  // expected-remark @+1 {{split attention: num_splits=33, keys per split cut at run time}}
  %0 = eff.attention %q, %k, %k {num_kv_heads = 8 : i64, scale = 0.0883883461 : f32} : (tensor<1x32x?x128xbf16>, tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>) -> tensor<1x32x?x128xbf16>
  return %0 : tensor<1x32x?x128xbf16>
}

// -----

// The same with a query length bound above max-q-len: not split.
// CHECK-LABEL: func.func @bounded_prefill
// CHECK-NEXT: eff.attention
func.func @bounded_prefill(%ids: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                           %past: tensor<1x8x?x128xbf16> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                           %q: tensor<1x32x?x128xbf16>, %k: tensor<1x8x?x128xbf16>) -> tensor<1x32x?x128xbf16>
    attributes {eff.dims = {past = array<i64: 0, 4095>, seq = array<i64: 1, 32>}} {
  // expected-remark @+1 {{attention not split: 32 queries > max-q-len 16}}
  %0 = eff.attention %q, %k, %k {num_kv_heads = 8 : i64, scale = 0.0883883461 : f32} : (tensor<1x32x?x128xbf16>, tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>) -> tensor<1x32x?x128xbf16>
  return %0 : tensor<1x32x?x128xbf16>
}
