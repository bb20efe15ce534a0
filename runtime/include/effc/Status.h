// Error handling without exceptions (effc builds with -fno-exceptions): every
// fallible call returns a Status or a StatusOr<T> carrying a readable message.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace effc {

class [[nodiscard]] Status {
public:
  Status() = default; // success
  static Status OK() { return Status(); }
  static Status error(std::string message) {
    Status s;
    s.failed_ = true;
    s.message_ = message.empty() ? "unknown error" : std::move(message);
    return s;
  }
  bool ok() const { return !failed_; }
  const std::string &message() const { return message_; }
  /// Same error with "<prefix>: " in front; success stays success.
  Status withPrefix(const std::string &prefix) const {
    return ok() ? *this : error(prefix + ": " + message_);
  }

private:
  bool failed_ = false;
  std::string message_;
};

/// A value or an error. Accessing value() of an error is a programming bug
/// (checked with ok() first); it never happens on bad *input*.
template <typename T> class [[nodiscard]] StatusOr {
public:
  StatusOr(T value) : value_(std::move(value)) {}
  StatusOr(Status status) : status_(std::move(status)) {
    if (status_.ok()) // a success without a value is a bug of the caller
      status_ = Status::error("internal error: StatusOr built from OK status");
  }
  bool ok() const { return value_.has_value(); }
  const Status &status() const { return status_; }
  T &value() & { return *value_; }
  const T &value() const & { return *value_; }
  T &&value() && { return std::move(*value_); }
  T &operator*() & { return *value_; }
  const T &operator*() const & { return *value_; }
  T *operator->() { return &*value_; }
  const T *operator->() const { return &*value_; }

private:
  Status status_;
  std::optional<T> value_;
};

} // namespace effc

/// Propagates an error Status from the current function.
#define EFFC_RETURN_IF_ERROR(expr)                                                                 \
  do {                                                                                             \
    ::effc::Status effc_status_ = (expr);                                                          \
    if (!effc_status_.ok())                                                                        \
      return effc_status_;                                                                         \
  } while (0)
