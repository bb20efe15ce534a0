// effc-serve's request parsing and response JSON (tools/effc-serve/Api.h):
// what a valid /v1/completions body gives, the error of each invalid one,
// and a mutation fuzz: no body crashes the parser, an accepted one always
// satisfies the limits the engine relies on, a refused one has a message.
#include "Api.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <random>

using namespace effc::serve;

namespace {

const ModelLimits kLimits{256, 32};

std::string errorOf(const std::string &body) {
  CompletionParams p;
  ApiError e;
  if (parseCompletion(body, kLimits, p, e))
    return "<ok>";
  EXPECT_EQ(e.status, 400);
  return e.message + " [" + e.param + "]";
}

google::protobuf::Struct parseJson(const std::string &json) {
  google::protobuf::Struct s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &s).ok()) << json;
  return s;
}

} // namespace

TEST(ServeApi, ParsesAValidRequest) {
  CompletionParams p;
  ApiError e;
  ASSERT_TRUE(parseCompletion(R"({"model": "m", "prompt": [[1, 2], [3]], "max_tokens": 5,
      "temperature": 0.5, "top_p": 0.9, "top_k": 4, "seed": 7, "stop": [3, "9"], "stream": true,
      "n": 1, "echo": false, "logprobs": null, "user": "u"})",
                              kLimits, p, e))
      << e.message;
  EXPECT_EQ(p.prompts, (std::vector<std::vector<int64_t>>{{1, 2}, {3}}));
  EXPECT_EQ(p.maxTokens, 5);
  EXPECT_EQ(p.temperature, 0.5);
  EXPECT_EQ(p.topP, 0.9);
  EXPECT_EQ(p.topK, 4);
  EXPECT_TRUE(p.seedGiven);
  EXPECT_EQ(p.seed, 7u);
  EXPECT_EQ(p.stop, (std::vector<int64_t>{3, 9}));
  EXPECT_TRUE(p.stream);
  // Defaults: OpenAI's (16 tokens, temperature 1), one prompt as a flat list.
  CompletionParams d;
  ASSERT_TRUE(parseCompletion(R"({"prompt": [5, 6, 7], "stop": 4})", kLimits, d, e));
  EXPECT_EQ(d.prompts, (std::vector<std::vector<int64_t>>{{5, 6, 7}}));
  EXPECT_EQ(d.maxTokens, 16);
  EXPECT_EQ(d.temperature, 1);
  EXPECT_FALSE(d.seedGiven);
  EXPECT_EQ(d.stop, (std::vector<int64_t>{4}));
  EXPECT_FALSE(d.stream);
}

TEST(ServeApi, InvalidRequestsNameTheProblem) {
  EXPECT_NE(errorOf("[1]").find("the body is not a JSON object: "), std::string::npos);
  EXPECT_NE(errorOf("{bad").find("the body is not a JSON object"), std::string::npos);
  EXPECT_EQ(errorOf(R"({"max_tokens": 3})"),
            "missing parameter 'prompt' (token ids, e.g. [1, 2, 3]) [prompt]");
  EXPECT_EQ(errorOf(R"({"prompt": "hi"})"),
            "prompt is a string; effc-serve has no tokenizer: give the prompt as token ids, "
            "[1, 2, 3] or [[1, 2, 3], [4, 5]] (one choice per prompt) [prompt]");
  EXPECT_EQ(errorOf(R"({"prompt": [1, 256]})"),
            "prompt[1] = 256 is outside the vocabulary [0, 256) [prompt]");
  EXPECT_EQ(errorOf(R"({"prompt": [[1], [2, 2.5]]})"),
            "prompt[1][1] is a number, expected an integer token id [prompt]");
  EXPECT_EQ(errorOf(R"({"prompt": [[1], 2]})"),
            "prompt[1] is a number, expected an array of token ids like prompt[0] [prompt]");
  EXPECT_EQ(errorOf(R"({"prompt": []})"), "prompt is empty: give at least one token id [prompt]");
  EXPECT_EQ(errorOf(R"({"prompt": [1, 2, 3], "max_tokens": 30})"),
            "prompt of 3 tokens + max_tokens 30 = 33 exceeds the model's context of 32 tokens "
            "[prompt]");
  EXPECT_EQ(errorOf(R"({"prompt": [1], "max_tokens": 0})"),
            "max_tokens must be an integer in [1, 32], got 0.000000 [max_tokens]");
  EXPECT_EQ(errorOf(R"({"prompt": [1], "temperature": "hot"})"),
            "temperature must be a number in [0.000000, 100.000000], got a string [temperature]");
  EXPECT_EQ(errorOf(R"({"prompt": [1], "top_p": 0})"), "top_p must be > 0 (1: off) [top_p]");
  EXPECT_EQ(errorOf(R"({"prompt": [1], "stream": 1})"),
            "stream must be a boolean, got a number [stream]");
  EXPECT_EQ(errorOf(R"({"prompt": [1], "stop": ["x"]})"),
            "stop[0] must be a token id in [0, 256) (a number or its decimal string), got 'x' "
            "[stop]");
  EXPECT_EQ(errorOf(R"({"prompt": [1], "n": 3})"), "n must be 1 (one choice per prompt) [n]");
  EXPECT_EQ(errorOf(R"({"prompt": [1], "echo": true})"),
            "echo must be false (not supported) [echo]");
  EXPECT_EQ(errorOf(R"({"prompt": [1], "best_of": 2})"),
            "best_of must be 1 (no best-of) [best_of]");
  EXPECT_EQ(errorOf(R"({"prompt": [1], "temprature": 1})"),
            "unknown parameter 'temprature' [temprature]");
  EXPECT_EQ(errorOf(R"({"prompt": [1], "seed": 1e300})").substr(0, 30),
            "seed must be an integer in [-9");
}

