// Calibration samples from a scripted Prometheus: query text and grouping, derived ITL and
// prefill samples, data hygiene, the queue-wait rule, failures, and a constant query count.
#include "prom/calibration.h"

#include "prom/metrics.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "prom/fake_querier_test.h"

#include <functional>
#include <map>

namespace wva::prom {
namespace {

using testing::FakeQuerier;
using testing::S;
using testing::Vector;

bool Has(std::string_view text, std::string_view needle) {
  return text.find(needle) != std::string_view::npos;
}

// Which series a query reads (the longest matching name, so `_sum` and `_count` differ).
std::string SeriesOf(std::string_view q) {
  for (const char* s :
       {"vllm:inter_token_latency_seconds_sum", "vllm:inter_token_latency_seconds_count",
        "vllm:num_requests_running", "vllm:time_to_first_token_seconds_sum",
        "vllm:time_to_first_token_seconds_count", "vllm:request_queue_time_seconds_sum",
        "vllm:request_queue_time_seconds_count", "vllm:num_requests_waiting",
        "vllm:request_prompt_tokens_sum", "vllm:request_prompt_tokens_count",
        "vllm:request_generation_tokens_sum", "vllm:request_generation_tokens_count"}) {
    if (Has(q, std::string(s) + "{")) {
      return s;
    }
  }
  return "";
}

// Per series, the samples to answer with.
using Script = std::map<std::string, std::vector<Sample>>;

FakeQuerier Scripted(Script script) {
  FakeQuerier q;
  q.answer = [script](std::string_view text) -> QueryOutcome {
    auto it = script.find(SeriesOf(text));
    return Vector(it == script.end() ? std::vector<Sample>{} : it->second);
  };
  return q;
}

// One healthy pod: 20 ms mean ITL at batch 8 over 400 tokens/s; TTFT 300 ms of which 100 ms
// queue over 2 req/s; 1000-token prompts, 200-token outputs.
Script Healthy(const std::string& ns, const std::string& model, const std::string& pod) {
  return {{"vllm:inter_token_latency_seconds_sum", {S(ns, model, pod, 400 * 0.020)}},
          {"vllm:inter_token_latency_seconds_count", {S(ns, model, pod, 400)}},
          {"vllm:num_requests_running", {S(ns, model, pod, 8)}},
          {"vllm:time_to_first_token_seconds_sum", {S(ns, model, pod, 2 * 0.300)}},
          {"vllm:time_to_first_token_seconds_count", {S(ns, model, pod, 2)}},
          {"vllm:request_queue_time_seconds_sum", {S(ns, model, pod, 2 * 0.100)}},
          {"vllm:request_queue_time_seconds_count", {S(ns, model, pod, 2)}},
          {"vllm:num_requests_waiting", {S(ns, model, pod, 1.5)}},
          {"vllm:request_prompt_tokens_sum", {S(ns, model, pod, 2 * 1000)}},
          {"vllm:request_prompt_tokens_count", {S(ns, model, pod, 2)}},
          {"vllm:request_generation_tokens_sum", {S(ns, model, pod, 2 * 200)}},
          {"vllm:request_generation_tokens_count", {S(ns, model, pod, 2)}}};
}

TEST(CollectCalibration, NoModelsNoQueries) {
  FakeQuerier q = Scripted({});
  auto snap = CollectCalibration(q, {});
  EXPECT_EQ(snap.queries, 0);
  EXPECT_TRUE(q.queries.empty());
}

TEST(CollectCalibration, QueryTextAndDerivedSamples) {
  FakeQuerier q = Scripted(Healthy("prod", "meta/llama", "l-0"));
  CollectOptions o;
  o.window = "2m";
  auto snap = CollectCalibration(q, {{"prod", "meta/llama"}, {"dev", "qwen.7b"}}, o);
  EXPECT_TRUE(snap.ok());
  EXPECT_EQ(snap.queries, 12);
  ASSERT_EQ(q.queries.size(), 12u);
  // RE2-quoted ('/' and '.' escaped), each backslash doubled once for the PromQL string: the
  // regex Prometheus compiles is meta\/llama|qwen\.7b, matching the names literally.
  const std::string m = R"({namespace=~"dev|prod",model_name=~"meta\\/llama|qwen\\.7b"}[2m])";
  EXPECT_EQ(q.queries[0],
            "sum by (namespace, model_name, pod) "
            "(rate(vllm:inter_token_latency_seconds_sum" +
                m + "))");
  EXPECT_EQ(q.queries[1],
            "sum by (namespace, model_name, pod) "
            "(rate(vllm:inter_token_latency_seconds_count" +
                m + "))");
  EXPECT_EQ(q.queries[2],
            "avg by (namespace, model_name, pod) "
            "(avg_over_time(vllm:num_requests_running" +
                m + "))");
  EXPECT_EQ(q.queries[5],
            "sum by (namespace, model_name, pod) "
            "(rate(vllm:request_queue_time_seconds_sum" +
                m + "))");
  EXPECT_EQ(q.queries[7],
            "avg by (namespace, model_name, pod) "
            "(avg_over_time(vllm:num_requests_waiting" +
                m + "))");
  EXPECT_EQ(q.queries[9],
            "sum by (namespace, model_name, pod) "
            "(rate(vllm:request_prompt_tokens_count" +
                m + "))");
  EXPECT_EQ(q.queries[10],
            "sum by (namespace, model_name, pod) "
            "(rate(vllm:request_generation_tokens_sum" +
                m + "))");
  EXPECT_EQ(q.queries[11],
            "sum by (namespace, model_name, pod) "
            "(rate(vllm:request_generation_tokens_count" +
                m + "))");

  ASSERT_EQ(snap.models.size(), 2u);
  EXPECT_TRUE(snap.models.at({"dev", "qwen.7b"}).pods.empty());
  const auto& pods = snap.models.at({"prod", "meta/llama"}).pods;
  ASSERT_EQ(pods.size(), 1u);
  const PodCalibrationSample& p = pods.at("l-0");
  ASSERT_TRUE(p.itl.has_value()) << p.itl_skipped;
  EXPECT_DOUBLE_EQ(p.itl->running_batch, 8);
  EXPECT_NEAR(p.itl->itl_ms, 20, 1e-9);
  EXPECT_DOUBLE_EQ(p.itl->weight, 400);
  EXPECT_DOUBLE_EQ(p.itl->prompt_tokens, 1000);  // for the prefill stalls in the ITL
  EXPECT_DOUBLE_EQ(p.itl->output_tokens, 200);
  ASSERT_TRUE(p.prefill.has_value()) << p.prefill_skipped;
  EXPECT_NEAR(p.prefill->prefill_ms, 200, 1e-9);  // 300 ms TTFT − 100 ms queue
  EXPECT_DOUBLE_EQ(p.prefill->prompt_tokens, 1000);
  EXPECT_DOUBLE_EQ(p.prefill->weight, 2);
  EXPECT_FALSE(p.prefill->queue_assumed_zero);
}

TEST(CollectCalibration, GroupsByPodAndSkipsUnmanagedPairs) {
  Script s = Healthy("prod", "a", "a-0");
  for (auto& [series, samples] : Healthy("prod", "a", "a-1")) {
    for (auto& x : samples) {
      s[series].push_back(x);
    }
  }
  for (auto& [series, samples] : Healthy("dev", "b", "b-0")) {
    for (auto& x : samples) {
      s[series].push_back(x);
    }
  }
  // Model "a" is managed in prod only: its series in dev are not ours.
  s["vllm:num_requests_running"].push_back(S("dev", "a", "x-0", 3));
  s["vllm:num_requests_running"][1].point.value = 16;  // a-1 runs a bigger batch
  FakeQuerier q = Scripted(s);
  auto snap = CollectCalibration(q, {{"prod", "a"}, {"dev", "b"}});
  ASSERT_EQ(snap.models.at({"prod", "a"}).pods.size(), 2u);
  EXPECT_DOUBLE_EQ(snap.models.at({"prod", "a"}).pods.at("a-1").itl->running_batch, 16);
  EXPECT_DOUBLE_EQ(snap.models.at({"prod", "a"}).pods.at("a-0").itl->running_batch, 8);
  ASSERT_EQ(snap.models.at({"dev", "b"}).pods.size(), 1u);
  EXPECT_EQ(snap.unmanaged_series, 1);
}

TEST(CollectCalibration, BadValuesAreDroppedByName) {
  Script s = Healthy("ns", "m", "p");
  s["vllm:inter_token_latency_seconds_sum"] = {S("ns", "m", "p", 0, ValueClass::kNaN)};
  s["vllm:time_to_first_token_seconds_sum"] = {S("ns", "m", "p", -1)};
  s["vllm:num_requests_running"].push_back(S("ns", "m", "", 3));
  s["vllm:request_prompt_tokens_sum"] = {S("ns", "m", "p", 0, ValueClass::kPosInf)};
  FakeQuerier q = Scripted(s);
  auto snap = CollectCalibration(q, {{"ns", "m"}});
  const auto& m = snap.models.at({"ns", "m"});
  ASSERT_EQ(m.dropped.size(), 4u);
  EXPECT_EQ(m.dropped[0].metric, "vllm:inter_token_latency_seconds_sum");
  EXPECT_EQ(m.dropped[0].reason, "nan");
  EXPECT_EQ(m.dropped[1].reason, "no_pod_label");
  EXPECT_EQ(m.dropped[2].metric, "vllm:time_to_first_token_seconds_sum");
  EXPECT_EQ(m.dropped[2].reason, "negative");
  EXPECT_EQ(m.dropped[3].reason, "+inf");
  const PodCalibrationSample& p = m.pods.at("p");
  EXPECT_FALSE(p.itl);
  EXPECT_EQ(p.itl_skipped, "no inter-token latency series");
  EXPECT_FALSE(p.prefill);
  EXPECT_EQ(p.prefill_skipped, "no time-to-first-token series");
}

TEST(CollectCalibration, ZeroCountsGiveNoSample) {
  Script s = Healthy("ns", "m", "p");
  s["vllm:inter_token_latency_seconds_sum"] = {S("ns", "m", "p", 0)};
  s["vllm:inter_token_latency_seconds_count"] = {S("ns", "m", "p", 0)};
  s["vllm:time_to_first_token_seconds_count"] = {S("ns", "m", "p", 0)};
  FakeQuerier q = Scripted(s);
  auto snap = CollectCalibration(q, {{"ns", "m"}});
  const PodCalibrationSample& p = snap.models.at({"ns", "m"}).pods.at("p");
  EXPECT_FALSE(p.itl);
  EXPECT_EQ(p.itl_skipped, "no tokens in the window");
  EXPECT_FALSE(p.prefill);
  EXPECT_EQ(p.prefill_skipped, "no first tokens in the window");
  EXPECT_TRUE(p.rates.itl_count.has_value());                // read, just empty
  EXPECT_TRUE(snap.models.at({"ns", "m"}).dropped.empty());  // zero is a value, not garbage
}

// Without a queue-time mean the wait counts as 0 only when nothing waited; otherwise the pod gives
// no prefill sample (its TTFT includes an unknown wait).
TEST(CollectCalibration, QueueWaitRule) {
  struct Case {
    const char* name;
    bool queue_series;
    double queue_count;
    std::optional<double> waiting;
    bool expect_prefill;
    double prefill_ms;
    bool assumed_zero;
  } cases[] = {
      {"measured", true, 2, 1.5, true, 200, false},
      {"absent-idle", false, 0, 0.0, true, 300, true},
      {"absent-busy", false, 0, 0.5, false, 0, false},
      {"empty-idle", true, 0, 0.005, true, 300, true},
      {"empty-busy", true, 0, 3.0, false, 0, false},
      {"absent-no-gauge", false, 0, std::nullopt, false, 0, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Script s = Healthy("ns", "m", "p");
    if (!c.queue_series) {
      s.erase("vllm:request_queue_time_seconds_sum");
      s.erase("vllm:request_queue_time_seconds_count");
    } else if (c.queue_count == 0) {
      s["vllm:request_queue_time_seconds_sum"] = {S("ns", "m", "p", 0)};
      s["vllm:request_queue_time_seconds_count"] = {S("ns", "m", "p", 0)};
    }
    if (c.waiting) {
      s["vllm:num_requests_waiting"] = {S("ns", "m", "p", *c.waiting)};
    } else {
      s.erase("vllm:num_requests_waiting");
    }
    FakeQuerier q = Scripted(s);
    auto snap = CollectCalibration(q, {{"ns", "m"}});
    const PodCalibrationSample& p = snap.models.at({"ns", "m"}).pods.at("p");
    ASSERT_EQ(p.prefill.has_value(), c.expect_prefill) << p.prefill_skipped;
    if (c.expect_prefill) {
      EXPECT_NEAR(p.prefill->prefill_ms, c.prefill_ms, 1e-9);
      EXPECT_EQ(p.prefill->queue_assumed_zero, c.assumed_zero);
    } else {
      EXPECT_TRUE(Has(p.prefill_skipped, "no queue-time mean")) << p.prefill_skipped;
    }
    EXPECT_TRUE(p.itl.has_value());  // the decode sample does not depend on the queue
  }
}

// The observed ITL includes prefill stalls the controller can only remove knowing the window's
// mean prompt and output lengths: without them (or with no decode step) there is no ITL sample.
TEST(CollectCalibration, ItlSampleNeedsPromptAndOutputMeans) {
  struct Case {
    const char* name;
    std::function<void(Script&)> edit;
    const char* why;
  } cases[] = {
      {"no-output-series", [](Script& s) { s.erase("vllm:request_generation_tokens_sum"); },
       "no output-token mean in the window"},
      {"no-finished-requests",
       [](Script& s) {
         s["vllm:request_generation_tokens_sum"] = {S("ns", "m", "p", 0)};
         s["vllm:request_generation_tokens_count"] = {S("ns", "m", "p", 0)};
       },
       "no output-token mean in the window"},
      {"single-token-outputs",
       [](Script& s) { s["vllm:request_generation_tokens_sum"] = {S("ns", "m", "p", 2 * 1)}; },
       "mean output length 1 tokens: no decode steps"},
      {"no-prompt-series", [](Script& s) { s.erase("vllm:request_prompt_tokens_count"); },
       "no prompt-token mean in the window"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Script s = Healthy("ns", "m", "p");
    c.edit(s);
    FakeQuerier q = Scripted(s);
    auto snap = CollectCalibration(q, {{"ns", "m"}});
    const PodCalibrationSample& p = snap.models.at({"ns", "m"}).pods.at("p");
    EXPECT_FALSE(p.itl.has_value());
    EXPECT_EQ(p.itl_skipped, c.why);
  }
}

TEST(CollectCalibration, QueueLongerThanTtftGivesNoPrefillSample) {
  Script s = Healthy("ns", "m", "p");
  s["vllm:request_queue_time_seconds_sum"] = {S("ns", "m", "p", 2 * 0.5)};  // 500 ms > 300 ms
  FakeQuerier q = Scripted(s);
  auto snap = CollectCalibration(q, {{"ns", "m"}});
  const PodCalibrationSample& p = snap.models.at({"ns", "m"}).pods.at("p");
  EXPECT_FALSE(p.prefill);
  EXPECT_TRUE(Has(p.prefill_skipped, "not positive")) << p.prefill_skipped;
}

TEST(CollectCalibration, FailedQueryIsNamedAndTheRestStillCounts) {
  FakeQuerier q;
  const Script s = Healthy("ns", "m", "p");
  q.answer = [&s](std::string_view text) -> QueryOutcome {
    const std::string series = SeriesOf(text);
    if (series == "vllm:request_queue_time_seconds_count") {
      return tl::unexpected(QueryError{ErrorKind::kTimeout, "deadline", 0, ""});
    }
    if (series == "vllm:num_requests_waiting") {
      QueryResult r;  // a matrix where a vector was asked for
      r.type = ResultType::kMatrix;
      return r;
    }
    return Vector(s.at(series));
  };
  prom::WvaMetrics metrics;
  CollectOptions o;
  o.metrics = &metrics;
  auto snap = CollectCalibration(q, {{"ns", "m"}}, o);
  EXPECT_FALSE(snap.ok());
  EXPECT_EQ(snap.queries, 12);
  ASSERT_EQ(snap.failures.size(), 2u);
  EXPECT_EQ(snap.failures[0].metric, "vllm:request_queue_time_seconds_count");
  EXPECT_EQ(snap.failures[0].error.kind, ErrorKind::kTimeout);
  EXPECT_EQ(snap.failures[1].metric, "vllm:num_requests_waiting");
  EXPECT_EQ(snap.failures[1].error.kind, ErrorKind::kBadResponse);
  const PodCalibrationSample& p = snap.models.at({"ns", "m"}).pods.at("p");
  EXPECT_TRUE(p.itl.has_value());
  // No queue mean and no waiting gauge: the conservative rule gives no prefill sample.
  EXPECT_FALSE(p.prefill.has_value());
  const std::string text = metrics.Serialize();
  EXPECT_TRUE(Has(
      text, R"(wva_prometheus_query_errors_total{query_type="calibration",reason="timeout"} 1)"))
      << text;
}

TEST(CollectCalibration, QueryCountConstantAsModelsGrow) {
  for (int n : {1, 100}) {
    FakeQuerier q;
    q.answer = [n](std::string_view text) -> QueryOutcome {
      std::vector<Sample> samples;
      const std::string series = SeriesOf(text);
      for (int i = 0; i < n; ++i) {
        const Script h = Healthy(fmt::format("ns{}", i % 7), fmt::format("model-{}", i),
                                 fmt::format("pod-{}", i));
        samples.push_back(h.at(series).front());
      }
      return Vector(samples);
    };
    std::vector<ModelKey> models;
    for (int i = 0; i < n; ++i) {
      models.push_back({fmt::format("ns{}", i % 7), fmt::format("model-{}", i)});
    }
    auto snap = CollectCalibration(q, models);
    EXPECT_EQ(snap.queries, 12) << n;
    EXPECT_EQ(q.queries.size(), 12u) << n;
    ASSERT_EQ(snap.models.size(), static_cast<size_t>(n));
    for (const auto& [key, m] : snap.models) {
      ASSERT_EQ(m.pods.size(), 1u) << key.model;
      EXPECT_TRUE(m.pods.begin()->second.itl && m.pods.begin()->second.prefill) << key.model;
    }
  }
}

}  // namespace
}  // namespace wva::prom
