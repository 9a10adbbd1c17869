// Hindsight references for the decision bench: the cheapest static fleet that meets the SLO on
// a workload (`--search-static`) and the clairvoyant oracle (`--policy oracle`). Both replay the
// workload many times, so they take a factory that reopens it from the start.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "sim/fleet.h"
#include "sim/policy.h"
#include "sim/simulator.h"
#include "sim/workload.h"

namespace wva::sim {

using WorkloadFactory = std::function<StatusOr<std::unique_ptr<Workload>>()>;

// Variants without maxReplicas are searched up to this many replicas.
inline constexpr int kSearchMaxReplicas = 16;

// Every replica-count vector within each variant's [minReplicas, maxReplicas] (all-zero only
// when `allow_empty`), cheapest $/h first; ties: fewer replicas, then fleet order.
std::vector<std::vector<int>> CountsByPrice(const FleetConfig& fleet, bool allow_empty);

// "static:<variant>=<n>,..." for a count vector (zero counts omitted).
std::string StaticSpec(const FleetConfig& fleet, const std::vector<int>& counts);

struct StaticSearchResult {
  bool found = false;  // some fleet reached slo.percentile
  std::string spec;    // the cheapest that did, or else the one with the best attainment
  std::vector<int> counts;
  double usd_per_hour = 0;
  int tried = 0;  // simulations run
  Result result;  // of `spec`
};

// Simulates static fleets in price order (not by bisection: attainment is not monotone in the
// replica count, e.g. a slow variant added to a fast one can make long prompts miss) and stops
// at the first that reaches the fleet's SLO target.
StatusOr<StaticSearchResult> SearchStatic(const FleetConfig& fleet, const WorkloadFactory& open,
                                          const RunOptions& options);

// JSON record of a search (best_static.json).
std::string StaticSearchJson(const StaticSearchResult& s, const FleetConfig& fleet);

// The oracle's traffic per planning slot (one controller interval), read from the whole
// workload ahead of time.
struct SlotLoad {
  int64_t requests = 0;
  double prompt_tokens = 0;  // sums
  double output_tokens = 0;
};

// Engine seconds one request of the given mean lengths costs a replica of `p` (prefill at
// delta per token plus its share of gamma per budget; decode at beta per token plus alpha shared
// by the batch the ITL target and the KV cache allow).
double RequestWorkSeconds(const PerfProfile& p, double prompt, double output, double itl_ms);

// A replica plan per slot: for each slot the cheapest count vector (CountsByPrice) whose
// capacity, util / RequestWorkSeconds requests/s per replica, covers the slot's arrival rate.
std::vector<std::vector<int>> PlanSlots(const FleetConfig& fleet,
                                        const std::vector<SlotLoad>& slots, double slot_s,
                                        double util);

// `oracle`: follows a plan, ordering each variant's replicas its worst-case start-up delay (plus
// one interval) ahead of the slot that needs them and releasing them when no slot within that
// look-ahead does. Direct actuation. Like a static fleet it is provisioned before the trace
// starts: at t = 0 each variant has what the plan needs within its look-ahead, ready. A
// yardstick, not a production policy.
class OraclePolicy final : public Policy {
 public:
  OraclePolicy(std::vector<std::vector<int>> plan, double slot_s, double util)
      : plan_(std::move(plan)), slot_s_(slot_s), util_(util) {}
  std::string Name() const override { return "oracle"; }
  double PeriodSeconds(const FleetConfig& fleet) const override { return fleet.interval_s; }
  ActuatorKind Actuation(const FleetConfig&) const override { return ActuatorKind::kDirect; }
  bool ExplainsDecisions() const override { return true; }
  std::optional<std::vector<int>> InitialReplicas(const FleetConfig& fleet) const override;
  void Run(const ControllerView& view, std::vector<Signal>* out) override;
  std::string LastReason() const override { return reason_; }
  double util() const { return util_; }

 private:
  // What the plan needs for variant `v` from `now` to `now` + its look-ahead, within min/max.
  int Need(const FleetConfig& fleet, size_t v, double now) const;

  std::vector<std::vector<int>> plan_;
  double slot_s_;
  double util_;
  std::string reason_;
};

// Reads the workload ahead, then simulates plans at utilisation targets from 1.2 down to 0.2
// and the best static fleet (SearchStatic) as a constant plan, and keeps the cheapest that meets
// the SLO target (or, when none does, the best attainment).
StatusOr<std::unique_ptr<OraclePolicy>> MakeOracle(const FleetConfig& fleet,
                                                   const WorkloadFactory& open,
                                                   const RunOptions& options);

}  // namespace wva::sim
