#include "kube/events.h"

#include <cstdio>

#include "base/log.h"

namespace wva::kube {
namespace {
const log::Logger& Log() {
  static const log::Logger logger("kube.events");
  return logger;
}
std::string Field(const Object& o, const char* a, const char* b = nullptr) {
  const Object* cur = &o;
  for (const char* k : {a, b}) {
    if (k == nullptr) {
      break;
    }
    auto it = cur->find(k);
    if (it == cur->end()) {
      return "";
    }
    cur = &*it;
  }
  return cur->is_string() ? cur->get<std::string>() : std::string();
}
}  // namespace

EventRecorder::EventRecorder(Client* client, std::string component, const Clock* clock)
    : client_(client), component_(std::move(component)), clock_(clock) {}

Status EventRecorder::Record(const Object& involved, const std::string& type,
                             const std::string& reason, const std::string& message) {
  std::string ns = Field(involved, "metadata", "namespace");
  if (ns.empty()) {
    ns = "default";
  }
  std::string obj_name = Field(involved, "metadata", "name");
  std::string key = Field(involved, "kind") + "/" + ns + "/" + obj_name + "/" +
                    Field(involved, "metadata", "uid") + "/" + type + "/" + reason + "/" + message;
  std::string now = FormatRfc3339(clock_->WallNow());
  auto steady = clock_->Now();
  MutexLock lock(&mu_);
  auto it = seen_.find(key);
  if (it != seen_.end() && steady - it->second.last < std::chrono::minutes(10)) {
    Seen& s = it->second;
    s.count++;
    s.last = steady;
    Object patch = {{"count", s.count}, {"lastTimestamp", now}};
    std::string name = s.name, ens = s.ns;
    lock.Unlock();
    auto r = client_->MergePatch(resources::kEvents, ens, name, patch);
    if (r.has_value()) {
      return OkStatus();
    }
    if (!IsNotFound(r.error())) {
      ++failures_;
      Log().Warn("cannot update event", {{"reason", reason}, {"error", r.error().ToString()}});
      return r.error();
    }
    lock.Lock();  // expired on the server: create a fresh one
  }
  char suffix[32];
  std::snprintf(
      suffix, sizeof(suffix), ".%llx%llx",
      static_cast<unsigned long long>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->WallNow().time_since_epoch())
              .count()),
      static_cast<unsigned long long>(++seq_));
  std::string name = obj_name + suffix;
  Seen s{name, ns, 1, steady};
  seen_[key] = s;
  if (seen_.size() > 4096) {
    seen_.erase(seen_.begin());
  }
  lock.Unlock();
  Object ev = {{"apiVersion", "v1"},
               {"kind", "Event"},
               {"metadata", {{"name", name}, {"namespace", ns}}},
               {"involvedObject",
                {{"apiVersion", Field(involved, "apiVersion")},
                 {"kind", Field(involved, "kind")},
                 {"name", obj_name},
                 {"namespace", ns},
                 {"uid", Field(involved, "metadata", "uid")},
                 {"resourceVersion", Field(involved, "metadata", "resourceVersion")}}},
               {"reason", reason},
               {"message", message.substr(0, 1024)},
               {"type", type},
               {"source", {{"component", component_}}},
               {"reportingComponent", component_},
               {"firstTimestamp", now},
               {"lastTimestamp", now},
               {"count", 1}};
  auto r = client_->Create(resources::kEvents, ns, ev);
  if (!r.has_value()) {
    ++failures_;
    Log().Warn("cannot create event", {{"reason", reason}, {"error", r.error().ToString()}});
    return r.error();
  }
  return OkStatus();
}

}  // namespace wva::kube
