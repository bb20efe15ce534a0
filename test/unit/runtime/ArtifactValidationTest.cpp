// Every validation path of the artifact reader gives a clear error.
#include "TestUtil.h"

#include "ArtifactFormat.h"

#include <cmath>

using namespace effc;
using namespace effc::test;

namespace {

std::string loadError(const std::string &bytes) {
  auto m = Model::loadFromMemory(bytes.data(), bytes.size(), "bad.effc");
  return m.ok() ? std::string("<loaded>") : m.status().message();
}

#define EXPECT_ERROR(bytes, text)                                                                  \
  do {                                                                                             \
    std::string e_ = loadError(bytes);                                                             \
    EXPECT_NE(e_.find(text), std::string::npos) << "message: " << e_;                              \
    EXPECT_EQ(e_.rfind("bad.effc: ", 0), 0u) << "message must name the file: " << e_;              \
  } while (0)

// Edits header fields and re-seals the header checksum.
std::string editHeader(std::string bytes, const std::function<void(format::Header &)> &fn) {
  auto *p = reinterpret_cast<uint8_t *>(&bytes[0]);
  format::Header h = format::decodeHeader(p);
  fn(h);
  format::encodeHeader(h, p);
  return bytes;
}

// Re-packs a valid artifact with `m` as manifest, bypassing writer checks.
std::string withManifest(const std::string &valid, const artifact::Manifest &m) {
  format::Header h = format::decodeHeader(reinterpret_cast<const uint8_t *>(valid.data()));
  std::string weights = valid.substr(h.weightsOffset, h.weightsSize), man;
  m.SerializeToString(&man);
  format::Header n;
  // The header of what the manifest claims (1 for what this runtime does not read).
  n.formatVersion = m.format_version() >= 2 && m.format_version() <= format::kFormatVersion
                        ? m.format_version()
                        : 1;
  n.manifestOffset = 256;
  n.manifestSize = man.size();
  n.payloadOffset = format::alignUp(256 + man.size());
  n.weightsOffset = n.payloadOffset;
  n.weightsSize = weights.size();
  n.fileSize = n.weightsOffset + weights.size();
  n.manifestChecksum = fnv1a64(man.data(), man.size());
  n.payloadChecksum = fnv1a64("", 0);
  std::string out(n.fileSize, '\0');
  format::encodeHeader(n, reinterpret_cast<uint8_t *>(&out[0]));
  out.replace(256, man.size(), man);
  out.replace(n.weightsOffset, weights.size(), weights);
  return out;
}

struct Fixture : ::testing::Test {
  std::string valid;
  artifact::Manifest m;
  void SetUp() override {
    valid = smallModel().bytes();
    ArtifactSections s;
    ASSERT_TRUE(
        parseArtifact(reinterpret_cast<const uint8_t *>(valid.data()), valid.size(), "v", &s).ok());
    m = s.manifest;
    ASSERT_EQ(loadError(withManifest(valid, m)), "<loaded>");
  }
  std::string mutate(const std::function<void(artifact::Manifest &)> &fn) {
    artifact::Manifest c = m;
    fn(c);
    return withManifest(valid, c);
  }
};

} // namespace

