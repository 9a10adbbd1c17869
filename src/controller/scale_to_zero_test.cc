#include "controller/scale_to_zero.h"

#include <gtest/gtest.h>

#include "base/clock.h"
#include "controller/cycle_va_testing.h"
#include "prom/fake_querier_test.h"

namespace wva::controller {
namespace {

using prom::testing::FakeQuerier;

nlohmann::json Va(const std::string& name, const std::string& cost, int min) {
  return {{"metadata", {{"name", name}, {"namespace", "prod"}, {"generation", 1}}},
          {"spec",
           {{"scaleTargetRef", {{"name", name}}},
            {"modelID", "meta/llama"},
            {"variantCost", cost},
            {"minReplicas", min},
            {"maxReplicas", 10}}}};
}

nlohmann::json Deploy(int replicas) { return {{"spec", {{"replicas", replicas}}}}; }

prom::Sample ModelSample(double v, prom::ValueClass c = prom::ValueClass::kFinite) {
  prom::Sample s;
  s.labels = {{"namespace", "prod"}, {"model_name", "meta/llama"}};
  s.point.value = v;
  s.point.value_class = c;
  return s;
}

// Two idle variants of one model, one replica each, every pod reporting.
struct Fixture {
  CycleInput in;
  prom::SaturationSnapshot snap;
  core::SaturationConfigSet config;
  FakeClock clock;
  FakeQuerier querier;
  ZeroScaler zero{querier, clock};
  std::optional<double> increase = 0;  // nullopt = empty answer
  double newest_age_s = 10;
  bool fail = false;

