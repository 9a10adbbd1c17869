// SLO-driven sizing (issue #8, docs/slo-sizing.md): from latency targets (TTFT at a percentile,
// mean ITL), a per-variant performance profile and the observed workload, how many requests per
// second one replica of a variant sustains, the cheapest mix of variants that carries the load, and
// how that sizing combines with the saturation rule. Pure: no I/O, no threads, no clocks.
//
// The model (docs/slo-sizing.md has the derivation and why it is shaped this way):
//  - Engine step with n running sequences: step(n) = alpha + beta·n ms. A request's prefill costs
//    the engine Wp = gamma·chunks + delta·promptTokens ms, during which every running sequence
//    stalls (vLLM runs prefill chunks inside the same steps).
//  - With n sequences in the batch the engine completes mu(n) = n / (n·Wp + (O−1)·step(n))
//    requests per ms, and a decoding sequence sees ITL_eff(n) = step(n) + n·Wp/(O−1).
//  - Batch cap N = min(maxBatch, KV capacity / (mean prompt + mean output)). Requests beyond N
//    wait in vLLM's (unbounded) queue.
//  - The number of requests at a replica is a birth–death chain (Poisson arrivals, state-
//    dependent exponential service mu(min(k, N))): the state-dependent M/M/1 of the original WVA
//    design, but with an unbounded queue solved in closed form above N, so the waiting time of a
//    request that queues is exactly exponential with rate mu(N) − lambda. TTFT = wait + prefill
//    (with the prompt-length distribution), evaluated as a tail probability at the SLO target.
//  - A replica's capacity is the largest lambda with P(TTFT > target) <= 1 − percentile and the
//    token-weighted mean ITL <= target, times (1 − headroom).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "core/perf_profile.h"
#include "core/types.h"

