#include "controller/secure_metrics.h"

#include <unistd.h>

#include <string>
#include <vector>

#include "base/log.h"
#include "http/tls.h"
#include "prom/exposition.h"

namespace wva::controller {
namespace {

StatusOr<std::shared_ptr<http::TlsCredentials>> Credentials(const Settings& s) {
  log::Logger log("manager");
  if (!s.metrics_cert_path.empty()) {
    const std::string cert = s.metrics_cert_path + "/" + s.metrics_cert_name;
    const std::string key = s.metrics_cert_path + "/" + s.metrics_cert_key;
    auto c = http::TlsCredentials::FromFiles(cert, key);
    if (!c) {
      return Err(c.error().WithPrefix("--metrics-cert-path"));
    }
    log.Info("metrics endpoint certificate loaded", {{"cert", cert}, {"key", key}});
    return c;
  }
  // Names a scraper may dial: the pod's host name, loopback and the bind host.
  std::vector<std::string> hosts = {"localhost", "127.0.0.1", "::1"};
  char name[256] = {0};
  if (gethostname(name, sizeof(name) - 1) == 0 && name[0] != '\0') {
    hosts.insert(hosts.begin(), name);
  }
  if (!s.metrics_host.empty() && s.metrics_host != "0.0.0.0" && s.metrics_host != "::") {
    hosts.push_back(s.metrics_host);
  }
  auto pem = http::GenerateSelfSignedCert(hosts, std::chrono::hours(24 * 365));
  if (!pem) {
    return Err(pem.error().WithPrefix("self-signed metrics certificate"));
  }
  return http::TlsCredentials::FromPem(*pem);
}

}  // namespace

StatusOr<std::unique_ptr<kube::DelegatedAuth>> ConfigureSecureMetrics(
    const Settings& settings, kube::Client& client, const Clock& clock,
    const prom::WvaMetrics& metrics, http::HttpServer& server) {
  WVA_ASSIGN_OR_RETURN(std::shared_ptr<http::TlsCredentials> creds, Credentials(settings));
  server.EnableTls(std::move(creds));
  auto auth = std::make_unique<kube::DelegatedAuth>(client, clock);
  kube::DelegatedAuth* a = auth.get();
  prom::AddMetricsRoute(server, metrics, [a](const http::ServerRequest& req, std::string* message) {
    kube::AuthResult r = a->Check(req.Header("Authorization"), "get", req.path);
    *message = r.message;
    return r.http_status;
  });
  return auth;
}

}  // namespace wva::controller
