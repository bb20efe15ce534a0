//===- LoraAdapterTest.cpp - PEFT LoRA adapters and safetensors files -----===//
//
// The shared PEFT adapters (../shared/lora/<arch>/adapter), synthetic adapters
// exercising PEFT's config semantics, every unsupported option, and malformed
// safetensors files (each must be an error, never a crash).
//
#include "compiler/lora/Adapter.h"
#include "compiler/lora/Json.h"
#include "compiler/lora/PyRegex.h"
#include "compiler/lora/Safetensors.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

using namespace effc::lora;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// The error message of `e` ("" when it holds a value).
template <typename T> std::string errorOf(llvm::Expected<T> e) {
  if (e)
    return "";
  return llvm::toString(e.takeError());
}

// The build's shared data dir (CMake's EFFC_SHARED_DIR, ../shared by default).
std::string sharedLoraDir() { return std::string(EFFC_SHARED_DIR) + "/lora"; }

void appendLE16(std::string &out, uint16_t v) {
  char b[2];
  llvm::support::endian::write16le(b, v);
  out.append(b, 2);
}

void appendLE32(std::string &out, uint32_t v) {
  char b[4];
  llvm::support::endian::write32le(b, v);
  out.append(b, 4);
}

std::string f32Bytes(const std::vector<float> &values) {
  std::string out;
  for (float v : values)
    appendLE32(out, llvm::bit_cast<uint32_t>(v));
  return out;
}

std::string u16Bytes(const std::vector<uint16_t> &values) {
  std::string out;
  for (uint16_t v : values)
    appendLE16(out, v);
  return out;
}

/// Writes safetensors files: tensors laid out contiguously in insertion order.
class SafetensorsWriter {
public:
  SafetensorsWriter &add(const std::string &name, const std::string &dtype,
                         std::vector<int64_t> shape, const std::string &bytes) {
    llvm::json::Array dims;
    for (int64_t d : shape)
      dims.push_back(d);
    header_[name] = llvm::json::Object{
        {"dtype", dtype},
        {"shape", std::move(dims)},
        {"data_offsets",
         llvm::json::Array{int64_t(data_.size()), int64_t(data_.size() + bytes.size())}}};
    data_ += bytes;
    return *this;
  }
  SafetensorsWriter &addF32(const std::string &name, std::vector<int64_t> shape,
                            const std::vector<float> &values) {
    return add(name, "F32", std::move(shape), f32Bytes(values));
  }
  /// A [rows, cols] F32 tensor whose element i is start + i.
  SafetensorsWriter &addRamp(const std::string &name, int64_t rows, int64_t cols, float start = 0) {
    std::vector<float> v(rows * cols);
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = start + float(i);
    return addF32(name, {rows, cols}, v);
  }

  std::string bytes() const {
    llvm::json::Object header = header_;
    header["__metadata__"] = llvm::json::Object{{"format", "pt"}};
    return fromHeader(llvm::formatv("{0}", llvm::json::Value(std::move(header))).str(), data_);
  }

  static std::string fromHeader(const std::string &header, const std::string &data) {
    std::string out;
    char len[8];
    llvm::support::endian::write64le(len, header.size());
    out.append(len, 8);
    return out + header + data;
  }

private:
  llvm::json::Object header_;
  std::string data_;
};

llvm::Expected<SafetensorsFile> parseBytes(const std::string &bytes,
                                           llvm::StringRef path = "t.safetensors") {
  return SafetensorsFile::parse(llvm::MemoryBuffer::getMemBufferCopy(bytes, path), path);
}

/// adapter_config.json as PEFT 0.21 writes it for a Llama q_proj/v_proj adapter.
llvm::json::Object peftConfig() {
  return llvm::json::Object{
      {"alora_invocation_tokens", nullptr},
      {"alpha_pattern", llvm::json::Object{}},
      {"arrow_config", nullptr},
      {"auto_mapping", llvm::json::Object{{"base_model_class", "LlamaForCausalLM"},
                                          {"parent_library", "transformers.models.llama"}}},
      {"base_model_name_or_path", nullptr},
      {"bias", "none"},
      {"corda_config", nullptr},
      {"ensure_weight_tying", false},
      {"eva_config", nullptr},
      {"exclude_modules", nullptr},
      {"fan_in_fan_out", false},
      {"inference_mode", true},
      {"init_lora_weights", false},
      {"kasa_config", nullptr},
      {"layer_replication", nullptr},
      {"layers_pattern", nullptr},
      {"layers_to_transform", nullptr},
      {"loftq_config", llvm::json::Object{}},
      {"lora_alpha", 16},
      {"lora_bias", false},
      {"lora_dropout", 0.0},
      {"lora_ga_config", nullptr},
      {"megatron_config", nullptr},
      {"megatron_core", "megatron.core"},
      {"modules_to_save", nullptr},
      {"monteclora_config", nullptr},
      {"peft_type", "LORA"},
      {"peft_version", "0.21.0"},
      {"qalora_group_size", 16},
      {"r", 8},
      {"rank_pattern", llvm::json::Object{}},
      {"revision", nullptr},
      {"target_modules", llvm::json::Array{"v_proj", "q_proj"}},
      {"target_parameters", nullptr},
      {"task_type", nullptr},
      {"trainable_token_indices", nullptr},
      {"use_bdlora", nullptr},
      {"use_dora", false},
      {"use_qalora", false},
      {"use_rslora", false},
      {"velora_config", nullptr},
  };
}

std::string toJson(llvm::json::Object o) {
  return llvm::formatv("{0:2}", llvm::json::Value(std::move(o))).str();
}

llvm::Expected<AdapterConfig> parseConfig(llvm::json::Object o) {
  return parseAdapterConfig(toJson(std::move(o)), "ADAPTER/adapter_config.json");
}

/// A Llama-like two-layer adapter: q_proj [in 16 -> out 16], v_proj [16 -> 8].
SafetensorsWriter llamaTensors(int64_t rank = 8, std::vector<int> layers = {0, 1}) {
  SafetensorsWriter w;
  for (int l : layers) {
    std::string prefix = "base_model.model.model.layers." + std::to_string(l) + ".self_attn.";
    w.addRamp(prefix + "q_proj.lora_A.weight", rank, 16);
    w.addRamp(prefix + "q_proj.lora_B.weight", 16, rank);
    w.addRamp(prefix + "v_proj.lora_A.weight", rank, 16);
    w.addRamp(prefix + "v_proj.lora_B.weight", 8, rank);
  }
  return w;
}

