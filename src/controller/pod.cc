#include "controller/pod.h"

#include <cstdio>
#include <ctime>

#include "controller/json_path.h"
#include "kube/client.h"

namespace wva::controller {
namespace {

using nlohmann::json;

// The name of the controller owner reference of `kind` ("" = none).
std::string ControllerOwner(const json& meta, const char* kind) {
  const json& refs = JsonAt(meta, {"ownerReferences"});
  if (!refs.is_array()) {
    return "";
  }
  for (const json& r : refs) {
    if (JsonStr(JsonAt(r, {"kind"})) == kind && JsonAt(r, {"controller"}) == true) {
      return JsonStr(JsonAt(r, {"name"}));
    }
  }
  return "";
}

std::optional<Clock::WallTime> TimeOf(const json& j) { return ParseRfc3339Utc(JsonStr(j)); }

// The first condition of `type` (null = none).
const json* FirstCondition(const json& status, const char* type) {
  const json& conds = JsonAt(status, {"conditions"});
  if (!conds.is_array()) {
    return nullptr;
  }
  for (const json& c : conds) {
    if (JsonStr(JsonAt(c, {"type"})) == type) {
      return &c;
    }
  }
  return nullptr;
}

}  // namespace

std::optional<Clock::WallTime> ParseRfc3339Utc(const std::string& text) {
  std::tm tm{};
  char zone = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &zone) != 7 ||
      zone != 'Z') {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const time_t t = timegm(&tm);
  if (t == static_cast<time_t>(-1)) {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(t);
}

PodPtr ParsePod(const json& object) {
  auto pod = std::make_shared<CachedPod>();
  const json& meta = JsonAt(object, {"metadata"});
  pod->ns = JsonStr(JsonAt(meta, {"namespace"}));
  pod->name = JsonStr(JsonAt(meta, {"name"}));
  pod->resource_version = JsonStr(JsonAt(meta, {"resourceVersion"}));
  pod->replicaset = ControllerOwner(meta, "ReplicaSet");
  pod->variant_label = JsonStr(JsonAt(meta, {"labels", kVariantPodLabel}));
  pod->deleting = !JsonAt(meta, {"deletionTimestamp"}).is_null();
  pod->created = TimeOf(JsonAt(meta, {"creationTimestamp"}));
  const json& status = JsonAt(object, {"status"});
  pod->pending = JsonStr(JsonAt(status, {"phase"})) == "Pending";
  if (const json* c = FirstCondition(status, "Ready")) {
    pod->ready = JsonStr(JsonAt(*c, {"status"})) == "True";
    pod->ready_since = TimeOf(JsonAt(*c, {"lastTransitionTime"}));
  }
  if (const json* c = FirstCondition(status, "PodScheduled")) {
    pod->unschedulable = JsonStr(JsonAt(*c, {"status"})) == "False" &&
                         JsonStr(JsonAt(*c, {"reason"})) == "Unschedulable";
    pod->unschedulable_since = TimeOf(JsonAt(*c, {"lastTransitionTime"}));
  }
  return pod;
}

ReplicaSetPtr ParseReplicaSet(const json& object) {
  auto rs = std::make_shared<CachedReplicaSet>();
  const json& meta = JsonAt(object, {"metadata"});
  rs->ns = JsonStr(JsonAt(meta, {"namespace"}));
  rs->name = JsonStr(JsonAt(meta, {"name"}));
  rs->resource_version = JsonStr(JsonAt(meta, {"resourceVersion"}));
  rs->deployment = ControllerOwner(meta, "Deployment");
  return rs;
}

std::vector<PodPtr> ParsePods(const std::vector<json>& objects) {
  std::vector<PodPtr> out;
  out.reserve(objects.size());
  for (const json& o : objects) {
    out.push_back(ParsePod(o));
  }
  return out;
}

std::vector<ReplicaSetPtr> ParseReplicaSets(const std::vector<json>& objects) {
  std::vector<ReplicaSetPtr> out;
  out.reserve(objects.size());
  for (const json& o : objects) {
    out.push_back(ParseReplicaSet(o));
  }
  return out;
}

std::string KeyOf(const CachedPod& pod) { return kube::ObjectKey(pod.ns, pod.name); }
std::string ResourceVersionOf(const CachedPod& pod) { return pod.resource_version; }
std::string KeyOf(const CachedReplicaSet& rs) { return kube::ObjectKey(rs.ns, rs.name); }
std::string ResourceVersionOf(const CachedReplicaSet& rs) { return rs.resource_version; }

std::map<std::string, std::string> AttributePods(
    const std::vector<PodPtr>& pods, const std::vector<ReplicaSetPtr>& replicasets,
    const std::map<std::string, std::string>& variant_targets) {
  std::map<std::string, const std::string*> rs_to_deploy;
  for (const ReplicaSetPtr& rs : replicasets) {
    if (!rs->deployment.empty()) {
      rs_to_deploy[rs->name] = &rs->deployment;
    }
  }
  std::map<std::string, std::string> out;
  for (const PodPtr& p : pods) {
    if (!p->variant_label.empty()) {
      auto t = variant_targets.find(p->variant_label);
      if (t != variant_targets.end()) {
        out[p->name] = t->second;
        continue;
      }
    }
    if (p->replicaset.empty()) {
      continue;
    }
    auto it = rs_to_deploy.find(p->replicaset);
    if (it != rs_to_deploy.end()) {
      out[p->name] = *it->second;
    }
  }
  return out;
}

std::set<std::string> SettledReadyPods(const std::vector<PodPtr>& pods, Clock::WallTime now,
                                       std::chrono::seconds min_ready_for) {
  std::set<std::string> out;
  for (const PodPtr& p : pods) {
    if (p->deleting || !p->ready) {
      continue;
    }
    if (!p->ready_since || now - *p->ready_since >= min_ready_for) {
      out.insert(p->name);
    }
  }
  return out;
}

std::map<std::string, double> PodStartupSeconds(const std::vector<PodPtr>& pods) {
  std::map<std::string, double> out;
  for (const PodPtr& p : pods) {
    if (p->deleting || !p->ready || !p->created || !p->ready_since ||
        *p->ready_since <= *p->created) {
      continue;
    }
    out[p->name] = std::chrono::duration<double>(*p->ready_since - *p->created).count();
  }
  return out;
}

}  // namespace wva::controller
