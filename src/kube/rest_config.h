// RestConfig: where the API server is and how to authenticate to it, loaded from a kubeconfig
// (current context or a named one; CA / client cert / key as files or inline -data; bearer
// token or token file; tls-server-name; insecure-skip-tls-verify) or from the in-cluster
// environment (KUBERNETES_SERVICE_HOST/PORT + service-account files). File tokens are re-read
// every minute (bound service-account tokens rotate), judged by the injected Clock.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "base/clock.h"
#include "base/mutex.h"
#include "base/status.h"
#include "http/client.h"

namespace wva::kube {

// Returns a bearer token from a literal or a file; a file is re-read at most once per
// `reload_every` (never more often), so rotation is picked up without a file watch.
class TokenSource {
 public:
  TokenSource(std::string literal, std::string file, const Clock* clock,
              std::chrono::seconds reload_every = std::chrono::seconds(60));
  // The current token ("" when none). On a read error the last good token is kept.
  std::string Token();
  int reads() const { return reads_; }

 private:
  std::string literal_, file_;
  const Clock* clock_;
  std::chrono::seconds reload_every_;
  Mutex mu_;
  std::string cached_ GUARDED_BY(mu_);
  Clock::SteadyTime read_at_ GUARDED_BY(mu_) = {};
  bool have_ GUARDED_BY(mu_) = false;
  int reads_ = 0;
};

struct RestConfig {
  std::string server;  // https://host:port, no trailing slash
  http::TlsOptions tls;
  std::string bearer_token;
  std::string bearer_token_file;
  std::string namespace_;  // kubeconfig context namespace / in-cluster namespace ("" if none)
  std::string user_agent = "wva/0.1";

  // A transport options struct for http::CurlHttpClient (token callback bound to `tokens`).
  http::ClientOptions ToClientOptions(std::shared_ptr<TokenSource> tokens) const;
};

// Loads a kubeconfig file. `context` empty = current-context. Relative file paths are resolved
// against the kubeconfig's directory, as kubectl does.
[[nodiscard]] StatusOr<RestConfig> LoadKubeconfig(const std::string& path,
                                                  const std::string& context = "");
// Parses kubeconfig text (YAML). `base_dir` resolves relative paths.
[[nodiscard]] StatusOr<RestConfig> ParseKubeconfig(const std::string& yaml,
                                                   const std::string& base_dir,
                                                   const std::string& context = "");

// In-cluster: KUBERNETES_SERVICE_HOST/PORT and <sa_dir>/{token,ca.crt,namespace}.
[[nodiscard]] StatusOr<RestConfig> InClusterConfig(
    const std::string& sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount");

// The controller's rule: explicit --kubeconfig, else in-cluster, else $KUBECONFIG, else
// ~/.kube/config.
[[nodiscard]] StatusOr<RestConfig> LoadDefaultConfig(const std::string& kubeconfig_flag);

}  // namespace wva::kube
