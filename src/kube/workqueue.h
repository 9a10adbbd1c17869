// WorkQueue: client-go's rate-limited work queue for string keys.
//  - dedup: a key added while queued is queued once ("dirty" set);
//  - processing set: a key is never handed to two workers at once; if it is re-added while
//    being processed it is queued again when Done() is called;
//  - AddAfter(key, d): delayed add; AddRateLimited(key): delay = max(per-item exponential
//    5 ms * 2^failures capped at 1000 s, token bucket 10 qps / burst 100); Forget(key) resets
//    the per-item failures;
//  - ShutDown(): Get() returns false at once; ShutDownWithDrain(): waits for in-flight items
//    to be Done() first.
// Time comes from the injected Clock; with a FakeClock call Tick() after Advance() to move
// due delayed items (a waiting Get() also re-checks at least every 20 ms).
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "base/clock.h"
#include "base/mutex.h"

namespace wva::kube {

struct RateLimiterOptions {
  std::chrono::milliseconds base_delay{5};
  std::chrono::milliseconds max_delay{1000 * 1000};
  double qps = 10.0;
  int burst = 100;
};

class WorkQueue {
 public:
  explicit WorkQueue(const Clock* clock, RateLimiterOptions rl = {});

  void Add(const std::string& key);
  void AddAfter(const std::string& key, std::chrono::nanoseconds delay);
  void AddRateLimited(const std::string& key);
  void Forget(const std::string& key);
  int NumRequeues(const std::string& key) const;
  // The delay AddRateLimited would use now (consumes a token and a failure step).
  std::chrono::nanoseconds NextDelay(const std::string& key);

  // Blocks until a key is available (true) or the queue shuts down (false).
  bool Get(std::string* key);
  // Non-blocking Get.
  bool TryGet(std::string* key);
  void Done(const std::string& key);

  void ShutDown();
  void ShutDownWithDrain();
  bool shutting_down() const;
  size_t Len() const;         // ready keys
  size_t DelayedLen() const;  // keys waiting for their time
  void Tick();                // moves due delayed keys to the ready queue

 private:
  void AddLocked(const std::string& key) REQUIRES(mu_);
  void TickLocked() REQUIRES(mu_);

  const Clock* clock_;
  RateLimiterOptions rl_;
  mutable Mutex mu_;
  CondVar cv_;
  std::deque<std::string> queue_ GUARDED_BY(mu_);
  std::unordered_set<std::string> dirty_ GUARDED_BY(mu_);
  std::unordered_set<std::string> processing_ GUARDED_BY(mu_);
  std::multimap<Clock::SteadyTime, std::string> delayed_ GUARDED_BY(mu_);
  std::unordered_map<std::string, Clock::SteadyTime> delayed_at_
      GUARDED_BY(mu_);  // earliest per key
  std::unordered_map<std::string, int> failures_ GUARDED_BY(mu_);
  double tokens_ GUARDED_BY(mu_);
  Clock::SteadyTime last_refill_ GUARDED_BY(mu_);
  bool shutting_down_ GUARDED_BY(mu_) = false;
  bool drain_ GUARDED_BY(mu_) = false;
};

}  // namespace wva::kube
