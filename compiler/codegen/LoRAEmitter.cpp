//===- LoRAEmitter.cpp - eff.lora_expand / eff.lora_linear kernels --------===//
//
// The LoRA expand term of one output element,
//   sum_r t[row][t_offset + g * R + r] * b[g][r][col],   g = adapter of row,
// as CUDA statements: R multiply-adds in the accumulator kind over one row of
// t (the same for every column: cached) and one column of b (neighbouring
// threads read neighbouring columns). The term is shared by the gemm_epilogue
// (where it runs on the GEMM accumulator before the store), the standalone
// lora_expand kernel, and the simple lora_linear kernel, which only runs when
// eff-decompose-lora is skipped (one thread per output element, x w and x a
// recomputed per element: correct, not fast).
//
#include "compiler/codegen/LoRATerm.h"

#include "compiler/codegen/Families.h"
#include "compiler/codegen/core/DTypeInfo.h"
#include "compiler/codegen/core/EmitterUtil.h"

#include <algorithm>

namespace effc::codegen {
namespace {

int64_t product(const std::vector<int64_t> &dims) {
  int64_t p = 1;
  for (int64_t d : dims)
    p *= d;
  return p;
}

/// b ([R, N], or [n, R, N] with lora_index at `indexInput`) and the row
/// grouping of `rows` rows with `n` output columns.
bool describeLoRA(const KernelDesc &d, size_t bInput, size_t indexInput, int64_t rows, int64_t n,
                  LoRAGeometry &g, std::string &error) {
  const TensorDesc &b = d.inputs.at(bInput);
  g.stacked = d.hasInput(indexInput);
  size_t rank = g.stacked ? 3 : 2;
  if (b.shape.size() != rank) {
    error = d.op + ": b must be " +
            (g.stacked ? "[n, R, N] with lora_index" : "[R, N] without lora_index") + ", got " +
            shapeText(b.shape);
    return false;
  }
  g.adapters = g.stacked ? b.shape[0] : 1;
  g.R = b.shape[rank - 2];
  g.N = b.shape[rank - 1];
  if (g.N != n) {
    error = d.op + ": b has N = " + std::to_string(g.N) +
            " but the output has N = " + std::to_string(n);
    return false;
  }
  g.rows = rows;
  g.scale = d.floatAttr("scale", d.is(EffOp::LoRALinearOp) ? op_defaults::LoRALinearOp_scale
                                                           : op_defaults::LoRAExpandOp_scale);
  g.bType = b.dtype;
  if (!g.stacked)
    return true;
  const TensorDesc &index = d.inputs[indexInput];
  if (index.rank() != 1 || (index.dtype != DType::INT64 && index.dtype != DType::INT32)) {
    error =
        d.op + ": lora_index must be a 1-D int64 or int32 tensor, got " + shapeText(index.shape);
    return false;
  }
  int64_t batch = index.shape[0];
  if (batch == 0 ? rows != 0 : rows % batch != 0) {
    error = d.op + ": " + std::to_string(rows) + " rows do not split into lora_index's " +
            std::to_string(batch) + " groups";
    return false;
  }
  g.rowsPerGroup = batch == 0 ? 1 : std::max<int64_t>(1, rows / batch);
  g.indexType = index.dtype;
  return true;
}

/// Appends `code`'s lines at w's indentation.
void appendLines(CudaWriter &w, const std::string &code) {
  for (size_t pos = 0; pos < code.size();) {
    size_t end = std::min(code.find('\n', pos), code.size());
    if (end > pos)
      w.line(code.substr(pos, end - pos));
    pos = end + 1;
  }
}

} // namespace

bool describeLoRAExpand(const KernelDesc &d, LoRAGeometry &g, std::string &error) {
  if (d.inputs.size() < 3 || d.outputs.size() != 1) {
    error = d.op + ": expected acc, t, b, [lora_index] and one output";
    return false;
  }
  const TensorDesc &acc = d.inputs[0], &t = d.inputs[1];
  std::vector<int64_t> lead(acc.shape.begin(), acc.shape.end() - (acc.shape.empty() ? 0 : 1));
  if (acc.shape.empty() || t.rank() != acc.rank() ||
      !std::equal(lead.begin(), lead.end(), t.shape.begin())) {
    error = d.op + ": t " + shapeText(t.shape) + " must have acc's rows (acc is " +
            shapeText(acc.shape) + ")";
    return false;
  }
  if (!describeLoRA(d, 2, 3, product(lead), acc.shape.back(), g, error))
    return false;
  g.tType = t.dtype;
  g.tColumns = t.shape.back();
  g.tOffset = d.intAttr("t_offset", op_defaults::LoRAExpandOp_t_offset);
  if (g.tOffset < 0 || g.tOffset + g.adapters * g.R > g.tColumns) {
    error = d.op + ": t has " + std::to_string(g.tColumns) + " columns but the adapters read [" +
            std::to_string(g.tOffset) + ", " + std::to_string(g.tOffset + g.adapters * g.R) + ")";
    return false;
  }
  return true;
}

std::string emitLoRATerm(const LoRAGeometry &g, const LoRAOperands &in, const std::string &row,
                         const std::string &col, const std::string &sum, Compute kind) {
  // Names carry `sum` so that two terms in one scope cannot clash.
  std::string lr = sum + "_row", lg = sum + "_g";
  CudaWriter w;
  w.line(computeType(kind), " ", sum, " = 0;");
  w.open("{  // LoRA expand: R = ", g.R,
         g.stacked ? ", n = " + std::to_string(g.adapters) : std::string());
  w.line("const long long ", lr, " = ", row, ";");
  std::string adapter = "0";
  if (g.stacked) {
    // Indices outside [0, n) mean "no adapter" and are never dereferenced.
    w.line("const long long ", lg, " = (long long)", in.index, "[", lr,
           g.rowsPerGroup == 1 ? "" : " / " + std::to_string(g.rowsPerGroup), "];");
    w.open("if (", lg, " >= 0 && ", lg, " < ", g.adapters, ") {");
    adapter = lg;
  }
  w.line("const ", storageType(g.tType), " *", sum, "_t = ", in.t, " + ", lr, " * ", g.tColumns,
         g.tOffset ? " + " + std::to_string(g.tOffset) : std::string(),
         g.stacked ? " + " + adapter + " * " + std::to_string(g.R) : std::string(), ";");
  w.line("const ", storageType(g.bType), " *", sum, "_b = ", in.b,
         g.stacked ? " + " + adapter + " * " + std::to_string(g.R * g.N) : std::string(), " + (",
         col, ");");
  // Full unrolling of a long rank loop in every thread's epilogue makes
  // ptxas slow (seconds per GEMM at R = 64) for no measurable gain.
  w.line(g.R > 16 ? "#pragma unroll 8" : "#pragma unroll");
  std::string r = sum + "_r";
  w.line(
      "for (int ", r, " = 0; ", r, " < ", g.R, "; ++", r, ") ", sum,
      " += ", convert(fromStorage(g.tType, sum + "_t[" + r + "]"), computeOf(g.tType), kind), " * ",
      convert(fromStorage(g.bType, sum + "_b[(long long)" + r + " * " + std::to_string(g.N) + "]"),
              computeOf(g.bType), kind),
      ";");
  if (g.stacked)
    w.close();
  w.close();
  return w.str();
}

std::string addScaledLoRATerm(const LoRAGeometry &g, const std::string &value,
                              const std::string &sum, Compute kind) {
  std::string scale = kind == Compute::F64 ? doubleLit(g.scale) : floatLit(float(g.scale));
  return "(" + value + " + " + scale + " * " + sum + ")";
}

namespace {

bool emitLoRAExpandKernel(const KernelDesc &d, const KernelChoice &c, std::string &out,
                          std::string &error) {
  LoRAGeometry g;
  if (!describeLoRAExpand(d, g, error))
    return false;
  Compute kind = computeOf(d.outputs[0].dtype);
  std::string ix = indexType(d);
  CudaWriter w;
  openKernel(w, d, c.threads());
  w.line("// y[", g.rows, "][", g.N, "] = acc + ", g.scale, " * t[:, ", g.tOffset, " + g * ", g.R,
         " + r] b[g]");
  openGridStride(w, "i", ix, c.param("items"), c.threads());
  w.line("const ", ix, " row = i / ", g.N, ", col = i % ", g.N, ";");
  LoRAOperands in{"x1", "x2", d.hasInput(3) ? "x3" : ""};
  appendLines(w, emitLoRATerm(g, in, "row", "col", "ls", kind));
  std::string acc = loadAs(d.inputs[0].dtype, "x0", "i", kind);
  w.line("y0[i] = ", storeValue(d.outputs[0].dtype, addScaledLoRATerm(g, acc, "ls", kind), kind),
         ";");
  w.close().close();
  out = w.str();
  return true;
}

bool emitLoRALinearKernel(const KernelDesc &d, const KernelChoice &c, std::string &out,
                          std::string &error) {
  if (d.inputs.size() < 4 || d.outputs.size() != 1) {
    error = d.op + ": expected x, w, a, b, [lora_index] and one output";
    return false;
  }
  const TensorDesc &x = d.inputs[0], &wt = d.inputs[1], &a = d.inputs[2];
  if (x.shape.empty() || wt.rank() != 2 || wt.shape[0] != x.shape.back()) {
    error = d.op + ": x " + shapeText(x.shape) + " and w " + shapeText(wt.shape) +
            " are not [..., K] and [K, N]";
    return false;
  }
  int64_t K = x.shape.back(), N = wt.shape[1];
  int64_t rows = product(std::vector<int64_t>(x.shape.begin(), x.shape.end() - 1));
  LoRAGeometry g;
  if (!describeLoRA(d, 3, 4, rows, N, g, error))
    return false;
  std::vector<int64_t> aShape =
      g.stacked ? std::vector<int64_t>{g.adapters, K, g.R} : std::vector<int64_t>{K, g.R};
  if (a.shape != aShape) {
    error = d.op + ": a must be " + shapeText(aShape) + ", got " + shapeText(a.shape);
    return false;
  }
  Compute kind = computeOf(d.outputs[0].dtype);
  const char *ct = computeType(kind);
  std::string ix = indexType(d);
  CudaWriter w;
  openKernel(w, d, c.threads());
  w.line("// y[", rows, "][", N, "] = x w + ", g.scale, " * (x a_g) b_g, K = ", K, ", R = ", g.R,
         " (reference kernel: eff-decompose-lora was skipped)");
  openGridStride(w, "i", ix, c.param("items"), c.threads());
  w.line("const long long row = i / ", N, ", col = i % ", N, ";");
  w.line("const ", storageType(x.dtype), " *xr = x0 + row * ", K, ";");
  w.line(ct, " v = 0;");
  w.line("for (int k = 0; k < ", K, "; ++k) v += ", loadAs(x.dtype, "xr", "k", kind), " * ",
         loadAs(wt.dtype, "x1", "(long long)k * " + std::to_string(N) + " + col", kind), ";");
  std::string adapter = "0";
  if (g.stacked) {
    w.line("const long long g = (long long)x4[row",
           g.rowsPerGroup == 1 ? "" : " / " + std::to_string(g.rowsPerGroup), "];");
    w.open("if (g >= 0 && g < ", g.adapters, ") {");
    adapter = "g";
  } else {
    w.open("{");
  }
  w.line(ct, " s = 0;");
  w.open("for (int r = 0; r < ", g.R, "; ++r) {");
  w.line(ct, " tr = 0;");
  w.line("for (int k = 0; k < ", K, "; ++k) tr += ", loadAs(x.dtype, "xr", "k", kind), " * ",
         loadAs(a.dtype, "x2",
                adapter + " * " + std::to_string(K * g.R) + " + (long long)k * " +
                    std::to_string(g.R) + " + r",
                kind),
         ";");
  w.line("s += tr * ",
         loadAs(g.bType, "x3",
                adapter + " * " + std::to_string(g.R * N) + " + (long long)r * " +
                    std::to_string(N) + " + col",
                kind),
         ";");
  w.close();
  w.line("v = ", addScaledLoRATerm(g, "v", "s", kind), ";");
  w.close();
  w.line("y0[i] = ", storeValue(d.outputs[0].dtype, "v", kind), ";");
  w.close().close();
  out = w.str();
  return true;
}

} // namespace

bool chooseLoRA(const KernelDesc &d, KernelChoice &c, std::string &error) {
  if (d.outputs.size() != 1) {
    error = d.op + ": expected one output";
    return false;
  }
  // A thread per output element (reference kernels: the fast path is the
  // GEMM epilogue).
  c = gridStrideChoice(c.family, d.outputs[0].numElements());
  return true;
}

bool instantiateLoRA(const KernelDesc &d, const KernelChoice &c, std::string &out,
                     std::string &error) {
  if (d.is(EffOp::LoRAExpandOp))
    return emitLoRAExpandKernel(d, c, out, error);
  return emitLoRALinearKernel(d, c, out, error);
}

} // namespace effc::codegen