/// Each test writes its adapters under a fresh temporary directory.
class LoraAdapterTest : public ::testing::Test {
protected:
  void SetUp() override {
    llvm::SmallString<128> dir;
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("effc-lora-test", dir));
    root_ = std::string(dir);
  }
  void TearDown() override { llvm::sys::fs::remove_directories(root_); }

  void writeFile(const std::string &path, const std::string &bytes) {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    ASSERT_FALSE(ec) << path;
    os << bytes;
  }

  /// Writes ROOT/<name>/{adapter_config.json, adapter_model.safetensors}.
  std::string writeAdapter(const std::string &name, const std::string &configJson,
                           const std::string &safetensors) {
    std::string dir = root_ + "/" + name;
    EXPECT_FALSE(llvm::sys::fs::create_directories(dir));
    writeFile(dir + "/adapter_config.json", configJson);
    writeFile(dir + "/adapter_model.safetensors", safetensors);
    return dir;
  }
  std::string writeAdapter(const std::string &name, llvm::json::Object config,
                           const SafetensorsWriter &tensors) {
    return writeAdapter(name, toJson(std::move(config)), tensors.bytes());
  }

  std::string root_;
};

//===----------------------------------------------------------------------===//
// The shared adapters
//===----------------------------------------------------------------------===//

struct SharedCase {
  const char *arch;
  size_t modules;
  int64_t rank;
  double alpha, scale;
  bool fanInFanOut;
  const char *firstKey;
  int64_t firstIn, firstOut;
  const char *onnxPath; // how the exporter names firstKey
};

class SharedAdapterTest : public ::testing::TestWithParam<SharedCase> {};

TEST_P(SharedAdapterTest, Loads) {
  const SharedCase &c = GetParam();
  std::string dir = sharedLoraDir() + "/" + c.arch + "/adapter";
  if (!llvm::sys::fs::is_directory(dir))
    FAIL() << dir << " is missing (the shared data beside the repository)";
  llvm::Expected<LoraAdapter> adapter = loadLoraAdapter(dir, "a");
  ASSERT_TRUE(bool(adapter)) << llvm::toString(adapter.takeError());
  EXPECT_EQ(adapter->name, "a");
  EXPECT_EQ(adapter->dir, dir);
  EXPECT_EQ(adapter->r, c.rank);
  EXPECT_EQ(adapter->loraAlpha, c.alpha);
  EXPECT_EQ(adapter->fanInFanOut, c.fanInFanOut);
  EXPECT_FALSE(adapter->useRslora);
  EXPECT_FALSE(adapter->targetRegex);
  ASSERT_EQ(adapter->modules.size(), c.modules);
  EXPECT_TRUE(
      std::is_sorted(adapter->modules.begin(), adapter->modules.end(),
                     [](const LoraModule &a, const LoraModule &b) { return a.key < b.key; }));
  const LoraModule &first = adapter->modules.front();
  EXPECT_EQ(first.key, c.firstKey);
  EXPECT_EQ(first.inFeatures, c.firstIn);
  EXPECT_EQ(first.outFeatures, c.firstOut);
  EXPECT_TRUE(modulePathMatches(c.onnxPath, first.key));
  EXPECT_EQ(adapter->findModule(c.firstKey), &first);

  // The values are the file's F32 bytes, read here independently.
  std::string weights = dir + "/adapter_model.safetensors";
  auto buffer = llvm::MemoryBuffer::getFile(weights);
  ASSERT_TRUE(bool(buffer));
  llvm::StringRef bytes = (*buffer)->getBuffer();
  uint64_t headerSize = llvm::support::endian::read64le(bytes.data());
  llvm::Expected<llvm::json::Value> header = llvm::json::parse(bytes.substr(8, headerSize));
  ASSERT_TRUE(bool(header));

  for (const LoraModule &m : adapter->modules) {
    SCOPED_TRACE(m.key);
    EXPECT_EQ(m.rank, c.rank);
    EXPECT_EQ(m.alpha, c.alpha);
    EXPECT_DOUBLE_EQ(m.scale, c.scale);
    EXPECT_TRUE(isTargeted(*adapter, m.key));
    ASSERT_EQ(m.a.size(), size_t(m.rank * m.inFeatures));
    ASSERT_EQ(m.b.size(), size_t(m.outFeatures * m.rank));
    const llvm::json::Object *bEntry =
        header->getAsObject()->getObject("base_model.model." + m.key + ".lora_B.weight");
    ASSERT_TRUE(bEntry);
    int64_t begin = *(*bEntry->getArray("data_offsets"))[0].getAsInteger();
    for (size_t i = 0; i < m.b.size(); ++i) {
      float expected;
      std::memcpy(&expected, bytes.data() + 8 + headerSize + begin + 4 * i, 4);
      ASSERT_EQ(m.b[i], expected) << "B element " << i;
    }
    // PEFT's adapters here are random and non-zero (init_lora_weights=false).
    EXPECT_NE(m.a[0], 0.0f);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shared, SharedAdapterTest,
    ::testing::Values(SharedCase{"bert", 4, 8, 8, 1.0, false,
                                 "encoder.layer.0.attention.self.query", 128, 128,
                                 "m.encoder.layer.0.attention.self.query"},
                      SharedCase{"gpt2", 2, 4, 8, 2.0, true, "transformer.h.0.attn.c_attn", 128,
                                 384, "m.transformer.h.0.attn.c_attn"},
                      SharedCase{"llama", 4, 8, 16, 2.0, false, "model.layers.0.self_attn.q_proj",
                                 128, 128, "m.model.layers.0.self_attn.q_proj"}),
    [](const ::testing::TestParamInfo<SharedCase> &info) { return std::string(info.param.arch); });

TEST(SharedAdapter, LlamaVProjIsNarrower) {
  std::string dir = sharedLoraDir() + "/llama/adapter";
  if (!llvm::sys::fs::is_directory(dir))
    FAIL() << dir << " is missing (the shared data beside the repository)";
  llvm::Expected<LoraAdapter> adapter = loadLoraAdapter(dir);
  ASSERT_TRUE(bool(adapter)) << llvm::toString(adapter.takeError());
  EXPECT_EQ(adapter->name, "");
  const LoraModule *v = adapter->findModule("model.layers.1.self_attn.v_proj");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->inFeatures, 128);
  EXPECT_EQ(v->outFeatures, 32);
  EXPECT_EQ(adapter->findModule("model.layers.1.self_attn.k_proj"), nullptr);
  EXPECT_FALSE(isTargeted(*adapter, "model.layers.1.self_attn.k_proj"));
}

//===----------------------------------------------------------------------===//
// Name matching
//===----------------------------------------------------------------------===//

TEST(LoraNames, TargetEntryAndModulePath) {
  EXPECT_TRUE(targetEntryMatches("q_proj", "q_proj"));
  EXPECT_TRUE(targetEntryMatches("q_proj", "model.layers.0.self_attn.q_proj"));
  EXPECT_TRUE(targetEntryMatches("self_attn.q_proj", "model.layers.0.self_attn.q_proj"));
  EXPECT_FALSE(targetEntryMatches("q_proj", "model.layers.0.self_attn.xq_proj"));
  EXPECT_FALSE(targetEntryMatches("q_proj", "model.layers.0.q_proj.inner"));
  EXPECT_FALSE(targetEntryMatches("proj", "q_proj"));
  EXPECT_FALSE(targetEntryMatches("q_proj", ".q_proj2"));

  EXPECT_TRUE(
      modulePathMatches("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.q_proj"));
  EXPECT_TRUE(
      modulePathMatches("m.model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.q_proj"));
  EXPECT_FALSE(
      modulePathMatches("m.model.layers.10.self_attn.q_proj", "model.layers.0.self_attn.q_proj"));
  EXPECT_FALSE(
      modulePathMatches("mmodel.layers.0.self_attn.q_proj", "model.layers.0.self_attn.q_proj"));
  EXPECT_FALSE(modulePathMatches("model.layers.0.self_attn", "model.layers.0.self_attn.q_proj"));
}

