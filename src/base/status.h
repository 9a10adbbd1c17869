// Status and StatusOr: the error vocabulary of every fallible function in WVA-C++.
//
// Codes follow Abseil's retry guidance: kUnavailable = retry the call; kAborted = retry at a
// higher level (409 conflict, 410 gone); kFailedPrecondition = do not retry until state changes;
// kInvalidArgument = terminal (bad input). No exceptions cross our APIs.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace wva {

enum class StatusCode {
  kOk = 0,
  kCancelled,
  kUnknown,
  kInvalidArgument,
  kDeadlineExceeded,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kResourceExhausted,
  kFailedPrecondition,
  kAborted,
  kOutOfRange,
  kUnimplemented,
  kInternal,
  kUnavailable,
  kDataLoss,
  kUnauthenticated,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: message" (or "OK").
  std::string ToString() const;

  // Returns a copy with `prefix: ` prepended to the message (for adding context going up). The
  // detail is kept, so context never hides what the error was.
  Status WithPrefix(std::string_view prefix) const;

  // A finer, typed code from the layer that raised the error, which callers test instead of the
  // message text (kube: the HTTP status of an API server answer, e.g. 409 or 410). 0 = none.
  int detail() const { return detail_; }
  Status WithDetail(int detail) const {
    Status s = *this;
    s.detail_ = detail;
    return s;
  }

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_ && a.detail_ == b.detail_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  int detail_ = 0;
};

inline Status OkStatus() { return Status(); }
inline Status InvalidArgumentError(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExistsError(std::string m) {
  return {StatusCode::kAlreadyExists, std::move(m)};
}
inline Status FailedPreconditionError(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status AbortedError(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
inline Status DeadlineExceededError(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status PermissionDeniedError(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status UnauthenticatedError(std::string m) {
  return {StatusCode::kUnauthenticated, std::move(m)};
}
inline Status ResourceExhaustedError(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status CancelledError(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status OutOfRangeError(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status UnimplementedError(std::string m) {
  return {StatusCode::kUnimplemented, std::move(m)};
}
inline Status DataLossError(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }

template <class T>
using StatusOr = tl::expected<T, Status>;

// Lets `return SomeError(...);` work in a function returning StatusOr<T>.
inline tl::unexpected<Status> Err(Status s) { return tl::unexpected<Status>(std::move(s)); }

namespace internal {
// What the WVA_* macros return: converts to Status or to any StatusOr<T>, so the macros work in
// functions returning either.
struct ErrorReturn {
  Status status;
  operator Status() && { return std::move(status); }
  template <class T>
  operator tl::expected<T, Status>() && {
    return tl::unexpected<Status>(std::move(status));
  }
};
}  // namespace internal

}  // namespace wva

#define WVA_CONCAT_INNER_(a, b) a##b
#define WVA_CONCAT_(a, b) WVA_CONCAT_INNER_(a, b)

// Returns from the enclosing function when `expr` (a Status) is not OK.
#define WVA_RETURN_IF_ERROR(expr)                                                       \
  do {                                                                                  \
    ::wva::Status wva_status_ = (expr);                                                 \
    if (!wva_status_.ok()) return ::wva::internal::ErrorReturn{std::move(wva_status_)}; \
  } while (0)

// `WVA_ASSIGN_OR_RETURN(auto x, Foo());` — x is the value, or the error is returned.
#define WVA_ASSIGN_OR_RETURN(lhs, expr) \
  WVA_ASSIGN_OR_RETURN_IMPL_(WVA_CONCAT_(wva_statusor_, __LINE__), lhs, expr)
#define WVA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)                                   \
  auto tmp = (expr);                                                                 \
  if (!tmp.has_value()) return ::wva::internal::ErrorReturn{std::move(tmp).error()}; \
  lhs = std::move(tmp).value()
