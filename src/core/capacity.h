// The token-based capacity analyzer (V2, upstream WVA's "saturation-token-based") beside the
// spare-capacity rule (V1, core/saturation.h), and the dispatch between them
// (docs/reference.md "Decision rules", "Token-based capacity (V2)"). Pure: no I/O, no clocks.
//
// Per replica: capacity k1 = KV tokens x kvCacheThreshold (memory bound) and a compute bound k2
// (observed at saturation, else the caller's rolling history, else derived from vLLM's
// --max-num-batched-tokens/--max-num-seqs, else k1); demand = tokens in use + waiting requests x
// (mean prompt + mean output tokens). Per model: RC = max(0, D / scaleUpThreshold - anticipated
// supply) and SC = max(0, supply - D / scaleDownBoundary). Growth goes to the lowest cost per
// token of capacity, shrinking to the most expensive variant, several replicas per step. The
// safety rules of V1 hold unchanged: one transition per model (rule 5), no replica removed on
// missing, garbage or partial data (rule 7), clamp to [min, max] (rule 8).
#pragma once

#include <optional>
#include <vector>

#include "core/types.h"

namespace wva::core {

// The token-based decision for one model.
ModelDecision DecideTokenBased(const ModelInput& input);

// The analyzer the input's configuration selects: DecideTokenBased for
// AnalyzerKind::kTokenBasedV2, else Decide (V1).
ModelDecision DecideModel(const ModelInput& input);

// k2 derived from vLLM's arguments for requests of `prompt` + `output` tokens: the steady batch
// N = min(B x O / (I + O), S) sequences, each holding I + O/2 tokens on average. 0 when it
// cannot be derived (missing arguments or token statistics).
double DerivedK2(double max_batched_tokens, double max_num_seqs, double prompt, double output);

// What the token-based analyzer learned about one variant in earlier cycles: the compute bounds
// observed at saturation (rolling window of the last kK2Window) and the last per-replica capacity
// (used while the variant has no reporting replica). The caller keeps one per variant between
// cycles (the controller in memory, lost on restart as upstream's; the simulator per run).
struct CapacityMemory {
  static constexpr size_t kK2Window = 10;
  std::vector<double> k2;  // oldest first
  double per_replica = 0;

  std::optional<double> K2Mean() const;
  // Folds this cycle's analysis of the variant in.
  void Record(const VariantCapacity& vc);
  // Sets the variant's k2_history and capacity_hint for the next decision.
  void ApplyTo(VariantState* v) const;
};

}  // namespace wva::core
