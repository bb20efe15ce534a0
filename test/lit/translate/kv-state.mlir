// A KV cache kept in session state (effc --kv-state, issue 14 S4;
// compiler/plan/SessionState.cpp): each eff.kv_append whose past is a model
// input read by nothing else and whose present is returned as its `state`
// becomes Manifest.states[i] of [B, H, capacity, D]; the past input and the
// present are STATE views of it (no arena bytes, no input/output binding),
// and attention reads the kv_append results. On CUDA the append writes only
// the new rows, at row past (effc_dims[0]) of slices 11 rows apart; the
// fp32 attention (the fallback kernel) reads K/V with that slice stride.
// RUN: effc-translate --eff-to-manifest --kv-state --remarks %s 2>%t.remarks | FileCheck %s
// RUN: FileCheck %s --check-prefix=REMARKS < %t.remarks
// RUN: effc-translate --eff-to-cuda --kv-state %s | FileCheck %s --check-prefix=CUDA
// RUN: effc %s --kv-state -o %t.effc
// RUN: effc-nvrtc-check %t.effc --arch=sm_80,sm_90,sm_90a | FileCheck %s --check-prefix=NVRTC
// Without --kv-state nothing changes: past and present are bindings.
// RUN: effc-translate --eff-to-manifest --host-only %s | FileCheck %s --check-prefix=PLAIN

// REMARKS: remark: KV cache 'present.0.key' kept in session state of 11 rows per (batch, head)
// REMARKS: remark: KV cache 'present.0.value' kept in session state of 11 rows per (batch, head)
// CUDA-LABEL: k0_kv_append(
// CUDA: for (int i = {{.*}}; i < int(32 * effc_dims[1]);
// CUDA-NEXT: const int bh = i / (16 * effc_dims[1]);
// CUDA-NEXT: y0[(bh * 11 + (effc_dims[0])) * 16 + i % (16 * effc_dims[1])] = x1[i];
// CUDA-LABEL: k2_attention(
// CUDA: const int kBase = ((int)(b * 2 + hk) * 11) * 16;
// CUDA-NEXT: const int vBase = ((int)(b * 2 + hk) * 11) * 16;
// NVRTC: sm_80: 2 kernels compiled
// NVRTC: sm_90: 2 kernels compiled
// NVRTC: sm_90a: 2 kernels compiled

// CHECK-LABEL: name: "past_key_values.0.key"
// CHECK-NEXT: dtype: FLOAT32
// CHECK-NEXT: shape: 1
// CHECK-NEXT: shape: 2
// CHECK-NEXT: shape: 7
// CHECK-NEXT: shape: 16
// CHECK-NEXT: storage: STATE
// CHECK-LABEL: name: "past_key_values.0.value"
// CHECK: storage: STATE
// CHECK: state: 1
// CHECK-LABEL: name: "eff.kv_append result"
// CHECK: shape: 11
// CHECK: storage: STATE
// CHECK-NOT: offset
// CHECK-LABEL: name: "eff.kv_append result"
// CHECK: storage: STATE
// CHECK: state: 1
// CHECK-LABEL: inputs {
// CHECK-NEXT: name: "x"
// CHECK-NEXT: }
// CHECK-NEXT: outputs {
// CHECK-NEXT: name: "y"
// CHECK-NEXT: buffer: 5
// CHECK-NEXT: }
// CHECK-NEXT: kernels {
// CHECK-NEXT: op: "eff.kv_append"
// CHECK: op: "eff.attention"
// CHECK: inputs: 0
// CHECK-NEXT: inputs: 3
// CHECK-NEXT: inputs: 4
// CHECK: arena_bytes: 1024
// CHECK: states {
// CHECK-NEXT: input: "past_key_values.0.key"
// CHECK-NEXT: input_buffer: 1
// CHECK-NEXT: output: "present.0.key"
// CHECK-NEXT: output_buffer: 3
// CHECK-NEXT: dtype: FLOAT32
// CHECK-NEXT: shape: 1
// CHECK-NEXT: shape: 2
// CHECK-NEXT: shape: 11
// CHECK-NEXT: shape: 16
// CHECK-NEXT: size_bytes: 1408
// CHECK-NEXT: }
// CHECK-NEXT: states {
// CHECK-NEXT: input: "past_key_values.0.value"
// CHECK-NEXT: input_buffer: 2
// CHECK-NEXT: output: "present.0.value"
// CHECK-NEXT: output_buffer: 4

// PLAIN-NOT: STATE
// PLAIN: inputs {
// PLAIN-NEXT: name: "x"
// PLAIN: name: "past_key_values.0.key"
// PLAIN: name: "past_key_values.0.value"
// PLAIN: outputs {
// PLAIN-NEXT: name: "y"
// PLAIN: name: "present.0.key"
// PLAIN-NOT: states

func.func @main(%x: tensor<1x2x?x16xf32> {eff.dim_params = ["", "", "seq", ""], eff.name = "x"},
                %pk: tensor<1x2x?x16xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                %pv: tensor<1x2x?x16xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"})
    -> (tensor<1x2x?x16xf32> {eff.name = "y"}, tensor<1x2x?x16xf32> {eff.name = "present.0.key"},
        tensor<1x2x?x16xf32> {eff.name = "present.0.value"})
    attributes {eff.dims = {past = array<i64: 0, 7>, seq = array<i64: 1, 4>}} {
  %k = eff.kv_append %pk, %x {capacity = 11 : i64, state = "present.0.key"} : (tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32>
  %v = eff.kv_append %pv, %x {capacity = 11 : i64, state = "present.0.value"} : (tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32>
  %y = eff.attention %x, %k, %v {causal, num_kv_heads = 2 : i64, scale = 2.500000e-01 : f32} : (tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32>
  return %y, %k, %v : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>
}
