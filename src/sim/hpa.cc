// HPA behaviour model and direct actuator (see hpa.h).
#include "sim/hpa.h"

#include <algorithm>
#include <climits>
#include <cmath>

namespace wva::sim {
namespace {

int Clamp(int n, int lo, std::optional<int> hi) {
  if (hi && n > *hi) n = *hi;
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
      if (current == 0) return CeilInt(want);
      const double usage = want / current;
      if (std::fabs(usage - 1.0) <= tolerance + 1e-9) return current;
      return CeilInt(want);
    }
    case Signal::Kind::kPodsAverage: {
      if (s.pods <= 0 || current == 0) return std::nullopt;
      const double usage = s.value / s.target;
      if (std::fabs(usage - 1.0) <= tolerance + 1e-9) return current;
      const int missing = std::max(0, current - s.pods);
      if (missing == 0) return CeilInt(usage * s.pods);
      // Pods without metrics count as 0% on scale-up and 100% on scale-down (damping).
      double new_usage;
      if (usage > 1.0) {
        new_usage = s.value * s.pods / (s.target * current);
        if (new_usage <= 1.0 + tolerance) return current;  // within tolerance or reversed
      } else {
        new_usage = (s.value * s.pods + s.target * missing) / (s.target * current);
        if (new_usage >= 1.0 - tolerance) return current;
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
    if (r && (!best || *r > *best)) best = r;
  }
  return best;
}

int HpaModel::ScaleUpLimit(double now, int current) const {
  const HpaRules& r = config_.scale_up;
  if (r.select == SelectPolicy::kDisabled || r.policies.empty()) return current;
  int result = r.select == SelectPolicy::kMax ? INT_MIN : INT_MAX;
  for (const HpaScalingPolicy& p : r.policies) {
    int added = 0;
    for (const Event& e : events_)
      if (e.t > now - p.period_s && e.delta > 0) added += e.delta;
    const int start = current - added;
    const int proposed = p.type == HpaPolicyType::kPods
                             ? start + p.value
                             : CeilInt(start * (1.0 + p.value / 100.0));
    result = r.select == SelectPolicy::kMax ? std::max(result, proposed) : std::min(result, proposed);
  }
  return result;
}

int HpaModel::ScaleDownLimit(double now, int current) const {
  const HpaRules& r = config_.scale_down;
  if (r.select == SelectPolicy::kDisabled || r.policies.empty()) return current;
  int result = r.select == SelectPolicy::kMax ? INT_MAX : INT_MIN;
  for (const HpaScalingPolicy& p : r.policies) {
    int removed = 0;
    for (const Event& e : events_)
      if (e.t > now - p.period_s && e.delta < 0) removed -= e.delta;
    const int start = current + removed;
    const int proposed = p.type == HpaPolicyType::kPods
                             ? start - p.value
                             : static_cast<int>(std::floor(start * (1.0 - p.value / 100.0)));
    result = r.select == SelectPolicy::kMax ? std::min(result, proposed) : std::max(result, proposed);
  }
  return result;
}

int HpaModel::Sync(double now, const Signal& signal, int current) {
  // Forget what no window can see any more.
  const double keep = std::max(config_.scale_up.stabilization_s, config_.scale_down.stabilization_s);
  while (!recommendations_.empty() && recommendations_.front().t < now - keep - 1e-9)
    recommendations_.pop_front();
  double longest_period = 0;
  for (const auto& p : config_.scale_up.policies) longest_period = std::max(longest_period, p.period_s);
  for (const auto& p : config_.scale_down.policies) longest_period = std::max(longest_period, p.period_s);
  while (!events_.empty() && events_.front().t <= now - longest_period) events_.pop_front();

  // No metric published at all (e.g. a static policy): there is no HPA, nothing changes.
  if (signal.kind == Signal::Kind::kNone && signal.also.empty()) return current;
  const std::optional<int> raw_opt = RawRecommendation(signal, current, config_.tolerance);
  const int raw = Clamp(raw_opt.value_or(current), min_, max_);

  // Stabilization: scale up to the lowest, down to the highest recommendation in the window.
  int up = raw, down = raw;
  for (const Rec& r : recommendations_) {
    // Records strictly after the cutoff count (as in Kubernetes).
    if (r.t > now - config_.scale_up.stabilization_s + 1e-9) up = std::min(up, r.replicas);
    if (r.t > now - config_.scale_down.stabilization_s + 1e-9) down = std::max(down, r.replicas);
  }
  recommendations_.push_back({now, raw});
  int desired = current;
  if (desired < up) desired = up;
  if (desired > down) desired = down;

  // Rate limits.
  if (desired > current) {
    desired = std::min(desired, ScaleUpLimit(now, current));
  } else if (desired < current) {
    desired = std::max(desired, ScaleDownLimit(now, current));
  }
  desired = Clamp(desired, min_, max_);
  if (desired != current) events_.push_back({now, desired - current});
  return desired;
}

int DirectTarget(const Signal& s, int current, int min_replicas, std::optional<int> max_replicas) {
  std::optional<int> n;
  auto one = [&](const Signal& x) {
    std::optional<int> m;
    switch (x.kind) {
      case Signal::Kind::kNone: break;
      case Signal::Kind::kReplicas: m = CeilInt(x.value / x.target); break;
      case Signal::Kind::kPodsAverage:
        if (x.pods > 0) m = CeilInt(x.value / x.target * x.pods);
        break;
    }
    if (m && (!n || *m > *n)) n = m;
  };
  one(s);
  for (const Signal& more : s.also) one(more);
  return Clamp(n.value_or(current), min_replicas, max_replicas);
}

}  // namespace wva::sim
