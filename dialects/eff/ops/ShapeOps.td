//===- ShapeOps.td -===//
#ifndef EFF_SHAPE_OPS_TD
#define EFF_SHAPE_OPS_TD

#endif
