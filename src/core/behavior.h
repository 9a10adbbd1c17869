// autoscaling/v2 scaling behaviour (stabilization windows, Pods/Percent rate policies,
// selectPolicy) as a pure state machine, with Kubernetes' defaults and semantics
// (pkg/controller/podautoscaler/horizontal.go, normalizeDesiredReplicasWithBehaviors). Used by
// the direct actuator of the controller (docs/actuation.md) and by the simulator's HPA model.
// Time is plain seconds from any origin: the caller's clock.
#pragma once

#include <deque>
#include <optional>
#include <utility>
#include <vector>

namespace wva::core {

enum class HpaPolicyType { kPods, kPercent };
struct HpaScalingPolicy {
  HpaPolicyType type = HpaPolicyType::kPercent;
  int value = 100;
  double period_s = 15;
};
enum class SelectPolicy { kMax, kMin, kDisabled };
struct HpaRules {
  double stabilization_s = 0;
  SelectPolicy select = SelectPolicy::kMax;
  std::vector<HpaScalingPolicy> policies;
};

// Kubernetes' defaults (pkg/apis/autoscaling/v2/defaults.go): scale up at once, by up to 100%
// or 4 pods per 15 s, whichever is more; scale down after a 300 s stabilization window, by up
// to 100% per 15 s.
struct Behavior {
  Behavior();  // the defaults
  Behavior(HpaRules up, HpaRules down) : scale_up(std::move(up)), scale_down(std::move(down)) {}
  HpaRules scale_up;
  HpaRules scale_down;
};

// What a scale target's behaviour remembers, in time order: recommendations (time, replicas) and
// scale events (time, replica delta). Saved so a restart carries on (docs/actuation.md).
struct BehaviorHistory {
  std::vector<std::pair<double, int>> recommendations;
  std::vector<std::pair<double, int>> events;
  friend bool operator==(const BehaviorHistory&, const BehaviorHistory&) = default;
};

// The recommendations and scale events one scale target has seen.
class BehaviorState {
 public:
  explicit BehaviorState(Behavior b = Behavior()) : behavior_(std::move(b)) {}

  // The first sight of a target without a history: as Kubernetes' HPA does, its current
  // replicas count as a recommendation at `now`, so a fresh controller waits a full
  // stabilization window before scaling down.
  void RecordInitial(double now, int current);
  // What a restart needs. Of the recommendations only the newest of each value is kept: an
  // older equal one never decides a window's lowest or highest.
  BehaviorHistory History() const;
  // Adds `h` to what this state has seen (a union, kept in time order).
  void Merge(const BehaviorHistory& h);
  // New rules (the annotation changed); the history stays, as an HPA's does.
  void set_behavior(Behavior b) { behavior_ = std::move(b); }

  // One evaluation at `now`: `recommendation` is what the signal asks for (clamped to
  // [min, max] here), `current` the target's replica count. Returns the replica count to set,
  // and records it as a scale event when it differs from `current`.
  int Next(double now, int recommendation, int current, int min_replicas,
           std::optional<int> max_replicas);

  const Behavior& behavior() const { return behavior_; }

 private:
  struct Rec {
    double t;
    int replicas;
  };
  struct Event {
    double t;
    int delta;
  };
  int ScaleUpLimit(double now, int current) const;
  int ScaleDownLimit(double now, int current) const;

  Behavior behavior_;
  std::deque<Rec> recommendations_;
  std::deque<Event> events_;
};

}  // namespace wva::core
