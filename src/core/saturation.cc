#include "core/saturation.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/decision_steps.h"

namespace wva::core {

const char* ActionName(Action a) {
  switch (a) {
    case Action::kNone:
      return "none";
    case Action::kScaleUp:
      return "scale-up";
    case Action::kScaleDown:
      return "scale-down";
    case Action::kHold:
      return "hold";
  }
  return "none";
}

const char* DriverName(Driver d) {
  switch (d) {
    case Driver::kSteady:
      return "steady";
    case Driver::kSaturation:
      return "saturation";
    case Driver::kPreserved:
      return "preserved";
    case Driver::kCascade:
      return "cascade-protection";
    case Driver::kBounds:
      return "bounds";
    case Driver::kNoMetrics:
      return "no-metrics";
    case Driver::kSlo:
      return "slo";
    case Driver::kIncomplete:
      return "incomplete-data";
    case Driver::kScaleToZero:
      return "scale-to-zero";
    case Driver::kStockOut:
      return "stock-out";
    case Driver::kBudget:
      return "gpu-budget";
  }
  return "steady";
}

const char* AnalyzerName(AnalyzerKind k) {
  return k == AnalyzerKind::kTokenBasedV2 ? "saturation-token-based" : "saturation";
}

const char* K2SourceName(K2Source s) {
  switch (s) {
    case K2Source::kNone:
      return "none";
    case K2Source::kObserved:
      return "observed";
    case K2Source::kHistory:
      return "history";
    case K2Source::kDerived:
      return "vllm-args";
    case K2Source::kMemory:
      return "kv-bound";
  }
  return "none";
}

const char* SampleProblemName(SampleProblem p) {
  switch (p) {
    case SampleProblem::kNone:
      return "ok";
    case SampleProblem::kSilent:
      return "silent";
    case SampleProblem::kNaN:
      return "nan";
    case SampleProblem::kInfinite:
      return "inf";
    case SampleProblem::kNegative:
      return "negative";
    case SampleProblem::kOutOfRange:
      return "out-of-range";
    case SampleProblem::kNoCapacity:
      return "no-capacity";
  }
  return "ok";
}

namespace {

SampleProblem ProblemOf(const ReplicaSample& s) {
  if (s.silent) {
    return SampleProblem::kSilent;
  }
  if (std::isnan(s.kv_cache_usage) || std::isnan(s.queue_length)) {
    return SampleProblem::kNaN;
  }
  if (std::isinf(s.kv_cache_usage) || std::isinf(s.queue_length)) {
    return SampleProblem::kInfinite;
  }
  if (s.kv_cache_usage < 0 || s.queue_length < 0) {
    return SampleProblem::kNegative;
  }
  if (s.kv_cache_usage > 1) {
    return SampleProblem::kOutOfRange;
  }
  return SampleProblem::kNone;
}

}  // namespace

bool UsableSample(const ReplicaSample& s, int num_variants) {
  return s.variant >= 0 && s.variant < num_variants && ProblemOf(s) == SampleProblem::kNone;
}

Analysis Analyze(const ModelInput& in) {
  const SaturationConfig& c = in.config;
  const int nv = static_cast<int>(in.variants.size());
  Analysis a;
  double spare_kv = 0, spare_q = 0, sum_kv = 0, sum_q = 0;
  for (const ReplicaSample& s : in.replicas) {
    const bool known_variant = s.variant >= 0 && s.variant < nv;
    if (const SampleProblem p = ProblemOf(s); !known_variant || p != SampleProblem::kNone) {
      // Rule 7: unusable data is dropped, and a Ready pod without usable data makes the view
      // incomplete (a silent pod is often the busiest one).
      if (p != SampleProblem::kSilent) {
        ++a.dropped_samples;
      }
      if (known_variant) {
        a.incomplete.push_back({s.pod, s.variant, p});
      }
      continue;
    }
    ++a.replicas;
    // Rule 1: saturated when kv >= T_kv or queue >= T_q (with tolerance for equality).
    const bool saturated = s.kv_cache_usage >= c.kv_cache_threshold - kEpsilon ||
                           s.queue_length >= c.queue_length_threshold - kEpsilon;
    if (saturated) {
      continue;
    }
    ++a.non_saturated;
    spare_kv += c.kv_cache_threshold - s.kv_cache_usage;
    spare_q += c.queue_length_threshold - s.queue_length;
    sum_kv += s.kv_cache_usage;
    sum_q += s.queue_length;
  }
  a.metrics_available = a.replicas > 0;
  if (!a.metrics_available) {
    return a;
  }
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
  // (Whether the data is complete enough to act on it is rule 7, applied by Decide.)
  if (!a.should_scale_up && n >= 2) {
    const double kv2 = sum_kv / (n - 1);
    const double q2 = sum_q / (n - 1);
    a.can_scale_down = c.kv_cache_threshold - kv2 >= c.kv_spare_trigger - kEpsilon &&
                       c.queue_length_threshold - q2 >= c.queue_spare_trigger - kEpsilon;
  }
  return a;
}

namespace {

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
    if (!why.empty()) {
      why += " and ";
    }
    why += fmt::format("avg spare queue {:.2f} < {:g}", a.avg_spare_queue, c.queue_spare_trigger);
  }
  return why;
}

}  // namespace

