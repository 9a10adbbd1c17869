// Fault tests: a small fake API server (http::HttpServer on 127.0.0.1:0) produces what a real
// one won't on demand: 410 in the middle of a watch, 429 with Retry-After, a connection dropped
// in the middle of an event line, a malformed event line. The informer must recover each time
// without losing or duplicating events.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "base/clock.h"
#include "http/server.h"
#include "kube/client.h"
#include "kube/informer.h"

namespace wva::kube {
namespace {

using namespace std::chrono_literals;

std::string VA(const std::string& name, int rv) {
  return Object{
      {"apiVersion", "llmd.ai/v1alpha1"},
      {"kind", "VariantAutoscaling"},
      {"metadata", {{"name", name}, {"namespace", "ns"}, {"resourceVersion", std::to_string(rv)}}}}
      .dump();
}
std::string Event(const std::string& type, const std::string& obj) {
  return "{\"type\":\"" + type + "\",\"object\":" + obj + "}\n";
}
std::string List(const std::vector<std::string>& items, int rv) {
  std::string s = "{\"kind\":\"VariantAutoscalingList\",\"metadata\":{\"resourceVersion\":\"" +
                  std::to_string(rv) + "\"},\"items\":[";
  for (size_t i = 0; i < items.size(); ++i) {
    s += (i ? "," : "") + items[i];
  }
  return s + "]}";
}

// A scripted fake: the n-th LIST and n-th WATCH get the n-th scripted answer.
class FakeApiServer {
 public:
  std::vector<std::string> lists;  // bodies
  // Each watch script writes its chunks; returns true (clean end), false (drop connection),
  // or blocks until stop when `hold` is set.
  struct WatchScript {
    std::vector<std::string> chunks;
    bool drop = false;
    bool hold = false;
  };
  std::vector<WatchScript> watches;
  std::mutex mu;
  std::vector<std::string> watch_rvs;  // resourceVersion query of each watch
  std::atomic<int> list_calls{0}, watch_calls{0};
  std::atomic<bool> stop{false};
  http::HttpServer server;
  std::string url;

