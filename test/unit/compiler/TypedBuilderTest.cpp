//===- TypedBuilderTest.cpp - typed eff builders with incomplete attributes ===//
// A typed builder given a null attribute leaves it out of the op's
// dictionary, and ODS builders infer result types before Operation::create
// fills in defaults. eff-raise-attention built an eff.reshape that way and
// inference read the null allowzero (SIGSEGV). Every eff op's inference now
// sees complete attributes: defaults filled in, a missing required one is a
// diagnosed failure.
#include "dialects/eff/EffDialect.h"
#include "dialects/eff/EffOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::eff;

namespace {

struct TypedBuilderTest : testing::Test {
  MLIRContext ctx;
  OpBuilder b{&ctx};
  Location loc = UnknownLoc::get(&ctx);
  OwningOpRef<ModuleOp> module;
  Block *body = nullptr;

  void SetUp() override {
    ctx.loadDialect<EffDialect, func::FuncDialect>();
    module = ModuleOp::create(loc);
    body = module->getBody();
    b.setInsertionPointToEnd(body);
  }

  Value constantI64(ArrayRef<int64_t> values) {
    auto type = RankedTensorType::get({int64_t(values.size())}, b.getI64Type());
    return b.create<ConstantOp>(loc, type, DenseIntElementsAttr::get(type, values));
  }
  Value zerosF32(ArrayRef<int64_t> shape) {
    auto type = RankedTensorType::get(shape, b.getF32Type());
    return b.create<ConstantOp>(loc, type, DenseElementsAttr::get(type, 0.0f));
  }
};

TEST_F(TypedBuilderTest, NullDefaultValuedAttributeGetsTheDefault) {
  Value data = zerosF32({2, 4, 4, 8});
  auto reshape = b.create<ReshapeOp>(loc, data, constantI64({8, 4, 8}), IntegerAttr());
  EXPECT_EQ(reshape.getAllowzero(), 0u);
  EXPECT_EQ(cast<RankedTensorType>(reshape.getType()).getShape(), ArrayRef<int64_t>({8, 4, 8}));
  EXPECT_TRUE(succeeded(mlir::verify(reshape)));
}

TEST_F(TypedBuilderTest, MissingRequiredAttributeFailsInferenceWithAMessage) {
  // eff.concat's axis is required: inference must say so, not read it.
  Value a = zerosF32({2, 3}), c = zerosF32({2, 3});
  std::string message;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    message = d.str();
    return success();
  });
  SmallVector<Type> types;
  LogicalResult inferred =
      ConcatOp::inferReturnTypes(&ctx, loc, ValueRange{a, c}, DictionaryAttr::get(&ctx),
                                 OpaqueProperties(nullptr), RegionRange(), types);
  EXPECT_TRUE(failed(inferred));
  EXPECT_NE(message.find("requires attribute 'axis'"), std::string::npos) << message;
}

TEST_F(TypedBuilderTest, ExplicitAttributeIsKept) {
  // allowzero = 1: the 0 is a literal empty dim, not a copy of dim 1.
  Value data = zerosF32({2, 0});
  auto reshape = b.create<ReshapeOp>(loc, data, constantI64({3, 0}), b.getI64IntegerAttr(1));
  EXPECT_EQ(reshape.getAllowzero(), 1u);
  EXPECT_EQ(cast<RankedTensorType>(reshape.getType()).getShape(), ArrayRef<int64_t>({3, 0}));
}

} // namespace