  Fixture(int min = 0, int a100 = 1, int l40s = 1) {
    in.vas = CycleVasOf({Va("llama-a100", "20.0", min), Va("llama-l40s", "5.0", min)});
    in.deployments = {{"prod/llama-a100", ParseDeployment(Deploy(a100))},
                      {"prod/llama-l40s", ParseDeployment(Deploy(l40s))}};
    auto& m = snap.models[{"prod", "meta/llama"}];
    for (int i = 0; i < a100; ++i) {
      in.pod_owner["prod"]["a-" + std::to_string(i)] = "llama-a100";
      m.pods["a-" + std::to_string(i)] = {0.05, 0};
    }
    for (int i = 0; i < l40s; ++i) {
      in.pod_owner["prod"]["l-" + std::to_string(i)] = "llama-l40s";
      m.pods["l-" + std::to_string(i)] = {0.05, 0};
    }
    in.config = &config;
    in.metrics = &snap;
    querier.answer = [this](std::string_view q) -> prom::QueryOutcome {
      if (fail) {
        return tl::unexpected(prom::QueryError{prom::ErrorKind::kUnavailable, "down", 0, ""});
      }
      if (q.find("timestamp(") != std::string_view::npos) {
        const double now =
            std::chrono::duration<double>(clock.WallNow().time_since_epoch()).count();
        return prom::testing::Vector({ModelSample(now - newest_age_s)});
      }
      if (!increase) {
        return prom::testing::Vector({});
      }
      return prom::testing::Vector({ModelSample(*increase)});
    };
    zero.config().Update({{"default", "enable_scale_to_zero: true\nretention_period: 5m\n"}});
  }
  CycleOutput Run() {
    CycleOutput out = PlanCycle(in);
    zero.Apply(in, &out);
    return out;
  }
  // This controller has watched the model for a whole retention period (5m).
  Fixture& Watched() {
    Run();
    clock.Advance(std::chrono::seconds(301));
    querier.queries.clear();
    return *this;
  }
};

TEST(ZeroScaler, FirstSeenModelWaitsOneRetentionPeriod) {
  Fixture f;
  for (const VaOutcome& o : f.Run().vas) {
    EXPECT_EQ(o.publish_desired, 1) << o.name;
  }
  f.clock.Advance(std::chrono::seconds(299));
  for (const VaOutcome& o : f.Run().vas) {
    EXPECT_EQ(o.publish_desired, 1) << o.name;
  }
  f.clock.Advance(std::chrono::seconds(2));
  for (const VaOutcome& o : f.Run().vas) {
    EXPECT_EQ(o.publish_desired, 0) << o.name;
  }
}

TEST(ZeroScaler, IdleModelIsZeroedWithOneEventPerVariant) {
  Fixture f;
  CycleOutput out = f.Watched().Run();
  ASSERT_EQ(out.vas.size(), 2u);
  for (const VaOutcome& o : out.vas) {
    EXPECT_EQ(o.publish_desired, 0) << o.name;
    EXPECT_EQ(o.status.desired_replicas, 0);
    EXPECT_FALSE(o.status.applied);
    EXPECT_EQ(o.scaling_direction, ScalingDirection::kDown);
    EXPECT_EQ(o.scaling_driver, core::Driver::kScaleToZero);
  }
  // Two queries (increase over the retention, and freshness), one retention group.
  ASSERT_EQ(f.querier.queries.size(), 2u);
  EXPECT_NE(f.querier.queries[0].find("[300s]"), std::string::npos);
}

TEST(ZeroScaler, AlreadyPublishedZeroIsNotAnotherEvent) {
  Fixture f;
  f.Watched();
  for (auto& va : f.in.vas) {
    va = Edited(va,
                [](nlohmann::json& o) { o["status"]["desiredOptimizedAlloc"]["numReplicas"] = 0; });
  }
  CycleOutput out = f.Run();
  for (const VaOutcome& o : out.vas) {
    EXPECT_EQ(o.publish_desired, 0);
    EXPECT_FALSE(o.scaling_direction.has_value());
  }
}

TEST(ZeroScaler, ErrorEmptyStaleOrServedRequestsKeepReplicas) {
  struct Case {
    const char* name;
    std::function<void(Fixture&)> setup;
  } cases[] = {{"error", [](Fixture& f) { f.fail = true; }},
               {"empty", [](Fixture& f) { f.increase.reset(); }},
               {"stale", [](Fixture& f) { f.newest_age_s = 600; }},
               {"served", [](Fixture& f) { f.increase = 2; }},
               {"nan", [](Fixture& f) { f.increase = std::nan(""); }}};
  for (const Case& c : cases) {
    Fixture f;
    f.Watched();
    c.setup(f);
    CycleOutput out = f.Run();
    for (const VaOutcome& o : out.vas) {
      EXPECT_EQ(o.publish_desired, 1) << c.name << " " << o.name;
    }
  }
}

TEST(ZeroScaler, NotEligibleMakesNoQuery) {
  Fixture f(/*min=*/1);
  CycleOutput out = f.Run();
  EXPECT_TRUE(f.querier.queries.empty());
  for (const VaOutcome& o : out.vas) {
    EXPECT_EQ(o.publish_desired, 1);
  }

  Fixture off;
  off.zero.config().Update({});  // no entry, WVA_SCALE_TO_ZERO unset
  off.Run();
  EXPECT_TRUE(off.querier.queries.empty());

  Fixture inline_off;
  inline_off.config =
      core::SaturationConfigSet::Parse({{"meta/llama#prod", "scaleToZero: {enabled: false}\n"}})
          .set;
  CycleOutput kept = inline_off.Run();
  EXPECT_TRUE(inline_off.querier.queries.empty());
  for (const VaOutcome& o : kept.vas) {
    EXPECT_EQ(o.publish_desired, 1);
  }
}

TEST(ZeroScaler, WokenModelIsNotZeroedAgainWithinRetention) {
  Fixture f(0, 0, 0);  // at zero
  CycleOutput at_zero = f.Run();
  for (const VaOutcome& o : at_zero.vas) {
    EXPECT_EQ(o.publish_desired, 0);
  }
  // Woken: one L40S replica starting; the old series still say 0 requests.
  f.in.deployments["prod/llama-l40s"] = ParseDeployment(Deploy(1));
  f.clock.Advance(std::chrono::seconds(30));
  CycleOutput woken = f.Run();
  EXPECT_EQ(woken.vas[1].publish_desired, 1);
  f.clock.Advance(std::chrono::seconds(240));
  EXPECT_EQ(f.Run().vas[1].publish_desired, 1);
  f.clock.Advance(std::chrono::seconds(61));
  EXPECT_EQ(f.Run().vas[1].publish_desired, 0);
}

TEST(ZeroScaler, ConfigCacheKeepsLastGoodEntry) {
  ScaleToZeroConfigCache cache;
  auto r = cache.Update({{"m", "model_id: m\nenable_scale_to_zero: true\n"}});
  EXPECT_TRUE(r.changed);
  EXPECT_TRUE(r.errors.empty());
  r = cache.Update({{"m", "model_id: m\nenable_scale_to_zero: sure\n"}});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].field, "enable_scale_to_zero");
  EXPECT_FALSE(r.changed);
  EXPECT_TRUE(cache.Get()->Resolve("m", "ns").enabled);
}

}  // namespace
}  // namespace wva::controller