TEST_F(Fixture, HeaderErrors) {
  EXPECT_ERROR(valid.substr(0, 40), "file too small");
  EXPECT_ERROR(std::string(), "file too small");
  std::string b = valid;
  b[0] = 'X';
  EXPECT_ERROR(b, "bad magic");
  EXPECT_ERROR(editHeader(valid, [](format::Header &h) { h.formatVersion = 6; }),
               "artifact format version 6, this runtime reads 1 to 5");
  EXPECT_ERROR(editHeader(valid, [](format::Header &h) { h.formatVersion = 0; }),
               "artifact format version 0, this runtime reads 1 to 5");
  EXPECT_ERROR(editHeader(valid, [](format::Header &h) { h.formatVersion = 2; }),
               "manifest format version 1 differs from the header's 2");
  EXPECT_ERROR(editHeader(valid, [](format::Header &h) { h.headerSize = 64; }), "header size 64");
  b = valid;
  b[20] ^= 1; // manifest offset byte, checksum not resealed
  EXPECT_ERROR(b, "header checksum mismatch");
  EXPECT_ERROR(valid.substr(0, valid.size() - 1), "truncated");
  EXPECT_ERROR(valid + std::string(256, '\0'), "size mismatch");
  EXPECT_ERROR(editHeader(valid, [](format::Header &h) { h.manifestOffset += 8; }),
               "manifest section");
  EXPECT_ERROR(editHeader(valid, [](format::Header &h) { h.weightsSize = ~0ull - 100; }),
               "weights section");
  EXPECT_ERROR(editHeader(valid, [](format::Header &h) { h.payloadOffset = 0; }),
               "payload section");
}

