#include "prom/workload.h"

#include <chrono>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "prom/metrics.h"
#include "prom/promql.h"

namespace wva::prom {

std::string BatchedRateQuery(std::string_view series, const std::vector<std::string>& namespaces,
                             const std::vector<std::string>& models, std::string_view window) {
  return fmt::format(
      "sum by (namespace, model_name) (rate({}{{namespace=~\"{}\",model_name=~\"{}\"}}[{}]))",
      series, RegexAlternation(namespaces), RegexAlternation(models), window);
}

WorkloadSnapshot CollectWorkload(Querier& querier, const std::vector<ModelKey>& managed,
                                 const CollectOptions& options) {
  WorkloadSnapshot snap;
  if (managed.empty()) return snap;
  std::set<std::string> ns_set, model_set;
  std::set<ModelKey> wanted(managed.begin(), managed.end());
  for (const auto& k : managed) {
    ns_set.insert(k.ns);
    model_set.insert(k.model);
  }
  const std::vector<std::string> namespaces(ns_set.begin(), ns_set.end());
  const std::vector<std::string> models(model_set.begin(), model_set.end());
  const Clock& clock = options.clock ? *options.clock : RealClock::Get();
  struct Spec {
    const char* series;
    double ModelRates::*slot;
  } specs[] = {{"vllm:request_success_total", &ModelRates::success},
               {"vllm:request_prompt_tokens_sum", &ModelRates::prompt_sum},
               {"vllm:request_prompt_tokens_count", &ModelRates::prompt_count},
               {"vllm:request_generation_tokens_sum", &ModelRates::gen_sum},
               {"vllm:request_generation_tokens_count", &ModelRates::gen_count}};
  for (const Spec& s : specs) {
    ++snap.queries;
    const auto start = clock.Now();
    QueryOutcome out = querier.Query(BatchedRateQuery(s.series, namespaces, models, options.window));
    if (options.metrics) {
      options.metrics->RecordPromQuery(
          "workload", std::chrono::duration<double>(clock.Now() - start).count(),
          out ? std::nullopt : std::optional<ErrorKind>(out.error().kind));
    }
    if (!out) {
      snap.failures.push_back({s.series, out.error()});
      continue;
    }
    for (const Sample& sample : out->samples) {
      auto ns = sample.labels.find("namespace");
      auto model = sample.labels.find("model_name");
      if (ns == sample.labels.end() || model == sample.labels.end()) continue;
      ModelKey key{ns->second, model->second};
      if (!wanted.count(key)) continue;
      const double v = sample.point.value;
      if (sample.point.value_class != ValueClass::kFinite || !std::isfinite(v) || v < 0) continue;
      snap.models[key].*s.slot = v;
    }
  }
  return snap;
}

}  // namespace wva::prom
