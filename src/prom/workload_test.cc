// Workload rates for SLO sizing: query text (regex matchers escaped exactly once) and splitting.
#include "prom/workload.h"

#include <gtest/gtest.h>

#include "prom/fake_querier_test.h"

#include <functional>

namespace wva::prom {
namespace {

using testing::FakeQuerier;

// Regression: the alternation is already escaped for a PromQL string; escaping it a second time
// made Prometheus look for a literal backslash, so no model with '/', '.' or '-' in its name
// (nearly every real model ID) ever had a workload.
TEST(BatchedRateQuery, EscapesTheRegexOnce) {
  EXPECT_EQ(BatchedRateQuery("vllm:request_success_total", {"prod"}, {"meta/llama-3.1"}, "1m"),
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
    add("prod", "b", 0, text.find("success") != std::string_view::npos ? ValueClass::kNaN
                                                                        : ValueClass::kFinite);
    add("dev", "a", 9, ValueClass::kFinite);  // not managed there
    return r;
  };
  auto snap = CollectWorkload(q, {{"prod", "a"}, {"prod", "b"}});
  EXPECT_EQ(snap.queries, 5);
  EXPECT_TRUE(snap.ok());
  ASSERT_TRUE(snap.models.count({"prod", "a"}));
  EXPECT_TRUE(snap.models.at({"prod", "a"}).complete());
  EXPECT_DOUBLE_EQ(snap.models.at({"prod", "a"}).success, 4);
  EXPECT_FALSE(snap.models.at({"prod", "b"}).complete());  // NaN success dropped
  EXPECT_FALSE(snap.models.count({"dev", "a"}));
}

}  // namespace
}  // namespace wva::prom
