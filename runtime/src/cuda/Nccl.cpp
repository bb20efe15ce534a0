// Loading NCCL and the Collectives over it (cuda/Nccl.h).
#include "cuda/Nccl.h"

#include "cuda/DynLib.h"

#include <cstdlib>
#include <glob.h>

namespace effc::cuda {
namespace {

std::vector<std::string> candidates() {
  std::string forced = getEnv("EFFC_NCCL_PATH");
  if (!forced.empty())
    return {forced};
  std::vector<std::string> out{"libnccl.so.2", "libnccl.so"};
  // pip's nvidia-nccl-cu12/-cu13 (what torch installs) keep the library in
  // site-packages/nvidia/nccl/lib, which is not on the loader path.
  std::vector<std::string> roots;
  for (const char *var : {"VIRTUAL_ENV", "CONDA_PREFIX"}) {
    std::string v = getEnv(var);
    if (!v.empty())
      roots.push_back(v + "/lib/python3*/site-packages");
  }
  std::string home = getEnv("HOME");
  if (!home.empty())
    roots.push_back(home + "/.local/lib/python3*/site-packages");
  for (const char *r :
       {"/usr/local/lib/python3*/dist-packages", "/usr/local/lib/python3*/site-packages",
        "/usr/lib/python3/dist-packages", "/usr/lib/python3*/site-packages"})
    roots.push_back(r);
  for (const std::string &root : roots) {
    glob_t g{};
    if (glob((root + "/nvidia/nccl/lib/libnccl.so.2").c_str(), 0, nullptr, &g) == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i)
        out.push_back(g.gl_pathv[i]);
    globfree(&g);
  }
  return out;
}

template <typename F> void resolve(void *lib, F &f, const char *name, std::string *missing) {
  f = reinterpret_cast<F>(symbol(lib, name));
  if (!f)
    *missing += (missing->empty() ? "" : ", ") + std::string(name);
}

StatusOr<const NcclApi *> load() {
  std::string why, path;
  void *lib = openFirst(candidates(), &path, &why);
  if (!lib) {
    std::string forced = getEnv("EFFC_NCCL_PATH");
    return Status::error(
        "nccl: cannot load " +
        (forced.empty() ? std::string("libnccl.so.2") : "EFFC_NCCL_PATH=" + forced) +
        " (a partitioned run on GPUs needs NCCL 2: install the nvidia-nccl-cu12/cu13 pip "
        "package or libnccl2, or set EFFC_NCCL_PATH to the library): " +
        why);
  }
  static NcclApi a;
  a.libraryPath = path;
  std::string missing;
  resolve(lib, a.ncclGetVersion, "ncclGetVersion", &missing);
  resolve(lib, a.ncclGetErrorString, "ncclGetErrorString", &missing);
  resolve(lib, a.ncclCommInitAll, "ncclCommInitAll", &missing);
  resolve(lib, a.ncclCommDestroy, "ncclCommDestroy", &missing);
  resolve(lib, a.ncclGroupStart, "ncclGroupStart", &missing);
  resolve(lib, a.ncclGroupEnd, "ncclGroupEnd", &missing);
  resolve(lib, a.ncclAllReduce, "ncclAllReduce", &missing);
  resolve(lib, a.ncclAllGather, "ncclAllGather", &missing);
  resolve(lib, a.ncclReduceScatter, "ncclReduceScatter", &missing);
  resolve(lib, a.ncclSend, "ncclSend", &missing);
  resolve(lib, a.ncclRecv, "ncclRecv", &missing);
  if (!missing.empty())
    return Status::error("nccl: " + path + " lacks " + missing + " (NCCL 2.7 or newer needed)");
  EFFC_RETURN_IF_ERROR(a.check(a.ncclGetVersion(&a.version), "ncclGetVersion"));
  return static_cast<const NcclApi *>(&a);
}

StatusOr<int> ncclType(DType t) {
  switch (t) {
  case DType::FLOAT32:
    return ncclFloat32;
  case DType::FLOAT16:
    return ncclFloat16;
  case DType::BFLOAT16:
    return ncclBfloat16;
  case DType::FLOAT64:
    return ncclFloat64;
  case DType::INT32:
    return ncclInt32;
  case DType::INT64:
    return ncclInt64;
  case DType::INT8:
    return ncclInt8;
  case DType::UINT8:
  case DType::BOOL:
    return ncclUint8;
  default:
    return Status::error(std::string("nccl: no NCCL type for ") + dtypeName(t));
  }
}

class NcclCollectives final : public Collectives {
public:
  ~NcclCollectives() override {
    for (size_t r = 0; r < comms_.size(); ++r) {
      if (comms_[r])
        api_->ncclCommDestroy(comms_[r]);
      if (r < streams_.size() && streams_[r] && drivers_[r]->makeCurrent().ok())
        drivers_[r]->api.cuStreamDestroy(streams_[r]);
    }
  }

