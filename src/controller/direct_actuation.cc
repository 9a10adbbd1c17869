#include "controller/direct_actuation.h"

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

}  // namespace

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
  const double now_s = std::chrono::duration<double>(clock_.Now().time_since_epoch()).count();
  std::set<std::string> seen;
  for (size_t i = 0; i < out->vas.size() && i < in.vas.size(); ++i) {
    VaOutcome& o = out->vas[i];
    const nlohmann::json& obj = in.vas[i];
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
    auto va = ParseVa(obj);
    if (!va) {
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
      st = states_.insert_or_assign(key, std::make_pair(text, core::BehaviorState(behavior))).first;
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
  return stats;
}

}  // namespace wva::controller
