// The informer projections keep every field the controller reads and drop the rest.
#include "controller/projection.h"

#include <gtest/gtest.h>

#include "base/clock.h"
#include "controller/deployment.h"
#include "controller/planner.h"
#include "controller/va.h"

namespace wva::controller {
namespace {

using nlohmann::json;

json FullPod() {
  return json::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "p-1", "namespace": "prod", "uid": "u1", "resourceVersion": "42",
      "labels": {"app": "llama", "llm-d.ai/variant": "llama-h100"},
      "annotations": {"big": "xxxxxxxxxxxxxxxxxxxxxxxx"},
      "creationTimestamp": "2024-12-31T22:00:00Z",
      "deletionTimestamp": "2025-01-01T00:00:00Z",
      "managedFields": [{"manager": "kubelet"}],
      "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs-1",
                           "uid": "r1", "controller": true, "blockOwnerDeletion": true},
                          {"kind": "Other", "name": "x"}]},
    "spec": {"containers": [{"name": "vllm", "image": "vllm:1", "env": [{"name": "A"}]}],
             "volumes": [{"name": "v"}], "nodeName": "n1"},
    "status": {"phase": "Running", "podIP": "10.0.0.1",
      "conditions": [{"type": "Ready", "status": "True",
                      "lastTransitionTime": "2024-12-31T23:00:00Z", "lastProbeTime": null},
                     {"type": "PodScheduled", "status": "True"}],
      "containerStatuses": [{"name": "vllm", "ready": true}]}})");
}

TEST(Projection, PodKeepsWhatAttributionAndReadinessRead) {
  const json p = ProjectPod(FullPod());
  EXPECT_EQ(p["metadata"]["name"], "p-1");
  EXPECT_EQ(p["metadata"]["namespace"], "prod");
  EXPECT_EQ(p["metadata"]["resourceVersion"], "42");
  EXPECT_EQ(p["metadata"]["labels"]["llm-d.ai/variant"], "llama-h100");
  EXPECT_EQ(p["metadata"]["deletionTimestamp"], "2025-01-01T00:00:00Z");
  EXPECT_EQ(p["metadata"]["creationTimestamp"], "2024-12-31T22:00:00Z");
  ASSERT_EQ(p["metadata"]["ownerReferences"].size(), 1u);
  EXPECT_EQ(p["metadata"]["ownerReferences"][0]["name"], "rs-1");
  EXPECT_EQ(p["status"]["phase"], "Running");
  ASSERT_EQ(p["status"]["conditions"].size(), 2u);
  EXPECT_EQ(p["status"]["conditions"][0]["lastTransitionTime"], "2024-12-31T23:00:00Z");
  EXPECT_FALSE(p.contains("spec"));
  EXPECT_FALSE(p["metadata"].contains("managedFields"));
  EXPECT_FALSE(p["metadata"].contains("annotations"));
  EXPECT_FALSE(p["status"].contains("containerStatuses"));
  EXPECT_FALSE(p["status"]["conditions"][0].contains("lastProbeTime"));
}

// The projected objects give the same attribution and readiness as the whole ones.
TEST(Projection, SameAttributionAndReadinessAsWholeObjects) {
  json pod = FullPod();
  pod["metadata"].erase("deletionTimestamp");
  const json rs = json::parse(R"({"metadata": {"name": "rs-1", "namespace": "prod",
      "resourceVersion": "7", "managedFields": [{}],
      "ownerReferences": [{"kind": "Deployment", "name": "llama-h100", "controller": true}]},
      "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "vllm"}]}}},
      "status": {"replicas": 2}})");
  const std::vector<PodPtr> whole_pods = ParsePods({pod});
  const std::vector<ReplicaSetPtr> whole_rs = ParseReplicaSets({rs});
  const std::vector<PodPtr> lean_pods = ParsePods({ProjectPod(json(pod))});
  const json lean_rs_object = ProjectReplicaSet(json(rs));
  const std::vector<ReplicaSetPtr> lean_rs = ParseReplicaSets({lean_rs_object});
  EXPECT_EQ(AttributePods(lean_pods, lean_rs), AttributePods(whole_pods, whole_rs));
  EXPECT_EQ(AttributePods(lean_pods, lean_rs).at("p-1"), "llama-h100");
  const Clock::WallTime now = FakeClock().WallNow();
  EXPECT_EQ(SettledReadyPods(lean_pods, now, std::chrono::seconds(60)),
            SettledReadyPods(whole_pods, now, std::chrono::seconds(60)));
  EXPECT_EQ(SettledReadyPods(lean_pods, now, std::chrono::seconds(60)).size(), 1u);
  EXPECT_EQ(PodStartupSeconds(lean_pods), PodStartupSeconds(whole_pods));
  EXPECT_EQ(PodStartupSeconds(lean_pods).at("p-1"), 3600);
  EXPECT_FALSE(lean_rs_object.contains("/spec/template"_json_pointer));
}

