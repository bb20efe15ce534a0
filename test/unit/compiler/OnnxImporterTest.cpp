//===- OnnxImporterTest.cpp - unit tests of the ONNX importer's helpers ----===//
#include "compiler/onnx/OnnxImporter.h"
#include "compiler/onnx/OnnxAttributes.h"
#include "compiler/onnx/OnnxInternal.h"
#include "compiler/onnx/OnnxLocations.h"
#include "compiler/onnx/OnnxTensors.h"
#include "passes/Registration.h"

#include "dialects/eff/ConstantFolding.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "onnx/onnx.pb.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

using namespace mlir;

namespace {

class OnnxTest : public ::testing::Test {
protected:
  OnnxTest() {
    DialectRegistry registry;
    eff::registerEffcDialects(registry);
    ctx.appendDialectRegistry(registry);
    ctx.loadAllAvailableDialects();
  }
  MLIRContext ctx;
};

//===- attributes ----------------------------------------------------------===//

TEST_F(OnnxTest, AttributeKinds) {
  std::string error;
  onnx::AttributeProto a;
  a.set_name("axis");
  a.set_type(onnx::AttributeProto::INT);
  a.set_i(-1);
  auto i = dyn_cast_or_null<IntegerAttr>(effc::convertOnnxAttribute(ctx, a, ".", error));
  ASSERT_TRUE(i);
  EXPECT_EQ(i.getInt(), -1);
  EXPECT_TRUE(i.getType().isInteger(64));

  a.Clear();
  a.set_name("epsilon");
  a.set_type(onnx::AttributeProto::FLOAT);
  a.set_f(1e-5f);
  auto f = dyn_cast_or_null<FloatAttr>(effc::convertOnnxAttribute(ctx, a, ".", error));
  ASSERT_TRUE(f);
  EXPECT_TRUE(f.getType().isF32());
  EXPECT_FLOAT_EQ(float(f.getValueAsDouble()), 1e-5f);

  a.Clear();
  a.set_name("perm");
  a.set_type(onnx::AttributeProto::INTS);
  for (int64_t v : {0, 2, 1})
    a.add_ints(v);
  auto ints = dyn_cast_or_null<DenseI64ArrayAttr>(effc::convertOnnxAttribute(ctx, a, ".", error));
  ASSERT_TRUE(ints);
  EXPECT_EQ(ints.asArrayRef(), ArrayRef<int64_t>({0, 2, 1}));

  a.Clear();
  a.set_name("scales");
  a.set_type(onnx::AttributeProto::FLOATS);
  a.add_floats(0.5f);
  a.add_floats(2.0f);
  auto floats = dyn_cast_or_null<DenseF32ArrayAttr>(effc::convertOnnxAttribute(ctx, a, ".", error));
  ASSERT_TRUE(floats);
  EXPECT_EQ(floats.asArrayRef(), ArrayRef<float>({0.5f, 2.0f}));

  a.Clear();
  a.set_name("approximate");
  a.set_type(onnx::AttributeProto::STRING);
  a.set_s("tanh");
  auto s = dyn_cast_or_null<StringAttr>(effc::convertOnnxAttribute(ctx, a, ".", error));
  ASSERT_TRUE(s);
  EXPECT_EQ(s.str(), "tanh");
}

TEST_F(OnnxTest, AttributeUntypedAndTensor) {
  std::string error;
  // Writers before IR version 2 leave `type` unset: typed by the set field.
  onnx::AttributeProto a;
  a.set_name("k");
  a.set_i(3);
  auto i = dyn_cast_or_null<IntegerAttr>(effc::convertOnnxAttribute(ctx, a, ".", error));
  ASSERT_TRUE(i);
  EXPECT_EQ(i.getInt(), 3);

  a.Clear();
  a.set_name("value");
  a.set_type(onnx::AttributeProto::TENSOR);
  a.mutable_t()->set_data_type(onnx::TensorProto::INT64);
  a.mutable_t()->add_dims(2);
  a.mutable_t()->add_int64_data(4);
  a.mutable_t()->add_int64_data(5);
  auto t = dyn_cast_or_null<DenseIntElementsAttr>(effc::convertOnnxAttribute(ctx, a, ".", error));
  ASSERT_TRUE(t);
  EXPECT_EQ(t.getNumElements(), 2);
  EXPECT_EQ((*t.getValues<int64_t>().begin()), 4);
}

TEST_F(OnnxTest, AttributeErrors) {
  std::string error;
  onnx::AttributeProto a;
  a.set_name("then_branch");
  a.set_type(onnx::AttributeProto::GRAPH);
  a.mutable_g()->set_name("g");
  EXPECT_FALSE(effc::convertOnnxAttribute(ctx, a, ".", error));
  EXPECT_NE(error.find("control flow"), std::string::npos) << error;

  a.Clear();
  error.clear();
  a.set_name("nothing");
  EXPECT_FALSE(effc::convertOnnxAttribute(ctx, a, ".", error));
  EXPECT_NE(error.find("has no value"), std::string::npos) << error;
}

//===- tensors -------------------------------------------------------------===//

TEST_F(OnnxTest, TensorFp16Bf16BoolFromTypedFields) {
  std::string error;
  onnx::TensorProto t;
  t.set_data_type(onnx::TensorProto::FLOAT16);
  t.add_dims(2);
  t.add_int32_data(0x3c00); // 1.0
  t.add_int32_data(0xc000); // -2.0
  ShapedType type;
  std::vector<char> bytes;
  ASSERT_TRUE(effc::decodeOnnxTensor(ctx, t, ".", nullptr, type, bytes, error)) << error;
  EXPECT_TRUE(type.getElementType().isF16());
  ASSERT_EQ(bytes.size(), 4u);
  uint16_t h[2];
  std::memcpy(h, bytes.data(), 4);
  EXPECT_EQ(h[0], 0x3c00);
  EXPECT_EQ(h[1], 0xc000);

  t.Clear();
  t.set_data_type(onnx::TensorProto::BFLOAT16);
  t.add_dims(1);
  t.add_int32_data(0x4040); // 3.0
  ASSERT_TRUE(effc::decodeOnnxTensor(ctx, t, ".", nullptr, type, bytes, error)) << error;
  EXPECT_TRUE(type.getElementType().isBF16());
  std::memcpy(h, bytes.data(), 2);
  EXPECT_FLOAT_EQ(effc::bf16ToFloat(h[0]), 3.0f);

  t.Clear();
  t.set_data_type(onnx::TensorProto::BOOL);
  t.add_dims(3);
  t.set_raw_data(std::string("\x01\x00\x07", 3));
  ASSERT_TRUE(effc::decodeOnnxTensor(ctx, t, ".", nullptr, type, bytes, error)) << error;
  EXPECT_TRUE(type.getElementType().isInteger(1));
  EXPECT_EQ(bytes, std::vector<char>({1, 0, 1}));

  ElementsAttr attr = effc::convertOnnxTensor(ctx, t, "b", ".", nullptr, error);
  ASSERT_TRUE(attr);
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  ASSERT_TRUE(dense);
  EXPECT_EQ(std::vector<bool>(dense.getValues<bool>().begin(), dense.getValues<bool>().end()),
            std::vector<bool>({true, false, true}));
}

TEST_F(OnnxTest, TensorLargeIsResourceBlob) {
  std::string error;
  onnx::TensorProto t;
  t.set_data_type(onnx::TensorProto::FLOAT);
  t.add_dims(100);
  for (int i = 0; i < 100; ++i)
    t.add_float_data(float(i));
  ElementsAttr attr = effc::convertOnnxTensor(ctx, t, "weight", ".", nullptr, error);
  ASSERT_TRUE(attr) << error;
  EXPECT_TRUE(isa<DenseResourceElementsAttr>(attr));
  std::vector<char> bytes;
  ASSERT_TRUE(eff::getElementsBytes(attr, bytes));
  float v;
  std::memcpy(&v, bytes.data() + 99 * 4, 4);
  EXPECT_EQ(v, 99.0f);
}

TEST_F(OnnxTest, TensorErrors) {
  std::string error;
  ShapedType type;
  std::vector<char> bytes;
  onnx::TensorProto t;
  t.set_data_type(onnx::TensorProto::FLOAT);
  t.add_dims(4);
  t.set_raw_data(std::string(12, '\0'));
  EXPECT_FALSE(effc::decodeOnnxTensor(ctx, t, ".", nullptr, type, bytes, error));
  EXPECT_NE(error.find("raw_data holds 12 bytes, but dims need 16"), std::string::npos) << error;

  t.Clear();
  t.set_data_type(onnx::TensorProto::FLOAT);
  t.add_dims(-3);
  EXPECT_FALSE(effc::decodeOnnxTensor(ctx, t, ".", nullptr, type, bytes, error));
  EXPECT_NE(error.find("negative dim"), std::string::npos) << error;

  t.Clear();
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (int i = 0; i < 6; ++i)
    t.add_dims(int64_t(1) << 20); // 2^120 elements, declared with no data
  EXPECT_FALSE(effc::decodeOnnxTensor(ctx, t, ".", nullptr, type, bytes, error));
  EXPECT_NE(error.find("too large"), std::string::npos) << error;

  t.Clear();
  t.set_data_type(onnx::TensorProto::STRING);
  EXPECT_FALSE(effc::decodeOnnxTensor(ctx, t, ".", nullptr, type, bytes, error));
  EXPECT_NE(error.find("STRING"), std::string::npos) << error;
}

TEST_F(OnnxTest, TensorExternalData) {
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("effc-onnx-test", dir));
  llvm::SmallString<128> file(dir);
  llvm::sys::path::append(file, "w.bin");
  {
    std::ofstream out(file.c_str(), std::ios::binary);
    int64_t values[3] = {7, -8, 9};
    out.write("XXXXXXXX", 8);
    out.write(reinterpret_cast<const char *>(values), sizeof values);
  }
  onnx::TensorProto t;
  t.set_data_type(onnx::TensorProto::INT64);
  t.add_dims(3);
  t.set_data_location(onnx::TensorProto::EXTERNAL);
  auto kv = [&](const char *k, const char *v) {
    auto *e = t.add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  kv("location", "w.bin");
  kv("offset", "8");
  kv("length", "24");
  std::string error;
  ShapedType type;
  std::vector<char> bytes;
  effc::onnx_import::ExternalDataCache cache;
  ASSERT_TRUE(effc::decodeOnnxTensor(ctx, t, dir.str().str(), &cache, type, bytes, error)) << error;
  int64_t got[3];
  ASSERT_EQ(bytes.size(), sizeof got);
  std::memcpy(got, bytes.data(), sizeof got);
  EXPECT_EQ(got[0], 7);
  EXPECT_EQ(got[1], -8);
  EXPECT_EQ(got[2], 9);

  // Past the end of the file.
  t.mutable_external_data(1)->set_value("16");
  EXPECT_FALSE(effc::decodeOnnxTensor(ctx, t, dir.str().str(), &cache, type, bytes, error));
  EXPECT_NE(error.find("runs past the end"), std::string::npos) << error;
  // Escaping the model directory.
  t.mutable_external_data(0)->set_value("../w.bin");
  EXPECT_FALSE(effc::decodeOnnxTensor(ctx, t, dir.str().str(), &cache, type, bytes, error));
  EXPECT_NE(error.find("leaves the model directory"), std::string::npos) << error;

  llvm::sys::fs::remove(file);
  llvm::sys::fs::remove(dir);
}

//===- locations and module paths ------------------------------------------===//

TEST(OnnxLocations, LegacyNames) {
  EXPECT_EQ(effc::modulePathFromLegacyName("/m/encoder/layer.0/attention/self/query/MatMul"),
            std::optional<std::string>("m.encoder.layer.0.attention.self.query"));
  EXPECT_EQ(effc::modulePathFromLegacyName("/m/Constant_1"), std::optional<std::string>("m"));
  EXPECT_EQ(effc::modulePathFromLegacyName("/Constant"), std::nullopt);
  EXPECT_EQ(effc::modulePathFromLegacyName("Identity_73"), std::nullopt);
  EXPECT_EQ(effc::modulePathFromLegacyName(""), std::nullopt);
}

TEST(OnnxLocations, DynamoNameScopes) {
  // The exporter appends the FX node's own name after the module scopes.
  EXPECT_EQ(effc::modulePathFromNameScopes(
                "['', 'm', 'm.model', 'm.model.layers.0', 'm.model.layers.0.self_attn', "
                "'m.model.layers.0.self_attn.q_proj', 'linear']"),
            std::optional<std::string>("m.model.layers.0.self_attn.q_proj"));
  EXPECT_EQ(effc::modulePathFromNameScopes("['', 'm', 'm.lm_head', 'linear_14']"),
            std::optional<std::string>("m.lm_head"));
  EXPECT_EQ(effc::modulePathFromNameScopes("['', 'm', 'm.model', 'index_1']"),
            std::optional<std::string>("m.model"));
  // Without the trailing node name, the last scope is the module.
  EXPECT_EQ(
      effc::modulePathFromNameScopes("['', 'm', 'm.model', 'm.model.layers.0.self_attn.q_proj']"),
      std::optional<std::string>("m.model.layers.0.self_attn.q_proj"));
  // Exporter-internal scopes and malformed values give nothing.
  EXPECT_EQ(effc::modulePathFromNameScopes(
                "['_empty_nn_module_stack_from_metadata_hook', 'sym_size_int_25']"),
            std::nullopt);
  EXPECT_EQ(effc::modulePathFromNameScopes("['', 'add_3']"), std::nullopt);
  EXPECT_EQ(effc::modulePathFromNameScopes("not a list"), std::nullopt);
  EXPECT_EQ(effc::modulePathFromNameScopes("['unterminated"), std::nullopt);
}

/// Appends NodeProto field 9 (metadata_props, which ONNX 1.12's proto lacks
/// and the build adds) to a serialized node, byte by byte as the dynamo
/// exporter writes it.
static std::string withMetadata(const onnx::NodeProto &node, const std::string &key,
                                const std::string &value) {
  onnx::StringStringEntryProto entry;
  entry.set_key(key);
  entry.set_value(value);
  std::string payload = entry.SerializeAsString();
  std::string wire = node.SerializeAsString();
  wire += char(9 << 3 | 2);
  size_t n = payload.size();
  do {
    char byte = char(n & 0x7f);
    n >>= 7;
    wire += n ? char(byte | 0x80) : byte;
  } while (n);
  return wire + payload;
}

TEST(OnnxLocations, NodeMetadataFromExporterBytes) {
  onnx::NodeProto original;
  original.set_name("node_linear");
  original.set_op_type("MatMul");
  onnx::NodeProto node;
  ASSERT_TRUE(node.ParseFromString(
      withMetadata(original, "pkg.torch.onnx.name_scopes",
                   "['', 'm', 'm.model', 'm.model.layers.0', 'm.model.layers.0.self_attn', "
                   "'m.model.layers.0.self_attn.v_proj', 'linear_2']")));
  EXPECT_EQ(node.name(), "node_linear");
  EXPECT_EQ(node.metadata_props_size(), 1);
  EXPECT_EQ(effc::getNodeMetadata(node, "missing"), std::nullopt);
  EXPECT_EQ(effc::modulePathOfNode(node),
            std::optional<std::string>("m.model.layers.0.self_attn.v_proj"));
}

TEST(OnnxLocations, LocationRoundTrip) {
  MLIRContext ctx;
  onnx::NodeProto legacy;
  legacy.set_name("/m/encoder/layer.1/attention/self/value/MatMul");
  Location loc = effc::makeNodeLocation(ctx, legacy, "model.onnx", "MatMul_0");
  EXPECT_EQ(effc::getModulePath(loc),
            std::optional<std::string>("m.encoder.layer.1.attention.self.value"));
  EXPECT_EQ(effc::getNodeName(loc),
            std::optional<std::string>("/m/encoder/layer.1/attention/self/value/MatMul"));

  onnx::NodeProto dynamo;
  ASSERT_TRUE(dynamo.ParseFromString(withMetadata(onnx::NodeProto(), "pkg.torch.onnx.name_scopes",
                                                  "['', 'm', 'm.lm_head', 'linear_14']")));
  loc = effc::makeNodeLocation(ctx, dynamo, "model.onnx", "MatMul_7");
  EXPECT_EQ(effc::getModulePath(loc), std::optional<std::string>("m.lm_head"));
  EXPECT_EQ(effc::getNodeName(loc), std::optional<std::string>("MatMul_7"));

  onnx::NodeProto plain;
  plain.set_name("Identity_3");
  loc = effc::makeNodeLocation(ctx, plain, "model.onnx", "x");
  EXPECT_EQ(effc::getModulePath(loc), std::nullopt);
  EXPECT_EQ(effc::getModulePath(UnknownLoc::get(&ctx)), std::nullopt);
}

//===- op names and whole models -------------------------------------------===//

TEST(OnnxNames, EffOpNames) {
  using effc::onnx_import::effOpName;
  EXPECT_EQ(effOpName("Add"), "eff.add");
  EXPECT_EQ(effOpName("ReduceMean"), "eff.reduce_mean");
  EXPECT_EQ(effOpName("GatherND"), "eff.gather_nd");
  EXPECT_EQ(effOpName("TopK"), "eff.top_k");
  EXPECT_EQ(effOpName("CumSum"), "eff.cum_sum");
  EXPECT_EQ(effOpName("MatMul"), "eff.matmul");
  EXPECT_EQ(effOpName("IsNaN"), "eff.is_nan");
  EXPECT_EQ(effOpName("LessOrEqual"), "eff.less_or_equal");
  EXPECT_EQ(effOpName("ConstantOfShape"), "eff.constant_of_shape");
  EXPECT_EQ(effOpName("LayerNormalization"), "eff.layer_norm");
  EXPECT_EQ(effOpName("RMSNormalization"), "eff.rms_norm");
  EXPECT_EQ(effOpName("RotaryEmbedding"), "eff.rope");
  // From ODS only: an ONNX op no eff op imports has no name.
  EXPECT_EQ(effOpName("ReduceL2"), "");
  EXPECT_EQ(effOpName("LoRALinear"), "");
  EXPECT_EQ(effOpName("Constant"), "");
}

static onnx::ModelProto tinyModel() {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  onnx::GraphProto *g = model.mutable_graph();
  g->set_name("g");
  auto *in = g->add_input();
  in->set_name("x");
  auto *tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("n");
  tt->mutable_shape()->add_dim()->set_dim_value(3);
  onnx::NodeProto *n = g->add_node();
  n->set_op_type("Shape");
  n->add_input("x");
  n->add_output("s");
  n = g->add_node();
  n->set_op_type("Relu");
  n->add_input("x");
  n->add_output("y");
  g->add_output()->set_name("y");
  g->add_output()->set_name("s");
  return model;
}

TEST_F(OnnxTest, ImportBytesAndBindShapes) {
  std::string bytes = tinyModel().SerializeAsString();
  effc::ImportOptions options;
  options.inputShapes["x"] = {5, 3};
  OwningOpRef<ModuleOp> module = effc::importOnnxBytes(ctx, bytes, "tiny.onnx", options);
  ASSERT_TRUE(module);
  auto func = module->lookupSymbol<func::FuncOp>("main");
  ASSERT_TRUE(func);
  EXPECT_EQ(func.getFunctionType().getInput(0),
            RankedTensorType::get({5, 3}, Float32Type::get(&ctx)));
  // The Shape node folded into a constant.
  bool sawShape = false;
  func.walk([&](Operation *op) { sawShape |= op->getName().getStringRef() == "eff.shape"; });
  EXPECT_FALSE(sawShape);
  EXPECT_EQ(func.getResultAttrOfType<StringAttr>(1, "eff.name").str(), "s");
}

TEST_F(OnnxTest, ImportGarbageGivesDiagnostic) {
  std::vector<std::string> messages;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    messages.push_back(d.str());
    return success();
  });
  effc::ImportOptions options;
  std::string garbage = "\x89PNG\r\n\x1a\n\xff\xff\xff\xff\xff";
  EXPECT_FALSE(effc::importOnnxBytes(ctx, garbage, "g.onnx", options));
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find("not a valid ONNX model"), std::string::npos) << messages[0];

  messages.clear();
  std::string truncated = tinyModel().SerializeAsString();
  truncated.resize(truncated.size() - 3);
  EXPECT_FALSE(effc::importOnnxBytes(ctx, truncated, "t.onnx", options));
  EXPECT_EQ(messages.size(), 1u);

  messages.clear();
  EXPECT_FALSE(effc::importOnnxBytes(ctx, "", "e.onnx", options));
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find("empty"), std::string::npos);
}

} // namespace