TEST(LoraNames, PyRegex) {
  llvm::Expected<PyRegex> re = PyRegex::compile(R"(.*\.(q|v)_proj)");
  ASSERT_TRUE(bool(re));
  EXPECT_TRUE(re->fullMatch("model.layers.0.self_attn.q_proj"));
  EXPECT_FALSE(re->fullMatch("model.layers.0.self_attn.k_proj"));
  EXPECT_FALSE(re->fullMatch("model.layers.0.self_attn.q_proj.base"));
  EXPECT_FALSE(re->fullMatch(std::string(kMaxRegexSubjectLength, 'a') + ".q_proj"));

  llvm::Expected<PyRegex> layer = PyRegex::compile(R"(.*\.[^.]*\.(\d+)\.)");
  ASSERT_TRUE(bool(layer));
  std::string group;
  EXPECT_TRUE(layer->matchPrefix("model.layers.12.mlp.experts.3.w1", &group));
  EXPECT_EQ(group, "3"); // greedy: the last ".<name>.<int>."
  EXPECT_FALSE(layer->matchPrefix("layers.12.mlp", &group));

  EXPECT_NE(errorOf(PyRegex::compile("(")).find("invalid regular expression '('"),
            std::string::npos);
  EXPECT_NE(errorOf(PyRegex::compile("[a-")), "");
  EXPECT_NE(errorOf(PyRegex::compile("(?P<name>x)")),
            ""); // Python-only syntax is refused, not misread
  EXPECT_NE(errorOf(PyRegex::compile("a{2,1}")), "");
}

// Found by effc-fuzz-lora: std::regex accepts a repeat of a repeat, which
// Python refuses ("multiple repeat") or reads as possessive, and its
// backtracking matcher took minutes on the rank_pattern key
// "qvkkk...k*****...kkk_proj" against a name that does not match.
TEST(LoraNames, PyRegexRepeatOfARepeat) {
  for (const char *p : {"k**", "k+*", "k*{2}", "k{2}{3}", "k*??", "(a|b)?*", "k?{,2}"})
    EXPECT_NE(errorOf(PyRegex::compile(p)).find("multiple repeat at position"), std::string::npos)
        << p;
  EXPECT_NE(errorOf(PyRegex::compile("k+*")).find("'k+*': multiple repeat at position 2"),
            std::string::npos); // Python's position
  for (const char *p : {"k*+", "k?+", "k{2}+", "(ab)++"})
    EXPECT_NE(errorOf(PyRegex::compile(p)).find("possessive repeat"), std::string::npos) << p;
  // Single repeats, lazy ones, and repeat characters that are not repeats.
  for (const char *p : {"k*", "k*?", "k+?", "k??", "k{2}", "k{2,}?", "(?:ab)*", "(?=a)a+", R"(\**)",
                        R"(\++)", "[*+?]*", R"([\]*]*)", R"(.*\.(q|v)_proj)", "(a*)b*"})
    EXPECT_EQ(errorOf(PyRegex::compile(p)), "") << p;

  llvm::json::Object o = peftConfig();
  o["rank_pattern"] = llvm::json::Object{
      {"qv" + std::string(30, 'k') + std::string(20, '*') + std::string(30, 'k') + "_proj", 16}};
  EXPECT_NE(errorOf(parseConfig(std::move(o))).find("rank_pattern key 'qvkk"), std::string::npos);
}

//===----------------------------------------------------------------------===//
// adapter_config.json semantics
//===----------------------------------------------------------------------===//

TEST(LoraConfig, TargetListAndLayers) {
  llvm::json::Object o = peftConfig();
  o["target_modules"] =
      llvm::json::Array{"q_proj", "mlp.down_proj", "model.layers.5.self_attn.k_proj"};
  o["layers_to_transform"] = llvm::json::Array{1, 3};
  llvm::Expected<AdapterConfig> c = parseConfig(std::move(o));
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->layersToTransform, (std::vector<int64_t>{1, 3}));
  EXPECT_TRUE(isTargeted(*c, "model.layers.1.self_attn.q_proj"));
  EXPECT_TRUE(isTargeted(*c, "model.layers.3.mlp.down_proj"));
  EXPECT_FALSE(isTargeted(*c, "model.layers.0.self_attn.q_proj"));
  EXPECT_FALSE(isTargeted(*c, "model.layers.1.self_attn.v_proj"));
  EXPECT_FALSE(isTargeted(*c, "model.layers.1.self_attn.xq_proj"));
  // An exact name is targeted even outside layers_to_transform (PEFT checks
  // `key in target_modules` before the layer filter).
  EXPECT_TRUE(isTargeted(*c, "model.layers.5.self_attn.k_proj"));
  // No ".<name>.<int>." in the name: no layer index, not targeted.
  EXPECT_FALSE(isTargeted(*c, "lm_head.q_proj"));

  EXPECT_EQ(layerIndexOf(*c, "model.layers.7.self_attn.q_proj"), 7);
  EXPECT_EQ(layerIndexOf(*c, "transformer.h.11.attn.c_attn"), 11);
  EXPECT_EQ(layerIndexOf(*c, "model.layers.2.mlp.experts.5.w1"),
            5); // the last one, as PEFT's greedy regex
  EXPECT_EQ(layerIndexOf(*c, "q_proj"), std::nullopt);
}

TEST(LoraConfig, LayersPatternAndSingleLayer) {
  llvm::json::Object o = peftConfig();
  o["target_modules"] = llvm::json::Array{"w1"};
  o["layers_to_transform"] = 2;
  o["layers_pattern"] = "layers";
  llvm::Expected<AdapterConfig> c = parseConfig(std::move(o));
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->layersToTransform, (std::vector<int64_t>{2}));
  EXPECT_EQ(layerIndexOf(*c, "model.layers.2.mlp.experts.5.w1"), 2);
  EXPECT_TRUE(isTargeted(*c, "model.layers.2.mlp.experts.5.w1"));
  EXPECT_FALSE(isTargeted(*c, "model.layers.5.mlp.experts.2.w1"));
  EXPECT_FALSE(isTargeted(*c, "model.blocks.2.mlp.w1")); // pattern "layers" does not name "blocks"

  o = peftConfig();
  o["target_modules"] = llvm::json::Array{"c_attn"};
  o["layers_to_transform"] = llvm::json::Array{0};
  o["layers_pattern"] = llvm::json::Array{"layers", "h"};
  c = parseConfig(std::move(o));
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_TRUE(isTargeted(*c, "transformer.h.0.attn.c_attn"));
  EXPECT_FALSE(isTargeted(*c, "transformer.h.1.attn.c_attn"));

  // An empty list means every layer.
  o = peftConfig();
  o["layers_to_transform"] = llvm::json::Array{};
  c = parseConfig(std::move(o));
  ASSERT_TRUE(bool(c));
  EXPECT_TRUE(isTargeted(*c, "model.layers.9.self_attn.q_proj"));
}

