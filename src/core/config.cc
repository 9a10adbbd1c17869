#include "core/config.h"

#include "core/yaml_entry.h"

#include <cmath>

#include "base/duration.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace wva::core {
namespace {

constexpr const char* kKv = "kvCacheThreshold";
constexpr const char* kQ = "queueLengthThreshold";
constexpr const char* kSkv = "kvSpareTrigger";
constexpr const char* kSq = "queueSpareTrigger";
constexpr const char* kUp = "scaleUpThreshold";
constexpr const char* kDown = "scaleDownBoundary";

bool ParseNumber(const YAML::Node& n, double* out) {
  if (!n.IsScalar()) {
    return false;
  }
  const std::string& s = n.Scalar();
  if (s == "true" || s == "false" || s.empty()) {
    return false;
  }
  try {
    size_t pos = 0;
    double v = std::stod(s, &pos);
    if (pos != s.size() || !std::isfinite(v)) {
      return false;
    }
    *out = v;
    return true;
  } catch (...) {
    return false;
  }
}

std::string ScalarText(const YAML::Node& n) { return n.IsScalar() ? n.Scalar() : "<non-scalar>"; }

// Parses a threshold of the V2 analyzer: a number in (0, 1].
bool ParseFraction(const YAML::Node& n, double* out, std::string* problem) {
  if (!ParseNumber(n, out)) {
    *problem = fmt::format("expected a number, got \"{}\"", ScalarText(n));
    return false;
  }
  if (!(*out > 0 && *out <= 1)) {
    *problem = fmt::format("{:g} is outside (0, 1]", *out);
    return false;
  }
  return true;
}

// What one upstream-only field asks for. Returns "" when it asks for nothing WVA-C++ does not
// do (upstream's default value: a disabled limiter is what WVA-C++ does anyway), else a
// description for the ignored-field notice; `*problem` is set when the value is malformed.
std::string UpstreamOnlyField(const std::string& field, const YAML::Node& v, std::string* problem) {
  bool b = false;
  if (field == "enableLimiter" || field == "enableRescale") {
    if (!ParseYamlBool(v, &b)) {
      *problem = "expected true or false";
    }
    return b ? "GPU-limited allocation is not implemented" : "";
  }
  if (field == "limiters") {
    if (!v.IsSequence()) {
      *problem = "expected a list";
    }
    return v.IsSequence() && v.size() > 0 ? "GPU limiters are not implemented" : "";
  }
  *problem = "unknown field";
  return "";
}

bool IsUpstreamOnlyField(const std::string& f) {
  return f == "enableLimiter" || f == "enableRescale" || f == "limiters";
}

}  // namespace

bool ParseYamlBool(const YAML::Node& n, bool* out) {
  if (!n.IsScalar()) {
    return false;
  }
  const std::string& s = n.Scalar();
  if (s == "true" || s == "True" || s == "TRUE") {
    *out = true;
  } else if (s == "false" || s == "False" || s == "FALSE") {
    *out = false;
  } else {
    return false;
  }
  return true;
}

bool LoadEntryMapping(const std::string& yaml, YAML::Node* root, std::string* problem) {
  try {
    *root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    *problem = fmt::format("invalid YAML at line {}: {}", e.mark.line + 1, e.msg);
    return false;
  }
  if (root->IsNull()) {
    *problem = "entry is empty";
    return false;
  }
  if (!root->IsMap()) {
    *problem = "entry must be a YAML mapping of field: value";
    return false;
  }
  return true;
}

void SaturationEntry::ApplyTo(SaturationConfig* c) const {
  if (kv_cache_threshold) {
    c->kv_cache_threshold = *kv_cache_threshold;
  }
  if (queue_length_threshold) {
    c->queue_length_threshold = *queue_length_threshold;
  }
  if (kv_spare_trigger) {
    c->kv_spare_trigger = *kv_spare_trigger;
  }
  if (queue_spare_trigger) {
    c->queue_spare_trigger = *queue_spare_trigger;
  }
  if (analyzer) {
    c->analyzer = *analyzer;
  }
  if (scale_up_threshold) {
    c->scale_up_threshold = *scale_up_threshold;
  }
  if (scale_down_boundary) {
    c->scale_down_boundary = *scale_down_boundary;
  }
}

