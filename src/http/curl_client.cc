#include "http/curl_client.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <mutex>

namespace wva::http {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool Readable(const std::string& path) {
  std::ifstream f(path);
  return f.good();
}

struct Transfer {
  Response response;
  const ChunkCallback* on_chunk = nullptr;
  const CancelToken* cancel = nullptr;
  CURL* curl = nullptr;
  bool stopped_by_callback = false;
  bool interrupt_set = false;
  size_t max_error_body = 1 << 20;
};

size_t HeaderCb(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->cancel != nullptr && !t->interrupt_set) {
    // The connection is up: let Cancel() shut the socket down so a blocked read returns now.
    curl_socket_t fd = CURL_SOCKET_BAD;
    if (curl_easy_getinfo(t->curl, CURLINFO_ACTIVESOCKET, &fd) == CURLE_OK &&
        fd != CURL_SOCKET_BAD) {
      t->cancel->SetInterrupt([fd] { ::shutdown(fd, SHUT_RDWR); });
      t->interrupt_set = true;
    }
  }
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers.clear();  // a new header block (after 100-continue or a redirect)
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    return size * n;
  }
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
    value.remove_prefix(1);
  }
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  t->response.headers.emplace_back(Lower(line.substr(0, colon)), std::string(value));
  return size * n;
}

size_t WriteCb(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  if (t->cancel != nullptr && t->cancel->cancelled()) {
    return 0;
  }
  if (t->on_chunk != nullptr) {
    long code = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200 && code < 300) {
      if (!(*t->on_chunk)(std::string_view(data, len))) {
        t->stopped_by_callback = true;
        return 0;
      }
      return len;
    }
    // Non-2xx stream: buffer the (error) body, bounded.
    if (t->response.body.size() + len > t->max_error_body) {
      return len;
    }
  }
  t->response.body.append(data, len);
  return len;
}

int ProgressCb(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return (t->cancel != nullptr && t->cancel->cancelled()) ? 1 : 0;
}

// Splits "https://host:port/rest" into host and port (default by scheme).
bool SplitHostPort(const std::string& url, std::string* scheme, std::string* host, int* port,
                   size_t* host_begin, size_t* host_end) {
  auto sep = url.find("://");
  if (sep == std::string::npos) {
    return false;
  }
  *scheme = Lower(url.substr(0, sep));
  size_t b = sep + 3;
  size_t e = url.find_first_of("/?#", b);
  if (e == std::string::npos) {
    e = url.size();
  }
  std::string hp = url.substr(b, e - b);
  *host_begin = b;
  *host_end = e;
  *port = *scheme == "https" ? 443 : 80;
  if (!hp.empty() && hp[0] == '[') {  // IPv6 literal
    auto rb = hp.find(']');
    if (rb == std::string::npos) {
      return false;
    }
    *host = hp.substr(0, rb + 1);
    if (rb + 1 < hp.size() && hp[rb + 1] == ':') {
      *port = std::atoi(hp.c_str() + rb + 2);
    }
    return true;
  }
  auto colon = hp.rfind(':');
  if (colon != std::string::npos) {
    *host = hp.substr(0, colon);
    *port = std::atoi(hp.c_str() + colon + 1);
  } else {
    *host = hp;
  }
  return true;
}

}  // namespace

std::optional<std::string> Response::Header(std::string_view name) const {
  std::string n = Lower(name);
  for (const auto& [k, v] : headers) {
    if (Lower(k) == n) {
      return v;
    }
  }
  return std::nullopt;
}

std::string UrlEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

StatusOr<std::unique_ptr<CurlHttpClient>> CurlHttpClient::Create(ClientOptions options) {
  GlobalInit();
  const TlsOptions& t = options.tls;
  for (const std::string* f : {&t.ca_file, &t.cert_file, &t.key_file}) {
    if (!f->empty() && !Readable(*f)) {
      return Err(InvalidArgumentError("cannot read TLS file " + *f));
    }
  }
  if ((t.cert_file.empty() && t.cert_pem.empty()) != (t.key_file.empty() && t.key_pem.empty())) {
    return Err(InvalidArgumentError("client certificate and key must be given together"));
  }
  return std::unique_ptr<CurlHttpClient>(new CurlHttpClient(std::move(options)));
}

CurlHttpClient::CurlHttpClient(ClientOptions options) : options_(std::move(options)) {}

CurlHttpClient::~CurlHttpClient() {
  for (void* h : pool_) {
    curl_easy_cleanup(static_cast<CURL*>(h));
  }
}

void* CurlHttpClient::Acquire() {
  {
    MutexLock lock(&mu_);
    if (!pool_.empty()) {
      void* h = pool_.back();
      pool_.pop_back();
      curl_easy_reset(static_cast<CURL*>(h));
      return h;
    }
  }
  return curl_easy_init();
}

