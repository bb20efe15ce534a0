#include "Commands.h"

#include "ModelManifest.h"
#include "onnx/onnx.pb.h"
#include "runtime/proto/artifact.pb.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <filesystem>
#include <map>
#include <random>

namespace effc::run {
namespace {

// DIR/<prefix>N.pb for N = 0, 1, ... in numeric order.
std::vector<std::string> numberedFiles(const std::string &dir, const std::string &prefix) {
  std::vector<std::pair<long, std::string>> found;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d)) {
      std::string n = e->d_name;
      if (n.rfind(prefix, 0) != 0 || n.size() < prefix.size() + 4 ||
          n.compare(n.size() - 3, 3, ".pb"))
        continue;
      std::string num = n.substr(prefix.size(), n.size() - prefix.size() - 3);
      if (num.empty() || num.size() > 9 || num.find_first_not_of("0123456789") != std::string::npos)
        continue;
      found.push_back({std::atol(num.c_str()), dir + "/" + n});
    }
    closedir(d);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> files;
  for (auto &f : found)
    files.push_back(f.second);
  return files;
}

bool isDir(const std::string &p) {
  DIR *d = opendir(p.c_str());
  if (d)
    closedir(d);
  return d != nullptr;
}

/// An output directory (--save-test-data, --output-dir): created with its
/// parents where missing, as `mkdir -p`; a path that exists as something
/// else is an error.
Status makeOutputDir(const std::string &dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !isDir(dir))
    return Status::error(dir + ": not a directory");
  std::filesystem::create_directories(dir, ec);
  if (!isDir(dir))
    return Status::error(dir + ": cannot create directory: " + ec.message());
  return Status::OK();
}

// Deterministic pseudo-random values (mt19937_64's output is fixed by the
// standard, unlike the <random> distributions): floats uniform in [-1, 1),
// integers in {-1, 0, 1}, bools either way.
HostTensor randomTensor(const TensorInfo &info, std::mt19937_64 &rng) {
  HostTensor t(info.dtype, info.shape);
  auto unit = [&] { return double(rng() >> 11) * 0x1.0p-53; }; // [0, 1)
  for (int64_t i = 0; i < t.numElements(); ++i) {
    float f = float(2 * unit() - 1);
    int64_t k = int64_t(rng() % 3) - 1;
    switch (info.dtype) {
    case DType::FLOAT32:
      t.data<float>()[i] = f;
      break;
    case DType::FLOAT64:
      t.data<double>()[i] = f;
      break;
    case DType::FLOAT16:
      t.data<uint16_t>()[i] = floatToHalf(f);
      break;
    case DType::BFLOAT16:
      t.data<uint16_t>()[i] = floatToBf16(f);
      break;
    case DType::BOOL:
      t.data<uint8_t>()[i] = uint8_t(k > 0);
      break;
    case DType::INT64:
      t.data<int64_t>()[i] = k;
      break;
    case DType::INT32:
      t.data<int32_t>()[i] = int32_t(k);
      break;
    case DType::INT16:
      t.data<int16_t>()[i] = int16_t(k);
      break;
    case DType::INT8:
      t.data<int8_t>()[i] = int8_t(k);
      break;
    default: // unsigned: {0, 1}
      std::memset(static_cast<uint8_t *>(t.data()) + size_t(i) * dtypeSize(info.dtype), 0,
                  dtypeSize(info.dtype));
      static_cast<uint8_t *>(t.data())[size_t(i) * dtypeSize(info.dtype)] = uint8_t(k > 0);
    }
  }
  return t;
}

Status writeTensorProto(const std::string &path, const std::string &name, const HostTensor &t) {
  onnx::TensorProto p;
  p.set_name(name);
  p.set_data_type(int(t.dtype()));
  for (int64_t d : t.shape())
    p.add_dims(d);
  p.set_raw_data(std::string(static_cast<const char *>(t.data()), t.byteSize()));
  std::string bytes = p.SerializeAsString();
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return Status::error(path + ": cannot create: " + std::strerror(errno));
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok &= std::fclose(f) == 0;
  if (!ok)
    return Status::error(path + ": write error");
  return Status::OK();
}

} // namespace