std::string ConfigError::ToString() const {
  if (field.empty()) {
    return fmt::format("key \"{}\": {}", key, message);
  }
  return fmt::format("key \"{}\": field {}: {}", key, field, message);
}

Status ValidateSaturationConfig(const SaturationConfig& c) {
  auto in01 = [](double v) { return v >= 0 && v <= 1; };
  if (!in01(c.kv_cache_threshold)) {
    return InvalidArgumentError(
        fmt::format("{}: {:g} is outside [0, 1]", kKv, c.kv_cache_threshold));
  }
  if (!in01(c.kv_spare_trigger)) {
    return InvalidArgumentError(
        fmt::format("{}: {:g} is outside [0, 1]", kSkv, c.kv_spare_trigger));
  }
  if (c.queue_length_threshold < 0) {
    return InvalidArgumentError(fmt::format("{}: {:g} must be >= 0", kQ, c.queue_length_threshold));
  }
  if (c.queue_spare_trigger < 0) {
    return InvalidArgumentError(fmt::format("{}: {:g} must be >= 0", kSq, c.queue_spare_trigger));
  }
  if (c.kv_cache_threshold < c.kv_spare_trigger) {
    return InvalidArgumentError(fmt::format("{}: {:g} must be >= {} ({:g})", kKv,
                                            c.kv_cache_threshold, kSkv, c.kv_spare_trigger));
  }
  auto in_0_1 = [](double v) { return v > 0 && v <= 1; };
  if (!in_0_1(c.scale_up_threshold) || !in_0_1(c.scale_down_boundary) ||
      c.scale_up_threshold <= c.scale_down_boundary) {
    return InvalidArgumentError(fmt::format("{}: {:g} must be in (0, 1] and above {} ({:g})", kUp,
                                            c.scale_up_threshold, kDown, c.scale_down_boundary));
  }
  return OkStatus();
}

namespace {

// The `analyzers:` list (upstream v0.9): each item {type, name, enabled, score,
// scaleUpThreshold, scaleDownBoundary, parameters}. A saturation item selects V2 and may carry
// its thresholds; throughput and queueing-model items are known but not implemented.
Status ParseAnalyzers(const std::string& key, const YAML::Node& list, SaturationEntry* e,
                      std::vector<ConfigError>* ignored, ConfigError* error) {
  auto fail = [&](std::string field, std::string msg) {
    *error = ConfigError{key, std::move(field), std::move(msg)};
    return InvalidArgumentError(error->ToString());
  };
  if (!list.IsSequence()) {
    return fail("analyzers", "expected a list of {name, ...}");
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = fmt::format("analyzers[{}]", i);
    const YAML::Node item = list[i];
    if (!item.IsMap()) {
      return fail(where, "expected a mapping {name, type, ...}");
    }
    std::string name, type;
    bool enabled = true;
    std::optional<double> up, down;
    for (auto it = item.begin(); it != item.end(); ++it) {
      const std::string f = it->first.IsScalar() ? it->first.Scalar() : "?";
      const YAML::Node v = it->second;
      const std::string path = where + "." + f;
      std::string problem;
      double d = 0;
      if (f == "name" || f == "type") {
        if (!v.IsScalar()) {
          return fail(path, "expected a string");
        }
        (f == "name" ? name : type) = v.Scalar();
      } else if (f == "enabled") {
        if (!ParseYamlBool(v, &enabled)) {
          return fail(path, "expected true or false");
        }
      } else if (f == "score") {
        if (!ParseNumber(v, &d) || d < 0) {
          return fail(path, "expected a number >= 0");
        }
        if (d != 1.0 && ignored) {
          ignored->push_back({key, path,
                              "analyzer scores only weigh GPU-limited allocation, "
                              "which is not implemented"});
        }
      } else if (f == kUp || f == kDown) {
        if (!ParseFraction(v, &d, &problem)) {
          return fail(path, problem);
        }
        (f == kUp ? up : down) = d;
      } else if (f == "parameters") {
        if (!v.IsMap() && !v.IsNull()) {
          return fail(path, "expected a mapping");
        }
        if (v.IsMap() && v.size() > 0 && ignored) {
          ignored->push_back({key, path, "analyzer parameters are not implemented"});
        }
      } else {
        return fail(path,
                    "unknown field (allowed: name, type, enabled, score, scaleUpThreshold, "
                    "scaleDownBoundary, parameters)");
      }
    }
    const std::string kind = type.empty() ? name : type;
    if (kind == "saturation") {
      e->analyzer = AnalyzerKind::kTokenBasedV2;
      if (up) {
        e->scale_up_threshold = up;
      }
      if (down) {
        e->scale_down_boundary = down;
      }
      if (!enabled && ignored) {
        ignored->push_back({key, where + ".enabled",
                            "the saturation analyzer cannot be disabled here: it decides"});
      }
    } else if (kind == "throughput" || kind == "queueing-model") {
      if (enabled && ignored) {
        ignored->push_back({key, where, fmt::format("the {} analyzer is not implemented", kind)});
      }
    } else {
      return fail(where + (type.empty() ? ".name" : ".type"),
                  fmt::format("unknown analyzer \"{}\" (allowed: saturation, throughput, "
                              "queueing-model)",
                              kind));
    }
  }
  // Upstream selects the token-based path for any non-empty list.
  if (list.size() > 0) {
    e->analyzer = AnalyzerKind::kTokenBasedV2;
  }
  return OkStatus();
}

}  // namespace

