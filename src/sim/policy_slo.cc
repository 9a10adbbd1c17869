#include "sim/policy_slo.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "core/saturation.h"

namespace wva::sim {

core::PerfProfile ToPerfProfile(const Profile& p) {
  core::PerfProfile q;
  q.alpha_ms = p.alpha_ms;
  q.beta_ms = p.beta_ms;
  q.gamma_ms = p.gamma_ms;
  q.delta_ms = p.delta_ms;
  q.max_batch = p.max_num_seqs;
  q.kv_capacity_tokens = p.kv_capacity_tokens();
  q.max_batched_tokens = p.max_num_batched_tokens;
  return q;
}

core::SloInput WvaSloPolicy::BuildSloInput(const ControllerView& view) {
  core::SloInput in;
  const FleetConfig& fleet = *view.fleet;
  in.targets.ttft_ms = fleet.slo.ttft_ms;
  in.targets.itl_ms = fleet.slo.itl_ms * o_.itl_fraction;
  // A request is good only when both its TTFT and its ITL are: split the miss budget.
  const double p = std::min(0.9998, std::max(o_.percentile, fleet.slo.percentile));
  in.targets.percentile = 1 - (1 - p) / 2;
  in.targets.itl_percentile = 1 - (1 - p) / 2;
  in.targets.headroom = o_.headroom;
  if (view.mean_prompt_tokens > 0) last_prompt_ = view.mean_prompt_tokens;
  if (view.mean_output_tokens > 0) last_output_ = view.mean_output_tokens;
  rates_.emplace_back(view.now_s, view.arrival_rate_rps);
  while (!rates_.empty() && rates_.front().first < view.now_s - std::max(o_.hold_s, 3600.0)) {
    rates_.erase(rates_.begin());
  }
  const size_t k = std::min(rates_.size(), static_cast<size_t>(std::max(1, o_.history)));
  const std::vector<std::pair<double, double>> recent(rates_.end() - k, rates_.end());
  double lead = o_.lead_s;
  if (lead < 0) {
    double sum = 0;
    for (const VariantConfig& v : fleet.variants) sum += (v.startup_min_s + v.startup_max_s) / 2;
    lead = (fleet.variants.empty() ? 0 : sum / fleet.variants.size()) + fleet.interval_s;
  }
  in.workload.arrival_rate =
      std::max(core::ForecastRate(recent, lead), core::PeakHoldRate(rates_, o_.hold_s));
  if (o_.feedback) {
    int pending = 0;
    for (const VariantView& v : view.variants) pending += v.starting;
    in.workload.arrival_rate *= correction_.Update(view.now_s, view.window_finished,
                                                   view.window_good, p, pending > 0);
  }
  in.workload.input = {last_prompt_, o_.cv * last_prompt_};
  in.workload.output = {std::max(1.0, last_output_), o_.cv * std::max(1.0, last_output_)};
  for (const VariantConfig& v : fleet.variants) in.profiles.push_back(ToPerfProfile(v.profile));
  return in;
}

void WvaSloPolicy::Run(const ControllerView& view, std::vector<Signal>* out) {
  const core::SloInput slo = BuildSloInput(view);
  core::ModelDecision d;
  if (last_prompt_ <= 0) {
    d = core::Decide(view.input);  // no traffic seen yet: nothing to size from
  } else {
    d = core::DecideWithSlo(view.input, slo).decision;
  }
  // Peak hold needs a full look-back before it may release capacity: until then the peak of
  // the traffic is unknown, so no variant goes below its current count.
  if (first_run_s_ < 0) first_run_s_ = view.now_s;
  if (view.now_s - first_run_s_ < o_.hold_s) {
    for (core::VariantDecision& x : d.decisions) {
      if (x.target_replicas < x.current_replicas && x.action != core::Action::kHold) {
        x.target_replicas = x.current_replicas;
        x.action = core::Action::kNone;
      }
    }
  }
  reason_ = PublishDecisions(d, out);
}

StatusOr<std::unique_ptr<Policy>> MakeWvaSloPolicy(std::string_view spec) {
  WvaSloPolicy::Options o;
  std::string_view rest;
  if (spec.size() > 7 && spec[7] == ':') rest = spec.substr(8);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view kv = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
    const size_t eq = kv.find('=');
    double v = 0;
    bool ok = eq != std::string_view::npos;
    if (ok) {
      const std::string_view num = kv.substr(eq + 1);
      auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
      ok = ec == std::errc() && p == num.data() + num.size() && std::isfinite(v);
    }
    const std::string_view key = ok ? kv.substr(0, eq) : "";
    if (ok && key == "p" && v > 0.5 && v < 1) o.percentile = v;
    else if (ok && key == "headroom" && v >= 0 && v <= 0.9) o.headroom = v;
    else if (ok && key == "cv" && v >= 0 && v <= 10) o.cv = v;
    else if (ok && key == "itl" && v > 0 && v <= 1) o.itl_fraction = v;
    else if (ok && key == "lead" && v >= 0 && v <= 7200) o.lead_s = v;
    else if (ok && key == "hold" && v >= 0 && v <= 3600) o.hold_s = v;
    else if (ok && key == "feedback" && (v == 0 || v == 1)) o.feedback = v == 1;
    else if (ok && key == "fbmax" && v >= 1 && v <= 100) o.correction.max_factor = v;
    else if (ok && key == "release" && v >= 0 && v <= 86400) o.correction.release_s = v;
    else if (ok && key == "gain" && v >= 0 && v <= 1000) o.correction.gain = v;
    else {
      return Err(InvalidArgumentError(fmt::format(
          "--policy {}: bad option \"{}\" (p=(0.5,1), headroom=[0,0.9], cv=[0,10], itl=(0,1], "
          "lead=[0,7200], hold=[0,3600], feedback=0|1, fbmax=[1,100], release=[0,86400], gain=[0,1000])",
          spec, kv)));
    }
  }
  return std::unique_ptr<Policy>(std::make_unique<WvaSloPolicy>(std::string(spec), o));
}

}  // namespace wva::sim
