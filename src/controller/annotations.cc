#include "controller/annotations.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace wva::controller {
namespace {

std::string Str(const nlohmann::json& o, const char* ptr) {
  const nlohmann::json::json_pointer p(ptr);
  return o.contains(p) && o.at(p).is_string() ? o.at(p).get<std::string>() : "";
}

std::string Annotation(const nlohmann::json& o, const std::string& key) {
  const auto& m = o.value("/metadata/annotations"_json_pointer, nlohmann::json::object());
  return m.is_object() && m.contains(key) && m[key].is_string() ? m[key].get<std::string>() : "";
}

std::string Label(const nlohmann::json& o, const std::string& key) {
  const auto& m = o.value("/metadata/labels"_json_pointer, nlohmann::json::object());
  return m.is_object() && m.contains(key) && m[key].is_string() ? m[key].get<std::string>() : "";
}

std::optional<int> IntAt(const nlohmann::json& o, const char* ptr) {
  const nlohmann::json::json_pointer p(ptr);
  if (!o.contains(p) || !o.at(p).is_number_integer()) {
    return std::nullopt;
  }
  return o.at(p).get<int>();
}

struct Candidate {
  nlohmann::json va;
  nlohmann::json scaler;
  bool scaled_object = false;
};

// The VA-shaped object for one managed scaler; false (with an issue) when it cannot be one.
bool Synthesize(const nlohmann::json& s, bool scaled_object, Candidate* out,
                std::vector<ScalerIssue>* issues) {
  const std::string model = Annotation(s, kModelIdAnnotation);
  const std::string name = Str(s, "/metadata/name");
  if (model.empty()) {
    issues->push_back({s, "MissingModelID",
                       fmt::format("{} is annotated {}=\"true\" but has no {} annotation; it is "
                                   "not managed",
                                   name, kManagedAnnotation, kModelIdAnnotation)});
    return false;
  }
  nlohmann::json ref = {{"apiVersion", "apps/v1"},
                        {"kind", "Deployment"},
                        {"name", Str(s, "/spec/scaleTargetRef/name")}};
  if (!Str(s, "/spec/scaleTargetRef/apiVersion").empty()) {
    ref["apiVersion"] = Str(s, "/spec/scaleTargetRef/apiVersion");
  }
  if (!Str(s, "/spec/scaleTargetRef/kind").empty()) {
    ref["kind"] = Str(s, "/spec/scaleTargetRef/kind");
  }
  const std::string cost = Annotation(s, kVariantCostAnnotation);
  nlohmann::json spec = {
      {"scaleTargetRef", ref}, {"modelID", model}, {"variantCost", cost.empty() ? "10.0" : cost}};
  if (scaled_object) {
    spec["minReplicas"] = IntAt(s, "/spec/minReplicaCount").value_or(0);
    spec["maxReplicas"] = IntAt(s, "/spec/maxReplicaCount").value_or(100);
  } else {
    spec["minReplicas"] = IntAt(s, "/spec/minReplicas").value_or(1);
    if (auto mx = IntAt(s, "/spec/maxReplicas")) {
      spec["maxReplicas"] = *mx;
    }
  }
  nlohmann::json meta = s.value("metadata", nlohmann::json::object());
  meta.erase("managedFields");
  meta["annotations"][kSyntheticAnnotation] = "true";
  out->va = {
      {"apiVersion", s.value("apiVersion", scaled_object ? "keda.sh/v1alpha1" : "autoscaling/v2")},
      {"kind", s.value("kind", scaled_object ? "ScaledObject" : "HorizontalPodAutoscaler")},
      {"metadata", meta},
      {"spec", spec}};
  out->scaler = s;
  out->scaled_object = scaled_object;
  return true;
}

}  // namespace

bool IsSynthetic(const nlohmann::json& va) {
  return Annotation(va, kSyntheticAnnotation) == "true";
}

std::vector<nlohmann::json> VariantsFromScalers(const ScalerInputs& in,
                                                std::vector<ScalerIssue>* issues) {
  // Keyed by the target workload: a ScaledObject replaces an HPA of the same target.
  std::map<std::string, Candidate> by_target;
  auto consider = [&](const nlohmann::json& s, bool scaled_object) {
    if (Annotation(s, kManagedAnnotation) != "true") {
      return;
    }
    if (s.contains("/metadata/deletionTimestamp"_json_pointer)) {
      return;
    }
    const std::string ns = Str(s, "/metadata/namespace");
    if (in.excluded_namespaces.count(ns)) {
      return;
    }
    if (Label(s, kControllerInstanceLabel) != in.controller_instance) {
      return;
    }
    Candidate c;
    if (!Synthesize(s, scaled_object, &c, issues)) {
      return;
    }
    const std::string name = Str(s, "/metadata/name");
    if (in.va_names.count(ns + "/" + name)) {
      issues->push_back({s, "Shadowed",
                         fmt::format("a VariantAutoscaling named {} exists in {}; it is the "
                                     "variant, this {} is not managed",
                                     name, ns, c.va["kind"].get<std::string>())});
      return;
    }
    const std::string target = fmt::format("{}/{}/{}", ns, Str(c.va, "/spec/scaleTargetRef/kind"),
                                           Str(c.va, "/spec/scaleTargetRef/name"));
    auto it = by_target.find(target);
    if (it != by_target.end()) {
      const Candidate& kept = it->second.scaled_object || !scaled_object ? it->second : c;
      const Candidate& dropped = &kept == &it->second ? c : it->second;
      issues->push_back(
          {dropped.scaler, "Shadowed",
           fmt::format("{} targets the same workload as {} {}, which is the "
                       "variant",
                       Str(dropped.scaler, "/metadata/name"), kept.va["kind"].get<std::string>(),
                       Str(kept.scaler, "/metadata/name"))});
      if (&kept == &c) {
        it->second = std::move(c);
      }
      return;
    }
    by_target.emplace(target, std::move(c));
  };
  for (const auto& h : in.hpas) {
    consider(h, false);
  }
  for (const auto& so : in.scaled_objects) {
    consider(so, true);
  }
  std::vector<nlohmann::json> out;
  for (auto& [target, c] : by_target) {
    out.push_back(std::move(c.va));
  }
  std::sort(out.begin(), out.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return Str(a, "/metadata/namespace") + "/" + Str(a, "/metadata/name") <
           Str(b, "/metadata/namespace") + "/" + Str(b, "/metadata/name");
  });
  return out;
}

}  // namespace wva::controller
