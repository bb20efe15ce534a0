//===- IoName.h - the ONNX name of a func argument or result ------*- C++ -*-===//
//
// The importer records each model input's and output's ONNX name as "eff.name"
// in the func's argument and result attributes; passes and the plan read it
// back here.
//
#ifndef EFFC_DIALECTS_EFF_IONAME_H
#define EFFC_DIALECTS_EFF_IONAME_H

#include "mlir/IR/BuiltinAttributes.h"

namespace effc {

/// The "eff.name" in an argument's or result's attributes, "" without one.
inline llvm::StringRef ioName(mlir::DictionaryAttr attrs) {
  auto name =
      attrs ? llvm::dyn_cast_or_null<mlir::StringAttr>(attrs.get("eff.name")) : mlir::StringAttr();
  return name ? name.getValue() : llvm::StringRef();
}

} // namespace effc

#endif
