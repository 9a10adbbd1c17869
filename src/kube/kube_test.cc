// Unit tests for src/kube: kubeconfig and token loading, event decoding, error mapping, store
// indexes, work queue semantics (with FakeClock, no sleeps on the logic under test).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "kube/client.h"
#include "kube/informer.h"
#include "kube/rest_config.h"
#include "kube/workqueue.h"

namespace wva::kube {
namespace {

using namespace std::chrono_literals;

std::string TempDir() {
  char tmpl[] = "/tmp/kube_test.XXXXXX";
  return mkdtemp(tmpl);
}

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(RestConfig, KubeconfigInlineData) {
  // "Q0E=" = "CA", "Q0VSVA==" = "CERT", "S0VZ" = "KEY"
  std::string yaml = R"(apiVersion: v1
kind: Config
current-context: b
clusters:
- name: c1
  cluster: {server: "https://10.0.0.1:6443/", certificate-authority-data: Q0E=, tls-server-name: api.local}
contexts:
- name: a
  context: {cluster: nope, user: u1}
- name: b
  context: {cluster: c1, user: u1, namespace: team}
users:
- name: u1
  user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ, token: abc}
)";
  auto c = ParseKubeconfig(yaml, "/base");
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_EQ(c->server, "https://10.0.0.1:6443");
  EXPECT_EQ(c->tls.ca_pem, "CA");
  EXPECT_EQ(c->tls.cert_pem, "CERT");
  EXPECT_EQ(c->tls.key_pem, "KEY");
  EXPECT_EQ(c->tls.server_name, "api.local");
  EXPECT_EQ(c->bearer_token, "abc");
  EXPECT_EQ(c->namespace_, "team");
  auto a = ParseKubeconfig(yaml, "/base", "a");
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code(), StatusCode::kInvalidArgument);
}

TEST(RestConfig, KubeconfigFilesRelativeToDir) {
  std::string yaml = R"(current-context: x
clusters: [{name: c, cluster: {server: "https://h:1", certificate-authority: ca.crt}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
users: [{name: u, user: {client-certificate: /abs/c.crt, client-key: k.key, tokenFile: tok}}]
)";
  auto c = ParseKubeconfig(yaml, "/cfg");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->tls.ca_file, "/cfg/ca.crt");
  EXPECT_EQ(c->tls.cert_file, "/abs/c.crt");
  EXPECT_EQ(c->tls.key_file, "/cfg/k.key");
  EXPECT_EQ(c->bearer_token_file, "/cfg/tok");
  EXPECT_FALSE(ParseKubeconfig("{{{", "").has_value());
  EXPECT_FALSE(ParseKubeconfig("current-context: x\n", "").has_value());
}

TEST(RestConfig, InClusterAndTokenReloadEveryMinute) {
  std::string dir = TempDir();
  Write(dir + "/token", "t1\n");
  Write(dir + "/ca.crt", "CA");
  Write(dir + "/namespace", "wva-system");
  setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  auto c = InClusterConfig(dir);
  unsetenv("KUBERNETES_SERVICE_HOST");
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_EQ(c->server, "https://10.96.0.1:443");
  EXPECT_EQ(c->namespace_, "wva-system");
  EXPECT_EQ(c->tls.ca_file, dir + "/ca.crt");

  FakeClock clock;
  TokenSource ts("", c->bearer_token_file, &clock);
  EXPECT_EQ(ts.Token(), "t1");
  Write(dir + "/token", "t2\n");
  clock.Advance(59s);
  EXPECT_EQ(ts.Token(), "t1");  // cached within the minute
  clock.Advance(1s);
  EXPECT_EQ(ts.Token(), "t2");
  EXPECT_EQ(ts.reads(), 2);
  std::remove((dir + "/token").c_str());
  clock.Advance(61s);
  EXPECT_EQ(ts.Token(), "t2");  // read error keeps the last good token
  EXPECT_FALSE(InClusterConfig(dir).has_value());
}

TEST(Client, ResourcePaths) {
  EXPECT_EQ(resources::kPods.Path("ns", "p", "status"), "/api/v1/namespaces/ns/pods/p/status");
  EXPECT_EQ(resources::kVariantAutoscalings.Path(), "/apis/llmd.ai/v1alpha1/variantautoscalings");
  EXPECT_EQ(resources::kNamespaces.Path("ignored", "x"), "/api/v1/namespaces/x");
  EXPECT_EQ(resources::kDeployments.Path("a", "d", "scale"),
            "/apis/apps/v1/namespaces/a/deployments/d/scale");
}

