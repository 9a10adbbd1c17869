// The decision engine: saturation analyzer V1 + cost optimizer (docs/reference.md "Decision
// rules"). Pure: no I/O, no threads, no clocks. The controller, the simulator and `wva analyze`
// all call Decide().
#pragma once

#include <string>

#include "core/types.h"

namespace wva::core {

// Tolerance for threshold comparisons, so values that are equal on paper (0.8 − 0.7 vs 0.1) are
// treated as equal despite binary floating point.
inline constexpr double kEpsilon = 1e-9;

// Rules 1–4 (docs/reference.md "Decision rules") over the usable samples of `input`; unusable
// ones and silent Ready pods are listed in `incomplete`, not used.
Analysis Analyze(const ModelInput& input);

// True when a sample can be used: finite, kv in [0, 1], queue >= 0, variant index valid.
bool UsableSample(const ReplicaSample& s, int num_variants);

// The full decision for one model group: analysis, then per-variant targets with reasons.
ModelDecision Decide(const ModelInput& input);

// "pod-a silent, pod-b nan, ..." for the incomplete pods of `a` (at most five named).
std::string IncompleteText(const Analysis& a, const ModelInput& input);

}  // namespace wva::core
