// Clock: the only source of time for WVA logic. Production code gets RealClock; tests get
// FakeClock and move time by hand, so nothing depends on the wall clock or on sleeps.
#pragma once

#include <chrono>
#include <string>

#include "base/mutex.h"

namespace wva {

class Clock {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;
  // Monotonic time for intervals, timeouts and lease validity.
  virtual SteadyTime Now() const = 0;
  // Wall time for timestamps written to resources, logs and metrics.
  virtual WallTime WallNow() const = 0;
};

class RealClock final : public Clock {
 public:
  SteadyTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  // A process-wide instance (trivially destructible state, safe as a static).
  static RealClock& Get();
};

// Thread-safe manual clock. Starts at an arbitrary fixed point (wall: 2025-01-01T00:00:00Z).
class FakeClock final : public Clock {
 public:
  FakeClock();
  SteadyTime Now() const override;
  WallTime WallNow() const override;
  void Advance(std::chrono::nanoseconds d);
  void SetWall(WallTime t);

 private:
  mutable Mutex mu_;
  SteadyTime steady_ GUARDED_BY(mu_);
  WallTime wall_ GUARDED_BY(mu_);
};

// RFC 3339 with second precision in UTC, as Kubernetes writes metav1.Time: 2025-01-01T00:00:00Z.
std::string FormatRfc3339(Clock::WallTime t);

}  // namespace wva
