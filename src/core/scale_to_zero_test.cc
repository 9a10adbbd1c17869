#include "core/scale_to_zero.h"

#include <gtest/gtest.h>

namespace wva::core {
namespace {

using std::chrono::seconds;

VariantState V(std::string name, double cost, int current, int min) {
  VariantState v;
  v.name = std::move(name);
  v.cost = cost;
  v.current_replicas = current;
  v.ready_replicas = current;
  v.min_replicas = min;
  return v;
}

// A model with two variants and the given targets (as the policy left them).
struct Fixture {
  ModelInput in;
  ModelDecision d;
  Fixture(std::vector<VariantState> vs, std::vector<int> targets) {
    in.model_id = "m";
    in.namespace_ = "ns";
    in.variants = std::move(vs);
    for (size_t i = 0; i < in.variants.size(); ++i) {
      VariantDecision x;
      x.variant = in.variants[i].name;
      x.current_replicas = in.variants[i].current_replicas;
      x.target_replicas = targets[i];
      d.decisions.push_back(x);
    }
  }
  std::vector<int> Targets() const {
    std::vector<int> t;
    for (const auto& x : d.decisions) {
      t.push_back(x.target_replicas);
    }
    return t;
  }
};

ScaleToZeroInput Enabled(RequestCount rc) {
  ScaleToZeroInput z;
  z.setting.enabled = true;
  z.setting.retention = seconds(600);
  z.requests = rc;
  return z;
}

TEST(ScaleToZeroRule, IdleEligibleModelGoesToZero) {
  Fixture f({V("a100", 20, 1, 0), V("l40s", 5, 1, 0)}, {1, 1});
  auto r = ApplyScaleToZero(f.in, Enabled(RequestCount::Of(0)), &f.d);
  EXPECT_EQ(r.kind, ScaleToZeroResult::Kind::kZeroed);
  EXPECT_EQ(f.Targets(), (std::vector<int>{0, 0}));
  for (const auto& x : f.d.decisions) {
    EXPECT_EQ(x.action, Action::kScaleDown);
    EXPECT_EQ(x.driver, Driver::kScaleToZero);
  }
}

TEST(ScaleToZeroRule, UnknownRequestDataNeverZeroes) {
  for (auto state : {RequestCount::State::kError, RequestCount::State::kEmpty,
                     RequestCount::State::kStale, RequestCount::State::kInvalid}) {
    Fixture f({V("a100", 20, 2, 0), V("l40s", 5, 1, 0)}, {2, 1});
    RequestCount rc;
    rc.state = state;
    auto r = ApplyScaleToZero(f.in, Enabled(rc), &f.d);
    EXPECT_EQ(r.kind, ScaleToZeroResult::Kind::kUnchanged) << RequestCountStateName(state);
    EXPECT_TRUE(r.eligible);
    EXPECT_EQ(f.Targets(), (std::vector<int>{2, 1})) << RequestCountStateName(state);
  }
}

TEST(ScaleToZeroRule, AnyServedRequestKeepsTheModel) {
  Fixture f({V("a100", 20, 0, 0), V("l40s", 5, 1, 0)}, {0, 1});
  EXPECT_EQ(ApplyScaleToZero(f.in, Enabled(RequestCount::Of(0.4)), &f.d).kind,
            ScaleToZeroResult::Kind::kUnchanged);
  EXPECT_EQ(f.Targets(), (std::vector<int>{0, 1}));
}

TEST(ScaleToZeroRule, EveryVariantMustAllowZero) {
  Fixture f({V("a100", 20, 1, 1), V("l40s", 5, 1, 0)}, {1, 1});
  auto r = ApplyScaleToZero(f.in, Enabled(RequestCount::Of(0)), &f.d);
  EXPECT_FALSE(r.eligible);
  EXPECT_EQ(r.kind, ScaleToZeroResult::Kind::kUnchanged);
  EXPECT_EQ(f.Targets(), (std::vector<int>{1, 1}));
}

TEST(ScaleToZeroRule, DisabledNeverZeroes) {
  Fixture f({V("l40s", 5, 1, 0)}, {1});
  ScaleToZeroInput z = Enabled(RequestCount::Of(0));
  z.setting.enabled = false;
  EXPECT_EQ(ApplyScaleToZero(f.in, z, &f.d).kind, ScaleToZeroResult::Kind::kUnchanged);
  EXPECT_EQ(f.Targets(), (std::vector<int>{1}));
}

TEST(ScaleToZeroRule, IncompleteDataOrRecentWakeKeepsReplicas) {
  {
    Fixture f({V("l40s", 5, 1, 0)}, {1});
    ScaleToZeroInput z = Enabled(RequestCount::Of(0));
    z.complete_data = false;
    EXPECT_EQ(ApplyScaleToZero(f.in, z, &f.d).kind, ScaleToZeroResult::Kind::kUnchanged);
  }
  {
    Fixture f({V("l40s", 5, 1, 0)}, {1});
    ScaleToZeroInput z = Enabled(RequestCount::Of(0));
    z.seconds_since_woken = 599;
    EXPECT_EQ(ApplyScaleToZero(f.in, z, &f.d).kind, ScaleToZeroResult::Kind::kUnchanged);
    z.seconds_since_woken = 600;
    EXPECT_EQ(ApplyScaleToZero(f.in, z, &f.d).kind, ScaleToZeroResult::Kind::kZeroed);
  }
  {
    Fixture f({V("l40s", 5, 1, 0)}, {1});
    ScaleToZeroInput z = Enabled(RequestCount::Of(0));
    z.metrics_ok = false;
    EXPECT_EQ(ApplyScaleToZero(f.in, z, &f.d).kind, ScaleToZeroResult::Kind::kUnchanged);
    EXPECT_EQ(f.Targets(), (std::vector<int>{1}));
  }
}

TEST(ScaleToZeroRule, ModelAtZeroStaysWhileRequestDataIsUnknown) {
  Fixture f({V("a100", 20, 0, 0), V("l40s", 5, 0, 0)}, {0, 0});
  RequestCount empty;
  EXPECT_EQ(ApplyScaleToZero(f.in, Enabled(empty), &f.d).kind, ScaleToZeroResult::Kind::kUnchanged);
  EXPECT_EQ(f.Targets(), (std::vector<int>{0, 0}));
}

TEST(ScaleToZeroRule, JustWokenModelKeepsItsReplicaEvenBeforeCachesShowIt) {
  Fixture f({V("a100", 20, 0, 0), V("l40s", 5, 0, 0)}, {0, 0});
  ScaleToZeroInput z = Enabled(RequestCount{});  // no series yet: empty
  z.seconds_since_woken = 1;
  EXPECT_EQ(ApplyScaleToZero(f.in, z, &f.d).kind, ScaleToZeroResult::Kind::kKeptOne);
  EXPECT_EQ(f.Targets(), (std::vector<int>{0, 1}));
}

TEST(ScaleToZeroRule, ModelAtZeroWithServedRequestsKeepsOneCheapestReplica) {
  Fixture f({V("a100", 20, 0, 0), V("l40s", 5, 0, 0)}, {0, 0});
  EXPECT_EQ(ApplyScaleToZero(f.in, Enabled(RequestCount::Of(3)), &f.d).kind,
            ScaleToZeroResult::Kind::kKeptOne);
  EXPECT_EQ(f.Targets(), (std::vector<int>{0, 1}));
  EXPECT_EQ(f.d.decisions[1].action, Action::kScaleUp);
}

TEST(ScaleToZeroRule, NotEnabledModelNeverRestsAtZero) {
  Fixture f({V("b", 5, 0, 0), V("a", 5, 0, 0)}, {0, 0});
  ScaleToZeroInput z;  // disabled
  EXPECT_EQ(ApplyScaleToZero(f.in, z, &f.d).kind, ScaleToZeroResult::Kind::kKeptOne);
  EXPECT_EQ(f.Targets(), (std::vector<int>{0, 1}));  // cost tie: name ascending
  // ... but not on failed metrics: everything holds.
  Fixture g({V("a", 5, 0, 0)}, {0});
  z.metrics_ok = false;
  EXPECT_EQ(ApplyScaleToZero(g.in, z, &g.d).kind, ScaleToZeroResult::Kind::kUnchanged);
  EXPECT_EQ(g.Targets(), (std::vector<int>{0}));
}

TEST(ScaleToZeroConfig, ResolutionOrderAndInlineOverride) {
  auto r = ScaleToZeroConfigSet::Parse(
      {{"default", "enable_scale_to_zero: true\nretention_period: 10m\n"},
       {"llama", "model_id: meta/llama\nenable_scale_to_zero: false\n"},
       {"llama-dev",
        "model_id: meta/llama\nnamespace: dev\nenable_scale_to_zero: true\n"
        "retention_period: 90s\n"},
       {"meta/mistral#prod", "retention_period: 1h\n"}});
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  EXPECT_EQ(r.set.Resolve("other", "x"), (ScaleToZeroSetting{true, seconds(600)}));
  EXPECT_EQ(r.set.Resolve("meta/llama", "prod"), (ScaleToZeroSetting{false, seconds(600)}));
  EXPECT_EQ(r.set.Resolve("meta/llama", "dev"), (ScaleToZeroSetting{true, seconds(90)}));
  EXPECT_EQ(r.set.Resolve("meta/mistral", "prod"), (ScaleToZeroSetting{true, seconds(3600)}));
  EXPECT_EQ(r.set.Resolve("meta/llama", "dev", false).enabled, false);
  EXPECT_EQ(ScaleToZeroConfigSet().Resolve("m", "ns"), (ScaleToZeroSetting{false, seconds(600)}));
  EXPECT_EQ(ScaleToZeroConfigSet().Resolve("m", "ns", std::nullopt, true).enabled, true);
}

TEST(ScaleToZeroConfig, BadEntriesNamedAndLastGoodKept) {
  auto r = ScaleToZeroConfigSet::Parse({{"bad", "model_id: x\nretention_period: soon\n"},
                                        {"typo", "enable_scale_to_zer0: true\n"},
                                        {"nomodel", "enable_scale_to_zero: true\n"},
                                        {"zero", "model_id: y\nretention_period: 0s\n"},
                                        {"long", "model_id: z\nretention_period: 48h\n"}});
  ASSERT_EQ(r.errors.size(), 4u);
  EXPECT_EQ(r.errors[0].key, "bad");
  EXPECT_EQ(r.errors[0].field, "retention_period");
  EXPECT_EQ(r.errors[1].key, "nomodel");
  EXPECT_EQ(r.errors[1].field, "model_id");
  EXPECT_EQ(r.errors[2].field, "enable_scale_to_zer0");
  EXPECT_EQ(r.errors[3].key, "zero");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].key, "long");
  EXPECT_EQ(r.set.size(), 1u);

  auto good = ScaleToZeroConfigSet::Parse({{"m", "model_id: m\nenable_scale_to_zero: true\n"}});
  std::vector<ConfigError> errors;
  auto merged = ScaleToZeroConfigSet::MergeLastGood(
      good.set, {{"m", "model_id: m\nenable_scale_to_zero: yes please\n"}}, &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(merged.Resolve("m", "ns").enabled);
  auto removed = ScaleToZeroConfigSet::MergeLastGood(good.set, {}, &errors);
  EXPECT_FALSE(removed.Resolve("m", "ns").enabled);
}

}  // namespace
}  // namespace wva::core
