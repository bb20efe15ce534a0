# Small attention exports (the patterns eff-raise-attention normalizes) with
# reference outputs from onnx.reference, in ONNX backend-test layout under
# DIR: window_gqa/, threed_pad/, dynamo_kvcache/.  Usage: raise_attention_cases.py DIR
import numpy as np, onnx, os, sys
from onnx import helper as h, TensorProto as TP, numpy_helper as nh
from onnx.reference import ReferenceEvaluator
os.chdir(sys.argv[1])
rng=np.random.default_rng(0)
MIN=np.finfo(np.float32).min
def save(name, graph, inputs):
    m=h.make_model(graph, opset_imports=[h.make_opsetid('',17)])
    m.ir_version=8
    os.makedirs(f'{name}/test_data_set_0',exist_ok=True)
    onnx.save(m,f'{name}/model.onnx')
    outs=ReferenceEvaluator(m).run(None,inputs)
    for i,(k,v) in enumerate(inputs.items()):
        t=nh.from_array(v,k); open(f'{name}/test_data_set_0/input_{i}.pb','wb').write(t.SerializeToString())
    for i,o in enumerate(graph.output):
        t=nh.from_array(outs[i],o.name); open(f'{name}/test_data_set_0/output_{i}.pb','wb').write(t.SerializeToString())
def vi(n,s,t=TP.FLOAT): return h.make_tensor_value_info(n,t,s)
B,H,Hkv,S,L,D=2,4,2,6,6,8
# 1. window (w=3) additive mask + GQA repeat_kv + div scale
w=3
pos=np.arange(S)[:,None]+L-S; j=np.arange(L)[None,:]
allowed=(j<=pos)&(j>pos-w)
mask=np.where(allowed,0,MIN).astype(np.float32)[None,None]
nodes=[h.make_node('Unsqueeze',['k','ax2'],['ku']),h.make_node('Expand',['ku','s5'],['ke']),h.make_node('Reshape',['ke','s4'],['kr']),
 h.make_node('Unsqueeze',['v','ax2'],['vu']),h.make_node('Expand',['vu','s5'],['ve']),h.make_node('Reshape',['ve','s4'],['vr']),
 h.make_node('Transpose',['kr'],['kt'],perm=[0,1,3,2]),h.make_node('MatMul',['q','kt'],['s']),h.make_node('Div',['s','c'],['sd']),
 h.make_node('Add',['sd','mask'],['sm']),h.make_node('Softmax',['sm'],['p'],axis=-1),h.make_node('MatMul',['p','vr'],['y'])]
inits=[nh.from_array(np.array([2],np.int64),'ax2'),nh.from_array(np.array([B,Hkv,H//Hkv,L,D],np.int64),'s5'),nh.from_array(np.array([B,H,L,D],np.int64),'s4'),
 nh.from_array(np.array(np.sqrt(D),np.float32),'c'),nh.from_array(mask,'mask')]
g=h.make_graph(nodes,'g',[vi('q',[B,H,S,D]),vi('k',[B,Hkv,L,D]),vi('v',[B,Hkv,L,D])],[vi('y',[B,H,S,D])],inits)
save('window_gqa',g,{'q':rng.standard_normal((B,H,S,D),np.float32),'k':rng.standard_normal((B,Hkv,L,D),np.float32),'v':rng.standard_normal((B,Hkv,L,D),np.float32)})
# 2. 3-D form, kv cache S=3 < L=6, bool padding mask input with finfo.min fill (Where), then mul scale after
S2=3
nodes=[h.make_node('Transpose',['k'],['kt'],perm=[0,2,1]),h.make_node('MatMul',['q','kt'],['s']),
 h.make_node('Where',['m','s','fill'],['sw']),h.make_node('Mul',['sw','c'],['sc']),h.make_node('Softmax',['sc'],['p'],axis=2),h.make_node('MatMul',['p','v'],['y'])]
inits=[nh.from_array(np.array(MIN,np.float32),'fill'),nh.from_array(np.array(0.3,np.float32),'c')]
g=h.make_graph(nodes,'g',[vi('q',[B*H,S2,D]),vi('k',[B*H,L,D]),vi('v',[B*H,L,D]),vi('m',[B*H,1,L],TP.BOOL)],[vi('y',[B*H,S2,D])],inits)
m=rng.random((B*H,1,L))>0.3; m[0,0,:]=False  # a fully masked row: uniform in both
save('threed_pad',g,{'q':rng.standard_normal((B*H,S2,D),np.float32),'k':rng.standard_normal((B*H,L,D),np.float32),'v':rng.standard_normal((B*H,L,D),np.float32),'m':m})
# 3. dynamo-ish: sqrt scale on q and kT via 3-D view, -inf bool causal (bottom-right, S=3,L=6) + NaN guard
pos=np.arange(S2)[:,None]+L-S2; cm=(np.arange(L)[None,:]<=pos)[None,None]
nodes=[h.make_node('Reshape',['k','s3'],['k3']),h.make_node('Transpose',['k3'],['kt3'],perm=[0,2,1]),h.make_node('Reshape',['kt3','s4t'],['kt']),
 h.make_node('Mul',['q','c'],['qs']),h.make_node('Mul',['kt','c'],['ks']),h.make_node('MatMul',['qs','ks'],['s']),
 h.make_node('Where',['cm','s','ninf'],['sw']),h.make_node('Softmax',['sw'],['p'],axis=-1),h.make_node('IsNaN',['p'],['n']),h.make_node('Where',['n','zero','p'],['pg']),h.make_node('MatMul',['pg','v'],['y'])]
inits=[nh.from_array(np.array([-1,L,D],np.int64),'s3'),nh.from_array(np.array([B,H,D,L],np.int64),'s4t'),nh.from_array(np.array(D**-0.25,np.float32),'c'),
 nh.from_array(cm,'cm'),nh.from_array(np.array(-np.inf,np.float32),'ninf'),nh.from_array(np.array(0,np.float32),'zero')]
g=h.make_graph(nodes,'g',[vi('q',[B,H,S2,D]),vi('k',[B,H,L,D]),vi('v',[B,H,L,D])],[vi('y',[B,H,S2,D])],inits)
save('dynamo_kvcache',g,{'q':rng.standard_normal((B,H,S2,D),np.float32),'k':rng.standard_normal((B,H,L,D),np.float32),'v':rng.standard_normal((B,H,L,D),np.float32)})
