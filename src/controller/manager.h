// The manager of `wva run`: informers on VariantAutoscalings, Deployments, ReplicaSets, Pods and
// the saturation ConfigMap; a work queue that coalesces every trigger (interval tick, VA create or
// spec change, Deployment replica/readiness change, force-reconcile annotation, ConfigMap change)
// into one optimization cycle; optional Lease leader election (only the leader publishes and
// writes status; a standby is ready but idle); /metrics, /healthz and /readyz listeners; and an
// orderly shutdown (finish the cycle in flight, release the lease) that never waits on cache
// syncs, so it is quick whatever the API server does (`wva run` gives it 4.5 s in all).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "base/clock.h"
#include "base/log.h"
#include "base/mutex.h"
#include "base/status.h"
#include "controller/config_cache.h"
#include "controller/deployment.h"
#include "controller/policy_state.h"
#include "controller/reconciler.h"
#include "controller/scale_from_zero.h"
#include "controller/scale_to_zero.h"
#include "controller/settings.h"
#include "http/server.h"
#include "kube/client.h"
#include "kube/delegated_auth.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/leader_election.h"
#include "kube/workqueue.h"
#include "prom/metrics.h"
#include "prom/querier.h"

namespace wva::controller {

class Manager : private ClusterReader, private StatusWriter, private PolicyStateStore {
 public:
  Manager(Settings settings, std::unique_ptr<kube::Client> kube,
          std::unique_ptr<prom::Querier> prometheus, const Clock& clock);
  ~Manager() override;
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Starts listeners, informers, the elector and the worker; blocks until Shutdown() (from any
  // thread, e.g. a signal watcher) or until leadership is lost. Returns OK after a requested
  // shutdown, an error when the lease was lost or a listener could not bind.
  Status Run();
  void Shutdown();

  // For tests: bound ports (after Run started them) and readiness.
  int metrics_port() const { return metrics_port_.load(); }
  int health_port() const { return health_port_.load(); }
  bool ready() const;
  bool leading() const { return leading_.load(); }

 private:
  // ClusterReader over the informer stores.
  std::vector<VaPtr> VariantAutoscalings() override EXCLUDES(va_mu_);
  DeploymentPtr Deployment(const std::string& ns, const std::string& name) override;
  std::vector<PodPtr> Pods(const std::string& ns) override;
  std::vector<ReplicaSetPtr> ReplicaSets(const std::string& ns) override;
  // StatusWriter over the client and the event recorder.
  // PolicyStateStore: the ConfigMap wva-policy-state in the controller's namespace.
  StatusOr<std::optional<std::string>> Load() override;
  Status Save(const std::string& document) override;
  Status PatchStatus(const std::string& ns, const std::string& name,
                     const nlohmann::json& status) override;
  void Event(const nlohmann::json& va, const std::string& type, const std::string& reason,
             const std::string& message) override;

  void Trigger(const char* why);
  // A saturation ConfigMap (ours or upstream's name) changed: merge both and reload.
  void OnConfigMap(const std::string& name, const kube::ObjectPtr& cm, bool deleted)
      EXCLUDES(cm_mu_);
  void ReloadSaturationConfig() EXCLUDES(cm_mu_);
  // The scale-to-zero ConfigMap: validated and hot reloaded into zero_.
  void OnScaleToZeroConfigMap(const kube::ObjectPtr& cm, bool deleted);
  void RecordConfigEvent(const kube::ObjectPtr& cm, const std::string& type,
                         const std::string& reason, const std::string& message);
  void OnSloConfigMap(const kube::ObjectPtr& cm, bool deleted);
  bool IsTargetOfSomeVa(const TargetDeployment& deployment);
  void WorkerLoop();
  void TickerLoop() EXCLUDES(mu_);
  void BecomeLeader();
  bool stopping() EXCLUDES(mu_);
  // WaitForSync that gives up as soon as a shutdown is requested.
  bool WaitSynced(kube::InformerBase& informer, std::chrono::milliseconds timeout);

  Settings settings_;
  std::unique_ptr<kube::Client> kube_;
  std::unique_ptr<prom::Querier> prometheus_;
  const Clock& clock_;
  log::Logger log_{"manager"};
  prom::WvaMetrics metrics_;
  ConfigCache config_;
  SloConfigCache slo_config_;
  ZeroScaler zero_{*prometheus_, clock_, &metrics_};  // scale to zero (docs/scale-to-zero.md)
  PlacementStep placement_{clock_};                   // stock-outs, GPU budgets (budgets.md)
  kube::EventRecorder recorder_;
  Reconciler reconciler_;
  kube::WorkQueue queue_;

  std::unique_ptr<kube::Informer> vas_, configmaps_, slo_configmaps_;
  // Typed on arrival (controller/pod.h): tens of thousands of pods cost a few fields each.
  std::unique_ptr<kube::BasicInformer<CachedPod>> pods_;
  std::unique_ptr<kube::BasicInformer<CachedReplicaSet>> replicasets_;
  // Deployments parsed once as they arrive (controller/deployment.h).
  std::unique_ptr<kube::BasicInformer<TargetDeployment>> deployments_;
  // Upstream's saturation ConfigMap name (null when SATURATION_CONFIG_MAP_NAME names one) and
  // its scale-to-zero ConfigMap.
  std::unique_ptr<kube::Informer> upstream_configmaps_, stz_configmaps_, budget_configmaps_;
  std::unique_ptr<kube::Informer> nodes_;  // GPU_BUDGET_FROM_NODES only (projected)
  void OnNode(const kube::ObjectPtr& node, bool deleted);
  void OnBudgetConfigMap(const kube::ObjectPtr& cm, bool deleted);
  // Annotation mode: HPAs always; ScaledObjects once KEDA's CRD answers (probed each cycle until
  // it does, so a CRD installed later is picked up without a restart); namespaces for the
  // opt-out annotation.
  std::unique_ptr<kube::Informer> hpas_, namespaces_;
  std::unique_ptr<kube::Informer> scaled_objects_;  // created by the worker thread only
  std::atomic<bool> scaled_objects_ready_{false};
  void MaybeWatchScaledObjects();
  void AddScalerHandlers(kube::Informer& inf);
  // The VAs parsed once when the informer delivers them (not once per cycle), by "ns/name".
  Mutex va_mu_;
  std::map<std::string, VaPtr> parsed_vas_ GUARDED_BY(va_mu_);
  void OnVa(const kube::ObjectPtr& va, bool deleted) EXCLUDES(va_mu_);
  Mutex synth_mu_;
  // Status of annotation-mode variants, kept in memory (there is no object to write it to).
  std::map<std::string, nlohmann::json> synthetic_status_ GUARDED_BY(synth_mu_);  // "ns/name"
  std::set<std::string> synthetic_ GUARDED_BY(synth_mu_);
  std::set<std::string> scaler_issues_reported_ GUARDED_BY(synth_mu_);
  Mutex cm_mu_;
  std::map<std::string, kube::ObjectPtr> saturation_cms_ GUARDED_BY(cm_mu_);  // by name
  std::unique_ptr<kube::LeaderElector> elector_;
  // --metrics-secure only; declared before the server whose route uses it (destroyed after).
  std::unique_ptr<kube::DelegatedAuth> metrics_auth_;
  http::HttpServer metrics_server_, health_server_;

  std::atomic<int> metrics_port_{0}, health_port_{0};
  std::atomic<bool> leading_{false};
  std::atomic<bool> lost_lease_{false};
  std::atomic<bool> config_loaded_{false};
  Mutex mu_;
  CondVar cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  // The worker runs leadership start and every cycle, one at a time: the reconciler is only ever
  // touched from it. Both threads are joined by Run() (and by the destructor, if Run() failed).
  std::thread worker_, ticker_;
  // Scale from zero (SCALE_FROM_ZERO): its own short loop and thread.
  std::unique_ptr<KubeScaleWriter> scale_writer_;
  std::unique_ptr<DirectActuator> direct_;          // direct actuation (docs/actuation.md)
  std::unique_ptr<PolicyStateStore> direct_state_;  // its stabilization history
  std::vector<nlohmann::json> Scalers();            // HPAs and ScaledObjects from the caches
  std::unique_ptr<ZeroWaker> waker_;
  std::thread waker_thread_;
  void WakerLoop();
};

}  // namespace wva::controller
