// Controller settings (docs/reference.md): every setting is an environment variable and a flag (the
// flag wins). Raw strings are collected by the command line layer, then validated here into typed
// values with one clear error per bad value that names the setting.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "prom/client.h"

namespace wva::controller {

struct RawSettings {
  // Keyed by the environment variable name (PROMETHEUS_BASE_URL, GLOBAL_OPT_INTERVAL, ...).
  std::map<std::string, std::string> values;
  std::string Get(const std::string& key, const std::string& def = "") const {
    auto it = values.find(key);
    return it == values.end() || it->second.empty() ? def : it->second;
  }
};

struct Settings {
  prom::ClientConfig prometheus;
  std::chrono::nanoseconds interval = std::chrono::seconds(60);
  std::string watch_namespace;  // "" = all
  // Annotation mode: only HPAs/ScaledObjects labelled wva.llmd.ai/controller-instance=<this>
  // ("" = only those without the label).
  std::string controller_instance;
  std::string pod_namespace = "workload-variant-autoscaler-system";
  std::string config_map_name = "capacity-scaling-config";
  // Upstream WVA's name for the same ConfigMap, also read unless SATURATION_CONFIG_MAP_NAME is
  // set ("" then). Keys present in both: ours (config_map_name) wins.
  std::string upstream_config_map_name = "wva-saturation-scaling-config";
  // Upstream's scale-to-zero ConfigMap (docs/scale-to-zero.md); SCALE_TO_ZERO_CONFIG_MAP_NAME.
  std::string scale_to_zero_config_map_name = "wva-model-scale-to-zero-config";
  // GPU budgets (docs/budgets.md): GPU_BUDGET_CONFIG_MAP_NAME.
  std::string gpu_budget_config_map_name = "wva-gpu-budget-config";
  // GPU_BUDGET_FROM_NODES: per-product budgets from the Nodes' allocatable GPUs (list/watch
  // nodes; docs/budgets.md).
  bool gpu_budget_from_nodes = false;
  // STOCK_OUT_THRESHOLD: a replica Pending unschedulable this long counts as unavailable.
  std::chrono::seconds stock_out_threshold{120};
  // STOCK_OUT_BACKOFF: how long a stocked-out variant gets no new replica (default 5m).
  std::chrono::seconds stock_out_backoff{300};
  // ACTUATION_MODE: "metrics" (publish for an HPA or KEDA; default) or "direct" (WVA scales
  // the Deployments itself; docs/actuation.md). A VA's wva.llmd.ai/actuation annotation wins.
  bool direct_actuation_default = false;
  // WVA_SCALE_TO_ZERO: scale to zero for models no ConfigMap entry mentions (default false).
  bool scale_to_zero_default = false;
  // The scale-from-zero loop (docs/scale-to-zero.md).
  struct ScaleFromZero {
    bool enabled = false;  // SCALE_FROM_ZERO
    int concurrency = 10;  // SCALE_FROM_ZERO_ENGINE_MAX_CONCURRENCY (upstream's name)
    std::chrono::milliseconds interval{500};          // SCALE_FROM_ZERO_INTERVAL
    std::chrono::milliseconds ready_timeout{600000};  // SCALE_FROM_ZERO_READY_TIMEOUT
    // SCALE_FROM_ZERO_DEMAND_QUERY: an instant vector with a `namespace` label and the model in
    // `model_label`; a model with a value > 0 has demand. Default: llm-d EPP's flow-control
    // queue.
    std::string demand_query =
        "sum by (namespace, target_model_name) (inference_extension_flow_control_queue_size)";
    std::string model_label = "target_model_name";  // SCALE_FROM_ZERO_MODEL_LABEL
  } scale_from_zero;
  std::string slo_config_map_name = "wva-slo-config";  // issue #8 (docs/slo-sizing.md)
  // Online calibration of the performance profiles from Prometheus (docs/slo-sizing.md §4):
  // SLO_CALIBRATION / --slo-calibration. Off = the configured profiles only, and no
  // calibration queries.
  bool slo_calibration = true;
  bool leader_elect = false;
  std::string lease_name = "wva-leader";
  std::chrono::nanoseconds lease_duration = std::chrono::seconds(15);
  std::chrono::nanoseconds renew_deadline = std::chrono::seconds(10);
  std::chrono::nanoseconds retry_period = std::chrono::seconds(2);
  std::string metrics_host;  // "" = all interfaces
  int metrics_port = 8080;   // 8443 when metrics_secure and no bind address is given
  // Secure metrics endpoint (upstream's --metrics-secure): HTTPS, each scrape authenticated by
  // TokenReview and authorized by SubjectAccessReview (get on the non-resource URL /metrics).
  bool metrics_secure = false;
  // Directory of the serving certificate (upstream's --metrics-cert-path; files
  // metrics_cert_name / metrics_cert_key in it, re-read when they change). "" = a self-signed
  // certificate generated in memory at start.
  std::string metrics_cert_path;
  std::string metrics_cert_name = "tls.crt";
  std::string metrics_cert_key = "tls.key";
  std::string health_host;
  int health_port = 8081;
  std::string kubeconfig;
  std::string log_level = "info";
  // Range of max_over_time in the saturation queries (documented: 1m). Shorter only for
  // tests/demos.
  std::string metrics_window = "1m";
};

// Environment variable names (also the RawSettings keys).
inline constexpr const char* kEnvPrometheusUrl = "PROMETHEUS_BASE_URL";

// Validates and converts. Errors look like: `GLOBAL_OPT_INTERVAL: invalid duration "1x" ...`.
StatusOr<Settings> ParseSettings(const RawSettings& raw);

// A valid setting that probably does not do what was meant; `wva run` logs each once at start.
struct SettingWarning {
  std::string setting;  // the environment variable name
  std::string message;
};
std::vector<SettingWarning> SettingsWarnings(const Settings& settings);

// Settings upstream WVA (v0.5-v0.9) documents that WVA-C++ accepts but does not implement, by
// environment variable name, with what that means. `wva run` accepts them as flags too.
struct UpstreamSetting {
  const char* env;
  const char* flag;  // "" = environment / config file only
  bool boolean;
  const char* why;  // logged when set
};
const std::vector<UpstreamSetting>& UpstreamOnlySettings();

// One warning per upstream-only setting present (non-empty) in `raw`.
std::vector<SettingWarning> IgnoredUpstreamSettings(const RawSettings& raw);

// Upstream's `--config-file` (the `config.yaml` of ConfigMap `wva-manager-config`): a YAML
// mapping of setting names (KEY: value) applied below flags and environment. `known` lists the
// setting names `wva run` has; upstream-only names are accepted too; anything else is an error
// naming the file and the key.
Status MergeConfigFile(const std::string& path, const std::string& text,
                       const std::vector<std::string>& known, RawSettings* raw);

// "host:port" or ":port" (port 0..65535). "0" disables the listener (port -1).
Status ParseBindAddress(const std::string& text, std::string* host, int* port);

// true/false/1/0/yes/no (case-insensitive).
Status ParseBool(const std::string& name, const std::string& text, bool* out);

}  // namespace wva::controller
