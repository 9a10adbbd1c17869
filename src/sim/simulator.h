// The discrete-event fleet simulation: a workload routed over replicas of each variant, the
// scrape + controller loop calling the policy (for `wva` that is core::Decide, the production
// decision code), the actuator changing Deployments, and the scoring.
//
// Time advances from event to event (arrival, scrape, controller run, HPA sync, replica ready);
// between events every replica engine runs its own steps (replica.h). Nothing reads the wall
// clock except to fill wall_seconds. Same fleet + workload + policy + seed => same Result.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "sim/fleet.h"
#include "sim/policy.h"
#include "sim/workload.h"

namespace wva::sim {

// One row of timeseries.csv (one per scrape interval).
struct Row {
  double t_s = 0;
  double arrival_rps = 0;
  int64_t completed = 0;    // in this interval
  int64_t within_slo = 0;   // of those, meeting both SLO targets
  double ttft_p99_ms = -1;  // of requests completed in this interval (-1 = none)
  double kv_avg = 0;        // mean over serving replicas
  double kv_max = 0;
  int64_t waiting = 0;  // queued in engines + at the gateway
  int64_t running = 0;
  double cost_usd = 0;        // cumulative
  std::vector<int> ready;     // per variant
  std::vector<int> starting;  // per variant
  std::vector<int> desired;   // per variant (last published; 0 = none)
};

struct VariantResult {
  std::string name;
  double avg_replicas = 0;
  int max_replicas = 0;
  double replica_hours = 0;
  int max_starting = 0;  // most replicas starting at once
};

struct Result {
  std::string policy;
  std::string workload;
  int64_t requests = 0;
  int64_t completed = 0;
  int64_t rejected = 0;     // could never fit a replica (too long)
  int64_t unfinished = 0;   // still queued when the simulation was cut off
  int64_t preempted = 0;    // requests preempted at least once
  int64_t preemptions = 0;  // preemption events
  double slo_ttft_ms = 0, slo_itl_ms = 0, slo_percentile = 0;
  double attainment = 0;  // share of requests with TTFT <= slo.ttft and ITL <= slo.itl
  double ttft_p50 = 0, ttft_p90 = 0, ttft_p99 = 0;
  double itl_p50 = 0, itl_p90 = 0, itl_p99 = 0;  // per-request mean ITL (TPOT), ms
  double cost_usd = 0;
  double replica_hours = 0;
  std::vector<VariantResult> variants;
  int64_t scaling_actions = 0;  // changes of a Deployment's replica count
  double sim_seconds = 0;
  double wall_seconds = 0;
  std::vector<Row> rows;
  std::vector<std::string> variant_names;
  // What the policy decided and why, one entry per controller run that changed a target.
  struct Decision {
    double t_s = 0;
    std::string reason;
  };
  std::vector<Decision> decisions;
};

struct RunOptions {
  uint64_t seed = 1;
  // Called now and then with (simulated seconds, requests so far, workload progress 0..1).
  std::function<void(double, int64_t, double)> progress;
  // A run stops this long after the last arrival even if requests are still queued.
  double drain_limit_s = 6 * 3600;
};

StatusOr<Result> Simulate(const FleetConfig& fleet, Workload& workload, Policy& policy,
                          const RunOptions& options);

}  // namespace wva::sim
