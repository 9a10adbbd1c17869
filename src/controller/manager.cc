#include "controller/manager.h"

#include <unistd.h>
#ifdef __GLIBC__  // defined by the C library headers above
#include <malloc.h>
#endif

#include <functional>
#include <initializer_list>

#include <fmt/format.h>

#include "controller/annotations.h"
#include "controller/projection.h"
#include "controller/secure_metrics.h"
#include "controller/state_store.h"
#include "controller/va.h"
#include "prom/exposition.h"

namespace wva::controller {
namespace {

constexpr const char* kCycleKey = "optimize";
// Leadership start (cache sync wait, publish from status, then cycles) runs on the worker like a
// cycle, so it is serialised with RunCycle by construction: the reconciler has one thread.
constexpr const char* kBecomeLeaderKey = "become-leader";

kube::Resource VaResource() { return kube::resources::kVariantAutoscalings; }

std::string Identity() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return fmt::format("{}_{}", host, getpid());
}

// VAs by "<namespace>/<scaleTargetRef.name>".
constexpr const char* kTargetIndex = "target";
std::vector<std::string> TargetIndex(const kube::Object& o) {
  return {o.value("/metadata/namespace"_json_pointer, std::string()) + "/" +
          o.value("/spec/scaleTargetRef/name"_json_pointer, std::string())};
}

int IntAt(const kube::ObjectPtr& o, const char* ptr, int def) {
  if (!o) {
    return def;
  }
  const nlohmann::json::json_pointer p(ptr);
  return o->contains(p) && o->at(p).is_number_integer() ? o->at(p).get<int>() : def;
}

std::string StrAt(const kube::ObjectPtr& o, const char* ptr) {
  if (!o) {
    return "";
  }
  const nlohmann::json::json_pointer p(ptr);
  return o->contains(p) && o->at(p).is_string() ? o->at(p).get<std::string>() : "";
}

}  // namespace

