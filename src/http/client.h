// HTTP client transport: the interface every outbound HTTP caller in WVA-C++ (Kubernetes client,
// Prometheus client) talks to, so tests can inject a fake transport and faults.
//
// STABLE INTERFACE (shared by src/kube and src/prom): add new fields/methods, don't change these.
//
// Error mapping (transport-level only; an HTTP response of any status is *not* an error here,
// callers interpret status codes themselves):
//   connect/reset/TLS handshake failures -> kUnavailable (retry)
//   timeout                              -> kDeadlineExceeded
//   cancelled by the caller              -> kCancelled
//   bad options (unreadable cert file)   -> kInvalidArgument
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"

namespace wva::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method = "GET";
  std::string url;  // absolute: https://host:port/path?query
  Headers headers;
  std::string body;
  // Whole-exchange timeout (for streams: the maximum stream lifetime). 0 = none.
  std::chrono::milliseconds timeout{30000};

  // Conveniences (GCC warns on partial designated initializers under -Wextra).
  static Request Get(std::string url) {
    Request r;
    r.url = std::move(url);
    return r;
  }
  static Request With(std::string method, std::string url, std::string body) {
    Request r;
    r.method = std::move(method);
    r.url = std::move(url);
    r.body = std::move(body);
    return r;
  }
};

struct Response {
  int status = 0;
  Headers headers;   // names lower-cased, in arrival order
  std::string body;  // for Stream(): only filled when status is not 2xx
  // First header value with this (case-insensitive) name.
  std::optional<std::string> Header(std::string_view name) const;
};

// Set from any thread to stop an in-flight Stream(). Once the response has started, Cancel()
// also interrupts the blocked read at once (the transport registers an interrupt); before that
// the transport notices within ~1 s (curl's progress tick).
class CancelToken {
 public:
  void Cancel() {
    cancelled_.store(true);
    MutexLock lock(&mu_);
    if (interrupt_) {
      interrupt_();
    }
  }
  bool cancelled() const { return cancelled_.load(); }
  // For transports: `fn` runs inside Cancel() (under a lock, so clearing it with nullptr
  // guarantees it is not running and will not run). Runs at once if already cancelled.
  void SetInterrupt(std::function<void()> fn) const {
    MutexLock lock(&mu_);
    interrupt_ = std::move(fn);
    if (interrupt_ && cancelled_.load()) {
      interrupt_();
    }
  }

 private:
  std::atomic<bool> cancelled_{false};
  mutable Mutex mu_;
  mutable std::function<void()> interrupt_ GUARDED_BY(mu_);
};

// Receives each body chunk of a 2xx streamed response as it arrives. Return false to stop
// (Stream() then returns kCancelled).
using ChunkCallback = std::function<bool(std::string_view chunk)>;

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // One request, whole body buffered.
  [[nodiscard]] virtual StatusOr<Response> Do(const Request& request) = 0;
  // One request whose 2xx body is delivered chunk by chunk to `on_chunk` (watch streams).
  // Non-2xx bodies are buffered into Response::body instead. `cancel` may be null.
  // Returns when the server ends the body, on error, or on cancellation.
  [[nodiscard]] virtual StatusOr<Response> Stream(const Request& request,
                                                  const ChunkCallback& on_chunk,
                                                  const CancelToken* cancel) = 0;
};

// TLS settings. For CA, cert and key either a file path or the PEM bytes may be given (the
// kubeconfig `certificate-authority` / `certificate-authority-data` pairs).
struct TlsOptions {
  std::string ca_file;
  std::string ca_pem;
  std::string cert_file;
  std::string cert_pem;
  std::string key_file;
  std::string key_pem;
  // Verify the server certificate against this name (and send it as SNI) instead of the URL
  // host; the connection still goes to the URL host. (PROMETHEUS_SERVER_NAME, kubeconfig
  // tls-server-name.)
  std::string server_name;
  bool insecure_skip_verify = false;
};

struct ClientOptions {
  TlsOptions tls;
  // Called for every request; a non-empty result is sent as `Authorization: Bearer <token>`.
  // A function, so token files can be re-read (in-cluster tokens rotate). Never logged.
  std::function<std::string()> bearer_token;
  std::chrono::milliseconds connect_timeout{10000};
  std::string user_agent = "wva/0.1";
};

}  // namespace wva::http
