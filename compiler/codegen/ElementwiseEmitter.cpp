//===- ElementwiseEmitter.cpp - elementwise ops and fused chains ----------===//
//
// One kernel shape for a single elementwise op and for an eff.fusion
// elementwise body (a single op is a one-op body): one thread per output
// element (grid-stride). Each kernel input is loaded once per element through
// its baked broadcast strides (coalesced dims) into its compute kind; the body
// ops are evaluated in order in registers with the expressions of ScalarOps.h;
// only the yielded values are stored. Intermediates are rounded to their
// dtype as the host backend does when it runs the body op by op.
//
// Vectorized variant: when the innermost coalesced dim is a multiple of VEC,
// each thread handles VEC consecutive elements, which share every offset
// except the innermost step: operands contiguous there (and the outputs) move
// as one aligned vector access (16 bytes, effc_vec in the prelude; arena and
// weight buffers are 256-byte aligned and every offset is a multiple of VEC),
// broadcast ones are one load, strided ones VEC loads.
//
// Indexed variant: a body with index-mapping ops (eff.transpose, eff.slice,
// eff.concat: each result element is one operand element at a computed
// index) is evaluated per output element at coordinates: each value is
// emitted at the coordinates it is read at, so kernel inputs are loaded
// through the composed index maps (XLA-style loop fusion) and a concat picks
// its operand in a branch. A value read at several coordinates (RoPE's
// x * cos + rotate_half(x) * sin reads x twice) is loaded once per place.
//
#include "compiler/codegen/Families.h"
#include "compiler/codegen/LoRATerm.h"
#include "compiler/codegen/ScalarOps.h"
#include "compiler/codegen/core/DTypeInfo.h"
#include "compiler/codegen/core/EmitterUtil.h"

#include <algorithm>
#include <functional>
#include <map>

namespace effc::codegen {
namespace {

std::string valueName(int v) { return "v" + std::to_string(v); }

/// The body's code for one element, given how inputs are read and outputs
/// written: `input(k)` is a storage-value expression of kernel input k,
/// `store(o)` the lvalue of output o.
struct Body {
  const KernelDesc &kernel;
  const std::vector<FusedOp> &ops;
  const std::vector<int> &outputs;

  int numInputs() const { return int(kernel.inputs.size()); }

  DType dtypeOf(int v) const {
    if (v < numInputs())
      return kernel.inputs[size_t(v)].dtype;
    int next = numInputs();
    for (const FusedOp &op : ops) {
      if (v < next + int(op.desc.outputs.size()))
        return op.desc.outputs[size_t(v - next)].dtype;
      next += int(op.desc.outputs.size());
    }
    return DType::UNDEFINED;
  }

  /// Checks the structure and reports which values any op reads (`read`)
  /// and which kernel inputs are needed at all (`neededInputs`).
  bool check(std::vector<bool> &read, std::vector<bool> &neededInputs, std::string &error) const {
    int numValues = numInputs();
    for (const FusedOp &op : ops)
      numValues += int(op.desc.outputs.size());
    read.assign(size_t(numValues), false);
    neededInputs.assign(size_t(numInputs()), false);
    int next = numInputs();
    for (const FusedOp &op : ops) {
      if (op.desc.outputs.size() != 1 || op.operands.size() != op.desc.inputs.size()) {
        error =
            kernel.op + ": body op " + op.desc.op + " must have one result and described operands";
        return false;
      }
      for (int v : op.operands) {
        if (v >= next) {
          error = kernel.op + ": body op " + op.desc.op + " reads a value defined after it";
          return false;
        }
        if (v >= 0)
          read[size_t(v)] = true;
      }
      next += 1;
    }
    if (outputs.size() != kernel.outputs.size() || outputs.empty()) {
      error = kernel.op + ": expected one yielded value per output";
      return false;
    }
    for (size_t o = 0; o < outputs.size(); ++o) {
      if (outputs[o] < 0 || outputs[o] >= numValues) {
        error = kernel.op + ": yielded value out of range";
        return false;
      }
      if (kernel.outputs[o].shape != kernel.outputs[0].shape ||
          kernel.outputs[o].symShape != kernel.outputs[0].symShape ||
          dtypeOf(outputs[o]) != kernel.outputs[o].dtype) {
        error = kernel.op + ": output " + std::to_string(o) +
                " differs from the yielded value's dtype or the common shape";
        return false;
      }
    }
    for (int v = 0; v < numInputs(); ++v)
      neededInputs[size_t(v)] =
          read[size_t(v)] || std::count(outputs.begin(), outputs.end(), v) != 0;
    return true;
  }