  static StatusOr<std::unique_ptr<Collectives>> create(const std::vector<int> &devices) {
    auto api = loadNccl();
    if (!api.ok())
      return api.status();
    if (devices.empty())
      return Status::error("nccl: no devices given");
    std::unique_ptr<NcclCollectives> c(new NcclCollectives);
    c->api_ = *api;
    c->devices_ = devices;
    for (int d : devices) {
      auto drv = getDriver(d);
      if (!drv.ok())
        return drv.status().withPrefix("nccl: device " + std::to_string(d));
      c->drivers_.push_back(*drv);
      CUstream s = nullptr;
      EFFC_RETURN_IF_ERROR((*drv)->makeCurrent());
      EFFC_RETURN_IF_ERROR(
          (*drv)->check((*drv)->api.cuStreamCreate(&s, CU_STREAM_NON_BLOCKING), "cuStreamCreate"));
      c->streams_.push_back(s);
    }
    c->comms_.assign(devices.size(), nullptr);
    // NVLink multicast (NVLS) stays off: set NCCL_NVLS_ENABLE=0 unless the
    // environment already says something (a 0 there is kept as it is).
    setenv("NCCL_NVLS_ENABLE", "0", /*overwrite=*/0);
    EFFC_RETURN_IF_ERROR(c->api_->check(
        c->api_->ncclCommInitAll(c->comms_.data(), int(devices.size()), devices.data()),
        "ncclCommInitAll over " + std::to_string(devices.size()) + " GPUs"));
    return std::unique_ptr<Collectives>(std::move(c));
  }

  int size() const override { return int(devices_.size()); }
  std::string describe() const override {
    const int v = api_->version;
    const std::string ver = v >= 10000
                                ? std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) +
                                      "." + std::to_string(v % 100)
                                : std::to_string(v);
    return "nccl " + ver + " (" + std::to_string(size()) + " GPUs, " + api_->libraryPath + ")";
  }

  Status allReduceSum(const std::vector<const void *> &send, const std::vector<void *> &recv,
                      size_t count, DType dtype) override {
    EFFC_RETURN_IF_ERROR(checkRanks("all-reduce", send.size(), recv.size(), dtype));
    auto t = ncclType(dtype);
    if (!t.ok())
      return t.status();
    return group("ncclAllReduce", [&](int r) {
      return api_->ncclAllReduce(send[r], recv[r], count, *t, ncclSum, comms_[r], streams_[r]);
    });
  }

  Status allGather(const std::vector<const void *> &send, const std::vector<void *> &recv,
                   size_t count, DType dtype) override {
    EFFC_RETURN_IF_ERROR(checkRanks("all-gather", send.size(), recv.size(), dtype));
    auto t = ncclType(dtype);
    if (!t.ok())
      return t.status();
    return group("ncclAllGather", [&](int r) {
      return api_->ncclAllGather(send[r], recv[r], count, *t, comms_[r], streams_[r]);
    });
  }

  Status reduceScatterSum(const std::vector<const void *> &send, const std::vector<void *> &recv,
                          size_t count, DType dtype) override {
    EFFC_RETURN_IF_ERROR(checkRanks("reduce-scatter", send.size(), recv.size(), dtype));
    auto t = ncclType(dtype);
    if (!t.ok())
      return t.status();
    return group("ncclReduceScatter", [&](int r) {
      return api_->ncclReduceScatter(send[r], recv[r], count, *t, ncclSum, comms_[r], streams_[r]);
    });
  }

  Status allToAllv(const std::vector<const void *> &send, const std::vector<void *> &recv,
                   const std::vector<std::vector<size_t>> &counts, DType dtype) override {
    EFFC_RETURN_IF_ERROR(checkRanks("all-to-all", send.size(), recv.size(), dtype));
    const int n = size();
    if (counts.size() != size_t(n))
      return Status::error("nccl: all-to-all: counts has " + std::to_string(counts.size()) +
                           " rows for " + std::to_string(n) + " ranks");
    for (const auto &row : counts)
      if (row.size() != size_t(n))
        return Status::error("nccl: all-to-all: a counts row has " + std::to_string(row.size()) +
                             " entries for " + std::to_string(n) + " ranks");
    auto t = ncclType(dtype);
    if (!t.ok())
      return t.status();
    const size_t es = dtypeSize(dtype);
    // Grouped send/recv (NCCL has no all-to-all-v): rank r sends block p to
    // p and receives q's block for it, all in one group.
    return group("ncclSend/ncclRecv (all-to-all)", [&](int r) -> ncclResult_t {
      size_t sendAt = 0, recvAt = 0;
      for (int p = 0; p < n; ++p) {
        if (counts[r][p])
          if (ncclResult_t e = api_->ncclSend(static_cast<const char *>(send[r]) + sendAt * es,
                                              counts[r][p], *t, p, comms_[r], streams_[r]))
            return e;
        if (counts[p][r])
          if (ncclResult_t e = api_->ncclRecv(static_cast<char *>(recv[r]) + recvAt * es,
                                              counts[p][r], *t, p, comms_[r], streams_[r]))
            return e;
        sendAt += counts[r][p];
        recvAt += counts[p][r];
      }
      return ncclSuccess;
    });
  }

