// The llm-d KEDA recipes as simulator policies: what users run instead of a controller. Each
// variant has its own ScaledObject (so its own HPA) and is scaled independently of the others;
// there is no cost-aware choice between variants. Formulas as documented by llm-d (late 2026);
// docs/simulator.md "Policies" restates them.
//
//  - `keda-token[:queue=<s>,kv=<f>]` ("token-aware"): prefill trigger = in-flight prompt tokens
//    of the variant / its peak prefill throughput V_P (tokens/s, from the engine profile),
//    AverageValue target `queue` seconds of backlog (default 1.5; `queue=slo` derives it per run
//    as TTFT_SLO − mean_prompt / V_P, at least 0.1 s); decode trigger = average
//    kv_cache_usage_perc, target `kv` (0.8). The HPA takes the larger recommendation. Prompt
//    tokens held at the gateway belong to the pool and count for every variant. Behaviour: the
//    fleet's HPA settings (KEDA leaves them at the Kubernetes defaults).
//  - `keda-slo` ("SLO-aware"): s = average over 45 s of min(max(p90 TTFT / TTFT_SLO, p90 TPOT /
//    ITL_SLO), 2) (the variant's requests finished over the window); with n = replicas and the
//    in-flight credit c = ready / n: s > 0.55 → n + ceil(n·(s·c/0.55 − 1)); s < 0.40 →
//    n − floor(n·(1 − s/0.40)); else n. Published as the desired count through an HPA with: up
//    max(100 %, 4 pods) per 60 s after a 30 s window, down 1 pod per 120 s after a 180 s window.
//    No latency sample in 45 s → no metric (the HPA keeps the count). Being multiplicative, it
//    never starts a variant that has 0 replicas.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/policy.h"

namespace wva::sim {

// Peak prefill throughput of one replica (tokens/s): a step that prefills a full token budget,
// max_num_batched_tokens / (alpha + gamma + delta · max_num_batched_tokens).
double PeakPrefillTokensPerSecond(const PerfProfile& p);

class KedaTokenPolicy final : public Policy {
 public:
  struct Options {
    double queue_s = 1.5;    // prefill target, seconds of backlog; <= 0: derived from the SLO
    double kv_target = 0.8;  // decode target, average KV-cache usage
  };
  KedaTokenPolicy(std::string spec, Options o) : spec_(std::move(spec)), o_(o) {}
  std::string Name() const override { return spec_; }
  double PeriodSeconds(const FleetConfig& fleet) const override { return fleet.hpa.sync_s; }
  ActuatorKind Actuation(const FleetConfig&) const override { return ActuatorKind::kHpa; }
  void Run(const ControllerView& view, std::vector<Signal>* out) override;
  std::string MetricDetail(int variant) const override;

 private:
  std::string spec_;
  Options o_;
  std::vector<std::string> detail_;
};

class KedaSloPolicy final : public Policy {
 public:
  static constexpr double kAverageWindowS = 45;
  static constexpr double kUpThreshold = 0.55;
  static constexpr double kDownThreshold = 0.40;
  static constexpr double kCap = 2.0;

  explicit KedaSloPolicy(std::string spec) : spec_(std::move(spec)) {}
  std::string Name() const override { return spec_; }
  double PeriodSeconds(const FleetConfig& fleet) const override { return fleet.hpa.sync_s; }
  ActuatorKind Actuation(const FleetConfig&) const override { return ActuatorKind::kHpa; }
  HpaConfig HpaBehavior(const FleetConfig& fleet) const override;
  void Run(const ControllerView& view, std::vector<Signal>* out) override;
  std::string MetricDetail(int variant) const override;

  // The recipe's replica formula for a smoothed ratio `s`, `n` replicas and `ready` of them
  // serving.
  static int Desired(double s, int n, int ready);

 private:
  std::string spec_;
  std::vector<std::deque<std::pair<double, double>>> samples_;  // per variant: (t, ratio)
  std::vector<std::string> detail_;
};

// Parses "keda-token[:...]" and "keda-slo".
StatusOr<std::unique_ptr<Policy>> MakeKedaPolicy(std::string_view spec);

}  // namespace wva::sim
