// Plain data types of the decision engine: what one model group looks like to WVA in one cycle,
// and what WVA decides for it. Shared by the controller, `wva simulate` and `wva analyze`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wva::core {

// Which capacity analyzer decides a model (docs/reference.md "Decision rules"). V1 is the
// default; V2 is chosen the way upstream WVA v0.9 chooses it (an `analyzers:` list, or
// `analyzerName: saturation`, in the `default` entry of the saturation ConfigMap).
enum class AnalyzerKind { kSaturationV1, kTokenBasedV2 };
const char* AnalyzerName(AnalyzerKind k);  // "saturation", "saturation-token-based"

// Thresholds of the saturation analyzer (docs/reference.md "The saturation ConfigMap").
struct SaturationConfig {
  double kv_cache_threshold = 0.80;   // T_kv: a replica is saturated when kv >= this
  double queue_length_threshold = 5;  // T_q:  ... or when its waiting queue >= this
  double kv_spare_trigger = 0.10;     // S_kv: scale up when the average spare kv < this
  double queue_spare_trigger = 3;     // S_q:  ... or the average spare queue < this
  AnalyzerKind analyzer = AnalyzerKind::kSaturationV1;
  double scale_up_threshold = 0.85;   // V2: grow while demand / anticipated supply > this
  double scale_down_boundary = 0.70;  // V2: shrink while demand / supply < this

  friend bool operator==(const SaturationConfig&, const SaturationConfig&) = default;
};

// One variant (a Deployment of the model on one kind of hardware) as seen this cycle.
struct VariantState {
  std::string name;          // the VariantAutoscaling name
  std::string accelerator;   // e.g. "L40S"
  double cost = 10.0;        // per replica per hour
  int current_replicas = 0;  // Deployment spec.replicas
  int ready_replicas = 0;    // replicas reporting usable metrics this cycle
  int desired_replicas = 0;  // last published decision (0 = none yet)
  int min_replicas = 1;
  std::optional<int> max_replicas;  // unset = no cap
  // Token-based analyzer (V2) only; all optional.
  std::optional<double> max_num_batched_tokens;  // vLLM --max-num-batched-tokens (effective)
  std::optional<double> max_num_seqs;            // vLLM --max-num-seqs
  std::optional<double> k2_history;              // rolling mean of compute bounds observed earlier
  std::optional<double> capacity_hint;           // last known per-replica capacity (tokens)

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
  // V2 only: KV capacity in tokens (num_gpu_blocks x block_size of vllm:cache_config_info);
  // 0 = unknown.
  double kv_capacity_tokens = 0;

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
// kNoCapacity (V2 only): the pod's KV capacity in tokens is unknown.
enum class SampleProblem { kNone, kSilent, kNaN, kInfinite, kNegative, kOutOfRange, kNoCapacity };
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
  // V2 only: mean prompt and output tokens per request over the last window (0 = unknown).
  double mean_prompt_tokens = 0;
  double mean_output_tokens = 0;
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
  kScaleToZero,  // scale to zero, or one replica kept for a model at zero (docs/scale-to-zero.md)
  kStockOut,     // replicas moved off a variant that cannot schedule (docs/budgets.md)
  kBudget,       // growth bound by a GPU budget (docs/budgets.md)
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
  int replicas = 0;       // replicas with usable metrics
  int non_saturated = 0;  // N
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

// Where a variant's compute bound k2 came from (V2).
enum class K2Source { kNone, kObserved, kHistory, kDerived, kMemory };
const char* K2SourceName(K2Source s);  // "none", "observed", "history", "vllm-args", "kv-bound"

// The token-based analyzer's view of one variant (V2).
struct VariantCapacity {
  double per_replica_capacity = 0;  // tokens; 0 = unknown (the variant cannot be chosen to grow)
  K2Source k2_source = K2Source::kNone;
  std::optional<double> observed_k2;  // mean of the bounds observed this cycle (for the history)
  int replicas = 0;                   // replicas whose demand is counted
  double demand = 0;                  // tokens
};

// The token-based analyzer's view of the model (V2): demand and supply in tokens.
struct CapacityAnalysis {
  double demand = 0;                      // tokens in use + waiting requests x tokens per request
  double supply = 0;                      // reporting replicas x per-replica capacity
  double anticipated_supply = 0;          // supply + starting replicas (scale-up only)
  double required = 0;                    // RC = max(0, demand / scaleUpThreshold - anticipated)
  double spare = 0;                       // SC = max(0, supply - demand / scaleDownBoundary)
  bool token_stats_missing = false;       // requests wait but mean tokens are unknown
  std::vector<VariantCapacity> variants;  // input order
};

struct ModelDecision {
  AnalyzerKind analyzer = AnalyzerKind::kSaturationV1;
  std::optional<CapacityAnalysis> capacity;  // set by the token-based analyzer (V2)
  Analysis analysis;
  std::vector<Transition> transitions;     // empty = the model is not in transition
  std::vector<VariantDecision> decisions;  // one per input variant, in input order
};

}  // namespace wva::core
