// One optimization cycle as a pure function: VariantAutoscalings, their Deployments, pod
// attribution and the batched Prometheus snapshot in; per-VA status, published values, scaling
// events out. The reconciler does the I/O around it; tests drive it with plain data.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "controller/deployment.h"
#include "controller/va.h"
#include "core/calibration.h"
#include "core/capacity.h"
#include "core/config.h"
#include "core/slo.h"
#include "core/slo_config.h"
#include "core/slo_policy.h"
#include "core/types.h"
#include "prom/collect.h"
#include "prom/kv_capacity.h"
#include "prom/workload.h"

namespace wva::controller {

// One online profile calibration per (namespace, model, accelerator): the replicas of one model
// on one kind of hardware share a performance profile (issue #8).
struct CalibrationKey {
  std::string ns;
  std::string model;
  std::string accelerator;
  auto operator<=>(const CalibrationKey&) const = default;
};
using Calibrators = std::map<CalibrationKey, core::ProfileCalibrator>;

// What the token-based analyzer (V2) learned per variant, kept by the reconciler in memory.
using CapacityMemory = core::CapacityMemory;
using CapacityMemories = std::map<std::string, CapacityMemory>;  // "<ns>/<model>/<variant>"

// One VA as a cycle sees it: the cached object and its spec parsed on arrival (shared with the
// cache, never copied), and what this process knows that the cache may not show yet: the status
// it last wrote and the decision it last published.
struct CycleVa {
  VaPtr cached;                            // never null
  const nlohmann::json* status = nullptr;  // the status as last known (null = none yet)
  // status.desiredOptimizedAlloc.numReplicas as last known (the published decision wins over
  // the cached status): the raw integer, when there is one.
  std::optional<int> desired_field;
  RecordedAlloc recorded;  // the allocation in that status, with the published decision

