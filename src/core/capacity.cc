#include "core/capacity.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "core/decision_steps.h"
#include "core/saturation.h"

namespace wva::core {

double DerivedK2(double b, double s, double prompt, double output) {
  if (!(b > 0) || !(s > 0) || !(prompt >= 0) || !(output > 0)) {
    return 0;
  }
  const double n = std::min(b * output / (prompt + output), s);
  return n * (prompt + output / 2);
}

namespace {

double Median(std::vector<double> v) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

using State = VariantHold;

// One DecideTokenBased call. The holds, transitions and clamp are V1's own (decision_steps.h);
// only the sizing (how much, which variant) differs.
class TokenDecider {
 public:
  explicit TokenDecider(const ModelInput& in)
      : in_(in),
        c_(in.config),
        nv_(static_cast<int>(in.variants.size())),
        n_{std::vector<int>(nv_, 0), std::vector<int>(nv_, 0)} {}

  ModelDecision Run() {
    out_.analyzer = AnalyzerKind::kTokenBasedV2;
    a_ = Analyze(in_);  // V1's pass over the samples: usable counts and the incomplete list
    Size();
    a_.should_scale_up = cap_.required > kEpsilon;
    a_.can_scale_down = !a_.should_scale_up && cap_.spare > kEpsilon;
    a_.avg_spare_kv = 0;
    a_.avg_spare_queue = 0;
    out_.analysis = a_;
    state_ = InitDecisions(in_, a_.metrics_available, n_, &out_);
    FindTransitions(in_, n_, &out_);
    if (!a_.metrics_available) {
      // Rule 7: nothing usable; every variant holds (InitDecisions).
    } else if (!out_.transitions.empty()) {
      HoldForTransition();
    } else if (a_.should_scale_up) {
      ScaleUp();
    } else if (a_.can_scale_down && a_.complete_data() && !cap_.token_stats_missing) {
      ScaleDown();
    } else if (a_.can_scale_down) {
      WithholdScaleDown();
    } else {
      Steady();
    }
    ClampTargets(in_, &out_);
    out_.analysis = a_;
    out_.capacity = std::move(cap_);
    return std::move(out_);
  }

 private:
  double TokensPerRequest() const { return in_.mean_prompt_tokens + in_.mean_output_tokens; }

  // Per-replica capacity and demand; per-variant capacity (median); model demand and supply.
  void Size() {
    cap_.variants.resize(nv_);
    const double per_request = TokensPerRequest();
    // KV capacity per variant from the replicas that report it: a replica without
    // cache_config_info borrows its variant's median (same Deployment, same engine arguments).
    std::vector<std::vector<double>> known(nv_);
    for (const ReplicaSample& s : in_.replicas) {
      if (UsableSample(s, nv_) && s.kv_capacity_tokens > 0 && std::isfinite(s.kv_capacity_tokens)) {
        known[s.variant].push_back(s.kv_capacity_tokens);
      }
    }
    std::vector<std::vector<double>> effective(nv_), observed(nv_);
    for (const ReplicaSample& s : in_.replicas) {
      if (!UsableSample(s, nv_)) {
        if (s.variant >= 0 && s.variant < nv_) {
          ++n_.unusable[s.variant];
        }
        continue;
      }
      const VariantState& v = in_.variants[s.variant];
      double kv_tokens = s.kv_capacity_tokens > 0 && std::isfinite(s.kv_capacity_tokens)
                             ? s.kv_capacity_tokens
                             : Median(known[s.variant]);
      if (!(kv_tokens > 0) && v.capacity_hint && *v.capacity_hint > 0) {
        kv_tokens = *v.capacity_hint / c_.kv_cache_threshold;
      }
      if (!(kv_tokens > 0)) {
        // Demand cannot be measured in tokens: the pod is not data (rule 7).
        ++n_.unusable[s.variant];
        a_.incomplete.push_back({s.pod, s.variant, SampleProblem::kNoCapacity});
        --a_.replicas;
        continue;
      }
      ++n_.usable[s.variant];
      const double in_use = std::round(s.kv_cache_usage * kv_tokens);
      const double demand = in_use + s.queue_length * per_request;
      if (s.queue_length > 0 && !(per_request > 0)) {
        cap_.token_stats_missing = true;
      }
      const double k1 = kv_tokens * c_.kv_cache_threshold;
      double k2 = 0;
      K2Source src = K2Source::kMemory;
      if (s.queue_length >= c_.queue_length_threshold - kEpsilon && in_use > 0) {
        k2 = in_use;
        src = K2Source::kObserved;
        observed[s.variant].push_back(in_use);
      } else if (v.k2_history && *v.k2_history > 0) {
        k2 = *v.k2_history;
        src = K2Source::kHistory;
      } else if (double d =
                     DerivedK2(v.max_num_batched_tokens.value_or(0), v.max_num_seqs.value_or(0),
                               in_.mean_prompt_tokens, in_.mean_output_tokens);
                 d > 0) {
        k2 = d;
        src = K2Source::kDerived;
      } else {
        k2 = k1;
      }
      const double eff = std::min(k1, k2);
      if (demand < eff - kEpsilon) {
        ++non_saturated_;
      }
      effective[s.variant].push_back(eff);
      VariantCapacity& vc = cap_.variants[s.variant];
      vc.demand += demand;
      ++vc.replicas;
      // The strongest evidence seen for the variant names its source.
      if (vc.k2_source == K2Source::kNone ||
          static_cast<int>(src) < static_cast<int>(vc.k2_source)) {
        vc.k2_source = src;
      }
      cap_.demand += demand;
    }
    a_.metrics_available = a_.replicas > 0;
    a_.non_saturated = non_saturated_;
    for (int i = 0; i < nv_; ++i) {
      VariantCapacity& vc = cap_.variants[i];
      const VariantState& v = in_.variants[i];
      vc.per_replica_capacity = Median(effective[i]);
      if (vc.per_replica_capacity <= 0 && v.capacity_hint && *v.capacity_hint > 0) {
        vc.per_replica_capacity = *v.capacity_hint;
      }
      if (!observed[i].empty()) {
        vc.observed_k2 = std::accumulate(observed[i].begin(), observed[i].end(), 0.0) /
                         static_cast<double>(observed[i].size());
      }
      cap_.supply += n_.usable[i] * vc.per_replica_capacity;
      // Replicas counted in spec.replicas but not reporting are coming: capacity for scale-up.
      cap_.anticipated_supply +=
          std::max(v.current_replicas, n_.usable[i]) * vc.per_replica_capacity;
    }
    if (!a_.metrics_available) {
      return;
    }
    cap_.required = std::max(0.0, cap_.demand / c_.scale_up_threshold - cap_.anticipated_supply);
    cap_.spare = std::max(0.0, cap_.supply - cap_.demand / c_.scale_down_boundary);
  }

