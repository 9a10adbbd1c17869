// Pods and ReplicaSets as the controller's caches keep them: a few typed fields each, decoded
// once when the informer delivers the object (kube::BasicInformer), not JSON trees read on
// every cycle. What a cycle derives from them: pod -> Deployment attribution, the pods Ready
// long enough to have been scraped, start-up times (and, in placement_step.h, stock-outs).
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

namespace wva::controller {

// The pod label upstream WVA v0.9 attributes pods by (set in the workload's pod template):
// llm-d.ai/variant=<variant name, i.e. the VA's or the managed HPA/ScaledObject's name>.
inline constexpr const char* kVariantPodLabel = "llm-d.ai/variant";

struct CachedPod {
  std::string ns;
  std::string name;
  std::string resource_version;
  std::string replicaset;                  // the controller owner of kind ReplicaSet ("" = none)
  std::string variant_label;               // labels[llm-d.ai/variant] ("" = none)
  bool deleting = false;                   // metadata.deletionTimestamp is set
  bool pending = false;                    // status.phase == Pending
  std::optional<Clock::WallTime> created;  // metadata.creationTimestamp (nullopt = unreadable)
  // The first condition of type Ready: status True, and when it last changed (nullopt =
  // absent or unreadable).
  bool ready = false;
  std::optional<Clock::WallTime> ready_since;
  // The first condition of type PodScheduled is False with reason Unschedulable, since when.
  bool unschedulable = false;
  std::optional<Clock::WallTime> unschedulable_since;
};
using PodPtr = std::shared_ptr<const CachedPod>;

struct CachedReplicaSet {
  std::string ns;
  std::string name;
  std::string resource_version;
  std::string deployment;  // the controller owner of kind Deployment ("" = none)
};
using ReplicaSetPtr = std::shared_ptr<const CachedReplicaSet>;

// From a whole or projected (controller/projection.h) object. Never fails: a field that is
// absent or of the wrong type reads as absent.
PodPtr ParsePod(const nlohmann::json& object);
ReplicaSetPtr ParseReplicaSet(const nlohmann::json& object);
std::vector<PodPtr> ParsePods(const std::vector<nlohmann::json>& objects);
std::vector<ReplicaSetPtr> ParseReplicaSets(const std::vector<nlohmann::json>& objects);

// "ns/name" and the resourceVersion: what kube::BasicStore keys and re-lists by.
std::string KeyOf(const CachedPod& pod);
std::string ResourceVersionOf(const CachedPod& pod);
std::string KeyOf(const CachedReplicaSet& rs);
std::string ResourceVersionOf(const CachedReplicaSet& rs);

// Maps pod name -> owning Deployment name through Pod -> ReplicaSet -> Deployment controller
// owner references, for the pods and ReplicaSets of one namespace. A pod labelled
// llm-d.ai/variant=<name> whose <name> is a key of `variant_targets` (variant name -> its target
// Deployment, same namespace) goes to that Deployment whatever its owner chain: the label wins,
// as upstream's. A label naming no variant of the namespace is ignored (the owner chain
// decides). This also attributes pods that have no Deployment owner (bare pods, other workload
// controllers).
std::map<std::string, std::string> AttributePods(
    const std::vector<PodPtr>& pods, const std::vector<ReplicaSetPtr>& replicasets,
    const std::map<std::string, std::string>& variant_targets = {});

// The pods of one namespace that have been Ready (condition Ready=True, not being deleted) for at
// least `min_ready_for` at `now`: by then Prometheus has scraped them at least once within the
// metrics window, so a settled Ready pod without samples is silent rather than starting (the
// complete-data rule). A Ready condition without a parseable lastTransitionTime counts as
// settled.
std::set<std::string> SettledReadyPods(const std::vector<PodPtr>& pods, Clock::WallTime now,
                                       std::chrono::seconds min_ready_for);

// Per Ready pod (not being deleted), the seconds from its creation to its Ready condition's last
// transition: how long the variant took to start (the SLO policy learns start-up times from it).
std::map<std::string, double> PodStartupSeconds(const std::vector<PodPtr>& pods);

// "2026-11-28T09:00:00Z", as the API server writes metav1.Time (no fractions or offsets).
std::optional<Clock::WallTime> ParseRfc3339Utc(const std::string& text);

}  // namespace wva::controller