TEST(Projection, DeploymentKeepsReplicasAcceleratorAndVllmArgs) {
  json d = json::parse(R"({"metadata": {"name": "llama-h100", "namespace": "prod",
      "resourceVersion": "3", "generation": 4, "labels": {"a": "b"},
      "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}", "keep": "1"},
      "managedFields": [{"manager": "kubectl"}]},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "llama"}},
      "strategy": {"type": "RollingUpdate"},
      "template": {"metadata": {"labels": {"app": "llama"}},
        "spec": {"nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"},
          "volumes": [{"name": "cache"}],
          "containers": [{"name": "vllm", "image": "vllm:1", "env": [{"name": "X"}],
            "args": ["--max-num-seqs", "64"],
            "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}},
    "status": {"replicas": 3, "readyReplicas": 2, "conditions": [{"type": "Available"}]}})");
  const json whole = d;
  const json lean = ProjectDeployment(std::move(d));
  EXPECT_EQ(ParseDeployment(lean)->spec_replicas, 3);
  EXPECT_EQ(ParseDeployment(lean)->ready_replicas, 2);
  EXPECT_EQ(ParseDeployment(lean)->vllm.max_num_seqs, ParseDeployment(whole)->vllm.max_num_seqs);
  EXPECT_EQ(lean["spec"]["template"]["spec"]["nodeSelector"]["nvidia.com/gpu.product"],
            "NVIDIA-H100-80GB-HBM3");
  EXPECT_EQ(
      lean["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"],
      "1");
  EXPECT_EQ(lean["metadata"]["annotations"]["keep"], "1");
  EXPECT_FALSE(
      lean["metadata"]["annotations"].contains("kubectl.kubernetes.io/last-applied-configuration"));
  EXPECT_FALSE(lean["metadata"].contains("managedFields"));
  EXPECT_FALSE(lean["spec"]["template"]["spec"].contains("volumes"));
  EXPECT_FALSE(lean["spec"]["template"]["spec"]["containers"][0].contains("env"));
  EXPECT_FALSE(lean["status"].contains("conditions"));
}

// A VA keeps everything the controller reads (spec, status, labels, annotations, generation,
// uid for Events) and loses other clients' bookkeeping; it parses to the same spec.
TEST(Projection, VaDropsManagedFieldsOnly) {
  json va = json::parse(R"({"apiVersion": "llmd.ai/v1alpha1", "kind": "VariantAutoscaling",
      "metadata": {"name": "llama-h100", "namespace": "prod", "uid": "u-1", "generation": 3,
        "resourceVersion": "9", "labels": {"inference.optimization/acceleratorName": "H100"},
        "annotations": {"wva.llmd.ai/force-reconcile": "1",
                        "kubectl.kubernetes.io/last-applied-configuration": "{...}"},
        "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]},
      "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "llama-h100"},
               "modelID": "meta/llama", "variantCost": "40.0"},
      "status": {"desiredOptimizedAlloc": {"numReplicas": 2, "accelerator": "H100"}}})");
  const json lean = ProjectVa(json(va));
  EXPECT_FALSE(lean["metadata"].contains("managedFields"));
  EXPECT_FALSE(
      lean["metadata"]["annotations"].contains("kubectl.kubernetes.io/last-applied-configuration"));
  json expected = va;
  expected["metadata"].erase("managedFields");
  expected["metadata"]["annotations"].erase("kubectl.kubernetes.io/last-applied-configuration");
  EXPECT_EQ(lean, expected);
  const VaSpec whole = ParseVa(va).value();
  const VaSpec projected = ParseVa(lean).value();
  EXPECT_EQ(projected.force_reconcile, whole.force_reconcile);
  EXPECT_EQ(projected.accelerator_label, whole.accelerator_label);
  EXPECT_EQ(projected.generation, 3);
  EXPECT_EQ(RecordedAllocOf(lean).desired, 2);
}

TEST(Projection, NonObjectsGiveEmptyObjects) {
  EXPECT_EQ(ProjectPod(json("x")), json::object());
  EXPECT_EQ(ProjectReplicaSet(json()), json::object());
  EXPECT_EQ(ProjectDeployment(json::array()), json::object());
  EXPECT_EQ(ProjectVa(json(3)), json::object());
  EXPECT_EQ(ProjectPod(json::object())["metadata"], json::object());
}

}  // namespace
}  // namespace wva::controller