void CurlHttpClient::Release(void* handle) {
  MutexLock lock(&mu_);
  if (pool_.size() < 8) {
    pool_.push_back(handle);
  } else {
    curl_easy_cleanup(static_cast<CURL*>(handle));
  }
}

StatusOr<Response> CurlHttpClient::Do(const Request& request) {
  return Perform(request, nullptr, nullptr);
}

StatusOr<Response> CurlHttpClient::Stream(const Request& request, const ChunkCallback& on_chunk,
                                          const CancelToken* cancel) {
  return Perform(request, &on_chunk, cancel);
}

StatusOr<Response> CurlHttpClient::Perform(const Request& request, const ChunkCallback* on_chunk,
                                           const CancelToken* cancel) {
  CURL* curl = static_cast<CURL*>(Acquire());
  if (curl == nullptr) {
    return Err(InternalError("curl_easy_init failed"));
  }
  Transfer t;
  t.on_chunk = on_chunk;
  t.cancel = cancel;
  t.curl = curl;

  std::string url = request.url;
  std::string connect_to;
  const TlsOptions& tls = options_.tls;
  if (!tls.server_name.empty()) {
    // Verify against server_name: put it in the URL (SNI + verification use the URL host) and
    // tell curl to connect to the original host:port.
    std::string scheme, host;
    int port = 0;
    size_t hb = 0, he = 0;
    if (SplitHostPort(url, &scheme, &host, &port, &hb, &he)) {
      connect_to =
          tls.server_name + ":" + std::to_string(port) + ":" + host + ":" + std::to_string(port);
      url = url.substr(0, hb) + tls.server_name + ":" + std::to_string(port) + url.substr(he);
    }
  }

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  if (request.timeout.count() > 0) {
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  }
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  if (on_chunk == nullptr) {
    // gzip for buffered bodies only: a compressing server holds back stream data until its
    // compressor flushes, which would delay watch events.
    // gzip only: brotli (which "" would also offer) is very slow to compress on the server side.
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip");
  }

  struct curl_slist* resolve = nullptr;
  if (!connect_to.empty()) {
    resolve = curl_slist_append(resolve, connect_to.c_str());
    curl_easy_setopt(curl, CURLOPT_CONNECT_TO, resolve);
  }
  // TLS
  struct curl_blob ca_blob {
  }, cert_blob{}, key_blob{};
  if (!tls.ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, tls.ca_file.c_str());
  }
  if (!tls.ca_pem.empty()) {
    ca_blob = {const_cast<char*>(tls.ca_pem.data()), tls.ca_pem.size(), CURL_BLOB_NOCOPY};
    curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca_blob);
  }
  if (!tls.cert_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, tls.cert_file.c_str());
  }
  if (!tls.cert_pem.empty()) {
    cert_blob = {const_cast<char*>(tls.cert_pem.data()), tls.cert_pem.size(), CURL_BLOB_NOCOPY};
    curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &cert_blob);
    curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
  }
  if (!tls.key_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLKEY, tls.key_file.c_str());
  }
  if (!tls.key_pem.empty()) {
    key_blob = {const_cast<char*>(tls.key_pem.data()), tls.key_pem.size(), CURL_BLOB_NOCOPY};
    curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &key_blob);
    curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
  }
  if (tls.insecure_skip_verify) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }

  // Method and body
  if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
      request.method == "PATCH") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }

  struct curl_slist* headers = nullptr;
  for (const auto& [k, v] : request.headers) {
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  }
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  if (options_.bearer_token) {
    std::string token = options_.bearer_token();
    if (!token.empty()) {
      std::string h = "Authorization: Bearer " + token;
      headers = curl_slist_append(headers, h.c_str());
      std::fill(h.begin(), h.end(), '\0');
    }
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, HeaderCb);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteCb);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  if (cancel != nullptr) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, ProgressCb);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);

  CURLcode rc = curl_easy_perform(curl);
  if (t.interrupt_set) {
    cancel->SetInterrupt(nullptr);
  }
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  // Drop references to our stack before the handle goes back to the pool.
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_CONNECT_TO, nullptr);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  curl_slist_free_all(headers);
  curl_slist_free_all(resolve);
  Release(curl);

  t.response.status = static_cast<int>(code);
  if (rc == CURLE_OK) {
    return std::move(t.response);
  }
  std::string what =
      std::string(curl_easy_strerror(rc)) + (errbuf[0] ? std::string(": ") + errbuf : "");
  if ((cancel != nullptr && cancel->cancelled()) || t.stopped_by_callback ||
      rc == CURLE_ABORTED_BY_CALLBACK) {
    return Err(CancelledError("request cancelled"));
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    // A stream that hit its lifetime after delivering data ended normally from our view.
    return Err(DeadlineExceededError(request.method + " " + request.url + ": " + what));
  }
  if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) {
    return Err(InvalidArgumentError(request.url + ": " + what));
  }
  return Err(UnavailableError(request.method + " " + request.url + ": " + what));
}

}  // namespace wva::http
