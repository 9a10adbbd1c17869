// SLO sizing configuration (issue #8): SLO targets per model and performance profiles per
// accelerator, from the ConfigMap `wva-slo-config` (data key -> YAML entry, like
// capacity-scaling-config) and/or optional VariantAutoscaling spec fields. Pure: strings in, data
// out. Names, precedence and examples: docs/slo-sizing.md.
//
//   default: |                      # every model
//     percentile: 0.99
//     profiles:
//       H100: {alpha: 3.96, beta: 0.0445, gamma: 2, delta: 0.033, maxBatch: 256,
//              kvCapacityTokens: 396800, maxBatchedTokens: 8192}
//   llama-8b: |                     # one model (any namespace unless `namespace` is given)
//     model_id: meta/llama-3.1-8b
//     ttftMs: 1000
//     itlMs: 50
//
// Resolution, later wins field by field (targets) or per accelerator (profiles): built-ins, the
// `default` entry, entries for the model in every namespace, entries for the model in its
// namespace (or key "<modelID>#<namespace>"), then the VariantAutoscaling's own spec.slo /
// spec.performanceProfile.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "core/config.h"
#include "core/slo.h"

namespace wva::core {

inline constexpr const char* kSloConfigMapName = "wva-slo-config";

// The target fields present in one entry (or one spec.slo object).
struct SloTargetsPatch {
  std::optional<double> ttft_ms, itl_ms, percentile, itl_percentile, headroom, drain_seconds;
  void ApplyTo(SloTargets* t) const;
  bool empty() const {
    return !ttft_ms && !itl_ms && !percentile && !itl_percentile && !headroom && !drain_seconds;
  }
  friend bool operator==(const SloTargetsPatch&, const SloTargetsPatch&) = default;
};

struct SloEntry {
  std::string key;
  std::optional<std::string> model_id;
  std::optional<std::string> namespace_;
  SloTargetsPatch targets;
  std::map<std::string, PerfProfile> profiles;  // accelerator -> profile
  friend bool operator==(const SloEntry&, const SloEntry&) = default;
};

// One entry of the ConfigMap. Errors name the key and the field ("profiles.H100.alpha").
StatusOr<SloEntry> ParseSloEntry(const std::string& key, const std::string& yaml,
                                 ConfigError* error);

// A VariantAutoscaling's spec.slo object (YAML or JSON text): ttftMs, itlMs, percentile,
// itlPercentile, headroom, drainSeconds. Errors name the field.
StatusOr<SloTargetsPatch> ParseSloTargets(const std::string& yaml);
// A spec.performanceProfile object or a profiles.<acc> value is read by ParsePerfProfile
// (core/perf_profile.h); alpha is required there.

struct ResolvedSlo {
  SloTargets targets;
  std::map<std::string, PerfProfile> profiles;  // by accelerator
  // The profile for a variant: its own spec.performanceProfile, else by accelerator.
  std::optional<PerfProfile> ProfileFor(const std::string& accelerator,
                                        const std::optional<PerfProfile>& own = {}) const;
};

class SloConfigSet {
 public:
  struct ParseResult;
  static ParseResult Parse(const std::map<std::string, std::string>& data);
  // The model's targets and profiles; `spec` (the VA's spec.slo) wins over the ConfigMap.
  ResolvedSlo Resolve(const std::string& model_id, const std::string& namespace_,
                      const SloTargetsPatch& spec = {}) const;
  const std::map<std::string, SloEntry>& entries() const { return entries_; }
  void Put(SloEntry e) { entries_[e.key] = std::move(e); }

 private:
  std::map<std::string, SloEntry> entries_;
};

struct SloConfigSet::ParseResult {
  SloConfigSet set;
  std::vector<ConfigError> errors;
};

// What `wva analyze --slo-config` accepts: the whole ConfigMap (kind: ConfigMap, data: ...), its
// data map (key -> YAML string), or a single entry (treated as `default`). The first bad entry
// is an error naming its key and field.
StatusOr<SloConfigSet> ParseSloConfigFile(const std::string& text);

}  // namespace wva::core
