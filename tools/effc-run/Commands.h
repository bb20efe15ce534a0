// The pieces of an effc-run invocation.
#pragma once

#include "Options.h"
#include "effc/effc.h"

namespace effc::run {

/// Inputs in model order from --test-data, --input and --random-inputs.
StatusOr<std::vector<HostTensor>> gatherInputs(const Options &o, const Model &model);
/// Compares with DIR/output_*.pb; prints one line per output; false on FAIL.
StatusOr<bool> compareOutputs(const Options &o, const Model &model,
                              const std::vector<HostTensor> &outputs);
/// DIR/input_<i>.pb and DIR/output_<k>.pb (TensorProtos named after the
/// model's inputs/outputs): a test-data directory --test-data reads back.
Status saveTestData(const std::string &dir, const Model &model,
                    const std::vector<HostTensor> &inputs, const std::vector<HostTensor> &outputs);
Status writeOutputs(const std::string &dir, const Model &model,
                    const std::vector<HostTensor> &outputs);
/// --generate (Generate.cpp): prints the tokens, or with --test-data checks
/// them and the step logits against the reference; false on a mismatch.
StatusOr<bool> runGenerate(const Options &o, Session &session);
/// --stagger/--repeat/--draft (EngineRun.cpp): --generate through effc::Engine;
/// with --test-data false on a mismatch.
StatusOr<bool> runEngine(const Options &o, Session &target, Session *draft);
/// --serve-bench (ServeBench.cpp): replays a request trace, prints throughput
/// and latency percentiles.
StatusOr<bool> runServeBench(const Options &o, Session &target, Session *draft);
/// The engine's `runs: R of the target, P token positions, Q of them
/// padding (X%)` line (KV-cache mode; nothing in recompute mode).
void printEngineRuns(const EngineStats &stats);
Status bench(Session &s, const std::vector<Tensor> &inputs, int n);
void printStats(const Model &model);
void printProfile(const RunProfile &p);

} // namespace effc::run
