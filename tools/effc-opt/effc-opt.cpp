//===- effc-opt.cpp - mlir-opt style driver with every effc pass ----------===//
#include "passes/Registration.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::eff::registerEffcDialects(registry);
  mlir::eff::registerEffcPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "effc optimizer driver: every effc pass registered\n", registry));
}