StatusOr<SaturationEntry> ParseSaturationEntry(const std::string& key, const std::string& yaml,
                                               ConfigError* error,
                                               std::vector<ConfigError>* ignored) {
  auto fail = [&](std::string field, std::string msg) {
    *error = ConfigError{key, std::move(field), std::move(msg)};
    return Err(InvalidArgumentError(error->ToString()));
  };
  YAML::Node root;
  std::string problem;
  if (!LoadEntryMapping(yaml, &root, &problem)) {
    return fail("", problem);
  }

  SaturationEntry e;
  e.key = key;
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string field = it->first.IsScalar() ? it->first.Scalar() : "?";
    const YAML::Node v = it->second;  // a copy: the iterator yields a temporary proxy
    if (field == "model_id" || field == "namespace") {
      if (!v.IsScalar() || v.Scalar().empty()) {
        return fail(field, "must be a non-empty string");
      }
      (field == "model_id" ? e.model_id : e.namespace_) = v.Scalar();
      continue;
    }
    if (field == "scaleToZero") {
      // Upstream's per-entry override of the scale-to-zero ConfigMap (docs/scale-to-zero.md).
      bool b = false;
      bool ok = v.IsMap() && v.size() == 1;
      for (auto f = v.begin(); ok && f != v.end(); ++f) {
        ok = f->first.IsScalar() && f->first.Scalar() == "enabled" && ParseYamlBool(f->second, &b);
      }
      if (!ok) {
        return fail(field, "expected a mapping {enabled: true|false}");
      }
      e.scale_to_zero = b;
      continue;
    }
    if (field == "priority") {
      double d = 0;
      if (!ParseNumber(v, &d) || d < 0) {
        return fail(field, fmt::format("expected a number >= 0, got \"{}\"", ScalarText(v)));
      }
      e.priority = d;
      continue;
    }
    if (IsUpstreamOnlyField(field)) {
      std::string problem;
      const std::string what = UpstreamOnlyField(field, v, &problem);
      if (!problem.empty()) {
        return fail(field, problem);
      }
      if (!what.empty() && ignored) {
        ignored->push_back({key, field, what});
      }
      continue;
    }
    if (field == "analyzers" || field == "analyzerName") {
      SaturationEntry sel;
      if (field == "analyzers") {
        if (Status s = ParseAnalyzers(key, v, &sel, ignored, error); !s.ok()) {
          return Err(s);
        }
      } else {
        if (!v.IsScalar()) {
          return fail(field, "expected a string");
        }
        if (v.Scalar() == "saturation") {
          sel.analyzer = AnalyzerKind::kTokenBasedV2;
        } else if (!v.Scalar().empty()) {
          return fail(field,
                      fmt::format("unknown analyzer \"{}\" (allowed: saturation)", v.Scalar()));
        }
      }
      if (key != kDefaultConfigKey) {
        // As upstream: the analyzer is chosen globally, by the default entry.
        if (sel.analyzer && ignored) {
          ignored->push_back({key, field, "the analyzer is chosen by the default entry only"});
        }
        continue;
      }
      if (sel.analyzer) {
        e.analyzer = sel.analyzer;
      }
      // Per-analyzer thresholds are the more specific: they win over entry-level ones.
      if (sel.scale_up_threshold) {
        e.scale_up_threshold = sel.scale_up_threshold;
      }
      if (sel.scale_down_boundary) {
        e.scale_down_boundary = sel.scale_down_boundary;
      }
      continue;
    }
    if (field == kUp || field == kDown) {
      double d;
      std::string problem;
      if (!ParseFraction(v, &d, &problem)) {
        return fail(field, problem);
      }
      auto& slot = field == kUp ? e.scale_up_threshold : e.scale_down_boundary;
      if (!slot) {
        slot = d;  // an analyzers: item's own value stays
      }
      continue;
    }
    std::optional<double>* slot = nullptr;
    if (field == kKv) {
      slot = &e.kv_cache_threshold;
    } else if (field == kQ) {
      slot = &e.queue_length_threshold;
    } else if (field == kSkv) {
      slot = &e.kv_spare_trigger;
    } else if (field == kSq) {
      slot = &e.queue_spare_trigger;
    } else {
      return fail(field,
                  fmt::format("unknown field (allowed: model_id, namespace, {}, {}, {}, {}, "
                              "analyzers, analyzerName, {}, {}, enableLimiter, enableRescale, "
                              "priority, scaleToZero, limiters)",
                              kKv, kQ, kSkv, kSq, kUp, kDown));
    }
    double d;
    if (!ParseNumber(v, &d)) {
      return fail(field, fmt::format("expected a number, got \"{}\"",
                                     v.IsScalar() ? v.Scalar() : "<non-scalar>"));
    }
    const bool kv_field = slot == &e.kv_cache_threshold || slot == &e.kv_spare_trigger;
    if (kv_field && (d < 0 || d > 1)) {
      return fail(field, fmt::format("{:g} is outside [0, 1]", d));
    }
    if (!kv_field && d < 0) {
      return fail(field, fmt::format("{:g} must be >= 0", d));
    }
    *slot = d;
  }
  if (key == kDefaultConfigKey) {
    if (e.model_id || e.namespace_) {
      return fail(e.model_id ? "model_id" : "namespace", "not allowed in the default entry");
    }
  } else {
    const auto hash = key.find('#');
    if (hash != std::string::npos && hash > 0 && hash + 1 < key.size()) {
      if (!e.model_id) {
        e.model_id = key.substr(0, hash);
      }
      if (!e.namespace_) {
        e.namespace_ = key.substr(hash + 1);
      }
    }
    if (!e.model_id) {
      return fail("model_id",
                  "required in an override (or name the key \"<modelID>#<namespace>\")");
    }
  }
  if (e.scale_up_threshold && e.scale_down_boundary &&
      *e.scale_up_threshold <= *e.scale_down_boundary) {
    return fail(kUp, fmt::format("{:g} must be above {} ({:g})", *e.scale_up_threshold, kDown,
                                 *e.scale_down_boundary));
  }
  if (e.kv_cache_threshold && e.kv_spare_trigger && *e.kv_cache_threshold < *e.kv_spare_trigger) {
    return fail(kKv, fmt::format("{:g} must be >= {} ({:g})", *e.kv_cache_threshold, kSkv,
                                 *e.kv_spare_trigger));
  }
  return e;
}

