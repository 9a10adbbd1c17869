#include "core/snapshot.h"

#include <gtest/gtest.h>

#include <cmath>

namespace wva::core {
namespace {

constexpr const char* kGood = R"(
model: {id: meta/llama-70b, namespace: prod}
config: {kvCacheThreshold: 0.80, queueLengthThreshold: 5, kvSpareTrigger: 0.10, queueSpareTrigger: 3}
variants:
  - {name: llama-70b-l40s, accelerator: L40S, cost: 5.0, currentReplicas: 2, readyReplicas: 2,
     desiredReplicas: 0, minReplicas: 1, maxReplicas: 10}
  - {name: llama-70b-a100, accelerator: A100, cost: 20, currentReplicas: 1}
replicas:
  - {pod: llama-70b-l40s-0, variant: llama-70b-l40s, kvCacheUsage: 0.75, queueLength: 3}
  - {pod: llama-70b-l40s-1, variant: llama-70b-l40s, kvCacheUsage: 0.85, queueLength: 6}
  - {pod: llama-70b-a100-0, variant: llama-70b-a100, kvCacheUsage: .nan, queueLength: 0}
)";

TEST(Snapshot, ParsesSpecExample) {
  auto s = ParseSnapshot(kGood);
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_EQ(s->input.model_id, "meta/llama-70b");
  EXPECT_EQ(s->input.namespace_, "prod");
  ASSERT_EQ(s->input.variants.size(), 2u);
  EXPECT_EQ(s->input.variants[0].max_replicas, 10);
  EXPECT_EQ(s->input.variants[1].cost, 20);
  EXPECT_EQ(s->input.variants[1].min_replicas, 1);
  EXPECT_FALSE(s->input.variants[1].max_replicas.has_value());
  // readyReplicas defaults to replicas with usable metrics: the NaN one does not count.
  EXPECT_EQ(s->input.variants[1].ready_replicas, 0);
  EXPECT_TRUE(std::isnan(s->input.replicas[2].kv_cache_usage));
  EXPECT_TRUE(s->config_given);
  EXPECT_EQ(s->pods[1], "llama-70b-l40s-1");
}

TEST(Snapshot, ParsesJson) {
  auto s = ParseSnapshot(
      R"({"model": {"id": "m"}, "variants": [{"name": "v", "currentReplicas": 1}], "replicas": []})");
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_EQ(s->input.namespace_, "default");
  EXPECT_EQ(s->input.variants[0].accelerator, "unknown");
  EXPECT_DOUBLE_EQ(s->input.variants[0].cost, 10.0);
}

struct BadCase {
  const char* doc;
  const char* path;
};
class BadSnapshot : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadSnapshot, NamesFieldPath) {
  auto s = ParseSnapshot(GetParam().doc);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().message().rfind(GetParam().path, 0), 0u) << s.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Errors, BadSnapshot,
    ::testing::Values(
        BadCase{"variants: [{name: v, currentReplicas: 1}]", "model:"},
        BadCase{"model: {namespace: x}\nvariants: [{name: v, currentReplicas: 1}]", "model.id:"},
        BadCase{"model: {id: m}\nvariants: [{name: v, currentReplicas: 1, cost: abc}]",
                "variants[0].cost:"},
        BadCase{"model: {id: m}\nvariants: [{name: v}]", "variants[0].currentReplicas:"},
        BadCase{"model: {id: m}\nvariants: [{name: v, currentReplicas: -1}]",
                "variants[0].currentReplicas:"},
        BadCase{"model: {id: m}\nvariants: [{name: v, currentReplicas: 1.5}]",
                "variants[0].currentReplicas:"},
        BadCase{"model: {id: m}\nvariants: [{name: v, currentReplicas: 1, minReplicas: 3, "
                "maxReplicas: 2}]",
                "variants[0].maxReplicas:"},
        BadCase{"model: {id: m}\nvariants: [{name: v, currentReplicas: 1}]\n"
                "replicas: [{variant: w, kvCacheUsage: 0.1, queueLength: 0}]",
                "replicas[0].variant:"},
        BadCase{"model: {id: m}\nvariants: [{name: v, currentReplicas: 1}]\n"
                "replicas: [{variant: v, kvCacheUsage: 1.2, queueLength: 0}]",
                "replicas[0].kvCacheUsage:"},
        BadCase{"model: {id: m}\nvariants: [{name: v, currentReplicas: 1}]\n"
                "replicas: [{variant: v, kvCacheUsage: 0.2}]",
                "replicas[0].queueLength:"},
        BadCase{"model: {id: m}\nvariants: [{name: v, currentReplicas: 1, colour: red}]",
                "variants[0].colour:"},
        BadCase{"model: {id: m}\nconfig: {kvCacheThreshold: 2}\nvariants: [{name: v, "
                "currentReplicas: 1}]",
                "config.kvCacheThreshold:"},
        BadCase{"model: {id: m}\nvariants: [{name: v, currentReplicas: 1}, {name: v, "
                "currentReplicas: 1}]",
                "variants[1].name:"},
        BadCase{"model: {id: m}\nvariants: []", "variants:"}));

TEST(ConfigFile, AcceptsConfigMapDataOrEntry) {
  auto cm = ParseConfigFile(
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: capacity-scaling-config}\n"
      "data:\n  default: |\n    kvCacheThreshold: 0.7\n");
  ASSERT_TRUE(cm.has_value()) << cm.error().message();
  EXPECT_DOUBLE_EQ(cm->Resolve("m", "n").kv_cache_threshold, 0.7);
  auto data = ParseConfigFile("default: |\n  queueLengthThreshold: 7\n");
  ASSERT_TRUE(data.has_value()) << data.error().message();
  EXPECT_DOUBLE_EQ(data->Resolve("m", "n").queue_length_threshold, 7);
  auto entry = ParseConfigFile("kvSpareTrigger: 0.2\n");
  ASSERT_TRUE(entry.has_value()) << entry.error().message();
  EXPECT_DOUBLE_EQ(entry->Resolve("m", "n").kv_spare_trigger, 0.2);
  auto bad = ParseConfigFile("default: |\n  kvSpareTrigger: x\n");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("kvSpareTrigger"), std::string::npos);
}

}  // namespace
}  // namespace wva::core
