#include "controller/scale_to_zero.h"

#include <cmath>
#include <set>

#include <fmt/format.h>

#include "controller/va.h"
#include "prom/promql.h"

namespace wva::controller {
namespace {

constexpr std::string_view kRequestCounter = "vllm:request_success_total";

std::string Selector(const std::vector<std::string>& namespaces,
                     const std::vector<std::string>& models) {
  return fmt::format("{}{{namespace=~\"{}\",model_name=~\"{}\"}}", kRequestCounter,
                     prom::RegexAlternation(namespaces), prom::RegexAlternation(models));
}

// The desired replicas the VA last published, as the planner saw it (explicit 0 included);
// `current` when there is none.
int LastPublished(const CycleVa& va, int current) {
  if (va.desired_field) {
    const int v = *va.desired_field;
    return v > 0 || current > 0 ? v : current;
  }
  return current;
}

}  // namespace

ScaleToZeroConfigCache::UpdateResult ScaleToZeroConfigCache::Update(
    const std::map<std::string, std::string>& data) {
  UpdateResult r;
  core::ScaleToZeroConfigSet::ParseResult parsed = core::ScaleToZeroConfigSet::Parse(data);
  r.warnings = std::move(parsed.warnings);
  MutexLock lock(&mu_);
  auto next = std::make_shared<core::ScaleToZeroConfigSet>(
      core::ScaleToZeroConfigSet::MergeLastGood(*current_, data, &r.errors));
  r.changed = !(*next == *current_);
  r.log_line = fmt::format("Scale-to-zero config cache updated entries={}", next->size());
  current_ = std::move(next);
  return r;
}

std::shared_ptr<const core::ScaleToZeroConfigSet> ScaleToZeroConfigCache::Get() const {
  MutexLock lock(&mu_);
  return current_;
}

std::string RequestIncreaseQuery(const std::vector<std::string>& namespaces,
                                 const std::vector<std::string>& models,
                                 std::chrono::seconds retention) {
  return fmt::format("sum by (namespace, model_name) (increase({}[{}s]))",
                     Selector(namespaces, models), retention.count());
}

std::string RequestFreshnessQuery(const std::vector<std::string>& namespaces,
                                  const std::vector<std::string>& models) {
  return fmt::format("max by (namespace, model_name) (timestamp({}))",
                     Selector(namespaces, models));
}

void ZeroScaler::NoteWoken(const std::string& ns, const std::string& model) {
  MutexLock lock(&woken_mu_);
  woken_[{ns, model}] = clock_.Now();
}

std::optional<double> ZeroScaler::SecondsSinceWoken(const prom::ModelKey& key, int total_current) {
  MutexLock lock(&woken_mu_);
  // A model seen at zero last cycle and with replicas now was woken (by the scale-from-zero
  // loop, an operator or another controller).
  // A model first seen with replicas counts as woken now too: this process has not watched it
  // for a whole retention period, so "no request over the period" is not known yet (after a
  // start or a leader change, scale to zero waits one period).
  auto last = last_total_current_.find(key);
  if ((last == last_total_current_.end() || last->second == 0) && total_current > 0) {
    woken_[key] = clock_.Now();
  }
  last_total_current_[key] = total_current;
  auto w = woken_.find(key);
  if (w == woken_.end()) {
    return std::nullopt;
  }
  return std::chrono::duration<double>(clock_.Now() - w->second).count();
}

ZeroScaler::Counts ZeroScaler::Query(
    const std::map<std::chrono::seconds, std::vector<prom::ModelKey>>& groups) {
  Counts c;
  const double now_s = std::chrono::duration<double>(clock_.WallNow().time_since_epoch()).count();
  for (const auto& [retention, keys] : groups) {
    std::set<std::string> ns_set, model_set;
    for (const prom::ModelKey& k : keys) {
      ns_set.insert(k.ns);
      model_set.insert(k.model);
      c.by_model[k] = core::RequestCount{};  // empty until a series says otherwise
    }
    const std::vector<std::string> namespaces(ns_set.begin(), ns_set.end());
    const std::vector<std::string> models(model_set.begin(), model_set.end());
    auto run = [&](const std::string& q) {
      ++c.queries;
      const auto start = clock_.Now();
      prom::QueryOutcome out = querier_.Query(q);
      if (metrics_) {
        metrics_->RecordPromQuery(
            "request_count", std::chrono::duration<double>(clock_.Now() - start).count(),
            out ? std::nullopt : std::optional<prom::ErrorKind>(out.error().kind));
      }
      return out;
    };
    prom::QueryOutcome inc = run(RequestIncreaseQuery(namespaces, models, retention));
    prom::QueryOutcome fresh = run(RequestFreshnessQuery(namespaces, models));
    if (!inc || !fresh) {
      for (const prom::ModelKey& k : keys) {
        c.by_model[k].state = core::RequestCount::State::kError;
      }
      continue;
    }
    auto key_of = [](const prom::Sample& s) -> std::optional<prom::ModelKey> {
      auto ns = s.labels.find("namespace");
      auto model = s.labels.find("model_name");
      if (ns == s.labels.end() || model == s.labels.end()) {
        return std::nullopt;
      }
      return prom::ModelKey{ns->second, model->second};
    };
    std::map<prom::ModelKey, double> newest;
    for (const prom::Sample& s : fresh->samples) {
      auto k = key_of(s);
      if (k && s.point.value_class == prom::ValueClass::kFinite) {
        newest[*k] = s.point.value;
      }
    }
    for (const prom::Sample& s : inc->samples) {
      auto k = key_of(s);
      if (!k) {
        continue;
      }
      auto slot = c.by_model.find(*k);
      if (slot == c.by_model.end()) {
        continue;  // a model of the regex cross product only
      }
      core::RequestCount& rc = slot->second;
      const double v = s.point.value;
      if (s.point.value_class != prom::ValueClass::kFinite || !std::isfinite(v) || v < 0) {
        rc.state = core::RequestCount::State::kInvalid;
        continue;
      }
      auto n = newest.find(*k);
      if (n == newest.end() || now_s - n->second > static_cast<double>(max_sample_age_.count())) {
        rc.state = core::RequestCount::State::kStale;
        continue;
      }
      rc = core::RequestCount::Of(v);
    }
  }
  return c;
}

void RewriteOutcomes(const CycleInput& in, const ModelOutcome& m,
                     const std::map<std::pair<std::string, std::string>, size_t>& index,
                     CycleOutput* out) {
  for (size_t k = 0; k < m.input.variants.size() && k < m.decision.decisions.size(); ++k) {
    auto it = index.find({m.ns, m.input.variants[k].name});
    if (it == index.end()) {
      continue;
    }
    VaOutcome& o = out->vas[it->second];
    const core::VariantDecision& dec = m.decision.decisions[k];
    if (o.decision && o.decision->target_replicas == dec.target_replicas &&
        o.decision->reason == dec.reason) {
      continue;
    }
    o.decision = dec;
    o.publish_desired = dec.target_replicas;
    o.status.desired_replicas = dec.target_replicas;
    o.status.applied = o.current_replicas == dec.target_replicas;
    for (Condition& c : o.status.conditions) {
      if (c.type == kCondOptimizationReady && c.status) {
        c.message = dec.reason;
      }
      if (c.type == kCondReady && c.status) {
        c.message = fmt::format("desired {} replicas on {}", dec.target_replicas, o.accelerator);
      }
    }
    const int last = LastPublished(in.vas[it->second], o.current_replicas);
    NoteScaling(dec, last, &o);
  }
}

ZeroScaler::Stats ZeroScaler::Apply(const CycleInput& in, CycleOutput* out) {
  Stats stats;
  auto config = config_.Get();
  std::map<std::pair<std::string, std::string>, size_t> index;
  for (size_t i = 0; i < out->vas.size(); ++i) {
    index[{out->vas[i].ns, out->vas[i].name}] = i;
  }

  std::vector<core::ScaleToZeroSetting> settings(out->models.size());
  std::map<std::chrono::seconds, std::vector<prom::ModelKey>> groups;
  for (size_t i = 0; i < out->models.size(); ++i) {
    const ModelOutcome& m = out->models[i];
    const std::optional<bool> inline_enabled =
        in.config ? in.config->ResolveScaleToZero(m.model_id, m.ns) : std::nullopt;
    settings[i] = config->Resolve(m.model_id, m.ns, inline_enabled, default_enabled_);
    if (out->metrics_ok && settings[i].enabled && core::AllowsZero(m.input)) {
      groups[settings[i].retention].push_back({m.ns, m.model_id});
    }
  }
  Counts counts = Query(groups);
  stats.queries = counts.queries;

  for (size_t i = 0; i < out->models.size(); ++i) {
    ModelOutcome& m = out->models[i];
    const prom::ModelKey key{m.ns, m.model_id};
    int total_current = 0;
    for (const core::VariantState& v : m.input.variants) {
      total_current += v.current_replicas;
    }
    core::ScaleToZeroInput z;
    z.setting = settings[i];
    auto rc = counts.by_model.find(key);
    if (rc != counts.by_model.end()) {
      z.requests = rc->second;
    }
    z.complete_data = m.decision.analysis.complete_data();
    z.seconds_since_woken = SecondsSinceWoken(key, total_current);
    z.metrics_ok = out->metrics_ok;
    core::ScaleToZeroResult r = core::ApplyScaleToZero(m.input, z, &m.decision);
    if (r.eligible) {
      stats.eligible.push_back({m.ns, m.model_id, r, z.requests});
    }
    if (r.kind == core::ScaleToZeroResult::Kind::kUnchanged) {
      if (r.eligible && !r.why.empty()) {
        log_.Debug("scale to zero withheld",
                   {{"namespace", m.ns}, {"model", m.model_id}, {"why", r.why}});
      }
      continue;
    }
    log_.Info(r.kind == core::ScaleToZeroResult::Kind::kZeroed
                  ? "scale to zero: every variant of the model goes to 0"
                  : "model at zero: one replica of its cheapest variant kept",
              {{"namespace", m.ns},
               {"model", m.model_id},
               {"requests", core::RequestCountStateName(z.requests.state)},
               {"retention_s", static_cast<int>(z.setting.retention.count())}});
    if (r.kind == core::ScaleToZeroResult::Kind::kZeroed) {
      ++stats.zeroed;
    }
    if (r.kind == core::ScaleToZeroResult::Kind::kKeptOne) {
      ++stats.kept_one;
    }
    RewriteOutcomes(in, m, index, out);
  }
  return stats;
}

}  // namespace wva::controller
