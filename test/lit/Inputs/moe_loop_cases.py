# MoE blocks in the per-expert loop form that the TorchScript exporter writes
# for transformers 4.x (Mixtral-style: TopK -> OneHot -> per expert NonZero ->
# Gather rows -> gated MLP -> * routing weight -> ScatterElements into zeros
# -> Add), with reference outputs from onnx.reference, in ONNX backend-test
# layout under DIR/<case>/. Usage: moe_loop_cases.py DIR
#
# Cases that eff-raise-moe raises (other E / top_k / activation / routing /
# linear forms than ../shared/moe/mixtral-loop-legacy):
#   e4k2_silu_norm     4 experts, top-2, silu, softmax -> top-k -> renormalize, MatMul weights
#   e6k3_gelu          6 experts, top-3, gelu in its erf form, no renormalization, Gemm(transB) weights
#   e5k2_topk_softmax  5 experts, top-2, top-k of the logits then softmax over the k
# and cases it must refuse, each for the reason its remark gives:
#   relu_expert        an expert activation that is neither silu nor gelu
#   missing_expert     one expert's scatter is not added to the output
#   unweighted         one expert's output is not multiplied by its routing weight
import numpy as np, onnx, os, sys
from onnx import helper as h, TensorProto as TP, numpy_helper as nh
from onnx.reference import ReferenceEvaluator

os.chdir(sys.argv[1])
rng = np.random.default_rng(7)


