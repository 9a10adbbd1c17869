// HPA behaviour model and direct actuator (see hpa.h).
#include "sim/hpa.h"

#include <algorithm>
#include <cmath>

namespace wva::sim {
namespace {

int Clamp(int n, int lo, std::optional<int> hi) {
  if (hi && n > *hi) {
    n = *hi;
  }
  return std::max(n, lo);
}

int CeilInt(double x) { return static_cast<int>(std::ceil(x - 1e-9)); }

}  // namespace

namespace {

std::optional<int> RawOne(const Signal& s, int current, double tolerance) {
  switch (s.kind) {
    case Signal::Kind::kNone:
      return std::nullopt;
    case Signal::Kind::kReplicas: {
      // External metric, AverageValue target: usage = value / (target * current).
      const double want = s.value / s.target;
      if (current == 0) {
        return CeilInt(want);
      }
      const double usage = want / current;
      if (std::fabs(usage - 1.0) <= tolerance + 1e-9) {
        return current;
      }
      return CeilInt(want);
    }
    case Signal::Kind::kPodsAverage: {
      if (s.pods <= 0 || current == 0) {
        return std::nullopt;
      }
      const double usage = s.value / s.target;
      if (std::fabs(usage - 1.0) <= tolerance + 1e-9) {
        return current;
      }
      const int missing = std::max(0, current - s.pods);
      if (missing == 0) {
        return CeilInt(usage * s.pods);
      }
      // Pods without metrics count as 0% on scale-up and 100% on scale-down (damping).
      double new_usage;
      if (usage > 1.0) {
        new_usage = s.value * s.pods / (s.target * current);
        if (new_usage <= 1.0 + tolerance) {
          return current;  // within tolerance or reversed
        }
      } else {
        new_usage = (s.value * s.pods + s.target * missing) / (s.target * current);
        if (new_usage >= 1.0 - tolerance) {
          return current;
        }
      }
      return CeilInt(new_usage * current);
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<int> RawRecommendation(const Signal& s, int current, double tolerance) {
  std::optional<int> best = RawOne(s, current, tolerance);
  for (const Signal& more : s.also) {
    const std::optional<int> r = RawOne(more, current, tolerance);
    if (r && (!best || *r > *best)) {
      best = r;
    }
  }
  return best;
}

int HpaModel::Sync(double now, const Signal& signal, int current) {
  // No metric published at all (e.g. a static policy): there is no HPA, nothing changes.
  if (signal.kind == Signal::Kind::kNone && signal.also.empty()) {
    return current;
  }
  const std::optional<int> raw = RawRecommendation(signal, current, config_.tolerance);
  return behavior_.Next(now, raw.value_or(current), current, min_, max_);
}

int DirectTarget(const Signal& s, int current, int min_replicas, std::optional<int> max_replicas) {
  std::optional<int> n;
  auto one = [&](const Signal& x) {
    std::optional<int> m;
    switch (x.kind) {
      case Signal::Kind::kNone:
        break;
      case Signal::Kind::kReplicas:
        m = CeilInt(x.value / x.target);
        break;
      case Signal::Kind::kPodsAverage:
        if (x.pods > 0) {
          m = CeilInt(x.value / x.target * x.pods);
        }
        break;
    }
    if (m && (!n || *m > *n)) {
      n = m;
    }
  };
  one(s);
  for (const Signal& more : s.also) {
    one(more);
  }
  return Clamp(n.value_or(current), min_replicas, max_replicas);
}

}  // namespace wva::sim
