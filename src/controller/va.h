// The VariantAutoscaling resource as the controller reads and writes it (docs/reference.md): spec
// validation, accelerator resolution, pod -> Deployment attribution, and the status object with
// standard conditions. Pure functions over JSON objects as the API server returns them.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/status.h"
#include "controller/pod.h"
#include "core/slo.h"
#include "core/slo_config.h"

namespace wva::controller {

inline constexpr const char* kGroup = "llmd.ai";
inline constexpr const char* kVersion = "v1alpha1";
inline constexpr const char* kApiVersion = "llmd.ai/v1alpha1";
inline constexpr const char* kKind = "VariantAutoscaling";
inline constexpr const char* kPlural = "variantautoscalings";
inline constexpr const char* kForceReconcileAnnotation = "wva.llmd.ai/force-reconcile";
inline constexpr const char* kAcceleratorLabel = "inference.optimization/acceleratorName";
inline constexpr const char* kGpuProductSelector = "nvidia.com/gpu.product";

// Condition types and reasons (docs/reference.md).
inline constexpr const char* kCondTargetResolved = "TargetResolved";
inline constexpr const char* kCondMetricsAvailable = "MetricsAvailable";
inline constexpr const char* kCondOptimizationReady = "OptimizationReady";
inline constexpr const char* kCondReady = "Ready";

struct VaSpec {
  std::string ns;
  std::string name;
  int64_t generation = 0;
  std::string target_api_version = "apps/v1";
  std::string target_kind = "Deployment";
  std::string target_name;
  std::string model_id;
  std::string variant_cost = "10.0";  // as written (a decimal string)
  double cost = 10.0;
  std::string accelerator;        // spec.accelerator ("" = not set)
  std::string accelerator_label;  // metadata.labels[inference.optimization/acceleratorName]
  int min_replicas = 1;
  std::optional<int> max_replicas;
  int last_desired = 0;                      // status.desiredOptimizedAlloc.numReplicas (0 = none)
  std::string force_reconcile;               // annotation value
  core::SloTargetsPatch slo;                 // spec.slo (issue #8; empty = none)
  std::optional<core::PerfProfile> profile;  // spec.performanceProfile
};

// Parses and validates a VA object. Invalid objects (the CRD normally rejects them, but the
// controller must not trust that) give InvalidArgument naming the field.
StatusOr<VaSpec> ParseVa(const nlohmann::json& obj);

// A VariantAutoscaling as the controller's caches keep it: the object and its spec, parsed once
// when the object arrives (not once per cycle and consumer). An invalid spec keeps its error,
// which names the field, for the condition.
struct CachedVa {
  std::shared_ptr<const nlohmann::json> object;  // never null; shared with the informer store
  std::string ns;
  std::string name;
  StatusOr<VaSpec> spec;
};
using VaPtr = std::shared_ptr<const CachedVa>;
// An object as an informer cache keeps it: immutable and shared, never copied per cycle.
using ObjectPtr = std::shared_ptr<const nlohmann::json>;
VaPtr CacheVa(std::shared_ptr<const nlohmann::json> object);
VaPtr CacheVa(nlohmann::json object);
std::vector<VaPtr> CacheVas(const std::vector<nlohmann::json>& objects);

// The allocation recorded in a VA's status by the last valid decision. Read straight from the
// object, so it is available even when the spec no longer validates (an invalid VA keeps
// publishing its last valid desired replicas; no replica is removed on bad input).
struct RecordedAlloc {
  int desired = 0;          // status.desiredOptimizedAlloc.numReplicas (0 = none)
  int current = 0;          // status.currentAlloc.numReplicas
  std::string accelerator;  // desiredOptimizedAlloc.accelerator, else currentAlloc.accelerator
};
RecordedAlloc RecordedAllocOf(const nlohmann::json& obj);
// The same from the status object itself (null = no status).
RecordedAlloc RecordedAllocOfStatus(const nlohmann::json* status);

// Documented order (docs/reference.md): spec.accelerator, the VA label, the target's pod-template
// nodeSelector nvidia.com/gpu.product, else "unknown". `deployment` may be null (target missing).
struct TargetDeployment;  // controller/deployment.h
std::string ResolveAccelerator(const VaSpec& va, const TargetDeployment* deployment);

struct Condition {
  std::string type;
  bool status = false;  // True/False
  std::string reason;
  std::string message;
};

// The status this controller wants on a VA. `previous` is the object's current status (may be
// null) so lastTransitionTime and lastRunTime only move when something really changed.
struct DesiredStatus {
  int current_replicas = 0;
  std::string accelerator;
  int desired_replicas = 0;
  bool applied = false;
  std::vector<Condition> conditions;
  int64_t observed_generation = 0;
};

nlohmann::json BuildStatus(const DesiredStatus& d, const nlohmann::json& previous,
                           Clock::WallTime now);

// True when `desired` differs from `previous` in anything we own (skip no-op writes).
bool StatusChanged(const nlohmann::json& previous, const nlohmann::json& desired);

}  // namespace wva::controller
