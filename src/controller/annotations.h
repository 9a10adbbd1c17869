// Annotation mode (upstream WVA v0.9's API, docs/migrate-from-upstream.md): HPAs and KEDA
// ScaledObjects annotated `llm-d.ai/managed: "true"` are variants, beside VariantAutoscalings.
// Each is turned into an in-memory VariantAutoscaling-shaped object (never written to the API
// server) so that the rest of the controller treats both modes alike:
//   name            = the scaler's name (and so the `variant_name` label)
//   modelID         = annotation llm-d.ai/model-id (required)
//   variantCost     = annotation llm-d.ai/variant-cost (default "10.0")
//   scaleTargetRef  = the scaler's (kind Deployment, apiVersion apps/v1 by default)
//   min/max         = HPA minReplicas (default 1) / maxReplicas; ScaledObject minReplicaCount
//                     (KEDA's default 0, honoured) / maxReplicaCount (KEDA's default 100)
// apiVersion/kind stay the scaler's, so Events land on the HPA or ScaledObject.
// Skipped: scalers being deleted, in namespaces annotated `wva.llmd.ai/exclude: "true"`, and
// those whose label `wva.llmd.ai/controller-instance` differs from CONTROLLER_INSTANCE (unset:
// only scalers without the label). An HPA and a ScaledObject with the same target: the
// ScaledObject wins. A scaler named like a VariantAutoscaling of its namespace: the VA wins.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wva::controller {

inline constexpr const char* kManagedAnnotation = "llm-d.ai/managed";
inline constexpr const char* kModelIdAnnotation = "llm-d.ai/model-id";
inline constexpr const char* kVariantCostAnnotation = "llm-d.ai/variant-cost";
inline constexpr const char* kSyntheticAnnotation = "llm-d.ai/synthetic";
inline constexpr const char* kExcludeAnnotation = "wva.llmd.ai/exclude";
inline constexpr const char* kControllerInstanceLabel = "wva.llmd.ai/controller-instance";

// A managed scaler that cannot be a variant, or is shadowed; reported once by the caller.
struct ScalerIssue {
  nlohmann::json object;  // the HPA or ScaledObject (for the Event)
  std::string reason;     // "MissingModelID", "Shadowed"
  std::string message;
};

struct ScalerInputs {
  std::vector<nlohmann::json> hpas;
  std::vector<nlohmann::json> scaled_objects;
  std::set<std::string> excluded_namespaces;
  std::set<std::string> va_names;  // "<ns>/<name>" of the VariantAutoscalings
  std::string controller_instance;
};

// The variants of annotation mode, sorted by namespace/name.
std::vector<nlohmann::json> VariantsFromScalers(const ScalerInputs& in,
                                                std::vector<ScalerIssue>* issues);

bool IsSynthetic(const nlohmann::json& va);

}  // namespace wva::controller
