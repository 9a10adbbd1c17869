#include "controller/deployment.h"

#include <limits>

#include <gtest/gtest.h>

#include "controller/projection.h"
#include "controller/va.h"
#include "kube/client.h"

namespace wva::controller {
namespace {

using nlohmann::json;

json Whole() {
  return json::parse(R"({"metadata": {"name": "llama-h100", "namespace": "prod",
      "resourceVersion": "17", "generation": 4, "managedFields": [{"manager": "kubectl"}]},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "llama", "n": 1}},
      "template": {"metadata": {"labels": {"app": "llama", "llm-d.ai/variant": "llama-h100"}},
        "spec": {"nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"},
          "containers": [
            {"name": "vllm", "args": ["--model", "meta/llama", "--max-num-seqs", "64"],
             "resources": {"limits": {"nvidia.com/gpu": "2"}}},
            {"name": "sidecar", "resources": {"requests": {"amd.com/gpu": 1}}}]}}},
    "status": {"replicas": 3, "readyReplicas": 2, "availableReplicas": 2,
      "updatedReplicas": 1, "observedGeneration": 3}})");
}

json WithContainer(json container) {
  json d = json::object();
  d["spec"]["template"]["spec"]["containers"] = json::array({std::move(container)});
  return d;
}

TEST(Deployment, ParsesWhatTheControllerReads) {
  const DeploymentPtr d = ParseDeployment(Whole());
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->ns, "prod");
  EXPECT_EQ(d->name, "llama-h100");
  EXPECT_EQ(KeyOf(*d), "prod/llama-h100");
  EXPECT_EQ(ResourceVersionOf(*d), "17");
  EXPECT_EQ(d->generation, 4);
  EXPECT_EQ(d->spec_replicas, 3);
  EXPECT_EQ(d->status_replicas, 3);
  EXPECT_EQ(d->ready_replicas, 2);
  EXPECT_EQ(d->available_replicas, 2);
  EXPECT_EQ(d->updated_replicas, 1);
  EXPECT_EQ(d->observed_generation, 3);
  // String label values only (a number is no label value).
  EXPECT_EQ(d->selector, (std::map<std::string, std::string>{{"app", "llama"}}));
  EXPECT_EQ(d->template_labels.at("llm-d.ai/variant"), "llama-h100");
  EXPECT_EQ(d->gpu_product, "NVIDIA-H100-80GB-HBM3");
  // Summed over containers and vendors: 2 (limits) + 1 (requests).
  EXPECT_EQ(d->gpus_per_replica, 3);
  EXPECT_EQ(d->vllm.max_num_seqs, 64);
  EXPECT_FALSE(d->vllm.max_num_batched_tokens.has_value());
}

TEST(Deployment, ProjectedObjectParsesTheSame) {
  const DeploymentPtr whole = ParseDeployment(Whole());
  const DeploymentPtr lean = ParseDeployment(ProjectDeployment(Whole()));
  EXPECT_EQ(KeyOf(*lean), KeyOf(*whole));
  EXPECT_EQ(lean->resource_version, whole->resource_version);
  EXPECT_EQ(lean->generation, whole->generation);
  EXPECT_EQ(lean->spec_replicas, whole->spec_replicas);
  EXPECT_EQ(lean->ready_replicas, whole->ready_replicas);
  EXPECT_EQ(lean->available_replicas, whole->available_replicas);
  EXPECT_EQ(lean->updated_replicas, whole->updated_replicas);
  EXPECT_EQ(lean->observed_generation, whole->observed_generation);
  EXPECT_EQ(lean->selector, whole->selector);
  EXPECT_EQ(lean->template_labels, whole->template_labels);
  EXPECT_EQ(lean->gpu_product, whole->gpu_product);
  EXPECT_EQ(lean->gpus_per_replica, whole->gpus_per_replica);
  EXPECT_EQ(lean->vllm.max_num_seqs, whole->vllm.max_num_seqs);
}

TEST(Deployment, AbsentFieldsTakeTheApiServersDefaults) {
  for (const json& object : {json::object(), json::array(), json("x"), json(),
                             json{{"spec", "garbage"}, {"status", 7}, {"metadata", 1}}}) {
    const DeploymentPtr d = ParseDeployment(object);
    ASSERT_NE(d, nullptr) << object.dump();
    EXPECT_EQ(d->spec_replicas, 1) << object.dump();  // spec.replicas defaults to 1
    EXPECT_EQ(d->ready_replicas, 0);
    EXPECT_EQ(d->status_replicas, 0);
    EXPECT_EQ(d->generation, 0);
    EXPECT_EQ(KeyOf(*d), "");
    EXPECT_TRUE(d->gpu_product.empty());
    EXPECT_EQ(d->gpus_per_replica, 0);
    EXPECT_TRUE(d->selector.empty());
    EXPECT_FALSE(d->vllm.max_num_seqs.has_value());
  }
  EXPECT_EQ(ParseDeployment(json{{"spec", {{"replicas", 0}}}})->spec_replicas, 0);
  // Keyed as the informer keys the object it came from.
  const json named = {{"metadata", {{"namespace", "prod"}, {"name", "d"}}}};
  EXPECT_EQ(KeyOf(*ParseDeployment(named)), kube::KeyOf(named));
  EXPECT_EQ(KeyOf(*ParseDeployment({{"metadata", {{"name", "d"}}}})), "d");
}

