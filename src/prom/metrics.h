// WVA's own Prometheus metrics (docs/reference.md "Metrics"), on a prometheus-cpp registry, and
// their text exposition. The controller writes here; the exposition server serves Serialize().
//
// Scaling signal (gauges, labels variant_name, namespace, exported_namespace (= namespace, for
// rules written for upstream WVA), accelerator_type, and controller_instance when set):
//   wva_desired_replicas, wva_current_replicas, wva_desired_ratio (desired/current; = desired when
//   current is 0), wva_variant_cost_info{...,cost} = 1.
// Cycle: wva_optimization_timestamp (unix s of the last successful cycle; absent before the
//   first one),
//   wva_optimization_success_total, wva_optimization_failure_total,
//   wva_optimization_duration_seconds{status} (histogram),
//   wva_replica_scaling_total{variant_name,namespace,direction,reason}.
// Controller health: wva_workqueue_depth, wva_watch_restarts_total{resource},
//   wva_prometheus_query_errors_total{query_type,reason},
//   wva_prometheus_query_duration_seconds{query_type} (histogram), wva_leader_status (1 = leader),
//   wva_models_processed, wva_metric_samples_dropped_total{reason}.
// Series whose label values are known up front (the optimization counters and duration
// statuses, every query_type x error reason, every dropped-sample reason) exist at 0 from
// construction; the per-variant and
// per-resource counters appear with their first event.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "base/clock.h"
#include "base/mutex.h"
#include "prom/response.h"

namespace wva::prom {

// Every query_type label value the controller records (collect.cc: kv_cache, queue_length;
// workload.cc: workload; calibration.cc: calibration; kv_capacity.cc: cache_config). Their
// series start at 0.
inline constexpr std::string_view kQueryTypes[] = {"kv_cache", "queue_length", "workload",
                                                   "calibration", "cache_config"};

struct VariantLabels {
  std::string variant_name;  // the VariantAutoscaling name
  std::string ns;
  std::string accelerator_type;
};

class WvaMetrics {
 public:
  WvaMetrics();
  WvaMetrics(const WvaMetrics&) = delete;
  WvaMetrics& operator=(const WvaMetrics&) = delete;

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

  // CONTROLLER_INSTANCE: added as label controller_instance to the per-variant series (as
  // upstream does), so two controllers' signals stay apart. "" = no label. Call before the
  // first series is published.
  void SetControllerInstance(std::string instance);

  // Publishes a variant's decision. If the variant's accelerator changed since the last call, the
  // old series are removed so an HPA never sees two values for one variant.
  void SetVariant(const VariantLabels& labels, double desired, double current);
  // wva_variant_cost_info{...,cost="<cost>"} = 1; replaces the variant's previous cost series.
  void SetVariantCost(const VariantLabels& labels, std::string_view cost);
  // Removes every series of the variant (its VA was deleted).
  void RemoveVariant(std::string_view ns, std::string_view variant_name);

  void RecordOptimization(bool success, double duration_seconds, Clock::WallTime at);
  // direction: "up" | "down"; reason: a short machine-readable cause.
  void RecordScaling(std::string_view variant_name, std::string_view ns, std::string_view direction,
                     std::string_view reason);

  void SetWorkQueueDepth(double depth);
  void IncWatchRestarts(std::string_view resource);
  // One Prometheus query: its latency, and its error kind if it failed.
  void RecordPromQuery(std::string_view query_type, double seconds, std::optional<ErrorKind> error);
  void SetLeader(bool leader);
  void SetModelsProcessed(double n);
  // wva_metric_samples_dropped_total{reason}: samples the engine could not use this cycle.
  void AddDroppedSamples(std::string_view reason, int n);

  // Prometheus text exposition format 0.0.4.
  std::string Serialize() const;

 private:
  struct VariantSeries {
    VariantLabels labels;
    prometheus::Gauge* desired = nullptr;
    prometheus::Gauge* current = nullptr;
    prometheus::Gauge* ratio = nullptr;
    prometheus::Gauge* cost = nullptr;
    std::string cost_value;
  };
  using Key = std::pair<std::string, std::string>;  // (namespace, variant_name)

  void RemoveSeriesLocked(VariantSeries& s) REQUIRES(mu_);
  prometheus::Labels LabelsOf(std::string_view variant_name, std::string_view ns) const;
  prometheus::Labels LabelsOf(const VariantLabels& l) const;

  std::string controller_instance_;  // set before any series exists, then read-only

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge>& desired_;
  prometheus::Family<prometheus::Gauge>& current_;
  prometheus::Family<prometheus::Gauge>& ratio_;
  prometheus::Family<prometheus::Gauge>& cost_info_;
  // No child until the first successful cycle: absent, not 0, before it.
  prometheus::Family<prometheus::Gauge>& opt_timestamp_;
  prometheus::Counter& opt_success_;
  prometheus::Counter& opt_failure_;
  prometheus::Family<prometheus::Histogram>& opt_duration_;
  prometheus::Family<prometheus::Counter>& scaling_;
  prometheus::Gauge& workqueue_depth_;
  prometheus::Family<prometheus::Counter>& watch_restarts_;
  prometheus::Family<prometheus::Counter>& query_errors_;
  prometheus::Family<prometheus::Histogram>& query_duration_;
  prometheus::Gauge& leader_;
  prometheus::Gauge& models_processed_;
  prometheus::Family<prometheus::Counter>& dropped_samples_;

  Mutex mu_;
  std::map<Key, VariantSeries> variants_ GUARDED_BY(mu_);
};

}  // namespace wva::prom