Manager::Manager(Settings settings, std::unique_ptr<kube::Client> kube,
                 std::unique_ptr<prom::Querier> prometheus, const Clock& clock)
    : settings_(std::move(settings)),
      kube_(std::move(kube)),
      prometheus_(std::move(prometheus)),
      clock_(clock),
      recorder_(kube_.get(), "workload-variant-autoscaler", &clock_),
      reconciler_(*this, *this, *prometheus_, metrics_, config_, clock_),
      queue_(&clock_) {
  metrics_.SetControllerInstance(settings_.controller_instance);
  reconciler_.set_metrics_window(settings_.metrics_window);
  reconciler_.set_slo_config(&slo_config_);
  reconciler_.set_calibration(settings_.slo_calibration);
  reconciler_.set_policy_state_store(this);
  reconciler_.set_interval_seconds(std::chrono::duration<double>(settings_.interval).count());
  // A first cycle over thousands of VAs writes every status: 16 in flight keeps it to seconds
  // without crowding the API server (its default limit is 200 mutating requests in flight).
  reconciler_.set_status_write_concurrency(16);
  zero_.set_default_enabled(settings_.scale_to_zero_default);
  reconciler_.set_zero_scaler(&zero_);
  placement_.set_threshold(settings_.stock_out_threshold);
  placement_.set_backoff(settings_.stock_out_backoff);
  reconciler_.set_placement(&placement_);
  scale_writer_ = std::make_unique<KubeScaleWriter>(kube_.get());
  direct_ = std::make_unique<DirectActuator>(
      *scale_writer_, [this] { return Scalers(); }, clock_, settings_.direct_actuation_default);
  direct_state_ = std::make_unique<ConfigMapDocument>(kube_.get(), settings_.pod_namespace,
                                                      kDirectStateConfigMap, kDirectStateKey,
                                                      "direct-actuation-state");
  direct_->set_history_store(direct_state_.get());
  reconciler_.set_direct_actuator(direct_.get());
  if (settings_.scale_from_zero.enabled) {
    ClusterReader& reader = *this;
    StatusWriter& writer = *this;
    waker_ = std::make_unique<ZeroWaker>(reader, writer, *scale_writer_, *prometheus_, clock_,
                                         settings_.scale_from_zero);
    waker_->set_on_woken([this](const WakeUp& w) {
      zero_.NoteWoken(w.ns, w.model);
      Trigger("scale-from-zero");
    });
  }
  const std::string& ns = settings_.watch_namespace;
  // Projected on arrival (controller/projection.h): the caches keep only what a cycle reads.
  auto projected = [](kube::Transform t) {
    kube::ReflectorOptions o;
    o.transform = std::move(t);
    return o;
  };
  vas_ = std::make_unique<kube::Informer>(kube_.get(), VaResource(), ns, projected(ProjectVa));
  deployments_ = std::make_unique<kube::BasicInformer<TargetDeployment>>(
      kube_.get(), kube::resources::kDeployments, ns, projected(ProjectDeployment),
      [](const kube::ObjectPtr& d) { return ParseDeployment(*d); });
  // Pods and ReplicaSets: projected as each list page or watch event arrives, then typed.
  replicasets_ = std::make_unique<kube::BasicInformer<CachedReplicaSet>>(
      kube_.get(), kube::resources::kReplicaSets, ns, projected(ProjectReplicaSet),
      [](const kube::ObjectPtr& o) { return ParseReplicaSet(*o); });
  pods_ = std::make_unique<kube::BasicInformer<CachedPod>>(
      kube_.get(), kube::resources::kPods, ns, projected(ProjectPod),
      [](const kube::ObjectPtr& o) { return ParsePod(*o); });
  hpas_ =
      std::make_unique<kube::Informer>(kube_.get(), kube::resources::kHorizontalPodAutoscalers, ns);
  kube::ReflectorOptions ns_opts;
  if (!ns.empty()) {
    ns_opts.field_selector = "metadata.name=" + ns;
  }
  namespaces_ =
      std::make_unique<kube::Informer>(kube_.get(), kube::resources::kNamespaces, "", ns_opts);
  AddScalerHandlers(*hpas_);
  namespaces_->AddHandlers({nullptr,
                            [this](const kube::ObjectPtr& o, const kube::ObjectPtr& n) {
                              if (StrAt(o, "/metadata/annotations/wva.llmd.ai~1exclude") !=
                                  StrAt(n, "/metadata/annotations/wva.llmd.ai~1exclude")) {
                                Trigger("namespace-exclusion-changed");
                              }
                            },
                            nullptr});
  // One informer per ConfigMap the controller reads, watching that name only in its namespace;
  // `on` gets every version, and `deleted` when it goes.
  auto named_configmap = [this](const std::string& name,
                                std::function<void(const kube::ObjectPtr&, bool deleted)> on) {
    kube::ReflectorOptions opts;
    opts.field_selector = "metadata.name=" + name;
    auto informer = std::make_unique<kube::Informer>(kube_.get(), kube::resources::kConfigMaps,
                                                     settings_.pod_namespace, opts);
    informer->AddHandlers(
        {[on](const kube::ObjectPtr& cm) { on(cm, false); },
         [on](const kube::ObjectPtr&, const kube::ObjectPtr& cm) { on(cm, false); },
         [on](const kube::ObjectPtr& cm) { on(cm, true); }});
    return informer;
  };
  auto saturation_handler = [this](std::string name) {
    return
        [this, name](const kube::ObjectPtr& cm, bool deleted) { OnConfigMap(name, cm, deleted); };
  };
  configmaps_ =
      named_configmap(settings_.config_map_name, saturation_handler(settings_.config_map_name));
  slo_configmaps_ = named_configmap(
      settings_.slo_config_map_name,
      [this](const kube::ObjectPtr& cm, bool deleted) { OnSloConfigMap(cm, deleted); });
  pods_->store().AddIndex("namespace", [](const CachedPod& p) { return std::vector{p.ns}; });
  vas_->store().AddIndex(kTargetIndex, TargetIndex);
  replicasets_->store().AddIndex("namespace",
                                 [](const CachedReplicaSet& rs) { return std::vector{rs.ns}; });

  // Parse every VA once as it arrives; registered first so a cycle a trigger starts sees it.
  vas_->AddHandlers({[this](const kube::ObjectPtr& va) { OnVa(va, false); },
                     [this](const kube::ObjectPtr&, const kube::ObjectPtr& va) { OnVa(va, false); },
                     [this](const kube::ObjectPtr& va) { OnVa(va, true); }});
  // VA: create, delete, spec change (generation) or force-reconcile annotation change. Our own
  // status writes do not bump the generation, so they do not retrigger.
  vas_->AddHandlers({[this](const kube::ObjectPtr&) { Trigger("va-added"); },
                     [this](const kube::ObjectPtr& o, const kube::ObjectPtr& n) {
                       if (IntAt(o, "/metadata/generation", 0) !=
                           IntAt(n, "/metadata/generation", 0)) {
                         Trigger("va-spec-changed");
                       } else if (StrAt(o, "/metadata/annotations/wva.llmd.ai~1force-reconcile") !=
                                  StrAt(n, "/metadata/annotations/wva.llmd.ai~1force-reconcile")) {
                         Trigger("force-reconcile");
                       }
                     },
                     [this](const kube::ObjectPtr&) { Trigger("va-deleted"); }});
  // A replica or readiness change of a VA's target starts a cycle at once; a Deployment that
  // appears or goes is picked up by the next one.
  deployments_->AddHandlers(
      {nullptr,
       [this](const DeploymentPtr& o, const DeploymentPtr& n) {
         if ((o->spec_replicas != n->spec_replicas || o->ready_replicas != n->ready_replicas) &&
             IsTargetOfSomeVa(*n)) {
           Trigger("deployment-replicas-changed");
         }
       },
       nullptr});
  if (!settings_.upstream_config_map_name.empty()) {
    upstream_configmaps_ = named_configmap(settings_.upstream_config_map_name,
                                           saturation_handler(settings_.upstream_config_map_name));
  }
  stz_configmaps_ = named_configmap(
      settings_.scale_to_zero_config_map_name,
      [this](const kube::ObjectPtr& cm, bool deleted) { OnScaleToZeroConfigMap(cm, deleted); });
  budget_configmaps_ = named_configmap(
      settings_.gpu_budget_config_map_name,
      [this](const kube::ObjectPtr& cm, bool deleted) { OnBudgetConfigMap(cm, deleted); });
  if (settings_.gpu_budget_from_nodes) {
    nodes_ = std::make_unique<kube::Informer>(kube_.get(), kube::resources::kNodes, "",
                                              projected(ProjectNode));
    nodes_->AddHandlers(
        {[this](const kube::ObjectPtr& n) { OnNode(n, false); },
         [this](const kube::ObjectPtr&, const kube::ObjectPtr& n) { OnNode(n, false); },
         [this](const kube::ObjectPtr& n) { OnNode(n, true); }});
  }
}

