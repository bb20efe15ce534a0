"""effc: an ONNX compiler for transformer inference.

    import effc, numpy as np
    model = effc.compile("model.onnx", dtype="fp32", shapes={"input_ids": (2, 16)})
    model.save("model.effc")                      # effc.load("model.effc") reads it back
    sess = model.session(device="host")           # or "cuda" (the default)
    out = sess.run({"input_ids": np.zeros((2, 16), np.int64)})
    logits = np.asarray(out["logits"])            # or torch.from_dlpack(out["logits"])

Session.run takes numpy arrays or any DLPack producer (torch tensors on CPU or
GPU) and returns a dict {output name: effc.Tensor} in Model.outputs order.
effc.Tensor implements __dlpack__/__dlpack_device__ and __array__. numpy has no
bfloat16: numpy conversion of a bfloat16 tensor needs the ml_dtypes package and
raises TypeError without it (torch.from_dlpack works either way).

effc.Engine(session) serves many requests with one model (continuous batching,
paged KV cache, prefix sharing, speculative decoding): submit(prompt, ...) ->
id, run() or step(), poll(id) -> (tokens, finish), stats().

Errors raise ValueError (a bad argument) or RuntimeError carrying effc's
message (file, ONNX node, input name). help(effc.compile) lists every option.
"""
from ._effc import (Engine, Model, Session, Tensor, TensorInfo, __version__, compile,
                    has_compiler, load)

__all__ = ["compile", "load", "Model", "Session", "Engine", "Tensor", "TensorInfo",
           "has_compiler", "__version__"]
