#include "controller/settings.h"

#include <gtest/gtest.h>

namespace wva::controller {
namespace {

RawSettings Base() {
  RawSettings r;
  r.values["PROMETHEUS_BASE_URL"] = "https://prometheus:9090";
  return r;
}

TEST(Settings, Defaults) {
  auto s = ParseSettings(Base());
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_EQ(s->interval, std::chrono::seconds(60));
  EXPECT_EQ(s->metrics_port, 8080);
  EXPECT_EQ(s->health_port, 8081);
  EXPECT_EQ(s->config_map_name, "capacity-scaling-config");
  EXPECT_EQ(s->pod_namespace, "workload-variant-autoscaler-system");
  EXPECT_EQ(s->lease_name, "wva-leader");
  EXPECT_FALSE(s->prometheus.insecure_skip_verify);
  EXPECT_FALSE(s->prometheus.allow_http);
  EXPECT_TRUE(s->slo_calibration);
}

TEST(Settings, TokenWithPlainHttpIsWarnedAbout) {
  RawSettings r = Base();
  EXPECT_TRUE(SettingsWarnings(*ParseSettings(r)).empty());
  r.values["PROMETHEUS_BEARER_TOKEN"] = "secret-token";
  EXPECT_TRUE(SettingsWarnings(*ParseSettings(r)).empty());  // https: the token is sent
  r.values["PROMETHEUS_BASE_URL"] = "http://prometheus:9090";
  r.values["PROMETHEUS_ALLOW_HTTP"] = "true";
  auto w = SettingsWarnings(*ParseSettings(r));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].setting, "PROMETHEUS_BEARER_TOKEN");
  EXPECT_EQ(w[0].message.find("secret-token"), std::string::npos);  // never the token itself
  r.values.erase("PROMETHEUS_BEARER_TOKEN");
  r.values["PROMETHEUS_TOKEN_PATH"] = "/var/run/token";
  w = SettingsWarnings(*ParseSettings(r));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].setting, "PROMETHEUS_TOKEN_PATH");
  r.values.erase("PROMETHEUS_TOKEN_PATH");
  EXPECT_TRUE(SettingsWarnings(*ParseSettings(r)).empty());  // http without a token: fine
}

TEST(Settings, SloCalibrationSwitch) {
  for (const auto& [text, want] : std::vector<std::pair<std::string, bool>>{
           {"false", false}, {"0", false}, {"no", false}, {"TRUE", true}, {"", true}}) {
    RawSettings r = Base();
    r.values["SLO_CALIBRATION"] = text;
    auto s = ParseSettings(r);
    ASSERT_TRUE(s.has_value()) << s.error().message();
    EXPECT_EQ(s->slo_calibration, want) << "\"" << text << "\"";
  }
}

TEST(Settings, BadValuesNameTheSetting) {
  struct Case {
    const char* key;
    const char* value;
    const char* prefix;
  } cases[] = {
      {"PROMETHEUS_BASE_URL", "", "PROMETHEUS_BASE_URL"},
      {"PROMETHEUS_BASE_URL", "http://prom:9090", "Prometheus settings"},
      {"GLOBAL_OPT_INTERVAL", "1x", "GLOBAL_OPT_INTERVAL"},
      {"GLOBAL_OPT_INTERVAL", "30", "GLOBAL_OPT_INTERVAL"},
      {"PROMETHEUS_TLS_INSECURE_SKIP_VERIFY", "maybe", "PROMETHEUS_TLS_INSECURE_SKIP_VERIFY"},
      {"METRICS_BIND_ADDRESS", "8080", "--metrics-bind-address"},
      {"HEALTH_PROBE_BIND_ADDRESS", ":99999", "--health-probe-bind-address"},
      {"LOG_LEVEL", "loud", "LOG_LEVEL"},
      {"SATURATION_METRICS_WINDOW", "1.5m", "SATURATION_METRICS_WINDOW"},
      {"SLO_CALIBRATION", "sometimes", "SLO_CALIBRATION"},
  };
  for (const auto& c : cases) {
    RawSettings r = Base();
    r.values[c.key] = c.value;
    auto s = ParseSettings(r);
    ASSERT_FALSE(s.has_value()) << c.key << "=" << c.value;
    EXPECT_EQ(s.error().message().rfind(c.prefix, 0), 0u) << s.error().message();
  }
}

