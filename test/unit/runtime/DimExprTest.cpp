// DimExpr: the shape expressions of artifacts with symbolic dims
// (`--dim past=0..255`): canonical form, evaluation, range over the bounds,
// printing and the manifest form with its validation; then a model with a
// symbolic dim run by Session on the host backend.
#include "DimExpr.h"
#include "TestUtil.h"
#include "effc/Session.h"
#include "runtime/proto/artifact.pb.h"

#include <gtest/gtest.h>

#include <limits>

using namespace effc;

namespace {

// past + 3 over dims {0: past, 1: batch}.
DimExpr pastPlus3() {
  DimExpr e = DimExpr::dim(0);
  e.addTerm(3, {});
  return e;
}

TEST(DimExpr, CanonicalFormCombinesAndDropsZeroTerms) {
  DimExpr a = pastPlus3();
  DimExpr b;
  b.addTerm(3, {});
  b.addTerm(2, {0});
  b.addTerm(-1, {0});
  EXPECT_EQ(a, b);
  b.addTerm(-1, {0});
  EXPECT_TRUE(b.isConstant());
  EXPECT_EQ(b.constantTerm(), 3);
  DimExpr product;
  product.addTerm(2, {1, 0});
  DimExpr swapped;
  swapped.addTerm(2, {0, 1});
  EXPECT_EQ(product, swapped);
  EXPECT_EQ(product.numDimsUsed(), 2u);
}

TEST(DimExpr, EvaluatesAndPrints) {
  DimExpr e = pastPlus3();
  e.addTerm(2, {0, 1}); // 2*past*batch + past + 3
  EXPECT_EQ(e.eval({5, 2}), 5 * 2 * 2 + 5 + 3);
  EXPECT_EQ(e.toString({"past", "batch"}), "past+2*past*batch+3");
  EXPECT_EQ(DimExpr::constant(-4).toString(), "-4");
  EXPECT_EQ(DimExpr().toString(), "0");
  EXPECT_EQ(DimExpr::dim(1).toString(), "d1");
  EXPECT_FALSE(e.eval({5})) << "a dim without a value";
}

TEST(DimExpr, OverflowIsNoValue) {
  DimExpr big;
  big.addTerm(std::numeric_limits<int64_t>::max() / 2, {0});
  EXPECT_FALSE(big.eval({3}));
  big.addTerm(std::numeric_limits<int64_t>::max() / 2, {});
  EXPECT_TRUE(big.eval({1}));
  EXPECT_FALSE(big.eval({2}));
}

TEST(DimExpr, RangeIsAtTheCorners) {
  std::vector<DimBound> bounds = {{"past", 0, 255}, {"batch", 1, 8}};
  auto r = pastPlus3().range(bounds);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 3);
  EXPECT_EQ(r->second, 258);
  DimExpr diff = DimExpr::dim(1);
  diff.addTerm(-1, {0}); // batch - past: negative in a corner
  r = diff.range(bounds);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 1 - 255);
  EXPECT_EQ(r->second, 8);
  EXPECT_EQ(DimExpr::constant(7).range({}), std::make_pair(int64_t(7), int64_t(7)));
  EXPECT_FALSE(DimExpr::dim(2).range(bounds)) << "a dim the bounds do not have";
}

TEST(DimExpr, ProtoRoundTripAndValidation) {
  DimExpr e = pastPlus3();
  e.addTerm(-2, {1, 1});
  artifact::DimExpr proto;
  e.toProto(proto);
  auto back = DimExpr::fromProto(proto, 2);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, e);

  auto unknownDim = DimExpr::fromProto(proto, 1);
  ASSERT_FALSE(unknownDim.ok());
  EXPECT_NE(unknownDim.status().message().find("names dim 1, but the model has 1 dims"),
            std::string::npos);
  artifact::DimExpr zero;
  zero.add_terms()->set_coeff(0);
  EXPECT_FALSE(DimExpr::fromProto(zero, 2).ok());
  artifact::DimExpr deep;
  artifact::DimTerm *term = deep.add_terms();
  term->set_coeff(1);
  for (int i = 0; i < 9; ++i)
    term->add_dims(0);
  EXPECT_FALSE(DimExpr::fromProto(deep, 2).ok());
}

} // namespace

// A model with a symbolic dim end to end on the host backend: x [2, n] with
// n in 1..4, softmax over n. Each run binds n from x, the output is [2, n],
// and a value outside the bounds names the input, dim, value and bounds.
namespace {

std::shared_ptr<const Model> softmaxOverN() {
  using namespace effc::test;
  ManifestBuilder mb;
  int x = mb.buffer("x", DType::FLOAT32, {2, 4});
  int y = mb.buffer("y", DType::FLOAT32, {2, 4});
  mb.kernel("eff.softmax", {x}, {y}, {{"axis", attrI(-1)}});
  mb.input("x", x);
  mb.output("y", y);
  artifact::Dim *n = mb.m.add_dims();
  n->set_name("n");
  n->set_min(1);
  n->set_max(4);
  for (int id : {x, y}) {
    DimExpr::constant(2).toProto(*mb.m.mutable_buffers(id)->add_shape_exprs());
    DimExpr::dim(0).toProto(*mb.m.mutable_buffers(id)->add_shape_exprs());
  }
  return loadBytes(mb.bytes());
}

TEST(SymbolicDims, SessionBindsDimsPerRun) {
  auto model = softmaxOverN();
  ASSERT_TRUE(model);
  ASSERT_EQ(model->dims().size(), 1u);
  EXPECT_EQ(model->inputs()[0].shape, (std::vector<int64_t>{2, -1}));
  EXPECT_EQ(model->outputs()[0].dimNames, (std::vector<std::string>{"", "n"}));
  auto session = Session::create(model, "host");
  ASSERT_TRUE(session.ok()) << session.status().message();
  for (int64_t n : {3, 1, 4}) {
    HostTensor x(DType::FLOAT32, {2, n});
    for (int64_t i = 0; i < 2 * n; ++i)
      x.data<float>()[i] = float(i % 3);
    auto out = (*session)->run({{"x", x.view()}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    ASSERT_EQ((*out)[0].shape(), (std::vector<int64_t>{2, n}));
    for (int r = 0; r < 2; ++r) {
      float sum = 0;
      for (int64_t j = 0; j < n; ++j)
        sum += (*out)[0].data<float>()[r * n + j];
      EXPECT_NEAR(sum, 1.0f, 1e-6) << "n=" << n;
    }
  }
  HostTensor tooLong(DType::FLOAT32, {2, 5});
  auto out = (*session)->run({{"x", tooLong.view()}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find(
                "input 'x' dim 1 'n' = 5 is outside 1..4 (compiled with --dim n=1..4)"),
            std::string::npos)
      << out.status().message();
  HostTensor wrongStatic(DType::FLOAT32, {3, 2});
  out = (*session)->run({{"x", wrongStatic.view()}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("shape expected [2, 2], got [3, 2]"), std::string::npos)
      << out.status().message();
}

// The cuda backend runs symbolic dims only through CUDA kernels with runtime
// extents: a kernel without one (a host-only artifact) is refused by name
// before any device is touched.
TEST(SymbolicDims, CudaNeedsACudaKernelPerKernel) {
  auto model = softmaxOverN();
  ASSERT_TRUE(model);
  auto session = Session::create(model, "cuda");
  ASSERT_FALSE(session.ok());
  EXPECT_NE(session.status().message().find("no CUDA kernel generated for eff.softmax"),
            std::string::npos)
      << session.status().message();
}

} // namespace
