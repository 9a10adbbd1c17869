// `wva-slo` (issue #8): the saturation rule combined with SLO-driven sizing
// (core::DecideWithSlo), every controller interval, published like `wva` as desired replicas.
//
// Targets: the fleet's `slo` (ttftMs, itlMs; `--slo-ttft-ms` / `--slo-itl-ms` override it), with
// the TTFT percentile at least 0.99 (the scoring counts a request good only when both its TTFT
// and its mean ITL are within target, so the model aims at the tail). Options after a colon,
// comma-separated: `wva-slo:p=0.99,headroom=0.1,cv=1.0,itl=1,lead=300` — the share of requests
// that must meet both targets (split evenly between the TTFT tail and the per-request ITL tail),
// capacity headroom, assumed coefficient of variation of prompt/output lengths (the view carries
// means only), the fraction of the ITL target the model plans for, and the forecast horizon in
// seconds (default: the fleet's mean start-up delay plus one interval; 0 = no forecast), and
// `hold=600`: the look-back in seconds whose peak arrival rate the fleet stays sized for;
// `feedback=1` (0 = off): the closed-loop correction of the load by the observed attainment
// (core::LoadCorrection) with `fbmax=8` (largest factor), `release=1800` (its release time
// constant, s) and `gain=10`.
// Profiles: each variant's engine profile (an offline-fitted model, as in upstream).
#pragma once

#include <string>
#include <string_view>

#include "core/slo.h"
#include "sim/policy.h"

namespace wva::sim {

class WvaSloPolicy final : public Policy {
 public:
  struct Options {
    double percentile = 0.99;
    double headroom = 0.10;
    double cv = 1.0;
    double itl_fraction = 1.0;
    double lead_s = -1;  // forecast horizon; < 0: the fleet's mean start-up delay + interval
    int history = 5;     // controller cycles in the trend fit
    double hold_s = 600; // size for the peak rate of this look-back (0 = off)
    bool feedback = true;  // correct the model by the observed attainment (core::LoadCorrection)
    core::CorrectionOptions correction;
  };
  WvaSloPolicy(std::string spec, Options o)
      : spec_(std::move(spec)), o_(o), correction_(o.correction) {}
  std::string Name() const override { return spec_; }
  double PeriodSeconds(const FleetConfig& fleet) const override { return fleet.interval_s; }
  void Run(const ControllerView& view, std::vector<Signal>* out) override;
  std::string LastReason() const override { return reason_; }
  bool ExplainsDecisions() const override { return true; }

  // The SLO input the policy builds from a view (exposed for tests).
  core::SloInput BuildSloInput(const ControllerView& view);

 private:
  std::string spec_;
  Options o_;
  std::string reason_;
  double last_prompt_ = 0, last_output_ = 0;  // token means survive idle windows
  std::vector<std::pair<double, double>> rates_;  // (t, arrival rate) of recent cycles
  double first_run_s_ = -1;
  core::LoadCorrection correction_;
};

// Parses "wva-slo[:k=v,...]"; NotFound-free: InvalidArgument on a bad option.
StatusOr<std::unique_ptr<Policy>> MakeWvaSloPolicy(std::string_view spec);

// PerfProfile of the SLO model from the simulator's engine profile.
core::PerfProfile ToPerfProfile(const Profile& p);

}  // namespace wva::sim
