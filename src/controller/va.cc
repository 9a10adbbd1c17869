#include "controller/va.h"

#include <cstdio>
#include <ctime>
#include <regex>

#include <fmt/format.h>

#include "controller/deployment.h"
#include "controller/json_path.h"

namespace wva::controller {
namespace {}  // namespace

StatusOr<VaSpec> ParseVa(const nlohmann::json& obj) {
  VaSpec va;
  va.ns = JsonStr(JsonAt(obj, {"metadata", "namespace"}));
  va.name = JsonStr(JsonAt(obj, {"metadata", "name"}));
  if (va.name.empty()) {
    return Err(InvalidArgumentError("metadata.name: missing"));
  }
  const nlohmann::json& gen = JsonAt(obj, {"metadata", "generation"});
  if (gen.is_number_integer()) {
    va.generation = gen.get<int64_t>();
  }
  va.force_reconcile = JsonStr(JsonAt(obj, {"metadata", "annotations", kForceReconcileAnnotation}));
  va.accelerator_label = JsonStr(JsonAt(obj, {"metadata", "labels", kAcceleratorLabel}));

  const nlohmann::json& spec = JsonAt(obj, {"spec"});
  if (!spec.is_object()) {
    return Err(InvalidArgumentError("spec: missing"));
  }
  const nlohmann::json& ref = JsonAt(spec, {"scaleTargetRef"});
  if (!ref.is_object()) {
    return Err(InvalidArgumentError("spec.scaleTargetRef: missing"));
  }
  va.target_name = JsonStr(JsonAt(ref, {"name"}));
  if (va.target_name.empty()) {
    return Err(InvalidArgumentError("spec.scaleTargetRef.name: missing"));
  }
  if (JsonAt(ref, {"kind"}).is_string()) {
    va.target_kind = JsonStr(JsonAt(ref, {"kind"}));
  }
  if (JsonAt(ref, {"apiVersion"}).is_string()) {
    va.target_api_version = JsonStr(JsonAt(ref, {"apiVersion"}));
  }
  if (va.target_kind != "Deployment" || va.target_api_version != "apps/v1") {
    return Err(InvalidArgumentError(
        fmt::format("spec.scaleTargetRef: only apps/v1 Deployment is supported, got {} {}",
                    va.target_api_version, va.target_kind)));
  }
  va.model_id = JsonStr(JsonAt(spec, {"modelID"}));
  if (va.model_id.empty()) {
    return Err(InvalidArgumentError("spec.modelID: missing or empty"));
  }
  const nlohmann::json& cost = JsonAt(spec, {"variantCost"});
  if (!cost.is_null()) {
    if (!cost.is_string()) {
      return Err(InvalidArgumentError("spec.variantCost: must be a string"));
    }
    va.variant_cost = cost.get<std::string>();
  }
  static const std::regex kDecimal(R"(^\d+(\.\d+)?$)");
  if (!std::regex_match(va.variant_cost, kDecimal)) {
    return Err(InvalidArgumentError(
        fmt::format("spec.variantCost: \"{}\" is not a decimal like \"10.0\"", va.variant_cost)));
  }
  va.cost = std::stod(va.variant_cost);
  va.accelerator = JsonStr(JsonAt(spec, {"accelerator"}));
  const nlohmann::json& mn = JsonAt(spec, {"minReplicas"});
  if (!mn.is_null()) {
    if (!mn.is_number_integer() || mn.get<int64_t>() < 0 || mn.get<int64_t>() > 1000000) {
      return Err(InvalidArgumentError("spec.minReplicas: must be an integer >= 0"));
    }
    va.min_replicas = mn.get<int>();
  }
  const nlohmann::json& mx = JsonAt(spec, {"maxReplicas"});
  if (!mx.is_null()) {
    if (!mx.is_number_integer() || mx.get<int64_t>() < 1 || mx.get<int64_t>() > 1000000) {
      return Err(InvalidArgumentError("spec.maxReplicas: must be an integer >= 1"));
    }
    va.max_replicas = mx.get<int>();
    if (*va.max_replicas < va.min_replicas) {
      return Err(
          InvalidArgumentError(fmt::format("spec.minReplicas ({}) must be <= spec.maxReplicas ({})",
                                           va.min_replicas, *va.max_replicas)));
    }
  }
  // Optional SLO sizing fields (issue #8). JSON is YAML, so the core parsers read them as is.
  if (const nlohmann::json& slo = JsonAt(spec, {"slo"}); !slo.is_null()) {
    auto t = core::ParseSloTargets(slo.dump());
    if (!t) {
      return Err(InvalidArgumentError("spec.slo." + t.error().message()));
    }
    va.slo = *t;
  }
  if (const nlohmann::json& pp = JsonAt(spec, {"performanceProfile"}); !pp.is_null()) {
    auto p = core::ParsePerfProfile(pp.dump());
    if (!p) {
      return Err(InvalidArgumentError("spec.performanceProfile." + p.error().message()));
    }
    va.profile = *p;
  }
  const nlohmann::json& last = JsonAt(obj, {"status", "desiredOptimizedAlloc", "numReplicas"});
  if (last.is_number_integer() && last.get<int64_t>() > 0) {
    va.last_desired = last.get<int>();
  }
  return va;
}

VaPtr CacheVa(std::shared_ptr<const nlohmann::json> object) {
  auto va = std::make_shared<CachedVa>(
      CachedVa{object, JsonStr(JsonAt(*object, {"metadata", "namespace"})),
               JsonStr(JsonAt(*object, {"metadata", "name"})), ParseVa(*object)});
  return va;
}

VaPtr CacheVa(nlohmann::json object) {
  return CacheVa(std::make_shared<const nlohmann::json>(std::move(object)));
}

std::vector<VaPtr> CacheVas(const std::vector<nlohmann::json>& objects) {
  std::vector<VaPtr> out;
  out.reserve(objects.size());
  for (const nlohmann::json& o : objects) {
    out.push_back(CacheVa(o));
  }
  return out;
}

RecordedAlloc RecordedAllocOf(const nlohmann::json& obj) {
  const nlohmann::json& status = JsonAt(obj, {"status"});
  return RecordedAllocOfStatus(status.is_null() ? nullptr : &status);
}

RecordedAlloc RecordedAllocOfStatus(const nlohmann::json* status) {
  RecordedAlloc r;
  if (status == nullptr) {
    return r;
  }
  const nlohmann::json& desired = JsonAt(*status, {"desiredOptimizedAlloc", "numReplicas"});
  if (desired.is_number_integer() && desired.get<int64_t>() > 0 &&
      desired.get<int64_t>() <= 1000000) {
    r.desired = desired.get<int>();
  }
  const nlohmann::json& current = JsonAt(*status, {"currentAlloc", "numReplicas"});
  if (current.is_number_integer() && current.get<int64_t>() >= 0 &&
      current.get<int64_t>() <= 1000000) {
    r.current = current.get<int>();
  }
  r.accelerator = JsonStr(JsonAt(*status, {"desiredOptimizedAlloc", "accelerator"}));
  if (r.accelerator.empty()) {
    r.accelerator = JsonStr(JsonAt(*status, {"currentAlloc", "accelerator"}));
  }
  return r;
}

std::string ResolveAccelerator(const VaSpec& va, const TargetDeployment* deployment) {
  if (!va.accelerator.empty()) {
    return va.accelerator;
  }
  if (!va.accelerator_label.empty()) {
    return va.accelerator_label;
  }
  if (deployment != nullptr && !deployment->gpu_product.empty()) {
    return deployment->gpu_product;
  }
  return "unknown";
}

nlohmann::json BuildStatus(const DesiredStatus& d, const nlohmann::json& previous,
                           Clock::WallTime now) {
  const std::string ts = FormatRfc3339(now);
  nlohmann::json s;
  s["currentAlloc"] = {{"numReplicas", d.current_replicas}, {"accelerator", d.accelerator}};
  // lastRunTime records when the current decision was made: it moves only when the decision
  // changes, so a steady state writes nothing.
  const nlohmann::json& prev_alloc = JsonAt(previous, {"desiredOptimizedAlloc"});
  std::string last_run = ts;
  if (prev_alloc.is_object() && JsonAt(prev_alloc, {"numReplicas"}) == d.desired_replicas &&
      JsonStr(JsonAt(prev_alloc, {"accelerator"})) == d.accelerator &&
      JsonAt(prev_alloc, {"lastRunTime"}).is_string()) {
    last_run = JsonStr(JsonAt(prev_alloc, {"lastRunTime"}));
  }
  s["desiredOptimizedAlloc"] = {{"numReplicas", d.desired_replicas},
                                {"accelerator", d.accelerator},
                                {"lastRunTime", last_run}};
  s["actuation"] = {{"applied", d.applied}};
  s["observedGeneration"] = d.observed_generation;
  nlohmann::json conds = nlohmann::json::array();
  const nlohmann::json& prev_conds = JsonAt(previous, {"conditions"});
  for (const Condition& c : d.conditions) {
    std::string status = c.status ? "True" : "False";
    std::string transition = ts;
    if (prev_conds.is_array()) {
      for (const auto& pc : prev_conds) {
        if (JsonStr(JsonAt(pc, {"type"})) == c.type && JsonStr(JsonAt(pc, {"status"})) == status &&
            JsonAt(pc, {"lastTransitionTime"}).is_string()) {
          transition = JsonStr(JsonAt(pc, {"lastTransitionTime"}));
        }
      }
    }
    conds.push_back({{"type", c.type},
                     {"status", status},
                     {"reason", c.reason},
                     {"message", c.message},
                     {"lastTransitionTime", transition},
                     {"observedGeneration", d.observed_generation}});
  }
  s["conditions"] = std::move(conds);
  return s;
}

bool StatusChanged(const nlohmann::json& previous, const nlohmann::json& desired) {
  if (!previous.is_object()) {
    return true;
  }
  for (auto it = desired.begin(); it != desired.end(); ++it) {
    auto p = previous.find(it.key());
    if (p == previous.end() || *p != it.value()) {
      return true;
    }
  }
  return false;
}

}  // namespace wva::controller
