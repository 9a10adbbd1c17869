// Benchmark of the decision engine: one cycle for 10,000 models x 3 variants x 8 replicas.
// Reports ns per replica and heap allocations per model (counted by a global operator new).
#include <benchmark/benchmark.h>

#include <random>

#include "base/counting_new.h"
#include "core/saturation.h"

namespace wva::core {
namespace {

std::vector<ModelInput> MakeFleet(int models) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> kv(0.05, 0.95), q(0, 8);
  std::vector<ModelInput> fleet(models);
  const char* accs[] = {"L40S", "A100", "H100"};
  const double costs[] = {5, 20, 40};
  for (int m = 0; m < models; ++m) {
    ModelInput& in = fleet[m];
    in.model_id = "model-" + std::to_string(m);
    in.namespace_ = "ns-" + std::to_string(m % 20);
    for (int v = 0; v < 3; ++v) {
      VariantState s;
      s.name = in.model_id + "-" + accs[v];
      s.accelerator = accs[v];
      s.cost = costs[v];
      s.current_replicas = 8;
      s.ready_replicas = 8;
      s.max_replicas = 16;
      in.variants.push_back(s);
      for (int r = 0; r < 8; ++r) {
        in.replicas.push_back(ReplicaSample::Of(v, kv(rng), std::floor(q(rng))));
      }
    }
  }
  return fleet;
}

void BM_DecideFleet(benchmark::State& state) {
  const int models = static_cast<int>(state.range(0));
  auto fleet = MakeFleet(models);
  long allocs = 0;
  for (auto _ : state) {
    long before = HeapAllocations();
    for (const ModelInput& in : fleet) {
      ModelDecision d = Decide(in);
      benchmark::DoNotOptimize(d);
    }
    allocs += HeapAllocations() - before;
  }
  const double replicas = static_cast<double>(models) * 24;
  state.counters["ns_per_replica"] = benchmark::Counter(
      replicas, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["allocs_per_model"] =
      static_cast<double>(allocs) / (static_cast<double>(state.iterations()) * models);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(replicas));
}
BENCHMARK(BM_DecideFleet)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace wva::core

BENCHMARK_MAIN();
