// What the controller's informers keep of each object (kube::Transform): only the fields the
// controller reads, so that caches of tens of thousands of pods stay small. Whole objects
// arrive from the API server; these projections are what the store and every handler see.
//  - pods: namespace, name, uid, resourceVersion, labels (attribution: llm-d.ai/variant and the
//    pod-template labels), controller owner, creation and deletion timestamps (start-up times);
//    status.phase and the condition types/statuses/transition times (Ready);
//  - ReplicaSets: namespace, name, uid, resourceVersion, labels, controller owner; replicas;
//  - Deployments: all of metadata but managedFields and the last-applied annotation; replicas,
//    selector, the pod template's labels, nodeSelector, affinity, tolerations and containers'
//    name/image/command/args/resources; status replicas, ready, available, updated, observed
//    generation;
//  - VariantAutoscalings: the whole object but metadata.managedFields and the last-applied
//    annotation (bookkeeping of other clients, often larger than the rest of the object).
#pragma once

#include <nlohmann/json.hpp>

namespace wva::controller {

nlohmann::json ProjectPod(nlohmann::json&& pod);
nlohmann::json ProjectReplicaSet(nlohmann::json&& rs);
nlohmann::json ProjectDeployment(nlohmann::json&& deployment);
nlohmann::json ProjectVa(nlohmann::json&& va);

}  // namespace wva::controller
