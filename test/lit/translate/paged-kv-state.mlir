// Paged KV pools kept in session state (effc --paged-kv --kv-state, issue 19):
// each eff.paged_kv_write whose pool is an input read by nothing else and
// whose result is returned (and read by eff.paged_attention) becomes a
// Manifest.states entry with pages = true, [pages, H, page_size, D] whole;
// the pool input and the written pool are STATE buffers, neither an input
// nor an output binding. The CUDA kernels are unchanged (the write moves only
// the new rows when its output is its cache: one state buffer); NVRTC.
// RUN: effc-translate --eff-to-manifest --kv-state --remarks %s 2>%t.remarks | FileCheck %s
// RUN: FileCheck %s --check-prefix=REMARK < %t.remarks
// Without --kv-state the pools stay inputs and outputs:
// RUN: effc-translate --eff-to-manifest %s > %t.plain
// RUN: not grep -q '^states {' %t.plain
// RUN: grep -A1 -E '^(inputs|outputs) \{' %t.plain | FileCheck %s --check-prefix=NOSTATE
// RUN: effc-translate --eff-to-manifest --kv-state %s | grep -A1 -E '^(inputs|outputs) \{' | FileCheck %s --check-prefix=BIND
// BIND-NOT: kv_pages
// BIND: name: "q"
// BIND: name: "r"
// BIND: name: "block_table"
// BIND: name: "seq_lens"
// BIND: name: "slot_mapping"
// BIND: name: "y"
// BIND-NOT: kv_pages
// RUN: effc %s --kv-state -o %t.effc
// RUN: effc-nvrtc-check %t.effc --arch=sm_80,sm_90,sm_90a | FileCheck %s --check-prefix=NVRTC
// REMARK: remark: paged KV pool 'kv_pages_out.0.key' kept in session state (6 pages)
// REMARK: remark: paged KV pool 'kv_pages_out.0.value' kept in session state (6 pages)
// NVRTC: sm_90a: {{[0-9]+}} kernels compiled
// CHECK: states {
// CHECK-NEXT: input: "kv_pages.0.key"
// CHECK-NEXT: input_buffer: [[KIN:[0-9]+]]
// CHECK-NEXT: output: "kv_pages_out.0.key"
// CHECK-NEXT: output_buffer: [[KOUT:[0-9]+]]
// CHECK-NEXT: dtype: FLOAT32
// CHECK-NEXT: shape: 6
// CHECK-NEXT: shape: 2
// CHECK-NEXT: shape: 4
// CHECK-NEXT: shape: 16
// CHECK-NEXT: size_bytes: 3072
// CHECK-NEXT: pages: true
// CHECK: states {
// CHECK-NEXT: input: "kv_pages.0.value"
// CHECK: pages: true
// NOSTATE: name: "kv_pages.0.key"
// NOSTATE: name: "kv_pages_out.0.key"
func.func @main(%q: tensor<2x2x3x16xf32> {eff.name = "q"},
                %r: tensor<2x2x3x16xf32> {eff.name = "r"},
                %pk: tensor<6x2x4x16xf32> {eff.name = "kv_pages.0.key"},
                %pv: tensor<6x2x4x16xf32> {eff.name = "kv_pages.0.value"},
                %t: tensor<2x3xi32> {eff.name = "block_table"},
                %l: tensor<2xi32> {eff.name = "seq_lens"},
                %m: tensor<2x3xi32> {eff.name = "slot_mapping"})
    -> (tensor<2x2x3x16xf32> {eff.name = "y"}, tensor<6x2x4x16xf32> {eff.name = "kv_pages_out.0.key"},
        tensor<6x2x4x16xf32> {eff.name = "kv_pages_out.0.value"}) {
  %k = eff.paged_kv_write %pk, %r, %m : (tensor<6x2x4x16xf32>, tensor<2x2x3x16xf32>, tensor<2x3xi32>) -> tensor<6x2x4x16xf32>
  %v = eff.paged_kv_write %pv, %r, %m : (tensor<6x2x4x16xf32>, tensor<2x2x3x16xf32>, tensor<2x3xi32>) -> tensor<6x2x4x16xf32>
  %y = eff.paged_attention %q, %k, %v, %t, %l {scale = 0.25 : f32} : (tensor<2x2x3x16xf32>, tensor<6x2x4x16xf32>, tensor<6x2x4x16xf32>, tensor<2x3xi32>, tensor<2xi32>) -> tensor<2x2x3x16xf32>
  return %y, %k, %v : tensor<2x2x3x16xf32>, tensor<6x2x4x16xf32>, tensor<6x2x4x16xf32>
}
