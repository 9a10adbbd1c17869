#include "controller/calibrators.h"

#include <set>

#include "controller/va.h"

namespace wva::controller {

std::map<std::string, CalibrationKey> VariantCalibrationKeys(const CycleInput& in) {
  std::map<std::string, CalibrationKey> out;
  for (const CycleVa& v : in.vas) {
    const VaSpec* va = v.spec();
    if (va == nullptr) {
      continue;
    }
    const std::string id = va->ns + "/" + va->target_name;
    auto d = in.deployments.find(id);
    if (d == in.deployments.end()) {
      continue;  // no target: the planner does not size it either
    }
    // Two VAs on one Deployment would be a misconfiguration; the first (in list order) wins.
    out.emplace(id, CalibrationKey{va->ns, va->model_id, ResolveAccelerator(*va, d->second.get())});
  }
  return out;
}

CalibrationFeed FeedCalibrators(const CycleInput& in, const prom::CalibrationSnapshot* samples,
                                double t_s, const core::FitOptions& options, Calibrators* cals) {
  CalibrationFeed feed;
  const std::map<std::string, CalibrationKey> keys = VariantCalibrationKeys(in);
  std::set<CalibrationKey> live;
  for (const auto& [id, key] : keys) {
    live.insert(key);
  }
  for (auto it = cals->begin(); it != cals->end();) {
    if (!live.count(it->first)) {
      it = cals->erase(it);
      ++feed.forgotten;
    } else {
      it->second.Expire(t_s);
      ++it;
    }
  }
  if (samples == nullptr) {
    return feed;
  }

  for (const auto& [model, m] : samples->models) {
    auto owners = in.pod_owner.find(model.ns);
    for (const auto& [pod, s] : m.pods) {
      if (!s.itl && !s.prefill) {
        continue;
      }
      const CalibrationKey* key = nullptr;
      if (owners != in.pod_owner.end()) {
        auto o = owners->second.find(pod);
        if (o != owners->second.end()) {
          auto k = keys.find(model.ns + "/" + o->second);
          // The pod's Deployment must belong to a VA of this very model.
          if (k != keys.end() && k->second.model == model.model) {
            key = &k->second;
          }
        }
      }
      if (key == nullptr) {
        ++feed.unattributed_pods;
        continue;
      }
      auto [it, created] = cals->try_emplace(*key, options);
      core::ProfileCalibrator& cal = it->second;
      if (s.itl) {
        // As observed: the stalls in it are removed at fit time with the prefill coefficients the
        // sizing uses then (ProfileCalibrator::Calibrate).
        if (cal.AddObservedItl(t_s, s.itl->running_batch, s.itl->itl_ms, s.itl->prompt_tokens,
                               s.itl->output_tokens, s.itl->weight)) {
          ++feed.itl_samples;
        } else {
          ++feed.itl_ignored;
        }
      }
      if (s.prefill) {
        cal.AddPrefill(t_s, s.prefill->prompt_tokens, s.prefill->prefill_ms, s.prefill->weight);
        ++feed.prefill_samples;
      }
    }
  }
  return feed;
}

}  // namespace wva::controller
