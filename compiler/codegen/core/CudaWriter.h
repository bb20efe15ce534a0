//===- CudaWriter.h - small builder for generated CUDA text ------*- C++ -*-===//
//
// Emitters write CUDA line by line: `w.line("float v = ", x, ";")`,
// `w.open("for (...) {")` ... `w.close()`. Numbers are printed so that they
// round-trip exactly (integers as-is, floats with 9/17 significant digits).
//
#ifndef EFFC_COMPILER_CODEGEN_CUDAWRITER_H
#define EFFC_COMPILER_CODEGEN_CUDAWRITER_H

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace effc::codegen {

/// A float literal for CUDA: exact, with non-finite values spelled as bit
/// casts (NVRTC has no <cmath> INFINITY/NAN macros).
std::string floatLit(float v);
std::string doubleLit(double v);
/// An int64 literal ("5LL"; INT64_MIN spelled so that it parses).
std::string i64Lit(int64_t v);
/// "{1, 2, 3}" for constant arrays.
std::string intList(const std::vector<int64_t> &values);

class CudaWriter {
public:
  template <typename... Ts> CudaWriter &line(const Ts &...parts) {
    text.append(size_t(2 * indent), ' ');
    (append(parts), ...);
    text += '\n';
    return *this;
  }
  /// A line that opens a block (should end with '{'); indents what follows.
  template <typename... Ts> CudaWriter &open(const Ts &...parts) {
    line(parts...);
    ++indent;
    return *this;
  }
  /// Ends the innermost block with `tail` ("}" or "} else {" ...).
  CudaWriter &close(const std::string &tail = "}") {
    --indent;
    line(tail);
    return *this;
  }
  /// Closes then reopens at the same depth: "} else {".
  CudaWriter &reopen(const std::string &tail) {
    --indent;
    line(tail);
    ++indent;
    return *this;
  }
  CudaWriter &blank() {
    text += '\n';
    return *this;
  }
  /// Raw text, no indentation or newline handling.
  CudaWriter &raw(const std::string &s) {
    text += s;
    return *this;
  }
  const std::string &str() const { return text; }

private:
  std::string text;
  int indent = 0;

  void append(const std::string &s) { text += s; }
  void append(const char *s) { text += s; }
  void append(char c) { text += c; }
  template <typename T, std::enable_if_t<std::is_integral_v<T>, int> = 0> void append(T v) {
    text += std::to_string(v);
  }
  void append(float v) { text += floatLit(v); }
  /// Anything with CUDA text of its own (codegen::Extent).
  template <typename T, typename = decltype(std::declval<const T &>().text()), int = 0>
  void append(const T &v) {
    text += v.text();
  }
  void append(double v) { text += doubleLit(v); }
};

} // namespace effc::codegen

#endif
