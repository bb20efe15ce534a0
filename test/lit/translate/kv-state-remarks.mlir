// Why a KV cache stays out of session state (effc --kv-state --remarks):
// all caches or none are placed, and the first that cannot be says why.
// Here the present is also read by an eff.neg, which knows no row stride.
// RUN: effc-translate --eff-to-manifest --host-only --kv-state --remarks %s 2>&1 >/dev/null | FileCheck %s
// Session state lives on one device:
// RUN: not effc %s --kv-state --devices=2 -o %t.effc 2>&1 | FileCheck %s --check-prefix=DEVICES
// DEVICES: error: --kv-state with --devices=2 is not done yet (session state lives on one device)
// CHECK: remark: KV cache not kept in session state (every cache is copied as an input and an output): the present is read by 'eff.neg' (operand 0), which cannot read keys or values of another row stride
// CHECK-NOT: kept in session state of
func.func @main(%x: tensor<1x2x?x16xf32> {eff.dim_params = ["", "", "seq", ""], eff.name = "x"},
                %pk: tensor<1x2x?x16xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                %pv: tensor<1x2x?x16xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"})
    -> (tensor<1x2x?x16xf32> {eff.name = "y"}, tensor<1x2x?x16xf32> {eff.name = "present.0.key"},
        tensor<1x2x?x16xf32> {eff.name = "present.0.value"}, tensor<1x2x?x16xf32> {eff.name = "n"})
    attributes {eff.dims = {past = array<i64: 0, 7>, seq = array<i64: 1, 4>}} {
  %k = eff.kv_append %pk, %x {capacity = 11 : i64, state = "present.0.key"} : (tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32>
  %v = eff.kv_append %pv, %x {capacity = 11 : i64, state = "present.0.value"} : (tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32>
  %y = eff.attention %x, %k, %v {causal, num_kv_heads = 2 : i64, scale = 2.500000e-01 : f32} : (tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32>
  %n = eff.neg %k : (tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32>
  return %y, %k, %v, %n : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>
}
