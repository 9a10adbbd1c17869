// Integration tests against a real Prometheus (Debian's /usr/bin/prometheus, started on a random
// loopback port by scripts/testenv/prometheus) scraping the vLLM emulator and WVA's own /metrics.
// Label: integration. Prometheus scrapes every 1 s; its target discovery takes ~5 s to start.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "emulator/emulator.h"
#include "emulator/server.h"
#include "http/curl_client.h"
#include "http/server.h"
#include "prom/calibration.h"
#include "prom/client.h"
#include "prom/collect.h"
#include "prom/exposition.h"
#include "prom/metrics.h"
#include "prom/promql.h"
#include "prom/workload.h"

namespace wva::prom {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

std::string Script() { return std::string(WVA_SOURCE_DIR) + "/scripts/testenv/prometheus"; }

std::string MakeTempDir() {
  std::string tmpl = ::testing::TempDir() + "/wva-prom-XXXXXX";
  char* d = mkdtemp(tmpl.data());
  return d ? std::string(d) : "";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

// One Prometheus instance, stopped (by PID, through the script) on destruction.
class PrometheusInstance {
 public:
  // Returns false (with the log tail printed by the script) if it did not start.
  bool Start(const std::string& args) {
    dir_ = MakeTempDir();
    std::string cmd = Script() + " start " + dir_ + " " + args + " >/dev/null";
    if (std::system(cmd.c_str()) != 0) {
      return false;
    }
    url_ = ReadFile(dir_ + "/url");
    return !url_.empty();
  }
  void Stop() {
    if (dir_.empty()) {
      return;
    }
    std::string cmd = Script() + " stop " + dir_;
    (void)std::system(cmd.c_str());
  }
  ~PrometheusInstance() {
    Stop();
    if (!dir_.empty()) {
      (void)std::system(("rm -rf " + dir_).c_str());
    }
  }
  const std::string& url() const { return url_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_, url_;
};

bool WaitFor(const std::function<bool()>& cond, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) {
      return true;
    }
    std::this_thread::sleep_for(250ms);
  }
  return cond();
}

std::unique_ptr<Client> HttpClientFor(const std::string& url) {
  ClientConfig c;
  c.base_url = url;
  c.allow_http = true;
  c.timeout = 5s;
  auto client = Client::Create(c);
  EXPECT_TRUE(client) << client.error().ToString();
  return client ? std::move(*client) : nullptr;
}

// Number of samples of `promql` currently answered.
size_t Count(Client& client, const std::string& promql) {
  auto out = client.Query(promql);
  return out ? out->samples.size() : 0;
}

std::optional<double> Value(Client& client, const std::string& promql) {
  auto out = client.Query(promql);
  if (!out || out->samples.size() != 1) {
    return std::nullopt;
  }
  return out->samples[0].point.value;
}

// Prometheus scraping the emulator (fixed-mode pods) and WVA's /metrics.
class ScrapeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    emu_ = new emulator::Emulator(RealClock::Get(), nullptr);
    auto add = [](std::string ns, std::string model, std::string pod, double kv, double q) {
      emulator::PodSpec p;
      p.ns = ns;
      p.model = model;
      p.pod = pod;
      p.variant = pod.substr(0, pod.rfind('-'));
      p.fixed = {kv, q, 1};
      ASSERT_TRUE(emu_->AddPod(p).ok());
    };
    add("prod", "meta/llama-70b", "llama-l40s-0", 0.90, 7);
    add("prod", "meta/llama-70b", "llama-l40s-1", 0.40, 2);
    add("prod", "meta/llama-70b", "llama-a100-0", 0.55, 0);
    add("dev", "qwen\"odd\\name", "qwen-0", 0.20, 1);
    add("dev", "meta/llama-70b", "unmanaged-0", 0.99, 50);  // same model, unmanaged namespace
    emu_server_ = new emulator::EmulatorServer(*emu_);
    auto ep = emu_server_->Start("127.0.0.1", 0);
    ASSERT_TRUE(ep);

    metrics_ = new WvaMetrics();
    metrics_->SetVariant({"llama-l40s", "prod", "L40S"}, 3, 2);
    metrics_->SetVariant({"llama-a100", "prod", "A100"}, 1, 1);
    metrics_->SetVariantCost({"llama-l40s", "prod", "L40S"}, "5.0");
    metrics_->RecordOptimization(true, 0.02, RealClock::Get().WallNow());
    metrics_->RecordScaling("llama-l40s", "prod", "up", "saturation");
    wva_server_ = new http::HttpServer();
    AddMetricsRoute(*wva_server_, *metrics_);
    auto wp = wva_server_->Start("127.0.0.1", 0);
    ASSERT_TRUE(wp);

