// N simulated devices in one process: the collectives of Collectives.h as
// memcpy. Reductions add in fp32 (float64 in double) in rank order and round
// once to the element type, so a host run is deterministic; NCCL's ring adds
// in another order (fp32 results then differ in the last bits, half types by
// their rounding per step).
#include "Collectives.h"

#include "host/Element.h"
#include "host/KernelUtil.h"

#include <cstring>

namespace effc {

Status Collectives::checkRanks(const char *what, size_t sends, size_t recvs, DType dtype) const {
  const size_t n = static_cast<size_t>(size());
  if (sends != n || recvs != n)
    return Status::error(std::string("collectives: ") + what + ": " + std::to_string(sends) +
                         " send and " + std::to_string(recvs) + " receive buffers for " +
                         std::to_string(n) + " ranks");
  if (dtypeSize(dtype) == 0)
    return Status::error(std::string("collectives: ") + what + ": dtype " + dtypeName(dtype) +
                         " has no element size");
  return Status::OK();
}

namespace {

bool reducible(DType t) {
  return t == DType::FLOAT32 || t == DType::FLOAT16 || t == DType::BFLOAT16 ||
         t == DType::FLOAT64 || t == DType::INT32;
}

class HostCollectives final : public Collectives {
public:
  explicit HostCollectives(int n) : n_(n) {}
  int size() const override { return n_; }
  std::string describe() const override {
    return "host (" + std::to_string(n_) + " simulated devices)";
  }

  Status allReduceSum(const std::vector<const void *> &send, const std::vector<void *> &recv,
                      size_t count, DType dtype) override {
    EFFC_RETURN_IF_ERROR(checkReduce("all-reduce", send.size(), recv.size(), dtype));
    std::vector<double> sum = reduce(send, 0, count, dtype);
    for (int r = 0; r < n_; ++r)
      store(recv[r], sum, dtype);
    return Status::OK();
  }

  Status allGather(const std::vector<const void *> &send, const std::vector<void *> &recv,
                   size_t count, DType dtype) override {
    EFFC_RETURN_IF_ERROR(checkRanks("all-gather", send.size(), recv.size(), dtype));
    const size_t bytes = count * dtypeSize(dtype);
    for (int r = 0; r < n_; ++r)
      for (int q = 0; q < n_; ++q)
        copy(static_cast<char *>(recv[r]) + q * bytes, send[q], bytes);
    return Status::OK();
  }

  Status reduceScatterSum(const std::vector<const void *> &send, const std::vector<void *> &recv,
                          size_t count, DType dtype) override {
    EFFC_RETURN_IF_ERROR(checkReduce("reduce-scatter", send.size(), recv.size(), dtype));
    for (int r = 0; r < n_; ++r)
      store(recv[r], reduce(send, r * count, count, dtype), dtype);
    return Status::OK();
  }

  Status allToAllv(const std::vector<const void *> &send, const std::vector<void *> &recv,
                   const std::vector<std::vector<size_t>> &counts, DType dtype) override {
    EFFC_RETURN_IF_ERROR(checkRanks("all-to-all", send.size(), recv.size(), dtype));
    if (counts.size() != size_t(n_))
      return Status::error("collectives: all-to-all: counts has " + std::to_string(counts.size()) +
                           " rows for " + std::to_string(n_) + " ranks");
    for (int q = 0; q < n_; ++q)
      if (counts[q].size() != size_t(n_))
        return Status::error("collectives: all-to-all: counts row " + std::to_string(q) + " has " +
                             std::to_string(counts[q].size()) + " entries for " +
                             std::to_string(n_) + " ranks");
    const size_t es = dtypeSize(dtype);
    for (int p = 0; p < n_; ++p) {
      size_t at = 0; // receive offset on p: blocks of q = 0, 1, ...
      for (int q = 0; q < n_; ++q) {
        size_t from = 0; // send offset on q: blocks for 0 .. p-1 first
        for (int pp = 0; pp < p; ++pp)
          from += counts[q][pp];
        copy(static_cast<char *>(recv[p]) + at * es, static_cast<const char *>(send[q]) + from * es,
             counts[q][p] * es);
        at += counts[q][p];
      }
    }
    return Status::OK();
  }

