#include "controller/annotations.h"

#include <gtest/gtest.h>

#include "controller/va.h"

namespace wva::controller {
namespace {

nlohmann::json Hpa(const std::string& name, const std::string& target, nlohmann::json annotations,
                   nlohmann::json labels = nlohmann::json::object()) {
  return {
      {"apiVersion", "autoscaling/v2"},
      {"kind", "HorizontalPodAutoscaler"},
      {"metadata",
       {{"name", name},
        {"namespace", "llm-d-sim"},
        {"uid", "u-" + name},
        {"annotations", annotations},
        {"labels", labels}}},
      {"spec",
       {{"scaleTargetRef", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", target}}},
        {"maxReplicas", 10}}}};
}

nlohmann::json Managed(const std::string& model = "default/default") {
  return {{"llm-d.ai/managed", "true"}, {"llm-d.ai/model-id", model}};
}

TEST(Annotations, UpstreamSampleHpaBecomesAVariant) {
  // config/samples/hpa/annotations/hpa.yaml of upstream v0.9.
  nlohmann::json hpa = Hpa("sample-deployment-hpa", "sample-deployment",
                           {{"llm-d.ai/managed", "true"},
                            {"llm-d.ai/model-id", "default/default"},
                            {"llm-d.ai/variant-cost", "10.0"}});
  hpa["spec"]["minReplicas"] = 1;
  ScalerInputs in;
  in.hpas = {hpa};
  std::vector<ScalerIssue> issues;
  auto vas = VariantsFromScalers(in, &issues);
  ASSERT_EQ(vas.size(), 1u);
  EXPECT_TRUE(issues.empty());
  EXPECT_TRUE(IsSynthetic(vas[0]));
  EXPECT_EQ(vas[0]["kind"], "HorizontalPodAutoscaler");
  auto va = ParseVa(vas[0]);
  ASSERT_TRUE(va.has_value()) << va.error().message();
  EXPECT_EQ(va->name, "sample-deployment-hpa");  // variant_name = the scaler's name
  EXPECT_EQ(va->target_name, "sample-deployment");
  EXPECT_EQ(va->model_id, "default/default");
  EXPECT_DOUBLE_EQ(va->cost, 10.0);
  EXPECT_EQ(va->min_replicas, 1);
  EXPECT_EQ(va->max_replicas, 10);
}

TEST(Annotations, DefaultsScaledObjectWinsExclusionInstanceAndIssues) {
  ScalerInputs in;
  nlohmann::json no_min = Hpa("a-hpa", "a", Managed());
  no_min["spec"].erase("minReplicas");
  nlohmann::json shadowed = Hpa("b-hpa", "b", Managed());
  nlohmann::json so = {
      {"apiVersion", "keda.sh/v1alpha1"},
      {"kind", "ScaledObject"},
      {"metadata", {{"name", "b-so"}, {"namespace", "llm-d-sim"}, {"annotations", Managed()}}},
      {"spec",
       {{"scaleTargetRef", {{"name", "b"}}}, {"minReplicaCount", 0}, {"maxReplicaCount", 4}}}};
  nlohmann::json no_model = Hpa("c-hpa", "c", {{"llm-d.ai/managed", "true"}});
  nlohmann::json unmanaged = Hpa("d-hpa", "d", {{"llm-d.ai/managed", "false"}});
  nlohmann::json other_instance =
      Hpa("e-hpa", "e", Managed(), {{"wva.llmd.ai/controller-instance", "blue"}});
  nlohmann::json excluded = Hpa("f-hpa", "f", Managed());
  excluded["metadata"]["namespace"] = "quiet";
  nlohmann::json named_like_va = Hpa("g", "g", Managed());
  in.hpas = {no_min, shadowed, no_model, unmanaged, other_instance, excluded, named_like_va};
  in.scaled_objects = {so};
  in.excluded_namespaces = {"quiet"};
  in.va_names = {"llm-d-sim/g"};
  std::vector<ScalerIssue> issues;
  auto vas = VariantsFromScalers(in, &issues);
  ASSERT_EQ(vas.size(), 2u);
  auto a = ParseVa(vas[0]);
  auto b = ParseVa(vas[1]);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->name, "a-hpa");
  EXPECT_EQ(a->min_replicas, 1);  // HPA default
  EXPECT_DOUBLE_EQ(a->cost, 10.0);
  EXPECT_EQ(b->name, "b-so");     // the ScaledObject wins over b-hpa
  EXPECT_EQ(b->min_replicas, 0);  // minReplicaCount 0 honoured
  EXPECT_EQ(b->max_replicas, 4);
  std::set<std::string> reasons;
  for (const auto& i : issues) {
    reasons.insert(i.object["metadata"]["name"].get<std::string>() + ":" + i.reason);
  }
  EXPECT_EQ(reasons,
            (std::set<std::string>{"b-hpa:Shadowed", "c-hpa:MissingModelID", "g:Shadowed"}));
  // The "blue" controller sees only its own scaler.
  in.controller_instance = "blue";
  issues.clear();
  auto blue = VariantsFromScalers(in, &issues);
  ASSERT_EQ(blue.size(), 1u);
  EXPECT_EQ(blue[0]["metadata"]["name"], "e-hpa");
}

}  // namespace
}  // namespace wva::controller
