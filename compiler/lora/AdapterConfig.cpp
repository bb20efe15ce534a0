//===- AdapterConfig.cpp - PEFT's adapter_config.json for LoRA ------------===//
#include "compiler/lora/AdapterConfig.h"

#include "compiler/lora/Json.h"
#include "compiler/lora/PyRegex.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cmath>

namespace effc::lora {
namespace {

/// Keys that do not change the adapted forward pass: metadata, training-time
/// settings and initialization schemes.
const char *const kIgnoredKeys[] = {
    "auto_mapping", "base_model_name_or_path", "corda_config",      "ensure_weight_tying",
    "eva_config",   "inference_mode",          "init_lora_weights", "loftq_config",
    "lora_dropout", "lora_ga_config",          "megatron_config",   "megatron_core",
    "peft_version", "qalora_group_size",       "revision",          "runtime_config",
    "task_type",
};

/// Keys read by parseAdapterConfig. Every other key (use_dora, lora_bias,
/// modules_to_save, layer_replication, use_qalora, target_parameters,
/// trainable_token_indices, alora_invocation_tokens, arrow_config, use_bdlora,
/// and whatever later PEFT versions add) must be off.
const char *const kReadKeys[] = {
    "alpha_pattern",  "bias",           "exclude_modules",
    "fan_in_fan_out", "layers_pattern", "layers_to_transform",
    "lora_alpha",     "peft_type",      "r",
    "rank_pattern",   "target_modules", "use_rslora",
};

std::string show(const llvm::json::Value &v) { return llvm::formatv("{0}", v).str(); }

/// null, false, [] and {}: how PEFT spells an option that is not used.
bool isOff(const llvm::json::Value &v) {
  if (v.kind() == llvm::json::Value::Null)
    return true;
  if (std::optional<bool> b = v.getAsBoolean())
    return !*b;
  if (const llvm::json::Array *a = v.getAsArray())
    return a->empty();
  if (const llvm::json::Object *o = v.getAsObject())
    return o->empty();
  return false;
}

/// Reads one parsed config; errors start with its path.
class ConfigParser {
public:
  ConfigParser(llvm::StringRef path, const llvm::json::Object &root) : path_(path), root_(root) {}

  llvm::Expected<AdapterConfig> parse();

private:
  llvm::Error fail(const llvm::Twine &msg) const {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), (path_ + ": " + msg).str());
  }
  llvm::Error unsupported(llvm::StringRef key, const llvm::json::Value &v) const {
    return fail("unsupported option '" + key + "': " + show(v) + " (effc implements plain LoRA)");
  }
  llvm::Error mustBe(const llvm::Twine &key, llvm::StringRef what,
                     const llvm::json::Value &v) const {
    return fail("'" + key + "' must be " + what + ", got " + show(v));
  }
  /// The key's value, or null when absent.
  const llvm::json::Value &get(llvm::StringRef key) const {
    static const llvm::json::Value null = nullptr;
    const llvm::json::Value *v = root_.get(key);
    return v ? *v : null;
  }

  llvm::Error readBool(llvm::StringRef key, bool &out) const;
  llvm::Error readModuleSelector(llvm::StringRef key, std::vector<std::string> &list,
                                 std::optional<std::string> &regex) const;
  llvm::Error checkRegex(const llvm::Twine &what, const std::string &pattern) const;

  std::string path_;
  const llvm::json::Object &root_;
};

llvm::Error ConfigParser::readBool(llvm::StringRef key, bool &out) const {
  const llvm::json::Value &v = get(key);
  if (v.kind() == llvm::json::Value::Null)
    return llvm::Error::success();
  std::optional<bool> b = v.getAsBoolean();
  if (!b)
    return mustBe(key, "true or false", v);
  out = *b;
  return llvm::Error::success();
}

llvm::Error ConfigParser::checkRegex(const llvm::Twine &what, const std::string &pattern) const {
  llvm::Expected<PyRegex> re = PyRegex::compile(pattern);
  if (!re)
    return fail(what + ": " + llvm::toString(re.takeError()));
  return llvm::Error::success();
}