StatusOr<std::vector<HostTensor>> gatherInputs(const Options &o, const Model &model) {
  const auto &infos = model.inputs();
  std::vector<HostTensor> inputs(infos.size());
  std::vector<bool> given(infos.size(), false);
  if (!o.testData.empty()) {
    if (!isDir(o.testData))
      return Status::error(o.testData + ": not a directory");
    auto files = numberedFiles(o.testData, "input_");
    // Files name their tensors: match by name when every model input is
    // among them (inputs frozen with `effc --const-input` are skipped),
    // otherwise by position.
    std::vector<int> slotOf(files.size(), -1);
    size_t matched = 0;
    for (size_t f = 0; f < files.size(); ++f) {
      auto bytes = readFileBytes(files[f]);
      onnx::TensorProto proto;
      if (!bytes.ok() || !proto.ParseFromString(*bytes))
        continue;
      for (size_t i = 0; i < infos.size(); ++i)
        if (!proto.name().empty() && proto.name() == infos[i].name && !given[i]) {
          slotOf[f] = int(i), given[i] = true, ++matched;
          break;
        }
    }
    bool byName = matched == infos.size();
    std::fill(given.begin(), given.end(), false);
    if (!byName && files.size() != infos.size() && o.inputs.empty())
      return Status::error(o.testData + ": has " + std::to_string(files.size()) +
                           " input_*.pb files, model has " + std::to_string(infos.size()) +
                           " inputs");
    for (size_t f = 0; f < files.size(); ++f) {
      int i = byName ? slotOf[f] : int(f);
      if (i < 0 || size_t(i) >= infos.size())
        continue;
      auto t = readTensorProtoFile(files[f]);
      if (!t.ok())
        return t.status();
      inputs[size_t(i)] = std::move(*t);
      given[size_t(i)] = true;
    }
  }
  for (auto &[name, file] : o.inputs) {
    auto it = std::find_if(infos.begin(), infos.end(),
                           [&](const TensorInfo &t) { return t.name == name; });
    if (it == infos.end()) {
      std::string list;
      for (auto &i : infos)
        list += (list.empty() ? "" : ", ") + i.name;
      return Status::error(model.path() + ": unknown input '" + name + "' (model inputs: " + list +
                           ")");
    }
    auto t = readTensorFile(file);
    if (!t.ok())
      return t.status();
    inputs[it - infos.begin()] = std::move(*t);
    given[it - infos.begin()] = true;
  }
  // --dim values of the model's symbolic dims, for random inputs of those shapes.
  std::vector<int64_t> dimValues;
  std::string dimList;
  for (const DimInfo &d : model.dims())
    dimList += (dimList.empty() ? "" : ", ") + d.name + "=" + std::to_string(d.min) + ".." +
               std::to_string(d.max);
  for (const auto &[name, value] : o.dims) {
    if (std::none_of(model.dims().begin(), model.dims().end(),
                     [&](const DimInfo &d) { return d.name == name; }))
      return Status::error(model.path() + ": --dim " + name + ": the model has no symbolic dim '" +
                           name + "' (" +
                           (dimList.empty() ? "it has none" : "its dims: " + dimList) + ")");
  }
  for (const DimInfo &d : model.dims()) {
    auto it = o.dims.find(d.name);
    dimValues.push_back(it == o.dims.end() ? -1 : it->second);
  }
  std::mt19937_64 rng(uint64_t(std::max<int64_t>(o.randomSeed, 0)));
  for (size_t i = 0; i < infos.size(); ++i) {
    if (given[i])
      continue;
    if (o.randomSeed < 0)
      return Status::error(model.path() + ": missing input '" + infos[i].name +
                           "' (use --input, --test-data or --random-inputs)");
    TensorInfo info = infos[i];
    if (!info.isStatic()) {
      for (size_t d = 0; d < dimValues.size(); ++d)
        if (dimValues[d] < 0)
          return Status::error(model.path() + ": random input '" + info.name +
                               "' has symbolic dims: give each with --dim NAME=N (" + dimList +
                               ")");
      auto shape = model.shapeOf(info, dimValues);
      if (!shape.ok())
        return shape.status();
      info.shape = std::move(*shape);
    }
    inputs[i] = randomTensor(info, rng);
  }
  return inputs;
}

StatusOr<bool> compareOutputs(const Options &o, const Model &model,
                              const std::vector<HostTensor> &outputs) {
  auto files = numberedFiles(o.testData, "output_");
  if (files.size() != outputs.size())
    return Status::error(o.testData + ": has " + std::to_string(files.size()) +
                         " output_*.pb files, model has " + std::to_string(outputs.size()) +
                         " outputs");
  bool allPass = true;
  for (size_t k = 0; k < outputs.size(); ++k) {
    auto ref = readTensorProtoFile(files[k]);
    if (!ref.ok())
      return ref.status();
    Comparison c = compareTensors(outputs[k], *ref, o.tol);
    if (!c.shapesMatch)
      std::fprintf(stderr, "effc-run: note: output %s: shape %s, reference %s\n",
                   model.outputs()[k].name.c_str(), shapeToString(outputs[k].shape()).c_str(),
                   shapeToString(ref->shape()).c_str());
    allPass &= c.pass();
    std::printf("output %s: %s\n", model.outputs()[k].name.c_str(), describe(c, o.tol).c_str());
  }
  return allPass;
}