  Status sendRecv(const std::vector<Transfer> &transfers, DType dtype) override {
    auto t = ncclType(dtype);
    if (!t.ok())
      return t.status();
    const int n = size();
    for (const Transfer &x : transfers)
      if (x.from < 0 || x.from >= n || x.to < 0 || x.to >= n)
        return Status::error("nccl: send/recv: transfer " + std::to_string(x.from) + " -> " +
                             std::to_string(x.to) + " outside ranks 0.." + std::to_string(n - 1));
    EFFC_RETURN_IF_ERROR(api_->check(api_->ncclGroupStart(), "ncclGroupStart"));
    Status first;
    for (const Transfer &x : transfers) {
      if (!first.ok() || x.count == 0)
        continue;
      if (x.from == x.to) { // a device copy on the rank's stream
        const Driver &d = *drivers_[x.from];
        first = d.makeCurrent();
        if (first.ok())
          first = d.check(d.api.cuMemcpyDtoDAsync(CUdeviceptr(x.dst), CUdeviceptr(x.src),
                                                  x.count * dtypeSize(dtype), streams_[x.from]),
                          "cuMemcpyDtoDAsync (send/recv to self)");
        continue;
      }
      first = api_->check(
          api_->ncclSend(x.src, x.count, *t, x.to, comms_[x.from], streams_[x.from]), "ncclSend");
      if (first.ok())
        first = api_->check(
            api_->ncclRecv(x.dst, x.count, *t, x.from, comms_[x.to], streams_[x.to]), "ncclRecv");
    }
    Status end = api_->check(api_->ncclGroupEnd(), "ncclGroupEnd (send/recv)");
    return first.ok() ? end : first;
  }

  Status synchronize() override {
    for (size_t r = 0; r < streams_.size(); ++r) {
      const Driver &d = *drivers_[r];
      EFFC_RETURN_IF_ERROR(d.makeCurrent());
      EFFC_RETURN_IF_ERROR(d.check(d.api.cuStreamSynchronize(streams_[r]),
                                   "cuStreamSynchronize (rank " + std::to_string(r) + ")"));
    }
    return Status::OK();
  }

  void *rankStream(int r) const override {
    return r >= 0 && size_t(r) < streams_.size() ? streams_[size_t(r)] : nullptr;
  }

private:
  NcclCollectives() = default;

  template <typename F> Status group(const char *what, F &&perRank) {
    EFFC_RETURN_IF_ERROR(api_->check(api_->ncclGroupStart(), "ncclGroupStart"));
    Status first;
    for (int r = 0; r < size() && first.ok(); ++r)
      first = api_->check(perRank(r), std::string(what) + " (rank " + std::to_string(r) + ")");
    Status end = api_->check(api_->ncclGroupEnd(), std::string("ncclGroupEnd (") + what + ")");
    return first.ok() ? end : first;
  }

  const NcclApi *api_ = nullptr;
  std::vector<int> devices_;
  std::vector<const Driver *> drivers_;
  std::vector<CUstream> streams_;
  std::vector<ncclComm_t> comms_;
};

} // namespace

Status NcclApi::check(ncclResult_t r, const std::string &what) const {
  if (r == ncclSuccess)
    return Status::OK();
  const char *text = ncclGetErrorString ? ncclGetErrorString(r) : nullptr;
  return Status::error("nccl: " + what + ": " + (text ? text : "error") + " (" + std::to_string(r) +
                       ")");
}

StatusOr<const NcclApi *> loadNccl() {
  static const StatusOr<const NcclApi *> api = load(); // once, thread-safe
  return api;
}

StatusOr<std::unique_ptr<Collectives>> makeNcclCollectives(const std::vector<int> &devices) {
  return NcclCollectives::create(devices);
}

} // namespace effc::cuda
