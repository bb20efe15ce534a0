// The manifest of a loaded Model, for the runtime's backends, its tools and
// tests. Not part of the public API: effc/Model.h names no protobuf type.
#pragma once

#include "effc/Model.h"
#include "runtime/proto/artifact.pb.h"

namespace effc {

namespace detail {
struct ModelManifest {
  artifact::Manifest manifest;
};
} // namespace detail

/// The validated manifest of `model`.
inline const artifact::Manifest &manifestOf(const Model &model) {
  return detail::modelManifest(model).manifest;
}

} // namespace effc