void Manager::OnNode(const kube::ObjectPtr& node, bool deleted) {
  if (!node) {
    return;
  }
  const std::string name = StrAt(node, "/metadata/name");
  if (placement_.SetNodeGpus(name,
                             deleted ? std::map<std::string, int>() : GpuInventory({*node}))) {
    Trigger("gpu-inventory-changed");
  }
}

void Manager::AddScalerHandlers(kube::Informer& inf) {
  inf.AddHandlers({[this](const kube::ObjectPtr&) { Trigger("scaler-added"); },
                   [this](const kube::ObjectPtr& o, const kube::ObjectPtr& n) {
                     // Spec (generation), annotations and labels decide what a scaler is to
                     // WVA; status updates by the HPA controller do not.
                     if (IntAt(o, "/metadata/generation", 0) !=
                             IntAt(n, "/metadata/generation", 0) ||
                         (*o)["metadata"].value("annotations", nlohmann::json()) !=
                             (*n)["metadata"].value("annotations", nlohmann::json()) ||
                         (*o)["metadata"].value("labels", nlohmann::json()) !=
                             (*n)["metadata"].value("labels", nlohmann::json())) {
                       Trigger("scaler-changed");
                     }
                   },
                   [this](const kube::ObjectPtr&) { Trigger("scaler-deleted"); }});
}

void Manager::MaybeWatchScaledObjects() {
  if (scaled_objects_ready_.load(std::memory_order_acquire)) {
    return;
  }
  kube::ListOptions probe;
  probe.limit = 1;
  auto r = kube_->List(kube::resources::kScaledObjects, settings_.watch_namespace, probe);
  if (!r) {
    // Absent CRD (404) is the normal case without KEDA: checked again next cycle, quietly.
    if (r.error().code() != StatusCode::kNotFound) {
      log_.Debug("ScaledObjects not readable yet; checked again next cycle",
                 {{"err", r.error().ToString()}});
    }
    return;
  }
  scaled_objects_ = std::make_unique<kube::Informer>(kube_.get(), kube::resources::kScaledObjects,
                                                     settings_.watch_namespace);
  AddScalerHandlers(*scaled_objects_);
  scaled_objects_->Start();
  WaitSynced(*scaled_objects_, std::chrono::seconds(10));
  scaled_objects_ready_.store(true, std::memory_order_release);
  log_.Info("KEDA ScaledObjects found: annotation mode watches them");
}

Manager::~Manager() {
  Shutdown();
  if (worker_.joinable()) {
    worker_.join();
  }
  if (ticker_.joinable()) {
    ticker_.join();
  }
  if (waker_thread_.joinable()) {
    waker_thread_.join();
  }
}

bool Manager::stopping() {
  MutexLock lock(&mu_);
  return stop_;
}

bool Manager::WaitSynced(kube::InformerBase& informer, std::chrono::milliseconds timeout) {
  // Real time on purpose: this only paces start-up; decisions never read it.
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!informer.WaitForSync(std::chrono::milliseconds(100))) {
    if (stopping() || std::chrono::steady_clock::now() >= end) {
      return false;
    }
  }
  return true;
}

void Manager::BecomeLeader() {
  for (kube::InformerBase* inf : std::initializer_list<kube::InformerBase*>{
           vas_.get(), deployments_.get(), replicasets_.get(), pods_.get(), hpas_.get(),
           namespaces_.get()}) {
    WaitSynced(*inf, std::chrono::seconds(60));
  }
  if (stopping()) {
    return;
  }
  // Before the first cycle: a restart or failover changes no published value by itself. On the
  // worker thread, like every cycle, so nothing else touches the reconciler meanwhile.
  reconciler_.PublishFromStatus();
  leading_.store(true);
  metrics_.SetLeader(true);
  log_.Info("leading: publishing decisions");
  Trigger("became-leader");
}

