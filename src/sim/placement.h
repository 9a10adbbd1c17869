// Placement in `wva simulate` (docs/budgets.md): the GPU budget WVA respects (as the controller's
// `wva-gpu-budget-config`) and stock-outs (windows in which a variant's new replicas cannot be
// scheduled). The simulator applies the controller's own rules, core::ApplyStockOut and
// core::ApplyGpuBudget with core::StockOutTracker, to what the `wva` policies decide; the
// stock-outs themselves are cluster physics and hold for every policy.
//
// Fleet YAML:
//   budgets:
//     cluster: 8                       # GPUs over all variants
//     accelerators: {H100: 4}          # GPUs per GPU product (the variant profile's accelerator)
//     gpusPerReplica: {llama-8b-h100: 2}   # default 1 per variant
//   stockouts:
//     threshold: 2m                    # Pending this long counts as unschedulable (default 2m)
//     backoff: 5m                      # no new replica on a stocked-out variant (default 5m)
//     windows:
//       - {variant: llama-8b-l40s, from: 10m, until: 40m, available: 2}
// `available` (default 0): how many replicas of the variant can be running or starting during
// the window; replicas beyond it stay Pending until the window ends.
#pragma once

#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "base/status.h"
#include "core/placement.h"

namespace wva::sim {

struct StockOutWindow {
  std::string variant;
  double from_s = 0;
  double until_s = std::numeric_limits<double>::infinity();
  int available = 0;
};

struct FleetPlacement {
  bool has_budget = false;
  core::GpuBudget budget;  // per_accelerator by the variant profile's accelerator
  std::map<std::string, int> gpus_per_replica;  // by variant; default 1
  double threshold_s = 120;
  double backoff_s = 300;
  std::vector<StockOutWindow> stockouts;

  bool active() const { return has_budget || !stockouts.empty(); }
  int GpusPerReplica(const std::string& variant) const;
  // How many replicas of `variant` may be scheduled at `t`; -1 = no limit.
  int Schedulable(const std::string& variant, double t) const;
  // The next window boundary after `t` (+inf when none).
  double NextBoundary(double t) const;
};

// `fail(field path, problem)` builds the error (the fleet parser's, naming the file).
using FailFn = std::function<Status(const std::string&, const std::string&)>;
Status ParseBudgets(const YAML::Node& n, const FailFn& fail, FleetPlacement* out);
Status ParseStockouts(const YAML::Node& n, const FailFn& fail, FleetPlacement* out);

// Cross-checks against the fleet's variant names (unknown variants are errors).
Status ValidatePlacement(const FleetPlacement& p, const std::vector<std::string>& variants);

}  // namespace wva::sim
