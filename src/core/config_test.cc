#include "core/config.h"

#include <set>

#include <gtest/gtest.h>

namespace wva::core {
namespace {

TEST(Config, BuiltinsWithoutAnyEntry) {
  SaturationConfigSet set;
  EXPECT_EQ(set.Resolve("m", "ns"), SaturationConfig{});
  EXPECT_FALSE(set.has_default());
}

TEST(Config, DefaultThenFieldMatchedThenHashKey) {
  auto r = SaturationConfigSet::Parse({
      {"default", "kvCacheThreshold: 0.75\nqueueLengthThreshold: 6\n"},
      {"llama-70b-prod",
       "model_id: meta/llama-70b\nnamespace: production\n"
       "kvCacheThreshold: 0.85\nkvSpareTrigger: 0.15\n"},
      {"meta/llama-70b#production", "queueLengthThreshold: 8\n"},
      {"llama-any-ns", "model_id: meta/llama-70b\nqueueSpareTrigger: 1\n"},
  });
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  EXPECT_TRUE(r.set.has_default());
  EXPECT_EQ(r.set.size(), 4u);
  SaturationConfig c = r.set.Resolve("meta/llama-70b", "production");
  EXPECT_DOUBLE_EQ(c.kv_cache_threshold, 0.85);
  EXPECT_DOUBLE_EQ(c.kv_spare_trigger, 0.15);
  EXPECT_DOUBLE_EQ(c.queue_length_threshold, 8);
  EXPECT_DOUBLE_EQ(c.queue_spare_trigger, 1);
  // Another namespace: default + the namespace-less override only.
  SaturationConfig o = r.set.Resolve("meta/llama-70b", "staging");
  EXPECT_DOUBLE_EQ(o.kv_cache_threshold, 0.75);
  EXPECT_DOUBLE_EQ(o.queue_length_threshold, 6);
  EXPECT_DOUBLE_EQ(o.queue_spare_trigger, 1);
  // Another model: default only.
  SaturationConfig x = r.set.Resolve("other", "production");
  EXPECT_DOUBLE_EQ(x.kv_cache_threshold, 0.75);
  EXPECT_DOUBLE_EQ(x.kv_spare_trigger, 0.10);
}

struct BadCase {
  const char* key;
  const char* yaml;
  const char* field;
};

class BadEntry : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadEntry, NamesKeyAndField) {
  const BadCase& c = GetParam();
  auto r = SaturationConfigSet::Parse({{c.key, c.yaml}, {"default", "kvCacheThreshold: 0.7\n"}});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, c.key);
  EXPECT_EQ(r.errors[0].field, c.field) << r.errors[0].ToString();
  EXPECT_NE(r.errors[0].ToString().find(c.key), std::string::npos);
  // The good entry survives.
  EXPECT_TRUE(r.set.has_default());
}

INSTANTIATE_TEST_SUITE_P(
    Validation, BadEntry,
    ::testing::Values(BadCase{"m1", "model_id: m\nkvCacheThreshold: 1.5\n", "kvCacheThreshold"},
                      BadCase{"m2", "model_id: m\nqueueLengthThreshold: -1\n",
                              "queueLengthThreshold"},
                      BadCase{"m3", "model_id: m\nkvSpareTrigger: abc\n", "kvSpareTrigger"},
                      BadCase{"m4", "model_id: m\nbogus: 1\n", "bogus"},
                      BadCase{"m5", "kvCacheThreshold: 0.5\n", "model_id"},
                      BadCase{"m6", "model_id: m\nkvCacheThreshold: 0.1\nkvSpareTrigger: 0.2\n",
                              "kvCacheThreshold"},
                      BadCase{"m7", "[not, a, map]", ""}));

TEST(Config, CrossFieldCheckAgainstDefault) {
  // The override alone is fine, but with default's kvSpareTrigger 0.3 it resolves invalid.
  auto r = SaturationConfigSet::Parse(
      {{"default", "kvSpareTrigger: 0.3\n"}, {"m#ns", "kvCacheThreshold: 0.2\n"}});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "m#ns");
  EXPECT_DOUBLE_EQ(r.set.Resolve("m", "ns").kv_cache_threshold, 0.8);
}

