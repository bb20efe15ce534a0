// Recompute mode: a fixed-shape causal LM (input_ids [B, S] -> logits
// [B, S, V]) holds every sequence right-padded in one [B, S] window (one row
// per slot, SlotModel.h) and runs the whole window for each step. Causal attention makes the logits
// at position t a function of tokens <= t only, so sequence b's next-token logits are row len_b - 1
// whatever follows it. That premise is checked twice: when the generator is made (every attention
// kernel of the artifact causal) and at every step (the row read last step is unchanged now that
// the token after it is written).
//
// On the cuda backend (a model whose only output is the logits) the window's logits [B, S, V]
// stay in a device buffer of this model and only the rows a forward reads cross to the host:
// each fed slot's new rows and the rows it read last time (the causality check). Verbosity 2
// says how many bytes; EFFC_GENERATE_HOST_LOGITS=1 brings the whole window back as before.
#include "ModelManifest.h"
#include "SlotModel.h"
#include "StepModel.h"
#include "cuda/DeviceArgmax.h"
#include "effc/Session.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
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

/// Slots are the rows of the [B, S] window; every forward reruns it all.
class RecomputeSlotModel final : public SlotModel {
public:
  RecomputeSlotModel(Session &session, DType idsType, int64_t batch, int64_t seq, int64_t vocab,
                     size_t logitsOutput)
      : session_(session), idsType_(idsType), B_(batch), S_(seq), V_(vocab),
        logitsOutput_(logitsOutput) {
    reset(0);
  }

  int64_t slots() const override { return B_; }
  int64_t maxLength() const override { return S_; }
  int64_t vocabSize() const override { return V_; }
  const char *mode() const override { return "recompute"; }
  int64_t length(int64_t slot) const override { return length_[size_t(slot)]; }

  void reset(int64_t padToken) override {
    pad_ = padToken;
    ids_.assign(size_t(B_ * S_), padToken);
    length_.assign(size_t(B_), 0);
    lastRead_.assign(size_t(B_), {});
  }

  void release(int64_t slot) override {
    if (slot < 0 || slot >= B_)
      return;
    std::fill_n(ids_.begin() + ptrdiff_t(slot * S_), S_, pad_);
    length_[size_t(slot)] = 0;
    lastRead_[size_t(slot)].clear();
  }

  Status truncate(int64_t slot, int64_t length) override {
    if (slot < 0 || slot >= B_ || length < 0 || length > length_[size_t(slot)])
      return Status::error("internal error: recompute truncate of slot " + std::to_string(slot) +
                           " to " + std::to_string(length) + " tokens");
    std::fill(ids_.begin() + ptrdiff_t(slot * S_ + length),
              ids_.begin() + ptrdiff_t((slot + 1) * S_), pad_);
    length_[size_t(slot)] = length;
    auto &read = lastRead_[size_t(slot)];
    read.erase(std::remove_if(read.begin(), read.end(),
                              [&](const ReadRow &r) { return r.position >= length; }),
               read.end());
    return Status::OK();
  }

  PoolUsage pool() const override {
    PoolUsage p{"slots", B_, 0, B_ * S_, 0};
    for (int64_t len : length_) {
      p.used += len > 0;
      p.tokensHeld += len;
    }
    return p;
  }

  Status forward(const std::vector<Feed> &feeds, std::vector<std::vector<float>> &logits) override {
    std::vector<bool> fed(size_t(B_), false);
    for (const Feed &f : feeds) {
      int64_t n = int64_t(f.tokens.size());
      if (f.slot < 0 || f.slot >= B_ || fed[size_t(f.slot)] || n == 0 || f.logitsRows < 1 ||
          f.logitsRows > n || length_[size_t(f.slot)] + n > S_)
        return Status::error("internal error: recompute forward of " + std::to_string(n) +
                             " tokens into slot " + std::to_string(f.slot) + " of " +
                             std::to_string(B_) + " (window of " + std::to_string(S_) + ")");
      fed[size_t(f.slot)] = true;
    }
    for (const Feed &f : feeds) {
      int64_t &len = length_[size_t(f.slot)];
      std::copy(f.tokens.begin(), f.tokens.end(), ids_.begin() + ptrdiff_t(f.slot * S_ + len));
      len += int64_t(f.tokens.size());
    }
    EFFC_RETURN_IF_ERROR(runWindow());
    // The rows read below: the new ones and those read last time.
    std::vector<int64_t> rows;
    for (const Feed &f : feeds) {
      for (const ReadRow &r : lastRead_[size_t(f.slot)])
        rows.push_back(f.slot * S_ + r.position);
      for (int64_t r = 0; r < f.logitsRows; ++r)
        rows.push_back(f.slot * S_ + length_[size_t(f.slot)] - f.logitsRows + r);
    }
    EFFC_RETURN_IF_ERROR(fetchRows(rows));
    logits.resize(feeds.size());
    for (size_t k = 0; k < feeds.size(); ++k) {
      const Feed &f = feeds[k];
      EFFC_RETURN_IF_ERROR(checkUnchanged(f.slot));
      int64_t len = length_[size_t(f.slot)];
      logits[k].resize(size_t(f.logitsRows * V_));
      auto &read = lastRead_[size_t(f.slot)];
      read.clear();
      for (int64_t r = 0; r < f.logitsRows; ++r) {
        float *row = logits[k].data() + r * V_;
        int64_t position = len - f.logitsRows + r;
        readRow(size_t(f.slot), position, row);
        read.push_back({position, std::vector<float>(row, row + V_)});
      }
    }
    return Status::OK();
  }

private:
  struct ReadRow {
    int64_t position;
    std::vector<float> values;
  };

