// DelegatedAuth against a fake API server transport: the answers (200/401/403/503), what is
// sent in the reviews, and the bounded TTL cache (FakeClock, no sleeps).
#include "kube/delegated_auth.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace wva::kube {
namespace {

using namespace std::chrono_literals;

// Answers TokenReviews from a token -> user table and SubjectAccessReviews from a set of
// allowed users; records every request.
class FakeApiServer : public http::HttpClient {
 public:
  std::map<std::string, std::string> users;  // token -> user name
  std::vector<std::string> allowed;          // user names allowed get /metrics
  bool down = false;
  std::vector<nlohmann::json> token_reviews, access_reviews;

  StatusOr<http::Response> Do(const http::Request& req) override {
    if (down) {
      return Err(UnavailableError("connection refused"));
    }
    http::Response r;
    r.status = 201;
    nlohmann::json body = nlohmann::json::parse(req.body);
    if (req.url.find("/apis/authentication.k8s.io/v1/tokenreviews") != std::string::npos) {
      token_reviews.push_back(body);
      auto it = users.find(body["spec"]["token"].get<std::string>());
      body["status"] = it == users.end() ? nlohmann::json{{"authenticated", false}}
                                         : nlohmann::json{{"authenticated", true},
                                                          {"user",
                                                           {{"username", it->second},
                                                            {"uid", "uid-" + it->second},
                                                            {"groups", {"system:authenticated"}}}}};
    } else if (req.url.find("/apis/authorization.k8s.io/v1/subjectaccessreviews") !=
               std::string::npos) {
      access_reviews.push_back(body);
      const std::string user = body["spec"]["user"];
      const bool ok = std::find(allowed.begin(), allowed.end(), user) != allowed.end();
      body["status"] = {{"allowed", ok}};
    } else {
      r.status = 404;
      body = {{"kind", "Status"}, {"code", 404}};
    }
    r.body = body.dump();
    return r;
  }
  StatusOr<http::Response> Stream(const http::Request&, const http::ChunkCallback&,
                                  const http::CancelToken*) override {
    return Err(UnimplementedError("no streams"));
  }
};

struct Fixture {
  std::shared_ptr<FakeApiServer> api = std::make_shared<FakeApiServer>();
  Client client{"https://api", api};
  FakeClock clock;
};

TEST(DelegatedAuth, AnswersByTokenReviewAndSubjectAccessReview) {
  Fixture f;
  f.api->users = {{"tok-prom", "system:serviceaccount:monitoring:prometheus"},
                  {"tok-other", "system:serviceaccount:default:default"}};
  f.api->allowed = {"system:serviceaccount:monitoring:prometheus"};
  DelegatedAuth auth(f.client, f.clock);

  EXPECT_EQ(auth.Check(std::nullopt, "get", "/metrics").http_status, 401);
  EXPECT_EQ(auth.Check("Basic dXNlcjpwYXNz", "get", "/metrics").http_status, 401);
  EXPECT_EQ(auth.Check("Bearer ", "get", "/metrics").http_status, 401);
  EXPECT_EQ(f.api->token_reviews.size(), 0u);  // malformed: the API server is not asked

  AuthResult unknown = auth.Check("Bearer tok-nobody", "get", "/metrics");
  EXPECT_EQ(unknown.http_status, 401);
  EXPECT_EQ(unknown.message.find("tok-nobody"), std::string::npos);  // never echoed

  AuthResult other = auth.Check("Bearer tok-other", "get", "/metrics");
  EXPECT_EQ(other.http_status, 403);
  EXPECT_EQ(other.user, "system:serviceaccount:default:default");

  AuthResult ok = auth.Check("bearer tok-prom", "get", "/metrics");  // scheme case-insensitive
  EXPECT_EQ(ok.http_status, 200);
  EXPECT_EQ(ok.user, "system:serviceaccount:monitoring:prometheus");

  // What the SubjectAccessReview asked: the reviewed user on the non-resource URL.
  ASSERT_EQ(f.api->access_reviews.size(), 2u);
  const nlohmann::json& spec = f.api->access_reviews[1]["spec"];
  EXPECT_EQ(spec["user"], "system:serviceaccount:monitoring:prometheus");
  EXPECT_EQ(spec["uid"], "uid-system:serviceaccount:monitoring:prometheus");
  EXPECT_EQ(spec["groups"], nlohmann::json({"system:authenticated"}));
  EXPECT_EQ(spec["nonResourceAttributes"]["path"], "/metrics");
  EXPECT_EQ(spec["nonResourceAttributes"]["verb"], "get");
  EXPECT_EQ(f.api->access_reviews[1]["kind"], "SubjectAccessReview");
  EXPECT_EQ(f.api->token_reviews[0]["kind"], "TokenReview");
}

TEST(DelegatedAuth, CachesAnswersUntilTheirTtl) {
  Fixture f;
  f.api->users = {{"tok-prom", "prom"}, {"tok-other", "other"}};
  f.api->allowed = {"prom"};
  DelegatedAuthOptions opts;
  opts.allow_ttl = 60s;
  opts.deny_ttl = 10s;
  DelegatedAuth auth(f.client, f.clock, opts);

  ASSERT_EQ(auth.Check("Bearer tok-prom", "get", "/metrics").http_status, 200);
  EXPECT_EQ(auth.api_calls(), 2);
  for (int scrape = 0; scrape < 3; ++scrape) {  // every 15 s: answered from the cache
    f.clock.Advance(15s);
    ASSERT_EQ(auth.Check("Bearer tok-prom", "get", "/metrics").http_status, 200);
  }
  EXPECT_EQ(auth.api_calls(), 2);
  f.clock.Advance(16s);  // 61 s after the first answer: asked again
  ASSERT_EQ(auth.Check("Bearer tok-prom", "get", "/metrics").http_status, 200);
  EXPECT_EQ(auth.api_calls(), 4);

  // A denial is kept 10 s only: a new binding takes effect soon.
  ASSERT_EQ(auth.Check("Bearer tok-other", "get", "/metrics").http_status, 403);
  const int64_t after_deny = auth.api_calls();
  f.clock.Advance(5s);
  ASSERT_EQ(auth.Check("Bearer tok-other", "get", "/metrics").http_status, 403);
  EXPECT_EQ(auth.api_calls(), after_deny);
  f.api->allowed.push_back("other");
  f.clock.Advance(6s);
  EXPECT_EQ(auth.Check("Bearer tok-other", "get", "/metrics").http_status, 200);

  // Another path is another decision.
  EXPECT_EQ(auth.Check("Bearer tok-prom", "get", "/debug").http_status, 200);
  EXPECT_EQ(f.api->access_reviews.back()["spec"]["nonResourceAttributes"]["path"], "/debug");
}

TEST(DelegatedAuth, CacheIsBounded) {
  Fixture f;
  DelegatedAuthOptions opts;
  opts.max_entries = 4;
  DelegatedAuth auth(f.client, f.clock, opts);
  for (int i = 0; i < 50; ++i) {
    f.api->users["tok-" + std::to_string(i)] = "u" + std::to_string(i);
    f.clock.Advance(1ms);
    EXPECT_EQ(auth.Check("Bearer tok-" + std::to_string(i), "get", "/metrics").http_status, 403);
    EXPECT_LE(auth.cached_tokens(), 4u);
  }
  // The most recent token is still cached; the oldest was evicted.
  const int64_t calls = auth.api_calls();
  auth.Check("Bearer tok-49", "get", "/metrics");
  EXPECT_EQ(auth.api_calls(), calls);
  auth.Check("Bearer tok-0", "get", "/metrics");
  EXPECT_GT(auth.api_calls(), calls);
}

TEST(DelegatedAuth, ApiServerDownIs503AndNotCached) {
  Fixture f;
  f.api->users = {{"tok-prom", "prom"}};
  f.api->allowed = {"prom"};
  DelegatedAuth auth(f.client, f.clock);
  f.api->down = true;
  AuthResult r = auth.Check("Bearer tok-prom", "get", "/metrics");
  EXPECT_EQ(r.http_status, 503);
  EXPECT_EQ(r.message.find("tok-prom"), std::string::npos);
  f.api->down = false;
  EXPECT_EQ(auth.Check("Bearer tok-prom", "get", "/metrics").http_status, 200);
}

}  // namespace
}  // namespace wva::kube