// Format version 2: symbolic dims and the shape expressions over them.
TEST_F(Fixture, SymbolicDimErrors) {
  // x [2, 3] becomes [2, n] with n in 1..3 (a valid version 2 manifest).
  auto symbolic = [](artifact::Manifest &c) {
    c.set_format_version(2);
    artifact::Dim *dim = c.add_dims();
    dim->set_name("n");
    dim->set_min(1);
    dim->set_max(3);
    artifact::Buffer *x = c.mutable_buffers(0);
    x->add_shape_exprs()->add_terms()->set_coeff(2);
    artifact::DimTerm *n = x->add_shape_exprs()->add_terms();
    n->set_coeff(1);
    n->add_dims(0);
  };
  EXPECT_EQ(loadError(mutate(symbolic)), "<loaded>");
  auto loaded = Model::loadFromMemory(mutate(symbolic).data(), mutate(symbolic).size(), "v2");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_EQ((*loaded)->dims().size(), 1u);
  EXPECT_EQ((*loaded)->dims()[0].max, 3);
  EXPECT_EQ((*loaded)->inputs()[0].shape, (std::vector<int64_t>{2, -1}));
  EXPECT_EQ((*loaded)->inputs()[0].dimNames, (std::vector<std::string>{"", "n"}));
  EXPECT_EQ(*(*loaded)->shapeOf((*loaded)->inputs()[0], {2}), (std::vector<int64_t>{2, 2}));
  EXPECT_FALSE((*loaded)->shapeOf((*loaded)->inputs()[0], {4}).ok());

  EXPECT_ERROR(mutate([](artifact::Manifest &c) { c.set_format_version(2); }),
               "format version 2 manifest without symbolic dims");
  EXPECT_ERROR(mutate([](artifact::Manifest &c) { c.add_dims()->set_name("n"); }),
               "format version 1 manifest with symbolic dims");
  EXPECT_ERROR(mutate([](artifact::Manifest &c) {
                 c.mutable_buffers(0)->add_shape_exprs();
                 c.mutable_buffers(0)->add_shape_exprs();
               }),
               "shape_exprs in a format version 1 manifest");
  EXPECT_ERROR(mutate([&](artifact::Manifest &c) {
                 symbolic(c);
                 c.mutable_dims(0)->set_name("");
               }),
               "dim 0 has no name");
  EXPECT_ERROR(mutate([&](artifact::Manifest &c) {
                 symbolic(c);
                 *c.add_dims() = c.dims(0);
               }),
               "dim 1 'n': name given twice");
  EXPECT_ERROR(mutate([&](artifact::Manifest &c) {
                 symbolic(c);
                 c.mutable_dims(0)->set_min(4);
               }),
               "dim 0 'n': bounds 4..3 are not 0 <= MIN <= MAX <= 2^40");
  EXPECT_ERROR(mutate([&](artifact::Manifest &c) {
                 symbolic(c);
                 c.mutable_dims(0)->set_min(-1);
               }),
               "bounds -1..3");
  EXPECT_ERROR(mutate([&](artifact::Manifest &c) {
                 symbolic(c);
                 c.mutable_buffers(0)->add_shape_exprs();
               }),
               "3 shape expressions for rank 2");
  EXPECT_ERROR(mutate([&](artifact::Manifest &c) {
                 symbolic(c);
                 c.mutable_buffers(0)->mutable_shape_exprs(1)->mutable_terms(0)->set_dims(0, 7);
               }),
               "dim 1: a dim expression names dim 7, but the model has 1 dims");
  EXPECT_ERROR(mutate([&](artifact::Manifest &c) {
                 symbolic(c);
                 c.mutable_buffers(0)->mutable_shape_exprs(1)->mutable_terms(0)->set_coeff(0);
               }),
               "coefficient 0");
  // 2*n reaches 6 at n = 3, more than the planned 3 rows.
  EXPECT_ERROR(mutate([&](artifact::Manifest &c) {
                 symbolic(c);
                 c.mutable_buffers(0)->mutable_shape_exprs(1)->mutable_terms(0)->set_coeff(2);
               }),
               "dim 1 = 2*d0 is negative, overflows or does not reach the planned extent 3");
  EXPECT_ERROR(mutate([&](artifact::Manifest &c) {
                 symbolic(c);
                 c.mutable_buffers(0)->mutable_shape_exprs(1)->mutable_terms(0)->set_coeff(-1);
               }),
               "is negative");
  // uses_dims (a CUDA kernel reading effc_dims) needs dims and a CUDA kernel.
  EXPECT_ERROR(mutate([](artifact::Manifest &c) { c.mutable_kernels(0)->set_uses_dims(true); }),
               "uses_dims in a manifest without symbolic dims");
  EXPECT_ERROR(mutate([&](artifact::Manifest &c) {
                 symbolic(c);
                 c.mutable_kernels(0)->clear_source();
                 c.mutable_kernels(0)->set_uses_dims(true);
               }),
               "uses_dims without a CUDA kernel");
  auto usesDims = [&](artifact::Manifest &c) {
    symbolic(c);
    c.mutable_kernels(0)->set_source("k0");
    c.mutable_kernels(0)->set_uses_dims(true);
    artifact::Launch *l = c.mutable_kernels(0)->mutable_launch();
    l->add_grid(4);
    l->add_block(32);
  };
  EXPECT_EQ(loadError(mutate(usesDims)), "<loaded>");
  // A grid dim that follows n: ceil(n / 1) blocks, at most the planned 4.
  auto gridExpr = [&](artifact::Manifest &c) {
    usesDims(c);
    artifact::GridExpr *g = c.mutable_kernels(0)->mutable_launch()->add_grid_exprs();
    artifact::DimTerm *t = g->mutable_count()->add_terms();
    t->set_coeff(1);
    t->add_dims(0);
    g->set_per_block(1);
    g->set_cap(4);
  };
  EXPECT_EQ(loadError(mutate(gridExpr)), "<loaded>");
  EXPECT_ERROR(mutate([&](artifact::Manifest &c) {
                 gridExpr(c);
                 c.mutable_kernels(0)->set_uses_dims(false);
               }),
               "grid expression for axis 0 without uses_dims");
  EXPECT_ERROR(mutate([&](artifact::Manifest &c) {
                 gridExpr(c);
                 c.mutable_kernels(0)->mutable_launch()->mutable_grid_exprs(0)->set_axis(1);
               }),
               "grid expression for axis 1: no such grid dim, or given twice");
  EXPECT_ERROR(mutate([&](artifact::Manifest &c) {
                 gridExpr(c);
                 *c.mutable_kernels(0)->mutable_launch()->add_grid_exprs() =
                     c.kernels(0).launch().grid_exprs(0);
               }),
               "no such grid dim, or given twice");
  EXPECT_ERROR(mutate([&](artifact::Manifest &c) {
                 gridExpr(c);
                 c.mutable_kernels(0)->mutable_launch()->mutable_grid_exprs(0)->set_cap(5);
               }),
               "per_block 1 and cap 5 must be >= 1, the cap at most the planned grid 4");
  EXPECT_ERROR(mutate([&](artifact::Manifest &c) {
                 gridExpr(c);
                 c.mutable_kernels(0)->mutable_launch()->mutable_grid_exprs(0)->set_per_block(0);
               }),
               "per_block 0");
  EXPECT_ERROR(
      mutate([&](artifact::Manifest &c) {
        gridExpr(c);
        c.mutable_kernels(0)
            ->mutable_launch()
            ->mutable_grid_exprs(0)
            ->mutable_count()
            ->mutable_terms(0)
            ->set_dims(0, 3);
      }),
      "grid expression for axis 0: a dim expression names dim 3, but the model has 1 dims");
}

