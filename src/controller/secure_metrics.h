// The secure metrics endpoint (`--metrics-secure`, as upstream WVA serves it): HTTPS with the
// certificate from --metrics-cert-path (re-read when it changes) or, without one, a self-signed
// certificate generated in memory at start; every GET /metrics authenticated by TokenReview and
// authorized by SubjectAccessReview (verb get, non-resource URL /metrics) against the API server.
#pragma once

#include <memory>

#include "base/clock.h"
#include "base/status.h"
#include "controller/settings.h"
#include "http/server.h"
#include "kube/client.h"
#include "kube/delegated_auth.h"
#include "prom/metrics.h"

namespace wva::controller {

// Enables TLS on `server` and adds the gated /metrics route. `client`, `metrics` and the
// returned authorizer must outlive the server.
[[nodiscard]] StatusOr<std::unique_ptr<kube::DelegatedAuth>> ConfigureSecureMetrics(
    const Settings& settings, kube::Client& client, const Clock& clock,
    const prom::WvaMetrics& metrics, http::HttpServer& server);

}  // namespace wva::controller
