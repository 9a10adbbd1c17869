// Scaling policies compared by `wva simulate`. A policy runs periodically inside the simulated
// controller loop, sees what a real controller would see (ControllerView) and publishes one
// Signal per variant; the actuator (HPA model or direct, see hpa.h) turns signals into replica
// counts. The loop knows nothing about individual policies, so a new one (e.g. `wva-slo`,
// issue #8) is a new Policy subclass plus one line in MakePolicy.
#pragma once

#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "core/slo_policy.h"
#include "core/types.h"
#include "sim/fleet.h"

namespace wva::sim {

// One serving replica as the controller sees it through Prometheus.
struct ReplicaView {
  int variant = 0;
  std::string pod;
  bool has_metrics = false;  // at least one scrape inside the window
  double kv_max = 0;         // max_over_time(kv_cache_usage_perc[window])
  double queue_max = 0;      // max_over_time(num_requests_waiting[window])
  double kv_last = 0;        // the latest scrape
  double queue_last = 0;
  double running_last = 0;
};

struct VariantView {
  int current = 0;   // Deployment spec.replicas (starting + ready)
  int ready = 0;     // replicas reporting metrics inside the window
  int starting = 0;  // created, not yet serving
  int desired = 0;   // the last value this policy published (0 = none yet)
  // What the gateway (EPP) and the variant's latency histograms show at the latest scrape:
  // prompt tokens of the requests dispatched to this variant and not finished, and the p90 TTFT
  // and p90 per-request TPOT of the requests it finished over the last window (-1 = none).
  double inflight_prompt_tokens = 0;
  double ttft_p90_ms = -1;
  double tpot_p90_ms = -1;
};

struct ControllerView {
  double now_s = 0;
  const FleetConfig* fleet = nullptr;
  std::vector<VariantView> variants;  // fleet order
  std::vector<ReplicaView> replicas;  // serving replicas, stable order
  // Traffic over the last window (what a gateway or vllm:request_* counters would show).
  double arrival_rate_rps = 0;
  double mean_prompt_tokens = 0;
  double mean_output_tokens = 0;
  // Requests finished over the last window and how many met both SLO targets (what a real
  // controller reads from vLLM's TTFT and per-request TPOT histograms at the target buckets).
  int64_t window_finished = 0;
  int64_t window_good = 0;
  // Of the finished requests, those within the TTFT target and those within the ITL target
  // (what the TTFT and ITL histograms show at the targets).
  int64_t window_ttft_good = 0;
  int64_t window_itl_good = 0;
  // Prompt tokens of requests held at the gateway (not yet dispatched to any replica), latest
  // scrape. The gateway queue belongs to the whole pool, not to one variant.
  double gateway_prompt_tokens = 0;
  // The engine's input (docs/reference.md "Decision rules"), built exactly as the real
  // controller builds it (1-minute peaks of replicas reporting metrics; current/ready/desired per
  // variant).
  core::ModelInput input;
};

// What a policy publishes for one variant, in the terms of an autoscaling/v2 metric target.
struct Signal {
  enum class Kind {
    kNone,         // nothing published: the actuator keeps the current replica count
    kReplicas,     // External metric, target AverageValue 1: value = desired replicas
    kPodsAverage,  // Pods metric averaged over `pods` reporting pods, target AverageValue
  };
  Signal() = default;
  Signal(Kind k, double v, double t = 1, int n = 0) : kind(k), value(v), target(t), pods(n) {}
  Kind kind = Kind::kNone;
  double value = 0;
  double target = 1;
  int pods = 0;
  // Further metrics of the same HPA: as in autoscaling/v2, each gives a recommendation and the
  // largest wins (a KEDA ScaledObject with several triggers works the same way).
  std::vector<Signal> also;
};

class Policy {
 public:
  virtual ~Policy() = default;
  // As given on the command line ("wva", "static:a=2", "hpa-kv:0.7").
  virtual std::string Name() const = 0;
  // Seconds between runs (the first run is one period after t = 0); +inf = never.
  virtual double PeriodSeconds(const FleetConfig& fleet) const = 0;
  // Replica counts at t = 0 (ready); nullopt = each variant's initialReplicas.
  virtual std::optional<std::vector<int>> InitialReplicas(const FleetConfig& fleet) const {
    return std::nullopt;
  }
  // One signal per variant (out->size() == fleet variants, pre-filled with kNone).
  virtual void Run(const ControllerView& view, std::vector<Signal>* out) = 0;
  // Decisions taken by the last Run, for the timeseries/debugging (may be empty).
  virtual std::string LastReason() const { return {}; }
  // True when the policy itself decides replica counts and explains them in LastReason (`wva`,
  // `wva-slo`). Otherwise the decision is the actuator's (an HPA on a metric): the simulator
  // records every replica change it makes, with MetricDetail(variant) as the reason.
  virtual bool ExplainsDecisions() const { return false; }
  // What the last Run published for one variant, in words (metric values and targets).
  virtual std::string MetricDetail(int variant) const { return {}; }
  // How the signals become replica counts: the fleet's actuator unless the policy brings its
  // own (the KEDA recipes scale through an HPA with their own behaviour; the oracle is direct).
  virtual ActuatorKind Actuation(const FleetConfig& fleet) const { return fleet.actuator; }
  virtual HpaConfig HpaBehavior(const FleetConfig& fleet) const { return fleet.hpa; }
};

// Publishes each decision's target as a kReplicas signal; returns what changed and why
// ("<variant> <action> <from>-><to> (<driver>): <reason>; ...", empty when nothing did).
std::string PublishDecisions(const core::ModelDecision& d, std::vector<Signal>* out);

// `wva`: the saturation analyzer + cost optimizer (docs/reference.md "Decision rules",
// core::Decide), every controller interval; publishes each variant's target as
// wva_desired_replicas.
class WvaPolicy final : public Policy {
 public:
  std::string Name() const override { return "wva"; }
  double PeriodSeconds(const FleetConfig& fleet) const override { return fleet.interval_s; }
  void Run(const ControllerView& view, std::vector<Signal>* out) override;
  std::string LastReason() const override { return reason_; }
  bool ExplainsDecisions() const override { return true; }

