//===- RingAttentionOps.td - attention over the sequence of N devices -----===//
// eff-partition-devices (effc --devices=N --devices-attention=ring, issue
// 20) replaces an eff.attention by this collective: device devices[i] holds
// the query, key and value rows of its tokens; the K/V blocks travel the
// ring (Collectives::sendRecv) and each device merges the partial results
// with the online-softmax rescaling (output and log-sum-exp). Host kernel
// and reference: runtime/src/host/RingAttention.{h,cpp}. Verifier in
// RingAttentionOps.cpp.
#ifndef EFF_RING_ATTENTION_OPS_TD
#define EFF_RING_ATTENTION_OPS_TD

def Eff_RingAttentionOp : Eff_Op<"ring_attention", [Eff_Collective]> {
  let onnxName = "";
  let summary = "eff.attention with the sequence cut over devices, K/V passed around the ring";
  let description = [{
    blocks = q_0 .. q_{N-1}, k_0 .. k_{N-1}, v_0 .. v_{N-1} with N =
    |devices|; q_i, k_i and v_i live on device devices[i] (distinct, >= 0,
    below the function's `eff.devices`), which is the i-th device of the
    ring (it sends its K/V block to ring position i + 1 mod N).
    q_i: [B, Hq, n, D], k_i: [B, Hkv, n, D], v_i: [B, Hkv, n, Dv]: the rows
    of the tokens ring position i owns out of S = N * n: contiguous
    (i * n .. i * n + n - 1) or, with `striped`, i, i + N, i + 2N, ...
    (host::ringPositions). The result is eff.attention(q, k, v) {scale,
    causal, num_kv_heads} over the whole sequence (queries and keys at the
    same positions: no KV cache, no mask, window, soft-cap, ALiBi or sinks),
    [B, Hq, S, Dv] in token order on every device: each device computes the
    rows of its queries, and the rows are gathered. Never folded on device
    data; the host kernel is the one-process reference.
  }];
  let arguments = (ins Variadic<Eff_FloatTensor>:$blocks, DenseI64ArrayAttr:$devices,
                       F32Attr:$scale, UnitAttr:$causal, I64Attr:$num_kv_heads,
                       UnitAttr:$striped);
  let results = (outs Eff_FloatTensor:$y);
  let hasVerifier = 1;
}

#endif // EFF_RING_ATTENTION_OPS_TD