TEST(Settings, HttpAllowedExplicitly) {
  RawSettings r = Base();
  r.values["PROMETHEUS_BASE_URL"] = "http://prom:9090";
  r.values["PROMETHEUS_ALLOW_HTTP"] = "true";
  r.values["GLOBAL_OPT_INTERVAL"] = "2m";
  auto s = ParseSettings(r);
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_EQ(s->interval, std::chrono::minutes(2));
}

TEST(Settings, UpstreamConfigMapNamesReadUnlessOneIsNamed) {
  auto s = ParseSettings(Base());
  EXPECT_EQ(s->config_map_name, "capacity-scaling-config");
  EXPECT_EQ(s->upstream_config_map_name, "wva-saturation-scaling-config");
  EXPECT_EQ(s->scale_to_zero_config_map_name, "wva-model-scale-to-zero-config");
  RawSettings r = Base();
  r.values["SATURATION_CONFIG_MAP_NAME"] = "mine";
  auto n = ParseSettings(r);
  EXPECT_EQ(n->config_map_name, "mine");
  EXPECT_EQ(n->upstream_config_map_name, "");
}

TEST(Settings, UpstreamOnlySettingsWarnedByName) {
  RawSettings r = Base();
  r.values["REST_CLIENT_TIMEOUT"] = "60s";
  r.values["ENABLE_HTTP2"] = "false";      // what WVA-C++ does anyway: no warning
  r.values["WVA_SCALE_TO_ZERO"] = "true";  // implemented: not warned
  r.values["METRICS_SECURE"] = "true";     // implemented: not an ignored setting
  auto w = IgnoredUpstreamSettings(r);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].setting, "REST_CLIENT_TIMEOUT");
  auto s = ParseSettings(r);
  ASSERT_TRUE(s.has_value());
  EXPECT_TRUE(s->scale_to_zero_default);
}

TEST(Settings, ScaleFromZeroSettings) {
  auto d = ParseSettings(Base());
  ASSERT_TRUE(d.has_value());
  EXPECT_FALSE(d->scale_from_zero.enabled);
  EXPECT_EQ(d->scale_from_zero.concurrency, 10);
  EXPECT_EQ(d->scale_from_zero.interval, std::chrono::milliseconds(500));
  RawSettings r = Base();
  r.values["SCALE_FROM_ZERO"] = "true";
  r.values["SCALE_FROM_ZERO_ENGINE_MAX_CONCURRENCY"] = "3";
  r.values["SCALE_FROM_ZERO_INTERVAL"] = "200ms";
  r.values["SCALE_FROM_ZERO_DEMAND_QUERY"] = "sum by (namespace, model) (my_queue)";
  r.values["SCALE_FROM_ZERO_MODEL_LABEL"] = "model";
  auto s = ParseSettings(r);
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_TRUE(s->scale_from_zero.enabled);
  EXPECT_EQ(s->scale_from_zero.concurrency, 3);
  EXPECT_EQ(s->scale_from_zero.interval, std::chrono::milliseconds(200));
  EXPECT_EQ(s->scale_from_zero.model_label, "model");
  EXPECT_FALSE(d->gpu_budget_from_nodes);
  r.values["GPU_BUDGET_FROM_NODES"] = "true";
  EXPECT_TRUE(ParseSettings(r)->gpu_budget_from_nodes);
  for (auto [k, v] :
       {std::pair<const char*, const char*>{"SCALE_FROM_ZERO_ENGINE_MAX_CONCURRENCY", "0"},
        {"SCALE_FROM_ZERO_ENGINE_MAX_CONCURRENCY", "ten"},
        {"SCALE_FROM_ZERO_INTERVAL", "10ms"},
        {"WVA_SCALE_TO_ZERO", "perhaps"},
        {"ACTUATION_MODE", "hpa"},
        {"STOCK_OUT_THRESHOLD", "0s"},
        {"GPU_BUDGET_FROM_NODES", "nodes"}}) {
    RawSettings b = Base();
    b.values[k] = v;
    auto e = ParseSettings(b);
    ASSERT_FALSE(e.has_value()) << k;
    EXPECT_EQ(e.error().message().rfind(k, 0), 0u) << e.error().message();
  }
}

