// The generation loop over a step model (effc/Generator.h): checks the
// request, then prefill, pick, feed back, step, until every sequence has
// its tokens or a stop token.
#include "effc/Generator.h"

#include "Sampler.h"
#include "StepModel.h"
#include "effc/Session.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace effc {

StatusOr<std::unique_ptr<Generator>> Generator::create(Session &session) {
  // A model with past_key_values inputs keeps its own cache (KV-cache mode);
  // any other causal LM reruns its window (recompute mode).
  auto model = detail::hasPastInputs(session.model()) ? detail::makePastStepModel(session)
                                                      : detail::makeRecomputeStepModel(session);
  if (!model.ok())
    return model.status();
  return std::make_unique<Generator>(std::move(*model));
}

Generator::Generator(std::unique_ptr<detail::StepModel> model) : model_(std::move(model)) {}
Generator::~Generator() = default;

int64_t Generator::maxBatch() const { return model_->maxBatch(); }
int64_t Generator::maxLength() const { return model_->maxLength(); }
int64_t Generator::vocabSize() const { return model_->vocabSize(); }
const char *Generator::mode() const { return model_->mode(); }

namespace {

Status checkRequest(const detail::StepModel &m, const std::vector<std::vector<int64_t>> &prompts,
                    const GenerationOptions &o) {
  auto n = [](auto v) { return std::to_string(v); };
  if (prompts.empty())
    return Status::error("no prompt given");
  if (int64_t(prompts.size()) > m.maxBatch())
    return Status::error(n(prompts.size()) + " prompts, but the model takes at most " +
                         n(m.maxBatch()) + " sequences at a time (its batch)");
  if (o.maxNewTokens < 1)
    return Status::error("max_new_tokens must be >= 1, got " + n(o.maxNewTokens));
  EFFC_RETURN_IF_ERROR(detail::checkSamplingParams({o.temperature, o.topK, o.topP}));
  auto checkId = [&](int64_t id, const std::string &what) {
    if (id < 0 || id >= m.vocabSize())
      return Status::error(what + " " + n(id) + " is outside the vocabulary [0, " +
                           n(m.vocabSize()) + ")");
    return Status::OK();
  };
  EFFC_RETURN_IF_ERROR(checkId(o.padTokenId, "pad token"));
  for (size_t b = 0; b < prompts.size(); ++b) {
    const auto &p = prompts[b];
    std::string seq = "sequence " + n(b);
    if (p.empty())
      return Status::error(seq + ": empty prompt");
    if (int64_t(p.size()) + o.maxNewTokens > m.maxLength())
      return Status::error(seq + ": prompt of " + n(p.size()) + " tokens + max_new_tokens " +
                           n(o.maxNewTokens) + " = " + n(int64_t(p.size()) + o.maxNewTokens) +
                           " tokens exceeds the model's " + n(m.maxLength()) + " positions (" +
                           m.lengthLimit() + ")");
    for (int64_t id : p)
      EFFC_RETURN_IF_ERROR(checkId(id, seq + ": prompt token"));
  }
  if (!o.forcedTokens.empty()) {
    if (o.forcedTokens.size() != prompts.size())
      return Status::error("teacher forcing: " + n(o.forcedTokens.size()) +
                           " rows of forced tokens for " + n(prompts.size()) + " sequences");
    for (size_t b = 0; b < prompts.size(); ++b) {
      if (int64_t(o.forcedTokens[b].size()) < o.maxNewTokens)
        return Status::error("teacher forcing: sequence " + n(b) + " has " +
                             n(o.forcedTokens[b].size()) + " forced tokens, needs " +
                             n(o.maxNewTokens));
      for (int64_t id : o.forcedTokens[b])
        EFFC_RETURN_IF_ERROR(checkId(id, "sequence " + n(b) + ": forced token"));
    }
  }
  return Status::OK();
}

} // namespace

