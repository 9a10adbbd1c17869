// Exposition: serves WVA's metrics (/metrics) and the health probes (/healthz, /readyz) on the
// project's embedded HTTP server. The controller may put both on one server or split them over
// --metrics-bind-address and --health-probe-bind-address.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "http/server.h"
#include "prom/metrics.h"

namespace wva::prom {

// A probe returns OK when healthy/ready, else a Status whose message is shown in the 503 body.
using Probe = std::function<Status()>;

// GET /metrics -> text format 0.0.4 from `metrics` (must outlive the server).
void AddMetricsRoute(http::HttpServer& server, const WvaMetrics& metrics);

// Decides whether a request may read the metrics: returns 200, or the HTTP status to answer
// with (401, 403, 503) and sets `*message` (the response body; must not contain secrets).
using MetricsGate = std::function<int(const http::ServerRequest& req, std::string* message)>;
// The same route behind `gate` (the secure metrics endpoint: TokenReview/SubjectAccessReview).
void AddMetricsRoute(http::HttpServer& server, const WvaMetrics& metrics, MetricsGate gate);
// GET /healthz and /readyz -> 200 "ok" or 503 "<reason>". A null probe always passes.
void AddProbeRoutes(http::HttpServer& server, Probe healthz, Probe readyz);

struct BindAddress {
  std::string host;  // "" was given as ":8080" -> "0.0.0.0"
  int port = 0;
  bool disabled = false;  // "0" (controller-runtime convention: serving off)
};
// Parses ":8080", "127.0.0.1:8080", "[::1]:8080", "0".
StatusOr<BindAddress> ParseBindAddress(std::string_view text);

}  // namespace wva::prom
