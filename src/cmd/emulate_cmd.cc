// `wva emulate`: serves /metrics for emulated vLLM pods of one or more variants (vLLM's metric
// names, types and labels model_name/namespace/pod) so a real Prometheus can scrape them, plus a
// JSON control API to add/remove pods and set fixed kv/queue values while it runs.
// Registered only when the emulator's HTTP server is built (src/http present).
#ifdef WVA_EMULATOR_HAVE_HTTP
#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "base/clock.h"
#include "base/log.h"
#include "cmd/command.h"
#include "emulator/emulator.h"
#include "emulator/server.h"
#include "emulator/sim_model.h"
#include "sim/replica.h"
#include "sim/workload.h"
#ifdef WVA_EMULATOR_HAVE_CLUSTER
#include "emulator/cluster_source.h"
#include "kube/client.h"
#include "kube/rest_config.h"
#endif

namespace wva::cmd {
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

struct EmulateFlags {
  std::string address = "127.0.0.1";
  int port = 8000;
  std::string port_file;
  std::vector<std::string> variants;
  std::string mode;  // fixed | load ("" = load when --rate is given, else fixed)
  double rate = -1;
  std::string workload;  // sim synthetic spec, e.g. "poisson:rate=8"
  std::string trace;     // Azure CSV / Mooncake JSONL
  double time_scale = 1.0;
  uint64_t seed = 1;
  // Cluster-driven mode (issue #7): pods follow the Ready pods of the --variant Deployments.
  std::string kubeconfig;
  std::string watch_namespace;
  std::vector<std::string> served_metrics;  // empty = every family
};

int RunEmulate(const EmulateFlags& f) {
  using emulator::PodMode;
  std::vector<emulator::VariantSpec> specs;
  for (const auto& v : f.variants) {
    emulator::ProfileResolver resolver = [](std::string_view name) {
      return sim::BuiltinProfile(name);
    };
    auto spec = emulator::ParseVariantSpec(v, resolver);
    if (!spec) {
      std::cerr << "wva emulate: " << spec.error().message() << "\n";
      return 2;
    }
    specs.push_back(*spec);
  }
  PodMode mode = PodMode::kFixed;
  bool driven = f.rate >= 0 || !f.workload.empty() || !f.trace.empty();
  if ((f.rate >= 0) + !f.workload.empty() + !f.trace.empty() > 1) {
    std::cerr << "wva emulate: give at most one of --rate, --workload, --trace\n";
    return 2;
  }
  if (f.mode == "load" || (f.mode.empty() && driven)) {
    mode = PodMode::kLoad;
  } else if (!f.mode.empty() && f.mode != "fixed") {
    std::cerr << "wva emulate: --mode must be fixed or load\n";
    return 2;
  }
  const Clock& clock = RealClock::Get();
  // Load-driven pods use the simulator's replica engine model (one model for `wva simulate` and
  // `wva emulate`).
  auto model = std::make_unique<emulator::SimLoadModel>(clock.Now(), f.seed);
  // Each model gets its own stream of the workload/trace (seed + index for synthetic ones).
  std::set<std::string> groups;
  for (const auto& s : specs) {
    groups.insert(emulator::Emulator::GroupId(s.ns, s.model));
  }
  uint64_t index = 0;
  for (const auto& g : groups) {
    StatusOr<std::unique_ptr<sim::Workload>> w = nullptr;
    if (!f.trace.empty()) {
      w = sim::OpenTrace(f.trace, f.time_scale);
    } else if (!f.workload.empty()) {
      w = sim::MakeSynthetic(f.workload, f.seed + index++);
    } else {
      continue;
    }
    if (!w) {
      std::cerr << "wva emulate: " << w.error().message() << "\n";
      return 2;
    }
    model->SetWorkload(g, std::move(*w));
  }
  emulator::Emulator emu(clock, std::move(model));
  emu.set_served_families({f.served_metrics.begin(), f.served_metrics.end()});
  const bool cluster_mode = !f.kubeconfig.empty();
#ifdef WVA_EMULATOR_HAVE_CLUSTER
  // Cluster-driven: --variant name= is a Deployment; its pod count comes from the cluster.
  std::unique_ptr<kube::Client> kube_client;
  std::unique_ptr<emulator::ClusterSource> cluster;
  if (cluster_mode) {
    mode = PodMode::kLoad;
    auto cfg = kube::LoadKubeconfig(f.kubeconfig);
    if (!cfg) {
      std::cerr << "wva emulate: --kubeconfig: " << cfg.error().message() << "\n";
      return 2;
    }
    auto c = kube::Client::Create(*cfg, &clock);
    if (!c) {
      std::cerr << "wva emulate: " << c.error().message() << "\n";
      return 1;
    }
    kube_client = std::move(*c);
    std::vector<emulator::ManagedDeployment> managed;
    for (const auto& s : specs) {
      managed.push_back({s.ns, s.name, s.model, s.profile});
    }
    std::string ns = f.watch_namespace;
    if (ns.empty() && !specs.empty()) {
      ns = specs[0].ns;
      for (const auto& s : specs) {
        if (s.ns != ns) {
          ns.clear();
        }
      }
    }
    cluster =
        std::make_unique<emulator::ClusterSource>(kube_client.get(), &emu, std::move(managed), ns);
  }
#else
  if (cluster_mode) {
    std::cerr << "wva emulate: --kubeconfig needs the Kubernetes client (src/kube) built in\n";
    return 2;
  }
#endif
  for (const auto& s : specs) {
    for (int i = 0; i < (cluster_mode ? 0 : s.replicas); ++i) {
      emulator::PodSpec p;
      p.ns = s.ns;
      p.model = s.model;
      p.variant = s.name;
      p.pod = s.name + "-" + std::to_string(i);
      p.mode = mode;
      p.fixed = s.fixed;
      p.profile = s.profile;
      Status st = emu.AddPod(p);
      if (!st.ok()) {
        std::cerr << "wva emulate: " << st.message() << "\n";
        return 2;
      }
    }
    if (mode == PodMode::kLoad && f.rate >= 0) {
      Status st = emu.SetArrivalRate(s.ns, s.model, f.rate);
      if (!st.ok()) {
        std::cerr << "wva emulate: " << st.message() << "\n";
        return 2;
      }
    }
  }
  emulator::EmulatorServer server(emu);
  auto port = server.Start(f.address, f.port);
  if (!port) {
    std::cerr << "wva emulate: cannot listen on " << f.address << ":" << f.port << ": "
              << port.error().message() << "\n";
    return 1;
  }
  if (!f.port_file.empty()) {
    std::ofstream(f.port_file) << *port << "\n";
  }
#ifdef WVA_EMULATOR_HAVE_CLUSTER
  if (cluster) {
    Status st = cluster->Start(std::chrono::seconds(30));
    if (!st.ok()) {
      std::cerr << "wva emulate: watching pods: " << st.message() << "\n";
      server.Stop();
      return 1;
    }
  }
#endif
  std::cout << "wva emulate: listening on http://" << f.address << ":" << *port << " ("
            << emu.pod_count() << " pods, " << (mode == PodMode::kLoad ? "load" : "fixed")
            << " mode" << (cluster_mode ? ", pods follow the cluster" : "") << ")" << std::endl;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!g_stop.load()) {
    // Load-driven pods also advance on every scrape; this keeps them current between scrapes.
    emu.Tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
#ifdef WVA_EMULATOR_HAVE_CLUSTER
  if (cluster) {
    cluster->Stop();
  }
#endif
  server.Stop();
  return 0;
}

WVA_REGISTER_COMMAND(
    kEmulateCmd, "emulate", "Serve vLLM metrics for emulated pods (for Prometheus and tests)", 40,
    [](CLI::App& sub) -> std::function<int()> {
      auto f = std::make_shared<EmulateFlags>();
      sub.add_option("--address", f->address, "Address to listen on")->capture_default_str();
      sub.add_option("--port", f->port, "Port to listen on (0 = any free port; printed)")
          ->capture_default_str();
      sub.add_option("--port-file", f->port_file, "Also write the bound port to this file");
      sub.add_option("--variant", f->variants,
                     "Emulated variant: namespace=NS,model=MODEL,name=NAME,replicas=N"
                     "[,kv=..,queue=..,running=..][,profile=h100-80gb|a100-80gb|l40s-48gb]"
                     "[,<replica-profile key>=..: alpha, beta, gamma, delta, maxBatch, "
                     "kvCapacityTokens, numGpuBlocks, maxBatchedTokens, blockSize, maxModelLen] "
                     "(repeatable; docs/reference.md lists the deprecated aliases)");
      sub.add_option("--mode", f->mode,
                     "fixed (values set via --variant/control API) or load (driven by --rate)");
      sub.add_option("--rate", f->rate, "Poisson arrival rate per model, requests/s (load mode)");
      sub.add_option("--workload", f->workload,
                     "Synthetic workload per model, as in `wva simulate` (e.g. poisson:rate=8, "
                     "onoff:rate_on=20,rate_off=2, diurnal:min_rate=2,max_rate=40,period=600)");
      sub.add_option("--trace", f->trace, "Replay a trace per model (Azure CSV or Mooncake JSONL)");
      sub.add_option("--time-scale", f->time_scale, "Multiply trace timestamps (0.5 = 2x faster)")
          ->capture_default_str();
      sub.add_option("--seed", f->seed, "Workload random seed, >= 0")
          ->check(NonNegativeInteger())
          ->capture_default_str();
      sub.add_option("--kubeconfig", f->kubeconfig,
                     "Cluster-driven mode: watch Pods and emulate exactly the Ready pods of each "
                     "--variant (name= is the Deployment; replicas= is ignored; load mode)");
      sub.add_option("--serve-metric", f->served_metrics,
                     "Serve only this metric family (repeatable; default every family), e.g. "
                     "vllm:kv_cache_usage_perc for benchmarks of many pods");
      sub.add_option("--watch-namespace", f->watch_namespace,
                     "Cluster-driven mode: namespace to watch (default: the variants' namespace, "
                     "or all when they differ)");
      sub.footer(
          "Control API (JSON): GET/POST /control/pods, PUT/DELETE /control/pods/<ns>/<pod> "
          "{kv,waiting,running|mode}, PUT /control/load {namespace,model,rate}.");
      return [f] { return RunEmulate(*f); };
    });

}  // namespace
}  // namespace wva::cmd
#endif  // WVA_EMULATOR_HAVE_HTTP
