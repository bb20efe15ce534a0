//===- SymbolicShapes.cpp - probe-and-fit symbolic shapes ------------------===//
#include "compiler/plan/SymbolicShapes.h"

#include "dialects/eff/EffOps.h"
#include "dialects/eff/ShapeProbe.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

#include "llvm/ADT/StringExtras.h"

#include <algorithm>
#include <functional>

using namespace mlir;

namespace effc {
namespace {

constexpr size_t kMaxDims = 4;
/// effc --dim's largest value (and the manifest reader's).
constexpr int64_t kMaxBound = int64_t(1) << 40;

/// Dim values of one probe, by dim id.
using Point = std::vector<int64_t>;

std::string pointText(const std::vector<DimBound> &dims, const Point &point) {
  std::vector<std::string> parts;
  for (size_t d = 0; d < dims.size(); ++d)
    parts.push_back(dims[d].name + "=" + std::to_string(point[d]));
  return llvm::join(parts, ", ");
}

/// The values of `func`'s dynamic dims (per value, in dim order) with the
/// inputs' symbolic dims at `point` (eff::probeShapes).
FailureOr<llvm::DenseMap<Value, SmallVector<int64_t>>>
probe(func::FuncOp func, const std::vector<SmallVector<int>> &argDims,
      const std::vector<DimBound> &dims, const Point &point) {
  std::vector<SmallVector<int64_t>> argShapes(func.getNumArguments());
  for (auto [i, arg] : llvm::enumerate(func.getArguments())) {
    if (argDims[i].empty())
      continue;
    argShapes[i].assign(cast<RankedTensorType>(arg.getType()).getShape().begin(),
                        cast<RankedTensorType>(arg.getType()).getShape().end());
    for (auto [d, dim] : llvm::enumerate(argDims[i]))
      if (dim >= 0)
        argShapes[i][d] = point[dim];
  }
  return eff::probeShapes(func, argShapes, pointText(dims, point));
}

/// Two probe values of dim `d` within its bounds, avoiding 0 and 1 (which
/// broadcast) and distinct across dims where the bounds allow.
std::pair<int64_t, int64_t> probeValues(const DimBound &dim, size_t d) {
  int64_t lo = std::max<int64_t>(dim.min, 2);
  auto clamp = [&](int64_t v) { return std::min(std::max(v, lo), dim.max); };
  int64_t a = clamp(7 + 6 * int64_t(d)), b = clamp(10 + 6 * int64_t(d));
  if (a == b)
    a = a > dim.min ? a - 1 : a + 1;
  return {a, b};
}

} // namespace

FailureOr<SymbolicShapes> analyzeSymbolicShapes(func::FuncOp func) {
  SymbolicShapes result;
  auto dimsAttr = func->getAttrOfType<DictionaryAttr>("eff.dims");
  if (!dimsAttr)
    return result;
  for (NamedAttribute dim : dimsAttr) {
    auto bounds = dyn_cast<DenseI64ArrayAttr>(dim.getValue());
    if (!bounds || bounds.size() != 2 || bounds[0] < 0 || bounds[0] >= bounds[1] ||
        bounds[1] > kMaxBound)
      return func.emitError("eff.dims: '") << dim.getName() << "' needs array<i64: MIN, MAX>, "
                                           << "0 <= MIN < MAX <= 2^40";
    result.dims.push_back({dim.getName().str(), bounds[0], bounds[1]});
  }
  if (result.dims.size() > kMaxDims)
    return func.emitError("at most ")
           << kMaxDims << " dims can be bounded, got " << result.dims.size();
  // Each input dim: the id of its bounded dim, -1 where static.
  std::vector<SmallVector<int>> argDims(func.getNumArguments());
  for (auto [i, arg] : llvm::enumerate(func.getArguments())) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type || type.hasStaticShape())
      continue;
    auto names = func.getArgAttrOfType<ArrayAttr>(unsigned(i), "eff.dim_params");
    for (auto [d, extent] : llvm::enumerate(type.getShape())) {
      int id = -1;
      if (ShapedType::isDynamic(extent) && names && d < names.size())
        if (auto name = dyn_cast<StringAttr>(names[d]))
          for (auto [k, dim] : llvm::enumerate(result.dims))
            if (dim.name == name.getValue())
              id = int(k);
      if (ShapedType::isDynamic(extent) && id < 0)
        return func.emitError("input ") << i << " dim " << d << " is symbolic without bounds";
      argDims[i].push_back(id);
    }
  }

  // Fit on the {a, b}^k grid: table[mask] holds the probe with dim j at b_j
  // where bit j is set; the transform turns point values into the
  // coefficients of prod(x_j for j in mask).
  size_t k = result.dims.size();
  std::vector<std::pair<int64_t, int64_t>> probes;
  for (size_t d = 0; d < k; ++d)
    probes.push_back(probeValues(result.dims[d], d));
  std::vector<llvm::DenseMap<Value, SmallVector<int64_t>>> grid;
  for (uint32_t mask = 0; mask < (1u << k); ++mask) {
    Point point(k);
    for (size_t d = 0; d < k; ++d)
      point[d] = (mask >> d) & 1 ? probes[d].second : probes[d].first;
    auto extents = probe(func, argDims, result.dims, point);
    if (failed(extents))
      return failure();
    grid.push_back(std::move(*extents));
  }
  for (auto &[value, extents0] : grid[0]) {
    SmallVector<DimExpr> exprs;
    for (size_t dim = 0; dim < extents0.size(); ++dim) {
      std::vector<int64_t> table;
      for (auto &extents : grid)
        table.push_back(extents.lookup(value)[dim]);
      bool integral = true;
      for (size_t d = 0; d < k; ++d) {
        int64_t a = probes[d].first, span = probes[d].second - a;
        for (uint32_t mask = 0; mask < table.size(); ++mask) {
          if (!((mask >> d) & 1))
            continue;
          int64_t diff = table[mask] - table[mask ^ (1u << d)];
          integral = integral && diff % span == 0;
          table[mask] = diff / span;
          table[mask ^ (1u << d)] -= table[mask] * a;
        }
      }
      DimExpr expr;
      for (uint32_t mask = 0; mask < table.size(); ++mask) {
        std::vector<uint32_t> factors;
        for (size_t d = 0; d < k; ++d)
          if ((mask >> d) & 1)
            factors.push_back(uint32_t(d));
        expr.addTerm(table[mask], factors);
      }
      if (!integral) {
        Operation *op = value.getDefiningOp();
        return (op ? op->emitError() : func.emitError())
               << "result dim " << dim << " is not a polynomial of the bounded dims";
      }
      exprs.push_back(std::move(expr));
    }
    result.shapes[value] = std::move(exprs);
  }

  // Check the fit where it matters most: both corners of the box and a point
  // inside it.
  std::vector<Point> checks(3, Point(k));
  for (size_t d = 0; d < k; ++d) {
    checks[0][d] = result.dims[d].min;
    checks[1][d] = result.dims[d].max;
    checks[2][d] = (result.dims[d].min + result.dims[d].max + 1) / 2;
  }
  std::vector<std::string> names;
  for (const DimBound &dim : result.dims)
    names.push_back(dim.name);
  for (const Point &point : checks) {
    auto extents = probe(func, argDims, result.dims, point);
    if (failed(extents))
      return failure();
    for (auto &[value, got] : *extents) {
      const SmallVector<DimExpr> &exprs = result.shapes[value];
      for (size_t dim = 0; dim < got.size(); ++dim) {
        std::optional<int64_t> expected = exprs[dim].eval(point);
        if (expected && *expected == got[dim])
          continue;
        Operation *op = value.getDefiningOp();
        return (op ? op->emitError() : func.emitError())
               << "result dim " << dim << " is " << got[dim] << " at "
               << pointText(result.dims, point) << ", but " << exprs[dim].toString(names)
               << " elsewhere: it is no polynomial of the bounded dims (a clamped slice?)";
      }
    }
  }
  return result;
}

} // namespace effc
