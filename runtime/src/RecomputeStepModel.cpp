// Recompute mode: a fixed-shape causal LM (input_ids [B, S] -> logits
// [B, S, V]) holds every sequence right-padded in one [B, S] window and runs
// the whole window for each step. Causal attention makes the logits at
// position t a function of tokens <= t only, so sequence b's next-token
// logits are row len_b - 1 whatever follows it. That premise is checked twice:
// when the generator is made (every attention kernel of the artifact causal)
// and at every step (the row read last step is unchanged now that the token
// after it is written).
#include "ModelManifest.h"
#include "StepModel.h"
#include "effc/Session.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace effc::detail {
namespace {

/// Why the artifact may not be a causal LM, or "" when every attention kernel
/// (alone or inside a fusion) is causal and there is at least one.
std::string causalityProblem(const artifact::Manifest &m) {
  int attention = 0;
  auto check = [&](const std::string &op, const auto &attrs, const std::string &location,
                   int kernel) -> std::string {
    if (op != "eff.attention" && op != "eff.attention_partial")
      return "";
    ++attention;
    auto it = attrs.find("causal");
    if (it != attrs.end() && it->second.value_case() == artifact::Attr::kI && it->second.i() != 0)
      return "";
    return "kernel " + std::to_string(kernel) + " (" + op + " at '" + location +
           "') attends to later tokens (not causal), as an encoder such as BERT does";
  };
  for (int k = 0; k < m.kernels_size(); ++k) {
    const artifact::Kernel &kernel = m.kernels(k);
    std::string problem = check(kernel.op(), kernel.attrs(), kernel.location(), k);
    for (const artifact::BodyOp &op : kernel.body())
      if (problem.empty())
        problem = check(op.op(), op.attrs(), op.location(), k);
    if (!problem.empty())
      return problem;
  }
  if (attention == 0)
    return "it has no attention kernel, so nothing shows that it is causal (was attention "
           "raised? effc --remarks tells)";
  return "";
}

class RecomputeStepModel final : public StepModel {
public:
  RecomputeStepModel(Session &session, DType idsType, int64_t batch, int64_t seq, int64_t vocab,
                     size_t logitsOutput)
      : session_(session), idsType_(idsType), B_(batch), S_(seq), V_(vocab),
        logitsOutput_(logitsOutput) {}

  int64_t maxBatch() const override { return B_; }
  int64_t maxLength() const override { return S_; }
  int64_t vocabSize() const override { return V_; }
  const char *mode() const override { return "recompute"; }

  Status prefill(const std::vector<std::vector<int64_t>> &prompts, int64_t padToken,
                 std::vector<float> &logits) override {
    if (prompts.empty() || int64_t(prompts.size()) > B_)
      return Status::error("internal error: recompute prefill of " +
                           std::to_string(prompts.size()) + " sequences");
    ids_.assign(size_t(B_ * S_), padToken);
    length_.assign(prompts.size(), 0);
    for (size_t b = 0; b < prompts.size(); ++b) {
      if (prompts[b].empty() || int64_t(prompts[b].size()) > S_)
        return Status::error("internal error: recompute prefill of a prompt of " +
                             std::to_string(prompts[b].size()) + " tokens");
      std::copy(prompts[b].begin(), prompts[b].end(), ids_.begin() + ptrdiff_t(b) * S_);
      length_[b] = int64_t(prompts[b].size());
    }
    logits.assign(prompts.size() * size_t(V_), 0.f);
    EFFC_RETURN_IF_ERROR(runWindow());
    for (size_t b = 0; b < prompts.size(); ++b)
      readRow(b, length_[b] - 1, logits.data() + b * size_t(V_));
    lastRead_ = logits;
    return Status::OK();
  }

  Status step(const std::vector<int64_t> &tokens, const std::vector<bool> &live,
              std::vector<float> &logits) override {
    if (tokens.size() != length_.size() || live.size() != length_.size() ||
        logits.size() != length_.size() * size_t(V_))
      return Status::error("internal error: recompute step before prefill");
    for (size_t b = 0; b < length_.size(); ++b) {
      if (!live[b])
        continue;
      if (length_[b] >= S_)
        return Status::error("internal error: sequence " + std::to_string(b) +
                             " is past the window of " + std::to_string(S_));
      ids_[b * size_t(S_) + size_t(length_[b]++)] = tokens[b];
    }
    EFFC_RETURN_IF_ERROR(runWindow());
    std::vector<float> row(static_cast<size_t>(V_));
    for (size_t b = 0; b < length_.size(); ++b) {
      if (!live[b])
        continue;
      EFFC_RETURN_IF_ERROR(checkUnchanged(b, row));
      readRow(b, length_[b] - 1, logits.data() + b * size_t(V_));
      std::copy_n(logits.data() + b * size_t(V_), V_, lastRead_.data() + b * size_t(V_));
    }
    return Status::OK();
  }

private:
  Status runWindow() {
    std::vector<int32_t> ids32;
    Tensor input{DType::INT64, {B_, S_}, ids_.data()};
    if (idsType_ == DType::INT32) {
      ids32.assign(ids_.begin(), ids_.end());
      input = Tensor{DType::INT32, {B_, S_}, ids32.data()};
    }
    auto outputs = session_.runPositional({input});
    if (!outputs.ok())
      return outputs.status();
    window_ = std::move((*outputs)[logitsOutput_]);
    return Status::OK();
  }