TEST_F(Fixture, SectionChecksumsAndPadding) {
  format::Header h = format::decodeHeader(reinterpret_cast<const uint8_t *>(valid.data()));
  std::string b = valid;
  b[h.manifestOffset + 3] ^= 0x10;
  EXPECT_ERROR(b, "manifest checksum mismatch");
  // Garbage manifest with a correct checksum.
  b = valid;
  std::string junk(h.manifestSize, '\xff');
  b.replace(h.manifestOffset, junk.size(), junk);
  b = editHeader(
      b, [&](format::Header &x) { x.manifestChecksum = fnv1a64(junk.data(), junk.size()); });
  EXPECT_ERROR(b, "manifest does not parse");
  b = valid;
  b[h.weightsOffset + 2] ^= 1;
  EXPECT_ERROR(b, "checksum mismatch");
  b = valid;
  b[h.manifestOffset + h.manifestSize] = 1; // padding after the manifest
  EXPECT_ERROR(b, "nonzero padding");
  b = valid;
  b[h.weightsOffset + 100] = 1; // padding between the two weights
  EXPECT_ERROR(b, "nonzero padding");
}

TEST_F(Fixture, BufferErrors) {
  EXPECT_ERROR(mutate([](auto &m) { m.set_format_version(6); }), "manifest format version 6");
  // Fields a version 1/2 runtime would ignore need version 3.
  EXPECT_ERROR(mutate([](auto &m) { m.set_devices(2); }),
               "a device plan (devices 2) in a format version 1 manifest");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_kernels(0)->add_tensor_maps(); }),
               "kernel 0: tensor maps in a format version 1 manifest");
  // Fusion body shape expressions (a version 4 host would size at bounds) need 5.
  EXPECT_ERROR(mutate([](auto &m) {
                 m.set_format_version(4);
                 m.mutable_kernels(0)->add_body()->add_result_shape_exprs();
               }),
               "kernel 0: fusion body shape expressions in a format version 4 manifest");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_buffers(0)->set_dtype(artifact::DType(8)); }),
               "invalid dtype 8");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_buffers(0)->set_shape(0, -2); }), "negative dim -2");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_buffers(0)->set_size_bytes(4); }),
               "size_bytes 4 but 6 elements");
  EXPECT_ERROR(mutate([](auto &m) { m.set_arena_bytes(16); }), "exceeds arena_bytes 16");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_buffers(0)->set_offset(~0ull - 3); }),
               "exceeds arena_bytes");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_buffers(5)->set_alias_of(77); }),
               "alias_of 77 is not another buffer");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_buffers(5)->set_offset(8); }), "alias range exceeds");
  EXPECT_ERROR(
      mutate([](auto &m) { m.mutable_buffers(0)->set_storage(artifact::Buffer::Storage(9)); }),
      "unknown storage 9");
  EXPECT_ERROR(mutate([](auto &m) {
                 // 4 (logits) becomes an alias of 5, which aliases 4: a cycle.
                 m.mutable_buffers(4)->set_storage(artifact::Buffer::ALIAS);
                 m.mutable_buffers(4)->set_alias_of(5);
                 m.mutable_buffers(4)->set_offset(0);
               }),
               "cycle");
}

