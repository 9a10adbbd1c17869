// Plain data types of the decision engine: what one model group looks like to WVA in one cycle,
// and what WVA decides for it. Shared by the controller, `wva simulate` and `wva analyze`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wva::core {

// Thresholds of the saturation analyzer (SPEC §2 `capacity-scaling-config`).
struct SaturationConfig {
  double kv_cache_threshold = 0.80;   // T_kv: a replica is saturated when kv >= this
  double queue_length_threshold = 5;  // T_q:  ... or when its waiting queue >= this
  double kv_spare_trigger = 0.10;     // S_kv: scale up when the average spare kv < this
  double queue_spare_trigger = 3;     // S_q:  ... or the average spare queue < this

  friend bool operator==(const SaturationConfig&, const SaturationConfig&) = default;
};

// One variant (a Deployment of the model on one kind of hardware) as seen this cycle.
struct VariantState {
  std::string name;         // the VariantAutoscaling name
  std::string accelerator;  // e.g. "L40S"
  double cost = 10.0;       // per replica per hour
  int current_replicas = 0; // Deployment spec.replicas
  int ready_replicas = 0;   // replicas reporting usable metrics this cycle
  int desired_replicas = 0; // last published decision (0 = none yet)
  int min_replicas = 1;
  std::optional<int> max_replicas;  // unset = no cap

  int pending_replicas() const {
    return current_replicas > ready_replicas ? current_replicas - ready_replicas : 0;
  }
};

// One replica's engine gauges (1-minute peaks). `variant` indexes ModelInput::variants.
struct ReplicaSample {
  int variant = 0;
  double kv_cache_usage = 0;  // 0..1
  double queue_length = 0;    // >= 0
};

struct ModelInput {
  std::string model_id;
  std::string namespace_;
  SaturationConfig config;
  std::vector<VariantState> variants;
  std::vector<ReplicaSample> replicas;
};

enum class Action { kNone, kScaleUp, kScaleDown, kHold };
const char* ActionName(Action a);  // "none", "scale-up", "scale-down", "hold"

// What drove a variant's target this cycle (for the reason, events and metrics labels).
enum class Driver {
  kSteady,       // nothing to do
  kSaturation,   // the saturation analyzer asked for a scale-up or approved a scale-down
  kPreserved,    // a previous decision not yet applied is kept
  kCascade,      // scale-up wanted but blocked by pending replicas
  kBounds,       // min/max clamp
  kNoMetrics,    // held: no usable metrics
  kSlo,          // the SLO model (issue #8)
};
const char* DriverName(Driver d);

struct VariantDecision {
  std::string variant;
  std::string accelerator;
  int current_replicas = 0;
  int target_replicas = 0;
  Action action = Action::kNone;
  Driver driver = Driver::kSteady;
  std::string reason;  // human-readable: why this target
};

struct Analysis {
  int replicas = 0;         // replicas with usable metrics
  int non_saturated = 0;    // N
  double avg_spare_kv = 0;
  double avg_spare_queue = 0;
  bool should_scale_up = false;
  bool can_scale_down = false;
  bool metrics_available = false;
  int dropped_samples = 0;  // NaN, negative, out-of-range or otherwise unusable
};

struct ModelDecision {
  Analysis analysis;
  std::vector<VariantDecision> decisions;  // one per input variant, in input order
};

}  // namespace wva::core