bool Manager::IsTargetOfSomeVa(const TargetDeployment& deployment) {
  const std::string& ns = deployment.ns;
  const std::string& name = deployment.name;
  // Runs on every Deployment status change: an index lookup, not a copy of every VA.
  if (!vas_->store().ByIndex(kTargetIndex, ns + "/" + name).empty()) {
    return true;
  }
  // Annotation-mode variants (from HPAs and ScaledObjects) only exist when there are scalers.
  const bool scalers =
      hpas_->store().size() > 0 || (scaled_objects_ready_.load(std::memory_order_acquire) &&
                                    scaled_objects_->store().size() > 0);
  if (!scalers) {
    return false;
  }
  for (const VaPtr& va : VariantAutoscalings()) {
    if (va->ns == ns &&
        va->object->value("/spec/scaleTargetRef/name"_json_pointer, std::string()) == name) {
      return true;
    }
  }
  return false;
}

void Manager::OnVa(const kube::ObjectPtr& va, bool deleted) {
  if (!va) {
    return;
  }
  VaPtr parsed = deleted ? nullptr : CacheVa(va);
  const std::string key = va->value("/metadata/namespace"_json_pointer, std::string()) + "/" +
                          va->value("/metadata/name"_json_pointer, std::string());
  MutexLock lock(&va_mu_);
  if (deleted) {
    parsed_vas_.erase(key);
  } else {
    parsed_vas_[key] = std::move(parsed);
  }
}

namespace {
std::map<std::string, std::string> ConfigMapData(const kube::ObjectPtr& cm, bool deleted) {
  std::map<std::string, std::string> data;
  if (!deleted && cm && cm->contains("data") && (*cm)["data"].is_object()) {
    for (auto it = (*cm)["data"].begin(); it != (*cm)["data"].end(); ++it) {
      if (it.value().is_string()) {
        data[it.key()] = it.value().get<std::string>();
      }
    }
  }
  return data;
}
}  // namespace

void Manager::OnSloConfigMap(const kube::ObjectPtr& cm, bool deleted) {
  SloConfigCache::UpdateResult r = slo_config_.Update(ConfigMapData(cm, deleted));
  for (const core::ConfigError& e : r.errors) {
    log_.Error("invalid SLO config entry skipped; last good value stays",
               {{"configmap", settings_.slo_config_map_name},
                {"key", e.key},
                {"field", e.field},
                {"err", e.ToString()}});
    if (cm) {
      if (Status s = recorder_.Record(*cm, "Warning", "InvalidConfiguration", e.ToString());
          !s.ok()) {
        log_.Warn("event not recorded", {{"err", s.ToString()}});
      }
    }
  }
  log_.Info(r.log_line);
  if (r.changed) {
    Trigger("slo-config-changed");
  }
}

void Manager::RecordConfigEvent(const kube::ObjectPtr& cm, const std::string& type,
                                const std::string& reason, const std::string& message) {
  if (!cm) {
    return;
  }
  if (Status s = recorder_.Record(*cm, type, reason, message); !s.ok()) {
    log_.Warn("event not recorded", {{"reason", reason}, {"err", s.ToString()}});
  }
}

void Manager::OnConfigMap(const std::string& name, const kube::ObjectPtr& cm, bool deleted) {
  {
    MutexLock lock(&cm_mu_);
    if (deleted || !cm) {
      saturation_cms_.erase(name);
    } else {
      saturation_cms_[name] = cm;
    }
  }
  ReloadSaturationConfig();
}

