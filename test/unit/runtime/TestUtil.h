// Helpers for runtime tests: a small manifest builder over the writer API.
#pragma once

#include "Artifact.h"
#include "effc/effc.h"

#include <gtest/gtest.h>

/// Skips a test that runs only on a GPU machine (or only without one), or
/// only when a developer opts in through an environment variable. tools/test.sh
/// (CI) accepts a skipped test only with this marker in its output and fails
/// on any other (tools/check_skips.py): a missing library, tool or data file
/// must fail the run, not hide as a skip.
#define EFFC_SKIP_GPU_OR_OPT_IN() GTEST_SKIP() << "GPU/opt-in skip: "

/// Passes when the string `text` contains `part` (a message's words).
#define EXPECT_CONTAINS(text, part)                                                                \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "message: " << (text)

namespace effc::test {

using artifact::Buffer;

inline artifact::Attr attrI(int64_t v) {
  artifact::Attr a;
  a.set_i(v);
  return a;
}
inline artifact::Attr attrF(double v) {
  artifact::Attr a;
  a.set_f(v);
  return a;
}
inline artifact::Attr attrInts(std::vector<int64_t> v) {
  artifact::Attr a;
  for (auto x : v)
    a.mutable_ints()->add_values(x);
  return a;
}

struct ManifestBuilder {
  artifact::Manifest m;
  std::vector<WeightBlob> weights;

  int buffer(const std::string &name, DType dt, std::vector<int64_t> shape,
             Buffer::Storage st = Buffer::ARENA) {
    Buffer *b = m.add_buffers();
    b->set_name(name);
    b->set_dtype(artifact::DType(int(dt)));
    for (auto d : shape)
      b->add_shape(d);
    b->set_storage(st);
    return m.buffers_size() - 1;
  }
  int weight(const std::string &name, std::vector<int64_t> shape, const std::vector<float> &vals) {
    int id = buffer(name, DType::FLOAT32, shape, Buffer::WEIGHT);
    weights.push_back(
        {uint32_t(id), std::string(reinterpret_cast<const char *>(vals.data()), vals.size() * 4)});
    return id;
  }
  int alias(const std::string &name, int base, uint64_t offset, DType dt,
            std::vector<int64_t> shape) {
    int id = buffer(name, dt, shape, Buffer::ALIAS);
    m.mutable_buffers(id)->set_alias_of(uint32_t(base));
    m.mutable_buffers(id)->set_offset(offset);
    return id;
  }
  artifact::Kernel *kernel(const std::string &op, std::vector<int> ins, std::vector<int> outs,
                           std::map<std::string, artifact::Attr> attrs = {}) {
    artifact::Kernel *k = m.add_kernels();
    k->set_op(op);
    k->set_location("test/" + op);
    for (int i : ins)
      k->add_inputs(i);
    for (int o : outs)
      k->add_outputs(o);
    for (auto &[n, a] : attrs)
      (*k->mutable_attrs())[n] = a;
    return k;
  }
  void input(const std::string &name, int id) {
    auto *b = m.add_inputs();
    b->set_name(name);
    b->set_buffer(uint32_t(id));
  }
  void output(const std::string &name, int id) {
    auto *b = m.add_outputs();
    b->set_name(name);
    b->set_buffer(uint32_t(id));
  }

  /// Plans the arena (no reuse) and serializes; fails the test on error.
  std::string bytes() {
    artifact::Manifest copy = m;
    for (auto &b : *copy.mutable_buffers()) // size_bytes needed before planning
      if (!b.size_bytes())
        b.set_size_bytes(uint64_t(numElements({b.shape().begin(), b.shape().end()})) *
                         dtypeSize(DType(b.dtype())));
    planArenaWithoutReuse(copy);
    auto s = serializeArtifact(copy, weights);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? *s : std::string();
  }
};

/// x [2,3] -> softmax(x @ W + b), W [3,2] and b [2] weights; plus an alias
/// output "flat" viewing the logits as [4].
inline ManifestBuilder smallModel() {
  ManifestBuilder mb;
  int x = mb.buffer("x", DType::FLOAT32, {2, 3});
  int w = mb.weight("W", {3, 2}, {1, 0, 0, 1, 1, 1});
  int b = mb.weight("b", {2}, {0.5f, -0.5f});
  int mm = mb.buffer("mm", DType::FLOAT32, {2, 2});
  int logits = mb.buffer("logits", DType::FLOAT32, {2, 2});
  int flat = mb.alias("flat", logits, 0, DType::FLOAT32, {4});
  int y = mb.buffer("y", DType::FLOAT32, {2, 2});
  mb.kernel("eff.matmul", {x, w}, {mm});
  mb.kernel("eff.add", {mm, b}, {logits});
  mb.kernel("eff.softmax", {logits}, {y}, {{"axis", attrI(-1)}});
  mb.input("x", x);
  mb.output("y", y);
  mb.output("flat", flat);
  return mb;
}

inline std::shared_ptr<const Model> loadBytes(const std::string &bytes,
                                              const std::string &name = "test.effc") {
  auto m = Model::loadFromMemory(bytes.data(), bytes.size(), name);
  EXPECT_TRUE(m.ok()) << m.status().message();
  return m.ok() ? *m : nullptr;
}

/// A host-backend session over `devices` simulated devices on the artifact
/// `bytes`; null (after a failed expectation) when it does not load or open.
inline std::unique_ptr<Session> hostSession(const std::string &bytes, int devices) {
  auto model = loadBytes(bytes);
  if (!model)
    return nullptr;
  SessionOptions options;
  options.backend = "host";
  options.devices = devices;
  auto s = Session::create(model, options);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? std::move(*s) : nullptr;
}

} // namespace effc::test