TEST_F(Fixture, WeightErrors) {
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_weights(0)->set_buffer(40); }),
               "buffer 40 out of range");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_weights(0)->set_buffer(0); }),
               "is not a WEIGHT buffer");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_weights(1)->set_buffer(1); }), "two weight entries");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_weights(1)->set_offset(8); }),
               "not 256-byte aligned");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_weights(1)->set_offset(1 << 20); }),
               "exceeds the weights section");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_weights(1)->set_size(4); }), "size 4 differs");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_buffers(1)->set_offset(256); }),
               "offset differs from its weight entry");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_weights()->RemoveLast(); }),
               "WEIGHT buffer without data");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_weights(0)->set_checksum(1); }), "checksum mismatch");
}

TEST_F(Fixture, BindingAndKernelErrors) {
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_inputs(0)->set_name(""); }), "input 0 has no name");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_outputs(1)->set_name("y"); }),
               "duplicate output name 'y'");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_outputs(0)->set_buffer(12); }),
               "buffer 12 out of range");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_inputs(0)->set_buffer(1); }),
               "bound to a weight buffer");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_kernels(1)->set_inputs(0, 50); }),
               "kernel 1 (eff.add at test/eff.add): input buffer id 50 out of range");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_kernels(1)->set_inputs(0, -3); }),
               "input buffer id -3");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_kernels(1)->set_outputs(0, -1); }),
               "output buffer id -1");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_kernels(1)->set_outputs(0, 2); }), "writes weight");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_kernels(1)->clear_outputs(); }), "no outputs");
  EXPECT_ERROR(mutate([](auto &m) { m.mutable_kernels(1)->set_op(""); }), "empty op name");
}

TEST_F(Fixture, BackendErrors) {
  auto model = loadBytes(mutate([](auto &m) { m.mutable_kernels(2)->set_op("eff.frobnicate"); }),
                         "bad.effc");
  ASSERT_TRUE(model);
  auto s = Session::create(model, "host");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("bad.effc: kernel 2 (eff.frobnicate at test/eff.softmax): op "
                                      "'eff.frobnicate' is not supported by the host backend"),
            std::string::npos)
      << s.status().message();
  // This artifact has no generated CUDA kernels (and CI has no GPU): the cuda
  // backend must refuse it with a message, not crash.
  auto c = Session::create(loadBytes(valid), "cuda");
  ASSERT_FALSE(c.ok());
  EXPECT_FALSE(c.status().message().empty());
  auto u = Session::create(loadBytes(valid), "tpu");
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.status().message().find("unknown backend 'tpu'"), std::string::npos);
}

TEST_F(Fixture, MissingFile) {
  auto m = Model::load("/nonexistent/dir/model.effc");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("/nonexistent/dir/model.effc: cannot open"),
            std::string::npos);
}