TEST(LoraConfig, RegexTargetAndExclude) {
  llvm::json::Object o = peftConfig();
  o["target_modules"] = R"(.*\.layers\.[01]\.self_attn\.(q|v)_proj)";
  llvm::Expected<AdapterConfig> c = parseConfig(std::move(o));
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  ASSERT_TRUE(c->targetRegex);
  EXPECT_TRUE(c->targetModules.empty());
  EXPECT_TRUE(isTargeted(*c, "model.layers.1.self_attn.v_proj"));
  EXPECT_FALSE(isTargeted(*c, "model.layers.2.self_attn.v_proj"));
  EXPECT_FALSE(isTargeted(*c, "model.layers.1.self_attn.v_proj.lora_A")); // full match
  EXPECT_FALSE(isTargeted(*c, "xmodel.layers.1.self_attn.k_proj"));

  o = peftConfig();
  o["target_modules"] = llvm::json::Array{"q_proj", "v_proj"};
  o["exclude_modules"] = llvm::json::Array{"layers.0.self_attn.q_proj"};
  c = parseConfig(std::move(o));
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_FALSE(isTargeted(*c, "model.layers.0.self_attn.q_proj"));
  EXPECT_TRUE(isTargeted(*c, "model.layers.0.self_attn.v_proj"));
  EXPECT_TRUE(isTargeted(*c, "model.layers.10.self_attn.q_proj"));

  o = peftConfig();
  o["exclude_modules"] = R"(.*layers\.1\..*)";
  c = parseConfig(std::move(o));
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_FALSE(isTargeted(*c, "model.layers.1.self_attn.q_proj"));
  EXPECT_TRUE(isTargeted(*c, "model.layers.0.self_attn.q_proj"));
}

TEST(LoraConfig, RankAndAlphaPatterns) {
  llvm::json::Object o = peftConfig();
  o["rank_pattern"] = llvm::json::Object{{"layers.1.self_attn.q_proj", 2}, {"v_proj", 4}};
  o["alpha_pattern"] = llvm::json::Object{{"q_proj", 32}, {"model.layers.0.self_attn.v_proj", 1.5}};
  llvm::Expected<AdapterConfig> c = parseConfig(std::move(o));
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(rankForModule(*c, "model.layers.1.self_attn.q_proj"), 2);
  EXPECT_EQ(rankForModule(*c, "model.layers.11.self_attn.q_proj"), 8); // ".1." is not ".11."
  EXPECT_EQ(rankForModule(*c, "model.layers.0.self_attn.q_proj"), 8);
  EXPECT_EQ(rankForModule(*c, "model.layers.0.self_attn.v_proj"), 4);
  EXPECT_EQ(rankForModule(*c, "model.layers.0.self_attn.xv_proj"), 8); // a pattern starts at a '.'
  EXPECT_EQ(alphaForModule(*c, "model.layers.0.self_attn.q_proj"), 32);
  EXPECT_EQ(alphaForModule(*c, "model.layers.0.self_attn.v_proj"), 1.5);
  EXPECT_EQ(alphaForModule(*c, "model.layers.1.self_attn.v_proj"), 16);

  // Regex keys; the first matching key in sorted order wins, as PEFT reads
  // the sort_keys=True file it wrote.
  o = peftConfig();
  o["rank_pattern"] = llvm::json::Object{{R"(layers\.[0-3]\..*_proj)", 2}, {"q_proj", 6}};
  c = parseConfig(std::move(o));
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(rankForModule(*c, "model.layers.3.self_attn.q_proj"), 2);
  EXPECT_EQ(rankForModule(*c, "model.layers.4.self_attn.q_proj"), 6);
  EXPECT_EQ(rankForModule(*c, "model.layers.4.self_attn.v_proj"), 8);
}

TEST(LoraConfig, UnsupportedOptions) {
  struct Case {
    const char *key;
    llvm::json::Value value;
    const char *shown;
  };
  std::vector<Case> cases;
  cases.push_back({"use_dora", true, "true"});
  cases.push_back({"lora_bias", true, "true"});
  cases.push_back({"bias", "all", "\"all\""});
  cases.push_back({"bias", "lora_only", "\"lora_only\""});
  cases.push_back({"modules_to_save", llvm::json::Array{"classifier"}, "[\"classifier\"]"});
  cases.push_back({"layer_replication",
                   llvm::json::Array{llvm::json::Value(llvm::json::Array{0, 2})}, "[[0,2]]"});
  cases.push_back({"use_qalora", true, "true"});
  cases.push_back({"target_parameters", llvm::json::Array{"experts.gate_up_proj"},
                   "[\"experts.gate_up_proj\"]"});
  cases.push_back({"trainable_token_indices", llvm::json::Array{1, 2}, "[1,2]"});
  cases.push_back({"alora_invocation_tokens", llvm::json::Array{7}, "[7]"});
  cases.push_back({"peft_type", "LOHA", "\"LOHA\""});
  cases.push_back({"arrow_config", llvm::json::Object{{"top_k", 3}}, "{\"top_k\":3}"});
  cases.push_back({"use_bdlora", llvm::json::Object{{"nblocks", 2}}, "{\"nblocks\":2}"});
  cases.push_back({"some_future_option", 1, "1"});
  for (Case &c : cases) {
    SCOPED_TRACE(c.key);
    llvm::json::Object o = peftConfig();
    o[c.key] = std::move(c.value);
    std::string err = errorOf(parseConfig(std::move(o)));
    EXPECT_EQ(err, std::string("ADAPTER/adapter_config.json: unsupported option '") + c.key +
                       "': " + c.shown + " (effc implements plain LoRA)");
  }
}

TEST(LoraConfig, OffOptionsAreAccepted) {
  llvm::json::Object o = peftConfig();
  o["modules_to_save"] = llvm::json::Array{};
  o["layer_replication"] = llvm::json::Array{};
  o["trainable_token_indices"] = llvm::json::Object{};
  o["some_future_option"] = nullptr;
  o["init_lora_weights"] = "gaussian";
  o["lora_dropout"] = 0.1;
  o["task_type"] = "CAUSAL_LM";
  o.erase("bias");
  o.erase("use_dora");
  llvm::Expected<AdapterConfig> c = parseConfig(std::move(o));
  EXPECT_EQ(errorOf(std::move(c)), "");
}

