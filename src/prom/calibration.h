// Batched samples for the online performance-profile calibration (issue #8,
// docs/slo-sizing.md §4): per cycle, for every model with SLO sizing on, per pod
//
//   mean ITL        = rate(vllm:inter_token_latency_seconds_sum) / rate(..._count)
//                     (weight: the count rate, tokens/s)      against
//   mean batch      = avg_over_time(vllm:num_requests_running), with
//   mean prompt     = rate(vllm:request_prompt_tokens_sum) / rate(..._count) and
//   mean output     = rate(vllm:request_generation_tokens_sum) / rate(..._count)
//                     (the observed ITL includes prefill stalls; the controller removes the
//                     modelled share, core::ProfileCalibrator::AddObservedItl, which needs both)
//   mean prefill    = rate(vllm:time_to_first_token_seconds_sum) / rate(..._count)
//                   − rate(vllm:request_queue_time_seconds_sum) / rate(..._count)
//                     (weight: the TTFT count rate, requests/s) against
//   mean prompt     = rate(vllm:request_prompt_tokens_sum) / rate(..._count)
//
// Query shape (one query per series, 12 per cycle whatever the number of models and pods):
//   sum by (namespace, model_name, pod) (rate(<series>{namespace=~"..",model_name=~".."}[w]))
//   avg by (namespace, model_name, pod) (avg_over_time(<gauge>{...}[w]))
// `sum by` adds the engines of a data-parallel pod (vLLM's `engine` label), so the ITL mean is
// token-weighted over them; `avg by` gives the mean batch of one engine.
//
// Names: vllm:inter_token_latency_seconds is the current name of the gap between two output
// steps of a request. The older vllm:time_per_output_token_seconds held the same observations;
// vLLM deprecated it in 0.11, hid it in 0.12 and removed it in 0.13, so only the current name is
// queried (a pre-0.11 server gives no ITL samples: configured alpha/beta stay).
//
// The queue-time histogram is observed when a request finishes (vLLM V1), TTFT at the first
// token: both are means over the same window of a steady stream, close enough for a fit.
// Without a queue-time mean (histogram absent, empty or its query failed) the wait is taken as 0
// only when the waiting queue stayed empty over the window (avg of vllm:num_requests_waiting
// <= kIdleQueueThreshold); otherwise the pod gives no prefill sample this cycle: TTFT would
// include an unknown wait. A wait the gauge missed between scrapes only makes the fitted prefill
// slower, the conservative side.
//
// Hygiene: NaN, ±Inf and negative values are dropped by name (as in CollectSaturation); zero
// counts (no tokens / no requests in the window) give no sample, and neither does an ITL mean
// without a prompt mean and an output mean > 1 token (the stalls in it cannot be modelled; no
// guess). A failed query is reported by its series name; the other series still count. Nothing
// here fits: the controller feeds core::ProfileCalibrator with the samples.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prom/collect.h"

namespace wva::prom {

inline constexpr std::string_view kItlHistogram = "vllm:inter_token_latency_seconds";
inline constexpr std::string_view kTtftHistogram = "vllm:time_to_first_token_seconds";
inline constexpr std::string_view kQueueTimeHistogram = "vllm:request_queue_time_seconds";
inline constexpr std::string_view kPromptTokensHistogram = "vllm:request_prompt_tokens";
inline constexpr std::string_view kGenerationTokensHistogram = "vllm:request_generation_tokens";
inline constexpr std::string_view kRunningMetric = "vllm:num_requests_running";
// The waiting queue counts as empty (queue wait 0) below this window average.
inline constexpr double kIdleQueueThreshold = 0.01;

// What Prometheus answered for one pod (nullopt = no series, a dropped value, or a failed query).
struct PodPerfRates {
  std::optional<double> itl_sum, itl_count;        // seconds/s, tokens/s
  std::optional<double> running;                   // mean running sequences
  std::optional<double> ttft_sum, ttft_count;      // seconds/s, requests/s
  std::optional<double> queue_sum, queue_count;    // seconds/s, requests/s
  std::optional<double> waiting;                   // mean waiting requests
  std::optional<double> prompt_sum, prompt_count;  // tokens/s, requests/s
  std::optional<double> gen_sum, gen_count;        // tokens/s, requests/s
};

struct ItlSample {
  double running_batch = 0;
  double itl_ms = 0;         // as observed: decode step plus prefill stalls
  double weight = 0;         // tokens/s behind the mean
  double prompt_tokens = 0;  // mean prompt of the window's finished requests
  double output_tokens = 0;  // mean output of the same (> 1)
};

struct PrefillSample {
  double prompt_tokens = 0;
  double prefill_ms = 0;            // mean TTFT − mean queue wait
  double weight = 0;                // first tokens/s behind the TTFT mean
  bool queue_assumed_zero = false;  // no queue-time mean; the waiting queue was empty
};

struct PodCalibrationSample {
  PodPerfRates rates;
  std::optional<ItlSample> itl;
  std::optional<PrefillSample> prefill;
  std::string itl_skipped;      // why no ITL sample ("" when there is one)
  std::string prefill_skipped;  // why no prefill sample
};

struct ModelCalibrationSamples {
  std::map<std::string, PodCalibrationSample> pods;  // by pod name
  std::vector<DroppedSample> dropped;                // metric = the series name
};

struct CalibrationSnapshot {
  // Every requested model has an entry, possibly with no pods.
  std::map<ModelKey, ModelCalibrationSamples> models;
  std::vector<MetricFailure> failures;  // metric = the series name of the failed query
  int queries = 0;
  int unmanaged_series = 0;
  std::vector<std::string> warnings;
  bool ok() const { return failures.empty(); }
};

// The query text of one series (exposed for tests): `aggregation` "sum" with `range_fn` "rate",
// or "avg" with "avg_over_time".
std::string BatchedPodQuery(std::string_view aggregation, std::string_view range_fn,
                            std::string_view series, const std::vector<std::string>& namespaces,
                            const std::vector<std::string>& models, std::string_view window);

// One pod's samples from its rates (pure; exposed for tests).
void DerivePodSamples(PodCalibrationSample* pod);

// Queries Prometheus once per series for all `models` (those with SLO sizing on). With no
// models, issues no query. Latency and errors are recorded with query_type "calibration".
CalibrationSnapshot CollectCalibration(Querier& querier, const std::vector<ModelKey>& models,
                                       const CollectOptions& options = {});

}  // namespace wva::prom
