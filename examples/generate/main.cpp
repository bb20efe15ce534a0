// The smallest useful effc program: load a compiled language model, feed
// token ids, print the most likely next token.
//
//   effc model.onnx --shape input_ids=1x8 -o model.effc
//   effc-example-generate model.effc 464 3290 318 257 1049 5044 286 262
//
// The first model input receives input_ids (int64, shape [1, N]); the first
// output is taken as logits [1, N, vocab] (or [N, vocab]).
#include "effc/effc.h"

#include <cstdio>
#include <cstdlib>

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.effc [token ids...]\n", argv[0]);
    return 1;
  }
  auto model = effc::Model::load(argv[1]);
  if (!model.ok()) {
    std::fprintf(stderr, "error: %s\n", model.status().message().c_str());
    return 1;
  }
  const effc::TensorInfo &in = (*model)->inputs().at(0);

  // Token ids from argv, or 1, 2, 3, ... to fill the compiled length.
  std::vector<int64_t> ids;
  for (int i = 2; i < argc; ++i)
    ids.push_back(std::atoll(argv[i]));
  if (ids.empty() && in.shape.size() == 2)
    for (int64_t i = 0; i < in.shape[1]; ++i)
      ids.push_back(i + 1);
  effc::Tensor input{effc::DType::INT64, {1, int64_t(ids.size())}, ids.data()};

  // The cuda backend by default; EFFC_BACKEND=host runs the reference C++
  // kernels on the CPU (SessionOptions::fromEnvironment reads it).
  auto session = effc::Session::create(*model);
  if (!session.ok()) {
    std::fprintf(stderr, "error: %s\n", session.status().message().c_str());
    return 1;
  }
  auto outputs = (*session)->run({{in.name, input}});
  if (!outputs.ok()) { // e.g. the artifact was compiled for another length
    std::fprintf(stderr, "error: %s\n", outputs.status().message().c_str());
    return 1;
  }

  // Argmax over the vocabulary at the last position.
  const effc::HostTensor &logits = outputs->at(0);
  int64_t vocab = logits.shape().empty() ? 1 : logits.shape().back();
  int64_t start = logits.numElements() - vocab, best = 0;
  for (int64_t v = 1; v < vocab; ++v)
    if (logits.elementAsDouble(start + v) > logits.elementAsDouble(start + best))
      best = v;
  std::printf("next token: %lld (logit %g)\n", (long long)best,
              logits.elementAsDouble(start + best));
  return 0;
}
