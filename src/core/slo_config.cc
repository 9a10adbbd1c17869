#include "core/slo_config.h"

#include "core/yaml_entry.h"

#include <cmath>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace wva::core {
namespace {

StatusOr<double> Number(const YAML::Node& n, const std::string& field) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s != "true" && s != "false" && !s.empty()) {
      try {
        size_t pos = 0;
        const double v = std::stod(s, &pos);
        if (pos == s.size() && std::isfinite(v)) {
          return v;
        }
      } catch (...) {
      }
    }
  }
  return Err(InvalidArgumentError(fmt::format("{}: expected a number, got \"{}\"", field,
                                              n.IsScalar() ? n.Scalar() : "<non-scalar>")));
}

StatusOr<YAML::Node> Load(const std::string& yaml) {
  try {
    YAML::Node root = YAML::Load(yaml);
    if (!root.IsMap()) {
      return Err(InvalidArgumentError("expected a mapping of field: value"));
    }
    return root;
  } catch (const YAML::Exception& e) {
    return Err(
        InvalidArgumentError(fmt::format("invalid YAML at line {}: {}", e.mark.line + 1, e.msg)));
  }
}

// Applies one targets field; false when `field` is not a targets field.
StatusOr<bool> TargetField(const std::string& field, const YAML::Node& v, SloTargetsPatch* t) {
  std::optional<double>* slot = nullptr;
  if (field == "ttftMs") {
    slot = &t->ttft_ms;
  } else if (field == "itlMs") {
    slot = &t->itl_ms;
  } else if (field == "percentile") {
    slot = &t->percentile;
  } else if (field == "itlPercentile") {
    slot = &t->itl_percentile;
  } else if (field == "headroom") {
    slot = &t->headroom;
  } else if (field == "drainSeconds") {
    slot = &t->drain_seconds;
  } else {
    return false;
  }
  WVA_ASSIGN_OR_RETURN(double d, Number(v, field));
  SloTargets probe;
  probe.ttft_ms = 1;  // only the field under test varies
  if (slot == &t->ttft_ms) {
    probe.ttft_ms = d;
  }
  if (slot == &t->itl_ms) {
    probe.itl_ms = d;
  }
  if (slot == &t->percentile) {
    probe.percentile = d;
  }
  if (slot == &t->itl_percentile) {
    probe.itl_percentile = d;
  }
  if (slot == &t->headroom) {
    probe.headroom = d;
  }
  if (slot == &t->drain_seconds) {
    probe.drain_seconds = d;
  }
  WVA_RETURN_IF_ERROR(probe.Validate());
  *slot = d;
  return true;
}

}  // namespace

void SloTargetsPatch::ApplyTo(SloTargets* t) const {
  if (ttft_ms) {
    t->ttft_ms = *ttft_ms;
  }
  if (itl_ms) {
    t->itl_ms = *itl_ms;
  }
  if (percentile) {
    t->percentile = *percentile;
  }
  if (itl_percentile) {
    t->itl_percentile = *itl_percentile;
  }
  if (headroom) {
    t->headroom = *headroom;
  }
  if (drain_seconds) {
    t->drain_seconds = *drain_seconds;
  }
}

StatusOr<SloTargetsPatch> ParseSloTargets(const std::string& yaml) {
  try {
    WVA_ASSIGN_OR_RETURN(YAML::Node root, Load(yaml));
    SloTargetsPatch t;
    for (auto it = root.begin(); it != root.end(); ++it) {
      const std::string field = it->first.IsScalar() ? it->first.Scalar() : "?";
      const YAML::Node v = it->second;
      WVA_ASSIGN_OR_RETURN(bool known, TargetField(field, v, &t));
      if (!known) {
        return Err(InvalidArgumentError(fmt::format(
            "{}: unknown field (allowed: ttftMs, itlMs, percentile, itlPercentile, headroom, "
            "drainSeconds)",
            field)));
      }
    }
    return t;
  } catch (const YAML::Exception& e) {
    return Err(InvalidArgumentError(fmt::format("invalid document: {}", e.msg)));
  }
}

