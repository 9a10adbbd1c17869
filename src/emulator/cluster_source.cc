#include "emulator/cluster_source.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/log.h"

namespace wva::emulator {
namespace {

const log::Logger& Log() {
  static const auto* l = new log::Logger("emulator.cluster");
  return *l;
}

std::string StringAt(const kube::Object& o, const kube::Object::json_pointer& p) {
  if (!o.contains(p)) {
    return "";
  }
  const auto& v = o.at(p);
  return v.is_string() ? v.get<std::string>() : "";
}

}  // namespace

bool PodIsReady(const kube::Object& pod) {
  if (!pod.is_object()) {
    return false;
  }
  auto meta = pod.find("metadata");
  if (meta != pod.end() && meta->is_object()) {
    auto del = meta->find("deletionTimestamp");
    if (del != meta->end() && !del->is_null()) {
      return false;
    }
  }
  auto status = pod.find("status");
  if (status == pod.end() || !status->is_object()) {
    return false;
  }
  auto conds = status->find("conditions");
  if (conds == status->end() || !conds->is_array()) {
    return false;
  }
  for (const auto& c : *conds) {
    if (!c.is_object()) {
      continue;
    }
    auto type = c.find("type");
    auto st = c.find("status");
    if (type != c.end() && type->is_string() && *type == "Ready") {
      return st != c.end() && st->is_string() && *st == "True";
    }
  }
  return false;
}

std::optional<std::string> OwningDeployment(const kube::Object& pod) {
  if (!pod.is_object()) {
    return std::nullopt;
  }
  using P = kube::Object::json_pointer;
  std::string hash = StringAt(pod, P("/metadata/labels/pod-template-hash"));
  if (hash.empty()) {
    return std::nullopt;
  }
  auto meta = pod.find("metadata");
  if (meta == pod.end() || !meta->is_object()) {
    return std::nullopt;
  }
  auto owners = meta->find("ownerReferences");
  if (owners == meta->end() || !owners->is_array()) {
    return std::nullopt;
  }
  for (const auto& o : *owners) {
    if (!o.is_object()) {
      continue;
    }
    if (StringAt(o, P("/kind")) != "ReplicaSet") {
      continue;
    }
    auto ctl = o.find("controller");
    if (ctl != o.end() && !(ctl->is_boolean() && ctl->get<bool>())) {
      continue;
    }
    std::string rs = StringAt(o, P("/name"));
    std::string suffix = "-" + hash;
    if (rs.size() > suffix.size() &&
        rs.compare(rs.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return rs.substr(0, rs.size() - suffix.size());
    }
  }
  return std::nullopt;
}

std::vector<PodSpec> DesiredPods(const std::vector<ManagedDeployment>& managed,
                                 const std::vector<kube::ObjectPtr>& pods) {
  using P = kube::Object::json_pointer;
  std::vector<PodSpec> out;
  for (const auto& pod : pods) {
    if (!pod || !PodIsReady(*pod)) {
      continue;
    }
    auto dep = OwningDeployment(*pod);
    if (!dep) {
      continue;
    }
    std::string ns = StringAt(*pod, P("/metadata/namespace"));
    std::string name = StringAt(*pod, P("/metadata/name"));
    if (name.empty()) {
      continue;
    }
    for (const auto& m : managed) {
      if (m.ns != ns || m.deployment != *dep) {
        continue;
      }
      PodSpec s;
      s.ns = ns;
      s.model = m.model;
      s.variant = m.deployment;
      s.pod = name;
      s.mode = PodMode::kLoad;
      s.profile = m.profile;
      out.push_back(std::move(s));
      break;
    }
  }
  std::sort(out.begin(), out.end(), [](const PodSpec& a, const PodSpec& b) {
    return std::tie(a.ns, a.pod) < std::tie(b.ns, b.pod);
  });
  return out;
}

ClusterSource::ClusterSource(kube::Client* client, Emulator* emulator,
                             std::vector<ManagedDeployment> managed, std::string ns)
    : client_(client), emulator_(emulator), managed_(std::move(managed)) {
  informer_ = std::make_unique<kube::Informer>(client_, kube::resources::kPods, std::move(ns));
  kube::EventHandlers h;
  h.on_add = [this](const kube::ObjectPtr&) { Sync(); };
  h.on_update = [this](const kube::ObjectPtr&, const kube::ObjectPtr&) { Sync(); };
  h.on_delete = [this](const kube::ObjectPtr&) { Sync(); };
  informer_->AddHandlers(std::move(h));
}

ClusterSource::~ClusterSource() { Stop(); }

Status ClusterSource::Start(std::chrono::milliseconds timeout) {
  informer_->Start();
  if (!informer_->WaitForSync(timeout)) {
    return UnavailableError(
        fmt::format("pods not listed within {} ms (see the informer's log)", timeout.count()));
  }
  Sync();
  return OkStatus();
}

void ClusterSource::Stop() {
  if (informer_) {
    informer_->Stop();
  }
}

void ClusterSource::Sync() {
  std::vector<PodSpec> want = DesiredPods(managed_, informer_->store().List());
  MutexLock lock(&mu_);
  ++stats_.syncs;
  std::map<std::pair<std::string, std::string>, PodSpec> next;
  for (auto& s : want) {
    next.emplace(std::make_pair(s.ns, s.pod), std::move(s));
  }
  for (const auto& [key, spec] : current_) {
    if (next.count(key)) {
      continue;
    }
    Status st = emulator_->RemovePod(key.first, key.second);
    if (st.ok()) {
      ++stats_.removed;
      Log().Info("pod no longer ready: removed",
                 {{"namespace", key.first}, {"pod", key.second}, {"variant", spec.variant}});
    } else {
      ++stats_.errors;
      Log().Warn("remove pod failed", {{"pod", key.second}, {"error", st.message()}});
    }
  }
  std::map<std::pair<std::string, std::string>, PodSpec> kept;
  for (auto& [key, spec] : next) {
    if (current_.count(key)) {
      kept.emplace(key, std::move(spec));
      continue;
    }
    Status st = emulator_->AddPod(spec);
    if (st.ok() || st.code() == StatusCode::kAlreadyExists) {
      ++stats_.added;
      Log().Info("pod ready: serving",
                 {{"namespace", key.first}, {"pod", key.second}, {"variant", spec.variant}});
      kept.emplace(key, std::move(spec));
    } else {
      ++stats_.errors;
      Log().Warn("add pod failed", {{"pod", key.second}, {"error", st.message()}});
    }
  }
  current_ = std::move(kept);
}

ClusterSourceStats ClusterSource::stats() const {
  MutexLock lock(&mu_);
  return stats_;
}

}  // namespace wva::emulator
