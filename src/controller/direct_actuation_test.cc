#include "controller/direct_actuation.h"

#include <gtest/gtest.h>

#include "controller/cycle_va_testing.h"

namespace wva::controller {
namespace {

nlohmann::json Va(const std::string& name, const std::string& cost, const std::string& mode) {
  nlohmann::json va = {{"metadata", {{"name", name}, {"namespace", "prod"}, {"generation", 1}}},
                       {"spec",
                        {{"scaleTargetRef", {{"name", name}}},
                         {"modelID", "meta/llama"},
                         {"variantCost", cost},
                         {"minReplicas", 1},
                         {"maxReplicas", 10}}}};
  if (!mode.empty()) {
    va["metadata"]["annotations"][kActuationAnnotation] = mode;
  }
  return va;
}

struct FakeSetter : ScaleSetter {
  std::vector<std::pair<std::string, int>> writes;
  bool fail = false;
  Status SetReplicas(const std::string&, const std::string& d, int n) override {
    if (fail) {
      return UnavailableError("api down");
    }
    writes.push_back({d, n});
    return OkStatus();
  }
};

const Condition* Find(const VaOutcome& o) {
  for (const Condition& c : o.status.conditions) {
    if (c.type == kCondDirectActuation) {
      return &c;
    }
  }
  return nullptr;
}

// One direct-mode variant whose plan says `desired`; the Deployment has `current` replicas.
struct Fixture {
  FakeClock clock;
  FakeSetter setter;
  std::vector<nlohmann::json> scalers;
  DirectActuator actuator{setter, [this] { return scalers; }, clock, false};
  CycleInput in;
  CycleOutput out;
  void Plan(int current, int desired, const std::string& mode = "direct") {
    in.vas = CycleVasOf({Va("llama-l40s", "5.0", mode)});
    out.vas.assign(1, VaOutcome{});
    out.vas[0].ns = "prod";
    out.vas[0].name = "llama-l40s";
    out.vas[0].valid = true;
    out.vas[0].current_replicas = current;
    out.vas[0].publish_desired = desired;
  }
};

TEST(DirectActuation, ScalesUpAtOnceAndDownAfterTheDefaultWindow) {
  Fixture f;
  f.Plan(2, 3);
  DirectActuator::Stats s = f.actuator.Apply(f.in, &f.out);
  EXPECT_EQ(s.writes, 1);
  ASSERT_EQ(f.setter.writes.size(), 1u);
  EXPECT_EQ(f.setter.writes[0], (std::pair<std::string, int>{"llama-l40s", 3}));
  EXPECT_EQ(Find(f.out.vas[0])->reason, "Scaled");
  EXPECT_TRUE(f.out.vas[0].status.applied);
  // Down: held by the 300 s stabilization window, then applied.
  f.clock.Advance(std::chrono::seconds(60));
  f.Plan(3, 2);
  f.actuator.Apply(f.in, &f.out);
  EXPECT_EQ(f.setter.writes.size(), 1u);
  EXPECT_EQ(Find(f.out.vas[0])->reason, "Stabilized");
  EXPECT_FALSE(f.out.vas[0].status.applied);
  f.clock.Advance(std::chrono::seconds(241));
  f.Plan(3, 2);
  f.actuator.Apply(f.in, &f.out);
  ASSERT_EQ(f.setter.writes.size(), 2u);
  EXPECT_EQ(f.setter.writes[1].second, 2);
}

TEST(DirectActuation, RefusedWhenAnHpaOrScaledObjectTargetsTheDeployment) {
  Fixture f;
  f.scalers = {{{"kind", "HorizontalPodAutoscaler"},
                {"metadata", {{"name", "llama-l40s"}, {"namespace", "prod"}}},
                {"spec", {{"scaleTargetRef", {{"kind", "Deployment"}, {"name", "llama-l40s"}}}}}}};
  f.Plan(2, 3);
  DirectActuator::Stats s = f.actuator.Apply(f.in, &f.out);
  EXPECT_EQ(s.refused, 1);
  EXPECT_TRUE(f.setter.writes.empty());
  const Condition* c = Find(f.out.vas[0]);
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->status);
  EXPECT_EQ(c->reason, "ConflictingScaler");
  // A scaler in another namespace or for another Deployment is no conflict.
  f.scalers[0]["metadata"]["namespace"] = "dev";
  f.Plan(2, 3);
  EXPECT_EQ(f.actuator.Apply(f.in, &f.out).writes, 1);
}

TEST(DirectActuation, MetricsModeWritesNothingAndBadValuesAreConditions) {
  Fixture f;
  f.Plan(2, 3, "");  // ACTUATION_MODE default: metrics
  EXPECT_EQ(f.actuator.Apply(f.in, &f.out).direct, 0);
  EXPECT_EQ(Find(f.out.vas[0]), nullptr);
  f.Plan(2, 3, "drect");
  EXPECT_EQ(f.actuator.Apply(f.in, &f.out).refused, 1);
  EXPECT_EQ(Find(f.out.vas[0])->reason, "InvalidActuation");
  f.Plan(2, 3);
  f.in.vas[0] = Edited(f.in.vas[0], [](nlohmann::json& o) {
    o["metadata"]["annotations"][kBehaviorAnnotation] =
        R"({"scaleUp": {"policies": [{"type": "Pods", "value": 0, "periodSeconds": 15}]}})";
  });
  EXPECT_EQ(f.actuator.Apply(f.in, &f.out).refused, 1);
  EXPECT_EQ(Find(f.out.vas[0])->reason, "InvalidBehavior");
  EXPECT_TRUE(f.setter.writes.empty());
  f.setter.fail = true;
  f.Plan(2, 3);
  EXPECT_EQ(f.actuator.Apply(f.in, &f.out).failures, 1);
  EXPECT_EQ(Find(f.out.vas[0])->reason, "ScaleFailed");
}

TEST(DirectActuation, BehaviorAnnotationSetsRatePolicies) {
  auto b = ParseBehavior(nlohmann::json::parse(
      R"({"scaleDown": {"stabilizationWindowSeconds": 0, "selectPolicy": "Min",
           "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}})"));
  ASSERT_TRUE(b.has_value()) << b.error().message();
  EXPECT_EQ(b->scale_down.stabilization_s, 0);
  EXPECT_EQ(b->scale_down.select, core::SelectPolicy::kMin);
  EXPECT_EQ(b->scale_up.policies.size(), 2u);  // default kept
  auto bad = ParseBehavior(nlohmann::json::parse(R"({"scaleDown": {"window": 3}})"));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message().rfind("behavior.scaleDown.window", 0), 0u);