/// target_modules / exclude_modules: a list of names or one regex string.
llvm::Error ConfigParser::readModuleSelector(llvm::StringRef key, std::vector<std::string> &list,
                                             std::optional<std::string> &regex) const {
  const llvm::json::Value &v = get(key);
  if (v.kind() == llvm::json::Value::Null)
    return llvm::Error::success();
  if (std::optional<llvm::StringRef> s = v.getAsString()) {
    if (llvm::Error err = checkRegex("'" + key + "'", s->str()))
      return err;
    regex = s->str();
    return llvm::Error::success();
  }
  const llvm::json::Array *a = v.getAsArray();
  if (!a)
    return mustBe(key, "a list of module names or a regular expression string", v);
  for (const llvm::json::Value &e : *a) {
    std::optional<llvm::StringRef> s = e.getAsString();
    if (!s)
      return mustBe(key, "a list of module names or a regular expression string", v);
    list.push_back(s->str());
  }
  return llvm::Error::success();
}

llvm::Expected<AdapterConfig> ConfigParser::parse() {
  AdapterConfig config;

  // First, so that another PEFT method is named as such rather than by one
  // of its options.
  const llvm::json::Value &peftType = get("peft_type");
  if (peftType.kind() == llvm::json::Value::Null)
    return fail("missing 'peft_type' (expected \"LORA\")");
  if (peftType.getAsString() != llvm::StringRef("LORA"))
    return unsupported("peft_type", peftType);

  // Everything that is neither read nor ignored must be off.
  llvm::StringSet<> known;
  for (const char *k : kIgnoredKeys)
    known.insert(k);
  for (const char *k : kReadKeys)
    known.insert(k);
  std::vector<std::string> keys;
  for (const auto &kv : root_)
    keys.push_back(kv.first.str());
  std::sort(keys.begin(), keys.end()); // the first offending key in file order, for PEFT's files
  for (const std::string &key : keys)
    if (!known.contains(key) && !isOff(*root_.get(key)))
      return unsupported(key, *root_.get(key));

  const llvm::json::Value &bias = get("bias");
  if (bias.kind() != llvm::json::Value::Null && bias.getAsString() != llvm::StringRef("none"))
    return unsupported("bias", bias);

  const llvm::json::Value &r = get("r");
  if (r.kind() == llvm::json::Value::Null)
    return fail("missing 'r'");
  std::optional<int64_t> rank = r.getAsInteger();
  if (!rank || *rank <= 0)
    return mustBe("r", "a positive integer", r);
  config.r = *rank;

  const llvm::json::Value &alpha = get("lora_alpha");
  if (alpha.kind() == llvm::json::Value::Null)
    return fail("missing 'lora_alpha'");
  std::optional<double> alphaValue = alpha.getAsNumber();
  if (!alphaValue || !std::isfinite(*alphaValue))
    return mustBe("lora_alpha", "a number", alpha);
  config.loraAlpha = *alphaValue;

  if (llvm::Error err = readBool("fan_in_fan_out", config.fanInFanOut))
    return std::move(err);
  if (llvm::Error err = readBool("use_rslora", config.useRslora))
    return std::move(err);

  if (get("target_modules").kind() == llvm::json::Value::Null)
    return fail("missing 'target_modules'");
  if (llvm::Error err =
          readModuleSelector("target_modules", config.targetModules, config.targetRegex))
    return std::move(err);
  // PEFT resolves this shorthand against the model when the adapter is
  // created and saves the resulting list, so a saved config never holds it.
  if (config.targetRegex && llvm::StringRef(*config.targetRegex).equals_insensitive("all-linear"))
    return fail("'target_modules': \"all-linear\" is not resolved (PEFT saves the list of modules "
                "it selected; list them)");
  if (llvm::Error err =
          readModuleSelector("exclude_modules", config.excludeModules, config.excludeRegex))
    return std::move(err);

  const llvm::json::Value &layers = get("layers_to_transform");
  if (std::optional<int64_t> one = layers.getAsInteger()) {
    config.layersToTransform.push_back(*one);
  } else if (const llvm::json::Array *list = layers.getAsArray()) {
    for (const llvm::json::Value &e : *list) {
      std::optional<int64_t> index = e.getAsInteger();
      if (!index)
        return mustBe("layers_to_transform", "an integer or a list of integers", layers);
      config.layersToTransform.push_back(*index);
    }
  } else if (layers.kind() != llvm::json::Value::Null) {
    return mustBe("layers_to_transform", "an integer or a list of integers", layers);
  }

  const llvm::json::Value &layersPattern = get("layers_pattern");
  if (std::optional<llvm::StringRef> s = layersPattern.getAsString()) {
    if (!s->empty())
      config.layersPattern.push_back(s->str());
  } else if (const llvm::json::Array *list = layersPattern.getAsArray()) {
    for (const llvm::json::Value &e : *list) {
      std::optional<llvm::StringRef> p = e.getAsString();
      if (!p)
        return mustBe("layers_pattern", "a string or a list of strings", layersPattern);
      config.layersPattern.push_back(p->str());
    }
  } else if (layersPattern.kind() != llvm::json::Value::Null) {
    return mustBe("layers_pattern", "a string or a list of strings", layersPattern);
  }
  for (const std::string &p : config.layersPattern)
    if (llvm::Error err = checkRegex("'layers_pattern'", ".*\\." + p + "\\.(\\d+)\\."))
      return std::move(err);

  // The same combinations LoraConfig.__post_init__ refuses.
  if (config.targetRegex && !config.layersToTransform.empty())
    return fail("'layers_to_transform' cannot be used when 'target_modules' is a regular "
                "expression string");
  if (config.targetRegex && !config.layersPattern.empty())
    return fail("'layers_pattern' cannot be used when 'target_modules' is a regular expression "
                "string");
  if (!config.layersPattern.empty() && config.layersToTransform.empty())
    return fail("'layers_pattern' is given without 'layers_to_transform'");

  // llvm::json::Object iterates in hash order; sorted by pattern below.
  const llvm::json::Value &rankPattern = get("rank_pattern");
  if (const llvm::json::Object *o = rankPattern.getAsObject()) {
    for (const auto &[pattern, value] : *o) {
      std::optional<int64_t> v = value.getAsInteger();
      if (!v || *v <= 0)
        return mustBe("rank_pattern[\"" + pattern.str() + "\"]", "a positive integer", value);
      if (llvm::Error err = checkRegex("rank_pattern key '" + pattern.str() + "'",
                                       "(.*\\.)?(" + pattern.str() + ")"))
        return std::move(err);
      config.rankPattern.emplace_back(pattern.str(), *v);
    }
  } else if (rankPattern.kind() != llvm::json::Value::Null) {
    return mustBe("rank_pattern", "an object", rankPattern);
  }
  const llvm::json::Value &alphaPattern = get("alpha_pattern");
  if (const llvm::json::Object *o = alphaPattern.getAsObject()) {
    for (const auto &[pattern, value] : *o) {
      std::optional<double> v = value.getAsNumber();
      if (!v || !std::isfinite(*v))
        return mustBe("alpha_pattern[\"" + pattern.str() + "\"]", "a number", value);
      if (llvm::Error err = checkRegex("alpha_pattern key '" + pattern.str() + "'",
                                       "(.*\\.)?(" + pattern.str() + ")"))
        return std::move(err);
      config.alphaPattern.emplace_back(pattern.str(), *v);
    }
  } else if (alphaPattern.kind() != llvm::json::Value::Null) {
    return mustBe("alpha_pattern", "an object", alphaPattern);
  }
  llvm::sort(config.rankPattern);
  llvm::sort(config.alphaPattern);
  return config;
}