  /// Emits the per-element code: loads of the needed inputs, every body op,
  /// the stores of the outputs.
  template <typename InputFn, typename StoreFn>
  bool emit(CudaWriter &w, const std::vector<bool> &read, const std::vector<bool> &neededInputs,
            InputFn input, StoreFn store, std::string &error) const {
    for (int k = 0; k < numInputs(); ++k)
      if (neededInputs[size_t(k)])
        w.line("const ", computeType(computeOf(dtypeOf(k))), " ", valueName(k), " = ",
               fromStorage(dtypeOf(k), input(k)), ";");
    // Yielded values not read by any op are stored straight from their
    // expression (no round trip through the dtype first).
    std::map<int, ScalarExpr> unnamed;
    int next = numInputs();
    for (const FusedOp &op : ops) {
      std::vector<std::string> operands;
      for (int v : op.operands)
        operands.push_back(v < 0 ? "" : valueName(v));
      std::optional<ScalarExpr> e = scalarExpr(op.desc, operands, error);
      if (!e)
        return false;
      DType t = op.desc.outputs[0].dtype;
      if (read[size_t(next)])
        w.line("const ", computeType(computeOf(t)), " ", valueName(next), " = ",
               roundTo(t, e->expr, e->kind), ";  // ", op.desc.op);
      else
        unnamed[next] = *e;
      ++next;
    }
    for (size_t o = 0; o < outputs.size(); ++o) {
      int v = outputs[o];
      auto it = unnamed.find(v);
      ScalarExpr value =
          it != unnamed.end() ? it->second : ScalarExpr{valueName(v), computeOf(dtypeOf(v))};
      w.line(store(int(o)), " = ", storeValue(kernel.outputs[o].dtype, value.expr, value.kind),
             ";");
    }
    return true;
  }
};

/// Body ops whose result elements are operand elements at computed indices.
bool isIndexMapping(const KernelDesc &op) {
  return op.is(EffOp::TransposeOp) || op.is(EffOp::SliceOp) || op.is(EffOp::ConcatOp);
}

bool hasIndexMaps(const std::vector<FusedOp> &ops) {
  return std::any_of(ops.begin(), ops.end(),
                     [](const FusedOp &op) { return isIndexMapping(op.desc); });
}

/// The indexed variant's code of one output element: values emitted at
/// coordinates (CUDA expressions of index type, one per dim).
struct IndexedBody {
  using Coords = std::vector<std::string>;
  const KernelDesc &d;
  const std::vector<FusedOp> &ops;
  std::string ix;
  CudaWriter &w;
  std::string &error;
  int counter = 0;
  /// Per open branch scope: (value, coordinates) -> the variable holding it.
  std::vector<std::map<std::pair<int, Coords>, std::string>> memo{1};

  int numInputs() const { return int(d.inputs.size()); }
  const TensorDesc &typeOf(int v) const {
    return v < numInputs() ? d.inputs[size_t(v)] : ops[size_t(v - numInputs())].desc.outputs[0];
  }
  std::string fresh(const char *prefix) { return prefix + std::to_string(counter++); }
  std::string coordVar(const std::string &expr) {
    std::string name = fresh("ic");
    w.line("const ", ix, " ", name, " = ", expr, ";");
    return name;
  }

  /// The variable holding value `v` at `coords` (computeOf its dtype), or
  /// "" after setting `error`.
  std::string at(int v, const Coords &coords) {
    for (auto scope = memo.rbegin(); scope != memo.rend(); ++scope)
      if (auto it = scope->find({v, coords}); it != scope->end())
        return it->second;
    std::string name = compute(v, coords);
    if (!name.empty())
      memo.back()[{v, coords}] = name;
    return name;
  }

