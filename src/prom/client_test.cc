#include "prom/client.h"

#include <cstdio>
#include <fstream>
#include <mutex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/log.h"
#include "http/curl_client.h"
#include "http/server.h"
#include "prom/exposition.h"

namespace wva::prom {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class FakeTransport : public http::HttpClient {
 public:
  std::vector<http::Request> requests;
  std::function<StatusOr<http::Response>(const http::Request&)> answer;
  StatusOr<http::Response> Do(const http::Request& r) override {
    requests.push_back(r);
    return answer(r);
  }
  StatusOr<http::Response> Stream(const http::Request&, const http::ChunkCallback&,
                                  const http::CancelToken*) override {
    return Err(UnimplementedError("no streams"));
  }
};

http::Response Ok(std::string body) {
  http::Response r;
  r.status = 200;
  r.body = std::move(body);
  return r;
}

std::string HeaderOf(const http::Request& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) {
      return v;
    }
  }
  return "";
}

TEST(ValidateConfig, HttpsRequiredUnlessAllowed) {
  ClientConfig c;
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("PROMETHEUS_BASE_URL is required"));
  c.base_url = "http://prom:9090";
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("HTTPS is required"));
  c.allow_http = true;
  EXPECT_TRUE(ValidateConfig(c).ok());
  c.ca_cert_path = "/ca.crt";
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("TLS-related settings"));
  c = {};
  c.base_url = "ftp://x";
  EXPECT_FALSE(ValidateConfig(c).ok());
  c.base_url = "https://";
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("no host"));
  c.base_url = "https://prom:9090/prefix";
  EXPECT_TRUE(ValidateConfig(c).ok());
  c.client_cert_path = "/c.crt";
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("must be set together"));
  c.client_key_path = "/c.key";
  EXPECT_TRUE(ValidateConfig(c).ok());
  c.timeout = std::chrono::milliseconds(0);
  EXPECT_FALSE(ValidateConfig(c).ok());
}

TEST(Client, PostsFormEncodedQueryWithTimeoutAndToken) {
  auto t = std::make_shared<FakeTransport>();
  t->answer = [](const http::Request&) -> StatusOr<http::Response> {
    return Ok(R"({"status":"success","data":{"resultType":"vector","result":[]}})");
  };
  ClientConfig c;
  c.base_url = "https://prom.example:9090/sub/";
  c.bearer_token = "s3cret";
  c.timeout = std::chrono::milliseconds(2500);
  Client client(c, t);
  auto out = client.Query(R"(up{job="a b"})");
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->empty());
  ASSERT_EQ(t->requests.size(), 1u);
  const auto& r = t->requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://prom.example:9090/sub/api/v1/query");
  EXPECT_EQ(r.body, "query=up%7Bjob%3D%22a%20b%22%7D&timeout=2.5s");
  EXPECT_EQ(r.timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(HeaderOf(r, "Authorization"), "Bearer s3cret");
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/x-www-form-urlencoded");
}

TEST(Client, TokenFileIsReReadAndNeverSentOverHttp) {
  std::string path = ::testing::TempDir() + "/prom_token";
  { std::ofstream(path) << "first\n"; }
  auto t = std::make_shared<FakeTransport>();
  t->answer = [](const http::Request&) -> StatusOr<http::Response> {
    return Ok(R"({"status":"success","data":{"resultType":"scalar","result":[1,"1"]}})");
  };
  ClientConfig c;
  c.base_url = "https://prom:9090";
  c.token_path = path;
  Client client(c, t);
  ASSERT_TRUE(client.Query("1"));
  { std::ofstream(path) << "second"; }
  ASSERT_TRUE(client.Query("1"));
  EXPECT_EQ(HeaderOf(t->requests[0], "Authorization"), "Bearer first");
  EXPECT_EQ(HeaderOf(t->requests[1], "Authorization"), "Bearer second");
  std::remove(path.c_str());
  auto missing = client.Query("1");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::kConfig);
  EXPECT_EQ(t->requests.size(), 2u);  // no request without the configured credentials

  ClientConfig plain;
  plain.base_url = "http://prom:9090";
  plain.allow_http = true;
  plain.bearer_token = "s3cret";
  Client http_client(plain, t);
  ASSERT_TRUE(http_client.Query("1"));
  EXPECT_EQ(HeaderOf(t->requests.back(), "Authorization"), "");
}

