//===- ReductionOps.td -===//
#ifndef EFF_REDUCTION_OPS_TD
#define EFF_REDUCTION_OPS_TD

#endif
