// Scale to zero (docs/scale-to-zero.md): the scale-to-zero ConfigMap (upstream's
// `wva-model-scale-to-zero-config`: per-model `enable_scale_to_zero` and `retention_period`) and
// the rule that takes every variant of a model to zero replicas, applied after the policy's
// per-model decision. Pure: strings and numbers in, decisions out.
//
// The rule, per model:
//  - Zero: scale to zero is enabled for the model, every variant allows `minReplicas: 0`, the
//    model's request counter increased by exactly 0 over the retention period (a successful,
//    non-empty, fresh answer), every Ready pod reported this cycle, and the model has not been
//    woken from zero (or first seen by the controller) within the retention period. Then every
//    target is 0.
//  - Keep one: otherwise, a model whose targets all add up to 0 gets one replica of its cheapest
//    variant, unless the model is eligible and the request count is unknown (query error, empty
//    result, stale series): unknown data never moves a model, up or down. A model at zero is
//    woken by demand (scale from zero), not by this rule; once woken, its one replica is kept
//    for the retention period even before the controller's caches show it.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/types.h"

namespace wva::core {

// Upstream's default retention period.
inline constexpr std::chrono::seconds kDefaultRetention{600};

// The effective scale-to-zero setting of one model.
struct ScaleToZeroSetting {
  bool enabled = false;
  std::chrono::seconds retention = kDefaultRetention;
  friend bool operator==(const ScaleToZeroSetting&, const ScaleToZeroSetting&) = default;
};

// One entry of the scale-to-zero ConfigMap: only the fields present are set.
struct ScaleToZeroEntry {
  std::string key;
  std::optional<std::string> model_id;
  std::optional<std::string> namespace_;
  std::optional<bool> enabled;
  std::optional<std::chrono::seconds> retention;
  friend bool operator==(const ScaleToZeroEntry&, const ScaleToZeroEntry&) = default;
};

class ScaleToZeroConfigSet {
 public:
  struct ParseResult;

  // Parses every key. Key `default` applies to every model; other keys are matched by their
  // `model_id` (and `namespace` when present), or named "<modelID>#<namespace>". Invalid entries
  // are left out and reported, one error naming the key and the field.
  static ParseResult Parse(const std::map<std::string, std::string>& data);

  // Hot reload: an entry that is invalid now but was good in `previous` keeps its previous
  // version; keys removed from the map go away.
  static ScaleToZeroConfigSet MergeLastGood(const ScaleToZeroConfigSet& previous,
                                            const std::map<std::string, std::string>& data,
                                            std::vector<ConfigError>* errors);

  // Resolution, later wins field by field: `fallback` (the global default from the
  // WVA_SCALE_TO_ZERO setting), the `default` entry, entries for the model in every namespace,
  // entries for the model in its namespace (keys in ascending order within each level), then
  // `inline_enabled` (the saturation entry's `scaleToZero: {enabled}`, upstream's precedence).
  ScaleToZeroSetting Resolve(const std::string& model_id, const std::string& namespace_,
                             std::optional<bool> inline_enabled = std::nullopt,
                             bool fallback = false) const;

  size_t size() const { return entries_.size(); }
  const std::map<std::string, ScaleToZeroEntry>& entries() const { return entries_; }
  friend bool operator==(const ScaleToZeroConfigSet&, const ScaleToZeroConfigSet&) = default;

 private:
  std::map<std::string, ScaleToZeroEntry> entries_;
};

struct ScaleToZeroConfigSet::ParseResult {
  ScaleToZeroConfigSet set;
  std::vector<ConfigError> errors;
  std::vector<ConfigError> warnings;  // valid but suspicious (retention over 24h)
};

// What Prometheus said about a model's `increase(vllm:request_success_total[retention])`.
struct RequestCount {
  enum class State {
    kValue,   // a finite, non-negative sum over the model's series
    kError,   // the query failed
    kEmpty,   // no series for the model
    kStale,   // the newest sample of the counter is older than the freshness bound
    kInvalid  // NaN, infinite or negative
  };
  State state = State::kEmpty;
  double value = 0;
  static RequestCount Of(double v) { return {State::kValue, v}; }
};
const char* RequestCountStateName(RequestCount::State s);  // "value", "error", "empty", ...

struct ScaleToZeroInput {
  ScaleToZeroSetting setting;
  RequestCount requests;
  // False when some Ready pod of the model had no usable sample this cycle (complete-data rule):
  // its requests may be missing from the counter too.
  bool complete_data = true;
  // Seconds since the model was last woken from zero (all variants at 0 -> some replica), or
  // since this process first saw it with replicas; unset for a model at zero never seen up.
  std::optional<double> seconds_since_woken;
  // False when this cycle's saturation metrics failed: every variant holds, nothing is raised.
  bool metrics_ok = true;
};

struct ScaleToZeroResult {
  enum class Kind { kUnchanged, kZeroed, kKeptOne };
  Kind kind = Kind::kUnchanged;
  bool eligible = false;  // enabled and every variant allows minReplicas 0
  std::string why;        // when eligible and not zeroed: what kept the model up
};

// True when every variant allows minReplicas 0 (and there is at least one).
bool AllowsZero(const ModelInput& in);

// Applies the rule to `d` (one decision per variant of `in`, in input order).
ScaleToZeroResult ApplyScaleToZero(const ModelInput& in, const ScaleToZeroInput& z,
                                   ModelDecision* d);

// The cheapest variant that may grow to one replica (cost ascending, name ascending; a variant
// whose maxReplicas is 0 is skipped). -1 when none.
int CheapestVariant(const ModelInput& in);

}  // namespace wva::core
