#include "prom/collect.h"

#include <set>

#include "prom/metrics.h"
#include "prom/promql.h"

namespace wva::prom {

std::string_view UnusableReason(const Point& p) {
  switch (p.value_class) {
    case ValueClass::kNaN:
      return "nan";
    case ValueClass::kPosInf:
      return "+inf";
    case ValueClass::kNegInf:
      return "-inf";
    case ValueClass::kFinite:
      break;
  }
  if (p.value < 0) {
    return "negative";
  }
  return {};
}

void SplitByModel(const QueryResult& result, std::string_view metric,
                  SaturationSnapshot* snapshot) {
  for (const auto& w : result.warnings) {
    snapshot->warnings.push_back(w);
  }
  for (const Sample& s : result.samples) {
    auto ns = s.labels.find("namespace");
    auto model = s.labels.find("model_name");
    ModelKey key{ns == s.labels.end() ? "" : ns->second,
                 model == s.labels.end() ? "" : model->second};
    auto it = snapshot->models.find(key);
    if (it == snapshot->models.end()) {
      ++snapshot->unmanaged_series;
      continue;
    }
    ModelSaturation& ms = it->second;
    auto pod = s.labels.find("pod");
    if (pod == s.labels.end() || pod->second.empty()) {
      ms.dropped.push_back({"", std::string(metric), "no_pod_label"});
      continue;
    }
    if (auto reason = UnusableReason(s.point); !reason.empty()) {
      ms.dropped.push_back({pod->second, std::string(metric), std::string(reason)});
      continue;
    }
    PodSaturation& ps = ms.pods[pod->second];
    std::optional<double>& slot = metric == "kv" ? ps.kv : ps.queue;
    // `max by` already makes (namespace, model_name, pod) unique; keep the max defensively.
    slot = slot ? std::max(*slot, s.point.value) : s.point.value;
  }
}

SaturationSnapshot CollectSaturation(Querier& querier, const std::vector<ModelKey>& managed,
                                     const CollectOptions& options) {
  SaturationSnapshot snap;
  if (managed.empty()) {
    return snap;
  }
  std::set<std::string> ns_set, model_set;
  for (const auto& k : managed) {
    snap.models[k];
    ns_set.insert(k.ns);
    model_set.insert(k.model);
  }
  std::vector<std::string> namespaces(ns_set.begin(), ns_set.end());
  std::vector<std::string> models(model_set.begin(), model_set.end());

  struct Spec {
    std::string_view name;
    std::string_view metric;
    std::string_view query_type;
  };
  const Clock& clock = options.clock ? *options.clock : RealClock::Get();
  for (const Spec& spec : {Spec{"kv", kKvCacheUsageMetric, "kv_cache"},
                           Spec{"queue", kQueueLengthMetric, "queue_length"}}) {
    std::string q = BatchedPeakQuery(spec.metric, namespaces, models, options.window);
    ++snap.queries;
    auto start = clock.Now();
    QueryOutcome out = querier.Query(q);
    if (options.metrics) {
      options.metrics->RecordPromQuery(
          spec.query_type, std::chrono::duration<double>(clock.Now() - start).count(),
          out ? std::nullopt : std::optional<ErrorKind>(out.error().kind));
    }
    if (!out) {
      snap.failures.push_back({std::string(spec.name), out.error()});
      continue;
    }
    if (out->type != ResultType::kVector) {
      snap.failures.push_back(
          {std::string(spec.name),
           QueryError{ErrorKind::kBadResponse,
                      "expected a vector result, got " + std::string(ResultTypeName(out->type)),
                      200, ""}});
      continue;
    }
    SplitByModel(*out, spec.name, &snap);
  }
  return snap;
}

}  // namespace wva::prom
