// KV-cache mode for decoders exported with past (Hugging Face Optimum's
// text-generation-with-past, onnxruntime-genai: ../shared/notes/formats.md
// section 2): inputs input_ids [batch, seq], attention_mask [batch, past+seq],
// position_ids [batch, seq] and past_key_values.{i}.key/value
// [batch, kv_heads, past, head_dim]; outputs logits [batch, seq, vocab] and
// present.{i}.key/value [batch, kv_heads, past+seq, head_dim]. The artifact
// is compiled with symbolic seq, past and total (e.g. --dim seq=1..32
// --dim past=0..255 --dim total=1..288), so one artifact runs the
// prefill (past 0, the prompt in chunks of at most max seq tokens) and every
// one-token step (seq 1) after it; each run's present.* is the next run's
// past_key_values.*.
//
// Padding: the batch shares one cache length, so prompts of different
// lengths are RIGHT-padded to the longest: sequence b's pads get
// attention_mask 0 and every token after them sits at the next cache slot
// with attention_mask 1 and position_ids continuing from b's own length
// (len_b, len_b + 1, ...). A masked key is invisible to every query, so
// this computes what HF computes with left padding (its generate() default:
// positions cumsum(mask) - 1) — the same positions and the same visible keys,
// only stored in another cache order. Right padding is chosen because no
// query row is ever fully masked: a left-padded pad token at position 0 sees
// only masked keys, which a model may turn into NaN in its K/V. A finished
// sequence (stop token) is fed the pad token with mask 0 and does not move.
//
// Where the cache lives: two buffers per cache tensor, each of capacity
// [batch, kv_heads, total's bound, head_dim], in the session's memory (device
// memory on the cuda backend, host memory on the host backend), taken in turn
// as the past (a view of its first `past` rows) and the present (the run
// writes it there through Session::runInto). Per run only input_ids,
// attention_mask and position_ids go in and the logits come out: the cache
// never crosses between host and device (on the cuda backend the planner's
// arena still copies past and present device-to-device: runtime extents are
// copied, not bound; the cache kept in place in a session-state buffer is
// issue 14 stage S4's next step). A model with outputs besides logits and
// present.* (nothing to write them into), or with symbolic heads or head
// dims, feeds the presents back through the host as before (FeedOutputs).
// An artifact whose cache is session state (Model::states(): effc placed
// each kv_append's cache in one session-owned buffer of capacity rows) runs
// StateBound: past_key_values.* and present.* are no inputs or outputs at
// all, each run appends its rows in place and nothing of the cache moves;
// the session counts the rows (Session::stateRows), a new generation resets
// them.
//
// What comes back of the logits: on the cuda backend (session buffers or
// state) a run writes its logits [B, s, V] into a device buffer of this
// model, and only what the Generator reads crosses to the host: each
// sequence's last real position's row (the prefill's ragged last tokens, a
// step's one row), or with picks (StepModel::pickTokens) only its token id,
// picked on the device: greedy (cuda/DeviceArgmax.h) or sampled
// (cuda/DeviceSampler.h). The host backend reads the same rows and picks
// with the host sampler (checkedToken), which picks the same ids.
// EFFC_GENERATE_HOST_LOGITS=1 brings every run's whole logits to the host
// instead (the earlier behaviour, for comparing timings).
#include "PastModel.h"
#include "Sampler.h"
#include "StepModel.h"
#include "cuda/DeviceArgmax.h"
#include "cuda/DeviceSampler.h"
#include "effc/Session.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

namespace effc::detail {
namespace {

constexpr const char *kPastPrefix = "past_key_values.";
constexpr const char *kPresentPrefix = "present.";

class PastStepModel final : public StepModel {
public:
  using Layout = PastLayout;

  PastStepModel(Session &session, Layout layout, PastCacheFeed feed)
      : session_(session), l_(std::move(layout)), feed_(feed) {}

