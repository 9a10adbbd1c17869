// Fleet configuration of `wva simulate`: the variants of one model (hardware profile, cost,
// start-up delay, bounds), the router, the controller cadence, the actuator (HPA model or
// direct) and the SLO targets used for scoring. Parsed from YAML (schema in docs/simulator.md)
// or built in (DefaultFleet: a cheap slow L40S variant and an expensive fast H100 variant).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "core/behavior.h"
#include "core/types.h"
#include "sim/placement.h"
#include "sim/replica.h"

namespace wva::sim {

struct VariantConfig {
  std::string name;
  PerfProfile profile;
  std::string accelerator;  // e.g. "H100": the built-in profile's, or the profile's `accelerator`
  double cost = 1.0;        // $ per replica-hour
  double startup_min_s = 120;  // start-up delay drawn uniformly from [min, max] per replica
  double startup_max_s = 420;
  int min_replicas = 1;
  std::optional<int> max_replicas;
  int initial_replicas = 1;  // ready at t = 0
};

// least-loaded / round-robin pin each request to a replica when it arrives (it waits in that
// replica's engine queue). flow-control holds requests at the gateway and dispatches each, in
// arrival order, to the least-loaded ready replica with room (Replica::HasRoomFor), as llm-d's
// EPP flow control does.
enum class RouterKind { kLeastLoaded, kRoundRobin, kFlowControl };

// autoscaling/v2 rule types live in core (core/behavior.h): the controller's direct actuator
// and this HPA model share them.
using core::HpaPolicyType;
using core::HpaRules;
using core::HpaScalingPolicy;
using core::SelectPolicy;
// autoscaling/v2 behaviour; defaults are Kubernetes' (pkg/apis/autoscaling/v2/defaults.go).
struct HpaConfig {
  double tolerance = 0.1;
  double sync_s = 15;
  HpaRules scale_up{
      0, SelectPolicy::kMax, {{HpaPolicyType::kPercent, 100, 15}, {HpaPolicyType::kPods, 4, 15}}};
  HpaRules scale_down{300, SelectPolicy::kMax, {{HpaPolicyType::kPercent, 100, 15}}};
};

enum class ActuatorKind { kHpa, kDirect };

struct SloConfig {
  double ttft_ms = 2000;
  double itl_ms = 80;
  double percentile = 0.90;  // the SLO is met when attainment >= percentile
};

struct FleetConfig {
  std::string model_id = "meta/llama-3.1-8b";
  std::string namespace_ = "default";
  std::vector<VariantConfig> variants;
  RouterKind router = RouterKind::kLeastLoaded;
  double interval_s = 60;  // controller cycle
  double scrape_s = 15;    // Prometheus scrape interval
  double window_s = 60;    // max_over_time window
  ActuatorKind actuator = ActuatorKind::kHpa;
  HpaConfig hpa;
  core::SaturationConfig saturation;
  SloConfig slo;
  // GPU budgets and stock-outs (sim/placement.h, docs/budgets.md).
  FleetPlacement placement;

  // -1 when unknown.
  int VariantIndex(const std::string& name) const;
};

// Two variants of Llama-3.1-8B: "llama-8b-l40s" (l40s-48gb, $1.80/h, 1..8, 1 initial) and
// "llama-8b-h100" ($4.50/h, 0..4, 0 initial); HPA actuator with Kubernetes defaults.
FleetConfig DefaultFleet();

// Parses a fleet YAML document. Errors are InvalidArgument "<path>: <field.path>: <problem>".
StatusOr<FleetConfig> ParseFleetYaml(const std::string& yaml, const std::string& path);
StatusOr<FleetConfig> LoadFleetFile(const std::string& path);

Status ValidateFleet(const FleetConfig& f);

}  // namespace wva::sim
