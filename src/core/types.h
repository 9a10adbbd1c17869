// Plain data types of the decision engine: what one model group looks like to WVA in one cycle,
// and what WVA decides for it. Shared by the controller, `wva simulate` and `wva analyze`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wva::core {

// Thresholds of the saturation analyzer (docs/reference.md "The saturation ConfigMap").
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
// A Ready pod that reported nothing this cycle is an entry with `silent` set: it is not data,
// but it tells the engine that the model's view is incomplete (rule 7, complete data for
// scale-down), and that the pod is running rather than starting (rule 5).
struct ReplicaSample {
  int variant = 0;
  double kv_cache_usage = 0;  // 0..1
  double queue_length = 0;    // >= 0
  bool silent = false;        // a Ready pod without samples this cycle
  std::string pod;            // optional: named in reasons when the data is incomplete

  static ReplicaSample Of(int variant, double kv, double queue, std::string pod = {}) {
    ReplicaSample s;
    s.variant = variant;
    s.kv_cache_usage = kv;
    s.queue_length = queue;
    s.pod = std::move(pod);
    return s;
  }
  static ReplicaSample Silent(int variant, std::string pod) {
    ReplicaSample s;
    s.variant = variant;
    s.silent = true;
    s.pod = std::move(pod);
    return s;
  }
};

// Why a Ready pod's sample could not be used this cycle.
enum class SampleProblem { kNone, kSilent, kNaN, kInfinite, kNegative, kOutOfRange };
const char* SampleProblemName(SampleProblem p);  // "silent", "nan", "inf", "negative", ...

// A Ready pod whose data is missing or unusable this cycle (blocks scale-down, rule 7).
struct IncompletePod {
  std::string pod;  // may be empty when the input did not name it
  int variant = 0;
  SampleProblem problem = SampleProblem::kNone;
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
  kCascade,      // held: the model is in transition (rule 5, cascade protection)
  kBounds,       // min/max clamp
  kNoMetrics,    // held: no usable metrics
  kSlo,          // the SLO model (issue #8)
  kIncomplete,   // scale-down withheld: some Ready pod is silent or unusable (rule 7)
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
  // Ready pods of the model without usable samples this cycle (silent or garbage). Non-empty
  // means the data is incomplete: scale-down is withheld whatever the averages say (rule 7).
  std::vector<IncompletePod> incomplete;
  bool complete_data() const { return incomplete.empty(); }
};

// Why a model is in transition (rule 5): a variant holding a decision not yet applied, or with
// replicas still starting. While any exists, the saturation rule neither grows nor shrinks the
// model.
struct Transition {
  int variant = 0;
  int current_replicas = 0;
  int desired_replicas = 0;   // 0 when the transition is only starting replicas
  int starting_replicas = 0;  // replicas counted but not Ready/reporting yet
};

struct ModelDecision {
  Analysis analysis;
  std::vector<Transition> transitions;  // empty = the model is not in transition
  std::vector<VariantDecision> decisions;  // one per input variant, in input order
};

}  // namespace wva::core
