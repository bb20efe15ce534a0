//===- effc-fuzz.cpp - libFuzzer target for the ONNX importer -------------===//
//
// Feeds arbitrary bytes to importOnnxBytes (binary ModelProto; inputs that
// start with '#' are read as text format) and verifies what comes out. Any
// crash, abort, sanitizer report or hang is a bug: the importer must answer
// bad input with a diagnostic. Run through test/fuzz/run-fuzzer.sh.
//
#include "compiler/onnx/OnnxImporter.h"
#include "passes/Registration.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::DialectRegistry *registry = [] {
    auto *r = new mlir::DialectRegistry;
    mlir::eff::registerEffcDialects(*r);
    return r;
  }();
  mlir::MLIRContext context(*registry, mlir::MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  // Swallow diagnostics: only crashes matter here.
  mlir::ScopedDiagnosticHandler quiet(&context, [](mlir::Diagnostic &) { return mlir::success(); });

  std::string bytes(reinterpret_cast<const char *>(data), size);
  bool text = size > 0 && data[0] == '#';
  effc::ImportOptions options;
  options.externalDataDir = "/nonexistent/effc-fuzz"; // external data must fail cleanly
  // Half of the binary inputs bind a plausible --shape, which makes much more
  // of the graph static (and so folded) during import.
  if (size > 1 && (data[size - 1] & 1))
    options.inputShapes["input_ids"] = {2, 16};
  mlir::OwningOpRef<mlir::ModuleOp> module =
      effc::importOnnxBytes(context, bytes, text ? "fuzz.textproto" : "fuzz.onnx", options);
  if (module)
    (void)mlir::verify(*module);
  return 0;
}