  int64_t maxBatch() const override { return l_.batch.max; }
  /// Tokens a sequence may hold: every one of them is in the cache by the
  /// time the next would be fed, so past's bound limits it (and total's).
  int64_t maxLength() const override { return std::min(l_.past.max + 1, l_.total.max); }
  int64_t vocabSize() const override { return l_.vocab; }
  const char *mode() const override { return "kv-cache"; }
  std::string lengthLimit() const override {
    return "the KV cache holds past <= " + std::to_string(l_.past.max) +
           " tokens: compiled with --dim " + l_.past.name + "=" + std::to_string(l_.past.min) +
           ".." + std::to_string(l_.past.max) +
           (l_.total.name.empty() ? std::string() : ", total <= " + std::to_string(l_.total.max));
  }

  bool pickTokens(const PickRule *rule) override {
    picking_ = rule != nullptr; // picks: the logits stay where they are
    if (rule)
      rule_ = *rule;
    return true;
  }

  Status prefill(const std::vector<std::vector<int64_t>> &prompts, int64_t padToken,
                 std::vector<float> &logits) override {
    const Model &model = session_.model();
    n_ = prompts.size();
    B_ = std::max<int64_t>(int64_t(n_), l_.batch.min);
    pad_ = padToken;
    int64_t width = 0;
    for (const auto &p : prompts)
      width = std::max<int64_t>(width, int64_t(p.size()));
    // Rows past the prompts (a fixed or minimum batch) hold one pad token.
    std::vector<int64_t> length(size_t(B_), 1);
    for (size_t b = 0; b < n_; ++b)
      length[b] = int64_t(prompts[b].size());
    mask_.clear();
    pastLength_ = 0;
    past_.clear();
    if (feed_ == PastCacheFeed::StateBound) {
      EFFC_RETURN_IF_ERROR(session_.resetState(0));
    } else if (feed_ == PastCacheFeed::FeedOutputs) {
      for (auto [in, out] : l_.cache) {
        std::vector<int64_t> shape = model.inputs()[in].shape;
        shape[0] = B_;
        shape[2] = 0;
        past_.emplace_back(model.inputs()[in].dtype, shape);
      }
    } else {
      EFFC_RETURN_IF_ERROR(allocateCache());
    }
    if (!picking_) // picks leave the logits alone
      logits.assign(n_ * size_t(l_.vocab), 0.f);
    picks_.assign(n_, -1);
    pickStep_ = 0;
    for (int64_t start = 0; start < width; start += l_.seq.max) {
      int64_t s = std::min(l_.seq.max, width - start);
      std::vector<int64_t> ids(size_t(B_ * s), padToken), positions(size_t(B_ * s)),
          newMask(size_t(B_ * s)), at(size_t(B_), 0);
      for (int64_t b = 0; b < B_; ++b)
        for (int64_t t = 0; t < s; ++t) {
          int64_t at = start + t;
          bool held = at < length[size_t(b)];
          if (held && size_t(b) < n_)
            ids[size_t(b * s + t)] = prompts[size_t(b)][size_t(at)];
          positions[size_t(b * s + t)] = held ? at : length[size_t(b)];
          newMask[size_t(b * s + t)] = held;
        }
      // Each sequence's last prompt token (ragged rows end in other chunks
      // and at other positions); with logits_index the run computes only
      // that row (any row of a sequence that does not end here).
      std::vector<size_t> seqs;
      std::vector<int64_t> rows;
      for (size_t b = 0; b < n_; ++b) {
        int64_t last = length[b] - 1;
        if (last >= start && last < start + s) {
          seqs.push_back(b);
          at[b] = last - start;
          rows.push_back(l_.logitsIndex >= 0 ? int64_t(b) : int64_t(b) * s + at[b]);
        }
      }
      EFFC_RETURN_IF_ERROR(run(ids, positions, newMask, at, s));
      EFFC_RETURN_IF_ERROR(takeRows(seqs, rows, logits));
    }
    nextPosition_ = length;
    return Status::OK();
  }