  void Start() {
    server.Route("GET", "/apis/llmd.ai/v1alpha1/namespaces/ns/variantautoscalings",
                 [this](const http::ServerRequest& req, http::ServerResponse& res) {
                   res.content_type = "application/json";
                   if (req.Query("watch").empty()) {
                     int n = list_calls++;
                     res.body = lists.at(std::min<size_t>(n, lists.size() - 1));
                     return;
                   }
                   int n = watch_calls++;
                   {
                     std::lock_guard<std::mutex> l(mu);
                     watch_rvs.push_back(req.Query("resourceVersion"));
                   }
                   WatchScript w = n < static_cast<int>(watches.size())
                                       ? watches[n]
                                       : WatchScript{{}, false, true};
                   res.stream = [this, w](const http::ChunkWriter& write) {
                     for (const auto& c : w.chunks) {
                       if (!write(c)) {
                         return false;
                       }
                     }
                     if (w.drop) {
                       return false;
                     }
                     while (w.hold && !stop.load()) {
                       std::this_thread::sleep_for(5ms);
                       if (!write("")) {
                         return false;
                       }
                     }
                     return true;
                   };
                 });
    auto port = server.Start();
    ASSERT_TRUE(port.has_value());
    url = "http://127.0.0.1:" + std::to_string(*port);
  }
  ~FakeApiServer() {
    stop = true;
    server.Stop();
  }
};

std::unique_ptr<Client> MakeClient(const std::string& url, ClientOptions o = {}) {
  RestConfig rc;
  rc.server = url;
  auto c = Client::Create(rc, &RealClock::Get(), std::move(o));
  EXPECT_TRUE(c.has_value());
  return std::move(*c);
}

struct Recorder {
  std::mutex mu;
  std::vector<std::string> events;
  void Attach(Informer& inf) {
    inf.AddHandlers(
        {[this](const ObjectPtr& o) { Push("add " + KeyOf(*o) + "@" + ResourceVersionOf(*o)); },
         [this](const ObjectPtr&, const ObjectPtr& n) {
           Push("update " + KeyOf(*n) + "@" + ResourceVersionOf(*n));
         },
         [this](const ObjectPtr& o) { Push("delete " + KeyOf(*o)); }});
  }
  void Push(std::string s) {
    std::lock_guard<std::mutex> l(mu);
    events.push_back(std::move(s));
  }
  bool WaitFor(size_t n, std::chrono::milliseconds timeout = 10s) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      {
        std::lock_guard<std::mutex> l(mu);
        if (events.size() >= n) {
          return true;
        }
      }
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }
  std::vector<std::string> Get() {
    std::lock_guard<std::mutex> l(mu);
    return events;
  }
};

ReflectorOptions FastOptions() {
  ReflectorOptions o;
  o.backoff_initial = 10ms;
  o.backoff_max = 50ms;
  o.seed = 42;
  return o;
}

// Client::Watch adds context ("watch variantautoscalings: 410 Expired: ...") to the ERROR event;
// the relist still happens because 410 is typed, not read from the message.
TEST(InformerFaults, GoneMidWatchRelistsWithoutLossOrDuplicates) {
  FakeApiServer fake;
  fake.lists = {List({VA("a", 1), VA("b", 2)}, 10), List({VA("a", 11), VA("c", 12)}, 12)};
  fake.watches = {
      {{Event("MODIFIED", VA("a", 11)),
        Event(
            "ERROR",
            R"json({"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 10 (11)","reason":"Expired","code":410})json")},
       false,
       false}};
  fake.Start();
  auto client = MakeClient(fake.url);
  Informer inf(client.get(), resources::kVariantAutoscalings, "ns", FastOptions());
  Recorder rec;
  rec.Attach(inf);
  inf.Start();
  ASSERT_TRUE(rec.WaitFor(5));
  ASSERT_TRUE(inf.WaitForSync(1s));
  // Second watch starts from the re-list's resourceVersion.
  for (int i = 0; i < 200 && fake.watch_calls.load() < 2; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  inf.Stop();
  EXPECT_EQ(rec.Get(), (std::vector<std::string>{"add ns/a@1", "add ns/b@2", "update ns/a@11",
                                                 "delete ns/b", "add ns/c@12"}));
  EXPECT_EQ(inf.lists(), 2);
  EXPECT_EQ(inf.relists_on_gone(), 1);
  std::lock_guard<std::mutex> l(fake.mu);
  ASSERT_GE(fake.watch_rvs.size(), 2u);
  EXPECT_EQ(fake.watch_rvs[0], "10");
  EXPECT_EQ(fake.watch_rvs[1], "12");
  EXPECT_EQ(inf.store().size(), 2u);
}

// A transform projects every object on arrival, listed or watched: the store and the handlers
// only ever see the projection, and keys and resourceVersions still work (a re-list after 410
// duplicates nothing).
TEST(InformerFaults, TransformProjectsListedAndWatchedObjects) {
  FakeApiServer fake;
  fake.lists = {List({VA("a", 1), VA("b", 2)}, 10), List({VA("a", 11), VA("c", 12)}, 12)};
  fake.watches = {{{Event("MODIFIED", VA("a", 11)),
                    Event("ERROR", R"json({"kind":"Status","code":410,"reason":"Expired"})json")},
                   false,
                   false}};
  fake.Start();
  auto client = MakeClient(fake.url);
  ReflectorOptions o = FastOptions();
  std::atomic<int> projected{0};
  o.transform = [&](Object&& full) {
    ++projected;
    return Object{{"metadata", std::move(full["metadata"])}, {"projected", true}};
  };
  Informer inf(client.get(), resources::kVariantAutoscalings, "ns", o);
  Recorder rec;
  rec.Attach(inf);
  std::atomic<int> whole{0};
  inf.AddHandlers(
      {[&](const ObjectPtr& obj) { whole += !obj->contains("projected"); },
       [&](const ObjectPtr&, const ObjectPtr& obj) { whole += !obj->contains("projected"); },
       nullptr});
  inf.Start();
  ASSERT_TRUE(rec.WaitFor(5));
  inf.Stop();
  EXPECT_EQ(rec.Get(), (std::vector<std::string>{"add ns/a@1", "add ns/b@2", "update ns/a@11",
                                                 "delete ns/b", "add ns/c@12"}));
  EXPECT_EQ(whole.load(), 0);
  EXPECT_EQ(projected.load(), 5);  // 2 listed, 1 watched, 2 re-listed
  for (const ObjectPtr& obj : inf.store().List()) {
    EXPECT_TRUE(obj->contains("projected"));
    EXPECT_FALSE(obj->contains("spec"));
  }
}

// A typed cache: what the informer keeps of a VariantAutoscaling is this struct, made once per
// version that arrives.
struct TypedVa {
  std::string ns, name, rv;
  bool odd = false;
};
std::string KeyOf(const TypedVa& v) { return v.ns + "/" + v.name; }
std::string ResourceVersionOf(const TypedVa& v) { return v.rv; }

// Every listed or watched version is decoded exactly once, handlers and store see only the typed
// items, a re-list after 410 decodes only what changed and reports deletes with the cached item,
// and an object the decode refuses (null) stays out of the cache.
TEST(InformerFaults, TypedCacheDecodesEachVersionOnce) {
  FakeApiServer fake;
  fake.lists = {List({VA("a", 1), VA("b", 2), VA("bad", 3)}, 10),
                List({VA("a", 11), VA("c", 13), VA("bad", 3)}, 13)};
  fake.watches = {{{Event("MODIFIED", VA("a", 11)),
                    Event("ERROR", R"json({"kind":"Status","code":410,"reason":"Expired"})json")},
                   false,
                   false}};
  fake.Start();
  auto client = MakeClient(fake.url);
  std::atomic<int> decoded{0};
  BasicInformer<TypedVa> inf(
      client.get(), resources::kVariantAutoscalings, "ns", FastOptions(),
      [&](const ObjectPtr& o) -> std::shared_ptr<const TypedVa> {
        ++decoded;
        const std::string name = (*o)["metadata"].value("name", "");
        if (name == "bad") {
          return nullptr;
        }
        const std::string rv = (*o)["metadata"].value("resourceVersion", "");
        return std::make_shared<const TypedVa>(
            TypedVa{(*o)["metadata"].value("namespace", ""), name, rv, std::stoi(rv) % 2 == 1});
      });
  std::mutex mu;
  std::vector<std::string> events;
  auto push = [&](std::string e) {
    std::lock_guard<std::mutex> l(mu);
    events.push_back(std::move(e));
  };
  inf.AddHandlers({[&](const ItemPtr<TypedVa>& v) { push("add " + KeyOf(*v) + "@" + v->rv); },
                   [&](const ItemPtr<TypedVa>&, const ItemPtr<TypedVa>& v) {
                     push("update " + KeyOf(*v) + "@" + v->rv);
                   },
                   [&](const ItemPtr<TypedVa>& v) { push("delete " + KeyOf(*v) + "@" + v->rv); }});
  inf.Start();
  for (int i = 0; i < 2000; ++i) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (events.size() >= 5) {
        break;
      }
    }
    std::this_thread::sleep_for(5ms);
  }
  inf.Stop();
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(events, (std::vector<std::string>{"add ns/a@1", "add ns/b@2", "update ns/a@11",
                                              "delete ns/b@2", "add ns/c@13"}));
  // a@1, b@2, bad, a@11 (watched), then the re-list: c@13 and bad again (a@11 is cached).
  EXPECT_EQ(decoded.load(), 6);
  ASSERT_EQ(inf.store().size(), 2u);
  EXPECT_EQ(inf.store().Get("ns/bad"), nullptr);
  ASSERT_NE(inf.store().Get("ns/c"), nullptr);
  EXPECT_TRUE(inf.store().Get("ns/c")->odd);
}

