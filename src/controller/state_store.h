// A document kept in one data key of a ConfigMap in the controller's namespace: how controller
// state survives a restart or a leader change (the direct actuator's stabilization history,
// docs/actuation.md). Created on the first save, then merge-patched by name, so the RBAC needs
// `create` on configmaps and `patch` on that one name only.
#pragma once

#include <optional>
#include <string>

#include "controller/policy_state.h"
#include "kube/client.h"

namespace wva::controller {

class ConfigMapDocument : public PolicyStateStore {
 public:
  // `component`: the app.kubernetes.io/component label of the ConfigMap it creates.
  ConfigMapDocument(kube::Client* client, std::string ns, std::string name, std::string key,
                    std::string component)
      : client_(client),
        ns_(std::move(ns)),
        name_(std::move(name)),
        key_(std::move(key)),
        component_(std::move(component)) {}

  // nullopt when the ConfigMap or its key does not exist yet.
  StatusOr<std::optional<std::string>> Load() override;
  Status Save(const std::string& document) override;

 private:
  kube::Client* client_;
  std::string ns_, name_, key_, component_;
};

}  // namespace wva::controller
