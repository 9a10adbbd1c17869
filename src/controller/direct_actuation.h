// Direct actuation (docs/actuation.md): for VariantAutoscalings in direct mode, WVA sets the
// target Deployment's replicas itself through the scale subresource, with autoscaling/v2
// behaviour (core::BehaviorState: stabilization windows, rate policies, Kubernetes' defaults
// unless the VA's `wva.llmd.ai/behavior` annotation gives an HPA `behavior` object). A VA whose
// Deployment is also the target of an HorizontalPodAutoscaler or a KEDA ScaledObject is refused:
// two writers would fight. The outcome is the VA's `DirectActuation` condition.
//
// Mode: annotation `wva.llmd.ai/actuation: direct|metrics` on the VA, else ACTUATION_MODE
// (default `metrics`: publish wva_desired_replicas for an HPA or KEDA, write nothing).
//
// The behaviour history (recommendations and scale events, wall-clock seconds) is saved after
// each cycle to the ConfigMap `wva-direct-actuation-state` (key `history.json`) and restored by
// a new leader before it acts, so a restart inside a stabilization window neither scales down
// early nor restarts the window. A target seen without a history (first sight, or the store is
// unreadable) counts its current replicas as a recommendation, as Kubernetes' HPA does.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/log.h"
#include "base/status.h"
#include "controller/planner.h"
#include "controller/policy_state.h"
#include "core/behavior.h"

namespace wva::controller {

inline constexpr const char* kActuationAnnotation = "wva.llmd.ai/actuation";
inline constexpr const char* kBehaviorAnnotation = "wva.llmd.ai/behavior";
inline constexpr const char* kCondDirectActuation = "DirectActuation";
inline constexpr const char* kDirectStateConfigMap = "wva-direct-actuation-state";
inline constexpr const char* kDirectStateKey = "history.json";

// The saved histories by "<namespace>/<VA name>":
// {"version": 1, "targets": [{"namespace", "name", "recommendations": [[t, replicas], ...],
// "events": [[t, delta], ...]}]}. Under `max_bytes` (a ConfigMap holds 1 MiB), dropping the
// targets recommended longest ago first; `dropped` (optional) receives how many.
using BehaviorHistories = std::map<std::string, core::BehaviorHistory>;
std::string EncodeBehaviorHistories(const BehaviorHistories& h, size_t max_bytes = 900 * 1024,
                                    int* dropped = nullptr);
// The inverse; an error names the entry and field (a corrupted document restores nothing).
StatusOr<BehaviorHistories> DecodeBehaviorHistories(const std::string& text);

// Parses an autoscaling/v2 `behavior` object (scaleUp/scaleDown: stabilizationWindowSeconds,
// selectPolicy Max|Min|Disabled, policies [{type Pods|Percent, value, periodSeconds}]); absent
// fields keep Kubernetes' defaults. Errors name the field.
StatusOr<core::Behavior> ParseBehavior(const nlohmann::json& behavior);

// Sets a Deployment's spec.replicas through the scale subresource.
class ScaleSetter {
 public:
  virtual ~ScaleSetter() = default;
  virtual Status SetReplicas(const std::string& ns, const std::string& deployment,
                             int replicas) = 0;
};

class DirectActuator {
 public:
  // `scalers`: the HPAs and ScaledObjects the controller sees (for the conflict check).
  DirectActuator(ScaleSetter& setter, std::function<std::vector<nlohmann::json>()> scalers,
                 const Clock& clock, bool default_direct)
      : setter_(setter),
        scalers_(std::move(scalers)),
        clock_(clock),
        default_direct_(default_direct) {}

  struct Stats {
    int direct = 0;    // VAs in direct mode
    int writes = 0;    // scale writes made
    int refused = 0;   // VAs refused (another scaler targets the Deployment, bad behavior)
    int failures = 0;  // scale writes that failed
  };
  // After the plan: acts for the direct-mode VAs of `out` and adds their condition.
  Stats Apply(const CycleInput& in, CycleOutput* out);

  // Where the behaviour history is saved and restored from (not owned; null = memory only).
  // Set before the first Apply.
  void set_history_store(PolicyStateStore* store) { store_ = store; }

 private:
  ScaleSetter& setter_;
  std::function<std::vector<nlohmann::json>()> scalers_;
  const Clock& clock_;
  bool default_direct_;
  // Per "ns/va": the behaviour state and the annotation text it was built from.
  std::map<std::string, std::pair<std::string, core::BehaviorState>> states_;
  // Restore: once per process (a process leads at most once); retried each cycle while the
  // store cannot be read. Restored histories wait here for their VA's first sight.
  void Restore();
  void Save();
  PolicyStateStore* store_ = nullptr;
  bool restored_ = false;
  BehaviorHistories pending_;
  std::string last_saved_;
  std::string last_store_error_;
  log::Logger log_{"direct-actuation"};
};

}  // namespace wva::controller