void Manager::ReloadSaturationConfig() {
  // Both names (ours and upstream's) feed one configuration; a key present in both comes from
  // ours. Serialized: the two informers deliver on their own threads.
  MutexLock lock(&cm_mu_);
  std::map<std::string, std::string> data;
  std::map<std::string, kube::ObjectPtr> source;  // key -> the ConfigMap it came from
  const std::vector<std::string> order = {settings_.config_map_name,
                                          settings_.upstream_config_map_name};
  for (const std::string& name : order) {
    auto it = saturation_cms_.find(name);
    if (name.empty() || it == saturation_cms_.end()) {
      continue;
    }
    for (const auto& [k, v] : ConfigMapData(it->second, false)) {
      if (data.count(k)) {
        log_.Warn("saturation config key present in two ConfigMaps; the first wins",
                  {{"key", k}, {"used", settings_.config_map_name}, {"ignored", name}});
        continue;
      }
      data[k] = v;
      source[k] = it->second;
    }
  }
  auto cm_of = [&](const std::string& key) {
    auto it = source.find(key);
    return it == source.end() ? kube::ObjectPtr() : it->second;
  };
  auto name_of = [&](const std::string& key) {
    kube::ObjectPtr cm = cm_of(key);
    return cm ? cm->value("/metadata/name"_json_pointer, std::string()) : settings_.config_map_name;
  };
  ConfigCache::UpdateResult r = config_.Update(data);
  for (const core::ConfigError& e : r.errors) {
    log_.Error(
        "invalid saturation config entry skipped; last good value stays",
        {{"configmap", name_of(e.key)}, {"key", e.key}, {"field", e.field}, {"err", e.ToString()}});
    RecordConfigEvent(cm_of(e.key), "Warning", "InvalidConfiguration", e.ToString());
  }
  for (const core::ConfigError& e : r.ignored) {
    const std::string msg =
        fmt::format("key \"{}\": field {} ignored: {}", e.key, e.field, e.message);
    log_.Warn(
        "upstream saturation config field ignored; the entry's other fields apply",
        {{"configmap", name_of(e.key)}, {"key", e.key}, {"field", e.field}, {"why", e.message}});
    RecordConfigEvent(cm_of(e.key), "Warning", "ConfigurationIgnored", msg);
  }
  log_.Info(r.log_line);
  config_loaded_.store(true);
  if (r.changed) {
    Trigger("config-changed");
  }
}

void Manager::OnScaleToZeroConfigMap(const kube::ObjectPtr& cm, bool deleted) {
  // A deleted ConfigMap is an empty one: WVA_SCALE_TO_ZERO alone decides.
  const std::map<std::string, std::string> data =
      deleted || !cm ? std::map<std::string, std::string>() : ConfigMapData(cm, false);
  ScaleToZeroConfigCache::UpdateResult r = zero_.config().Update(data);
  for (const core::ConfigError& e : r.errors) {
    log_.Error("invalid scale-to-zero config entry skipped; last good value stays",
               {{"configmap", settings_.scale_to_zero_config_map_name},
                {"key", e.key},
                {"field", e.field},
                {"err", e.ToString()}});
    RecordConfigEvent(cm, "Warning", "InvalidConfiguration", e.ToString());
  }
  for (const core::ConfigError& e : r.warnings) {
    log_.Warn("scale-to-zero config entry applied with a warning",
              {{"configmap", settings_.scale_to_zero_config_map_name},
               {"key", e.key},
               {"field", e.field},
               {"why", e.message}});
  }
  log_.Info(r.log_line);
  if (r.changed) {
    Trigger("scale-to-zero-config-changed");
  }
}

std::vector<nlohmann::json> Manager::Scalers() {
  std::vector<nlohmann::json> out;
  for (const auto& h : hpas_->store().List()) {
    out.push_back(*h);
    out.back()["kind"] = "HorizontalPodAutoscaler";
  }
  if (scaled_objects_ready_.load(std::memory_order_acquire)) {
    for (const auto& so : scaled_objects_->store().List()) {
      out.push_back(*so);
      out.back()["kind"] = "ScaledObject";
    }
  }
  return out;
}

void Manager::OnBudgetConfigMap(const kube::ObjectPtr& cm, bool deleted) {
  const std::map<std::string, std::string> data =
      deleted || !cm ? std::map<std::string, std::string>() : ConfigMapData(cm, false);
  for (const core::ConfigError& e : placement_.UpdateBudget(data)) {
    log_.Error("invalid GPU budget key skipped; last good value stays",
               {{"configmap", settings_.gpu_budget_config_map_name},
                {"key", e.key},
                {"err", e.ToString()}});
    RecordConfigEvent(cm, "Warning", "InvalidConfiguration", e.ToString());
  }
  log_.Info("GPU budget config updated", {{"keys", static_cast<int>(data.size())}});
  Trigger("gpu-budget-changed");
}

void Manager::Trigger(const char* why) {
  log_.Debug("reconcile triggered", {{"trigger", why}});
  queue_.Add(kCycleKey);
  metrics_.SetWorkQueueDepth(static_cast<double>(queue_.Len()));
}

bool Manager::ready() const {
  return vas_->HasSynced() && deployments_->HasSynced() && replicasets_->HasSynced() &&
         hpas_->HasSynced() && namespaces_->HasSynced() && pods_->HasSynced() &&
         configmaps_->HasSynced() && slo_configmaps_->HasSynced() &&
         (!upstream_configmaps_ || upstream_configmaps_->HasSynced()) &&
         stz_configmaps_->HasSynced() && budget_configmaps_->HasSynced() &&
         (!nodes_ || nodes_->HasSynced());
}

