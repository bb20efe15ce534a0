//===- MoEOps.td - mixture-of-experts layers ---------------------------------===//
// eff-raise-moe builds eff.moe from what exporters write; the verifier lives
// in MoEOps.cpp, the reference semantics in runtime/src/host/MoE.cpp, the
// CUDA kernels in compiler/codegen/device/moe.cuh.
#ifndef EFF_MOE_OPS_TD
#define EFF_MOE_OPS_TD

def Eff_MoEOp : Eff_Op<"moe", [AttrSizedOperandSegments]> {
  let cudaFamily = "MoE";
  let onnxName = "";
  let summary = "a mixture-of-experts MLP: routing, E gated expert MLPs, weighted combine";
  let description = [{
    x: [T, H] (T tokens), E = num_experts, k = top_k. Per token t:

    Routing (`routing`; always computed in fp32, whatever x's type):
      softmax_topk: logits = x[t] router^T with router [E, H]; p =
                    softmax(logits); the k largest p (ties: lower expert
                    first) give experts e_j and weights w_j = p[e_j].
      topk_softmax: the k largest logits give e_j; w = softmax over those
                    k logits.
      scores:       router is a [T, E] score tensor computed outside (e.g.
                    DeepSeek-V3's sigmoid + bias with group masking); its k
                    largest entries give e_j, and w_j = route_weights[t][e_j]
                    (route_weights [T, E]; the scores themselves without it).
    `norm_topk` = 1 divides the w_j by their sum; then every w_j is
    multiplied by `routed_scale`.

    Experts (gate_up [E, 2I, H], down [E, H, I]): with g = gate_up[e][:I]
    x[t] and u = gate_up[e][I:] x[t], h = act(g) * u (`activation`: silu
    = g * sigmoid(g), gelu = exact erf GELU) and
      y[t] = sum_j w_j down[e_j] h_j.

    Shared expert (optional, shared_gate_up [2Is, H] and shared_down
    [H, Is], both or neither): y[t] += s * shared_down (act(g_s) * u_s), with
    s = sigmoid(shared_gate x[t]) when shared_gate [1, H] is present (Qwen-MoE)
    and 1 otherwise (DeepSeek).

    Products accumulate in fp32; y has x's type. Never folded.
  }];
  // Required operands first: kernels see absent optional ones as null
  // trailing inputs.
  let arguments = (ins Eff_FloatTensor:$x, Eff_FloatTensor:$router,
                       Eff_FloatTensor:$gate_up, Eff_FloatTensor:$down,
                       Optional<Eff_FloatTensor>:$route_weights,
                       Optional<Eff_FloatTensor>:$shared_gate_up,
                       Optional<Eff_FloatTensor>:$shared_down,
                       Optional<Eff_FloatTensor>:$shared_gate,
                       I64Attr:$num_experts, I64Attr:$top_k,
                       Eff_DefaultI64<"0">:$norm_topk,
                       Eff_DefaultStr<"\"softmax_topk\"">:$routing,
                       Eff_DefaultStr<"\"silu\"">:$activation,
                       Eff_DefaultF32<"1.0">:$routed_scale);
  let results = (outs Eff_FloatTensor:$y);
  let assemblyFormat = [{
    $x `,` $router `experts` $gate_up `,` $down (`weights` $route_weights^)?
    (`shared` $shared_gate_up^ `,` $shared_down)? (`shared_gate` $shared_gate^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

// --moe-partitions=N (eff-partition-moe) splits an eff.moe into one routing
// op and N expert groups that run as independent kernels (CUDA streams).

def Eff_MoERouteOp : Eff_Op<"moe_route"> {
  let cudaFamily = "MoEPartition";
  let onnxName = "";
  let summary = "eff.moe's routing alone: each token's k experts and their weights";
  let description = [{
    The routing of eff.moe (`routing`, `norm_topk`, `routed_scale`, computed
    in fp32 over all num_experts experts) without the experts: experts
    [T, k] int64 (in the order eff.moe visits them) and weights [T, k] f32.
    x is [T, H]; router and route_weights are eff.moe's. Never folded.
  }];
  let arguments = (ins Eff_FloatTensor:$x, Eff_FloatTensor:$router,
                       Optional<Eff_FloatTensor>:$route_weights,
                       I64Attr:$num_experts, I64Attr:$top_k,
                       Eff_DefaultI64<"0">:$norm_topk,
                       Eff_DefaultStr<"\"softmax_topk\"">:$routing,
                       Eff_DefaultF32<"1.0">:$routed_scale);
  let results = (outs Eff_I64Tensor:$experts, F32Tensor:$weights);
  let hasVerifier = 1;
}

def Eff_MoEExpertsOp : Eff_Op<"moe_experts", [AttrSizedOperandSegments]> {
  let cudaFamily = "MoEPartition";
  let onnxName = "";
  let summary = "a group of eff.moe's experts applied to the tokens routed to them";
  let description = [{
    experts/weights [T, k] come from eff.moe_route; gate_up [G, 2I, H] and
    down [G, H, I] hold experts first_expert .. first_expert + G - 1. Per
    token t, in slot order j:
      y[t] = sum over j with e_j in the group of w_j down[e] (act(g) * u)
    (0 for a token none of whose experts is in the group), plus eff.moe's
    shared expert term when shared_gate_up/shared_down (and shared_gate)
    are given. Products accumulate in fp32; y has x's type. The sum of the
    groups of one eff.moe is that eff.moe's output. Never folded.
  }];
  let arguments = (ins Eff_FloatTensor:$x, Eff_I64Tensor:$experts, F32Tensor:$weights,
                       Eff_FloatTensor:$gate_up, Eff_FloatTensor:$down,
                       Optional<Eff_FloatTensor>:$shared_gate_up,
                       Optional<Eff_FloatTensor>:$shared_down,
                       Optional<Eff_FloatTensor>:$shared_gate,
                       I64Attr:$first_expert,
                       Eff_DefaultStr<"\"silu\"">:$activation);
  let results = (outs Eff_FloatTensor:$y);
  let hasVerifier = 1;
}

#endif // EFF_MOE_OPS_TD
