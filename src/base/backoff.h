// Exponential backoff with jitter and a cap, as client-go's reflector uses it (800 ms doubling
// to 30 s). Pure: the caller supplies the random source so tests are deterministic.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace wva {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, double factor = 2.0,
          double jitter = 0.0, uint64_t seed = 1)
      : initial_(initial), max_(max), factor_(factor), jitter_(jitter), rng_(seed) {}

  // The delay before the next attempt; grows by `factor` up to `max`, plus up to `jitter`×delay.
  std::chrono::milliseconds Next();
  void Reset() { attempts_ = 0; }
  int attempts() const { return attempts_; }

 private:
  std::chrono::milliseconds initial_, max_;
  double factor_, jitter_;
  std::mt19937_64 rng_;
  int attempts_ = 0;
};

}  // namespace wva
