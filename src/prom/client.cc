#include "prom/client.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "base/log.h"
#include "http/curl_client.h"

namespace wva::prom {
namespace {

const log::Logger& Log() {
  static const auto* l = new log::Logger("prometheus");
  return *l;
}

tl::unexpected<QueryError> Fail(ErrorKind kind, std::string message) {
  return tl::unexpected<QueryError>(QueryError{kind, std::move(message), 0, ""});
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool LooksLikeTls(std::string_view m) {
  for (std::string_view needle : {"SSL", "certificate", "TLS", "tls", "handshake"}) {
    if (m.find(needle) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

std::string TrimSpace(std::string s) {
  auto b = s.find_first_not_of(" \t\r\n");
  auto e = s.find_last_not_of(" \t\r\n");
  if (b == std::string::npos) {
    return "";
  }
  return s.substr(b, e - b + 1);
}

}  // namespace

Status ValidateConfig(const ClientConfig& c) {
  if (c.base_url.empty()) {
    return InvalidArgumentError("PROMETHEUS_BASE_URL is required");
  }
  bool https = StartsWith(c.base_url, "https://");
  bool http = StartsWith(c.base_url, "http://");
  if (!https && !http) {
    return InvalidArgumentError(
        fmt::format("PROMETHEUS_BASE_URL \"{}\" must start with https:// (or http:// with "
                    "PROMETHEUS_ALLOW_HTTP=true)",
                    c.base_url));
  }
  std::string_view rest = std::string_view(c.base_url).substr(https ? 8 : 7);
  if (rest.empty() || rest.front() == '/' || rest.front() == ':') {
    return InvalidArgumentError(fmt::format("PROMETHEUS_BASE_URL \"{}\" has no host", c.base_url));
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return InvalidArgumentError("PROMETHEUS_BASE_URL must not contain a query or fragment");
  }
  if (http) {
    if (!c.allow_http) {
      return InvalidArgumentError(
          "HTTPS is required: PROMETHEUS_BASE_URL uses http:// (set PROMETHEUS_ALLOW_HTTP=true to "
          "allow plain HTTP)");
    }
    if (!c.ca_cert_path.empty() || !c.client_cert_path.empty() || !c.client_key_path.empty() ||
        !c.server_name.empty() || c.insecure_skip_verify) {
      return InvalidArgumentError(
          "TLS-related settings are not supported with a plain HTTP Prometheus URL");
    }
  }
  if (c.client_cert_path.empty() != c.client_key_path.empty()) {
    return InvalidArgumentError(
        "PROMETHEUS_CLIENT_CERT_PATH and PROMETHEUS_CLIENT_KEY_PATH must be set together");
  }
  if (c.timeout.count() <= 0) {
    return InvalidArgumentError("the Prometheus query timeout must be > 0");
  }
  return OkStatus();
}

StatusOr<std::unique_ptr<Client>> Client::Create(const ClientConfig& config) {
  WVA_RETURN_IF_ERROR(ValidateConfig(config));
  http::ClientOptions opts;
  opts.tls.ca_file = config.ca_cert_path;
  opts.tls.cert_file = config.client_cert_path;
  opts.tls.key_file = config.client_key_path;
  opts.tls.server_name = config.server_name;
  opts.tls.insecure_skip_verify = config.insecure_skip_verify;
  opts.connect_timeout = std::min(config.timeout, std::chrono::milliseconds(10000));
  if (config.insecure_skip_verify) {
    Log().Warn(
        "PROMETHEUS_TLS_INSECURE_SKIP_VERIFY is true: the Prometheus server certificate "
        "is NOT verified; anyone on the network path can impersonate Prometheus",
        {{"url", config.base_url}});
  }
  auto transport = http::CurlHttpClient::Create(std::move(opts));
  if (!transport) {
    return Err(transport.error().WithPrefix("Prometheus client"));
  }
  return std::make_unique<Client>(config, std::shared_ptr<http::HttpClient>(std::move(*transport)));
}

Client::Client(ClientConfig config, std::shared_ptr<http::HttpClient> transport)
    : config_(std::move(config)), transport_(std::move(transport)) {
  std::string base = config_.base_url;
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  query_url_ = base + "/api/v1/query";
  https_ = StartsWith(base, "https://");
}

tl::expected<std::string, QueryError> Client::Token() const {
  if (!https_) {
    return std::string();  // never send credentials in clear text
  }
  if (!config_.bearer_token.empty()) {
    return config_.bearer_token;
  }
  if (config_.token_path.empty()) {
    return std::string();
  }
  std::ifstream in(config_.token_path, std::ios::binary);
  if (!in) {
    return Fail(ErrorKind::kConfig,
                fmt::format("cannot read PROMETHEUS_TOKEN_PATH {}", config_.token_path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = TrimSpace(ss.str());
  if (token.empty()) {
    return Fail(ErrorKind::kConfig,
                fmt::format("PROMETHEUS_TOKEN_PATH {} is empty", config_.token_path));
  }
  return token;
}

QueryOutcome Client::Query(std::string_view promql) {
  auto token = Token();
  if (!token) {
    return tl::unexpected<QueryError>(token.error());
  }
  http::Request req;
  req.method = "POST";
  req.url = query_url_;
  req.timeout = config_.timeout;
  req.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
  req.headers.push_back({"Accept", "application/json"});
  if (!token->empty()) {
    req.headers.push_back({"Authorization", "Bearer " + *token});
  }
  double timeout_s = std::chrono::duration<double>(config_.timeout).count();
  req.body = fmt::format("query={}&timeout={}s", http::UrlEncode(promql), timeout_s);

  auto resp = transport_->Do(req);
  if (!resp) {
    const Status& s = resp.error();
    switch (s.code()) {
      case StatusCode::kDeadlineExceeded:
        return Fail(ErrorKind::kTimeout,
                    fmt::format("no answer from Prometheus at {} within {}ms: {}", config_.base_url,
                                config_.timeout.count(), s.message()));
      case StatusCode::kInvalidArgument:
        return Fail(ErrorKind::kConfig, s.message());
      default:
        if (https_ && LooksLikeTls(s.message())) {
          return Fail(
              ErrorKind::kTls,
              fmt::format("TLS with Prometheus at {} failed: {} (check PROMETHEUS_CA_CERT_PATH, "
                          "PROMETHEUS_SERVER_NAME and the client certificate)",
                          config_.base_url, s.message()));
        }
        return Fail(ErrorKind::kUnavailable, fmt::format("Prometheus at {} is unavailable: {}",
                                                         config_.base_url, s.message()));
    }
  }
  return ParseQueryResponse(resp->body, resp->status);
}

}  // namespace wva::prom
