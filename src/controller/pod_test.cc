#include "controller/pod.h"

#include <gtest/gtest.h>

namespace wva::controller {
namespace {

using nlohmann::json;

TEST(Pod, ParsedOnceIntoTheFieldsACycleReads) {
  const json p = json::parse(R"({"metadata": {"name": "p-1", "namespace": "prod",
      "resourceVersion": "42", "creationTimestamp": "2026-11-28T09:00:00Z",
      "labels": {"llm-d.ai/variant": "llama-h100", "app": "x"},
      "ownerReferences": [{"kind": "ReplicaSet", "name": "not-controller"},
                          {"kind": "ReplicaSet", "name": "rs-1", "controller": true}]},
      "status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
         "lastTransitionTime": "2026-11-28T09:01:00Z"},
        {"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-28T09:02:00Z"},
        {"type": "Ready", "status": "False"}]}})");
  PodPtr pod = ParsePod(p);
  EXPECT_EQ(KeyOf(*pod), "prod/p-1");
  EXPECT_EQ(ResourceVersionOf(*pod), "42");
  EXPECT_EQ(pod->replicaset, "rs-1");
  EXPECT_EQ(pod->variant_label, "llama-h100");
  EXPECT_FALSE(pod->deleting);
  EXPECT_TRUE(pod->pending);
  EXPECT_TRUE(pod->unschedulable);
  EXPECT_EQ(pod->unschedulable_since, ParseRfc3339Utc("2026-11-28T09:01:00Z"));
  EXPECT_TRUE(pod->ready);  // the first Ready condition counts
  EXPECT_EQ(pod->ready_since, ParseRfc3339Utc("2026-11-28T09:02:00Z"));
  EXPECT_EQ(pod->created, ParseRfc3339Utc("2026-11-28T09:00:00Z"));
}

// Garbage where strings or arrays belong reads as absent; nothing throws.
TEST(Pod, MalformedFieldsReadAsAbsent) {
  for (const char* text : {R"(null)", R"([])", R"({"metadata": 3, "status": "x"})",
                           R"({"metadata": {"name": 7, "labels": [1], "ownerReferences": {}},
                               "status": {"phase": 1, "conditions": [3, {"type": "Ready",
                               "status": true, "lastTransitionTime": 5}]}})"}) {
    SCOPED_TRACE(text);
    PodPtr pod = ParsePod(json::parse(text));
    ASSERT_NE(pod, nullptr);
    EXPECT_EQ(pod->name, "");
    EXPECT_EQ(pod->replicaset, "");
    EXPECT_EQ(pod->variant_label, "");
    EXPECT_FALSE(pod->pending);
    EXPECT_FALSE(pod->ready);
    EXPECT_FALSE(pod->ready_since.has_value());
    EXPECT_FALSE(pod->created.has_value());
  }
  PodPtr deleting = ParsePod(
      json::parse(R"({"metadata": {"name": "p", "deletionTimestamp": "2026-11-28T09:00:00Z"}})"));
  EXPECT_TRUE(deleting->deleting);
}

TEST(Pod, ReplicaSetKeepsItsControllingDeployment) {
  ReplicaSetPtr rs = ParseReplicaSet(json::parse(R"({"metadata": {"name": "rs-1",
      "namespace": "prod", "resourceVersion": "7", "ownerReferences": [
        {"kind": "Deployment", "name": "llama-h100", "controller": true}]}})"));
  EXPECT_EQ(KeyOf(*rs), "prod/rs-1");
  EXPECT_EQ(ResourceVersionOf(*rs), "7");
  EXPECT_EQ(rs->deployment, "llama-h100");
  EXPECT_EQ(ParseReplicaSet(json::parse(R"({"metadata": {"name": "bare"}})"))->deployment, "");
}

}  // namespace
}  // namespace wva::controller
