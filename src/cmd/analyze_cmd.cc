// `wva analyze`: one decision, offline, from a snapshot file (docs/reference.md). "What would WVA
// do with these metrics, and why." Exit 0 on success, 2 on bad input with `FILE: <field path>:
// <problem>`.
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cmd/command.h"
#include "core/capacity.h"
#include "core/config.h"
#include "core/saturation.h"
#include "core/slo.h"
#include "core/slo_config.h"
#include "core/slo_policy.h"
#include "core/snapshot.h"

namespace wva::cmd {
namespace {

bool ReadFile(const std::string& path, std::string* out, std::string* error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    *error = "cannot open file";
    return false;
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) {
    *error = "read error";
    return false;
  }
  *out = ss.str();
  return true;
}

// Rounds away binary noise (0.12499999999999997 -> 0.125) for output only.
double Clean(double x) { return std::round(x * 1e9) / 1e9; }

nlohmann::ordered_json ToJson(const core::ModelInput& in, const core::ModelDecision& d) {
  nlohmann::ordered_json j;
  j["model"] = {{"id", in.model_id}, {"namespace", in.namespace_}};
  j["analysis"] = {{"replicas", d.analysis.replicas},
                   {"nonSaturated", d.analysis.non_saturated},
                   {"avgSpareKv", Clean(d.analysis.avg_spare_kv)},
                   {"avgSpareQueue", Clean(d.analysis.avg_spare_queue)},
                   {"shouldScaleUp", d.analysis.should_scale_up},
                   {"canScaleDown", d.analysis.can_scale_down}};
  j["decisions"] = nlohmann::ordered_json::array();
  for (const auto& x : d.decisions) {
    j["decisions"].push_back({{"variant", x.variant},
                              {"accelerator", x.accelerator},
                              {"currentReplicas", x.current_replicas},
                              {"targetReplicas", x.target_replicas},
                              {"action", core::ActionName(x.action)},
                              {"reason", x.reason}});
  }
  // Added top-level keys, present only when they apply (the keys above stay exactly as they
  // are): Ready pods without usable data (rule 7) and what holds the model (rule 5).
  if (!d.analysis.complete_data()) {
    nlohmann::ordered_json incomplete = nlohmann::ordered_json::array();
    for (const core::IncompletePod& p : d.analysis.incomplete) {
      incomplete.push_back({{"pod", p.pod},
                            {"variant", in.variants[p.variant].name},
                            {"problem", core::SampleProblemName(p.problem)}});
    }
    j["incompleteData"] = std::move(incomplete);
  }
  if (!d.transitions.empty()) {
    nlohmann::ordered_json transitions = nlohmann::ordered_json::array();
    for (const core::Transition& t : d.transitions) {
      transitions.push_back({{"variant", in.variants[t.variant].name},
                             {"currentReplicas", t.current_replicas},
                             {"desiredReplicas", t.desired_replicas},
                             {"startingReplicas", t.starting_replicas}});
    }
    j["transition"] = std::move(transitions);
  }
  // The token-based analyzer (V2) adds its demand/supply figures, in tokens.
  if (d.capacity) {
    const core::CapacityAnalysis& c = *d.capacity;
    nlohmann::ordered_json cap;
    cap["analyzer"] = core::AnalyzerName(d.analyzer);
    cap["demand"] = Clean(c.demand);
    cap["supply"] = Clean(c.supply);
    cap["anticipatedSupply"] = Clean(c.anticipated_supply);
    cap["required"] = Clean(c.required);
    cap["spare"] = Clean(c.spare);
    cap["variants"] = nlohmann::ordered_json::array();
    for (size_t i = 0; i < c.variants.size(); ++i) {
      cap["variants"].push_back({{"variant", in.variants[i].name},
                                 {"perReplicaCapacity", Clean(c.variants[i].per_replica_capacity)},
                                 {"k2Source", core::K2SourceName(c.variants[i].k2_source)},
                                 {"demand", Clean(c.variants[i].demand)}});
    }
    j["capacity"] = std::move(cap);
  }
  return j;
}

std::string ToText(const core::ModelInput& in, const core::ModelDecision& d) {
  const core::SaturationConfig& c = in.config;
  std::string out = fmt::format("Model {} (namespace {})\n", in.model_id, in.namespace_);
  out += fmt::format(
      "Thresholds: saturated when kv >= {:g} or queue >= {:g}; scale up when spare kv < {:g} or "
      "spare queue < {:g}\n",
      c.kv_cache_threshold, c.queue_length_threshold, c.kv_spare_trigger, c.queue_spare_trigger);
  const core::Analysis& a = d.analysis;
  if (d.capacity && a.metrics_available) {
    const core::CapacityAnalysis& cp = *d.capacity;
    out += fmt::format(
        "Token-based (V2): demand {:.0f} tokens, supply {:.0f} (anticipated {:.0f}); scale up "
        "above {:g}, down below {:g} utilization; required {:.0f}, spare {:.0f}\n",
        cp.demand, cp.supply, cp.anticipated_supply, c.scale_up_threshold, c.scale_down_boundary,
        cp.required, cp.spare);
  }
  if (!a.metrics_available) {
    out +=
        fmt::format("Analysis: no usable metrics ({} sample(s) dropped): holding every variant\n",
                    a.dropped_samples);
  } else {
    out += fmt::format(
        "Analysis: {} replica(s) with metrics, {} non-saturated; avg spare kv {:.3f}, avg spare "
        "queue {:.2f}\n",
        a.replicas, a.non_saturated, a.avg_spare_kv, a.avg_spare_queue);
    if (a.dropped_samples > 0) {
      out += fmt::format("          {} unusable sample(s) dropped\n", a.dropped_samples);
    }
    out += fmt::format("          -> {}\n", a.should_scale_up  ? "scale up"
                                            : a.can_scale_down ? "scale down is safe"
                                                               : "steady");
    if (!a.complete_data()) {
      out += fmt::format("          data incomplete: {} (no scale-down on partial data)\n",
                         core::IncompleteText(a, in));
    }
  }
  for (const core::Transition& t : d.transitions) {
    const std::string& name = in.variants[t.variant].name;
    out += t.desired_replicas != 0
               ? fmt::format("Model in transition: {} {} -> {} not yet applied\n", name,
                             t.current_replicas, t.desired_replicas)
               : fmt::format("Model in transition: {} has {} replica(s) starting\n", name,
                             t.starting_replicas);
  }
  out += "Decisions:\n";
  for (const auto& x : d.decisions) {
    out += fmt::format("  {:<24} {:<10} {:>3} -> {:<3} {:<10} {}\n", x.variant, x.accelerator,
                       x.current_replicas, x.target_replicas, core::ActionName(x.action), x.reason);
  }
  return out;
}

struct AnalyzeFlags {
  std::string input;
  std::string config;
  std::string slo_config;
  std::string output = "json";
};

// The "slo" object (issue #8): only present when the snapshot or --slo-config asks for SLO
// sizing. The documented keys above it are unchanged.
nlohmann::ordered_json SloJson(const core::ModelInput& in, const core::SloInput& slo,
                               const core::SloDecision& d) {
  const core::SloSizing& s = d.sizing;
  nlohmann::ordered_json j;
  j["targets"] = {{"ttftMs", slo.targets.ttft_ms},
                  {"itlMs", slo.targets.itl_ms},
                  {"percentile", slo.targets.percentile},
                  {"itlPercentile", slo.targets.itl_percentile},
                  {"headroom", slo.targets.headroom}};
  j["ok"] = s.ok;
  if (!s.ok) {
    j["problem"] = s.problem;
  }
  j["load"] = Clean(s.load);
  j["currentCapacity"] = Clean(s.current_capacity);
  j["plannedCapacity"] = Clean(s.planned_capacity);
  j["currentCost"] = Clean(s.current_cost);
  j["plannedCost"] = Clean(s.planned_cost);
  j["plannedReplicas"] = s.planned_replicas;
  j["coversLoad"] = s.covers_load;
  if (s.best_effort) {
    j["bestEffort"] = true;
  }
  j["mix"] = s.summary;
  j["variants"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < in.variants.size() && i < s.variants.size(); ++i) {
    const core::VariantSizing& v = s.variants[i];
    nlohmann::ordered_json x = {{"variant", in.variants[i].name}, {"usable", v.usable}};
    if (v.usable || v.capacity.feasible || v.capacity.limit != core::CapacityLimit::kNone) {
      x["capacityPerReplica"] = std::round(v.capacity.max_rate * 1e4) / 1e4;
      x["limit"] = core::CapacityLimitName(v.capacity.limit);
      x["maxBatch"] = v.capacity.max_batch;
      x["predictedTtftMs"] = std::round(v.capacity.ttft_ms * 10) / 10;
      x["predictedItlMs"] = std::round(v.capacity.itl_ms * 100) / 100;
      if (v.capacity.relaxed) {
        x["relaxedPercentile"] = v.capacity.percentile;
        if (v.capacity.itl_percentile > 0) {
          x["relaxedItlPercentile"] = v.capacity.itl_percentile;
        }
      }
    }
    x["sloTargetReplicas"] = v.target_replicas;
    x["targetReplicas"] = d.decision.decisions[i].target_replicas;
    x["driver"] = core::DriverName(d.decision.decisions[i].driver);
    if (!v.note.empty()) {
      x["note"] = v.note;
    }
    j["variants"].push_back(std::move(x));
  }
  return j;
}

std::string SloText(const core::ModelInput& in, const core::SloInput& slo,
                    const core::SloDecision& d) {
  const core::SloSizing& s = d.sizing;
  std::string out = fmt::format(
      "SLO: TTFT p{:g} <= {:g} ms, mean ITL <= {:g} ms (headroom {:g}); workload {:.2f} req/s, "
      "prompt {:.0f}±{:.0f}, output {:.0f}±{:.0f} tokens\n",
      slo.targets.percentile * 100, slo.targets.ttft_ms, slo.targets.itl_ms, slo.targets.headroom,
      slo.workload.arrival_rate, slo.workload.input.mean, slo.workload.input.stddev,
      slo.workload.output.mean, slo.workload.output.stddev);
  if (!s.ok) {
    return out + fmt::format("     sizing unavailable: {}\n", s.problem);
  }
  for (size_t i = 0; i < in.variants.size(); ++i) {
    const core::VariantSizing& v = s.variants[i];
    if (!v.usable) {
      out += fmt::format("     {:<24} {}\n", in.variants[i].name, v.note);
      continue;
    }
    out += fmt::format(
        "     {:<24} {:.3f} req/s per replica ({}-limited; batch <= {}, TTFT p{:g} {:.0f} ms, ITL "
        "{:.1f} ms at the limit), ${:.2f}/h\n",
        in.variants[i].name, v.capacity.max_rate, core::CapacityLimitName(v.capacity.limit),
        v.capacity.max_batch, slo.targets.percentile * 100, v.capacity.ttft_ms, v.capacity.itl_ms,
        in.variants[i].cost);
  }
  out +=
      fmt::format("     load {:.2f} req/s; current capacity {:.2f} req/s ({}); cheapest mix: {}\n",
                  s.load, s.current_capacity, fmt::format("${:.2f}/h", s.current_cost), s.summary);
  return out;
}

int RunAnalyze(const AnalyzeFlags& f) {
  std::string text, err;
  if (!ReadFile(f.input, &text, &err)) {
    std::cerr << f.input << ": " << err << "\n";
    return 2;
  }
  auto snap = core::ParseSnapshot(text);
  if (!snap) {
    std::cerr << f.input << ": " << snap.error().message() << "\n";
    return 2;
  }
  core::ModelInput& in = snap->input;
  // Effective thresholds: built-ins, then --config resolved for this model, then the snapshot's
  // own `config` block (most specific wins).
  if (!f.config.empty()) {
    std::string cfg_text;
    if (!ReadFile(f.config, &cfg_text, &err)) {
      std::cerr << f.config << ": " << err << "\n";
      return 2;
    }
    auto set = core::ParseConfigFile(cfg_text);
    if (!set) {
      std::cerr << f.config << ": " << set.error().message() << "\n";
      return 2;
    }
    in.config = set->Resolve(in.model_id, in.namespace_);
  }
  if (snap->config_given) {
    snap->config_entry.ApplyTo(&in.config);
  }
  if (Status s = core::ValidateSaturationConfig(in.config); !s.ok()) {
    std::cerr << f.input << ": config." << s.message() << "\n";
    return 2;
  }
  // SLO sizing (issue #8): targets from --slo-config resolved for the model, then the snapshot's
  // `slo` block; profiles from the variant's own `profile`, else --slo-config by accelerator.
  std::optional<core::SloInput> slo;
  if (snap->uses_slo() || !f.slo_config.empty()) {
    core::ResolvedSlo resolved;
    if (!f.slo_config.empty()) {
      std::string cfg_text;
      if (!ReadFile(f.slo_config, &cfg_text, &err)) {
        std::cerr << f.slo_config << ": " << err << "\n";
        return 2;
      }
      auto set = core::ParseSloConfigFile(cfg_text);
      if (!set) {
        std::cerr << f.slo_config << ": " << set.error().message() << "\n";
        return 2;
      }
      resolved = set->Resolve(in.model_id, in.namespace_, snap->slo);
    } else {
      snap->slo.ApplyTo(&resolved.targets);
    }
    if (!snap->workload_given) {
      std::cerr << f.input
                << ": workload: required for SLO sizing (arrivalRate, inputTokens, "
                   "outputTokens)\n";
      return 2;
    }
    slo.emplace();
    slo->targets = resolved.targets;
    slo->workload = snap->workload;
    for (size_t i = 0; i < in.variants.size(); ++i) {
      slo->profiles.push_back(resolved.ProfileFor(in.variants[i].accelerator, snap->profiles[i]));
    }
  }
  if (!slo) {
    core::ModelDecision d = core::DecideModel(in);
    if (f.output == "text") {
      std::cout << ToText(in, d);
    } else {
      std::cout << ToJson(in, d).dump(2) << "\n";
    }
    return 0;
  }
  // The policy the controller runs, on a state that has seen this snapshot's traffic for a whole
  // look-back (the snapshot is read as steady state: no trend, no correction).
  core::Observation obs;
  obs.input = in;
  obs.targets = slo->targets;
  obs.profiles = slo->profiles;
  obs.traffic.known = true;
  obs.traffic.arrival_rate = slo->workload.arrival_rate;
  obs.traffic.mean_prompt_tokens = slo->workload.input.mean;
  obs.traffic.mean_output_tokens = slo->workload.output.mean;
  core::PolicyState state;
  state.first_run_s = -1e9;
  core::PolicyDecision pd = core::DecidePolicy(obs, core::PolicyOptions{}, &state);
  core::SloDecision sd;
  sd.decision = std::move(pd.decision);
  if (pd.sizing) {
    sd.sizing = std::move(*pd.sizing);
  }
  if (pd.sizing_input) {
    *slo = std::move(*pd.sizing_input);
  }
  if (!pd.sizing) {
    sd.sizing.problem = pd.slo_note.empty() ? "SLO sizing unavailable" : pd.slo_note;
  }
  if (f.output == "text") {
    std::string text = ToText(in, sd.decision);
    const auto pos = text.find("Decisions:\n");
    text.insert(pos == std::string::npos ? text.size() : pos, SloText(in, *slo, sd));
    std::cout << text;
  } else {
    nlohmann::ordered_json j = ToJson(in, sd.decision);
    j["slo"] = SloJson(in, *slo, sd);
    std::cout << j.dump(2) << "\n";
  }
  return 0;
}

WVA_REGISTER_COMMAND(
    kAnalyzeCmd, "analyze",
    "One decision, offline, from a snapshot file: what WVA would do with these metrics, and why",
    30, [](CLI::App& sub) -> std::function<int()> {
      auto flags = std::make_shared<AnalyzeFlags>();
      sub.add_option("--input,-i", flags->input, "Snapshot file (YAML or JSON)")->required();
      sub.add_option("--config,-c", flags->config,
                     "capacity-scaling-config ConfigMap, its data map, or a single entry (YAML)");
      sub.add_option("--slo-config", flags->slo_config,
                     "wva-slo-config ConfigMap, its data map, or a single entry (YAML): SLO "
                     "targets and per-accelerator performance profiles (docs/slo-sizing.md)");
      sub.add_option("--output,-o", flags->output, "Output format")
          ->check(CLI::IsMember({"json", "text"}))
          ->capture_default_str();
      sub.footer(
          "Snapshot format (docs/reference.md, \"wva analyze\"):\n"
          "  model: {id: meta/llama-70b, namespace: prod}\n"
          "  config: {kvCacheThreshold: 0.80, queueLengthThreshold: 5, kvSpareTrigger: 0.10, "
          "queueSpareTrigger: 3}\n"
          "  variants:\n"
          "    - {name: llama-70b-l40s, accelerator: L40S, cost: 5.0, currentReplicas: 2, "
          "readyReplicas: 2, desiredReplicas: 0, minReplicas: 1, maxReplicas: 10}\n"
          "  replicas:\n"
          "    - {pod: llama-70b-l40s-0, variant: llama-70b-l40s, kvCacheUsage: 0.75, queueLength: "
          "3}\n"
          "Optional SLO sizing (docs/slo-sizing.md):\n"
          "  slo: {ttftMs: 1000, itlMs: 50, percentile: 0.99, headroom: 0.1}\n"
          "  workload: {arrivalRate: 12, inputTokens: {mean: 1000, stddev: 800}, outputTokens: "
          "{mean: 200, stddev: 150}}\n"
          "  variants[].profile: {alpha: 22.6, beta: 0.18, gamma: 5, delta: 0.09, maxBatch: 256, "
          "kvCapacityTokens: 184000, maxBatchedTokens: 2048}\n"
          "Exit status: 0 decided, 2 bad input (FILE: <field path>: <problem>).");
      return [flags] { return RunAnalyze(*flags); };
    });

}  // namespace
}  // namespace wva::cmd
