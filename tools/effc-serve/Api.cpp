#include "Api.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

namespace effc::serve {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

std::string str(int64_t v) { return std::to_string(v); }

/// JSON numbers are doubles here: integers up to 2^53 are exact.
bool asInteger(const Value &v, int64_t &out) {
  if (v.kind_case() != Value::kNumberValue)
    return false;
  double d = v.number_value();
  if (!std::isfinite(d) || std::floor(d) != d || std::fabs(d) > 9007199254740992.0)
    return false;
  out = int64_t(d);
  return true;
}

const char *kindName(const Value &v) {
  switch (v.kind_case()) {
  case Value::kNullValue:
    return "null";
  case Value::kNumberValue:
    return "a number";
  case Value::kStringValue:
    return "a string";
  case Value::kBoolValue:
    return "a boolean";
  case Value::kStructValue:
    return "an object";
  case Value::kListValue:
    return "an array";
  default:
    return "nothing";
  }
}

/// A prompt: an array of token ids in the vocabulary.
bool parseTokens(const ListValue &list, const std::string &what, const ModelLimits &limits,
                 std::vector<int64_t> &out, ApiError &error) {
  if (list.values_size() == 0) {
    error = {400, what + " is empty: give at least one token id", "prompt"};
    return false;
  }
  for (int k = 0; k < list.values_size(); ++k) {
    int64_t id = 0;
    if (!asInteger(list.values(k), id)) {
      error = {400,
               what + "[" + str(k) + "] is " + kindName(list.values(k)) +
                   ", expected an integer token id",
               "prompt"};
      return false;
    }
    if (id < 0 || id >= limits.vocabSize) {
      error = {400,
               what + "[" + str(k) + "] = " + str(id) + " is outside the vocabulary [0, " +
                   str(limits.vocabSize) + ")",
               "prompt"};
      return false;
    }
    out.push_back(id);
  }
  return true;
}

bool parsePrompt(const Value &v, const ModelLimits &limits, CompletionParams &out,
                 ApiError &error) {
  const std::string noTokenizer =
      "effc-serve has no tokenizer: give the prompt as token ids, [1, 2, 3] or "
      "[[1, 2, 3], [4, 5]] (one choice per prompt)";
  if (v.kind_case() == Value::kStringValue) {
    error = {400, "prompt is a string; " + noTokenizer, "prompt"};
    return false;
  }
  if (v.kind_case() != Value::kListValue) {
    error = {400, std::string("prompt is ") + kindName(v) + "; " + noTokenizer, "prompt"};
    return false;
  }
  const ListValue &list = v.list_value();
  if (list.values_size() > 0 && list.values(0).kind_case() == Value::kListValue) {
    for (int p = 0; p < list.values_size(); ++p) {
      if (list.values(p).kind_case() != Value::kListValue) {
        error = {400,
                 "prompt[" + str(p) + "] is " + kindName(list.values(p)) +
                     ", expected an array of token ids like prompt[0]",
                 "prompt"};
        return false;
      }
      out.prompts.emplace_back();
      if (!parseTokens(list.values(p).list_value(), "prompt[" + str(p) + "]", limits,
                       out.prompts.back(), error))
        return false;
    }
    return true;
  }
  out.prompts.emplace_back();
  return parseTokens(list, "prompt", limits, out.prompts.back(), error);
}

bool parseNumber(const Value &v, const std::string &name, double lo, double hi, double &out,
                 ApiError &error) {
  if (v.kind_case() != Value::kNumberValue || !(v.number_value() >= lo && v.number_value() <= hi)) {
    error = {400,
             name + " must be a number in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                 "], got " +
                 (v.kind_case() == Value::kNumberValue ? std::to_string(v.number_value())
                                                       : std::string(kindName(v))),
             name};
    return false;
  }
  out = v.number_value();
  return true;
}

bool parseInteger(const Value &v, const std::string &name, int64_t lo, int64_t hi, int64_t &out,
                  ApiError &error) {
  if (!asInteger(v, out) || out < lo || out > hi) {
    error = {400,
             name + " must be an integer in [" + str(lo) + ", " + str(hi) + "], got " +
                 (v.kind_case() == Value::kNumberValue ? std::to_string(v.number_value())
                                                       : std::string(kindName(v))),
             name};
    return false;
  }
  return true;
}

/// stop: a token id, or an array of them; as numbers or as the decimal
/// strings `text` would show them.
bool parseStop(const Value &v, const ModelLimits &limits, CompletionParams &out, ApiError &error) {
  auto one = [&](const Value &x, const std::string &where) {
    int64_t id = -1;
    bool ok = asInteger(x, id);
    if (x.kind_case() == Value::kStringValue) {
      const std::string &s = x.string_value();
      ok = !s.empty() && s.size() <= 18 && s.find_first_not_of("0123456789") == std::string::npos;
      if (ok)
        id = std::strtoll(s.c_str(), nullptr, 10);
    }
    if (!ok || id < 0 || id >= limits.vocabSize) {
      error = {400,
               where + " must be a token id in [0, " + str(limits.vocabSize) +
                   ") (a number or its decimal string), got " +
                   (x.kind_case() == Value::kStringValue ? "'" + x.string_value() + "'"
                                                         : std::string(kindName(x))),
               "stop"};
      return false;
    }
    out.stop.push_back(id);
    return true;
  };
  if (v.kind_case() == Value::kNullValue)
    return true;
  if (v.kind_case() != Value::kListValue)
    return one(v, "stop");
  if (v.list_value().values_size() > 64) {
    error = {400, "stop holds " + str(v.list_value().values_size()) + " ids, at most 64", "stop"};
    return false;
  }
  for (int k = 0; k < v.list_value().values_size(); ++k)
    if (!one(v.list_value().values(k), "stop[" + str(k) + "]"))
      return false;
  return true;
}

