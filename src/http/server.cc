#include "http/server.h"

#include <httplib.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "http/tls.h"

namespace wva::http {
namespace {
bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}
}  // namespace

std::string ServerRequest::Query(const std::string& key) const {
  auto it = query.find(key);
  return it == query.end() ? std::string() : it->second;
}

std::optional<std::string> ServerRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) {
      return v;
    }
  }
  return std::nullopt;
}

HttpServer::HttpServer() : server_(std::make_unique<httplib::Server>()) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::EnableTls(std::shared_ptr<TlsCredentials> credentials) {
  tls_ = std::move(credentials);
  std::shared_ptr<TlsCredentials> creds = tls_;
  server_ = std::make_unique<httplib::SSLServer>([creds](SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    // The certificate is chosen per handshake, so a rotated one is served without a restart.
    SSL_CTX_set_cert_cb(
        &ctx,
        [](SSL* ssl, void* arg) -> int {
          return static_cast<TlsCredentials*>(arg)->Apply(ssl) ? 1 : 0;
        },
        creds.get());
    return true;
  });
}

void HttpServer::Route(std::string method, std::string path, Handler handler) {
  routes_.push_back({std::move(method), std::move(path), std::move(handler)});
}

void HttpServer::Dispatch(const void* req_ptr, void* res_ptr) {
  const auto& req = *static_cast<const httplib::Request*>(req_ptr);
  auto& res = *static_cast<httplib::Response*>(res_ptr);
  const RouteEntry* match = nullptr;
  for (const auto& r : routes_) {
    if (r.method != "*" && r.method != req.method) {
      continue;
    }
    bool ok = (!r.path.empty() && r.path.back() == '*')
                  ? req.path.rfind(r.path.substr(0, r.path.size() - 1), 0) == 0
                  : req.path == r.path;
    if (ok) {
      match = &r;
      break;
    }
  }
  if (match == nullptr) {
    res.status = 404;
    res.set_content("404 page not found\n", "text/plain");
    return;
  }
  ServerRequest sreq;
  sreq.method = req.method;
  sreq.path = req.path;
  for (const auto& [k, v] : req.params) {
    sreq.query.emplace(k, v);
  }
  for (const auto& [k, v] : req.headers) {
    sreq.headers.emplace_back(k, v);
  }
  sreq.body = req.body;
  sreq.remote_addr = req.remote_addr;
  ServerResponse sres;
  match->handler(sreq, sres);
  res.status = sres.status;
  for (const auto& [k, v] : sres.headers) {
    res.set_header(k, v);
  }
  if (sres.stream) {
    auto fn = std::make_shared<std::function<bool(const ChunkWriter&)>>(std::move(sres.stream));
    res.set_chunked_content_provider(
        sres.content_type, [fn](size_t /*offset*/, httplib::DataSink& sink) {
          ChunkWriter write = [&sink](std::string_view chunk) {
            if (!sink.is_writable()) {
              return false;
            }
            return sink.write(chunk.data(), chunk.size());
          };
          if ((*fn)(write)) {
            sink.done();
            return true;
          }
          return false;  // abort: httplib closes the connection without the final chunk
        });
  } else {
    res.set_content(sres.body, sres.content_type);
  }
}

StatusOr<int> HttpServer::Start(const std::string& host, int port) {
  if (thread_.joinable()) {
    return Err(FailedPreconditionError("server already started"));
  }
  server_->set_keep_alive_max_count(100);
  // Stop() waits for idle keep-alive connections to time out; keep that short.
  server_->set_keep_alive_timeout(1);
  server_->set_read_timeout(std::chrono::seconds(30));
  server_->set_write_timeout(std::chrono::seconds(30));
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    Dispatch(&req, &res);
  };
  server_->Get(".*", handler);
  server_->Post(".*", handler);
  server_->Put(".*", handler);
  server_->Patch(".*", handler);
  server_->Delete(".*", handler);
  server_->Options(".*", handler);
  if (!server_->is_valid()) {
    return Err(InternalError("TLS context could not be created"));
  }
  int bound =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (bound < 0) {
    return Err(UnavailableError("cannot bind " + host + ":" + std::to_string(port)));
  }
  port_ = bound;
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // listen_after_bind flips is_running shortly after start; wait so Stop() right after Start()
  // does not race it.
  for (int i = 0; i < 2000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return port_;
}

void HttpServer::Stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace wva::http
