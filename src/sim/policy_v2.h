// `wva-v2`: the token-based capacity analyzer (upstream WVA's V2, "saturation-token-based",
// core::DecideTokenBased) every controller interval, published like `wva` as desired replicas,
// so `--compare wva,wva-v2` shows V1 against V2 on the same fleet and workload.
//
// It sees what the controller sees: each replica's KV capacity (num_gpu_blocks x block_size, as
// vllm:cache_config_info reports it), the variant's --max-num-batched-tokens/--max-num-seqs, the
// mean prompt/output tokens of the last window, and the compute bounds it observed earlier
// (rolling window of 10, as the controller keeps them). Thresholds: the fleet's saturation
// config with upstream's V2 defaults (scaleUpThreshold 0.85, scaleDownBoundary 0.70); options
// `wva-v2:up=0.85,down=0.7` override them.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "core/capacity.h"
#include "sim/policy.h"

namespace wva::sim {

class WvaV2Policy final : public Policy {
 public:
  WvaV2Policy(std::string spec, double up, double down)
      : spec_(std::move(spec)), up_(up), down_(down) {}
  std::string Name() const override { return spec_; }
  double PeriodSeconds(const FleetConfig& fleet) const override { return fleet.interval_s; }
  void Run(const ControllerView& view, std::vector<Signal>* out) override;
  std::string LastReason() const override { return reason_; }

 private:
  std::string spec_;
  double up_, down_;
  std::string reason_;
  std::vector<core::CapacityMemory> memory_;  // per variant, as the controller keeps it
};

// Parses `wva-v2[:up=X,down=Y]`.
StatusOr<std::unique_ptr<Policy>> MakeWvaV2Policy(std::string_view spec);

}  // namespace wva::sim