std::vector<VaPtr> Manager::VariantAutoscalings() {
  std::vector<VaPtr> out;
  ScalerInputs in;
  {
    MutexLock lock(&va_mu_);
    out.reserve(parsed_vas_.size());
    for (const auto& [key, va] : parsed_vas_) {
      out.push_back(va);
      in.va_names.insert(in.va_names.end(), key);
    }
  }
  // Annotation mode: managed HPAs and ScaledObjects, both modes together.
  for (const auto& h : hpas_->store().List()) {
    in.hpas.push_back(*h);
  }
  if (scaled_objects_ready_.load(std::memory_order_acquire)) {
    for (const auto& so : scaled_objects_->store().List()) {
      in.scaled_objects.push_back(*so);
    }
  }
  for (const auto& n : namespaces_->store().List()) {
    if (StrAt(n, "/metadata/annotations/wva.llmd.ai~1exclude") == "true") {
      in.excluded_namespaces.insert(n->value("/metadata/name"_json_pointer, std::string()));
    }
  }
  in.controller_instance = settings_.controller_instance;
  std::vector<ScalerIssue> issues;
  std::vector<nlohmann::json> synthesized = VariantsFromScalers(in, &issues);
  {
    MutexLock lock(&synth_mu_);
    synthetic_.clear();
    for (nlohmann::json& v : synthesized) {
      const std::string key =
          v["metadata"].value("namespace", "") + "/" + v["metadata"].value("name", "");
      synthetic_.insert(key);
      auto st = synthetic_status_.find(key);
      if (st != synthetic_status_.end()) {
        v["status"] = st->second;
      }
      out.push_back(CacheVa(std::move(v)));
    }
    for (const ScalerIssue& i : issues) {
      const std::string id = fmt::format("{}/{}/{}/{}", i.object.value("kind", ""),
                                         i.object["metadata"].value("namespace", ""),
                                         i.object["metadata"].value("name", ""), i.reason);
      if (!scaler_issues_reported_.insert(id).second) {
        continue;
      }
      log_.Warn(i.message, {{"reason", i.reason}});
      Event(i.object, "Warning", i.reason, i.message);
    }
  }
  // parsed_vas_ is in "ns/name" order already; annotation-mode variants merge into it.
  if (!synthesized.empty()) {
    std::sort(out.begin(), out.end(), [](const VaPtr& a, const VaPtr& b) {
      return a->ns + "/" + a->name < b->ns + "/" + b->name;
    });
  }
  return out;
}

DeploymentPtr Manager::Deployment(const std::string& ns, const std::string& name) {
  return deployments_->store().Get(kube::ObjectKey(ns, name));
}

std::vector<PodPtr> Manager::Pods(const std::string& ns) {
  return pods_->store().ByIndex("namespace", ns);
}

std::vector<ReplicaSetPtr> Manager::ReplicaSets(const std::string& ns) {
  return replicasets_->store().ByIndex("namespace", ns);
}

Status Manager::PatchStatus(const std::string& ns, const std::string& name,
                            const nlohmann::json& status) {
  {
    // Annotation-mode variants have no object: their status lives here, for the next cycles
    // (the last decision, so that "one transition per model" holds in this mode too).
    MutexLock lock(&synth_mu_);
    const std::string key = ns + "/" + name;
    if (synthetic_.count(key)) {
      synthetic_status_[key].merge_patch(status);
      return OkStatus();
    }
  }
  auto r = kube_->PatchStatus(VaResource(), ns, name, status);
  if (!r) {
    return r.error();
  }
  return OkStatus();
}

StatusOr<std::optional<std::string>> Manager::Load() {
  auto cm =
      kube_->Get(kube::resources::kConfigMaps, settings_.pod_namespace, kPolicyStateConfigMap);
  if (!cm) {
    if (kube::IsNotFound(cm.error())) {
      return std::optional<std::string>();
    }
    return Err(cm.error());
  }
  const nlohmann::json& data = (**cm).contains("data") ? (**cm)["data"] : nlohmann::json();
  if (!data.is_object() || !data.contains(kPolicyStateKey) || !data[kPolicyStateKey].is_string()) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(data[kPolicyStateKey].get<std::string>());
}

Status Manager::Save(const std::string& document) {
  const nlohmann::json patch = {{"data", {{kPolicyStateKey, document}}}};
  auto r = kube_->MergePatch(kube::resources::kConfigMaps, settings_.pod_namespace,
                             kPolicyStateConfigMap, patch);
  if (r) {
    return OkStatus();
  }
  if (!kube::IsNotFound(r.error())) {
    return r.error();
  }
  nlohmann::json cm = {{"apiVersion", "v1"},
                       {"kind", "ConfigMap"},
                       {"metadata",
                        {{"name", kPolicyStateConfigMap},
                         {"namespace", settings_.pod_namespace},
                         {"labels",
                          {{"app.kubernetes.io/name", "workload-variant-autoscaler"},
                           {"app.kubernetes.io/component", "policy-state"}}}}},
                       {"data", {{kPolicyStateKey, document}}}};
  auto c = kube_->Create(kube::resources::kConfigMaps, settings_.pod_namespace, cm);
  return c ? OkStatus() : c.error();
}

