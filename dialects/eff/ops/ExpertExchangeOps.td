//===- ExpertExchangeOps.td - MoE token exchange between devices ----------===//
// eff-partition-devices with expert-parallel=all-to-all (effc --devices=N
// --expert-parallel=all-to-all, issue 20): each device owns a shard of the
// token rows and routes it; these two all-to-alls send every token to the
// devices holding its experts and bring the expert outputs back. Device
// devices[i] holds experts expert_splits[i] .. expert_splits[i + 1] - 1.
// Host kernels (the one-process reference): runtime/src/host/MoEExchange.cpp;
// on GPUs the runtime runs them as Collectives::allToAllv with the exact
// per-pair counts read from the routing (the host drives every rank, so the
// counts need no exchange of their own). Verifiers in ExpertExchangeOps.cpp.
#ifndef EFF_EXPERT_EXCHANGE_OPS_TD
#define EFF_EXPERT_EXCHANGE_OPS_TD

def Eff_ExpertDispatchOp : Eff_Op<"expert_dispatch", [Eff_Collective]> {
  let onnxName = "";
  let summary = "each device's routed tokens sent to the devices holding their experts";
  let description = [{
    inputs = x_0 .. x_{N-1}, experts_0 .. experts_{N-1}, weights_0 ..
    weights_{N-1} with N = |devices|; the three of index i live on device
    devices[i]: x_i [T_i, H] (its token rows), experts_i [T_i, k] int64 and
    weights_i [T_i, k] f32 (eff.moe_route of x_i). Results, in the same
    order, x_j [C, H], experts_j [C, k], weights_j [C, k] on device
    devices[j], C = T_0 + ... + T_{N-1} (no device can receive more: a
    token goes at most once to a device). Device j receives, from i = 0, 1,
    ... in turn and in token order, every token of i with at least one
    expert in expert_splits[j] .. expert_splits[j + 1] - 1: its row, its
    experts and weights as routed. The rows after those are padding: x 0,
    experts -1 (no expert), weights 0. expert_splits has N + 1 entries,
    non-decreasing from 0. Never folded.
  }];
  let arguments = (ins Variadic<Eff_Tensor>:$inputs, DenseI64ArrayAttr:$devices,
                       DenseI64ArrayAttr:$expert_splits);
  let results = (outs Variadic<Eff_Tensor>:$received);
  let hasVerifier = 1;
}

def Eff_ExpertCombineOp : Eff_Op<"expert_combine", [Eff_Collective]> {
  let onnxName = "";
  let summary = "the expert outputs sent back to the tokens' devices and summed per token";
  let description = [{
    inputs = y_0 .. y_{N-1}, experts_0 .. experts_{N-1}: y_j [C, H] on
    device devices[j] holds one row per row eff.expert_dispatch delivered to
    device j (its experts' weighted outputs for that token); experts_i
    [T_i, k] is device devices[i]'s routing, the one its eff.expert_dispatch
    sent (it says which rows come back from where). Result i [T_i, H] (y's
    element type) on device devices[i]: row t = the sum over j = 0, 1, ...
    of the row device j computed for token t of device i (0 when none),
    added in fp32 in that order and rounded once. expert_splits is
    eff.expert_dispatch's. Never folded.
  }];
  let arguments = (ins Variadic<Eff_Tensor>:$inputs, DenseI64ArrayAttr:$devices,
                       DenseI64ArrayAttr:$expert_splits);
  let results = (outs Variadic<Eff_FloatTensor>:$combined);
  let hasVerifier = 1;
}

#endif // EFF_EXPERT_EXCHANGE_OPS_TD