    prom_ = new PrometheusInstance();
    ASSERT_TRUE(prom_->Start("--interval 1s --target vllm=127.0.0.1:" + std::to_string(*ep) +
                             " --target wva=127.0.0.1:" + std::to_string(*wp)));
    client_ = HttpClientFor(prom_->url()).release();
    ASSERT_NE(client_, nullptr);
    // Discovery hands targets to the scraper after ~5 s; wait until both were scraped.
    ASSERT_TRUE(WaitFor([] { return Count(*client_, "up == 1") == 2; }, 30s))
        << "Prometheus never scraped both targets; log in " << prom_->dir();
  }
  static void TearDownTestSuite() {
    delete client_;
    delete prom_;
    if (wva_server_) {
      wva_server_->Stop();
    }
    delete wva_server_;
    delete metrics_;
    delete emu_server_;
    delete emu_;
  }

  static emulator::Emulator* emu_;
  static emulator::EmulatorServer* emu_server_;
  static WvaMetrics* metrics_;
  static http::HttpServer* wva_server_;
  static PrometheusInstance* prom_;
  static Client* client_;
};
emulator::Emulator* ScrapeTest::emu_ = nullptr;
emulator::EmulatorServer* ScrapeTest::emu_server_ = nullptr;
WvaMetrics* ScrapeTest::metrics_ = nullptr;
http::HttpServer* ScrapeTest::wva_server_ = nullptr;
PrometheusInstance* ScrapeTest::prom_ = nullptr;
Client* ScrapeTest::client_ = nullptr;

TEST_F(ScrapeTest, SpecQueriesReadOneMinutePeaks) {
  // The values were scraped at least once; now lower llama-l40s-0. The per-model queries take the
  // 1-minute peak, so the controller must still see 0.90 / 7 for it.
  ASSERT_TRUE(emu_->SetFixed("prod", "llama-l40s-0", 0.30, 1, std::nullopt).ok());
  std::string kv_now = R"(vllm:kv_cache_usage_perc{namespace="prod",pod="llama-l40s-0"})";
  ASSERT_TRUE(WaitFor([&] { return Value(*client_, kv_now) == 0.30; }, 10s))
      << "the lowered value was never scraped";

  // Single-model form (docs/reference.md).
  auto kv = client_->Query(ModelPeakQuery(kKvCacheUsageMetric, "prod", "meta/llama-70b"));
  ASSERT_TRUE(kv) << kv.error().ToString();
  std::map<std::string, double> by_pod;
  for (const auto& s : kv->samples) {
    by_pod[s.labels.at("pod")] = s.point.value;
  }
  EXPECT_EQ(by_pod.size(), 3u);
  EXPECT_DOUBLE_EQ(by_pod["llama-l40s-0"], 0.90);
  EXPECT_DOUBLE_EQ(by_pod["llama-l40s-1"], 0.40);
  EXPECT_DOUBLE_EQ(by_pod["llama-a100-0"], 0.55);

  // Batched collection: 2 queries for every managed model, split per model and pod.
  auto snap = CollectSaturation(*client_, {{"prod", "meta/llama-70b"}, {"dev", "qwen\"odd\\name"}});
  ASSERT_TRUE(snap.ok()) << snap.failures[0].error.ToString();
  EXPECT_EQ(snap.queries, 2);
  const auto& llama = snap.models.at({"prod", "meta/llama-70b"});
  ASSERT_EQ(llama.pods.size(), 3u);
  EXPECT_DOUBLE_EQ(*llama.pods.at("llama-l40s-0").kv, 0.90);
  EXPECT_DOUBLE_EQ(*llama.pods.at("llama-l40s-0").queue, 7);
  EXPECT_DOUBLE_EQ(*llama.pods.at("llama-l40s-1").queue, 2);
  EXPECT_DOUBLE_EQ(*llama.pods.at("llama-a100-0").queue, 0);
  const auto& qwen = snap.models.at({"dev", "qwen\"odd\\name"});
  ASSERT_EQ(qwen.pods.size(), 1u);
  EXPECT_DOUBLE_EQ(*qwen.pods.at("qwen-0").kv, 0.20);
  EXPECT_EQ(snap.unmanaged_series, 2);  // dev/meta/llama-70b (kv + queue)
}

