#include "controller/settings.h"

#include <charconv>

#include <algorithm>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "base/duration.h"
#include "base/log.h"

namespace wva::controller {

Status ParseBool(const std::string& name, const std::string& text, bool* out) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t == "true" || t == "1" || t == "yes") {
    *out = true;
  } else if (t == "false" || t == "0" || t == "no" || t.empty()) {
    *out = false;
  } else {
    return InvalidArgumentError(
        fmt::format("{}: \"{}\" is not a boolean (use true or false)", name, text));
  }
  return OkStatus();
}

Status ParseBindAddress(const std::string& text, std::string* host, int* port) {
  if (text == "0") {
    *port = -1;
    return OkStatus();
  }
  auto colon = text.rfind(':');
  if (colon == std::string::npos) {
    return InvalidArgumentError(fmt::format("\"{}\" is not host:port or :port", text));
  }
  std::string p = text.substr(colon + 1);
  if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), ::isdigit) ||
      std::stoi(p) > 65535) {
    return InvalidArgumentError(fmt::format("\"{}\": port must be a number 0-65535", text));
  }
  *host = text.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  *port = std::stoi(p);
  return OkStatus();
}

std::vector<SettingWarning> SettingsWarnings(const Settings& settings) {
  std::vector<SettingWarning> out;
  const prom::ClientConfig& p = settings.prometheus;
  if (p.allow_http && p.base_url.rfind("http://", 0) == 0 &&
      (!p.bearer_token.empty() || !p.token_path.empty())) {
    // The client never sends credentials in clear text; say so instead of failing auth quietly.
    out.push_back({p.bearer_token.empty() ? "PROMETHEUS_TOKEN_PATH" : "PROMETHEUS_BEARER_TOKEN",
                   "a Prometheus bearer token is configured but PROMETHEUS_BASE_URL is plain "
                   "http: the token is NOT sent (it would travel in clear text); use https to "
                   "authenticate"});
  }
  if (!settings.metrics_secure &&
      (!settings.metrics_cert_path.empty() || settings.metrics_cert_name != "tls.crt" ||
       settings.metrics_cert_key != "tls.key")) {
    out.push_back({"METRICS_CERT_PATH",
                   "metrics certificate settings have no effect without METRICS_SECURE=true: "
                   "the metrics endpoint is plain HTTP"});
  }
  if (settings.metrics_secure && settings.metrics_cert_path.empty() && settings.metrics_port >= 0) {
    out.push_back({"METRICS_CERT_PATH",
                   "no metrics certificate given: serving a self-signed certificate generated "
                   "in memory (scrapers must skip verification or pin it); mount a certificate "
                   "and set --metrics-cert-path"});
  }
  return out;
}

const std::vector<UpstreamSetting>& UpstreamOnlySettings() {
  static const std::vector<UpstreamSetting> kList = {
      {"WEBHOOK_CERT_PATH", "--webhook-cert-path", false, "WVA-C++ serves no webhook"},
      {"WEBHOOK_CERT_NAME", "--webhook-cert-name", false, "WVA-C++ serves no webhook"},
      {"WEBHOOK_CERT_KEY", "--webhook-cert-key", false, "WVA-C++ serves no webhook"},
      {"ENABLE_HTTP2", "--enable-http2", true, "the listeners speak HTTP/1.1 only"},
      {"REST_CLIENT_TIMEOUT", "--rest-client-timeout", false,
       "API requests use the client's built-in timeouts"},
      {"DISABLE_CRD_AUTO_RESTART", "--disable-crd-auto-restart", true,
       "WVA-C++ never restarts itself when CRDs appear"},
      {"V", "--v", false, "use LOG_LEVEL (debug, info, warn, error)"},
      {"WVA_LIMITED_MODE", "", false, "GPU-limited allocation is not implemented"},
      {"EXPERIMENTAL_COORDINATOR_ENABLED", "", false, "the coordinator is not implemented"},
      {"COORDINATOR_INTERVAL", "", false, "the coordinator is not implemented"},
      {"PROMETHEUS_METRICS_CACHE_TTL", "", false, "queries are not cached across cycles"},
      {"PROMETHEUS_METRICS_CACHE_CLEANUP_INTERVAL", "", false, "no query cache"},
      {"PROMETHEUS_METRICS_CACHE_FETCH_INTERVAL", "", false, "no query cache"},
      {"PROMETHEUS_METRICS_CACHE_FRESH_THRESHOLD", "", false,
       "freshness is the metrics window (SATURATION_METRICS_WINDOW)"},
      {"PROMETHEUS_METRICS_CACHE_STALE_THRESHOLD", "", false, "no query cache"},
      {"PROMETHEUS_METRICS_CACHE_UNAVAILABLE_THRESHOLD", "", false, "no query cache"},
      {"CONFIG_MAP_NAME", "", false,
       "the manager ConfigMap is read only as --config-file (its config.yaml)"},
      {"QUEUEING_MODEL_CONFIG_MAP_NAME", "", false,
       "the queueing-model analyzer is not implemented (SLO sizing: wva-slo-config)"},
      {"POOL_GROUP", "", false, "InferencePools are not read"},
      {"WVA_NODE_SELECTOR", "", false, "GPU inventory discovery is not implemented"},
  };
  return kList;
}

