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

} // namespace

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
