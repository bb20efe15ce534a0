// The OpenAI-style completions API of effc-serve: parsing and checking a
// /v1/completions body, and the JSON of responses, stream chunks and errors.
// JSON goes through protobuf's JSON support (google.protobuf.Struct), which
// the runtime already links: it bounds nesting depth and reports malformed
// input as an error, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace effc::serve {

/// What the model accepts, for checking requests before they reach the engine.
struct ModelLimits {
  int64_t vocabSize = 0;
  int64_t maxLength = 0; ///< prompt + max_tokens
};

struct CompletionParams {
  std::vector<std::vector<int64_t>> prompts; ///< one choice each
  int64_t maxTokens = 16;
  double temperature = 1; ///< OpenAI's default
  double topP = 1;
  int64_t topK = 0;
  bool seedGiven = false;
  uint64_t seed = 0;
  std::vector<int64_t> stop;
  bool stream = false;
};

/// An error for the client: HTTP status, message, the offending parameter.
struct ApiError {
  int status = 400;
  std::string message;
  std::string param;
  std::string type = "invalid_request_error";
};

/// Parses and checks a /v1/completions body; false with `error` set when it
/// is not a valid request for this model.
bool parseCompletion(const std::string &body, const ModelLimits &limits, CompletionParams &out,
                     ApiError &error);

/// {"error": {"message", "type", "param", "code"}}.
std::string errorJson(const ApiError &error);

/// One choice's state for a response or a stream chunk.
struct ChoiceJson {
  int64_t index = 0;
  std::vector<int64_t> tokenIds;
  std::string finishReason; ///< "" while running (null in JSON)
  /// A stream chunk after this choice's first tokens: text starts with a
  /// space, so the chunks' texts concatenate to the full text.
  bool continuesText = false;
};

/// A text_completion object: the whole response (with usage) or one stream
/// chunk (usage omitted when promptTokens < 0). `text` holds the token ids
/// separated by spaces (effc has no tokenizer), `token_ids` the ids.
std::string completionJson(const std::string &id, int64_t created, const std::string &model,
                           const std::vector<ChoiceJson> &choices, int64_t promptTokens,
                           int64_t completionTokens);

/// {"object": "list", "data": [{"id": model, "object": "model", ...}]}.
std::string modelsJson(const std::string &model, int64_t created, int64_t maxLength);

} // namespace effc::serve
