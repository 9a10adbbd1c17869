#include "base/backoff.h"

#include <algorithm>
#include <cmath>

namespace wva {

std::chrono::milliseconds Backoff::Next() {
  double d = static_cast<double>(initial_.count()) * std::pow(factor_, attempts_);
  d = std::min(d, static_cast<double>(max_.count()));
  if (jitter_ > 0) {
    std::uniform_real_distribution<double> u(0.0, jitter_);
    d += d * u(rng_);
  }
  if (attempts_ < 64) {
    ++attempts_;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(d));
}

}  // namespace wva
