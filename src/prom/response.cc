#include "prom/response.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace wva::prom {
namespace {

using json = nlohmann::json;

tl::unexpected<QueryError> Bad(std::string message, int http_status) {
  return tl::unexpected<QueryError>(
      QueryError{ErrorKind::kBadResponse, std::move(message), http_status, ""});
}

// Prometheus sends timestamps as JSON numbers (float seconds).
bool ParseTimestamp(const json& j, double* out) {
  if (!j.is_number()) {
    return false;
  }
  *out = j.get<double>();
  return std::isfinite(*out);
}

// [<ts>, "<value>"]
bool ParsePointJson(const json& j, Point* out) {
  if (!j.is_array() || j.size() != 2) {
    return false;
  }
  if (!ParseTimestamp(j[0], &out->timestamp)) {
    return false;
  }
  if (!j[1].is_string()) {
    return false;
  }
  return ParseSampleValue(j[1].get_ref<const std::string&>(), out);
}

bool ParseLabels(const json& j, Labels* out) {
  if (j.is_null()) {
    return true;  // scalar-ish answers may omit "metric"
  }
  if (!j.is_object()) {
    return false;
  }
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) {
      return false;
    }
    (*out)[k] = v.get<std::string>();
  }
  return true;
}

QueryOutcome ParseData(const json& data, int http_status) {
  if (!data.is_object()) {
    return Bad("\"data\" is not an object", http_status);
  }
  auto rt = data.find("resultType");
  auto res = data.find("result");
  if (rt == data.end() || !rt->is_string()) {
    return Bad("missing \"data.resultType\"", http_status);
  }
  if (res == data.end()) {
    return Bad("missing \"data.result\"", http_status);
  }
  const std::string& type = rt->get_ref<const std::string&>();
  QueryResult out;
  if (type == "vector") {
    out.type = ResultType::kVector;
    if (res->is_null()) {
      return out;  // some proxies send null for an empty vector
    }
    if (!res->is_array()) {
      return Bad("vector result is not an array", http_status);
    }
    out.samples.reserve(res->size());
    for (const auto& el : *res) {
      if (!el.is_object()) {
        return Bad("vector element is not an object", http_status);
      }
      Sample s;
      auto m = el.find("metric");
      if (m != el.end() && !ParseLabels(*m, &s.labels)) {
        return Bad("vector element has invalid \"metric\" labels", http_status);
      }
      auto v = el.find("value");
      if (v == el.end()) {
        if (el.contains("histogram")) {
          return Bad("native histograms are not supported", http_status);
        }
        return Bad("vector element has no \"value\"", http_status);
      }
      if (!ParsePointJson(*v, &s.point)) {
        return Bad("vector element has an invalid \"value\"", http_status);
      }
      out.samples.push_back(std::move(s));
    }
  } else if (type == "matrix") {
    out.type = ResultType::kMatrix;
    if (res->is_null()) {
      return out;
    }
    if (!res->is_array()) {
      return Bad("matrix result is not an array", http_status);
    }
    out.series.reserve(res->size());
    for (const auto& el : *res) {
      if (!el.is_object()) {
        return Bad("matrix element is not an object", http_status);
      }
      Series s;
      auto m = el.find("metric");
      if (m != el.end() && !ParseLabels(*m, &s.labels)) {
        return Bad("matrix element has invalid \"metric\" labels", http_status);
      }
      auto vs = el.find("values");
      if (vs != el.end()) {
        if (!vs->is_array()) {
          return Bad("matrix \"values\" is not an array", http_status);
        }
        s.points.reserve(vs->size());
        for (const auto& p : *vs) {
          Point pt;
          if (!ParsePointJson(p, &pt)) {
            return Bad("matrix element has an invalid point", http_status);
          }
          s.points.push_back(pt);
        }
      } else if (!el.contains("histograms")) {
        return Bad("matrix element has no \"values\"", http_status);
      }
      out.series.push_back(std::move(s));
    }
  } else if (type == "scalar") {
    out.type = ResultType::kScalar;
    Sample s;
    if (!ParsePointJson(*res, &s.point)) {
      return Bad("invalid scalar result", http_status);
    }
    out.samples.push_back(std::move(s));
  } else if (type == "string") {
    out.type = ResultType::kString;
    if (!res->is_array() || res->size() != 2 || !(*res)[1].is_string()) {
      return Bad("invalid string result", http_status);
    }
    Sample s;
    if (!ParseTimestamp((*res)[0], &s.point.timestamp)) {
      return Bad("invalid string result", http_status);
    }
    s.point.value_class = ValueClass::kNaN;
    s.point.value = std::numeric_limits<double>::quiet_NaN();
    out.string_value = (*res)[1].get<std::string>();
    out.samples.push_back(std::move(s));
  } else {
    return Bad(fmt::format("unknown resultType \"{}\"", type), http_status);
  }
  return out;
}

