// Parsing and validation of .effc images. Everything is checked before use so
// that a corrupt or hostile file gives an error, never a crash.
#include "Artifact.h"
#include "ArtifactFormat.h"
#include "DevicePlan.h"
#include "DimExpr.h"
#include "EffOp.h"
#include "effc/DType.h"

#include <algorithm>
#include <climits>
#include <set>

namespace effc {
namespace {

using artifact::Buffer;
using std::to_string;

Status fail(const std::string &msg) { return Status::error(msg); }

// a + b <= limit without overflow.
bool fits(uint64_t a, uint64_t b, uint64_t limit) { return a <= limit && b <= limit - a; }

std::string bufName(const artifact::Manifest &m, int i) {
  return "buffer " + to_string(i) +
         (m.buffers(i).name().empty() ? "" : " ('" + m.buffers(i).name() + "')");
}

Status checkBuffer(const artifact::Manifest &m, int i) {
  const Buffer &b = m.buffers(i);
  if (!isValidDType(b.dtype()))
    return fail(bufName(m, i) + ": invalid dtype " + to_string(b.dtype()));
  uint64_t n = 1;
  for (int64_t d : b.shape()) {
    if (d < 0)
      return fail(bufName(m, i) + ": negative dim " + to_string(d));
    if (d && n > (uint64_t(1) << 62) / uint64_t(d))
      return fail(bufName(m, i) + ": shape too large");
    n *= uint64_t(d);
  }
  uint64_t es = dtypeSize(DType(b.dtype()));
  if (n > (uint64_t(1) << 62) / es)
    return fail(bufName(m, i) + ": shape too large");
  if (b.size_bytes() != n * es)
    return fail(bufName(m, i) + ": size_bytes " + to_string(b.size_bytes()) + " but " +
                to_string(n) + " elements of " + dtypeName(DType(b.dtype())) + " need " +
                to_string(n * es));
  switch (b.storage()) {
  case Buffer::ARENA:
    if (!fits(b.offset(), b.size_bytes(), m.arena_bytes()))
      return fail(bufName(m, i) + ": arena range [" + to_string(b.offset()) + ", +" +
                  to_string(b.size_bytes()) + ") exceeds arena_bytes " +
                  to_string(m.arena_bytes()));
    return Status::OK();
  case Buffer::WEIGHT:
    return Status::OK(); // checked against the weight table
  case Buffer::ALIAS: {
    if (b.alias_of() >= uint32_t(m.buffers_size()) || int(b.alias_of()) == i)
      return fail(bufName(m, i) + ": alias_of " + to_string(b.alias_of()) +
                  " is not another buffer");
    const Buffer &base = m.buffers(int(b.alias_of()));
    if (!fits(b.offset(), b.size_bytes(), base.size_bytes()))
      return fail(bufName(m, i) + ": alias range exceeds " + bufName(m, int(b.alias_of())));
    // Follow the chain to a non-alias root; a cycle never gets there.
    int cur = i;
    for (int steps = 0; m.buffers(cur).storage() == Buffer::ALIAS; ++steps) {
      if (steps > m.buffers_size())
        return fail(bufName(m, i) + ": alias chain has a cycle");
      cur = int(m.buffers(cur).alias_of());
      if (cur >= m.buffers_size())
        return fail(bufName(m, i) + ": alias chain leaves the buffer table");
    }
    return Status::OK();
  }
  case Buffer::STATE: {
    if (b.state() >= uint32_t(m.states_size()))
      return fail(bufName(m, i) + ": state " + to_string(b.state()) + " of " +
                  to_string(m.states_size()));
    const artifact::State &st = m.states(int(b.state()));
    if (b.offset() || b.dtype() != st.dtype() || b.shape_size() != 4 || st.shape_size() != 4 ||
        b.shape(0) != st.shape(0) || b.shape(1) != st.shape(1) || b.shape(3) != st.shape(3) ||
        b.shape(2) > st.shape(2))
      return fail(bufName(m, i) + ": not a view of the first rows of state " +
                  to_string(b.state()) + " ('" + st.output() + "'): offset 0, its dtype, [B, H, " +
                  "rows <= capacity, D]");
    return Status::OK();
  }
  default:
    return fail(bufName(m, i) + ": unknown storage " + to_string(int(b.storage())));
  }
}

/// Session state (format version 4): each state's size, names unique and
/// apart from the bindings, its two STATE buffers, and the input's rows a
/// dim alone (what the session binds to the rows it holds).
Status checkStates(const artifact::Manifest &m) {
  std::set<std::string> names;
  for (const auto &b : m.inputs())
    names.insert(b.name());
  for (const auto &b : m.outputs())
    names.insert(b.name());
  for (int s = 0; s < m.states_size(); ++s) {
    const artifact::State &st = m.states(s);
    std::string what = "state " + to_string(s) + " ('" + st.output() + "')";
    if (!isValidDType(st.dtype()) || st.shape_size() != 4)
      return fail(what + ": needs a valid dtype and a shape [B, H, capacity, D]");
    uint64_t n = 1;
    for (int64_t d : st.shape()) {
      if (d < 0 || (d && n > (uint64_t(1) << 40) / uint64_t(d)))
        return fail(what + ": invalid shape");
      n *= uint64_t(d);
    }
    if (st.size_bytes() != n * dtypeSize(DType(st.dtype())))
      return fail(what + ": size_bytes " + to_string(st.size_bytes()) + " differs from its shape");
    for (const std::string *name : {&st.input(), &st.output()})
      if (name->empty() || !names.insert(*name).second)
        return fail(what + ": input/output name '" + *name + "' empty or given twice");
    for (uint32_t id : {st.input_buffer(), st.output_buffer()})
      if (id >= uint32_t(m.buffers_size()) || m.buffers(int(id)).storage() != Buffer::STATE ||
          m.buffers(int(id)).state() != uint32_t(s))
        return fail(what + ": buffer " + to_string(id) + " is not a STATE buffer of it");
    const Buffer &in = m.buffers(int(st.input_buffer()));
    if (st.pages()) { // a paged pool: both buffers are the whole static pool
      for (uint32_t id : {st.input_buffer(), st.output_buffer()}) {
        const Buffer &b = m.buffers(int(id));
        if (b.shape_exprs_size() || b.shape(2) != st.shape(2) || b.shape(0) != st.shape(0))
          return fail(what + ": a paged pool's buffer " + to_string(id) +
                      " must be the whole static pool");
      }
      continue;
    }
    auto rows = in.shape_exprs_size() == 4
                    ? DimExpr::fromProto(in.shape_exprs(2), uint32_t(m.dims_size()))
                    : StatusOr<DimExpr>(Status::error("no shape expressions"));
    if (!rows.ok() || rows->terms().size() != 1 || rows->terms()[0].coeff != 1 ||
        rows->terms()[0].dims.size() != 1)
      return fail(what + ": the rows of input '" + st.input() + "' (dim 2) must be a dim alone");
    // The session holds one row count for all states.
    const Buffer &out = m.buffers(int(st.output_buffer()));
    int first = 0; // the first state with rows (paged pools hold none)
    while (m.states(first).pages())
      ++first;
    const Buffer &in0 = m.buffers(int(m.states(first).input_buffer()));
    const Buffer &out0 = m.buffers(int(m.states(first).output_buffer()));
    if (out.shape_exprs_size() != 4 || out0.shape_exprs_size() != 4 ||
        in.shape_exprs(2).SerializeAsString() != in0.shape_exprs(2).SerializeAsString() ||
        out.shape_exprs(2).SerializeAsString() != out0.shape_exprs(2).SerializeAsString())
      return fail(what + ": its rows before and after a run differ from state 0's");
  }
  return Status::OK();
}

// Storage at the end of the alias chain (validated acyclic).
Buffer::Storage rootStorage(const artifact::Manifest &m, int i) {
  for (int steps = 0; m.buffers(i).storage() == Buffer::ALIAS && steps <= m.buffers_size(); ++steps)
    i = int(m.buffers(i).alias_of());
  return m.buffers(i).storage();
}

Status checkBindings(const artifact::Manifest &m, bool inputs) {
  const auto &list = inputs ? m.inputs() : m.outputs();
  const char *what = inputs ? "input" : "output";
  std::set<std::string> names;
  for (int i = 0; i < list.size(); ++i) {
    const auto &bd = list[i];
    if (bd.name().empty())
      return fail(std::string(what) + " " + to_string(i) + " has no name");
    if (!names.insert(bd.name()).second)
      return fail(std::string("duplicate ") + what + " name '" + bd.name() + "'");
    if (bd.buffer() >= uint32_t(m.buffers_size()))
      return fail(std::string(what) + " '" + bd.name() + "': buffer " + to_string(bd.buffer()) +
                  " out of range");
    if (inputs && rootStorage(m, int(bd.buffer())) == Buffer::WEIGHT)
      return fail(std::string(what) + " '" + bd.name() + "' is bound to a weight buffer");
    if (rootStorage(m, int(bd.buffer())) == Buffer::STATE)
      return fail(std::string(what) + " '" + bd.name() +
                  "' is bound to session state (a state's input and output are not bindings)");
  }
  return Status::OK();
}

// eff.fusion: body operands refer to earlier values, results are well-typed,
// and each kernel output takes a value of exactly its buffer's dtype/shape.
Status checkFusion(const artifact::Manifest &m, const artifact::Kernel &kr,
                   const std::string &where) {
  if (kr.body_size() == 0)
    return fail(where + ": fusion without body");
  struct Val {
    int dtype;
    std::vector<int64_t> shape;
    bool known;
  };
  std::vector<Val> vals;
  for (int32_t id : kr.inputs()) {
    if (id < 0) {
      vals.push_back({0, {}, false});
      continue;
    }
    const Buffer &b = m.buffers(id);
    vals.push_back({b.dtype(), {b.shape().begin(), b.shape().end()}, true});
  }
  for (int i = 0; i < kr.body_size(); ++i) {
    const auto &op = kr.body(i);
    std::string w = where + ": body op " + to_string(i) + " (" + op.op() + ")";
    if (op.op().empty() || isOp(op.op(), EffOp::FusionOp))
      return fail(w + ": invalid op");
    for (int32_t v : op.operands())
      if (v < -1 || v >= int64_t(vals.size()))
        return fail(w + ": operand " + to_string(v) + " out of range");
    if (op.result_dtypes_size() == 0 || op.result_dtypes_size() != op.result_shapes_size())
      return fail(w + ": result dtypes/shapes missing or inconsistent");
    for (int r = 0; r < op.result_dtypes_size(); ++r) {
      if (!isValidDType(op.result_dtypes(r)))
        return fail(w + ": invalid result dtype");
      std::vector<int64_t> shape(op.result_shapes(r).values().begin(),
                                 op.result_shapes(r).values().end());
      uint64_t n = 1;
      for (int64_t d : shape) {
        if (d < 0 || (d && n > (uint64_t(1) << 40) / uint64_t(d)))
          return fail(w + ": invalid result shape");
        n *= uint64_t(d);
      }
      vals.push_back({op.result_dtypes(r), shape, true});
    }
    if (op.result_shape_exprs_size()) {
      std::vector<DimBound> bounds;
      for (const artifact::Dim &dim : m.dims())
        bounds.push_back({dim.name(), dim.min(), dim.max()});
      int e = 0;
      for (int r = 0; r < op.result_shapes_size(); ++r)
        for (int64_t extent : op.result_shapes(r).values()) {
          if (e == op.result_shape_exprs_size())
            return fail(w + ": fewer result shape expressions than result dims");
          auto expr = DimExpr::fromProto(op.result_shape_exprs(e++), uint32_t(bounds.size()));
          if (!expr.ok())
            return fail(w + ": result shape expression: " + expr.status().message());
          auto range = expr->range(bounds);
          if (!range || range->first < 0 || range->second != extent)
            return fail(w + ": result dim = " + expr->toString() +
                        " is negative, overflows or does not reach the planned extent " +
                        to_string(extent) + " within the dims' bounds");
        }
      if (e != op.result_shape_exprs_size())
        return fail(w + ": more result shape expressions than result dims");
    }
  }
  if (kr.body_outputs_size() != kr.outputs_size())
    return fail(where + ": body_outputs count differs from outputs");
  for (int o = 0; o < kr.outputs_size(); ++o) {
    int32_t v = kr.body_outputs(o);
    if (v < 0 || v >= int64_t(vals.size()) || !vals[v].known)
      return fail(where + ": body output " + to_string(v) + " out of range");
    const Buffer &b = m.buffers(kr.outputs(o));
    if (vals[v].dtype != b.dtype() ||
        vals[v].shape != std::vector<int64_t>(b.shape().begin(), b.shape().end()))
      return fail(where + ": body output " + to_string(o) + " type differs from " +
                  bufName(m, kr.outputs(o)));
  }
  return Status::OK();
}

Status checkKernels(const artifact::Manifest &m) {
  for (int k = 0; k < m.kernels_size(); ++k) {
    const auto &kr = m.kernels(k);
    std::string where = "kernel " + to_string(k) + " (" + kr.op() +
                        (kr.location().empty() ? "" : " at " + kr.location()) + ")";
    if (kr.op().empty())
      return fail(where + ": empty op name");
    for (int32_t id : kr.inputs())
      if (id < -1 || id >= m.buffers_size())
        return fail(where + ": input buffer id " + to_string(id) + " out of range");
    if (kr.outputs_size() == 0)
      return fail(where + ": no outputs");
    if (kr.uses_dims() && !m.dims_size())
      return fail(where + ": uses_dims in a manifest without symbolic dims");
    if (kr.uses_dims() && kr.source().empty())
      return fail(where + ": uses_dims without a CUDA kernel");
    // Grid dims that follow the dims: only with uses_dims, one per axis, each
    // within the grid planned at the upper bounds.
    const auto &launch = kr.launch();
    std::set<uint32_t> axes;
    for (const artifact::GridExpr &g : launch.grid_exprs()) {
      std::string gw = where + ": grid expression for axis " + to_string(g.axis());
      if (!kr.uses_dims())
        return fail(gw + " without uses_dims");
      if (g.axis() >= uint32_t(launch.grid_size()) || !axes.insert(g.axis()).second)
        return fail(gw + ": no such grid dim, or given twice");
      if (g.per_block() < 1 || g.cap() < 1 || g.cap() > launch.grid(int(g.axis())))
        return fail(gw + ": per_block " + to_string(g.per_block()) + " and cap " +
                    to_string(g.cap()) + " must be >= 1, the cap at most the planned grid " +
                    to_string(launch.grid(int(g.axis()))));
      auto count = DimExpr::fromProto(g.count(), uint32_t(m.dims_size()));
      if (!count.ok())
        return fail(gw + ": " + count.status().message());
    }
    for (int32_t id : kr.outputs()) {
      if (id < 0 || id >= m.buffers_size())
        return fail(where + ": output buffer id " + to_string(id) + " out of range");
      if (rootStorage(m, id) == Buffer::WEIGHT)
        return fail(where + ": writes weight " + bufName(m, id));
    }
    if (isOp(kr.op(), EffOp::FusionOp))
      EFFC_RETURN_IF_ERROR(checkFusion(m, kr, where));
  }
  return Status::OK();
}

/// Symbolic dims (format version 2, optional in 3): names unique, 0 <= min <=
/// max, and each buffer's shape_exprs (one per dim, over known dims) never
/// negative within the bounds and at most the planned extent at the upper
/// bounds. Version 1 has neither.
Status checkDims(const artifact::Manifest &m) {
  bool symbolic = m.format_version() >= format::kFormatVersionDims;
  if (!symbolic && m.dims_size())
    return fail("format version 1 manifest with symbolic dims");
  if (m.format_version() == format::kFormatVersionDims && !m.dims_size())
    return fail("format version 2 manifest without symbolic dims");
  std::vector<DimBound> bounds;
  for (int d = 0; d < m.dims_size(); ++d) {
    const artifact::Dim &dim = m.dims(d);
    std::string what = "dim " + to_string(d) + " '" + dim.name() + "'";
    if (dim.name().empty())
      return fail("dim " + to_string(d) + " has no name");
    for (const DimBound &b : bounds)
      if (b.name == dim.name())
        return fail(what + ": name given twice");
    if (dim.min() < 0 || dim.min() > dim.max() || dim.max() > (int64_t(1) << 40))
      return fail(what + ": bounds " + to_string(dim.min()) + ".." + to_string(dim.max()) +
                  " are not 0 <= MIN <= MAX <= 2^40");
    bounds.push_back({dim.name(), dim.min(), dim.max()});
  }
  for (int i = 0; i < m.buffers_size(); ++i) {
    const Buffer &b = m.buffers(i);
    if (!b.shape_exprs_size())
      continue;
    if (!symbolic)
      return fail(bufName(m, i) + ": shape_exprs in a format version 1 manifest");
    if (b.shape_exprs_size() != b.shape_size())
      return fail(bufName(m, i) + ": " + to_string(b.shape_exprs_size()) +
                  " shape expressions for rank " + to_string(b.shape_size()));
    for (int d = 0; d < b.shape_exprs_size(); ++d) {
      auto expr = DimExpr::fromProto(b.shape_exprs(d), uint32_t(bounds.size()));
      if (!expr.ok())
        return fail(bufName(m, i) + ": dim " + to_string(d) + ": " + expr.status().message());
      auto range = expr->range(bounds);
      if (!range || range->first < 0 || range->second != b.shape(d))
        return fail(bufName(m, i) + ": dim " + to_string(d) + " = " + expr->toString() +
                    " is negative, overflows or does not reach the planned extent " +
                    to_string(b.shape(d)) + " within the dims' bounds");
    }
  }
  return Status::OK();
}

} // namespace

Status validateManifest(const artifact::Manifest &m, uint64_t weightsSize, uint64_t payloadSize) {
  if (m.format_version() < format::kFormatVersionStatic ||
      m.format_version() > format::kFormatVersion)
    return fail("manifest format version " + to_string(m.format_version()) +
                ", this runtime reads " + to_string(format::kFormatVersionStatic) + " to " +
                to_string(format::kFormatVersion));
  EFFC_RETURN_IF_ERROR(checkDims(m));
  // What an older runtime would ignore must come with the version it rejects.
  if (m.format_version() < format::kFormatVersionState) {
    bool state = m.states_size() > 0;
    for (const Buffer &b : m.buffers())
      state |= b.storage() == Buffer::STATE;
    if (state)
      return fail("session state in a format version " + to_string(m.format_version()) +
                  " manifest");
  }
  if (m.format_version() < format::kFormatVersionBodyShapes)
    for (int k = 0; k < m.kernels_size(); ++k)
      for (const artifact::BodyOp &op : m.kernels(k).body())
        if (op.result_shape_exprs_size())
          return fail("kernel " + to_string(k) +
                      ": fusion body shape expressions in a format version " +
                      to_string(m.format_version()) + " manifest");
  if (m.format_version() < format::kFormatVersionPlacement) {
    if (m.devices() > 1)
      return fail("a device plan (devices " + to_string(m.devices()) + ") in a format version " +
                  to_string(m.format_version()) + " manifest");
    for (int k = 0; k < m.kernels_size(); ++k)
      if (m.kernels(k).tensor_maps_size())
        return fail("kernel " + to_string(k) + ": tensor maps in a format version " +
                    to_string(m.format_version()) + " manifest");
  }
  if (m.buffers_size() >= INT32_MAX / 2)
    return fail("too many buffers");
  for (int i = 0; i < m.buffers_size(); ++i)
    EFFC_RETURN_IF_ERROR(checkBuffer(m, i));
  std::vector<int> weightOf(m.buffers_size(), -1);
  for (int w = 0; w < m.weights_size(); ++w) {
    const auto &e = m.weights(w);
    std::string what = "weight " + to_string(w);
    if (e.buffer() >= uint32_t(m.buffers_size()))
      return fail(what + ": buffer " + to_string(e.buffer()) + " out of range");
    int b = int(e.buffer());
    const Buffer &buf = m.buffers(b);
    if (buf.storage() != Buffer::WEIGHT)
      return fail(what + ": " + bufName(m, b) + " is not a WEIGHT buffer");
    if (weightOf[b] >= 0)
      return fail(what + ": " + bufName(m, b) + " has two weight entries");
    weightOf[b] = w;
    if (e.offset() % format::kAlign)
      return fail(what + ": offset " + to_string(e.offset()) + " not 256-byte aligned");
    if (!fits(e.offset(), e.size(), weightsSize))
      return fail(what + ": range [" + to_string(e.offset()) + ", +" + to_string(e.size()) +
                  ") exceeds the weights section (" + to_string(weightsSize) + " bytes)");
    if (e.size() != buf.size_bytes())
      return fail(what + ": size " + to_string(e.size()) + " differs from " + bufName(m, b) +
                  " size " + to_string(buf.size_bytes()));
    if (buf.offset() != e.offset())
      return fail(bufName(m, b) + ": offset differs from its weight entry");
  }
  for (int i = 0; i < m.buffers_size(); ++i)
    if (m.buffers(i).storage() == Buffer::WEIGHT && weightOf[i] < 0)
      return fail(bufName(m, i) + ": WEIGHT buffer without data");
  if (!fits(m.cuda_source_offset(), m.cuda_source_size(), payloadSize))
    return fail("CUDA source range exceeds the payload (" + to_string(payloadSize) + " bytes)");
  for (int c = 0; c < m.cubins_size(); ++c)
    if (!fits(m.cubins(c).offset(), m.cubins(c).size(), payloadSize))
      return fail("cubin " + to_string(c) + " (" + m.cubins(c).arch() +
                  ") range exceeds the payload");
  EFFC_RETURN_IF_ERROR(checkBindings(m, true));
  EFFC_RETURN_IF_ERROR(checkBindings(m, false));
  EFFC_RETURN_IF_ERROR(checkDevicePlan(m));
  EFFC_RETURN_IF_ERROR(checkStates(m));
  return checkKernels(m);
}

Status parseArtifact(const uint8_t *data, size_t size, const std::string &name,
                     ArtifactSections *out) {
  auto err = [&](const std::string &msg) { return Status::error(name + ": " + msg); };
  if (size < format::kHeaderSize)
    return err("file too small (" + to_string(size) + " bytes) to be an effc artifact");
  if (std::memcmp(data, format::kMagic, 8) != 0)
    return err("not an effc artifact (bad magic)");
  format::Header h = format::decodeHeader(data);
  if (h.formatVersion < format::kFormatVersionStatic || h.formatVersion > format::kFormatVersion)
    return err("artifact format version " + to_string(h.formatVersion) + ", this runtime reads " +
               to_string(format::kFormatVersionStatic) + " to " +
               to_string(format::kFormatVersion));
  if (h.headerSize != format::kHeaderSize)
    return err("header size " + to_string(h.headerSize) + ", expected " +
               to_string(format::kHeaderSize));
  if (fnv1a64(data, format::kHeaderSize - 8) != h.checksum)
    return err("header checksum mismatch (corrupt header)");
  if (h.fileSize != size)
    return err(size < h.fileSize ? "truncated: header says " + to_string(h.fileSize) +
                                       " bytes, file has " + to_string(size)
                                 : "size mismatch: header says " + to_string(h.fileSize) +
                                       " bytes, file has " + to_string(size));
  struct Sec {
    const char *what;
    uint64_t off, size;
  };
  Sec secs[3] = {{"manifest", h.manifestOffset, h.manifestSize},
                 {"payload", h.payloadOffset, h.payloadSize},
                 {"weights", h.weightsOffset, h.weightsSize}};
  uint64_t prevEnd = format::kHeaderSize;
  std::vector<std::pair<uint64_t, uint64_t>> covered{{0, format::kHeaderSize}};
  for (const Sec &s : secs) {
    if (s.off % format::kAlign || s.off < prevEnd || !fits(s.off, s.size, size))
      return err(std::string(s.what) + " section [" + to_string(s.off) + ", +" + to_string(s.size) +
                 ") is misaligned, overlapping or outside the file");
    prevEnd = s.off + s.size;
    if (&s != &secs[2])
      covered.push_back({s.off, prevEnd}); // weights: per entry below
  }
  if (h.manifestSize > uint64_t(INT_MAX))
    return err("manifest too large");
  if (fnv1a64(data + h.manifestOffset, h.manifestSize) != h.manifestChecksum)
    return err("manifest checksum mismatch");
  if (fnv1a64(data + h.payloadOffset, h.payloadSize) != h.payloadChecksum)
    return err("payload checksum mismatch");
  if (!out->manifest.ParseFromArray(data + h.manifestOffset, int(h.manifestSize)))
    return err("manifest does not parse as effc.artifact.Manifest");
  if (out->manifest.format_version() != h.formatVersion)
    return err("manifest format version " + to_string(out->manifest.format_version()) +
               " differs from the header's " + to_string(h.formatVersion));
  Status v = validateManifest(out->manifest, h.weightsSize, h.payloadSize);
  if (!v.ok())
    return err(v.message());
  for (int w = 0; w < out->manifest.weights_size(); ++w) {
    const auto &e = out->manifest.weights(w);
    uint64_t off = h.weightsOffset + e.offset();
    if (fnv1a64(data + off, e.size()) != e.checksum())
      return err("weight " + to_string(w) + " (" + out->manifest.buffers(int(e.buffer())).name() +
                 "): checksum mismatch");
    covered.push_back({off, off + e.size()});
  }
  // Bytes outside the header, manifest, payload and weights must be zero
  // padding, so that no byte of the file escapes a check.
  std::sort(covered.begin(), covered.end());
  uint64_t pos = 0;
  for (auto [b, e] : covered) {
    for (uint64_t i = pos; i < b; ++i)
      if (data[i])
        return err("nonzero padding byte at offset " + to_string(i));
    pos = std::max(pos, e);
  }
  for (uint64_t i = pos; i < size; ++i)
    if (data[i])
      return err("nonzero padding byte at offset " + to_string(i));
  out->weightsOffset = h.weightsOffset;
  out->weightsSize = h.weightsSize;
  out->payloadOffset = h.payloadOffset;
  out->payloadSize = h.payloadSize;
  return Status::OK();
}

} // namespace effc
