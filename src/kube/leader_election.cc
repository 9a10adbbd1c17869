#include "kube/leader_election.h"

#include <cmath>

#include "base/log.h"

namespace wva::kube {
namespace {
const log::Logger& Log() {
  static const log::Logger logger("kube.leader");
  return logger;
}

// metav1.MicroTime: RFC 3339 with microseconds.
std::string MicroTime(Clock::WallTime t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::string s = FormatRfc3339(t);  // ...Z
  char frac[16];
  std::snprintf(frac, sizeof(frac), ".%06lld", static_cast<long long>(us % 1000000));
  return s.substr(0, s.size() - 1) + frac + "Z";
}
std::string GetStr(const Object& o, const char* key) {
  auto it = o.find(key);
  return (it != o.end() && it->is_string()) ? it->get<std::string>() : std::string();
}
std::string SpecOf(const Object& lease) {
  auto it = lease.find("spec");
  return it == lease.end() ? std::string() : it->dump();
}
int GetInt(const Object& o, const char* key, int def) {
  auto it = o.find(key);
  return (it != o.end() && it->is_number_integer()) ? it->get<int>() : def;
}
}  // namespace

LeaderElector::LeaderElector(Client* client, LeaderElectionConfig config, LeaderCallbacks callbacks,
                             const Clock* clock)
    : client_(client),
      config_(std::move(config)),
      callbacks_(std::move(callbacks)),
      clock_(clock) {}

LeaderElector::~LeaderElector() { Stop(); }

void LeaderElector::Start() {
  MutexLock lock(&mu_);
  if (thread_.joinable()) {
    return;
  }
  thread_ = std::thread([this] { Run(); });
}

void LeaderElector::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  cv_.NotifyAll();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void LeaderElector::Abandon() {
  {
    MutexLock lock(&mu_);
    release_ = false;
  }
  Stop();
}

std::string LeaderElector::ObservedLeader() const {
  MutexLock lock(&mu_);
  return observed_holder_;
}

bool LeaderElector::Sleep(std::chrono::milliseconds d) {
  const auto deadline = std::chrono::steady_clock::now() + d;
  MutexLock lock(&mu_);
  while (!stopping_) {
    if (!cv_.WaitUntil(&mu_, deadline)) {
      break;
    }
  }
  return !stopping_;
}

bool LeaderElector::TryAcquireOrRenew() {
  auto now_wall = clock_->WallNow();
  int lease_s = static_cast<int>(std::ceil(config_.lease_duration.count() / 1000.0));
  Object spec = {{"holderIdentity", config_.identity},
                 {"leaseDurationSeconds", lease_s},
                 {"acquireTime", MicroTime(now_wall)},
                 {"renewTime", MicroTime(now_wall)},
                 {"leaseTransitions", 0}};
  auto got = client_->Get(resources::kLeases, config_.lease_namespace, config_.lease_name);
  if (!got.has_value()) {
    if (!IsNotFound(got.error())) {
      Log().Warn("cannot read lease", {{"error", got.error().ToString()}});
      return false;
    }
    Object lease = {
        {"apiVersion", "coordination.k8s.io/v1"},
        {"kind", "Lease"},
        {"metadata", {{"name", config_.lease_name}, {"namespace", config_.lease_namespace}}},
        {"spec", spec}};
    auto created = client_->Create(resources::kLeases, config_.lease_namespace, lease);
    if (!created.has_value()) {
      return false;
    }
    MutexLock lock(&mu_);
    observed_holder_ = config_.identity;
    observed_record_ = SpecOf(**created);
    observed_rv_ = ResourceVersionOf(**created);
    observed_time_ = clock_->Now();
    return true;
  }
  const Object& lease = **got;
  Object old_spec =
      lease.contains("spec") && lease["spec"].is_object() ? lease["spec"] : Object::object();
  std::string holder = GetStr(old_spec, "holderIdentity");
  std::string record = old_spec.dump();
  auto now = clock_->Now();
  {
    MutexLock lock(&mu_);
    if (record != observed_record_) {
      observed_record_ = record;
      observed_time_ = now;
      if (holder != observed_holder_) {
        observed_holder_ = holder;
        if (callbacks_.on_new_leader && !holder.empty()) {
          callbacks_.on_new_leader(holder);
        }
      }
    }
    int dur_s = GetInt(old_spec, "leaseDurationSeconds", lease_s);
    bool valid = !holder.empty() && observed_time_ + std::chrono::seconds(dur_s) > now;
    if (valid && holder != config_.identity) {
      return false;  // someone else leads
    }
  }
  int transitions = GetInt(old_spec, "leaseTransitions", 0);
  if (holder == config_.identity) {
    if (auto at = GetStr(old_spec, "acquireTime"); !at.empty()) {
      spec["acquireTime"] = at;
    }
    spec["leaseTransitions"] = transitions;
  } else {
    spec["leaseTransitions"] = transitions + 1;
  }
  Object updated = lease;
  updated["spec"] = spec;  // PUT with the read resourceVersion: optimistic concurrency
  auto put = client_->Update(resources::kLeases, config_.lease_namespace, updated);
  if (!put.has_value()) {
    if (!IsConflict(put.error())) {
      Log().Warn("cannot update lease", {{"error", put.error().ToString()}});
    }
    return false;
  }
  MutexLock lock(&mu_);
  observed_record_ = SpecOf(**put);
  observed_rv_ = ResourceVersionOf(**put);
  observed_time_ = clock_->Now();
  if (observed_holder_ != config_.identity) {
    observed_holder_ = config_.identity;
    if (callbacks_.on_new_leader) {
      callbacks_.on_new_leader(config_.identity);
    }
  }
  return true;
}

void LeaderElector::Release() {
  auto got = client_->Get(resources::kLeases, config_.lease_namespace, config_.lease_name);
  if (!got.has_value()) {
    return;
  }
  Object lease = **got;
  if (!lease.contains("spec") || !lease["spec"].is_object() ||
      GetStr(lease["spec"], "holderIdentity") != config_.identity) {
    return;
  }
  auto now = MicroTime(clock_->WallNow());
  lease["spec"]["holderIdentity"] = nullptr;
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = now;
  lease["spec"]["acquireTime"] = now;
  auto put = client_->Update(resources::kLeases, config_.lease_namespace, lease);
  Log().Info("released lease", {{"lease", config_.lease_name}, {"ok", put.has_value()}});
}

void LeaderElector::Run() {
  // Acquire.
  while (true) {
    if (TryAcquireOrRenew()) {
      break;
    }
    if (!Sleep(config_.retry_period)) {
      finished_ = true;
      return;
    }
  }
  leader_ = true;
  Log().Info("became leader", {{"identity", config_.identity}, {"lease", config_.lease_name}});
  if (callbacks_.on_started_leading) {
    callbacks_.on_started_leading();
  }
  // Renew.
  auto last_renew = clock_->Now();
  bool lost = false;
  while (Sleep(config_.retry_period)) {
    if (TryAcquireOrRenew()) {
      last_renew = clock_->Now();
      continue;
    }
    if (clock_->Now() - last_renew >= config_.renew_deadline) {
      lost = true;
      break;
    }
  }
  bool release;
  {
    MutexLock lock(&mu_);
    release = release_ && config_.release_on_cancel && !lost;
  }
  if (release) {
    Release();
  }
  leader_ = false;
  if (lost) {
    Log().Error("lost leadership: could not renew within the deadline",
                {{"identity", config_.identity}});
  }
  if (callbacks_.on_stopped_leading) {
    callbacks_.on_stopped_leading();
  }
  finished_ = true;
}

}  // namespace wva::kube