  int Running(int i) const { return in_.variants[i].ready_replicas + n_.unusable[i]; }
  double Prc(int i) const { return cap_.variants[i].per_replica_capacity; }

  std::string Load() const {
    return fmt::format("demand {:.0f} tokens, supply {:.0f} (anticipated {:.0f})", cap_.demand,
                       cap_.supply, cap_.anticipated_supply);
  }

  std::string WouldDo() const {
    if (a_.should_scale_up) {
      return fmt::format("scale-up needed ({}; {:.0f} tokens short of {:g} utilization)", Load(),
                         cap_.required, c_.scale_up_threshold);
    }
    if (a_.can_scale_down) {
      return fmt::format("scale-down safe ({})", Load());
    }
    return "steady";
  }

  void HoldForTransition() {
    std::string what;
    for (const Transition& t : out_.transitions) {
      if (!what.empty()) {
        what += ", ";
      }
      const std::string& name = in_.variants[t.variant].name;
      what += t.desired_replicas != 0
                  ? fmt::format("{} {} -> {} not yet applied", name, t.current_replicas,
                                t.desired_replicas)
                  : fmt::format("{} has {} replica(s) starting", name, t.starting_replicas);
    }
    const std::string would = WouldDo();
    for (int i = 0; i < nv_; ++i) {
      const VariantState& v = in_.variants[i];
      VariantDecision& d = out_.decisions[i];
      if (state_[i] == State::kHeld) {
        continue;
      }
      if (state_[i] == State::kPreserved) {
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

  // Cost per token of capacity, ascending; ties by name.
  bool MoreEfficient(int x, int y) const {
    const double ex = in_.variants[x].cost / Prc(x);
    const double ey = in_.variants[y].cost / Prc(y);
    if (std::fabs(ex - ey) > kEpsilon * std::max(1.0, std::fabs(ex))) {
      return ex < ey;
    }
    return in_.variants[x].name < in_.variants[y].name;
  }

  void ScaleUp() {
    std::vector<int> order;
    for (int i = 0; i < nv_; ++i) {
      const VariantState& v = in_.variants[i];
      VariantDecision& d = out_.decisions[i];
      if (state_[i] != State::kFree) {
        continue;
      }
      if (v.max_replicas && v.current_replicas >= *v.max_replicas) {
        d.driver = Driver::kBounds;
        d.reason = fmt::format("{} but at maxReplicas {}", WouldDo(), *v.max_replicas);
        continue;
      }
      if (Prc(i) <= 0) {
        d.reason = fmt::format("{} but this variant's capacity per replica is unknown", WouldDo());
        continue;
      }
      order.push_back(i);
    }
    std::sort(order.begin(), order.end(), [this](int x, int y) { return MoreEfficient(x, y); });
    double left = cap_.required;
    std::string grown;
    for (int i : order) {
      if (left <= kEpsilon) {
        break;
      }
      const VariantState& v = in_.variants[i];
      const int base = std::max(Running(i), v.current_replicas);
      int add = static_cast<int>(std::ceil(left / Prc(i) - kEpsilon));
      if (v.max_replicas) {
        add = std::min(add, *v.max_replicas - base);
      }
      if (add <= 0) {
        continue;
      }
      VariantDecision& d = out_.decisions[i];
      d.target_replicas = base + add;
      d.driver = Driver::kSaturation;
      d.reason = fmt::format(
          "{}; lowest cost per capacity (${:.2f}/h for {:.0f} tokens per replica): {} -> {}",
          WouldDo(), v.cost, Prc(i), v.current_replicas, d.target_replicas);
      left -= add * Prc(i);
      if (!grown.empty()) {
        grown += ", ";
      }
      grown += v.name;
    }
    FillEmptyReasons(grown.empty()
                         ? fmt::format("{} but no eligible variant", WouldDo())
                         : fmt::format("scale-up goes to {} (lower cost per capacity)", grown));
  }

  void ScaleDown() {
    std::vector<int> order;
    for (int i = 0; i < nv_; ++i) {
      if (state_[i] == State::kFree && Prc(i) > 0) {
        order.push_back(i);
      }
    }
    // Most expensive first (ties: name descending), as V1's rule 6.
    std::sort(order.begin(), order.end(), [this](int x, int y) {
      const VariantState& vx = in_.variants[x];
      const VariantState& vy = in_.variants[y];
      if (vx.cost != vy.cost) {
        return vx.cost > vy.cost;
      }
      return vx.name > vy.name;
    });
    double left = cap_.spare;
    std::string shrunk;
    for (int i : order) {
      const VariantState& v = in_.variants[i];
      VariantDecision& d = out_.decisions[i];
      const int floor = std::max(1, v.min_replicas);
      const int removable = std::min(static_cast<int>(std::floor(left / Prc(i) + kEpsilon)),
                                     v.ready_replicas - floor);
      if (removable <= 0) {
        if (v.ready_replicas - 1 < floor) {
          d.reason = fmt::format("scale-down safe but {} ready replica(s) is the floor (min {})",
                                 v.ready_replicas, floor);
        }
        continue;
      }
      d.target_replicas = v.ready_replicas - removable;
      d.driver = Driver::kSaturation;
      d.reason = fmt::format(
          "spare capacity: {} ({:.0f} tokens above {:g} utilization); most expensive eligible "
          "variant (${:.2f}/h): {} -> {}",
          Load(), cap_.spare, c_.scale_down_boundary, v.cost, v.current_replicas,
          d.target_replicas);
      left -= removable * Prc(i);
      if (!shrunk.empty()) {
        shrunk += ", ";
      }
      shrunk += v.name;
    }
    FillEmptyReasons(shrunk.empty()
                         ? fmt::format("scale-down safe ({}) but less than one replica of spare "
                                       "capacity on any eligible variant",
                                       Load())
                         : fmt::format("scale-down goes to {} (more expensive)", shrunk));
  }

  void WithholdScaleDown() {
    const std::string why = cap_.token_stats_missing && a_.complete_data()
                                ? std::string(
                                      "requests are waiting but the mean prompt/output "
                                      "tokens are unknown")
                                : fmt::format("data incomplete ({})", IncompleteText(a_, in_));
    for (int i = 0; i < nv_; ++i) {
      if (state_[i] != State::kFree) {
        continue;
      }
      VariantDecision& d = out_.decisions[i];
      d.driver = Driver::kIncomplete;
      d.reason = fmt::format("{}, but {}; no scale-down on partial data", WouldDo(), why);
    }
  }

  void Steady() {
    for (int i = 0; i < nv_; ++i) {
      if (state_[i] != State::kFree) {
        continue;
      }
      out_.decisions[i].reason =
          fmt::format("steady: {} between the {:g} scale-down and {:g} scale-up utilizations",
                      Load(), c_.scale_down_boundary, c_.scale_up_threshold);
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
  const SaturationConfig& c_;
  const int nv_;
  Analysis a_;
  CapacityAnalysis cap_;
  int non_saturated_ = 0;
  // usable: replicas whose demand is counted; unusable: Ready pods without usable data (incl.
  // unknown capacity).
  SampleCounts n_;
  std::vector<State> state_;
  ModelDecision out_;
};

}  // namespace

ModelDecision DecideTokenBased(const ModelInput& in) { return TokenDecider(in).Run(); }

ModelDecision DecideModel(const ModelInput& in) {
  if (in.config.analyzer == AnalyzerKind::kTokenBasedV2) {
    return DecideTokenBased(in);
  }
  return Decide(in);
}

std::optional<double> CapacityMemory::K2Mean() const {
  if (k2.empty()) {
    return std::nullopt;
  }
  return std::accumulate(k2.begin(), k2.end(), 0.0) / static_cast<double>(k2.size());
}

void CapacityMemory::Record(const VariantCapacity& vc) {
  if (vc.observed_k2) {
    k2.push_back(*vc.observed_k2);
    if (k2.size() > kK2Window) {
      k2.erase(k2.begin());
    }
  }
  if (vc.replicas > 0 && vc.per_replica_capacity > 0) {
    per_replica = vc.per_replica_capacity;
  }
}

void CapacityMemory::ApplyTo(VariantState* v) const {
  v->k2_history = K2Mean();
  if (per_replica > 0) {
    v->capacity_hint = per_replica;
  }
}

}  // namespace wva::core
