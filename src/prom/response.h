// Prometheus HTTP API answers (/api/v1/query): the parser and the outcome vocabulary.
//
// A query either fails with a QueryError whose kind says why (the API answered status:error, the
// body is not a Prometheus answer, the server is unreachable, timed out, refused our credentials,
// TLS failed, or our own configuration is wrong) or succeeds with a QueryResult. A successful
// result may be empty, and each sample value is classified (finite, NaN, +Inf, -Inf) so that
// callers can drop unusable data by name instead of by accident. Network data is never trusted: the
// parser returns errors, never asserts or throws.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "base/status.h"

namespace wva::prom {

enum class ErrorKind {
  kApiError,      // Prometheus answered {"status":"error"} (bad_data, execution, timeout, ...)
  kBadResponse,   // the body is not a valid Prometheus API answer
  kUnavailable,   // connection refused/reset, DNS failure, HTTP 5xx without an API error body
  kTimeout,       // the per-query deadline passed
  kUnauthorized,  // HTTP 401/403
  kTls,           // certificate verification or handshake failure
  kConfig,        // our own settings are unusable (bad URL, unreadable CA/token file, ...)
};

// Stable snake_case name, used in logs and as the `reason` label of query error metrics.
std::string_view ErrorKindName(ErrorKind kind);

struct QueryError {
  ErrorKind kind = ErrorKind::kBadResponse;
  std::string message;     // human readable, never contains credentials
  int http_status = 0;     // 0 when no HTTP answer was received
  std::string error_type;  // Prometheus errorType for kApiError ("bad_data", "execution", ...)

  // Maps to the project's Status codes: unavailable/timeout are retryable.
  Status ToStatus() const;
  std::string ToString() const;
};

enum class ResultType { kVector, kScalar, kMatrix, kString };
std::string_view ResultTypeName(ResultType type);

enum class ValueClass { kFinite, kNaN, kPosInf, kNegInf };
std::string_view ValueClassName(ValueClass c);

using Labels = std::map<std::string, std::string>;

struct Point {
  double timestamp = 0;  // unix seconds
  double value = 0;
  ValueClass value_class = ValueClass::kFinite;
};

// One element of an instant vector (or the scalar/string answer, with no labels).
struct Sample {
  Labels labels;
  Point point;
};

// One element of a range vector (matrix).
struct Series {
  Labels labels;
  std::vector<Point> points;
};

struct QueryResult {
  ResultType type = ResultType::kVector;
  std::vector<Sample> samples;  // kVector; kScalar and kString give exactly one sample
  std::vector<Series> series;   // kMatrix
  std::string string_value;     // kString
  std::vector<std::string> warnings;

  // True when the answer holds no data: an empty vector or matrix. A scalar is never empty.
  bool empty() const;
};

using QueryOutcome = tl::expected<QueryResult, QueryError>;

// Parses a Prometheus API body. `http_status` is the HTTP status it came with (0 if unknown);
// an API error body maps to kApiError whatever the status, a non-JSON 5xx to kUnavailable.
QueryOutcome ParseQueryResponse(std::string_view body, int http_status = 200);

// Parses a Prometheus sample value string: decimal/exponent numbers, "NaN", "+Inf", "-Inf"
// (and "Inf"). Returns false for anything else.
bool ParseSampleValue(std::string_view text, Point* out);

}  // namespace wva::prom
