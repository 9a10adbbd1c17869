// The saturation scaling configuration (`capacity-scaling-config`, docs/reference.md): parsing of
// the ConfigMap data (key -> YAML), validation with errors that name the key and the field, and
// resolution of the effective thresholds for one (modelID, namespace). Pure: strings in, data out.
//
// Resolution order, later wins field by field: built-in defaults, the `default` entry, overrides
// for the model in every namespace (no `namespace` field), then overrides for the model in its
// namespace (a `namespace` field, or a key "<modelID>#<namespace>"). Among equally specific
// overrides, keys apply in ascending order.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "core/types.h"

namespace wva::core {

inline constexpr const char* kDefaultConfigKey = "default";

// One ConfigMap entry: only the fields present in its YAML are set.
struct SaturationEntry {
  std::string key;
  std::optional<std::string> model_id;
  std::optional<std::string> namespace_;
  std::optional<double> kv_cache_threshold;
  std::optional<double> queue_length_threshold;
  std::optional<double> kv_spare_trigger;
  std::optional<double> queue_spare_trigger;
  // Upstream WVA v0.9 keys we implement: the analyzer choice (`analyzers:` list or
  // `analyzerName: saturation`; read from the `default` entry only, as upstream) and the V2
  // thresholds (entry level, or per analyzer in the `analyzers:` list).
  std::optional<AnalyzerKind> analyzer;
  std::optional<double> scale_up_threshold;
  std::optional<double> scale_down_boundary;
  // Upstream's `scaleToZero: {enabled: ...}`: overrides the scale-to-zero ConfigMap for the
  // models this entry applies to (docs/scale-to-zero.md).
  std::optional<bool> scale_to_zero;
  // Upstream's `priority` (>= 0, default 1): who is served first when models contend for a GPU
  // budget (docs/budgets.md).
  std::optional<double> priority;

  // Copies the fields present here onto `c`.
  void ApplyTo(SaturationConfig* c) const;
  friend bool operator==(const SaturationEntry&, const SaturationEntry&) = default;
};

struct ConfigError {
  std::string key;      // ConfigMap data key
  std::string field;    // offending field ("" when the YAML itself is bad)
  std::string message;  // what is wrong
  // "key \"<key>\": field <field>: <message>"
  std::string ToString() const;
};

// Parses one entry. `key` is the data key; "<modelID>#<namespace>" keys match by key.
// Known upstream keys that WVA-C++ does not implement (enableLimiter, enableRescale, limiters, and
// analyzers other than saturation) are accepted, their values type-checked, and reported in
// `*ignored` (one per key and field); the entry's other fields still apply. A truly unknown field
// is an error.
StatusOr<SaturationEntry> ParseSaturationEntry(const std::string& key, const std::string& yaml,
                                               ConfigError* error,
                                               std::vector<ConfigError>* ignored = nullptr);

class SaturationConfigSet {
 public:
  struct ParseResult;

  // Parses every key of the ConfigMap data. Invalid entries are left out and reported.
  static ParseResult Parse(const std::map<std::string, std::string>& data);

  // For hot reload: entries that failed now but were good in `previous` keep their previous
  // version (the last good configuration stays in force); keys removed from the map go away.
  // `ignored` (optional) receives the known-but-unimplemented upstream fields.
  static SaturationConfigSet MergeLastGood(const SaturationConfigSet& previous,
                                           const std::map<std::string, std::string>& data,
                                           std::vector<ConfigError>* errors,
                                           std::vector<ConfigError>* ignored = nullptr);

  SaturationConfig Resolve(const std::string& model_id, const std::string& namespace_) const;
  // The `scaleToZero: {enabled}` in force for a model (same precedence as Resolve); unset when
  // no applicable entry sets it.
  std::optional<bool> ResolveScaleToZero(const std::string& model_id,
                                         const std::string& namespace_) const;
  // The budget priority of a model (same precedence as Resolve); 1 when no entry sets it.
  double ResolvePriority(const std::string& model_id, const std::string& namespace_) const;

  bool has_default() const { return entries_.count(kDefaultConfigKey) > 0; }
  size_t size() const { return entries_.size(); }
  const std::map<std::string, SaturationEntry>& entries() const { return entries_; }
  void Put(SaturationEntry e) { entries_[e.key] = std::move(e); }
  friend bool operator==(const SaturationConfigSet&, const SaturationConfigSet&) = default;

 private:
  std::map<std::string, SaturationEntry> entries_;
};

struct SaturationConfigSet::ParseResult {
  SaturationConfigSet set;
  std::vector<ConfigError> errors;
  std::vector<ConfigError> ignored;  // known upstream fields not implemented (entry kept)
};

// Validates a resolved configuration (ranges and kvCacheThreshold >= kvSpareTrigger).
Status ValidateSaturationConfig(const SaturationConfig& c);

}  // namespace wva::core
