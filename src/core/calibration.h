// Online calibration of a variant's performance profile (issue #8): least-squares fits of
// ITL = alpha + beta·batch from (mean ITL, running batch) observations and of
// prefill = gamma + delta·promptTokens from (TTFT − queue wait, mean prompt tokens), over a
// sliding time window. The ITL vLLM observes includes prefill stalls, which the sizing model
// adds on its own (slo.h): the decode fit removes their modelled share first (AddObservedItl).
// The fitted values replace the configured ones only when the fit is good (enough samples,
// enough spread in x, R² high, non-negative coefficients); then they are taken one standard
// error on the slow side, so an uncertain fit errs towards more replicas.
// Also: the workload (arrival rate, token means and spreads) from Prometheus rates and
// histograms. Pure: the caller supplies timestamps; no clocks.
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "core/slo.h"

namespace wva::core {

struct FitOptions {
  double window_s = 1800;  // samples older than newest − window are forgotten
  int max_samples = 720;   // and at most this many are kept (oldest dropped first)
  int min_samples = 10;
  double min_r2 = 0.7;
  double min_x_spread = 0;       // (max x − min x) required; 0 = any spread > 0
  double conservative_se = 1.0;  // fitted values are moved this many standard errors slower
};

struct LinearFit {
  bool good = false;  // usable by the rules above
  int samples = 0;
  double intercept = 0, slope = 0;
  double se_intercept = 0, se_slope = 0;
  double r2 = 0;
  double x_min = 0, x_max = 0;
  int excluded = 0;  // samples left out by the fit's adjustment (WindowedLinearFit::Fit)
  std::string why;   // when !good: what is missing
};

// What a sample's window saw besides x and y, for an adjustment at fit time (the ITL fit: the
// mean prompt and output lengths behind the prefill stalls in it; output 0 = no stalls in y).
struct SampleContext {
  double prompt_tokens = 0;
  double output_tokens = 0;
};

// y = intercept + slope·x over a sliding window, weighted least squares.
class WindowedLinearFit {
 public:
  explicit WindowedLinearFit(FitOptions o = {}) : o_(o) {}
  // Adds an observation at time t_s (seconds on any axis; non-decreasing). Non-finite values and
  // non-positive weights are ignored (and counted).
  void Add(double t_s, double x, double y, double weight = 1, SampleContext context = {});
  // Forgets samples older than now_s − window even when no new sample arrives (an idle model's
  // old fit must age out as it would with traffic). Earlier times than the newest sample are
  // harmless: nothing newer than now_s − window is dropped.
  void Expire(double now_s);
  // With `adjust`, fits adjust(x, y, context) instead of y; samples whose adjusted y is not
  // finite or <= 0 are left out (LinearFit::excluded) and the rules below apply to the rest.
  using Adjust = std::function<double(double x, double y, const SampleContext&)>;
  LinearFit Fit(const Adjust& adjust = {}) const;
  int size() const { return static_cast<int>(s_.size()); }
  int ignored() const { return ignored_; }

 private:
  struct Sample {
    double t, x, y, w;
    SampleContext c;
  };
  FitOptions o_;
  std::deque<Sample> s_;
  int ignored_ = 0;
};

struct Calibration {
  PerfProfile profile;         // what the sizing should use
  LinearFit decode, prefill;   // alpha/beta and gamma/delta fits
  bool decode_fitted = false;  // alpha/beta come from the fit
  bool prefill_fitted = false;
  std::string explain;  // "alpha/beta fitted (n=40, R²=0.98); gamma/delta configured (...)"
};

class ProfileCalibrator {
 public:
  explicit ProfileCalibrator(FitOptions o = {}) : decode_(o), prefill_(o), o_(o) {}
  // One observation window (e.g. one controller cycle) of one replica: mean decode step time
  // while `running` sequences were in the batch, without prefill stalls (e.g. a benchmark with
  // no concurrent prefill). Weight = tokens behind the mean (1 when unknown).
  void AddItl(double t_s, double running_batch, double step_ms, double weight = 1) {
    decode_.Add(t_s, running_batch, step_ms, weight);
  }
  // The same window's mean ITL as vLLM observes it (vllm:inter_token_latency_seconds): the step
  // plus each sequence's share of the prefill stalls, ITL_eff(n) = step(n) + n·Wp/(O−1) with
  // Wp = PrefillMs at the window's mean prompt length and O its mean output length (slo.h). The
  // sizing adds the stalls on its own, so Calibrate fits step(n) = itl − n·Wp/(O−1) with the
  // prefill coefficients of that moment. Not added (counted as ignored; returns false) when the
  // output length is <= 1 (no decode steps to spread the stalls over) or an input is unusable.
  bool AddObservedItl(double t_s, double running_batch, double itl_ms, double prompt_tokens,
                      double output_tokens, double weight = 1);
  // Mean TTFT minus mean queue wait against the mean prompt length of the same window.
  void AddPrefill(double t_s, double prompt_tokens, double prefill_ms, double weight = 1) {
    prefill_.Add(t_s, prompt_tokens, prefill_ms, weight);
  }
  // Ages both fits to now_s (see WindowedLinearFit::Expire).
  void Expire(double now_s) {
    decode_.Expire(now_s);
    prefill_.Expire(now_s);
  }
  int decode_samples() const { return decode_.size(); }
  int prefill_samples() const { return prefill_.size(); }
  // ITL observations not added (unusable values or output lengths).
  int decode_ignored() const { return decode_.ignored() + itl_ignored_; }
  // The profile the sizing should use. The prefill fit comes first: the stalls are removed from
  // observed ITL samples with `configured`'s chunking and gamma/delta, or the fitted gamma/delta
  // (point estimates) when that fit is good; samples with no step left (<= 0) are left out.
  Calibration Calibrate(const PerfProfile& configured) const;

 private:
  WindowedLinearFit decode_, prefill_;
  FitOptions o_;
  int itl_ignored_ = 0;
};

// Cumulative histogram bucket (Prometheus `le` upper bound, count of observations <= le).
struct Bucket {
  double le = 0;
  double count = 0;
};
// Mean and standard deviation from bucket counts (midpoints; the +Inf bucket uses its lower
// bound times 1.5). `sum` and `count` (the _sum/_count series), when > 0, fix the mean exactly.
TokenStats StatsFromHistogram(const std::vector<Bucket>& buckets, double sum = 0, double count = 0);

// The workload from Prometheus rates over the same window:
//   arrival  = rate(vllm:request_success_total)
//   prompt   = rate(vllm:request_prompt_tokens_sum) / rate(..._count)   (same for generation)
// Spreads come from the histograms when given, else `default_cv` × mean (conservative: 1.0).
StatusOr<Workload> WorkloadFromRates(double success_rate, double prompt_sum_rate,
                                     double prompt_count_rate, double gen_sum_rate,
                                     double gen_count_rate, double default_cv = 1.0);

}  // namespace wva::core
