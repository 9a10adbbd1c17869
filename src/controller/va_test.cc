#include "controller/va.h"
#include "controller/deployment.h"

#include <gtest/gtest.h>

namespace wva::controller {
namespace {

nlohmann::json Va(nlohmann::json spec) {
  return {{"apiVersion", kApiVersion},
          {"kind", kKind},
          {"metadata", {{"name", "llama-l40s"}, {"namespace", "prod"}, {"generation", 3}}},
          {"spec", spec}};
}

TEST(Va, ParsesWithDefaults) {
  auto va = ParseVa(Va({{"scaleTargetRef", {{"name", "llama-l40s"}}}, {"modelID", "meta/llama"}}));
  ASSERT_TRUE(va.has_value()) << va.error().message();
  EXPECT_EQ(va->target_kind, "Deployment");
  EXPECT_EQ(va->variant_cost, "10.0");
  EXPECT_EQ(va->min_replicas, 1);
  EXPECT_FALSE(va->max_replicas.has_value());
  EXPECT_EQ(va->generation, 3);
}

TEST(Va, RejectsInvalidNamingTheField) {
  struct Case {
    nlohmann::json spec;
    const char* field;
  } cases[] = {
      {{{"modelID", "m"}}, "spec.scaleTargetRef"},
      {{{"scaleTargetRef", {{"name", "d"}}}}, "spec.modelID"},
      {{{"scaleTargetRef", {{"name", "d"}}}, {"modelID", "m"}, {"variantCost", "abc"}},
       "spec.variantCost"},
      {{{"scaleTargetRef", {{"name", "d"}}},
        {"modelID", "m"},
        {"minReplicas", 3},
        {"maxReplicas", 2}},
       "spec.minReplicas"},
      {{{"scaleTargetRef", {{"name", "d"}, {"kind", "StatefulSet"}}}, {"modelID", "m"}},
       "spec.scaleTargetRef"},
  };
  for (const auto& c : cases) {
    auto va = ParseVa(Va(c.spec));
    ASSERT_FALSE(va.has_value()) << c.spec.dump();
    EXPECT_EQ(va.error().message().rfind(c.field, 0), 0u) << va.error().message();
  }
}

TEST(Va, AcceleratorResolutionOrder) {
  auto obj = Va({{"scaleTargetRef", {{"name", "d"}}}, {"modelID", "m"}});
  nlohmann::json deploy = {
      {"spec",
       {{"template", {{"spec", {{"nodeSelector", {{kGpuProductSelector, "NVIDIA-L40S"}}}}}}}}}};
  const DeploymentPtr target = ParseDeployment(deploy);
  auto va = ParseVa(obj).value();
  EXPECT_EQ(ResolveAccelerator(va, nullptr), "unknown");
  EXPECT_EQ(ResolveAccelerator(va, target.get()), "NVIDIA-L40S");
  obj["metadata"]["labels"][kAcceleratorLabel] = "L40S-label";
  va = ParseVa(obj).value();
  EXPECT_EQ(ResolveAccelerator(va, target.get()), "L40S-label");
  obj["spec"]["accelerator"] = "L40S";
  va = ParseVa(obj).value();
  EXPECT_EQ(ResolveAccelerator(va, target.get()), "L40S");
}

TEST(Va, AttributesPodsThroughOwnerChain) {
  auto owned = [](const char* name, const char* kind, const char* owner) {
    return nlohmann::json{
        {"metadata",
         {{"name", name},
          {"ownerReferences", {{{"kind", kind}, {"name", owner}, {"controller", true}}}}}}};
  };
  std::vector<nlohmann::json> rs = {owned("d1-abc", "Deployment", "d1"),
                                    owned("d2-xyz", "Deployment", "d2")};
  std::vector<nlohmann::json> pods = {owned("d1-abc-1", "ReplicaSet", "d1-abc"),
                                      owned("d2-xyz-1", "ReplicaSet", "d2-xyz"),
                                      owned("orphan", "ReplicaSet", "gone")};
  auto m = AttributePods(ParsePods(pods), ParseReplicaSets(rs));
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m["d1-abc-1"], "d1");
  EXPECT_EQ(m["d2-xyz-1"], "d2");
}

// Upstream v0.9 attributes pods by the pod-template label llm-d.ai/variant=<scaler name> as
// well as by the owner chain; the label wins when it names a variant of the namespace.
TEST(Va, AttributesPodsByVariantLabel) {
  auto pod = [](const char* name, const char* rs, const char* variant) {
    nlohmann::json p = {{"metadata", {{"name", name}}}};
    if (rs != nullptr) {
      p["metadata"]["ownerReferences"] = {
          {{"kind", "ReplicaSet"}, {"name", rs}, {"controller", true}}};
    }
    if (variant != nullptr) {
      p["metadata"]["labels"] = {{"llm-d.ai/variant", variant}, {"app", "x"}};
    }
    return p;
  };
  const nlohmann::json d1_owner = {{"kind", "Deployment"}, {"name", "d1"}, {"controller", true}};
  std::vector<nlohmann::json> rs = {
      {{"metadata", {{"name", "d1-abc"}, {"ownerReferences", {d1_owner}}}}}};
  // variant name (HPA name) -> target Deployment
  const std::map<std::string, std::string> targets = {{"d1-hpa", "d1"}, {"d2-hpa", "d2"}};
  std::vector<nlohmann::json> pods = {
      pod("owned", "d1-abc", nullptr),         // owner chain only
      pod("bare", nullptr, "d2-hpa"),          // no owner: the label attributes it
      pod("relabelled", "d1-abc", "d2-hpa"),   // both: the label wins
      pod("unknown-label", "d1-abc", "nope"),  // label names no variant: owner chain
      pod("nothing", nullptr, "nope"),         // neither
  };
  auto m = AttributePods(ParsePods(pods), ParseReplicaSets(rs), targets);
  EXPECT_EQ(m.size(), 4u);
  EXPECT_EQ(m["owned"], "d1");
  EXPECT_EQ(m["bare"], "d2");
  EXPECT_EQ(m["relabelled"], "d2");
  EXPECT_EQ(m["unknown-label"], "d1");
  EXPECT_EQ(m.count("nothing"), 0u);
  // Without variants the label is inert.
  auto plain = AttributePods(ParsePods(pods), ParseReplicaSets(rs), {});
  EXPECT_EQ(plain.size(), 3u);  // the three pods owned through d1-abc
  EXPECT_EQ(plain["relabelled"], "d1");
  EXPECT_EQ(plain.count("bare"), 0u);
}

TEST(Va, StatusTimestampsMoveOnlyOnChange) {
  FakeClock clock;
  DesiredStatus d;
  d.current_replicas = 2;
  d.desired_replicas = 3;
  d.accelerator = "L40S";
  d.conditions = {{kCondMetricsAvailable, true, "MetricsFound", "ok"}};
  nlohmann::json s1 = BuildStatus(d, nullptr, clock.WallNow());
  clock.Advance(std::chrono::minutes(1));
  nlohmann::json s2 = BuildStatus(d, s1, clock.WallNow());
  EXPECT_FALSE(StatusChanged(s1, s2));
  d.desired_replicas = 4;
  nlohmann::json s3 = BuildStatus(d, s2, clock.WallNow());
  EXPECT_TRUE(StatusChanged(s2, s3));
  EXPECT_NE(s3["desiredOptimizedAlloc"]["lastRunTime"], s2["desiredOptimizedAlloc"]["lastRunTime"]);
  EXPECT_EQ(s3["conditions"][0]["lastTransitionTime"], s1["conditions"][0]["lastTransitionTime"]);
}

}  // namespace
}  // namespace wva::controller

