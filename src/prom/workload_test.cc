// Workload rates for SLO sizing: query text (regex matchers escaped exactly once) and splitting.
#include "prom/workload.h"

#include <gtest/gtest.h>

#include "prom/fake_querier_test.h"

#include <cmath>
#include <functional>

namespace wva::prom {
namespace {

using testing::FakeQuerier;

// Regression: the alternation is already escaped for a PromQL string; escaping it a second time
// made Prometheus look for a literal backslash, so no model with '/', '.' or '-' in its name
// (nearly every real model ID) ever had a workload.
TEST(BatchedRateQuery, EscapesTheRegexOnce) {
  EXPECT_EQ(
      BatchedRateQuery("vllm:request_success_total", {"prod"}, {"meta/llama-3.1"}, "1m"),
      R"(sum by (namespace, model_name) (rate(vllm:request_success_total{namespace=~"prod",model_name=~"meta\\/llama\\-3\\.1"}[1m])))");
}

TEST(CollectWorkload, SplitsPerModelAndDropsBadRates) {
  FakeQuerier q;
  q.answer = [](std::string_view text) -> QueryOutcome {
    QueryResult r;
    auto add = [&](std::string ns, std::string model, double v, ValueClass c) {
      Sample s;
      s.labels = {{"namespace", ns}, {"model_name", model}};
      s.point.value = v;
      s.point.value_class = c;
      r.samples.push_back(s);
    };
    add("prod", "a", 4, ValueClass::kFinite);
    add("prod", "b", 0,
        text.find("success") != std::string_view::npos ? ValueClass::kNaN : ValueClass::kFinite);
    add("dev", "a", 9, ValueClass::kFinite);  // not managed there
    return r;
  };
  auto snap = CollectWorkload(q, {{"prod", "a"}, {"prod", "b"}});
  EXPECT_EQ(snap.queries, 7);
  EXPECT_TRUE(snap.ok());
  ASSERT_TRUE(snap.models.count({"prod", "a"}));
  EXPECT_TRUE(snap.models.at({"prod", "a"}).complete());
  EXPECT_DOUBLE_EQ(snap.models.at({"prod", "a"}).success, 4);
  EXPECT_FALSE(snap.models.at({"prod", "b"}).complete());  // NaN success dropped
  EXPECT_FALSE(snap.models.count({"dev", "a"}));
}

// The TTFT and ITL histograms come back per model, sorted by bound; a model with an unusable
// bucket or without its +Inf bucket gets no histogram (no attainment this cycle), the rest do.
TEST(CollectWorkload, HistogramsPerModelSortedAndPartialOnesDropped) {
  FakeQuerier q;
  q.answer = [](std::string_view text) -> QueryOutcome {
    QueryResult r;
    if (text.find("_bucket") == std::string_view::npos) {
      return r;
    }
    auto add = [&](std::string model, std::string le, double v,
                   ValueClass c = ValueClass::kFinite) {
      Sample s;
      s.labels = {{"namespace", "prod"}, {"model_name", model}, {"le", le}};
      s.point.value = v;
      s.point.value_class = c;
      r.samples.push_back(s);
    };
    add("a", "+Inf", 10);
    add("a", "2.5", 9);
    add("a", "0.5", 4);
    add("b", "0.5", 1);  // no +Inf bucket
    add("c", "0.5", 1, ValueClass::kNaN);
    add("c", "+Inf", 2);
    return r;
  };
  auto snap = CollectWorkload(q, {{"prod", "a"}, {"prod", "b"}, {"prod", "c"}});
  const auto& a = snap.models.at({"prod", "a"}).ttft_buckets;
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0], (std::pair<double, double>{0.5, 4}));
  EXPECT_EQ(a[1], (std::pair<double, double>{2.5, 9}));
  EXPECT_TRUE(std::isinf(a[2].first));
  EXPECT_EQ(snap.models.at({"prod", "a"}).itl_buckets.size(), 3u);
  EXPECT_TRUE((snap.models[{"prod", "b"}].ttft_buckets.empty()));
  EXPECT_TRUE((snap.models[{"prod", "c"}].ttft_buckets.empty()));
}

}  // namespace
}  // namespace wva::prom
