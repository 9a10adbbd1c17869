#include "controller/scale_from_zero.h"

#include <mutex>

#include <gtest/gtest.h>

#include "prom/fake_querier_test.h"

namespace wva::controller {
namespace {

using prom::testing::FakeQuerier;

nlohmann::json Va(const std::string& name, const std::string& model, const std::string& cost,
                  int min = 0) {
  return {{"metadata", {{"name", name}, {"namespace", "prod"}, {"generation", 1}}},
          {"spec",
           {{"scaleTargetRef", {{"name", name}}},
            {"modelID", model},
            {"variantCost", cost},
            {"minReplicas", min},
            {"maxReplicas", 4}}}};
}

struct FakeCluster : ClusterReader, StatusWriter, ScaleWriter {
  std::vector<nlohmann::json> vas;
  std::map<std::string, nlohmann::json> deployments;  // name -> object (namespace prod)
  std::mutex mu;
  std::vector<std::string> scaled;
  std::vector<std::string> events;
  bool fail_writes = false;

  std::vector<VaPtr> VariantAutoscalings() override { return CacheVas(vas); }
  DeploymentPtr Deployment(const std::string&, const std::string& n) override {
    auto it = deployments.find(n);
    if (it == deployments.end()) {
      return nullptr;
    }
    return ParseDeployment(it->second);
  }
  std::vector<PodPtr> Pods(const std::string&) override { return {}; }
  std::vector<ReplicaSetPtr> ReplicaSets(const std::string&) override { return {}; }
  Status PatchStatus(const std::string&, const std::string&, const nlohmann::json&) override {
    return OkStatus();
  }
  void Event(const nlohmann::json& va, const std::string&, const std::string& reason,
             const std::string&) override {
    std::lock_guard<std::mutex> l(mu);
    events.push_back(va["metadata"].value("name", "") + ":" + reason);
  }
  StatusOr<bool> ScaleFromZero(const std::string&, const std::string& d, int replicas) override {
    std::lock_guard<std::mutex> l(mu);
    if (fail_writes) {
      return Err(UnavailableError("api down"));
    }
    if (deployments[d]["spec"].value("replicas", 1) != 0) {
      return false;
    }
    deployments[d]["spec"]["replicas"] = replicas;
    scaled.push_back(d);
    return true;
  }
  void SetReplicas(const std::string& d, int spec, int ready) {
    deployments[d] = {{"spec", {{"replicas", spec}}}, {"status", {{"readyReplicas", ready}}}};
  }
};

prom::Sample Demand(const std::string& model, double v) {
  prom::Sample s;
  s.labels = {{"namespace", "prod"}, {"target_model_name", model}};
  s.point.value = v;
  return s;
}

struct Fixture {
  FakeCluster c;
  FakeQuerier q;
  FakeClock clock;
  std::vector<prom::Sample> demand;
  std::unique_ptr<ZeroWaker> waker;
  Fixture() {
    c.vas = {Va("llama-a100", "llama", "20.0"), Va("llama-l40s", "llama", "5.0"),
             Va("llama-h100", "llama", "5.0")};
    for (const char* d : {"llama-a100", "llama-l40s", "llama-h100"}) {
      c.SetReplicas(d, 0, 0);
    }
    q.answer = [this](std::string_view) -> prom::QueryOutcome {
      return prom::testing::Vector(demand);
    };
    Settings::ScaleFromZero s;
    s.concurrency = 2;
    s.ready_timeout = std::chrono::minutes(5);
    waker = std::make_unique<ZeroWaker>(c, c, c, q, clock, s);
  }
};

TEST(ZeroWaker, NoModelAtZeroNoQuery) {
  Fixture f;
  f.c.SetReplicas("llama-a100", 1, 1);
  auto r = f.waker->Tick();
  EXPECT_EQ(r.at_zero, 0);
  EXPECT_FALSE(r.queried);
  EXPECT_TRUE(f.q.queries.empty());
}

TEST(ZeroWaker, NoDemandNoWake) {
  Fixture f;
  f.demand = {Demand("llama", 0), Demand("other", 3)};
  auto r = f.waker->Tick();
  EXPECT_EQ(r.at_zero, 1);
  EXPECT_TRUE(r.queried);
  EXPECT_TRUE(f.c.scaled.empty());
}

TEST(ZeroWaker, DemandWakesExactlyOneReplicaOfTheCheapestOnceUntilReady) {
  Fixture f;
  f.demand = {Demand("llama", 4)};
  int woken = 0;
  f.waker->set_on_woken([&](const WakeUp&) { ++woken; });
  auto r = f.waker->Tick();
  ASSERT_EQ(r.woken.size(), 1u);
  // Cost tie between h100 and l40s ($5): name ascending.
  EXPECT_EQ(f.c.scaled, (std::vector<std::string>{"llama-h100"}));
  EXPECT_EQ(f.c.events, (std::vector<std::string>{"llama-h100:ScaledUp"}));
  EXPECT_EQ(woken, 1);
  // The informer cache has not seen the write yet: no second write within the pause.
  f.c.SetReplicas("llama-h100", 0, 0);
  f.clock.Advance(std::chrono::seconds(1));
  r = f.waker->Tick();
  EXPECT_EQ(r.skipped_in_flight, 1);
  EXPECT_EQ(f.c.scaled.size(), 1u);
  // Set back to 0 by a scaler that had not seen the decision: the same one replica again.
  f.clock.Advance(std::chrono::seconds(5));
  r = f.waker->Tick();
  EXPECT_EQ(r.woken.size(), 1u);
  EXPECT_EQ(f.c.scaled.size(), 2u);
  // Still starting (spec 1, not Ready): nothing more.
  f.clock.Advance(std::chrono::seconds(30));
  r = f.waker->Tick();
  EXPECT_EQ(r.at_zero, 0);
  EXPECT_EQ(f.c.scaled.size(), 2u);
  // Ready: the grant ends; the model is not at zero any more, nothing else happens.
  f.c.SetReplicas("llama-h100", 1, 1);
  r = f.waker->Tick();
  EXPECT_EQ(f.waker->in_flight(), 0u);
  EXPECT_EQ(r.at_zero, 0);
}

TEST(ZeroWaker, ModelWithAMinReplicaVariantIsNotAtZero) {
  Fixture f;
  f.c.vas[0] = Va("llama-a100", "llama", "20.0", 1);
  f.demand = {Demand("llama", 4)};
  EXPECT_EQ(f.waker->Tick().at_zero, 0);
  EXPECT_TRUE(f.c.scaled.empty());
}

TEST(ZeroWaker, FailuresWakeNothingAndRetry) {
  Fixture f;
  f.demand = {Demand("llama", 4)};
  f.q.answer = [](std::string_view) -> prom::QueryOutcome {
    return tl::unexpected(prom::QueryError{prom::ErrorKind::kTimeout, "slow", 0, ""});
  };
  auto r = f.waker->Tick();
  EXPECT_TRUE(r.query_failed);
  EXPECT_TRUE(f.c.scaled.empty());
  f.q.answer = [&f](std::string_view) -> prom::QueryOutcome {
    return prom::testing::Vector(f.demand);
  };
  f.c.fail_writes = true;
  r = f.waker->Tick();
  EXPECT_TRUE(r.woken.empty());
  EXPECT_EQ(f.waker->in_flight(), 0u);
  f.c.fail_writes = false;
  EXPECT_EQ(f.waker->Tick().woken.size(), 1u);
}

TEST(ZeroWaker, ManyModelsWokenWithBoundedConcurrency) {
  Fixture f;
  f.c.vas.clear();
  f.demand.clear();
  for (int i = 0; i < 5; ++i) {
    const std::string m = "m" + std::to_string(i);
    f.c.vas.push_back(Va(m + "-cheap", m, "1.0"));
    f.c.vas.push_back(Va(m + "-dear", m, "9.0"));
    f.c.SetReplicas(m + "-cheap", 0, 0);
    f.c.SetReplicas(m + "-dear", 0, 0);
    f.demand.push_back(Demand(m, 1));
  }
  auto r = f.waker->Tick();
  EXPECT_EQ(r.woken.size(), 5u);
  std::sort(f.c.scaled.begin(), f.c.scaled.end());
  EXPECT_EQ(f.c.scaled,
            (std::vector<std::string>{"m0-cheap", "m1-cheap", "m2-cheap", "m3-cheap", "m4-cheap"}));
}

}  // namespace
}  // namespace wva::controller