TEST(InformerFaults, DroppedConnectionMidLineResumesFromLastVersion) {
  FakeApiServer fake;
  fake.lists = {List({}, 3)};
  std::string partial = Event("ADDED", VA("y", 5));
  fake.watches = {
      {{Event("ADDED", VA("x", 4)), partial.substr(0, partial.size() / 2)}, true, false},
      {{Event("ADDED", VA("y", 5))}, false, true}};
  fake.Start();
  auto client = MakeClient(fake.url);
  Informer inf(client.get(), resources::kVariantAutoscalings, "ns", FastOptions());
  Recorder rec;
  rec.Attach(inf);
  inf.Start();
  ASSERT_TRUE(rec.WaitFor(2));
  inf.Stop();
  EXPECT_EQ(rec.Get(), (std::vector<std::string>{"add ns/x@4", "add ns/y@5"}));
  EXPECT_EQ(inf.lists(), 1);  // no re-list for a dropped connection
  EXPECT_GE(client->dropped_lines(), 1);
  std::lock_guard<std::mutex> l(fake.mu);
  ASSERT_GE(fake.watch_rvs.size(), 2u);
  EXPECT_EQ(fake.watch_rvs[1], "4");
}

TEST(InformerFaults, MalformedEventLineIsSkippedAndWatchResumes) {
  FakeApiServer fake;
  fake.lists = {List({}, 3)};
  fake.watches = {{{Event("ADDED", VA("x", 4)), "{\"type\":\"ADDED\",\"object\":nonsense}\n",
                    Event("ADDED", VA("never", 99))},
                   false,
                   true},
                  {{Event("ADDED", VA("y", 5))}, false, true}};
  fake.Start();
  auto client = MakeClient(fake.url);
  Informer inf(client.get(), resources::kVariantAutoscalings, "ns", FastOptions());
  Recorder rec;
  rec.Attach(inf);
  inf.Start();
  ASSERT_TRUE(rec.WaitFor(2));
  inf.Stop();
  EXPECT_EQ(rec.Get(), (std::vector<std::string>{"add ns/x@4", "add ns/y@5"}));
  EXPECT_EQ(client->dropped_lines(), 1);
  std::lock_guard<std::mutex> l(fake.mu);
  EXPECT_EQ(fake.watch_rvs.at(1), "4");
}