SaturationConfigSet::ParseResult SaturationConfigSet::Parse(
    const std::map<std::string, std::string>& data) {
  ParseResult r;
  for (const auto& [key, yaml] : data) {
    ConfigError err;
    std::vector<ConfigError> ignored;
    auto e = ParseSaturationEntry(key, yaml, &err, &ignored);
    r.ignored.insert(r.ignored.end(), ignored.begin(), ignored.end());
    if (!e) {
      r.errors.push_back(err);
      continue;
    }
    r.set.entries_[key] = std::move(*e);
  }
  // Cross-field check on what each entry would resolve to (builtins <- default <- entry).
  SaturationConfig base;
  auto def = r.set.entries_.find(kDefaultConfigKey);
  if (def != r.set.entries_.end()) {
    SaturationConfig c = base;
    def->second.ApplyTo(&c);
    if (Status s = ValidateSaturationConfig(c); !s.ok()) {
      r.errors.push_back({def->first, "", "resolved configuration invalid: " + s.message()});
      r.set.entries_.erase(def);
    } else {
      base = c;
    }
  }
  for (auto it = r.set.entries_.begin(); it != r.set.entries_.end();) {
    if (it->first == kDefaultConfigKey) {
      ++it;
      continue;
    }
    SaturationConfig c = base;
    it->second.ApplyTo(&c);
    if (Status s = ValidateSaturationConfig(c); !s.ok()) {
      r.errors.push_back({it->first, "", "resolved configuration invalid: " + s.message()});
      it = r.set.entries_.erase(it);
    } else {
      ++it;
    }
  }
  return r;
}

