#include "controller/projection.h"

#include <initializer_list>

namespace wva::controller {
namespace {

using nlohmann::json;

// Moves the listed keys of `from` (an object) into a new object; absent keys stay absent.
json Keep(json& from, std::initializer_list<const char*> keys) {
  json out = json::object();
  if (!from.is_object()) {
    return out;
  }
  for (const char* k : keys) {
    auto it = from.find(k);
    if (it != from.end()) {
      out[k] = std::move(*it);
    }
  }
  return out;
}

// Identity, labels and the controller owner reference (the only owner attribution follows).
json IdentityMeta(json& meta) {
  json out = Keep(meta, {"name", "namespace", "uid", "resourceVersion", "generation", "labels",
                         "creationTimestamp", "deletionTimestamp"});
  auto refs = meta.find("ownerReferences");
  if (refs != meta.end() && refs->is_array()) {
    json kept = json::array();
    for (json& r : *refs) {
      if (r.is_object() && r.value("controller", false)) {
        kept.push_back(Keep(r, {"apiVersion", "kind", "name", "uid", "controller"}));
      }
    }
    if (!kept.empty()) {
      out["ownerReferences"] = std::move(kept);
    }
  }
  return out;
}

}  // namespace

json ProjectPod(json&& pod) {
  json out = json::object();
  if (!pod.is_object()) {
    return out;
  }
  out["metadata"] = IdentityMeta(pod["metadata"]);
  json& status = pod["status"];
  json st = Keep(status, {"phase"});
  auto conds = status.is_object() ? status.find("conditions") : status.end();
  if (status.is_object() && conds != status.end() && conds->is_array()) {
    json kept = json::array();
    for (json& c : *conds) {
      kept.push_back(Keep(c, {"type", "status", "reason", "lastTransitionTime"}));
    }
    st["conditions"] = std::move(kept);
  }
  out["status"] = std::move(st);
  return out;
}

json ProjectReplicaSet(json&& rs) {
  json out = json::object();
  if (!rs.is_object()) {
    return out;
  }
  out["metadata"] = IdentityMeta(rs["metadata"]);
  out["spec"] = Keep(rs["spec"], {"replicas"});
  out["status"] = Keep(rs["status"], {"replicas", "readyReplicas"});
  return out;
}

json ProjectDeployment(json&& d) {
  json out = json::object();
  if (!d.is_object()) {
    return out;
  }
  json meta = std::move(d["metadata"]);
  if (meta.is_object()) {
    meta.erase("managedFields");
    auto ann = meta.find("annotations");
    if (ann != meta.end() && ann->is_object()) {
      ann->erase("kubectl.kubernetes.io/last-applied-configuration");
    }
  }
  out["metadata"] = std::move(meta);
  json& spec = d["spec"];
  json sp = Keep(spec, {"replicas", "selector"});
  json& tmpl = spec.is_object() ? spec["template"] : spec;
  if (tmpl.is_object()) {
    json t = json::object();
    t["metadata"] = Keep(tmpl["metadata"], {"labels", "annotations"});
    json& pod_spec = tmpl["spec"];
    json ps = Keep(pod_spec, {"nodeSelector", "affinity", "tolerations"});
    auto containers = pod_spec.is_object() ? pod_spec.find("containers") : pod_spec.end();
    if (pod_spec.is_object() && containers != pod_spec.end() && containers->is_array()) {
      json kept = json::array();
      for (json& c : *containers) {
        kept.push_back(Keep(c, {"name", "image", "command", "args", "resources"}));
      }
      ps["containers"] = std::move(kept);
    }
    t["spec"] = std::move(ps);
    sp["template"] = std::move(t);
  }
  out["spec"] = std::move(sp);
  out["status"] = Keep(d["status"], {"replicas", "readyReplicas", "availableReplicas",
                                     "updatedReplicas", "observedGeneration"});
  return out;
}

json ProjectVa(json&& va) {
  if (!va.is_object()) {
    return json::object();
  }
  auto meta = va.find("metadata");
  if (meta != va.end() && meta->is_object()) {
    meta->erase("managedFields");
    auto ann = meta->find("annotations");
    if (ann != meta->end() && ann->is_object()) {
      ann->erase("kubectl.kubernetes.io/last-applied-configuration");
    }
  }
  return std::move(va);
}

}  // namespace wva::controller