namespace wva::core {

// Mean and standard deviation of a token count (prompt or output). Lognormal when stddev > 0.
struct TokenStats {
  double mean = 0;
  double stddev = 0;
  friend bool operator==(const TokenStats&, const TokenStats&) = default;
};

// The observed load of one model (all its variants together).
struct Workload {
  double arrival_rate = 0;  // requests per second
  TokenStats input;         // prompt tokens
  TokenStats output;        // generated tokens (>= 1)
  Status Validate() const;
};

// Latency targets of one model. A target of 0 means "no target" for that metric.
struct SloTargets {
  double ttft_ms = 0;        // TTFT at `percentile`
  double itl_ms = 0;         // mean inter-token latency
  double percentile = 0.99;  // of TTFT, in (0.5, 1)
  // 0: the token-weighted mean ITL must be within itl_ms. In (0.5, 1): also this share of
  // requests must see a per-request mean ITL (TPOT) within itl_ms (prefill stalls make short
  // requests vary; see docs/slo-sizing.md).
  double itl_percentile = 0;
  double headroom = 0.10;     // fraction of the modelled capacity kept spare, [0, 0.9]
  double drain_seconds = 60;  // queued requests must drain within this: load += queued / drain
  bool any() const { return ttft_ms > 0 || itl_ms > 0; }
  Status Validate() const;
  friend bool operator==(const SloTargets&, const SloTargets&) = default;
};

// What the queueing model predicts for one replica at a given arrival rate.
struct LoadPrediction {
  bool stable = false;               // lambda < mu(N)
  double mean_batch = 0;             // mean running sequences
  double mean_itl_ms = 0;            // token-weighted mean ITL
  double p_queue = 0;                // probability an arrival waits (all N slots busy)
  double ttft_tail = 1;              // P(TTFT > ttft target) (1 when unstable; 0 without target)
  double itl_tail = 0;               // P(request mean ITL > itl target) (when itl_percentile > 0)
  double ttft_ms_at_percentile = 0;  // TTFT quantile at the target percentile (computed on demand)
};

// What bounds a replica's capacity.
enum class CapacityLimit { kNone, kTtft, kItl, kThroughput, kInfeasible };
// "", "ttft", "itl", "throughput", "infeasible" (the names reasons and `wva analyze` show).
const char* CapacityLimitName(CapacityLimit l);

// Capacity of one replica of a variant for a workload and targets.
struct ReplicaCapacity {
  bool feasible = false;       // the SLO can be met at some positive load
  double max_rate = 0;         // req/s within the SLO after headroom (what sizing uses)
  double raw_max_rate = 0;     // before headroom
  double saturation_rate = 0;  // mu(N) in req/s: throughput with a full batch
  int max_batch = 0;           // N: min(maxBatch, KV-limited batch)
  int itl_batch = 0;           // largest n with alpha + beta·n <= itl target (0 = no ITL target)
  double prefill_ms = 0;       // Wp at the mean prompt
  double ttft_ms = 0;          // predicted TTFT at the percentile, at raw_max_rate
  double itl_ms = 0;           // predicted mean ITL at raw_max_rate
  CapacityLimit limit = CapacityLimit::kNone;  // what bounds it
  std::string why;  // for infeasible: why; when relaxed: what was relaxed
  // Best effort (MaxRatePerReplica with best_effort): the request sizes alone miss a tail target
  // even without load, so the percentiles were relaxed by that share; `percentile` and
  // `itl_percentile` are the ones the capacity was computed for.
  bool relaxed = false;
  double percentile = 0, itl_percentile = 0;
};

// Prefill work of one request of `prompt_tokens` tokens, in engine ms: Wp = gamma·chunks +
// delta·P with chunks = P / maxBatchedTokens + 1 (1 without a chunked-prefill budget). Every
// running sequence stalls for it. Negative prompt lengths count as 0.
double PrefillMs(const PerfProfile& p, double prompt_tokens);

// The prefill stall one decoded token carries per running sequence, Wp / (O − 1): a decoding
// sequence in a batch of n sees ITL_eff(n) = step(n) + n·PrefillStallPerTokenMs (the sizing
// model's ITL). NaN when `output_tokens` <= 1 (no decode steps to spread the stall over).
double PrefillStallPerTokenMs(const PerfProfile& p, double prompt_tokens, double output_tokens);

// Queueing-model prediction for one replica receiving `lambda` req/s. The TTFT quantile is
// filled only when `with_quantile` (it costs a search).
LoadPrediction PredictLoad(const PerfProfile& p, const Workload& w, const SloTargets& t,
                           double lambda, bool with_quantile = false);

// Largest arrival rate one replica sustains within the targets. Requires valid inputs. When
// a tail target is missed even at zero load because of the request sizes (a share q0 of prompts
// alone exceeds the TTFT target) and `best_effort`, the capacity is computed for the tail
// relaxed by q0 (queueing adds at most the configured miss budget) and marked `relaxed`; a mean
// ITL above the target at zero load (hardware too slow) stays infeasible.
ReplicaCapacity MaxRatePerReplica(const PerfProfile& p, const Workload& w, const SloTargets& t,
                                  bool best_effort = false);

// Arrival-rate forecast, to size ahead of replica start-up delays: a least-squares trend over
// the recent (time s, rate req/s) history extrapolated `lead_s` past the newest sample. Only
// rising trends count (never below the newest observation, so scale-down is never anticipated),
// only with >= 5 points and when significant (slope > 2 standard errors), and the forecast is
// capped at twice the newest observation (noise guard).
double ForecastRate(const std::vector<std::pair<double, double>>& history, double lead_s);

// The highest rate observed in the last `hold_s` seconds before the newest sample: sizing for
// it keeps capacity through the lulls of bursty traffic (replicas take minutes to start, so
// capacity released in a lull is missing at the next burst) and damps scale-down churn.
double PeakHoldRate(const std::vector<std::pair<double, double>>& history, double hold_s);

// Closed-loop correction of the model by the observed attainment. The queueing model assumes
// Poisson arrivals at the observed (1-minute) rate; traffic that comes in bursts of seconds
// (many requests at once, long prompts) misses the targets at loads the model calls safe,
// because each burst stalls every decoding sequence with its prefills. The correction is a
// factor >= 1 on the load the sizing carries: raised multiplicatively when the share of finished
// requests within the SLO falls below the goal, released slowly (exponentially, `release_s`)
// once the SLO is met with margin, held otherwise. While replicas ordered earlier are still
// starting, it is not raised again (their capacity is not in the measurement yet).
struct CorrectionOptions {
  double gain = 10;  // factor step = 1 + gain·(miss share − budget), at most max_step
  double max_step = 2;
  double max_factor = 8;
  double release_s = 1800;    // time constant of releasing the correction once the SLO is met
  int64_t min_requests = 20;  // fewer finished requests in a window: no update
};

class LoadCorrection {
 public:
  explicit LoadCorrection(CorrectionOptions o = {}) : o_(o) {}
  // Resumes a correction at `factor`, last updated at `last_t_s` (< 0: never).
  LoadCorrection(CorrectionOptions o, double factor, double last_t_s)
      : o_(o), factor_(factor >= 1 ? factor : 1), last_t_(last_t_s) {}
  double last_update_s() const { return last_t_; }
  // One observation window ending at t_s (non-decreasing): `finished` requests of which `good`
  // met both targets, against the goal share in (0, 1). `pending` = replicas still starting.
  // Returns the factor to use from now on.
  double Update(double t_s, int64_t finished, int64_t good, double goal, bool pending);
  double factor() const { return factor_; }
  // "load x1.60 (observed 93.1% within SLO over 145 requests, goal 99%)"; empty at factor 1.
  const std::string& explain() const { return explain_; }

