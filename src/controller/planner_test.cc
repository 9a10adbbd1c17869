#include "controller/planner.h"

#include <gtest/gtest.h>

#include "controller/cycle_va_testing.h"

namespace wva::controller {
namespace {

nlohmann::json Va(const std::string& name, const std::string& deploy, const std::string& cost,
                  int last_desired = 0) {
  nlohmann::json va = {{"metadata", {{"name", name}, {"namespace", "prod"}, {"generation", 1}}},
                       {"spec",
                        {{"scaleTargetRef", {{"name", deploy}}},
                         {"modelID", "meta/llama"},
                         {"variantCost", cost},
                         {"minReplicas", 1},
                         {"maxReplicas", 10}}}};
  if (last_desired > 0) {
    va["status"]["desiredOptimizedAlloc"]["numReplicas"] = last_desired;
  }
  return va;
}

nlohmann::json Deploy(int replicas, const std::string& gpu) {
  return {{"spec",
           {{"replicas", replicas},
            {"template", {{"spec", {{"nodeSelector", {{kGpuProductSelector, gpu}}}}}}}}}};
}

struct Fixture {
  CycleInput in;
  prom::SaturationSnapshot snap;
  core::SaturationConfigSet config;
  Fixture() {
    in.vas =
        CycleVasOf({Va("llama-a100", "llama-a100", "20.0"), Va("llama-l40s", "llama-l40s", "5.0")});
    in.deployments = {{"prod/llama-a100", ParseDeployment(Deploy(3, "A100"))},
                      {"prod/llama-l40s", ParseDeployment(Deploy(2, "L40S"))}};
    for (int i = 0; i < 3; ++i) {
      in.pod_owner["prod"]["a100-" + std::to_string(i)] = "llama-a100";
    }
    for (int i = 0; i < 2; ++i) {
      in.pod_owner["prod"]["l40s-" + std::to_string(i)] = "llama-l40s";
    }
    in.config = &config;
    in.metrics = &snap;
  }
  void Load(double kv, double q) {
    auto& m = snap.models[{"prod", "meta/llama"}];
    for (const auto& [pod, owner] : in.pod_owner["prod"]) {
      m.pods[pod] = {kv, q};
    }
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
  EXPECT_EQ(l40s.scaling_direction, ScalingDirection::kUp);
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
  EXPECT_EQ(out.vas[0].scaling_direction, ScalingDirection::kDown);
  EXPECT_EQ(out.vas[1].publish_desired, 2);
}

const Condition* Find(const VaOutcome& o, const char* type) {
  for (const Condition& c : o.status.conditions) {
    if (c.type == type) {
      return &c;
    }
  }
  return nullptr;
}

void SettleAll(Fixture& f) {
  for (const auto& [pod, owner] : f.in.pod_owner["prod"]) {
    f.in.settled_ready_pods["prod"].insert(pod);
  }
}

// Complete-data rule: the busiest pod stops reporting (its scrape timed out under load); the
// rest look idle, yet nothing shrinks, and the condition names the pod.
TEST(Planner, SilentReadyPodBlocksScaleDown) {
  Fixture f;
  f.Load(0.1, 0);
  SettleAll(f);
  f.snap.models[{"prod", "meta/llama"}].pods.erase("a100-2");
  CycleOutput out = PlanCycle(f.in);
  EXPECT_EQ(out.vas[0].publish_desired, 3);
  EXPECT_EQ(out.vas[1].publish_desired, 2);
  EXPECT_FALSE(out.vas[0].scaling_direction.has_value());
  EXPECT_EQ(out.vas[0].decision->driver, core::Driver::kIncomplete);
  const Condition* c = Find(out.vas[0], kCondMetricsAvailable);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->status);
  EXPECT_EQ(c->reason, "MetricsIncomplete");
  EXPECT_NE(c->message.find("a100-2"), std::string::npos);
  // Without the pod being Ready (not settled), it is not known to be running: the model is in
  // transition (a replica starting) and still does not shrink.
  f.in.settled_ready_pods.clear();
  out = PlanCycle(f.in);
  EXPECT_EQ(out.vas[0].publish_desired, 3);
  EXPECT_EQ(out.vas[0].decision->driver, core::Driver::kCascade);
}

TEST(Planner, SilentReadyPodStillAllowsScaleUp) {
  Fixture f;
  f.Load(0.9, 6);
  SettleAll(f);
  f.snap.models[{"prod", "meta/llama"}].pods.erase("l40s-1");
  CycleOutput out = PlanCycle(f.in);
  EXPECT_EQ(out.vas[1].publish_desired, 3);  // L40S 2 -> 3: the silent pod is running
  EXPECT_EQ(out.vas[1].scaling_direction, ScalingDirection::kUp);
}

TEST(Planner, GarbageSamplesNameThePodsAndTheKindOfValue) {
  Fixture f;
  f.Load(0.1, 0);
  SettleAll(f);
  auto& m = f.snap.models[{"prod", "meta/llama"}];
  // Every L40S pod reports garbage: the collector dropped NaN and negative values.
  m.pods.erase("l40s-0");
  m.pods.erase("l40s-1");
  m.dropped.push_back({"l40s-0", "kv", "nan"});
  m.dropped.push_back({"l40s-0", "queue", "nan"});
  m.dropped.push_back({"l40s-1", "kv", "negative"});
  m.pods["l40s-1"].queue = 0;
  CycleOutput out = PlanCycle(f.in);
  EXPECT_EQ(out.vas[1].decision->action, core::Action::kHold);
  EXPECT_EQ(out.vas[1].publish_desired, 2);
  EXPECT_EQ(out.vas[0].publish_desired, 3);  // A100 may not shrink on partial data
  const Condition* c = Find(out.vas[1], kCondMetricsAvailable);
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->status);
  EXPECT_EQ(c->reason, "MetricsInvalid");
  EXPECT_NE(c->message.find("l40s-0"), std::string::npos);
  EXPECT_NE(c->message.find("l40s-1"), std::string::npos);
  ASSERT_EQ(out.models[0].decision.analysis.incomplete.size(), 2u);
  EXPECT_EQ(out.models[0].decision.analysis.incomplete[0].problem, core::SampleProblem::kNaN);
  EXPECT_EQ(out.models[0].decision.analysis.incomplete[1].problem, core::SampleProblem::kNegative);
}

// Pods that reported before and then stopped are stale, with the age of their last sample; pods
// never seen are missing.
TEST(Planner, SilentPodsSeenBeforeAreStaleWithTheirAge) {
  Fixture f;
  f.Load(0.5, 1);
  SettleAll(f);
  auto& m = f.snap.models[{"prod", "meta/llama"}];
  m.pods.erase("l40s-0");
  m.pods.erase("l40s-1");
  CycleOutput out = PlanCycle(f.in);
  const Condition* c = Find(out.vas[1], kCondMetricsAvailable);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->reason, "MetricsMissing");
  EXPECT_EQ(out.vas[1].publish_desired, 2);

