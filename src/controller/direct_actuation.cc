#include "controller/direct_actuation.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "controller/va.h"

namespace wva::controller {
namespace {

std::string StrAt(const nlohmann::json& j, const char* ptr) {
  const nlohmann::json::json_pointer p(ptr);
  return j.contains(p) && j.at(p).is_string() ? j.at(p).get<std::string>() : "";
}

Status ParseRules(const nlohmann::json& j, const std::string& where, core::HpaRules* r) {
  if (!j.is_object()) {
    return InvalidArgumentError(where + ": expected an object");
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string f = where + "." + it.key();
    if (it.key() == "stabilizationWindowSeconds") {
      if (!it->is_number_integer() || it->get<int>() < 0 || it->get<int>() > 3600) {
        return InvalidArgumentError(f + ": expected whole seconds in 0..3600");
      }
      r->stabilization_s = it->get<int>();
    } else if (it.key() == "selectPolicy") {
      const std::string v = it->is_string() ? it->get<std::string>() : "";
      if (v == "Max") {
        r->select = core::SelectPolicy::kMax;
      } else if (v == "Min") {
        r->select = core::SelectPolicy::kMin;
      } else if (v == "Disabled") {
        r->select = core::SelectPolicy::kDisabled;
      } else {
        return InvalidArgumentError(f + ": expected Max, Min or Disabled");
      }
    } else if (it.key() == "policies") {
      if (!it->is_array() || it->empty()) {
        return InvalidArgumentError(f + ": expected a list");
      }
      r->policies.clear();
      for (size_t i = 0; i < it->size(); ++i) {
        const nlohmann::json& p = (*it)[i];
        const std::string pf = fmt::format("{}[{}]", f, i);
        const std::string type = p.is_object() ? StrAt(p, "/type") : "";
        core::HpaScalingPolicy sp;
        if (type == "Pods") {
          sp.type = core::HpaPolicyType::kPods;
        } else if (type == "Percent") {
          sp.type = core::HpaPolicyType::kPercent;
        } else {
          return InvalidArgumentError(pf + ".type: expected Pods or Percent");
        }
        const nlohmann::json v = p.value("value", nlohmann::json());
        const nlohmann::json period = p.value("periodSeconds", nlohmann::json());
        if (!v.is_number_integer() || v.get<int>() <= 0) {
          return InvalidArgumentError(pf + ".value: expected a whole number > 0");
        }
        if (!period.is_number_integer() || period.get<int>() <= 0 || period.get<int>() > 1800) {
          return InvalidArgumentError(pf + ".periodSeconds: expected whole seconds in 1..1800");
        }
        sp.value = v.get<int>();
        sp.period_s = period.get<int>();
        r->policies.push_back(sp);
      }
    } else {
      return InvalidArgumentError(
          f + ": unknown field (allowed: stabilizationWindowSeconds, selectPolicy, policies)");
    }
  }
  return OkStatus();
}

// "HorizontalPodAutoscaler ns/name" for each scaler that targets apps/v1 Deployment ns/name.
std::vector<std::string> ConflictingScalers(const std::vector<nlohmann::json>& scalers,
                                            const std::string& ns, const std::string& deploy) {
  std::vector<std::string> out;
  for (const nlohmann::json& s : scalers) {
    if (StrAt(s, "/metadata/namespace") != ns) {
      continue;
    }
    if (StrAt(s, "/spec/scaleTargetRef/name") != deploy) {
      continue;
    }
    const std::string kind = StrAt(s, "/spec/scaleTargetRef/kind");
    if (!kind.empty() && kind != "Deployment") {
      continue;
    }
    out.push_back(fmt::format("{} {}/{}", StrAt(s, "/kind").empty() ? "scaler" : StrAt(s, "/kind"),
                              ns, StrAt(s, "/metadata/name")));
  }
  return out;
}

// [[t, n], ...] with finite t and whole n (`nonzero`: n != 0, else n >= 0).
Status DecodePairs(const nlohmann::json& j, const char* field, bool nonzero,
                   std::vector<std::pair<double, int>>* out) {
  if (!j.contains(field)) {
    return OkStatus();
  }
  if (!j[field].is_array()) {
    return InvalidArgumentError(fmt::format("{}: must be a list", field));
  }
  for (const nlohmann::json& p : j[field]) {
    const bool ok = p.is_array() && p.size() == 2 && p[0].is_number() &&
                    std::isfinite(p[0].get<double>()) && p[1].is_number_integer() &&
                    (nonzero ? p[1].get<int>() != 0 : p[1].get<int>() >= 0);
    if (!ok) {
      return InvalidArgumentError(fmt::format("{}: each entry must be [time, {}]", field,
                                              nonzero ? "delta != 0" : "replicas >= 0"));
    }
    out->emplace_back(p[0].get<double>(), p[1].get<int>());
  }
  std::stable_sort(out->begin(), out->end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  return OkStatus();
}

}  // namespace

std::string EncodeBehaviorHistories(const BehaviorHistories& h, size_t max_bytes, int* dropped) {
  std::vector<std::pair<double, std::string>> entries;  // (newest recommendation, entry)
  for (const auto& [key, hist] : h) {
    const size_t slash = key.find('/');
    nlohmann::json recs = nlohmann::json::array(), events = nlohmann::json::array();
    for (const auto& [t, n] : hist.recommendations) {
      recs.push_back({t, n});
    }
    for (const auto& [t, d] : hist.events) {
      events.push_back({t, d});
    }
    const nlohmann::json e = {{"namespace", key.substr(0, slash)},
                              {"name", slash == std::string::npos ? "" : key.substr(slash + 1)},
                              {"recommendations", std::move(recs)},
                              {"events", std::move(events)}};
    entries.emplace_back(hist.recommendations.empty() ? 0 : hist.recommendations.back().first,
                         e.dump());
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string out = R"({"version":1,"targets":[)";
  int n = 0, left_out = 0;
  for (const auto& [t, text] : entries) {
    if (out.size() + text.size() + 3 > max_bytes) {
      ++left_out;
      continue;
    }
    out += (n++ > 0 ? "," : "") + text;
  }
  out += "]}";
  if (dropped != nullptr) {
    *dropped = left_out;
  }
  return out;
}

StatusOr<BehaviorHistories> DecodeBehaviorHistories(const std::string& text) {
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Err(InvalidArgumentError("not a JSON object"));
  }
  if (doc.value("version", 0) != 1) {
    return Err(InvalidArgumentError("version: unsupported (want 1)"));
  }
  if (!doc.contains("targets") || !doc["targets"].is_array()) {
    return Err(InvalidArgumentError("targets: must be a list"));
  }
  BehaviorHistories out;
  for (size_t i = 0; i < doc["targets"].size(); ++i) {
    const nlohmann::json& e = doc["targets"][i];
    const std::string ns = e.is_object() ? StrAt(e, "/namespace") : "";
    const std::string name = e.is_object() ? StrAt(e, "/name") : "";
    if (ns.empty() || name.empty()) {
      return Err(InvalidArgumentError(fmt::format("targets[{}]: namespace and name required", i)));
    }
    core::BehaviorHistory h;
    for (Status s : {DecodePairs(e, "recommendations", false, &h.recommendations),
                     DecodePairs(e, "events", true, &h.events)}) {
      if (!s.ok()) {
        return Err(
            InvalidArgumentError(fmt::format("targets[{}] ({}/{}): {}", i, ns, name, s.message())));
      }
    }
    out[ns + "/" + name] = std::move(h);
  }
  return out;
}

void DirectActuator::Restore() {
  if (store_ == nullptr || restored_) {
    return;
  }
  auto doc = store_->Load();
  if (!doc) {
    const std::string text = doc.error().ToString();
    if (text != last_store_error_) {
      last_store_error_ = text;
      log_.Warn(
          "stabilization history not restored; retried next cycle (until then a target's "
          "current replicas count as its recommendation: no early scale-down)",
          {{"configmap", kDirectStateConfigMap}, {"err", text}});
    }
    return;
  }
  restored_ = true;
  last_store_error_.clear();
  if (!doc->has_value()) {
    return;
  }
  auto histories = DecodeBehaviorHistories(**doc);
  if (!histories) {
    log_.Warn(
        "stabilization history unreadable; targets start fresh (a full window before "
        "any scale-down)",
        {{"configmap", kDirectStateConfigMap},
         {"key", kDirectStateKey},
         {"err", histories.error().message()}});
    return;
  }
  int merged = 0;
  for (auto& [key, h] : *histories) {
    auto st = states_.find(key);
    if (st != states_.end()) {
      st->second.second.Merge(h);  // seen while the store was unreadable: keep both
      ++merged;
    } else {
      pending_[key] = std::move(h);
    }
  }
  log_.Info("stabilization history restored",
            {{"targets", static_cast<int>(histories->size())}, {"merged", merged}});
}

void DirectActuator::Save() {
  if (store_ == nullptr || !restored_) {
    return;  // never overwrite a history not read yet
  }
  BehaviorHistories h = pending_;  // restored, target not acted on yet (e.g. refused)
  for (const auto& [key, st] : states_) {
    h[key] = st.second.History();
  }
  int dropped = 0;
  std::string doc = EncodeBehaviorHistories(h, 900 * 1024, &dropped);
  if (dropped > 0) {
    log_.Warn(
        "stabilization history too large for one ConfigMap; the targets recommended "
        "longest ago are not saved",
        {{"dropped_targets", dropped}});
  }
  if (doc == last_saved_) {
    return;
  }
  if (Status s = store_->Save(doc); !s.ok()) {
    log_.Warn("stabilization history not saved; retried next cycle",
              {{"configmap", kDirectStateConfigMap}, {"err", s.ToString()}});
    return;
  }
  last_saved_ = std::move(doc);
}

StatusOr<core::Behavior> ParseBehavior(const nlohmann::json& behavior) {
  core::Behavior b;
  if (!behavior.is_object()) {
    return Err(InvalidArgumentError("behavior: expected an object"));
  }
  for (auto it = behavior.begin(); it != behavior.end(); ++it) {
    if (it.key() == "scaleUp") {
      WVA_RETURN_IF_ERROR(ParseRules(*it, "behavior.scaleUp", &b.scale_up));
    } else if (it.key() == "scaleDown") {
      WVA_RETURN_IF_ERROR(ParseRules(*it, "behavior.scaleDown", &b.scale_down));
    } else {
      return Err(InvalidArgumentError("behavior." + it.key() +
                                      ": unknown field (allowed: scaleUp, scaleDown)"));
    }
  }
  return b;
}

DirectActuator::Stats DirectActuator::Apply(const CycleInput& in, CycleOutput* out) {
  Stats stats;
  std::vector<nlohmann::json> scalers;
  bool scalers_read = false;
  // Wall-clock seconds: the history outlives this process (restarts, leader changes).
  const double now_s = std::chrono::duration<double>(clock_.WallNow().time_since_epoch()).count();
  bool tried_restore = false;  // the store is read at the first direct-mode VA (once a cycle)
  std::set<std::string> seen;
  for (size_t i = 0; i < out->vas.size() && i < in.vas.size(); ++i) {
    VaOutcome& o = out->vas[i];
    const nlohmann::json& obj = in.vas[i].object();
    const std::string mode = StrAt(obj, "/metadata/annotations/wva.llmd.ai~1actuation");
    if (!mode.empty() && mode != "direct" && mode != "metrics" && o.valid) {
      ++stats.refused;
      o.status.conditions.push_back(
          {kCondDirectActuation, false, "InvalidActuation",
           fmt::format("annotation {}: \"{}\" is not direct or metrics; replicas left to the "
                       "HPA or KEDA",
                       kActuationAnnotation, mode)});
      continue;
    }
    const bool direct = mode.empty() ? default_direct_ : mode == "direct";
    if (!direct || !o.valid) {
      continue;
    }
    ++stats.direct;
    if (!tried_restore) {
      tried_restore = true;
      Restore();
    }
    const VaSpec* va = in.vas[i].spec();
    if (va == nullptr) {
      continue;
    }
    const std::string key = o.ns + "/" + o.name;
    seen.insert(key);
    auto refuse = [&](const std::string& reason, const std::string& msg) {
      ++stats.refused;
      o.status.conditions.push_back({kCondDirectActuation, false, reason, msg});
      o.status.applied = false;
    };
    if (!scalers_read) {
      scalers = scalers_();
      scalers_read = true;
    }
    const std::vector<std::string> conflicts = ConflictingScalers(scalers, o.ns, va->target_name);
    if (!conflicts.empty()) {
      std::string names;
      for (const std::string& c : conflicts) {
        names += (names.empty() ? "" : ", ") + c;
      }
      refuse("ConflictingScaler",
             fmt::format("{} also targets Deployment {}/{}; direct actuation refused (remove it, "
                         "or set {}: metrics)",
                         names, o.ns, va->target_name, kActuationAnnotation));
      continue;
    }
    const std::string text = StrAt(obj, "/metadata/annotations/wva.llmd.ai~1behavior");
    auto st = states_.find(key);
    if (st == states_.end() || st->second.first != text) {
      core::Behavior behavior;
      if (!text.empty()) {
        nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
        auto b =
            j.is_discarded()
                ? StatusOr<core::Behavior>(Err(InvalidArgumentError("behavior: not valid JSON")))
                : ParseBehavior(j);
        if (!b) {
          refuse("InvalidBehavior",
                 fmt::format("annotation {}: {}", kBehaviorAnnotation, b.error().message()));
          continue;
        }
        behavior = *b;
      }
      if (st != states_.end()) {
        // New rules, same history (as an HPA whose behavior is edited).
        st->second = {text, st->second.second};
        st->second.second.set_behavior(behavior);
      } else {
        st = states_.emplace(key, std::make_pair(text, core::BehaviorState(behavior))).first;
        auto saved = pending_.find(key);
        if (saved != pending_.end()) {
          st->second.second.Merge(saved->second);
          pending_.erase(saved);
        } else {
          st->second.second.RecordInitial(now_s, o.current_replicas);
        }
      }
    }
    if (!o.publish_desired) {
      o.status.conditions.push_back(
          {kCondDirectActuation, true, "NoDecision", "no decision yet: replicas left alone"});
      continue;
    }
    const int desired = *o.publish_desired;
    const int next = st->second.second.Next(now_s, desired, o.current_replicas, va->min_replicas,
                                            va->max_replicas);
    if (next != o.current_replicas) {
      if (Status s = setter_.SetReplicas(o.ns, va->target_name, next); !s.ok()) {
        ++stats.failures;
        log_.Warn("scale write failed; retried next cycle",
                  {{"namespace", o.ns}, {"name", o.name}, {"err", s.ToString()}});
        o.status.conditions.push_back({kCondDirectActuation, false, "ScaleFailed", s.ToString()});
        o.status.applied = false;
        continue;
      }
      ++stats.writes;
      log_.Info("scaled", {{"namespace", o.ns},
                           {"name", o.name},
                           {"from", o.current_replicas},
                           {"to", next},
                           {"desired", desired}});
    }
    o.status.applied = next == desired;
    o.status.conditions.push_back(
        {kCondDirectActuation, true, next == desired ? "Scaled" : "Stabilized",
         next == desired ? fmt::format("Deployment {} at {} replicas", va->target_name, next)
                         : fmt::format("Deployment {} at {} replicas on the way to {} "
                                       "(stabilization window or rate policy)",
                                       va->target_name, next, desired)});
  }
  for (auto it = states_.begin(); it != states_.end();) {
    it = seen.count(it->first) ? std::next(it) : states_.erase(it);
  }
  for (auto it = pending_.begin(); it != pending_.end();) {
    it = seen.count(it->first) ? std::next(it) : pending_.erase(it);
  }
  Save();
  return stats;
}

}  // namespace wva::controller