namespace wva::controller {
namespace {

TEST(Va, PodStartupSecondsFromCreationToReady) {
  auto pod = [](const char* name, const char* created, const char* ready_status, const char* at) {
    return nlohmann::json{
        {"metadata", {{"name", name}, {"creationTimestamp", created}}},
        {"status",
         {{"conditions",
           {{{"type", "Ready"}, {"status", ready_status}, {"lastTransitionTime", at}}}}}}};
  };
  std::vector<nlohmann::json> pods = {
      pod("a", "2026-11-28T10:00:00Z", "True", "2026-11-28T10:03:05Z"),
      pod("b", "2026-11-28T10:00:00Z", "False", "2026-11-28T10:01:00Z"),  // not Ready
      pod("c", "garbage", "True", "2026-11-28T10:01:00Z"),
      pod("d", "2026-11-28T10:05:00Z", "True", "2026-11-28T10:04:00Z")};  // clock skew: no value
  nlohmann::json gone = pod("e", "2026-11-28T10:00:00Z", "True", "2026-11-28T10:02:00Z");
  gone["metadata"]["deletionTimestamp"] = "2026-11-28T10:09:00Z";
  pods.push_back(gone);
  const auto s = PodStartupSeconds(ParsePods(pods));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_DOUBLE_EQ(s.at("a"), 185);
}

}  // namespace
}  // namespace wva::controller