TEST(Config, LastGoodEntryStaysOnBadReload) {
  auto first = SaturationConfigSet::Parse(
      {{"default", "kvCacheThreshold: 0.7\n"}, {"m#ns", "queueLengthThreshold: 9\n"}});
  ASSERT_TRUE(first.errors.empty());
  std::vector<ConfigError> errors;
  SaturationConfigSet next = SaturationConfigSet::MergeLastGood(
      first.set, {{"default", "kvCacheThreshold: 2\n"}, {"m#ns", "queueLengthThreshold: 4\n"}},
      &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].key, "default");
  EXPECT_DOUBLE_EQ(next.Resolve("m", "ns").kv_cache_threshold, 0.7);    // kept
  EXPECT_DOUBLE_EQ(next.Resolve("m", "ns").queue_length_threshold, 4);  // updated
  // A removed key goes away.
  SaturationConfigSet removed = SaturationConfigSet::MergeLastGood(next, {}, &errors);
  EXPECT_EQ(removed.size(), 0u);
}

}  // namespace
}  // namespace wva::core

namespace wva::core {
namespace {

// Upstream v0.9's shipped default entry (config/base/manager/saturation-scaling-configmap.yaml).
constexpr const char* kUpstreamDefault = R"(analyzers:
  - name: saturation
    score: 1.0
scaleUpThreshold: 0.85
scaleDownBoundary: 0.70
kvCacheThreshold: 0.80
queueLengthThreshold: 5
kvSpareTrigger: 0.1
queueSpareTrigger: 3
enableLimiter: false
enableRescale: false
)";

TEST(UpstreamConfig, ShippedDefaultSelectsTokenBasedWithNothingIgnored) {
  auto r = SaturationConfigSet::Parse({{"default", kUpstreamDefault}});
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  EXPECT_TRUE(r.ignored.empty());
  SaturationConfig c = r.set.Resolve("any", "ns");
  EXPECT_EQ(c.analyzer, AnalyzerKind::kTokenBasedV2);
  EXPECT_DOUBLE_EQ(c.scale_up_threshold, 0.85);
  EXPECT_DOUBLE_EQ(c.scale_down_boundary, 0.70);
}

TEST(UpstreamConfig, NoAnalyzersKeepsV1) {
  auto r = SaturationConfigSet::Parse({{"default", "kvCacheThreshold: 0.7\n"}});
  EXPECT_EQ(r.set.Resolve("m", "ns").analyzer, AnalyzerKind::kSaturationV1);
  auto legacy = SaturationConfigSet::Parse({{"default", "analyzerName: saturation\n"}});
  EXPECT_EQ(legacy.set.Resolve("m", "ns").analyzer, AnalyzerKind::kTokenBasedV2);
}

TEST(UpstreamConfig, UnimplementedKeysAreIgnoredNamedAndThresholdsKept) {
  auto r = SaturationConfigSet::Parse(
      {{"default",
        "kvCacheThreshold: 0.7\nqueueLengthThreshold: 9\nenableLimiter: true\npriority: 2\n"
        "scaleToZero: {enabled: true}\nlimiters:\n  - {type: quota, scope: cluster}\n"
        "analyzers:\n  - {name: saturation, scaleUpThreshold: 0.9}\n"
        "  - {name: throughput}\n"}});
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  std::set<std::string> fields;
  for (const ConfigError& e : r.ignored) {
    EXPECT_EQ(e.key, "default");
    fields.insert(e.field);
  }
  EXPECT_EQ(fields, (std::set<std::string>{"enableLimiter", "limiters", "analyzers[1]"}));
  SaturationConfig c = r.set.Resolve("m", "ns");
  EXPECT_DOUBLE_EQ(c.kv_cache_threshold, 0.7);
  EXPECT_DOUBLE_EQ(c.queue_length_threshold, 9);
  EXPECT_DOUBLE_EQ(c.scale_up_threshold, 0.9);  // the saturation analyzer's own
  EXPECT_EQ(c.analyzer, AnalyzerKind::kTokenBasedV2);
}

TEST(UpstreamConfig, PriorityResolvesLikeTheOtherFields) {
  // Upstream spelling: `priority` in the default entry and in "<modelID>#<namespace>" keys.
  auto r = SaturationConfigSet::Parse({{"default", "priority: 2\n"},
                                       {"chat#prod", "priority: 10\n"},
                                       {"chat-any", "model_id: chat\npriority: 5\n"},
                                       {"batch#prod", "priority: 0\nkvCacheThreshold: 0.7\n"}});
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  EXPECT_TRUE(r.ignored.empty());
  EXPECT_DOUBLE_EQ(r.set.ResolvePriority("chat", "prod"), 10);
  EXPECT_DOUBLE_EQ(r.set.ResolvePriority("chat", "dev"), 5);
  EXPECT_DOUBLE_EQ(r.set.ResolvePriority("batch", "prod"), 0);
  EXPECT_DOUBLE_EQ(r.set.ResolvePriority("other", "prod"), 2);
  EXPECT_DOUBLE_EQ(SaturationConfigSet{}.ResolvePriority("chat", "prod"), 1);
  for (const char* bad : {"priority: -1\n", "priority: high\n", "priority: [1]\n"}) {
    auto b = SaturationConfigSet::Parse({{"default", bad}});
    ASSERT_EQ(b.errors.size(), 1u) << bad;
    EXPECT_EQ(b.errors[0].key, "default");
    EXPECT_EQ(b.errors[0].field, "priority");
  }
}

TEST(UpstreamConfig, AnalyzerInAnOverrideIsIgnoredItsThresholdsApply) {
  auto r = SaturationConfigSet::Parse(
      {{"m#ns",
        "analyzers:\n  - name: saturation\nkvCacheThreshold: 0.6\nscaleDownBoundary: 0.5\n"}});
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  ASSERT_EQ(r.ignored.size(), 1u);
  EXPECT_EQ(r.ignored[0].key, "m#ns");
  EXPECT_EQ(r.ignored[0].field, "analyzers");
  SaturationConfig c = r.set.Resolve("m", "ns");
  EXPECT_EQ(c.analyzer, AnalyzerKind::kSaturationV1);
  EXPECT_DOUBLE_EQ(c.kv_cache_threshold, 0.6);
  EXPECT_DOUBLE_EQ(c.scale_down_boundary, 0.5);
}

TEST(UpstreamConfig, TrulyUnknownAndMalformedStillErrors) {
  struct Case {
    const char* yaml;
    const char* field;
  } cases[] = {{"enableLimitr: true\n", "enableLimitr"},
               {"enableLimiter: maybe\n", "enableLimiter"},
               {"analyzers:\n  - name: magic\n", "analyzers[0].name"},
               {"analyzers:\n  - {name: saturation, weight: 2}\n", "analyzers[0].weight"},
               {"scaleUpThreshold: 1.5\n", "scaleUpThreshold"},
               {"scaleUpThreshold: 0.6\nscaleDownBoundary: 0.7\n", "scaleUpThreshold"},
               {"analyzerName: inferno\n", "analyzerName"}};
  for (const Case& c : cases) {
    auto r = SaturationConfigSet::Parse({{"default", c.yaml}});
    ASSERT_EQ(r.errors.size(), 1u) << c.yaml;
    EXPECT_EQ(r.errors[0].field, c.field) << c.yaml;
  }
}

TEST(UpstreamConfig, InlineScaleToZeroResolvesPerModel) {
  auto r = SaturationConfigSet::Parse({{"default", "scaleToZero: {enabled: true}\n"},
                                       {"m#prod", "scaleToZero:\n  enabled: false\n"},
                                       {"bad", "model_id: x\nscaleToZero: {enabled: maybe}\n"}});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "bad");
  EXPECT_EQ(r.errors[0].field, "scaleToZero");
  EXPECT_TRUE(r.ignored.empty());
  EXPECT_EQ(r.set.ResolveScaleToZero("m", "prod"), std::optional<bool>(false));
  EXPECT_EQ(r.set.ResolveScaleToZero("m", "dev"), std::optional<bool>(true));
  auto none = SaturationConfigSet::Parse({{"default", "kvCacheThreshold: 0.7\n"}});
  EXPECT_EQ(none.set.ResolveScaleToZero("m", "dev"), std::nullopt);
}

}  // namespace
}  // namespace wva::core