TEST(ClientFaults, TooManyRequestsHonoursRetryAfter) {
  http::HttpServer server;
  std::atomic<int> calls{0};
  server.Route("GET", "/api/v1/namespaces/ns/configmaps/c",
               [&](const http::ServerRequest&, http::ServerResponse& res) {
                 if (calls++ < 2) {
                   res.status = 429;
                   res.headers.emplace_back("Retry-After", "3");
                   res.body = R"({"kind":"Status","reason":"TooManyRequests","code":429})";
                   return;
                 }
                 res.content_type = "application/json";
                 res.body = R"({"metadata":{"name":"c","namespace":"ns","resourceVersion":"1"}})";
               });
  auto port = server.Start();
  ASSERT_TRUE(port.has_value());
  std::vector<std::chrono::milliseconds> sleeps;
  ClientOptions o;
  o.sleep = [&](std::chrono::milliseconds d) { sleeps.push_back(d); };
  auto client = MakeClient("http://127.0.0.1:" + std::to_string(*port), o);
  auto got = client->Get(resources::kConfigMaps, "ns", "c");
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(sleeps, (std::vector<std::chrono::milliseconds>{3s, 3s}));
  EXPECT_EQ(client->throttled_retries(), 2);

  // Out of retries -> kResourceExhausted.
  calls = -100;
  ClientOptions few;
  few.max_429_retries = 1;
  few.sleep = [](std::chrono::milliseconds) {};
  auto client2 = MakeClient("http://127.0.0.1:" + std::to_string(*port), few);
  auto r = client2->Get(resources::kConfigMaps, "ns", "c");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kResourceExhausted);
  server.Stop();
}