TEST(LoraConfig, MalformedValues) {
  struct Case {
    const char *key;
    std::optional<llvm::json::Value> value; // nullopt: removed
    const char *message;
  };
  std::vector<Case> cases;
  cases.push_back({"r", std::nullopt, "missing 'r'"});
  cases.push_back({"lora_alpha", std::nullopt, "missing 'lora_alpha'"});
  cases.push_back({"target_modules", std::nullopt, "missing 'target_modules'"});
  cases.push_back({"peft_type", std::nullopt, "missing 'peft_type'"});
  cases.push_back({"r", "8", "'r' must be a positive integer, got \"8\""});
  cases.push_back({"r", 0, "'r' must be a positive integer, got 0"});
  cases.push_back({"r", -4, "'r' must be a positive integer"});
  cases.push_back({"r", 2.5, "'r' must be a positive integer"});
  cases.push_back({"lora_alpha", "16", "'lora_alpha' must be a number"});
  cases.push_back({"fan_in_fan_out", "yes", "'fan_in_fan_out' must be true or false"});
  cases.push_back({"use_rslora", 1, "'use_rslora' must be true or false"});
  cases.push_back({"target_modules", 3, "'target_modules' must be a list"});
  cases.push_back(
      {"target_modules", llvm::json::Array{"q_proj", 1}, "'target_modules' must be a list"});
  cases.push_back(
      {"target_modules", "(q|v", "'target_modules': invalid regular expression '(q|v'"});
  cases.push_back({"target_modules", "all-linear", "\"all-linear\" is not resolved"});
  cases.push_back({"exclude_modules", "[", "'exclude_modules': invalid regular expression"});
  cases.push_back(
      {"layers_to_transform", "1", "'layers_to_transform' must be an integer or a list"});
  cases.push_back(
      {"layers_to_transform", llvm::json::Array{1, "2"}, "'layers_to_transform' must be"});
  cases.push_back(
      {"layers_pattern", "layers", "'layers_pattern' is given without 'layers_to_transform'"});
  cases.push_back({"layers_pattern", 3, "'layers_pattern' must be a string or a list of strings"});
  cases.push_back({"rank_pattern", llvm::json::Array{}, "'rank_pattern' must be an object"});
  cases.push_back({"rank_pattern", llvm::json::Object{{"q_proj", 0}},
                   "'rank_pattern[\"q_proj\"]' must be a positive integer"});
  cases.push_back({"rank_pattern", llvm::json::Object{{"q_proj(", 4}},
                   "rank_pattern key 'q_proj(': invalid regular expression"});
  cases.push_back({"alpha_pattern", llvm::json::Object{{"q_proj", "x"}},
                   "'alpha_pattern[\"q_proj\"]' must be a number"});
  cases.push_back({"alpha_pattern", llvm::json::Object{{"*", 2}},
                   "alpha_pattern key '*': invalid regular expression"});
  for (Case &c : cases) {
    SCOPED_TRACE(std::string(c.key) + " " + c.message);
    llvm::json::Object o = peftConfig();
    if (c.value)
      o[c.key] = std::move(*c.value);
    else
      o.erase(c.key);
    std::string err = errorOf(parseConfig(std::move(o)));
    EXPECT_EQ(err.rfind("ADAPTER/adapter_config.json: ", 0), 0u) << err;
    EXPECT_NE(err.find(c.message), std::string::npos) << err;
  }

  // Combinations PEFT itself refuses.
  llvm::json::Object o = peftConfig();
  o["target_modules"] = ".*q_proj";
  o["layers_to_transform"] = 1;
  EXPECT_NE(errorOf(parseConfig(std::move(o))).find("'layers_to_transform' cannot be used"),
            std::string::npos);

  EXPECT_NE(errorOf(parseAdapterConfig("{\"r\": ", "C")).find("C: invalid JSON"),
            std::string::npos);
  EXPECT_NE(errorOf(parseAdapterConfig("[1]", "C")).find("C: not a JSON object"),
            std::string::npos);
  EXPECT_NE(errorOf(parseAdapterConfig(std::string(100000, '['), "C")).find("nested deeper"),
            std::string::npos);
  EXPECT_NE(errorOf(parseAdapterConfig("{\"r\": \"\xff\"}", "C")).find("C: invalid JSON"),
            std::string::npos);
}

//===----------------------------------------------------------------------===//
// Synthetic adapters
//===----------------------------------------------------------------------===//

TEST_F(LoraAdapterTest, HalfAndBfloat16Tensors) {
  // F16: 1, -2, 0.5, 65504, 2^-24 (subnormal), -0; BF16: 1, -2, 0.15625, 3, 2^-133 (subnormal),
  // -inf, 1, 0.
  SafetensorsWriter w;
  w.add("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", "F16", {2, 3},
        u16Bytes({0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x8000}));
  w.add("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", "BF16", {4, 2},
        u16Bytes({0x3F80, 0xC000, 0x3E20, 0x4040, 0x0001, 0xFF80, 0x3F80, 0x0000}));
  llvm::json::Object o = peftConfig();
  o["r"] = 2;
  std::string dir = writeAdapter("half", std::move(o), w);
  llvm::Expected<LoraAdapter> adapter = loadLoraAdapter(dir);
  ASSERT_TRUE(bool(adapter)) << llvm::toString(adapter.takeError());
  ASSERT_EQ(adapter->modules.size(), 1u);
  const LoraModule &m = adapter->modules[0];
  EXPECT_EQ(m.key, "model.layers.0.self_attn.q_proj");
  EXPECT_EQ(m.rank, 2);
  EXPECT_EQ(m.inFeatures, 3);
  EXPECT_EQ(m.outFeatures, 4);
  EXPECT_EQ(m.scale, 8.0);
  EXPECT_EQ(m.a, (std::vector<float>{1, -2, 0.5, 65504, std::ldexp(1.0f, -24), -0.0f}));
  EXPECT_TRUE(std::signbit(m.a[5]));
  EXPECT_EQ(m.b, (std::vector<float>{1, -2, 0.15625f, 3, std::ldexp(1.0f, -133),
                                     -std::numeric_limits<float>::infinity(), 1, 0}));
}

TEST(LoraConversions, EveryHalfAndBfloat16Value) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    bool lost;
    llvm::APFloat half(llvm::APFloat::IEEEhalf(), llvm::APInt(16, bits));
    half.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven, &lost);
    float got = halfToFloat(uint16_t(bits));
    if (half.isNaN())
      ASSERT_TRUE(std::isnan(got)) << bits;
    else
      ASSERT_EQ(llvm::bit_cast<uint32_t>(got), llvm::bit_cast<uint32_t>(half.convertToFloat()))
          << bits;

    llvm::APFloat bf(llvm::APFloat::BFloat(), llvm::APInt(16, bits));
    bf.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven, &lost);
    got = bfloat16ToFloat(uint16_t(bits));
    if (bf.isNaN())
      ASSERT_TRUE(std::isnan(got)) << bits;
    else
      ASSERT_EQ(llvm::bit_cast<uint32_t>(got), llvm::bit_cast<uint32_t>(bf.convertToFloat()))
          << bits;
  }
}

TEST_F(LoraAdapterTest, RsLoraScale) {
  llvm::json::Object o = peftConfig();
  o["use_rslora"] = true;
  o["r"] = 4;
  o["lora_alpha"] = 8;
  llvm::Expected<LoraAdapter> adapter =
      loadLoraAdapter(writeAdapter("rs", std::move(o), llamaTensors(4)));
  ASSERT_TRUE(bool(adapter)) << llvm::toString(adapter.takeError());
  ASSERT_EQ(adapter->modules.size(), 4u);
  for (const LoraModule &m : adapter->modules)
    EXPECT_DOUBLE_EQ(m.scale, 4.0); // 8 / sqrt(4)
}

