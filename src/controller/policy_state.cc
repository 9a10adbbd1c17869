#include "controller/policy_state.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

namespace wva::controller {
namespace {

nlohmann::json Encode(const prom::ModelKey& key, const core::PolicyState& s) {
  nlohmann::json rates = nlohmann::json::array();
  for (const auto& [t, r] : s.rates) {
    rates.push_back({t, r});
  }
  nlohmann::json j = {{"namespace", key.ns},
                      {"model", key.model},
                      {"rates", std::move(rates)},
                      {"lastPrompt", s.last_prompt},
                      {"lastOutput", s.last_output},
                      {"firstRun", s.first_run_s},
                      {"correction", s.correction},
                      {"correctionAt", s.correction_t},
                      {"lastScaleUp", s.last_scale_up_s},
                      {"lastDeficit", s.last_deficit_s}};
  if (!s.startup_s.empty()) {
    j["startupSeconds"] = s.startup_s;
  }
  return j;
}

// The newest time the state was touched, to keep the recently decided models when trimming.
double LastSeen(const core::PolicyState& s) {
  return s.rates.empty() ? s.first_run_s : s.rates.back().first;
}

Status Number(const nlohmann::json& j, const char* field, bool may_be_negative, double* out) {
  if (!j.contains(field)) {
    return OkStatus();  // absent: the default
  }
  const nlohmann::json& v = j[field];
  if (!v.is_number() || !std::isfinite(v.get<double>()) ||
      (!may_be_negative && v.get<double>() < 0)) {
    return InvalidArgumentError(
        fmt::format("{}: must be a finite number{}", field, may_be_negative ? "" : " >= 0"));
  }
  *out = v.get<double>();
  return OkStatus();
}

StatusOr<core::PolicyState> Decode(const nlohmann::json& j) {
  core::PolicyState s;
  for (auto [field, slot, neg] : {std::tuple{"lastPrompt", &s.last_prompt, false},
                                  std::tuple{"lastOutput", &s.last_output, false},
                                  std::tuple{"firstRun", &s.first_run_s, true},
                                  std::tuple{"correction", &s.correction, false},
                                  std::tuple{"correctionAt", &s.correction_t, true},
                                  std::tuple{"lastScaleUp", &s.last_scale_up_s, true},
                                  std::tuple{"lastDeficit", &s.last_deficit_s, true}}) {
    if (Status st = Number(j, field, neg, slot); !st.ok()) {
      return Err(st);
    }
  }
  if (s.correction < 1) {
    return Err(InvalidArgumentError("correction: must be >= 1"));
  }
  if (j.contains("rates")) {
    if (!j["rates"].is_array()) {
      return Err(InvalidArgumentError("rates: must be a list"));
    }
    for (const auto& p : j["rates"]) {
      if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number() ||
          !std::isfinite(p[0].get<double>()) || !std::isfinite(p[1].get<double>()) ||
          p[1].get<double>() < 0) {
        return Err(InvalidArgumentError("rates: each entry must be [time, rate >= 0]"));
      }
      s.rates.emplace_back(p[0].get<double>(), p[1].get<double>());
    }
  }
  if (j.contains("startupSeconds")) {
    if (!j["startupSeconds"].is_object()) {
      return Err(InvalidArgumentError("startupSeconds: must be a map"));
    }
    for (const auto& [variant, v] : j["startupSeconds"].items()) {
      if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() <= 0) {
        return Err(InvalidArgumentError(fmt::format("startupSeconds.{}: must be > 0", variant)));
      }
      s.startup_s[variant] = v.get<double>();
    }
  }
  return s;
}

}  // namespace

std::string EncodePolicyStates(const PolicyStates& states, size_t max_bytes, int* dropped) {
  std::vector<std::pair<double, std::string>> entries;  // (last seen, encoded entry)
  for (const auto& [key, s] : states) {
    entries.emplace_back(LastSeen(s), Encode(key, s).dump());
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string out = R"({"version":1,"models":[)";
  int n = 0, left_out = 0;
  for (const auto& [seen, text] : entries) {
    if (out.size() + text.size() + 3 > max_bytes) {
      ++left_out;
      continue;
    }
    if (n++ > 0) {
      out += ',';
    }
    out += text;
  }
  out += "]}";
  if (dropped != nullptr) {
    *dropped = left_out;
  }
  return out;
}

StatusOr<PolicyStates> DecodePolicyStates(const std::string& text) {
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Err(InvalidArgumentError("not a JSON object"));
  }
  if (doc.value("version", 0) != 1) {
    return Err(InvalidArgumentError("version: unsupported (want 1)"));
  }
  if (!doc.contains("models") || !doc["models"].is_array()) {
    return Err(InvalidArgumentError("models: must be a list"));
  }
  PolicyStates out;
  for (size_t i = 0; i < doc["models"].size(); ++i) {
    const nlohmann::json& m = doc["models"][i];
    if (!m.is_object() || !m.contains("namespace") || !m["namespace"].is_string() ||
        !m.contains("model") || !m["model"].is_string()) {
      return Err(InvalidArgumentError(fmt::format("models[{}]: namespace and model required", i)));
    }
    auto s = Decode(m);
    if (!s) {
      return Err(InvalidArgumentError(
          fmt::format("models[{}] ({}/{}): {}", i, m["namespace"].get<std::string>(),
                      m["model"].get<std::string>(), s.error().message())));
    }
    out[{m["namespace"].get<std::string>(), m["model"].get<std::string>()}] = std::move(*s);
  }
  return out;
}

}  // namespace wva::controller
