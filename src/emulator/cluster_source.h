// ClusterSource: drives the emulator's pod set from a Kubernetes cluster, so that capacity exists
// only where the cluster says a pod is Ready. It watches Pods (an informer) and keeps exactly
// one load-driven emulated pod per Ready pod of each managed Deployment, named like the real pod
// (so Prometheus series carry the pod names WVA resolves through Pod -> ReplicaSet -> Deployment).
// Pods that become un-Ready, start terminating or disappear are removed from the emulator (their
// in-flight requests are dropped); the model group's workload is routed across the remaining
// Ready pods by the load model's router.
//
// A pod belongs to a managed Deployment D when its controller owner is a ReplicaSet named
// "D-<pod-template-hash>" (the Deployment controller's naming), i.e. without a ReplicaSet watch.
//
// DesiredPods() is the pure part (objects in, pod set out) and is unit-tested without a cluster.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "emulator/emulator.h"
#include "kube/client.h"
#include "kube/informer.h"

namespace wva::emulator {

// One managed Deployment: its pods serve `model` with `profile`.
struct ManagedDeployment {
  std::string ns;
  std::string deployment;
  std::string model;
  core::PerfProfile profile = DefaultReplicaProfile();
};

// True when the pod has condition Ready=True and no deletionTimestamp.
bool PodIsReady(const kube::Object& pod);
// The Deployment that owns the pod through a ReplicaSet "<deployment>-<pod-template-hash>", or
// nullopt.
std::optional<std::string> OwningDeployment(const kube::Object& pod);

// The emulated pods that should exist for these cluster Pods: one per Ready pod of a managed
// Deployment, in (namespace, pod) order. Mode is load-driven.
std::vector<PodSpec> DesiredPods(const std::vector<ManagedDeployment>& managed,
                                 const std::vector<kube::ObjectPtr>& pods);

struct ClusterSourceStats {
  int64_t syncs = 0;
  int64_t added = 0;
  int64_t removed = 0;
  int64_t errors = 0;
};

class ClusterSource {
 public:
  // `client` and `emulator` must outlive the source. `ns` "" watches every namespace (needed when
  // the managed Deployments span several).
  ClusterSource(kube::Client* client, Emulator* emulator, std::vector<ManagedDeployment> managed,
                std::string ns);
  ~ClusterSource();
  ClusterSource(const ClusterSource&) = delete;
  ClusterSource& operator=(const ClusterSource&) = delete;

  // Starts the Pod informer and waits (up to `timeout`) for its first LIST; kUnavailable on
  // timeout (the informer keeps retrying in the background; Stop() to give up).
  [[nodiscard]] Status Start(std::chrono::milliseconds timeout);
  void Stop();
  // Reconciles the emulator's pods with the informer's store (also called on every Pod event).
  void Sync();
  ClusterSourceStats stats() const;

 private:
  kube::Client* client_;
  Emulator* emulator_;
  std::vector<ManagedDeployment> managed_;
  std::unique_ptr<kube::Informer> informer_;
  mutable Mutex mu_;
  std::map<std::pair<std::string, std::string>, PodSpec> current_ GUARDED_BY(mu_);
  ClusterSourceStats stats_ GUARDED_BY(mu_);
};

}  // namespace wva::emulator
