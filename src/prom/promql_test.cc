#include "prom/promql.h"

#include <gtest/gtest.h>

namespace wva::prom {
namespace {

TEST(EscapeLabelValue, QuotesAndBackslashes) {
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeLabelValue(R"(a"b)"), R"(a\"b)");
  EXPECT_EQ(EscapeLabelValue(R"(a\b)"), R"(a\\b)");
  EXPECT_EQ(EscapeLabelValue("a\nb"), R"(a\nb)");
  EXPECT_EQ(EscapeLabelValue(R"(x\"}[1m]) or vector(1) #)"), R"(x\\\"}[1m]) or vector(1) #)");
}

TEST(ModelPeakQuery, MatchesSpec) {
  EXPECT_EQ(
      ModelPeakQuery(kKvCacheUsageMetric, "NS", "MODEL"),
      R"(max by (pod) (max_over_time(vllm:kv_cache_usage_perc{namespace="NS",model_name="MODEL"}[1m])))");
  EXPECT_EQ(
      ModelPeakQuery(kQueueLengthMetric, "prod", "meta/llama-70b"),
      R"(max by (pod) (max_over_time(vllm:num_requests_waiting{namespace="prod",model_name="meta/llama-70b"}[1m])))");
  EXPECT_EQ(
      ModelPeakQuery(kQueueLengthMetric, "p", R"(evil"name)"),
      R"(max by (pod) (max_over_time(vllm:num_requests_waiting{namespace="p",model_name="evil\"name"}[1m])))");
}

TEST(QuoteRegex, Metacharacters) {
  EXPECT_EQ(QuoteRegex("meta/llama-3.1"), R"(meta\/llama\-3\.1)");
  EXPECT_EQ(QuoteRegex("a|b(c)*+?[]{}^$"), R"(a\|b\(c\)\*\+\?\[\]\{\}\^\$)");
  EXPECT_EQ(QuoteRegex("under_score09"), "under_score09");
}

TEST(BatchedPeakQuery, SortedDedupedEscaped) {
  EXPECT_EQ(
      BatchedPeakQuery(kKvCacheUsageMetric, {"b", "a", "b"}, {"m.1", "x"}),
      R"(max by (namespace, model_name, pod) (max_over_time(vllm:kv_cache_usage_perc{namespace=~"a|b",model_name=~"m\\.1|x"}[1m])))");
}

}  // namespace
}  // namespace wva::prom
