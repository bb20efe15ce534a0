// eff.fusion kernels on the host backend: the body ops run in order over
// session-owned scratch values.
#include "TestUtil.h"

using namespace effc;
using namespace effc::test;

namespace {

artifact::BodyOp *bodyOp(artifact::Kernel *k, const std::string &op, std::vector<int> operands,
                         DType dt, std::vector<int64_t> shape) {
  artifact::BodyOp *b = k->add_body();
  b->set_op(op);
  for (int v : operands)
    b->add_operands(v);
  b->add_result_dtypes(artifact::DType(int(dt)));
  auto *s = b->add_result_shapes(); // one Ints per result
  for (auto d : shape)
    s->add_values(d);
  return b;
}

// relu(x @ W + b) as one fused kernel.
ManifestBuilder fusedModel() {
  ManifestBuilder mb;
  int x = mb.buffer("x", DType::FLOAT32, {2, 3});
  int w = mb.weight("W", {3, 2}, {1, 0, 0, 1, 1, 1});
  int b = mb.weight("b", {2}, {-5, 0.5f});
  int y = mb.buffer("y", DType::FLOAT32, {2, 2});
  artifact::Kernel *k = mb.kernel("eff.fusion", {x, w, b}, {y});
  bodyOp(k, "eff.matmul", {0, 1}, DType::FLOAT32, {2, 2});
  bodyOp(k, "eff.add", {3, 2}, DType::FLOAT32, {2, 2});
  bodyOp(k, "eff.relu", {4}, DType::FLOAT32, {2, 2});
  k->add_body_outputs(5);
  mb.input("x", x);
  mb.output("y", y);
  return mb;
}

// transpose(relu(x)) over x [n, 2], n in 1..3 (format version 2): relu's
// result [n, 2] has another shape than the output [2, n], so its body op
// carries result_shape_exprs and the host shapes it per run.
ManifestBuilder transposedModel() {
  ManifestBuilder mb;
  mb.m.set_format_version(2);
  artifact::Dim *dim = mb.m.add_dims();
  dim->set_name("n");
  dim->set_min(1);
  dim->set_max(3);
  auto n = [](artifact::DimExpr *e) {
    artifact::DimTerm *t = e->add_terms();
    t->set_coeff(1);
    t->add_dims(0);
  };
  auto two = [](artifact::DimExpr *e) { e->add_terms()->set_coeff(2); };
  int x = mb.buffer("x", DType::FLOAT32, {3, 2});
  n(mb.m.mutable_buffers(x)->add_shape_exprs());
  two(mb.m.mutable_buffers(x)->add_shape_exprs());
  int y = mb.buffer("y", DType::FLOAT32, {2, 3});
  two(mb.m.mutable_buffers(y)->add_shape_exprs());
  n(mb.m.mutable_buffers(y)->add_shape_exprs());
  artifact::Kernel *k = mb.kernel("eff.fusion", {x}, {y});
  // relu's result [n, 2] has another shape than the output: it needs its
  // expressions (the transpose's [2, n] follows the output's shape).
  artifact::BodyOp *r = bodyOp(k, "eff.relu", {0}, DType::FLOAT32, {3, 2});
  n(r->add_result_shape_exprs());
  two(r->add_result_shape_exprs());
  artifact::BodyOp *t = bodyOp(k, "eff.transpose", {1}, DType::FLOAT32, {2, 3});
  (*t->mutable_attrs())["perm"].mutable_ints()->add_values(1);
  (*t->mutable_attrs())["perm"].mutable_ints()->add_values(0);
  k->add_body_outputs(2);
  mb.input("x", x);
  mb.output("y", y);
  return mb;
}

} // namespace

