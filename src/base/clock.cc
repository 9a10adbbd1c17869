#include "base/clock.h"

#include <ctime>
#include <string>

namespace wva {

RealClock& RealClock::Get() {
  static RealClock clock;
  return clock;
}

FakeClock::FakeClock()
    : steady_(SteadyTime(std::chrono::hours(1000))),
      wall_(WallTime(std::chrono::seconds(1735689600))) {}

Clock::SteadyTime FakeClock::Now() const {
  MutexLock lock(&mu_);
  return steady_;
}

Clock::WallTime FakeClock::WallNow() const {
  MutexLock lock(&mu_);
  return wall_;
}

void FakeClock::Advance(std::chrono::nanoseconds d) {
  MutexLock lock(&mu_);
  steady_ += d;
  wall_ += std::chrono::duration_cast<WallTime::duration>(d);
}

void FakeClock::SetWall(WallTime t) {
  MutexLock lock(&mu_);
  wall_ = t;
}

std::string FormatRfc3339(Clock::WallTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace wva
