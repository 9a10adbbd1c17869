// Prometheus query client: instant queries (POST /api/v1/query) over HTTPS with a CA bundle,
// optional client certificate (mTLS), SNI/verification name, and a bearer token given directly or
// read from a file on every request (rotated service-account tokens). HTTPS is required unless
// allow_http is set (PROMETHEUS_ALLOW_HTTP); with http, TLS settings are rejected and the bearer
// token is never sent. Every query has its own timeout, also passed to Prometheus as `timeout`.
//
// Outcomes are QueryOutcome (see response.h): transport failures become kUnavailable, kTimeout,
// kTls (certificate/handshake problems, with a hint naming the setting to check) or kConfig.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "http/client.h"
#include "prom/querier.h"

namespace wva::prom {

struct ClientConfig {
  std::string
      base_url;  // PROMETHEUS_BASE_URL, e.g. https://prometheus:9090 (a path prefix is kept)
  std::string ca_cert_path;           // PROMETHEUS_CA_CERT_PATH
  std::string client_cert_path;       // PROMETHEUS_CLIENT_CERT_PATH
  std::string client_key_path;        // PROMETHEUS_CLIENT_KEY_PATH
  std::string server_name;            // PROMETHEUS_SERVER_NAME (SNI and certificate name)
  std::string bearer_token;           // PROMETHEUS_BEARER_TOKEN; takes precedence over token_path
  std::string token_path;             // PROMETHEUS_TOKEN_PATH, re-read on every query
  bool insecure_skip_verify = false;  // PROMETHEUS_TLS_INSECURE_SKIP_VERIFY
  bool allow_http = false;            // PROMETHEUS_ALLOW_HTTP
  std::chrono::milliseconds timeout{10000};
};

// Checks the settings without touching the network: URL scheme and host, https unless
// allow_http, no TLS settings with http, client cert and key given together, positive timeout.
Status ValidateConfig(const ClientConfig& config);

class Client final : public Querier {
 public:
  // Validates `config` and builds the production (libcurl) transport.
  [[nodiscard]] static StatusOr<std::unique_ptr<Client>> Create(const ClientConfig& config);
  // With an injected transport (tests). `config` must be valid.
  Client(ClientConfig config, std::shared_ptr<http::HttpClient> transport);

  QueryOutcome Query(std::string_view promql) override;

  const ClientConfig& config() const { return config_; }

 private:
  // The bearer token to send, "" for none; a kConfig error if the token file is unreadable.
  tl::expected<std::string, QueryError> Token() const;

  ClientConfig config_;
  std::string query_url_;
  bool https_ = false;
  std::shared_ptr<http::HttpClient> transport_;
};

}  // namespace wva::prom
