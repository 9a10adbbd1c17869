// Batched saturation-metric collection (docs/reference.md "Prometheus queries"): per cycle, ONE
// query per metric for every managed model, split into per-(namespace, model) -> per-pod {kv,
// queue} inputs for the engine.
//
// Query shape (kv shown; queue uses vllm:num_requests_waiting):
//   max by (namespace, model_name, pod) (max_over_time(vllm:kv_cache_usage_perc{
//       namespace=~"<ns1>|<ns2>",model_name=~"<m1>|<m2>"}[1m]))
// The matchers are anchored regex alternations of the managed namespaces and model names (each
// value regex-quoted and PromQL-escaped). They select the cross product namespaces x models, so
// the splitter keeps only series whose (namespace, model_name) pair is managed; the rest are
// counted as `unmanaged`. Query count is 2 per cycle whatever the number of models; the query
// text grows linearly (a POST body, so no URL length limit applies).
//
// Data hygiene (docs/reference.md, decision rule 7): NaN, ±Inf and negative samples are dropped
// with a named reason; a pod keeps whatever metric was usable. A failed query is reported per
// metric; the other metric's data is still returned, and the controller decides what a partial
// answer means.
#pragma once

#include <compare>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "prom/querier.h"

namespace wva::prom {

struct ModelKey {
  std::string ns;
  std::string model;
  auto operator<=>(const ModelKey&) const = default;
};

struct PodSaturation {
  std::optional<double> kv;     // peak KV-cache usage fraction over the window, 0..1
  std::optional<double> queue;  // peak waiting-queue length over the window, >= 0
};

struct DroppedSample {
  std::string pod;
  std::string metric;  // "kv" or "queue"
  std::string reason;  // "nan", "+inf", "-inf", "negative", "no_pod_label"
};

struct ModelSaturation {
  std::map<std::string, PodSaturation> pods;  // by pod name
  std::vector<DroppedSample> dropped;
};

struct MetricFailure {
  std::string metric;  // "kv" or "queue"
  QueryError error;
};

struct SaturationSnapshot {
  // Every managed model has an entry, possibly with no pods (no data this cycle).
  std::map<ModelKey, ModelSaturation> models;
  std::vector<MetricFailure> failures;
  int queries = 0;           // queries issued this cycle
  int unmanaged_series = 0;  // series dropped because their (namespace, model) is not managed
  std::vector<std::string> warnings;  // Prometheus warnings, passed through

  bool ok() const { return failures.empty(); }
};

class WvaMetrics;

struct CollectOptions {
  std::string window = "1m";
  // When set, each query's latency and error kind are recorded (query_type "kv_cache" and
  // "queue_length") in wva_prometheus_query_{duration_seconds,errors_total}.
  WvaMetrics* metrics = nullptr;
  const Clock* clock = nullptr;  // for the latency; RealClock when null
};

// Queries Prometheus once per metric for all `managed` models. With no managed models, issues
// no query.
SaturationSnapshot CollectSaturation(Querier& querier, const std::vector<ModelKey>& managed,
                                     const CollectOptions& options = {});

// Why a sample value cannot be used ("nan", "+inf", "-inf", "negative"), or "" when it can.
std::string_view UnusableReason(const Point& p);

// The splitter on its own (exposed for tests and fuzzing): folds one metric's vector answer into
// `snapshot`. `metric` is "kv" or "queue".
void SplitByModel(const QueryResult& result, std::string_view metric, SaturationSnapshot* snapshot);

}  // namespace wva::prom
