// DelegatedAuth: authentication and authorization of an HTTP request by the API server, as
// controller-runtime's filters.WithAuthenticationAndAuthorization does for upstream WVA's secure
// metrics endpoint (`--metrics-secure`):
//   the bearer token -> TokenReview (authentication.k8s.io/v1): who is it?
//   that user        -> SubjectAccessReview (authorization.k8s.io/v1) on the non-resource URL
//                       (path, verb): may they?
// Answers: 200 allowed; 401 no/malformed/unknown token; 403 authenticated but not allowed; 503
// a review failed: API server unreachable, or this controller lacks `create` on the review
// resources (not cached, so the next scrape asks again).
// Results are cached briefly (bounded; allowed and denied answers with their own TTL) so a
// scrape every 15 s does not cost two API calls each time. The cache is keyed by the token's
// SHA-256, never the token, and the token is never logged.
// The controller's ServiceAccount needs `create` on tokenreviews and subjectaccessreviews.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/mutex.h"
#include "kube/client.h"

namespace wva::kube {

namespace resources {
extern const Resource kTokenReviews;          // authentication.k8s.io/v1, cluster-scoped
extern const Resource kSubjectAccessReviews;  // authorization.k8s.io/v1, cluster-scoped
}  // namespace resources

struct DelegatedAuthOptions {
  // How long an answer is reused. Denials expire sooner, so a new RoleBinding takes effect fast.
  std::chrono::seconds allow_ttl{60};
  std::chrono::seconds deny_ttl{10};
  // At most this many cached answers per cache (tokens, and token x verb x path); expired ones
  // go first, then the oldest.
  size_t max_entries = 1024;
};

struct AuthResult {
  int http_status = 500;  // 200, 401, 403 or 503
  std::string message;    // for the response body and logs; never contains the token
  std::string user;       // the authenticated user name ("" if none)
};

class DelegatedAuth {
 public:
  DelegatedAuth(Client& client, const Clock& clock, DelegatedAuthOptions options = {});
  DelegatedAuth(const DelegatedAuth&) = delete;
  DelegatedAuth& operator=(const DelegatedAuth&) = delete;

  // `authorization` is the request's Authorization header (nullopt when absent); verb is the
  // Kubernetes verb ("get" for GET).
  AuthResult Check(const std::optional<std::string>& authorization, std::string_view verb,
                   std::string_view path);

  // API calls made (TokenReviews + SubjectAccessReviews), for tests and the cache's worth.
  int64_t api_calls() const;
  size_t cached_tokens() const;

 private:
  struct User {
    bool authenticated = false;
    std::string name, uid;
    nlohmann::json groups = nlohmann::json::array();
    nlohmann::json extra = nlohmann::json::object();
  };
  template <typename V>
  struct Entry {
    V value;
    Clock::SteadyTime expires;
    Clock::SteadyTime added;
  };
  template <typename V>
  using Cache = std::map<std::string, Entry<V>>;

  StatusOr<User> Authenticate(const std::string& token, const std::string& key);
  StatusOr<bool> Authorize(const User& user, const std::string& key, std::string_view verb,
                           std::string_view path);
  template <typename V>
  void Put(Cache<V>& cache, const std::string& key, V value, std::chrono::seconds ttl);

  Client& client_;
  const Clock& clock_;
  DelegatedAuthOptions options_;
  mutable Mutex mu_;
  Cache<User> users_ GUARDED_BY(mu_);      // by SHA-256 of the token
  Cache<bool> decisions_ GUARDED_BY(mu_);  // by SHA-256 of the token, verb and path
  int64_t api_calls_ GUARDED_BY(mu_) = 0;
};

}  // namespace wva::kube
