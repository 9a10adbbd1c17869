// Batched workload collection for SLO sizing (issue #8): per cycle, one query per series for
// every model that has SLO targets, grouped by (namespace, model_name):
//   sum by (namespace, model_name) (rate(<series>{namespace=~"..",model_name=~".."}[<window>]))
// for vllm:request_success_total, vllm:request_prompt_tokens_{sum,count} and
// vllm:request_generation_tokens_{sum,count}; and the TTFT and ITL histograms by
// (namespace, model_name, le), whose shares within the targets drive the policy's correction.
// Non-finite or negative rates are dropped (the model then has no workload and the controller falls
// back to the saturation rule).
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "prom/collect.h"

namespace wva::prom {

struct ModelRates {
  double success = -1;  // requests/s; -1 = not reported
  double prompt_sum = -1, prompt_count = -1;
  double gen_sum = -1, gen_count = -1;
  // The window's TTFT (per request) and ITL (per token) histograms: cumulative (upper bound in
  // seconds, rate per second) buckets, +Inf last; empty = not reported. The planner reads the
  // attainment at the model's targets from them (core::AttainmentFromHistograms).
  std::vector<std::pair<double, double>> ttft_buckets, itl_buckets;
  bool complete() const {
    return success >= 0 && prompt_sum >= 0 && prompt_count >= 0 && gen_sum >= 0 && gen_count >= 0;
  }
};

struct WorkloadSnapshot {
  std::map<ModelKey, ModelRates> models;
  std::vector<MetricFailure> failures;
  int queries = 0;
  bool ok() const { return failures.empty(); }
};

// The bucket query of one histogram, by (namespace, model_name, le) (exposed for tests).
std::string BatchedBucketQuery(std::string_view histogram,
                               const std::vector<std::string>& namespaces,
                               const std::vector<std::string>& models, std::string_view window);

// The query text for one series (exposed for tests).
std::string BatchedRateQuery(std::string_view series, const std::vector<std::string>& namespaces,
                             const std::vector<std::string>& models, std::string_view window);

// The TTFT and ITL histograms of the models (two more queries); a model whose histogram has an
// unusable bucket or no +Inf bucket gets none this cycle (no attainment, no correction update).
void CollectBuckets(Querier& querier, const std::vector<std::string>& namespaces,
                    const std::vector<std::string>& models, const std::set<ModelKey>& wanted,
                    const CollectOptions& options, WorkloadSnapshot* snap);

WorkloadSnapshot CollectWorkload(Querier& querier, const std::vector<ModelKey>& models,
                                 const CollectOptions& options = {});

}  // namespace wva::prom
