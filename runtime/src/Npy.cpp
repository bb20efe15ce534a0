// NumPy .npy reader/writer (format versions 1-3, little-endian, C order).
#include "effc/TensorIO.h"

#include <fstream>

namespace effc {
namespace {

struct Descr {
  const char *descr;
  DType dtype;
};
const Descr kDescrs[] = {
    {"<f4", DType::FLOAT32}, {"<f8", DType::FLOAT64}, {"<f2", DType::FLOAT16},
    {"|i1", DType::INT8},    {"|u1", DType::UINT8},   {"<i2", DType::INT16},
    {"<u2", DType::UINT16},  {"<i4", DType::INT32},   {"<u4", DType::UINT32},
    {"<i8", DType::INT64},   {"<u8", DType::UINT64},  {"|b1", DType::BOOL},
    {"<i1", DType::INT8},    {"<u1", DType::UINT8},   {"<b1", DType::BOOL},
};

// Value of 'key' in the header dict, as the raw text up to the next ',' or
// the closing ')' of a tuple.
bool findValue(const std::string &h, const std::string &key, std::string *out) {
  size_t k = h.find("'" + key + "'");
  if (k == std::string::npos)
    return false;
  size_t colon = h.find(':', k);
  if (colon == std::string::npos)
    return false;
  size_t b = h.find_first_not_of(" ", colon + 1);
  if (b == std::string::npos)
    return false;
  size_t e = h[b] == '(' ? h.find(')', b) : h.find_first_of(",}", b);
  if (e == std::string::npos)
    return false;
  *out = h.substr(b, e - b + (h[b] == '(' ? 1 : 0));
  return true;
}

} // namespace

StatusOr<HostTensor> parseNpy(const std::string &bytes) {
  auto err = [](const std::string &m) { return Status::error("bad .npy: " + m); };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    return err("missing \\x93NUMPY magic");
  uint8_t major = uint8_t(bytes[6]);
  size_t hlen, hoff;
  if (major == 1) {
    hlen = uint8_t(bytes[8]) | size_t(uint8_t(bytes[9])) << 8;
    hoff = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return err("truncated header");
    hlen = 0;
    for (int i = 0; i < 4; ++i)
      hlen |= size_t(uint8_t(bytes[8 + i])) << (8 * i);
    hoff = 12;
  } else {
    return err("unsupported version " + std::to_string(major));
  }
  if (hlen > bytes.size() - hoff)
    return err("truncated header");
  std::string h = bytes.substr(hoff, hlen), descr, fortran, shapeText;
  if (!findValue(h, "descr", &descr) || !findValue(h, "fortran_order", &fortran) ||
      !findValue(h, "shape", &shapeText))
    return err("header lacks descr/fortran_order/shape");
  if (fortran.compare(0, 4, "True") == 0)
    return err("fortran_order arrays are not supported");
  if (descr.size() < 2)
    return err("bad descr");
  descr = descr.substr(1, descr.size() - 2); // strip quotes
  DType dt = DType::UNDEFINED;
  for (const Descr &d : kDescrs)
    if (descr == d.descr)
      dt = d.dtype;
  if (dt == DType::UNDEFINED)
    return err("unsupported dtype '" + descr + "' (big-endian or non-numeric?)");
  std::vector<int64_t> shape;
  for (size_t i = 1; i < shapeText.size();) {
    size_t j = shapeText.find_first_of(",)", i);
    if (j == std::string::npos)
      break;
    std::string tok = shapeText.substr(i, j - i);
    size_t s = tok.find_first_not_of(" "), e = tok.find_last_not_of(" L");
    if (s != std::string::npos) {
      tok = tok.substr(s, e - s + 1);
      if (tok.empty() || tok.size() > 15 ||
          tok.find_first_not_of("0123456789") != std::string::npos)
        return err("bad shape " + shapeText);
      shape.push_back(std::stoll(tok));
    }
    i = j + 1;
  }
  int64_t n = numElements(shape);
  if (n < 0 || uint64_t(n) > (uint64_t(1) << 40))
    return err("bad shape " + shapeText);
  size_t need = size_t(n) * dtypeSize(dt), data = hoff + hlen;
  if (bytes.size() - data < need)
    return err("data truncated: " + std::to_string(bytes.size() - data) + " bytes, need " +
               std::to_string(need));
  HostTensor t(dt, shape);
  if (need)
    std::memcpy(t.data(), bytes.data() + data, need);
  return t;
}

StatusOr<HostTensor> readNpyFile(const std::string &path) {
  auto bytes = readFileBytes(path);
  if (!bytes.ok())
    return bytes.status();
  auto t = parseNpy(*bytes);
  if (!t.ok())
    return t.status().withPrefix(path);
  return t;
}

std::string serializeNpy(const HostTensor &in) {
  HostTensor t = in;
  if (t.dtype() == DType::BFLOAT16) { // no NumPy dtype: widen to float32
    HostTensor f(DType::FLOAT32, t.shape());
    for (int64_t i = 0; i < t.numElements(); ++i)
      f.data<float>()[i] = float(t.elementAsDouble(i));
    t = std::move(f);
  }
  const char *descr = "<f4";
  for (const Descr &d : kDescrs)
    if (d.dtype == t.dtype()) {
      descr = d.descr;
      break;
    }
  std::string shape = "(";
  for (int64_t d : t.shape())
    shape += std::to_string(d) + ", ";
  if (t.shape().size() > 1)
    shape.resize(shape.size() - 2);
  else if (t.shape().size() == 1)
    shape.resize(shape.size() - 1);
  shape += ")";
  std::string h =
      "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  std::string out = "\x93NUMPY";
  out += char(1);
  out += char(0);
  out += char(h.size() & 0xff);
  out += char(h.size() >> 8);
  out += h;
  out.append(static_cast<const char *>(t.data()), t.byteSize());
  return out;
}

Status writeNpyFile(const std::string &path, const HostTensor &t) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f)
    return Status::error(path + ": cannot open for writing");
  std::string bytes = serializeNpy(t);
  f.write(bytes.data(), std::streamsize(bytes.size()));
  if (!f)
    return Status::error(path + ": write failed");
  return Status::OK();
}

} // namespace effc