std::vector<SettingWarning> IgnoredUpstreamSettings(const RawSettings& raw) {
  std::vector<SettingWarning> out;
  for (const UpstreamSetting& u : UpstreamOnlySettings()) {
    if (raw.Get(u.env).empty()) {
      continue;
    }
    bool on = true;
    // A boolean set to false asks for what WVA-C++ does anyway.
    if (u.boolean && ParseBool(u.env, raw.Get(u.env), &on).ok() && !on) {
      continue;
    }
    out.push_back({u.env, fmt::format("upstream WVA setting ignored: {}", u.why)});
  }
  return out;
}

Status MergeConfigFile(const std::string& path, const std::string& text,
                       const std::vector<std::string>& known, RawSettings* raw) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(
        fmt::format("{}: line {}: invalid YAML: {}", path, e.mark.line + 1, e.msg));
  }
  if (root.IsNull()) {
    return OkStatus();
  }
  if (!root.IsMap()) {
    return InvalidArgumentError(fmt::format("{}: expected KEY: value lines", path));
  }
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : "?";
    const bool ours = std::find(known.begin(), known.end(), key) != known.end();
    bool upstream = false;
    for (const UpstreamSetting& u : UpstreamOnlySettings()) {
      upstream |= key == u.env;
    }
    if (!ours && !upstream) {
      return InvalidArgumentError(fmt::format("{}: {}: unknown setting", path, key));
    }
    if (!it->second.IsScalar()) {
      return InvalidArgumentError(fmt::format("{}: {}: expected a single value", path, key));
    }
    // Flags and environment win over the file.
    if (raw->Get(key).empty()) {
      raw->values[key] = it->second.Scalar();
    }
  }
  return OkStatus();
}

