// Stock-outs and GPU budgets in the controller (docs/budgets.md): feeds core::ApplyStockOut and
// core::ApplyGpuBudget after the plan. From the cluster it reads, per variant, the pods Pending
// with PodScheduled=False/Unschedulable for longer than the threshold (default 2 minutes) and
// the GPUs one replica requests (the Deployment's pod template: nvidia.com/gpu, amd.com/gpu,
// gpu.intel.com/i915, habana.ai/gaudi); budgets come from the GPU budget ConfigMap
// (`wva-gpu-budget-config`, flat keys, hot reloaded).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/log.h"
#include "base/mutex.h"
#include "controller/planner.h"
#include "core/config.h"
#include "core/placement.h"

namespace wva::controller {

// Pods Pending unschedulable (PodScheduled False, reason Unschedulable) for at least `threshold`
// at `now`, counted per owning Deployment (`pod_owner`: pod -> Deployment).
std::map<std::string, int> UnschedulableByDeployment(
    const std::vector<PodPtr>& pods, const std::map<std::string, std::string>& pod_owner,
    Clock::WallTime now, std::chrono::seconds threshold);

// The GPU budget ConfigMap: keys `cluster`, `namespace.<namespace>`, `accelerator.<GPU product>`,
// each a whole number of GPUs >= 0. Bad keys or values are errors naming the key.
struct GpuBudgetParse {
  core::GpuBudget budget;
  std::vector<core::ConfigError> errors;
};
GpuBudgetParse ParseGpuBudget(const std::map<std::string, std::string>& data);

// GPUs per product from Nodes (opt-in: GPU_BUDGET_FROM_NODES): the allocatable GPUs of every
// schedulable Node summed by its GPU product label (nvidia.com/gpu.product with nvidia.com/gpu,
// amd.com/gpu.product-name with amd.com/gpu, gpu.intel.com/product with gpu.intel.com/i915,
// habana.ai/product.name with habana.ai/gaudi). Nodes without a product label are not counted.
std::map<std::string, int> GpuInventory(const std::vector<nlohmann::json>& nodes);
// What a Node informer keeps: labels, spec.unschedulable and the GPU allocatable only.
nlohmann::json ProjectNode(nlohmann::json&& node);

class PlacementStep {
 public:
  explicit PlacementStep(const Clock& clock) : clock_(clock) {}

  // Hot reload of the budget ConfigMap; a bad key keeps its last good value. Thread-safe.
  std::vector<core::ConfigError> UpdateBudget(const std::map<std::string, std::string>& data);
  core::GpuBudget budget() const;
  // Per-product budgets from the node inventory: one Node's GpuInventory (empty when the Node
  // is gone or has no GPU); budget() sums them, and a ConfigMap key `accelerator.<product>`
  // wins over the inventory for that product. Returns whether the Node's GPUs changed.
  // Thread-safe (informer thread).
  bool SetNodeGpus(const std::string& node, std::map<std::string, int> gpus_by_product);

  // After this long unschedulable a replica counts as unavailable (default 2m).
  void set_threshold(std::chrono::seconds t) { threshold_ = t; }
  // A variant that had an unschedulable replica gets no new replica for this long (default
  // 5m); then it is tried again (the policy grows the cheapest first).
  void set_backoff(std::chrono::seconds b) { stock_outs_.set_backoff(b.count()); }

  struct Stats {
    int moved_stock_out = 0;
    int unplaced_stock_out = 0;
    core::BudgetResult budget;
  };
  // `pods` by namespace (the namespaces of `in`). Rewrites the outcomes it changes.
  Stats Apply(const CycleInput& in, const std::map<std::string, std::vector<PodPtr>>& pods,
              CycleOutput* out);

 private:
  const Clock& clock_;
  std::chrono::seconds threshold_{120};
  mutable Mutex mu_;
  core::GpuBudget budget_ GUARDED_BY(mu_);
  std::map<std::string, int> last_good_values_ GUARDED_BY(mu_);  // key -> GPUs
  // Node -> product -> GPUs.
  std::map<std::string, std::map<std::string, int>> inventory_ GUARDED_BY(mu_);
  core::StockOutTracker stock_outs_{300};  // by "<ns>/<va>"
  log::Logger log_{"placement"};
};

}  // namespace wva::controller
