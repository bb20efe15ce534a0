// A KV cache kept in session state (effc --kv-state) read by the bf16
// FlashAttention-2 kernel: its runtime extents give K and V the state's
// [b, h] slice strides (2 x 11 x 16 = 352 per batch, 11 x 16 = 176 per head)
// instead of the packed (past + seq) rows; the append writes the new rows
// only. Every kernel compiles with NVRTC (the two appends are one kernel).
// RUN: effc-translate --eff-to-cuda --kv-state %s | FileCheck %s
// RUN: effc %s --kv-state -o %t.effc
// RUN: effc-nvrtc-check %t.effc --arch=sm_80,sm_90,sm_90a | FileCheck %s --check-prefix=NVRTC
// CHECK: y0[(bh * 11 + (effc_dims[0])) * 16 + i % (16 * effc_dims[1])] = x1[i];
// CHECK: return effc_attn::attn_ext{int(1), int((effc_dims[1])), int((effc_dims[1] + effc_dims[0])), (32 * effc_dims[1]), (16 * effc_dims[1]), 16, 352, 176, 16, 352, 176, 16,
// CHECK: effc_attn::fa2_forward<effc_attn_cfg_k2_attention>(in0, in1, in2, nullptr, out0, effc_dims);
// NVRTC: sm_80: 2 kernels compiled
// NVRTC: sm_90: 2 kernels compiled
// NVRTC: sm_90a: 2 kernels compiled

func.func @main(%x: tensor<1x2x?x16xbf16> {eff.dim_params = ["", "", "seq", ""], eff.name = "x"},
                %pk: tensor<1x2x?x16xbf16> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                %pv: tensor<1x2x?x16xbf16> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"})
    -> (tensor<1x2x?x16xbf16> {eff.name = "y"}, tensor<1x2x?x16xbf16> {eff.name = "present.0.key"},
        tensor<1x2x?x16xbf16> {eff.name = "present.0.value"})
    attributes {eff.dims = {past = array<i64: 0, 7>, seq = array<i64: 1, 4>}} {
  %k = eff.kv_append %pk, %x {capacity = 11 : i64, state = "present.0.key"} : (tensor<1x2x?x16xbf16>, tensor<1x2x?x16xbf16>) -> tensor<1x2x?x16xbf16>
  %v = eff.kv_append %pv, %x {capacity = 11 : i64, state = "present.0.value"} : (tensor<1x2x?x16xbf16>, tensor<1x2x?x16xbf16>) -> tensor<1x2x?x16xbf16>
  %y = eff.attention %x, %k, %v {causal, num_kv_heads = 2 : i64, scale = 2.500000e-01 : f32} : (tensor<1x2x?x16xbf16>, tensor<1x2x?x16xbf16>, tensor<1x2x?x16xbf16>) -> tensor<1x2x?x16xbf16>
  return %y, %k, %v : tensor<1x2x?x16xbf16>, tensor<1x2x?x16xbf16>, tensor<1x2x?x16xbf16>
}
