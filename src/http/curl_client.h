// CurlHttpClient: the production HttpClient, on libcurl (the only libcurl user in the project).
// Thread-safe: concurrent Do()/Stream() calls each take an easy handle from a small pool, so
// keep-alive connections are reused across calls.
#pragma once

#include <memory>
#include <vector>

#include "base/mutex.h"
#include "http/client.h"

namespace wva::http {

class CurlHttpClient final : public HttpClient {
 public:
  // Validates options (readable files) and returns a client, or kInvalidArgument.
  [[nodiscard]] static StatusOr<std::unique_ptr<CurlHttpClient>> Create(ClientOptions options);
  ~CurlHttpClient() override;

  StatusOr<Response> Do(const Request& request) override;
  StatusOr<Response> Stream(const Request& request, const ChunkCallback& on_chunk,
                            const CancelToken* cancel) override;

 private:
  explicit CurlHttpClient(ClientOptions options);
  StatusOr<Response> Perform(const Request& request, const ChunkCallback* on_chunk,
                             const CancelToken* cancel);
  void* Acquire();
  void Release(void* handle);

  ClientOptions options_;
  Mutex mu_;
  std::vector<void*> pool_;  // CURL* handles, GUARDED_BY(mu_)
};

// Percent-encodes a query parameter value or path segment (RFC 3986 unreserved kept).
std::string UrlEncode(std::string_view s);

}  // namespace wva::http
