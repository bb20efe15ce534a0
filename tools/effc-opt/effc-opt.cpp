//===- effc-opt.cpp - mlir-opt style driver with every effc pass ----------===//
#include "compiler/Pipeline.h"
#include "passes/Registration.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::eff::registerEffcDialects(registry);
  mlir::eff::registerEffcPasses();
  effc::registerPipeline(); // --effc-pipeline: what effc runs
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "effc optimizer driver: every effc pass and --effc-pipeline registered\n",
      registry));
}
