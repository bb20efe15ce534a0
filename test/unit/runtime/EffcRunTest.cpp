// effc-run end to end (skipped when the binary is not next to the tests:
// <build>/bin/effc-run relative to <build>/test/unit/effc-runtime-tests).
#include "CudaTestUtil.h"

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
  if (n <= 0)
    return "";
  std::string self(buf, size_t(n));
  std::string dir = self.substr(0, self.rfind('/'));
  std::string bin = dir + "/../../bin/effc-run";
  return access(bin.c_str(), X_OK) == 0 ? bin : "";
}

struct ShResult {
  int rc;
  std::string out;
};
ShResult sh(const std::string &cmd) {
  FILE *p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), p))
    out.append(buf, n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

void writeProto(const std::string &path, const HostTensor &t) {
  onnx::TensorProto p;
  p.set_data_type(int(t.dtype()));
  for (auto d : t.shape())
    p.add_dims(d);
  p.set_raw_data(std::string(static_cast<const char *>(t.data()), t.byteSize()));
  std::ofstream(path, std::ios::binary) << p.SerializeAsString();
}

struct EffcRun : ::testing::Test {
  std::string bin, run, dir, art, data;
  void SetUp() override {
    bin = effcRun();
    ASSERT_FALSE(bin.empty()) << "effc-run not built next to the tests (../../bin/effc-run)";
    run = bin + " --backend=host"; // the default, cuda, needs a GPU
    dir = ::testing::TempDir() + "/effcrun" + std::to_string(getpid());
    mkdir(dir.c_str(), 0755);
    art = dir + "/m.effc";
    data = dir + "/td";
    mkdir(data.c_str(), 0755);
    ManifestBuilder mb = smallModel();
    planArenaWithoutReuse(mb.m);
    ASSERT_TRUE(writeArtifact(art, mb.m, mb.weights).ok());
    writeProto(data + "/input_0.pb",
               HostTensor::fromVector<float>(DType::FLOAT32, {2, 3}, {1, 2, 3, 4, 5, 6}));
    writeProto(data + "/output_0.pb",
               HostTensor::fromVector<float>(DType::FLOAT32, {2, 2}, {0.5, 0.5, 0.5, 0.5}));
    writeProto(data + "/output_1.pb",
               HostTensor::fromVector<float>(DType::FLOAT32, {4}, {4.5, 4.5, 10.5, 10.5}));
  }
  void TearDown() override {
    if (!dir.empty())
      sh("rm -rf '" + dir + "'");
  }
};

} // namespace

TEST_F(EffcRun, HelpListsEveryOption) {
  ShResult r = sh(bin + " --help");
  EXPECT_EQ(r.rc, 0);
  for (const char *opt : {"--backend",
                          "--test-data",
                          "--rtol",
                          "--atol",
                          "--row-rtol",
                          "--min-top1",
                          "--top1-margin",
                          "--input",
                          "--random-inputs",
                          "--save-test-data",
                          "--output-dir",
                          "--bench",
                          "--stats",
                          "--verbose",
                          "--help",
                          "--device",
                          "--cuda-graphs",
                          "--sync-each-kernel",
                          "--kernel-cache-dir",
                          "--kernel-cache="})
    EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
}

