// Actuators of the simulated fleet: how a policy's published Signal becomes a Deployment's
// replica count.
//  - HpaModel: one autoscaling/v2 HorizontalPodAutoscaler per variant, evaluated every sync
//    period: raw recommendation from the metric (with tolerance and missing-pod handling), then
//    spec.behavior (stabilization windows, Pods/Percent policies, selectPolicy), then
//    min/max. Mirrors pkg/controller/podautoscaler/horizontal.go. Unlike a stock HPA it scales
//    from and to 0 when minReplicas is 0 (as with the HPAScaleToZero gate or KEDA).
//  - Direct: the signal's replica count is applied at once (clamped to min/max).
#pragma once

#include <optional>

#include "sim/fleet.h"
#include "sim/policy.h"

namespace wva::sim {

// The replica count a metric asks for before behaviour rules, or nullopt to keep `current`.
// `current` = spec.replicas; `tolerance` as in the HPA (0.1 by default). With further metrics
// (Signal::also) the largest recommendation of those that give one wins.
std::optional<int> RawRecommendation(const Signal& s, int current, double tolerance);

class HpaModel {
 public:
  HpaModel(const HpaConfig& config, int min_replicas, std::optional<int> max_replicas)
      : config_(config),
        min_(min_replicas),
        max_(max_replicas),
        behavior_(core::Behavior{config.scale_up, config.scale_down}) {}

  // One sync at time `now`: returns the new replica count for this variant.
  int Sync(double now, const Signal& signal, int current);

 private:
  HpaConfig config_;
  int min_;
  std::optional<int> max_;
  core::BehaviorState behavior_;  // stabilization windows and rate policies
};

// Direct actuation: the count the signal asks for (no tolerance; the largest over Signal::also),
// clamped to [min, max].
int DirectTarget(const Signal& s, int current, int min_replicas, std::optional<int> max_replicas);

}  // namespace wva::sim