TEST(Client, TransportErrorsBecomeNamedOutcomes) {
  auto t = std::make_shared<FakeTransport>();
  ClientConfig c;
  c.base_url = "https://prom:9090";
  Client client(c, t);
  t->answer = [](const http::Request&) -> StatusOr<http::Response> {
    return Err(DeadlineExceededError("POST x: Timeout was reached"));
  };
  EXPECT_EQ(client.Query("up").error().kind, ErrorKind::kTimeout);
  t->answer = [](const http::Request&) -> StatusOr<http::Response> {
    return Err(UnavailableError("POST x: Couldn't connect to server"));
  };
  auto down = client.Query("up");
  EXPECT_EQ(down.error().kind, ErrorKind::kUnavailable);
  EXPECT_THAT(down.error().ToString(), HasSubstr("unavailable"));
  t->answer = [](const http::Request&) -> StatusOr<http::Response> {
    return Err(UnavailableError(
        "POST x: SSL peer certificate or SSH remote key was not OK: SSL certificate problem: "
        "unable to get local issuer certificate"));
  };
  auto tls = client.Query("up");
  EXPECT_EQ(tls.error().kind, ErrorKind::kTls);
  EXPECT_THAT(tls.error().message, HasSubstr("PROMETHEUS_CA_CERT_PATH"));
  t->answer = [](const http::Request&) -> StatusOr<http::Response> {
    http::Response r;
    r.status = 422;
    r.body =
        R"({"status":"error","errorType":"execution","error":"many-to-many matching not allowed"})";
    return r;
  };
  auto api = client.Query("up");
  EXPECT_EQ(api.error().kind, ErrorKind::kApiError);
  EXPECT_EQ(api.error().error_type, "execution");
  t->answer = [](const http::Request&) -> StatusOr<http::Response> {
    http::Response r;
    r.status = 403;
    r.body = "Forbidden";
    return r;
  };
  EXPECT_EQ(client.Query("up").error().kind, ErrorKind::kUnauthorized);
}

TEST(Client, NeverLogsTheToken) {
  std::vector<std::string> lines;
  std::mutex mu;
  log::SetSink([&](std::string_view l) {
    std::lock_guard<std::mutex> lock(mu);
    lines.emplace_back(l);
  });
  ClientConfig c;
  c.base_url = "https://127.0.0.1:1";
  c.bearer_token = "TOPSECRET-TOKEN";
  c.insecure_skip_verify = true;
  c.timeout = std::chrono::milliseconds(2000);
  auto client = Client::Create(c);
  ASSERT_TRUE(client) << client.error().ToString();
  auto out = (*client)->Query("up");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::kUnavailable) << out.error().ToString();
  EXPECT_THAT(out.error().ToString(), Not(HasSubstr("TOPSECRET")));
  log::ResetSink();
  bool warned = false;
  for (const auto& l : lines) {
    EXPECT_THAT(l, Not(HasSubstr("TOPSECRET")));
    warned = warned || l.find("INSECURE_SKIP_VERIFY") != std::string::npos;
  }
  EXPECT_TRUE(warned);
}

// End to end over loopback against a fake Prometheus on the project's HTTP server.
TEST(Client, AgainstLoopbackServer) {
  http::HttpServer server;
  std::string seen_auth, seen_body;
  server.Route("POST", "/api/v1/query", [&](const http::ServerRequest& req, http::ServerResponse& res) {
    seen_auth = req.Header("Authorization").value_or("");
    seen_body = req.body;
    res.content_type = "application/json";
    res.body =
        R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"p"},"value":[1,"0.5"]}]}})";
  });
  auto port = server.Start("127.0.0.1", 0);
  ASSERT_TRUE(port);
  ClientConfig c;
  c.base_url = "http://127.0.0.1:" + std::to_string(*port);
  c.allow_http = true;
  auto client = Client::Create(c);
  ASSERT_TRUE(client);
  auto out = (*client)->Query("max(x)");
  ASSERT_TRUE(out) << out.error().ToString();
  ASSERT_EQ(out->samples.size(), 1u);
  EXPECT_DOUBLE_EQ(out->samples[0].point.value, 0.5);
  EXPECT_EQ(seen_auth, "");
  EXPECT_EQ(seen_body, "query=max%28x%29&timeout=10s");
}

TEST(Exposition, MetricsAndProbes) {
  WvaMetrics metrics;
  metrics.SetVariant({"v", "ns", "L40S"}, 3, 2);
  http::HttpServer server;
  AddMetricsRoute(server, metrics);
  bool ready = false;
  AddProbeRoutes(server, nullptr, [&] {
    return ready ? OkStatus() : UnavailableError("waiting for the first optimization cycle");
  });
  auto port = server.Start("127.0.0.1", 0);
  ASSERT_TRUE(port);
  http::ClientOptions o;
  auto hc = http::CurlHttpClient::Create(o);
  ASSERT_TRUE(hc);
  auto get = [&](std::string path) {
    http::Request r;
    r.url = "http://127.0.0.1:" + std::to_string(*port) + path;
    return (*hc)->Do(r);
  };
  auto m = get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_THAT(
      m->body,
      HasSubstr(
          R"(wva_desired_replicas{accelerator_type="L40S",exported_namespace="ns",namespace="ns",variant_name="v"} 3)"));
  EXPECT_THAT(m->Header("content-type").value_or(""), HasSubstr("version=0.0.4"));
  auto h = get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  auto r = get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_THAT(r->body, HasSubstr("first optimization cycle"));
  ready = true;
  EXPECT_EQ(get("/readyz")->status, 200);
}

TEST(ParseBindAddress, Forms) {
  auto a = ParseBindAddress(":8080");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "0.0.0.0");
  EXPECT_EQ(a->port, 8080);
  a = ParseBindAddress("127.0.0.1:0");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 0);
  a = ParseBindAddress("[::1]:9");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");
  a = ParseBindAddress("0");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->disabled);
  EXPECT_FALSE(ParseBindAddress("8080"));
  EXPECT_FALSE(ParseBindAddress(":http"));
  EXPECT_FALSE(ParseBindAddress(":70000"));
}

}  // namespace
}  // namespace wva::prom
