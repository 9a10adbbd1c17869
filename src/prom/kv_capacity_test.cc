// KV capacity per pod from vllm:cache_config_info labels (token-based analyzer).
#include "prom/kv_capacity.h"

#include <gtest/gtest.h>

#include "prom/fake_querier_test.h"

namespace wva::prom {
namespace {

using testing::FakeQuerier;

TEST(KvCapacity, OneQueryTokensFromLabelsBadSeriesSkipped) {
  FakeQuerier q;
  int calls = 0;
  q.answer = [&](std::string_view) -> QueryOutcome {
    ++calls;
    QueryResult r;
    auto add = [&](std::map<std::string, std::string> labels) {
      Sample s;
      s.labels = std::move(labels);
      s.point.value = 1;
      r.samples.push_back(s);
    };
    add({{"namespace", "prod"}, {"pod", "a-0"}, {"num_gpu_blocks", "625"}, {"block_size", "16"}});
    add({{"namespace", "prod"}, {"pod", "a-1"}, {"num_gpu_blocks", "x"}, {"block_size", "16"}});
    add({{"namespace", "prod"}, {"pod", "a-2"}, {"block_size", "16"}});
    add({{"namespace", "dev"}, {"pod", "b-0"}, {"num_gpu_blocks", "10"}, {"block_size", "16"}});
    return r;
  };
  KvCapacitySnapshot snap = CollectKvCapacity(q, {"prod"});
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(snap.queries, 1);
  EXPECT_TRUE(snap.ok());
  ASSERT_EQ(snap.tokens.size(), 1u);
  EXPECT_DOUBLE_EQ(snap.tokens.at("prod").at("a-0"), 10000);  // 625 x 16
  EXPECT_EQ(snap.tokens.at("prod").size(), 1u);
  EXPECT_EQ(snap.skipped, 3);
  EXPECT_EQ(CollectKvCapacity(q, {}).queries, 0);
}

TEST(KvCapacity, QueryText) {
  EXPECT_EQ(
      KvCapacityQuery({"a", "b-c"}),
      R"(max by (namespace, pod, num_gpu_blocks, block_size) (vllm:cache_config_info{namespace=~"a|b\\-c"}))");
}

}  // namespace
}  // namespace wva::prom