void Manager::Event(const nlohmann::json& va, const std::string& type, const std::string& reason,
                    const std::string& message) {
  if (Status s = recorder_.Record(va, type, reason, message); !s.ok()) {
    log_.Warn("event not recorded", {{"reason", reason}, {"err", s.ToString()}});
  }
}

namespace {

// Hands the pages malloc keeps free back to the kernel. The informers' first LIST decodes every
// whole object before projecting it and a first cycle's status writes run on many threads, each
// with its own malloc arena: measured at 1,000 VAs, the live heap peaked at 80 MB while the RSS
// stayed at 133 MB, the difference free memory malloc never returned. glibc only; a few ms.
void ReleaseFreeMemory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

}  // namespace

void Manager::WorkerLoop() {
  std::string key;
  while (queue_.Get(&key)) {
    metrics_.SetWorkQueueDepth(static_cast<double>(queue_.Len()));
    if (key == kBecomeLeaderKey) {
      BecomeLeader();
      queue_.Forget(key);
      queue_.Done(key);
      continue;
    }
    MaybeWatchScaledObjects();
    if (leading_.load()) {
      CycleStats s = reconciler_.RunCycle();
      log_.Info("optimization cycle",
                {{"vas", s.vas},
                 {"models", s.models},
                 {"status_writes", s.status_writes},
                 {"scaling_decisions", s.scaling_decisions},
                 {"metrics_ok", s.metrics_ok},
                 {"models_incomplete", s.models_incomplete},
                 {"models_without_metrics", s.models_without_metrics},
                 {"duration_ms", static_cast<int>(s.seconds * 1000)},
                 {"published_ms", static_cast<int>(s.published_seconds * 1000)}});
      ReleaseFreeMemory();
    }
    queue_.Forget(key);
    queue_.Done(key);
  }
}

void Manager::WakerLoop() {
  MutexLock lock(&mu_);
  while (!stop_) {
    // Real time on purpose: this thread only paces the polls; decisions never read it.
    const auto next = std::chrono::steady_clock::now() + settings_.scale_from_zero.interval;
    while (!stop_ && cv_.WaitUntil(&mu_, next)) {
    }
    if (stop_) {
      break;
    }
    lock.Unlock();
    if (leading_.load() && ready()) {
      waker_->Tick();
    }
    lock.Lock();
  }
}

void Manager::TickerLoop() {
  MutexLock lock(&mu_);
  while (!stop_) {
    // Real time on purpose: this thread only paces the loop; decisions never read it.
    const auto next = std::chrono::steady_clock::now() + settings_.interval;
    while (!stop_ && cv_.WaitUntil(&mu_, next)) {
    }
    if (stop_) {
      break;
    }
    lock.Unlock();
    Trigger("interval");
    lock.Lock();
  }
}

void Manager::Shutdown() {
  {
    MutexLock lock(&mu_);
    if (stop_) {
      return;
    }
    stop_ = true;
  }
  cv_.NotifyAll();
}

