// The one replica-profile parser: canonical keys, deprecated aliases, conflicts, bad values,
// defaults and named bases.
#include "core/perf_profile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace wva::core {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

StatusOr<PerfProfile> Parse(const std::string& yaml, const PerfProfileParseOptions& o = {}) {
  return ParsePerfProfile(YAML::Load(yaml), o);
}

// The field path an error names: the text before the first ": ".
std::string FieldOf(const StatusOr<PerfProfile>& r) {
  const std::string& m = r.error().message();
  return m.substr(0, m.find(": "));
}

TEST(PerfProfileParse, CanonicalKeys) {
  auto p = Parse(
      "{alpha: 3.96, beta: 0.0445, gamma: 2, delta: 0.033, maxBatch: 128, kvCapacityTokens: "
      "396800, maxBatchedTokens: 8192, blockSize: 32, maxModelLen: 4096}");
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_EQ(p->alpha_ms, 3.96);
  EXPECT_EQ(p->beta_ms, 0.0445);
  EXPECT_EQ(p->gamma_ms, 2);
  EXPECT_EQ(p->delta_ms, 0.033);
  EXPECT_EQ(p->max_batch, 128);
  EXPECT_EQ(p->kv_capacity_tokens, 396800);
  EXPECT_EQ(p->max_batched_tokens, 8192);
  EXPECT_EQ(p->block_size, 32);
  EXPECT_EQ(p->max_model_len, 4096);
  EXPECT_EQ(p->num_gpu_blocks(), 396800 / 32);
}

TEST(PerfProfileParse, DeprecatedAliasesGiveTheSameProfile) {
  auto canonical = Parse(
      "{alpha: 4.2, beta: 0.1, gamma: 3, delta: 0.05, maxBatch: 48, numGpuBlocks: 600, "
      "maxBatchedTokens: 4096, blockSize: 16, maxModelLen: 4096}");
  auto fleet = Parse(
      "{alphaMs: 4.2, betaMs: 0.1, gammaMs: 3, deltaMs: 0.05, maxNumSeqs: 48, numGpuBlocks: 600, "
      "maxNumBatchedTokens: 4096, blockSize: 16, maxModelLen: 4096}");
  auto flags = Parse(
      "{alpha_ms: 4.2, beta_ms: 0.1, gamma_ms: 3, delta_ms: 0.05, max_seqs: 48, blocks: 600, "
      "maxNumBatchedTokens: 4096, block_size: 16, max_model_len: 4096}");
  ASSERT_TRUE(canonical.has_value()) << canonical.error().message();
  ASSERT_TRUE(fleet.has_value()) << fleet.error().message();
  ASSERT_TRUE(flags.has_value()) << flags.error().message();
  EXPECT_EQ(*fleet, *canonical);
  EXPECT_EQ(*flags, *canonical);
  EXPECT_EQ(canonical->kv_capacity_tokens, 600 * 16);
}

TEST(PerfProfileParse, KeyAndAliasTogetherIsAnErrorNamingBoth) {
  for (const char* doc : {"{alpha: 1, alphaMs: 1}", "{alphaMs: 1, alpha_ms: 1}",
                          "{alpha: 1, maxBatch: 4, max_seqs: 4}"}) {
    auto p = Parse(doc);
    ASSERT_FALSE(p.has_value()) << doc;
    EXPECT_EQ(p.error().code(), StatusCode::kInvalidArgument);
  }
  auto p = Parse("{alpha: 1, alphaMs: 2}");
  EXPECT_THAT(p.error().message(), HasSubstr("alpha"));
  EXPECT_THAT(p.error().message(), HasSubstr("alphaMs"));
  // Tokens and blocks both set the KV capacity.
  auto kv = Parse("{alpha: 1, kvCapacityTokens: 1600, numGpuBlocks: 100}");
  ASSERT_FALSE(kv.has_value());
  EXPECT_THAT(kv.error().message(), HasSubstr("kvCapacityTokens"));
  EXPECT_THAT(kv.error().message(), HasSubstr("numGpuBlocks"));
}

TEST(PerfProfileParse, BadValuesNameTheKeyAsWritten) {
  struct Case {
    const char* doc;
    const char* field;
  };
  const Case cases[] = {
      {"{alpha: -1}", "alpha"},
      {"{alpha: 0}", "alpha"},
      {"{alpha: nan}", "alpha"},
      {"{alpha: .nan}", "alpha"},
      {"{alpha: 1e999}", "alpha"},
      {"{alpha: fast}", "alpha"},
      {"{alphaMs: -1}", "alphaMs"},
      {"{alpha: 1, beta: -0.1}", "beta"},
      {"{alpha: 1, betaMs: -0.1}", "betaMs"},
      {"{alpha: 1, delta: [1]}", "delta"},
      {"{alpha: 1, maxBatch: 0}", "maxBatch"},
      {"{alpha: 1, max_seqs: 2.5}", "max_seqs"},
      {"{alpha: 1, kvCapacityTokens: -5}", "kvCapacityTokens"},
      {"{alpha: 1, blockSize: 0}", "blockSize"},
      {"{alpha: 1, maxModelLen: -1}", "maxModelLen"},
      {"{alpha: 1, speed: 3}", "speed"},
      {"{beta: 1}", "alpha"},  // missing required
  };
  for (const Case& c : cases) {
    auto p = Parse(c.doc);
    ASSERT_FALSE(p.has_value()) << c.doc;
    EXPECT_EQ(p.error().code(), StatusCode::kInvalidArgument) << c.doc;
    EXPECT_EQ(FieldOf(p), c.field) << c.doc << " -> " << p.error().message();
  }
}

