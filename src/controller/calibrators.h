// Feeding the online profile calibration (issue #8, docs/slo-sizing.md §4) from one cycle's
// Prometheus samples: each pod's (batch, observed ITL, mean prompt and output lengths) and
// (prompt, prefill) observations go to the ProfileCalibrator of its variant's (namespace, model,
// accelerator); calibrators of variants that no longer exist are forgotten, the others are aged
// to the cycle's time. Pure: no I/O, and the time comes from the caller (the reconciler's
// injected clock).
#pragma once

#include <map>
#include <string>

#include "controller/planner.h"
#include "core/calibration.h"
#include "prom/calibration.h"

namespace wva::controller {

struct CalibrationFeed {
  int itl_samples = 0;  // observations added this cycle
  int prefill_samples = 0;
  int itl_ignored = 0;        // ITL samples the calibrator refused (unusable values)
  int unattributed_pods = 0;  // pods with samples that map to no managed Deployment
  int forgotten = 0;          // calibrators dropped (their variant is gone)
};

// The calibration key of every Deployment a valid VA targets, by "namespace/deployment". The
// accelerator is resolved exactly as PlanCycle resolves it, so the keys match.
std::map<std::string, CalibrationKey> VariantCalibrationKeys(const CycleInput& in);

// One cycle. `samples` may be null (no SLO model, or calibration queries not run): then the
// calibrators are only pruned and aged. New calibrators get `options`.
CalibrationFeed FeedCalibrators(const CycleInput& in, const prom::CalibrationSnapshot* samples,
                                double t_s, const core::FitOptions& options, Calibrators* cals);

}  // namespace wva::controller