Status Manager::Run() {
  // Listeners first: probes answer (not ready) while caches sync.
  if (settings_.metrics_secure && settings_.metrics_port >= 0) {
    auto auth = ConfigureSecureMetrics(settings_, *kube_, clock_, metrics_, metrics_server_);
    if (!auth) {
      return auth.error().WithPrefix("secure metrics endpoint");
    }
    metrics_auth_ = std::move(*auth);
  } else {
    prom::AddMetricsRoute(metrics_server_, metrics_);
  }
  prom::AddProbeRoutes(
      health_server_, [] { return OkStatus(); },
      [this]() -> Status {
        if (!ready()) {
          return UnavailableError("informer caches not synced yet");
        }
        if (!config_loaded_.load()) {
          return UnavailableError("saturation config not loaded yet");
        }
        return OkStatus();
      });
  if (settings_.metrics_port >= 0) {
    auto p =
        metrics_server_.Start(settings_.metrics_host.empty() ? "0.0.0.0" : settings_.metrics_host,
                              settings_.metrics_port);
    if (!p) {
      return p.error().WithPrefix("metrics listener");
    }
    metrics_port_.store(*p);
  }
  if (settings_.health_port >= 0) {
    auto p = health_server_.Start(settings_.health_host.empty() ? "0.0.0.0" : settings_.health_host,
                                  settings_.health_port);
    if (!p) {
      return p.error().WithPrefix("health listener");
    }
    health_port_.store(*p);
  }
  log_.Info("starting", {{"metrics_port", metrics_port_.load()},
                         {"health_port", health_port_.load()},
                         {"metrics_secure", settings_.metrics_secure},
                         {"watch_namespace", settings_.watch_namespace},
                         {"interval_s", std::chrono::duration<double>(settings_.interval).count()},
                         {"leader_elect", settings_.leader_elect},
                         {"slo_calibration", settings_.slo_calibration}});
  if (settings_.prometheus.insecure_skip_verify) {
    log_.Warn(
        "PROMETHEUS_TLS_INSECURE_SKIP_VERIFY=true: the Prometheus server certificate is NOT "
        "verified; anyone on the network path can feed this controller fake metrics");
  }
  for (const SettingWarning& w : SettingsWarnings(settings_)) {
    log_.Warn(w.message, {{"setting", w.setting}});
  }
  for (kube::InformerBase* inf : std::initializer_list<kube::InformerBase*>{
           configmaps_.get(), slo_configmaps_.get(), vas_.get(), deployments_.get(),
           replicasets_.get(), pods_.get(), stz_configmaps_.get(), hpas_.get(), namespaces_.get(),
           budget_configmaps_.get()}) {
    inf->Start();
  }
  if (upstream_configmaps_) {
    upstream_configmaps_->Start();
  }
  if (nodes_) {
    nodes_->Start();
  }
  // An absent ConfigMap means built-in defaults; load once both names' lists have synced.
  if (WaitSynced(*configmaps_, std::chrono::seconds(30)) &&
      (!upstream_configmaps_ || WaitSynced(*upstream_configmaps_, std::chrono::seconds(30)))) {
    ReloadSaturationConfig();
  }
  worker_ = std::thread([this] { WorkerLoop(); });

  if (settings_.leader_elect) {
    kube::LeaderElectionConfig lec;
    lec.lease_namespace = settings_.pod_namespace;
    lec.lease_name = settings_.lease_name;
    lec.identity = Identity();
    lec.lease_duration =
        std::chrono::duration_cast<std::chrono::milliseconds>(settings_.lease_duration);
    lec.renew_deadline =
        std::chrono::duration_cast<std::chrono::milliseconds>(settings_.renew_deadline);
    lec.retry_period =
        std::chrono::duration_cast<std::chrono::milliseconds>(settings_.retry_period);
    kube::LeaderCallbacks cb;
    // The elector's thread must keep renewing: the cache wait and the publish from status run
    // on the worker, queued.
    cb.on_started_leading = [this] { queue_.Add(kBecomeLeaderKey); };
    cb.on_stopped_leading = [this] {
      leading_.store(false);
      metrics_.SetLeader(false);
      MutexLock lock(&mu_);
      if (!stop_) {
        lost_lease_.store(true);
        log_.Error("leader lease lost; exiting so a fresh process can rejoin the election");
      }
      stop_ = true;
      cv_.NotifyAll();
    };
    cb.on_new_leader = [this](const std::string& id) {
      log_.Info("leader observed", {{"identity", id}});
    };
    elector_ = std::make_unique<kube::LeaderElector>(kube_.get(), lec, cb, &clock_);
    metrics_.SetLeader(false);
    elector_->Start();
  } else {
    queue_.Add(kBecomeLeaderKey);
  }
  ticker_ = std::thread([this] { TickerLoop(); });
  if (waker_) {
    waker_thread_ = std::thread([this] { WakerLoop(); });
  }

  {
    MutexLock lock(&mu_);
    while (!stop_) {
      cv_.Wait(&mu_);
    }
  }
  log_.Info("shutting down: finishing the cycle in flight");
  // The cycle in flight finishes (bounded by the Prometheus and API timeouts); a queued one is
  // dropped. Nothing here waits on a cache sync or a retry backoff.
  queue_.ShutDown();
  if (worker_.joinable()) {
    worker_.join();
  }
  if (ticker_.joinable()) {
    ticker_.join();
  }
  if (waker_thread_.joinable()) {
    waker_thread_.join();
  }
  leading_.store(false);
  if (elector_) {
    elector_->Stop();  // releases the lease
  }
  // Cancel every watch first, then join: a watch that has not started answering notices the
  // cancel only at curl's next progress tick (~1 s), so stopping one by one could add up.
  std::vector<kube::InformerBase*> informers = {
      vas_.get(),        deployments_.get(),    replicasets_.get(),    pods_.get(),
      configmaps_.get(), slo_configmaps_.get(), stz_configmaps_.get(), budget_configmaps_.get()};
  if (upstream_configmaps_) {
    informers.push_back(upstream_configmaps_.get());
  }
  if (nodes_) {
    informers.push_back(nodes_.get());
  }
  informers.push_back(hpas_.get());
  informers.push_back(namespaces_.get());
  if (scaled_objects_ready_.load()) {
    informers.push_back(scaled_objects_.get());
  }
  for (kube::InformerBase* inf : informers) {
    inf->RequestStop();
  }
  for (kube::InformerBase* inf : informers) {
    inf->Stop();
  }
  metrics_server_.Stop();
  health_server_.Stop();
  log_.Info("stopped");
  if (lost_lease_.load()) {
    return AbortedError("leader lease lost");
  }
  return OkStatus();
}

}  // namespace wva::controller