TEST(ClientFaults, HttpGoneAndStatusBodies) {
  http::HttpServer server;
  server.Route("GET", "/apis/llmd.ai/v1alpha1/namespaces/ns/variantautoscalings",
               [&](const http::ServerRequest&, http::ServerResponse& res) {
                 res.status = 410;
                 res.content_type = "application/json";
                 res.body =
                     R"({"kind":"Status","reason":"Expired","message":"too old","code":410})";
               });
  auto port = server.Start();
  ASSERT_TRUE(port.has_value());
  auto client = MakeClient("http://127.0.0.1:" + std::to_string(*port));
  Status s = client->Watch(resources::kVariantAutoscalings, "ns", {},
                           [](const WatchEvent&) { return true; });
  EXPECT_TRUE(IsGone(s)) << s.ToString();
  auto l = client->List(resources::kVariantAutoscalings, "ns");
  ASSERT_FALSE(l.has_value());
  EXPECT_TRUE(IsGone(l.error()));
  server.Stop();
}

// An API server that goes away and comes back, on a fake clock: the first WATCH breaks with a
// connection reset and the server refuses connections for `outage`; then LIST and WATCH work.
class OutageTransport : public http::HttpClient {
 public:
  OutageTransport(FakeClock* clock, std::chrono::seconds outage) : clock_(clock), outage_(outage) {}

  StatusOr<http::Response> Do(const http::Request& req) override {
    std::lock_guard<std::mutex> l(mu_);
    ++requests_;
    if (Down()) {
      return Err(UnavailableError("GET " + req.url + ": Connection refused"));
    }
    return http::Response{200, {}, List({VA("a", 1)}, 10)};
  }
  StatusOr<http::Response> Stream(const http::Request& req, const http::ChunkCallback&,
                                  const http::CancelToken* cancel) override {
    std::unique_lock<std::mutex> l(mu_);
    ++requests_;
    if (!started_) {
      started_ = true;
      down_until_ = clock_->Now() + outage_;
      return Err(UnavailableError("GET " + req.url + ": Recv failure: Connection reset by peer"));
    }
    if (Down()) {
      return Err(UnavailableError("GET " + req.url + ": Connection refused"));
    }
    watch_urls_.push_back(req.url);
    if (!back_) {
      back_ = clock_->Now();
    }
    cv_.notify_all();
    l.unlock();
    cancel->SetInterrupt([this] {
      std::lock_guard<std::mutex> il(mu_);
      cv_.notify_all();
    });
    l.lock();
    cv_.wait(l, [&] { return cancel->cancelled(); });
    l.unlock();
    cancel->SetInterrupt(nullptr);
    return Err(CancelledError("cancelled"));
  }
  // Seconds from the server's return to the first WATCH that reached it.
  std::optional<double> WaitRecovered() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, 10s, [&] { return back_.has_value(); });
    if (!back_) {
      return std::nullopt;
    }
    return std::chrono::duration<double>(*back_ - down_until_).count();
  }
  int requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }
  std::vector<std::string> watch_urls() {
    std::lock_guard<std::mutex> l(mu_);
    return watch_urls_;
  }

 private:
  bool Down() const { return started_ && clock_->Now() < down_until_; }

  FakeClock* clock_;
  std::chrono::seconds outage_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  Clock::SteadyTime down_until_{};
  std::optional<Clock::SteadyTime> back_;
  std::vector<std::string> watch_urls_;
  int requests_ = 0;
};

