// The per-model decision of WVA, whole: the saturation rule (or the token-based analyzer), and
// for models with latency targets the SLO policy on top of it — load estimation (trend forecast,
// peak hold, closed-loop correction), SLO sizing, the hardware-mix rules and the scale-down
// guard. One pure function over one observation type and one state object. `wva run` (the
// controller's planner), `wva simulate` (policies `wva` and `wva-slo`) and `wva analyze` call it;
// what the simulator measures is what the controller runs.
//
// The robustness rules (docs/slo-sizing.md §7 has the reasoning and the failure each removes):
//  1. Grow only for a deficit, and then the cheapest way to add capacity to the fleet as it is
//     (MixBounds::kGrowOnly). A change of hardware mix while the fleet carries the load happens
//     only when it pays for itself: the hourly saving over `mix_horizon_s` (never shorter than
//     the slowest start-up) must exceed what the new replicas cost while they start (the old
//     ones keep serving until they are Ready, so no capacity is missing meanwhile).
//     A deficit grows toward the cheapest mix when that rule would move the grown fleet there
//     anyway (cheap increments during a rise otherwise pile up slow replicas); variants on which
//     the targets are out of reach count no capacity and are released to minReplicas first.
//  2. Scale-down is judged at the load expected when the removal takes effect plus the time a
//     replacement needs to start (a trend forecast over that lead) plus two standard errors of
//     the rate estimate (hysteresis against noise), and not within a dwell time (the slowest
//     start-up plus an interval) after the model last grew.
//  3. The correction of the model by the observed attainment is bounded: misses while the fleet
//     was short of the load, or while replicas ordered for it were starting (or within one
//     start-up after they were ordered), are explained by the start-up delay and do not raise
//     it; it is capped (`correction.max_factor`), decays once the SLO is met, and its factor is
//     named in every reason.
//  4. Burst headroom: the fleet stays sized for the peak 1-minute rate of a look-back at least
//     as long as the slowest start-up plus an interval (capacity released in a lull is missing
//     at the next burst for that long), placed by the sizing on the variant with the lowest cost
//     per unit of capacity.
//  5. Start-up times per variant come from the observation: learned from pod readiness by the
//     controller (LearnStartup), taken from the fleet by the simulator.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/slo.h"
#include "core/types.h"

namespace wva::core {

// The traffic of one model over the last metrics window.
struct TrafficObservation {
  bool known = false;             // rates were reported this cycle
  double arrival_rate = 0;        // requests per second
  double mean_prompt_tokens = 0;  // 0 = no request in the window
  double mean_output_tokens = 0;
  int64_t finished = -1;  // requests finished in the window; -1 = unknown (no correction update)
  int64_t ttft_good = 0;  // of them, with TTFT within its target
  int64_t itl_good = 0;   // of them, with ITL within its target
};

// Everything one model is decided from, one cycle.
struct Observation {
  double now_s = 0;        // seconds on any monotonic axis (non-decreasing across cycles)
  double interval_s = 60;  // between cycles
  double window_s = 60;    // of the rates and the 1-minute peaks
  ModelInput input;        // assembled by AssembleModelInput
  SloTargets targets;      // !any(): the saturation rule (or V2) alone decides
  std::vector<std::optional<PerfProfile>> profiles;  // parallel to input.variants
  std::vector<double> startup_s;  // expected start-up seconds per variant; <= 0 = unknown
  // How long after a lower target is published the replica actually goes: an HPA's scale-down
  // stabilization window (autoscaling/v2 default 300 s), 0 when WVA scales directly.
  double removal_delay_s = 300;
  TrafficObservation traffic;
};

// The one shared assembly of the engine's input: variants as they are this cycle and every
// per-pod sample (silent Ready pods included). Ready counts are the pods with usable samples.
ModelInput AssembleModelInput(std::string model_id, std::string ns, SaturationConfig config,
                              std::vector<VariantState> variants,
                              std::vector<ReplicaSample> samples);

struct PolicyOptions {
  double percentile = 0.99;   // share of requests within both targets the sizing aims at
  double cv = 1.0;            // assumed coefficient of variation of prompt/output lengths
  double itl_fraction = 1.0;  // of the ITL target the sizing plans for
  double lead_s = -1;         // forecast horizon; < 0: mean start-up + one interval
  int history = 5;            // cycles in the trend fit
  double hold_s = 600;   // peak-hold look-back (never shorter than slowest start-up + interval)
  bool feedback = true;  // the closed-loop correction (rule 3)
  CorrectionOptions correction{
      .gain = 10, .max_step = 2, .max_factor = 3, .release_s = 600, .min_requests = 20};
  double mix_horizon_s = 1800;     // rule 1
  double default_startup_s = 180;  // when a variant's start-up time is unknown
};

// What the policy remembers of one model between cycles. The controller keeps one per model and
// persists it (controller/policy_state.h), so a restart or a leader change does not forget.
struct PolicyState {
  std::vector<std::pair<double, double>> rates;  // (t, arrival rate) of recent cycles
  double last_prompt = 0, last_output = 0;       // token means survive idle windows
  double first_run_s = -1;
  double correction = 1;                    // the load correction factor (rule 3)
  double correction_t = -1;                 // its last update
  double last_scale_up_s = -1;              // the model last grew
  double last_deficit_s = -1;               // current capacity last fell short of the load
  std::map<std::string, double> startup_s;  // learned start-up seconds per variant name
  friend bool operator==(const PolicyState&, const PolicyState&) = default;
};

// Requests within both targets, from those within each: the joint share is at least
// ttft share + itl share - 1 (the misses of the two targets may all fall on different requests).
// The simulator counts the two per request, the controller reads them from vLLM's TTFT and ITL
// histograms (AttainmentFromHistograms); the correction sees the same estimate from both.
int64_t GoodRequests(const TrafficObservation& t);

// Cumulative histogram buckets (upper bound in seconds, rate per second; +Inf last), as
// `sum by (le) (rate(<h>_bucket[w]))` gives them: the rate of observations at or below `bound_s`,
// interpolated linearly inside the bucket that holds it (as histogram_quantile does). Beyond the
// largest finite bound, only what that bound counts.
double RateAtOrBelow(const std::vector<std::pair<double, double>>& buckets, double bound_s);

// Fills finished/ttft_good/itl_good of `t` from the window's TTFT histogram (per request) and
// ITL histogram (per token: its share within target stands for the requests' share) and the
// window length. Leaves `t` unknown (finished -1) when the TTFT histogram is empty.
void AttainmentFromHistograms(const std::vector<std::pair<double, double>>& ttft,
                              const std::vector<std::pair<double, double>>& itl,
                              const SloTargets& targets, double window_s, TrafficObservation* t);

// Folds one observed start-up (pod created -> Ready, seconds) of `variant` into the state:
// a moving average weighted towards the slower of old and new (under-estimating a start-up
// costs misses, over-estimating costs a little capacity).
void LearnStartup(PolicyState* state, const std::string& variant, double seconds);

struct PolicyDecision {
  ModelDecision decision;
  std::optional<SloSizing> sizing;       // when SLO sizing took part
  std::optional<SloInput> sizing_input;  // what it sized for (targets as planned, load, profiles)
  std::string slo_note;                  // why it did not, when targets are set
  double load = 0;                       // req/s the sizing carried (forecast, peak, correction)
  double correction = 1;
};

// The per-model decision. `state` is read and updated (never null).
PolicyDecision DecidePolicy(const Observation& obs, const PolicyOptions& options,
                            PolicyState* state);

}  // namespace wva::core
