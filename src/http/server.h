// HttpServer: a small embedded HTTP/1.1 server on cpp-httplib (the only cpp-httplib user in the
// project), for /metrics and health probes, and for fake servers in tests (it can stream
// chunked bodies and drop a connection mid-body on purpose).
//
// STABLE INTERFACE (shared by src/kube tests, src/prom, src/controller): add, don't change.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "base/status.h"
#include "http/client.h"

namespace httplib {
class Server;
}

namespace wva::http {

class TlsCredentials;

struct ServerRequest {
  std::string method;
  std::string path;  // without query
  std::multimap<std::string, std::string> query;
  Headers headers;  // names as sent
  std::string body;
  std::string remote_addr;                          // the peer's IP address
  std::string Query(const std::string& key) const;  // first value or ""
  std::optional<std::string> Header(std::string_view name) const;
};

// Writes one chunk of a streamed body; returns false when the client has gone away.
using ChunkWriter = std::function<bool(std::string_view chunk)>;

struct ServerResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  Headers headers;
  std::string body;
  // If set, the body is streamed (chunked transfer encoding) instead of `body`: the function is
  // called once on the connection's thread and writes chunks. Return true to end the body
  // cleanly, false to drop the connection abruptly (for fault injection).
  std::function<bool(const ChunkWriter& write)> stream;
};

using Handler = std::function<void(const ServerRequest&, ServerResponse&)>;

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();  // Stops the server.
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Registers a handler for method ("GET", "POST", ...; "*" = any) and path. A path ending in
  // "*" matches that prefix; otherwise the match is exact. Register before Start().
  void Route(std::string method, std::string path, Handler handler);

  // Serves HTTPS (TLS 1.2 or later, HTTP/1.1) with these credentials instead of plain HTTP; a
  // plain-HTTP request to the port fails its handshake and is closed. Call before Start().
  void EnableTls(std::shared_ptr<TlsCredentials> credentials);
  bool tls() const { return tls_ != nullptr; }

  // Binds host:port (port 0 = ephemeral) and serves on a background thread. Returns the port.
  [[nodiscard]] StatusOr<int> Start(const std::string& host = "127.0.0.1", int port = 0);
  // Stops accepting, closes the listening socket and joins the thread. Idempotent.
  void Stop();
  int port() const { return port_; }

 private:
  struct RouteEntry {
    std::string method, path;
    Handler handler;
  };
  void Dispatch(const void* req, void* res);

  std::unique_ptr<httplib::Server> server_;
  std::shared_ptr<TlsCredentials> tls_;
  std::vector<RouteEntry> routes_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace wva::http