TEST(InformerFaults, ResumesWithinSecondsAfterAnOutageOfAnyLength) {
  for (auto outage : {5s, 30s, 60s, 600s}) {
    SCOPED_TRACE(outage.count());
    FakeClock clock;
    auto transport = std::make_shared<OutageTransport>(&clock, outage);
    // The first LIST must succeed: the transport starts "up" until the first WATCH.
    Client client("https://apiserver", transport);
    ReflectorOptions o;  // production backoffs
    o.seed = 7;
    o.sleep = [&](std::chrono::milliseconds d) {
      clock.Advance(d);
      return true;
    };
    Informer inf(&client, resources::kVariantAutoscalings, "ns", o);
    inf.Start();
    std::optional<double> late = transport->WaitRecovered();
    inf.Stop();
    ASSERT_TRUE(late.has_value());
    // Under the 4 s cap (plus 20% jitter), not the 30 s of an answering server's backoff.
    EXPECT_LE(*late, 4.8);
    EXPECT_GE(*late, 0.0);
    // It re-watched from the listed resourceVersion: no re-list was needed.
    EXPECT_EQ(inf.lists(), 1);
    auto urls = transport->watch_urls();
    ASSERT_EQ(urls.size(), 1u);
    EXPECT_NE(urls[0].find("resourceVersion=10"), std::string::npos) << urls[0];
    // Polling a dead server stays cheap: about one attempt per 4 s.
    EXPECT_LE(transport->requests(), 10 + static_cast<int>(outage.count() / 3));
  }
}

TEST(InformerFaults, ServerErrorsStillBackOffToThirtySeconds) {
  // An answering server in trouble (500) gets the full exponential backoff, not the short cap.
  std::vector<std::chrono::milliseconds> waits;
  http::HttpServer server;
  server.Route("GET", "/apis/llmd.ai/v1alpha1/namespaces/ns/variantautoscalings",
               [&](const http::ServerRequest&, http::ServerResponse& res) {
                 res.status = 500;
                 res.content_type = "application/json";
                 res.body = R"({"kind":"Status","reason":"InternalError","code":500})";
               });
  auto port = server.Start();
  ASSERT_TRUE(port.has_value());
  auto client = MakeClient("http://127.0.0.1:" + std::to_string(*port));
  std::mutex mu;
  std::condition_variable cv;
  ReflectorOptions o;
  o.sleep = [&](std::chrono::milliseconds d) {
    std::lock_guard<std::mutex> l(mu);
    waits.push_back(d);
    cv.notify_all();
    return waits.size() < 8;
  };
  Informer inf(client.get(), resources::kVariantAutoscalings, "ns", o);
  inf.Start();
  {
    std::unique_lock<std::mutex> l(mu);
    cv.wait_for(l, 10s, [&] { return waits.size() >= 8; });
  }
  inf.Stop();
  server.Stop();
  EXPECT_EQ(waits, (std::vector<std::chrono::milliseconds>{800ms, 1600ms, 3200ms, 6400ms, 12800ms,
                                                           25600ms, 30000ms, 30000ms}));
}

TEST(ClientFaults, UnreachableMeansNoAnswerAtAll) {
  EXPECT_TRUE(IsServerUnreachable(UnavailableError("GET https://x/api: Connection refused")));
  EXPECT_TRUE(IsServerUnreachable(DeadlineExceededError("GET https://x/api: timed out")));
  EXPECT_FALSE(IsServerUnreachable(StatusFromHttp(503, "")));
  EXPECT_FALSE(IsServerUnreachable(StatusFromHttp(504, "")));
  EXPECT_FALSE(IsServerUnreachable(StatusFromHttp(500, "")));
  EXPECT_FALSE(IsServerUnreachable(OkStatus()));
  EXPECT_EQ(HttpCodeOf(StatusFromHttp(503, "")), 503);
  EXPECT_EQ(HttpCodeOf(UnavailableError("GET https://x/api: Connection refused")), 0);
}

}  // namespace
}  // namespace wva::kube