  Fixture f;
  f.Plan(4, 1);
  f.in.vas[0] = Edited(f.in.vas[0], [](nlohmann::json& o) {
    o["metadata"]["annotations"][kBehaviorAnnotation] =
        R"({"scaleDown": {"stabilizationWindowSeconds": 0,
          "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}})";
  });
  f.actuator.Apply(f.in, &f.out);
  ASSERT_EQ(f.setter.writes.size(), 1u);
  EXPECT_EQ(f.setter.writes[0].second, 3);  // one pod per minute
}

struct MemoryStore : PolicyStateStore {
  std::optional<std::string> doc;
  bool fail = false;
  int saves = 0;
  StatusOr<std::optional<std::string>> Load() override {
    if (fail) {
      return Err(UnavailableError("api down"));
    }
    return doc;
  }
  Status Save(const std::string& d) override {
    if (fail) {
      return UnavailableError("api down");
    }
    doc = d;
    ++saves;
    return OkStatus();
  }
};

TEST(DirectActuation, ARestartInsideTheWindowDoesNotScaleDownEarly) {
  Fixture f;
  MemoryStore store;
  f.actuator.set_history_store(&store);
  f.Plan(2, 3);
  f.actuator.Apply(f.in, &f.out);  // t=0: up to 3 (a recommendation of 3)
  f.clock.Advance(std::chrono::seconds(60));
  f.Plan(3, 2);
  f.actuator.Apply(f.in, &f.out);  // t=60: held by the 300 s window
  ASSERT_EQ(f.setter.writes.size(), 1u);
  ASSERT_TRUE(store.doc.has_value());

  // A new leader at t=120 restores the history: still held, and the window still ends 300 s
  // after the recommendation of 3 (t=0), not after the restart.
  f.clock.Advance(std::chrono::seconds(60));
  FakeSetter setter;
  DirectActuator next(
      setter, [] { return std::vector<nlohmann::json>{}; }, f.clock, false);
  next.set_history_store(&store);
  for (int wait_s : {0, 179}) {  // t=120, t=299
    f.clock.Advance(std::chrono::seconds(wait_s));
    f.Plan(3, 2);
    next.Apply(f.in, &f.out);
    EXPECT_TRUE(setter.writes.empty()) << wait_s;
    EXPECT_EQ(Find(f.out.vas[0])->reason, "Stabilized");
  }
  f.clock.Advance(std::chrono::seconds(2));  // t=301
  f.Plan(3, 2);
  next.Apply(f.in, &f.out);
  ASSERT_EQ(setter.writes.size(), 1u);
  EXPECT_EQ(setter.writes[0].second, 2);
}