 private:
  CorrectionOptions o_;
  double factor_ = 1;
  double last_t_ = -1;
  std::string explain_;
};

// Everything the SLO sizing needs for one model, parallel to ModelInput::variants.
struct SloInput {
  SloTargets targets;
  Workload workload;
  std::vector<std::optional<PerfProfile>> profiles;  // per variant; nullopt = no profile
};

struct VariantSizing {
  bool usable = false;  // has a profile and the SLO is feasible on it
  ReplicaCapacity capacity;
  int target_replicas = 0;  // in the cheapest mix (current when not usable or fixed)
  bool fixed = false;       // held by the saturation decision (no metrics / preserved)
  // Has a valid profile on which the targets cannot be met at any load: it counts no capacity,
  // and its replicas above minReplicas are the first to go when the others carry the load.
  bool unreachable = false;
  std::string note;  // why not usable, or "fixed"
};

struct SloSizing {
  bool ok = false;              // a sizing was computed (targets, workload and a usable variant)
  std::string problem;          // when !ok
  double load = 0;              // req/s to carry: arrival rate + queued / drain_seconds
  double current_capacity = 0;  // of current replicas (pending included: they will serve soon)
  double planned_capacity = 0;
  double current_cost = 0;  // per hour, of the variants the plan covers
  double planned_cost = 0;
  int planned_replicas = 0;
  bool covers_load = false;  // false when even the max replicas cannot carry it
  bool exact = true;         // exact search (false: fell back to greedy, too many variants)
  bool best_effort = false;  // no variant meets the tail targets even without load: sized with
                             // relaxed percentiles (ReplicaCapacity::relaxed)
  std::vector<VariantSizing> variants;  // parallel to ModelInput::variants
  std::string summary;  // "3 x L40S + 1 x H100 = 42.1 req/s for 40.0 req/s, $35.00/h"
};

// Which mixes a sizing may choose from. kFree: any replica counts within min/max (the cheapest
// mix from scratch). kGrowOnly: no variant below its current replicas (the cheapest way to add
// capacity to the fleet as it is). kShrinkOnly: no variant above its current replicas (which
// replicas the fleet can give back). The SLO policy (slo_policy.h) uses the bounded ones so that a
// change of hardware mix happens only when it pays for itself.
enum class MixBounds { kFree, kGrowOnly, kShrinkOnly };

// The cheapest mix of replicas (within min/max and `bounds`) whose summed capacity covers the
// load; among equal costs the one closest to the current replicas. `fixed` (optional, parallel to
// variants) pins a variant at its current replicas. Queued requests in `in.replicas` add to the
// load.
SloSizing SizeForSlo(const ModelInput& in, const SloInput& slo, const std::vector<bool>& fixed = {},
                     MixBounds bounds = MixBounds::kFree);

// Combines the saturation decision with the SLO sizing (issue #8, rule 3): scale up when either
// says so (the SLO plan moves by as many replicas as the load needs); scale down only when the
// saturation rule finds it safe AND the SLO model still covers the load with one replica less.
// Held/preserved variants keep the saturation decision. Drivers: kSlo or kSaturation.
ModelDecision CombineWithSlo(const ModelInput& in, const ModelDecision& saturation,
                             const SloSizing& sizing);

// Decide() + SizeForSlo() + CombineWithSlo() in one call.
struct SloDecision {
  ModelDecision decision;
  ModelDecision saturation;  // what the saturation rule alone decided
  SloSizing sizing;
};
SloDecision DecideWithSlo(const ModelInput& in, const SloInput& slo);

}  // namespace wva::core
