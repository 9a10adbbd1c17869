// Fleet configuration: defaults, YAML parsing (strict: unknown keys are errors) and validation.
#include "sim/fleet.h"

#include "core/config.h"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "base/duration.h"
#include "core/config.h"

namespace wva::sim {

int FleetConfig::VariantIndex(const std::string& name) const {
  for (size_t i = 0; i < variants.size(); ++i) {
    if (variants[i].name == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

FleetConfig DefaultFleet() {
  FleetConfig f;
  VariantConfig l40s;
  l40s.name = "llama-8b-l40s";
  l40s.profile = *BuiltinProfile("l40s-48gb");
  l40s.accelerator = *BuiltinAccelerator("l40s-48gb");
  l40s.cost = 1.80;
  l40s.min_replicas = 1;
  l40s.max_replicas = 8;
  l40s.initial_replicas = 1;
  VariantConfig h100;
  h100.name = "llama-8b-h100";
  h100.profile = *BuiltinProfile("h100-80gb");
  h100.accelerator = *BuiltinAccelerator("h100-80gb");
  h100.cost = 4.50;
  h100.min_replicas = 0;
  h100.max_replicas = 4;
  h100.initial_replicas = 0;
  f.variants = {l40s, h100};
  return f;
}

Status ValidateFleet(const FleetConfig& f) {
  if (f.variants.empty()) {
    return InvalidArgumentError("variants: at least one variant is needed");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < f.variants.size(); ++i) {
    const VariantConfig& v = f.variants[i];
    const std::string at = fmt::format("variants[{}]", i);
    if (v.name.empty()) {
      return InvalidArgumentError(at + ".name: must not be empty");
    }
    if (!names.insert(v.name).second) {
      return InvalidArgumentError(fmt::format("{}.name: duplicate variant \"{}\"", at, v.name));
    }
    if (Status s = v.profile.ValidateForReplica(); !s.ok()) {
      return InvalidArgumentError(fmt::format("{}.profile: {}", at, s.message()));
    }
    if (!(v.cost >= 0)) {
      return InvalidArgumentError(at + ".cost: must be >= 0");
    }
    if (!(v.startup_min_s >= 0) || !(v.startup_max_s >= v.startup_min_s)) {
      return InvalidArgumentError(at + ".startupSeconds: need 0 <= min <= max");
    }
    if (v.min_replicas < 0) {
      return InvalidArgumentError(at + ".minReplicas: must be >= 0");
    }
    if (v.max_replicas && *v.max_replicas < std::max(1, v.min_replicas)) {
      return InvalidArgumentError(at + ".maxReplicas: must be >= max(1, minReplicas)");
    }
    if (v.initial_replicas < 0) {
      return InvalidArgumentError(at + ".initialReplicas: must be >= 0");
    }
    if (v.max_replicas && v.initial_replicas > *v.max_replicas) {
      return InvalidArgumentError(at + ".initialReplicas: above maxReplicas");
    }
  }
  if (!(f.interval_s > 0)) {
    return InvalidArgumentError("controller.interval: must be > 0");
  }
  if (!(f.scrape_s > 0)) {
    return InvalidArgumentError("controller.scrapeInterval: must be > 0");
  }
  if (!(f.window_s >= f.scrape_s)) {
    return InvalidArgumentError("controller.window: must be >= scrapeInterval");
  }
  if (!(f.hpa.sync_s > 0)) {
    return InvalidArgumentError("actuator.hpa.syncPeriod: must be > 0");
  }
  if (!(f.hpa.tolerance >= 0)) {
    return InvalidArgumentError("actuator.hpa.tolerance: must be >= 0");
  }
  if (!(f.slo.ttft_ms > 0) || !(f.slo.itl_ms > 0)) {
    return InvalidArgumentError("slo: ttftMs and itlMs must be > 0");
  }
  if (!(f.slo.percentile > 0 && f.slo.percentile <= 1)) {
    return InvalidArgumentError("slo.percentile: must be in (0, 1]");
  }
  std::vector<std::string> variant_names;
  for (const VariantConfig& v : f.variants) {
    variant_names.push_back(v.name);
  }
  return ValidatePlacement(f.placement, variant_names);
}

namespace {

// A strict YAML walker: every read names its field path; unknown keys are reported.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  Status Fail(const std::string& field, const std::string& problem) const {
    return InvalidArgumentError(fmt::format("{}: {}: {}", file_, field, problem));
  }
  // A nested parser's "<field>: <problem>" error, placed in this file.
  Status Fail(const Status& nested) const {
    return InvalidArgumentError(fmt::format("{}: {}", file_, nested.message()));
  }

  Status Keys(const YAML::Node& n, const std::string& field, std::set<std::string> allowed) const {
    if (!n.IsMap()) {
      return Fail(field.empty() ? "(root)" : field, "must be a mapping");
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string k = it->first.as<std::string>();
      if (!allowed.count(k)) {
        return Fail(Join(field, k), "unknown field");
      }
    }
    return OkStatus();
  }

  static std::string Join(const std::string& a, const std::string& b) {
    return a.empty() ? b : a + "." + b;
  }

  Status Number(const YAML::Node& n, const std::string& field, double* out) const {
    if (!n.IsScalar()) {
      return Fail(field, "must be a number");
    }
    try {
      *out = n.as<double>();
    } catch (const YAML::Exception&) {
      return Fail(field, fmt::format("\"{}\" is not a number", n.Scalar()));
    }
    if (!std::isfinite(*out)) {
      return Fail(field, "must be finite");
    }
    return OkStatus();
  }

  Status Int(const YAML::Node& n, const std::string& field, int* out) const {
    double d;
    WVA_RETURN_IF_ERROR(Number(n, field, &d));
    if (d != std::floor(d) || std::fabs(d) > 1e9) {
      return Fail(field, "must be an integer");
    }
    *out = static_cast<int>(d);
    return OkStatus();
  }

  Status String(const YAML::Node& n, const std::string& field, std::string* out) const {
    if (!n.IsScalar()) {
      return Fail(field, "must be a string");
    }
    *out = n.Scalar();
    return OkStatus();
  }

  // A duration: a number of seconds or a Go duration string ("15s", "1m").
  Status Seconds(const YAML::Node& n, const std::string& field, double* out) const {
    if (!n.IsScalar()) {
      return Fail(field, "must be a duration");
    }
    double d;
    if (Number(n, field, &d).ok()) {
      if (d < 0) {
        return Fail(field, "must be >= 0");
      }
      *out = d;
      return OkStatus();
    }
    auto parsed = ParseDuration(n.Scalar());
    if (!parsed) {
      return Fail(field, parsed.error().message());
    }
    *out = std::chrono::duration<double>(*parsed).count();
    return OkStatus();
  }

 private:
  std::string file_;
};

Status ParseRules(const Reader& r, const YAML::Node& n, const std::string& at, HpaRules* out) {
  WVA_RETURN_IF_ERROR(r.Keys(n, at, {"stabilizationWindowSeconds", "selectPolicy", "policies"}));
  if (n["stabilizationWindowSeconds"]) {
    WVA_RETURN_IF_ERROR(r.Seconds(n["stabilizationWindowSeconds"],
                                  at + ".stabilizationWindowSeconds", &out->stabilization_s));
  }
  if (n["selectPolicy"]) {
    std::string s;
    WVA_RETURN_IF_ERROR(r.String(n["selectPolicy"], at + ".selectPolicy", &s));
    if (s == "Max") {
      out->select = SelectPolicy::kMax;
    } else if (s == "Min") {
      out->select = SelectPolicy::kMin;
    } else if (s == "Disabled") {
      out->select = SelectPolicy::kDisabled;
    } else {
      return r.Fail(at + ".selectPolicy", "must be Max, Min or Disabled");
    }
  }
  if (n["policies"]) {
    const YAML::Node ps = n["policies"];
    if (!ps.IsSequence()) {
      return r.Fail(at + ".policies", "must be a list");
    }
    out->policies.clear();
    for (size_t i = 0; i < ps.size(); ++i) {
      const std::string pat = fmt::format("{}.policies[{}]", at, i);
      WVA_RETURN_IF_ERROR(r.Keys(ps[i], pat, {"type", "value", "periodSeconds"}));
      HpaScalingPolicy p;
      std::string type;
      if (!ps[i]["type"]) {
        return r.Fail(pat + ".type", "required");
      }
      WVA_RETURN_IF_ERROR(r.String(ps[i]["type"], pat + ".type", &type));
      if (type == "Pods") {
        p.type = HpaPolicyType::kPods;
      } else if (type == "Percent") {
        p.type = HpaPolicyType::kPercent;
      } else {
        return r.Fail(pat + ".type", "must be Pods or Percent");
      }
      if (!ps[i]["value"]) {
        return r.Fail(pat + ".value", "required");
      }
      WVA_RETURN_IF_ERROR(r.Int(ps[i]["value"], pat + ".value", &p.value));
      if (p.value <= 0) {
        return r.Fail(pat + ".value", "must be > 0");
      }
      if (!ps[i]["periodSeconds"]) {
        return r.Fail(pat + ".periodSeconds", "required");
      }
      WVA_RETURN_IF_ERROR(r.Seconds(ps[i]["periodSeconds"], pat + ".periodSeconds", &p.period_s));
      if (p.period_s <= 0) {
        return r.Fail(pat + ".periodSeconds", "must be > 0");
      }
      out->policies.push_back(p);
    }
  }
  return OkStatus();
}

// `profile:` is a built-in name, or a mapping read by the one replica-profile parser (optionally
// over `base: NAME`), plus the fleet's own `accelerator` key.
Status ParseProfile(const Reader& r, const YAML::Node& n, const std::string& at, VariantConfig* v) {
  core::PerfProfileParseOptions o;
  o.defaults = CustomProfileDefaults();
  o.resolve_base = [](std::string_view name) { return BuiltinProfile(name); };
  o.caller_keys = {"accelerator"};
  o.for_replica = true;
  o.where = at;
  auto p = core::ParsePerfProfile(n, o);
  if (!p) {
    return r.Fail(p.error());
  }
  v->profile = *p;
  // The accelerator: of the built-in profile named, unless the mapping says otherwise.
  const YAML::Node name = n.IsScalar() ? n : n["base"];
  v->accelerator = name && name.IsScalar() ? BuiltinAccelerator(name.Scalar()).value_or("") : "";
  if (n.IsMap() && n["accelerator"]) {
    WVA_RETURN_IF_ERROR(r.String(n["accelerator"], at + ".accelerator", &v->accelerator));
  }
  return OkStatus();
}

Status ParseStartup(const Reader& r, const YAML::Node& n, const std::string& at, VariantConfig* v) {
  if (n.IsMap()) {
    WVA_RETURN_IF_ERROR(r.Keys(n, at, {"min", "max"}));
    if (!n["min"] || !n["max"]) {
      return r.Fail(at, "needs min and max");
    }
    WVA_RETURN_IF_ERROR(r.Seconds(n["min"], at + ".min", &v->startup_min_s));
    WVA_RETURN_IF_ERROR(r.Seconds(n["max"], at + ".max", &v->startup_max_s));
    return OkStatus();
  }
  if (!n.IsScalar()) {
    return r.Fail(at, "must be seconds, \"MIN-MAX\" or {min, max}");
  }
  const std::string s = n.Scalar();
  const size_t dash = s.find('-', 1);
  if (dash != std::string::npos) {
    YAML::Node lo(s.substr(0, dash)), hi(s.substr(dash + 1));
    WVA_RETURN_IF_ERROR(r.Seconds(lo, at, &v->startup_min_s));
    WVA_RETURN_IF_ERROR(r.Seconds(hi, at, &v->startup_max_s));
    return OkStatus();
  }
  WVA_RETURN_IF_ERROR(r.Seconds(n, at, &v->startup_min_s));
  v->startup_max_s = v->startup_min_s;
  return OkStatus();
}

Status ParseRoot(const Reader& r, const YAML::Node& root, FleetConfig* f) {
  WVA_RETURN_IF_ERROR(r.Keys(root, "",
                             {"model", "variants", "router", "controller", "saturation", "actuator",
                              "slo", "budgets", "stockouts"}));
  if (const YAML::Node m = root["model"]) {
    WVA_RETURN_IF_ERROR(r.Keys(m, "model", {"id", "namespace"}));
    if (m["id"]) {
      WVA_RETURN_IF_ERROR(r.String(m["id"], "model.id", &f->model_id));
    }
    if (m["namespace"]) {
      WVA_RETURN_IF_ERROR(r.String(m["namespace"], "model.namespace", &f->namespace_));
    }
  }
  const YAML::Node vs = root["variants"];
  if (!vs) {
    return r.Fail("variants", "required");
  }
  if (!vs.IsSequence() || vs.size() == 0) {
    return r.Fail("variants", "must be a non-empty list");
  }
  f->variants.clear();
  for (size_t i = 0; i < vs.size(); ++i) {
    const std::string at = fmt::format("variants[{}]", i);
    const YAML::Node n = vs[i];
    WVA_RETURN_IF_ERROR(r.Keys(n, at,
                               {"name", "profile", "cost", "startupSeconds", "minReplicas",
                                "maxReplicas", "initialReplicas"}));
    VariantConfig v;
    if (!n["name"]) {
      return r.Fail(at + ".name", "required");
    }
    WVA_RETURN_IF_ERROR(r.String(n["name"], at + ".name", &v.name));
    if (!n["profile"]) {
      return r.Fail(at + ".profile", "required");
    }
    WVA_RETURN_IF_ERROR(ParseProfile(r, n["profile"], at + ".profile", &v));
    if (!n["cost"]) {
      return r.Fail(at + ".cost", "required");
    }
    WVA_RETURN_IF_ERROR(r.Number(n["cost"], at + ".cost", &v.cost));
    if (n["startupSeconds"]) {
      WVA_RETURN_IF_ERROR(ParseStartup(r, n["startupSeconds"], at + ".startupSeconds", &v));
    }
    if (n["minReplicas"]) {
      WVA_RETURN_IF_ERROR(r.Int(n["minReplicas"], at + ".minReplicas", &v.min_replicas));
    }
    if (n["maxReplicas"]) {
      int mx;
      WVA_RETURN_IF_ERROR(r.Int(n["maxReplicas"], at + ".maxReplicas", &mx));
      v.max_replicas = mx;
    }
    v.initial_replicas = v.min_replicas > 0 ? v.min_replicas : 0;
    if (n["initialReplicas"]) {
      WVA_RETURN_IF_ERROR(
          r.Int(n["initialReplicas"], at + ".initialReplicas", &v.initial_replicas));
    }
    f->variants.push_back(std::move(v));
  }
  if (root["router"]) {
    std::string s;
    WVA_RETURN_IF_ERROR(r.String(root["router"], "router", &s));
    if (s == "least-loaded") {
      f->router = RouterKind::kLeastLoaded;
    } else if (s == "round-robin") {
      f->router = RouterKind::kRoundRobin;
    } else if (s == "flow-control") {
      f->router = RouterKind::kFlowControl;
    } else {
      return r.Fail("router", "must be least-loaded, round-robin or flow-control");
    }
  }
  if (const YAML::Node c = root["controller"]) {
    WVA_RETURN_IF_ERROR(r.Keys(c, "controller", {"interval", "scrapeInterval", "window"}));
    if (c["interval"]) {
      WVA_RETURN_IF_ERROR(r.Seconds(c["interval"], "controller.interval", &f->interval_s));
    }
    if (c["scrapeInterval"]) {
      WVA_RETURN_IF_ERROR(
          r.Seconds(c["scrapeInterval"], "controller.scrapeInterval", &f->scrape_s));
    }
    if (c["window"]) {
      WVA_RETURN_IF_ERROR(r.Seconds(c["window"], "controller.window", &f->window_s));
    }
  }
  if (const YAML::Node s = root["saturation"]) {
    // The saturation ConfigMap's own entry parser and checks (one parser for the concept): the
    // same keys, ranges and errors as a `default` entry of wva-saturation-scaling-config.
    core::ConfigError err;
    std::vector<core::ConfigError> ignored;
    auto e = core::ParseSaturationEntry(core::kDefaultConfigKey, YAML::Dump(s), &err, &ignored);
    if (!e) {
      return r.Fail(Reader::Join("saturation", err.field), err.message);
    }
    if (!ignored.empty()) {
      return r.Fail(Reader::Join("saturation", ignored.front().field),
                    "has no effect in the simulator");
    }
    e->ApplyTo(&f->saturation);
    if (Status st = core::ValidateSaturationConfig(f->saturation); !st.ok()) {
      return r.Fail("saturation", st.message());
    }
  }
  if (const YAML::Node a = root["actuator"]) {
    WVA_RETURN_IF_ERROR(r.Keys(a, "actuator", {"type", "hpa"}));
    if (a["type"]) {
      std::string s;
      WVA_RETURN_IF_ERROR(r.String(a["type"], "actuator.type", &s));
      if (s == "hpa") {
        f->actuator = ActuatorKind::kHpa;
      } else if (s == "direct") {
        f->actuator = ActuatorKind::kDirect;
      } else {
        return r.Fail("actuator.type", "must be hpa or direct");
      }
    }
    if (const YAML::Node h = a["hpa"]) {
      WVA_RETURN_IF_ERROR(
          r.Keys(h, "actuator.hpa", {"tolerance", "syncPeriod", "scaleUp", "scaleDown"}));
      if (h["tolerance"]) {
        WVA_RETURN_IF_ERROR(r.Number(h["tolerance"], "actuator.hpa.tolerance", &f->hpa.tolerance));
      }
      if (h["syncPeriod"]) {
        WVA_RETURN_IF_ERROR(r.Seconds(h["syncPeriod"], "actuator.hpa.syncPeriod", &f->hpa.sync_s));
      }
      if (h["scaleUp"]) {
        WVA_RETURN_IF_ERROR(ParseRules(r, h["scaleUp"], "actuator.hpa.scaleUp", &f->hpa.scale_up));
      }
      if (h["scaleDown"]) {
        WVA_RETURN_IF_ERROR(
            ParseRules(r, h["scaleDown"], "actuator.hpa.scaleDown", &f->hpa.scale_down));
      }
    }
  }
  // GPU budgets and stock-outs (sim/placement.h).
  const FailFn fail = [&r](const std::string& field, const std::string& problem) {
    return r.Fail(field, problem);
  };
  if (root["budgets"]) {
    WVA_RETURN_IF_ERROR(ParseBudgets(root["budgets"], fail, &f->placement));
  }
  if (root["stockouts"]) {
    WVA_RETURN_IF_ERROR(ParseStockouts(root["stockouts"], fail, &f->placement));
  }
  if (const YAML::Node s = root["slo"]) {
    WVA_RETURN_IF_ERROR(r.Keys(s, "slo", {"ttftMs", "itlMs", "percentile"}));
    if (s["ttftMs"]) {
      WVA_RETURN_IF_ERROR(r.Number(s["ttftMs"], "slo.ttftMs", &f->slo.ttft_ms));
    }
    if (s["itlMs"]) {
      WVA_RETURN_IF_ERROR(r.Number(s["itlMs"], "slo.itlMs", &f->slo.itl_ms));
    }
    if (s["percentile"]) {
      WVA_RETURN_IF_ERROR(r.Number(s["percentile"], "slo.percentile", &f->slo.percentile));
    }
  }
  return OkStatus();
}

}  // namespace

StatusOr<FleetConfig> ParseFleetYaml(const std::string& yaml, const std::string& path) {
  Reader r(path);
  FleetConfig f = DefaultFleet();
  try {
    const YAML::Node root = YAML::Load(yaml);
    WVA_RETURN_IF_ERROR(ParseRoot(r, root, &f));
  } catch (const YAML::Exception& e) {
    return Err(InvalidArgumentError(fmt::format("{}:{}: {}", path, e.mark.line + 1, e.msg)));
  }
  if (Status s = ValidateFleet(f); !s.ok()) {
    return Err(InvalidArgumentError(fmt::format("{}: {}", path, s.message())));
  }
  return f;
}

StatusOr<FleetConfig> LoadFleetFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Err(NotFoundError(fmt::format("{}: cannot open fleet file", path)));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseFleetYaml(ss.str(), path);
}

}  // namespace wva::sim
