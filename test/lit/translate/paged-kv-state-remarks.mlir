// Why paged KV pools stay out of session state (effc --paged-kv --kv-state
// --remarks): all pools or none, the first that cannot be says why. Here the
// written pool is also read by an eff.neg, which does not read it in place.
// RUN: effc-translate --eff-to-manifest --kv-state --remarks %s 2>&1 >/dev/null | FileCheck %s
// RUN: effc-translate --eff-to-manifest --kv-state %s | FileCheck %s --check-prefix=MANIFEST
// CHECK: remark: paged KV pool not kept in session state (every pool is copied as an input and an output): the written pool is read by 'eff.neg' (operand 0), which does not read it in place
// CHECK-NOT: kept in session state (
// MANIFEST-NOT: states {
// MANIFEST: name: "kv_pages.0.key"
func.func @main(%q: tensor<2x2x3x16xf32> {eff.name = "q"},
                %r: tensor<2x2x3x16xf32> {eff.name = "r"},
                %pk: tensor<6x2x4x16xf32> {eff.name = "kv_pages.0.key"},
                %pv: tensor<6x2x4x16xf32> {eff.name = "kv_pages.0.value"},
                %t: tensor<2x3xi32> {eff.name = "block_table"},
                %l: tensor<2xi32> {eff.name = "seq_lens"},
                %m: tensor<2x3xi32> {eff.name = "slot_mapping"})
    -> (tensor<2x2x3x16xf32> {eff.name = "y"}, tensor<6x2x4x16xf32> {eff.name = "kv_pages_out.0.key"},
        tensor<6x2x4x16xf32> {eff.name = "kv_pages_out.0.value"}, tensor<6x2x4x16xf32> {eff.name = "n"}) {
  %k = eff.paged_kv_write %pk, %r, %m : (tensor<6x2x4x16xf32>, tensor<2x2x3x16xf32>, tensor<2x3xi32>) -> tensor<6x2x4x16xf32>
  %v = eff.paged_kv_write %pv, %r, %m : (tensor<6x2x4x16xf32>, tensor<2x2x3x16xf32>, tensor<2x3xi32>) -> tensor<6x2x4x16xf32>
  %y = eff.paged_attention %q, %k, %v, %t, %l {scale = 0.25 : f32} : (tensor<2x2x3x16xf32>, tensor<6x2x4x16xf32>, tensor<6x2x4x16xf32>, tensor<2x3xi32>, tensor<2xi32>) -> tensor<2x2x3x16xf32>
  %n = eff.neg %v : (tensor<6x2x4x16xf32>) -> tensor<6x2x4x16xf32>
  return %y, %k, %v, %n : tensor<2x2x3x16xf32>, tensor<6x2x4x16xf32>, tensor<6x2x4x16xf32>, tensor<6x2x4x16xf32>
}