  Status step(const std::vector<int64_t> &tokens, const std::vector<bool> &live,
              std::vector<float> &logits) override {
    if (tokens.size() != n_ || live.size() != n_ ||
        (!picking_ && logits.size() != n_ * size_t(l_.vocab)))
      return Status::error("internal error: kv-cache step before prefill");
    std::vector<int64_t> ids(size_t(B_), pad_), newMask(size_t(B_), 0);
    std::vector<int64_t> positions(static_cast<size_t>(B_));
    for (int64_t b = 0; b < B_; ++b) {
      bool feeds = size_t(b) < n_ && live[size_t(b)];
      positions[size_t(b)] = nextPosition_[size_t(b)];
      if (feeds) {
        ids[size_t(b)] = tokens[size_t(b)];
        newMask[size_t(b)] = 1;
        ++nextPosition_[size_t(b)];
      }
    }
    EFFC_RETURN_IF_ERROR(run(ids, positions, newMask, std::vector<int64_t>(size_t(B_), 0), 1));
    ++pickStep_;
    std::vector<size_t> seqs;
    std::vector<int64_t> rows;
    for (size_t b = 0; b < n_; ++b)
      if (live[b]) {
        seqs.push_back(b);
        rows.push_back(int64_t(b));
      }
    return takeRows(seqs, rows, logits);
  }

private:
  /// One run of `s` new tokens per row (ids, positions, newMask: [B, s];
  /// at: [B], the position whose logits a --last-logits model computes);
  /// the presents become the past.
  Status run(const std::vector<int64_t> &ids, const std::vector<int64_t> &positions,
             const std::vector<int64_t> &newMask, const std::vector<int64_t> &at, int64_t s) {
    const Model &model = session_.model();
    int64_t total = pastLength_ + s;
    if (pastLength_ > l_.past.max || total > l_.total.max)
      return Status::error("internal error: kv-cache run past the cache bounds");
    // The mask of every cache slot so far, then the new tokens': [B, total].
    std::vector<int64_t> mask(size_t(B_ * total));
    for (int64_t b = 0; b < B_; ++b) {
      std::copy_n(mask_.begin() + b * pastLength_, pastLength_, mask.begin() + b * total);
      std::copy_n(newMask.begin() + b * s, s, mask.begin() + b * total + pastLength_);
    }
    HostFeeds feeds;
    EFFC_RETURN_IF_ERROR(feeds.addInts(model, l_.ids, {B_, s}, ids));
    if (l_.mask >= 0)
      EFFC_RETURN_IF_ERROR(feeds.addInts(model, size_t(l_.mask), {B_, total}, mask));
    if (l_.positions >= 0)
      EFFC_RETURN_IF_ERROR(feeds.addInts(model, size_t(l_.positions), {B_, s}, positions));
    if (l_.logitsIndex >= 0)
      EFFC_RETURN_IF_ERROR(feeds.addInts(model, size_t(l_.logitsIndex), {B_}, at));
    if (feed_ == PastCacheFeed::StateBound) {
      if (session_.stateRows() != pastLength_)
        return Status::error("internal error: the session state holds " +
                             std::to_string(session_.stateRows()) + " rows, the generation " +
                             std::to_string(pastLength_));
      if (model.outputs().size() == 1) { // logits alone: into our buffer
        std::map<std::string, MutableTensor> outs;
        EFFC_RETURN_IF_ERROR(logitsTarget(s, outs));
        EFFC_RETURN_IF_ERROR(session_.runInto(feeds.views, outs));
      } else {
        auto outputs = session_.run(feeds.views);
        if (!outputs.ok())
          return outputs.status();
        logitsRun_ = std::move((*outputs)[l_.logits]);
        logitsOnDevice_ = false;
      }
    } else if (feed_ == PastCacheFeed::FeedOutputs) {
      for (size_t k = 0; k < l_.cache.size(); ++k)
        feeds.views[model.inputs()[l_.cache[k].first].name] = past_[k].view();
      auto outputs = session_.run(feeds.views);
      if (!outputs.ok())
        return outputs.status();
      for (size_t k = 0; k < l_.cache.size(); ++k)
        past_[k] = std::move((*outputs)[l_.cache[k].second]);
      logitsRun_ = std::move((*outputs)[l_.logits]);
      logitsOnDevice_ = false;
    } else {
      // The past is the first pastLength_ rows of buffer `current_`, the
      // present goes to the other one; the logits to logitsTarget.
      std::map<std::string, MutableTensor> outs;
      EFFC_RETURN_IF_ERROR(logitsTarget(s, outs));
      for (size_t k = 0; k < l_.cache.size(); ++k) {
        const CacheBuffer &c = cache_[k];
        std::vector<int64_t> shape = {B_, c.heads, pastLength_, c.headDim};
        feeds.views[model.inputs()[l_.cache[k].first].name] =
            Tensor{c.dtype, shape, c.data(current_), device_, deviceIndex_};
        shape[2] = total;
        outs[model.outputs()[l_.cache[k].second].name] =
            MutableTensor{c.dtype, shape, c.data(1 - current_), device_, deviceIndex_};
      }
      EFFC_RETURN_IF_ERROR(session_.runInto(feeds.views, outs));
      current_ = 1 - current_;
    }
    mask_ = std::move(mask);
    pastLength_ = total;
    return Status::OK();
  }