TEST(Client, DecodeWatchEvent) {
  auto ev = DecodeWatchEvent(
      R"({"type":"MODIFIED","object":{"metadata":{"name":"a","namespace":"n","resourceVersion":"7"}}})");
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->type, EventType::kModified);
  EXPECT_EQ(KeyOf(*ev->object), "n/a");
  EXPECT_EQ(ResourceVersionOf(*ev->object), "7");
  auto err = DecodeWatchEvent(
      R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}})");
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->type, EventType::kError);
  EXPECT_TRUE(IsGone(StatusFromHttp(200, err->object->dump())));
  for (const char* bad :
       {"", "null", "[]", "{\"type\":\"ADDED\"}", "{\"type\":\"X\",\"object\":{}}",
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":", "{\"type\":1,\"object\":{}}",
        "{\"type\":\"ADDED\",\"object\":{}}"}) {
    auto r = DecodeWatchEvent(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), StatusCode::kDataLoss);
  }
}

// 409/410 are typed (the Status detail), not read from the message: context added going up, or
// a message that happens to start with digits, changes nothing.
TEST(Client, ConflictAndGoneSurviveAddedContext) {
  const Status gone = StatusFromHttp(410, R"({"reason":"Expired","message":"too old"})");
  const Status gone_ctx = gone.WithPrefix("watch pods").WithPrefix("informer");
  EXPECT_TRUE(IsGone(gone_ctx)) << gone_ctx.ToString();
  EXPECT_FALSE(IsConflict(gone_ctx));
  EXPECT_EQ(HttpCodeOf(gone_ctx), 410);
  const Status conflict =
      StatusFromHttp(409, R"({"reason":"Conflict","message":"modified"})").WithPrefix("lease");
  EXPECT_TRUE(IsConflict(conflict)) << conflict.ToString();
  EXPECT_FALSE(IsGone(conflict));
  EXPECT_FALSE(IsGone(AbortedError("410 Gone: spelled in the message only")));
  EXPECT_FALSE(IsConflict(AbortedError("409 Conflict: spelled in the message only")));
  EXPECT_EQ(HttpCodeOf(UnavailableError("503 looks like a code")), 0);
}

