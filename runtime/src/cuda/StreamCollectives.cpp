// Collectives over N streams of one GPU (cuda/StreamCollectives.h).
#include "cuda/StreamCollectives.h"

#include "cuda/DriverApi.h"

namespace effc::cuda {
namespace {

class StreamCollectives final : public Collectives {
public:
  ~StreamCollectives() override {
    if (!d_ || !d_->makeCurrent().ok())
      return;
    for (CUevent e : events_)
      if (e)
        d_->api.cuEventDestroy(e);
    for (CUstream s : streams_)
      if (s) {
        d_->api.cuStreamSynchronize(s);
        d_->api.cuStreamDestroy(s);
      }
  }

  static StatusOr<std::unique_ptr<Collectives>> create(int device, int ranks) {
    if (ranks < 1)
      return Status::error("stream collectives: " + std::to_string(ranks) + " ranks (need >= 1)");
    auto drv = getDriver(device);
    if (!drv.ok())
      return drv.status();
    auto host = makeHostCollectives(ranks);
    if (!host.ok())
      return host.status();
    std::unique_ptr<StreamCollectives> c(new StreamCollectives);
    c->d_ = *drv;
    c->host_ = std::move(*host);
    EFFC_RETURN_IF_ERROR(c->d_->makeCurrent());
    for (int r = 0; r < ranks; ++r) {
      CUstream s = nullptr;
      CUevent e = nullptr;
      EFFC_RETURN_IF_ERROR(
          c->d_->check(c->d_->api.cuStreamCreate(&s, CU_STREAM_NON_BLOCKING), "cuStreamCreate"));
      c->streams_.push_back(s);
      EFFC_RETURN_IF_ERROR(
          c->d_->check(c->d_->api.cuEventCreate(&e, CU_EVENT_DISABLE_TIMING), "cuEventCreate"));
      c->events_.push_back(e);
    }
    return std::unique_ptr<Collectives>(std::move(c));
  }

  int size() const override { return int(streams_.size()); }
  std::string describe() const override {
    return "streams (" + std::to_string(size()) + " simulated devices on GPU " +
           std::to_string(d_->ordinal) + ", " + d_->deviceName + ")";
  }
  void *rankStream(int r) const override {
    return r >= 0 && size_t(r) < streams_.size() ? streams_[size_t(r)] : nullptr;
  }

  Status allReduceSum(const std::vector<const void *> &send, const std::vector<void *> &recv,
                      size_t count, DType dtype) override {
    EFFC_RETURN_IF_ERROR(checkRanks("all-reduce", send.size(), recv.size(), dtype));
    return staged(
        send, count, recv, count,
        [&](auto &in, auto &out) { return host_->allReduceSum(in, out, count, dtype); }, dtype);
  }

  Status reduceScatterSum(const std::vector<const void *> &send, const std::vector<void *> &recv,
                          size_t count, DType dtype) override {
    EFFC_RETURN_IF_ERROR(checkRanks("reduce-scatter", send.size(), recv.size(), dtype));
    return staged(
        send, count * size_t(size()), recv, count,
        [&](auto &in, auto &out) { return host_->reduceScatterSum(in, out, count, dtype); }, dtype);
  }

  Status allGather(const std::vector<const void *> &send, const std::vector<void *> &recv,
                   size_t count, DType dtype) override {
    EFFC_RETURN_IF_ERROR(checkRanks("all-gather", send.size(), recv.size(), dtype));
    std::vector<Transfer> t;
    for (int r = 0; r < size(); ++r)
      for (int q = 0; q < size(); ++q)
        t.push_back(
            {q, r, send[q], static_cast<char *>(recv[r]) + q * count * dtypeSize(dtype), count});
    return copies("all-gather", t, dtype);
  }

  Status allToAllv(const std::vector<const void *> &send, const std::vector<void *> &recv,
                   const std::vector<std::vector<size_t>> &counts, DType dtype) override {
    EFFC_RETURN_IF_ERROR(checkRanks("all-to-all", send.size(), recv.size(), dtype));
    const int n = size();
    if (counts.size() != size_t(n))
      return Status::error("stream collectives: all-to-all: counts has " +
                           std::to_string(counts.size()) + " rows for " + std::to_string(n) +
                           " ranks");
    for (const auto &row : counts)
      if (row.size() != size_t(n))
        return Status::error("stream collectives: all-to-all: a counts row has " +
                             std::to_string(row.size()) + " entries for " + std::to_string(n) +
                             " ranks");
    const size_t es = dtypeSize(dtype);
    std::vector<Transfer> t;
    std::vector<size_t> sendAt(size_t(n), 0);
    for (int p = 0; p < n; ++p) {
      size_t recvAt = 0;
      for (int q = 0; q < n; ++q) {
        size_t from = 0;
        for (int pp = 0; pp < p; ++pp)
          from += counts[q][pp];
        t.push_back({q, p, static_cast<const char *>(send[q]) + from * es,
                     static_cast<char *>(recv[p]) + recvAt * es, counts[q][p]});
        recvAt += counts[q][p];
      }
    }
    return copies("all-to-all", t, dtype);
  }

