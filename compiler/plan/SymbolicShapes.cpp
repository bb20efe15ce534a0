//===- SymbolicShapes.cpp - probe-and-fit symbolic shapes ------------------===//
#include "compiler/plan/SymbolicShapes.h"

#include "dialects/eff/EffOps.h"

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
/// inputs' symbolic dims at `point`: a clone whose argument types are
/// specialized, then every op re-inferred in order, with the results that
/// fold to constants replaced by them so that shape subgraphs resolve.
FailureOr<llvm::DenseMap<Value, SmallVector<int64_t>>>
probe(func::FuncOp func, const std::vector<SmallVector<int>> &argDims,
      const std::vector<DimBound> &dims, const Point &point) {
  IRMapping mapping;
  OwningOpRef<func::FuncOp> clone(cast<func::FuncOp>(func->clone(mapping)));
  Block &body = clone->getBody().front();
  for (auto [i, arg] : llvm::enumerate(body.getArguments())) {
    if (argDims[i].empty())
      continue;
    auto type = cast<RankedTensorType>(arg.getType());
    SmallVector<int64_t> shape(type.getShape());
    for (auto [d, dim] : llvm::enumerate(argDims[i]))
      if (dim >= 0)
        shape[d] = point[dim];
    arg.setType(RankedTensorType::get(shape, type.getElementType()));
  }
  SmallVector<Operation *> ops;
  for (Operation &op : body.without_terminator())
    ops.push_back(&op);
  OpBuilder builder(clone->getContext());
  // What each folded result became (a constant or another value).
  llvm::DenseMap<Value, Value> foldedTo;
  std::function<LogicalResult(Operation *)> refine = [&](Operation *op) -> LogicalResult {
    if (isa<eff::ConstantOp>(op))
      return success();
    // A fused shape computation (elementwise ops on small int64 tensors)
    // does not fold as a whole: its body runs here, op by op.
    if (auto fusion = dyn_cast<eff::FusionOp>(op)) {
      Block &inner = fusion.getBody().front();
      IRMapping bodyMapping;
      for (auto [arg, input] : llvm::zip(inner.getArguments(), fusion.getInputs()))
        bodyMapping.map(arg, input);
      builder.setInsertionPoint(op);
      for (Operation &bodyOp : inner.without_terminator()) {
        Operation *copy = builder.clone(bodyOp, bodyMapping);
        if (failed(refine(copy)))
          return failure();
        // Later body ops read what a result folded to.
        for (auto [original, result] : llvm::zip(bodyOp.getResults(), copy->getResults()))
          if (Value folded = foldedTo.lookup(result))
            bodyMapping.map(original, folded);
      }
      for (auto [result, yielded] :
           llvm::zip(fusion.getResults(), inner.getTerminator()->getOperands())) {
        Value value = bodyMapping.lookup(yielded);
        if (value.getType() == result.getType())
          result.replaceAllUsesWith(value);
      }
      return success();
    }
    if (auto infer = dyn_cast<InferTypeOpInterface>(op)) {
      SmallVector<Type> types;
      if (failed(infer.inferReturnTypes(op->getContext(), op->getLoc(), op->getOperands(),
                                        op->getAttrDictionary(), op->getPropertiesStorage(),
                                        op->getRegions(), types)))
        return func.emitError("shape inference failed at the probe ")
               << pointText(dims, point) << " (the dims' values must be in their bounds)";
      for (auto [result, type] : llvm::zip(op->getResults(), types))
        result.setType(type);
    }
    SmallVector<Attribute> constants(op->getNumOperands());
    for (auto [i, operand] : llvm::enumerate(op->getOperands()))
      matchPattern(operand, m_Constant(&constants[i]));
    SmallVector<OpFoldResult> folded;
    if (failed(op->fold(constants, folded)) || folded.size() != op->getNumResults())
      return success();
    builder.setInsertionPointAfter(op);
    for (auto [result, fold] : llvm::zip(op->getResults(), folded)) {
      Value replacement = dyn_cast<Value>(fold);
      if (auto attr = dyn_cast<Attribute>(fold)) {
        Operation *constant =
            op->getDialect()->materializeConstant(builder, attr, result.getType(), op->getLoc());
        if (!constant)
          continue;
        replacement = constant->getResult(0);
      }
      if (replacement && replacement != result && replacement.getType() == result.getType()) {
        result.replaceAllUsesWith(replacement);
        foldedTo[result] = replacement;
      }
    }
    return success();
  };
  for (Operation *op : ops)
    if (failed(refine(op)))
      return failure();
  llvm::DenseMap<Value, SmallVector<int64_t>> extents;
  auto record = [&](Value original) -> LogicalResult {
    auto type = dyn_cast<RankedTensorType>(original.getType());
    if (!type || type.hasStaticShape())
      return success();
    auto probed = dyn_cast<RankedTensorType>(mapping.lookup(original).getType());
    if (!probed || !probed.hasStaticShape()) {
      Operation *op = original.getDefiningOp();
      return (op ? op->emitError() : func.emitError())
             << "a dim of this " << (op ? op->getName().getStringRef() : "input")
             << " result stays unknown with every input dim known (" << pointText(dims, point)
             << "): its size depends on data, which bounded dims cannot express";
    }
    extents[original] = SmallVector<int64_t>(probed.getShape());
    return success();
  };
  for (Value arg : func.getArguments())
    if (failed(record(arg)))
      return failure();
  for (Operation &op : func.getBody().front().without_terminator())
    for (Value result : op.getResults())
      if (failed(record(result)))
        return failure();
  return extents;
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
