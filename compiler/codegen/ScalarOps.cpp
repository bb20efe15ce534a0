//===- ScalarOps.cpp - per-element expressions of the elementwise ops -----===//
#include "compiler/codegen/ScalarOps.h"

#include "compiler/codegen/CudaWriter.h"

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

const std::map<std::string, RecipeFn, std::less<>> &recipes() {
  static const std::map<std::string, RecipeFn, std::less<>> table = [] {
    std::map<std::string, RecipeFn, std::less<>> t;
    for (const char *name : {"cos", "sin", "exp", "log", "sqrt", "tanh", "erf"}) {
      std::string n = name;
      t["eff." + n] = floatUnary([n](Compute k, const std::string &x) { return fn(k, n) + "(" + x + ")"; });
    }
    t["eff.reciprocal"] =
        floatUnary([](Compute k, const std::string &x) { return "(" + one(k) + " / " + x + ")"; });
    t["eff.sigmoid"] = floatUnary([](Compute k, const std::string &x) { return sigmoidOf(k, x); });
    t["eff.gelu"] = [](const KernelDesc &d, const Operands &v, ScalarExpr &r, std::string &err) {
      Compute k = computeOf(d.inputs[0].dtype);
      if (!needFloat(d, k, err))
        return false;
      std::string approx = d.stringAttr("approximate", "none");
      if (approx != "tanh" && approx != "none") {
        err = d.op + ": approximate must be 'none' or 'tanh', got '" + approx + "'";
        return false;
      }
      r = gelu(k, v.as(0, k), approx == "tanh");
      return true;
    };
    t["eff.neg"] = numericUnary([](Compute k, const std::string &x) {
      return k == Compute::I64 ? "(i64)(0ull - (u64)" + x + ")" : "(-" + x + ")";
    });
    t["eff.abs"] = numericUnary([](Compute k, const std::string &x) {
      return k == Compute::I64 ? "(" + x + " < 0 ? (i64)(0ull - (u64)" + x + ") : " + x + ")"
                               : fn(k, "fabs") + "(" + x + ")";
    });
    t["eff.relu"] = numericUnary([](Compute k, const std::string &x) {
      return "(" + x + " > " + zero(k) + " ? " + x + " : " + zero(k) + ")";
    });
    t["eff.not"] = [](const KernelDesc &, const Operands &v, ScalarExpr &r, std::string &) {
      r = {"(!" + v.as(0, Compute::Bool) + ")", Compute::Bool};
      return true;
    };
    t["eff.is_nan"] = [](const KernelDesc &d, const Operands &v, ScalarExpr &r, std::string &err) {
      Compute k = computeOf(d.inputs[0].dtype);
      if (!needFloat(d, k, err))
        return false;
      r = {"(" + v.as(0, k) + " != " + v.as(0, k) + ")", Compute::Bool};
      return true;
    };
    // Cast and identity pass the value on; the store converts with the
    // host's rules (cast) or is exact (identity).
    for (const char *name : {"eff.cast", "eff.identity"})
      t[name] = [](const KernelDesc &d, const Operands &v, ScalarExpr &r, std::string &) {
        Compute k = computeOf(d.inputs[0].dtype);
        r = {v.as(0, k), k};
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
    t["eff.pow"] = [](const KernelDesc &d, const Operands &v, ScalarExpr &r, std::string &) {
      Compute k = computeOf(d.inputs[0].dtype);
      Compute math = k == Compute::F32 ? Compute::F32 : Compute::F64;
      r = {fn(math, "pow") + "(" + v.as(0, math) + ", " + v.as(1, math) + ")", math};
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
    // Where picks a value: x and y keep their (the result's) kind.
    t["eff.where"] = [](const KernelDesc &d, const Operands &v, ScalarExpr &r, std::string &err) {
      if (v.size() != 3) {
        err = d.op + ": expected condition, x and y";
        return false;
      }
      Compute k = computeOf(d.outputs[0].dtype);
      r = {"(" + v.as(0, Compute::Bool) + " ? " + v.as(1, k) + " : " + v.as(2, k) + ")", k};
      return true;
    };
    // Clip: absent bounds are the kind's extremes; numpy.clip order (max
    // wins when min > max) via effc_clip in the prelude.
    t["eff.clip"] = [](const KernelDesc &d, const Operands &v, ScalarExpr &r, std::string &err) {
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
    return t;
  }();
  return table;
}

} // namespace

bool hasScalarOp(std::string_view op) { return recipes().count(op) != 0; }

std::optional<ScalarExpr> scalarExpr(const KernelDesc &d, const std::vector<std::string> &operands,
                                     std::string &error) {
  auto it = recipes().find(d.op);
  if (it == recipes().end()) {
    error = d.op + ": not an elementwise op";
    return std::nullopt;
  }
  if (operands.empty() || operands.size() != d.inputs.size() || d.outputs.size() != 1 ||
      operands[0].empty()) {
    error = d.op + ": expected inputs and one output";
    return std::nullopt;
  }
  ScalarExpr r{"", Compute::F32};
  if (!it->second(d, Operands(d, operands), r, error))
    return std::nullopt;
  return r;
}

} // namespace effc::codegen