 private:
  std::string reason_;
  core::PolicyState state_;
};

// `static:<variant>=<n>[,...]`: fixed replica counts (unlisted variants get 0), never scales.
class StaticPolicy final : public Policy {
 public:
  StaticPolicy(std::string spec, std::vector<int> counts)
      : spec_(std::move(spec)), counts_(std::move(counts)) {}
  std::string Name() const override { return spec_; }
  double PeriodSeconds(const FleetConfig&) const override {
    return std::numeric_limits<double>::infinity();
  }
  std::optional<std::vector<int>> InitialReplicas(const FleetConfig&) const override {
    return counts_;
  }
  void Run(const ControllerView&, std::vector<Signal>*) override {}

 private:
  std::string spec_;
  std::vector<int> counts_;
};

// `hpa-kv:<target>`: a classic HPA per variant on the Pods metric average KV-cache usage
// (latest scrape), target AverageValue <target>, evaluated every HPA sync period.
class HpaKvPolicy final : public Policy {
 public:
  HpaKvPolicy(std::string spec, double target) : spec_(std::move(spec)), target_(target) {}
  std::string Name() const override { return spec_; }
  double PeriodSeconds(const FleetConfig& fleet) const override { return fleet.hpa.sync_s; }
  void Run(const ControllerView& view, std::vector<Signal>* out) override;
  std::string MetricDetail(int variant) const override;

 private:
  std::string spec_;
  double target_;
  std::vector<Signal> last_;
};

// Parses a --policy value against the fleet (variant names are checked).
StatusOr<std::unique_ptr<Policy>> MakePolicy(std::string_view spec, const FleetConfig& fleet);

// A file-system-friendly name for a policy's output directory: "static:a=2,b=1" ->
// "static-a-2_b-1", "hpa-kv:0.7" -> "hpa-kv-0.7".
std::string PolicySlug(std::string_view spec);

}  // namespace wva::sim
