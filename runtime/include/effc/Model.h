// A loaded, fully validated artifact (.effc). Immutable and shareable between
// sessions and threads: weights are read-only.
#pragma once

#include "effc/DType.h"
#include "effc/Status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace effc {
class Model;
namespace detail {
/// The parsed manifest of a Model: runtime-internal (runtime/src/ModelManifest.h).
struct ModelManifest;
const ModelManifest &modelManifest(const Model &model);
} // namespace detail

struct TensorInfo {
  std::string name;
  DType dtype = DType::UNDEFINED;
  /// -1 where the extent depends on the model's symbolic dims (Model::dims()).
  std::vector<int64_t> shape;
  uint32_t buffer = 0; // manifest buffer id
  /// Per dim: "" where static, else what decides it: a dim's name ("past")
  /// or an expression over the dims ("past+3").
  std::vector<std::string> dimNames;
  bool isStatic() const;
};

/// A symbolic dim the model was compiled with (`effc --dim past=0..255`):
/// each run binds it from the input shapes, within [min, max].
struct DimInfo {
  std::string name;
  int64_t min = 0, max = 0;
};

/// A tensor the session keeps across runs (a KV cache kept in place, issue
/// 14 S4; artifact format version 4): allocated once per session at `shape`
/// [B, H, capacity, D], it holds Session::stateRows() rows per [b, h]. A run
/// reads it as the input `input` and leaves it as the output `output`;
/// neither is in inputs()/outputs(): the caller feeds and receives neither.
struct StateInfo {
  std::string input, output; // "past_key_values.0.key", "present.0.key"
  DType dtype = DType::UNDEFINED;
  std::vector<int64_t> shape; // [B, H, capacity, D] at the dims' upper bounds
  /// The input and the output as tensors (the input's dim 2, its rows, is
  /// dims()[rowsDim]; the output's rows are what the state holds after a run).
  TensorInfo pastView, presentView;
  size_t rowsDim = 0;
  /// A paged KV pool [pages, H, page_size, D] (issue 19): the whole tensor
  /// is read and written in place; it holds no rows (rowsDim unused).
  bool pages = false;
};

class Model {
public:
  /// Reads and validates `path` (header, checksums, manifest consistency).
  /// Errors read "<path>: <what is wrong>".
  static StatusOr<std::shared_ptr<const Model>> load(const std::string &path);
  /// Same from memory; `name` is used in messages.
  static StatusOr<std::shared_ptr<const Model>> loadFromMemory(const void *data, size_t size,
                                                               const std::string &name);
  ~Model();

  const std::string &path() const { return path_; }
  const std::vector<TensorInfo> &inputs() const { return inputs_; }
  const std::vector<TensorInfo> &outputs() const { return outputs_; }
  /// Symbolic dims (empty: every shape is static).
  const std::vector<DimInfo> &dims() const { return dims_; }
  /// Session state (empty: every run is a function of its inputs).
  const std::vector<StateInfo> &states() const { return states_; }
  /// The shape of input or output `info` when the dims have `dimValues`
  /// (indexed like dims()); fails when a value is outside its bounds.
  StatusOr<std::vector<int64_t>> shapeOf(const TensorInfo &info,
                                         const std::vector<int64_t> &dimValues) const;
  /// The weights section (256-byte aligned in memory) and the payload.
  const uint8_t *weightsData() const { return weights_; }
  uint64_t weightsSize() const { return weightsSize_; }
  const std::string &payload() const { return payload_; }
  /// Bytes of device (or host) memory each session allocates for its
  /// intermediate tensors (the planned arena).
  uint64_t arenaBytes() const;

private:
  friend const detail::ModelManifest &detail::modelManifest(const Model &);
  Model();
  std::string path_;
  std::unique_ptr<detail::ModelManifest> manifest_;
  std::vector<TensorInfo> inputs_, outputs_;
  std::vector<DimInfo> dims_;
  std::vector<StateInfo> states_;
  std::vector<uint8_t> storage_; // the whole file, over-allocated for alignment
  const uint8_t *weights_ = nullptr;
  uint64_t weightsSize_ = 0;
  std::string payload_;
};

} // namespace effc