TEST_F(LoraAdapterTest, RankAndAlphaPatterns) {
  SafetensorsWriter w;
  std::string p0 = "base_model.model.model.layers.0.self_attn.",
              p1 = "base_model.model.model.layers.1.self_attn.";
  w.addRamp(p0 + "q_proj.lora_A.weight", 8, 16).addRamp(p0 + "q_proj.lora_B.weight", 16, 8);
  w.addRamp(p1 + "q_proj.lora_A.weight", 2, 16).addRamp(p1 + "q_proj.lora_B.weight", 16, 2);
  w.addRamp(p0 + "v_proj.lora_A.weight", 4, 16).addRamp(p0 + "v_proj.lora_B.weight", 8, 4);
  llvm::json::Object o = peftConfig();
  o["rank_pattern"] = llvm::json::Object{{"layers.1.self_attn.q_proj", 2}, {"v_proj", 4}};
  o["alpha_pattern"] = llvm::json::Object{{"q_proj", 32}};
  o["use_rslora"] = true;
  llvm::Expected<LoraAdapter> adapter = loadLoraAdapter(writeAdapter("patterns", std::move(o), w));
  ASSERT_TRUE(bool(adapter)) << llvm::toString(adapter.takeError());
  ASSERT_EQ(adapter->modules.size(), 3u);
  const LoraModule *q0 = adapter->findModule("model.layers.0.self_attn.q_proj");
  const LoraModule *q1 = adapter->findModule("model.layers.1.self_attn.q_proj");
  const LoraModule *v0 = adapter->findModule("model.layers.0.self_attn.v_proj");
  ASSERT_TRUE(q0 && q1 && v0);
  EXPECT_EQ(q0->rank, 8);
  EXPECT_EQ(q0->alpha, 32);
  EXPECT_DOUBLE_EQ(q0->scale, 32 / std::sqrt(8.0));
  EXPECT_EQ(q1->rank, 2);
  EXPECT_DOUBLE_EQ(q1->scale, 32 / std::sqrt(2.0));
  EXPECT_EQ(v0->rank, 4);
  EXPECT_EQ(v0->alpha, 16);
  EXPECT_DOUBLE_EQ(v0->scale, 8.0);
  EXPECT_EQ(q1->a[0], 0.0f);
  EXPECT_EQ(q1->a[31], 31.0f);

  // The same tensors without the rank_pattern: layer 1's q_proj has rank 2, not r = 8.
  o = peftConfig();
  o["rank_pattern"] = llvm::json::Object{{"v_proj", 4}};
  EXPECT_EQ(errorOf(loadLoraAdapter(writeAdapter("nopattern", std::move(o), w))),
            root_ +
                "/nopattern/adapter_model.safetensors: module 'model.layers.1.self_attn.q_proj' "
                "has rank 2 but " +
                root_ + "/nopattern/adapter_config.json gives it rank 8 (r / rank_pattern)");
}

TEST_F(LoraAdapterTest, RegexTargetAndLayersToTransform) {
  llvm::json::Object o = peftConfig();
  o["target_modules"] = R"(.*\.layers\.1\.self_attn\.(q|v)_proj)";
  EXPECT_EQ(errorOf(loadLoraAdapter(writeAdapter("re1", std::move(o), llamaTensors(8, {1})))), "");

  o = peftConfig();
  o["target_modules"] = R"(.*\.layers\.1\.self_attn\.(q|v)_proj)";
  std::string err =
      errorOf(loadLoraAdapter(writeAdapter("re01", std::move(o), llamaTensors(8, {0, 1}))));
  EXPECT_NE(err.find("module 'model.layers.0.self_attn.q_proj' has LoRA weights but " + root_ +
                     "/re01/adapter_config.json does not target it"),
            std::string::npos)
      << err;

  o = peftConfig();
  o["layers_to_transform"] = 1;
  llvm::Expected<LoraAdapter> one =
      loadLoraAdapter(writeAdapter("l1", std::move(o), llamaTensors(8, {1})));
  ASSERT_TRUE(bool(one)) << llvm::toString(one.takeError());
  EXPECT_EQ(one->modules.size(), 2u);
  EXPECT_EQ(one->layersToTransform, (std::vector<int64_t>{1}));

  o = peftConfig();
  o["layers_to_transform"] = llvm::json::Array{1};
  o["layers_pattern"] = "layers";
  err = errorOf(loadLoraAdapter(writeAdapter("l01", std::move(o), llamaTensors(8, {0, 1}))));
  EXPECT_NE(err.find("module 'model.layers.0.self_attn.q_proj' has LoRA weights but"),
            std::string::npos)
      << err;

  o = peftConfig();
  o["exclude_modules"] = llvm::json::Array{"v_proj"};
  err = errorOf(loadLoraAdapter(writeAdapter("ex", std::move(o), llamaTensors())));
  EXPECT_NE(err.find("module 'model.layers.0.self_attn.v_proj' has LoRA weights but"),
            std::string::npos)
      << err;
}

TEST_F(LoraAdapterTest, UnprefixedTensorNames) {
  SafetensorsWriter w;
  w.addRamp("encoder.layer.0.attention.self.query.lora_A.weight", 8, 4);
  w.addRamp("encoder.layer.0.attention.self.query.lora_B.weight", 4, 8);
  llvm::json::Object o = peftConfig();
  o["target_modules"] = llvm::json::Array{"query"};
  llvm::Expected<LoraAdapter> adapter = loadLoraAdapter(writeAdapter("bare", std::move(o), w));
  ASSERT_TRUE(bool(adapter)) << llvm::toString(adapter.takeError());
  ASSERT_EQ(adapter->modules.size(), 1u);
  EXPECT_EQ(adapter->modules[0].key, "encoder.layer.0.attention.self.query");
}