/// How deep arrays and objects nest (brackets inside strings do not count).
/// protobuf's JSON-to-Struct transcoder takes time superlinear in the depth
/// (16000 levels: seconds), so a deep body is refused before it gets there.
int nestingDepth(const std::string &body) {
  int depth = 0, deepest = 0;
  bool inString = false, escaped = false;
  for (char c : body) {
    if (inString) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

constexpr int kMaxNesting = 16;

} // namespace

bool parseCompletion(const std::string &body, const ModelLimits &limits, CompletionParams &out,
                     ApiError &error) {
  if (nestingDepth(body) > kMaxNesting) {
    error = {400,
             "the body nests arrays/objects deeper than " + std::to_string(kMaxNesting) +
                 " levels; a completion request needs 3",
             ""};
    return false;
  }
  Struct request;
  google::protobuf::util::JsonParseOptions options;
  auto parsed = google::protobuf::util::JsonStringToMessage(body, &request, options);
  if (!parsed.ok()) {
    error = {400, "the body is not a JSON object: " + std::string(parsed.message()), ""};
    return false;
  }
  // Parameters that only have their default here are accepted at it.
  static const std::set<std::string> known = {"model",
                                              "prompt",
                                              "max_tokens",
                                              "temperature",
                                              "top_p",
                                              "top_k",
                                              "seed",
                                              "stop",
                                              "stream",
                                              "n",
                                              "best_of",
                                              "echo",
                                              "user",
                                              "logprobs",
                                              "suffix",
                                              "presence_penalty",
                                              "frequency_penalty"};
  for (const auto &[key, value] : request.fields())
    if (!known.count(key)) {
      error = {400, "unknown parameter '" + key + "'", key};
      return false;
    }
  auto field = [&](const char *name) -> const Value * {
    auto it = request.fields().find(name);
    return it == request.fields().end() ? nullptr : &it->second;
  };
  auto isNull = [](const Value *v) { return v == nullptr || v->kind_case() == Value::kNullValue; };

  const Value *prompt = field("prompt");
  if (prompt == nullptr) {
    error = {400, "missing parameter 'prompt' (token ids, e.g. [1, 2, 3])", "prompt"};
    return false;
  }
  if (!parsePrompt(*prompt, limits, out, error))
    return false;
  if (out.prompts.size() > 256) {
    error = {400, str(int64_t(out.prompts.size())) + " prompts in one request, at most 256",
             "prompt"};
    return false;
  }
  if (const Value *v = field("model"); !isNull(v) && v->kind_case() != Value::kStringValue) {
    error = {400, std::string("model must be a string, got ") + kindName(*v), "model"};
    return false;
  }
  if (const Value *v = field("max_tokens"); !isNull(v))
    if (!parseInteger(*v, "max_tokens", 1, limits.maxLength, out.maxTokens, error))
      return false;
  if (const Value *v = field("temperature"); !isNull(v))
    if (!parseNumber(*v, "temperature", 0, 100, out.temperature, error))
      return false;
  if (const Value *v = field("top_p"); !isNull(v)) {
    if (!parseNumber(*v, "top_p", 0, 1, out.topP, error))
      return false;
    if (out.topP == 0) {
      error = {400, "top_p must be > 0 (1: off)", "top_p"};
      return false;
    }
  }
  if (const Value *v = field("top_k"); !isNull(v))
    if (!parseInteger(*v, "top_k", 0, limits.vocabSize, out.topK, error))
      return false;
  if (const Value *v = field("seed"); !isNull(v)) {
    int64_t seed = 0;
    if (!parseInteger(*v, "seed", -(int64_t(1) << 53), int64_t(1) << 53, seed, error))
      return false;
    out.seed = uint64_t(seed);
    out.seedGiven = true;
  }
  if (const Value *v = field("stop"); v != nullptr)
    if (!parseStop(*v, limits, out, error))
      return false;
  if (const Value *v = field("stream"); !isNull(v)) {
    if (v->kind_case() != Value::kBoolValue) {
      error = {400, std::string("stream must be a boolean, got ") + kindName(*v), "stream"};
      return false;
    }
    out.stream = v->bool_value();
  }
  // Accepted at their defaults only.
  struct Fixed {
    const char *name;
    double value;
    const char *why;
  };
  for (const Fixed &f : {Fixed{"n", 1, "one choice per prompt"}, Fixed{"best_of", 1, "no best-of"},
                         Fixed{"presence_penalty", 0, "no penalties"},
                         Fixed{"frequency_penalty", 0, "no penalties"}}) {
    const Value *v = field(f.name);
    if (!isNull(v) && !(v->kind_case() == Value::kNumberValue && v->number_value() == f.value)) {
      error = {400,
               std::string(f.name) + " must be " + std::to_string(int(f.value)) + " (" + f.why +
                   ")",
               f.name};
      return false;
    }
  }
  if (const Value *v = field("echo");
      !isNull(v) && !(v->kind_case() == Value::kBoolValue && !v->bool_value())) {
    error = {400, "echo must be false (not supported)", "echo"};
    return false;
  }
  if (const Value *v = field("logprobs"); !isNull(v)) {
    error = {400, "logprobs must be null (not supported)", "logprobs"};
    return false;
  }
  if (const Value *v = field("suffix"); !isNull(v)) {
    error = {400, "suffix must be null (not supported)", "suffix"};
    return false;
  }
  if (const Value *v = field("user"); !isNull(v) && v->kind_case() != Value::kStringValue) {
    error = {400, std::string("user must be a string, got ") + kindName(*v), "user"};
    return false;
  }
  for (size_t p = 0; p < out.prompts.size(); ++p) {
    int64_t length = int64_t(out.prompts[p].size());
    if (length + out.maxTokens > limits.maxLength) {
      error = {
          400,
          (out.prompts.size() > 1 ? "prompt[" + str(int64_t(p)) + "]" : std::string("prompt")) +
              " of " + str(length) + " tokens + max_tokens " + str(out.maxTokens) + " = " +
              str(length + out.maxTokens) + " exceeds the model's context of " +
              str(limits.maxLength) + " tokens",
          "prompt"};
      return false;
    }
  }
  return true;
}

namespace {

std::string toJson(const Struct &s) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  auto status = google::protobuf::util::MessageToJsonString(s, &out, options);
  if (!status.ok()) // a Struct built here always prints; keep the answer JSON anyway
    return "{\"error\":{\"message\":\"internal error: cannot print JSON\"}}";
  return out;
}

Value number(double v) {
  Value x;
  x.set_number_value(v);
  return x;
}
Value text(const std::string &v) {
  Value x;
  x.set_string_value(v);
  return x;
}
Value null() {
  Value x;
  x.set_null_value(google::protobuf::NULL_VALUE);
  return x;
}

} // namespace

