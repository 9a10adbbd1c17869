#include "controller/reconciler.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iterator>
#include <thread>

#include <fmt/format.h>

#include "base/duration.h"
#include "core/saturation.h"

namespace wva::controller {
namespace {

std::string ErrorText(const prom::SaturationSnapshot& s) {
  std::string out;
  for (const auto& f : s.failures) {
    if (!out.empty()) {
      out += "; ";
    }
    out += f.metric + ": " + f.error.ToString();
  }
  return out;
}

struct Warning {
  std::string reason;
  std::string message;
};

// The Warning a VA's outcome calls for, if any.
std::optional<Warning> WarningOf(const VaOutcome& o, bool metrics_ok,
                                 const std::string& prometheus_error) {
  if (!o.valid) {
    return Warning{"InvalidConfiguration", o.invalid_reason};
  }
  if (!metrics_ok) {
    return Warning{"PrometheusError", prometheus_error};
  }
  if (!o.status.conditions.empty() && !o.status.conditions[0].status) {
    return Warning{o.status.conditions[0].reason, o.status.conditions[0].message};
  }
  return std::nullopt;
}

}  // namespace

void Reconciler::LogCalibrationQueries(const prom::CalibrationSnapshot& samples) {
  std::set<std::string> failed;
  for (const auto& f : samples.failures) {
    failed.insert(f.metric);
    const std::string kind(prom::ErrorKindName(f.error.kind));
    auto [it, fresh] = failing_calibration_queries_.try_emplace(f.metric, kind);
    if (fresh || it->second != kind) {
      it->second = kind;
      log_.Warn(
          "calibration query failed; profiles keep their current fit (configured until a "
          "fit is good)",
          {{"query", f.metric}, {"err", f.error.ToString()}});
    } else {
      log_.Debug("calibration query still failing", {{"query", f.metric}});
    }
  }
  for (auto it = failing_calibration_queries_.begin(); it != failing_calibration_queries_.end();) {
    if (failed.count(it->first)) {
      ++it;
      continue;
    }
    log_.Info("calibration query recovered", {{"query", it->first}});
    it = failing_calibration_queries_.erase(it);
  }
}

void Reconciler::LogProfileChanges(const CycleOutput& out) {
  for (const ModelOutcome& m : out.models) {
    for (const ProfileUse& u : m.profiles) {
      CalibrationKey key{m.ns, m.model_id, u.accelerator};
      if (!calibrators_.count(key)) {
        continue;
      }
      const std::pair<bool, bool> now{u.decode_fitted, u.prefill_fitted};
      auto [it, fresh] = profile_state_.try_emplace(key, now);
      if (!fresh && it->second == now) {
        continue;
      }
      it->second = now;
      log_.Info(fresh ? "performance profile source" : "performance profile source changed",
                {{"namespace", m.ns},
                 {"model", m.model_id},
                 {"accelerator", u.accelerator},
                 {"profile", ProfileSourceText(u)},
                 {"explain", u.explain}});
    }
  }
}

void Reconciler::Publish(const VaOutcome& o) {
  if (!o.publish_desired) {
    return;
  }
  prom::VariantLabels labels{o.name, o.ns, o.accelerator};
  metrics_.SetVariant(labels, *o.publish_desired, o.current_replicas);
  // An invalid VA has no trustworthy cost: its cost series (if any) stays as it was.
  if (!o.variant_cost.empty()) {
    metrics_.SetVariantCost(labels, o.variant_cost);
  }
  published_[{o.ns, o.name}] = {*o.publish_desired, o.accelerator};
}

void Reconciler::LearnStartupTimes(const std::string& ns,
                                   const std::map<std::string, double>& startups,
                                   const std::map<std::string, std::string>& pod_owner,
                                   const std::map<std::string, ModelVariant>& variant_of) {
  std::set<std::string>& seen = startup_seen_[ns];
  std::set<std::string> still;
  for (const auto& [pod, seconds] : startups) {
    still.insert(pod);
    if (seen.count(pod)) {
      continue;
    }
    auto owner = pod_owner.find(pod);
    if (owner == pod_owner.end()) {
      continue;
    }
    auto v = variant_of.find(owner->second);
    if (v == variant_of.end()) {
      continue;
    }
    seen.insert(pod);
    core::LearnStartup(&policy_states_[{ns, v->second.first}], v->second.second, seconds);
  }
  // Forget pods that are gone, so the set stays as large as the Ready pods.
  for (auto it = seen.begin(); it != seen.end();) {
    it = still.count(*it) ? std::next(it) : seen.erase(it);
  }
}

void Reconciler::NoteStateStore(const char* what, const Status& s) {
  if (s.ok()) {
    if (!state_store_error_.empty()) {
      log_.Info("policy state store recovered", {{"op", what}});
    }
    state_store_error_.clear();
    return;
  }
  const std::string text = std::string(what) + ": " + s.ToString();
  if (text == state_store_error_) {
    return;
  }
  state_store_error_ = text;
  log_.Warn(
      "policy state not saved/restored; decisions go on from memory (a failover starts "
      "the policy fresh: no scale-down before a look-back of traffic)",
      {{"op", what}, {"err", s.ToString()}});
}

void Reconciler::SavePolicyStates() {
  if (state_store_ == nullptr) {
    return;
  }
  int dropped = 0;
  const std::string doc = EncodePolicyStates(policy_states_, kPolicyStateMaxBytes, &dropped);
  if (dropped > 0) {
    log_.Warn(
        "policy state too large for one ConfigMap; the models decided longest ago are "
        "not saved",
        {{"dropped_models", dropped}});
  }
  NoteStateStore("save", state_store_->Save(doc));
}

int Reconciler::RestorePolicyStates() {
  if (state_store_ == nullptr) {
    return 0;
  }
  auto doc = state_store_->Load();
  if (!doc) {
    NoteStateStore("load", doc.error());
    return 0;
  }
  if (!doc->has_value()) {
    return 0;
  }
  auto states = DecodePolicyStates(**doc);
  if (!states) {
    NoteStateStore(
        "decode", InvalidArgumentError(fmt::format("ConfigMap {} key {}: {}", kPolicyStateConfigMap,
                                                   kPolicyStateKey, states.error().message())));
    return 0;
  }
  NoteStateStore("load", OkStatus());
  // What this process learned itself (it may have been leader before) is newer than the store
  // only when it decided later; keep the newer per model.
  int restored = 0;
  for (auto& [key, s] : *states) {
    auto it = policy_states_.find(key);
    const double mine =
        it == policy_states_.end() || it->second.rates.empty() ? -1 : it->second.rates.back().first;
    const double theirs = s.rates.empty() ? -1 : s.rates.back().first;
    if (it == policy_states_.end() || theirs > mine) {
      policy_states_[key] = std::move(s);
      ++restored;
    }
  }
  log_.Info("policy state restored", {{"models", restored}});
  return restored;
}

void Reconciler::PublishFromStatus() {
  RestorePolicyStates();
  for (const VaPtr& va : reader_.VariantAutoscalings()) {
    const nlohmann::json& obj = *va->object;
    // Invalid VAs too: their status keeps the last valid decision (PlanCycle).
    const RecordedAlloc last = RecordedAllocOf(obj);
    if (last.desired <= 0) {
      continue;
    }
    VaOutcome o;
    o.ns = va->ns;
    o.name = va->name;
    if (o.name.empty()) {
      continue;
    }
    o.publish_desired = last.desired;
    o.current_replicas = obj.value("/status/currentAlloc/numReplicas"_json_pointer, last.desired);
    if (va->spec) {
      o.variant_cost = va->spec->variant_cost;
      o.accelerator = obj.value("/status/desiredOptimizedAlloc/accelerator"_json_pointer,
                                ResolveAccelerator(*va->spec, nullptr));
    } else {
      o.accelerator = last.accelerator;
    }
    Publish(o);
  }
}

void Reconciler::ReportIncompleteData(const CycleOutput& out,
                                      const prom::SaturationSnapshot& snap) {
  for (const auto& [key, ms] : snap.models) {
    int no_pod = 0;
    for (const prom::DroppedSample& d : ms.dropped) {
      no_pod += d.pod.empty();
    }
    metrics_.AddDroppedSamples("no_pod_label", no_pod);
  }
  constexpr auto kRepeat = std::chrono::minutes(5);
  const auto now = clock_.Now();
  std::set<prom::ModelKey> incomplete;
  for (const ModelOutcome& m : out.models) {
    const core::Analysis& a = m.decision.analysis;
    for (const core::IncompletePod& p : a.incomplete) {
      metrics_.AddDroppedSamples(core::SampleProblemName(p.problem), 1);
    }
    if (a.complete_data()) {
      continue;
    }
    const prom::ModelKey key{m.ns, m.model_id};
    incomplete.insert(key);
    const std::string pods = core::IncompleteText(a, m.input);
    auto it = incomplete_warned_.find(key);
    if (it != incomplete_warned_.end() && it->second.first == pods &&
        now - it->second.second < kRepeat) {
      continue;
    }
    incomplete_warned_[key] = {pods, now};
    log_.Warn("Ready pods without usable samples; scale-down withheld for the model",
              {{"namespace", m.ns},
               {"model", m.model_id},
               {"pods", pods},
               {"count", a.incomplete.size()}});
  }
  for (auto it = incomplete_warned_.begin(); it != incomplete_warned_.end();) {
    if (incomplete.count(it->first)) {
      ++it;
      continue;
    }
    log_.Info("every Ready pod reports usable samples again",
              {{"namespace", it->first.ns}, {"model", it->first.model}});
    it = incomplete_warned_.erase(it);
  }
}

void Reconciler::FillLastSampleAges(CycleInput* in) const {
  const auto now = clock_.Now();
  for (const auto& [key, seen] : last_sample_) {
    in->last_sample_age_s[key.first][key.second] =
        std::chrono::duration<double>(now - seen).count();
  }
}

void Reconciler::RecordSamples(const CycleInput& in, const CycleOutput& out) {
  const auto now = clock_.Now();
  for (const ModelOutcome& m : out.models) {
    const int nv = static_cast<int>(m.input.variants.size());
    for (const core::ReplicaSample& s : m.input.replicas) {
      if (!s.pod.empty() && core::UsableSample(s, nv)) {
        last_sample_[{m.ns, s.pod}] = now;
      }
    }
  }
  for (auto it = last_sample_.begin(); it != last_sample_.end();) {
    auto ready = in.settled_ready_pods.find(it->first.first);
    const bool known =
        ready != in.settled_ready_pods.end() && ready->second.count(it->first.second);
    auto owners = in.pod_owner.find(it->first.first);
    const bool exists = owners != in.pod_owner.end() && owners->second.count(it->first.second);
    it = known || exists ? std::next(it) : last_sample_.erase(it);
  }
}

Reconciler::CycleWrites Reconciler::PublishOutcomes(const CycleInput& in, const CycleOutput& out,
                                                    Clock::WallTime now, CycleStats* stats) {
  static const nlohmann::json kNoStatus;
  CycleWrites writes;
  std::set<VaKey> seen;
  for (size_t i = 0; i < out.vas.size(); ++i) {
    const VaOutcome& o = out.vas[i];
    const nlohmann::json& obj = in.vas[i].object();
    const VaKey key{o.ns, o.name};
    seen.insert(key);
    const nlohmann::json& prev = in.vas[i].status ? *in.vas[i].status : kNoStatus;
    nlohmann::json status = BuildStatus(o.status, prev, now);
    const std::optional<Warning> warning = WarningOf(o, out.metrics_ok, in.prometheus_error);
    if (!warning) {
      warned_.erase(key);  // no problem this cycle: the next one is news again
    }
    if (StatusChanged(prev, status)) {
      writes.statuses.push_back({key, std::move(status), OkStatus()});
      // Warnings on transitions only (the condition says it meanwhile), and once per problem
      // even while the status write keeps failing.
      if (warning) {
        const std::string text = warning->reason + "\n" + warning->message;
        auto [it, fresh] = warned_.try_emplace(key, text);
        if (fresh || it->second != text) {
          it->second = text;
          writes.events.push_back({&obj, "Warning", warning->reason, warning->message});
        }
      }
    }
    if (o.scaling_direction) {
      ++stats->scaling_decisions;
      const char* direction = ScalingDirectionName(*o.scaling_direction);
      metrics_.RecordScaling(o.name, o.ns, direction, core::DriverName(o.scaling_driver));
      writes.events.push_back(
          {&obj, "Normal", ScalingEventReason(*o.scaling_direction), o.event_message});
      log_.Info("scaling decision", {{"namespace", o.ns},
                                     {"name", o.name},
                                     {"direction", direction},
                                     {"current", o.current_replicas},
                                     {"desired", o.publish_desired.value_or(0)},
                                     {"accelerator", o.accelerator},
                                     {"reason", o.decision ? o.decision->reason : ""}});
    }
    // Invalid VAs included: they keep publishing their last valid decision.
    Publish(o);
  }
  ForgetDeleted(seen);
  return writes;
}

void Reconciler::ForgetDeleted(const std::set<VaKey>& seen) {
  // VAs that were deleted: stop publishing their series.
  for (auto it = published_.begin(); it != published_.end();) {
    if (!seen.count(it->first)) {
      metrics_.RemoveVariant(it->first.first, it->first.second);
      it = published_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = written_.begin(); it != written_.end();) {
    it = seen.count(it->first) ? std::next(it) : written_.erase(it);
  }
  for (auto it = warned_.begin(); it != warned_.end();) {
    it = seen.count(it->first) ? std::next(it) : warned_.erase(it);
  }
}

void Reconciler::SendWrites(CycleWrites* writes) {
  // Events first (in cycle order when sequential), then status writes.
  const size_t n_events = writes->events.size();
  auto send = [this, writes, n_events](size_t i) {
    if (i < n_events) {
      const PendingEvent& e = writes->events[i];
      writer_.Event(*e.va, e.type, e.reason, e.message);
      return;
    }
    StatusWrite& w = writes->statuses[i - n_events];
    w.result = writer_.PatchStatus(w.key.first, w.key.second, w.status);
  };
  const size_t n = n_events + writes->statuses.size();
  const size_t workers = std::min<size_t>(n, std::max(1, status_write_concurrency_));
  if (workers <= 1) {
    for (size_t i = 0; i < n; ++i) {
      send(i);
    }
    return;
  }
  // Each call is one round trip to the API server (~10 ms): a first cycle over thousands of
  // VAs would take tens of seconds one at a time. The workers are joined before returning.
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  pool.reserve(workers);
  for (size_t t = 0; t < workers; ++t) {
    pool.emplace_back([&] {
      for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
        send(i);
      }
    });
  }
  for (std::thread& t : pool) {
    t.join();
  }
}

CycleVa Reconciler::KnownVa(const VaPtr& cached) const {
  const VaKey key{cached->ns, cached->name};
  // The status as the API server has it, as far as this process knows: what it wrote may not
  // be in the cache yet. Status writes compare against it.
  auto w = written_.find(key);
  CycleVa v = CycleVaOf(cached, w == written_.end() ? nullptr : &w->second);
  // The planner starts from the last decision: what this process published, even when its
  // status write has not gone through (yet).
  auto p = published_.find(key);
  if (p != published_.end()) {
    v.desired_field = p->second.desired;
    v.recorded.desired =
        p->second.desired > 0 && p->second.desired <= 1000000 ? p->second.desired : 0;
    if (!p->second.accelerator.empty()) {
      v.recorded.accelerator = p->second.accelerator;
    }
  }
  return v;
}

void Reconciler::CollectTargets(CycleInput* in, CycleScratch* scratch) {
  std::set<std::string> namespaces;
  // Per namespace: variant name -> its target Deployment (pod attribution by llm-d.ai/variant).
  std::map<std::string, std::map<std::string, std::string>> variant_targets;
  // Per namespace: target Deployment -> (model, variant), for learning start-up times.
  std::map<std::string, std::map<std::string, ModelVariant>> variant_of_deploy;
  for (const CycleVa& v : in->vas) {
    const VaSpec* va = v.spec();
    if (va == nullptr) {
      continue;
    }
    namespaces.insert(va->ns);
    variant_targets[va->ns][va->name] = va->target_name;
    variant_of_deploy[va->ns][va->target_name] = {va->model_id, va->name};
    if (DeploymentPtr d = reader_.Deployment(va->ns, va->target_name)) {
      in->deployments[va->ns + "/" + va->target_name] = std::move(d);
    }
  }
  // A pod Ready for a whole metrics window has been scraped in it, so one without samples is
  // silent (complete-data rule), not starting.
  const auto wall_now = clock_.WallNow();
  for (const std::string& ns : namespaces) {
    // Kept until placement ran.
    const std::vector<PodPtr>& pods = scratch->pods_by_ns[ns] = reader_.Pods(ns);
    in->pod_owner[ns] = AttributePods(pods, reader_.ReplicaSets(ns), variant_targets[ns]);
    in->settled_ready_pods[ns] = SettledReadyPods(pods, wall_now, scratch->settle);
    LearnStartupTimes(ns, PodStartupSeconds(pods), in->pod_owner[ns], variant_of_deploy[ns]);
  }
}

void Reconciler::CollectMetrics(const std::vector<prom::ModelKey>& managed, CycleInput* in,
                                CycleScratch* scratch, CycleStats* stats) {
  prom::CollectOptions opts;
  opts.metrics = &metrics_;
  opts.clock = &clock_;
  opts.window = window_;
  scratch->snap = prom::CollectSaturation(querier_, managed, opts);
  stats->prometheus_queries = scratch->snap.queries;
  in->metrics = &scratch->snap;
  if (!scratch->snap.ok()) {
    in->prometheus_error = ErrorText(scratch->snap);
  }
  scratch->config = config_.Get();
  in->config = scratch->config.get();
  scratch->slo_config = slo_ ? slo_->Get() : nullptr;
  in->slo_config = scratch->slo_config.get();
  // Workload rates only for models with SLO targets, and only when Prometheus answered.
  if (!scratch->snap.ok()) {
    return;
  }
  scratch->slo_models = ModelsWithSlo(in->vas, scratch->slo_config.get());
  // The token-based analyzer (V2) needs mean prompt/output tokens (the workload rates) and
  // each pod's KV capacity: one more batched query, only when some model uses it.
  const std::vector<prom::ModelKey> v2_models = TokenBasedModels(managed, scratch->config.get());
  std::set<prom::ModelKey> rate_models(scratch->slo_models.begin(), scratch->slo_models.end());
  rate_models.insert(v2_models.begin(), v2_models.end());
  if (!v2_models.empty()) {
    std::set<std::string> v2_namespaces;
    for (const prom::ModelKey& k : v2_models) {
      v2_namespaces.insert(k.ns);
    }
    scratch->kv_capacity =
        prom::CollectKvCapacity(querier_, {v2_namespaces.begin(), v2_namespaces.end()}, opts);
    stats->prometheus_queries += scratch->kv_capacity.queries;
    for (const auto& f : scratch->kv_capacity.failures) {
      log_.Warn(
          "KV capacity query failed; pods without capacity are not data this cycle "
          "(no scale-down)",
          {{"series", f.metric}, {"err", f.error.ToString()}});
    }
    in->kv_capacity = &scratch->kv_capacity;
    in->capacity_memory = &capacity_memory_;
  }
  if (!rate_models.empty()) {
    scratch->workloads =
        prom::CollectWorkload(querier_, {rate_models.begin(), rate_models.end()}, opts);
    stats->prometheus_queries += scratch->workloads.queries;
    for (const auto& f : scratch->workloads.failures) {
      log_.Warn("workload query failed; SLO sizing falls back to saturation only",
                {{"series", f.metric}, {"err", f.error.ToString()}});
    }
    in->workloads = &scratch->workloads;
  }
  // Calibration samples for the same models. A failed query only means fewer samples this
  // cycle: the fits keep what they have (configured profiles until a fit is good).
  if (!scratch->slo_models.empty() && calibration_) {
    scratch->samples = prom::CollectCalibration(querier_, scratch->slo_models, opts);
    scratch->have_samples = true;
    stats->calibration_queries = scratch->samples.queries;
    stats->calibration_failures = static_cast<int>(scratch->samples.failures.size());
    stats->prometheus_queries += scratch->samples.queries;
    LogCalibrationQueries(scratch->samples);
  }
}

void Reconciler::FeedCalibration(CycleInput* in, const CycleScratch& scratch, CycleStats* stats) {
  if (!calibration_) {
    return;
  }
  const double t_s = std::chrono::duration<double>(clock_.Now().time_since_epoch()).count();
  stats->calibration = FeedCalibrators(*in, scratch.have_samples ? &scratch.samples : nullptr, t_s,
                                       fit_options_, &calibrators_);
  for (auto it = profile_state_.begin(); it != profile_state_.end();) {
    it = calibrators_.count(it->first) ? std::next(it) : profile_state_.erase(it);
  }
  in->calibrators = &calibrators_;
}

CycleOutput Reconciler::Decide(CycleInput* in, const CycleScratch& scratch, CycleStats* stats) {
  FillLastSampleAges(in);
  // The policy's clock is wall time: its state outlives this process (restarts, failover).
  in->now_s = std::chrono::duration<double>(clock_.WallNow().time_since_epoch()).count();
  in->interval_s = interval_s_;
  in->window_s = static_cast<double>(scratch.settle.count());
  in->policy_states = &policy_states_;
  CycleOutput out = PlanCycle(*in);
  policy_states_ = std::move(out.policy_states);
  SavePolicyStates();
  if (zero_) {
    stats->prometheus_queries += zero_->Apply(*in, &out).queries;
  }
  if (placement_) {
    placement_->Apply(*in, scratch.pods_by_ns, &out);
  }
  if (direct_) {
    direct_->Apply(*in, &out);
  }
  RecordSamples(*in, out);
  RememberCapacity(out, &capacity_memory_);
  return out;
}

void Reconciler::ReportCycle(const CycleInput& in, const CycleOutput& out,
                             const CycleScratch& scratch, size_t managed, CycleStats* stats) {
  stats->models = static_cast<int>(out.models.size());
  stats->metrics_ok = out.metrics_ok;
  ReportIncompleteData(out, scratch.snap);
  for (const ModelOutcome& m : out.models) {
    stats->models_incomplete += !m.decision.analysis.complete_data();
    stats->models_without_metrics += !m.decision.analysis.metrics_available;
    for (const ProfileUse& u : m.profiles) {
      stats->profiles.try_emplace({m.ns, m.model_id, u.accelerator}, u);
    }
  }
  if (!out.metrics_ok) {
    log_.Warn("Prometheus query failed; holding every variant at its last decision",
              {{"error", in.prometheus_error}, {"models", managed}});
  }
  for (const ModelOutcome& m : out.models) {
    if (!m.slo_note.empty()) {
      log_.Info(m.slo_note, {{"namespace", m.ns}, {"model", m.model_id}});
    } else if (m.sizing && m.sizing->ok) {
      std::string profiles;
      for (const ProfileUse& u : m.profiles) {
        profiles += fmt::format("{}{} ({}): {}", profiles.empty() ? "" : " | ", u.variant,
                                u.accelerator, u.explain);
      }
      log_.Debug("SLO sizing", {{"namespace", m.ns},
                                {"model", m.model_id},
                                {"summary", m.sizing->summary},
                                {"profiles", profiles}});
    }
  }
  if (calibration_) {
    LogProfileChanges(out);
  }
  if (out.unattributed_pods > 0) {
    log_.Debug("pods reporting metrics without a managed Deployment",
               {{"count", out.unattributed_pods}});
  }
}

void Reconciler::FinishWrites(CycleWrites* writes, CycleStats* stats) {
  SendWrites(writes);
  for (StatusWrite& w : writes->statuses) {
    if (!w.result.ok()) {
      ++stats->status_errors;
      log_.Warn("status update failed",
                {{"namespace", w.key.first}, {"name", w.key.second}, {"err", w.result.ToString()}});
    } else {
      ++stats->status_writes;
      written_[w.key] = std::move(w.status);
    }
  }
}

CycleStats Reconciler::RunCycle() {
  const auto start = clock_.Now();
  CycleStats stats;
  CycleInput in;
  CycleScratch scratch;
  scratch.settle = std::chrono::duration_cast<std::chrono::seconds>(
      ParseDuration(window_).value_or(std::chrono::minutes(1)));
  // Collect: the VAs as last known, their targets and pods, and this cycle's metrics.
  const std::vector<VaPtr> cached = reader_.VariantAutoscalings();
  in.vas.reserve(cached.size());
  for (const VaPtr& va : cached) {
    in.vas.push_back(KnownVa(va));
  }
  stats.vas = static_cast<int>(in.vas.size());
  CollectTargets(&in, &scratch);
  const std::vector<prom::ModelKey> managed = ManagedModels(in.vas);
  CollectMetrics(managed, &in, &scratch, &stats);
  FeedCalibration(&in, scratch, &stats);
  // Decide, then publish to /metrics before any API call of the cycle.
  CycleOutput out = Decide(&in, scratch, &stats);
  ReportCycle(in, out, scratch, managed.size(), &stats);
  const auto now = clock_.WallNow();
  CycleWrites writes = PublishOutcomes(in, out, now, &stats);
  stats.published_seconds = std::chrono::duration<double>(clock_.Now() - start).count();
  FinishWrites(&writes, &stats);
  stats.seconds = std::chrono::duration<double>(clock_.Now() - start).count();
  const bool success = out.metrics_ok && stats.status_errors == 0;
  metrics_.RecordOptimization(success, stats.seconds, now);
  metrics_.SetModelsProcessed(stats.models);
  log_.Debug("cycle done", {{"vas", stats.vas},
                            {"models", stats.models},
                            {"status_writes", stats.status_writes},
                            {"scaling_decisions", stats.scaling_decisions},
                            {"metrics_ok", stats.metrics_ok},
                            {"seconds", stats.seconds}});
  return stats;
}

}  // namespace wva::controller