  Status sendRecv(const std::vector<Transfer> &transfers, DType dtype) override {
    if (dtypeSize(dtype) == 0)
      return Status::error(std::string("stream collectives: send/recv: dtype ") + dtypeName(dtype) +
                           " has no element size");
    for (const Transfer &x : transfers)
      if (x.from < 0 || x.from >= size() || x.to < 0 || x.to >= size())
        return Status::error("stream collectives: send/recv: transfer " + std::to_string(x.from) +
                             " -> " + std::to_string(x.to) + " outside ranks 0.." +
                             std::to_string(size() - 1));
    return copies("send/recv", transfers, dtype);
  }

  Status synchronize() override {
    EFFC_RETURN_IF_ERROR(d_->makeCurrent());
    for (size_t r = 0; r < streams_.size(); ++r)
      EFFC_RETURN_IF_ERROR(d_->check(d_->api.cuStreamSynchronize(streams_[r]),
                                     "cuStreamSynchronize (rank " + std::to_string(r) + ")"));
    return Status::OK();
  }

private:
  StreamCollectives() = default;

  /// Every stream waits for what every other stream enqueued so far.
  Status barrier() {
    EFFC_RETURN_IF_ERROR(d_->makeCurrent());
    for (size_t r = 0; r < streams_.size(); ++r)
      EFFC_RETURN_IF_ERROR(
          d_->check(d_->api.cuEventRecord(events_[r], streams_[r]), "cuEventRecord"));
    for (size_t r = 0; r < streams_.size(); ++r)
      for (size_t q = 0; q < streams_.size(); ++q)
        if (q != r)
          EFFC_RETURN_IF_ERROR(d_->check(d_->api.cuStreamWaitEvent(streams_[r], events_[q], 0),
                                         "cuStreamWaitEvent"));
    return Status::OK();
  }

  /// The copies of one collective on their destinations' streams, then a
  /// barrier so no rank reuses a source before every copy has read it.
  Status copies(const char *what, const std::vector<Transfer> &t, DType dtype) {
    EFFC_RETURN_IF_ERROR(barrier());
    for (const Transfer &x : t)
      if (x.count)
        EFFC_RETURN_IF_ERROR(
            d_->check(d_->api.cuMemcpyDtoDAsync(CUdeviceptr(x.dst), CUdeviceptr(x.src),
                                                x.count * dtypeSize(dtype), streams_[size_t(x.to)]),
                      std::string("cuMemcpyDtoDAsync (") + what + ")"));
    return barrier();
  }

  /// Reductions: every rank's input to the host, HostCollectives, back.
  template <typename F>
  Status staged(const std::vector<const void *> &send, size_t sendCount,
                const std::vector<void *> &recv, size_t recvCount, F &&reduce, DType dtype) {
    const size_t es = dtypeSize(dtype);
    EFFC_RETURN_IF_ERROR(synchronize());
    std::vector<std::vector<char>> in(streams_.size(), std::vector<char>(sendCount * es)),
        out(streams_.size(), std::vector<char>(recvCount * es));
    std::vector<const void *> inPtr;
    std::vector<void *> outPtr;
    for (size_t r = 0; r < streams_.size(); ++r) {
      if (sendCount)
        EFFC_RETURN_IF_ERROR(
            d_->check(d_->api.cuMemcpyDtoH(in[r].data(), CUdeviceptr(send[r]), sendCount * es),
                      "cuMemcpyDtoH (staging a reduction)"));
      inPtr.push_back(in[r].data());
      outPtr.push_back(out[r].data());
    }
    EFFC_RETURN_IF_ERROR(reduce(inPtr, outPtr));
    for (size_t r = 0; r < streams_.size(); ++r)
      if (recvCount)
        EFFC_RETURN_IF_ERROR(
            d_->check(d_->api.cuMemcpyHtoD(CUdeviceptr(recv[r]), out[r].data(), recvCount * es),
                      "cuMemcpyHtoD (staging a reduction)"));
    return Status::OK();
  }

  const Driver *d_ = nullptr;
  std::unique_ptr<Collectives> host_;
  std::vector<CUstream> streams_;
  std::vector<CUevent> events_;
};

} // namespace

StatusOr<std::unique_ptr<Collectives>> makeStreamCollectives(int device, int ranks) {
  return StreamCollectives::create(device, ranks);
}

} // namespace effc::cuda
