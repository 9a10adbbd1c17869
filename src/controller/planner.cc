#include "controller/planner.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "core/calibration.h"
#include "core/capacity.h"
#include "core/saturation.h"
#include "core/slo_policy.h"

namespace wva::controller {

CycleVa CycleVaOf(VaPtr cached, const nlohmann::json* status) {
  CycleVa v;
  v.cached = std::move(cached);
  if (status == nullptr) {
    const nlohmann::json& obj = v.object();
    auto it = obj.find("status");
    status = it == obj.end() ? nullptr : &*it;
  }
  v.status = status;
  v.recorded = RecordedAllocOfStatus(status);
  if (status != nullptr && status->is_object()) {
    auto alloc = status->find("desiredOptimizedAlloc");
    if (alloc != status->end() && alloc->is_object()) {
      auto n = alloc->find("numReplicas");
      if (n != alloc->end() && n->is_number_integer()) {
        v.desired_field = n->get<int>();
      }
    }
  }
  return v;
}

CycleVa CycleVaOf(nlohmann::json object) { return CycleVaOf(CacheVa(std::move(object))); }

std::vector<CycleVa> CycleVasOf(const std::vector<nlohmann::json>& objects) {
  std::vector<CycleVa> out;
  out.reserve(objects.size());
  for (const nlohmann::json& o : objects) {
    out.push_back(CycleVaOf(o));
  }
  return out;
}

const char* ScalingDirectionName(ScalingDirection d) {
  return d == ScalingDirection::kUp ? "up" : "down";
}

const char* ScalingEventReason(ScalingDirection d) {
  return d == ScalingDirection::kUp ? "ScaledUp" : "ScaledDown";
}

void NoteScaling(const core::VariantDecision& dec, int last_published, VaOutcome* o) {
  o->scaling_direction.reset();
  o->scaling_driver = core::Driver::kSteady;
  o->event_message.clear();
  if (dec.target_replicas == last_published || dec.target_replicas == o->current_replicas) {
    return;
  }
  o->scaling_direction =
      dec.target_replicas > o->current_replicas ? ScalingDirection::kUp : ScalingDirection::kDown;
  o->scaling_driver = dec.driver;
  o->event_message =
      fmt::format("{} -> {} replicas: {}", o->current_replicas, dec.target_replicas, dec.reason);
}

std::vector<prom::ModelKey> ManagedModels(const std::vector<CycleVa>& vas) {
  std::set<prom::ModelKey> keys;
  for (const CycleVa& v : vas) {
    if (const VaSpec* va = v.spec()) {
      keys.insert({va->ns, va->model_id});
    }
  }
  return {keys.begin(), keys.end()};
}

namespace {

// The model's SLO: ConfigMap entries, then the spec.slo of its first VA (by name) that has one.
core::ResolvedSlo ResolveSlo(const core::SloConfigSet* set, const prom::ModelKey& key,
                             const std::vector<const VaSpec*>& members) {
  core::SloTargetsPatch patch;
  for (const VaSpec* va : members) {
    if (!va->slo.empty()) {
      patch = va->slo;
      break;
    }
  }
  static const core::SloConfigSet kEmpty;
  return (set ? *set : kEmpty).Resolve(key.model, key.ns, patch);
}

}  // namespace

std::vector<prom::ModelKey> ModelsWithSlo(const std::vector<CycleVa>& vas,
                                          const core::SloConfigSet* slo_config) {
  std::map<prom::ModelKey, std::vector<const VaSpec*>> groups;
  for (const CycleVa& v : vas) {
    if (const VaSpec* va = v.spec()) {
      groups[{va->ns, va->model_id}].push_back(va);
    }
  }
  std::vector<prom::ModelKey> out;
  for (auto& [key, members] : groups) {
    std::sort(members.begin(), members.end(),
              [](const VaSpec* a, const VaSpec* b) { return a->name < b->name; });
    if (ResolveSlo(slo_config, key, members).targets.any()) {
      out.push_back(key);
    }
  }
  return out;
}

std::string ProfileSourceText(const ProfileUse& p) {
  if (p.decode_fitted && p.prefill_fitted) {
    return "fitted";
  }
  if (p.decode_fitted) {
    return "alpha/beta fitted, gamma/delta configured";
  }
  if (p.prefill_fitted) {
    return "alpha/beta configured, gamma/delta fitted";
  }
  return "configured";
}

namespace {

// A gauge the collector dropped keeps the kind of its problem for the engine (and so for the
// reason and the condition): negative -> -1, infinite -> inf, NaN or absent -> NaN.
double Gauge(const std::optional<double>& v, const std::string& pod, const char* metric,
             const prom::ModelSaturation& ms) {
  if (v) {
    return *v;
  }
  for (const prom::DroppedSample& d : ms.dropped) {
    if (d.pod != pod || d.metric != metric) {
      continue;
    }
    if (d.reason == "negative") {
      return -1;
    }
    if (d.reason == "+inf" || d.reason == "-inf") {
      return std::numeric_limits<double>::infinity();
    }
  }
  return std::numeric_limits<double>::quiet_NaN();
}

// MetricsAvailable=False for a held variant: its pods' samples were unusable (MetricsInvalid,
// naming pods and the kind of value), or its Ready pods were silent, or nothing was scraped yet
// (MetricsMissing).
// "pod-a 95 s, pod-b 120 s" for the silent pods of `a` whose last sample this process saw.
std::string StaleAges(const CycleInput& cin, const core::ModelInput& in, const core::Analysis& a) {
  auto ages = cin.last_sample_age_s.find(in.namespace_);
  if (ages == cin.last_sample_age_s.end()) {
    return "";
  }
  std::string text;
  for (const core::IncompletePod& p : a.incomplete) {
    if (p.problem != core::SampleProblem::kSilent) {
      continue;
    }
    auto age = ages->second.find(p.pod);
    if (age == ages->second.end()) {
      continue;
    }
    if (!text.empty()) {
      text += ", ";
    }
    text += fmt::format("{} {:.0f} s", p.pod, age->second);
  }
  return text;
}

std::pair<std::string, std::string> HeldMetricsCondition(const CycleInput& cin,
                                                         const core::ModelInput& in,
                                                         const core::Analysis& a, int variant) {
  core::Analysis mine;
  bool invalid = false;
  for (const core::IncompletePod& p : a.incomplete) {
    if (p.variant != variant) {
      continue;
    }
    mine.incomplete.push_back(p);
    invalid |= p.problem != core::SampleProblem::kSilent;
  }
  if (mine.incomplete.empty()) {
    return {"MetricsMissing",
            "No saturation metrics available - pods may not be ready or metrics not yet scraped"};
  }
  const std::string pods = core::IncompleteText(mine, in);
  if (invalid) {
    return {"MetricsInvalid",
            fmt::format("unusable samples: {}; holding the last decision, no scale-down", pods)};
  }
  if (const std::string ages = StaleAges(cin, in, mine); !ages.empty()) {
    // The pods reported before and stopped: their series are stale (scrapes failing or the
    // exporter gone), not missing from the start.
    return {"MetricsStale",
            fmt::format("no sample for a whole metrics window from {} (last sample: {} ago); "
                        "holding the last decision, no scale-down",
                        pods, ages)};
  }
  return {"MetricsMissing",
          fmt::format("Ready pods without samples: {}; holding the last decision, no scale-down",
                      pods)};
}

}  // namespace

std::vector<prom::ModelKey> TokenBasedModels(const std::vector<prom::ModelKey>& managed,
                                             const core::SaturationConfigSet* config) {
  std::vector<prom::ModelKey> out;
  if (config == nullptr) {
    return out;
  }
  for (const prom::ModelKey& k : managed) {
    if (config->Resolve(k.model, k.ns).analyzer == core::AnalyzerKind::kTokenBasedV2) {
      out.push_back(k);
    }
  }
  return out;
}

void RememberCapacity(const CycleOutput& out, CapacityMemories* memory) {
  for (const ModelOutcome& m : out.models) {
    if (!m.decision.capacity) {
      continue;
    }
    for (size_t i = 0; i < m.decision.capacity->variants.size() && i < m.input.variants.size();
         ++i) {
      (*memory)[fmt::format("{}/{}/{}", m.ns, m.model_id, m.input.variants[i].name)].Record(
          m.decision.capacity->variants[i]);
    }
  }
}

namespace {

// The token-based analyzer's inputs: KV capacity per pod, mean prompt/output tokens of the
// model, vLLM arguments and the memory of earlier cycles per variant.
void AddTokenInputs(const CycleInput& in, const prom::ModelKey& key,
                    const std::vector<const TargetDeployment*>& deploys, core::ModelInput* mi) {
  if (in.kv_capacity != nullptr) {
    auto ns = in.kv_capacity->tokens.find(key.ns);
    if (ns != in.kv_capacity->tokens.end()) {
      for (core::ReplicaSample& s : mi->replicas) {
        auto p = ns->second.find(s.pod);
        if (p != ns->second.end()) {
          s.kv_capacity_tokens = p->second;
        }
      }
    }
  }
  if (in.workloads != nullptr) {
    auto it = in.workloads->models.find(key);
    if (it != in.workloads->models.end()) {
      const prom::ModelRates& r = it->second;
      if (r.prompt_count > 0 && r.prompt_sum >= 0) {
        mi->mean_prompt_tokens = r.prompt_sum / r.prompt_count;
      }
      if (r.gen_count > 0 && r.gen_sum >= 0) {
        mi->mean_output_tokens = r.gen_sum / r.gen_count;
      }
    }
  }
  for (size_t i = 0; i < mi->variants.size(); ++i) {
    core::VariantState& v = mi->variants[i];
    if (i < deploys.size() && deploys[i] != nullptr) {
      v.max_num_batched_tokens = deploys[i]->vllm.max_num_batched_tokens;
      v.max_num_seqs = deploys[i]->vllm.max_num_seqs;
    }
    if (in.capacity_memory == nullptr) {
      continue;
    }
    auto m = in.capacity_memory->find(fmt::format("{}/{}/{}", key.ns, key.model, v.name));
    if (m == in.capacity_memory->end()) {
      continue;
    }
    m->second.ApplyTo(&v);
  }
}

}  // namespace

SettledPodsByDeployment SettledByDeployment(const CycleInput& in) {
  SettledPodsByDeployment out;
  for (const auto& [ns, pods] : in.settled_ready_pods) {
    auto owners = in.pod_owner.find(ns);
    if (owners == in.pod_owner.end()) {
      continue;
    }
    auto& by_deployment = out[ns];
    for (const std::string& pod : pods) {
      auto o = owners->second.find(pod);
      if (o != owners->second.end()) {
        by_deployment[o->second].push_back(&pod);
      }
    }
  }
  return out;
}

std::vector<core::ReplicaSample> SamplesOf(const CycleInput& in, const prom::ModelKey& key,
                                           const prom::ModelSaturation* ms,
                                           const std::map<std::string, int>& variant_of_deploy,
                                           const SettledPodsByDeployment& settled,
                                           int* unattributed) {
  std::vector<core::ReplicaSample> out;
  auto owners = in.pod_owner.find(key.ns);
  auto variant_of_pod = [&](const std::string& pod) {
    if (owners == in.pod_owner.end()) {
      return -1;
    }
    auto o = owners->second.find(pod);
    if (o == owners->second.end()) {
      return -1;
    }
    auto v = variant_of_deploy.find(o->second);
    return v == variant_of_deploy.end() ? -1 : v->second;
  };
  // Every pod that answered, with usable values or only dropped ones.
  std::set<std::string> answered;
  if (ms != nullptr) {
    for (const auto& [pod, sat] : ms->pods) {
      answered.insert(pod);
    }
    for (const prom::DroppedSample& d : ms->dropped) {
      if (!d.pod.empty()) {
        answered.insert(d.pod);
      }
    }
  }
  for (const std::string& pod : answered) {
    const int variant = variant_of_pod(pod);
    if (variant < 0) {
      ++*unattributed;
      continue;
    }
    auto it = ms->pods.find(pod);
    const prom::PodSaturation sat = it == ms->pods.end() ? prom::PodSaturation{} : it->second;
    out.push_back(core::ReplicaSample::Of(variant, Gauge(sat.kv, pod, "kv", *ms),
                                          Gauge(sat.queue, pod, "queue", *ms), pod));
  }
  // Rule 7: a settled Ready pod of a member Deployment that did not answer at all is silent.
  auto ready = settled.find(key.ns);
  if (ready == settled.end()) {
    return out;
  }
  std::vector<std::pair<const std::string*, int>> silent;
  for (const auto& [deployment, variant] : variant_of_deploy) {
    auto pods = ready->second.find(deployment);
    if (pods == ready->second.end()) {
      continue;
    }
    for (const std::string* pod : pods->second) {
      if (!answered.count(*pod)) {
        silent.emplace_back(pod, variant);
      }
    }
  }
  std::sort(silent.begin(), silent.end(),
            [](const auto& a, const auto& b) { return *a.first < *b.first; });
  for (const auto& [pod, variant] : silent) {
    out.push_back(core::ReplicaSample::Silent(variant, *pod));
  }
  return out;
}

namespace {

// The model's traffic as the policy sees it: the request rate and token means of the window, and
// the attainment at `targets` from its TTFT and ITL histograms.
core::TrafficObservation TrafficOf(const CycleInput& in, const prom::ModelKey& key,
                                   const core::SloTargets& targets) {
  core::TrafficObservation t;
  if (in.workloads == nullptr) {
    return t;
  }
  auto it = in.workloads->models.find(key);
  if (it == in.workloads->models.end() || !it->second.complete()) {
    return t;
  }
  const prom::ModelRates& r = it->second;
  for (double v : {r.success, r.prompt_sum, r.prompt_count, r.gen_sum, r.gen_count}) {
    if (!std::isfinite(v)) {
      return t;
    }
  }
  t.known = true;
  t.arrival_rate = r.success;
  // No request finished in the window: the rate is 0 and the token means unknown (the policy
  // keeps the last ones).
  if (r.prompt_count > 0) {
    t.mean_prompt_tokens = r.prompt_sum / r.prompt_count;
  }
  if (r.gen_count > 0) {
    t.mean_output_tokens = r.gen_sum / r.gen_count;
  }
  core::AttainmentFromHistograms(r.ttft_buckets, r.itl_buckets, targets, in.window_s, &t);
  return t;
}

// Each variant's profile for the SLO sizing: the configured one, with a good online fit's
// coefficients in place of the configured ones (batch and KV limits stay).
std::vector<std::optional<core::PerfProfile>> ProfilesOf(const CycleInput& in,
                                                         const prom::ModelKey& key,
                                                         const core::ResolvedSlo& slo,
                                                         const std::vector<const VaSpec*>& members,
                                                         ModelOutcome* mo) {
  std::vector<std::optional<core::PerfProfile>> out;
  for (size_t k = 0; k < members.size(); ++k) {
    const core::VariantState& v = mo->input.variants[k];
    std::optional<core::PerfProfile> p = slo.ProfileFor(v.accelerator, members[k]->profile);
    if (p) {
      ProfileUse use{v.name, v.accelerator, *p, false, false, "configured (calibration off)"};
      if (in.calibrators != nullptr) {
        auto c = in.calibrators->find({key.ns, key.model, v.accelerator});
        if (c == in.calibrators->end()) {
          use.explain = "configured (no calibration samples)";
        } else {
          core::Calibration cal = c->second.Calibrate(*p);
          use.profile = cal.profile;
          use.decode_fitted = cal.decode_fitted;
          use.prefill_fitted = cal.prefill_fitted;
          use.explain = std::move(cal.explain);
        }
      }
      p = use.profile;
      mo->profiles.push_back(std::move(use));
    }
    out.push_back(std::move(p));
  }
  return out;
}

// "; profiles: L40S fitted, H100 configured" on every reason of an SLO-sized model.
void AddProfileSources(const std::vector<ProfileUse>& profiles, core::ModelDecision* d) {
  std::string sources;
  std::set<std::string> seen;
  for (const ProfileUse& u : profiles) {
    if (!seen.insert(u.accelerator).second) {
      continue;
    }
    sources +=
        fmt::format("{}{} {}", sources.empty() ? "" : ", ", u.accelerator, ProfileSourceText(u));
  }
  if (sources.empty()) {
    return;
  }
  for (core::VariantDecision& x : d->decisions) {
    x.reason += "; profiles: " + sources;
  }
}

}  // namespace

core::Observation ObservationOf(const CycleInput& in, const prom::ModelKey& key,
                                const std::vector<const VaSpec*>& members, ModelOutcome* mo) {
  core::Observation obs;
  obs.now_s = in.now_s;
  obs.interval_s = in.interval_s;
  obs.window_s = in.window_s;
  obs.input = mo->input;
  const core::ResolvedSlo slo = ResolveSlo(in.slo_config, key, members);
  if (!slo.targets.any() || mo->input.config.analyzer != core::AnalyzerKind::kSaturationV1) {
    obs.targets = slo.targets;
    return obs;
  }
  obs.targets = slo.targets;
  obs.profiles = ProfilesOf(in, key, slo, members, mo);
  obs.traffic = TrafficOf(in, key, slo.targets);
  return obs;
}

void DecideModelOf(const CycleInput& in, const prom::ModelKey& key,
                   const std::vector<const VaSpec*>& members, ModelOutcome* mo,
                   std::map<prom::ModelKey, core::PolicyState>* states) {
  const core::Observation obs = ObservationOf(in, key, members, mo);
  core::PolicyState& state = (*states)[key];
  if (in.policy_states != nullptr) {
    auto it = in.policy_states->find(key);
    if (it != in.policy_states->end()) {
      state = it->second;
    }
  }
  core::PolicyDecision d = core::DecidePolicy(obs, in.policy_options, &state);
  mo->decision = std::move(d.decision);
  mo->slo_note = std::move(d.slo_note);
  if (d.sizing) {
    mo->sizing = std::move(d.sizing);
    AddProfileSources(mo->profiles, &mo->decision);
  } else {
    mo->profiles.clear();
  }
}

namespace {

// A valid VA with a resolved target: one variant of its model's decision.
struct Member {
  size_t index = 0;  // into in.vas and out.vas
  const VaSpec* spec = nullptr;
  const TargetDeployment* deployment = nullptr;
  int last_desired = 0;
};
using Groups = std::map<prom::ModelKey, std::vector<Member>>;

// An invalid VA removes no replica: the last valid decision stays in status and published.
void InvalidOutcome(const CycleVa& va, const Status& error, VaOutcome* o) {
  o->invalid_reason = error.message();
  o->status.conditions = {
      {kCondOptimizationReady, false, "InvalidConfiguration", o->invalid_reason},
      {kCondReady, false, "InvalidConfiguration", o->invalid_reason}};
  o->status.observed_generation =
      va.object().value("/metadata/generation"_json_pointer, int64_t{0});
  const RecordedAlloc& last = va.recorded;
  o->accelerator = last.accelerator;
  o->current_replicas = last.current;
  o->status.accelerator = last.accelerator;
  o->status.current_replicas = last.current;
  o->status.desired_replicas = last.desired;
  o->status.applied = last.desired > 0 && last.current == last.desired;
  if (last.desired > 0) {
    o->publish_desired = last.desired;
  }
}

// Step 1 (assemble): each VA's outcome as far as it goes without its model's decision. Invalid
// VAs and VAs without a target are done here; the rest join their model's group.
void AssembleVa(const CycleInput& in, size_t i, VaOutcome* o, Groups* groups) {
  const CycleVa& cva = in.vas[i];
  o->ns = cva.ns();
  o->name = cva.name();
  const VaSpec* va = cva.spec();
  if (va == nullptr) {
    InvalidOutcome(cva, cva.cached->spec.error(), o);
    return;
  }
  o->valid = true;
  o->variant_cost = va->variant_cost;
  o->cost = va->cost;
  o->status.observed_generation = va->generation;
  auto d = in.deployments.find(va->ns + "/" + va->target_name);
  o->accelerator = ResolveAccelerator(*va, d == in.deployments.end() ? nullptr : d->second.get());
  o->status.accelerator = o->accelerator;
  if (d == in.deployments.end()) {
    std::string msg = fmt::format("Deployment {}/{} not found", va->ns, va->target_name);
    o->status.conditions = {{kCondTargetResolved, false, "TargetNotFound", msg},
                            {kCondOptimizationReady, false, "OptimizationFailed", msg},
                            {kCondReady, false, "TargetNotFound", msg}};
    o->status.desired_replicas = cva.last_desired();
    if (cva.last_desired() > 0) {
      o->publish_desired = cva.last_desired();
    }
    return;
  }
  o->current_replicas = d->second->spec_replicas;
  o->status.current_replicas = o->current_replicas;
  (*groups)[{va->ns, va->model_id}].push_back({i, va, d->second.get(), cva.last_desired()});
}

// Step 2 (model input): the engine's input for one model, its members ordered by VA name so the
// engine's tie-breaks do not depend on the order the cache lists objects in.
ModelOutcome ModelInputOf(const CycleInput& in, const prom::ModelKey& key,
                          const std::vector<Member>& members,
                          const SettledPodsByDeployment& settled, CycleOutput* out) {
  ModelOutcome mo;
  mo.ns = key.ns;
  mo.model_id = key.model;
  std::vector<core::VariantState> variants;
  std::map<std::string, int> variant_of_deploy;
  for (const Member& m : members) {
    const VaOutcome& o = out->vas[m.index];
    core::VariantState v;
    v.name = m.spec->name;
    v.accelerator = o.accelerator;
    v.cost = m.spec->cost;
    v.current_replicas = o.current_replicas;
    v.desired_replicas = m.last_desired;
    v.min_replicas = m.spec->min_replicas;
    v.max_replicas = m.spec->max_replicas;
    variant_of_deploy[m.spec->target_name] = static_cast<int>(variants.size());
    variants.push_back(std::move(v));
  }
  std::vector<core::ReplicaSample> samples;
  if (out->metrics_ok) {
    auto it = in.metrics->models.find(key);
    const prom::ModelSaturation* ms = it == in.metrics->models.end() ? nullptr : &it->second;
    samples = SamplesOf(in, key, ms, variant_of_deploy, settled, &out->unattributed_pods);
  }
  mo.input = core::AssembleModelInput(
      key.model, key.ns,
      in.config ? in.config->Resolve(key.model, key.ns) : core::SaturationConfig{},
      std::move(variants), std::move(samples));
  if (mo.input.config.analyzer == core::AnalyzerKind::kTokenBasedV2) {
    std::vector<const TargetDeployment*> deploys;
    for (const Member& m : members) {
      deploys.push_back(m.deployment);
    }
    AddTokenInputs(in, key, deploys, &mo.input);
  }
  return mo;
}

// Step 4 (conditions): what variant `k` of a decided model tells the user in its status.
std::vector<Condition> ConditionsOf(const CycleInput& in, const CycleOutput& out,
                                    const ModelOutcome& mo, int k, const VaOutcome& o,
                                    const VaSpec& va) {
  const core::VariantDecision& dec = mo.decision.decisions[k];
  std::vector<Condition> c;
  c.push_back({kCondTargetResolved, true, "TargetFound",
               fmt::format("Deployment {}/{} found", va.ns, va.target_name)});
  if (!out.metrics_ok) {
    std::string msg = "Prometheus query failed: " + in.prometheus_error +
                      "; holding the last decision, no scale-down";
    c.push_back({kCondMetricsAvailable, false, "PrometheusError", msg});
    c.push_back({kCondOptimizationReady, false, "MetricsUnavailable", msg});
    c.push_back({kCondReady, false, "PrometheusError", msg});
  } else if (!mo.decision.analysis.metrics_available || dec.action == core::Action::kHold) {
    const auto [reason, msg] = HeldMetricsCondition(in, mo.input, mo.decision.analysis, k);
    c.push_back({kCondMetricsAvailable, false, reason, msg});
    c.push_back({kCondOptimizationReady, false, "MetricsUnavailable", dec.reason});
    c.push_back({kCondReady, false, reason, msg});
  } else if (!mo.decision.analysis.complete_data()) {
    const std::string ages = StaleAges(in, mo.input, mo.decision.analysis);
    c.push_back({kCondMetricsAvailable, true, "MetricsIncomplete",
                 fmt::format("Ready pods without usable samples: {}{}; scale-down withheld "
                             "until every Ready pod reports",
                             core::IncompleteText(mo.decision.analysis, mo.input),
                             ages.empty() ? "" : " (last sample: " + ages + " ago)")});
    c.push_back({kCondOptimizationReady, true, "OptimizationSucceeded", dec.reason});
    c.push_back({kCondReady, true, "OptimizationSucceeded",
                 fmt::format("desired {} replicas on {}", dec.target_replicas, o.accelerator)});
  } else {
    c.push_back({kCondMetricsAvailable, true, "MetricsFound",
                 "Saturation metrics data is available for scaling decisions"});
    c.push_back({kCondOptimizationReady, true, "OptimizationSucceeded", dec.reason});
    c.push_back({kCondReady, true, "OptimizationSucceeded",
                 fmt::format("desired {} replicas on {}", dec.target_replicas, o.accelerator)});
  }
  return c;
}

// Step 5 (outcomes): each member's decision, status and scaling event from its model's decision.
void ApplyModelDecision(const CycleInput& in, const ModelOutcome& mo,
                        const std::vector<Member>& members, CycleOutput* out) {
  for (size_t k = 0; k < members.size(); ++k) {
    const Member& m = members[k];
    VaOutcome& o = out->vas[m.index];
    const core::VariantDecision& dec = mo.decision.decisions[k];
    o.decision = dec;
    o.publish_desired = dec.target_replicas;
    o.status.desired_replicas = dec.target_replicas;
    o.status.applied = o.current_replicas == dec.target_replicas;
    std::vector<Condition> conditions = ConditionsOf(in, *out, mo, static_cast<int>(k), o, *m.spec);
    o.status.conditions.insert(o.status.conditions.end(),
                               std::make_move_iterator(conditions.begin()),
                               std::make_move_iterator(conditions.end()));
    NoteScaling(dec, m.last_desired > 0 ? m.last_desired : o.current_replicas, &o);
  }
}

}  // namespace

CycleOutput PlanCycle(const CycleInput& in) {
  CycleOutput out;
  out.vas.resize(in.vas.size());
  out.metrics_ok = in.metrics != nullptr && in.metrics->ok();
  Groups groups;
  for (size_t i = 0; i < in.vas.size(); ++i) {
    AssembleVa(in, i, &out.vas[i], &groups);
  }
  const SettledPodsByDeployment settled = SettledByDeployment(in);
  for (auto& [key, members] : groups) {
    std::sort(members.begin(), members.end(),
              [](const Member& a, const Member& b) { return a.spec->name < b.spec->name; });
    ModelOutcome mo = ModelInputOf(in, key, members, settled, &out);
    // Step 3 (decide). When Prometheus failed, the engine saw no samples and holds every
    // variant (rule 7).
    std::vector<const VaSpec*> specs;
    specs.reserve(members.size());
    for (const Member& m : members) {
      specs.push_back(m.spec);
    }
    DecideModelOf(in, key, specs, &mo, &out.policy_states);
    ApplyModelDecision(in, mo, members, &out);
    out.models.push_back(std::move(mo));
  }
  return out;
}

}  // namespace wva::controller