// The SLO queries (workload rates and calibration samples) parse and split against a real
// Prometheus, with model names that need regex quoting ('/', '-', '"', '\'). The fixed-mode pods
// serve no requests, so every rate is 0: no calibration sample, but every pod and series answers.
TEST_F(ScrapeTest, SloWorkloadAndCalibrationQueriesParse) {
  const std::vector<ModelKey> models = {{"prod", "meta/llama-70b"}, {"dev", "qwen\"odd\\name"}};
  // rate() needs two scrapes inside the window.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto w = CollectWorkload(*client_, models);
        return w.ok() && w.models.count({"prod", "meta/llama-70b"}) &&
               w.models.at({"prod", "meta/llama-70b"}).complete();
      },
      20s))
      << "no workload rates for prod/meta/llama-70b";
  auto w = CollectWorkload(*client_, models);
  EXPECT_DOUBLE_EQ(w.models.at({"prod", "meta/llama-70b"}).success, 0);
  EXPECT_TRUE(w.models.count({"dev", "qwen\"odd\\name"}));
  EXPECT_FALSE(w.models.count({"dev", "meta/llama-70b"}));  // unmanaged pair

  auto snap = CollectCalibration(*client_, models);
  ASSERT_TRUE(snap.ok()) << snap.failures[0].metric << ": " << snap.failures[0].error.ToString();
  EXPECT_EQ(snap.queries, 12);
  const auto& llama = snap.models.at({"prod", "meta/llama-70b"});
  ASSERT_EQ(llama.pods.size(), 3u);
  EXPECT_TRUE(llama.dropped.empty());
  for (const auto& [pod, p] : llama.pods) {
    SCOPED_TRACE(pod);
    ASSERT_TRUE(p.rates.running.has_value());
    EXPECT_DOUBLE_EQ(*p.rates.running, 1);  // fixed running gauge
    ASSERT_TRUE(p.rates.itl_count.has_value());
    EXPECT_DOUBLE_EQ(*p.rates.itl_count, 0);
    EXPECT_TRUE(p.rates.queue_count.has_value());  // the emulator exports the queue histogram
    EXPECT_TRUE(p.rates.prompt_count.has_value());
    EXPECT_TRUE(p.rates.gen_count.has_value());
    EXPECT_FALSE(p.itl.has_value());
    EXPECT_EQ(p.itl_skipped, "no tokens in the window");
    EXPECT_EQ(p.prefill_skipped, "no first tokens in the window");
  }
  EXPECT_EQ(snap.models.at({"dev", "qwen\"odd\\name"}).pods.size(), 1u);
  EXPECT_GT(snap.unmanaged_series, 0);  // dev/meta/llama-70b
}

TEST_F(ScrapeTest, EmulatorExportsVllmTypes) {
  auto meta = client_->Query(R"(count by (__name__) ({__name__=~"vllm:.*",pod="llama-l40s-1"}))");
  ASSERT_TRUE(meta) << meta.error().ToString();
  std::set<std::string> names;
  for (const auto& s : meta->samples) {
    names.insert(s.labels.at("__name__"));
  }
  for (const char* n :
       {"vllm:kv_cache_usage_perc", "vllm:num_requests_waiting", "vllm:num_requests_running",
        "vllm:cache_config_info", "vllm:request_success_total", "vllm:request_prompt_tokens_bucket",
        "vllm:request_generation_tokens_count", "vllm:time_to_first_token_seconds_bucket",
        "vllm:inter_token_latency_seconds_sum", "vllm:request_queue_time_seconds_count"}) {
    EXPECT_TRUE(names.count(n)) << n;
  }
}

