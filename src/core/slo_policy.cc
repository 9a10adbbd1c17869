#include "core/slo_policy.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/capacity.h"
#include "core/saturation.h"

namespace wva::core {

double ForecastRate(const std::vector<std::pair<double, double>>& history, double lead_s) {
  if (history.empty()) {
    return 0;
  }
  const double last = history.back().second;
  if (history.size() < 5 || lead_s <= 0) {
    return last;
  }
  double st = 0, sr = 0;
  for (const auto& [t, r] : history) {
    st += t;
    sr += r;
  }
  const double n = static_cast<double>(history.size());
  const double mt = st / n, mr = sr / n;
  double stt = 0, str = 0;
  for (const auto& [t, r] : history) {
    stt += (t - mt) * (t - mt);
    str += (t - mt) * (r - mr);
  }
  if (stt <= 0) {
    return last;
  }
  const double slope = str / stt;
  if (slope <= 0) {
    return last;
  }
  // Extrapolate only a trend that stands out of the noise (slope > 2 standard errors): minute
  // rates of steady traffic wobble, and a noisy "trend" times a start-up delay buys replicas.
  double sse = 0;
  for (const auto& [t, r] : history) {
    const double e = r - (mr + slope * (t - mt));
    sse += e * e;
  }
  const double se = std::sqrt(sse / std::max(1.0, n - 2) / stt);
  if (slope < 2 * se) {
    return last;
  }
  const double at = mr + slope * (history.back().first + lead_s - mt);
  return std::clamp(at, last, 2 * last);
}

double PeakHoldRate(const std::vector<std::pair<double, double>>& history, double hold_s) {
  if (history.empty()) {
    return 0;
  }
  const double newest = history.back().first;
  double peak = 0;
  for (const auto& [t, r] : history) {
    if (t >= newest - hold_s - 1e-9) {
      peak = std::max(peak, r);
    }
  }
  return peak;
}

double LoadCorrection::Update(double t_s, int64_t finished, int64_t good, double goal,
                              bool pending) {
  const double dt = last_t_ < 0 ? 0 : std::max(0.0, t_s - last_t_);
  last_t_ = t_s;
  if (finished < o_.min_requests || !(goal > 0 && goal < 1)) {
    return factor_;
  }
  const double share =
      static_cast<double>(std::clamp<int64_t>(good, 0, finished)) / static_cast<double>(finished);
  const double miss = 1 - share, budget = 1 - goal;
  if (miss > budget) {
    if (!pending) {
      const double step = std::min(o_.max_step, 1 + o_.gain * (miss - budget));
      factor_ = std::min(o_.max_factor, factor_ * step);
    }
  } else if (miss <= budget / 2 && o_.release_s > 0) {
    factor_ = 1 + (factor_ - 1) * std::exp(-dt / o_.release_s);
    if (factor_ < 1.001) {
      factor_ = 1;
    }
  }
  explain_ = factor_ > 1 ? fmt::format(
                               "load x{:.2f} (observed {:.1f}% within SLO over {} "
                               "requests, goal {:g}%)",
                               factor_, 100 * share, finished, 100 * goal)
                         : "";
  return factor_;
}

ModelInput AssembleModelInput(std::string model_id, std::string ns, SaturationConfig config,
                              std::vector<VariantState> variants,
                              std::vector<ReplicaSample> samples) {
  ModelInput in;
  in.model_id = std::move(model_id);
  in.namespace_ = std::move(ns);
  in.config = config;
  in.variants = std::move(variants);
  const int nv = static_cast<int>(in.variants.size());
  for (VariantState& v : in.variants) {
    v.ready_replicas = 0;
  }
  for (const ReplicaSample& s : samples) {
    if (UsableSample(s, nv)) {
      ++in.variants[s.variant].ready_replicas;
    }
  }
  in.replicas = std::move(samples);
  return in;
}

int64_t GoodRequests(const TrafficObservation& t) {
  if (t.finished <= 0) {
    return 0;
  }
  const int64_t ttft = std::clamp<int64_t>(t.ttft_good, 0, t.finished);
  const int64_t itl = std::clamp<int64_t>(t.itl_good, 0, t.finished);
  return std::max<int64_t>(0, ttft + itl - t.finished);
}

double RateAtOrBelow(const std::vector<std::pair<double, double>>& buckets, double bound_s) {
  double prev_le = 0, prev_rate = 0;
  for (const auto& [le, rate] : buckets) {
    if (!std::isfinite(le)) {
      break;
    }
    if (bound_s <= le) {
      if (le <= prev_le) {
        return rate;
      }
      return prev_rate + (rate - prev_rate) * (bound_s - prev_le) / (le - prev_le);
    }
    prev_le = le;
    prev_rate = rate;
  }
  return prev_rate;
}

void AttainmentFromHistograms(const std::vector<std::pair<double, double>>& ttft,
                              const std::vector<std::pair<double, double>>& itl,
                              const SloTargets& targets, double window_s, TrafficObservation* t) {
  if (ttft.empty() || std::isfinite(ttft.back().first) || ttft.back().second <= 0) {
    return;
  }
  const double total = ttft.back().second;
  t->finished = std::llround(total * window_s);
  const double ttft_share =
      targets.ttft_ms > 0 ? std::min(1.0, RateAtOrBelow(ttft, targets.ttft_ms / 1000) / total) : 1;
  double itl_share = 1;
  if (targets.itl_ms > 0 && !itl.empty() && !std::isfinite(itl.back().first) &&
      itl.back().second > 0) {
    itl_share = std::min(1.0, RateAtOrBelow(itl, targets.itl_ms / 1000) / itl.back().second);
  }
  t->ttft_good = std::llround(ttft_share * static_cast<double>(t->finished));
  t->itl_good = std::llround(itl_share * static_cast<double>(t->finished));
}

void LearnStartup(PolicyState* state, const std::string& variant, double seconds) {
  if (!std::isfinite(seconds) || seconds <= 0 || seconds > 24 * 3600) {
    return;
  }
  auto [it, fresh] = state->startup_s.try_emplace(variant, seconds);
  if (fresh) {
    return;
  }
  // Rises count fully at once, falls a quarter at a time.
  it->second = seconds > it->second ? seconds : it->second + (seconds - it->second) / 4;
}

namespace {

constexpr double kEps = 1e-9;
constexpr double kInf = std::numeric_limits<double>::infinity();

// SLO capacity of one replica of variant i in the sizing (0 when the targets are out of its reach).
double CapacityOf(const SloSizing& s, size_t i) {
  return s.variants[i].usable ? s.variants[i].capacity.max_rate : 0;
}

struct Startups {
  double mean = 0;
  double slowest = 0;
  std::vector<double> per_variant;
};

Startups StartupTimes(const Observation& obs, const PolicyOptions& o, const PolicyState& st) {
  Startups s;
  const size_t nv = obs.input.variants.size();
  for (size_t i = 0; i < nv; ++i) {
    double t = i < obs.startup_s.size() ? obs.startup_s[i] : 0;
    if (t <= 0) {
      auto it = st.startup_s.find(obs.input.variants[i].name);
      t = it != st.startup_s.end() ? it->second : o.default_startup_s;
    }
    s.per_variant.push_back(t);
    s.mean += t / static_cast<double>(nv);
    s.slowest = std::max(s.slowest, t);
  }
  return s;
}

// The sizing targets: a request is good only when both its TTFT and its ITL are, so the miss
// budget of the goal share is split evenly between the two tails.
SloTargets SizingTargets(const SloTargets& t, const PolicyOptions& o) {
  SloTargets out = t;
  const double p = std::min(0.9998, std::max(o.percentile, t.percentile));
  out.percentile = 1 - (1 - p) / 2;
  out.itl_percentile = 1 - (1 - p) / 2;
  out.itl_ms = t.itl_ms * o.itl_fraction;
  return out;
}

double GoalShare(const SloTargets& t, const PolicyOptions& o) {
  return std::min(0.9998, std::max(o.percentile, t.percentile));
}

// Records this cycle's traffic in the state and trims what no rule looks at any more.
void RecordTraffic(const Observation& obs, double keep_s, PolicyState* st) {
  if (st->first_run_s < 0) {
    st->first_run_s = obs.now_s;
  }
  const TrafficObservation& tr = obs.traffic;
  if (!tr.known) {
    return;
  }
  if (tr.mean_prompt_tokens > 0) {
    st->last_prompt = tr.mean_prompt_tokens;
  }
  if (tr.mean_output_tokens > 0) {
    st->last_output = tr.mean_output_tokens;
  }
  st->rates.emplace_back(obs.now_s, std::max(0.0, tr.arrival_rate));
  while (!st->rates.empty() && st->rates.front().first < obs.now_s - keep_s) {
    st->rates.erase(st->rates.begin());
  }
}

std::vector<std::pair<double, double>> Recent(const PolicyState& st, int n) {
  const size_t k = std::min(st.rates.size(), static_cast<size_t>(std::max(1, n)));
  return {st.rates.end() - static_cast<std::ptrdiff_t>(k), st.rates.end()};
}

// Standard error of the newest rate: the larger of the Poisson noise of a count over the window
// and the spread of the recent rates.
double RateNoise(const PolicyState& st, const Observation& obs, int n) {
  if (st.rates.empty()) {
    return 0;
  }
  const double last = st.rates.back().second;
  double noise = std::sqrt(std::max(0.0, last) / std::max(1.0, obs.window_s));
  const auto recent = Recent(st, n);
  if (recent.size() >= 3) {
    double m = 0;
    for (const auto& r : recent) {
      m += r.second / static_cast<double>(recent.size());
    }
    double var = 0;
    for (const auto& r : recent) {
      var += (r.second - m) * (r.second - m);
    }
    noise = std::max(noise, std::sqrt(var / static_cast<double>(recent.size() - 1)));
  }
  return noise;
}

bool ReplicasStarting(const ModelInput& in) {
  for (const VariantState& v : in.variants) {
    if (v.pending_replicas() > 0) {
      return true;
    }
  }
  return false;
}

// Rule 3: the correction factor from this window's attainment, unless the misses are explained
// by the fleet being short while capacity was on its way.
double UpdateCorrection(const Observation& obs, const PolicyOptions& o, const Startups& su,
                        PolicyState* st, std::string* explain) {
  if (!o.feedback) {
    return 1;
  }
  LoadCorrection c(o.correction, std::min(st->correction, o.correction.max_factor),
                   st->correction_t);
  const double recent = su.slowest + obs.window_s + obs.interval_s;
  const bool explained =
      ReplicasStarting(obs.input) ||
      (st->last_deficit_s >= 0 && obs.now_s - st->last_deficit_s <= obs.window_s) ||
      (st->last_scale_up_s >= 0 && obs.now_s - st->last_scale_up_s <= recent);
  const TrafficObservation& tr = obs.traffic;
  if (tr.finished >= 0) {
    c.Update(obs.now_s, tr.finished, GoodRequests(tr), GoalShare(obs.targets, o), explained);
  }
  st->correction = c.factor();
  st->correction_t = c.last_update_s();
  *explain = c.explain();
  return c.factor();
}

struct LoadEstimate {
  double up = 0;    // what the fleet must carry now (forecast over the start-up lead, peak hold)
  double down = 0;  // what it must still carry when a removal has taken effect, plus noise
};

LoadEstimate EstimateLoad(const Observation& obs, const PolicyOptions& o, const Startups& su,
                          const PolicyState& st, double hold_s, double factor) {
  LoadEstimate e;
  if (st.rates.empty()) {
    return e;
  }
  const double lead = o.lead_s >= 0 ? o.lead_s : su.mean + obs.interval_s;
  const auto recent = Recent(st, o.history);
  e.up = std::max(ForecastRate(recent, lead), PeakHoldRate(st.rates, hold_s));
  // A removal takes effect after the actuator's delay (an HPA's stabilization window); should
  // the load come back, a replacement needs the slowest start-up: the load forecast over that
  // lead must still fit.
  const auto longer = Recent(st, 2 * o.history);
  const double down_lead = obs.interval_s + std::max(0.0, obs.removal_delay_s) + su.slowest;
  e.down = std::max(e.up, ForecastRate(longer, down_lead)) + 2 * RateNoise(st, obs, o.history);
  e.up *= factor;
  e.down *= factor;
  return e;
}

SloInput SizingInput(const Observation& obs, const PolicyOptions& o, const PolicyState& st,
                     double load) {
  SloInput si;
  si.targets = SizingTargets(obs.targets, o);
  si.workload.arrival_rate = load;
  const double out_tokens = std::max(1.0, st.last_output);
  si.workload.input = {st.last_prompt, o.cv * st.last_prompt};
  si.workload.output = {out_tokens, o.cv * out_tokens};
  si.profiles = obs.profiles;
  si.profiles.resize(obs.input.variants.size());
  return si;
}

std::vector<bool> FixedVariants(const ModelDecision& sat) {
  std::vector<bool> fixed(sat.decisions.size());
  for (size_t i = 0; i < fixed.size(); ++i) {
    const VariantDecision& d = sat.decisions[i];
    fixed[i] = d.action == Action::kHold || d.driver == Driver::kPreserved;
  }
  return fixed;
}

// Rule 1: does moving from the fleet `from` (replicas per variant, $/h) to `plan` pay for itself?
// The hourly saving over the horizon (never shorter than the slowest start-up involved) must
// exceed what the replicas `plan` adds cost while they start.
bool MixChangePays(const ModelInput& in, const std::vector<int>& from, double from_cost,
                   const SloSizing& plan, const Startups& su, const PolicyOptions& o,
                   std::string* why) {
  double starting_cost = 0, slowest = 0;
  bool grows = false;
  for (size_t i = 0; i < in.variants.size(); ++i) {
    const int add = plan.variants[i].target_replicas - from[i];
    if (!plan.variants[i].usable || add <= 0) {
      continue;
    }
    grows = true;
    starting_cost += add * in.variants[i].cost * su.per_variant[i] / 3600;
    slowest = std::max(slowest, su.per_variant[i]);
  }
  if (!grows) {
    return false;
  }
  const double horizon = std::max(o.mix_horizon_s, slowest);
  const double saving = (from_cost - plan.planned_cost) * horizon / 3600;
  *why = fmt::format("mix change saves ${:.2f} over {:.0f} s against ${:.2f} of start-up", saving,
                     horizon, starting_cost);
  return saving > starting_cost + kEps;
}

std::vector<int> CurrentReplicas(const ModelInput& in) {
  std::vector<int> r;
  for (const VariantState& v : in.variants) {
    r.push_back(v.current_replicas);
  }
  return r;
}

std::vector<int> PlannedReplicas(const SloSizing& plan) {
  std::vector<int> r;
  for (const VariantSizing& v : plan.variants) {
    r.push_back(v.target_replicas);
  }
  return r;
}

// Growth for a deficit (rule 1): the cheapest addition to the fleet as it is, unless the mix rule
// would then move the grown fleet to the cheapest fleet for the load anyway. During a rise the
// cheapest addition is, cycle after cycle, one more replica of a cheap slow variant (a fast one
// costs more than each small deficit needs); the ramp ends with a fleet far dearer than the
// cheapest one, rebuilt later with a second start-up. Then the growth goes toward the cheapest
// fleet at once: every variant grows to at least its count there (its surplus elsewhere goes by
// the scale-down rules once the new replicas serve).
SloSizing GrowthPlan(const ModelInput& in, const SloInput& si, const std::vector<bool>& fixed,
                     const SloSizing& cheapest, const Startups& su, const PolicyOptions& o,
                     std::string* why) {
  SloSizing grow = SizeForSlo(in, si, fixed, MixBounds::kGrowOnly);
  if (!grow.ok || !cheapest.ok || !cheapest.covers_load ||
      cheapest.planned_cost + kEps >= grow.planned_cost) {
    return grow;
  }
  std::string pays;
  if (!MixChangePays(in, PlannedReplicas(grow), grow.planned_cost, cheapest, su, o, &pays)) {
    return grow;
  }
  ModelInput toward = in;
  for (size_t i = 0; i < toward.variants.size(); ++i) {
    if (cheapest.variants[i].usable && !cheapest.variants[i].fixed) {
      toward.variants[i].min_replicas =
          std::max(toward.variants[i].min_replicas, cheapest.variants[i].target_replicas);
    }
  }
  SloSizing plan = SizeForSlo(toward, si, fixed, MixBounds::kGrowOnly);
  if (!plan.ok || !plan.covers_load) {
    return grow;
  }
  *why = fmt::format("grows toward the cheapest mix {} rather than to {} ({})", cheapest.summary,
                     grow.summary, pays);
  return plan;
}

// When the SLO model picked a replica to remove, the rest of the plan's excess may go in the
// same step: replicas of the variant with the worst cost per capacity first, while what is left
// carries the scale-down load, at most half of the model's replicas per step (a bounded step
// limits what a wrong model can take away before the next measurement).
void ExtendScaleDown(const ModelInput& in, const SloSizing& plan, double down_load,
                     ModelDecision* d) {
  int total = 0, removed = 0;
  double left = plan.current_capacity;
  for (size_t i = 0; i < d->decisions.size(); ++i) {
    const VariantDecision& x = d->decisions[i];
    total += in.variants[i].current_replicas;
    if (x.target_replicas < in.variants[i].current_replicas) {
      if (x.driver != Driver::kSlo) {
        return;  // not the SLO model's pick: leave it as it is
      }
      removed += in.variants[i].current_replicas - x.target_replicas;
      left -= (in.variants[i].current_replicas - x.target_replicas) * CapacityOf(plan, i);
    }
  }
  if (removed == 0) {
    return;
  }
  const int max_step = std::max(1, total / 2);
  while (removed < max_step) {
    int pick = -1;
    double worst = -1;
    for (size_t i = 0; i < d->decisions.size(); ++i) {
      const VariantDecision& x = d->decisions[i];
      const VariantSizing& vs = plan.variants[i];
      if (x.action == Action::kHold || !(vs.usable || vs.unreachable) || vs.fixed) {
        continue;
      }
      const int floor = vs.usable ? vs.target_replicas : in.variants[i].min_replicas;
      if (x.target_replicas <= floor || x.target_replicas <= in.variants[i].min_replicas) {
        continue;
      }
      if (in.variants[i].pending_replicas() > 0) {
        continue;
      }
      const double cap = vs.usable ? vs.capacity.max_rate : 0;  // unreachable: carries none
      if (left - cap + kEps < down_load) {
        continue;
      }
      const double ratio = cap > 0 ? in.variants[i].cost / cap : kInf;
      if (ratio > worst) {
        worst = ratio;
        pick = static_cast<int>(i);
      }
    }
    if (pick < 0) {
      return;
    }
    VariantDecision& x = d->decisions[pick];
    --x.target_replicas;
    x.action = Action::kScaleDown;
    x.driver = Driver::kSlo;
    left -= CapacityOf(plan, pick);
    ++removed;
    x.reason = fmt::format(
        "SLO plan {}: its excess goes in one step of at most {} replicas, "
        "{:.2f} req/s left for {:.2f} req/s expected: {} -> {}",
        plan.summary, max_step, left, down_load, in.variants[pick].current_replicas,
        x.target_replicas);
  }
}

// Rule 2: withdraws this cycle's scale-downs when the dwell time after the last scale-up has not
// passed or the capacity left would not carry the load expected when a replacement could be
// ready.
void GuardScaleDown(const ModelInput& in, const SloSizing& sizing, const LoadEstimate& load,
                    double dwell_s, double now_s, const PolicyState& st, ModelDecision* d) {
  double removed = 0;
  bool any = false;
  for (size_t i = 0; i < d->decisions.size(); ++i) {
    const VariantDecision& x = d->decisions[i];
    if (x.action != Action::kScaleDown || x.driver == Driver::kBounds) {
      continue;
    }
    any = true;
    removed += (in.variants[i].current_replicas - x.target_replicas) * CapacityOf(sizing, i);
  }
  if (!any) {
    return;
  }
  std::string why;
  const double left = sizing.current_capacity - removed;
  if (st.last_scale_up_s >= 0 && now_s - st.last_scale_up_s < dwell_s) {
    why = fmt::format("scale-down withheld: the model grew {:.0f} s ago (dwell {:.0f} s)",
                      now_s - st.last_scale_up_s, dwell_s);
  } else if (left + kEps < load.down) {
    why = fmt::format(
        "scale-down withheld: {:.2f} req/s would be left for {:.2f} req/s expected "
        "before a replacement could start (forecast and noise margin)",
        left, load.down);
  } else {
    return;
  }
  for (size_t i = 0; i < d->decisions.size(); ++i) {
    VariantDecision& x = d->decisions[i];
    if (x.action != Action::kScaleDown || x.driver == Driver::kBounds) {
      continue;
    }
    x.target_replicas = in.variants[i].current_replicas;
    x.action = Action::kNone;
    x.driver = Driver::kSteady;
    x.reason = why;
  }
}

// No variant shrinks before a whole look-back of traffic has been seen: until then the peak is
// unknown.
void HoldUntilLookBack(double now_s, double hold_s, const PolicyState& st, ModelDecision* d) {
  if (now_s - st.first_run_s >= hold_s) {
    return;
  }
  for (VariantDecision& x : d->decisions) {
    if (x.action != Action::kScaleDown || x.driver == Driver::kBounds) {
      continue;
    }
    x.target_replicas = x.current_replicas;
    x.action = Action::kNone;
    x.driver = Driver::kSteady;
    x.reason = fmt::format(
        "scale-down withheld: {:.0f} s of traffic seen, the peak-hold look-back "
        "is {:.0f} s",
        now_s - st.first_run_s, hold_s);
  }
}

}  // namespace

PolicyDecision DecidePolicy(const Observation& obs, const PolicyOptions& o, PolicyState* st) {
  PolicyDecision out;
  const ModelInput& in = obs.input;
  const Startups su = StartupTimes(obs, o, *st);
  const double hold_s = o.hold_s > 0 ? std::max(o.hold_s, su.slowest + obs.interval_s) : 0;
  // What the rules read: the peak-hold look-back and the longer trend fit, plus one interval.
  RecordTraffic(obs, std::max(hold_s, 2.0 * o.history * obs.interval_s) + obs.interval_s, st);
  const ModelDecision base = DecideModel(in);
  out.decision = base;
  if (!obs.targets.any()) {
    return out;
  }
  if (in.config.analyzer == AnalyzerKind::kTokenBasedV2) {
    out.slo_note =
        "SLO sizing skipped: it combines with the saturation analyzer (V1) only, and "
        "the configuration selects the token-based analyzer";
    return out;
  }
  if (!base.analysis.metrics_available) {
    return out;  // hold: never act on missing data
  }
  if (!obs.traffic.known) {
    out.slo_note = "SLO sizing skipped: no workload rates this cycle";
    return out;
  }
  if (st->last_prompt <= 0) {
    out.slo_note = "SLO sizing skipped: no request seen yet (no token means to size from)";
    return out;
  }
  const std::vector<bool> fixed = FixedVariants(base);
  // Is the fleet as it is short of the load as observed (before any correction)? Misses in such
  // a window are the start-up delay's doing, not evidence against the model (rule 3).
  const double now_rate = st->rates.empty() ? 0 : st->rates.back().second;
  const SloSizing as_is = SizeForSlo(in, SizingInput(obs, o, *st, now_rate), fixed);
  if (as_is.ok && as_is.current_capacity + kEps < as_is.load) {
    st->last_deficit_s = obs.now_s;
  }
  std::string correction_text;
  out.correction = UpdateCorrection(obs, o, su, st, &correction_text);
  const LoadEstimate load = EstimateLoad(obs, o, su, *st, hold_s, out.correction);
  out.load = load.up;
  const SloInput si = SizingInput(obs, o, *st, load.up);
  SloSizing free = SizeForSlo(in, si, fixed, MixBounds::kFree);
  std::string mix_why;
  SloSizing plan;
  if (!free.ok) {
    plan = std::move(free);
  } else if (free.current_capacity + kEps < free.load) {
    plan = GrowthPlan(in, si, fixed, free, su, o, &mix_why);
  } else if (MixChangePays(in, CurrentReplicas(in), free.current_cost, free, su, o, &mix_why)) {
    plan = std::move(free);
  } else {
    plan = SizeForSlo(in, si, fixed, MixBounds::kShrinkOnly);
  }
  ModelDecision d = CombineWithSlo(in, base, plan);
  ExtendScaleDown(in, plan, load.down, &d);
  HoldUntilLookBack(obs.now_s, hold_s, *st, &d);
  GuardScaleDown(in, plan, load, su.slowest + obs.interval_s, obs.now_s, *st, &d);
  bool grew = false;
  for (VariantDecision& x : d.decisions) {
    grew = grew || x.action == Action::kScaleUp;
    if (x.action == Action::kHold) {
      continue;
    }
    if (!mix_why.empty() && x.driver == Driver::kSlo) {
      x.reason += "; " + mix_why;
    }
    if (!correction_text.empty()) {
      x.reason += "; " + correction_text;
    }
  }
  if (grew) {
    st->last_scale_up_s = obs.now_s;
  }
  if (!plan.ok) {
    out.slo_note = "SLO sizing skipped: " + plan.problem;
  }
  out.decision = std::move(d);
  out.sizing = std::move(plan);
  out.sizing_input = si;
  return out;
}

}  // namespace wva::core
