#include "http/tls.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "base/log.h"

namespace wva::http {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

std::string OpenSslError(std::string_view what) {
  unsigned long e = ERR_get_error();  // NOLINT(runtime/int): OpenSSL's type
  char buf[256] = {0};
  if (e != 0) {
    ERR_error_string_n(e, buf, sizeof(buf));
  }
  ERR_clear_error();
  return e != 0 ? fmt::format("{}: {}", what, buf) : std::string(what);
}

bool IsIp(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

Status AddExtension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) {
    return InternalError(OpenSslError("certificate extension " + value));
  }
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1 ? OkStatus() : InternalError(OpenSslError("add certificate extension"));
}

StatusOr<std::string> ToPem(X509* cert, EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) {
    return Err(InternalError("BIO_new failed"));
  }
  const int ok = cert != nullptr ? PEM_write_bio_X509(bio.get(), cert)
                                 : PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0,
                                                            nullptr, nullptr);
  if (ok != 1) {
    return Err(InternalError(OpenSslError("PEM encoding failed")));
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);  // NOLINT(runtime/int): OpenSSL's type
  return std::string(data, static_cast<size_t>(n));
}

std::string FileStamp(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return "missing";
  }
  return fmt::format("{}.{}/{}", st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_size);
}

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    return Err(InvalidArgumentError(fmt::format("{}: cannot read", path)));
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
  std::string out;
  out.reserve(n * 2);
  for (unsigned int i = 0; i < n; ++i) {
    out += fmt::format("{:02x}", md[i]);
  }
  return out;
}

StatusOr<PemPair> GenerateSelfSignedCert(const std::vector<std::string>& hosts,
                                         std::chrono::hours validity) {
  if (hosts.empty()) {
    return Err(InvalidArgumentError("self-signed certificate: no host names"));
  }
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) {
    return Err(InternalError(OpenSslError("EC key generation failed")));
  }
  X509Ptr cert(X509_new());
  if (!cert) {
    return Err(InternalError("X509_new failed"));
  }
  X509_set_version(cert.get(), 2);  // v3
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) {
    return Err(InternalError(OpenSslError("random serial number")));
  }
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  // Valid from an hour ago: a client whose clock is a little behind still accepts it.
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                  static_cast<long>(validity.count()) * 3600);  // NOLINT(runtime/int)
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  const std::string cn = hosts.front().substr(0, 64);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("wva"),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  std::string san;
  for (const std::string& h : hosts) {
    if (h.empty()) {
      continue;
    }
    san += fmt::format("{}{}:{}", san.empty() ? "" : ",", IsIp(h) ? "IP" : "DNS", h);
  }
  WVA_RETURN_IF_ERROR(AddExtension(cert.get(), NID_basic_constraints, "critical,CA:TRUE"));
  WVA_RETURN_IF_ERROR(AddExtension(cert.get(), NID_key_usage,
                                   "critical,digitalSignature,keyEncipherment,keyCertSign"));
  WVA_RETURN_IF_ERROR(AddExtension(cert.get(), NID_ext_key_usage, "serverAuth"));
  WVA_RETURN_IF_ERROR(AddExtension(cert.get(), NID_subject_alt_name, san));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return Err(InternalError(OpenSslError("signing the certificate failed")));
  }
  PemPair out;
  WVA_ASSIGN_OR_RETURN(out.cert_pem, ToPem(cert.get(), nullptr));
  WVA_ASSIGN_OR_RETURN(out.key_pem, ToPem(nullptr, key.get()));
  return out;
}

// A parsed certificate chain and key that match.
struct TlsCredentials::Loaded {
  X509Ptr leaf;
  STACK_OF(X509) * chain = nullptr;
  PkeyPtr key;
  ~Loaded() {
    if (chain != nullptr) {
      sk_X509_pop_free(chain, X509_free);
    }
  }