/// Python's re.fullmatch / re.match for a pattern parseAdapterConfig compiled.
bool fullMatch(llvm::StringRef pattern, llvm::StringRef s) {
  llvm::Expected<PyRegex> re = PyRegex::compile(pattern);
  if (!re) {
    llvm::consumeError(re.takeError());
    return false;
  }
  return re->fullMatch(s);
}

/// get_pattern_key: the first key p with re.match(rf"(.*\.)?({p})$", name).
template <typename T>
std::optional<T> lookupPattern(const std::vector<std::pair<std::string, T>> &patterns,
                               llvm::StringRef moduleKey) {
  for (const auto &[pattern, value] : patterns)
    if (fullMatch("(.*\\.)?(" + pattern + ")", moduleKey))
      return value;
  return std::nullopt;
}

} // namespace

llvm::Expected<AdapterConfig> parseAdapterConfig(llvm::StringRef text, llvm::StringRef path) {
  llvm::Expected<llvm::json::Value> json = parseJsonBounded(text);
  if (!json)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        (path + ": invalid JSON: " + llvm::toString(json.takeError())).str());
  const llvm::json::Object *root = json->getAsObject();
  if (!root)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   (path + ": not a JSON object").str());
  return ConfigParser(path, *root).parse();
}

llvm::Expected<AdapterConfig> readAdapterConfig(llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   (path + ": cannot read: " + buffer.getError().message()).str());
  return parseAdapterConfig((*buffer)->getBuffer(), path);
}

