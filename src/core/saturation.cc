#include "core/saturation.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace wva::core {

const char* ActionName(Action a) {
  switch (a) {
    case Action::kNone: return "none";
    case Action::kScaleUp: return "scale-up";
    case Action::kScaleDown: return "scale-down";
    case Action::kHold: return "hold";
  }
  return "none";
}

const char* DriverName(Driver d) {
  switch (d) {
    case Driver::kSteady: return "steady";
    case Driver::kSaturation: return "saturation";
    case Driver::kPreserved: return "preserved";
    case Driver::kCascade: return "cascade-protection";
    case Driver::kBounds: return "bounds";
    case Driver::kNoMetrics: return "no-metrics";
    case Driver::kSlo: return "slo";
  }
  return "steady";
}

bool UsableSample(const ReplicaSample& s, int num_variants) {
  return s.variant >= 0 && s.variant < num_variants && std::isfinite(s.kv_cache_usage) &&
         std::isfinite(s.queue_length) && s.kv_cache_usage >= 0 && s.kv_cache_usage <= 1 &&
         s.queue_length >= 0;
}

Analysis Analyze(const ModelInput& in) {
  const SaturationConfig& c = in.config;
  const int nv = static_cast<int>(in.variants.size());
  Analysis a;
  double spare_kv = 0, spare_q = 0, sum_kv = 0, sum_q = 0;
  for (const ReplicaSample& s : in.replicas) {
    if (!UsableSample(s, nv)) {
      ++a.dropped_samples;
      continue;
    }
    ++a.replicas;
    // Rule 1: saturated when kv >= T_kv or queue >= T_q (with tolerance for equality).
    const bool saturated = s.kv_cache_usage >= c.kv_cache_threshold - kEpsilon ||
                           s.queue_length >= c.queue_length_threshold - kEpsilon;
    if (saturated) continue;
    ++a.non_saturated;
    spare_kv += c.kv_cache_threshold - s.kv_cache_usage;
    spare_q += c.queue_length_threshold - s.queue_length;
    sum_kv += s.kv_cache_usage;
    sum_q += s.queue_length;
  }
  a.metrics_available = a.replicas > 0;
  if (!a.metrics_available) return a;
  // Rule 2: average spare over the non-saturated replicas; 0 when there are none.
  const int n = a.non_saturated;
  if (n > 0) {
    a.avg_spare_kv = spare_kv / n;
    a.avg_spare_queue = spare_q / n;
  }
  // Rule 3: scale up when either average spare is below its trigger.
  a.should_scale_up = a.avg_spare_kv < c.kv_spare_trigger - kEpsilon ||
                      a.avg_spare_queue < c.queue_spare_trigger - kEpsilon;
  // Rule 4: scale down is safe when N >= 2 and the load spread over N−1 keeps both spares.
  if (!a.should_scale_up && n >= 2) {
    const double kv2 = sum_kv / (n - 1);
    const double q2 = sum_q / (n - 1);
    a.can_scale_down = c.kv_cache_threshold - kv2 >= c.kv_spare_trigger - kEpsilon &&
                       c.queue_length_threshold - q2 >= c.queue_spare_trigger - kEpsilon;
  }
  return a;
}

namespace {

int ClampToBounds(const VariantState& v, int target) {
  target = std::max(target, v.min_replicas);
  if (v.max_replicas) target = std::min(target, *v.max_replicas);
  return std::max(target, 0);
}

std::string ScaleUpWhy(const Analysis& a, const SaturationConfig& c) {
  if (a.non_saturated == 0) {
    return fmt::format("all {} replicas saturated (kv >= {:g} or queue >= {:g})", a.replicas,
                       c.kv_cache_threshold, c.queue_length_threshold);
  }
  std::string why;
  if (a.avg_spare_kv < c.kv_spare_trigger - kEpsilon) {
    why = fmt::format("avg spare kv {:.3f} < {:g}", a.avg_spare_kv, c.kv_spare_trigger);
  }
  if (a.avg_spare_queue < c.queue_spare_trigger - kEpsilon) {
    if (!why.empty()) why += " and ";
    why += fmt::format("avg spare queue {:.2f} < {:g}", a.avg_spare_queue, c.queue_spare_trigger);
  }
  return why;
}

}  // namespace