TEST(Fusion, IndexMappingBodyValuesFollowTheirShapeExpressions) {
  auto model = loadBytes(transposedModel().bytes());
  ASSERT_TRUE(model);
  auto s = Session::create(model, "host");
  ASSERT_TRUE(s.ok()) << s.status().message();
  for (int64_t rows : {2, 3, 1}) {
    std::vector<float> x;
    for (int64_t i = 0; i < rows * 2; ++i)
      x.push_back(float(i % 2 ? -(i + 1) : i + 1)); // [[1,-2],[3,-4],[5,-6]]
    auto out = (*s)->run({{"x", Tensor{DType::FLOAT32, {rows, 2}, x.data()}}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    ASSERT_EQ((*out)[0].shape(), (std::vector<int64_t>{2, rows}));
    // Row 0 of the transpose is x's column 0 (1, 3, 5); row 1 is negative.
    for (int64_t j = 0; j < rows; ++j) {
      EXPECT_FLOAT_EQ((*out)[0].data<float>()[j], float(2 * j + 1)) << "rows " << rows;
      EXPECT_FLOAT_EQ((*out)[0].data<float>()[rows + j], 0.f) << "rows " << rows;
    }
  }
  ManifestBuilder mb = transposedModel();
  mb.m.mutable_kernels(0)->mutable_body(0)->mutable_result_shape_exprs()->RemoveLast();
  planArenaWithoutReuse(mb.m);
  auto r = serializeArtifact(mb.m, mb.weights);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("fewer result shape expressions than result dims"),
            std::string::npos)
      << r.status().message();
}

TEST(Fusion, RunsBodyInOrder) {
  auto model = loadBytes(fusedModel().bytes());
  ASSERT_TRUE(model);
  auto s = Session::create(model, "host");
  ASSERT_TRUE(s.ok()) << s.status().message();
  std::vector<float> x{1, 2, 3, 4, 5, 6};
  auto out = (*s)->run({{"x", Tensor{DType::FLOAT32, {2, 3}, x.data()}}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  // x@W = [[4,5],[10,11]]; + b = [[-1,5.5],[5,11.5]]; relu.
  std::vector<float> want{0, 5.5f, 5, 11.5f};
  for (int i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ((*out)[0].data<float>()[i], want[i]);
}

TEST(Fusion, ValidationAndBackendErrors) {
  {
    ManifestBuilder mb = fusedModel();
    mb.m.mutable_kernels(0)->mutable_body(1)->set_operands(0, 9);
    planArenaWithoutReuse(mb.m);
    auto r = serializeArtifact(mb.m, mb.weights);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("body op 1 (eff.add): operand 9 out of range"),
              std::string::npos)
        << r.status().message();
  }
  {
    ManifestBuilder mb = fusedModel();
    mb.m.mutable_kernels(0)->set_body_outputs(0, 0); // x is [2,3], y is [2,2]
    planArenaWithoutReuse(mb.m);
    auto r = serializeArtifact(mb.m, mb.weights);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("type differs"), std::string::npos) << r.status().message();
  }
  {
    ManifestBuilder mb = fusedModel();
    mb.m.mutable_kernels(0)->mutable_body(2)->set_op("eff.unknown");
    auto model = loadBytes(mb.bytes());
    ASSERT_TRUE(model);
    auto s = Session::create(model, "host");
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find("body op 2: op 'eff.unknown' is not supported"),
              std::string::npos)
        << s.status().message();
  }
  {
    ManifestBuilder mb = fusedModel(); // planned shape disagrees with the kernel's
    auto *shape = mb.m.mutable_kernels(0)->mutable_body(0)->mutable_result_shapes(0);
    shape->set_values(0, 1);
    shape->set_values(1, 4);
    mb.m.mutable_kernels(0)->mutable_body(1)->mutable_result_shapes(0)->set_values(0, 2);
    auto model = loadBytes(mb.bytes());
    auto s = Session::create(model, "host");
    ASSERT_TRUE(s.ok());
    std::vector<float> x(6, 1);
    auto r = (*s)->run({{"x", Tensor{DType::FLOAT32, {2, 3}, x.data()}}});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(
        r.status().message().find(
            "kernel 0 (eff.fusion at test/eff.fusion): body op 0: eff.matmul: output 0 shape"),
        std::string::npos)
        << r.status().message();
  }
}
