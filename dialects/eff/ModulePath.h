//===- ModulePath.h - the PyTorch module an op came from ---------*- C++ -*-===//
//
// The importer locates every op at its ONNX node, wrapped in
//   FusedLoc<"m.model.layers.0.self_attn.q_proj">[NameLoc(node name)]
// when the exporter recorded the PyTorch module (compiler/onnx/OnnxLocations.h).
// Passes that target modules by name (LoRA's q_proj/v_proj, quantization's
// lm_head exclusion) read it back here, without depending on the importer.
//
#ifndef EFFC_DIALECTS_EFF_MODULEPATH_H
#define EFFC_DIALECTS_EFF_MODULEPATH_H

#include "mlir/IR/Location.h"

#include <optional>
#include <string>

namespace effc {

/// The PyTorch module path recorded in `loc` (the metadata of a FusedLoc
/// anywhere inside it), e.g. "m.model.layers.0.self_attn.q_proj".
std::optional<std::string> getModulePath(mlir::Location loc);

/// The ONNX node name recorded in `loc` (its outermost NameLoc).
std::optional<std::string> getNodeName(mlir::Location loc);

} // namespace effc

#endif