namespace {

using State = VariantHold;

// One Decide call: the analysis, each variant's state and the model's transitions, then exactly
// one of hold-for-transition, scale-up, scale-down or steady, then the clamp (rule 8).
class Decider {
 public:
  explicit Decider(const ModelInput& in)
      : in_(in),
        a_(Analyze(in)),
        nv_(static_cast<int>(in.variants.size())),
        n_{std::vector<int>(nv_, 0), std::vector<int>(nv_, 0)} {}

  ModelDecision Run() {
    out_.analysis = a_;
    CountSamples();
    state_ = InitDecisions(in_, a_.metrics_available, n_, &out_);
    FindTransitions(in_, n_, &out_);
    if (!a_.metrics_available) {
      // Rule 7: nothing usable from the whole model; every variant holds (InitDecisions).
    } else if (!out_.transitions.empty()) {
      HoldForTransition();
    } else if (a_.should_scale_up) {
      ScaleUp();
    } else if (a_.can_scale_down && a_.complete_data()) {
      ScaleDown();
    } else if (a_.can_scale_down) {
      WithholdScaleDown();
    } else {
      Steady();
    }
    ClampTargets(in_, &out_);
    return std::move(out_);
  }

 private:
  void CountSamples() {
    for (const ReplicaSample& s : in_.replicas) {
      if (s.variant < 0 || s.variant >= nv_) {
        continue;
      }
      if (UsableSample(s, nv_)) {
        ++n_.usable[s.variant];
      } else {
        ++n_.unusable[s.variant];
      }
    }
  }

  // Ready pods of the variant the input accounts for, usable or not: the base of a scale-up, so
  // that a silent Ready pod is not mistaken for a missing one.
  int Running(int i) const { return in_.variants[i].ready_replicas + n_.unusable[i]; }

  bool CostLess(int x, int y) const {
    const VariantState& vx = in_.variants[x];
    const VariantState& vy = in_.variants[y];
    if (vx.cost != vy.cost) {
      return vx.cost < vy.cost;
    }
    return vx.name < vy.name;
  }

  std::string TransitionText() const {
    std::string text;
    for (const Transition& t : out_.transitions) {
      if (!text.empty()) {
        text += ", ";
      }
      const std::string& name = in_.variants[t.variant].name;
      if (t.desired_replicas != 0) {
        text += fmt::format("{} {} -> {} not yet applied", name, t.current_replicas,
                            t.desired_replicas);
      } else {
        text += fmt::format("{} has {} replica(s) starting", name, t.starting_replicas);
      }
    }
    return text;
  }

  // What the rule would do without the transition, for the reason of a held variant.
  std::string WouldDo() const {
    if (a_.should_scale_up) {
      return fmt::format("scale-up needed ({})", ScaleUpWhy(a_, in_.config));
    }
    if (a_.can_scale_down) {
      return "scale-down safe";
    }
    return "steady";
  }

  void HoldForTransition() {
    const std::string what = TransitionText();
    const std::string would = WouldDo();
    for (int i = 0; i < nv_; ++i) {
      const VariantState& v = in_.variants[i];
      VariantDecision& d = out_.decisions[i];
      if (state_[i] == State::kHeld) {
        continue;
      }
      if (state_[i] == State::kPreserved) {
        // A scale-down the consumer has not applied yet is withdrawn when the model now needs
        // more capacity: keeping it would remove a replica from a model asking for one.
        if (a_.should_scale_up && v.desired_replicas < v.current_replicas) {
          d.target_replicas = v.current_replicas;
          d.driver = Driver::kSaturation;
          d.reason = fmt::format("{}; withdrawing the unapplied scale-down {} -> {}", would,
                                 v.current_replicas, v.desired_replicas);
        } else {
          d.reason += "; model in transition";
        }
        continue;
      }
      d.driver = Driver::kCascade;
      d.reason =
          fmt::format("{}, but model in transition: {} (one transition per model)", would, what);
    }
  }

