#include "controller/scale_from_zero.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "controller/va.h"
#include "core/scale_to_zero.h"

namespace wva::controller {

StatusOr<bool> KubeScaleWriter::ScaleFromZero(const std::string& ns, const std::string& deployment,
                                              int replicas) {
  auto scale = client_->GetScale(kube::resources::kDeployments, ns, deployment);
  if (!scale) {
    return Err(scale.error());
  }
  const nlohmann::json& obj = **scale;
  const int now = obj.value("/spec/replicas"_json_pointer, 0);
  if (now != 0) {
    return false;
  }
  nlohmann::json patch = {{"spec", {{"replicas", replicas}}}};
  const std::string rv = obj.value("/metadata/resourceVersion"_json_pointer, std::string());
  if (!rv.empty()) {
    patch["metadata"]["resourceVersion"] = rv;
  }
  auto r = client_->MergePatch(kube::resources::kDeployments, ns, deployment, patch, "scale");
  if (!r) {
    return Err(r.error());
  }
  return true;
}

Status KubeScaleWriter::SetReplicas(const std::string& ns, const std::string& deployment,
                                    int replicas) {
  auto r = client_->SetScale(kube::resources::kDeployments, ns, deployment, replicas);
  if (!r) {
    return r.error();
  }
  return OkStatus();
}

std::vector<WakeUp> ModelsAtZero(const std::vector<VaPtr>& vas,
                                 const std::map<std::string, DeploymentPtr>& deployments) {
  struct Member {
    const VaSpec* spec;
    const nlohmann::json* obj;
  };
  std::map<prom::ModelKey, std::vector<Member>> groups;
  std::set<prom::ModelKey> not_at_zero;
  for (const VaPtr& cached : vas) {
    const StatusOr<VaSpec>& va = cached->spec;
    if (!va) {
      continue;
    }
    const prom::ModelKey key{va->ns, va->model_id};
    auto d = deployments.find(va->ns + "/" + va->target_name);
    if (va->min_replicas != 0 || d == deployments.end() || d->second->spec_replicas != 0) {
      not_at_zero.insert(key);
      continue;
    }
    groups[key].push_back({&*va, cached->object.get()});
  }
  std::vector<WakeUp> out;
  for (auto& [key, members] : groups) {
    if (not_at_zero.count(key)) {
      continue;
    }
    std::sort(members.begin(), members.end(),
              [](const Member& a, const Member& b) { return a.spec->name < b.spec->name; });
    core::ModelInput mi;
    for (const Member& m : members) {
      core::VariantState v;
      v.name = m.spec->name;
      v.cost = m.spec->cost;
      v.min_replicas = 0;
      v.max_replicas = m.spec->max_replicas;
      mi.variants.push_back(v);
    }
    const int c = core::CheapestVariant(mi);
    if (c < 0) {
      continue;
    }
    const Member& m = members[c];
    out.push_back({key.ns, key.model, m.spec->name, m.spec->target_name, 0, *m.obj});
  }
  return out;
}

std::map<prom::ModelKey, double> DemandOf(const prom::QueryResult& r,
                                          const std::string& model_label) {
  std::map<prom::ModelKey, double> out;
  for (const prom::Sample& s : r.samples) {
    auto ns = s.labels.find("namespace");
    auto model = s.labels.find(model_label);
    if (ns == s.labels.end() || model == s.labels.end()) {
      continue;
    }
    const double v = s.point.value;
    if (s.point.value_class != prom::ValueClass::kFinite || !std::isfinite(v) || v <= 0) {
      continue;
    }
    out[{ns->second, model->second}] += v;
  }
  return out;
}

void ZeroWaker::ExpireGrants(const std::map<std::string, DeploymentPtr>& deployments) {
  const auto now = clock_.Now();
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    auto d = deployments.find(it->first.ns + "/" + it->second.deployment);
    const double age = std::chrono::duration<double>(now - it->second.since).count();
    if (d != deployments.end() && d->second->ready_replicas > 0) {
      log_.Info("woken variant has a Ready replica", {{"namespace", it->first.ns},
                                                      {"model", it->first.model},
                                                      {"variant", it->second.va},
                                                      {"seconds", age}});
      it = in_flight_.erase(it);
    } else if (now - it->second.since >= settings_.ready_timeout) {
      log_.Warn(
          "woken variant has no Ready replica within the timeout; the model may be woken "
          "again",
          {{"namespace", it->first.ns},
           {"model", it->first.model},
           {"variant", it->second.va},
           {"seconds", age}});
      it = in_flight_.erase(it);
    } else {
      ++it;
    }
  }
}

