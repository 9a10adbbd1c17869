#include "prom/exposition.h"

#include <charconv>

namespace wva::prom {

void AddMetricsRoute(http::HttpServer& server, const WvaMetrics& metrics) {
  server.Route("GET", "/metrics",
               [&metrics](const http::ServerRequest&, http::ServerResponse& res) {
                 res.status = 200;
                 res.content_type = "text/plain; version=0.0.4; charset=utf-8";
                 res.body = metrics.Serialize();
               });
}

void AddMetricsRoute(http::HttpServer& server, const WvaMetrics& metrics, MetricsGate gate) {
  server.Route("GET", "/metrics",
               [&metrics, gate = std::move(gate)](const http::ServerRequest& req,
                                                  http::ServerResponse& res) {
                 std::string message;
                 const int status = gate ? gate(req, &message) : 200;
                 if (status != 200) {
                   res.status = status;
                   res.content_type = "text/plain; charset=utf-8";
                   res.body = message + "\n";
                   if (status == 401) {
                     res.headers.emplace_back("WWW-Authenticate", "Bearer");
                   }
                   return;
                 }
                 res.status = 200;
                 res.content_type = "text/plain; version=0.0.4; charset=utf-8";
                 res.body = metrics.Serialize();
               });
}

void AddProbeRoutes(http::HttpServer& server, Probe healthz, Probe readyz) {
  auto route = [](Probe probe) {
    return [probe = std::move(probe)](const http::ServerRequest&, http::ServerResponse& res) {
      Status s = probe ? probe() : OkStatus();
      res.content_type = "text/plain; charset=utf-8";
      res.status = s.ok() ? 200 : 503;
      res.body = s.ok() ? "ok\n" : s.message() + "\n";
    };
  };
  server.Route("GET", "/healthz", route(std::move(healthz)));
  server.Route("GET", "/readyz", route(std::move(readyz)));
}

StatusOr<BindAddress> ParseBindAddress(std::string_view text) {
  BindAddress out;
  if (text == "0") {
    out.disabled = true;
    return out;
  }
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return Err(InvalidArgumentError("bind address \"" + std::string(text) +
                                    "\" must be host:port, :port or 0"));
  }
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int p = -1;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || p < 0 || p > 65535) {
    return Err(
        InvalidArgumentError("bind address \"" + std::string(text) + "\" has an invalid port"));
  }
  out.host = host.empty() ? "0.0.0.0" : std::string(host);
  out.port = p;
  return out;
}

}  // namespace wva::prom
