//===- ElementwiseEmitter.cpp - broadcast math, compare, logic, cast ------===//
//
// One thread per output element (grid-stride). Each operand's offset comes
// from the output index through baked broadcast strides (coalesced dims).
// Values are loaded into the op's compute kind (DTypeInfo.h), combined with
// an expression that mirrors the host kernel, and stored with its rounding.
//
#include "compiler/codegen/DTypeInfo.h"
#include "compiler/codegen/EmitterUtil.h"
#include "compiler/codegen/Families.h"

#include <functional>
#include <map>

namespace effc::codegen {
namespace {

enum class Shape { Unary, Broadcast };

/// How one op reads its operands and forms its result: `operandKind` is the
/// kind every operand is loaded as, `resultKind` the kind of `expr`'s value.
struct Recipe {
  Compute operandKind;
  Compute resultKind;
  std::string expr; // over v0, v1, ...
};

using RecipeFn = std::function<bool(const KernelDesc &, Recipe &, std::string &)>;

bool isF64(Compute k) { return k == Compute::F64; }
/// Float math function for the kind: "expf" vs "exp".
std::string fn(Compute k, const std::string &name) { return isF64(k) ? name : name + "f"; }
std::string one(Compute k) { return isF64(k) ? "1.0" : "1.0f"; }
std::string zero(Compute k) {
  return k == Compute::F64 ? "0.0" : k == Compute::F32 ? "0.0f" : "(i64)0";
}

bool needFloat(const KernelDesc &d, Compute k, std::string &error) {
  if (isFloatCompute(k))
    return true;
  error = d.op + ": unsupported dtype " + dtypeName(d.inputs[0].dtype);
  return false;
}

RecipeFn floatUnary(std::function<std::string(Compute)> expr) {
  return [expr](const KernelDesc &d, Recipe &r, std::string &err) {
    Compute k = computeOf(d.inputs[0].dtype);
    if (!needFloat(d, k, err))
      return false;
    r = {k, k, expr(k)};
    return true;
  };
}

/// Ops defined on ints too: `f` gets the kind and returns the expression.
RecipeFn numericUnary(std::function<std::string(Compute)> expr) {
  return [expr](const KernelDesc &d, Recipe &r, std::string &err) {
    Compute k = computeOf(d.inputs[0].dtype);
    if (k == Compute::Bool) {
      err = d.op + ": unsupported dtype bool";
      return false;
    }
    r = {k, k, expr(k)};
    return true;
  };
}

std::string sigmoidOf(Compute k, const std::string &v) {
  return "(" + v + " >= " + zero(k) + " ? " + one(k) + " / (" + one(k) + " + " + fn(k, "exp") +
         "(-" + v + ")) : " + fn(k, "exp") + "(" + v + ") / (" + one(k) + " + " + fn(k, "exp") +
         "(" + v + ")))";
}

/// Arithmetic folded left over all operands (max/min are variadic).
RecipeFn arith(std::function<std::string(Compute, const std::string &, const std::string &)> f) {
  return [f](const KernelDesc &d, Recipe &r, std::string &err) {
    Compute k = computeOf(d.inputs[0].dtype);
    if (k == Compute::Bool) {
      err = d.op + ": unsupported dtype bool";
      return false;
    }
    std::string acc = "v0";
    for (size_t i = 1; i < d.inputs.size(); ++i)
      acc = f(k, acc, "v" + std::to_string(i));
    r = {k, k, acc};
    return true;
  };
}

RecipeFn compare(const std::string &op) {
  return [op](const KernelDesc &d, Recipe &r, std::string &) {
    Compute k = computeOf(d.inputs[0].dtype);
    if (k == Compute::Bool)
      k = Compute::I64;
    r = {k, Compute::Bool, "(v0 " + op + " v1)"};
    return true;
  };
}

RecipeFn logic(const std::string &op) {
  return [op](const KernelDesc &, Recipe &r, std::string &) {
    r = {Compute::Bool, Compute::Bool, "(v0 " + op + " v1)"};
    return true;
  };
}

const std::map<std::string, RecipeFn> &recipes() {
  static const std::map<std::string, RecipeFn> table = [] {
    std::map<std::string, RecipeFn> t;
    for (const char *name : {"cos", "sin", "exp", "log", "sqrt", "tanh", "erf"}) {
      std::string n = name;
      t["eff." + n] = floatUnary([n](Compute k) { return fn(k, n) + "(v0)"; });
    }
    t["eff.reciprocal"] = floatUnary([](Compute k) { return one(k) + " / v0"; });
    t["eff.sigmoid"] = floatUnary([](Compute k) { return sigmoidOf(k, "v0"); });
    t["eff.silu"] = floatUnary([](Compute k) { return "v0 * " + sigmoidOf(k, "v0"); });
    t["eff.gelu"] = [](const KernelDesc &d, Recipe &r, std::string &err) {
      Compute k = computeOf(d.inputs[0].dtype);
      if (!needFloat(d, k, err))
        return false;
      std::string approx = d.stringAttr("approximate", "none");
      std::string h = isF64(k) ? "0.5" : "0.5f", o = one(k);
      if (approx == "tanh") {
        std::string c0 = isF64(k) ? doubleLit(0.79788456080286535588) : floatLit(0.7978845608f);
        std::string c1 = isF64(k) ? "0.044715" : "0.044715f";
        r = {k, k,
             h + " * v0 * (" + o + " + " + fn(k, "tanh") + "(" + c0 + " * (v0 + " + c1 +
                 " * v0 * v0 * v0)))"};
      } else if (approx == "none") {
        std::string rs2 = isF64(k) ? doubleLit(0.70710678118654752440) : floatLit(0.70710678f);
        r = {k, k, h + " * v0 * (" + o + " + " + fn(k, "erf") + "(v0 * " + rs2 + "))"};
      } else {
        err = d.op + ": approximate must be 'none' or 'tanh', got '" + approx + "'";
        return false;
      }
      return true;
    };
    t["eff.neg"] = numericUnary([](Compute k) {
      return k == Compute::I64 ? std::string("(i64)(0ull - (u64)v0)") : std::string("(-v0)");
    });
    t["eff.abs"] = numericUnary([](Compute k) {
      return k == Compute::I64 ? std::string("(v0 < 0 ? (i64)(0ull - (u64)v0) : v0)")
                               : fn(k, "fabs") + "(v0)";
    });
    t["eff.relu"] =
        numericUnary([](Compute k) { return "(v0 > " + zero(k) + " ? v0 : " + zero(k) + ")"; });
    t["eff.not"] = [](const KernelDesc &, Recipe &r, std::string &) {
      r = {Compute::Bool, Compute::Bool, "(!v0)"};
      return true;
    };
    t["eff.is_nan"] = [](const KernelDesc &d, Recipe &r, std::string &err) {
      Compute k = computeOf(d.inputs[0].dtype);
      if (!needFloat(d, k, err))
        return false;
      r = {k, Compute::Bool, "(v0 != v0)"};
      return true;
    };
    t["eff.cast"] = [](const KernelDesc &d, Recipe &r, std::string &) {
      Compute k = computeOf(d.inputs[0].dtype);
      r = {k, k, "v0"}; // the store converts, with the host's rules
      return true;
    };
    t["eff.add"] = arith([](Compute k, const std::string &a, const std::string &b) {
      return k == Compute::I64 ? "(i64)((u64)" + a + " + (u64)" + b + ")" : "(" + a + " + " + b + ")";
    });
    t["eff.sub"] = arith([](Compute k, const std::string &a, const std::string &b) {
      return k == Compute::I64 ? "(i64)((u64)" + a + " - (u64)" + b + ")" : "(" + a + " - " + b + ")";
    });
    t["eff.mul"] = arith([](Compute k, const std::string &a, const std::string &b) {
      return k == Compute::I64 ? "(i64)((u64)" + a + " * (u64)" + b + ")" : "(" + a + " * " + b + ")";
    });
    t["eff.div"] = arith([](Compute k, const std::string &a, const std::string &b) {
      return k == Compute::I64 ? "idiv64(" + a + ", " + b + ")" : "(" + a + " / " + b + ")";
    });
    t["eff.max"] = arith([](Compute k, const std::string &a, const std::string &b) {
      return k == Compute::I64 ? "(" + a + " > " + b + " ? " + a + " : " + b + ")"
                               : "MaxOp()(" + a + ", " + b + ")";
    });
    t["eff.min"] = arith([](Compute k, const std::string &a, const std::string &b) {
      return k == Compute::I64 ? "(" + a + " < " + b + " ? " + a + " : " + b + ")"
                               : "MinOp()(" + a + ", " + b + ")";
    });
    // Pow: float bases in float (double for fp64), integer bases through
    // double like the host; the result has the base's dtype.
    t["eff.pow"] = [](const KernelDesc &d, Recipe &r, std::string &) {
      Compute k = computeOf(d.inputs[0].dtype);
      Compute math = k == Compute::F32 ? Compute::F32 : Compute::F64;
      r = {math, math, fn(math, "pow") + "(v0, v1)"};
      return true;
    };
    t["eff.equal"] = compare("==");
    t["eff.greater"] = compare(">");
    t["eff.greater_or_equal"] = compare(">=");
    t["eff.less"] = compare("<");
    t["eff.less_or_equal"] = compare("<=");
    t["eff.and"] = logic("&&");
    t["eff.or"] = logic("||");
    t["eff.xor"] = logic("!=");
    return t;
  }();
  return table;
}

IndexSpace broadcastSpace(const KernelDesc &d, size_t numOperands) {
  IndexSpace space;
  space.dims = d.outputs[0].shape;
  space.strides.push_back(rowMajorStrides(space.dims)); // operand 0: the output
  for (size_t i = 0; i < numOperands; ++i)
    space.strides.push_back(broadcastStrides(d.inputs[i].shape, space.dims));
  return coalesce(space);
}

bool emitWhere(const KernelDesc &d, CudaKernel &out) {
  CudaWriter w;
  std::string ix = indexType(d);
  int64_t n = d.outputs[0].numElements();
  IndexSpace space = broadcastSpace(d, 3);
  openKernel(w, d, kElementwiseBlock);
  openGridStride(w, "i", ix, n, kElementwiseBlock);
  emitOffsets(w, "i", ix, space, "o");
  // Raw storage values: where never converts.
  w.line("y0[o0] = x0[o1] ? x1[o2] : x2[o3];");
  w.close().close();
  out.source = w.str();
  out.launch = gridStrideLaunch(n, kElementwiseBlock);
  return true;
}

bool emitClip(const KernelDesc &d, CudaKernel &out, std::string &error) {
  Compute k = computeOf(d.inputs[0].dtype);
  if (k == Compute::Bool) {
    error = d.op + ": unsupported dtype bool";
    return false;
  }
  CudaWriter w;
  std::string ix = indexType(d);
  int64_t n = d.outputs[0].numElements();
  const char *t = computeType(k);
  openKernel(w, d, kElementwiseBlock);
  w.line("const ", t, " lo = ", d.hasInput(1) ? loadAs(d.inputs[1].dtype, "x1", "0", k) : lowestOf(k),
         ";");
  w.line("const ", t, " hi = ", d.hasInput(2) ? loadAs(d.inputs[2].dtype, "x2", "0", k) : highestOf(k),
         ";");
  openGridStride(w, "i", ix, n, kElementwiseBlock);
  w.line(t, " v = ", load(d.inputs[0].dtype, "x0", "i"), ";");
  w.line("if (v < lo) v = lo;");
  w.line("if (v > hi) v = hi;  // numpy.clip: max wins when min > max");
  w.line("y0[i] = ", storeValue(d.outputs[0].dtype, "v", k), ";");
  w.close().close();
  out.source = w.str();
  out.launch = gridStrideLaunch(n, kElementwiseBlock);
  return true;
}

} // namespace

bool emitElementwise(const KernelDesc &d, CudaKernel &out, std::string &error) {
  if (d.outputs.size() != 1 || d.inputs.empty()) {
    error = d.op + ": expected inputs and one output";
    return false;
  }
  if (d.op == "eff.where")
    return emitWhere(d, out);
  if (d.op == "eff.clip")
    return emitClip(d, out, error);
  auto it = recipes().find(d.op);
  if (it == recipes().end()) {
    error = d.op + ": not an elementwise op";
    return false;
  }
  Recipe recipe;
  if (!it->second(d, recipe, error))
    return false;

  CudaWriter w;
  std::string ix = indexType(d);
  int64_t n = d.outputs[0].numElements();
  size_t numOperands = d.op == "eff.cast" || d.inputs.size() == 1 ? 1 : d.inputs.size();
  IndexSpace space = broadcastSpace(d, numOperands);
  openKernel(w, d, kElementwiseBlock);
  openGridStride(w, "i", ix, n, kElementwiseBlock);
  emitOffsets(w, "i", ix, space, "o");
  for (size_t k = 0; k < numOperands; ++k)
    w.line("const ", computeType(recipe.operandKind), " v", k, " = ",
           loadAs(d.inputs[k].dtype, "x" + std::to_string(k), "o" + std::to_string(k + 1),
                  recipe.operandKind),
           ";");
  w.line("y0[o0] = ", storeValue(d.outputs[0].dtype, recipe.expr, recipe.resultKind), ";");
  w.close().close();
  out.source = w.str();
  out.launch = gridStrideLaunch(n, kElementwiseBlock);
  return true;
}

} // namespace effc::codegen