TEST_F(ScrapeTest, WvaMetricsRoundTrip) {
  EXPECT_EQ(
      Value(
          *client_,
          R"(wva_desired_replicas{variant_name="llama-l40s",namespace="prod",accelerator_type="L40S"})"),
      3);
  EXPECT_EQ(Value(*client_, R"(wva_current_replicas{variant_name="llama-l40s",namespace="prod"})"),
            2);
  EXPECT_EQ(Value(*client_, R"(wva_desired_ratio{variant_name="llama-l40s",namespace="prod"})"),
            1.5);
  EXPECT_EQ(
      Value(*client_, R"(wva_desired_replicas{variant_name="llama-a100",accelerator_type="A100"})"),
      1);
  EXPECT_EQ(Value(*client_, R"(wva_variant_cost_info{variant_name="llama-l40s",cost="5.0"})"), 1);
  EXPECT_EQ(Value(*client_, "wva_optimization_success_total"), 1);
  EXPECT_EQ(Value(*client_, R"(wva_replica_scaling_total{direction="up",reason="saturation"})"), 1);
  EXPECT_EQ(Value(*client_, R"(wva_optimization_duration_seconds_count{status="success"})"), 1);
  // A new decision reaches Prometheus on the next scrape.
  metrics_->SetVariant({"llama-l40s", "prod", "L40S"}, 4, 3);
  EXPECT_TRUE(WaitFor(
      [] { return Value(*client_, R"(wva_desired_replicas{variant_name="llama-l40s"})") == 4; },
      10s));
}

// Prometheus behind TLS (--web.config.file) with our CA, and with mTLS.
class TlsTest : public ::testing::Test {};

TEST_F(TlsTest, OurCaWorksWrongCaFailsClearly) {
  PrometheusInstance prom;
  ASSERT_TRUE(prom.Start("--tls"));
  ASSERT_EQ(prom.url().rfind("https://", 0), 0u);
  std::string pki = prom.dir() + "/pki";
  ClientConfig c;
  c.base_url = prom.url();
  c.ca_cert_path = pki + "/ca.crt";
  c.timeout = 5s;
  auto ok = Client::Create(c);
  ASSERT_TRUE(ok);
  auto out = (*ok)->Query("vector(1)");
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(out->samples.size(), 1u);

  // SNI / verification name from PROMETHEUS_SERVER_NAME (the cert has DNS:prometheus.test).
  c.server_name = "prometheus.test";
  auto sni = Client::Create(c);
  ASSERT_TRUE(sni);
  auto sni_out = (*sni)->Query("vector(1)");
  EXPECT_TRUE(sni_out) << sni_out.error().ToString();
  c.server_name = "not-in-cert.test";
  auto bad_sni = (*Client::Create(c))->Query("vector(1)");
  ASSERT_FALSE(bad_sni);
  EXPECT_EQ(bad_sni.error().kind, ErrorKind::kTls) << bad_sni.error().ToString();
  c.server_name.clear();

  c.ca_cert_path = pki + "/other-ca.crt";
  auto wrong = Client::Create(c);
  ASSERT_TRUE(wrong);
  auto err = (*wrong)->Query("vector(1)");
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().kind, ErrorKind::kTls) << err.error().ToString();
  std::cout << "wrong CA -> " << err.error().ToString() << "\n";
  EXPECT_THAT(err.error().ToString(), HasSubstr("prometheus tls:"));
  EXPECT_THAT(err.error().ToString(), HasSubstr("certificate"));
  EXPECT_THAT(err.error().ToString(), HasSubstr("PROMETHEUS_CA_CERT_PATH"));

  // Plain http to an https server is refused by configuration, not by the network.
  ClientConfig plain;
  plain.base_url = "http" + prom.url().substr(5);
  EXPECT_THAT(ValidateConfig(plain).message(), HasSubstr("HTTPS is required"));
}

TEST_F(TlsTest, MutualTls) {
  PrometheusInstance prom;
  ASSERT_TRUE(prom.Start("--mtls"));
  std::string pki = prom.dir() + "/pki";
  ClientConfig c;
  c.base_url = prom.url();
  c.ca_cert_path = pki + "/ca.crt";
  c.client_cert_path = pki + "/client.crt";
  c.client_key_path = pki + "/client.key";
  c.bearer_token = "not-checked-by-prometheus";
  c.timeout = 5s;
  auto out = (*Client::Create(c))->Query("vector(1)");
  ASSERT_TRUE(out) << out.error().ToString();
  c.client_cert_path.clear();
  c.client_key_path.clear();
  auto no_cert = (*Client::Create(c))->Query("vector(1)");
  ASSERT_FALSE(no_cert);
  EXPECT_THAT(no_cert.error().kind, ::testing::AnyOf(ErrorKind::kTls, ErrorKind::kUnavailable))
      << no_cert.error().ToString();
}