  Status runWindow() {
    std::vector<int32_t> ids32;
    Tensor input{DType::INT64, {B_, S_}, ids_.data()};
    if (idsType_ == DType::INT32) {
      ids32.assign(ids_.begin(), ids_.end());
      input = Tensor{DType::INT32, {B_, S_}, ids32.data()};
    }
    const Model &model = session_.model();
    const TensorInfo &out = model.outputs()[logitsOutput_];
    onDevice_ =
        session_.backendName() == "cuda" && model.outputs().size() == 1 && !wholeLogitsToHost();
    if (!onDevice_) {
      auto outputs = session_.runPositional({input});
      if (!outputs.ok())
        return outputs.status();
      window_ = std::move((*outputs)[logitsOutput_]);
      return Status::OK();
    }
    if (!windowDevice_.data()) {
      auto t = DeviceTensor::allocate(out.dtype, {B_, S_, V_}, session_.options().device);
      if (!t.ok())
        return Status::error(model.path() + ": recompute mode: allocating the logits [" +
                             std::to_string(B_) + ", " + std::to_string(S_) + ", " +
                             std::to_string(V_) + "]: " + t.status().message());
      windowDevice_ = std::move(*t);
    }
    return session_.runIntoPositional({input}, {MutableTensor{out.dtype,
                                                              {B_, S_, V_},
                                                              windowDevice_.data(),
                                                              Device::Cuda,
                                                              windowDevice_.deviceIndex()}});
  }

  /// On the device: copies rows (of the window seen as [B * S, V]) to the
  /// host for readRow. On the host backend the whole window is there.
  Status fetchRows(std::vector<int64_t> rows) {
    if (!onDevice_)
      return Status::OK();
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    const Tensor all{windowDevice_.dtype(),
                     {B_ * S_, V_},
                     windowDevice_.data(),
                     Device::Cuda,
                     windowDevice_.deviceIndex()};
    uint64_t bytes = 0;
    EFFC_RETURN_IF_ERROR(cuda::copyLogitsRows(all, rows, session_.stream(), fetched_, bytes));
    fetchedRows_ = std::move(rows);
    if (session_.options().verbosity >= 2)
      std::fprintf(stderr,
                   "effc: %s: generate: copied %llu bytes of logits rows to the host (%zu "
                   "rows)\n",
                   session_.model().path().c_str(), (unsigned long long)bytes, fetchedRows_.size());
    return Status::OK();
  }

  /// Logits of slot b at position t, as float (fetched by fetchRows on the
  /// device).
  void readRow(size_t b, int64_t t, float *out) const {
    const HostTensor *from = &window_;
    int64_t first = (int64_t(b) * S_ + t) * V_;
    if (onDevice_) {
      auto it = std::lower_bound(fetchedRows_.begin(), fetchedRows_.end(), int64_t(b) * S_ + t);
      from = &fetched_;
      first = int64_t(it - fetchedRows_.begin()) * V_;
    }
    if (from->dtype() == DType::FLOAT32) {
      std::copy_n(from->data<float>() + first, V_, out);
      return;
    }
    for (int64_t v = 0; v < V_; ++v)
      out[v] = float(from->elementAsDouble(first + v));
  }

  /// The rows slot b read last time must not have changed when tokens were
  /// written after them: otherwise the model looks ahead and recompute mode
  /// would generate from logits that depend on padding. A causal model
  /// computes those rows from the same tokens, so only rounding may differ.
  Status checkUnchanged(int64_t b) const {
    std::vector<float> row(static_cast<size_t>(V_));
    for (const ReadRow &before : lastRead_[size_t(b)]) {
      readRow(size_t(b), before.position, row.data());
      double scale = 0, diff = 0;
      for (int64_t v = 0; v < V_; ++v) {
        double was = double(before.values[size_t(v)]);
        scale = std::max(scale, std::fabs(was));
        diff = std::max(diff, std::fabs(double(row[size_t(v)]) - was));
      }
      if (!(diff <= kLookAheadTolerance * std::max(scale, 1e-30)))
        return Status::error(
            session_.model().path() + ": not a causal language model: the logits at position " +
            std::to_string(before.position) + " of sequence " + std::to_string(b) + " changed by " +
            std::to_string(diff) + " (max |logit| " + std::to_string(scale) +
            ") when the token after it was written; recompute generation needs logits that "
            "depend only on earlier tokens");
    }
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
  int64_t pad_ = 0;
  std::vector<int64_t> ids_;                   // the [B, S] window
  std::vector<int64_t> length_;                // tokens each slot holds
  std::vector<std::vector<ReadRow>> lastRead_; // per slot, the rows read last time
  HostTensor window_;                          // the last run's logits [B, S, V] (host)
  bool onDevice_ = false;                      // the last run's logits are in windowDevice_
  DeviceTensor windowDevice_;                  // cuda: the runs' logits [B, S, V]
  HostTensor fetched_;                         // cuda: the rows fetchRows copied back
  std::vector<int64_t> fetchedRows_;           // their rows of [B * S, V], ascending
};

} // namespace

StatusOr<std::unique_ptr<SlotModel>> makeRecomputeSlotModel(Session &session) {
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
                  "); KV-cache mode takes a model with past_key_values.{i}.key/value inputs");
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
  return std::unique_ptr<SlotModel>(
      new RecomputeSlotModel(session, ids.dtype, B, S, out.shape[2], logits));
}

StatusOr<std::unique_ptr<StepModel>> makeRecomputeStepModel(Session &session) {
  auto slots = makeRecomputeSlotModel(session);
  if (!slots.ok())
    return slots.status();
  return makeStepModelOverSlots(std::move(*slots));
}

} // namespace effc::detail
