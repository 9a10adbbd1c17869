// `wva analyze`: one decision, offline, from a snapshot file (SPEC §4). "What would WVA do with
// these metrics, and why." Exit 0 on success, 2 on bad input with `FILE: <field path>: <problem>`.
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cmd/command.h"
#include "core/config.h"
#include "core/saturation.h"
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
  if (!a.metrics_available) {
    out += fmt::format("Analysis: no usable metrics ({} sample(s) dropped): holding every variant\n",
                       a.dropped_samples);
  } else {
    out += fmt::format(
        "Analysis: {} replica(s) with metrics, {} non-saturated; avg spare kv {:.3f}, avg spare "
        "queue {:.2f}\n",
        a.replicas, a.non_saturated, a.avg_spare_kv, a.avg_spare_queue);
    if (a.dropped_samples > 0) out += fmt::format("          {} unusable sample(s) dropped\n", a.dropped_samples);
    out += fmt::format("          -> {}\n", a.should_scale_up  ? "scale up"
                                            : a.can_scale_down ? "scale down is safe"
                                                               : "steady");
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
  std::string output = "json";
};

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
  if (snap->config_given) snap->config_entry.ApplyTo(&in.config);
  if (Status s = core::ValidateSaturationConfig(in.config); !s.ok()) {
    std::cerr << f.input << ": config." << s.message() << "\n";
    return 2;
  }
  core::ModelDecision d = core::Decide(in);
  if (f.output == "text") {
    std::cout << ToText(in, d);
  } else {
    std::cout << ToJson(in, d).dump(2) << "\n";
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
      sub.add_option("--output,-o", flags->output, "Output format")
          ->check(CLI::IsMember({"json", "text"}))
          ->capture_default_str();
      sub.footer(
          "Snapshot format (SPEC §4):\n"
          "  model: {id: meta/llama-70b, namespace: prod}\n"
          "  config: {kvCacheThreshold: 0.80, queueLengthThreshold: 5, kvSpareTrigger: 0.10, "
          "queueSpareTrigger: 3}\n"
          "  variants:\n"
          "    - {name: llama-70b-l40s, accelerator: L40S, cost: 5.0, currentReplicas: 2, "
          "readyReplicas: 2, desiredReplicas: 0, minReplicas: 1, maxReplicas: 10}\n"
          "  replicas:\n"
          "    - {pod: llama-70b-l40s-0, variant: llama-70b-l40s, kvCacheUsage: 0.75, queueLength: 3}\n"
          "Exit status: 0 decided, 2 bad input (FILE: <field path>: <problem>).");
      return [flags] { return RunAnalyze(*flags); };
    });

}  // namespace
}  // namespace wva::cmd