  /// Where a run of `s` tokens per row writes its logits [B_, s, V]: this
  /// model's device buffer on the cuda backend (grown to the largest run),
  /// else logitsRun_ on the host.
  Status logitsTarget(int64_t s, std::map<std::string, MutableTensor> &outs) {
    const TensorInfo &info = session_.model().outputs()[l_.logits];
    std::vector<int64_t> shape = {B_, l_.logitsIndex >= 0 ? 1 : s, l_.vocab};
    logitsOnDevice_ = session_.backendName() == "cuda" && !wholeLogitsToHost();
    if (logitsOnDevice_) {
      if (logitsDevice_.dtype() != info.dtype || logitsDevice_.numElements() < numElements(shape)) {
        auto t = DeviceTensor::allocate(info.dtype, shape, session_.options().device);
        if (!t.ok())
          return Status::error(session_.model().path() + ": kv-cache mode: allocating the logits " +
                               shapeToString(shape) + ": " + t.status().message());
        logitsDevice_ = std::move(*t);
      }
      logitsRunShape_ = shape;
      outs[info.name] = MutableTensor{info.dtype, shape, logitsDevice_.data(), Device::Cuda,
                                      logitsDevice_.deviceIndex()};
      return Status::OK();
    }
    if (logitsRun_.dtype() != info.dtype || logitsRun_.shape() != shape)
      logitsRun_ = HostTensor(info.dtype, shape);
    outs[info.name] = logitsRun_.mutableView();
    return Status::OK();
  }

  /// sequence `seq`'s pick from its logits row on the host (pickTokens).
  int64_t hostPick(const float *row, size_t seq) const {
    return checkedToken(row, l_.vocab, rule_.sampling, tokenRandom(rule_.seed, seq, pickStep_));
  }

