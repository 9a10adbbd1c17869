// SLO sizing (docs/slo-sizing.md §2-3): the cheapest mix that carries the load, and its
// combination with the saturation rule.
#include "core/slo.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/saturation.h"

namespace wva::core {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

namespace {

struct Cand {
  int idx;
  double cap;
  double cost;
  int lo, hi, cur;
};

struct Best {
  bool found = false;
  double cost = kInf;
  int distance = 0;
  double capacity = 0;
  std::vector<int> x;
};

// Branch and bound over replica counts of the candidates (sorted by cost per capacity).
class MixSearch {
 public:
  MixSearch(std::vector<Cand> c, double need) : c_(std::move(c)), need_(need), x_(c_.size()) {
    // Suffix lower-bound helpers.
    const size_t n = c_.size();
    suffix_min_cost_.assign(n + 1, 0);
    suffix_min_cap_.assign(n + 1, 0);
    suffix_best_ratio_.assign(n + 1, kInf);
    for (size_t i = n; i-- > 0;) {
      suffix_min_cost_[i] = suffix_min_cost_[i + 1] + c_[i].lo * c_[i].cost;
      suffix_min_cap_[i] = suffix_min_cap_[i + 1] + c_[i].lo * c_[i].cap;
      suffix_best_ratio_[i] = std::min(suffix_best_ratio_[i + 1], c_[i].cost / c_[i].cap);
    }
  }
  bool Run(int64_t node_limit) {
    limit_ = node_limit;
    Dfs(0, 0, 0, 0);
    return nodes_ <= limit_;
  }
  const Best& best() const { return best_; }

 private:
  void Dfs(size_t i, double cost, double cap, int dist) {
    if (++nodes_ > limit_) {
      return;
    }
    if (i == c_.size()) {
      if (cap + 1e-9 < need_) {
        return;
      }
      const bool better =
          !best_.found || cost < best_.cost - 1e-9 ||
          (cost <= best_.cost + 1e-9 &&
           (dist < best_.distance || (dist == best_.distance && cap > best_.capacity + 1e-9)));
      if (better) {
        best_ = {true, cost, dist, cap, x_};
      }
      return;
    }
    // Lower bound: minimums of the rest, plus the rest of the need at the best ratio.
    const double rest_need = std::max(0.0, need_ - cap - suffix_min_cap_[i]);
    const double lb = cost + suffix_min_cost_[i] + rest_need * suffix_best_ratio_[i];
    if (best_.found && lb > best_.cost + 1e-9) {
      return;
    }
    const Cand& c = c_[i];
    for (int x = c.lo; x <= c.hi; ++x) {
      x_[i] = x;
      Dfs(i + 1, cost + x * c.cost, cap + x * c.cap, dist + std::abs(x - c.cur));
      if (cap + x * c.cap >= need_ + c.cap) {
        break;  // more of this one only adds cost
      }
    }
  }

