#include "sim/policy_slo.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace wva::sim {

core::Observation ObservationOf(const ControllerView& view, bool with_slo, double headroom) {
  const FleetConfig& fleet = *view.fleet;
  core::Observation obs;
  obs.now_s = view.now_s;
  obs.interval_s = fleet.interval_s;
  obs.window_s = fleet.window_s;
  obs.input = view.input;
  obs.removal_delay_s =
      fleet.actuator == ActuatorKind::kHpa ? fleet.hpa.scale_down.stabilization_s : 0;
  for (const VariantConfig& v : fleet.variants) {
    obs.profiles.push_back(v.profile);
    obs.startup_s.push_back((v.startup_min_s + v.startup_max_s) / 2);
  }
  if (with_slo) {
    obs.targets.ttft_ms = fleet.slo.ttft_ms;
    obs.targets.itl_ms = fleet.slo.itl_ms;
    obs.targets.percentile = fleet.slo.percentile;
    obs.targets.headroom = headroom;
  }
  obs.traffic.known = true;
  obs.traffic.arrival_rate = view.arrival_rate_rps;
  obs.traffic.mean_prompt_tokens = view.mean_prompt_tokens;
  obs.traffic.mean_output_tokens = view.mean_output_tokens;
  obs.traffic.finished = view.window_finished;
  obs.traffic.ttft_good = view.window_ttft_good;
  obs.traffic.itl_good = view.window_itl_good;
  return obs;
}

core::Observation WvaSloPolicy::ObservationOf(const ControllerView& view) const {
  return sim::ObservationOf(view, true, o_.headroom);
}

void WvaSloPolicy::Run(const ControllerView& view, std::vector<Signal>* out) {
  const core::PolicyDecision d = core::DecidePolicy(ObservationOf(view), o_.policy, &state_);
  reason_ = PublishDecisions(d.decision, out);
}

StatusOr<std::unique_ptr<Policy>> MakeWvaSloPolicy(std::string_view spec) {
  WvaSloPolicy::Options o;
  std::string_view rest;
  if (spec.size() > 7 && spec[7] == ':') {
    rest = spec.substr(8);
  }
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
    core::PolicyOptions& po = o.policy;
    if (ok && key == "p" && v > 0.5 && v < 1) {
      po.percentile = v;
    } else if (ok && key == "headroom" && v >= 0 && v <= 0.9) {
      o.headroom = v;
    } else if (ok && key == "cv" && v >= 0 && v <= 10) {
      po.cv = v;
    } else if (ok && key == "itl" && v > 0 && v <= 1) {
      po.itl_fraction = v;
    } else if (ok && key == "lead" && v >= 0 && v <= 7200) {
      po.lead_s = v;
    } else if (ok && key == "hold" && v >= 0 && v <= 3600) {
      po.hold_s = v;
    } else if (ok && key == "feedback" && (v == 0 || v == 1)) {
      po.feedback = v == 1;
    } else if (ok && key == "fbmax" && v >= 1 && v <= 100) {
      po.correction.max_factor = v;
    } else if (ok && key == "release" && v >= 0 && v <= 86400) {
      po.correction.release_s = v;
    } else if (ok && key == "gain" && v >= 0 && v <= 1000) {
      po.correction.gain = v;
    } else if (ok && key == "horizon" && v >= 0 && v <= 86400) {
      po.mix_horizon_s = v;
    } else {
      return Err(InvalidArgumentError(fmt::format(
          "--policy {}: bad option \"{}\" (p=(0.5,1), headroom=[0,0.9], cv=[0,10], itl=(0,1], "
          "lead=[0,7200], hold=[0,3600], feedback=0|1, fbmax=[1,100], release=[0,86400], "
          "gain=[0,1000], horizon=[0,86400])",
          spec, kv)));
    }
  }
  return std::unique_ptr<Policy>(std::make_unique<WvaSloPolicy>(std::string(spec), o));
}

}  // namespace wva::sim
