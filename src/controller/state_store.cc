#include "controller/state_store.h"

namespace wva::controller {

StatusOr<std::optional<std::string>> ConfigMapDocument::Load() {
  auto cm = client_->Get(kube::resources::kConfigMaps, ns_, name_);
  if (!cm) {
    if (kube::IsNotFound(cm.error())) {
      return std::optional<std::string>();
    }
    return Err(cm.error());
  }
  const nlohmann::json& obj = **cm;
  if (!obj.contains("data") || !obj["data"].is_object() || !obj["data"].contains(key_) ||
      !obj["data"][key_].is_string()) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(obj["data"][key_].get<std::string>());
}

Status ConfigMapDocument::Save(const std::string& document) {
  const nlohmann::json patch = {{"data", {{key_, document}}}};
  auto r = client_->MergePatch(kube::resources::kConfigMaps, ns_, name_, patch);
  if (r) {
    return OkStatus();
  }
  if (!kube::IsNotFound(r.error())) {
    return r.error();
  }
  const nlohmann::json cm = {{"apiVersion", "v1"},
                             {"kind", "ConfigMap"},
                             {"metadata",
                              {{"name", name_},
                               {"namespace", ns_},
                               {"labels",
                                {{"app.kubernetes.io/name", "workload-variant-autoscaler"},
                                 {"app.kubernetes.io/component", component_}}}}},
                             {"data", {{key_, document}}}};
  auto c = client_->Create(kube::resources::kConfigMaps, ns_, cm);
  if (c) {
    return OkStatus();
  }
  if (kube::IsAlreadyExists(c.error())) {
    // Created in between (another writer): patch it after all.
    auto again = client_->MergePatch(kube::resources::kConfigMaps, ns_, name_, patch);
    return again ? OkStatus() : again.error();
  }
  return c.error();
}

}  // namespace wva::controller
