// `wva run`: the controller. Every setting is an environment variable and a flag (docs/reference.md
// "Controller settings"); the flag wins. Boolean settings are flags: bare = true, or
// --flag=true|false. Exit 0 after SIGTERM/SIGINT (within 5 s, whatever the API server or
// Prometheus do), 1 on a runtime failure (lost lease, cannot bind), 2 on bad settings.
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "base/log.h"
#include "cmd/command.h"
#include "controller/manager.h"
#include "controller/settings.h"
#include "kube/rest_config.h"
#include "prom/client.h"

namespace wva::cmd {
namespace {

struct Setting {
  const char* flag;
  const char* env;
  const char* help;
  bool boolean = false;  // a flag: bare means true; --flag=true|false also accepted
};

// flag name, env name, help. Defaults are applied by controller::ParseSettings.
constexpr Setting kSettings[] = {
    {"--prometheus-base-url", "PROMETHEUS_BASE_URL", "Prometheus URL (https required)"},
    {"--prometheus-ca-cert-path", "PROMETHEUS_CA_CERT_PATH", "CA bundle for Prometheus TLS"},
    {"--prometheus-client-cert-path", "PROMETHEUS_CLIENT_CERT_PATH", "client certificate (mTLS)"},
    {"--prometheus-client-key-path", "PROMETHEUS_CLIENT_KEY_PATH", "client key (mTLS)"},
    {"--prometheus-server-name", "PROMETHEUS_SERVER_NAME", "TLS server name (SNI) to verify"},
    {"--prometheus-bearer-token", "PROMETHEUS_BEARER_TOKEN", "bearer token (prefer a token file)"},
    {"--prometheus-token-path", "PROMETHEUS_TOKEN_PATH", "file with a bearer token, re-read"},
    {"--prometheus-tls-insecure-skip-verify", "PROMETHEUS_TLS_INSECURE_SKIP_VERIFY",
     "skip TLS verification (default false; unsafe)", true},
    {"--prometheus-allow-http", "PROMETHEUS_ALLOW_HTTP", "allow plain http (default false)", true},
    {"--prometheus-query-timeout", "PROMETHEUS_QUERY_TIMEOUT", "per-query timeout (default 10s)"},
    {"--global-opt-interval", "GLOBAL_OPT_INTERVAL", "optimization interval (default 60s)"},
    {"--watch-namespace", "WATCH_NAMESPACE", "only this namespace (default: all)"},
    {"--controller-instance", "CONTROLLER_INSTANCE",
     "annotation mode: manage only HPAs/ScaledObjects labelled "
     "wva.llmd.ai/controller-instance=<this> (default: only unlabelled ones)"},
    {"--pod-namespace", "POD_NAMESPACE",
     "controller namespace: ConfigMap and Lease (default workload-variant-autoscaler-system)"},
    {"--saturation-config-map-name", "SATURATION_CONFIG_MAP_NAME",
     "saturation ConfigMap name (default capacity-scaling-config)"},
    {"--slo-config-map-name", "SLO_CONFIG_MAP_NAME",
     "SLO sizing ConfigMap name (default wva-slo-config)"},
    {"--slo-calibration", "SLO_CALIBRATION",
     "fit performance profiles online from vLLM metrics (default true; false = configured only)",
     true},
    {"--scale-to-zero", "WVA_SCALE_TO_ZERO",
     "scale to zero for models no scale-to-zero ConfigMap entry names (default false)", true},
    {"--scale-to-zero-config-map-name", "SCALE_TO_ZERO_CONFIG_MAP_NAME",
     "scale-to-zero ConfigMap name (default wva-model-scale-to-zero-config)"},
    {"--actuation-mode", "ACTUATION_MODE",
     "metrics (publish wva_desired_replicas for an HPA/KEDA; default) or direct (scale the "
     "Deployments; needs RBAC on deployments/scale)"},
    {"--gpu-budget-config-map-name", "GPU_BUDGET_CONFIG_MAP_NAME",
     "GPU budget ConfigMap name (default wva-gpu-budget-config)"},
    {"--gpu-budget-from-nodes", "GPU_BUDGET_FROM_NODES",
     "per-GPU-product budgets from the Nodes' allocatable GPUs (default false; needs RBAC to "
     "list/watch nodes)",
     true},
    {"--stock-out-threshold", "STOCK_OUT_THRESHOLD",
     "a replica Pending unschedulable this long counts as unavailable (default 2m)"},
    {"--stock-out-backoff", "STOCK_OUT_BACKOFF",
     "how long a variant that could not schedule gets no new replica (default 5m)"},
    {"--scale-from-zero", "SCALE_FROM_ZERO",
     "wake models at zero on demand through the scale subresource (default false; needs "
     "RBAC on deployments/scale)",
     true},
    {"--scale-from-zero-max-concurrency", "SCALE_FROM_ZERO_ENGINE_MAX_CONCURRENCY",
     "scale-from-zero writes in parallel (default 10)"},
    {"--scale-from-zero-interval", "SCALE_FROM_ZERO_INTERVAL",
     "scale-from-zero demand poll period (default 500ms)"},
    {"--scale-from-zero-ready-timeout", "SCALE_FROM_ZERO_READY_TIMEOUT",
     "how long a woken variant may take to get a Ready replica before it may be woken again "
     "(default 10m)"},
    {"--scale-from-zero-demand-query", "SCALE_FROM_ZERO_DEMAND_QUERY",
     "PromQL with labels namespace and the model label; > 0 = demand (default: EPP "
     "flow-control queue size)"},
    {"--scale-from-zero-model-label", "SCALE_FROM_ZERO_MODEL_LABEL",
     "label of the demand query naming the model (default target_model_name)"},
    {"--leader-election-id", "LEADER_ELECTION_ID", "Lease name (default wva-leader)"},
    {"--leader-election-lease-duration", "LEADER_ELECTION_LEASE_DURATION", "default 15s"},
    {"--leader-election-renew-deadline", "LEADER_ELECTION_RENEW_DEADLINE", "default 10s"},
    {"--leader-election-retry-period", "LEADER_ELECTION_RETRY_PERIOD", "default 2s"},
    {"--metrics-bind-address", "METRICS_BIND_ADDRESS",
     "metrics listener (default :8080, :8443 with --metrics-secure; 0 = off)"},
    {"--metrics-secure", "METRICS_SECURE",
     "serve metrics over HTTPS, authenticated (TokenReview) and authorized "
     "(SubjectAccessReview) by the API server (default false)",
     true},
    {"--metrics-cert-path", "METRICS_CERT_PATH",
     "directory of the metrics TLS certificate (default: self-signed, generated in memory)"},
    {"--metrics-cert-name", "METRICS_CERT_NAME", "certificate file in it (default tls.crt)"},
    {"--metrics-cert-key", "METRICS_CERT_KEY", "key file in it (default tls.key)"},
    {"--health-probe-bind-address", "HEALTH_PROBE_BIND_ADDRESS",
     "probe listener (default :8081; 0 = off)"},
    {"--kubeconfig", "KUBECONFIG", "kubeconfig path (default: in-cluster, else $KUBECONFIG)"},
    {"--log-level", "LOG_LEVEL", "debug, info, warn or error (default info)"},
    {"--metrics-window", "SATURATION_METRICS_WINDOW",
     "max_over_time range of the saturation queries (default 1m; shorter for tests/demos)"},
    {"--config-file", "CONFIG_FILE",
     "YAML file of KEY: value settings below flags and environment (upstream's "
     "/etc/wva/config.yaml from ConfigMap wva-manager-config)"},
};

std::atomic<int> g_signal{0};
constexpr std::chrono::milliseconds kShutdownBudget{4500};

void OnSignal(int sig) { g_signal.store(sig); }

// At most two malloc arenas (unless MALLOC_ARENA_MAX says otherwise), before any thread starts.
// glibc gives each thread that allocates its own arena, and the controller has one thread per
// informer plus the worker, servers and a first cycle's status writers: measured at 1,000 VAs,
// five arenas held 72 MB of pages for a live heap of 44 MB (RSS 98 MiB); with two, RSS is
// 72 MiB at the same cycle CPU (docs/performance.md). glibc only.
void LimitMallocArenas() {
#ifdef __GLIBC__
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) {
    mallopt(M_ARENA_MAX, 2);
  }
#endif
}

int RunController(const controller::RawSettings& raw) {
  LimitMallocArenas();
  log::Logger log("wva");
  auto settings = controller::ParseSettings(raw);
  if (!settings) {
    std::cerr << "wva run: " << settings.error().message() << "\n";
    return 2;
  }
  log::Level level;
  if (log::ParseLevel(settings->log_level, &level)) {
    log::SetLevel(level);
  }
  for (const controller::SettingWarning& w : controller::IgnoredUpstreamSettings(raw)) {
    log.Warn(w.message, {{"setting", w.setting}});
  }

  // --kubeconfig, else in-cluster, else $KUBECONFIG (LoadDefaultConfig implements the order).
  std::string kubeconfig_flag = raw.Get("KUBECONFIG_FLAG");
  auto rest = kube::LoadDefaultConfig(kubeconfig_flag);
  if (!rest) {
    std::cerr << "wva run: Kubernetes config: " << rest.error().message() << "\n";
    return 2;
  }
  auto kube = kube::Client::Create(*rest, &RealClock::Get());
  if (!kube) {
    std::cerr << "wva run: Kubernetes client: " << kube.error().message() << "\n";
    return 2;
  }
  auto prom = prom::Client::Create(settings->prometheus);
  if (!prom) {
    std::cerr << "wva run: Prometheus client: " << prom.error().message() << "\n";
    return 2;
  }
  controller::Manager manager(*settings, std::move(*kube), std::move(*prom), RealClock::Get());

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::atomic<bool> done{false};
  // Signal handlers only set a flag; this thread turns it into an orderly shutdown.
  std::thread watcher([&] {
    while (!done.load()) {
      if (g_signal.load() != 0) {
        log.Info("signal received: shutting down", {{"signal", g_signal.load()}});
        const auto start = std::chrono::steady_clock::now();
        manager.Shutdown();
        // The orderly shutdown is quick unless a request to an unresponsive server is in flight
        // (a status write, a query, the lease release). Kubernetes waits 30 s before SIGKILL,
        // but a stop must not depend on that server: after 4.5 s exit anyway. That is still a
        // requested stop (exit 0); an unreleased lease simply expires.
        while (!done.load() && std::chrono::steady_clock::now() - start < kShutdownBudget) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (!done.load()) {
          log.Warn(
              "shutdown did not finish within 4.5s (a request to an unresponsive server "
              "is in flight); exiting without waiting for it");
          std::_Exit(0);
        }
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  Status s = manager.Run();
  done.store(true);
  watcher.join();
  if (!s.ok()) {
    log.Error("controller stopped with an error", {{"err", s.ToString()}});
    return 1;
  }
  return 0;
}

WVA_REGISTER_COMMAND(
    kRunCmd, "run", "Run the controller (in a cluster, or against a kubeconfig)", 10,
    [](CLI::App& sub) -> std::function<int()> {
      auto values = std::make_shared<std::map<std::string, std::string>>();
      for (const Setting& s : kSettings) {
        std::string env = s.env;
        const std::string help = std::string(s.help) + " [env " + env + "]";
        if (s.boolean) {
          // Bare flag = "true"; --flag=false and the older `--flag false` also work (wva run
          // takes no positional arguments, so the next word can only be the value).
          // ParseSettings validates the value.
          sub.add_option(s.flag, (*values)[env], help)
              ->expected(0, 1)
              ->default_str("true")
              ->option_text("[true|false]");
        } else {
          sub.add_option(s.flag, (*values)[env], help);
        }
      }
      sub.add_option("--leader-elect", (*values)["LEADER_ELECT"],
                     "Enable Lease leader election (bare = true; --leader-elect=false) "
                     "[env LEADER_ELECT]")
          ->expected(0, 1)
          ->default_str("true")
          ->option_text("[true|false]");
      // Upstream WVA's flags: accepted so its manifests run unchanged; each is logged as
      // ignored when it asks for something WVA-C++ does not do (docs/migrate-from-upstream.md).
      for (const controller::UpstreamSetting& u : controller::UpstreamOnlySettings()) {
        if (std::string(u.flag).empty()) continue;
        const std::string help = std::string("upstream WVA setting, ignored: ") + u.why;
        if (u.boolean) {
          sub.add_option(u.flag, (*values)[u.env], help)
              ->expected(0, 1)
              ->default_str("true")
              ->group("");
        } else {
          sub.add_option(u.flag, (*values)[u.env], help)->group("");
        }
      }
      return [values] {
        controller::RawSettings raw;
        for (const Setting& s : kSettings) {
          std::string v = (*values)[s.env];
          std::string env;
          if (v.empty() && EnvString(s.env, &env)) v = env;
          raw.values[s.env] = v;
        }
        for (const controller::UpstreamSetting& u : controller::UpstreamOnlySettings()) {
          std::string v = (*values)[u.env];
          std::string env;
          if (v.empty() && EnvString(u.env, &env)) v = env;
          raw.values[u.env] = v;
        }
        std::string le = (*values)["LEADER_ELECT"];
        if (!le.empty() || EnvString("LEADER_ELECT", &le)) raw.values["LEADER_ELECT"] = le;
        if (const std::string path = raw.Get("CONFIG_FILE"); !path.empty()) {
          std::ifstream f(path);
          std::stringstream text;
          text << f.rdbuf();
          if (!f) {
            std::cerr << "wva run: --config-file " << path << ": cannot read\n";
            return 2;
          }
          std::vector<std::string> known = {"LEADER_ELECT"};
          for (const Setting& s : kSettings) {
            known.push_back(s.env);
          }
          if (Status st = controller::MergeConfigFile(path, text.str(), known, &raw); !st.ok()) {
            std::cerr << "wva run: " << st.message() << "\n";
            return 2;
          }
        }
        // --kubeconfig is explicit; $KUBECONFIG only applies after in-cluster config.
        raw.values["KUBECONFIG_FLAG"] = (*values)["KUBECONFIG"];
        return RunController(raw);
      };
    });

}  // namespace
}  // namespace wva::cmd
