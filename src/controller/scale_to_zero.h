// Scale to zero in the controller (docs/scale-to-zero.md): the scale-to-zero ConfigMap cache
// (upstream's `wva-model-scale-to-zero-config`, hot reloaded, last good entry kept), the batched
// request-count queries, and the step that applies core::ApplyScaleToZero to each model after
// the policy's decision (PlanCycle) and rewrites the model's VA outcomes.
//
// Per cycle, only for the models that are eligible (enabled, every variant minReplicas 0), two
// queries per distinct retention period:
//   sum by (namespace, model_name) (increase(vllm:request_success_total{...}[<retention>]))
//   max by (namespace, model_name) (timestamp(vllm:request_success_total{...}))
// The second one says how fresh the counter is: a model whose newest sample is older than the
// freshness bound has stale data, which never zeroes it.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/log.h"
#include "base/mutex.h"
#include "controller/planner.h"
#include "core/scale_to_zero.h"
#include "prom/metrics.h"
#include "prom/querier.h"

namespace wva::controller {

class ScaleToZeroConfigCache {
 public:
  struct UpdateResult {
    std::vector<core::ConfigError> errors;
    std::vector<core::ConfigError> warnings;
    std::string log_line;  // "Scale-to-zero config cache updated entries=<n>"
    bool changed = false;
  };
  UpdateResult Update(const std::map<std::string, std::string>& data);
  std::shared_ptr<const core::ScaleToZeroConfigSet> Get() const;

 private:
  mutable Mutex mu_;
  std::shared_ptr<const core::ScaleToZeroConfigSet> current_ GUARDED_BY(mu_) =
      std::make_shared<core::ScaleToZeroConfigSet>();
};

// The request-count query texts (exposed for tests).
std::string RequestIncreaseQuery(const std::vector<std::string>& namespaces,
                                 const std::vector<std::string>& models,
                                 std::chrono::seconds retention);
std::string RequestFreshnessQuery(const std::vector<std::string>& namespaces,
                                  const std::vector<std::string>& models);

class ZeroScaler {
 public:
  ZeroScaler(prom::Querier& querier, const Clock& clock, prom::WvaMetrics* metrics = nullptr)
      : querier_(querier), clock_(clock), metrics_(metrics) {}

  ScaleToZeroConfigCache& config() { return config_; }
  // WVA_SCALE_TO_ZERO: whether models without any entry may scale to zero (default false).
  void set_default_enabled(bool on) { default_enabled_ = on; }
  // A counter whose newest sample is older than this is stale (default 2m).
  void set_max_sample_age(std::chrono::seconds age) { max_sample_age_ = age; }

  // The scale-from-zero loop woke this model: it is not zeroed again within its retention
  // period. Thread-safe.
  void NoteWoken(const std::string& ns, const std::string& model);

  struct ModelNote {
    std::string ns;
    std::string model;
    core::ScaleToZeroResult result;
    core::RequestCount requests;
  };
  struct Stats {
    int queries = 0;
    int zeroed = 0;                   // models whose targets the rule set to 0 this cycle
    int kept_one = 0;                 // models raised to one replica of their cheapest variant
    std::vector<ModelNote> eligible;  // every eligible model, with what kept it up
  };

  // Applies the rule to every model of `out` (PlanCycle's output for `in`). Not thread-safe:
  // one reconcile worker calls it.
  Stats Apply(const CycleInput& in, CycleOutput* out);

 private:
  struct Counts {
    std::map<prom::ModelKey, core::RequestCount> by_model;
    int queries = 0;
  };
  Counts Query(const std::map<std::chrono::seconds, std::vector<prom::ModelKey>>& groups);
  std::optional<double> SecondsSinceWoken(const prom::ModelKey& key, int total_current);

  prom::Querier& querier_;
  const Clock& clock_;
  prom::WvaMetrics* metrics_;
  ScaleToZeroConfigCache config_;
  bool default_enabled_ = false;
  std::chrono::seconds max_sample_age_{120};
  Mutex woken_mu_;
  std::map<prom::ModelKey, Clock::SteadyTime> woken_ GUARDED_BY(woken_mu_);
  std::map<prom::ModelKey, int> last_total_current_ GUARDED_BY(woken_mu_);
  log::Logger log_{"scale-to-zero"};
};

// Rewrites the outcomes of the VAs of `m` after a rule changed `m.decision` (targets, published
// value, status, the scaling event). `index` maps (namespace, VA name) to positions in `out.vas`.
void RewriteOutcomes(const CycleInput& in, const ModelOutcome& m,
                     const std::map<std::pair<std::string, std::string>, size_t>& index,
                     CycleOutput* out);

}  // namespace wva::controller
