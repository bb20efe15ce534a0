// The pieces of an effc-run invocation.
#pragma once

#include "Options.h"
#include "effc/effc.h"

namespace effc::run {

/// Inputs in model order from --test-data and --input.
StatusOr<std::vector<HostTensor>> gatherInputs(const Options &o, const Model &model);
/// Compares with DIR/output_*.pb; prints one line per output; false on FAIL.
StatusOr<bool> compareOutputs(const Options &o, const Model &model, const std::vector<HostTensor> &outputs);
Status writeOutputs(const std::string &dir, const Model &model, const std::vector<HostTensor> &outputs);
Status bench(Session &s, const std::vector<Tensor> &inputs, int n);
void printStats(const Model &model);
void printProfile(const RunProfile &p);

} // namespace effc::run
