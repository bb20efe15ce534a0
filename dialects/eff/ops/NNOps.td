//===- NNOps.td -===//
#ifndef EFF_N_N_OPS_TD
#define EFF_N_N_OPS_TD

#endif