TEST(PerfProfileParse, ErrorsArePlacedWhereTheNodeIs) {
  PerfProfileParseOptions o;
  o.where = "variants[1].profile";
  auto p = Parse("{alphaMs: -2}", o);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(FieldOf(p), "variants[1].profile.alphaMs");
  auto whole = Parse("[1, 2]", o);
  ASSERT_FALSE(whole.has_value());
  EXPECT_EQ(FieldOf(whole), "variants[1].profile");
}

TEST(PerfProfileParse, CallerDefaultsFillMissingKeysAndMakeAlphaOptional) {
  PerfProfileParseOptions o;
  o.defaults.alpha_ms = 20;
  o.defaults.beta_ms = 0.4;
  o.defaults.max_batch = 64;
  auto p = Parse("{beta: 0.2}", o);
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_EQ(p->alpha_ms, 20);
  EXPECT_EQ(p->beta_ms, 0.2);
  EXPECT_EQ(p->max_batch, 64);
  // Without a default speed, alpha is required.
  EXPECT_FALSE(Parse("{beta: 0.2}").has_value());
}

TEST(PerfProfileParse, NamedBaseThenOverrides) {
  PerfProfileParseOptions o;
  o.resolve_base = [](std::string_view name) -> StatusOr<PerfProfile> {
    if (name != "big") {
      return Err(NotFoundError("unknown profile"));
    }
    PerfProfile p;
    p.alpha_ms = 4;
    p.max_batch = 1024;
    p.kv_capacity_tokens = 16000;
    return p;
  };
  auto named = Parse("big", o);
  ASSERT_TRUE(named.has_value()) << named.error().message();
  EXPECT_EQ(named->max_batch, 1024);
  auto over = Parse("{base: big, maxNumSeqs: 128, numGpuBlocks: 10}", o);
  ASSERT_TRUE(over.has_value()) << over.error().message();
  EXPECT_EQ(over->alpha_ms, 4);
  EXPECT_EQ(over->max_batch, 128);
  EXPECT_EQ(over->kv_capacity_tokens, 160);
  auto unknown = Parse("{base: small}", o);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(FieldOf(unknown), "base");
  // Without a resolver, `base` is an unknown key and a bare name is not a profile.
  EXPECT_FALSE(Parse("{alpha: 1, base: big}").has_value());
  EXPECT_FALSE(Parse("big").has_value());
}

TEST(PerfProfileParse, CallerKeysAreLeftToTheCaller) {
  PerfProfileParseOptions o;
  o.caller_keys = {"accelerator"};
  EXPECT_TRUE(Parse("{alpha: 1, accelerator: H100}", o).has_value());
  EXPECT_FALSE(Parse("{alpha: 1, accelerator: H100}").has_value());
}

TEST(PerfProfileParse, ReplicaNeedsKvBudgetAndLength) {
  PerfProfileParseOptions o;
  o.for_replica = true;
  auto no_kv = Parse("{alpha: 1, maxBatchedTokens: 2048, maxModelLen: 4096}", o);
  ASSERT_FALSE(no_kv.has_value());
  EXPECT_EQ(FieldOf(no_kv), "kvCapacityTokens");
  auto no_budget = Parse("{alpha: 1, kvCapacityTokens: 1600, maxModelLen: 4096}", o);
  ASSERT_FALSE(no_budget.has_value());
  EXPECT_EQ(FieldOf(no_budget), "maxBatchedTokens");
  EXPECT_TRUE(
      Parse("{alpha: 1, kvCapacityTokens: 1600, maxBatchedTokens: 2048, maxModelLen: 4096}", o)
          .has_value());
  // The SLO model accepts "not limiting" zeros.
  EXPECT_TRUE(Parse("{alpha: 1}").has_value());
}

TEST(PerfProfileParse, JsonTextAsTheVariantAutoscalingSpecGivesIt) {
  auto p = ParsePerfProfile(std::string(R"({"alpha": 10, "beta": 0.1, "maxBatch": 128})"));
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_EQ(p->max_batch, 128);
  EXPECT_FALSE(ParsePerfProfile(std::string("{alpha: [")).has_value());
}

}  // namespace
}  // namespace wva::core
