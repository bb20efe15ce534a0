//===- KvCacheOps.td - the in-place KV cache ---------------------------===//
// eff.kv_append (issue 14 stage S4): what eff-kv-cache-inplace makes of a
// decoder's concat(past_key_values.i, new K/V) along the sequence axis.

#ifndef EFF_KV_CACHE_OPS_TD
#define EFF_KV_CACHE_OPS_TD

def Eff_KvAppendOp : Eff_Op<"kv_append"> {
  let cudaFamily = "DataMovement";
  let onnxName = "";
  let summary = "append new keys or values to a layer's KV cache (concat along the sequence axis)";
  let description = [{
    past: [B, H, P, D], new: [B, H, S, D] -> present: [B, H, P + S, D], the
    value of concat(past, new) along axis 2; past and new have one element
    type.

    The op states where that value lives: the session-owned cache `state`
    (the name of the model output it is returned as, e.g. "present.0.key")
    of `capacity` rows per (batch, head), capacity >= every P + S the model
    admits. Appending writes only the S new rows at row P; when `past` is
    that same state (the runtime binds past_key_values.i to it between
    steps) nothing else moves, and readers take the present's P + S rows
    with a row stride of `capacity`. Without the binding the kernel copies
    past's rows first, so the value is concat's either way. Until the plan
    places the present in session state, kernels write it contiguous
    (capacity = P + S), exactly as concat.
  }];
  let arguments = (ins Eff_FloatTensor:$past, Eff_FloatTensor:$new_rows, I64Attr:$capacity,
                       StrAttr:$state);
  let results = (outs Eff_FloatTensor:$present);
  let hasVerifier = 1;
}

#endif // EFF_KV_CACHE_OPS_TD
