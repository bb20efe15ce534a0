//===- effc-fuzz.cpp - libFuzzer target for the ONNX importer -------------===//
//
// Feeds arbitrary bytes to importOnnxBytes (binary ModelProto; inputs that
// start with '#' are read as text format) and verifies what comes out. Any
// crash, abort, sanitizer report or hang is a bug: the importer must answer
// bad input with a diagnostic. Run through test/fuzz/run-fuzzer.sh.
//
#include "FuzzContext.h"
#include "compiler/onnx/OnnxImporter.h"

#include "mlir/IR/Verifier.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  effc::fuzz::FuzzContext context;
  std::string bytes(reinterpret_cast<const char *>(data), size);
  bool text = size > 0 && data[0] == '#';
  effc::ImportOptions options;
  options.externalDataDir = "/nonexistent/effc-fuzz"; // external data must fail cleanly
  // Half of the binary inputs bind a plausible --shape, which makes much more
  // of the graph static (and so folded) during import.
  if (size > 1 && (data[size - 1] & 1))
    options.inputShapes["input_ids"] = {2, 16};
  mlir::OwningOpRef<mlir::ModuleOp> module =
      effc::importOnnxBytes(context.get(), bytes, text ? "fuzz.textproto" : "fuzz.onnx", options);
  if (module)
    (void)mlir::verify(*module);
  return 0;
}
