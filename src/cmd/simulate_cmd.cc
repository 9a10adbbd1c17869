// `wva simulate`: the discrete-event fleet simulator (docs/reference.md "wva simulate"). Flag
// parsing and wiring only; the simulation is src/sim.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cmd/command.h"
#include "sim/compare.h"
#include "sim/fleet.h"
#include "sim/policy.h"
#include "sim/report.h"
#include "sim/search.h"
#include "sim/simulator.h"
#include "sim/workload.h"

namespace wva::cmd {
namespace {

struct Flags {
  std::string fleet;
  std::string trace;
  double time_scale = 1.0;
  std::string workload;
  uint64_t seed = 1;
  std::string policy = "wva";
  std::string compare;
  std::string out = "./wva-sim-out";
  bool no_wall_time = false;
  bool quiet = false;
  bool search_static = false;
  double slo_ttft_ms = 0;  // > 0: overrides the fleet's slo.ttftMs (scoring and wva-slo)
  double slo_itl_ms = 0;   // > 0: overrides the fleet's slo.itlMs
};

int ExitFor(const Status& s) {
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound ? 2 : 1;
}

StatusOr<std::unique_ptr<sim::Workload>> OpenWorkload(const Flags& f) {
  if (!f.trace.empty()) {
    return sim::OpenTrace(f.trace, f.time_scale);
  }
  return sim::MakeSynthetic(f.workload.empty() ? sim::kDefaultWorkload : f.workload, f.seed);
}

std::vector<std::string> SplitPolicies(const std::string& s) {
  // Policies are separated by commas, but static:<a>=1,<b>=2 also uses commas: a piece that
  // does not start a new policy continues the previous one.
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string piece =
        s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const bool new_policy =
        piece == "wva" || piece.rfind("static:", 0) == 0 || piece.rfind("hpa-kv:", 0) == 0 ||
        piece.find(':') != std::string::npos || piece.find('=') == std::string::npos;
    if (out.empty() || new_policy) {
      out.push_back(piece);
    } else {
      out.back() += "," + piece;
    }
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
  }
  return out;
}

int Run(const Flags& f) {
  if (!f.trace.empty() && !f.workload.empty()) {
    std::cerr << "wva simulate: --trace and --workload are exclusive\n";
    return 2;
  }
  sim::FleetConfig fleet = sim::DefaultFleet();
  if (!f.fleet.empty()) {
    auto loaded = sim::LoadFleetFile(f.fleet);
    if (!loaded) {
      std::cerr << loaded.error().message() << "\n";
      return 2;
    }
    fleet = std::move(*loaded);
  }
  if (f.slo_ttft_ms > 0) {
    fleet.slo.ttft_ms = f.slo_ttft_ms;
  }
  if (f.slo_itl_ms > 0) {
    fleet.slo.itl_ms = f.slo_itl_ms;
  }
  const std::vector<std::string> specs =
      f.compare.empty() ? std::vector<std::string>{f.policy} : SplitPolicies(f.compare);
  const sim::WorkloadFactory open = [&f] { return OpenWorkload(f); };
  sim::RunOptions base_opt;
  base_opt.seed = f.seed;
  std::vector<std::unique_ptr<sim::Policy>> policies;
  for (const std::string& spec : specs) {
    if (spec == "oracle") {
      continue;  // planned below, once the other specs are known good
    }
    auto p = sim::MakePolicy(spec, fleet);
    if (!p) {
      std::cerr << p.error().message() << "\n";
      return 2;
    }
    policies.push_back(std::move(*p));
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    if (specs[i] != "oracle") {
      continue;
    }
    // The oracle reads the whole workload ahead and replays it to choose its plan.
    auto o = sim::MakeOracle(fleet, open, base_opt);
    if (!o) {
      std::cerr << o.error().message() << "\n";
      return ExitFor(o.error());
    }
    policies.insert(policies.begin() + static_cast<std::ptrdiff_t>(i), std::move(*o));
  }

  const bool tty = isatty(STDERR_FILENO) && !f.quiet;
  std::vector<sim::Result> results;
  for (auto& policy : policies) {
    auto workload = OpenWorkload(f);
    if (!workload) {
      std::cerr << workload.error().message() << "\n";
      return ExitFor(workload.error());
    }
    sim::RunOptions opt;
    opt.seed = f.seed;
    const auto start = std::chrono::steady_clock::now();
    auto last = start;
    bool drew = false;
    if (tty) {
      const std::string name = policy->Name();
      opt.progress = [&, name](double t, int64_t n, double frac) {
        const auto now = std::chrono::steady_clock::now();
        if (now - start < std::chrono::milliseconds(500) ||
            now - last < std::chrono::milliseconds(100)) {
          return;
        }
        last = now;
        drew = true;
        const int ticks = static_cast<int>(std::clamp(frac, 0.0, 1.0) * 30);
        fmt::print(stderr, "\r[{:<30}] {:3.0f}% {} sim {:.0f} min, {} requests ",
                   std::string(ticks, '#'), 100 * frac, name, t / 60.0, n);
        std::fflush(stderr);
      };
    }
    auto result = sim::Simulate(fleet, **workload, *policy, opt);
    if (drew) {
      fmt::print(stderr, "\r{:80}\r", "");
    }
    if (!result) {
      std::cerr << result.error().message() << "\n";
      return ExitFor(result.error());
    }
    const std::string dir =
        f.compare.empty()
            ? f.out
            : (std::filesystem::path(f.out) / sim::PolicySlug(policy->Name())).string();
    if (Status s = sim::WriteOutputs(*result, dir, !f.no_wall_time); !s.ok()) {
      std::cerr << s.message() << "\n";
      return 1;
    }
    if (f.compare.empty()) {
      std::cout << sim::Scorecard(*result) << "outputs    " << dir
                << "/{summary.json,timeseries.csv,decisions.csv,report.html}\n";
    }
    results.push_back(std::move(*result));
  }
  if (f.search_static) {
    auto found = sim::SearchStatic(fleet, open, base_opt);
    if (!found) {
      std::cerr << found.error().message() << "\n";
      return ExitFor(found.error());
    }
    const std::string dir = (std::filesystem::path(f.out) / "best-static").string();
    if (Status s = sim::WriteOutputs(found->result, dir, !f.no_wall_time); !s.ok()) {
      std::cerr << s.message() << "\n";
      return 1;
    }
    const std::string best = sim::StaticSearchJson(*found, fleet);
    if (Status s = sim::WriteFiles(f.out, {{"best_static.json", best}}); !s.ok()) {
      std::cerr << s.message() << "\n";
      return 1;
    }
    std::cout << fmt::format(
        "best static {} {} (${:.2f}/h, {} fleets simulated in price order): attainment {:.1f}% "
        "(target {:.0f}%), ${:.2f}; outputs {}/best_static.json, {}/\n",
        found->found ? "reaching the SLO target:"
                     : "(none reaches the SLO target; best attainment):",
        found->spec, found->usd_per_hour, found->tried, 100 * found->result.attainment,
        100 * fleet.slo.percentile, found->result.cost_usd, f.out, dir);
    if (!f.compare.empty()) {
      results.push_back(std::move(found->result));
    }
  }
  if (!f.compare.empty()) {
    if (Status s = sim::WriteCompare(results, results.front().workload, f.out); !s.ok()) {
      std::cerr << s.message() << "\n";
      return 1;
    }
    std::cout << "workload: " << results.front().workload << "\n"
              << sim::CompareTable(results) << "outputs: " << f.out
              << "/{compare.html,compare.csv,compare.json}, " << f.out << "/<policy>/\n";
  }
  return 0;
}

WVA_REGISTER_COMMAND(
    kSimulateCmd, "simulate",
    "Simulate a vLLM fleet under a scaling policy (trace replay or synthetic load)", 20,
    [](CLI::App& sub) -> std::function<int()> {
      auto f = std::make_shared<Flags>();
      sub.add_option("--fleet", f->fleet, "Fleet YAML (default: built-in L40S + H100 fleet)");
      sub.add_option("--trace", f->trace,
                     "Replay a trace: Azure CSV or Mooncake JSONL (auto-detected)");
      sub.add_option("--time-scale", f->time_scale,
                     "Multiply trace timestamps (0.5 = replay twice as fast)");
      sub.add_option("--workload", f->workload,
                     "Synthetic workload KIND[:k=v,...] (poisson, onoff, diurnal); default " +
                         std::string(sim::kDefaultWorkload));
      sub.add_option("--seed", f->seed, "Random seed (workload and start-up delays), >= 0")
          ->check(NonNegativeInteger());
      sub.add_option(
          "--policy", f->policy,
          "wva | wva-v2[:up=X,down=Y] | wva-slo[:k=v,...] | static:<variant>=<n>[,...] | "
          "hpa-kv:<target> | keda-token[:queue=<s>,kv=<f>] | keda-slo | oracle (clairvoyant "
          "yardstick)");
      sub.add_option("--slo-ttft-ms", f->slo_ttft_ms,
                     "TTFT target in ms (overrides the fleet's slo.ttftMs; scoring and wva-slo)")
          ->check(PositiveFinite())
          ->default_str("fleet");
      sub.add_option("--slo-itl-ms", f->slo_itl_ms,
                     "ITL target in ms (overrides the fleet's slo.itlMs; scoring and wva-slo)")
          ->check(PositiveFinite())
          ->default_str("fleet");
      sub.add_option("--compare", f->compare,
                     "Run several policies (comma-separated) on the same workload; writes "
                     "compare.html, compare.csv and compare.json");
      sub.add_flag("--search-static", f->search_static,
                   "Also find the cheapest static fleet (within min/max) that reaches the SLO "
                   "target, in price order; writes best_static.json and best-static/");
      sub.add_option("--out", f->out, "Output directory");
      sub.add_flag("--no-wall-time", f->no_wall_time,
                   "Write wall_seconds as 0 so summary.json is byte-identical across runs");
      sub.add_flag("--quiet", f->quiet, "No progress bar");
      return [f] { return Run(*f); };
    });

}  // namespace
}  // namespace wva::cmd