  /// After a run: for each sequence seqs[k], row rows[k] of the logits seen
  /// as [B * s, V] — its logits (float) into `logits`, or with picks its
  /// token into picks_. On the device only those rows (or ids) cross to the
  /// host; verbosity 2 says how many bytes.
  Status takeRows(const std::vector<size_t> &seqs, const std::vector<int64_t> &rows,
                  std::vector<float> &logits) {
    const size_t V = size_t(l_.vocab);
    if (!logitsOnDevice_) {
      std::vector<float> row(picking_ ? V : 0);
      for (size_t k = 0; k < seqs.size(); ++k) {
        float *out = picking_ ? row.data() : logits.data() + seqs[k] * V;
        const int64_t base = rows[k] * l_.vocab;
        for (size_t v = 0; v < V; ++v)
          out[v] = float(logitsRun_.elementAsDouble(base + int64_t(v)));
        if (picking_)
          picks_[seqs[k]] = hostPick(row.data(), seqs[k]);
      }
      return Status::OK();
    }
    const Tensor all{logitsDevice_.dtype(), logitsRunShape_, logitsDevice_.data(), Device::Cuda,
                     logitsDevice_.deviceIndex()};
    uint64_t bytes = 0;
    const bool sampled = picking_ && rule_.sampling.temperature > 0;
    // An artifact with embedded cubins runs without libnvrtc: then the
    // rows come back and the host picks.
    auto load = [&](auto &picker, bool &failed, auto create, const char *what) {
      if (picker || failed)
        return;
      auto a = create(session_.options());
      if (a.ok()) {
        picker = std::move(*a);
        return;
      }
      failed = true;
      if (session_.options().verbosity >= 1)
        std::fprintf(stderr, "effc: %s: %s picks on the host: %s\n",
                     session_.model().path().c_str(), what, a.status().message().c_str());
    };
    if (picking_ && !sampled)
      load(argmax_, argmaxFailed_, cuda::DeviceArgmax::create, "greedy");
    if (sampled)
      load(sampler_, samplerFailed_, cuda::DeviceSampler::create, "sampled");
    const bool pickOnDevice = sampled ? sampler_ && cuda::DeviceSampler::reads(all.dtype)
                                      : picking_ && argmax_ && cuda::DeviceArgmax::reads(all.dtype);
    if (pickOnDevice) {
      std::vector<int64_t> ids;
      if (sampled) {
        std::vector<int64_t> sequences(seqs.begin(), seqs.end());
        EFFC_RETURN_IF_ERROR(sampler_->sample(all, rows, sequences, rule_.sampling, rule_.seed,
                                              pickStep_, session_.stream(), ids, bytes));
      } else {
        EFFC_RETURN_IF_ERROR(argmax_->pick(all, rows, session_.stream(), ids, bytes));
      }
      for (size_t k = 0; k < seqs.size(); ++k)
        picks_[seqs[k]] = ids[k];
    } else {
      EFFC_RETURN_IF_ERROR(cuda::copyLogitsRows(all, rows, session_.stream(), hostRows_, bytes));
      std::vector<float> row(picking_ ? V : 0);
      for (size_t k = 0; k < seqs.size(); ++k) {
        float *out = picking_ ? row.data() : logits.data() + seqs[k] * V;
        for (size_t v = 0; v < V; ++v)
          out[v] = float(hostRows_.elementAsDouble(int64_t(k * V + v)));
        if (picking_)
          picks_[seqs[k]] = hostPick(row.data(), seqs[k]);
      }
    }
    if (session_.options().verbosity >= 2)
      std::fprintf(stderr, "effc: %s: generate: copied %llu bytes %s (%zu rows)\n",
                   session_.model().path().c_str(), (unsigned long long)bytes,
                   !pickOnDevice ? "of logits rows to the host"
                   : sampled     ? "for sampled picks on the device (row indices and sequences "
                                   "in, ids out)"
                                 : "for greedy picks on the device (row indices in, ids out)",
                   seqs.size());
    return Status::OK();
  }

  /// One cache tensor's two buffers of [B_, heads, capacity, headDim].
  struct CacheBuffer {
    DType dtype = DType::UNDEFINED;
    int64_t heads = 0, headDim = 0;
    HostTensor host[2];
    DeviceTensor device[2];
    void *data(int which) const {
      return device[which].data() ? device[which].data() : const_cast<void *>(host[which].data());
    }
  };

  /// Sizes cache_ for B_ rows of total's bound (kept while they suffice).
  Status allocateCache() {
    const Model &model = session_.model();
    const bool onDevice = session_.backendName() == "cuda";
    device_ = onDevice ? Device::Cuda : Device::Host;
    deviceIndex_ = onDevice ? session_.options().device : 0;
    current_ = 0;
    if (cache_.size() == l_.cache.size() && cacheRows_ >= B_)
      return Status::OK();
    cache_.clear();
    cache_.resize(l_.cache.size());
    for (size_t k = 0; k < l_.cache.size(); ++k) {
      const TensorInfo &in = model.inputs()[l_.cache[k].first];
      CacheBuffer &c = cache_[k];
      c.dtype = in.dtype, c.heads = in.shape[1], c.headDim = in.shape[3];
      std::vector<int64_t> shape = {B_, c.heads, l_.total.max, c.headDim};
      for (int which = 0; which < 2; ++which) {
        if (!onDevice) {
          c.host[which] = HostTensor(c.dtype, shape);
          continue;
        }
        auto t = DeviceTensor::allocate(c.dtype, shape, deviceIndex_);
        if (!t.ok())
          return Status::error(model.path() + ": kv-cache mode: allocating the cache for '" +
                               in.name + "' " + shapeToString(shape) + ": " + t.status().message());
        c.device[which] = std::move(*t);
      }
    }
    cacheRows_ = B_;
    return Status::OK();
  }

