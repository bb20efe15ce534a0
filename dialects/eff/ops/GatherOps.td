//===- GatherOps.td -===//
#ifndef EFF_GATHER_OPS_TD
#define EFF_GATHER_OPS_TD

#endif
