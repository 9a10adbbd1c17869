#include "prom/metrics.h"

#include <chrono>
#include <sstream>

#include <prometheus/text_serializer.h>

namespace wva::prom {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

const prometheus::Histogram::BucketBoundaries& OptimizationBuckets() {
  static const auto* b =
      new prometheus::Histogram::BucketBoundaries{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *b;
}
const prometheus::Histogram::BucketBoundaries& QueryBuckets() {
  static const auto* b = new prometheus::Histogram::BucketBoundaries{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *b;
}

}  // namespace

WvaMetrics::WvaMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      desired_(BuildGauge()
                   .Name("wva_desired_replicas")
                   .Help("Replica count WVA wants for the variant (the HPA/KEDA scaling signal)")
                   .Register(*registry_)),
      current_(BuildGauge()
                   .Name("wva_current_replicas")
                   .Help("Replica count of the variant's scale target when WVA last decided")
                   .Register(*registry_)),
      ratio_(BuildGauge()
                 .Name("wva_desired_ratio")
                 .Help("desired/current replicas (= desired when current is 0)")
                 .Register(*registry_)),
      cost_info_(BuildGauge()
                     .Name("wva_variant_cost_info")
                     .Help("Cost of one replica per hour of the variant, in the cost label")
                     .Register(*registry_)),
      opt_timestamp_(BuildGauge()
                         .Name("wva_optimization_timestamp")
                         .Help("Unix time in seconds of the last successful optimization cycle")
                         .Register(*registry_)),
      opt_success_(BuildCounter()
                       .Name("wva_optimization_success_total")
                       .Help("Optimization cycles that completed")
                       .Register(*registry_)
                       .Add({})),
      opt_failure_(BuildCounter()
                       .Name("wva_optimization_failure_total")
                       .Help("Optimization cycles that failed")
                       .Register(*registry_)
                       .Add({})),
      opt_duration_(BuildHistogram()
                        .Name("wva_optimization_duration_seconds")
                        .Help("Duration of optimization cycles")
                        .Register(*registry_)),
      scaling_(BuildCounter()
                   .Name("wva_replica_scaling_total")
                   .Help("Scaling decisions by variant, direction and reason")
                   .Register(*registry_)),
      workqueue_depth_(BuildGauge()
                           .Name("wva_workqueue_depth")
                           .Help("Items waiting in the controller work queue")
                           .Register(*registry_)
                           .Add({})),
      watch_restarts_(BuildCounter()
                          .Name("wva_watch_restarts_total")
                          .Help("Kubernetes watch streams restarted, by resource")
                          .Register(*registry_)),
      query_errors_(BuildCounter()
                        .Name("wva_prometheus_query_errors_total")
                        .Help("Failed Prometheus queries by query type and reason")
                        .Register(*registry_)),
      query_duration_(BuildHistogram()
                          .Name("wva_prometheus_query_duration_seconds")
                          .Help("Latency of Prometheus queries by query type")
                          .Register(*registry_)),
      leader_(BuildGauge()
                  .Name("wva_leader_status")
                  .Help("1 when this instance holds the leader lease, else 0")
                  .Register(*registry_)
                  .Add({})),
      models_processed_(BuildGauge()
                            .Name("wva_models_processed")
                            .Help("Model groups processed in the last optimization cycle")
                            .Register(*registry_)
                            .Add({})),
      dropped_samples_(BuildCounter()
                           .Name("wva_metric_samples_dropped_total")
                           .Help("Engine-gauge samples not used for a decision, by reason (nan, "
                                 "inf, negative, out-of-range, no_pod_label, silent = a Ready pod "
                                 "without samples, no-capacity = KV capacity unknown to the "
                                 "token-based analyzer)")
                           .Register(*registry_)) {
  // Known label sets start at 0 (see the header), so a healthy install shows 0 rather than
  // "No data" and rate() and ratios work before the first event.
  for (const char* r :
       {"nan", "inf", "negative", "out-of-range", "no_pod_label", "silent", "no-capacity"}) {
    dropped_samples_.Add({{"reason", r}});
  }
  for (const char* status : {"success", "error"}) {
    opt_duration_.Add({{"status", status}}, OptimizationBuckets());
  }
  constexpr ErrorKind kAllErrorKinds[] = {ErrorKind::kApiError,     ErrorKind::kBadResponse,
                                          ErrorKind::kUnavailable,  ErrorKind::kTimeout,
                                          ErrorKind::kUnauthorized, ErrorKind::kTls,
                                          ErrorKind::kConfig};
  for (std::string_view type : kQueryTypes) {
    query_duration_.Add({{"query_type", std::string(type)}}, QueryBuckets());
    for (ErrorKind kind : kAllErrorKinds) {
      query_errors_.Add(
          {{"query_type", std::string(type)}, {"reason", std::string(ErrorKindName(kind))}});
    }
  }
}

prometheus::Labels WvaMetrics::LabelsOf(std::string_view variant_name, std::string_view ns) const {
  // exported_namespace repeats namespace: upstream's prometheus-adapter and KEDA rules select it
  // (upstream's ServiceMonitor has no honorLabels, so Prometheus renames the series' namespace).
  // Published as-is, it survives either scrape config: with honorLabels it is kept; without,
  // the target's namespace wins and ours moves to exported_exported_namespace, leaving this one.
  prometheus::Labels out = {{"variant_name", std::string(variant_name)},
                            {"namespace", std::string(ns)},
                            {"exported_namespace", std::string(ns)}};
  if (!controller_instance_.empty()) {
    out["controller_instance"] = controller_instance_;
  }
  return out;
}

prometheus::Labels WvaMetrics::LabelsOf(const VariantLabels& l) const {
  prometheus::Labels out = LabelsOf(l.variant_name, l.ns);
  out["accelerator_type"] = l.accelerator_type;
  return out;
}

void WvaMetrics::SetControllerInstance(std::string instance) {
  controller_instance_ = std::move(instance);
}

void WvaMetrics::AddDroppedSamples(std::string_view reason, int n) {
  if (n > 0) {
    dropped_samples_.Add({{"reason", std::string(reason)}}).Increment(n);
  }
}

void WvaMetrics::RemoveSeriesLocked(VariantSeries& s) {
  if (s.desired) {
    desired_.Remove(s.desired);
  }
  if (s.current) {
    current_.Remove(s.current);
  }
  if (s.ratio) {
    ratio_.Remove(s.ratio);
  }
  if (s.cost) {
    cost_info_.Remove(s.cost);
  }
  s.desired = s.current = s.ratio = s.cost = nullptr;
  s.cost_value.clear();
}

void WvaMetrics::SetVariant(const VariantLabels& labels, double desired, double current) {
  MutexLock lock(&mu_);
  VariantSeries& s = variants_[{labels.ns, labels.variant_name}];
  if ((s.desired || s.cost) && s.labels.accelerator_type != labels.accelerator_type) {
    std::string cost = s.cost_value;
    RemoveSeriesLocked(s);
    if (!cost.empty()) {
      auto l = LabelsOf(labels);
      l["cost"] = cost;
      s.cost = &cost_info_.Add(l);
      s.cost->Set(1);
      s.cost_value = cost;
    }
  }
  s.labels = labels;
  auto l = LabelsOf(labels);
  if (!s.desired) {
    s.desired = &desired_.Add(l);
    s.current = &current_.Add(l);
    s.ratio = &ratio_.Add(l);
  }
  s.desired->Set(desired);
  s.current->Set(current);
  s.ratio->Set(current > 0 ? desired / current : desired);
}

void WvaMetrics::SetVariantCost(const VariantLabels& labels, std::string_view cost) {
  MutexLock lock(&mu_);
  VariantSeries& s = variants_[{labels.ns, labels.variant_name}];
  if (s.cost && s.cost_value == cost && s.labels.accelerator_type == labels.accelerator_type) {
    return;
  }
  if (s.cost) {
    cost_info_.Remove(s.cost);
  }
  auto l = LabelsOf(labels);
  l["cost"] = std::string(cost);
  s.cost = &cost_info_.Add(l);
  s.cost->Set(1);
  s.cost_value = std::string(cost);
  if (!s.desired) {
    s.labels = labels;
  }
}

void WvaMetrics::RemoveVariant(std::string_view ns, std::string_view variant_name) {
  MutexLock lock(&mu_);
  auto it = variants_.find({std::string(ns), std::string(variant_name)});
  if (it == variants_.end()) {
    return;
  }
  RemoveSeriesLocked(it->second);
  variants_.erase(it);
}

void WvaMetrics::RecordOptimization(bool success, double duration_seconds, Clock::WallTime at) {
  if (success) {
    opt_success_.Increment();
    // Family::Add returns the existing child after the first call.
    opt_timestamp_.Add({}).Set(std::chrono::duration<double>(at.time_since_epoch()).count());
  } else {
    opt_failure_.Increment();
  }
  opt_duration_.Add({{"status", success ? "success" : "error"}}, OptimizationBuckets())
      .Observe(duration_seconds);
}

void WvaMetrics::RecordScaling(std::string_view variant_name, std::string_view ns,
                               std::string_view direction, std::string_view reason) {
  prometheus::Labels l = LabelsOf(variant_name, ns);
  l["direction"] = std::string(direction);
  l["reason"] = std::string(reason);
  scaling_.Add(l).Increment();
}

void WvaMetrics::SetWorkQueueDepth(double depth) { workqueue_depth_.Set(depth); }

void WvaMetrics::IncWatchRestarts(std::string_view resource) {
  watch_restarts_.Add({{"resource", std::string(resource)}}).Increment();
}

void WvaMetrics::RecordPromQuery(std::string_view query_type, double seconds,
                                 std::optional<ErrorKind> error) {
  query_duration_.Add({{"query_type", std::string(query_type)}}, QueryBuckets()).Observe(seconds);
  if (error) {
    query_errors_
        .Add({{"query_type", std::string(query_type)},
              {"reason", std::string(ErrorKindName(*error))}})
        .Increment();
  }
}

void WvaMetrics::SetLeader(bool leader) { leader_.Set(leader ? 1 : 0); }
void WvaMetrics::SetModelsProcessed(double n) { models_processed_.Set(n); }

std::string WvaMetrics::Serialize() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

}  // namespace wva::prom