  f.in.last_sample_age_s["prod"]["l40s-0"] = 95;
  out = PlanCycle(f.in);
  c = Find(out.vas[1], kCondMetricsAvailable);
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->status);
  EXPECT_EQ(c->reason, "MetricsStale");
  EXPECT_NE(c->message.find("95 s"), std::string::npos) << c->message;
  EXPECT_EQ(out.vas[1].publish_desired, 2);
  EXPECT_EQ(out.vas[0].publish_desired, 3);  // A100 may not shrink meanwhile
}

TEST(Planner, SettledReadyPodsNeedAWholeWindowOfReadiness) {
  auto pod = [](const std::string& name, const char* status, const char* since) {
    nlohmann::json p = {
        {"metadata", {{"name", name}}},
        {"status",
         {{"conditions",
           {{{"type", "Ready"}, {"status", status}, {"lastTransitionTime", since}}}}}}};
    return p;
  };
  std::vector<nlohmann::json> pods = {
      pod("old", "True", "2026-11-28T09:00:00Z"), pod("new", "True", "2026-11-28T09:09:30Z"),
      pod("down", "False", "2026-11-28T09:00:00Z"), pod("odd", "True", "yesterday")};
  nlohmann::json deleting = pod("deleting", "True", "2026-11-28T09:00:00Z");
  deleting["metadata"]["deletionTimestamp"] = "2026-11-28T09:09:00Z";
  pods.push_back(deleting);
  const auto now = std::chrono::system_clock::from_time_t(1795857000);  // 2026-11-28T09:10:00Z
  std::set<std::string> got = SettledReadyPods(ParsePods(pods), now, std::chrono::seconds(60));
  EXPECT_EQ(got, (std::set<std::string>{"odd", "old"}));
}

