// A full reconcile cycle with fake ports: cluster caches, status writer and a scripted
// Prometheus. Checks status writes, published metrics, events and the safety rules.
#include "controller/reconciler.h"

#include <gtest/gtest.h>

namespace wva::controller {
namespace {

class FakeCluster : public ClusterReader, public StatusWriter {
 public:
  std::map<std::string, nlohmann::json> vas;  // by name (namespace prod)
  std::map<std::string, nlohmann::json> deployments;
  std::vector<nlohmann::json> pods, rss;
  int patches = 0;
  bool stale_cache = false;  // patches do not show up in reads (informer lag)
  std::vector<std::string> events;

  std::vector<nlohmann::json> VariantAutoscalings() override {
    std::vector<nlohmann::json> out;
    for (auto& [k, v] : vas) out.push_back(v);
    return out;
  }
  std::optional<nlohmann::json> Deployment(const std::string& ns, const std::string& name) override {
    auto it = deployments.find(name);
    if (it == deployments.end()) return std::nullopt;
    return it->second;
  }
  std::vector<nlohmann::json> Pods(const std::string&) override { return pods; }
  std::vector<nlohmann::json> ReplicaSets(const std::string&) override { return rss; }
  Status PatchStatus(const std::string& ns, const std::string& name,
                     const nlohmann::json& status) override {
    ++patches;
    if (!stale_cache) vas[name]["status"] = status;
    return OkStatus();
  }
  void Event(const nlohmann::json& va, const std::string& type, const std::string& reason,
             const std::string& message) override {
    events.push_back(type + "/" + reason);
  }

