# The --dim flags that fix a model's dim_params to the shapes of a test data
# set: dims_from_test_data.py MODEL.onnx DIR prints one `--dim NAME=N` per
# dim_param of the model's inputs (sorted), reading DIR/input_N.pb (matched to
# the inputs by the tensor's name, else by position). A dim_param that gets
# two values, or that no data file sets, is an error.
import glob, os, sys
import onnx

model_path, data_dir = sys.argv[1], sys.argv[2]
model = onnx.load(model_path, load_external_data=False)
initializers = {t.name for t in model.graph.initializer}
inputs = [vi for vi in model.graph.input if vi.name not in initializers]
files = sorted(glob.glob(os.path.join(data_dir, "input_*.pb")),
               key=lambda p: int(os.path.basename(p)[len("input_"):-len(".pb")]))
tensors = []
for path in files:
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    tensors.append(t)
by_name = {t.name: t for t in tensors if t.name}

values = {}
for i, vi in enumerate(inputs):
    t = by_name.get(vi.name, tensors[i] if i < len(tensors) else None)
    if t is None:
        sys.exit(f"dims_from_test_data.py: no data for input '{vi.name}' in {data_dir}")
    dims = vi.type.tensor_type.shape.dim
    if len(dims) != len(t.dims):
        sys.exit(f"dims_from_test_data.py: input '{vi.name}' has rank {len(dims)}, "
                 f"its data rank {len(t.dims)}")
    for d, n in zip(dims, t.dims):
        if d.dim_param:
            if values.setdefault(d.dim_param, n) != n:
                sys.exit(f"dims_from_test_data.py: dim '{d.dim_param}' is {values[d.dim_param]} "
                         f"and {n}")
print(" ".join(f"--dim {name}={n}" for name, n in sorted(values.items())))
