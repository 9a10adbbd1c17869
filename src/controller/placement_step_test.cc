#include "controller/placement_step.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "base/clock.h"
#include "controller/cycle_va_testing.h"

namespace wva::controller {
namespace {

nlohmann::json Va(const std::string& name, const std::string& cost) {
  return {{"metadata", {{"name", name}, {"namespace", "prod"}, {"generation", 1}}},
          {"spec",
           {{"scaleTargetRef", {{"name", name}}},
            {"modelID", "meta/llama"},
            {"variantCost", cost},
            {"minReplicas", 1},
            {"maxReplicas", 10}}}};
}

nlohmann::json Deploy(int replicas, int gpus, const std::string& product = "") {
  return {{"spec",
           {{"replicas", replicas},
            {"template",
             {{"spec",
               {{"nodeSelector", {{kGpuProductSelector, product}}},
                {"containers",
                 {{{"name", "vllm"},
                   {"resources", {{"limits", {{"nvidia.com/gpu", std::to_string(gpus)}}}}}},
                  {{"name", "sidecar"}}}}}}}}}}};
}

PodPtr Pod(const std::string& name, bool unschedulable, const std::string& since) {
  nlohmann::json p = {{"metadata", {{"name", name}, {"namespace", "prod"}}},
                      {"status", {{"phase", unschedulable ? "Pending" : "Running"}}}};
  if (unschedulable) {
    p["status"]["conditions"] = {{{"type", "PodScheduled"},
                                  {"status", "False"},
                                  {"reason", "Unschedulable"},
                                  {"lastTransitionTime", since}}};
  }
  return ParsePod(p);
}

TEST(Placement, GpusPerReplicaFromThePodTemplate) {
  EXPECT_EQ(ParseDeployment(Deploy(1, 2))->gpus_per_replica, 2);
  nlohmann::json d = Deploy(1, 0);
  d["spec"]["template"]["spec"]["containers"][0]["resources"] = {{"requests", {{"amd.com/gpu", 1}}},
                                                                 {"limits", {{"amd.com/gpu", 1}}}};
  EXPECT_EQ(ParseDeployment(d)->gpus_per_replica, 1);
  EXPECT_EQ(ParseDeployment(nlohmann::json::object())->gpus_per_replica, 0);
}

TEST(Placement, BudgetConfigMapKeysAndLastGood) {
  auto r = ParseGpuBudget({{"cluster", "16"},
                           {"namespace.prod", "8\n"},
                           {"accelerator.H100", "4"},
                           {"clustr", "3"},
                           {"namespace.dev", "-1"}});
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.budget.cluster, 16);
  EXPECT_EQ(r.budget.per_namespace.at("prod"), 8);
  EXPECT_EQ(r.budget.per_accelerator.at("H100"), 4);
  FakeClock clock;
  PlacementStep step(clock);
  EXPECT_TRUE(step.UpdateBudget({{"cluster", "16"}}).empty());
  EXPECT_EQ(step.UpdateBudget({{"cluster", "sixteen"}}).size(), 1u);
  EXPECT_EQ(step.budget().cluster, 16);
  EXPECT_TRUE(step.UpdateBudget({}).empty());
  EXPECT_FALSE(step.budget().cluster.has_value());
}

TEST(Placement, NodeInventoryGivesPerProductBudgetsTheConfigMapOverrides) {
  auto node = [](const std::string& label, const std::string& product, const char* resource,
                 nlohmann::json gpus, bool cordoned = false) {
    nlohmann::json n = {{"metadata", {{"name", "n"}, {"labels", {{label, product}}}}},
                        {"status", {{"allocatable", {{resource, gpus}, {"cpu", "64"}}}}}};
    if (cordoned) {
      n["spec"]["unschedulable"] = true;
    }
    return n;
  };
  const std::vector<nlohmann::json> nodes = {
      node("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu", "8"),
      node("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu", 8),
      node("nvidia.com/gpu.product", "NVIDIA-L40S", "nvidia.com/gpu", "4"),
      node("nvidia.com/gpu.product", "NVIDIA-L40S", "nvidia.com/gpu", "4", /*cordoned=*/true),
      node("amd.com/gpu.product-name", "AMD-Instinct-MI300X", "amd.com/gpu", "8"),
      node("habana.ai/product.name", "Gaudi3", "habana.ai/gaudi", "8"),
      node("gpu.intel.com/product", "Max-1550", "gpu.intel.com/i915", "bad"),
      node("kubernetes.io/os", "linux", "nvidia.com/gpu", "8")};  // no product label
  const std::map<std::string, int> inv = GpuInventory(nodes);
  EXPECT_EQ(inv, (std::map<std::string, int>{{"NVIDIA-H100-80GB-HBM3", 16},
                                             {"NVIDIA-L40S", 4},
                                             {"AMD-Instinct-MI300X", 8},
                                             {"Gaudi3", 8}}));
  // The projection keeps what GpuInventory reads, nothing else.
  nlohmann::json full = nodes[3];
  full["status"]["capacity"] = {{"nvidia.com/gpu", "4"}};
  full["metadata"]["annotations"] = {{"a", "b"}};
  const nlohmann::json p = ProjectNode(std::move(full));
  EXPECT_FALSE(p["metadata"].contains("annotations"));
  EXPECT_FALSE(p["status"].contains("capacity"));
  EXPECT_EQ(GpuInventory({p}), GpuInventory({nodes[3]}));
  FakeClock clock;
  PlacementStep step(clock);
  for (size_t i = 0; i < nodes.size(); ++i) {
    step.SetNodeGpus(fmt::format("n{}", i), GpuInventory({nodes[i]}));
  }
  EXPECT_FALSE(step.SetNodeGpus("n0", GpuInventory({nodes[0]})));  // unchanged
  EXPECT_TRUE(step.SetNodeGpus("n1", {}));                         // deleted
  EXPECT_EQ(step.budget().per_accelerator.at("NVIDIA-H100-80GB-HBM3"), 8);
  EXPECT_TRUE(step.SetNodeGpus("n1", GpuInventory({nodes[1]})));
  ASSERT_TRUE(step.UpdateBudget({{"accelerator.NVIDIA-L40S", "2"}, {"cluster", "20"}}).empty());
  const core::GpuBudget b = step.budget();
  EXPECT_EQ(b.per_accelerator.at("NVIDIA-L40S"), 2);  // the ConfigMap wins
  EXPECT_EQ(b.per_accelerator.at("NVIDIA-H100-80GB-HBM3"), 16);
  EXPECT_EQ(b.cluster, 20);
}

struct Fixture {
  FakeClock clock;
  CycleInput in;
  prom::SaturationSnapshot snap;
  core::SaturationConfigSet config;
  std::map<std::string, std::vector<PodPtr>> pods;
  PlacementStep step{clock};
  // L40S $5 (1 GPU) x3 of which l-2 is Pending unschedulable; A100 $20 (2 GPUs) x1.
  Fixture() {
    clock.SetWall(*ParseRfc3339Utc("2026-11-28T10:00:00Z"));
    in.vas = CycleVasOf({Va("llama-a100", "20.0"), Va("llama-l40s", "5.0")});
    in.deployments = {{"prod/llama-a100", ParseDeployment(Deploy(1, 2, "A100"))},
                      {"prod/llama-l40s", ParseDeployment(Deploy(3, 1, "L40S"))}};
    in.pod_owner["prod"] = {
        {"a-0", "llama-a100"}, {"l-0", "llama-l40s"}, {"l-1", "llama-l40s"}, {"l-2", "llama-l40s"}};
    auto& m = snap.models[{"prod", "meta/llama"}];
    for (const char* p : {"a-0", "l-0", "l-1"}) {
      m.pods[p] = {0.5, 1};
    }
    in.config = &config;
    in.metrics = &snap;
    pods["prod"] = {Pod("a-0", false, ""), Pod("l-0", false, ""), Pod("l-1", false, ""),
                    Pod("l-2", true, "2026-11-28T09:57:00Z")};
  }
};

TEST(Placement, PendingUnschedulableReplicaShiftsToTheDearerVariant) {
  Fixture f;
  CycleOutput out = PlanCycle(f.in);
  // The planner holds (a replica is starting: cascade protection).
  EXPECT_EQ(out.vas[1].publish_desired, 3);
  PlacementStep::Stats s = f.step.Apply(f.in, f.pods, &out);
  EXPECT_EQ(s.moved_stock_out, 1);
  EXPECT_EQ(out.vas[0].publish_desired, 2);  // A100 1 -> 2
  EXPECT_EQ(out.vas[1].publish_desired, 2);  // L40S gives up its unschedulable replica
  EXPECT_EQ(out.vas[0].scaling_direction, ScalingDirection::kUp);
  EXPECT_EQ(out.vas[0].scaling_driver, core::Driver::kStockOut);
}

TEST(Placement, YoungPendingPodIsNotAStockOutAndBackoffEnds) {
  Fixture f;
  f.pods["prod"][3] = Pod("l-2", true, "2026-11-28T09:59:30Z");  // 30 s: below 2 minutes
  CycleOutput out = PlanCycle(f.in);
  EXPECT_EQ(f.step.Apply(f.in, f.pods, &out).moved_stock_out, 0);
  EXPECT_EQ(out.vas[1].publish_desired, 3);
}

TEST(Placement, BudgetMovesGrowthAndNamesTheBound) {
  Fixture f;
  f.pods["prod"].pop_back();
  f.in.pod_owner["prod"].erase("l-2");
  f.in.deployments["prod/llama-l40s"] = ParseDeployment(Deploy(2, 1, "L40S"));
  for (auto& [pod, s] : f.snap.models[{"prod", "meta/llama"}].pods) {
    s = {0.95, 8};  // saturated
  }
  ASSERT_TRUE(f.step.UpdateBudget({{"accelerator.L40S", "2"}}).empty());
  CycleOutput out = PlanCycle(f.in);
  EXPECT_EQ(out.vas[1].publish_desired, 3);  // the policy grows L40S
  PlacementStep::Stats s = f.step.Apply(f.in, f.pods, &out);
  EXPECT_EQ(s.budget.moved, 1);
  EXPECT_EQ(out.vas[1].publish_desired, 2);
  EXPECT_EQ(out.vas[0].publish_desired, 2);
  EXPECT_EQ(out.vas[0].scaling_driver, core::Driver::kBudget);
}

TEST(Placement, SaturationConfigPriorityDecidesAContendedBudget) {
  // Two saturated models of one L40S variant each (1 GPU, 2 running, the policy wants 3); the
  // cluster budget leaves room for one more replica.
  FakeClock clock;
  clock.SetWall(*ParseRfc3339Utc("2026-11-28T10:00:00Z"));
  CycleInput in;
  prom::SaturationSnapshot snap;
  std::map<std::string, std::vector<PodPtr>> pods;
  for (const std::string model : {"acme/batch", "meta/llama"}) {
    const std::string name = model.substr(model.find('/') + 1);
    nlohmann::json va = Va(name, "5.0");
    va["spec"]["modelID"] = model;
    in.vas.push_back(CycleVaOf(va));
    in.deployments["prod/" + name] = ParseDeployment(Deploy(2, 1, "L40S"));
    for (int k = 0; k < 2; ++k) {
      const std::string pod = fmt::format("{}-{}", name, k);
      in.pod_owner["prod"][pod] = name;
      snap.models[{"prod", model}].pods[pod] = {0.95, 8};
      pods["prod"].push_back(Pod(pod, false, ""));
    }
  }
  in.metrics = &snap;
  auto run = [&](const std::map<std::string, std::string>& saturation) {
    core::SaturationConfigSet config = core::SaturationConfigSet::Parse(saturation).set;
    in.config = &config;
    PlacementStep step(clock);
    EXPECT_TRUE(step.UpdateBudget({{"cluster", "5"}}).empty());
    CycleOutput out = PlanCycle(in);
    EXPECT_EQ(out.vas[0].publish_desired, 3);
    EXPECT_EQ(out.vas[1].publish_desired, 3);
    step.Apply(in, pods, &out);
    return std::pair{*out.vas[0].publish_desired, *out.vas[1].publish_desired};
  };
  // Equal priorities: the tie goes by namespace, then model ID.
  EXPECT_EQ(run({}), (std::pair{3, 2}));
  // Upstream's `priority` in an override (model_id + namespace, as upstream reads it).
  EXPECT_EQ(run({{"llama", "model_id: meta/llama\nnamespace: prod\npriority: 2\n"}}),
            (std::pair{2, 3}));
  EXPECT_EQ(run({{"default", "priority: 3\n"}, {"batch", "model_id: acme/batch\npriority: 0\n"}}),
            (std::pair{2, 3}));
}

}  // namespace
}  // namespace wva::controller
