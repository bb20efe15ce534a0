//===- LinalgOps.td -===//
#ifndef EFF_LINALG_OPS_TD
#define EFF_LINALG_OPS_TD

#endif