  std::vector<Cand> c_;
  double need_;
  std::vector<int> x_;
  std::vector<double> suffix_min_cost_, suffix_min_cap_, suffix_best_ratio_;
  Best best_;
  int64_t nodes_ = 0, limit_ = 0;
};

std::string Money(double x) { return fmt::format("${:.2f}/h", x); }

}  // namespace

SloSizing SizeForSlo(const ModelInput& in, const SloInput& slo, const std::vector<bool>& fixed,
                     MixBounds bounds) {
  SloSizing out;
  const int nv = static_cast<int>(in.variants.size());
  out.variants.resize(nv);
  for (int i = 0; i < nv; ++i) {
    out.variants[i].target_replicas = in.variants[i].current_replicas;
  }
  if (static_cast<int>(slo.profiles.size()) != nv) {
    out.problem = fmt::format("{} profile slot(s) for {} variant(s)", slo.profiles.size(), nv);
    return out;
  }
  if (!slo.targets.any()) {
    out.problem = "no SLO targets (ttftMs / itlMs) configured";
    return out;
  }
  if (Status s = slo.targets.Validate(); !s.ok()) {
    out.problem = "slo." + s.message();
    return out;
  }
  if (Status s = slo.workload.Validate(); !s.ok()) {
    out.problem = "workload." + s.message();
    return out;
  }
  // Load: arrivals plus the backlog, which must drain within drain_seconds.
  double queued = 0;
  for (const ReplicaSample& s : in.replicas) {
    if (UsableSample(s, nv)) {
      queued += s.queue_length;
    }
  }
  out.load = slo.workload.arrival_rate + queued / slo.targets.drain_seconds;

  std::vector<Cand> cands;
  double fixed_cap = 0;
  int usable = 0;
  // Strict targets first; when no variant can meet them even without load (the request sizes
  // alone miss the tail), best effort (MaxRatePerReplica) rather than no sizing at all.
  for (int pass = 0; pass < 2 && usable == 0; ++pass) {
    cands.clear();
    fixed_cap = out.current_capacity = out.current_cost = 0;
    out.best_effort = false;
    for (int i = 0; i < nv; ++i) {
      const VariantState& v = in.variants[i];
      VariantSizing& vs = out.variants[i];
      vs.fixed = i < static_cast<int>(fixed.size()) && fixed[i];
      if (!slo.profiles[i]) {
        vs.note = "no performance profile: not sized by the SLO model";
        continue;
      }
      if (Status s = slo.profiles[i]->Validate(); !s.ok()) {
        vs.note = "invalid profile: " + s.message();
        continue;
      }
      vs = VariantSizing{};
      vs.target_replicas = v.current_replicas;
      vs.fixed = i < static_cast<int>(fixed.size()) && fixed[i];
      vs.capacity = MaxRatePerReplica(*slo.profiles[i], slo.workload, slo.targets, pass == 1);
      if (!vs.capacity.feasible || vs.capacity.max_rate <= 0) {
        vs.note = "SLO not reachable on this variant: " + vs.capacity.why;
        vs.unreachable = true;
        vs.capacity.max_rate = 0;
        continue;
      }
      vs.usable = true;
      if (vs.capacity.relaxed) {
        vs.note = vs.capacity.why;
      }
      out.best_effort = out.best_effort || vs.capacity.relaxed;
      ++usable;
      out.current_capacity += v.current_replicas * vs.capacity.max_rate;
      out.current_cost += v.current_replicas * v.cost;
      if (vs.fixed) {
        vs.note = "held by the saturation decision";
        fixed_cap += v.current_replicas * vs.capacity.max_rate;
        continue;
      }
      Cand c;
      c.idx = i;
      c.cap = vs.capacity.max_rate;
      c.cost = v.cost;
      c.cur = v.current_replicas;
      c.lo = std::max(0, v.min_replicas);
      const int enough = static_cast<int>(std::ceil(out.load / c.cap - 1e-9));
      c.hi = v.max_replicas ? *v.max_replicas : std::max(c.lo, enough);
      c.hi = std::max(c.hi, c.lo);
      if (bounds == MixBounds::kGrowOnly) {
        c.lo = std::max(c.lo, v.current_replicas);
        c.hi = std::max({c.hi, c.lo, v.current_replicas});
      } else if (bounds == MixBounds::kShrinkOnly) {
        c.hi = std::max(c.lo, std::min(c.hi, v.current_replicas));
      }
      cands.push_back(c);
    }
  }
  if (usable == 0) {
    out.problem = "no variant has a usable performance profile for these targets";
    for (int i = 0; i < nv; ++i) {
      if (!out.variants[i].note.empty()) {
        out.problem += fmt::format("; {}: {}", in.variants[i].name, out.variants[i].note);
      }
    }
    return out;
  }
  std::stable_sort(cands.begin(), cands.end(), [&](const Cand& a, const Cand& b) {
    const double ra = a.cost / a.cap, rb = b.cost / b.cap;
    if (ra != rb) {
      return ra < rb;
    }
    return in.variants[a.idx].name < in.variants[b.idx].name;
  });
  const double need = std::max(0.0, out.load - fixed_cap);
  MixSearch search(cands, need);
  out.exact = search.Run(200000);
  std::vector<int> plan(cands.size());
  if (search.best().found && out.exact) {
    plan = search.best().x;
    out.covers_load = true;
  } else {
    // Greedy fallback (or nothing covers the load): minimums, then the best cost per capacity
    // up to its max, and so on.
    double cap = 0;
    for (size_t k = 0; k < cands.size(); ++k) {
      plan[k] = cands[k].lo;
      cap += plan[k] * cands[k].cap;
    }
    for (size_t k = 0; k < cands.size() && cap + 1e-9 < need; ++k) {
      while (plan[k] < cands[k].hi && cap + 1e-9 < need) {
        ++plan[k];
        cap += cands[k].cap;
      }
    }
    out.covers_load = cap + 1e-9 >= need;
  }
  out.planned_capacity = fixed_cap;
  for (int i = 0; i < nv; ++i) {
    if (out.variants[i].usable && out.variants[i].fixed) {
      out.planned_cost += in.variants[i].current_replicas * in.variants[i].cost;
      out.planned_replicas += in.variants[i].current_replicas;
    }
  }
  std::string mix;
  for (size_t k = 0; k < cands.size(); ++k) {
    const Cand& c = cands[k];
    out.variants[c.idx].target_replicas = plan[k];
    out.planned_capacity += plan[k] * c.cap;
    out.planned_cost += plan[k] * c.cost;
    out.planned_replicas += plan[k];
  }
  for (int i = 0; i < nv; ++i) {
    if (!out.variants[i].usable) {
      continue;
    }
    const int x = out.variants[i].target_replicas;
    if (x == 0) {
      continue;
    }
    mix += fmt::format("{}{} x {}", mix.empty() ? "" : " + ", x, in.variants[i].name);
  }
  if (mix.empty()) {
    mix = "0 replicas";
  }
  out.ok = true;
  out.summary = fmt::format("{} = {:.2f} req/s for load {:.2f} req/s, {}{}{}", mix,
                            out.planned_capacity, out.load, Money(out.planned_cost),
                            out.covers_load ? "" : " (max replicas cannot carry the load)",
                            out.best_effort ? " (best effort: the request sizes alone miss the "
                                              "tail target)"
                                            : "");
  return out;
}

ModelDecision CombineWithSlo(const ModelInput& in, const ModelDecision& sat,
                             const SloSizing& sizing) {
  ModelDecision out = sat;
  const int nv = static_cast<int>(in.variants.size());
  if (!sizing.ok || static_cast<int>(sizing.variants.size()) != nv) {
    for (VariantDecision& d : out.decisions) {
      d.reason += fmt::format("; SLO sizing unavailable ({}), saturation rule alone",
                              sizing.problem.empty() ? "no sizing" : sizing.problem);
    }
    return out;
  }
  // No usable metrics at all: hold, whatever the model says (never act on missing data).
  if (!sat.analysis.metrics_available) {
    return out;
  }

  auto is_fixed = [&](int i) {
    const VariantDecision& d = sat.decisions[i];
    return d.action == Action::kHold || d.driver == Driver::kPreserved;
  };
  auto usable = [&](int i) { return sizing.variants[i].usable && !is_fixed(i); };
  auto unreachable = [&](int i) { return sizing.variants[i].unreachable && !is_fixed(i); };
  auto cap_of = [&](int i) {
    return sizing.variants[i].usable ? sizing.variants[i].capacity.max_rate : 0;
  };
  const std::string load_txt = fmt::format("load {:.2f} req/s vs capacity {:.2f} req/s",
                                           sizing.load, sizing.current_capacity);

  bool slo_up = false;
  for (int i = 0; i < nv; ++i) {
    if (usable(i) && sizing.variants[i].target_replicas > in.variants[i].current_replicas) {
      slo_up = true;
    }
  }
  const bool sat_up = sat.analysis.should_scale_up;

  if (slo_up) {
    // The SLO plan moves every raised variant at once (pending replicas already counted as
    // capacity). Scale-downs of the plan wait until both rules agree in a later cycle.
    for (int i = 0; i < nv; ++i) {
      if (is_fixed(i)) {
        continue;
      }
      const VariantState& v = in.variants[i];
      VariantDecision& d = out.decisions[i];
      const VariantSizing& vs = sizing.variants[i];
      if (usable(i) && vs.target_replicas > v.current_replicas) {
        d.target_replicas = vs.target_replicas;
        d.driver = Driver::kSlo;
        d.reason = fmt::format(
            "SLO: {}; {:.2f} req/s per replica ({}-limited, batch <= {}); cheapest mix {}: {} -> "
            "{}{}",
            load_txt, vs.capacity.max_rate, CapacityLimitName(vs.capacity.limit),
            vs.capacity.max_batch, sizing.summary, v.current_replicas, d.target_replicas,
            sat_up ? " (saturation also asks for scale-up)" : "");
      } else {
        d.target_replicas = v.current_replicas;
        d.driver = Driver::kSteady;
        d.reason =
            fmt::format("SLO scale-up goes elsewhere in the cheapest mix {}", sizing.summary);
      }
    }
  } else if (sat_up) {
    for (int i = 0; i < nv; ++i) {
      VariantDecision& d = out.decisions[i];
      if (is_fixed(i)) {
        continue;
      }
      d.reason += fmt::format("; SLO model: {} (saturation alone drives the scale-up)", load_txt);
    }
  } else if (sat.analysis.can_scale_down && sat.transitions.empty() &&
             sat.analysis.complete_data()) {
    // Scale down only when both rules agree, so never while the model is in transition (rule 5)
    // or some Ready pod is silent (rule 7): the saturation decision then holds as it is.
    // Undo the saturation rule's own pick: the SLO model chooses (or vetoes) the replica to drop.
    int sat_pick = -1;
    for (int i = 0; i < nv; ++i) {
      VariantDecision& d = out.decisions[i];
      if (is_fixed(i)) {
        continue;
      }
      if (d.driver == Driver::kSaturation && d.target_replicas < in.variants[i].current_replicas) {
        sat_pick = i;
      }
      d.target_replicas = in.variants[i].current_replicas;
      d.driver = Driver::kSteady;
    }
    // Unlike the saturation rule's floor of one replica per variant, the SLO plan may empty a
    // variant down to its minReplicas (an expensive variant added for a peak must be able to
    // go again) as long as the model keeps at least one replica.
    int total = 0;
    for (const VariantState& v : in.variants) {
      total += v.current_replicas;
    }
    int chosen = -1;
    for (int i = 0; i < nv; ++i) {
      const VariantState& v = in.variants[i];
      if ((!usable(i) && !unreachable(i)) || v.pending_replicas() > 0 || total - 1 < 1) {
        continue;
      }
      if (usable(i) && sizing.variants[i].target_replicas >= v.current_replicas) {
        continue;
      }
      if (v.current_replicas - 1 < v.min_replicas) {
        continue;
      }
      if (sizing.current_capacity - cap_of(i) + 1e-9 < sizing.load) {
        continue;
      }
      // The replica that buys the least SLO capacity per dollar goes first (not simply the
      // dearest one: a dear variant that carries this workload far better is the one to keep);
      // one that cannot meet the targets at all buys none.
      auto ratio_of = [&](int k) { return cap_of(k) > 0 ? in.variants[k].cost / cap_of(k) : kInf; };
      const double ratio = ratio_of(i);
      const double best = chosen < 0 ? 0 : ratio_of(chosen);
      if (chosen < 0 || ratio > best + 1e-12 ||
          (std::abs(ratio - best) <= 1e-12 && v.name > in.variants[chosen].name)) {
        chosen = i;
      }
    }
    for (int i = 0; i < nv; ++i) {
      if (is_fixed(i)) {
        continue;
      }
      const VariantState& v = in.variants[i];
      VariantDecision& d = out.decisions[i];
      if (i == chosen) {
        d.target_replicas = v.current_replicas - 1;
        d.driver = Driver::kSlo;
        d.reason = fmt::format(
            "saturation and SLO agree on scale-down: {}, {:.2f} req/s left after removing one "
            "{} replica; cheapest mix {}: {} -> {}",
            load_txt, sizing.current_capacity - cap_of(i), v.name, sizing.summary,
            v.current_replicas, d.target_replicas);
      } else if (chosen >= 0) {
        d.reason = fmt::format("scale-down goes to {} (SLO cheapest mix {})",
                               in.variants[chosen].name, sizing.summary);
      } else {
        d.reason = fmt::format(
            "saturation finds scale-down safe{} but the SLO model needs the capacity: {}; "
            "cheapest mix {}",
            sat_pick >= 0 ? fmt::format(" ({})", in.variants[sat_pick].name) : "", load_txt,
            sizing.summary);
      }
    }
  } else {
    bool slo_down = false;
    for (int i = 0; i < nv; ++i) {
      if (usable(i) && sizing.variants[i].target_replicas < in.variants[i].current_replicas) {
        slo_down = true;
      }
    }
    for (int i = 0; i < nv; ++i) {
      if (is_fixed(i)) {
        continue;
      }
      VariantDecision& d = out.decisions[i];
      d.reason += slo_down ? fmt::format(
                                 "; SLO model would shrink to {} but saturation does not "
                                 "agree",
                                 sizing.summary)
                           : fmt::format("; SLO model: {}", load_txt);
    }
  }

  for (int i = 0; i < nv; ++i) {
    const VariantState& v = in.variants[i];
    VariantDecision& d = out.decisions[i];
    if (d.action == Action::kHold) {
      continue;
    }
    int t = std::max(d.target_replicas, v.min_replicas);
    if (v.max_replicas) {
      t = std::min(t, *v.max_replicas);
    }
    d.target_replicas = std::max(t, 0);
    d.action = d.target_replicas > v.current_replicas   ? Action::kScaleUp
               : d.target_replicas < v.current_replicas ? Action::kScaleDown
                                                        : Action::kNone;
  }
  return out;
}

SloDecision DecideWithSlo(const ModelInput& in, const SloInput& slo) {
  SloDecision out;
  out.saturation = Decide(in);
  std::vector<bool> fixed(in.variants.size());
  for (size_t i = 0; i < fixed.size(); ++i) {
    const VariantDecision& d = out.saturation.decisions[i];
    fixed[i] = d.action == Action::kHold || d.driver == Driver::kPreserved;
  }
  out.sizing = SizeForSlo(in, slo, fixed);
  out.decision = CombineWithSlo(in, out.saturation, out.sizing);
  return out;
}

}  // namespace wva::core