ModelDecision Decide(const ModelInput& in) {
  ModelDecision out;
  out.analysis = Analyze(in);
  const Analysis& a = out.analysis;
  const int nv = static_cast<int>(in.variants.size());
  out.decisions.resize(nv);

  // Per-variant sample counts: a variant that had samples (or claims ready replicas) but has no
  // usable one left is held, never scaled, whatever the rest of the model says (rule 7).
  // Small fixed buffers for the usual handful of variants keep the hot path allocation-free.
  constexpr int kInline = 16;
  int usable_buf[kInline] = {}, seen_buf[kInline] = {};
  std::vector<int> usable_vec, seen_vec;
  int* usable = usable_buf;
  int* seen = seen_buf;
  if (nv > kInline) {
    usable_vec.assign(nv, 0);
    seen_vec.assign(nv, 0);
    usable = usable_vec.data();
    seen = seen_vec.data();
  }
  for (const ReplicaSample& s : in.replicas) {
    if (s.variant < 0 || s.variant >= nv) continue;
    ++seen[s.variant];
    if (UsableSample(s, nv)) ++usable[s.variant];
  }

  enum class State { kFree, kHeld, kPreserved };
  State state_buf[kInline];
  std::vector<State> state_vec;
  State* state = state_buf;
  if (nv > kInline) {
    state_vec.assign(nv, State::kFree);
    state = state_vec.data();
  }
  std::fill(state, state + nv, State::kFree);
  for (int i = 0; i < nv; ++i) {
    const VariantState& v = in.variants[i];
    VariantDecision& d = out.decisions[i];
    d.variant = v.name;
    d.accelerator = v.accelerator;
    d.current_replicas = v.current_replicas;
    d.target_replicas = v.current_replicas;
    const int last = v.desired_replicas > 0 ? v.desired_replicas : v.current_replicas;
    if (!a.metrics_available || (usable[i] == 0 && (seen[i] > 0 || v.ready_replicas > 0))) {
      state[i] = State::kHeld;
      d.target_replicas = last;
      d.action = Action::kHold;
      d.driver = Driver::kNoMetrics;
      d.reason = !a.metrics_available
                     ? fmt::format("no usable metrics for model {}; holding at {}", in.model_id, last)
                     : fmt::format("no usable metrics from this variant's replicas; holding at {}",
                                   last);
    } else if (v.desired_replicas != 0 && v.desired_replicas != v.current_replicas) {
      state[i] = State::kPreserved;
      d.target_replicas = v.desired_replicas;
      d.driver = Driver::kPreserved;
      d.reason = fmt::format(
          "keeping previous decision {} until the Deployment (now {}) reaches it",
          v.desired_replicas, v.current_replicas);
    }
  }

  auto cost_less = [&](int x, int y) {
    const VariantState& vx = in.variants[x];
    const VariantState& vy = in.variants[y];
    if (vx.cost != vy.cost) return vx.cost < vy.cost;
    return vx.name < vy.name;
  };

  if (a.metrics_available && a.should_scale_up) {
    // Rule 5/6: the cheapest variant not holding a decision, without pending replicas and below
    // its max gets ready + 1.
    const std::string why = ScaleUpWhy(a, in.config);
    int chosen = -1;
    for (int i = 0; i < nv; ++i) {
      const VariantState& v = in.variants[i];
      VariantDecision& d = out.decisions[i];
      if (state[i] != State::kFree) continue;
      if (v.pending_replicas() > 0) {
        d.driver = Driver::kCascade;
        d.reason = fmt::format("scale-up needed ({}) but {} replica(s) still starting (cascade "
                               "protection)", why, v.pending_replicas());
        continue;
      }
      if (v.max_replicas && v.current_replicas >= *v.max_replicas) {
        d.driver = Driver::kBounds;
        d.reason = fmt::format("scale-up needed ({}) but at maxReplicas {}", why, *v.max_replicas);
        continue;
      }
      if (chosen < 0 || cost_less(i, chosen)) chosen = i;
    }
    if (chosen >= 0) {
      const VariantState& v = in.variants[chosen];
      VariantDecision& d = out.decisions[chosen];
      d.target_replicas = v.ready_replicas + 1;
      d.driver = Driver::kSaturation;
      d.reason = fmt::format("{}; cheapest eligible variant (${:.2f}/h): {} -> {}", why, v.cost,
                             v.current_replicas, d.target_replicas);
      for (int i = 0; i < nv; ++i) {
        if (i == chosen || state[i] != State::kFree || !out.decisions[i].reason.empty()) continue;
        out.decisions[i].reason = fmt::format("scale-up goes to cheaper {} (${:.2f}/h vs ${:.2f}/h)",
                                              v.name, v.cost, in.variants[i].cost);
      }
    } else {
      for (int i = 0; i < nv; ++i) {
        if (out.decisions[i].reason.empty()) {
          out.decisions[i].reason = fmt::format("scale-up needed ({}) but no eligible variant", why);
        }
      }
    }
  } else if (a.metrics_available && a.can_scale_down) {
    // Rule 6: the most expensive free variant that keeps at least max(1, min) ready replicas.
    int chosen = -1;
    for (int i = 0; i < nv; ++i) {
      const VariantState& v = in.variants[i];
      if (state[i] != State::kFree) continue;
      if (v.ready_replicas - 1 < std::max(1, v.min_replicas)) {
        out.decisions[i].reason =
            fmt::format("scale-down safe but {} ready replica(s) is the floor (min {})",
                        v.ready_replicas, std::max(1, v.min_replicas));
        continue;
      }
      if (chosen < 0 || cost_less(chosen, i)) chosen = i;
    }
    if (chosen >= 0) {
      const VariantState& v = in.variants[chosen];
      VariantDecision& d = out.decisions[chosen];
      d.target_replicas = v.ready_replicas - 1;
      d.driver = Driver::kSaturation;
      d.reason = fmt::format(
          "spare capacity: load of {} non-saturated replicas fits on {}; most expensive eligible "
          "variant (${:.2f}/h): {} -> {}",
          a.non_saturated, a.non_saturated - 1, v.cost, v.current_replicas,
          d.target_replicas);
      for (int i = 0; i < nv; ++i) {
        if (i == chosen || state[i] != State::kFree) continue;
        VariantDecision& o = out.decisions[i];
        o.reason = o.reason.empty()
                       ? fmt::format("scale-down goes to more expensive {} (${:.2f}/h vs ${:.2f}/h)",
                                     v.name, v.cost, in.variants[i].cost)
                       : o.reason;
      }
    } else {
      for (int i = 0; i < nv; ++i) {
        if (out.decisions[i].reason.empty()) {
          out.decisions[i].reason = "scale-down safe but no eligible variant";
        }
      }
    }
  } else if (a.metrics_available) {
    for (int i = 0; i < nv; ++i) {
      if (state[i] != State::kFree) continue;
      out.decisions[i].reason =
          a.non_saturated < 2
              ? fmt::format("steady: spare within triggers; scale-down needs >= 2 non-saturated "
                            "replicas, have {}", a.non_saturated)
              : fmt::format("steady: spare kv {:.3f}, spare queue {:.2f}; removing a replica "
                            "would drop spare below the triggers",
                            a.avg_spare_kv, a.avg_spare_queue);
    }
  }

  // Rule 8: clamp to [min, max]. A held variant is only raised to min, never lowered: no replica
  // is removed on missing or garbage data.
  for (int i = 0; i < nv; ++i) {
    const VariantState& v = in.variants[i];
    VariantDecision& d = out.decisions[i];
    const int before = d.target_replicas;
    if (d.action == Action::kHold) {
      d.target_replicas = std::max(d.target_replicas, v.min_replicas);
      if (d.target_replicas != before) {
        d.reason += fmt::format("; raised to minReplicas {}", v.min_replicas);
      }
      continue;
    }
    d.target_replicas = ClampToBounds(v, d.target_replicas);
    if (d.target_replicas != before) {
      if (d.driver != Driver::kSaturation && d.driver != Driver::kPreserved) d.driver = Driver::kBounds;
      d.reason += d.target_replicas > before
                      ? fmt::format("; raised to minReplicas {}", v.min_replicas)
                      : fmt::format("; capped at maxReplicas {}", *v.max_replicas);
    }
    if (d.target_replicas > v.current_replicas) d.action = Action::kScaleUp;
    else if (d.target_replicas < v.current_replicas) d.action = Action::kScaleDown;
    else d.action = Action::kNone;
  }
  return out;
}

}  // namespace wva::core