QueryOutcome ParseImpl(std::string_view body, int http_status) {
  json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    if (http_status >= 500 || http_status == 429) {
      return tl::unexpected<QueryError>(
          QueryError{ErrorKind::kUnavailable,
                     fmt::format("Prometheus answered HTTP {}", http_status), http_status, ""});
    }
    if (http_status == 401 || http_status == 403) {
      return tl::unexpected<QueryError>(QueryError{
          ErrorKind::kUnauthorized,
          fmt::format("Prometheus refused the request: HTTP {}", http_status), http_status, ""});
    }
    return Bad(fmt::format("response is not a JSON object (HTTP {})", http_status), http_status);
  }
  auto st = doc.find("status");
  if (st == doc.end() || !st->is_string()) {
    return Bad("missing \"status\"", http_status);
  }
  const std::string& status = st->get_ref<const std::string&>();
  if (status == "error") {
    QueryError e{ErrorKind::kApiError, "", http_status, ""};
    if (auto et = doc.find("errorType"); et != doc.end() && et->is_string()) {
      e.error_type = et->get<std::string>();
    }
    std::string msg;
    if (auto em = doc.find("error"); em != doc.end() && em->is_string()) {
      msg = em->get<std::string>();
    }
    e.message = fmt::format("Prometheus query error ({}): {}",
                            e.error_type.empty() ? "unknown" : e.error_type,
                            msg.empty() ? "no message" : msg);
    return tl::unexpected<QueryError>(std::move(e));
  }
  if (status != "success") {
    return Bad(fmt::format("unknown status \"{}\"", status), http_status);
  }
  if (http_status >= 300) {
    return Bad(fmt::format("status success with HTTP {}", http_status), http_status);
  }
  auto data = doc.find("data");
  if (data == doc.end()) {
    return Bad("missing \"data\"", http_status);
  }
  auto out = ParseData(*data, http_status);
  if (!out) {
    return out;
  }
  if (auto w = doc.find("warnings"); w != doc.end() && w->is_array()) {
    for (const auto& x : *w) {
      if (x.is_string()) {
        out->warnings.push_back(x.get<std::string>());
      }
    }
  }
  return out;
}

}  // namespace

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kApiError:
      return "api_error";
    case ErrorKind::kBadResponse:
      return "bad_response";
    case ErrorKind::kUnavailable:
      return "unavailable";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kUnauthorized:
      return "unauthorized";
    case ErrorKind::kTls:
      return "tls";
    case ErrorKind::kConfig:
      return "config";
  }
  return "unknown";
}

Status QueryError::ToStatus() const {
  switch (kind) {
    case ErrorKind::kUnavailable:
      return UnavailableError(ToString());
    case ErrorKind::kTimeout:
      return DeadlineExceededError(ToString());
    case ErrorKind::kUnauthorized:
      return PermissionDeniedError(ToString());
    case ErrorKind::kConfig:
      return InvalidArgumentError(ToString());
    case ErrorKind::kTls:
      return FailedPreconditionError(ToString());
    case ErrorKind::kApiError:
      return FailedPreconditionError(ToString());
    case ErrorKind::kBadResponse:
      return DataLossError(ToString());
  }
  return InternalError(ToString());
}

std::string QueryError::ToString() const {
  return fmt::format("prometheus {}: {}", ErrorKindName(kind), message);
}

std::string_view ResultTypeName(ResultType type) {
  switch (type) {
    case ResultType::kVector:
      return "vector";
    case ResultType::kScalar:
      return "scalar";
    case ResultType::kMatrix:
      return "matrix";
    case ResultType::kString:
      return "string";
  }
  return "unknown";
}

std::string_view ValueClassName(ValueClass c) {
  switch (c) {
    case ValueClass::kFinite:
      return "finite";
    case ValueClass::kNaN:
      return "nan";
    case ValueClass::kPosInf:
      return "+inf";
    case ValueClass::kNegInf:
      return "-inf";
  }
  return "unknown";
}

bool QueryResult::empty() const {
  switch (type) {
    case ResultType::kVector:
      return samples.empty();
    case ResultType::kMatrix:
      return series.empty();
    default:
      return false;
  }
}

bool ParseSampleValue(std::string_view text, Point* out) {
  if (text == "NaN") {
    out->value = std::numeric_limits<double>::quiet_NaN();
    out->value_class = ValueClass::kNaN;
    return true;
  }
  if (text == "+Inf" || text == "Inf") {
    out->value = std::numeric_limits<double>::infinity();
    out->value_class = ValueClass::kPosInf;
    return true;
  }
  if (text == "-Inf") {
    out->value = -std::numeric_limits<double>::infinity();
    out->value_class = ValueClass::kNegInf;
    return true;
  }
  std::string_view t = text;
  if (!t.empty() && t.front() == '+') {
    t.remove_prefix(1);
  }
  if (t.empty()) {
    return false;
  }
  // from_chars accepts "nan"/"inf" spellings; Prometheus never sends them, so reject them here.
  char c0 = t.front() == '-' && t.size() > 1 ? t[1] : t.front();
  if (!(c0 >= '0' && c0 <= '9') && c0 != '.') {
    return false;
  }
  double v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v, std::chars_format::general);
  if (ec == std::errc::result_out_of_range && ptr == t.data() + t.size()) {
    // from_chars leaves v untouched on overflow/underflow; strtod gives ±HUGE_VAL or 0.
    v = std::strtod(std::string(t).c_str(), nullptr);
    ec = std::errc();
  }
  if (ec != std::errc() || ptr != t.data() + t.size()) {
    return false;
  }
  out->value = v;
  out->value_class = std::isnan(v)   ? ValueClass::kNaN
                     : std::isinf(v) ? (v > 0 ? ValueClass::kPosInf : ValueClass::kNegInf)
                                     : ValueClass::kFinite;
  return true;
}

QueryOutcome ParseQueryResponse(std::string_view body, int http_status) {
  try {
    return ParseImpl(body, http_status);
  } catch (const std::exception& e) {
    // nlohmann may still throw on pathological input (e.g. type errors we did not foresee);
    // network data must never crash the controller.
    return Bad(fmt::format("invalid response: {}", e.what()), http_status);
  }
}

}  // namespace wva::prom