TEST(Deployment, GarbageCountsAreDefaultsNeverReplicas) {
  json d = {{"metadata", {{"generation", "4"}}},
            {"spec", {{"replicas", "3"}}},
            {"status", {{"readyReplicas", 2.5}, {"replicas", -4}, {"observedGeneration", true}}}};
  DeploymentPtr p = ParseDeployment(d);
  EXPECT_EQ(p->spec_replicas, 1);  // a string is no count: the default, as before
  EXPECT_EQ(p->ready_replicas, 0);
  EXPECT_EQ(p->status_replicas, 0);  // negative clamps at 0
  EXPECT_EQ(p->generation, 0);
  EXPECT_EQ(p->observed_generation, 0);
  d["spec"]["replicas"] = -2;
  d["spec"]["template"]["spec"]["nodeSelector"][kGpuProductSelector] = 42;
  p = ParseDeployment(d);
  EXPECT_EQ(p->spec_replicas, 0);
  EXPECT_EQ(p->gpu_product, "");
  d["spec"]["replicas"] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(ParseDeployment(d)->spec_replicas, 1);
}

TEST(Deployment, GpusPerReplicaRequestsElseLimitsWholeDevices) {
  // Requests win over limits, per resource.
  json c = {{"resources",
             {{"requests", {{"nvidia.com/gpu", "1"}}},
              {"limits", {{"nvidia.com/gpu", "4"}, {"habana.ai/gaudi", 2}}}}}};
  EXPECT_EQ(ParseDeployment(WithContainer(c))->gpus_per_replica, 3);
  // Fractions, suffixes, negatives and other types count 0; other resources do not count.
  for (const json& q : {json("1.5"), json("2k"), json(-1), json("-3"), json(1.0), json(nullptr),
                        json::array({1})}) {
    json g = {{"resources", {{"requests", {{"gpu.intel.com/i915", q}, {"cpu", 4}}}}}};
    EXPECT_EQ(ParseDeployment(WithContainer(g))->gpus_per_replica, 0) << q.dump();
  }
  EXPECT_EQ(ParseDeployment(WithContainer({{"resources", "x"}}))->gpus_per_replica, 0);
}

TEST(Deployment, WholeDevices) {
  EXPECT_EQ(WholeDevices(2), 2);
  EXPECT_EQ(WholeDevices("8"), 8);
  EXPECT_EQ(WholeDevices("8 "), 0);
  EXPECT_EQ(WholeDevices(-1), 0);
  EXPECT_EQ(WholeDevices(json()), 0);
}

TEST(Deployment, VllmArgsInEveryForm) {
  struct Case {
    json container;
    std::optional<double> tokens, seqs;
  };
  const std::vector<Case> cases = {
      {{{"args", {"--max-num-batched-tokens", "8192", "--max-num-seqs", "128"}}}, 8192, 128},
      {{{"args", {"--max-num-batched-tokens=4096", "--max-num-seqs=32"}}}, 4096, 32},
      {{{"command", {"vllm", "serve", "m", "--max-num-seqs", "16"}}}, std::nullopt, 16},
      // One shell string, quoted or not: split into words.
      {{{"command", {"sh", "-c"}},
        {"args", {"vllm serve m --max-num-batched-tokens=512 --max-num-seqs 256"}}},
       512,
       256},
      {{{"command", {"/bin/sh", "-c", "vllm serve m --max-num-seqs '64'"}}}, std::nullopt, 64},
      // Garbage values stay unset: not a number, NaN, infinite, zero, negative, trailing text,
      // a flag without a value, non-string words.
      {{{"args", {"--max-num-seqs", "many", "--max-num-batched-tokens=nan"}}},
       std::nullopt,
       std::nullopt},
      {{{"args", {"--max-num-seqs=inf", "--max-num-batched-tokens", "0"}}},
       std::nullopt,
       std::nullopt},
      {{{"args", {"--max-num-seqs=-8", "--max-num-batched-tokens", "64k"}}},
       std::nullopt,
       std::nullopt},
      {{{"args", json::array({"--max-num-seqs", 64})}}, std::nullopt, std::nullopt},
      {{{"args", {"--max-num-seqs"}}}, std::nullopt, std::nullopt},
      {{{"args", "--max-num-seqs 64"}}, std::nullopt, std::nullopt},
  };
  for (const Case& c : cases) {
    const VllmArgs a = ParseDeployment(WithContainer(c.container))->vllm;
    EXPECT_EQ(a.max_num_batched_tokens, c.tokens) << c.container.dump();
    EXPECT_EQ(a.max_num_seqs, c.seqs) << c.container.dump();
  }
  // Only the first container is the engine.
  json d = WithContainer({{"name", "init"}});
  d["spec"]["template"]["spec"]["containers"].push_back({{"args", {"--max-num-seqs", "8"}}});
  EXPECT_FALSE(ParseDeployment(d)->vllm.max_num_seqs.has_value());
}

}  // namespace
}  // namespace wva::controller