  std::string compute(int v, const Coords &coords) {
    const TensorDesc &t = typeOf(v);
    if (v < numInputs()) {
      std::vector<Extent> strides = rowMajorStrides(t.extents());
      std::string offset;
      for (size_t k = 0; k < coords.size(); ++k)
        if (coords[k] != "0" && strides[k] != Extent(0))
          offset += (offset.empty() ? "" : " + ") + coords[k] +
                    (strides[k] == Extent(1) ? "" : " * " + strides[k].text());
      std::string name = fresh("ld");
      w.line("const ", computeType(computeOf(t.dtype)), " ", name, " = ",
             fromStorage(t.dtype,
                         "x" + std::to_string(v) + "[" + (offset.empty() ? "0" : offset) + "]"),
             ";");
      return name;
    }
    const FusedOp &op = ops[size_t(v - numInputs())];
    const KernelDesc &o = op.desc;
    if (o.is(EffOp::TransposeOp)) {
      size_t rank = coords.size();
      std::vector<int64_t> perm(rank);
      for (size_t k = 0; k < rank; ++k)
        perm[k] = int64_t(rank - 1 - k);
      if (auto given = o.intsAttr("perm"))
        perm = *given;
      Coords in(rank);
      for (size_t k = 0; k < rank && k < perm.size(); ++k)
        in.at(size_t(perm[k])) = coords[k];
      return at(op.operands[0], in);
    }
    if (o.is(EffOp::SliceOp))
      return slice(op, coords);
    if (o.is(EffOp::ConcatOp))
      return concat(op, coords);
    // Elementwise: each operand at its broadcast coordinates.
    std::vector<std::string> operands;
    for (int u : op.operands) {
      if (u < 0) {
        operands.push_back("");
        continue;
      }
      std::vector<Extent> ext = typeOf(u).extents();
      Coords c(ext.size());
      for (size_t k = 0; k < ext.size(); ++k)
        c[k] = ext[k] == Extent(1) ? "0" : coords[coords.size() - ext.size() + k];
      std::string name = at(u, c);
      if (name.empty())
        return "";
      operands.push_back(name);
    }
    std::optional<ScalarExpr> e = scalarExpr(o, operands, error);
    if (!e)
      return "";
    DType dt = o.outputs[0].dtype;
    std::string name = fresh("bv");
    w.line("const ", computeType(computeOf(dt)), " ", name, " = ", roundTo(dt, e->expr, e->kind),
           ";  // ", o.op);
    return name;
  }

  /// data[starts:ends:steps] on axes (constants, ONNX clamping on static
  /// dims): input coordinate start + i * step.
  std::string slice(const FusedOp &op, const Coords &coords) {
    const KernelDesc &o = op.desc;
    auto ints = [&](size_t slot) -> std::optional<std::vector<int64_t>> {
      return o.hasInput(slot) ? o.inputs[slot].constInts : std::nullopt;
    };
    std::optional<std::vector<int64_t>> starts = ints(1), axes = ints(3), steps = ints(4);
    if (!starts || (o.hasInput(3) && !axes) || (o.hasInput(4) && !steps)) {
      error = d.op + ": fused eff.slice needs constant starts, axes and steps";
      return "";
    }
    std::vector<Extent> ext = o.inputs[0].extents();
    Coords in = coords;
    for (size_t a = 0; a < starts->size(); ++a) {
      int64_t axis = axes ? (*axes).at(a) : int64_t(a);
      int64_t step = steps ? (*steps).at(a) : 1;
      if (axis < 0)
        axis += int64_t(ext.size());
      if (axis < 0 || axis >= int64_t(ext.size()) || !ext[size_t(axis)].isConstant() || !step) {
        error = d.op + ": fused eff.slice on axis " + std::to_string(axis) +
                " needs a static dim and a nonzero step";
        return "";
      }
      int64_t dim = ext[size_t(axis)].constant(), start = (*starts)[a];
      if (start < 0)
        start += dim;
      start = step > 0 ? std::clamp<int64_t>(start, 0, dim)
                       : std::clamp<int64_t>(start, 0, std::max<int64_t>(dim - 1, 0));
      in[size_t(axis)] = coordVar(std::to_string(start) + " + " + coords[size_t(axis)] +
                                  (step == 1 ? "" : " * " + std::to_string(step)));
    }
    return at(op.operands[0], in);
  }

