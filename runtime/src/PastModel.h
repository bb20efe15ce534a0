// What the KV-cache modes know about a decoder exported with past
// (Optimum's past_key_values.{i}.key/value -> present.{i}.key/value, see
// PastStepModel.cpp): which inputs and outputs play which role and the
// bounds of its batch, seq, past and total dims. Shared by the Generator's
// PastStepModel and the serving engine's paged slot model (PagedSlotModel.cpp).
#pragma once

#include "effc/Model.h"
#include "effc/Status.h"
#include "effc/Tensor.h"

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace effc::detail {

/// A symbolic extent's bounds, or a fixed one (min == max).
struct PastExtent {
  std::string name; ///< "" when fixed
  int64_t min = 0, max = 0;
};

struct PastLayout {
  size_t ids = 0, logits = 0;
  int mask = -1, positions = -1; ///< input indices; -1: not an input
  /// Input logits_index [batch] (effc --last-logits): each row's logits are
  /// computed at that position of the run's seq only, logits [batch, 1, V].
  int logitsIndex = -1;
  std::vector<std::pair<size_t, size_t>> cache; ///< (past input, present output)
  PastExtent batch, seq, past, total;
  int64_t vocab = 0;
};

/// The layout of `model`, or an error saying why KV-cache mode cannot drive it.
StatusOr<PastLayout> analyzePastModel(const Model &model);

/// Writes integer `values` into `t` (int64, int32, float32 or bool).
Status fillIntTensor(HostTensor &t, const std::vector<int64_t> &values);

/// One run's inputs built on the host: the tensors it owns and the views
/// Session::run takes, by input name.
struct HostFeeds {
  std::map<std::string, Tensor> views;
  std::deque<HostTensor> owned; ///< a deque: adding never moves a fed tensor

  /// A tensor of `in`'s dtype and `shape`, fed as `in`; the caller fills it.
  HostTensor &add(const TensorInfo &in, std::vector<int64_t> shape);
  /// Input `index` of `model` with integer `values` (fillIntTensor's dtypes).
  Status addInts(const Model &model, size_t index, std::vector<int64_t> shape,
                 const std::vector<int64_t> &values);
};

} // namespace effc::detail