TEST_F(Fixture, KernelFailureNamesKernel) {
  // Planned shape disagrees with what the kernel computes.
  auto model = loadBytes(mutate([](auto &m) {
    auto *b = m.mutable_buffers(3); // mm [2,2] -> [4,1]
    b->set_shape(0, 4);
    b->set_shape(1, 1);
  }));
  ASSERT_TRUE(model);
  auto s = Session::create(model, "host");
  ASSERT_TRUE(s.ok());
  std::vector<float> x(6, 1);
  auto r = (*s)->run({{"x", Tensor{DType::FLOAT32, {2, 3}, x.data()}}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("kernel 0 (eff.matmul at test/eff.matmul): eff.matmul: "
                                      "output 0 shape: expected [2, 2], got [4, 1]"),
            std::string::npos)
      << r.status().message();
}

namespace {

/// Format version 4: x [1, 1, 1, 2] is appended to a KV cache kept in
/// session state (capacity 5 rows, past 0..4) and attends over it.
std::string stateModelBytes() {
  ManifestBuilder mb;
  artifact::Dim *dim = mb.m.add_dims();
  dim->set_name("past");
  dim->set_min(0);
  dim->set_max(4);
  auto rowsExprs = [&](int id, int64_t plus) {
    artifact::Buffer *b = mb.m.mutable_buffers(id);
    for (int d = 0; d < 4; ++d) {
      artifact::DimTerm *t = b->add_shape_exprs()->add_terms();
      t->set_coeff(d == 3 ? 2 : 1);
      if (d == 2) {
        t->add_dims(0);
        if (plus)
          b->mutable_shape_exprs(2)->add_terms()->set_coeff(plus);
      }
    }
  };
  int x = mb.buffer("x", DType::FLOAT32, {1, 1, 1, 2});
  int past = mb.buffer("past", DType::FLOAT32, {1, 1, 4, 2}, Buffer::STATE);
  rowsExprs(past, 0);
  int present = mb.buffer("present", DType::FLOAT32, {1, 1, 5, 2}, Buffer::STATE);
  rowsExprs(present, 1);
  int y = mb.buffer("y", DType::FLOAT32, {1, 1, 1, 2});
  artifact::Attr state;
  state.set_s("present.0.key");
  mb.kernel("eff.kv_append", {past, x}, {present}, {{"capacity", attrI(5)}, {"state", state}});
  mb.kernel("eff.attention", {x, present, present}, {y});
  mb.input("x", x);
  mb.output("y", y);
  artifact::State *st = mb.m.add_states();
  st->set_input("past_key_values.0.key");
  st->set_input_buffer(uint32_t(past));
  st->set_output("present.0.key");
  st->set_output_buffer(uint32_t(present));
  st->set_dtype(artifact::FLOAT32);
  for (int64_t d : {1, 1, 5, 2})
    st->add_shape(d);
  st->set_size_bytes(40);
  return mb.bytes();
}

} // namespace

TEST(SessionState, ManifestErrors) {
  const std::string valid = stateModelBytes();
  ArtifactSections secs;
  ASSERT_TRUE(
      parseArtifact(reinterpret_cast<const uint8_t *>(valid.data()), valid.size(), "v", &secs)
          .ok());
  const artifact::Manifest m = secs.manifest;
  EXPECT_EQ(m.format_version(), 4u); // the writer's choice for state
  EXPECT_EQ(loadError(withManifest(valid, m)), "<loaded>");
  auto mutate = [&](const std::function<void(artifact::Manifest &)> &fn) {
    artifact::Manifest c = m;
    fn(c);
    return withManifest(valid, c);
  };
  EXPECT_ERROR(mutate([](auto &c) { c.set_format_version(3); }),
               "session state in a format version 3 manifest");
  EXPECT_ERROR(mutate([](auto &c) { c.mutable_buffers(1)->set_state(1); }),
               "buffer 1 ('past'): state 1 of 1");
  EXPECT_ERROR(mutate([](auto &c) { // rows past + 2: 6 > the capacity 5
                 c.mutable_buffers(2)->set_shape(2, 6);
                 c.mutable_buffers(2)->set_size_bytes(48);
                 c.mutable_buffers(2)->mutable_shape_exprs(2)->mutable_terms(1)->set_coeff(2);
               }),
               "buffer 2 ('present'): not a view of the first rows of state 0");
  EXPECT_ERROR(mutate([](auto &c) { c.mutable_states(0)->set_size_bytes(41); }),
               "state 0 ('present.0.key'): size_bytes 41 differs from its shape");
  EXPECT_ERROR(mutate([](auto &c) { c.mutable_states(0)->set_output("y"); }),
               "state 0 ('y'): input/output name 'y' empty or given twice");
  EXPECT_ERROR(mutate([](auto &c) { c.mutable_states(0)->set_input_buffer(0); }),
               "buffer 0 is not a STATE buffer of it");
  EXPECT_ERROR(mutate([](auto &c) { c.mutable_states(0)->set_input_buffer(2); }), // past + 1
               "the rows of input 'past_key_values.0.key' (dim 2) must be a dim alone");
  EXPECT_ERROR(mutate([](auto &c) { c.mutable_outputs(0)->set_buffer(2); }),
               "output 'y' is bound to session state");

  // The host backend lets only the kernels that know the row stride touch
  // it.
  auto relu = loadBytes(mutate([](auto &c) { c.mutable_kernels(1)->set_op("eff.mul"); }), "s.effc");
  ASSERT_TRUE(relu);
  auto s = Session::create(relu, "host");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("kernel 1 (eff.mul at test/eff.attention): input 1 is "
                                      "session state, which this kernel cannot read or write"),
            std::string::npos)
      << s.status().message();
  auto model = loadBytes(valid, "state.effc");
  ASSERT_TRUE(model);

  // Three runs append a row each: the state holds 3, and the attention of
  // the last run reads all of them (y = the softmax-weighted mean of rows).
  auto session = Session::create(model, "host");
  ASSERT_TRUE(session.ok()) << session.status().message();
  EXPECT_EQ(model->inputs().size(), 1u);
  EXPECT_EQ(model->states()[0].rowsDim, 0u);
  std::vector<float> rows = {1, 0, 0, 1, 1, 1};
  HostTensor out;
  for (int r = 0; r < 3; ++r) {
    HostTensor x(DType::FLOAT32, {1, 1, 1, 2});
    std::copy_n(rows.begin() + 2 * r, 2, x.data<float>());
    auto y = (*session)->run({{"x", x.view()}});
    ASSERT_TRUE(y.ok()) << y.status().message();
    out = std::move((*y)[0]);
  }
  EXPECT_EQ((*session)->stateRows(), 3);
  // q = (1, 1), scale 1/sqrt(2): scores s0 = s1 = 1/sqrt(2), s2 = 2/sqrt(2).
  const float e1 = std::exp(1 / std::sqrt(2.f)), e2 = std::exp(2 / std::sqrt(2.f));
  const float want = (e1 * 1 + e1 * 0 + e2 * 1) / (2 * e1 + e2);
  EXPECT_NEAR(out.data<float>()[0], want, 1e-6);
  EXPECT_NEAR(out.data<float>()[1], want, 1e-6);
}

// A paged KV pool state (State.pages, effc --paged-kv --kv-state) must be
// whole and static: a contiguous cache marked as a pool is refused; a model
// without pool state refuses Session::copyStatePage. Pools that work:
// ctest e2e-engine-paged-paged-kv-state-*, lit translate/paged-kv-state.mlir.
TEST(SessionState, PagedPoolRules) {
  const std::string valid = stateModelBytes();
  ArtifactSections secs;
  ASSERT_TRUE(
      parseArtifact(reinterpret_cast<const uint8_t *>(valid.data()), valid.size(), "v", &secs)
          .ok());
  artifact::Manifest c = secs.manifest;
  c.mutable_states(0)->set_pages(true);
  EXPECT_ERROR(withManifest(valid, c), "state 0 ('present.0.key'): a paged pool's buffer");
  auto model = loadBytes(valid, "state.effc");
  ASSERT_TRUE(model);
  EXPECT_FALSE(model->states()[0].pages);
  auto session = Session::create(model, "host");
  ASSERT_TRUE(session.ok()) << session.status().message();
  Status st = (*session)->copyStatePage(0, 1);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("copyStatePage: the model keeps no paged KV pool in session state"),
            std::string::npos)
      << st.message();
}