  void AddVariant(const std::string& name, const std::string& cost, int replicas, int pods_n) {
    vas[name] = {{"metadata", {{"name", name}, {"namespace", "prod"}, {"generation", 1}}},
                 {"spec", {{"scaleTargetRef", {{"name", name}}}, {"modelID", "meta/llama"},
                           {"variantCost", cost}, {"accelerator", name.substr(6)}}}};
    deployments[name] = {{"spec", {{"replicas", replicas}}}};
    rss.push_back({{"metadata", {{"name", name + "-rs"},
                                 {"ownerReferences", {{{"kind", "Deployment"}, {"name", name}, {"controller", true}}}}}}});
    for (int i = 0; i < pods_n; ++i) {
      pods.push_back({{"metadata", {{"name", name + "-" + std::to_string(i)},
                                    {"ownerReferences", {{{"kind", "ReplicaSet"}, {"name", name + "-rs"}, {"controller", true}}}}}}});
    }
  }
};

class ScriptedPrometheus : public prom::Querier {
 public:
  bool fail = false;
  double kv = 0.5, queue = 1;
  std::vector<std::string> pods;
  int queries = 0;
  prom::QueryOutcome Query(std::string_view promql) override {
    ++queries;
    if (fail) {
      prom::QueryError err;
      err.kind = prom::ErrorKind::kUnavailable;
      err.message = "connection refused";
      return tl::unexpected(err);
    }
    prom::QueryResult r;
    const bool is_kv = promql.find("kv_cache") != std::string_view::npos;
    for (const auto& p : pods) {
      prom::Sample s;
      s.labels = {{"namespace", "prod"}, {"model_name", "meta/llama"}, {"pod", p}};
      s.point.value = is_kv ? kv : queue;
      r.samples.push_back(s);
    }
    return r;
  }
};

struct Env {
  FakeCluster cluster;
  ScriptedPrometheus prom;
  prom::WvaMetrics metrics;
  ConfigCache config;
  FakeClock clock;
  Reconciler rec{cluster, cluster, prom, metrics, config, clock};
  Env() {
    cluster.AddVariant("llama-L40S", "5.0", 2, 2);
    cluster.AddVariant("llama-A100", "20.0", 3, 3);
    for (const auto& p : cluster.pods) prom.pods.push_back(p["metadata"]["name"]);
  }
  std::string Metrics() { return metrics.Serialize(); }
};

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST(Reconciler, ScaleUpPublishesWritesStatusAndEvent) {
  Env e;
  e.prom.kv = 0.9;
  e.prom.queue = 6;
  CycleStats s = e.rec.RunCycle();
  EXPECT_TRUE(s.metrics_ok);
  EXPECT_EQ(s.prometheus_queries, 2);
  EXPECT_EQ(s.scaling_decisions, 1);
  EXPECT_EQ(e.cluster.patches, 2);
  auto& l40s = e.cluster.vas["llama-L40S"]["status"];
  EXPECT_EQ(l40s["desiredOptimizedAlloc"]["numReplicas"], 3);
  EXPECT_EQ(l40s["currentAlloc"]["numReplicas"], 2);
  EXPECT_EQ(l40s["actuation"]["applied"], false);
  EXPECT_EQ(e.cluster.vas["llama-A100"]["status"]["desiredOptimizedAlloc"]["numReplicas"], 3);
  std::string m = e.Metrics();
  EXPECT_TRUE(Has(m, "wva_desired_replicas{accelerator_type=\"L40S\",namespace=\"prod\",variant_name=\"llama-L40S\"} 3")) << m;
  EXPECT_TRUE(Has(m, "wva_desired_replicas{accelerator_type=\"A100\",namespace=\"prod\",variant_name=\"llama-A100\"} 3"));
  EXPECT_EQ(e.cluster.events, (std::vector<std::string>{"Normal/ScaledUp"}));

  // Load settles (HPA has not acted yet): the preserved decision stands, nothing new is written
  // or announced.
  e.prom.kv = 0.6;
  e.prom.queue = 2;
  CycleStats s2 = e.rec.RunCycle();
  EXPECT_EQ(s2.scaling_decisions, 0);
  EXPECT_EQ(e.cluster.events.size(), 1u);
  // Same metrics again: nothing changed, so nothing is written.
  CycleStats s3 = e.rec.RunCycle();
  EXPECT_EQ(s3.status_writes, 0);
  EXPECT_EQ(e.cluster.vas["llama-L40S"]["status"]["desiredOptimizedAlloc"]["numReplicas"], 3);
}

TEST(Reconciler, PrometheusDownHoldsAndNeverScalesDown) {
  Env e;
  e.prom.kv = 0.1;
  e.prom.queue = 0;
  e.rec.RunCycle();  // idle: A100 3 -> 2
  EXPECT_EQ(e.cluster.vas["llama-A100"]["status"]["desiredOptimizedAlloc"]["numReplicas"], 2);
  e.prom.fail = true;
  CycleStats s = e.rec.RunCycle();
  EXPECT_FALSE(s.metrics_ok);
  // Held at the last decision (2 for A100, 2 for L40S): no further scale-down.
  EXPECT_EQ(e.cluster.vas["llama-A100"]["status"]["desiredOptimizedAlloc"]["numReplicas"], 2);
  EXPECT_EQ(e.cluster.vas["llama-L40S"]["status"]["desiredOptimizedAlloc"]["numReplicas"], 2);
  bool found = false;
  for (auto& c : e.cluster.vas["llama-A100"]["status"]["conditions"]) {
    if (c["type"] == "MetricsAvailable") {
      found = true;
      EXPECT_EQ(c["status"], "False");
      EXPECT_EQ(c["reason"], "PrometheusError");
    }
  }
  EXPECT_TRUE(found);
  EXPECT_TRUE(Has(e.Metrics(), "wva_optimization_failure_total 1"));
}

TEST(Reconciler, RestartRepublishesStatusBeforeFirstCycle) {
  Env e;
  e.prom.kv = 0.9;
  e.prom.queue = 6;
  e.rec.RunCycle();
  e.prom.kv = 0.6;  // steady load from now on
  e.prom.queue = 2;
  // A new process: fresh metrics registry, same cluster.
  prom::WvaMetrics fresh;
  Reconciler again(e.cluster, e.cluster, e.prom, fresh, e.config, e.clock);
  again.PublishFromStatus();
  EXPECT_TRUE(Has(fresh.Serialize(), "variant_name=\"llama-L40S\"} 3"));
  CycleStats s = again.RunCycle();
  EXPECT_EQ(s.scaling_decisions, 0);
  EXPECT_TRUE(Has(fresh.Serialize(), "variant_name=\"llama-L40S\"} 3"));
}

TEST(Reconciler, DeletedVaStopsPublishing) {
  Env e;
  e.rec.RunCycle();
  EXPECT_TRUE(Has(e.Metrics(), "llama-A100"));
  e.cluster.vas.erase("llama-A100");
  e.rec.RunCycle();
  EXPECT_FALSE(Has(e.Metrics(), "wva_desired_replicas{accelerator_type=\"A100\""));
  EXPECT_TRUE(Has(e.Metrics(), "wva_desired_replicas{accelerator_type=\"L40S\""));
}

TEST(Reconciler, ConfigReloadChangesDecision) {
  Env e;
  e.prom.kv = 0.1;
  e.prom.queue = 4;  // 4 < 5: not saturated, but spare queue 1 < 3 -> scale up
  e.rec.RunCycle();
  EXPECT_EQ(e.cluster.vas["llama-L40S"]["status"]["desiredOptimizedAlloc"]["numReplicas"], 3);
  Env f;
  f.prom.kv = 0.1;
  f.prom.queue = 4;
  auto r = f.config.Update({{"default", "queueLengthThreshold: 50\n"}});
  ASSERT_TRUE(r.errors.empty());
  f.rec.RunCycle();
  EXPECT_EQ(f.cluster.vas["llama-L40S"]["status"]["desiredOptimizedAlloc"]["numReplicas"], 2);
  EXPECT_EQ(f.cluster.vas["llama-A100"]["status"]["desiredOptimizedAlloc"]["numReplicas"], 2);
}

TEST(Reconciler, StaleCacheDoesNotRepeatADecision) {
  // A trigger right after a cycle can run before the informer has seen our status write: the
  // decision must not be announced (event, counter) a second time.
  Env e;
  e.cluster.stale_cache = true;
  e.prom.kv = 0.9;
  e.prom.queue = 6;
  CycleStats s1 = e.rec.RunCycle();
  EXPECT_EQ(s1.scaling_decisions, 1);
  e.prom.kv = 0.6;  // the load settles; a stale cache would make L40S fall back to 2 here
  e.prom.queue = 2;
  CycleStats s2 = e.rec.RunCycle();
  EXPECT_EQ(s2.scaling_decisions, 0);
  EXPECT_EQ(e.cluster.events.size(), 1u);
  EXPECT_TRUE(Has(e.Metrics(), "variant_name=\"llama-L40S\"} 3"));
}

}  // namespace
}  // namespace wva::controller
