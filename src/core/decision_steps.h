// The safety steps every capacity analyzer shares (docs/reference.md "Decision rules", rules 5, 7
// and 8): which variants hold (no usable data) or keep an unapplied decision, whether the model
// is in transition, and the final clamp. V1 (saturation.cc) and V2 (capacity.cc) differ only in
// how much to add or remove and where; they call these so the safety rules cannot drift apart.
#pragma once

#include <vector>

#include "core/types.h"

namespace wva::core {

enum class VariantHold { kFree, kHeld, kPreserved };

// Per variant: samples the analyzer can use, and Ready pods whose data it cannot use.
struct SampleCounts {
  std::vector<int> usable;
  std::vector<int> unusable;
};

// Replicas in spec.replicas that neither report nor are known to be Ready: still starting.
int StartingReplicas(const VariantState& v, int unusable);

// Fills each decision's identity and target = current; a variant without usable data holds at
// its last desired (rule 7), one with an unapplied decision keeps it (rule 5). Returns the state.
std::vector<VariantHold> InitDecisions(const ModelInput& in, bool metrics_available,
                                       const SampleCounts& n, ModelDecision* out);

// Rule 5: every variant with an unapplied decision or starting replicas.
void FindTransitions(const ModelInput& in, const SampleCounts& n, ModelDecision* out);

// Rule 8: clamp to [min, max] and set each action; a held variant is only raised to min.
void ClampTargets(const ModelInput& in, ModelDecision* out);

}  // namespace wva::core