TEST_F(LoraAdapterTest, BadTensors) {
  const std::string q = "base_model.model.model.layers.0.self_attn.q_proj.";
  struct Case {
    const char *what;
    SafetensorsWriter tensors;
    std::string message;
  };
  std::vector<Case> cases;
  cases.push_back(
      {"A without B", SafetensorsWriter().addRamp(q + "lora_A.weight", 8, 16),
       "module 'model.layers.0.self_attn.q_proj' has lora_A.weight but no lora_B.weight"});
  cases.push_back(
      {"B without A", SafetensorsWriter().addRamp(q + "lora_B.weight", 16, 8),
       "module 'model.layers.0.self_attn.q_proj' has lora_B.weight but no lora_A.weight"});
  cases.push_back(
      {"embedding",
       SafetensorsWriter().addRamp("base_model.model.model.embed_tokens.lora_embedding_A", 8, 16),
       "tensor 'base_model.model.model.embed_tokens.lora_embedding_A' is not a LoRA weight"});
  cases.push_back(
      {"dora",
       llamaTensors().addF32(q + "lora_magnitude_vector", {16}, std::vector<float>(16, 1.0f)),
       "tensor '" + q + "lora_magnitude_vector' is not a LoRA weight"});
  cases.push_back({"lora bias",
                   llamaTensors().addF32(q + "lora_B.bias", {16}, std::vector<float>(16, 1.0f)),
                   "tensor '" + q + "lora_B.bias' is not a LoRA weight"});
  cases.push_back(
      {"rank mismatch",
       SafetensorsWriter().addRamp(q + "lora_A.weight", 8, 16).addRamp(q + "lora_B.weight", 16, 4),
       "module 'model.layers.0.self_attn.q_proj': lora_A.weight [8, 16] and lora_B.weight [16, 4] "
       "are not"});
  cases.push_back(
      {"conv",
       SafetensorsWriter()
           .addF32(q + "lora_A.weight", {8, 16, 1, 1}, std::vector<float>(128))
           .addRamp(q + "lora_B.weight", 16, 8),
       "tensor '" + q + "lora_A.weight' has shape [8, 16, 1, 1], expected [rank, in_features]"});
  cases.push_back(
      {"zero rank",
       SafetensorsWriter().addRamp(q + "lora_A.weight", 0, 16).addRamp(q + "lora_B.weight", 16, 0),
       "are not [rank, in_features] and [out_features, rank] of one rank > 0"});
  cases.push_back(
      {"f64",
       SafetensorsWriter()
           .add(q + "lora_A.weight", "F64", {8, 16}, std::string(8 * 16 * 8, '\0'))
           .addRamp(q + "lora_B.weight", 16, 8),
       "tensor '" + q +
           "lora_A.weight': dtype F64 is not supported (effc reads F32, F16 and BF16)"});
  cases.push_back({"duplicate",
                   SafetensorsWriter()
                       .addRamp(q + "lora_A.weight", 8, 16)
                       .addRamp("model.layers.0.self_attn.q_proj.lora_A.weight", 8, 16)
                       .addRamp(q + "lora_B.weight", 16, 8),
                   "are the same weight of module 'model.layers.0.self_attn.q_proj'"});
  cases.push_back({"no name", SafetensorsWriter().addRamp("base_model.model..lora_A.weight", 8, 16),
                   "has no usable module name"});
  cases.push_back({"empty", SafetensorsWriter(), "holds no LoRA weights"});
  cases.push_back({"untargeted",
                   llamaTensors()
                       .addRamp("base_model.model.lm_head.lora_A.weight", 8, 16)
                       .addRamp("base_model.model.lm_head.lora_B.weight", 32, 8),
                   "module 'lm_head' has LoRA weights but"});
  int i = 0;
  for (Case &c : cases) {
    SCOPED_TRACE(c.what);
    std::string dir = writeAdapter("bad" + std::to_string(i++), peftConfig(), c.tensors);
    std::string err = errorOf(loadLoraAdapter(dir));
    EXPECT_EQ(err.rfind(dir + "/adapter_model.safetensors: ", 0), 0u) << err;
    EXPECT_NE(err.find(c.message), std::string::npos) << err;
  }
}

TEST_F(LoraAdapterTest, UnsupportedOptionNamesTheConfigFile) {
  llvm::json::Object o = peftConfig();
  o["use_dora"] = true;
  std::string dir = writeAdapter("dora", std::move(o), llamaTensors());
  EXPECT_EQ(
      errorOf(loadLoraAdapter(dir)),
      dir +
          "/adapter_config.json: unsupported option 'use_dora': true (effc implements plain LoRA)");
}

TEST_F(LoraAdapterTest, MissingFiles) {
  std::string err = errorOf(loadLoraAdapter(root_ + "/nowhere"));
  EXPECT_EQ(err.rfind(root_ + "/nowhere: not a directory", 0), 0u) << err;

  std::string dir = root_ + "/empty";
  ASSERT_FALSE(llvm::sys::fs::create_directories(dir));
  err = errorOf(loadLoraAdapter(dir));
  EXPECT_EQ(err.rfind(dir + "/adapter_config.json: cannot read: ", 0), 0u) << err;

  writeFile(dir + "/adapter_config.json", toJson(peftConfig()));
  err = errorOf(loadLoraAdapter(dir));
  EXPECT_EQ(err.rfind(dir + "/adapter_model.safetensors: cannot read: ", 0), 0u) << err;

  writeFile(dir + "/adapter_model.bin", "pickle");
  err = errorOf(loadLoraAdapter(dir));
  EXPECT_NE(err.find("adapter_model.bin (a PyTorch pickle) is not supported"), std::string::npos)
      << err;
}

//===----------------------------------------------------------------------===//
// Safetensors files
//===----------------------------------------------------------------------===//

/// Three small tensors and metadata.
std::string smallFile() {
  return SafetensorsWriter()
      .addF32("w", {2, 3}, {1, 2, 3, 4, 5, 6})
      .add("h", "F16", {3}, u16Bytes({0x3C00, 0x4000, 0x4200}))
      .add("i", "I32", {}, f32Bytes({0}))
      .bytes();
}

TEST(Safetensors, Parses) {
  llvm::Expected<SafetensorsFile> f = parseBytes(smallFile());
  ASSERT_TRUE(bool(f)) << llvm::toString(f.takeError());
  ASSERT_EQ(f->tensors().size(), 3u);
  EXPECT_EQ(f->tensors()[0].name, "h"); // sorted by name
  EXPECT_EQ(f->metadata().at("format"), "pt");
  const SafetensorInfo *w = f->find("w");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->dtype, "F32");
  EXPECT_EQ(w->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(w->numElements, 6u);
  EXPECT_EQ(w->end - w->begin, 24u);
  llvm::Expected<std::vector<float>> wv = f->readAsFloat32(*w);
  ASSERT_TRUE(bool(wv));
  EXPECT_EQ(*wv, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  llvm::Expected<std::vector<float>> hv = f->readAsFloat32(*f->find("h"));
  ASSERT_TRUE(bool(hv));
  EXPECT_EQ(*hv, (std::vector<float>{1, 2, 3}));
  const SafetensorInfo *scalar = f->find("i");
  ASSERT_TRUE(scalar);
  EXPECT_TRUE(scalar->shape.empty());
  EXPECT_EQ(scalar->numElements, 1u);
  EXPECT_EQ(errorOf(f->readAsFloat32(*scalar)),
            "t.safetensors: tensor 'i': dtype I32 is not supported (effc reads F32, F16 and BF16)");
  EXPECT_EQ(f->find("x"), nullptr);

  // The format allows trailing spaces in the header.
  std::string padded = SafetensorsWriter::fromHeader(
      R"({"w":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}    )", u16Bytes({0x3F80}));
  llvm::Expected<SafetensorsFile> p = parseBytes(padded);
  ASSERT_TRUE(bool(p)) << llvm::toString(p.takeError());
  EXPECT_EQ(*p->readAsFloat32(p->tensors()[0]), std::vector<float>{1.0f});

  EXPECT_EQ(errorOf(SafetensorsFile::open("/nonexistent/x.safetensors"))
                .rfind("/nonexistent/x.safetensors: cannot read: ", 0),
            0u);
}

TEST(Safetensors, EveryTruncationIsAnError) {
  std::string bytes = smallFile();
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::string err = errorOf(parseBytes(bytes.substr(0, n)));
    ASSERT_EQ(err.rfind("t.safetensors: ", 0), 0u) << "truncated to " << n << ": " << err;
  }
  EXPECT_EQ(errorOf(parseBytes(bytes)), "");
  EXPECT_NE(errorOf(parseBytes(bytes + "x")), ""); // a trailing byte no tensor covers
}