TEST(Unavailable, StoppedPrometheusIsUnavailableWithinTheTimeout) {
  PrometheusInstance prom;
  ASSERT_TRUE(prom.Start(""));
  auto client = HttpClientFor(prom.url());
  ASSERT_TRUE(client->Query("vector(1)"));
  prom.Stop();
  auto start = std::chrono::steady_clock::now();
  auto out = client->Query("vector(1)");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::kUnavailable) << out.error().ToString();
  EXPECT_THAT(out.error().ToString(), HasSubstr("prometheus unavailable"));
  std::cout << "stopped -> " << out.error().ToString() << "\n";
  EXPECT_LT(took, 5s);
  // Collection reports both metrics as failed, naming the reason.
  auto snap = CollectSaturation(*client, {{"ns", "m"}});
  ASSERT_EQ(snap.failures.size(), 2u);
  EXPECT_EQ(snap.failures[0].error.kind, ErrorKind::kUnavailable);
}

TEST(Unavailable, HangingServerTimesOut) {
  http::HttpServer server;
  std::atomic<bool> release{false};
  server.Route("POST", "/api/v1/query", [&](const http::ServerRequest&, http::ServerResponse& res) {
    for (int i = 0; i < 100 && !release.load(); ++i) {
      std::this_thread::sleep_for(50ms);
    }
    res.body = "{}";
  });
  auto port = server.Start("127.0.0.1", 0);
  ASSERT_TRUE(port);
  ClientConfig c;
  c.base_url = "http://127.0.0.1:" + std::to_string(*port);
  c.allow_http = true;
  c.timeout = 500ms;
  auto client = Client::Create(c);
  ASSERT_TRUE(client);
  auto start = std::chrono::steady_clock::now();
  auto out = (*client)->Query("up");
  auto took = std::chrono::steady_clock::now() - start;
  release = true;
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::kTimeout) << out.error().ToString();
  EXPECT_LT(took, 2s);
  server.Stop();
}

// The `wva emulate` binary as the acceptance checks use it: --port 0, a real Prometheus scrapes it.
TEST(EmulateCli, PrometheusScrapesWvaEmulate) {
  std::string dir = MakeTempDir();
  std::string port_file = dir + "/port";
  std::string bin = WVA_BINARY;
  std::vector<std::string> args = {
      bin,           "emulate",
      "--port",      "0",
      "--port-file", port_file,
      "--variant",   "namespace=prod,model=meta/llama,name=v,replicas=2,kv=0.6,queue=4"};
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, (dir + "/stdout").c_str(), O_WRONLY | O_CREAT, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, (dir + "/stderr").c_str(), O_WRONLY | O_CREAT, 0644);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      kill(pid, SIGTERM);
      int st = 0;
      waitpid(pid, &st, 0);
    }
  } reaper{pid};
  ASSERT_TRUE(WaitFor([&] { return !ReadFile(port_file).empty(); }, 10s)) << "no port file";
  std::string port = ReadFile(port_file);
  EXPECT_THAT(ReadFile(dir + "/stdout"), HasSubstr("listening on http://127.0.0.1:" + port));

  // Change one pod through the control API before Prometheus sees it.
  http::ClientOptions client_options;
  auto hc = http::CurlHttpClient::Create(client_options);
  ASSERT_TRUE(hc);
  http::Request put;
  put.method = "PUT";
  put.url = "http://127.0.0.1:" + port + "/control/pods/prod/v-1";
  put.body = R"({"kv":0.8,"waiting":9})";
  auto r = (*hc)->Do(put);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;

  PrometheusInstance prom;
  ASSERT_TRUE(prom.Start("--target vllm=127.0.0.1:" + port));
  auto client = HttpClientFor(prom.url());
  ASSERT_TRUE(WaitFor([&] { return Count(*client, "up == 1") == 1; }, 30s));
  auto snap = CollectSaturation(*client, {{"prod", "meta/llama"}});
  ASSERT_TRUE(snap.ok());
  const auto& pods = snap.models.at({"prod", "meta/llama"}).pods;
  ASSERT_EQ(pods.size(), 2u);
  EXPECT_DOUBLE_EQ(*pods.at("v-0").kv, 0.6);
  EXPECT_DOUBLE_EQ(*pods.at("v-0").queue, 4);
  EXPECT_DOUBLE_EQ(*pods.at("v-1").kv, 0.8);
  EXPECT_DOUBLE_EQ(*pods.at("v-1").queue, 9);
  (void)std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace wva::prom