StatusOr<Settings> ParseSettings(const RawSettings& raw) {
  Settings s;
  auto& p = s.prometheus;
  p.base_url = raw.Get(kEnvPrometheusUrl);
  if (p.base_url.empty()) {
    return Err(InvalidArgumentError(
        "PROMETHEUS_BASE_URL: required (e.g. https://prometheus.monitoring.svc:9090)"));
  }
  p.ca_cert_path = raw.Get("PROMETHEUS_CA_CERT_PATH");
  p.client_cert_path = raw.Get("PROMETHEUS_CLIENT_CERT_PATH");
  p.client_key_path = raw.Get("PROMETHEUS_CLIENT_KEY_PATH");
  p.server_name = raw.Get("PROMETHEUS_SERVER_NAME");
  p.bearer_token = raw.Get("PROMETHEUS_BEARER_TOKEN");
  p.token_path = raw.Get("PROMETHEUS_TOKEN_PATH");
  WVA_RETURN_IF_ERROR(ParseBool("PROMETHEUS_TLS_INSECURE_SKIP_VERIFY",
                                raw.Get("PROMETHEUS_TLS_INSECURE_SKIP_VERIFY"),
                                &p.insecure_skip_verify));
  WVA_RETURN_IF_ERROR(
      ParseBool("PROMETHEUS_ALLOW_HTTP", raw.Get("PROMETHEUS_ALLOW_HTTP"), &p.allow_http));
  if (std::string t = raw.Get("PROMETHEUS_QUERY_TIMEOUT"); !t.empty()) {
    auto d = ParseDuration(t);
    if (!d || d->count() == 0) {
      return Err(InvalidArgumentError(
          fmt::format("PROMETHEUS_QUERY_TIMEOUT: invalid duration \"{}\"", t)));
    }
    p.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  }
  if (Status st = prom::ValidateConfig(p); !st.ok()) {
    return Err(InvalidArgumentError("Prometheus settings: " + st.message()));
  }

  struct DurationSetting {
    const char* name;
    std::chrono::nanoseconds* out;
    const char* def;
  } durations[] = {{"GLOBAL_OPT_INTERVAL", &s.interval, "60s"},
                   {"LEADER_ELECTION_LEASE_DURATION", &s.lease_duration, "15s"},
                   {"LEADER_ELECTION_RENEW_DEADLINE", &s.renew_deadline, "10s"},
                   {"LEADER_ELECTION_RETRY_PERIOD", &s.retry_period, "2s"}};
  for (const auto& d : durations) {
    std::string text = raw.Get(d.name, d.def);
    auto v = ParseDuration(text);
    if (!v) {
      return Err(InvalidArgumentError(fmt::format("{}: {}", d.name, v.error().message())));
    }
    if (v->count() <= 0) {
      return Err(InvalidArgumentError(fmt::format("{}: must be positive", d.name)));
    }
    *d.out = *v;
  }
  if (s.interval < std::chrono::seconds(1)) {
    return Err(InvalidArgumentError("GLOBAL_OPT_INTERVAL: must be at least 1s"));
  }
  if (!(s.lease_duration > s.renew_deadline && s.renew_deadline > s.retry_period)) {
    return Err(InvalidArgumentError(
        "leader election: need lease duration > renew deadline > retry period"));
  }
  s.watch_namespace = raw.Get("WATCH_NAMESPACE");
  s.controller_instance = raw.Get("CONTROLLER_INSTANCE");
  s.pod_namespace = raw.Get("POD_NAMESPACE", s.pod_namespace);
  if (!raw.Get("SATURATION_CONFIG_MAP_NAME").empty()) {
    s.config_map_name = raw.Get("SATURATION_CONFIG_MAP_NAME");
    s.upstream_config_map_name.clear();  // an explicit name is the only one read
  }
  s.slo_config_map_name = raw.Get("SLO_CONFIG_MAP_NAME", s.slo_config_map_name);
  WVA_RETURN_IF_ERROR(
      ParseBool("SLO_CALIBRATION", raw.Get("SLO_CALIBRATION", "true"), &s.slo_calibration));
  WVA_RETURN_IF_ERROR(ParseBool("LEADER_ELECT", raw.Get("LEADER_ELECT"), &s.leader_elect));
  s.lease_name = raw.Get("LEADER_ELECTION_ID", s.lease_name);
  WVA_RETURN_IF_ERROR(ParseBool("METRICS_SECURE", raw.Get("METRICS_SECURE"), &s.metrics_secure));
  s.metrics_cert_path = raw.Get("METRICS_CERT_PATH");
  s.metrics_cert_name = raw.Get("METRICS_CERT_NAME", s.metrics_cert_name);
  s.metrics_cert_key = raw.Get("METRICS_CERT_KEY", s.metrics_cert_key);
  // Upstream's secure endpoint listens on :8443 (its manifests' --metrics-bind-address).
  const char* metrics_default = s.metrics_secure ? ":8443" : ":8080";
  if (Status st = ParseBindAddress(raw.Get("METRICS_BIND_ADDRESS", metrics_default),
                                   &s.metrics_host, &s.metrics_port);
      !st.ok()) {
    return Err(st.WithPrefix("--metrics-bind-address"));
  }
  if (Status st = ParseBindAddress(raw.Get("HEALTH_PROBE_BIND_ADDRESS", ":8081"), &s.health_host,
                                   &s.health_port);
      !st.ok()) {
    return Err(st.WithPrefix("--health-probe-bind-address"));
  }
  s.metrics_window = raw.Get("SATURATION_METRICS_WINDOW", "1m");
  if (auto w = ParseDuration(s.metrics_window);
      !w || w->count() <= 0 || s.metrics_window.find('.') != std::string::npos) {
    return Err(InvalidArgumentError(
        fmt::format("SATURATION_METRICS_WINDOW: \"{}\" is not a Prometheus range like 1m or 30s",
                    s.metrics_window)));
  }
  WVA_RETURN_IF_ERROR(
      ParseBool("WVA_SCALE_TO_ZERO", raw.Get("WVA_SCALE_TO_ZERO"), &s.scale_to_zero_default));
  s.scale_to_zero_config_map_name =
      raw.Get("SCALE_TO_ZERO_CONFIG_MAP_NAME", s.scale_to_zero_config_map_name);
  WVA_RETURN_IF_ERROR(
      ParseBool("SCALE_FROM_ZERO", raw.Get("SCALE_FROM_ZERO"), &s.scale_from_zero.enabled));
  if (std::string c = raw.Get("SCALE_FROM_ZERO_ENGINE_MAX_CONCURRENCY"); !c.empty()) {
    int n = 0;
    auto [end, ec] = std::from_chars(c.data(), c.data() + c.size(), n);
    if (ec != std::errc() || end != c.data() + c.size() || n < 1 || n > 100) {
      return Err(InvalidArgumentError(fmt::format(
          "SCALE_FROM_ZERO_ENGINE_MAX_CONCURRENCY: \"{}\" is not a whole number in 1..100", c)));
    }
    s.scale_from_zero.concurrency = n;
  }
  struct FromZeroDuration {
    const char* name;
    std::chrono::milliseconds* out;
  } fz[] = {{"SCALE_FROM_ZERO_INTERVAL", &s.scale_from_zero.interval},
            {"SCALE_FROM_ZERO_READY_TIMEOUT", &s.scale_from_zero.ready_timeout}};
  for (const auto& d : fz) {
    const std::string text = raw.Get(d.name);
    if (text.empty()) {
      continue;
    }
    auto v = ParseDuration(text);
    if (!v || *v < std::chrono::milliseconds(50)) {
      return Err(InvalidArgumentError(
          fmt::format("{}: \"{}\" is not a duration of at least 50ms", d.name, text)));
    }
    *d.out = std::chrono::duration_cast<std::chrono::milliseconds>(*v);
  }
  if (std::string m = raw.Get("ACTUATION_MODE", "metrics"); m == "direct" || m == "metrics") {
    s.direct_actuation_default = m == "direct";
  } else {
    return Err(
        InvalidArgumentError(fmt::format("ACTUATION_MODE: \"{}\" is not metrics or direct", m)));
  }
  s.gpu_budget_config_map_name =
      raw.Get("GPU_BUDGET_CONFIG_MAP_NAME", s.gpu_budget_config_map_name);
  WVA_RETURN_IF_ERROR(ParseBool("GPU_BUDGET_FROM_NODES", raw.Get("GPU_BUDGET_FROM_NODES"),
                                &s.gpu_budget_from_nodes));
  struct StockOutDuration {
    const char* name;
    std::chrono::seconds* out;
  } so[] = {{"STOCK_OUT_THRESHOLD", &s.stock_out_threshold},
            {"STOCK_OUT_BACKOFF", &s.stock_out_backoff}};
  for (const auto& d : so) {
    const std::string t = raw.Get(d.name);
    if (t.empty()) {
      continue;
    }
    auto v = ParseDuration(t);
    if (!v || *v < std::chrono::seconds(1)) {
      return Err(InvalidArgumentError(
          fmt::format("{}: \"{}\" is not a duration of at least 1s", d.name, t)));
    }
    *d.out = std::chrono::duration_cast<std::chrono::seconds>(*v);
  }
  s.scale_from_zero.demand_query =
      raw.Get("SCALE_FROM_ZERO_DEMAND_QUERY", s.scale_from_zero.demand_query);
  s.scale_from_zero.model_label =
      raw.Get("SCALE_FROM_ZERO_MODEL_LABEL", s.scale_from_zero.model_label);
  s.kubeconfig = raw.Get("KUBECONFIG");
  s.log_level = raw.Get("LOG_LEVEL", "info");
  log::Level lvl;
  if (!log::ParseLevel(s.log_level, &lvl)) {
    return Err(InvalidArgumentError(
        fmt::format("LOG_LEVEL: \"{}\" is not debug, info, warn or error", s.log_level)));
  }
  return s;
}

}  // namespace wva::controller