// The complete-data rule per model: the settled Ready pods of the model's own Deployments that
// did not answer are silent, in pod-name order whichever variant they belong to; pods of other
// Deployments in the namespace (another model's) and unattributed pods are not this model's.
TEST(Planner, SilentPodsAreTheModelsOwnInPodNameOrder) {
  CycleInput in;
  in.pod_owner["prod"] = {
      {"a-1", "llama-b"}, {"b-0", "llama-a"}, {"c-0", "llama-a"}, {"z-9", "mistral-a"}};
  in.settled_ready_pods["prod"] = {"a-1", "b-0", "c-0", "orphan", "z-9"};
  in.settled_ready_pods["other"] = {"b-0"};
  prom::ModelSaturation ms;
  ms.pods["c-0"] = {0.5, 1};
  const std::map<std::string, int> variant_of_deploy = {{"llama-a", 0}, {"llama-b", 1}};
  int unattributed = 0;
  const std::vector<core::ReplicaSample> got = SamplesOf(
      in, {"prod", "meta/llama"}, &ms, variant_of_deploy, SettledByDeployment(in), &unattributed);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].pod, "c-0");
  EXPECT_FALSE(got[0].silent);
  EXPECT_EQ(got[1].pod, "a-1");
  EXPECT_TRUE(got[1].silent);
  EXPECT_EQ(got[1].variant, 1);
  EXPECT_EQ(got[2].pod, "b-0");
  EXPECT_TRUE(got[2].silent);
  EXPECT_EQ(got[2].variant, 0);
  EXPECT_EQ(unattributed, 0);
}

TEST(Planner, PrometheusFailureHoldsEveryVariant) {
  Fixture f;
  f.in.vas[1] = CycleVaOf(Va("llama-l40s", "llama-l40s", "5.0", 4));
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
  f.in.vas.push_back(CycleVaOf(Va("ghost", "no-such-deploy", "1.0")));
  nlohmann::json bad = Va("bad", "llama-l40s", "abc");
  f.in.vas.push_back(CycleVaOf(bad));
  f.Load(0.5, 1);
  CycleOutput out = PlanCycle(f.in);
  ASSERT_EQ(out.vas.size(), 4u);
  EXPECT_EQ(out.vas[2].status.conditions[0].reason, "TargetNotFound");
  EXPECT_FALSE(out.vas[2].publish_desired.has_value());
  EXPECT_FALSE(out.vas[3].valid);
  EXPECT_EQ(out.vas[3].status.conditions[0].reason, "InvalidConfiguration");
  EXPECT_NE(out.vas[3].invalid_reason.find("spec.variantCost"), std::string::npos);
}

