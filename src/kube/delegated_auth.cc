#include "kube/delegated_auth.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "base/log.h"
#include "http/tls.h"

namespace wva::kube {

namespace resources {
const Resource kTokenReviews{"authentication.k8s.io", "v1", "tokenreviews", false};
const Resource kSubjectAccessReviews{"authorization.k8s.io", "v1", "subjectaccessreviews", false};
}  // namespace resources

namespace {

// "Bearer <token>" (scheme case-insensitive, as RFC 7235 says) -> token; "" when malformed.
std::string BearerToken(const std::string& header) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size()) {
    return "";
  }
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) {
      return "";
    }
  }
  std::string token = header.substr(kScheme.size());
  const auto first = token.find_first_not_of(' ');
  if (first == std::string::npos) {
    return "";
  }
  token = token.substr(first);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
    token.pop_back();
  }
  if (token.find_first_of(" \t") != std::string::npos) {
    return "";
  }
  return token;
}

}  // namespace

DelegatedAuth::DelegatedAuth(Client& client, const Clock& clock, DelegatedAuthOptions options)
    : client_(client), clock_(clock), options_(options) {}

int64_t DelegatedAuth::api_calls() const {
  MutexLock lock(&mu_);
  return api_calls_;
}

size_t DelegatedAuth::cached_tokens() const {
  MutexLock lock(&mu_);
  return users_.size();
}

template <typename V>
void DelegatedAuth::Put(Cache<V>& cache, const std::string& key, V value,
                        std::chrono::seconds ttl) {
  const Clock::SteadyTime now = clock_.Now();
  if (cache.size() >= options_.max_entries && cache.find(key) == cache.end()) {
    for (auto it = cache.begin(); it != cache.end();) {
      it = it->second.expires <= now ? cache.erase(it) : std::next(it);
    }
    while (cache.size() >= options_.max_entries && !cache.empty()) {
      auto oldest = std::min_element(cache.begin(), cache.end(), [](const auto& a, const auto& b) {
        return a.second.added < b.second.added;
      });
      cache.erase(oldest);
    }
  }
  cache[key] = Entry<V>{std::move(value), now + ttl, now};
}

StatusOr<DelegatedAuth::User> DelegatedAuth::Authenticate(const std::string& token,
                                                          const std::string& key) {
  {
    MutexLock lock(&mu_);
    auto it = users_.find(key);
    if (it != users_.end() && it->second.expires > clock_.Now()) {
      return it->second.value;
    }
  }
  Object review = {{"apiVersion", "authentication.k8s.io/v1"},
                   {"kind", "TokenReview"},
                   {"spec", {{"token", token}}}};
  {
    MutexLock lock(&mu_);
    ++api_calls_;
  }
  auto resp = client_.Create(resources::kTokenReviews, "", review);
  if (!resp) {
    return Err(resp.error().WithPrefix("TokenReview"));
  }
  const Object& status = (*resp)->value("status", Object::object());
  User user;
  user.authenticated = status.value("authenticated", false);
  if (user.authenticated) {
    const Object& u = status.value("user", Object::object());
    user.name = u.value("username", "");
    user.uid = u.value("uid", "");
    if (u.contains("groups") && u["groups"].is_array()) {
      user.groups = u["groups"];
    }
    if (u.contains("extra") && u["extra"].is_object()) {
      user.extra = u["extra"];
    }
  }
  MutexLock lock(&mu_);
  Put(users_, key, user, user.authenticated ? options_.allow_ttl : options_.deny_ttl);
  return user;
}

StatusOr<bool> DelegatedAuth::Authorize(const User& user, const std::string& key,
                                        std::string_view verb, std::string_view path) {
  const std::string dkey = fmt::format("{}|{}|{}", key, verb, path);
  {
    MutexLock lock(&mu_);
    auto it = decisions_.find(dkey);
    if (it != decisions_.end() && it->second.expires > clock_.Now()) {
      return it->second.value;
    }
  }
  Object spec = {{"user", user.name},
                 {"groups", user.groups},
                 {"nonResourceAttributes", {{"path", path}, {"verb", verb}}}};
  if (!user.uid.empty()) {
    spec["uid"] = user.uid;
  }
  if (!user.extra.empty()) {
    spec["extra"] = user.extra;
  }
  Object review = {
      {"apiVersion", "authorization.k8s.io/v1"}, {"kind", "SubjectAccessReview"}, {"spec", spec}};
  {
    MutexLock lock(&mu_);
    ++api_calls_;
  }
  auto resp = client_.Create(resources::kSubjectAccessReviews, "", review);
  if (!resp) {
    return Err(resp.error().WithPrefix("SubjectAccessReview"));
  }
  const Object& status = (*resp)->value("status", Object::object());
  const bool allowed = status.value("allowed", false) && !status.value("denied", false);
  MutexLock lock(&mu_);
  Put(decisions_, dkey, allowed, allowed ? options_.allow_ttl : options_.deny_ttl);
  return allowed;
}

AuthResult DelegatedAuth::Check(const std::optional<std::string>& authorization,
                                std::string_view verb, std::string_view path) {
  AuthResult r;
  const std::string token = authorization ? BearerToken(*authorization) : "";
  if (token.empty()) {
    r.http_status = 401;
    r.message = "Unauthorized: a bearer token is required";
    return r;
  }
  const std::string key = http::Sha256Hex(token);
  auto user = Authenticate(token, key);
  if (!user) {
    // Unreachable API server, or no `create` on tokenreviews (the secure-metrics RBAC).
    log::Logger("metrics-auth")
        .Warn("cannot check a scrape's token: TokenReview failed",
              {{"error", user.error().message()}});
    r.http_status = 503;
    r.message = "Service Unavailable: the token could not be checked (TokenReview failed)";
    return r;
  }
  if (!user->authenticated) {
    r.http_status = 401;
    r.message = "Unauthorized: the token is not valid";
    return r;
  }
  r.user = user->name;
  auto allowed = Authorize(*user, key, verb, path);
  if (!allowed) {
    log::Logger("metrics-auth")
        .Warn("cannot check a scrape's access: SubjectAccessReview failed",
              {{"user", user->name}, {"error", allowed.error().message()}});
    r.http_status = 503;
    r.message = "Service Unavailable: access could not be checked (SubjectAccessReview failed)";
    return r;
  }
  if (!*allowed) {
    r.http_status = 403;
    r.message = fmt::format("Forbidden: user \"{}\" may not {} {}", user->name, verb, path);
    return r;
  }
  r.http_status = 200;
  return r;
}

}  // namespace wva::kube
