#include "core/config.h"

#include "core/yaml_entry.h"

#include <cmath>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace wva::core {
namespace {

constexpr const char* kKv = "kvCacheThreshold";
constexpr const char* kQ = "queueLengthThreshold";
constexpr const char* kSkv = "kvSpareTrigger";
constexpr const char* kSq = "queueSpareTrigger";

bool ParseNumber(const YAML::Node& n, double* out) {
  if (!n.IsScalar()) return false;
  const std::string& s = n.Scalar();
  if (s == "true" || s == "false" || s.empty()) return false;
  try {
    size_t pos = 0;
    double v = std::stod(s, &pos);
    if (pos != s.size() || !std::isfinite(v)) return false;
    *out = v;
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

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
  if (kv_cache_threshold) c->kv_cache_threshold = *kv_cache_threshold;
  if (queue_length_threshold) c->queue_length_threshold = *queue_length_threshold;
  if (kv_spare_trigger) c->kv_spare_trigger = *kv_spare_trigger;
  if (queue_spare_trigger) c->queue_spare_trigger = *queue_spare_trigger;
}

std::string ConfigError::ToString() const {
  if (field.empty()) return fmt::format("key \"{}\": {}", key, message);
  return fmt::format("key \"{}\": field {}: {}", key, field, message);
}

Status ValidateSaturationConfig(const SaturationConfig& c) {
  auto in01 = [](double v) { return v >= 0 && v <= 1; };
  if (!in01(c.kv_cache_threshold)) {
    return InvalidArgumentError(fmt::format("{}: {:g} is outside [0, 1]", kKv, c.kv_cache_threshold));
  }
  if (!in01(c.kv_spare_trigger)) {
    return InvalidArgumentError(fmt::format("{}: {:g} is outside [0, 1]", kSkv, c.kv_spare_trigger));
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
  return OkStatus();
}

StatusOr<SaturationEntry> ParseSaturationEntry(const std::string& key, const std::string& yaml,
                                               ConfigError* error) {
  auto fail = [&](std::string field, std::string msg) {
    *error = ConfigError{key, std::move(field), std::move(msg)};
    return Err(InvalidArgumentError(error->ToString()));
  };
  YAML::Node root;
  std::string problem;
  if (!LoadEntryMapping(yaml, &root, &problem)) return fail("", problem);

  SaturationEntry e;
  e.key = key;
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string field = it->first.IsScalar() ? it->first.Scalar() : "?";
    const YAML::Node v = it->second;  // a copy: the iterator yields a temporary proxy
    if (field == "model_id" || field == "namespace") {
      if (!v.IsScalar() || v.Scalar().empty()) return fail(field, "must be a non-empty string");
      (field == "model_id" ? e.model_id : e.namespace_) = v.Scalar();
      continue;
    }
    std::optional<double>* slot = nullptr;
    if (field == kKv) slot = &e.kv_cache_threshold;
    else if (field == kQ) slot = &e.queue_length_threshold;
    else if (field == kSkv) slot = &e.kv_spare_trigger;
    else if (field == kSq) slot = &e.queue_spare_trigger;
    else {
      return fail(field, fmt::format("unknown field (allowed: model_id, namespace, {}, {}, {}, {})",
                                     kKv, kQ, kSkv, kSq));
    }
    double d;
    if (!ParseNumber(v, &d)) {
      return fail(field, fmt::format("expected a number, got \"{}\"", v.IsScalar() ? v.Scalar() : "<non-scalar>"));
    }
    const bool kv_field = slot == &e.kv_cache_threshold || slot == &e.kv_spare_trigger;
    if (kv_field && (d < 0 || d > 1)) return fail(field, fmt::format("{:g} is outside [0, 1]", d));
    if (!kv_field && d < 0) return fail(field, fmt::format("{:g} must be >= 0", d));
    *slot = d;
  }
  if (key == kDefaultConfigKey) {
    if (e.model_id || e.namespace_) return fail(e.model_id ? "model_id" : "namespace", "not allowed in the default entry");
  } else {
    const auto hash = key.find('#');
    if (hash != std::string::npos && hash > 0 && hash + 1 < key.size()) {
      if (!e.model_id) e.model_id = key.substr(0, hash);
      if (!e.namespace_) e.namespace_ = key.substr(hash + 1);
    }
    if (!e.model_id) {
      return fail("model_id", "required in an override (or name the key \"<modelID>#<namespace>\")");
    }
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
    auto e = ParseSaturationEntry(key, yaml, &err);
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
    std::vector<ConfigError>* errors) {
  ParseResult r = Parse(data);
  for (const ConfigError& e : r.errors) {
    auto prev = previous.entries_.find(e.key);
    if (prev != previous.entries_.end() && data.count(e.key)) r.set.entries_[e.key] = prev->second;
  }
  if (errors) *errors = std::move(r.errors);
  return std::move(r.set);
}

SaturationConfig SaturationConfigSet::Resolve(const std::string& model_id,
                                              const std::string& namespace_) const {
  SaturationConfig c;
  auto def = entries_.find(kDefaultConfigKey);
  if (def != entries_.end()) def->second.ApplyTo(&c);
  // Two passes: model-wide overrides, then namespace-specific ones (std::map keeps key order).
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& [key, e] : entries_) {
      if (key == kDefaultConfigKey || !e.model_id || *e.model_id != model_id) continue;
      const bool ns_specific = e.namespace_.has_value();
      if (ns_specific != (pass == 1)) continue;
      if (ns_specific && *e.namespace_ != namespace_) continue;
      e.ApplyTo(&c);
    }
  }
  return c;
}

}  // namespace wva::core