  const std::string& ns() const { return cached->ns; }
  const std::string& name() const { return cached->name; }
  const nlohmann::json& object() const { return *cached->object; }
  const VaSpec* spec() const { return cached->spec ? &*cached->spec : nullptr; }
  // The last decision (0 = none), where the planner starts from.
  int last_desired() const { return desired_field && *desired_field > 0 ? *desired_field : 0; }
};
// A cycle's view of a cached VA with nothing newer known than its own status; `status`, when
// given, replaces it (must outlive the result).
CycleVa CycleVaOf(VaPtr cached, const nlohmann::json* status = nullptr);
// For tests and tools: objects parsed into a cycle's VAs.
CycleVa CycleVaOf(nlohmann::json object);
std::vector<CycleVa> CycleVasOf(const std::vector<nlohmann::json>& objects);

struct CycleInput {
  std::vector<CycleVa> vas;  // VariantAutoscalings (any namespace)
  // Deployments by namespace/name (as cached, parsed once on arrival).
  std::map<std::string, DeploymentPtr> deployments;
  // Pod -> Deployment attribution by namespace (see AttributePods).
  std::map<std::string, std::map<std::string, std::string>> pod_owner;
  // Per namespace, the pods Ready long enough to have been scraped (SettledReadyPods): one of
  // them without samples is silent, and blocks the model's scale-down (complete-data rule).
  std::map<std::string, std::set<std::string>> settled_ready_pods;
  // Per namespace and pod: seconds since this process last saw a usable sample from the pod. A
  // silent pod with a known age is reported as stale (MetricsStale), with the age.
  std::map<std::string, std::map<std::string, double>> last_sample_age_s;
  // Metrics for this cycle; nullopt or !ok() means Prometheus failed (every variant holds).
  const prom::SaturationSnapshot* metrics = nullptr;
  std::string prometheus_error;  // when metrics failed: why (for conditions and events)
  const core::SaturationConfigSet* config = nullptr;
  // SLO sizing (issue #8): the `wva-slo-config` entries and this cycle's workload rates. A
  // model uses it when its resolved targets are set and its workload is known; otherwise the
  // saturation rule alone decides.
  const core::SloConfigSet* slo_config = nullptr;
  const prom::WorkloadSnapshot* workloads = nullptr;
  // Online calibration (docs/slo-sizing.md §4): when a variant's calibrator has a good fit, its
  // coefficients replace those of the configured profile in the SLO sizing. Null = configured
  // profiles only (calibration off).
  const Calibrators* calibrators = nullptr;
  // Token-based analyzer (V2) inputs for the models whose configuration selects it: KV
  // capacity per pod (vllm:cache_config_info) and what earlier cycles learned. Token means come
  // from `workloads`.
  const prom::KvCapacitySnapshot* kv_capacity = nullptr;
  const CapacityMemories* capacity_memory = nullptr;
  // The per-model decision (core::DecidePolicy): this cycle's time (seconds on the controller's
  // monotonic axis), the cycle interval and metrics window, the policy's options and what it
  // remembered per model from earlier cycles (null = nothing yet).
  double now_s = 0;
  double interval_s = 60;
  double window_s = 60;
  core::PolicyOptions policy_options;
  const std::map<prom::ModelKey, core::PolicyState>* policy_states = nullptr;
};

// Where the profile an SLO sizing used came from, per variant with a configured profile.
struct ProfileUse {
  std::string variant;
  std::string accelerator;
  core::PerfProfile profile;    // what the sizing used
  bool decode_fitted = false;   // alpha/beta from the online fit
  bool prefill_fitted = false;  // gamma/delta from the online fit
  std::string explain;          // Calibration::explain, or "configured (calibration off)"
};

enum class ScalingDirection { kUp, kDown };
// "up" / "down": the direction label of wva_replica_scaling_total and the log field.
const char* ScalingDirectionName(ScalingDirection d);
// "ScaledUp" / "ScaledDown": the reason of the scaling Event.
const char* ScalingEventReason(ScalingDirection d);

struct VaOutcome;
// Records a new scaling decision on `o` (direction, driver, Event message) when `dec`'s target
// differs from both the last published value and the current replicas; clears it otherwise.
void NoteScaling(const core::VariantDecision& dec, int last_published, VaOutcome* o);

struct VaOutcome {
  std::string ns;
  std::string name;
  bool valid = false;
  std::string invalid_reason;
  std::optional<core::VariantDecision> decision;
  std::string accelerator;
  std::string variant_cost;
  double cost = 0;
  int current_replicas = 0;
  std::optional<int> publish_desired;  // value for wva_desired_replicas (nullopt = none)
  DesiredStatus status;
  // Set when this cycle made a new scaling decision (target differs from the last published
  // value and from current): an Event and wva_replica_scaling_total.
  std::optional<ScalingDirection> scaling_direction;
  core::Driver scaling_driver = core::Driver::kSteady;  // what made the decision
  std::string event_message;
};

struct ModelOutcome {
  std::string ns;
  std::string model_id;
  core::ModelInput input;
  core::ModelDecision decision;
  std::optional<core::SloSizing> sizing;  // when SLO sizing took part
  std::string slo_note;                   // why it did not, when targets are set
  std::vector<ProfileUse> profiles;       // when SLO sizing ran: fitted or configured, per variant
};

struct CycleOutput {
  std::vector<VaOutcome> vas;  // one per input VA, same order
  std::vector<ModelOutcome> models;
  bool metrics_ok = true;
  int unattributed_pods = 0;  // pods reporting metrics that map to no managed Deployment
  // The policy state of every model decided this cycle, updated (the reconciler keeps it).
  std::map<prom::ModelKey, core::PolicyState> policy_states;
};

// The (namespace, modelID) pairs the cycle needs metrics for (valid VAs only).
std::vector<prom::ModelKey> ManagedModels(const std::vector<CycleVa>& vas);

// The models whose resolved SLO targets are set (they need workload rates this cycle).
std::vector<prom::ModelKey> ModelsWithSlo(const std::vector<CycleVa>& vas,
                                          const core::SloConfigSet* slo_config);

CycleOutput PlanCycle(const CycleInput& in);

// The engine's observation of one model this cycle (members: its valid VAs ordered by name;
// mo->input already assembled): SLO targets, profiles (recorded in mo->profiles) and traffic.
core::Observation ObservationOf(const CycleInput& in, const prom::ModelKey& key,
                                const std::vector<const VaSpec*>& members, ModelOutcome* mo);

// Decides one model through core::DecidePolicy with its remembered state; fills mo's decision,
// sizing and notes and stores the updated state in `states`.
void DecideModelOf(const CycleInput& in, const prom::ModelKey& key,
                   const std::vector<const VaSpec*>& members, ModelOutcome* mo,
                   std::map<prom::ModelKey, core::PolicyState>* states);

// Folds this cycle's token-based analyses into `memory` (observed k2, per-replica capacity).
void RememberCapacity(const CycleOutput& out, CapacityMemories* memory);

// The (namespace, modelID) pairs whose resolved configuration selects the token-based analyzer.
std::vector<prom::ModelKey> TokenBasedModels(const std::vector<prom::ModelKey>& managed,
                                             const core::SaturationConfigSet* config);

// Per namespace and Deployment, the settled Ready pods (CycleInput::settled_ready_pods through
// pod_owner). Built once per cycle, so that each model reads only its members' pods: a scan of
// the namespace's pods per model is quadratic (10,000 VAs in one namespace: 2,500 models x
// 80,000 pods per cycle).
using SettledPodsByDeployment =
    std::map<std::string, std::map<std::string, std::vector<const std::string*>>>;
SettledPodsByDeployment SettledByDeployment(const CycleInput& in);

// The engine's per-pod samples of one model: every pod reporting metrics (attributed to a member
// Deployment through `variant_of_deploy`; the rest counted in `unattributed`), and every settled
// Ready pod of a member Deployment without samples, as a silent entry (complete-data rule), in
// pod-name order. core::AssembleModelInput turns them and the variants into the engine's input.
std::vector<core::ReplicaSample> SamplesOf(const CycleInput& in, const prom::ModelKey& key,
                                           const prom::ModelSaturation* ms,
                                           const std::map<std::string, int>& variant_of_deploy,
                                           const SettledPodsByDeployment& settled,
                                           int* unattributed);

// "fitted", "configured", or "alpha/beta fitted, gamma/delta configured" (and the reverse).
std::string ProfileSourceText(const ProfileUse& p);

}  // namespace wva::controller
