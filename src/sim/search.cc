// Best static fleet in hindsight and the oracle bound (see search.h).
#include "sim/search.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace wva::sim {
namespace {

double PricePerHour(const FleetConfig& fleet, const std::vector<int>& counts) {
  double usd = 0;
  for (size_t v = 0; v < counts.size(); ++v) {
    usd += fleet.variants[v].cost * counts[v];
  }
  return usd;
}

StatusOr<Result> RunOnce(const FleetConfig& fleet, const WorkloadFactory& open, Policy& policy,
                         const RunOptions& options) {
  WVA_ASSIGN_OR_RETURN(std::unique_ptr<Workload> w, open());
  RunOptions o = options;
  o.progress = nullptr;
  return Simulate(fleet, *w, policy, o);
}

}  // namespace

std::vector<std::vector<int>> CountsByPrice(const FleetConfig& fleet, bool allow_empty) {
  const size_t nv = fleet.variants.size();
  std::vector<std::vector<int>> all;
  std::vector<int> c(nv);
  for (size_t v = 0; v < nv; ++v) {
    c[v] = fleet.variants[v].min_replicas;
  }
  auto hi = [&](size_t v) {
    const VariantConfig& vc = fleet.variants[v];
    return vc.max_replicas ? *vc.max_replicas : std::max(vc.min_replicas, kSearchMaxReplicas);
  };
  while (true) {
    if (allow_empty || std::accumulate(c.begin(), c.end(), 0) > 0) {
      all.push_back(c);
    }
    size_t v = 0;
    while (v < nv && c[v] == hi(v)) {
      c[v] = fleet.variants[v].min_replicas;
      ++v;
    }
    if (v == nv) {
      break;
    }
    ++c[v];
  }
  std::stable_sort(
      all.begin(), all.end(), [&](const std::vector<int>& a, const std::vector<int>& b) {
        const double pa = PricePerHour(fleet, a), pb = PricePerHour(fleet, b);
        if (std::fabs(pa - pb) > 1e-9) {
          return pa < pb;
        }
        return std::accumulate(a.begin(), a.end(), 0) < std::accumulate(b.begin(), b.end(), 0);
      });
  return all;
}

std::string StaticSpec(const FleetConfig& fleet, const std::vector<int>& counts) {
  std::string s;
  for (size_t v = 0; v < counts.size(); ++v) {
    if (counts[v] == 0) {
      continue;
    }
    s += fmt::format("{}{}={}", s.empty() ? "" : ",", fleet.variants[v].name, counts[v]);
  }
  // A fleet of zeros still needs a valid spec: name the first variant with 0.
  if (s.empty()) {
    s = fmt::format("{}=0", fleet.variants.front().name);
  }
  return "static:" + s;
}

StatusOr<StaticSearchResult> SearchStatic(const FleetConfig& fleet, const WorkloadFactory& open,
                                          const RunOptions& options) {
  StaticSearchResult best;
  double best_att = -1;
  for (const std::vector<int>& counts : CountsByPrice(fleet, /*allow_empty=*/false)) {
    StaticPolicy policy(StaticSpec(fleet, counts), counts);
    WVA_ASSIGN_OR_RETURN(Result r, RunOnce(fleet, open, policy, options));
    ++best.tried;
    const bool met = r.attainment >= fleet.slo.percentile;
    if (met || r.attainment > best_att) {
      best_att = r.attainment;
      best.found = met;
      best.spec = policy.Name();
      best.counts = counts;
      best.usd_per_hour = PricePerHour(fleet, counts);
      best.result = std::move(r);
    }
    if (met) {
      break;
    }
  }
  return best;
}

std::string StaticSearchJson(const StaticSearchResult& s, const FleetConfig& fleet) {
  nlohmann::ordered_json j;
  j["found"] = s.found;
  j["policy"] = s.spec;
  nlohmann::ordered_json counts = nlohmann::ordered_json::object();
  for (size_t v = 0; v < s.counts.size(); ++v) {
    counts[fleet.variants[v].name] = s.counts[v];
  }
  j["replicas"] = counts;
  j["usd_per_hour"] = std::round(s.usd_per_hour * 1000) / 1000;
  j["slo"] = {{"ttft_ms", fleet.slo.ttft_ms},
              {"itl_ms", fleet.slo.itl_ms},
              {"target", fleet.slo.percentile},
              {"attainment", std::round(s.result.attainment * 1000) / 1000}};
  j["cost_usd"] = std::round(s.result.cost_usd * 1000) / 1000;
  j["fleets_simulated"] = s.tried;
  return j.dump(2) + "\n";
}

double RequestWorkSeconds(const PerfProfile& p, double prompt, double output, double itl_ms) {
  prompt = std::max(1.0, prompt);
  output = std::max(1.0, output);
  const double by_itl = (itl_ms - p.alpha_ms) / p.beta_ms;
  const double by_kv = static_cast<double>(p.kv_capacity_tokens) / (prompt + output);
  const double batch = std::max(1.0, std::min({static_cast<double>(p.max_batch), by_itl, by_kv}));
  const double ms = p.delta_ms * prompt + p.gamma_ms * prompt / p.max_batched_tokens +
                    (p.beta_ms + p.alpha_ms / batch) * output;
  return ms / 1000.0;
}