TEST(Settings, SecureMetricsDefaultsAsUpstream) {
  RawSettings r = Base();
  auto plain = ParseSettings(r);
  ASSERT_TRUE(plain.has_value());
  EXPECT_FALSE(plain->metrics_secure);
  EXPECT_EQ(plain->metrics_port, 8080);

  r.values["METRICS_SECURE"] = "true";
  auto secure = ParseSettings(r);
  ASSERT_TRUE(secure.has_value());
  EXPECT_TRUE(secure->metrics_secure);
  EXPECT_EQ(secure->metrics_port, 8443);  // upstream's secure port when no address is given
  EXPECT_EQ(secure->metrics_cert_path, "");
  EXPECT_EQ(secure->metrics_cert_name, "tls.crt");
  EXPECT_EQ(secure->metrics_cert_key, "tls.key");
  auto w = SettingsWarnings(*secure);  // self-signed: said once at start
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].setting, "METRICS_CERT_PATH");

  r.values["METRICS_BIND_ADDRESS"] = "127.0.0.1:9443";
  r.values["METRICS_CERT_PATH"] = "/certs";
  r.values["METRICS_CERT_NAME"] = "cert.pem";
  auto files = ParseSettings(r);
  ASSERT_TRUE(files.has_value());
  EXPECT_EQ(files->metrics_port, 9443);
  EXPECT_EQ(files->metrics_cert_path, "/certs");
  EXPECT_EQ(files->metrics_cert_name, "cert.pem");
  EXPECT_TRUE(SettingsWarnings(*files).empty());

  r.values["METRICS_SECURE"] = "maybe";
  auto bad = ParseSettings(r);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("METRICS_SECURE"), std::string::npos);

  r.values["METRICS_SECURE"] = "false";  // certificate without TLS: warned
  auto ignored = ParseSettings(r);
  ASSERT_TRUE(ignored.has_value());
  ASSERT_EQ(SettingsWarnings(*ignored).size(), 1u);
  EXPECT_EQ(SettingsWarnings(*ignored)[0].setting, "METRICS_CERT_PATH");
}

TEST(Settings, ConfigFileBelowFlagsAndEnvUnknownKeyIsAnError) {
  RawSettings r = Base();
  r.values["GLOBAL_OPT_INTERVAL"] = "30s";
  const std::vector<std::string> known = {"PROMETHEUS_BASE_URL", "GLOBAL_OPT_INTERVAL",
                                          "PROMETHEUS_TLS_INSECURE_SKIP_VERIFY",
                                          "WVA_SCALE_TO_ZERO"};
  // Upstream's shipped config.yaml (wva-manager-config).
  ASSERT_TRUE(MergeConfigFile("/etc/wva/config.yaml",
                              "PROMETHEUS_BASE_URL: \"https://other:9090\"\n"
                              "PROMETHEUS_TLS_INSECURE_SKIP_VERIFY: \"true\"\n"
                              "GLOBAL_OPT_INTERVAL: \"15s\"\nWVA_SCALE_TO_ZERO: \"false\"\n"
                              "EXPERIMENTAL_COORDINATOR_ENABLED: \"false\"\n",
                              known, &r)
                  .ok());
  auto s = ParseSettings(r);
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_EQ(s->prometheus.base_url, "https://prometheus:9090");  // env wins
  EXPECT_EQ(s->interval, std::chrono::seconds(30));              // flag wins
  EXPECT_TRUE(s->prometheus.insecure_skip_verify);               // from the file
  Status bad = MergeConfigFile("/etc/wva/config.yaml", "GLOBAL_OPT_INTERVALL: 15s\n", known, &r);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("GLOBAL_OPT_INTERVALL"), std::string::npos);
}

}  // namespace
}  // namespace wva::controller
