//===- FuzzContext.h - the MLIR context every fuzz target runs in ----------===//
//
// A fresh context per input (no state carries from one input to the next),
// single-threaded (a crash's stack is the fuzzer's own), with every effc
// dialect loaded and diagnostics swallowed: a diagnostic is the expected
// answer to bad input; only crashes, sanitizer reports and hangs matter.
//
#ifndef EFFC_TOOLS_FUZZ_FUZZCONTEXT_H
#define EFFC_TOOLS_FUZZ_FUZZCONTEXT_H

#include "passes/Registration.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <memory>

namespace effc::fuzz {

/// A context for one fuzz input, with its diagnostics swallowed.
class FuzzContext {
public:
  FuzzContext() : context_(registry(), mlir::MLIRContext::Threading::DISABLED) {
    context_.loadAllAvailableDialects();
    quiet_ = std::make_unique<mlir::ScopedDiagnosticHandler>(
        &context_, [](mlir::Diagnostic &) { return mlir::success(); });
  }
  mlir::MLIRContext &get() { return context_; }

private:
  static const mlir::DialectRegistry &registry() {
    // Built once: registering the dialects is the slow part of a context.
    static const mlir::DialectRegistry *registry = [] {
      auto *r = new mlir::DialectRegistry;
      mlir::eff::registerEffcDialects(*r);
      return r;
    }();
    return *registry;
  }

  mlir::MLIRContext context_;
  std::unique_ptr<mlir::ScopedDiagnosticHandler> quiet_;
};

} // namespace effc::fuzz

#endif // EFFC_TOOLS_FUZZ_FUZZCONTEXT_H
