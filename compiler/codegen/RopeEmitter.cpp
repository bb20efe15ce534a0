//===- RopeEmitter.cpp - rope (RotaryEmbedding-23) -------------------------===//
//
// One thread per output element: it reads its own element and its rotation
// partner (the other half, or the neighbour when interleaved) and the
// cos/sin entry of its (batch, position) row. Dims past rotary_embedding_dim
// pass through. Position ids outside the cache are clamped to it (the host
// reports them; a kernel must not read out of bounds).
//
#include "compiler/codegen/Families.h"
#include "compiler/codegen/core/DTypeInfo.h"
#include "compiler/codegen/core/EmitterUtil.h"

namespace effc::codegen {

bool chooseRope(const KernelDesc &d, KernelChoice &c, std::string &error) {
  if (d.inputs.size() < 3 || d.outputs.size() != 1) {
    error = d.op + ": expected X, cos_cache, sin_cache";
    return false;
  }
  c = gridStrideChoice(c.family, d.inputs[0].numElements());
  return true;
}

bool instantiateRope(const KernelDesc &d, const KernelChoice &c, std::string &out,
                     std::string &error) {
  if (d.inputs.size() < 3 || d.outputs.size() != 1) {
    error = d.op + ": expected X, cos_cache, sin_cache";
    return false;
  }
  const TensorDesc &x = d.inputs[0];
  Compute k = computeOf(x.dtype);
  if (!isFloatCompute(k)) {
    error = d.op + ": unsupported dtype " + dtypeName(x.dtype);
    return false;
  }
  int64_t B, S, H, D;
  bool is4d = x.rank() == 4;
  if (is4d) {
    B = x.shape[0], H = x.shape[1], S = x.shape[2], D = x.shape[3];
  } else if (x.rank() == 3) {
    int64_t heads = d.intAttr("num_heads", op_defaults::RopeOp_num_heads);
    if (heads <= 0 || x.shape[2] % heads) {
      error = d.op + ": 3-D input needs num_heads dividing the hidden size";
      return false;
    }
    B = x.shape[0], S = x.shape[1], H = heads, D = x.shape[2] / heads;
  } else {
    error = d.op + ": input must be 3-D or 4-D, got " + shapeText(x.shape);
    return false;
  }
  int64_t rot = d.intAttr("rotary_embedding_dim", op_defaults::RopeOp_rotary_embedding_dim);
  if (rot == 0)
    rot = D;
  if (rot > D || rot % 2) {
    error = d.op + ": rotary_embedding_dim must be even and <= head size";
    return false;
  }
  int64_t half = rot / 2;
  bool interleaved = d.intAttr("interleaved", op_defaults::RopeOp_interleaved) != 0;
  bool hasPos = d.hasInput(3);
  int64_t maxPos = d.inputs[1].shape.empty() ? 1 : d.inputs[1].shape[0];
  const char *t = computeType(k);

  CudaWriter w;
  std::string ix = indexType(d);
  openKernel(w, d, c.threads());
  w.line("// B=", B, " H=", H, " S=", S, " D=", D, " rotary=", rot,
         interleaved ? " interleaved" : "", hasPos ? " with position_ids" : "");
  openGridStride(w, "i", ix, c.param("items"), c.threads());
  w.line("const ", ix, " dd = i % ", D, ";");
  if (is4d) {
    w.line("const ", ix, " s = (i / ", D, ") % ", S, ";");
    w.line("const ", ix, " b = i / ", D * S * H, ";");
  } else {
    w.line("const ", ix, " s = (i / ", D * H, ") % ", S, ";");
    w.line("const ", ix, " b = i / ", D * H * S, ";");
  }
  w.open("if (dd >= ", rot, ") {");
  w.line("y0[i] = x0[i];");
  w.line("continue;");
  w.close();
  if (hasPos) {
    w.line("i64 p = ",
           loadAs(d.inputs[3].dtype, "x3", "b * " + std::to_string(S) + " + s", Compute::I64), ";");
    w.line("p = p < 0 ? 0 : p >= ", maxPos, " ? ", maxPos - 1, " : p;");
    w.line("const ", ix, " row = (", ix, ")p;");
  } else {
    w.line("const ", ix, " row = b * ", S, " + s;");
  }
  w.line("const ", ix, " head = i - dd;");
  if (interleaved) {
    w.line("const ", ix, " c = dd >> 1;");
    w.line("const bool first = (dd & 1) == 0;");
    w.line("const ", ix, " i1 = head + 2 * c, i2 = i1 + 1;");
  } else {
    w.line("const bool first = dd < ", half, ";");
    w.line("const ", ix, " c = first ? dd : dd - ", half, ";");
    w.line("const ", ix, " i1 = head + c, i2 = i1 + ", half, ";");
  }
  w.line("const ", t,
         " co = ", loadAs(d.inputs[1].dtype, "x1", "row * " + std::to_string(half) + " + c", k),
         ";");
  w.line("const ", t,
         " si = ", loadAs(d.inputs[2].dtype, "x2", "row * " + std::to_string(half) + " + c", k),
         ";");
  w.line("const ", t, " a = ", load(x.dtype, "x0", "i1"), ", bb = ", load(x.dtype, "x0", "i2"),
         ";");
  w.line("y0[i] = ",
         storeValue(d.outputs[0].dtype, "first ? co * a - si * bb : si * a + co * bb", k), ";");
  w.close().close();
  out = w.str();
  return true;
}

} // namespace effc::codegen