Status writeOutputs(const std::string &dir, const Model &model,
                    const std::vector<HostTensor> &outputs) {
  EFFC_RETURN_IF_ERROR(makeOutputDir(dir));
  for (size_t k = 0; k < outputs.size(); ++k) {
    std::string name = model.outputs()[k].name;
    for (char &c : name)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_')
        c = '_';
    EFFC_RETURN_IF_ERROR(writeNpyFile(dir + "/" + name + ".npy", outputs[k]));
  }
  return Status::OK();
}

Status saveTestData(const std::string &dir, const Model &model,
                    const std::vector<HostTensor> &inputs, const std::vector<HostTensor> &outputs) {
  EFFC_RETURN_IF_ERROR(makeOutputDir(dir));
  for (size_t i = 0; i < inputs.size(); ++i)
    EFFC_RETURN_IF_ERROR(writeTensorProto(dir + "/input_" + std::to_string(i) + ".pb",
                                          model.inputs()[i].name, inputs[i]));
  for (size_t k = 0; k < outputs.size(); ++k)
    EFFC_RETURN_IF_ERROR(writeTensorProto(dir + "/output_" + std::to_string(k) + ".pb",
                                          model.outputs()[k].name, outputs[k]));
  return Status::OK();
}

Status bench(Session &s, const std::vector<Tensor> &inputs, int n) {
  for (int w = 0; w < std::min(3, std::max(1, n / 10)); ++w) {
    auto r = s.runPositional(inputs);
    if (!r.ok())
      return r.status();
  }
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = s.runPositional(inputs);
    if (!r.ok())
      return r.status();
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf(
      "bench: %d runs, median %.3f ms, min %.3f ms, p90 %.3f ms (end to end, with copies)\n", n,
      ms[ms.size() / 2], ms[0], ms[std::min(ms.size() - 1, size_t(0.9 * double(ms.size())))]);
  // Kernel time alone, comparable with frameworks' device timings.
  auto device = s.timeKernels(n);
  if (device.ok()) {
    std::vector<double> d = *device;
    std::sort(d.begin(), d.end());
    std::printf("bench: device median %.3f ms, min %.3f ms (kernels only)\n", d[d.size() / 2],
                d[0]);
  }
  return Status::OK();
}

void printStats(const Model &model) {
  const auto &m = manifestOf(model);
  double ratio =
      m.intermediate_bytes() ? double(m.arena_bytes()) / double(m.intermediate_bytes()) : 0;
  std::printf("arena_bytes: %llu\n", (unsigned long long)m.arena_bytes());
  std::printf("intermediate_bytes: %llu\n", (unsigned long long)m.intermediate_bytes());
  std::printf("arena_ratio: %.4f\n", ratio);
  std::printf("weights_bytes: %llu\n", (unsigned long long)model.weightsSize());
  std::printf("kernels: %d\n", m.kernels_size());
  std::printf("compute_dtype: %s\n",
              m.compute_dtype().empty() ? "fp32" : m.compute_dtype().c_str());
}

void printProfile(const RunProfile &p) {
  std::vector<RunProfile::KernelTime> ks = p.kernels;
  std::sort(ks.begin(), ks.end(), [](auto &a, auto &b) { return a.ms > b.ms; });
  double total = 0;
  for (auto &k : ks)
    total += k.ms;
  std::fprintf(stderr, "%8s %6s %6s  %-24s %s\n", "ms", "%", "kernel", "op", "location");
  for (auto &k : ks)
    std::fprintf(stderr, "%8.3f %6.1f %6d  %-24s %s\n", k.ms, total > 0 ? 100 * k.ms / total : 0,
                 k.index, k.op.c_str(), k.location.c_str());
  std::fprintf(stderr, "%8.3f total over %zu kernels\n", total, ks.size());
  // By op, for runs of hundreds of kernels (a decode step of a real model).
  std::map<std::string, std::pair<double, int>> byOp;
  for (auto &k : ks) {
    byOp[k.op].first += k.ms;
    byOp[k.op].second += 1;
  }
  std::vector<std::pair<std::string, std::pair<double, int>>> ops(byOp.begin(), byOp.end());
  std::sort(ops.begin(), ops.end(),
            [](auto &a, auto &b) { return a.second.first > b.second.first; });
  std::fprintf(stderr, "%8s %6s %6s  %s\n", "ms", "%", "count", "op (all its kernels)");
  for (auto &[op, v] : ops)
    std::fprintf(stderr, "%8.3f %6.1f %6d  %s\n", v.first, total > 0 ? 100 * v.first / total : 0,
                 v.second, op.c_str());
}

} // namespace effc::run
