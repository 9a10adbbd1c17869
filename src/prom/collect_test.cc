#include "prom/collect.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "prom/fake_querier_test.h"

#include <functional>

namespace wva::prom {
namespace {

using testing::FakeQuerier;
using testing::S;
using testing::Vector;

TEST(CollectSaturation, NoModelsNoQueries) {
  FakeQuerier q;
  q.answer = [](std::string_view) -> QueryOutcome { return Vector({}); };
  auto snap = CollectSaturation(q, {});
  EXPECT_EQ(snap.queries, 0);
  EXPECT_TRUE(q.queries.empty());
}

TEST(CollectSaturation, SplitsPerModelAndPod) {
  FakeQuerier q;
  q.answer = [](std::string_view text) -> QueryOutcome {
    if (text.find("kv_cache_usage_perc") != std::string_view::npos) {
      return Vector({S("prod", "llama", "l-0", 0.75), S("prod", "llama", "l-1", 0.85),
                     S("dev", "qwen", "q-0", 0.5),
                     // managed model name but in a namespace where it is not managed
                     S("dev", "llama", "x-0", 0.9)});
    }
    return Vector(
        {S("prod", "llama", "l-0", 3), S("prod", "llama", "l-1", 6), S("dev", "qwen", "q-0", 0)});
  };
  auto snap = CollectSaturation(q, {{"prod", "llama"}, {"dev", "qwen"}});
  EXPECT_TRUE(snap.ok());
  EXPECT_EQ(snap.queries, 2);
  ASSERT_EQ(q.queries.size(), 2u);
  EXPECT_EQ(
      q.queries[0],
      R"(max by (namespace, model_name, pod) (max_over_time(vllm:kv_cache_usage_perc{namespace=~"dev|prod",model_name=~"llama|qwen"}[1m])))");
  EXPECT_EQ(
      q.queries[1],
      R"(max by (namespace, model_name, pod) (max_over_time(vllm:num_requests_waiting{namespace=~"dev|prod",model_name=~"llama|qwen"}[1m])))");
  ASSERT_EQ(snap.models.size(), 2u);
  const auto& llama = snap.models.at({"prod", "llama"});
  ASSERT_EQ(llama.pods.size(), 2u);
  EXPECT_DOUBLE_EQ(*llama.pods.at("l-0").kv, 0.75);
  EXPECT_DOUBLE_EQ(*llama.pods.at("l-0").queue, 3);
  EXPECT_DOUBLE_EQ(*llama.pods.at("l-1").kv, 0.85);
  EXPECT_DOUBLE_EQ(*llama.pods.at("l-1").queue, 6);
  const auto& qwen = snap.models.at({"dev", "qwen"});
  EXPECT_DOUBLE_EQ(*qwen.pods.at("q-0").queue, 0);
  EXPECT_EQ(snap.unmanaged_series, 1);
}

TEST(CollectSaturation, QueryCountConstantAsModelsGrow) {
  for (int n : {1, 10, 100, 1000}) {
    FakeQuerier q;
    q.answer = [n](std::string_view text) -> QueryOutcome {
      std::vector<Sample> samples;
      bool kv = text.find("kv_cache") != std::string_view::npos;
      for (int i = 0; i < n; ++i) {
        samples.push_back(S(fmt::format("ns{}", i % 7), fmt::format("model-{}", i),
                            fmt::format("pod-{}", i), kv ? 0.5 : 1));
      }
      return Vector(samples);
    };
    std::vector<ModelKey> managed;
    for (int i = 0; i < n; ++i) {
      managed.push_back({fmt::format("ns{}", i % 7), fmt::format("model-{}", i)});
    }
    auto snap = CollectSaturation(q, managed);
    EXPECT_EQ(snap.queries, 2) << n;
    EXPECT_EQ(q.queries.size(), 2u) << n;
    ASSERT_EQ(snap.models.size(), static_cast<size_t>(n));
    for (const auto& [key, m] : snap.models) {
      ASSERT_EQ(m.pods.size(), 1u) << key.model;
      EXPECT_TRUE(m.pods.begin()->second.kv && m.pods.begin()->second.queue);
    }
  }
}

TEST(CollectSaturation, DropsUnusableSamplesByName) {
  FakeQuerier q;
  q.answer = [](std::string_view text) -> QueryOutcome {
    if (text.find("kv_cache") != std::string_view::npos) {
      Sample nopod = S("ns", "m", "", 0.1);
      return Vector({S("ns", "m", "a", 0, ValueClass::kNaN),
                     S("ns", "m", "b", 0, ValueClass::kPosInf), S("ns", "m", "c", -0.1),
                     S("ns", "m", "d", 0.2), nopod});
    }
    return Vector({S("ns", "m", "a", 2), S("ns", "m", "b", 0, ValueClass::kNegInf)});
  };
  auto snap = CollectSaturation(q, {{"ns", "m"}});
  const auto& m = snap.models.at({"ns", "m"});
  ASSERT_EQ(m.pods.size(), 2u);
  EXPECT_FALSE(m.pods.at("a").kv);
  EXPECT_DOUBLE_EQ(*m.pods.at("a").queue, 2);
  EXPECT_DOUBLE_EQ(*m.pods.at("d").kv, 0.2);
  EXPECT_FALSE(m.pods.at("d").queue);
  ASSERT_EQ(m.dropped.size(), 5u);
  EXPECT_EQ(m.dropped[0].reason, "nan");
  EXPECT_EQ(m.dropped[1].reason, "+inf");
  EXPECT_EQ(m.dropped[2].reason, "negative");
  EXPECT_EQ(m.dropped[3].reason, "no_pod_label");
  EXPECT_EQ(m.dropped[4].reason, "-inf");
  EXPECT_EQ(m.dropped[4].metric, "queue");
}

TEST(CollectSaturation, FailurePerMetricKeepsTheOther) {
  FakeQuerier q;
  q.answer = [](std::string_view text) -> QueryOutcome {
    if (text.find("kv_cache") != std::string_view::npos) {
      return tl::unexpected<QueryError>(QueryError{ErrorKind::kUnavailable, "down", 0, ""});
    }
    return Vector({S("ns", "m", "a", 2)});
  };
  auto snap = CollectSaturation(q, {{"ns", "m"}});
  EXPECT_FALSE(snap.ok());
  ASSERT_EQ(snap.failures.size(), 1u);
  EXPECT_EQ(snap.failures[0].metric, "kv");
  EXPECT_EQ(snap.failures[0].error.kind, ErrorKind::kUnavailable);
  EXPECT_DOUBLE_EQ(*snap.models.at({"ns", "m"}).pods.at("a").queue, 2);
}

TEST(CollectSaturation, NonVectorIsBadResponse) {
  FakeQuerier q;
  q.answer = [](std::string_view) -> QueryOutcome {
    QueryResult r;
    r.type = ResultType::kScalar;
    r.samples.push_back({});
    return r;
  };
  auto snap = CollectSaturation(q, {{"ns", "m"}});
  ASSERT_EQ(snap.failures.size(), 2u);
  EXPECT_EQ(snap.failures[0].error.kind, ErrorKind::kBadResponse);
  EXPECT_TRUE(snap.models.at({"ns", "m"}).pods.empty());
}

}  // namespace
}  // namespace wva::prom