StatusOr<SloEntry> ParseSloEntry(const std::string& key, const std::string& yaml,
                                 ConfigError* error) {
  auto fail = [&](std::string field, std::string msg) {
    *error = ConfigError{key, std::move(field), std::move(msg)};
    return Err(InvalidArgumentError(error->ToString()));
  };
  // "field: message" from a nested parser -> ConfigError with the field split off.
  auto fail_nested = [&](const std::string& prefix, const Status& s) {
    const std::string& m = s.message();
    const auto colon = m.find(": ");
    if (colon == std::string::npos) {
      return fail(prefix, m);
    }
    return fail(prefix.empty() ? m.substr(0, colon) : prefix + "." + m.substr(0, colon),
                m.substr(colon + 2));
  };
  try {
    YAML::Node root;
    std::string problem;
    if (!LoadEntryMapping(yaml, &root, &problem)) {
      return fail("", problem);
    }
    SloEntry e;
    e.key = key;
    for (auto it = root.begin(); it != root.end(); ++it) {
      const std::string field = it->first.IsScalar() ? it->first.Scalar() : "?";
      const YAML::Node v = it->second;
      if (field == "model_id" || field == "namespace") {
        if (!v.IsScalar() || v.Scalar().empty()) {
          return fail(field, "must be a non-empty string");
        }
        (field == "model_id" ? e.model_id : e.namespace_) = v.Scalar();
        continue;
      }
      if (field == "profiles") {
        if (!v.IsMap()) {
          return fail(field, "expected a mapping accelerator: profile");
        }
        for (auto p = v.begin(); p != v.end(); ++p) {
          const std::string acc = p->first.IsScalar() ? p->first.Scalar() : "?";
          const YAML::Node pv = p->second;
          PerfProfileParseOptions o;
          o.where = "profiles." + acc;
          auto prof = ParsePerfProfile(pv, o);
          if (!prof) {
            return fail_nested("", prof.error());
          }
          e.profiles[acc] = *prof;
        }
        continue;
      }
      auto known = TargetField(field, v, &e.targets);
      if (!known) {
        return fail_nested("", known.error());
      }
      if (!*known) {
        return fail(field,
                    "unknown field (allowed: model_id, namespace, ttftMs, itlMs, percentile, "
                    "itlPercentile, headroom, drainSeconds, profiles)");
      }
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
                    "required in a model entry (or name the key \"<modelID>#<namespace>\")");
      }
    }
    return e;
  } catch (const YAML::Exception& ex) {
    return fail("", fmt::format("invalid document: {}", ex.msg));
  }
}

SloConfigSet::ParseResult SloConfigSet::Parse(const std::map<std::string, std::string>& data) {
  ParseResult r;
  for (const auto& [key, yaml] : data) {
    ConfigError err;
    auto e = ParseSloEntry(key, yaml, &err);
    if (e) {
      r.set.Put(std::move(*e));
    } else {
      r.errors.push_back(err);
    }
  }
  return r;
}

ResolvedSlo SloConfigSet::Resolve(const std::string& model_id, const std::string& namespace_,
                                  const SloTargetsPatch& spec) const {
  ResolvedSlo r;
  auto apply = [&](const SloEntry& e) {
    e.targets.ApplyTo(&r.targets);
    for (const auto& [acc, p] : e.profiles) {
      r.profiles[acc] = p;
    }
  };
  if (auto it = entries_.find(kDefaultConfigKey); it != entries_.end()) {
    apply(it->second);
  }
  for (const auto& [key, e] : entries_) {  // ascending key order
    if (key != kDefaultConfigKey && e.model_id == model_id && !e.namespace_) {
      apply(e);
    }
  }
  for (const auto& [key, e] : entries_) {
    if (key != kDefaultConfigKey && e.model_id == model_id && e.namespace_ == namespace_) {
      apply(e);
    }
  }
  spec.ApplyTo(&r.targets);
  return r;
}

std::optional<PerfProfile> ResolvedSlo::ProfileFor(const std::string& accelerator,
                                                   const std::optional<PerfProfile>& own) const {
  if (own) {
    return own;
  }
  if (auto it = profiles.find(accelerator); it != profiles.end()) {
    return it->second;
  }
  return std::nullopt;
}

StatusOr<SloConfigSet> ParseSloConfigFile(const std::string& text) {
  try {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      return Err(
          InvalidArgumentError(fmt::format("invalid YAML at line {}: {}", e.mark.line + 1, e.msg)));
    }
    if (!root.IsMap()) {
      return Err(InvalidArgumentError("expected a ConfigMap, its data, or an entry"));
    }
    std::map<std::string, std::string> data;
    YAML::Node data_node = root;
    if (root["kind"] && root["data"]) {
      data_node = root["data"];
    }
    if (!data_node.IsMap()) {
      return Err(InvalidArgumentError("data: expected a mapping"));
    }
    bool all_strings = true;
    for (auto it = data_node.begin(); it != data_node.end(); ++it) {
      const YAML::Node v = it->second;
      if (!v.IsScalar()) {
        all_strings = false;
      }
    }
    if (!all_strings || root["ttftMs"] || root["itlMs"] || root["profiles"] || root["percentile"] ||
        root["headroom"] || root["drainSeconds"] || root["model_id"]) {
      data[kDefaultConfigKey] = text;  // a single entry
    } else {
      for (auto it = data_node.begin(); it != data_node.end(); ++it) {
        const YAML::Node k = it->first;
        const YAML::Node v = it->second;
        data[k.Scalar()] = v.Scalar();
      }
    }
    auto parsed = SloConfigSet::Parse(data);
    if (!parsed.errors.empty()) {
      return Err(InvalidArgumentError(parsed.errors.front().ToString()));
    }
    return std::move(parsed.set);
  } catch (const YAML::Exception& e) {
    return Err(InvalidArgumentError(fmt::format("invalid document: {}", e.msg)));
  }
}

}  // namespace wva::core