  Status sendRecv(const std::vector<Transfer> &transfers, DType dtype) override {
    if (dtypeSize(dtype) == 0)
      return Status::error(std::string("collectives: send/recv: dtype ") + dtypeName(dtype) +
                           " has no element size");
    for (const Transfer &t : transfers)
      if (t.from < 0 || t.from >= n_ || t.to < 0 || t.to >= n_)
        return Status::error("collectives: send/recv: transfer " + std::to_string(t.from) + " -> " +
                             std::to_string(t.to) + " outside ranks 0.." + std::to_string(n_ - 1));
    for (const Transfer &t : transfers)
      copy(t.dst, t.src, t.count * dtypeSize(dtype));
    return Status::OK();
  }

  Status synchronize() override { return Status::OK(); }

private:
  Status checkReduce(const char *what, size_t sends, size_t recvs, DType dtype) const {
    EFFC_RETURN_IF_ERROR(checkRanks(what, sends, recvs, dtype));
    if (!reducible(dtype))
      return Status::error(std::string("collectives: ") + what + ": cannot sum " +
                           dtypeName(dtype) + " (float32/16, bfloat16, float64, int32)");
    return Status::OK();
  }

  static void copy(void *dst, const void *src, size_t bytes) {
    if (bytes && dst != src)
      std::memmove(dst, src, bytes);
  }

  std::vector<double> reduce(const std::vector<const void *> &send, size_t offset, size_t count,
                             DType dtype) const {
    std::vector<double> sum(count, 0.0);
    const bool wide = dtype == DType::FLOAT64 || dtype == DType::INT32; // exact in double
    for (size_t i = 0; i < count; ++i) {
      if (wide) {
        double acc = 0;
        for (int q = 0; q < n_; ++q)
          acc += dtype == DType::FLOAT64 ? host::loadF(dtype, send[q], offset + i)
                                         : double(host::loadI(dtype, send[q], offset + i));
        sum[i] = acc;
      } else {
        float acc = 0; // fp32 in rank order, as the 1-device eff.add chain does
        for (int q = 0; q < n_; ++q)
          acc += float(host::loadF(dtype, send[q], offset + i));
        sum[i] = acc;
      }
    }
    return sum;
  }

  static void store(void *dst, const std::vector<double> &v, DType dtype) {
    for (size_t i = 0; i < v.size(); ++i)
      if (dtype == DType::INT32 || dtype == DType::INT64)
        host::storeI(dtype, dst, i, int64_t(v[i]));
      else
        host::storeF(dtype, dst, i, v[i]);
  }

  int n_;
};

} // namespace

StatusOr<std::unique_ptr<Collectives>> makeHostCollectives(int ranks) {
  if (ranks < 1)
    return Status::error("collectives: " + std::to_string(ranks) + " ranks (need >= 1)");
  return std::unique_ptr<Collectives>(new HostCollectives(ranks));
}

namespace host {
namespace {

/// eff.all_reduce in one process: the partials summed as allReduceSum sums
/// the ranks' buffers (fp32 in operand order, one rounding), so the folder,
/// the host backend and HostCollectives agree.
Status allReduce(const KernelContext &c) {
  auto devices = c.intsAttr("devices");
  if (!devices.ok())
    return devices.status();
  if (devices->size() != c.in.size())
    return c.error(std::to_string(c.in.size()) + " partials for " +
                   std::to_string(devices->size()) + " devices");
  for (size_t i = 1; i < c.in.size(); ++i)
    if (c.in[i].dtype != c.in[0].dtype || c.in[i].shape != c.in[0].shape)
      return c.error("partial " + std::to_string(i) + " is " + dtypeName(c.in[i].dtype) + " " +
                     shapeToString(c.in[i].shape) + ", partial 0 " + dtypeName(c.in[0].dtype) +
                     " " + shapeToString(c.in[0].shape));
  EFFC_RETURN_IF_ERROR(c.checkOut(0, c.in[0].dtype, c.in[0].shape));
  HostCollectives ranks(int(c.in.size()));
  std::vector<const void *> send;
  for (const ConstTensorRef &t : c.in)
    send.push_back(t.data);
  std::vector<void *> recv(c.in.size(), c.out[0].data); // every rank's result is the output
  return ranks.allReduceSum(send, recv, size_t(count(c.in[0].shape)), c.in[0].dtype)
      .withPrefix(c.op + ": ");
}

} // namespace

void registerCollectives(Registry &r) { r[EffOp::AllReduceOp] = {allReduce, 1, -1, 1, 1}; }

} // namespace host
} // namespace effc
