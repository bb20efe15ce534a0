// effc-run: load an artifact, run it, compare/bench/dump. Errors are one line
// "effc-run: error: <file>: <what>" on stderr and exit status 1.
#include "Commands.h"

#include <chrono>
#include <cstdio>

using namespace effc;

static int fail(const Status &s) {
  std::fprintf(stderr, "effc-run: error: %s\n", s.message().c_str());
  return 1;
}

static double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

int main(int argc, char **argv) {
  auto opts = run::parseOptions(argc, argv);
  if (!opts.ok())
    return fail(opts.status());
  const run::Options &o = *opts;
  if (o.help) {
    std::fputs(run::kHelpText, stdout);
    return 0;
  }
  auto t0 = std::chrono::steady_clock::now();
  auto model = Model::load(o.artifact);
  if (!model.ok())
    return fail(model.status());
  if (o.stats) {
    run::printStats(**model);
    bool wantsRun = !o.testData.empty() || !o.inputs.empty() || o.bench > 0 || o.generate > 0 ||
                    !o.outputDir.empty() || o.randomSeed >= 0 || !o.saveTestData.empty();
    if (!wantsRun && !(*model)->inputs().empty())
      return 0; // stats only: no session (no GPU, no JIT) needed
  }
  auto session = Session::create(*model, o.session);
  if (!session.ok())
    return fail(session.status());
  if (o.verbose)
    std::fprintf(stderr, "load: %.3f ms (backend %s)\n", msSince(t0), o.session.backend.c_str());

  if (o.usesEngine()) {
    std::unique_ptr<Session> draft;
    if (!o.draft.empty()) {
      auto m = Model::load(o.draft);
      if (!m.ok())
        return fail(m.status());
      auto s = Session::create(*m, o.session);
      if (!s.ok())
        return fail(s.status());
      draft = std::move(*s);
    }
    auto pass = o.serveBench.empty() ? run::runEngine(o, **session, draft.get())
                                     : run::runServeBench(o, **session, draft.get());
    if (!pass.ok())
      return fail(pass.status());
    return *pass ? 0 : 1;
  }
  if (o.generate > 0) {
    auto pass = run::runGenerate(o, **session);
    if (!pass.ok())
      return fail(pass.status());
    return *pass ? 0 : 1;
  }

  auto inputs = run::gatherInputs(o, **model);
  if (!inputs.ok())
    return fail(inputs.status());
  std::vector<Tensor> views;
  for (auto &t : *inputs)
    views.push_back(t.view());

  RunProfile profile;
  t0 = std::chrono::steady_clock::now();
  auto outputs = (*session)->runPositional(views, o.verbose ? &profile : nullptr);
  if (!outputs.ok())
    return fail(outputs.status());
  if (o.verbose) {
    std::fprintf(stderr, "run: %.3f ms\n", msSince(t0));
    run::printProfile(profile);
  }
  if (!o.outputDir.empty()) {
    Status s = run::writeOutputs(o.outputDir, **model, *outputs);
    if (!s.ok())
      return fail(s);
  }
  if (!o.saveTestData.empty()) {
    Status s = run::saveTestData(o.saveTestData, **model, *inputs, *outputs);
    if (!s.ok())
      return fail(s);
  }
  if (o.bench > 0) {
    Status s = run::bench(**session, views, o.bench);
    if (!s.ok())
      return fail(s);
  }
  if (!o.testData.empty()) {
    auto pass = run::compareOutputs(o, **model, *outputs);
    if (!pass.ok())
      return fail(pass.status());
    bool allPass = *pass;
    for (const std::string &dir : o.thenTestData) {
      run::Options then = o;
      then.testData = dir;
      auto thenInputs = run::gatherInputs(then, **model);
      if (!thenInputs.ok())
        return fail(thenInputs.status());
      std::vector<Tensor> thenViews;
      for (auto &t : *thenInputs)
        thenViews.push_back(t.view());
      auto thenOutputs = (*session)->runPositional(thenViews);
      if (!thenOutputs.ok())
        return fail(thenOutputs.status());
      std::printf("then %s:\n", dir.c_str());
      auto thenPass = run::compareOutputs(then, **model, *thenOutputs);
      if (!thenPass.ok())
        return fail(thenPass.status());
      allPass = allPass && *thenPass;
    }
    if (!allPass)
      return 1;
  } else if (o.outputDir.empty() && o.saveTestData.empty() && o.bench == 0 && !o.stats) {
    for (size_t k = 0; k < outputs->size(); ++k) // a short summary so a bare run shows something
      std::printf("output %s: %s %s\n", (*model)->outputs()[k].name.c_str(),
                  dtypeName((*outputs)[k].dtype()), shapeToString((*outputs)[k].shape()).c_str());
  }
  return 0;
}