bool targetEntryMatches(llvm::StringRef target, llvm::StringRef moduleKey) {
  return moduleKey == target || (moduleKey.size() > target.size() && moduleKey.ends_with(target) &&
                                 moduleKey[moduleKey.size() - target.size() - 1] == '.');
}

std::optional<int64_t> layerIndexOf(const AdapterConfig &config, llvm::StringRef moduleKey) {
  std::vector<std::string> regexes;
  if (config.layersPattern.empty())
    regexes.push_back(".*\\.[^.]*\\.(\\d+)\\.");
  for (const std::string &p : config.layersPattern)
    regexes.push_back(".*\\." + p + "\\.(\\d+)\\.");
  for (const std::string &pattern : regexes) {
    llvm::Expected<PyRegex> re = PyRegex::compile(pattern);
    if (!re) {
      llvm::consumeError(re.takeError());
      continue;
    }
    std::string digits;
    if (!re->matchPrefix(moduleKey, &digits))
      continue;
    // PEFT stops at the first pattern that matches, whatever group 1 holds.
    int64_t index;
    if (llvm::StringRef(digits).getAsInteger(10, index))
      return std::nullopt;
    return index;
  }
  return std::nullopt;
}

bool isTargeted(const AdapterConfig &config, llvm::StringRef moduleKey) {
  bool excluded = config.excludeRegex
                      ? fullMatch(*config.excludeRegex, moduleKey)
                      : llvm::any_of(config.excludeModules, [&](const std::string &e) {
                          return targetEntryMatches(e, moduleKey);
                        });
  if (excluded)
    return false;
  if (config.targetRegex)
    return fullMatch(*config.targetRegex, moduleKey);
  // An exact name is targeted whatever layers_to_transform says.
  if (llvm::is_contained(config.targetModules, moduleKey))
    return true;
  if (!llvm::any_of(config.targetModules,
                    [&](const std::string &t) { return targetEntryMatches(t, moduleKey); }))
    return false;
  if (config.layersToTransform.empty())
    return true;
  std::optional<int64_t> layer = layerIndexOf(config, moduleKey);
  return layer && llvm::is_contained(config.layersToTransform, *layer);
}

int64_t rankForModule(const AdapterConfig &config, llvm::StringRef moduleKey) {
  return lookupPattern(config.rankPattern, moduleKey).value_or(config.r);
}

double alphaForModule(const AdapterConfig &config, llvm::StringRef moduleKey) {
  return lookupPattern(config.alphaPattern, moduleKey).value_or(config.loraAlpha);
}

} // namespace effc::lora
