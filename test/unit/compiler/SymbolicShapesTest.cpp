// SymbolicShapes: the probe-and-fit analysis that turns the `?` dims of eff
// IR with bounded dims (eff.dims) into expressions of those dims.
#include "compiler/plan/SymbolicShapes.h"
#include "passes/Registration.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace effc;
using namespace mlir;

namespace {

class SymbolicShapesTest : public ::testing::Test {
protected:
  SymbolicShapesTest() {
    DialectRegistry registry;
    eff::registerEffcDialects(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
    context.printOpOnDiagnostic(false);
  }

  /// Analyzes @main of `ir`; diagnostics go to `errors`.
  FailureOr<SymbolicShapes> analyze(StringRef ir) {
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      errors += diag.str() + "\n";
      return success();
    });
    module = parseSourceString<ModuleOp>(ir, &context);
    if (!module)
      return failure();
    return analyzeSymbolicShapes(main());
  }
  func::FuncOp main() { return module->lookupSymbol<func::FuncOp>("main"); }
  /// The expressions of the result of the op at `index` in @main's body.
  std::string shapeOf(const SymbolicShapes &shapes, int index) {
    Operation *op = &*std::next(main().getBody().front().begin(), index);
    auto it = shapes.shapes.find(op->getResult(0));
    if (it == shapes.shapes.end())
      return "static";
    std::vector<std::string> names, dims;
    for (const DimBound &d : shapes.dims)
      names.push_back(d.name);
    for (const DimExpr &e : it->second)
      dims.push_back(e.toString(names));
    std::string text;
    for (const std::string &d : dims)
      text += (text.empty() ? "" : "x") + d;
    return text;
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  std::string errors;
};

TEST_F(SymbolicShapesTest, FitsPastPlusSeqAndBatchTimesSeq) {
  auto shapes = analyze(R"mlir(
    func.func @main(%kv: tensor<2x?x4xf32> {eff.dim_params = ["", "past"], eff.name = "kv"},
                    %x: tensor<?x?x4xf32> {eff.dim_params = ["batch", "seq"], eff.name = "x"})
        -> (tensor<2x?x4xf32>, tensor<?x4xf32>, tensor<1xi64>) attributes {eff.dims = {batch = array<i64: 1, 8>, past = array<i64: 0, 255>,
                                seq = array<i64: 1, 32>}} {
      %new = eff.constant {value = dense<1.0> : tensor<2x3x4xf32>} : tensor<2x3x4xf32>
      %cat = eff.concat %kv, %new {axis = 1 : i64} : (tensor<2x?x4xf32>, tensor<2x3x4xf32>) -> tensor<2x?x4xf32>
      %shape = eff.constant {value = dense<[-1, 4]> : tensor<2xi64>} : tensor<2xi64>
      %flat = eff.reshape %x, %shape : (tensor<?x?x4xf32>, tensor<2xi64>) -> tensor<?x4xf32>
      %rows = eff.shape %flat {end = 1 : i64, start = 0 : i64} : (tensor<?x4xf32>) -> tensor<1xi64>
      return %cat, %flat, %rows : tensor<2x?x4xf32>, tensor<?x4xf32>, tensor<1xi64>
    })mlir");
  ASSERT_TRUE(succeeded(shapes)) << errors;
  ASSERT_EQ(shapes->dims.size(), 3u);
  EXPECT_EQ(shapes->dims[1].name, "past");
  EXPECT_EQ(shapes->dims[1].max, 255);
  EXPECT_EQ(shapeOf(*shapes, 1), "2xpast+3x4");
  EXPECT_EQ(shapeOf(*shapes, 3), "batch*seqx4");
  EXPECT_EQ(shapeOf(*shapes, 4), "static");
}

TEST_F(SymbolicShapesTest, RunsAFusedShapeComputation) {
  // Legacy exporters' Expand(x, Where(Equal(shape, -1), 1, shape)), fused:
  // the probe runs the fusion's body so the shape folds.
  auto shapes = analyze(R"mlir(
    func.func @main(%x: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "x"})
        -> tensor<?x?xi64> attributes {eff.dims = {seq = array<i64: 1, 32>}} {
      %shape = eff.shape %x : (tensor<1x?xi64>) -> tensor<2xi64>
      %minus = eff.constant {value = dense<-1> : tensor<2xi64>} : tensor<2xi64>
      %ones = eff.constant {value = dense<1> : tensor<2xi64>} : tensor<2xi64>
      %target = eff.fusion elementwise(%shape, %minus, %ones) : (tensor<2xi64>, tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64> {
      ^bb0(%s: tensor<2xi64>, %m: tensor<2xi64>, %o: tensor<2xi64>):
        %eq = eff.equal %s, %m : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi1>
        %w = eff.where %eq, %o, %s : (tensor<2xi1>, tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
        eff.yield %w : tensor<2xi64>
      }
      %r = eff.expand %x, %target : (tensor<1x?xi64>, tensor<2xi64>) -> tensor<?x?xi64>
      return %r : tensor<?x?xi64>
    })mlir");
  ASSERT_TRUE(succeeded(shapes)) << errors;
  EXPECT_EQ(shapeOf(*shapes, 4), "1xseq");
}

TEST_F(SymbolicShapesTest, NoDimsNoShapes) {
  auto shapes = analyze(R"mlir(
    func.func @main(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
      return %x : tensor<2x4xf32>
    })mlir");
  ASSERT_TRUE(succeeded(shapes)) << errors;
  EXPECT_TRUE(shapes->dims.empty());
  EXPECT_TRUE(shapes->shapes.empty());
}

TEST_F(SymbolicShapesTest, RefusesAClampedSlice) {
  // x[:5] has min(past, 5) rows: no polynomial of past over 0..255.
  auto shapes = analyze(R"mlir(
    func.func @main(%x: tensor<?x4xf32> {eff.dim_params = ["past"], eff.name = "x"})
        -> tensor<?x4xf32> attributes {eff.dims = {past = array<i64: 0, 255>}} {
      %start = eff.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
      %end = eff.constant {value = dense<5> : tensor<1xi64>} : tensor<1xi64>
      %s = eff.slice %x, %start, %end : (tensor<?x4xf32>, tensor<1xi64>, tensor<1xi64>) -> tensor<?x4xf32>
      return %s : tensor<?x4xf32>
    })mlir");
  EXPECT_TRUE(failed(shapes));
  EXPECT_NE(errors.find("no polynomial of the bounded dims"), std::string::npos) << errors;
}

TEST_F(SymbolicShapesTest, RefusesADataDependentSize) {
  // range(0, x[0]): its length is a value the shapes do not decide.
  auto shapes = analyze(R"mlir(
    func.func @main(%x: tensor<?xi64> {eff.dim_params = ["past"], eff.name = "x"},
                    %n: tensor<i64> {eff.name = "n"}) -> (tensor<?xi64>, tensor<?xi64>)
        attributes {eff.dims = {past = array<i64: 0, 255>}} {
      %zero = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
      %one = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
      %r = eff.range %zero, %n, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
      return %x, %r : tensor<?xi64>, tensor<?xi64>
    })mlir");
  EXPECT_TRUE(failed(shapes));
  EXPECT_NE(errors.find("depends on data"), std::string::npos) << errors;
}

TEST_F(SymbolicShapesTest, RefusesBadBounds) {
  for (StringRef bounds : {"array<i64: 4, 4>", "array<i64: -1, 4>", "array<i64: 0, 1099511627777>",
                           "array<i64: 1>", "5 : i64"}) {
    errors.clear();
    std::string ir = R"mlir(
      func.func @main(%x: tensor<?xf32> {eff.dim_params = ["n"], eff.name = "x"}) -> tensor<?xf32>
          attributes {eff.dims = {n = BOUNDS}} {
        return %x : tensor<?xf32>
      })mlir";
    ir.replace(ir.find("BOUNDS"), 6, bounds.str());
    EXPECT_TRUE(failed(analyze(ir))) << bounds.str();
    EXPECT_NE(errors.find("0 <= MIN < MAX <= 2^40"), std::string::npos) << errors;
  }
}

TEST_F(SymbolicShapesTest, RefusesAnUnboundedInputDim) {
  auto shapes = analyze(R"mlir(
    func.func @main(%x: tensor<?x?xf32> {eff.dim_params = ["past", "seq"], eff.name = "x"})
        -> tensor<?x?xf32> attributes {eff.dims = {past = array<i64: 0, 255>}} {
      return %x : tensor<?x?xf32>
    })mlir");
  EXPECT_TRUE(failed(shapes));
  EXPECT_NE(errors.find("input 0 dim 1 is symbolic without bounds"), std::string::npos) << errors;
}

} // namespace
