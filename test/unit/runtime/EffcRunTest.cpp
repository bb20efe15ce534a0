// effc-run end to end (skipped when the binary is not next to the tests:
// <build>/bin/effc-run relative to <build>/test/unit/effc-runtime-tests).
#include "TestUtil.h"

#include "onnx/onnx.pb.h"

#include <climits>
#include <cstdio>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace effc;
using namespace effc::test;

namespace {

std::string effcRun() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  std::string self(buf, size_t(n));
  std::string dir = self.substr(0, self.rfind('/'));
  std::string bin = dir + "/../../bin/effc-run";
  return access(bin.c_str(), X_OK) == 0 ? bin : "";
}

struct ShResult { int rc; std::string out; };
ShResult sh(const std::string &cmd) {
  FILE *p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

void writeProto(const std::string &path, const HostTensor &t) {
  onnx::TensorProto p;
  p.set_data_type(int(t.dtype()));
  for (auto d : t.shape()) p.add_dims(d);
  p.set_raw_data(std::string(static_cast<const char *>(t.data()), t.byteSize()));
  std::ofstream(path, std::ios::binary) << p.SerializeAsString();
}

struct EffcRun : ::testing::Test {
  std::string bin, dir, art, data;
  void SetUp() override {
    bin = effcRun();
    ASSERT_FALSE(bin.empty()) << "effc-run not built next to the tests (../../bin/effc-run)";
    dir = ::testing::TempDir() + "/effcrun" + std::to_string(getpid());
    mkdir(dir.c_str(), 0755);
    art = dir + "/m.effc";
    data = dir + "/td";
    mkdir(data.c_str(), 0755);
    ManifestBuilder mb = smallModel();
    planArenaWithoutReuse(mb.m);
    ASSERT_TRUE(writeArtifact(art, mb.m, mb.weights).ok());
    writeProto(data + "/input_0.pb", HostTensor::fromVector<float>(DType::FLOAT32, {2, 3}, {1, 2, 3, 4, 5, 6}));
    writeProto(data + "/output_0.pb", HostTensor::fromVector<float>(DType::FLOAT32, {2, 2}, {0.5, 0.5, 0.5, 0.5}));
    writeProto(data + "/output_1.pb", HostTensor::fromVector<float>(DType::FLOAT32, {4}, {4.5, 4.5, 10.5, 10.5}));
  }
  void TearDown() override {
    if (!dir.empty()) sh("rm -rf '" + dir + "'");
  }
};

} // namespace

TEST_F(EffcRun, HelpListsEveryOption) {
  ShResult r = sh(bin + " --help");
  EXPECT_EQ(r.rc, 0);
  for (const char *opt : {"--backend", "--test-data", "--rtol", "--atol", "--input", "--output-dir", "--bench",
                          "--stats", "--verbose", "--help"})
    EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
}

TEST_F(EffcRun, TestDataPassAndFail) {
  ShResult r = sh(bin + " " + art + " --backend=host --test-data " + data);
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(r.out, "output y: max_abs_err=0 max_rel_err=0 PASS\noutput flat: max_abs_err=0 max_rel_err=0 PASS\n");
  writeProto(data + "/output_1.pb", HostTensor::fromVector<float>(DType::FLOAT32, {4}, {4.5, 4.5, 10.5, 11.5}));
  r = sh(bin + " " + art + " --test-data=" + data);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("output flat: max_abs_err=1 max_rel_err=0.0869565 FAIL"), std::string::npos) << r.out;
  r = sh(bin + " " + art + " --test-data=" + data + " --rtol 0.1");
  EXPECT_EQ(r.rc, 0) << r.out;
}

TEST_F(EffcRun, InputsOutputsStatsBench) {
  std::string npy = dir + "/x.npy";
  ASSERT_TRUE(writeNpyFile(npy, HostTensor::fromVector<float>(DType::FLOAT32, {2, 3}, {1, 2, 3, 4, 5, 6})).ok());
  ShResult r = sh(bin + " " + art + " --input x=" + npy + " --output-dir " + dir + " --stats --bench 3 -v");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("arena_bytes:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("kernels: 3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bench: 3 runs, median"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("eff.matmul"), std::string::npos) << r.out; // -v kernel table
  auto y = readNpyFile(dir + "/flat.npy");
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(y->data<float>()[3], 10.5f);
}

TEST_F(EffcRun, ErrorsAreOneLineAndExit1) {
  auto expectError = [&](const std::string &args, const std::string &text) {
    ShResult r = sh(bin + " " + args);
    EXPECT_EQ(r.rc, 1) << args;
    EXPECT_EQ(r.out.rfind("effc-run: error: ", 0), 0u) << r.out;
    EXPECT_NE(r.out.find(text), std::string::npos) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  };
  expectError(dir + "/missing.effc", dir + "/missing.effc: cannot open");
  std::ofstream(dir + "/corrupt.effc") << "EFFCART garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage";
  expectError(dir + "/corrupt.effc", dir + "/corrupt.effc: ");
  expectError(art, "missing input 'x'");
  expectError(art + " --input y=" + dir + "/x.npy", "unknown input 'y'");
  std::ofstream(dir + "/bad.npy") << "\x93NUMPY garbage";
  expectError(art + " --input x=" + dir + "/bad.npy", dir + "/bad.npy: bad .npy");
  ASSERT_TRUE(writeNpyFile(dir + "/i.npy", HostTensor(DType::INT64, {2, 3})).ok());
  expectError(art + " --input x=" + dir + "/i.npy", "input 'x': dtype expected float32, got int64");
  ASSERT_TRUE(writeNpyFile(dir + "/s.npy", HostTensor(DType::FLOAT32, {3, 3})).ok());
  expectError(art + " --input x=" + dir + "/s.npy", "input 'x': shape expected [2, 3], got [3, 3]");
  expectError(art + " --backend=cuda", "m.effc: "); // no CUDA kernels in it, no GPU here
  expectError(art + " --bogus", "unknown option '--bogus'");
  expectError(art + " --bench", "needs a value");
  expectError("", "no artifact given");
}
