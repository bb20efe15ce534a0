//===- ScalarOps.cpp - per-element expressions of the elementwise ops -----===//
//
// Which expression an elementwise op computes is written in its ODS def
// (`cudaScalar`, dialects/eff/ops/ElementwiseOps.td) as a recipe built from
// the vocabulary below: the recipe shapes (operand kinds, result kind, dtype
// checks) and the CUDA spelling per compute kind (expf vs exp, wrap-around
// integer arithmetic). No op is named here.
//
#include "compiler/codegen/ScalarOps.h"

#include "EffOp.h"
#include "compiler/codegen/core/CudaWriter.h"

#include <functional>
#include <map>

namespace effc::codegen {
namespace {

/// The operands of one op as values of their dtypes' compute kinds; `as`
/// converts one to the kind the op computes in.
class Operands {
public:
  Operands(const KernelDesc &d, const std::vector<std::string> &names) : d(d), names(names) {}
  size_t size() const { return names.size(); }
  bool present(size_t i) const { return i < names.size() && !names[i].empty(); }
  std::string as(size_t i, Compute k) const {
    return convert(names[i], computeOf(d.inputs[i].dtype), k);
  }

private:
  const KernelDesc &d;
  const std::vector<std::string> &names;
};

using RecipeFn =
    std::function<bool(const KernelDesc &, const Operands &, ScalarExpr &, std::string &)>;

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

RecipeFn floatUnary(std::function<std::string(Compute, const std::string &)> expr) {
  return [expr](const KernelDesc &d, const Operands &v, ScalarExpr &r, std::string &err) {
    Compute k = computeOf(d.inputs[0].dtype);
    if (!needFloat(d, k, err))
      return false;
    r = {expr(k, v.as(0, k)), k};
    return true;
  };
}

/// Ops defined on ints too: `expr` gets the kind and the operand.
RecipeFn numericUnary(std::function<std::string(Compute, const std::string &)> expr) {
  return [expr](const KernelDesc &d, const Operands &v, ScalarExpr &r, std::string &err) {
    Compute k = computeOf(d.inputs[0].dtype);
    if (k == Compute::Bool) {
      err = d.op + ": unsupported dtype bool";
      return false;
    }
    r = {expr(k, v.as(0, k)), k};
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
  return [f](const KernelDesc &d, const Operands &v, ScalarExpr &r, std::string &err) {
    Compute k = computeOf(d.inputs[0].dtype);
    if (k == Compute::Bool) {
      err = d.op + ": unsupported dtype bool";
      return false;
    }
    std::string acc = v.as(0, k);
    for (size_t i = 1; i < v.size(); ++i)
      acc = f(k, acc, v.as(i, k));
    r = {acc, k};
    return true;
  };
}

RecipeFn compare(const std::string &op) {
  return [op](const KernelDesc &d, const Operands &v, ScalarExpr &r, std::string &) {
    Compute k = computeOf(d.inputs[0].dtype);
    if (k == Compute::Bool)
      k = Compute::I64;
    r = {"(" + v.as(0, k) + " " + op + " " + v.as(1, k) + ")", Compute::Bool};
    return true;
  };
}

RecipeFn logic(const std::string &op) {
  return [op](const KernelDesc &, const Operands &v, ScalarExpr &r, std::string &) {
    r = {"(" + v.as(0, Compute::Bool) + " " + op + " " + v.as(1, Compute::Bool) + ")",
         Compute::Bool};
    return true;
  };
}

ScalarExpr gelu(Compute k, const std::string &x, bool tanhApprox) {
  std::string h = isF64(k) ? "0.5" : "0.5f", o = one(k);
  if (tanhApprox) {
    std::string c0 = isF64(k) ? doubleLit(0.79788456080286535588) : floatLit(0.7978845608f);
    std::string c1 = isF64(k) ? "0.044715" : "0.044715f";
    return {h + " * " + x + " * (" + o + " + " + fn(k, "tanh") + "(" + c0 + " * (" + x + " + " +
                c1 + " * " + x + " * " + x + " * " + x + ")))",
            k};
  }
  std::string rs2 = isF64(k) ? doubleLit(0.70710678118654752440) : floatLit(0.70710678f);
  return {h + " * " + x + " * (" + o + " + " + fn(k, "erf") + "(" + x + " * " + rs2 + "))", k};
}

// The vocabulary the ODS recipes (`cudaScalar`) name beyond the shapes
// above: ops whose operands or attributes need more than one expression.

/// GELU, exact (erf) or tanh approximation per `approximate`.
RecipeFn geluRecipe() {
  return [](const KernelDesc &d, const Operands &v, ScalarExpr &r, std::string &err) {
    Compute k = computeOf(d.inputs[0].dtype);
    if (!needFloat(d, k, err))
      return false;
    std::string approx = d.stringAttr("approximate", op_defaults::GeluOp_approximate);
    if (approx != "tanh" && approx != "none") {
      err = d.op + ": approximate must be 'none' or 'tanh', got '" + approx + "'";
      return false;
    }
    r = gelu(k, v.as(0, k), approx == "tanh");
    return true;
  };
}

/// Float operand, bool result (is_nan).
RecipeFn floatPredicate(std::function<std::string(const std::string &)> expr) {
  return [expr](const KernelDesc &d, const Operands &v, ScalarExpr &r, std::string &err) {
    Compute k = computeOf(d.inputs[0].dtype);
    if (!needFloat(d, k, err))
      return false;
    r = {expr(v.as(0, k)), Compute::Bool};
    return true;
  };
}

/// Bool operand, bool result (not).
RecipeFn boolUnary(std::function<std::string(const std::string &)> expr) {
  return [expr](const KernelDesc &, const Operands &v, ScalarExpr &r, std::string &) {
    r = {expr(v.as(0, Compute::Bool)), Compute::Bool};
    return true;
  };
}

/// The value passed on in its own kind; the store converts it with the
/// host's rules (cast) or is exact (identity).
RecipeFn passThrough() {
  return [](const KernelDesc &d, const Operands &v, ScalarExpr &r, std::string &) {
    Compute k = computeOf(d.inputs[0].dtype);
    r = {v.as(0, k), k};
    return true;
  };
}

/// A float math function of one operand: "expf(x)" (f32), "exp(x)" (f64).
std::function<std::string(Compute, const std::string &)> call(const std::string &name) {
  return [name](Compute k, const std::string &x) { return fn(k, name) + "(" + x + ")"; };
}

/// Integer arithmetic wraps around (through u64, as the host does); float
/// arithmetic is the plain operator.
std::function<std::string(Compute, const std::string &, const std::string &)>
wrapping(const std::string &op) {
  return [op](Compute k, const std::string &a, const std::string &b) {
    return k == Compute::I64 ? "(i64)((u64)" + a + " " + op + " (u64)" + b + ")"
                             : "(" + a + " " + op + " " + b + ")";
  };
}

/// Pow: float bases in float (double for fp64), integer bases through
/// double like the host; the result has the base's dtype.
RecipeFn powRecipe() {
  return [](const KernelDesc &d, const Operands &v, ScalarExpr &r, std::string &) {
    Compute k = computeOf(d.inputs[0].dtype);
    Compute math = k == Compute::F32 ? Compute::F32 : Compute::F64;
    r = {fn(math, "pow") + "(" + v.as(0, math) + ", " + v.as(1, math) + ")", math};
    return true;
  };
}

/// Where picks a value: x and y keep their (the result's) kind.
RecipeFn whereRecipe() {
  return [](const KernelDesc &d, const Operands &v, ScalarExpr &r, std::string &err) {
    if (v.size() != 3) {
      err = d.op + ": expected condition, x and y";
      return false;
    }
    Compute k = computeOf(d.outputs[0].dtype);
    r = {"(" + v.as(0, Compute::Bool) + " ? " + v.as(1, k) + " : " + v.as(2, k) + ")", k};
    return true;
  };
}

/// Clip: absent bounds are the kind's extremes; numpy.clip order (max wins
/// when min > max) via effc_clip in the prelude.
RecipeFn clipRecipe() {
  return [](const KernelDesc &d, const Operands &v, ScalarExpr &r, std::string &err) {
    Compute k = computeOf(d.inputs[0].dtype);
    if (k == Compute::Bool) {
      err = d.op + ": unsupported dtype bool";
      return false;
    }
    std::string lo = v.present(1) ? v.as(1, k) : lowestOf(k);
    std::string hi = v.present(2) ? v.as(2, k) : highestOf(k);
    r = {"effc_clip(" + v.as(0, k) + ", " + lo + ", " + hi + ")", k};
    return true;
  };
}

/// Every Eff_Elementwise op's recipe, as its ODS `cudaScalar` says
/// (effc-tblgen -gen-eff-scalar-ops; an elementwise op without one fails the
/// build).
const std::map<EffOp, RecipeFn> &recipes() {
  static const std::map<EffOp, RecipeFn> table = {
#include "dialects/eff/EffScalarOps.inc"
  };
  return table;
}

/// The recipe of op `name`, or null.
const RecipeFn *recipeOf(std::string_view name) {
  std::optional<EffOp> op = lookupEffOp(name);
  if (!op)
    return nullptr;
  auto it = recipes().find(*op);
  return it == recipes().end() ? nullptr : &it->second;
}

} // namespace

bool hasScalarOp(std::string_view op) { return recipeOf(op) != nullptr; }

std::optional<ScalarExpr> scalarExpr(const KernelDesc &d, const std::vector<std::string> &operands,
                                     std::string &error) {
  const RecipeFn *recipe = recipeOf(d.op);
  if (!recipe) {
    error = d.op + ": not an elementwise op";
    return std::nullopt;
  }
  if (operands.empty() || operands.size() != d.inputs.size() || d.outputs.size() != 1 ||
      operands[0].empty()) {
    error = d.op + ": expected inputs and one output";
    return std::nullopt;
  }
  ScalarExpr r{"", Compute::F32};
  if (!(*recipe)(d, Operands(d, operands), r, error))
    return std::nullopt;
  return r;
}

} // namespace effc::codegen