SaturationConfigSet SaturationConfigSet::MergeLastGood(
    const SaturationConfigSet& previous, const std::map<std::string, std::string>& data,
    std::vector<ConfigError>* errors, std::vector<ConfigError>* ignored) {
  ParseResult r = Parse(data);
  if (ignored) {
    *ignored = r.ignored;
  }
  for (const ConfigError& e : r.errors) {
    auto prev = previous.entries_.find(e.key);
    if (prev != previous.entries_.end() && data.count(e.key)) {
      r.set.entries_[e.key] = prev->second;
    }
  }
  if (errors) {
    *errors = std::move(r.errors);
  }
  return std::move(r.set);
}

SaturationConfig SaturationConfigSet::Resolve(const std::string& model_id,
                                              const std::string& namespace_) const {
  SaturationConfig c;
  auto def = entries_.find(kDefaultConfigKey);
  if (def != entries_.end()) {
    def->second.ApplyTo(&c);
  }
  // Two passes: model-wide overrides, then namespace-specific ones (std::map keeps key order).
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& [key, e] : entries_) {
      if (key == kDefaultConfigKey || !e.model_id || *e.model_id != model_id) {
        continue;
      }
      const bool ns_specific = e.namespace_.has_value();
      if (ns_specific != (pass == 1)) {
        continue;
      }
      if (ns_specific && *e.namespace_ != namespace_) {
        continue;
      }
      e.ApplyTo(&c);
    }
  }
  return c;
}

namespace {

// The most specific value of one optional entry field for a model (Resolve's precedence).
template <typename T>
std::optional<T> ResolveField(const std::map<std::string, SaturationEntry>& entries,
                              std::optional<T> SaturationEntry::*field, const std::string& model_id,
                              const std::string& namespace_) {
  std::optional<T> out;
  auto def = entries.find(kDefaultConfigKey);
  if (def != entries.end() && def->second.*field) {
    out = def->second.*field;
  }
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& [key, e] : entries) {
      if (key == kDefaultConfigKey || !e.model_id || *e.model_id != model_id) {
        continue;
      }
      const bool ns_specific = e.namespace_.has_value();
      if (ns_specific != (pass == 1)) {
        continue;
      }
      if (ns_specific && *e.namespace_ != namespace_) {
        continue;
      }
      if (e.*field) {
        out = e.*field;
      }
    }
  }
  return out;
}

}  // namespace

std::optional<bool> SaturationConfigSet::ResolveScaleToZero(const std::string& model_id,
                                                            const std::string& namespace_) const {
  return ResolveField(entries_, &SaturationEntry::scale_to_zero, model_id, namespace_);
}

double SaturationConfigSet::ResolvePriority(const std::string& model_id,
                                            const std::string& namespace_) const {
  return ResolveField(entries_, &SaturationEntry::priority, model_id, namespace_).value_or(1.0);
}

}  // namespace wva::core
