// Hand-built artifacts through the writer, loaded and run on the host backend.
#include "TestUtil.h"

#include "ArtifactFormat.h"

#include <cmath>
#include <cstdio>

using namespace effc;
using namespace effc::test;

TEST(Artifact, RoundTripRunsMatmulAddSoftmaxAndAlias) {
  auto model = loadBytes(smallModel().bytes());
  ASSERT_TRUE(model);
  ASSERT_EQ(model->inputs().size(), 1u);
  EXPECT_EQ(model->inputs()[0].name, "x");
  EXPECT_EQ(model->inputs()[0].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(model->outputs()[1].shape, (std::vector<int64_t>{4}));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(model->weightsData()) % 256, 0u);
  auto s = Session::create(model, "host");
  ASSERT_TRUE(s.ok()) << s.status().message();
  std::vector<float> x{1, 2, 3, 4, 5, 6};
  auto out = (*s)->run({{"x", Tensor{DType::FLOAT32, {2, 3}, x.data()}}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  // mm = [[1+3, 2+3], [4+6, 5+6]] = [[4,5],[10,11]]; + b = [[4.5,4.5],[10.5,10.5]].
  const HostTensor &flat = (*out)[1];
  std::vector<float> want{4.5f, 4.5f, 10.5f, 10.5f};
  for (int i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(flat.data<float>()[i], want[i]);
  for (int i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ((*out)[0].data<float>()[i], 0.5f);
}

TEST(Artifact, SoftmaxValuesAreHandComputed) {
  ManifestBuilder mb;
  int x = mb.buffer("x", DType::FLOAT32, {1, 3});
  int y = mb.buffer("y", DType::FLOAT32, {1, 3});
  mb.kernel("eff.softmax", {x}, {y});
  mb.input("x", x);
  mb.output("y", y);
  auto model = loadBytes(mb.bytes());
  auto s = Session::create(model, "host");
  ASSERT_TRUE(s.ok());
  std::vector<float> in{0, 1, 2};
  auto out = (*s)->run({{"x", Tensor{DType::FLOAT32, {1, 3}, in.data()}}});
  ASSERT_TRUE(out.ok());
  double z = 1 + std::exp(1.0) + std::exp(2.0);
  EXPECT_NEAR((*out)[0].data<float>()[0], 1 / z, 1e-6);
  EXPECT_NEAR((*out)[0].data<float>()[2], std::exp(2.0) / z, 1e-6);
}

TEST(Artifact, AliasChainAndWeightOutput) {
  ManifestBuilder mb;
  int x = mb.buffer("x", DType::FLOAT32, {2, 2});
  int y = mb.buffer("y", DType::FLOAT32, {2, 2});
  int a1 = mb.alias("row1", y, 8, DType::FLOAT32, {1, 2});
  int a2 = mb.alias("row1_flat", a1, 4, DType::FLOAT32, {1});
  int w = mb.weight("w", {2}, {7, 8});
  mb.kernel("eff.neg", {x}, {y});
  mb.input("x", x);
  mb.output("last", a2);
  mb.output("w", w);
  auto model = loadBytes(mb.bytes());
  auto s = Session::create(model, "host");
  ASSERT_TRUE(s.ok()) << s.status().message();
  std::vector<float> in{1, 2, 3, 4};
  auto out = (*s)->run({{"x", Tensor{DType::FLOAT32, {2, 2}, in.data()}}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_FLOAT_EQ((*out)[0].data<float>()[0], -4);
  EXPECT_FLOAT_EQ((*out)[1].data<float>()[1], 8);
}

TEST(Artifact, WriterFillsWeightTableAndHeader) {
  std::string bytes = smallModel().bytes();
  ArtifactSections secs;
  ASSERT_TRUE(
      parseArtifact(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size(), "t", &secs)
          .ok());
  ASSERT_EQ(secs.manifest.weights_size(), 2);
  EXPECT_EQ(secs.manifest.weights(1).offset() % 256, 0u);
  EXPECT_EQ(secs.manifest.weights(1).size(), 8u);
  EXPECT_EQ(secs.weightsOffset % 256, 0u);
  EXPECT_EQ(secs.manifest.format_version(), 1u);
  EXPECT_FALSE(secs.manifest.producer().empty());
  EXPECT_GT(secs.manifest.intermediate_bytes(), 0u);
  EXPECT_EQ(bytes.compare(0, 8, std::string("EFFCART\0", 8)), 0);
}

TEST(Artifact, WriteAndLoadFile) {
  std::string path = ::testing::TempDir() + "/roundtrip.effc";
  ManifestBuilder mb = smallModel();
  planArenaWithoutReuse(mb.m);
  ASSERT_TRUE(writeArtifact(path, mb.m, mb.weights).ok());
  auto m = Model::load(path);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ((*m)->path(), path);
  std::remove(path.c_str());
}

TEST(Artifact, WriterRejectsInconsistentManifest) {
  ManifestBuilder mb = smallModel();
  mb.m.mutable_kernels(0)->set_inputs(0, 99);
  planArenaWithoutReuse(mb.m);
  auto s = serializeArtifact(mb.m, mb.weights);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("input buffer id 99 out of range"), std::string::npos)
      << s.status().message();
  ManifestBuilder mb2 = smallModel();
  mb2.weights.push_back({0, "xx"}); // buffer 0 is ARENA
  EXPECT_FALSE(serializeArtifact(mb2.m, mb2.weights).ok());
}