  Session &session_;
  Layout l_;
  PastCacheFeed feed_;
  size_t n_ = 0;                      ///< sequences of this generation
  int64_t B_ = 0;                     ///< rows each run (>= n_: a fixed or minimum batch)
  int64_t pad_ = 0;                   ///< fed to rows that hold nothing new
  int64_t pastLength_ = 0;            ///< cache slots filled
  std::vector<int64_t> mask_;         ///< [B, pastLength_]: 1 where a slot holds a token
  std::vector<int64_t> nextPosition_; ///< per row: position_ids of its next token
  std::vector<HostTensor> past_;      ///< FeedOutputs: per cache pair, the next run's past
  std::vector<CacheBuffer> cache_;    ///< SessionBuffers: per cache pair
  int64_t cacheRows_ = 0;             ///< the batch rows cache_ holds
  int current_ = 0;                   ///< the buffer of cache_ that holds the past
  Device device_ = Device::Host;
  int deviceIndex_ = 0;
  HostTensor logitsRun_;                ///< the last run's logits (when not on the device)
  bool logitsOnDevice_ = false;         ///< the last run wrote logitsDevice_
  DeviceTensor logitsDevice_;           ///< cuda: the runs' logits (largest run's size)
  std::vector<int64_t> logitsRunShape_; ///< the last run's [B, s, V] in logitsDevice_
  HostTensor hostRows_;                 ///< cuda: the rows copied back
  bool picking_ = false;                ///< pickTokens: picks instead of logits
  PickRule rule_;                       ///< how, while picking_
  uint64_t pickStep_ = 0;               ///< the picks' step: 0 after the prefill
  std::unique_ptr<cuda::DeviceArgmax> argmax_;
  bool argmaxFailed_ = false; ///< no device picks (no NVRTC): rows to the host
  std::unique_ptr<cuda::DeviceSampler> sampler_;
  bool samplerFailed_ = false;
};

} // namespace

bool wholeLogitsToHost() {
  const char *e = std::getenv("EFFC_GENERATE_HOST_LOGITS");
  return e && *e && std::strcmp(e, "0") != 0;
}

bool hasPastInputs(const Model &model) {
  if (!model.states().empty())
    return true;
  for (const TensorInfo &in : model.inputs())
    if (in.name.rfind(kPastPrefix, 0) == 0)
      return true;
  return false;
}

/// Dim `d` of `info`: fixed, a dim of the model, or (an expression over dims)
/// an error.
static StatusOr<PastExtent> extentOf(const Model &model, const TensorInfo &info, size_t d) {
  if (d >= info.shape.size())
    return Status::error("input '" + info.name + "' has rank " + std::to_string(info.shape.size()));
  if (info.shape[d] >= 0)
    return PastExtent{"", info.shape[d], info.shape[d]};
  const std::string &name = d < info.dimNames.size() ? info.dimNames[d] : std::string();
  for (const DimInfo &dim : model.dims())
    if (dim.name == name)
      return PastExtent{dim.name, dim.min, dim.max};
  return Status::error("input '" + info.name + "' dim " + std::to_string(d) + " is '" + name +
                       "', an expression over the model's dims; KV-cache mode needs each of "
                       "its dims fixed or a dim of its own (effc --dim NAME=MIN..MAX)");
}

Status fillIntTensor(HostTensor &t, const std::vector<int64_t> &values) {
  switch (t.dtype()) {
  case DType::INT64:
    std::copy(values.begin(), values.end(), t.data<int64_t>());
    return Status::OK();
  case DType::INT32:
    std::transform(values.begin(), values.end(), t.data<int32_t>(),
                   [](int64_t v) { return int32_t(v); });
    return Status::OK();
  case DType::FLOAT32:
    std::transform(values.begin(), values.end(), t.data<float>(),
                   [](int64_t v) { return float(v); });
    return Status::OK();
  case DType::BOOL:
    std::transform(values.begin(), values.end(), t.data<uint8_t>(),
                   [](int64_t v) { return uint8_t(v != 0); });
    return Status::OK();
  default:
    return Status::error(std::string("internal error: integer input of dtype ") +
                         dtypeName(t.dtype()));
  }
}

HostTensor &HostFeeds::add(const TensorInfo &in, std::vector<int64_t> shape) {
  HostTensor &t = owned.emplace_back(in.dtype, std::move(shape));
  views[in.name] = t.view();
  return t;
}

Status HostFeeds::addInts(const Model &model, size_t index, std::vector<int64_t> shape,
                          const std::vector<int64_t> &values) {
  return fillIntTensor(add(model.inputs()[index], std::move(shape)), values);
}

StatusOr<PastLayout> analyzePastModel(const Model &model) {
  auto refuse = [&](const std::string &why) {
    return Status::error(model.path() + ": cannot generate (kv-cache mode): " + why);
  };
  const auto &ins = model.inputs();
  const auto &outs = model.outputs();
  auto outputIndex = [&](const std::string &name) {
    for (size_t k = 0; k < outs.size(); ++k)
      if (outs[k].name == name)
        return int(k);
    return -1;
  };
  PastLayout l;
  bool haveIds = false;
  for (size_t i = 0; i < ins.size(); ++i) {
    const TensorInfo &in = ins[i];
    if (in.name == "input_ids") {
      haveIds = true;
      l.ids = i;
    } else if (in.name == "attention_mask") {
      l.mask = int(i);
    } else if (in.name == "position_ids") {
      l.positions = int(i);
    } else if (in.name == "logits_index") {
      l.logitsIndex = int(i);
    } else if (in.name.rfind(kPastPrefix, 0) == 0) {
      // past_key_values.{i}.key/value pairs with present.{i}.key/value.
      std::string present = kPresentPrefix + in.name.substr(std::string(kPastPrefix).size());
      int out = outputIndex(present);
      if (out < 0)
        return refuse("input '" + in.name + "' has no output '" + present +
                      "' to feed it from (Optimum's past_key_values.{i}.key/value -> "
                      "present.{i}.key/value)");
      if (in.shape.size() != 4 || outs[size_t(out)].shape.size() != 4 ||
          outs[size_t(out)].dtype != in.dtype)
        return refuse("input '" + in.name + "' and output '" + present +
                      "' must have one dtype and rank 4 [batch, kv_heads, past, head_dim], got " +
                      dtypeName(in.dtype) + " " + shapeToString(in.shape) + " and " +
                      dtypeName(outs[size_t(out)].dtype) + " " +
                      shapeToString(outs[size_t(out)].shape));
      l.cache.emplace_back(i, size_t(out));
    } else {
      return refuse("input '" + in.name +
                    "' is none of input_ids, attention_mask, position_ids, logits_index, "
                    "past_key_values.{i}.key/value, so nothing knows what to feed it");
    }
  }
  if (!haveIds)
    return refuse("no input 'input_ids'");
  auto isInts = [](DType t) { return t == DType::INT64 || t == DType::INT32; };
  const TensorInfo &ids = ins[l.ids];
  if (!isInts(ids.dtype) || ids.shape.size() != 2)
    return refuse(std::string("input 'input_ids' must be int64 or int32 [batch, seq], got ") +
                  dtypeName(ids.dtype) + " " + shapeToString(ids.shape));
  for (int k : {l.mask, l.positions})
    if (k >= 0 && (ins[size_t(k)].shape.size() != 2 ||
                   !(isInts(ins[size_t(k)].dtype) || ins[size_t(k)].dtype == DType::FLOAT32 ||
                     (k == l.mask && ins[size_t(k)].dtype == DType::BOOL))))
      return refuse("input '" + ins[size_t(k)].name + "' must be integer [batch, N], got " +
                    dtypeName(ins[size_t(k)].dtype) + " " + shapeToString(ins[size_t(k)].shape));
  auto dim = [&](const TensorInfo &info, size_t d, PastExtent &e) -> Status {
    auto x = extentOf(model, info, d);
    if (!x.ok())
      return x.status();
    e = *x;
    return Status::OK();
  };
  auto fail = [&](const Status &s) { return refuse(s.message()); };
  if (Status s = dim(ids, 0, l.batch); !s.ok())
    return fail(s);
  if (Status s = dim(ids, 1, l.seq); !s.ok())
    return fail(s);
  // Session state: the past is no input; its view says the same.
  const bool state = !model.states().empty();
  if (!state && l.cache.empty())
    return refuse("no input past_key_values.{i}.key/value");
  if (state && !l.cache.empty())
    return refuse("input '" + ins[l.cache.front().first].name +
                  "' is fed while the cache is session state");
  const TensorInfo &past0 = state ? model.states().front().pastView : ins[l.cache.front().first];
  if (Status s = dim(past0, 2, l.past); !s.ok())
    return fail(s);
  l.total = {"", 0, l.past.max + l.seq.max};
  if (l.mask >= 0)
    if (Status s = dim(ins[size_t(l.mask)], 1, l.total); !s.ok())
      return fail(s);
  const char *hint = " (compile with e.g. --dim seq=1..32 --dim past=0..255 --dim total=1..288)";
  if (l.seq.min != 1)
    return refuse("input 'input_ids' dim 1 (seq) must take 1 for the one-token steps; it is " +
                  std::to_string(l.seq.min) + ".." + std::to_string(l.seq.max) + hint);
  if (l.past.min != 0 || l.past.name.empty())
    return refuse("input '" + past0.name + "' dim 2 (past) must be symbolic from 0 (the prefill) " +
                  "to the cache size; it is " + std::to_string(l.past.min) + ".." +
                  std::to_string(l.past.max) + hint);
  if (l.total.min > 1)
    return refuse("input 'attention_mask' dim 1 (total) must take 1..past+seq; it is " +
                  std::to_string(l.total.min) + ".." + std::to_string(l.total.max) + hint);
  if (l.batch.max < 1)
    return refuse("input 'input_ids' has batch " + std::to_string(l.batch.max));
  std::vector<const TensorInfo *> pasts;
  for (auto [in, out] : l.cache)
    pasts.push_back(&ins[in]);
  for (const StateInfo &st : model.states())
    pasts.push_back(&st.pastView);
  for (const TensorInfo *past : pasts) {
    PastExtent b, p;
    if (Status s = dim(*past, 0, b); !s.ok())
      return fail(s);
    if (Status s = dim(*past, 2, p); !s.ok())
      return fail(s);
    if (b.name != l.batch.name || b.max != l.batch.max || p.name != l.past.name)
      return refuse("input '" + past->name + "' has shape " + shapeToString(past->shape) +
                    " whose batch or past dim is not input_ids' batch and " + past0.name +
                    "'s past");
  }
  int logits = outputIndex("logits");
  if (logits < 0)
    return refuse("no output 'logits'");
  const TensorInfo &out = outs[size_t(logits)];
  if (!isFloatDType(out.dtype) || out.shape.size() != 3 || out.shape[2] <= 0)
    return refuse(
        std::string("output 'logits' must be float [batch, seq, vocab] with a fixed vocab, got ") +
        dtypeName(out.dtype) + " " + shapeToString(out.shape));
  if (l.logitsIndex >= 0) { // effc --last-logits
    const TensorInfo &index = ins[size_t(l.logitsIndex)];
    if (!isInts(index.dtype) || index.shape.size() != 1 || out.shape[1] != 1)
      return refuse("input 'logits_index' must be integer [batch] with output 'logits' [batch, 1, "
                    "vocab] (effc --last-logits), got " +
                    std::string(dtypeName(index.dtype)) + " " + shapeToString(index.shape) +
                    " and " + shapeToString(out.shape));
  }
  l.logits = size_t(logits);
  l.vocab = out.shape[2];
  return l;
}

StatusOr<std::unique_ptr<StepModel>> makePastStepModel(Session &session, PastCacheFeed feed) {
  const Model &model = session.model();
  auto l = analyzePastModel(model);
  if (!l.ok())
    return l.status();
  if (!model.states().empty()) // nothing else can feed it
    return std::unique_ptr<StepModel>(
        new PastStepModel(session, std::move(*l), PastCacheFeed::StateBound));
  // Session buffers need every output written somewhere and fixed heads and
  // head dims to size them.
  if (model.outputs().size() != l->cache.size() + 1)
    feed = PastCacheFeed::FeedOutputs;
  for (auto [in, out] : l->cache)
    if (model.inputs()[in].shape[1] < 0 || model.inputs()[in].shape[3] < 0)
      feed = PastCacheFeed::FeedOutputs;
  return std::unique_ptr<StepModel>(new PastStepModel(session, std::move(*l), feed));
}

} // namespace effc::detail