  /// Each output element from one operand: a branch per operand along axis.
  std::string concat(const FusedOp &op, const Coords &coords) {
    const KernelDesc &o = op.desc;
    int64_t rank = int64_t(coords.size()), axis = o.intAttr("axis", 0);
    if (axis < 0)
      axis += rank;
    if (axis < 0 || axis >= rank || op.operands.empty()) {
      error = d.op + ": fused eff.concat: axis out of range";
      return "";
    }
    DType dt = o.outputs[0].dtype;
    std::string name = fresh("cc");
    w.line(computeType(computeOf(dt)), " ", name, ";");
    Extent begin = 0;
    for (size_t j = 0; j < op.operands.size(); ++j) {
      int u = op.operands[j];
      if (u < 0)
        continue;
      Extent end = begin + typeOf(u).extents().at(size_t(axis));
      bool last = j + 1 == op.operands.size();
      if (j == 0)
        w.open("if (", coords[size_t(axis)], " < ", end.text(), ") {");
      else if (!last)
        w.reopen("} else if (" + coords[size_t(axis)] + " < " + end.text() + ") {");
      else
        w.reopen("} else {");
      memo.emplace_back();
      Coords c = coords;
      if (begin != Extent(0))
        c[size_t(axis)] = coordVar(coords[size_t(axis)] + " - " + begin.text());
      std::string value = at(u, c);
      memo.pop_back();
      if (value.empty())
        return "";
      w.line(name, " = ", value, ";");
      begin = end;
    }
    w.close();
    return name;
  }
};

/// The indexed variant: one thread per output element, coordinates from its
/// row-major index.
bool emitIndexed(const KernelDesc &d, const std::vector<FusedOp> &ops,
                 const std::vector<int> &outputs, const KernelChoice &c, std::string &out,
                 std::string &error) {
  CudaWriter w;
  std::string ix = indexType(d);
  openKernel(w, d, c.threads());
  openGridStride(w, "i", ix, d.outputs[0].elements(), c.threads());
  std::vector<Extent> shape = d.outputs[0].extents();
  IndexedBody body{d, ops, ix, w, error};
  IndexedBody::Coords coords(shape.size());
  if (!shape.empty()) {
    w.line(ix, " rest = i;");
    for (size_t k = shape.size(); k-- > 1;) {
      coords[k] = "q" + std::to_string(k);
      w.line("const ", ix, " ", coords[k], " = rest % ", shape[k].text(), ";");
      w.line("rest /= ", shape[k].text(), ";");
    }
    coords[0] = "rest";
  }
  std::string value = body.at(outputs[0], coords);
  if (value.empty())
    return false;
  DType from = body.typeOf(outputs[0]).dtype;
  w.line("y0[i] = ", storeValue(d.outputs[0].dtype, value, computeOf(from)), ";");
  w.close().close();
  out = w.str();
  return true;
}

/// Elements per thread for the vectorized variant, or 1: up to 16 bytes per
/// access of the widest vector-accessed tensor, dividing the innermost dim.
int vectorWidth(const KernelDesc &d, const SymIndexSpace &space,
                const std::vector<int> &spaceInput) {
  // Runtime extents: one element per thread (the loop bound stays the
  // extent expression itself).
  if (space.dims.empty() || d.usesDims())
    return 1;
  size_t widest = 0;
  for (const TensorDesc &t : d.outputs)
    widest = std::max(widest, dtypeSize(t.dtype));
  for (size_t k = 1; k < space.strides.size(); ++k)
    if (space.strides[k].back() == 1)
      widest = std::max(widest, dtypeSize(d.inputs[size_t(spaceInput[k])].dtype));
  int vec = int(std::clamp<size_t>(16 / std::max<size_t>(widest, 1), 1, 8));
  while (vec > 1 && space.dims.back().constant() % vec)
    vec /= 2;
  return vec;
}

/// A body over the output's elements: which values it reads, and the
/// iteration space (operand 0 the outputs, all row-major and of one shape,
/// then each needed input broadcast into it), coalesced.
struct BodySpace {
  std::vector<bool> read, needed;
  SymIndexSpace space;
  std::vector<int> spaceInput{-1}; // space operand -> kernel input
  std::vector<int> spaceOf;        // kernel input -> space operand
};

bool bodySpace(const KernelDesc &d, const Body &body, BodySpace &b, std::string &error) {
  std::vector<bool> &read = b.read, &needed = b.needed;
  if (!body.check(read, needed, error))
    return false;
  const std::vector<Extent> shape = d.outputs[0].extents();
  SymIndexSpace &space = b.space;
  space.dims = shape;
  space.strides.push_back(rowMajorStrides(shape));
  std::vector<int> &spaceInput = b.spaceInput, &spaceOf = b.spaceOf;
  spaceOf.assign(needed.size(), -1);
  for (size_t k = 0; k < needed.size(); ++k) {
    if (!needed[k])
      continue;
    if (!d.inputs[k].present) {
      error = d.op + ": input " + std::to_string(k) + " is absent but read";
      return false;
    }
    if (d.inputs[k].rank() > int64_t(shape.size())) {
      error = d.op + ": input " + std::to_string(k) + " " + shapeText(d.inputs[k].shape) +
              " does not broadcast to " + shapeText(d.outputs[0].shape);
      return false;
    }
    spaceOf[k] = int(space.strides.size());
    spaceInput.push_back(int(k));
    space.strides.push_back(broadcastStrides(d.inputs[k].extents(), shape));
  }
  space = coalesce(space);
  return true;
}

/// One thread per element, or per `vec` elements when the innermost dim
/// allows 16-byte accesses (vectorWidth).
bool chooseBody(const KernelDesc &d, const std::vector<FusedOp> &ops,
                const std::vector<int> &outputs, KernelChoice &c, std::string &error) {
  if (hasIndexMaps(ops)) {
    std::vector<bool> read, needed;
    if (!Body{d, ops, outputs}.check(read, needed, error))
      return false;
    if (outputs.size() != 1) {
      error = d.op + ": a body with index-mapping ops has one output";
      return false;
    }
    c = gridStrideChoice(c.family, d.outputs[0].numElements());
    c.launch.followRuntime(0, d.outputs[0].elements(), c.threads(), c.launch.grid[0]);
    c.variant = "indexed";
    return true;
  }
  BodySpace b;
  if (!bodySpace(d, Body{d, ops, outputs}, b, error))
    return false;
  int vec = vectorWidth(d, b.space, b.spaceInput);
  c = gridStrideChoice(c.family, d.outputs[0].numElements() / vec);
  if (vec == 1)
    c.launch.followRuntime(0, d.outputs[0].elements(), c.threads(), c.launch.grid[0]);
  c.variant = vec == 1 ? "grid-stride" : "vectorized";
  c.setParam("vec", vec);
  return true;
}

bool emitBody(const KernelDesc &d, const std::vector<FusedOp> &ops, const std::vector<int> &outputs,
              const KernelChoice &c, std::string &out, std::string &error) {
  if (c.variant == "indexed")
    return emitIndexed(d, ops, outputs, c, out, error);
  Body body{d, ops, outputs};
  BodySpace b;
  if (!bodySpace(d, body, b, error))
    return false;
  const std::vector<bool> &read = b.read, &needed = b.needed;
  const SymIndexSpace &space = b.space;
  const std::vector<int> &spaceInput = b.spaceInput, &spaceOf = b.spaceOf;
  CudaWriter w;
  std::string ix = indexType(d);
  int vec = int(c.param("vec", 1));
  openKernel(w, d, c.threads());
  if (vec == 1) {
    openGridStride(w, "i", ix, d.outputs[0].elements(), c.threads());
    emitOffsets(w, "i", ix, space, "o");
    auto input = [&](int k) {
      return "x" + std::to_string(k) + "[o" + std::to_string(spaceOf[size_t(k)]) + "]";
    };
    auto store = [&](int o) { return "y" + std::to_string(o) + "[o0]"; };
    if (!body.emit(w, read, needed, input, store, error))
      return false;
    w.close().close();
    out = w.str();
    return true;
  }

  // Vectorized: thread e handles elements [e * vec, e * vec + vec).
  w.line("// ", vec, " elements per thread");
  openGridStride(w, "e", ix, c.param("items"), c.threads());
  w.line("const ", ix, " i = e * ", vec, ";");
  emitOffsets(w, "i", ix, space, "o");
  auto vecType = [&](DType t) {
    return std::string("effc_vec<") + storageType(t) + ", " + std::to_string(vec) + ">";
  };
  for (size_t s = 1; s < space.strides.size(); ++s) {
    if (space.strides[s].back() != 1)
      continue;
    int k = spaceInput[s];
    std::string t = vecType(d.inputs[size_t(k)].dtype);
    w.line("const ", t, " r", k, " = *(const ", t, "*)(x", k, " + o", s, ");");
  }
  for (size_t o = 0; o < d.outputs.size(); ++o)
    w.line(vecType(d.outputs[o].dtype), " s", o, ";");
  w.line("#pragma unroll");
  w.open("for (int j = 0; j < ", vec, "; ++j) {");
  auto input = [&](int k) {
    size_t s = size_t(spaceOf[size_t(k)]);
    const Extent &step = space.strides[s].back();
    std::string ks = std::to_string(k), os = std::to_string(s);
    if (step == 1)
      return "r" + ks + ".v[j]";
    if (step == 0)
      return "x" + ks + "[o" + os + "]";
    return "x" + ks + "[o" + os + " + j * " + step.text() + "]";
  };
  auto store = [&](int o) { return "s" + std::to_string(o) + ".v[j]"; };
  if (!body.emit(w, read, needed, input, store, error))
    return false;
  w.close();
  for (size_t o = 0; o < d.outputs.size(); ++o)
    w.line("*(", vecType(d.outputs[o].dtype), "*)(y", o, " + o0) = s", o, ";");
  w.close().close();
  out = w.str();
  return true;
}

/// A single op is a one-op body over the kernel's inputs.
bool singleOpBody(const KernelDesc &d, std::vector<FusedOp> &ops, std::vector<int> &outputs,
                  std::string &error) {
  if (d.outputs.size() != 1 || d.inputs.empty()) {
    error = d.op + ": expected inputs and one output";
    return false;
  }
  ops.resize(1);
  ops[0].desc = d;
  for (size_t k = 0; k < d.inputs.size(); ++k)
    ops[0].operands.push_back(d.inputs[k].present ? int(k) : -1);
  outputs = {int(d.inputs.size())};
  return true;
}

bool checkFusionBody(const KernelDesc &d, std::string &error) {
  if (d.body.empty())
    error = d.op + ": empty body";
  return !d.body.empty();
}

bool isGemmEpilogue(const KernelDesc &d, std::string &error) {
  std::string kind = d.stringAttr("kind", "");
  if (kind != "gemm_epilogue" && kind != "elementwise")
    error = d.op + ": no CUDA emitter for fusion kind '" + kind + "'";
  return kind == "gemm_epilogue";
}

} // namespace

bool chooseElementwise(const KernelDesc &d, KernelChoice &c, std::string &error) {
  std::vector<FusedOp> ops;
  std::vector<int> outputs;
  return singleOpBody(d, ops, outputs, error) && chooseBody(d, ops, outputs, c, error);
}

bool instantiateElementwise(const KernelDesc &d, const KernelChoice &c, std::string &source,
                            std::string &error) {
  std::vector<FusedOp> ops;
  std::vector<int> outputs;
  return singleOpBody(d, ops, outputs, error) && emitBody(d, ops, outputs, c, source, error);
}

bool chooseFusion(const KernelDesc &d, KernelChoice &c, std::string &error) {
  if (isGemmEpilogue(d, error))
    return chooseGemmEpilogue(d, c, error);
  return error.empty() && checkFusionBody(d, error) &&
         chooseBody(d, d.body, d.bodyOutputs, c, error);
}

bool instantiateFusion(const KernelDesc &d, const KernelChoice &c, std::string &source,
                       std::string &error) {
  if (isGemmEpilogue(d, error))
    return instantiateGemmEpilogue(d, c, source, error);
  return error.empty() && checkFusionBody(d, error) &&
         emitBody(d, d.body, d.bodyOutputs, c, source, error);
}

std::vector<bool> loraSideInputs(const KernelDesc &d) {
  std::vector<bool> side(d.inputs.size(), false);
  for (const FusedOp &op : d.body)
    if (op.desc.is(EffOp::LoRAExpandOp))
      for (size_t slot = 1; slot < op.operands.size(); ++slot)
        if (op.operands[slot] >= 0 && op.operands[slot] < int(side.size()))
          side[size_t(op.operands[slot])] = true;
  return side;
}

bool emitEpilogueBody(const KernelDesc &d, const std::string &value, Compute kind,
                      const std::vector<std::string> &offsets, const std::string &row,
                      const std::string &col, std::string &code, std::string &error) {
  int numInputs = int(d.inputs.size());
  if (d.body.size() < 2 || d.outputs.size() != 1 || d.bodyOutputs.size() != 1) {
    error = d.op + ": gemm_epilogue needs a GEMM, an elementwise chain and one output";
    return false;
  }
  // "ep<v>": names that cannot clash with the GEMM kernels' own variables.
  auto name = [](int v) { return "ep" + std::to_string(v); };
  std::vector<DType> dtypes;
  for (const TensorDesc &t : d.inputs)
    dtypes.push_back(t.dtype);
  std::vector<bool> loaded(size_t(numInputs), false);
  std::vector<bool> side = loraSideInputs(d);
  CudaWriter w;
  // The GEMM's result, rounded to its dtype as the host stores it.
  DType gemmType = d.body[0].desc.outputs.at(0).dtype;
  dtypes.push_back(gemmType);
  w.line("const ", computeType(computeOf(gemmType)), " ", name(numInputs), " = ",
         roundTo(gemmType, value, kind), ";");
  auto use = [&](int v) {
    if (v >= numInputs || loaded[size_t(v)])
      return true;
    if (side[size_t(v)]) {
      error = d.op + ": input " + std::to_string(v) +
              " is a lora_expand operand and cannot be broadcast";
      return false;
    }
    loaded[size_t(v)] = true;
    DType t = d.inputs[size_t(v)].dtype;
    std::string raw = std::string("((const ") + storageType(t) + "*)in" + std::to_string(v) + ")[" +
                      offsets.at(size_t(v)) + "]";
    w.line("const ", computeType(computeOf(t)), " ", name(v), " = ", fromStorage(t, raw), ";");
    return true;
  };
  for (size_t i = 1; i < d.body.size(); ++i) {
    const FusedOp &op = d.body[i];
    int self = int(dtypes.size());
    if (op.desc.outputs.size() != 1 || op.operands.size() != op.desc.inputs.size()) {
      error = d.op + ": body op " + op.desc.op + " must have one result and described operands";
      return false;
    }
    if (op.desc.is(EffOp::LoRAExpandOp)) {
      // acc is any earlier value; t, b, lora_index are kernel inputs read at
      // (row, col).
      LoRAGeometry g;
      if (!describeLoRAExpand(op.desc, g, error))
        return false;
      int acc = op.operands[0];
      if (acc < 0 || acc >= self) {
        error = d.op + ": body op eff.lora_expand reads a value defined after it";
        return false;
      }
      for (size_t slot = 1; slot < op.operands.size(); ++slot)
        if (op.operands[slot] >= numInputs) {
          error = d.op + ": a fused eff.lora_expand's t, b and lora_index must be kernel inputs";
          return false;
        }
      if (!use(acc))
        return false;
      auto pointer = [&](size_t slot) {
        if (slot >= op.operands.size() || op.operands[slot] < 0)
          return std::string();
        int v = op.operands[slot];
        return std::string("((const ") + storageType(d.inputs[size_t(v)].dtype) + "*)in" +
               std::to_string(v) + ")";
      };
      DType t = op.desc.outputs[0].dtype;
      Compute k = computeOf(t);
      std::string sum = "lora" + std::to_string(self);
      std::string term = emitLoRATerm(g, {pointer(1), pointer(2), pointer(3)}, row, col, sum, k);
      for (size_t pos = 0; pos < term.size();) {
        size_t end = std::min(term.find('\n', pos), term.size());
        if (end > pos)
          w.line(term.substr(pos, end - pos));
        pos = end + 1;
      }
      std::string accValue = convert(name(acc), computeOf(dtypes[size_t(acc)]), k);
      dtypes.push_back(t);
      w.line("const ", computeType(k), " ", name(self), " = ",
             roundTo(t, addScaledLoRATerm(g, accValue, sum, k), k), ";  // eff.lora_expand");
      continue;
    }
    std::vector<std::string> operands;
    for (int v : op.operands) {
      if (v >= self) {
        error = d.op + ": body op " + op.desc.op + " reads a value defined after it";
        return false;
      }
      if (v >= 0 && !use(v))
        return false;
      operands.push_back(v < 0 ? "" : name(v));
    }
    std::optional<ScalarExpr> e = scalarExpr(op.desc, operands, error);
    if (!e)
      return false;
    DType t = op.desc.outputs[0].dtype;
    dtypes.push_back(t);
    w.line("const ", computeType(computeOf(t)), " ", name(self), " = ",
           roundTo(t, e->expr, e->kind), ";  // ", op.desc.op);
  }
  int y = d.bodyOutputs[0];
  if (y < 0 || y >= int(dtypes.size()) || dtypes[size_t(y)] != d.outputs[0].dtype) {
    error = d.op + ": yielded value out of range or of another dtype than the output";
    return false;
  }
  if (!use(y))
    return false;
  w.line(value, " = ", convert(name(y), computeOf(dtypes[size_t(y)]), kind), ";");
  code = w.str();
  return true;
}

} // namespace effc::codegen
