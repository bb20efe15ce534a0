//===- EffDialect.h - the eff dialect ----------------------------*- C++ -*-===//
#ifndef EFFC_DIALECTS_EFF_EFFDIALECT_H
#define EFFC_DIALECTS_EFF_EFFDIALECT_H

#include "mlir/IR/Dialect.h"

#include "dialects/eff/EffDialect.h.inc"

#endif