TEST(Planner, InvalidVaKeepsItsLastValidDecision) {
  Fixture f;
  nlohmann::json bad = Va("bad", "llama-l40s", "abc");
  bad["metadata"]["generation"] = 4;
  bad["status"] = {{"desiredOptimizedAlloc", {{"numReplicas", 3}, {"accelerator", "L40S"}}},
                   {"currentAlloc", {{"numReplicas", 2}, {"accelerator", "L40S"}}}};
  f.in.vas.push_back(CycleVaOf(bad));
  f.in.vas.push_back(CycleVaOf(Va("never-valid", "llama-l40s", "abc")));
  f.Load(0.5, 1);
  CycleOutput out = PlanCycle(f.in);
  const VaOutcome& o = out.vas[2];
  EXPECT_FALSE(o.valid);
  EXPECT_EQ(o.status.conditions[0].reason, "InvalidConfiguration");
  EXPECT_EQ(o.status.observed_generation, 4);
  EXPECT_EQ(o.status.desired_replicas, 3);
  EXPECT_EQ(o.status.current_replicas, 2);
  EXPECT_EQ(o.status.accelerator, "L40S");
  EXPECT_EQ(o.accelerator, "L40S");
  EXPECT_EQ(o.publish_desired, std::optional<int>(3));
  EXPECT_FALSE(o.scaling_direction.has_value());
  // Never decided: nothing to keep, nothing published.
  EXPECT_FALSE(out.vas[3].publish_desired.has_value());
  EXPECT_EQ(out.vas[3].status.desired_replicas, 0);
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

namespace wva::controller {
namespace {

// Issue #8 in the controller: with SLO targets (VA spec.slo) and profiles (wva-slo-config), a
// load far above capacity moves the cheap variant by as many replicas as needed, not +1.
TEST(Planner, SloSizingScalesByWhatTheLoadNeeds) {
  Fixture f;
  f.in.vas[1] = Edited(f.in.vas[1], [](nlohmann::json& o) {
    o["spec"]["slo"] = {{"ttftMs", 2000}, {"itlMs", 80}};
  });
  auto slo = core::SloConfigSet::Parse({{"default",
                                         "profiles:\n"
                                         "  A100: {alpha: 8, beta: 0.1, gamma: 3, delta: 0.05, "
                                         "maxBatch: 256, kvCapacityTokens: 400000}\n"
                                         "  L40S: {alpha: 22.6, beta: 0.18, gamma: 5, delta: 0.09, "
                                         "maxBatch: 256, kvCapacityTokens: 184000}\n"}});
  ASSERT_TRUE(slo.errors.empty()) << slo.errors[0].ToString();
  f.in.slo_config = &slo.set;
  EXPECT_EQ(ModelsWithSlo(f.in.vas, &slo.set).size(), 1u);
  f.Load(0.9, 6);
  prom::WorkloadSnapshot wl;
  prom::ModelRates r;
  r.success = 60;  // req/s, far above 5 replicas' capacity
  r.prompt_sum = 60 * 500;
  r.prompt_count = 60;
  r.gen_sum = 60 * 200;
  r.gen_count = 60;
  wl.models[{"prod", "meta/llama"}] = r;
  f.in.workloads = &wl;
  CycleOutput out = PlanCycle(f.in);
  ASSERT_TRUE(out.models[0].sizing.has_value());
  EXPECT_TRUE(out.models[0].sizing->ok) << out.models[0].slo_note;
  int grown = 0;
  for (const auto& va : out.vas) {
    grown += *va.publish_desired - va.current_replicas;
  }
  EXPECT_GT(grown, 1) << out.models[0].sizing->summary;
  bool slo_driven = false;
  for (const auto& va : out.vas) {
    slo_driven |= va.decision->driver == core::Driver::kSlo;
  }
  EXPECT_TRUE(slo_driven);

  // Without workload rates the SLO rule stands aside and says why; saturation decides (+1).
  f.in.workloads = nullptr;
  CycleOutput sat = PlanCycle(f.in);
  EXPECT_FALSE(sat.models[0].slo_note.empty());
  EXPECT_EQ(sat.vas[1].publish_desired, 3);
}

// A good online fit replaces the configured coefficients in the sizing; a poor or missing one
// leaves the configured profile. Either way the reasons say which.
TEST(Planner, CalibratedProfileReplacesConfiguredWhenFitIsGood) {
  Fixture f;
  f.in.vas[1] = Edited(f.in.vas[1], [](nlohmann::json& o) {
    o["spec"]["slo"] = {{"ttftMs", 2000}, {"itlMs", 80}};
  });
  auto slo = core::SloConfigSet::Parse({{"default",
                                         "profiles:\n"
                                         "  A100: {alpha: 8, beta: 0.1, gamma: 3, delta: 0.05, "
                                         "maxBatch: 256, kvCapacityTokens: 400000}\n"
                                         "  L40S: {alpha: 22.6, beta: 0.18, gamma: 5, delta: 0.09, "
                                         "maxBatch: 256, kvCapacityTokens: 184000}\n"}});
  ASSERT_TRUE(slo.errors.empty());
  f.in.slo_config = &slo.set;
  f.Load(0.5, 1);
  prom::WorkloadSnapshot wl;
  wl.models[{"prod", "meta/llama"}] = {8, 8 * 1000, 8, 8 * 200, 8, {}, {}};
  f.in.workloads = &wl;

  Calibrators cals;
  core::ProfileCalibrator& l40s = cals[{"prod", "meta/llama", "L40S"}];
  for (int i = 0; i < 40; ++i) {  // the hardware is twice as fast as configured, exactly linear
    const double n = 4 + 5 * i, p = 200 + 90 * i;
    l40s.AddItl(i * 60.0, n, 11.3 + 0.09 * n);
    l40s.AddPrefill(i * 60.0, p, 2.5 + 0.045 * p);
  }
  f.in.calibrators = &cals;
  CycleOutput fitted = PlanCycle(f.in);
  ASSERT_TRUE(fitted.models[0].sizing && fitted.models[0].sizing->ok) << fitted.models[0].slo_note;
  ASSERT_EQ(fitted.models[0].profiles.size(), 2u);
  const ProfileUse& a100 = fitted.models[0].profiles[0];
  const ProfileUse& l = fitted.models[0].profiles[1];
  EXPECT_EQ(l.accelerator, "L40S");
  EXPECT_TRUE(l.decode_fitted && l.prefill_fitted) << l.explain;
  EXPECT_NEAR(l.profile.alpha_ms, 11.3, 1e-6);
  EXPECT_NEAR(l.profile.beta_ms, 0.09, 1e-9);
  EXPECT_NEAR(l.profile.delta_ms, 0.045, 1e-9);
  EXPECT_EQ(l.profile.kv_capacity_tokens, 184000);  // limits are never fitted
  EXPECT_FALSE(a100.decode_fitted);
  EXPECT_EQ(a100.explain, "configured (no calibration samples)");
  EXPECT_NE(fitted.vas[1].decision->reason.find("; profiles: A100 configured, L40S fitted"),
            std::string::npos)
      << fitted.vas[1].decision->reason;

  // The same cycle with configured profiles only: the L40S replica is modelled slower.
  f.in.calibrators = nullptr;
  CycleOutput configured = PlanCycle(f.in);
  ASSERT_TRUE(configured.models[0].sizing && configured.models[0].sizing->ok);
  EXPECT_EQ(configured.models[0].profiles[1].explain, "configured (calibration off)");
  EXPECT_GT(fitted.models[0].sizing->variants[1].capacity.max_rate,
            1.5 * configured.models[0].sizing->variants[1].capacity.max_rate);
  EXPECT_NE(configured.vas[1].decision->reason.find("; profiles: A100 configured, L40S configured"),
            std::string::npos);
}

TEST(Planner, InvalidSloSpecIsInvalidConfiguration) {
  Fixture f;
  f.in.vas[1] = Edited(f.in.vas[1], [](nlohmann::json& o) {
    o["spec"]["slo"] = {{"ttftMs", "fast"}};
  });
  CycleOutput out = PlanCycle(f.in);
  EXPECT_FALSE(out.vas[1].valid);
  EXPECT_NE(out.vas[1].invalid_reason.find("spec.slo"), std::string::npos)
      << out.vas[1].invalid_reason;
}

// Token-based analyzer (V2), selected by the ConfigMap's default entry as upstream does. A100:
// 40000 KV tokens (k1 32000) at $20/h = 6.25e-4 $/token; L40S: 10000 tokens (k1 8000) at $5/h =
// 6.25e-4 too; the A100's vLLM args bound k2: B = 512, S = 256 with 400+100 tokens per request
// -> N = min(512*100/500, 256) = 102.4, k2 = 102.4 * 450 = 46080 > 32000, so k1 binds.
TEST(Planner, TokenBasedAnalyzerUsesCapacityTokensAndArgs) {
  Fixture f;
  auto parsed = core::SaturationConfigSet::Parse(
      {{"default", "analyzers:\n  - name: saturation\nscaleUpThreshold: 0.85\n"}});
  ASSERT_TRUE(parsed.errors.empty());
  f.config = parsed.set;
  nlohmann::json a100 = Deploy(3, "A100");
  a100["spec"]["template"]["spec"]["containers"] = {
      {{"name", "vllm"},
       {"command",
        {"sh", "-c", "vllm serve meta/llama --max-num-batched-tokens=512 --max-num-seqs 256"}}}};
  f.in.deployments["prod/llama-a100"] = ParseDeployment(a100);
  f.Load(0.9, 6);
  prom::KvCapacitySnapshot cap;
  for (int i = 0; i < 3; ++i) {
    cap.tokens["prod"]["a100-" + std::to_string(i)] = 40000;
  }
  for (int i = 0; i < 2; ++i) {
    cap.tokens["prod"]["l40s-" + std::to_string(i)] = 10000;
  }
  prom::WorkloadSnapshot wl;
  wl.models[{"prod", "meta/llama"}] = {1, 400, 1, 100, 1, {}, {}};
  f.in.kv_capacity = &cap;
  f.in.workloads = &wl;
  CycleOutput out = PlanCycle(f.in);
  ASSERT_EQ(out.models.size(), 1u);
  const core::ModelDecision& d = out.models[0].decision;
  ASSERT_TRUE(d.capacity.has_value());
  // Every pod: kv 0.9 -> in use 0.9*cap, queue 6 >= 5 so k2 is observed = in use (36000 and
  // 9000), capped by k1: per replica 32000 and 8000. Demand: 3*(36000+3000) + 2*(9000+3000).
  EXPECT_DOUBLE_EQ(d.capacity->demand, 3 * 39000.0 + 2 * 12000.0);
  EXPECT_DOUBLE_EQ(d.capacity->supply, 3 * 32000.0 + 2 * 8000.0);
  // RC = 141000/0.85 - 112000 = 53882.35; equal cost per token: the name breaks the tie
  // (llama-a100): ceil(53882.35/32000) = 2 -> 5.
  EXPECT_EQ(out.vas[0].publish_desired, 5);
  EXPECT_EQ(out.vas[0].scaling_direction, ScalingDirection::kUp);
  EXPECT_EQ(out.vas[1].publish_desired, 2);
  EXPECT_EQ(f.in.deployments["prod/llama-a100"]->vllm.max_num_batched_tokens, 512);
  EXPECT_EQ(f.in.deployments["prod/llama-a100"]->vllm.max_num_seqs, 256);
  // The observed bounds are remembered for the next cycles.
  CapacityMemories mem;
  RememberCapacity(out, &mem);
  ASSERT_TRUE(mem.count("prod/meta/llama/llama-a100"));
  EXPECT_DOUBLE_EQ(*mem["prod/meta/llama/llama-a100"].K2Mean(), 36000);
  EXPECT_DOUBLE_EQ(mem["prod/meta/llama/llama-l40s"].per_replica, 8000);
}

TEST(Planner, TokenBasedWithoutCapacityDataHoldsNeverShrinks) {
  Fixture f;
  auto parsed = core::SaturationConfigSet::Parse({{"default", "analyzerName: saturation\n"}});
  f.config = parsed.set;
  f.Load(0.1, 0);
  CycleOutput out = PlanCycle(f.in);  // no cache_config_info at all
  EXPECT_EQ(out.vas[0].publish_desired, 3);
  EXPECT_EQ(out.vas[1].publish_desired, 2);
  EXPECT_FALSE(out.vas[0].scaling_direction.has_value());
}

}  // namespace
}  // namespace wva::controller