  static StatusOr<std::shared_ptr<Loaded>> Parse(const std::string& cert_pem,
                                                 const std::string& key_pem,
                                                 const std::string& where) {
    auto out = std::make_shared<Loaded>();
    BioPtr cb(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
    out->leaf.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    if (!out->leaf) {
      return Err(InvalidArgumentError(OpenSslError(where + ": no PEM certificate")));
    }
    out->chain = sk_X509_new_null();
    while (X509* extra = PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr)) {
      sk_X509_push(out->chain, extra);
    }
    ERR_clear_error();  // the loop ends on "no start line"
    BioPtr kb(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
    out->key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    if (!out->key) {
      return Err(InvalidArgumentError(OpenSslError(where + ": no PEM private key")));
    }
    if (X509_check_private_key(out->leaf.get(), out->key.get()) != 1) {
      return Err(InvalidArgumentError(
          OpenSslError(where + ": the private key does not match the certificate")));
    }
    return out;
  }
};

StatusOr<std::shared_ptr<TlsCredentials>> TlsCredentials::FromPem(const PemPair& pem) {
  std::shared_ptr<TlsCredentials> c(new TlsCredentials());
  // Not shared yet; locked anyway, so every access to the guarded members is under mu_.
  MutexLock lock(&c->mu_);
  WVA_ASSIGN_OR_RETURN(c->current_, Loaded::Parse(pem.cert_pem, pem.key_pem, "TLS certificate"));
  return c;
}

StatusOr<std::shared_ptr<TlsCredentials>> TlsCredentials::FromFiles(std::string cert_file,
                                                                    std::string key_file) {
  std::shared_ptr<TlsCredentials> c(new TlsCredentials());
  c->cert_file_ = std::move(cert_file);
  c->key_file_ = std::move(key_file);
  MutexLock lock(&c->mu_);  // not shared yet: see FromPem
  c->loaded_stamp_ = FileStamp(c->cert_file_) + " " + FileStamp(c->key_file_);
  WVA_ASSIGN_OR_RETURN(std::string cert, ReadFile(c->cert_file_));
  WVA_ASSIGN_OR_RETURN(std::string key, ReadFile(c->key_file_));
  WVA_ASSIGN_OR_RETURN(c->current_, Loaded::Parse(cert, key, c->cert_file_ + " / " + c->key_file_));
  return c;
}

TlsCredentials::~TlsCredentials() = default;

int TlsCredentials::reloads() const {
  MutexLock lock(&mu_);
  return reloads_;
}

void TlsCredentials::MaybeReload() {
  if (cert_file_.empty()) {
    return;
  }
  const std::string stamp = FileStamp(cert_file_) + " " + FileStamp(key_file_);
  MutexLock lock(&mu_);
  if (stamp == loaded_stamp_ || stamp == failed_stamp_) {
    return;
  }
  auto cert = ReadFile(cert_file_);
  auto key = ReadFile(key_file_);
  StatusOr<std::shared_ptr<Loaded>> next =
      !cert  ? StatusOr<std::shared_ptr<Loaded>>(Err(cert.error()))
      : !key ? StatusOr<std::shared_ptr<Loaded>>(Err(key.error()))
             : Loaded::Parse(*cert, *key, cert_file_ + " / " + key_file_);
  if (!next) {
    // Often the two files of a Secret update are seen half-way; the next handshake retries.
    failed_stamp_ = stamp;
    log::Logger("tls").Warn("TLS certificate change not loaded; serving the previous one",
                            {{"error", next.error().message()}});
    return;
  }
  current_ = std::move(*next);
  loaded_stamp_ = stamp;
  ++reloads_;
  log::Logger("tls").Info("TLS certificate reloaded", {{"cert", cert_file_}});
}

bool TlsCredentials::Apply(SSL* ssl) {
  MaybeReload();
  std::shared_ptr<Loaded> c;
  {
    MutexLock lock(&mu_);
    c = current_;
  }
  if (!c) {
    return false;
  }
  // override=1: replace whatever the context set; the SSL takes its own references.
  return SSL_use_cert_and_key(ssl, c->leaf.get(), c->key.get(), c->chain, 1) == 1;
}

}  // namespace wva::http