  void ScaleUp() {
    // Rule 6: the cheapest variant below its max gets one replica more than it runs.
    const std::string why = ScaleUpWhy(a_, in_.config);
    int chosen = -1;
    for (int i = 0; i < nv_; ++i) {
      const VariantState& v = in_.variants[i];
      VariantDecision& d = out_.decisions[i];
      if (state_[i] != State::kFree) {
        continue;
      }
      if (v.max_replicas && v.current_replicas >= *v.max_replicas) {
        d.driver = Driver::kBounds;
        d.reason = fmt::format("scale-up needed ({}) but at maxReplicas {}", why, *v.max_replicas);
        continue;
      }
      if (chosen < 0 || CostLess(i, chosen)) {
        chosen = i;
      }
    }
    if (chosen < 0) {
      FillEmptyReasons(fmt::format("scale-up needed ({}) but no eligible variant", why));
      return;
    }
    const VariantState& v = in_.variants[chosen];
    VariantDecision& d = out_.decisions[chosen];
    d.target_replicas = std::max(Running(chosen), v.current_replicas) + 1;
    d.driver = Driver::kSaturation;
    d.reason = fmt::format("{}; cheapest eligible variant (${:.2f}/h): {} -> {}", why, v.cost,
                           v.current_replicas, d.target_replicas);
    for (int i = 0; i < nv_; ++i) {
      if (i == chosen || state_[i] != State::kFree || !out_.decisions[i].reason.empty()) {
        continue;
      }
      out_.decisions[i].reason = fmt::format("scale-up goes to cheaper {} (${:.2f}/h vs ${:.2f}/h)",
                                             v.name, v.cost, in_.variants[i].cost);
    }
  }

  void ScaleDown() {
    // Rule 6: the most expensive free variant that keeps at least max(1, min) ready replicas.
    int chosen = -1;
    for (int i = 0; i < nv_; ++i) {
      const VariantState& v = in_.variants[i];
      if (state_[i] != State::kFree) {
        continue;
      }
      if (v.ready_replicas - 1 < std::max(1, v.min_replicas)) {
        out_.decisions[i].reason =
            fmt::format("scale-down safe but {} ready replica(s) is the floor (min {})",
                        v.ready_replicas, std::max(1, v.min_replicas));
        continue;
      }
      if (chosen < 0 || CostLess(chosen, i)) {
        chosen = i;
      }
    }
    if (chosen < 0) {
      FillEmptyReasons("scale-down safe but no eligible variant");
      return;
    }
    const VariantState& v = in_.variants[chosen];
    VariantDecision& d = out_.decisions[chosen];
    d.target_replicas = v.ready_replicas - 1;
    d.driver = Driver::kSaturation;
    d.reason = fmt::format(
        "spare capacity: load of {} non-saturated replicas fits on {}; most expensive eligible "
        "variant (${:.2f}/h): {} -> {}",
        a_.non_saturated, a_.non_saturated - 1, v.cost, v.current_replicas, d.target_replicas);
    for (int i = 0; i < nv_; ++i) {
      if (i == chosen || state_[i] != State::kFree || !out_.decisions[i].reason.empty()) {
        continue;
      }
      out_.decisions[i].reason =
          fmt::format("scale-down goes to more expensive {} (${:.2f}/h vs ${:.2f}/h)", v.name,
                      v.cost, in_.variants[i].cost);
    }
  }

  // Rule 7: the load would allow a scale-down, but some Ready pod is silent or unusable.
  void WithholdScaleDown() {
    const std::string pods = IncompleteText(a_, in_);
    for (int i = 0; i < nv_; ++i) {
      if (state_[i] != State::kFree) {
        continue;
      }
      VariantDecision& d = out_.decisions[i];
      d.driver = Driver::kIncomplete;
      d.reason = fmt::format(
          "scale-down safe by the reporting replicas, but data incomplete ({}); "
          "no scale-down on partial data",
          pods);
    }
  }

  void Steady() {
    for (int i = 0; i < nv_; ++i) {
      if (state_[i] != State::kFree) {
        continue;
      }
      out_.decisions[i].reason =
          a_.non_saturated < 2
              ? fmt::format(
                    "steady: spare within triggers; scale-down needs >= 2 non-saturated "
                    "replicas, have {}",
                    a_.non_saturated)
              : fmt::format(
                    "steady: spare kv {:.3f}, spare queue {:.2f}; removing a replica "
                    "would drop spare below the triggers",
                    a_.avg_spare_kv, a_.avg_spare_queue);
    }
  }

  void FillEmptyReasons(const std::string& reason) {
    for (VariantDecision& d : out_.decisions) {
      if (d.reason.empty()) {
        d.reason = reason;
      }
    }
  }

  const ModelInput& in_;
  const Analysis a_;
  const int nv_;
  SampleCounts n_;  // per variant: usable samples, Ready pods whose data is silent or unusable
  std::vector<State> state_;
  ModelDecision out_;
};

}  // namespace

std::string IncompleteText(const Analysis& a, const ModelInput& in) {
  constexpr size_t kNamed = 5;
  std::string text;
  for (size_t k = 0; k < a.incomplete.size() && k < kNamed; ++k) {
    const IncompletePod& p = a.incomplete[k];
    if (!text.empty()) {
      text += ", ";
    }
    const std::string who =
        !p.pod.empty() ? p.pod : fmt::format("a replica of {}", in.variants[p.variant].name);
    text += fmt::format("{} {}", who, SampleProblemName(p.problem));
  }
  if (a.incomplete.size() > kNamed) {
    text += fmt::format(" and {} more", a.incomplete.size() - kNamed);
  }
  return text;
}

ModelDecision Decide(const ModelInput& in) { return Decider(in).Run(); }

}  // namespace wva::core
