// effc-run --generate: tokens from a prompt file, or the reference check of a
// generate_N directory (prompt, reference tokens, logits of every step).
#include "Commands.h"

#include <cstdio>

namespace effc::run {
namespace {

std::string joinTokens(const std::vector<int64_t> &tokens) {
  std::string s;
  for (int64_t t : tokens)
    s += (s.empty() ? "" : " ") + std::to_string(t);
  return s;
}

StatusOr<bool> checkAgainstReference(const Options &o, Generator &g) {
  auto prompt = readTensorProtoFile(o.testData + "/input_0.pb");
  if (!prompt.ok())
    return prompt.status();
  auto refTokens = readTensorProtoFile(o.testData + "/output_0.pb");
  if (!refTokens.ok())
    return refTokens.status();
  auto refLogits = readTensorProtoFile(o.testData + "/output_1.pb");
  if (!refLogits.ok())
    return refLogits.status();
  const auto &ts = refTokens->shape();
  if (refTokens->dtype() != DType::INT64 || ts.size() != 2 || ts[0] != prompt->shape()[0])
    return Status::error(o.testData + "/output_0.pb: expected int64 reference tokens [" +
                         std::to_string(prompt->shape()[0]) + ", N], got " +
                         dtypeName(refTokens->dtype()) + " " + shapeToString(ts));
  if (ts[1] != o.generate)
    return Status::error(o.testData + "/output_0.pb holds " + std::to_string(ts[1]) +
                         " tokens per sequence; --generate asks for " + std::to_string(o.generate));
  GenerationOptions opts = o.generation;
  opts.returnLogits = true;
  std::vector<std::vector<int64_t>> reference(static_cast<size_t>(ts[0]));
  for (int64_t b = 0; b < ts[0]; ++b)
    reference[size_t(b)].assign(refTokens->data<int64_t>() + b * ts[1],
                                refTokens->data<int64_t>() + (b + 1) * ts[1]);
  if (o.teacherForcing)
    opts.forcedTokens = reference;
  auto result = g.generate(prompt->view(), opts);
  if (!result.ok())
    return result.status();

  int64_t match = 0, total = ts[0] * ts[1];
  std::string firstMismatch;
  for (size_t b = 0; b < reference.size(); ++b)
    for (size_t k = 0; k < reference[b].size(); ++k) {
      bool same = k < result->tokens[b].size() && result->tokens[b][k] == reference[b][k];
      match += same;
      if (!same && firstMismatch.empty())
        firstMismatch = " (first mismatch: sequence " + std::to_string(b) + " token " +
                        std::to_string(k) + ": got " +
                        (k < result->tokens[b].size() ? std::to_string(result->tokens[b][k])
                                                      : std::string("none")) +
                        ", reference " + std::to_string(reference[b][k]) + ")";
    }
  std::printf(
      "tokens: %lld/%lld match%s%s\n", (long long)match, (long long)total, firstMismatch.c_str(),
      o.teacherForcing && match != total ? " (teacher forcing: the logits line decides)" : "");
  Comparison c = compareTensors(result->logits, *refLogits, o.tol);
  if (!c.shapesMatch)
    std::fprintf(stderr, "effc-run: note: output logits: shape %s, reference %s\n",
                 shapeToString(result->logits.shape()).c_str(),
                 shapeToString(refLogits->shape()).c_str());
  std::printf("output logits: %s\n", describe(c, o.tol).c_str());
  return c.pass() && (o.teacherForcing || match == total);
}

} // namespace

StatusOr<bool> runGenerate(const Options &o, Session &session) {
  auto generator = Generator::create(session);
  if (!generator.ok())
    return generator.status();
  if (!o.testData.empty())
    return checkAgainstReference(o, **generator);
  const TensorInfo &ids = session.model().inputs()[0];
  std::string file;
  for (auto &[name, path] : o.inputs)
    if (name == ids.name)
      file = path;
    else
      return Status::error(session.model().path() + ": --generate: unknown input '" + name +
                           "' (model inputs: " + ids.name + ")");
  if (file.empty())
    return Status::error("--generate needs --input " + ids.name +
                         "=FILE (the prompts, one per row) or --test-data DIR");
  auto prompt = readTensorFile(file);
  if (!prompt.ok())
    return prompt.status();
  auto result = (*generator)->generate(prompt->view(), o.generation);
  if (!result.ok())
    return result.status();
  for (size_t b = 0; b < result->tokens.size(); ++b)
    std::printf("sequence %zu: %s\n", b, joinTokens(result->tokens[b]).c_str());
  return true;
}

} // namespace effc::run
