//===- replay-main.cpp - run a fuzz target over files, without libFuzzer ---===//
// `TARGET-replay FILE...` feeds each file to LLVMFuzzerTestOneInput once
// (llvm::runFuzzerOnInputs), so a corpus is a regression test in builds that
// are not instrumented for fuzzing, sanitizer builds included.
#include "llvm/FuzzMutate/FuzzerCLI.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  return llvm::runFuzzerOnInputs(argc, argv, LLVMFuzzerTestOneInput);
}