def save(name, graph, inputs):
    m = h.make_model(graph, opset_imports=[h.make_opsetid('', 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    os.makedirs(f'{name}/test_data_set_0', exist_ok=True)
    onnx.save(m, f'{name}/model.onnx')
    outs = ReferenceEvaluator(m).run(None, inputs)
    for i, (k, v) in enumerate(inputs.items()):
        open(f'{name}/test_data_set_0/input_{i}.pb', 'wb').write(nh.from_array(v, k).SerializeToString())
    for i, o in enumerate(graph.output):
        open(f'{name}/test_data_set_0/output_{i}.pb', 'wb').write(nh.from_array(outs[i], o.name).SerializeToString())


def moe_case(name, E, k, act='silu', routing='softmax_topk', norm=True, gemm=False, skip_expert=None,
             unweighted_expert=None, B=2, S=5, H=8, I=12):
    T = B * S
    nodes, inits = [], []

    def const(n, v):
        inits.append(nh.from_array(np.asarray(v), n))
        return n

    def node(op, ins, outs, **attrs):
        nodes.append(h.make_node(op, ins, outs, **attrs))
        return outs[0] if len(outs) == 1 else outs

    x = node('Reshape', ['x', const('rows', np.array([-1, H], np.int64))], ['x2'])
    logits = node('MatMul', [x, const('router_t', rng.standard_normal((H, E), np.float32))], ['logits'])
    kk = const('k', np.array([k], np.int64))
    if routing == 'softmax_topk':
        probs = node('Softmax', [logits], ['probs'], axis=1)
        vals, idx = node('TopK', [probs, kk], ['topv', 'topi'], axis=-1)
        w = vals
        if norm:
            s = node('ReduceSum', [vals, const('last', np.array([-1], np.int64))], ['topsum'], keepdims=1)
            w = node('Div', [vals, s], ['w'])
    else:
        vals, idx = node('TopK', [logits, kk], ['topv', 'topi'], axis=-1)
        w = node('Softmax', [vals], ['w'], axis=1)
    mask = node('OneHot', [idx, const('depth', np.array(E, np.int64)), const('onoff', np.array([0, 1], np.int64))],
                ['mask'], axis=-1)
    mask_t = node('Transpose', [mask], ['mask_t'], perm=[2, 1, 0])  # [E, k, T]
    xu = node('Unsqueeze', [x, const('ax0', np.array([0], np.int64))], ['xu'])
    wflat = node('Flatten', [node('Unsqueeze', [w, const('ax2', np.array([2], np.int64))], ['wu'])], ['wflat'], axis=2)
    acc = const('zeros', np.zeros((T, H), np.float32))
    for e in range(E):
        p = f'e{e}_'
        plane = node('Gather', [mask_t, const(p + 'id', np.array(e, np.int64))], [p + 'plane'], axis=0)
        nz = node('NonZero', [node('Cast', [plane], [p + 'bool'], to=TP.BOOL)], [p + 'nz'])
        slot, tok = node('Split', [node('Transpose', [nz], [p + 'nzt'], perm=[1, 0]), const(p + 'ones', np.array([1, 1], np.int64))],
                         [p + 'slot2', p + 'tok2'], axis=1)
        slot = node('Squeeze', [slot, const(p + 'sq', np.array([1], np.int64))], [p + 'slot'])
        tok = node('Squeeze', [tok, const(p + 'sq2', np.array([1], np.int64))], [p + 'tok'])
        xe = node('Reshape', [node('Gather', [xu, tok], [p + 'xg'], axis=1), const(p + 'r', np.array([-1, H], np.int64))], [p + 'xe'])

        def linear(inp, n_in, n_out, tag):
            wt = (rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(np.float32)
            if gemm:
                return node('Gemm', [inp, const(p + tag, wt)], [p + tag + '_y'], transB=1)
            return node('MatMul', [inp, const(p + tag, wt.T.copy())], [p + tag + '_y'])

        g = linear(xe, H, I, 'w1')
        u = linear(xe, H, I, 'w3')
        if act == 'silu':
            a = node('Mul', [g, node('Sigmoid', [g], [p + 'sig'])], [p + 'act'])
        elif act == 'gelu':
            er = node('Erf', [node('Div', [g, const(p + 'sqrt2', np.array(np.sqrt(2), np.float32))], [p + 'gd'])], [p + 'erf'])
            a = node('Mul', [node('Mul', [g, node('Add', [er, const(p + 'one', np.array(1, np.float32))], [p + 'erf1'])], [p + 'gm']),
                             const(p + 'half', np.array(0.5, np.float32))], [p + 'act'])
        else:
            a = node('Relu', [g], [p + 'act'])
        o = linear(node('Mul', [a, u], [p + 'h']), I, H, 'w2')
        lin = node('Add', [slot, node('Mul', [tok, const(p + 'kk', np.array(k, np.int64))], [p + 'tk'])], [p + 'lin'])
        wcol = node('Reshape', [node('Gather', [wflat, lin], [p + 'wg'], axis=0), const(p + 'col', np.array([-1, 1], np.int64))], [p + 'wcol'])
        if e != unweighted_expert:
            o = node('Mul', [o, wcol], [p + 'wo'])
        idx2 = node('Expand', [node('Unsqueeze', [tok, const(p + 'ax1', np.array([1], np.int64))], [p + 'tu']),
                               node('Shape', [o], [p + 'os'])], [p + 'ti'])
        sc = node('ScatterElements', [const(p + 'z', np.zeros((T, H), np.float32)), idx2, o], [p + 'sc'], axis=0)
        if e != skip_expert:
            acc = node('Add', [acc, sc], [p + 'acc'])
        else:  # computed, but its output goes elsewhere
            node('ReduceSum', [sc], ['unused_sum'], keepdims=0)
    y = node('Reshape', [acc, const('bsh', np.array([B, S, H], np.int64))], ['y'])
    outputs = [h.make_tensor_value_info('y', TP.FLOAT, [B, S, H])]
    if skip_expert is not None:
        outputs.append(h.make_tensor_value_info('unused_sum', TP.FLOAT, []))
    g = h.make_graph(nodes, name, [h.make_tensor_value_info('x', TP.FLOAT, [B, S, H])], outputs, inits)
    save(name, g, {'x': rng.standard_normal((B, S, H), np.float32)})


moe_case('e4k2_silu_norm', 4, 2)
moe_case('e6k3_gelu', 6, 3, act='gelu', norm=False, gemm=True)
moe_case('e5k2_topk_softmax', 5, 2, routing='topk_softmax')
moe_case('relu_expert', 4, 2, act='relu')
moe_case('missing_expert', 4, 2, skip_expert=3)
moe_case('unweighted', 4, 2, unweighted_expert=1)