TEST(ServeApi, ResponsesAreOpenAIShaped) {
  ChoiceJson first{0, {5, 51}, "", false}, later{1, {49}, "length", true};
  auto s = parseJson(completionJson("cmpl-1", 100, "gpt2", {first, later}, 4, 3));
  const auto &f = s.fields();
  EXPECT_EQ(f.at("object").string_value(), "text_completion");
  EXPECT_EQ(f.at("model").string_value(), "gpt2");
  const auto &choices = f.at("choices").list_value();
  ASSERT_EQ(choices.values_size(), 2);
  const auto &c0 = choices.values(0).struct_value().fields();
  EXPECT_EQ(c0.at("text").string_value(), "5 51");
  EXPECT_EQ(c0.at("token_ids").list_value().values(1).number_value(), 51);
  EXPECT_EQ(c0.at("finish_reason").kind_case(), google::protobuf::Value::kNullValue);
  const auto &c1 = choices.values(1).struct_value().fields();
  EXPECT_EQ(c1.at("text").string_value(), " 49"); // continues a streamed text
  EXPECT_EQ(c1.at("finish_reason").string_value(), "length");
  EXPECT_EQ(f.at("usage").struct_value().fields().at("total_tokens").number_value(), 7);
  // A stream chunk has no usage.
  EXPECT_EQ(parseJson(completionJson("c", 1, "m", {first}, -1, 0)).fields().count("usage"), 0u);
  auto err = parseJson(errorJson({400, "bad \"thing\"\n", "prompt"}));
  EXPECT_EQ(err.fields().at("error").struct_value().fields().at("message").string_value(),
            "bad \"thing\"\n");
}

TEST(ServeApi, MutatedBodiesNeverCrashAndAcceptedOnesFit) {
  const std::vector<std::string> seeds = {
      R"({"prompt": [[1, 2, 3], [4]], "max_tokens": 8, "temperature": 0, "stop": [3, "4"]})",
      R"({"prompt": [255, 0, 17], "top_p": 0.5, "top_k": 3, "seed": -4, "stream": true})",
      R"({"model": "m", "prompt": [1], "n": 1, "echo": false, "logprobs": null, "user": "x"})",
      R"({"prompt": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]], "max_tokens": 16})"};
  const std::string alphabet = "{}[]\",:0123456789-+.eEtruefalsn \\u\t\n";
  std::mt19937_64 rng(19);
  int accepted = 0;
  for (int i = 0; i < 60000; ++i) {
    std::string body = seeds[rng() % seeds.size()];
    for (int m = int(rng() % 4) + 1; m > 0; --m) {
      size_t at = body.empty() ? 0 : rng() % body.size();
      switch (rng() % 5) {
      case 0:
        if (!body.empty())
          body.erase(at, 1 + rng() % 3);
        break;
      case 1:
        body.insert(at, 1, alphabet[rng() % alphabet.size()]);
        break;
      case 2:
        if (!body.empty())
          body[at] = char(rng() % 256);
        break;
      case 3:
        body.resize(at);
        break;
      default: // repeat a slice: deep nesting, long lists
        body.insert(at, std::string(rng() % 64, body.empty() ? '[' : body[at]));
      }
    }
    CompletionParams p;
    ApiError e;
    if (!parseCompletion(body, kLimits, p, e)) {
      EXPECT_FALSE(e.message.empty()) << body;
      EXPECT_GE(e.status, 400);
      EXPECT_LT(e.status, 500);
      continue;
    }
    ++accepted;
    ASSERT_FALSE(p.prompts.empty()) << body;
    for (const auto &prompt : p.prompts) {
      ASSERT_FALSE(prompt.empty()) << body;
      EXPECT_LE(int64_t(prompt.size()) + p.maxTokens, kLimits.maxLength) << body;
      for (int64_t id : prompt)
        EXPECT_TRUE(id >= 0 && id < kLimits.vocabSize) << body;
    }
    EXPECT_GE(p.maxTokens, 1);
    EXPECT_TRUE(p.temperature >= 0 && p.topP > 0 && p.topP <= 1 && p.topK >= 0) << body;
    for (int64_t id : p.stop)
      EXPECT_TRUE(id >= 0 && id < kLimits.vocabSize) << body;
  }
  EXPECT_GT(accepted, 100); // the mutations also leave valid requests
  // Deep nesting is refused before protobuf's transcoder, whose time grows
  // faster than the depth (a 1 MiB body of brackets would take hours).
  EXPECT_EQ(errorOf("{\"prompt\": " + std::string(100000, '[') + std::string(100000, ']') + "}"),
            "the body nests arrays/objects deeper than 16 levels; a completion request needs 3 []");
  EXPECT_NE(errorOf(std::string(200000, '[')), "<ok>");
  // Brackets inside strings do not count.
  EXPECT_EQ(errorOf(R"({"prompt": [1], "user": "[[[[[[[[[[[[[[[[[[[[\"[[[["})"), "<ok>");
}