TEST_F(EffcRun, TestDataPassAndFail) {
  ShResult r = sh(run + " " + art + " --test-data " + data);
  EXPECT_EQ(r.rc, 0) << r.out;
  // y's reference rows are ties (0.5, 0.5): no row has a decisive argmax.
  EXPECT_EQ(r.out,
            "output y: max_abs_err=0 max_rel_err=0 PASS row_rel_err=0 (row 0 of 2) top1=0/0\n"
            "output flat: max_abs_err=0 max_rel_err=0 PASS row_rel_err=0 (row 0 of 1)\n");
  writeProto(data + "/output_1.pb",
             HostTensor::fromVector<float>(DType::FLOAT32, {4}, {4.5, 4.5, 10.5, 11.5}));
  r = sh(run + " " + art + " --test-data=" + data);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("output flat: max_abs_err=1 max_rel_err=0.0869565 FAIL"), std::string::npos)
      << r.out;
  r = sh(run + " " + art + " --test-data=" + data + " --rtol 0.1");
  EXPECT_EQ(r.rc, 0) << r.out;
  // --row-rtol defaults to 4 x --rtol; given, it is checked on its own.
  r = sh(run + " " + art + " --test-data=" + data + " --rtol 0.1 --row-rtol 0.05");
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("output flat: max_abs_err=1 max_rel_err=0.0869565 FAIL "
                       "row_rel_err=0.0869565 (row 0 of 1) "
                       "[failed: row_rel_err > 0.05]"),
            std::string::npos)
      << r.out;
}

// --random-inputs fills the inputs deterministically; --save-test-data
// writes a directory --test-data reads back (the check_codegen.sh flow: the
// host writes the reference, another backend is compared with it).
TEST_F(EffcRun, RandomInputsSaveTestData) {
  // `other` does not exist yet: the output directory is created (mkdir -p).
  std::string saved = dir + "/saved", again = dir + "/again", other = dir + "/new/other";
  for (auto *d : {&saved, &again})
    mkdir(d->c_str(), 0755);
  ShResult r = sh(run + " " + art + " --random-inputs 7 --save-test-data " + saved);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(r.out, "");
  auto x = readTensorProtoFile(saved + "/input_0.pb");
  ASSERT_TRUE(x.ok()) << x.status().message();
  ASSERT_EQ(x->shape(), (std::vector<int64_t>{2, 3}));
  for (int i = 0; i < 6; ++i) {
    EXPECT_GE(x->data<float>()[i], -1.0f);
    EXPECT_LT(x->data<float>()[i], 1.0f);
  }
  std::string name;
  auto flat = readTensorProtoFile(saved + "/output_1.pb", &name);
  ASSERT_TRUE(flat.ok()) << flat.status().message();
  EXPECT_EQ(name, "flat");
  EXPECT_EQ(flat->shape(), (std::vector<int64_t>{4}));
  r = sh(run + " " + art + " --test-data " + saved);
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("output flat: max_abs_err=0 max_rel_err=0 PASS"), std::string::npos)
      << r.out;
  // The same seed gives the same inputs, another seed others.
  ASSERT_EQ(sh(run + " " + art + " --random-inputs 7 --save-test-data " + again).rc, 0);
  ASSERT_EQ(sh(run + " " + art + " --random-inputs 8 --save-test-data " + other).rc, 0);
  EXPECT_EQ(sh("cmp " + saved + "/input_0.pb " + again + "/input_0.pb").rc, 0);
  EXPECT_NE(sh("cmp " + saved + "/input_0.pb " + other + "/input_0.pb").rc, 0);
  EXPECT_NE(
      sh(run + " " + art + " --test-data " + other + " --input x=" + saved + "/input_0.pb").rc, 0);
}

