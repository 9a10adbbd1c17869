// Unit tests for the HTTP transport: line framer, server <-> curl client round trips on
// 127.0.0.1 port 0, streaming, cancellation, dropped connections.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "http/curl_client.h"
#include "http/line_framer.h"
#include "http/server.h"
#include "http/tls.h"

#include <cstdio>
#include <fstream>

namespace wva::http {
namespace {

std::vector<std::string> Frame(LineFramer& f, std::string_view data) {
  std::vector<std::string> out;
  EXPECT_TRUE(f.Feed(data, [&](std::string_view l) {
                 out.emplace_back(l);
                 return true;
               }).ok());
  return out;
}

TEST(LineFramer, SplitsAcrossChunks) {
  LineFramer f;
  EXPECT_TRUE(Frame(f, "{\"a\":").empty());
  EXPECT_EQ(f.pending(), 5u);
  auto lines = Frame(f, "1}\n{\"b\":2}\r\n\n{\"c\"");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "{\"a\":1}");
  EXPECT_EQ(lines[1], "{\"b\":2}");
  EXPECT_EQ(f.pending(), 4u);
  lines = Frame(f, ":3}\n");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "{\"c\":3}");
  EXPECT_EQ(f.pending(), 0u);
}

TEST(LineFramer, RejectsOversizedLine) {
  LineFramer f(8);
  auto st = f.Feed("0123456789\n", [](std::string_view) { return true; });
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  st = f.Feed("0123456789", [](std::string_view) { return true; });
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(f.pending(), 0u);
  EXPECT_EQ(Frame(f, "ok\n").size(), 1u);
}

TEST(LineFramer, StopEarlyKeepsRest) {
  LineFramer f;
  int n = 0;
  ASSERT_TRUE(f.Feed("a\nb\nc\n", [&](std::string_view) { return ++n < 1; }).ok());
  EXPECT_EQ(n, 1);
  EXPECT_EQ(f.pending(), 4u);
}

class HttpRoundTrip : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Route("GET", "/hello", [](const ServerRequest& req, ServerResponse& res) {
      res.body = "hi " + req.Query("name") + " " + req.Header("authorization").value_or("-");
      res.headers.emplace_back("X-Test", "yes");
    });
    server_.Route("POST", "/echo", [](const ServerRequest& req, ServerResponse& res) {
      res.status = 201;
      res.content_type = "application/json";
      res.body = req.body;
    });
    server_.Route("GET", "/stream", [](const ServerRequest&, ServerResponse& res) {
      res.stream = [](const ChunkWriter& w) {
        for (int i = 0; i < 3; ++i) {
          if (!w("line" + std::to_string(i) + "\n")) {
            return false;
          }
        }
        return true;
      };
    });
    server_.Route("GET", "/drop", [](const ServerRequest&, ServerResponse& res) {
      res.stream = [](const ChunkWriter& w) {
        w("{\"complete\":1}\n{\"trunc");
        return false;
      };
    });
    server_.Route("GET", "/forever", [this](const ServerRequest&, ServerResponse& res) {
      res.stream = [this](const ChunkWriter& w) {
        while (!stop_.load()) {
          if (!w("tick\n")) {
            return false;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return true;
      };
    });
    server_.Route("GET", "/prefix/*",
                  [](const ServerRequest& req, ServerResponse& res) { res.body = req.path; });
    auto port = server_.Start();
    ASSERT_TRUE(port.has_value()) << port.error().ToString();
    base_ = "http://127.0.0.1:" + std::to_string(*port);
    ClientOptions opts;
    opts.bearer_token = [] { return std::string("s3cret"); };
    auto c = CurlHttpClient::Create(opts);
    ASSERT_TRUE(c.has_value());
    client_ = std::move(*c);
  }
  void TearDown() override {
    stop_ = true;
    server_.Stop();
  }
  HttpServer server_;
  std::unique_ptr<CurlHttpClient> client_;
  std::string base_;
  std::atomic<bool> stop_{false};
};

TEST_F(HttpRoundTrip, GetWithQueryAndBearer) {
  auto r = client_->Do(Request::Get(base_ + "/hello?name=" + UrlEncode("a b")));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hi a b Bearer s3cret");
  EXPECT_EQ(r->Header("x-test").value_or(""), "yes");
  EXPECT_EQ(r->Header("X-TEST").value_or(""), "yes");
}

