// Server-side TLS material for HttpServer::EnableTls: a self-signed certificate generated in
// memory (what controller-runtime serves when no certificate directory is given), and the
// SHA-256 digest used to key caches by secret without keeping the secret.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"

namespace wva::http {

struct PemPair {
  std::string cert_pem;
  std::string key_pem;
};

// An ECDSA P-256 key and a self-signed certificate (CN = first host) valid from one hour ago for
// `validity`, with the hosts as subjectAltNames (IP addresses as IP entries, the rest as DNS).
// The certificate is its own CA, so a client can trust exactly it.
[[nodiscard]] StatusOr<PemPair> GenerateSelfSignedCert(const std::vector<std::string>& hosts,
                                                       std::chrono::hours validity);

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace wva::http

typedef struct ssl_st SSL;  // OpenSSL's, as <openssl/types.h> declares it

namespace wva::http {

// The certificate chain and key a TLS listener presents, installed on each handshake. From
// files, they are re-read when either file's modification time changes (a rotated
// cert-manager Secret takes effect without a restart); a pair that fails to load or does not
// match keeps the previous one (logged once per change).
class TlsCredentials {
 public:
  [[nodiscard]] static StatusOr<std::shared_ptr<TlsCredentials>> FromFiles(std::string cert_file,
                                                                           std::string key_file);
  [[nodiscard]] static StatusOr<std::shared_ptr<TlsCredentials>> FromPem(const PemPair& pem);
  ~TlsCredentials();
  TlsCredentials(const TlsCredentials&) = delete;
  TlsCredentials& operator=(const TlsCredentials&) = delete;

  // Sets the current certificate, chain and key on `ssl` (reloading the files first if they
  // changed). False when nothing could be set.
  bool Apply(SSL* ssl);
  // How many times the files were reloaded after the first load (for tests and logs).
  int reloads() const;

 private:
  struct Loaded;
  TlsCredentials() = default;
  void MaybeReload();

  std::string cert_file_, key_file_;
  mutable Mutex mu_;
  std::shared_ptr<Loaded> current_ GUARDED_BY(mu_);
  std::string loaded_stamp_ GUARDED_BY(mu_);  // "mtime/size" of both files
  std::string failed_stamp_ GUARDED_BY(mu_);  // last stamp that failed to load
  int reloads_ GUARDED_BY(mu_) = 0;
};

}  // namespace wva::http
