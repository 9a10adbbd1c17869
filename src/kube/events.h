// EventRecorder: writes core/v1 Events about our objects (e.g. "InvalidConfiguration" on a VA
// or on the saturation ConfigMap), the way kubectl describe shows them. Repeats of the same
// (object, type, reason, message) within 10 minutes bump `count` and `lastTimestamp` on the
// existing Event instead of creating a new one, like client-go's correlator. Never throws;
// failures are logged and counted, since events are best-effort.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <string>

#include "base/clock.h"
#include "base/mutex.h"
#include "kube/client.h"

namespace wva::kube {

class EventRecorder {
 public:
  EventRecorder(Client* client, std::string component, const Clock* clock);

  // `involved` is the object the event is about (needs apiVersion, kind, metadata.name,
  // namespace, uid). type is "Normal" or "Warning".
  Status Record(const Object& involved, const std::string& type, const std::string& reason,
                const std::string& message);
  int64_t failures() const { return failures_.load(); }

 private:
  struct Seen {
    std::string name, ns;
    int count = 0;
    Clock::SteadyTime last;
  };
  Client* client_;
  std::string component_;
  const Clock* clock_;
  Mutex mu_;
  std::map<std::string, Seen> seen_ GUARDED_BY(mu_);
  uint64_t seq_ GUARDED_BY(mu_) = 0;
  // Counted outside the lock (the API call runs unlocked), from any recording thread.
  std::atomic<int64_t> failures_{0};
};

}  // namespace wva::kube
