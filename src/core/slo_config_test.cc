// wva-slo-config parsing, errors naming key and field, and resolution precedence.
#include "core/slo_config.h"

#include <gtest/gtest.h>

namespace wva::core {
namespace {

TEST(SloConfig, ParsesEntriesAndResolvesWithPrecedence) {
  const std::map<std::string, std::string> data = {
      {"default", R"(
percentile: 0.95
headroom: 0.2
profiles:
  H100: {alpha: 3.96, beta: 0.0445, gamma: 2, delta: 0.033, maxBatch: 256,
         kvCapacityTokens: 396800, maxBatchedTokens: 8192}
  L40S: {alpha: 22.6, beta: 0.18}
)"},
      {"llama", "model_id: meta/llama\nttftMs: 1000\nitlMs: 50\n"},
      {"meta/llama#prod", "ttftMs: 500\nprofiles: {L40S: {alpha: 25, beta: 0.2}}\n"},
  };
  auto r = SloConfigSet::Parse(data);
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  ASSERT_EQ(r.set.entries().size(), 3u);

  ResolvedSlo dev = r.set.Resolve("meta/llama", "dev");
  EXPECT_EQ(dev.targets.ttft_ms, 1000);
  EXPECT_EQ(dev.targets.itl_ms, 50);
  EXPECT_EQ(dev.targets.percentile, 0.95);
  EXPECT_EQ(dev.targets.headroom, 0.2);
  EXPECT_EQ(dev.profiles.at("L40S").alpha_ms, 22.6);
  EXPECT_EQ(dev.profiles.at("H100").kv_capacity_tokens, 396800);

  ResolvedSlo prod = r.set.Resolve("meta/llama", "prod");
  EXPECT_EQ(prod.targets.ttft_ms, 500);  // namespace entry wins
  EXPECT_EQ(prod.targets.itl_ms, 50);
  EXPECT_EQ(prod.profiles.at("L40S").alpha_ms, 25);
  EXPECT_EQ(prod.profiles.at("H100").alpha_ms, 3.96);

  SloTargetsPatch spec;
  spec.ttft_ms = 300;
  ResolvedSlo va = r.set.Resolve("meta/llama", "prod", spec);  // the VA spec wins
  EXPECT_EQ(va.targets.ttft_ms, 300);
  EXPECT_EQ(va.targets.itl_ms, 50);

  ResolvedSlo other = r.set.Resolve("other", "prod");
  EXPECT_FALSE(other.targets.any());  // no targets: SLO sizing off for this model

  PerfProfile own;
  own.alpha_ms = 1;
  EXPECT_EQ(prod.ProfileFor("L40S")->alpha_ms, 25);
  EXPECT_EQ(prod.ProfileFor("L40S", own)->alpha_ms, 1);
  EXPECT_FALSE(prod.ProfileFor("MI300X").has_value());
}

TEST(SloConfig, ErrorsNameKeyAndField) {
  struct Case {
    const char* key;
    const char* yaml;
    const char* field;
  };
  const Case cases[] = {
      {"default", "ttftMs: -1", "ttftMs"},
      {"default", "percentile: 1.5", "percentile"},
      {"default", "ttftMs: abc", "ttftMs"},
      {"default", "bogus: 1", "bogus"},
      {"default", "model_id: x", "model_id"},
      {"m", "ttftMs: 100", "model_id"},
      {"default", "profiles: {H100: {beta: 1}}", "profiles.H100.alpha"},
      {"default", "profiles: {H100: {alpha: 0}}", "profiles.H100.alpha"},
      {"default", "profiles: {H100: {alpha: 1, maxBatch: 2.5}}", "profiles.H100.maxBatch"},
      {"default", "profiles: {H100: {alpha: 1, foo: 2}}", "profiles.H100.foo"},
      {"default", "[1, 2", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.yaml);
    ConfigError err;
    auto e = ParseSloEntry(c.key, c.yaml, &err);
    ASSERT_FALSE(e.has_value());
    EXPECT_EQ(err.key, c.key);
    EXPECT_EQ(err.field, c.field) << err.ToString();
  }
}

TEST(SloConfig, SpecObjectsFromJsonOrYaml) {
  auto t = ParseSloTargets(R"({"ttftMs": 800, "itlMs": 40, "percentile": 0.9})");
  ASSERT_TRUE(t.has_value()) << t.error().message();
  EXPECT_EQ(*t->ttft_ms, 800);
  EXPECT_EQ(*t->percentile, 0.9);
  EXPECT_FALSE(t->headroom.has_value());
  EXPECT_FALSE(ParseSloTargets("ttft: 3").has_value());
  auto p = ParsePerfProfile("alpha: 10\nbeta: 0.1\nmaxBatch: 128");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->max_batch, 128);
  EXPECT_EQ(p->gamma_ms, 0);
  EXPECT_FALSE(ParsePerfProfile("beta: 1").has_value());
}

}  // namespace
}  // namespace wva::core

// The analyze snapshot's optional SLO fields (issue #8).
#include "core/snapshot.h"

namespace wva::core {
namespace {

TEST(SloSnapshot, ParsesSloWorkloadAndProfiles) {
  auto s = ParseSnapshot(R"(
model: {id: m}
slo: {ttftMs: 1000, itlMs: 50}
workload: {arrivalRate: 3, inputTokens: {mean: 1000, stddev: 800}, outputTokens: 200}
variants:
  - {name: a, accelerator: L40S, currentReplicas: 1, profile: {alpha: 22.6, beta: 0.18}}
  - {name: b, currentReplicas: 1}
)");
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_TRUE(s->uses_slo());
  EXPECT_EQ(*s->slo.ttft_ms, 1000);
  EXPECT_EQ(s->workload.arrival_rate, 3);
  EXPECT_EQ(s->workload.input.stddev, 800);
  EXPECT_EQ(s->workload.output.mean, 200);
  ASSERT_EQ(s->profiles.size(), 2u);
  EXPECT_EQ(s->profiles[0]->beta_ms, 0.18);
  EXPECT_FALSE(s->profiles[1].has_value());

  auto plain = ParseSnapshot("model: {id: m}\nvariants: [{name: a, currentReplicas: 1}]\n");
  ASSERT_TRUE(plain.has_value());
  EXPECT_FALSE(plain->uses_slo());
}

TEST(SloSnapshot, ErrorsNameFieldPath) {
  struct Case {
    const char* extra;
    const char* variant_extra;
    const char* want;
  };
  const Case cases[] = {
      {"slo: {ttftMs: -5}", "", "slo.ttftMs:"},
      {"slo: {percentile: 2}", "", "slo.percentile:"},
      {"slo: {ttft: 5}", "", "slo.ttft: unknown field"},
      {"workload: {arrivalRate: 1, inputTokens: 5}", "", "workload.outputTokens: required"},
      {"workload: {arrivalRate: 1, inputTokens: 5, outputTokens: 0.5}", "",
       "workload.outputTokens:"},
      {"", ", profile: {beta: 1}", "variants[0].profile.alpha: required"},
      {"", ", profile: {alpha: 1, maxBatch: 0}", "variants[0].profile.maxBatch:"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want);
    const std::string doc = std::string("model: {id: m}\n") + c.extra +
                            "\nvariants: [{name: a, currentReplicas: 1" + c.variant_extra + "}]\n";
    auto s = ParseSnapshot(doc);
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().message().rfind(c.want, 0), 0u) << s.error().message();
  }
}

}  // namespace
}  // namespace wva::core