TEST_F(HttpRoundTrip, PostBodyAndStatus) {
  auto r = client_->Do(Request::With("POST", base_ + "/echo", "{\"x\":1}"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "{\"x\":1}");
  auto nf = client_->Do(Request::Get(base_ + "/nope"));
  ASSERT_TRUE(nf.has_value());
  EXPECT_EQ(nf->status, 404);
  auto p = client_->Do(Request::Get(base_ + "/prefix/a/b"));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->body, "/prefix/a/b");
}

TEST_F(HttpRoundTrip, StreamDeliversLines) {
  std::vector<std::string> lines;
  LineFramer framer;
  auto r = client_->Stream(
      Request::Get(base_ + "/stream"),
      [&](std::string_view chunk) {
        return framer
            .Feed(chunk,
                  [&](std::string_view l) {
                    lines.emplace_back(l);
                    return true;
                  })
            .ok();
      },
      nullptr);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(lines, (std::vector<std::string>{"line0", "line1", "line2"}));
}

TEST_F(HttpRoundTrip, DroppedConnectionIsUnavailableAndKeepsPartial) {
  LineFramer framer;
  int complete = 0;
  auto r = client_->Stream(
      Request::Get(base_ + "/drop"),
      [&](std::string_view chunk) {
        return framer
            .Feed(chunk,
                  [&](std::string_view) {
                    ++complete;
                    return true;
                  })
            .ok();
      },
      nullptr);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable) << r.error().ToString();
  EXPECT_EQ(complete, 1);
  EXPECT_GT(framer.pending(), 0u);
}

TEST_F(HttpRoundTrip, CallbackStopAndCancelToken) {
  int n = 0;
  auto r = client_->Stream(
      Request::Get(base_ + "/forever"), [&](std::string_view) { return ++n < 3; }, nullptr);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kCancelled);

  CancelToken cancel;
  std::atomic<int> chunks{0};
  std::thread t([&] {
    while (chunks.load() < 2) {
      std::this_thread::yield();
    }
    cancel.Cancel();
  });
  auto r2 = client_->Stream(
      Request::Get(base_ + "/forever"),
      [&](std::string_view) {
        ++chunks;
        return true;
      },
      &cancel);
  t.join();
  ASSERT_FALSE(r2.has_value());
  EXPECT_EQ(r2.error().code(), StatusCode::kCancelled);
}

TEST(HttpClient, ConnectionRefusedIsUnavailable) {
  HttpServer s;
  auto port = s.Start();
  ASSERT_TRUE(port.has_value());
  s.Stop();
  auto c = CurlHttpClient::Create({});
  ASSERT_TRUE(c.has_value());
  auto r = (*c)->Do(Request::Get("http://127.0.0.1:" + std::to_string(*port) + "/"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable);
}

TEST(HttpClient, MissingCertFileIsInvalidArgument) {
  ClientOptions o;
  o.tls.ca_file = "/nonexistent/ca.crt";
  auto c = CurlHttpClient::Create(o);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code(), StatusCode::kInvalidArgument);
}

// --- TLS listener (the secure metrics endpoint's transport) ------------------------------------

