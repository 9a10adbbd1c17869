#include "emulator/emulator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "emulator/sim_model.h"

namespace wva::emulator {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

PodSpec Fixed(std::string ns, std::string model, std::string pod, double kv, double q) {
  PodSpec s;
  s.ns = ns;
  s.model = model;
  s.pod = pod;
  s.variant = "v";
  s.mode = PodMode::kFixed;
  s.fixed = {kv, q, 1};
  return s;
}

TEST(Emulator, FixedPodsExportVllmMetrics) {
  FakeClock clock;
  Emulator e(clock, nullptr);
  ASSERT_TRUE(e.AddPod(Fixed("prod", "meta/llama", "l-0", 0.75, 3)).ok());
  ASSERT_TRUE(e.AddPod(Fixed("prod", "meta/llama", "l-1", 0.85, 6)).ok());
  std::string text = e.RenderMetrics();
  EXPECT_THAT(text, HasSubstr("# TYPE vllm:kv_cache_usage_perc gauge"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(vllm:kv_cache_usage_perc{model_name="meta/llama",namespace="prod",pod="l-0"} 0.75)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(vllm:num_requests_waiting{model_name="meta/llama",namespace="prod",pod="l-1"} 6)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(vllm:num_requests_running{model_name="meta/llama",namespace="prod",pod="l-1"} 1)"));
  EXPECT_THAT(text, HasSubstr("# TYPE vllm:request_success_total counter"));
  EXPECT_THAT(text, HasSubstr("# TYPE vllm:time_to_first_token_seconds histogram"));
  EXPECT_THAT(text, HasSubstr("# TYPE vllm:inter_token_latency_seconds histogram"));
  EXPECT_THAT(text, HasSubstr("# TYPE vllm:request_queue_time_seconds histogram"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(vllm:request_queue_time_seconds_bucket{model_name="meta/llama",namespace="prod",pod="l-0",le="7680"} 0)"));
  EXPECT_THAT(text, HasSubstr("# TYPE vllm:request_prompt_tokens histogram"));
  EXPECT_THAT(text, HasSubstr("# TYPE vllm:request_generation_tokens histogram"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(vllm:cache_config_info{block_size="16",cache_dtype="auto",enable_prefix_caching="False",model_name="meta/llama",namespace="prod",num_gpu_blocks="2048",pod="l-0"} 1)"));
  EXPECT_FALSE(e.AddPod(Fixed("prod", "meta/llama", "l-0", 0, 0)).ok());
  PodSpec load = Fixed("prod", "m", "x", 0, 0);
  load.mode = PodMode::kLoad;
  EXPECT_EQ(e.AddPod(load).code(), StatusCode::kFailedPrecondition);
}

TEST(Emulator, ServesOnlyTheChosenFamilies) {
  FakeClock clock;
  Emulator e(clock, nullptr);
  ASSERT_TRUE(e.AddPod(Fixed("prod", "meta/llama", "l-0", 0.75, 3)).ok());
  e.set_served_families({"vllm:kv_cache_usage_perc", "vllm:num_requests_waiting"});
  const std::string text = e.RenderMetrics();
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(vllm:kv_cache_usage_perc{model_name="meta/llama",namespace="prod",pod="l-0"} 0.75)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(vllm:num_requests_waiting{model_name="meta/llama",namespace="prod",pod="l-0"} 3)"));
  EXPECT_THAT(text, Not(HasSubstr("vllm:num_requests_running")));
  EXPECT_THAT(text, Not(HasSubstr("vllm:time_to_first_token_seconds")));
  e.set_served_families({});
  EXPECT_THAT(e.RenderMetrics(), HasSubstr("vllm:time_to_first_token_seconds"));
}

TEST(Emulator, ControlApi) {
  FakeClock clock;
  Emulator e(clock, nullptr);
  auto r = e.HandleControl(
      "POST", "/control/pods",
      R"({"namespace":"ns","model":"m","pod":"p0","variant":"v","kv":0.5,"waiting":2})");
  EXPECT_EQ(r.status, 201) << r.body;
  r = e.HandleControl("POST", "/control/pods", R"({"namespace":"ns","model":"m","pod":"p0"})");
  EXPECT_EQ(r.status, 409) << r.body;
  r = e.HandleControl("POST", "/control/pods", R"({"namespace":"ns","pod":"p1"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("model"));
  r = e.HandleControl("POST", "/control/pods", "not json");
  EXPECT_EQ(r.status, 400);
  r = e.HandleControl("PUT", "/control/pods/ns/p0", R"({"kv":0.9,"waiting":7})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(e.RenderMetrics(),
              HasSubstr(R"(vllm:kv_cache_usage_perc{model_name="m",namespace="ns",pod="p0"} 0.9)"));
  r = e.HandleControl("PUT", "/control/pods/ns/p0", R"({"kv":"NaN"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(e.RenderMetrics(),
              HasSubstr(R"(vllm:kv_cache_usage_perc{model_name="m",namespace="ns",pod="p0"} Nan)"));
  r = e.HandleControl("PUT", "/control/pods/ns/p0", R"({"kv":"lots"})");
  EXPECT_EQ(r.status, 400);
  r = e.HandleControl("PUT", "/control/pods/ns/nope", R"({"kv":0.1})");
  EXPECT_EQ(r.status, 404);
  r = e.HandleControl("GET", "/control/pods", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr(R"("pod":"p0")"));
  EXPECT_THAT(r.body, HasSubstr(R"("waiting":7.0)"));
  r = e.HandleControl("PUT", "/control/load", R"({"namespace":"ns","model":"m","rate":1})");
  EXPECT_EQ(r.status, 400);  // fixed-only emulator
  r = e.HandleControl("DELETE", "/control/pods/ns/p0", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(e.pod_count(), 0u);
  EXPECT_THAT(e.RenderMetrics(), Not(HasSubstr("p0")));
  r = e.HandleControl("DELETE", "/control/pods/ns/p0", "");
  EXPECT_EQ(r.status, 404);
  r = e.HandleControl("GET", "/elsewhere", "");
  EXPECT_EQ(r.status, 404);
}

// The control API's "profile" is read by the one replica-profile parser: canonical keys and the
// older spellings set the same fields (seen in cache_config_info), conflicts and bad values are
// 400.
TEST(Emulator, ControlApiProfileKeys) {
  FakeClock clock;
  Emulator e(clock, nullptr);
  auto r =
      e.HandleControl("POST", "/control/pods",
                      R"({"namespace":"ns","model":"m","pod":"a","profile":{"numGpuBlocks":600,)"
                      R"("blockSize":32,"maxBatch":8}})");
  EXPECT_EQ(r.status, 201) << r.body;
  r = e.HandleControl(
      "POST", "/control/pods",
      R"({"namespace":"ns","model":"m","pod":"b","profile":{"kvCapacityTokens":9600}})");
  EXPECT_EQ(r.status, 201) << r.body;
  const std::string text = e.RenderMetrics();
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(block_size="32",cache_dtype="auto",enable_prefix_caching="False",model_name="m",namespace="ns",num_gpu_blocks="600",pod="a")"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(block_size="16",cache_dtype="auto",enable_prefix_caching="False",model_name="m",namespace="ns",num_gpu_blocks="600",pod="b")"));
  for (const char* bad : {R"({"maxBatch":8,"maxNumSeqs":8})", R"({"alphaMs":-1})",
                          R"({"maxNumSeqs":0})", R"({"speed":2})", R"({"blockSize":1.5})"}) {
    r = e.HandleControl(
        "POST", "/control/pods",
        std::string(R"({"namespace":"ns","model":"m","pod":"c","profile":)") + bad + "}");
    EXPECT_EQ(r.status, 400) << bad;
  }
  EXPECT_EQ(e.pod_count(), 2u);
}

TEST(Emulator, LoadDrivenPodsMoveWithTheWorkload) {
  FakeClock clock;
  Emulator e(clock, std::make_unique<SimLoadModel>(clock.Now(), /*seed=*/7));
  for (int i = 0; i < 2; ++i) {
    PodSpec s;
    s.ns = "ns";
    s.model = "m";
    s.pod = "p" + std::to_string(i);
    s.mode = PodMode::kLoad;
    s.profile.kv_capacity_tokens = 256 * 16;  // 4096 tokens: saturates quickly
    ASSERT_TRUE(e.AddPod(s).ok());
  }
  ASSERT_TRUE(e.SetArrivalRate("ns", "m", 20).ok());
  for (int i = 0; i < 100; ++i) {
    clock.Advance(100ms);
    e.Tick();
  }
  auto pods = e.ListPods()["pods"];
  ASSERT_EQ(pods.size(), 2u);
  for (const auto& p : pods) {
    EXPECT_EQ(p["mode"], "load");
    EXPECT_GT(p["kv"].get<double>(), 0.2) << p.dump();
  }
  std::string text = e.RenderMetrics();
  EXPECT_THAT(
      text,
      Not(HasSubstr(
          R"(vllm:request_success_total{finished_reason="length",model_name="m",namespace="ns",pod="p0"} 0)")));
  EXPECT_THAT(
      text,
      Not(HasSubstr(
          R"(vllm:time_to_first_token_seconds_count{model_name="m",namespace="ns",pod="p0"} 0)")));
  // Freezing a load-driven pod keeps its metrics and fixes its values.
  ASSERT_TRUE(e.SetFixed("ns", "p0", 0.1, 0, std::nullopt).ok());
  clock.Advance(1s);
  EXPECT_THAT(e.RenderMetrics(),
              HasSubstr(R"(vllm:kv_cache_usage_perc{model_name="m",namespace="ns",pod="p0"} 0.1)"));
  EXPECT_TRUE(e.SetLoadMode("ns", "p0").ok());
  EXPECT_TRUE(e.RemovePod("ns", "p1").ok());
  clock.Advance(1s);
  e.Tick();
}

// vllm:request_queue_time_seconds: observed once per finished request (as vLLM v1 does), from
// the load model's arrival -> first-scheduled time; its count follows the TTFT count.
TEST(Emulator, QueueTimeHistogramFollowsFinishedRequests) {
  FakeClock clock;
  Emulator e(clock, std::make_unique<SimLoadModel>(clock.Now(), /*seed=*/11));
  PodSpec s;
  s.ns = "ns";
  s.model = "m";
  s.pod = "p0";
  s.mode = PodMode::kLoad;
  s.profile.max_batch = 4;  // a small batch: requests queue
  ASSERT_TRUE(e.AddPod(s).ok());
  ASSERT_TRUE(e.SetArrivalRate("ns", "m", 8).ok());
  for (int i = 0; i < 200; ++i) {
    clock.Advance(100ms);
    e.Tick();
  }
  const std::string text = e.RenderMetrics();
  auto value = [&](const std::string& series) {
    const std::string key = series + R"({model_name="m",namespace="ns",pod="p0"} )";
    auto at = text.find(key);
    EXPECT_NE(at, std::string::npos) << series;
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + key.size()));
  };
  const double ttft_count = value("vllm:time_to_first_token_seconds_count");
  const double queue_count = value("vllm:request_queue_time_seconds_count");
  EXPECT_GT(queue_count, 10);
  EXPECT_EQ(queue_count, ttft_count);
  // Queue time is a part of TTFT, and with a saturated batch it is not zero.
  const double queue_sum = value("vllm:request_queue_time_seconds_sum");
  EXPECT_GT(queue_sum, 0);
  EXPECT_LT(queue_sum, value("vllm:time_to_first_token_seconds_sum"));
  EXPECT_EQ(RequestLatencyBuckets().back(), 7680.0);
}

TEST(TokenBuckets, OneTwoFive) {
  EXPECT_EQ(TokenBuckets(100), (std::vector<double>{1, 2, 5, 10, 20, 50, 100}));
}

}  // namespace
}  // namespace wva::emulator
