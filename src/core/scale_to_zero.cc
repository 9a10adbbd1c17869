#include "core/scale_to_zero.h"

#include <cmath>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "base/duration.h"
#include "core/yaml_entry.h"

namespace wva::core {
namespace {

constexpr std::chrono::hours kLongRetention{24};

// Parses one entry; false with `*err` set when it is invalid.
bool ParseEntry(const std::string& key, const std::string& yaml, ScaleToZeroEntry* e,
                ConfigError* err, std::vector<ConfigError>* warnings) {
  e->key = key;
  YAML::Node root;
  std::string problem;
  if (!LoadEntryMapping(yaml, &root, &problem)) {
    *err = {key, "", problem};
    return false;
  }
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string field = it->first.IsScalar() ? it->first.Scalar() : "?";
    const YAML::Node v = it->second;
    if (field == "model_id" || field == "namespace") {
      if (!v.IsScalar() || v.Scalar().empty()) {
        *err = {key, field, "must be a non-empty string"};
        return false;
      }
      (field == "model_id" ? e->model_id : e->namespace_) = v.Scalar();
    } else if (field == "enable_scale_to_zero") {
      bool b = false;
      if (!ParseYamlBool(v, &b)) {
        *err = {key, field, "expected true or false"};
        return false;
      }
      e->enabled = b;
    } else if (field == "retention_period") {
      const std::string t = v.IsScalar() ? v.Scalar() : "";
      auto d = ParseDuration(t);
      const auto s =
          d ? std::chrono::duration_cast<std::chrono::seconds>(*d) : std::chrono::seconds(0);
      if (!d || s.count() <= 0) {
        *err = {key, field, fmt::format("\"{}\" is not a duration of at least 1s, like 10m", t)};
        return false;
      }
      if (s > kLongRetention) {
        warnings->push_back({key, field,
                             fmt::format("{} is over 24h: an idle model keeps its replicas that "
                                         "long",
                                         t)});
      }
      e->retention = s;
    } else {
      *err = {key, field,
              "unknown field (allowed: model_id, namespace, enable_scale_to_zero, "
              "retention_period)"};
      return false;
    }
  }
  if (key != kDefaultConfigKey) {
    const auto hash = key.find('#');
    if (hash != std::string::npos && hash > 0 && hash + 1 < key.size()) {
      if (!e->model_id) {
        e->model_id = key.substr(0, hash);
      }
      if (!e->namespace_) {
        e->namespace_ = key.substr(hash + 1);
      }
    }
    if (!e->model_id) {
      *err = {key, "model_id",
              "required outside the default entry (or name the key \"<modelID>#<namespace>\")"};
      return false;
    }
  }
  return true;
}

void Apply(const ScaleToZeroEntry& e, ScaleToZeroSetting* s) {
  if (e.enabled) {
    s->enabled = *e.enabled;
  }
  if (e.retention) {
    s->retention = *e.retention;
  }
}

}  // namespace

ScaleToZeroConfigSet::ParseResult ScaleToZeroConfigSet::Parse(
    const std::map<std::string, std::string>& data) {
  ParseResult r;
  for (const auto& [key, yaml] : data) {
    ScaleToZeroEntry e;
    ConfigError err;
    if (!ParseEntry(key, yaml, &e, &err, &r.warnings)) {
      r.errors.push_back(std::move(err));
      continue;
    }
    r.set.entries_[key] = std::move(e);
  }
  return r;
}

ScaleToZeroConfigSet ScaleToZeroConfigSet::MergeLastGood(
    const ScaleToZeroConfigSet& previous, const std::map<std::string, std::string>& data,
    std::vector<ConfigError>* errors) {
  ParseResult r = Parse(data);
  for (const ConfigError& e : r.errors) {
    auto prev = previous.entries_.find(e.key);
    if (prev != previous.entries_.end()) {
      r.set.entries_[e.key] = prev->second;
    }
  }
  if (errors) {
    *errors = std::move(r.errors);
  }
  return std::move(r.set);
}

ScaleToZeroSetting ScaleToZeroConfigSet::Resolve(const std::string& model_id,
                                                 const std::string& namespace_,
                                                 std::optional<bool> inline_enabled,
                                                 bool fallback) const {
  ScaleToZeroSetting s;
  s.enabled = fallback;
  auto def = entries_.find(kDefaultConfigKey);
  if (def != entries_.end()) {
    Apply(def->second, &s);
  }
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
      Apply(e, &s);
    }
  }
  if (inline_enabled) {
    s.enabled = *inline_enabled;
  }
  return s;
}