TEST(DirectActuation, WithoutAHistoryTheCurrentReplicasHoldAFullWindow) {
  // No saved history (first start) or an unreadable store: as Kubernetes' HPA, the current
  // replicas count as a recommendation, so nothing is scaled down before one full window.
  Fixture f;
  MemoryStore store;
  store.fail = true;
  f.actuator.set_history_store(&store);
  f.Plan(5, 2);
  f.actuator.Apply(f.in, &f.out);
  EXPECT_TRUE(f.setter.writes.empty());
  EXPECT_EQ(store.saves, 0);  // a history not read yet is never overwritten
  f.clock.Advance(std::chrono::seconds(299));
  f.Plan(5, 2);
  f.actuator.Apply(f.in, &f.out);
  EXPECT_TRUE(f.setter.writes.empty());
  // The store answers again: it is read, then saved.
  store.fail = false;
  store.doc = "{not json";
  f.clock.Advance(std::chrono::seconds(2));
  f.Plan(5, 2);
  f.actuator.Apply(f.in, &f.out);
  ASSERT_EQ(f.setter.writes.size(), 1u);
  EXPECT_EQ(f.setter.writes[0].second, 2);
  EXPECT_EQ(store.saves, 1);
  auto saved = DecodeBehaviorHistories(*store.doc);
  ASSERT_TRUE(saved.has_value()) << saved.error().message();
  ASSERT_EQ(saved->count("prod/llama-l40s"), 1u);
  EXPECT_EQ(saved->at("prod/llama-l40s").events.size(), 1u);
}

TEST(DirectActuation, MetricsModeNeverTouchesTheHistoryStore) {
  Fixture f;
  MemoryStore store;
  store.fail = true;  // any read or write would show as an error
  f.actuator.set_history_store(&store);
  f.Plan(2, 3, "metrics");
  f.actuator.Apply(f.in, &f.out);
  store.fail = false;
  f.actuator.Apply(f.in, &f.out);
  EXPECT_EQ(store.saves, 0);
  EXPECT_FALSE(store.doc.has_value());
}

TEST(DirectActuation, HistoryDocumentRoundTripsAndRejectsGarbage) {
  BehaviorHistories h;
  h["prod/a"] = {{{100.5, 3}, {160.25, 2}}, {{100.5, 1}}};
  h["dev/b"] = {{{50, 1}}, {}};
  auto back = DecodeBehaviorHistories(EncodeBehaviorHistories(h));
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(*back, h);
  int dropped = 0;
  auto small = DecodeBehaviorHistories(EncodeBehaviorHistories(h, 150, &dropped));
  ASSERT_TRUE(small.has_value());
  EXPECT_EQ(dropped, 1);
  EXPECT_EQ(small->count("prod/a"), 1u);  // the most recently recommended is kept
  for (const char* bad :
       {"[]", R"({"version": 2, "targets": []})",
        R"({"version": 1, "targets": [{"namespace": "p", "name": "a", "events": [[1, 0]]}]})",
        R"({"version": 1, "targets": [{"namespace": "p", "name": "a",
            "recommendations": [[1, -2]]}]})",
        R"({"version": 1, "targets": [{"name": "a"}]})"}) {
    EXPECT_FALSE(DecodeBehaviorHistories(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace wva::controller
