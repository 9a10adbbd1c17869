// Benchmark of one steady reconcile cycle at 1,000 and 10,000 VariantAutoscalings (4 variants per
// model, 8 pods per variant), the controller's whole path but the network: VAs, Deployments,
// ReplicaSets and pods as the informer caches hold them, both Prometheus answers decoded from
// their JSON bodies (as prom::Client does), the plan, placement and publication. Reports time
// per cycle and heap allocations per cycle (a global operator new counts them). The end-to-end
// figures against a real API server and Prometheus are bench/controller_cycle.py's.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "base/clock.h"
#include "base/counting_new.h"
#include "controller/deployment.h"
#include "controller/pod.h"
#include "controller/reconciler.h"

namespace wva::controller {
namespace {

using nlohmann::json;

constexpr int kVariants = 4;
constexpr int kPods = 8;
constexpr const char* kNs = "bench";

// A cluster of `models` models as the caches hold it, and the Prometheus answers for it.
class Cluster : public ClusterReader, public StatusWriter, public prom::Querier {
 public:
  explicit Cluster(int models) {
    json kv = json::array(), queue = json::array();
    for (int m = 0; m < models; ++m) {
      const std::string model = fmt::format("model-{}", m);
      for (int v = 0; v < kVariants; ++v) {
        const std::string d = fmt::format("{}-v{}", model, v);
        AddVariant(model, d, v);
        for (int i = 0; i < kPods; ++i) {
          const std::string pod = fmt::format("{}-{}", d, i);
          const json labels = {{"namespace", kNs}, {"model_name", model}, {"pod", pod}};
          kv.push_back({{"metric", labels}, {"value", {1795857000.0, "0.5"}}});
          queue.push_back({{"metric", labels}, {"value", {1795857000.0, "1"}}});
        }
      }
    }
    auto body = [](json result) {
      return json{{"status", "success"},
                  {"data", {{"resultType", "vector"}, {"result", std::move(result)}}}}
          .dump();
    };
    kv_body_ = body(std::move(kv));
    queue_body_ = body(std::move(queue));
  }

  std::vector<VaPtr> VariantAutoscalings() override { return vas_; }
  DeploymentPtr Deployment(const std::string& ns, const std::string& name) override {
    auto it = deployments_.find(ns + "/" + name);
    return it == deployments_.end() ? nullptr : it->second;
  }
  std::vector<PodPtr> Pods(const std::string&) override { return pods_; }
  std::vector<ReplicaSetPtr> ReplicaSets(const std::string&) override { return rss_; }
  Status PatchStatus(const std::string&, const std::string&, const json&) override {
    return OkStatus();
  }
  void Event(const json&, const std::string&, const std::string&, const std::string&) override {}
  prom::QueryOutcome Query(std::string_view promql) override {
    const bool kv = promql.find("kv_cache") != std::string_view::npos;
    return prom::ParseQueryResponse(kv ? kv_body_ : queue_body_);
  }

 private:
  void AddVariant(const std::string& model, const std::string& d, int v) {
    vas_.push_back(CacheVa(json{{"apiVersion", "llmd.ai/v1alpha1"},
                                {"kind", "VariantAutoscaling"},
                                {"metadata",
                                 {{"name", d},
                                  {"namespace", kNs},
                                  {"generation", 1},
                                  {"uid", d},
                                  {"resourceVersion", "1"}}},
                                {"spec",
                                 {{"scaleTargetRef", {{"kind", "Deployment"}, {"name", d}}},
                                  {"modelID", model},
                                  {"variantCost", fmt::format("{}.0", 5 * (1 + v))}}}}));
    deployments_[fmt::format("{}/{}", kNs, d)] =
        ParseDeployment({{"metadata", {{"name", d}, {"namespace", kNs}}},
                         {"spec", {{"replicas", kPods}}},
                         {"status", {{"replicas", kPods}, {"readyReplicas", kPods}}}});
    const json owner = {{"kind", "Deployment"}, {"name", d}, {"controller", true}};
    rss_.push_back(ParseReplicaSet(
        {{"metadata", {{"name", d + "-rs"}, {"namespace", kNs}, {"ownerReferences", {owner}}}}}));
    for (int i = 0; i < kPods; ++i) {
      const json rs = {{"kind", "ReplicaSet"}, {"name", d + "-rs"}, {"controller", true}};
      pods_.push_back(ParsePod({{"metadata",
                                 {{"name", fmt::format("{}-{}", d, i)},
                                  {"namespace", kNs},
                                  {"creationTimestamp", "2026-11-28T08:00:00Z"},
                                  {"ownerReferences", {rs}}}},
                                {"status",
                                 {{"phase", "Running"},
                                  {"conditions",
                                   {{{"type", "Ready"},
                                     {"status", "True"},
                                     {"lastTransitionTime", "2026-11-28T08:02:00Z"}}}}}}}));
    }
  }

  std::vector<VaPtr> vas_;
  std::map<std::string, DeploymentPtr> deployments_;
  std::vector<PodPtr> pods_;
  std::vector<ReplicaSetPtr> rss_;
  std::string kv_body_, queue_body_;
};

void BM_SteadyCycle(benchmark::State& state) {
  const int models = static_cast<int>(state.range(0));
  Cluster cluster(models);
  prom::WvaMetrics metrics;
  ConfigCache config;
  FakeClock clock;
  clock.SetWall(std::chrono::system_clock::from_time_t(1795857000));  // 2026-11-28T09:10:00Z
  Reconciler rec(cluster, cluster, cluster, metrics, config, clock);
  // The first cycles decide and write; the measured ones are steady.
  for (int i = 0; i < 3; ++i) {
    rec.RunCycle();
    clock.Advance(std::chrono::seconds(20));
  }
  long allocs = 0;
  for (auto _ : state) {
    const long before = HeapAllocations();
    CycleStats stats = rec.RunCycle();
    allocs += HeapAllocations() - before;
    benchmark::DoNotOptimize(stats);
    clock.Advance(std::chrono::seconds(20));
  }
  state.counters["vas"] = models * kVariants;
  state.counters["pods"] = models * kVariants * kPods;
  state.counters["allocs_per_cycle"] =
      benchmark::Counter(static_cast<double>(allocs), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_SteadyCycle)->Arg(250)->Arg(2500)->Unit(benchmark::kMillisecond)->MinTime(2);

}  // namespace
}  // namespace wva::controller

BENCHMARK_MAIN();