ZeroWaker::TickResult ZeroWaker::Tick() {
  TickResult r;
  const std::vector<VaPtr> vas = reader_.VariantAutoscalings();
  std::map<std::string, DeploymentPtr> deployments;
  for (const VaPtr& cached : vas) {
    const StatusOr<VaSpec>& va = cached->spec;
    if (!va) {
      continue;
    }
    if (DeploymentPtr d = reader_.Deployment(va->ns, va->target_name)) {
      deployments[va->ns + "/" + va->target_name] = std::move(d);
    }
  }
  ExpireGrants(deployments);
  std::vector<WakeUp> at_zero = ModelsAtZero(vas, deployments);
  r.at_zero = static_cast<int>(at_zero.size());
  if (at_zero.empty()) {
    return r;
  }

  r.queried = true;
  prom::QueryOutcome answer = querier_.Query(settings_.demand_query);
  if (!answer) {
    r.query_failed = true;
    if (!last_query_failed_) {
      log_.Warn("demand query failed; models at zero stay there until it answers",
                {{"err", answer.error().ToString()}});
    }
    last_query_failed_ = true;
    return r;
  }
  if (last_query_failed_) {
    log_.Info("demand query answers again");
  }
  last_query_failed_ = false;
  const std::map<prom::ModelKey, double> demand = DemandOf(*answer, settings_.model_label);

  std::vector<WakeUp> todo;
  for (WakeUp& w : at_zero) {
    auto d = demand.find({w.ns, w.model});
    if (d == demand.end()) {
      continue;
    }
    auto grant = in_flight_.find({w.ns, w.model});
    // Woken and back at zero (a scaler that has not seen the new decision yet set it back):
    // the same one replica is asked for again after a short pause; never a second one, since
    // the write only happens while the scale says 0.
    if (grant != in_flight_.end() && clock_.Now() - grant->second.last_write < kRewakePause) {
      ++r.skipped_in_flight;
      continue;
    }
    w.demand = d->second;
    todo.push_back(std::move(w));
  }
  // Parallel writes, at most `concurrency` at a time.
  std::vector<StatusOr<bool>> results(todo.size(), StatusOr<bool>(false));
  const size_t width = static_cast<size_t>(std::max(1, settings_.concurrency));
  for (size_t start = 0; start < todo.size(); start += width) {
    const size_t end = std::min(todo.size(), start + width);
    std::vector<std::thread> batch;
    for (size_t i = start; i < end; ++i) {
      batch.emplace_back([this, &todo, &results, i] {
        results[i] = writer_.ScaleFromZero(todo[i].ns, todo[i].deployment, 1);
      });
    }
    for (std::thread& t : batch) {
      t.join();
    }
  }
  for (size_t i = 0; i < todo.size(); ++i) {
    const WakeUp& w = todo[i];
    if (!results[i]) {
      log_.Warn("scale from zero failed; retried next poll",
                {{"namespace", w.ns},
                 {"model", w.model},
                 {"variant", w.va},
                 {"err", results[i].error().ToString()}});
      continue;
    }
    if (!*results[i]) {
      log_.Info("Deployment no longer at zero; left alone",
                {{"namespace", w.ns}, {"model", w.model}, {"variant", w.va}});
      continue;
    }
    auto [g, fresh] =
        in_flight_.try_emplace({w.ns, w.model}, Grant{w.va, w.deployment, clock_.Now(), {}});
    g->second.last_write = clock_.Now();
    log_.Info("scale from zero: one replica of the cheapest variant", {{"namespace", w.ns},
                                                                       {"model", w.model},
                                                                       {"variant", w.va},
                                                                       {"deployment", w.deployment},
                                                                       {"demand", w.demand}});
    events_.Event(w.va_object, "Normal", "ScaledUp",
                  fmt::format("0 -> 1 replica: scale from zero, demand {:g} for model {} (the "
                              "cheapest variant)",
                              w.demand, w.model));
    if (on_woken_) {
      on_woken_(w);
    }
    r.woken.push_back(w);
  }
  return r;
}

}  // namespace wva::controller