TEST(Safetensors, FlippedBytesNeverCrash) {
  std::string bytes = smallFile();
  int errors = 0, parsed = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (uint8_t mask : {0x01, 0x02, 0x10, 0x20, 0x80, 0xff}) {
      std::string flipped = bytes;
      flipped[i] = char(flipped[i] ^ mask);
      llvm::Expected<SafetensorsFile> f = parseBytes(flipped);
      if (!f) {
        ++errors;
        llvm::consumeError(f.takeError());
        continue;
      }
      ++parsed;
      for (const SafetensorInfo &t : f->tensors()) {
        llvm::Expected<std::vector<float>> v = f->readAsFloat32(t);
        if (v)
          EXPECT_EQ(v->size(), t.numElements);
        else
          llvm::consumeError(v.takeError());
      }
    }
  }
  EXPECT_GT(errors, 0);
  EXPECT_GT(parsed, 0); // flips in the data section and some in names still parse
}

TEST(Safetensors, MalformedHeaders) {
  const std::string data24(24, '\0');
  struct Case {
    std::string header;
    std::string data;
    const char *message;
  };
  std::vector<Case> cases = {
      {"", "", "header is not valid JSON"},
      {"not json", "", "header is not valid JSON"},
      {"[]", "", "header is not a JSON object"},
      {std::string(100000, '['), "", "nested deeper than 64 levels"},
      {std::string(100000, '{'), "", "nested deeper than 64 levels"},
      {R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},)", data24,
       "header is not valid JSON"},
      {"{\"w\xff\": 1}", "", "header is not valid JSON"},
      {R"({"__metadata__": 3})", "", "'__metadata__' is 3, not an object"},
      {R"({"__metadata__": {"format": 1}})", "",
       "'__metadata__' entry 'format' is 1, not a string"},
      {R"({"w": 3})", "", "tensor 'w': header entry is 3, not an object"},
      {R"({"w": {"shape": [2, 3], "data_offsets": [0, 24]}})", data24,
       "tensor 'w': missing string 'dtype'"},
      {R"({"w": {"dtype": "F128", "shape": [2, 3], "data_offsets": [0, 24]}})", data24,
       "tensor 'w': unknown dtype 'F128'"},
      {R"({"w": {"dtype": "F4", "shape": [2], "data_offsets": [0, 1]}})", std::string(1, '\0'),
       "tensor 'w': unknown dtype 'F4'"},
      {R"({"w": {"dtype": "F32", "data_offsets": [0, 24]}})", data24,
       "tensor 'w': missing array 'shape'"},
      {R"({"w": {"dtype": "F32", "shape": [2, -3], "data_offsets": [0, 24]}})", data24,
       "tensor 'w': shape entry -3 is not a non-negative integer"},
      {R"({"w": {"dtype": "F32", "shape": [2, 1.5], "data_offsets": [0, 24]}})", data24,
       "tensor 'w': shape entry 1.5 is not a non-negative integer"},
      {R"({"w": {"dtype": "F32", "shape": [2, "3"], "data_offsets": [0, 24]}})", data24,
       "is not a non-negative integer"},
      {R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 24]}})",
       data24, "tensor 'w': shape [4294967296,4294967296] has more elements than fit in 64 bits"},
      {R"({"w": {"dtype": "F64", "shape": [4611686018427387904], "data_offsets": [0, 24]}})",
       data24, "tensor 'w': size in bytes does not fit in 64 bits"},
      {R"({"w": {"dtype": "F32", "shape": [2, 3]}})", data24,
       "tensor 'w': 'data_offsets' must be an array"},
      {R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 12, 24]}})", data24,
       "'data_offsets' must be an array [begin, end]"},
      {R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [-24, 0]}})", data24,
       "data_offsets [-24,0] are not non-negative integers"},
      {R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 18446744073709551615]}})",
       data24, "are not non-negative integers"},
      {R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [24, 0]}})", data24,
       "data_offsets [24, 0] end before they begin"},
      {R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 48]}})", data24,
       "data_offsets [0, 48] run past the 24-byte data section"},
      {R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}})", data24,
       "data_offsets [0, 20] hold 20 bytes but F32 [2,3] needs 24"},
      {R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
           "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}})",
       data24, "tensor 'b': data_offsets [8, 24] overlap another tensor's bytes (which end at 16)"},
      {R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
           "b": {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]}})",
       data24, "tensor 'b': data_offsets [16, 24] leave bytes [8, 16) of the data section unused"},
      {R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", data24,
       "the tensors cover 16 bytes of the 24-byte data section"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.message);
    std::string err = errorOf(parseBytes(SafetensorsWriter::fromHeader(c.header, c.data)));
    EXPECT_EQ(err.rfind("t.safetensors: ", 0), 0u) << err;
    EXPECT_NE(err.find(c.message), std::string::npos) << err;
  }

  // Header lengths that do not fit the file.
  std::string file = smallFile();
  for (uint64_t length :
       {uint64_t(-1), uint64_t(1) << 63, kMaxSafetensorsHeaderBytes + 1, uint64_t(file.size())}) {
    std::string bad = file;
    llvm::support::endian::write64le(bad.data(), length);
    std::string err = errorOf(parseBytes(bad));
    EXPECT_NE(err.find(length > kMaxSafetensorsHeaderBytes ? "exceeds the format's limit"
                                                           : "runs past the end of the"),
              std::string::npos)
        << err;
  }
  EXPECT_EQ(errorOf(parseBytes("abc")),
            "t.safetensors: file is 3 bytes, too short for the 8-byte header length");
}

TEST(Safetensors, DTypeSizes) {
  EXPECT_EQ(safetensorsDTypeSize("F32"), 4u);
  EXPECT_EQ(safetensorsDTypeSize("BF16"), 2u);
  EXPECT_EQ(safetensorsDTypeSize("F8_E4M3"), 1u);
  EXPECT_EQ(safetensorsDTypeSize("I64"), 8u);
  EXPECT_EQ(safetensorsDTypeSize("f32"), 0u);
  EXPECT_EQ(safetensorsDTypeSize(""), 0u);
}

TEST(Json, DepthLimit) {
  std::string ok = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_EQ(errorOf(parseJsonBounded(ok)), "");
  std::string deep = std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']');
  EXPECT_NE(errorOf(parseJsonBounded(deep)), "");
  // Brackets inside strings do not count.
  EXPECT_EQ(errorOf(parseJsonBounded("{\"k\": \"" + std::string(1000, '[') + "\\\"[\"}")), "");
}

} // namespace