std::string errorJson(const ApiError &error) {
  Struct root, e;
  (*e.mutable_fields())["message"] = text(error.message);
  (*e.mutable_fields())["type"] = text(error.type);
  (*e.mutable_fields())["param"] = error.param.empty() ? null() : text(error.param);
  (*e.mutable_fields())["code"] = number(error.status);
  *(*root.mutable_fields())["error"].mutable_struct_value() = e;
  return toJson(root);
}

std::string completionJson(const std::string &id, int64_t created, const std::string &model,
                           const std::vector<ChoiceJson> &choices, int64_t promptTokens,
                           int64_t completionTokens) {
  Struct root;
  auto &f = *root.mutable_fields();
  f["id"] = text(id);
  f["object"] = text("text_completion");
  f["created"] = number(double(created));
  f["model"] = text(model);
  ListValue *list = f["choices"].mutable_list_value();
  for (const ChoiceJson &c : choices) {
    Struct choice;
    auto &cf = *choice.mutable_fields();
    cf["index"] = number(double(c.index));
    std::string joined;
    ListValue *ids = cf["token_ids"].mutable_list_value();
    for (int64_t t : c.tokenIds) {
      joined += (joined.empty() && !c.continuesText ? "" : " ") + std::to_string(t);
      *ids->add_values() = number(double(t));
    }
    cf["text"] = text(joined);
    cf["logprobs"] = null();
    cf["finish_reason"] = c.finishReason.empty() ? null() : text(c.finishReason);
    *list->add_values()->mutable_struct_value() = choice;
  }
  if (promptTokens >= 0) {
    Struct usage;
    (*usage.mutable_fields())["prompt_tokens"] = number(double(promptTokens));
    (*usage.mutable_fields())["completion_tokens"] = number(double(completionTokens));
    (*usage.mutable_fields())["total_tokens"] = number(double(promptTokens + completionTokens));
    *f["usage"].mutable_struct_value() = usage;
  }
  return toJson(root);
}

std::string modelsJson(const std::string &model, int64_t created, int64_t maxLength) {
  Struct root, entry;
  (*entry.mutable_fields())["id"] = text(model);
  (*entry.mutable_fields())["object"] = text("model");
  (*entry.mutable_fields())["created"] = number(double(created));
  (*entry.mutable_fields())["owned_by"] = text("effc");
  (*entry.mutable_fields())["max_model_len"] = number(double(maxLength));
  (*root.mutable_fields())["object"] = text("list");
  *(*root.mutable_fields())["data"].mutable_list_value()->add_values()->mutable_struct_value() =
      entry;
  return toJson(root);
}

} // namespace effc::serve