  /// Logits of sequence b at position t, as float.
  void readRow(size_t b, int64_t t, float *out) const {
    int64_t first = (int64_t(b) * S_ + t) * V_;
    if (window_.dtype() == DType::FLOAT32) {
      std::copy_n(window_.data<float>() + first, V_, out);
      return;
    }
    for (int64_t v = 0; v < V_; ++v)
      out[v] = float(window_.elementAsDouble(first + v));
  }

  /// The row sequence b read last step must not have changed when its next
  /// token was written: otherwise the model looks ahead and recompute mode
  /// would generate from logits that depend on padding. A causal model
  /// computes that row from the same tokens, so only rounding may differ.
  Status checkUnchanged(size_t b, std::vector<float> &row) const {
    readRow(b, length_[b] - 2, row.data());
    const float *before = lastRead_.data() + b * size_t(V_);
    double scale = 0, diff = 0;
    for (int64_t v = 0; v < V_; ++v) {
      scale = std::max(scale, std::fabs(double(before[v])));
      diff = std::max(diff, std::fabs(double(row[size_t(v)]) - double(before[v])));
    }
    if (!(diff <= kLookAheadTolerance * std::max(scale, 1e-30)))
      return Status::error(session_.model().path() +
                           ": not a causal language model: the logits at position " +
                           std::to_string(length_[b] - 2) + " of sequence " + std::to_string(b) +
                           " changed by " + std::to_string(diff) + " (max |logit| " +
                           std::to_string(scale) + ") when the token after it was written; " +
                           "recompute generation needs logits that depend only on earlier tokens");
    return Status::OK();
  }

  /// Relative change of a logits row that counts as looking ahead (causal
  /// models give identical rows: every kernel computes a row the same way
  /// whatever the other rows hold).
  static constexpr double kLookAheadTolerance = 1e-4;

  Session &session_;
  DType idsType_;
  int64_t B_, S_, V_;
  size_t logitsOutput_;
  std::vector<int64_t> ids_;    // the [B, S] window
  std::vector<int64_t> length_; // tokens each sequence holds
  std::vector<float> lastRead_; // the row each sequence read last, [n, V]
  HostTensor window_;           // the last run's logits [B, S, V]
};

} // namespace

StatusOr<std::unique_ptr<StepModel>> makeRecomputeStepModel(Session &session) {
  const Model &model = session.model();
  auto refuse = [&](const std::string &why) {
    return Status::error(model.path() + ": cannot generate (recompute mode): " + why);
  };
  std::string names;
  for (const TensorInfo &in : model.inputs())
    names += (names.empty() ? "" : ", ") + in.name;
  if (model.inputs().size() != 1)
    return refuse("expected one input, input_ids [batch, seq], got " +
                  std::to_string(model.inputs().size()) + " (" + names +
                  "); a model with past_key_values needs the KV-cache mode (not built yet)");
  const TensorInfo &ids = model.inputs()[0];
  if ((ids.dtype != DType::INT64 && ids.dtype != DType::INT32) || ids.shape.size() != 2)
    return refuse("input '" + ids.name + "' must be int64 or int32 token ids [batch, seq], got " +
                  dtypeName(ids.dtype) + " " + shapeToString(ids.shape));
  if (ids.shape[0] <= 0 || ids.shape[1] <= 0)
    return refuse("input '" + ids.name + "' has shape " + shapeToString(ids.shape) +
                  "; recompute mode needs a fixed window (effc --dim batch=B --dim seq=S)");
  int64_t B = ids.shape[0], S = ids.shape[1];
  const auto &outs = model.outputs();
  size_t logits = outs.size();
  for (size_t k = 0; k < outs.size() && logits == outs.size(); ++k)
    if (outs[k].name == "logits")
      logits = k;
  for (size_t k = 0; k < outs.size() && logits == outs.size(); ++k)
    if (isFloatDType(outs[k].dtype) && outs[k].shape.size() == 3)
      logits = k;
  if (logits == outs.size())
    return refuse("no output 'logits' and no float output of rank 3 [batch, seq, vocab]");
  const TensorInfo &out = outs[logits];
  if (!isFloatDType(out.dtype) || out.shape.size() != 3 || out.shape[0] != B || out.shape[1] != S ||
      out.shape[2] <= 0)
    return refuse("output '" + out.name + "' must be float logits [" + std::to_string(B) + ", " +
                  std::to_string(S) + ", vocab], got " + dtypeName(out.dtype) + " " +
                  shapeToString(out.shape));
  std::string problem = causalityProblem(manifestOf(model));
  if (!problem.empty())
    return refuse("not a causal language model: " + problem);
  return std::unique_ptr<StepModel>(
      new RecomputeStepModel(session, ids.dtype, B, S, out.shape[2], logits));
}

} // namespace effc::detail
