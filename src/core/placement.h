// Placement limits applied after the policy's per-model decision (docs/budgets.md): stock-outs
// (replicas of a variant that cannot be scheduled) and GPU budgets (cluster, per namespace, per
// GPU product). Both move a scale-up the cheapest variant cannot take to the next-cheapest
// variant that can, and say which limit bound each decision. Pure: the controller feeds them
// from pods, pod templates and a ConfigMap; `wva simulate` can feed them from a fleet.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/types.h"

namespace wva::core {

// ---- Stock-outs -------------------------------------------------------------------------------

struct VariantPlacement {
  // Replicas Pending with PodScheduled=False/Unschedulable for longer than the threshold.
  int unschedulable = 0;
  // The variant could not place a replica recently (unschedulable now, or within the
  // controller's back-off): it gets no new replica until it is probed again.
  bool stocked_out = false;
};

// Which variants are stocked out, over time: a variant with replicas Pending-unschedulable past
// the threshold (counted by the caller) is stocked out now and for `backoff_s` after it last had
// one; then it is tried again. Keys are the caller's (e.g. "<namespace>/<variant>"); time is
// seconds on any monotonic axis. The controller and `wva simulate` share it.
class StockOutTracker {
 public:
  explicit StockOutTracker(double backoff_s = 300) : backoff_s_(backoff_s) {}
  void set_backoff(double s) { backoff_s_ = s; }
  VariantPlacement Observe(const std::string& key, int unschedulable, double now_s);

 private:
  double backoff_s_;
  std::map<std::string, double> last_seen_;  // key -> last time it had an unschedulable replica
};

struct StockOutResult {
  int moved = 0;     // replicas moved off stocked-out variants onto placeable ones
  int unplaced = 0;  // replicas no placeable variant could take (max reached everywhere)
};

// For each stocked-out variant: its unschedulable replicas are given up (target lowered by that
// much, never below minReplicas), and any growth the decision gave it is withheld; those
// replicas go to the next-cheapest variants (cost, then name) that are not stocked out, up to
// their maxReplicas. `placement` is indexed like `in.variants`. When the cheap variant can
// schedule again the policy grows it first, and the normal scale-down order (most expensive
// first) gives the capacity back.
StockOutResult ApplyStockOut(const ModelInput& in, const std::vector<VariantPlacement>& placement,
                             ModelDecision* d);

// ---- GPU budgets ------------------------------------------------------------------------------

// GPU limits; unset = no limit at that scope.
struct GpuBudget {
  std::optional<int> cluster;
  std::map<std::string, int> per_namespace;
  std::map<std::string, int> per_accelerator;  // by GPU product (the variant's accelerator)
};

// One model's decision and what budgets need to know about it.
struct BudgetedModel {
  const ModelInput* input = nullptr;
  ModelDecision* decision = nullptr;
  std::vector<int> gpus_per_replica;  // per variant (from the pod template's requests), >= 0
  double priority = 1.0;              // >= 0; higher is served first under contention
};

struct BudgetResult {
  int placed = 0;    // replicas of growth granted (possibly on another variant)
  int moved = 0;     // ... of which on a dearer variant than the decision chose
  int withheld = 0;  // replicas of growth no variant could take within the budgets
};

// What a budget leaves each model:
//  1. every variant keeps min(target, current) replicas, raised to its minReplicas (the floor,
//     reserved first even when it alone exceeds a budget): running replicas are never removed
//     for a budget, whatever the priorities;
//  2. the growth the decisions asked for is then granted replica by replica, higher priority
//     first; models of equal priority take one replica each per round (in namespace and model
//     order), so they share what is left evenly; within a model the cheapest variant's growth
//     comes first;
//  3. each replica goes on the variant the decision chose if it fits every budget, else on the
//     next-cheapest variant of the model below its maxReplicas that fits, else it is withheld.
// The decision's reason names the budget that bound (and the model's priority when priorities
// differ).
BudgetResult ApplyGpuBudget(const GpuBudget& budget, std::vector<BudgetedModel>& models);

}  // namespace wva::core
