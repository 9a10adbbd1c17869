// LeaderElector: leader election on a coordination.k8s.io/v1 Lease, as client-go does it.
// Timings default to 15 s lease / 10 s renew deadline / 2 s retry. A record held by someone else
// is considered valid until leaseDuration has passed since *we* last saw it change (local
// monotonic time, never the holder's timestamps, so clock skew does not matter). The leader
// renews every retry period; if it cannot renew within the renew deadline it stops leading and
// calls on_stopped_leading (the controller exits). On Stop() a leader releases the lease (empty
// holder, 1 s duration) so a successor takes over at once.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "base/clock.h"
#include "base/mutex.h"
#include "kube/client.h"

namespace wva::kube {

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name = "wva-leader";
  std::string identity;
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
  bool release_on_cancel = true;
};

struct LeaderCallbacks {
  std::function<void()> on_started_leading;
  std::function<void()> on_stopped_leading;
  std::function<void(const std::string& identity)> on_new_leader;
};

class LeaderElector {
 public:
  LeaderElector(Client* client, LeaderElectionConfig config, LeaderCallbacks callbacks,
                const Clock* clock);
  ~LeaderElector();

  void Start();  // runs on its own thread until Stop() or the lease is lost
  // Stops; releases the lease if leading (and release_on_cancel).
  void Stop();
  // Stops without releasing: simulates a crashed leader (tests).
  void Abandon();
  bool IsLeader() const { return leader_.load(); }
  std::string ObservedLeader() const;
  bool finished() const { return finished_.load(); }

  // One acquire-or-renew attempt (exposed for tests). True when we hold the lease afterwards.
  bool TryAcquireOrRenew();

 private:
  void Run();
  bool Sleep(std::chrono::milliseconds d);  // false when stopping
  void Release();

  Client* client_;
  LeaderElectionConfig config_;
  LeaderCallbacks callbacks_;
  const Clock* clock_;
  std::thread thread_;
  mutable Mutex mu_;
  CondVar cv_;
  bool stopping_ GUARDED_BY(mu_) = false;
  bool release_ GUARDED_BY(mu_) = true;
  std::string observed_holder_ GUARDED_BY(mu_);
  std::string observed_record_;  // serialized spec last seen
  Clock::SteadyTime observed_time_{};
  std::string observed_rv_;
  std::atomic<bool> leader_{false};
  std::atomic<bool> finished_{false};
};

}  // namespace wva::kube