StatusOr<Response> TlsGet(const std::string& url, const std::string& ca_pem) {
  ClientOptions opts;
  opts.tls.ca_pem = ca_pem;
  auto c = CurlHttpClient::Create(opts);
  if (!c) {
    return Err(c.error());
  }
  return (*c)->Do(Request::Get(url));
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

TEST(TlsServer, ServesHttpsWithAnInMemorySelfSignedCertificateAndRefusesPlainHttp) {
  auto pem = GenerateSelfSignedCert({"localhost", "127.0.0.1"}, std::chrono::hours(24));
  ASSERT_TRUE(pem.has_value()) << pem.error().ToString();
  auto creds = TlsCredentials::FromPem(*pem);
  ASSERT_TRUE(creds.has_value()) << creds.error().ToString();
  HttpServer server;
  server.Route("GET", "/metrics", [](const ServerRequest& req, ServerResponse& res) {
    res.body = "peer " + req.remote_addr;
  });
  server.EnableTls(*creds);
  EXPECT_TRUE(server.tls());
  auto port = server.Start();
  ASSERT_TRUE(port.has_value()) << port.error().ToString();
  const std::string path = "127.0.0.1:" + std::to_string(*port) + "/metrics";

  // Verified against the certificate itself (it is its own CA), by IP and by name.
  auto ok = TlsGet("https://" + path, pem->cert_pem);
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "peer 127.0.0.1");
  auto by_name = TlsGet("https://localhost:" + std::to_string(*port) + "/metrics", pem->cert_pem);
  ASSERT_TRUE(by_name.has_value()) << by_name.error().ToString();
  EXPECT_EQ(by_name->status, 200);

  // Another CA: the handshake fails (verification on).
  auto other = GenerateSelfSignedCert({"localhost"}, std::chrono::hours(1));
  ASSERT_TRUE(other.has_value());
  auto wrong = TlsGet("https://" + path, other->cert_pem);
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code(), StatusCode::kUnavailable);

  // Plain HTTP to the TLS port gets no HTTP answer.
  auto c = CurlHttpClient::Create({});
  ASSERT_TRUE(c.has_value());
  auto plain = (*c)->Do(Request::Get("http://" + path));
  EXPECT_TRUE(!plain.has_value() || plain->status != 200);
}

TEST(TlsServer, CertificateFilesAreReloadedWhenTheyChange) {
  char tmpl[] = "/tmp/tls_test.XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  auto first = GenerateSelfSignedCert({"127.0.0.1"}, std::chrono::hours(1));
  auto second = GenerateSelfSignedCert({"127.0.0.1"}, std::chrono::hours(1));
  ASSERT_TRUE(first.has_value() && second.has_value());
  WriteFile(dir + "/tls.crt", first->cert_pem);
  WriteFile(dir + "/tls.key", first->key_pem);
  auto creds = TlsCredentials::FromFiles(dir + "/tls.crt", dir + "/tls.key");
  ASSERT_TRUE(creds.has_value()) << creds.error().ToString();
  HttpServer server;
  server.Route("GET", "/metrics",
               [](const ServerRequest&, ServerResponse& res) { res.body = "m"; });
  server.EnableTls(*creds);
  auto port = server.Start();
  ASSERT_TRUE(port.has_value());
  const std::string url = "https://127.0.0.1:" + std::to_string(*port) + "/metrics";
  ASSERT_TRUE(TlsGet(url, first->cert_pem).has_value());

  // A mismatched pair (new certificate, old key) is not served: the previous one stays.
  WriteFile(dir + "/tls.crt", second->cert_pem);
  auto half = TlsGet(url, first->cert_pem);
  ASSERT_TRUE(half.has_value()) << half.error().ToString();
  EXPECT_EQ((*creds)->reloads(), 0);

  WriteFile(dir + "/tls.key", second->key_pem);  // rotation complete
  auto rotated = TlsGet(url, second->cert_pem);
  ASSERT_TRUE(rotated.has_value()) << rotated.error().ToString();
  EXPECT_EQ(rotated->status, 200);
  EXPECT_EQ((*creds)->reloads(), 1);
  EXPECT_FALSE(TlsGet(url, first->cert_pem).has_value());  // the old certificate is gone
  std::remove((dir + "/tls.crt").c_str());
  std::remove((dir + "/tls.key").c_str());
  std::remove(dir.c_str());
}

TEST(TlsServer, BadCertificateInputIsOneClearError) {
  auto pem = GenerateSelfSignedCert({"localhost"}, std::chrono::hours(1));
  auto other = GenerateSelfSignedCert({"localhost"}, std::chrono::hours(1));
  ASSERT_TRUE(pem.has_value() && other.has_value());
  auto mismatch = TlsCredentials::FromPem({pem->cert_pem, other->key_pem});
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_EQ(mismatch.error().code(), StatusCode::kInvalidArgument);
  auto missing = TlsCredentials::FromFiles("/nonexistent/tls.crt", "/nonexistent/tls.key");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message().find("/nonexistent/tls.crt"), std::string::npos);
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace wva::http