const char* RequestCountStateName(RequestCount::State s) {
  switch (s) {
    case RequestCount::State::kValue:
      return "value";
    case RequestCount::State::kError:
      return "error";
    case RequestCount::State::kEmpty:
      return "empty";
    case RequestCount::State::kStale:
      return "stale";
    case RequestCount::State::kInvalid:
      return "invalid";
  }
  return "empty";
}

bool AllowsZero(const ModelInput& in) {
  if (in.variants.empty()) {
    return false;
  }
  for (const VariantState& v : in.variants) {
    if (v.min_replicas != 0) {
      return false;
    }
  }
  return true;
}

int CheapestVariant(const ModelInput& in) {
  int best = -1;
  for (size_t i = 0; i < in.variants.size(); ++i) {
    const VariantState& v = in.variants[i];
    if (v.max_replicas && *v.max_replicas < 1) {
      continue;
    }
    if (best < 0) {
      best = static_cast<int>(i);
      continue;
    }
    const VariantState& b = in.variants[best];
    if (v.cost < b.cost || (v.cost == b.cost && v.name < b.name)) {
      best = static_cast<int>(i);
    }
  }
  return best;
}

namespace {

// Why an eligible model may not go to zero this cycle ("" = it may).
std::string WhyNotZero(const ScaleToZeroInput& z) {
  const auto retention = FormatDuration(z.setting.retention);
  if (!z.metrics_ok) {
    return "saturation metrics unavailable";
  }
  if (z.requests.state != RequestCount::State::kValue) {
    return fmt::format("request count over {} unknown ({})", retention,
                       RequestCountStateName(z.requests.state));
  }
  if (z.requests.value != 0) {
    return fmt::format("{:g} requests served over {}", z.requests.value, retention);
  }
  if (!z.complete_data) {
    return "some Ready pod reported no usable sample";
  }
  if (z.seconds_since_woken &&
      *z.seconds_since_woken < std::chrono::duration<double>(z.setting.retention).count()) {
    return fmt::format("replicas up (or watched by this controller) for {:.0f}s, less than {}",
                       *z.seconds_since_woken, retention);
  }
  return "";
}

}  // namespace

ScaleToZeroResult ApplyScaleToZero(const ModelInput& in, const ScaleToZeroInput& z,
                                   ModelDecision* d) {
  ScaleToZeroResult r;
  if (d->decisions.size() != in.variants.size()) {
    return r;
  }
  r.eligible = z.setting.enabled && AllowsZero(in);
  if (r.eligible) {
    r.why = WhyNotZero(z);
    if (r.why.empty()) {
      const std::string reason = fmt::format(
          "no request served over the last {} and every variant allows minReplicas 0: scale "
          "to zero",
          FormatDuration(z.setting.retention));
      for (size_t i = 0; i < in.variants.size(); ++i) {
        VariantDecision& x = d->decisions[i];
        x.target_replicas = 0;
        x.action = in.variants[i].current_replicas > 0 ? Action::kScaleDown : Action::kNone;
        x.driver = Driver::kScaleToZero;
        x.reason = reason;
      }
      r.kind = ScaleToZeroResult::Kind::kZeroed;
      return r;
    }
  }
  int total = 0;
  for (const VariantDecision& x : d->decisions) {
    total += x.target_replicas;
  }
  if (total > 0 || !z.metrics_ok) {
    return r;
  }
  const bool woken_recently =
      z.seconds_since_woken &&
      *z.seconds_since_woken < std::chrono::duration<double>(z.setting.retention).count();
  // Unknown request data never wakes an eligible model (nor zeroes it): it stays where it is,
  // unless scale from zero just woke it (its new replica is kept while it starts).
  if (r.eligible && z.requests.state != RequestCount::State::kValue && !woken_recently) {
    return r;
  }
  const int c = CheapestVariant(in);
  if (c < 0) {
    return r;
  }
  VariantDecision& x = d->decisions[c];
  x.target_replicas = 1;
  x.action = in.variants[c].current_replicas < 1 ? Action::kScaleUp : Action::kNone;
  x.driver = Driver::kScaleToZero;
  x.reason =
      woken_recently ? fmt::format(
                           "woken from zero {:.0f}s ago: keeping one replica of the cheapest "
                           "variant",
                           *z.seconds_since_woken)
      : r.eligible ? fmt::format("{}: keeping one replica of the cheapest variant", r.why)
                   : "scale to zero is not enabled for the model: keeping one replica of the "
                     "cheapest variant";
  r.kind = ScaleToZeroResult::Kind::kKeptOne;
  return r;
}

}  // namespace wva::core