std::vector<std::vector<int>> PlanSlots(const FleetConfig& fleet,
                                        const std::vector<SlotLoad>& slots, double slot_s,
                                        double util) {
  const std::vector<std::vector<int>> options = CountsByPrice(fleet, /*allow_empty=*/true);
  std::vector<std::vector<int>> plan;
  for (const SlotLoad& s : slots) {
    const double rate = s.requests / slot_s;
    const double prompt = s.requests > 0 ? s.prompt_tokens / s.requests : 0;
    const double output = s.requests > 0 ? s.output_tokens / s.requests : 0;
    std::vector<double> cap(fleet.variants.size());
    for (size_t v = 0; v < cap.size(); ++v) {
      cap[v] =
          util / RequestWorkSeconds(fleet.variants[v].profile, prompt, output, fleet.slo.itl_ms);
    }
    const std::vector<int>* pick = nullptr;
    double most = -1;
    for (const std::vector<int>& c : options) {
      double total = 0;
      for (size_t v = 0; v < c.size(); ++v) {
        total += c[v] * cap[v];
      }
      if (total >= rate) {
        pick = &c;
        break;
      }
      if (total > most) {
        most = total;
        pick = &c;  // nothing covers the rate: the largest capacity seen
      }
    }
    plan.push_back(*pick);
  }
  return plan;
}

int OraclePolicy::Need(const FleetConfig& fleet, size_t v, double now) const {
  const VariantConfig& vc = fleet.variants[v];
  const double lead = vc.startup_max_s + fleet.interval_s;
  const auto first = static_cast<size_t>(std::max(0.0, std::floor(now / slot_s_)));
  const auto last = static_cast<size_t>(std::floor((now + lead) / slot_s_));
  int want = 0;
  for (size_t k = first; k <= last && k < plan_.size(); ++k) {
    want = std::max(want, plan_[k][v]);
  }
  want = std::max(want, vc.min_replicas);
  return vc.max_replicas ? std::min(want, *vc.max_replicas) : want;
}

std::optional<std::vector<int>> OraclePolicy::InitialReplicas(const FleetConfig& fleet) const {
  std::vector<int> n(fleet.variants.size());
  for (size_t v = 0; v < n.size(); ++v) {
    n[v] = Need(fleet, v, 0);
  }
  return n;
}

void OraclePolicy::Run(const ControllerView& view, std::vector<Signal>* out) {
  const FleetConfig& fleet = *view.fleet;
  reason_.clear();
  // Past the last arrival there is nothing left to plan for: the fleet drains as it is.
  if (view.now_s >= slot_s_ * static_cast<double>(plan_.size())) {
    return;
  }
  for (size_t v = 0; v < out->size(); ++v) {
    const VariantConfig& vc = fleet.variants[v];
    const double lead = vc.startup_max_s + fleet.interval_s;
    const int target = Need(fleet, v, view.now_s);
    (*out)[v] = Signal{Signal::Kind::kReplicas, static_cast<double>(target), 1.0, 0};
    const int cur = view.variants[v].current;
    if (target == cur) {
      continue;
    }
    if (!reason_.empty()) {
      reason_ += "; ";
    }
    reason_ += fmt::format(
        "{} {} {}->{} (plan): peak of the planned slots within {:.0f} s, "
        "utilisation {:.2f}",
        vc.name, target > cur ? "scale-up" : "scale-down", cur, target, lead, util_);
  }
}

StatusOr<std::unique_ptr<OraclePolicy>> MakeOracle(const FleetConfig& fleet,
                                                   const WorkloadFactory& open,
                                                   const RunOptions& options) {
  const double slot_s = fleet.interval_s;
  std::vector<SlotLoad> slots;
  {
    WVA_ASSIGN_OR_RETURN(std::unique_ptr<Workload> w, open());
    Arrival a;
    while (true) {
      WVA_ASSIGN_OR_RETURN(bool have, w->Next(&a));
      if (!have) {
        break;
      }
      const auto k = static_cast<size_t>(a.time_s / slot_s);
      if (k >= slots.size()) {
        slots.resize(k + 1);
      }
      ++slots[k].requests;
      slots[k].prompt_tokens += a.prompt_tokens;
      slots[k].output_tokens += a.output_tokens;
    }
  }
  std::vector<std::unique_ptr<OraclePolicy>> candidates;
  for (double util = 1.2; util > 0.19; util -= 0.05) {
    candidates.push_back(
        std::make_unique<OraclePolicy>(PlanSlots(fleet, slots, slot_s, util), slot_s, util));
  }
  // A static fleet is a plan too (util 0 marks it): the oracle is never dearer than hindsight's
  // best static fleet at its attainment.
  WVA_ASSIGN_OR_RETURN(StaticSearchResult st, SearchStatic(fleet, open, options));
  candidates.push_back(std::make_unique<OraclePolicy>(
      std::vector<std::vector<int>>(std::max<size_t>(1, slots.size()), st.counts), slot_s, 0));
  std::unique_ptr<OraclePolicy> best;
  double best_cost = 0, best_att = -1;
  bool best_met = false;
  for (std::unique_ptr<OraclePolicy>& candidate : candidates) {
    OraclePolicy trial = *candidate;
    WVA_ASSIGN_OR_RETURN(Result r, RunOnce(fleet, open, trial, options));
    const bool met = r.attainment >= fleet.slo.percentile;
    const bool better = !best || (met && !best_met) ||
                        (met && best_met && r.cost_usd < best_cost) ||
                        (!met && !best_met && r.attainment > best_att);
    if (better) {
      best = std::move(candidate);
      best_cost = r.cost_usd;
      best_att = r.attainment;
      best_met = met;
    }
  }
  return best;
}

}  // namespace wva::sim
