// The first cut of each object as it arrives (kube::Transform, applied to every list page item
// and watch event): only the fields the controller reads, so that a paged LIST of tens of
// thousands of pods never holds them whole. Pods, ReplicaSets and Deployments are then decoded
// once into typed items (controller/pod.h, controller/deployment.h), which are what their caches
// and handlers keep; VAs stay JSON (their status is written back) without the bookkeeping.
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
