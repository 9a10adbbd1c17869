#include "controller/planner.h"

#include <gtest/gtest.h>

namespace wva::controller {
namespace {

nlohmann::json Va(const std::string& name, const std::string& deploy, const std::string& cost,
                  int last_desired = 0) {
  nlohmann::json va = {
      {"metadata", {{"name", name}, {"namespace", "prod"}, {"generation", 1}}},
      {"spec", {{"scaleTargetRef", {{"name", deploy}}}, {"modelID", "meta/llama"},
                {"variantCost", cost}, {"minReplicas", 1}, {"maxReplicas", 10}}}};
  if (last_desired > 0) va["status"]["desiredOptimizedAlloc"]["numReplicas"] = last_desired;
  return va;
}

nlohmann::json Deploy(int replicas, const std::string& gpu) {
  return {{"spec", {{"replicas", replicas},
                    {"template", {{"spec", {{"nodeSelector", {{kGpuProductSelector, gpu}}}}}}}}}};
}

struct Fixture {
  CycleInput in;
  prom::SaturationSnapshot snap;
  core::SaturationConfigSet config;
  Fixture() {
    in.vas = {Va("llama-a100", "llama-a100", "20.0"), Va("llama-l40s", "llama-l40s", "5.0")};
    in.deployments = {{"prod/llama-a100", Deploy(3, "A100")}, {"prod/llama-l40s", Deploy(2, "L40S")}};
    for (int i = 0; i < 3; ++i) in.pod_owner["prod"]["a100-" + std::to_string(i)] = "llama-a100";
    for (int i = 0; i < 2; ++i) in.pod_owner["prod"]["l40s-" + std::to_string(i)] = "llama-l40s";
    in.config = &config;
    in.metrics = &snap;
  }
  void Load(double kv, double q) {
    auto& m = snap.models[{"prod", "meta/llama"}];
    for (const auto& [pod, owner] : in.pod_owner["prod"]) m.pods[pod] = {kv, q};
  }
};

TEST(Planner, ScaleUpGoesToCheapL40S) {
  Fixture f;
  f.Load(0.9, 6);
  CycleOutput out = PlanCycle(f.in);
  ASSERT_EQ(out.vas.size(), 2u);
  const VaOutcome& a100 = out.vas[0];
  const VaOutcome& l40s = out.vas[1];
  EXPECT_EQ(l40s.publish_desired, 3);
  EXPECT_EQ(l40s.accelerator, "L40S");
  EXPECT_EQ(l40s.scaling_direction, "up");
  EXPECT_FALSE(l40s.status.applied);
  EXPECT_EQ(a100.publish_desired, 3);
  EXPECT_FALSE(a100.scaling_direction.has_value());
  EXPECT_TRUE(a100.status.applied);
  ASSERT_EQ(out.models.size(), 1u);
  EXPECT_EQ(out.models[0].input.replicas.size(), 5u);
}

TEST(Planner, ScaleDownShrinksExpensiveA100) {
  Fixture f;
  f.Load(0.1, 0);
  CycleOutput out = PlanCycle(f.in);
  EXPECT_EQ(out.vas[0].publish_desired, 2);
  EXPECT_EQ(out.vas[0].scaling_direction, "down");
  EXPECT_EQ(out.vas[1].publish_desired, 2);
}

TEST(Planner, PrometheusFailureHoldsEveryVariant) {
  Fixture f;
  f.in.vas[1] = Va("llama-l40s", "llama-l40s", "5.0", 4);
  f.snap.failures.push_back({"kv", prom::QueryError{}});
  f.in.prometheus_error = "connection refused";
  CycleOutput out = PlanCycle(f.in);
  EXPECT_FALSE(out.metrics_ok);
  EXPECT_EQ(out.vas[0].publish_desired, 3);  // current
  EXPECT_EQ(out.vas[1].publish_desired, 4);  // last desired
  EXPECT_EQ(out.vas[0].decision->action, core::Action::kHold);
  bool found = false;
  for (const auto& c : out.vas[0].status.conditions) {
    if (c.type == kCondMetricsAvailable) {
      found = true;
      EXPECT_FALSE(c.status);
      EXPECT_EQ(c.reason, "PrometheusError");
      EXPECT_NE(c.message.find("connection refused"), std::string::npos);
    }
  }
  EXPECT_TRUE(found);
}

TEST(Planner, MissingTargetAndInvalidVa) {
  Fixture f;
  f.in.vas.push_back(Va("ghost", "no-such-deploy", "1.0"));
  nlohmann::json bad = Va("bad", "llama-l40s", "abc");
  f.in.vas.push_back(bad);
  f.Load(0.5, 1);
  CycleOutput out = PlanCycle(f.in);
  ASSERT_EQ(out.vas.size(), 4u);
  EXPECT_EQ(out.vas[2].status.conditions[0].reason, "TargetNotFound");
  EXPECT_FALSE(out.vas[2].publish_desired.has_value());
  EXPECT_FALSE(out.vas[3].valid);
  EXPECT_EQ(out.vas[3].status.conditions[0].reason, "InvalidConfiguration");
  EXPECT_NE(out.vas[3].invalid_reason.find("spec.variantCost"), std::string::npos);
}

TEST(Planner, UnattributedPodsAreCountedNotUsed) {
  Fixture f;
  f.Load(0.5, 1);
  f.snap.models[{"prod", "meta/llama"}].pods["stranger"] = {0.99, 50};
  CycleOutput out = PlanCycle(f.in);
  EXPECT_EQ(out.unattributed_pods, 1);
  EXPECT_EQ(out.models[0].input.replicas.size(), 5u);
}

TEST(Planner, ManagedModelsDeduplicates) {
  Fixture f;
  auto keys = ManagedModels(f.in.vas);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].model, "meta/llama");
}

}  // namespace
}  // namespace wva::controller
