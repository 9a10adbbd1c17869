#include "core/behavior.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <set>

namespace wva::core {
namespace {

int Clamp(int n, int lo, std::optional<int> hi) {
  if (hi && n > *hi) {
    n = *hi;
  }
  return std::max(n, lo);
}

int CeilInt(double x) { return static_cast<int>(std::ceil(x - 1e-9)); }

}  // namespace

Behavior::Behavior() {
  scale_up.stabilization_s = 0;
  scale_up.policies = {{HpaPolicyType::kPercent, 100, 15}, {HpaPolicyType::kPods, 4, 15}};
  scale_down.stabilization_s = 300;
  scale_down.policies = {{HpaPolicyType::kPercent, 100, 15}};
}

int BehaviorState::ScaleUpLimit(double now, int current) const {
  const HpaRules& r = behavior_.scale_up;
  if (r.select == SelectPolicy::kDisabled || r.policies.empty()) {
    return current;
  }
  int result = r.select == SelectPolicy::kMax ? INT_MIN : INT_MAX;
  for (const HpaScalingPolicy& p : r.policies) {
    int added = 0;
    for (const Event& e : events_) {
      if (e.t > now - p.period_s && e.delta > 0) {
        added += e.delta;
      }
    }
    const int start = current - added;
    const int proposed =
        p.type == HpaPolicyType::kPods ? start + p.value : CeilInt(start * (1.0 + p.value / 100.0));
    result =
        r.select == SelectPolicy::kMax ? std::max(result, proposed) : std::min(result, proposed);
  }
  return result;
}

int BehaviorState::ScaleDownLimit(double now, int current) const {
  const HpaRules& r = behavior_.scale_down;
  if (r.select == SelectPolicy::kDisabled || r.policies.empty()) {
    return current;
  }
  int result = r.select == SelectPolicy::kMax ? INT_MAX : INT_MIN;
  for (const HpaScalingPolicy& p : r.policies) {
    int removed = 0;
    for (const Event& e : events_) {
      if (e.t > now - p.period_s && e.delta < 0) {
        removed -= e.delta;
      }
    }
    const int start = current + removed;
    const int proposed = p.type == HpaPolicyType::kPods
                             ? start - p.value
                             : static_cast<int>(std::floor(start * (1.0 - p.value / 100.0)));
    result =
        r.select == SelectPolicy::kMax ? std::min(result, proposed) : std::max(result, proposed);
  }
  return result;
}

void BehaviorState::RecordInitial(double now, int current) {
  if (recommendations_.empty()) {
    recommendations_.push_back({now, current});
  }
}

BehaviorHistory BehaviorState::History() const {
  BehaviorHistory h;
  std::set<int> later;  // values seen at a later time
  for (auto it = recommendations_.rbegin(); it != recommendations_.rend(); ++it) {
    if (later.insert(it->replicas).second) {
      h.recommendations.emplace_back(it->t, it->replicas);
    }
  }
  std::reverse(h.recommendations.begin(), h.recommendations.end());
  for (const Event& e : events_) {
    h.events.emplace_back(e.t, e.delta);
  }
  return h;
}

void BehaviorState::Merge(const BehaviorHistory& h) {
  for (const auto& [t, n] : h.recommendations) {
    recommendations_.push_back({t, n});
  }
  for (const auto& [t, d] : h.events) {
    events_.push_back({t, d});
  }
  std::stable_sort(recommendations_.begin(), recommendations_.end(),
                   [](const Rec& a, const Rec& b) { return a.t < b.t; });
  std::stable_sort(events_.begin(), events_.end(),
                   [](const Event& a, const Event& b) { return a.t < b.t; });
}

int BehaviorState::Next(double now, int recommendation, int current, int min_replicas,
                        std::optional<int> max_replicas) {
  // Forget what no window or period can see any more.
  const double keep =
      std::max(behavior_.scale_up.stabilization_s, behavior_.scale_down.stabilization_s);
  while (!recommendations_.empty() && recommendations_.front().t < now - keep - 1e-9) {
    recommendations_.pop_front();
  }
  double longest_period = 0;
  for (const auto& p : behavior_.scale_up.policies) {
    longest_period = std::max(longest_period, p.period_s);
  }
  for (const auto& p : behavior_.scale_down.policies) {
    longest_period = std::max(longest_period, p.period_s);
  }
  while (!events_.empty() && events_.front().t <= now - longest_period) {
    events_.pop_front();
  }

  const int raw = Clamp(recommendation, min_replicas, max_replicas);
  // Stabilization: scale up to the lowest, down to the highest recommendation in the window
  // (records strictly after the cutoff count, as in Kubernetes).
  int up = raw, down = raw;
  for (const Rec& r : recommendations_) {
    if (r.t > now - behavior_.scale_up.stabilization_s + 1e-9) {
      up = std::min(up, r.replicas);
    }
    if (r.t > now - behavior_.scale_down.stabilization_s + 1e-9) {
      down = std::max(down, r.replicas);
    }
  }
  recommendations_.push_back({now, raw});
  int desired = current;
  if (desired < up) {
    desired = up;
  }
  if (desired > down) {
    desired = down;
  }

  if (desired > current) {
    desired = std::min(desired, ScaleUpLimit(now, current));
  } else if (desired < current) {
    desired = std::max(desired, ScaleDownLimit(now, current));
  }
  desired = Clamp(desired, min_replicas, max_replicas);
  if (desired != current) {
    events_.push_back({now, desired - current});
  }
  return desired;
}

}  // namespace wva::core
