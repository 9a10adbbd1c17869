// `wva-slo`: the SLO policy of the engine (core::DecidePolicy, core/slo_policy.h) — the same
// function the controller runs — every controller interval, published like `wva` as desired
// replicas. This file only turns the simulator's view into the engine's observation.
//
// Targets: the fleet's `slo` (ttftMs, itlMs; `--slo-ttft-ms` / `--slo-itl-ms` override it).
// Start-up times: each variant's mean start-up delay from the fleet (the controller learns them
// from pod readiness). Options after a colon, comma-separated, change core::PolicyOptions:
// `wva-slo:p=0.99,headroom=0.1,cv=1.0,itl=1,lead=300,hold=600,feedback=1,fbmax=3,release=600,
// gain=10,horizon=1800` — the share of requests that must meet both targets, capacity headroom,
// assumed coefficient of variation of prompt/output lengths, the fraction of the ITL target
// planned for, the forecast horizon (s; default: mean start-up + one interval), the peak-hold
// look-back (s), the closed-loop correction on/off, its largest factor, release time constant
// and gain, and the horizon over which a change of hardware mix must pay for itself (s).
// Profiles: each variant's engine profile (an offline-fitted model, as in upstream).
#pragma once

#include <string>
#include <string_view>

#include "core/slo_policy.h"
#include "sim/policy.h"

namespace wva::sim {

class WvaSloPolicy final : public Policy {
 public:
  struct Options {
    core::PolicyOptions policy;
    double headroom = 0.10;
  };
  WvaSloPolicy(std::string spec, Options o) : spec_(std::move(spec)), o_(o) {}
  std::string Name() const override { return spec_; }
  double PeriodSeconds(const FleetConfig& fleet) const override { return fleet.interval_s; }
  void Run(const ControllerView& view, std::vector<Signal>* out) override;
  std::string LastReason() const override { return reason_; }
  bool ExplainsDecisions() const override { return true; }

  // The observation this policy hands the engine for a view (exposed for tests and the
  // replay-identity test).
  core::Observation ObservationOf(const ControllerView& view) const;
  const core::PolicyState& state() const { return state_; }
  const Options& options() const { return o_; }

 private:
  std::string spec_;
  Options o_;
  std::string reason_;
  core::PolicyState state_;
};

// Parses "wva-slo[:k=v,...]"; InvalidArgument on a bad option.
StatusOr<std::unique_ptr<Policy>> MakeWvaSloPolicy(std::string_view spec);

// The engine's observation of the simulated model: the view's input, the fleet's targets (when
// `with_slo`), profiles and mean start-up times, and the traffic of the last window.
core::Observation ObservationOf(const ControllerView& view, bool with_slo, double headroom);

}  // namespace wva::sim
