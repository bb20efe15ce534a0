// Runs a compiled model on the inputs of an ONNX test-data directory
// (input_<i>.pb, each naming the model input it feeds, and the expected
// output_<i>.pb, the layout of ../shared/models) and compares every output
// with its reference. Built against an installed effc: see CMakeLists.txt.
//
//   effc model.onnx --shape input_ids=1x8 -o model.effc
//   cpp-inference model.effc test_data_set_0          # cuda backend (a GPU)
//   cpp-inference model.effc test_data_set_0 host     # reference C++ kernels
#include "effc/effc.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

static int fail(const effc::Status &status) {
  std::fprintf(stderr, "error: %s\n", status.message().c_str());
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 5) {
    std::fprintf(stderr, "usage: %s MODEL.effc TEST_DATA_DIR [BACKEND [RTOL]]\n", argv[0]);
    return 2;
  }
  const std::string dataDir = argv[2];
  const double rtol = argc > 4 ? std::atof(argv[4]) : 1e-4;

  // A Model is immutable: any number of sessions and threads may share it.
  auto model = effc::Model::load(argv[1]);
  if (!model.ok())
    return fail(model.status());

  // The inputs, by the names their files carry. `inputs` owns the bytes the
  // views passed to run() point at.
  std::map<std::string, effc::HostTensor> inputs;
  for (size_t i = 0; i < (*model)->inputs().size(); ++i) {
    std::string name;
    auto tensor = effc::readTensorProtoFile(dataDir + "/input_" + std::to_string(i) + ".pb", &name);
    if (!tensor.ok())
      return fail(tensor.status());
    inputs[name.empty() ? (*model)->inputs()[i].name : name] = std::move(*tensor);
  }
  std::map<std::string, effc::Tensor> views;
  for (const auto &[name, tensor] : inputs)
    views[name] = tensor.view();

  // The built-in defaults (backend "cuda") with the EFFC_* environment
  // variables applied; what is set in code wins.
  effc::SessionOptions options = effc::SessionOptions::fromEnvironment();
  if (argc > 3)
    options.backend = argv[3];
  auto session = effc::Session::create(*model, options);
  if (!session.ok())
    return fail(session.status());

  auto outputs = (*session)->run(views); // host copies, in model output order
  if (!outputs.ok())
    return fail(outputs.status());

  int mismatches = 0;
  for (size_t i = 0; i < outputs->size(); ++i) {
    const effc::HostTensor &got = (*outputs)[i];
    const std::string &name = (*model)->outputs()[i].name;
    std::printf("%s %s %s:", name.c_str(), effc::dtypeName(got.dtype()),
                effc::shapeToString(got.shape()).c_str());
    for (int64_t k = 0; k < std::min<int64_t>(got.numElements(), 4); ++k)
      std::printf(" %g", got.elementAsDouble(k));
    std::printf("%s\n", got.numElements() > 4 ? " ..." : "");

    auto ref = effc::readTensorProtoFile(dataDir + "/output_" + std::to_string(i) + ".pb");
    if (!ref.ok())
      return fail(ref.status());
    if (ref->shape() != got.shape()) {
      std::printf("  MISMATCH: reference shape %s\n", effc::shapeToString(ref->shape()).c_str());
      ++mismatches;
      continue;
    }
    // The largest error relative to the largest reference magnitude.
    double maxErr = 0, maxRef = 0;
    for (int64_t k = 0; k < got.numElements(); ++k) {
      double expected = ref->elementAsDouble(k);
      maxErr = std::max(maxErr, std::fabs(got.elementAsDouble(k) - expected));
      maxRef = std::max(maxRef, std::fabs(expected));
    }
    double relErr = maxRef > 0 ? maxErr / maxRef : maxErr;
    bool ok = relErr <= rtol; // false for NaN too
    std::printf("  max_rel_err %.3g (rtol %g): %s\n", relErr, rtol, ok ? "ok" : "MISMATCH");
    mismatches += !ok;
  }
  std::printf("%s: %zu outputs, %d mismatches (%s backend)\n", argv[1], outputs->size(), mismatches,
              (*session)->backendName().c_str());
  return mismatches ? 1 : 0;
}
