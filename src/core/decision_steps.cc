#include "core/decision_steps.h"

#include <algorithm>

#include <fmt/format.h>

namespace wva::core {

int StartingReplicas(const VariantState& v, int unusable) {
  return std::max(0, v.current_replicas - v.ready_replicas - unusable);
}

std::vector<VariantHold> InitDecisions(const ModelInput& in, bool metrics_available,
                                       const SampleCounts& n, ModelDecision* out) {
  const int nv = static_cast<int>(in.variants.size());
  std::vector<VariantHold> state(nv, VariantHold::kFree);
  out->decisions.resize(nv);
  for (int i = 0; i < nv; ++i) {
    const VariantState& v = in.variants[i];
    VariantDecision& d = out->decisions[i];
    d.variant = v.name;
    d.accelerator = v.accelerator;
    d.current_replicas = v.current_replicas;
    d.target_replicas = v.current_replicas;
    const int last = v.desired_replicas > 0 ? v.desired_replicas : v.current_replicas;
    const bool lost = n.usable[i] == 0 && (n.unusable[i] > 0 || v.ready_replicas > 0);
    if (!metrics_available || lost) {
      state[i] = VariantHold::kHeld;
      d.target_replicas = last;
      d.action = Action::kHold;
      d.driver = Driver::kNoMetrics;
      d.reason =
          !metrics_available
              ? fmt::format("no usable metrics for model {}; holding at {}", in.model_id, last)
              : fmt::format("no usable metrics from this variant's replicas; holding at {}", last);
    } else if (v.desired_replicas != 0 && v.desired_replicas != v.current_replicas) {
      state[i] = VariantHold::kPreserved;
      d.target_replicas = v.desired_replicas;
      d.driver = Driver::kPreserved;
      d.reason =
          fmt::format("keeping previous decision {} until the Deployment (now {}) reaches it",
                      v.desired_replicas, v.current_replicas);
    }
  }
  return state;
}

void FindTransitions(const ModelInput& in, const SampleCounts& n, ModelDecision* out) {
  for (int i = 0; i < static_cast<int>(in.variants.size()); ++i) {
    const VariantState& v = in.variants[i];
    const bool unapplied = v.desired_replicas != 0 && v.desired_replicas != v.current_replicas;
    const int starting = StartingReplicas(v, n.unusable[i]);
    if (unapplied || starting > 0) {
      out->transitions.push_back(
          {i, v.current_replicas, unapplied ? v.desired_replicas : 0, starting});
    }
  }
}

void ClampTargets(const ModelInput& in, ModelDecision* out) {
  for (size_t i = 0; i < in.variants.size(); ++i) {
    const VariantState& v = in.variants[i];
    VariantDecision& d = out->decisions[i];
    const int before = d.target_replicas;
    if (d.action == Action::kHold) {
      d.target_replicas = std::max(d.target_replicas, v.min_replicas);
      if (d.target_replicas != before) {
        d.reason += fmt::format("; raised to minReplicas {}", v.min_replicas);
      }
      continue;
    }
    d.target_replicas = std::max(d.target_replicas, v.min_replicas);
    if (v.max_replicas) {
      d.target_replicas = std::min(d.target_replicas, *v.max_replicas);
    }
    d.target_replicas = std::max(d.target_replicas, 0);
    if (d.target_replicas != before) {
      if (d.driver != Driver::kSaturation && d.driver != Driver::kPreserved) {
        d.driver = Driver::kBounds;
      }
      d.reason += d.target_replicas > before
                      ? fmt::format("; raised to minReplicas {}", v.min_replicas)
                      : fmt::format("; capped at maxReplicas {}", *v.max_replicas);
    }
    d.action = d.target_replicas > v.current_replicas   ? Action::kScaleUp
               : d.target_replicas < v.current_replicas ? Action::kScaleDown
                                                        : Action::kNone;
  }
}

}  // namespace wva::core
