#include "emulator/cluster_source.h"

#include <gtest/gtest.h>

#include "base/clock.h"
#include "emulator/sim_model.h"

namespace wva::emulator {
namespace {

kube::ObjectPtr MakePod(const std::string& ns, const std::string& name, const std::string& rs,
                        const std::string& hash, bool ready, bool deleting = false) {
  kube::Object p = {
      {"metadata",
       {{"namespace", ns},
        {"name", name},
        {"labels", {{"pod-template-hash", hash}}},
        {"ownerReferences",
         kube::Object::array({{{"kind", "ReplicaSet"}, {"name", rs}, {"controller", true}}})}}},
      {"status",
       {{"phase", "Running"},
        {"conditions",
         kube::Object::array({{{"type", "PodScheduled"}, {"status", "True"}},
                              {{"type", "Ready"}, {"status", ready ? "True" : "False"}}})}}}};
  if (deleting) {
    p["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  }
  return std::make_shared<const kube::Object>(std::move(p));
}

TEST(ClusterSourceTest, ReadyNeedsConditionTrueAndNoDeletion) {
  EXPECT_TRUE(PodIsReady(*MakePod("ns", "a", "d-1", "1", true)));
  EXPECT_FALSE(PodIsReady(*MakePod("ns", "a", "d-1", "1", false)));
  EXPECT_FALSE(PodIsReady(*MakePod("ns", "a", "d-1", "1", true, /*deleting=*/true)));
  EXPECT_FALSE(PodIsReady(kube::Object::parse(R"({"status":{"conditions":"x"}})")));
  EXPECT_FALSE(PodIsReady(kube::Object::parse("[1,2]")));
  EXPECT_FALSE(PodIsReady(kube::Object::parse(R"({"status":{}})")));
}

TEST(ClusterSourceTest, OwningDeploymentFromReplicaSetName) {
  EXPECT_EQ(OwningDeployment(*MakePod("ns", "p", "llama-l40s-5c9f7", "5c9f7", true)), "llama-l40s");
  // ReplicaSet not created by a Deployment (name does not end in -<hash>).
  EXPECT_EQ(OwningDeployment(*MakePod("ns", "p", "standalone", "5c9f7", true)), std::nullopt);
  EXPECT_EQ(OwningDeployment(*MakePod("ns", "p", "-5c9f7", "5c9f7", true)), std::nullopt);
  EXPECT_EQ(OwningDeployment(kube::Object::parse(R"({"metadata":{"name":"x"}})")), std::nullopt);
  EXPECT_EQ(OwningDeployment(kube::Object::parse(
                R"({"metadata":{"labels":{"pod-template-hash":"h"},"ownerReferences":[
                   {"kind":"StatefulSet","name":"d-h","controller":true}]}})")),
            std::nullopt);
}

TEST(ClusterSourceTest, DesiredPodsAreReadyPodsOfManagedDeployments) {
  core::PerfProfile small = DefaultReplicaProfile();
  small.max_batch = 8;
  std::vector<ManagedDeployment> managed = {{"llm", "cheap", "m", small},
                                            {"llm", "dear", "m", DefaultReplicaProfile()}};
  std::vector<kube::ObjectPtr> pods = {
      MakePod("llm", "dear-abc-2", "dear-abc", "abc", true),
      MakePod("llm", "cheap-h1-1", "cheap-h1", "h1", true),
      MakePod("llm", "cheap-h1-0", "cheap-h1", "h1", false),       // starting: no capacity yet
      MakePod("llm", "cheap-h1-9", "cheap-h1", "h1", true, true),  // terminating
      MakePod("other", "cheap-h1-3", "cheap-h1", "h1", true),      // other namespace
      MakePod("llm", "unmanaged-h-0", "unmanaged-h", "h", true),   // not managed
      nullptr,
  };
  auto want = DesiredPods(managed, pods);
  ASSERT_EQ(want.size(), 2u);
  EXPECT_EQ(want[0].pod, "cheap-h1-1");
  EXPECT_EQ(want[0].variant, "cheap");
  EXPECT_EQ(want[0].model, "m");
  EXPECT_EQ(want[0].mode, PodMode::kLoad);
  EXPECT_EQ(want[0].profile.max_batch, 8);
  EXPECT_EQ(want[1].pod, "dear-abc-2");
  EXPECT_EQ(want[1].variant, "dear");
}

TEST(ClusterSourceTest, NoManagedDeploymentsNoPods) {
  EXPECT_TRUE(DesiredPods({}, {MakePod("llm", "a-h-0", "a-h", "h", true)}).empty());
}

}  // namespace
}  // namespace wva::emulator