TEST(Client, StatusMapping) {
  EXPECT_TRUE(
      IsNotFound(StatusFromHttp(404, R"({"kind":"Status","reason":"NotFound","message":"x"})")));
  EXPECT_TRUE(IsAlreadyExists(StatusFromHttp(409, R"({"reason":"AlreadyExists","message":"x"})")));
  auto conflict = StatusFromHttp(409, R"({"reason":"Conflict","message":"modified"})");
  EXPECT_TRUE(IsConflict(conflict));
  EXPECT_FALSE(IsGone(conflict));
  EXPECT_TRUE(IsGone(StatusFromHttp(410, R"({"reason":"Expired"})")));
  EXPECT_EQ(HttpCodeOf(StatusFromHttp(410, R"({"reason":"Expired"})")), 410);
  EXPECT_EQ(StatusFromHttp(422, "{}").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusFromHttp(403, "").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(StatusFromHttp(401, "").code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(StatusFromHttp(429, "").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(StatusFromHttp(503, "").code(), StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromHttp(504, "").code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(StatusFromHttp(500, "").code(), StatusCode::kInternal);
}

ObjectPtr Obj(const std::string& ns, const std::string& name, const std::string& model,
              const std::string& rv = "1") {
  return std::make_shared<const Object>(
      Object{{"metadata", {{"name", name}, {"namespace", ns}, {"resourceVersion", rv}}},
             {"spec", {{"modelID", model}}}});
}

TEST(Store, UpsertRemoveAndIndex) {
  Store s;
  s.AddIndex("model", [](const Object& o) {
    return std::vector<std::string>{o["metadata"]["namespace"].get<std::string>() + "/" +
                                    o["spec"]["modelID"].get<std::string>()};
  });
  EXPECT_EQ(s.Upsert(Obj("a", "v1", "m1")), nullptr);
  s.Upsert(Obj("a", "v2", "m1"));
  s.Upsert(Obj("b", "v3", "m1"));
  EXPECT_EQ(s.ByIndex("model", "a/m1").size(), 2u);
  auto old = s.Upsert(Obj("a", "v2", "m2", "2"));
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(ResourceVersionOf(*old), "1");
  EXPECT_EQ(s.ByIndex("model", "a/m1").size(), 1u);
  EXPECT_EQ(s.ByIndex("model", "a/m2").size(), 1u);
  EXPECT_NE(s.Remove("a/v1"), nullptr);
  EXPECT_EQ(s.Remove("a/v1"), nullptr);
  EXPECT_TRUE(s.ByIndex("model", "a/m1").empty());
  EXPECT_EQ(s.size(), 2u);
  EXPECT_NE(s.Get("b/v3"), nullptr);
}

TEST(WorkQueue, DedupAndProcessingSet) {
  FakeClock clock;
  WorkQueue q(&clock);
  q.Add("a");
  q.Add("a");
  q.Add("b");
  EXPECT_EQ(q.Len(), 2u);
  std::string k;
  ASSERT_TRUE(q.TryGet(&k));
  EXPECT_EQ(k, "a");
  q.Add("a");  // while processing: not handed out again yet
  ASSERT_TRUE(q.TryGet(&k));
  EXPECT_EQ(k, "b");
  EXPECT_FALSE(q.TryGet(&k));
  q.Done("a");  // re-queued now
  ASSERT_TRUE(q.TryGet(&k));
  EXPECT_EQ(k, "a");
  q.Done("a");
  q.Done("b");
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueue, DelayedAddUsesClock) {
  FakeClock clock;
  WorkQueue q(&clock);
  q.AddAfter("x", 5s);
  q.AddAfter("x", 10s);  // later duplicate ignored
  q.AddAfter("y", 1s);
  std::string k;
  EXPECT_FALSE(q.TryGet(&k));
  EXPECT_EQ(q.DelayedLen(), 2u);
  clock.Advance(1s);
  ASSERT_TRUE(q.TryGet(&k));
  EXPECT_EQ(k, "y");
  clock.Advance(4s);
  ASSERT_TRUE(q.TryGet(&k));
  EXPECT_EQ(k, "x");
  EXPECT_EQ(q.DelayedLen(), 0u);
}

TEST(WorkQueue, RateLimiterExponentialAndBucket) {
  FakeClock clock;
  RateLimiterOptions rl;
  rl.base_delay = 5ms;
  rl.max_delay = 1000s;
  rl.qps = 10;
  rl.burst = 2;
  WorkQueue q(&clock, rl);
  EXPECT_EQ(q.NextDelay("k"), 5ms);
  EXPECT_EQ(q.NextDelay("k"), 10ms);
  // Bucket empty now (burst 2): the third token costs 100 ms > 20 ms exponential.
  EXPECT_EQ(q.NextDelay("k"), 100ms);
  EXPECT_EQ(q.NumRequeues("k"), 3);
  q.Forget("k");
  EXPECT_EQ(q.NumRequeues("k"), 0);
  clock.Advance(10s);  // bucket refilled
  EXPECT_EQ(q.NextDelay("k"), 5ms);
  for (int i = 0; i < 40; ++i) {
    q.NextDelay("z");
  }
  clock.Advance(1000s);
  EXPECT_EQ(q.NextDelay("z"), std::chrono::nanoseconds(1000s));  // capped
}

TEST(WorkQueue, ShutDownUnblocksGet) {
  FakeClock clock;
  WorkQueue q(&clock);
  std::thread t([&] { q.ShutDown(); });
  std::string k;
  EXPECT_FALSE(q.Get(&k));
  t.join();
  q.Add("late");
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueue, ShutDownWithDrainWaitsForInFlight) {
  FakeClock clock;
  WorkQueue q(&clock);
  q.Add("a");
  q.Add("b");
  std::atomic<int> done{0};
  std::thread worker([&] {
    std::string k;
    while (q.Get(&k)) {
      ++done;
      q.Done(k);
    }
  });
  q.ShutDownWithDrain();
  EXPECT_EQ(done.load(), 2);
  worker.join();
}

}  // namespace
}  // namespace wva::kube