StatusOr<GenerationResult> Generator::generate(const std::vector<std::vector<int64_t>> &prompts,
                                               const GenerationOptions &o) {
  EFFC_RETURN_IF_ERROR(checkRequest(*model_, prompts, o));
  const size_t n = prompts.size();
  const int64_t V = model_->vocabSize();
  GenerationResult result;
  result.tokens.resize(n);
  if (o.returnLogits)
    result.logits = HostTensor(DType::FLOAT32, {int64_t(n), o.maxNewTokens, V});
  const detail::SamplingParams sampling{o.temperature, o.topK, o.topP};

  // Picks without returned logits need no logits on the host: the step
  // model picks (on the device on the cuda backend) when it can, with the
  // same rule and random words (seed, sequence, new token) as below.
  struct PickGuard {
    detail::StepModel &m;
    bool on;
    ~PickGuard() {
      if (on)
        m.pickTokens(nullptr);
    }
  };
  const detail::PickRule rule{sampling, o.seed};
  PickGuard picking{*model_, !o.returnLogits && model_->pickTokens(&rule)};

  std::vector<float> logits;
  EFFC_RETURN_IF_ERROR(model_->prefill(prompts, o.padTokenId, logits));
  std::vector<bool> live(n, true);
  std::vector<int64_t> fed(n, o.padTokenId);
  for (int64_t k = 0; k < o.maxNewTokens; ++k) {
    for (size_t b = 0; b < n; ++b) {
      if (!live[b])
        continue;
      const float *row = picking.on ? nullptr : logits.data() + b * size_t(V);
      const bool nan = picking.on
                           ? model_->picks()[b] < 0
                           : std::any_of(row, row + V, [](float x) { return std::isnan(x); });
      if (nan)
        return Status::error("sequence " + std::to_string(b) + ", new token " + std::to_string(k) +
                             ": the logits contain NaN");
      int64_t token = picking.on ? model_->picks()[b]
                                 : detail::sampleToken(row, V, sampling,
                                                       detail::tokenRandom(o.seed, b, uint64_t(k)));
      result.tokens[b].push_back(token);
      if (o.returnLogits)
        std::memcpy(result.logits.data<float>() + (int64_t(b) * o.maxNewTokens + k) * V, row,
                    size_t(V) * sizeof(float));
      fed[b] = o.forcedTokens.empty() ? token : o.forcedTokens[b][size_t(k)];
      if (std::find(o.stopTokenIds.begin(), o.stopTokenIds.end(), fed[b]) != o.stopTokenIds.end())
        live[b] = false;
    }
    if (o.onToken)
      o.onToken(k);
    // The last token is never fed back: nothing reads its logits.
    if (k + 1 == o.maxNewTokens || std::none_of(live.begin(), live.end(), [](bool l) { return l; }))
      break;
    EFFC_RETURN_IF_ERROR(model_->step(fed, live, logits));
  }
  return result;
}

StatusOr<GenerationResult> Generator::generate(const Tensor &inputIds,
                                               const GenerationOptions &options,
                                               const std::vector<int64_t> &promptLengths) {
  if (inputIds.device != Device::Host)
    return Status::error("input ids must be a host tensor");
  if ((inputIds.dtype != DType::INT64 && inputIds.dtype != DType::INT32) ||
      inputIds.shape.size() != 2 || inputIds.data == nullptr)
    return Status::error(std::string("input ids must be int64 or int32 [sequences, width], got ") +
                         dtypeName(inputIds.dtype) + " " + shapeToString(inputIds.shape));
  int64_t rows = inputIds.shape[0], width = inputIds.shape[1];
  if (!promptLengths.empty() && int64_t(promptLengths.size()) != rows)
    return Status::error(std::to_string(promptLengths.size()) + " prompt lengths for " +
                         std::to_string(rows) + " sequences");
  std::vector<std::vector<int64_t>> prompts(size_t(std::max<int64_t>(rows, 0)));
  for (int64_t b = 0; b < rows; ++b) {
    int64_t len = promptLengths.empty() ? width : promptLengths[size_t(b)];
    if (len < 1 || len > width)
      return Status::error("sequence " + std::to_string(b) + ": prompt length " +
                           std::to_string(len) + " is not in [1, " + std::to_string(width) + "]");
    for (int64_t t = 0; t < len; ++t)
      prompts[size_t(b)].push_back(
          inputIds.dtype == DType::INT64
              ? static_cast<const int64_t *>(inputIds.data)[b * width + t]
              : int64_t(static_cast<const int32_t *>(inputIds.data)[b * width + t]));
  }
  return generate(prompts, options);
}

} // namespace effc