TEST_F(EffcRun, InputsOutputsStatsBench) {
  std::string npy = dir + "/x.npy";
  ASSERT_TRUE(
      writeNpyFile(npy, HostTensor::fromVector<float>(DType::FLOAT32, {2, 3}, {1, 2, 3, 4, 5, 6}))
          .ok());
  ShResult r =
      sh(run + " " + art + " --input x=" + npy + " --output-dir " + dir + " --stats --bench 3 -v");
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
    ShResult r = sh(run + " " + args);
    EXPECT_EQ(r.rc, 1) << args;
    EXPECT_EQ(r.out.rfind("effc-run: error: ", 0), 0u) << r.out;
    EXPECT_NE(r.out.find(text), std::string::npos) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  };
  expectError(dir + "/missing.effc", dir + "/missing.effc: cannot open");
  std::ofstream(dir + "/corrupt.effc") << "EFFCART garbage garbage garbage garbage garbage garbage "
                                          "garbage garbage garbage garbage garbage garbage";
  expectError(dir + "/corrupt.effc", dir + "/corrupt.effc: ");
  expectError(art, "missing input 'x'");
  expectError(art + " --min-top1 2", "--min-top1: expected a fraction in [0, 1]");
  expectError(art + " --random-inputs -1", "--random-inputs: expected a non-negative integer seed");
  std::ofstream(dir + "/afile") << "x";
  expectError(art + " --random-inputs 0 --save-test-data " + dir + "/afile",
              dir + "/afile: not a directory");
  expectError(art + " --input y=" + dir + "/x.npy", "unknown input 'y'");
  std::ofstream(dir + "/bad.npy") << "\x93NUMPY garbage";
  expectError(art + " --input x=" + dir + "/bad.npy", dir + "/bad.npy: bad .npy");
  ASSERT_TRUE(writeNpyFile(dir + "/i.npy", HostTensor(DType::INT64, {2, 3})).ok());
  expectError(art + " --input x=" + dir + "/i.npy", "input 'x': dtype expected float32, got int64");
  ASSERT_TRUE(writeNpyFile(dir + "/s.npy", HostTensor(DType::FLOAT32, {3, 3})).ok());
  expectError(art + " --input x=" + dir + "/s.npy", "input 'x': shape expected [2, 3], got [3, 3]");
  expectError(art + " --backend=cuda", "m.effc: "); // no CUDA kernels in it, no GPU here
  expectError(art + " --device=-1", "--device: expected a device ordinal");
  expectError(art + " --cuda-graphs=maybe", "--cuda-graphs: expected true or false, got 'maybe'");
  expectError(art + " --bogus", "unknown option '--bogus'");
  expectError(art + " --bench", "needs a value");
  expectError("", "no artifact given");
}

// The default backend is cuda: on this machine class (no GPU) that is an
// error naming the backend, never a silent run on the host.
TEST_F(EffcRun, DefaultBackendIsCuda) {
  ShResult r = sh("env -u EFFC_BACKEND " + bin + " " + art + " --random-inputs 1");
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("effc-run: error: " + art + ": cuda backend: "), std::string::npos) << r.out;
  r = sh("EFFC_BACKEND=host " + bin + " " + art + " --random-inputs 1");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("output flat: float32 [4]"), std::string::npos) << r.out;
}

// Every driver entry point the cuda backend resolves exists: the CUDA
// toolkit's libcuda stub exports the driver's symbol table (its cuInit then
// says it is a stub). A misspelled or missing name would read "libcuda.so.1
// lacks ..." here, long before a GPU run.
TEST_F(EffcRun, DriverSymbolsResolveAgainstTheToolkitStub) {
  std::string home = std::getenv("CUDA_HOME") ? std::getenv("CUDA_HOME") : "/usr/local/cuda";
  std::string stub = home + "/lib64/stubs/libcuda.so";
  ASSERT_EQ(access(stub.c_str(), R_OK), 0)
      << stub << " not found: the CUDA toolkit (as for NVRTC) is a test requirement";
  std::string libdir = dir + "/stubdriver";
  mkdir(libdir.c_str(), 0755);
  ASSERT_EQ(symlink(stub.c_str(), (libdir + "/libcuda.so.1").c_str()), 0);
  std::string payload;
  ManifestBuilder mb = smallCudaModel(&payload);
  std::ofstream(dir + "/gpu.effc", std::ios::binary) << bytesWithPayload(mb, payload);
  ShResult r = sh("LD_LIBRARY_PATH=" + libdir + " " + bin + " " + dir +
                  "/gpu.effc --backend=cuda --random-inputs 1");
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("cuda backend: no CUDA driver/GPU found (the libcuda.so.1 found is the "
                       "CUDA toolkit's stub, not a driver); pass backend \"host\""),
            std::string::npos)
      << r.out;
}
