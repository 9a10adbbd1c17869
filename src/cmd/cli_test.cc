// CLI tests through the real `wva` binary: exit codes, output keys, error messages.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

struct Result {
  int code;
  std::string out;  // stdout + stderr
};

// Runs `wva ARGS` through the shell; `env` is prepended (e.g. "LEADER_ELECT=maybe").
Result Wva(const std::string& args, const std::string& env = "") {
  std::string cmd =
      (env.empty() ? "" : "env " + env + " ") + std::string(WVA_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) {
    out.append(buf.data(), n);
  }
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::string Write(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(Cli, HelpAndVersion) {
  Result h = Wva("--help");
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("analyze"), std::string::npos);
  Result v = Wva("version");
  EXPECT_EQ(v.code, 0);
  EXPECT_NE(v.out.find("wva "), std::string::npos);
  EXPECT_EQ(Wva("no-such-command").code, 2);
}

TEST(Cli, AnalyzeWorkedExampleScaleUpCheapest) {
  std::string f = Write("we3.yaml", R"(
model: {id: meta/llama-70b, namespace: prod}
variants:
  - {name: llama-70b-l40s, accelerator: L40S, cost: 5.0, currentReplicas: 2}
  - {name: llama-70b-a100, accelerator: A100, cost: 20.0, currentReplicas: 3}
replicas:
  - {pod: a, variant: llama-70b-l40s, kvCacheUsage: 0.75, queueLength: 3}
  - {pod: b, variant: llama-70b-l40s, kvCacheUsage: 0.85, queueLength: 6}
  - {pod: c, variant: llama-70b-a100, kvCacheUsage: 0.60, queueLength: 2}
  - {pod: d, variant: llama-70b-a100, kvCacheUsage: 0.85, queueLength: 6}
  - {pod: e, variant: llama-70b-a100, kvCacheUsage: 0.90, queueLength: 7}
)");
  Result r = Wva("analyze --input " + f);
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  // Exact key set of the analyze output (docs/reference.md).
  std::vector<std::string> top;
  for (auto& [k, v] : j.items()) {
    top.push_back(k);
  }
  EXPECT_EQ(top, (std::vector<std::string>{"analysis", "decisions", "model"}));
  EXPECT_EQ(j["analysis"].size(), 6u);
  EXPECT_EQ(j["analysis"]["replicas"], 5);
  EXPECT_EQ(j["analysis"]["shouldScaleUp"], true);
  ASSERT_EQ(j["decisions"].size(), 2u);
  EXPECT_EQ(j["decisions"][0]["variant"], "llama-70b-l40s");
  EXPECT_EQ(j["decisions"][0]["targetReplicas"], 3);
  EXPECT_EQ(j["decisions"][0]["action"], "scale-up");
  EXPECT_EQ(j["decisions"][1]["targetReplicas"], 3);
  EXPECT_EQ(j["decisions"][1]["action"], "none");
  EXPECT_EQ(j["decisions"][0].size(), 6u);
}

TEST(Cli, AnalyzeWorkedExampleOne) {
  std::string f = Write("we1.json", R"({"model": {"id": "m", "namespace": "n"},
    "variants": [{"name": "v", "currentReplicas": 3}],
    "replicas": [{"variant": "v", "kvCacheUsage": 0.75, "queueLength": 3},
                 {"variant": "v", "kvCacheUsage": 0.85, "queueLength": 6},
                 {"variant": "v", "kvCacheUsage": 0.60, "queueLength": 2}]})");
  Result r = Wva("analyze --input " + f);
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["analysis"]["nonSaturated"], 2);
  EXPECT_DOUBLE_EQ(j["analysis"]["avgSpareKv"].get<double>(), 0.125);
  EXPECT_DOUBLE_EQ(j["analysis"]["avgSpareQueue"].get<double>(), 2.5);
  EXPECT_EQ(j["decisions"][0]["targetReplicas"], 4);
}

TEST(Cli, AnalyzeNoMetricsHolds) {
  std::string f =
      Write("hold.yaml",
            "model: {id: m}\nvariants: [{name: v, currentReplicas: 2, desiredReplicas: 3}]\n");
  Result r = Wva("analyze --input " + f);
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["decisions"][0]["action"], "hold");
  EXPECT_EQ(j["decisions"][0]["targetReplicas"], 3);
}

// Rule 5: a variant's unapplied decision holds the whole model, and analyze says which.
TEST(Cli, AnalyzeExplainsTheTransitionHold) {
  std::string f = Write("transition.yaml", R"(
model: {id: m}
variants:
  - {name: cheap, cost: 5, currentReplicas: 2, desiredReplicas: 0}
  - {name: dear, cost: 20, currentReplicas: 8, desiredReplicas: 7}
replicas:
  - {pod: c0, variant: cheap, kvCacheUsage: 0.1, queueLength: 0}
  - {pod: c1, variant: cheap, kvCacheUsage: 0.1, queueLength: 0}
  - {pod: d0, variant: dear, kvCacheUsage: 0.1, queueLength: 0}
  - {pod: d1, variant: dear, kvCacheUsage: 0.1, queueLength: 0}
)");
  Result r = Wva("analyze --input " + f);
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["analysis"]["canScaleDown"], true);
  EXPECT_EQ(j["decisions"][0]["targetReplicas"], 2);
  EXPECT_EQ(j["decisions"][1]["targetReplicas"], 7);
  ASSERT_EQ(j["transition"].size(), 1u);
  EXPECT_EQ(j["transition"][0]["variant"], "dear");
  EXPECT_EQ(j["transition"][0]["currentReplicas"], 8);
  EXPECT_EQ(j["transition"][0]["desiredReplicas"], 7);
}

// Rule 7: a replica entry without samples is a silent Ready pod; it blocks the scale-down.
TEST(Cli, AnalyzeSilentPodBlocksScaleDown) {
  std::string f = Write("silent.yaml", R"(
model: {id: m}
variants:
  - {name: cheap, cost: 5, currentReplicas: 2}
  - {name: dear, cost: 20, currentReplicas: 2}
replicas:
  - {pod: c0, variant: cheap, kvCacheUsage: 0.1, queueLength: 0}
  - {pod: c1, variant: cheap, kvCacheUsage: 0.1, queueLength: 0}
  - {pod: d0, variant: dear, kvCacheUsage: 0.1, queueLength: 0}
  - {pod: d1, variant: dear}
)");
  Result r = Wva("analyze --input " + f);
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["analysis"]["canScaleDown"], true);
  EXPECT_EQ(j["decisions"][0]["targetReplicas"], 2);
  EXPECT_EQ(j["decisions"][1]["targetReplicas"], 2);
  EXPECT_EQ(j["decisions"][1]["action"], "none");
  ASSERT_EQ(j["incompleteData"].size(), 1u);
  EXPECT_EQ(j["incompleteData"][0]["pod"], "d1");
  EXPECT_EQ(j["incompleteData"][0]["problem"], "silent");
  EXPECT_FALSE(j.contains("transition"));
}

TEST(Cli, AnalyzeConfigFileAndSnapshotConfigPrecedence) {
  std::string cfg =
      Write("cm.yaml", "default: |\n  queueLengthThreshold: 50\n  queueSpareTrigger: 3\n");
  std::string f = Write("cfg.yaml", R"(
model: {id: m}
variants: [{name: v, currentReplicas: 2}]
replicas:
  - {variant: v, kvCacheUsage: 0.1, queueLength: 6}
  - {variant: v, kvCacheUsage: 0.1, queueLength: 6}
)");
  // With built-ins, queue 6 >= 5 saturates both -> scale up; with T_q 50 it is idle -> down.
  auto base = nlohmann::json::parse(Wva("analyze -i " + f).out);
  EXPECT_EQ(base["decisions"][0]["action"], "scale-up");
  auto with_cfg = nlohmann::json::parse(Wva("analyze -i " + f + " --config " + cfg).out);
  EXPECT_EQ(with_cfg["analysis"]["nonSaturated"], 2);
  EXPECT_EQ(with_cfg["decisions"][0]["action"], "scale-down");
  EXPECT_EQ(with_cfg["decisions"][0]["targetReplicas"], 1);
}

TEST(Cli, AnalyzeBadInputExitsTwoNamingFieldPath) {
  std::string f =
      Write("bad.yaml", "model: {id: m}\nvariants: [{name: v, currentReplicas: 1, cost: abc}]\n");
  Result r = Wva("analyze --input " + f);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out.rfind(f + ": variants[0].cost: ", 0), 0u) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;

  Result missing = Wva("analyze --input /nonexistent/file.yaml");
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.out.find("/nonexistent/file.yaml"), std::string::npos);

  std::string unk = Write("unk.yaml",
                          "model: {id: m}\nvariants: [{name: v, currentReplicas: 1}]\n"
                          "replicas: [{variant: w, kvCacheUsage: 0.1, queueLength: 0}]\n");
  Result u = Wva("analyze -i " + unk);
  EXPECT_EQ(u.code, 2);
  EXPECT_NE(u.out.find("replicas[0].variant: unknown variant \"w\""), std::string::npos) << u.out;

  EXPECT_EQ(Wva("analyze -i " + f + " --output xml").code, 2);
}

TEST(Cli, AnalyzeTextOutput) {
  std::string f = Write("t.yaml",
                        "model: {id: m}\nvariants: [{name: v, currentReplicas: 1}]\n"
                        "replicas: [{variant: v, kvCacheUsage: 0.9, queueLength: 0}]\n");
  Result r = Wva("analyze -i " + f + " -o text");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("Decisions:"), std::string::npos);
  EXPECT_NE(r.out.find("scale-up"), std::string::npos);
}

// --- Command-line papercuts (issue 15) -------------------------------------------------------

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// `wva run` validates settings in a fixed order: PROMETHEUS_* first, then LEADER_ELECT, then the
// kubeconfig. A run that fails on the (missing) kubeconfig therefore accepted every flag before.
constexpr const char* kBadKubeconfig = "/nonexistent/wva-cli-test/kubeconfig";

TEST(Cli, BooleanFlagsWorkBareAndWithAValue) {
  const std::string kc = std::string(" --kubeconfig ") + kBadKubeconfig;
  // Bare --prometheus-allow-http = true: the http:// URL passes, the kubeconfig is next.
  Result bare = Wva("run --prometheus-allow-http --prometheus-base-url http://127.0.0.1:1" + kc);
  EXPECT_EQ(bare.code, 2);
  EXPECT_TRUE(Has(bare.out, kBadKubeconfig)) << bare.out;
  Result t = Wva("run --prometheus-allow-http=true --prometheus-base-url http://127.0.0.1:1" + kc);
  EXPECT_TRUE(Has(t.out, kBadKubeconfig)) << t.out;
  // =false: the http:// URL is refused before the kubeconfig is read.
  Result f = Wva("run --prometheus-allow-http=false --prometheus-base-url http://127.0.0.1:1" + kc);
  EXPECT_EQ(f.code, 2);
  EXPECT_FALSE(Has(f.out, kBadKubeconfig)) << f.out;
  EXPECT_TRUE(Has(f.out, "PROMETHEUS_ALLOW_HTTP")) << f.out;
  // The space-separated form of earlier releases still works (scripts and manifests use it).
  Result space_t =
      Wva("run --prometheus-allow-http true --prometheus-base-url http://127.0.0.1:1" + kc);
  EXPECT_EQ(space_t.code, 2);
  EXPECT_TRUE(Has(space_t.out, kBadKubeconfig)) << space_t.out;
  Result space_f =
      Wva("run --prometheus-allow-http false --prometheus-base-url http://127.0.0.1:1" + kc);
  EXPECT_EQ(space_f.code, 2);
  EXPECT_FALSE(Has(space_f.out, kBadKubeconfig)) << space_f.out;
  EXPECT_TRUE(Has(space_f.out, "PROMETHEUS_ALLOW_HTTP")) << space_f.out;
  Result le_space = Wva("run --leader-elect false --prometheus-base-url https://127.0.0.1:1" + kc);
  EXPECT_TRUE(Has(le_space.out, kBadKubeconfig)) << le_space.out;
  Result junk =
      Wva("run --prometheus-allow-http=maybe --prometheus-base-url https://127.0.0.1:1" + kc);
  EXPECT_EQ(junk.code, 2);
  EXPECT_TRUE(Has(junk.out, "PROMETHEUS_ALLOW_HTTP")) << junk.out;
  EXPECT_TRUE(Has(junk.out, "maybe")) << junk.out;
}

TEST(Cli, LeaderElectBareOrExplicitAndTheFlagBeatsTheEnvironment) {
  const std::string base =
      std::string("run --prometheus-base-url https://127.0.0.1:1 --kubeconfig ") + kBadKubeconfig;
  for (const char* flag : {"--leader-elect", "--leader-elect=true", "--leader-elect=false"}) {
    Result r = Wva(base + " " + flag, "LEADER_ELECT=maybe");
    EXPECT_EQ(r.code, 2) << flag;
    EXPECT_TRUE(Has(r.out, kBadKubeconfig)) << flag << ": " << r.out;
    EXPECT_FALSE(Has(r.out, "LEADER_ELECT")) << flag << ": " << r.out;
  }
  Result env_only = Wva(base, "LEADER_ELECT=maybe");
  EXPECT_TRUE(Has(env_only.out, "LEADER_ELECT")) << env_only.out;
  Result bad = Wva(base + " --leader-elect=maybe");
  EXPECT_EQ(bad.code, 2);
  EXPECT_TRUE(Has(bad.out, "LEADER_ELECT")) << bad.out;
}

TEST(Cli, MistypedFlagIsNamedWithASuggestionAndTheSubcommandHelp) {
  // --input is required, so CLI11 alone would report only "--input is required".
  Result r = Wva("analyze --inptu snapshot.yaml");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(Has(r.out, "--inptu")) << r.out;
  EXPECT_TRUE(Has(r.out, "--input")) << r.out;
  EXPECT_TRUE(Has(r.out, "wva analyze --help")) << r.out;

  Result s = Wva("simulate --polcy wva");
  EXPECT_EQ(s.code, 2);
  EXPECT_TRUE(Has(s.out, "--polcy")) << s.out;
  EXPECT_TRUE(Has(s.out, "--policy")) << s.out;
  EXPECT_TRUE(Has(s.out, "wva simulate --help")) << s.out;

  Result top = Wva("--verison");
  EXPECT_EQ(top.code, 2);
  EXPECT_TRUE(Has(top.out, "--verison")) << top.out;
  EXPECT_TRUE(Has(top.out, "wva --help")) << top.out;
  EXPECT_FALSE(Has(top.out, "wva simulate --help")) << top.out;
}

TEST(Cli, SubcommandErrorsPointAtTheSubcommandHelp) {
  Result r = Wva("simulate --time-scale abc");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(Has(r.out, "--time-scale")) << r.out;
  EXPECT_TRUE(Has(r.out, "wva simulate --help")) << r.out;
  Result a = Wva("analyze --output xml -i x.yaml");
  EXPECT_EQ(a.code, 2);
  EXPECT_TRUE(Has(a.out, "wva analyze --help")) << a.out;
}

TEST(Cli, NegativeOrFractionalSeedIsRejected) {
  for (const char* args :
       {"simulate --seed -3", "simulate --seed=-3", "simulate --seed 1.5", "emulate --seed -3"}) {
    Result r = Wva(args);
    EXPECT_EQ(r.code, 2) << args << ": " << r.out;
    EXPECT_TRUE(Has(r.out, "--seed")) << args << ": " << r.out;
  }
}

TEST(Cli, EmptyTraceIsAnErrorNamingTheFile) {
  const std::string out = ::testing::TempDir() + "/empty-trace-out";
  for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
           {"empty.csv", ""},
           {"blank.csv", "\n\n"},
           {"header-only.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n"}}) {
    const std::string path = Write(name, text);
    Result r = Wva("simulate --quiet --trace " + path + " --out " + out);
    EXPECT_EQ(r.code, 2) << name << ": " << r.out;
    EXPECT_TRUE(Has(r.out, path)) << name << ": " << r.out;
    EXPECT_FALSE(Has(r.out, "MET")) << name << ": " << r.out;
  }
}

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream f(path);
  return nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
}

// `--compare` with `--search-static`: one row per policy plus the best static fleet, in the CSV,
// the JSON and the HTML report, all written to --out.
TEST(Cli, SimulateCompareAndSearchStaticWriteTheirOutputs) {
  const std::string out = ::testing::TempDir() + "/cmp";
  Result r =
      Wva("simulate --quiet --no-wall-time --workload poisson:rate=6,duration=600 --seed 3 "
          "--compare wva,keda-token,keda-slo,hpa-kv:0.7 --search-static --out " +
          out);
  ASSERT_EQ(r.code, 0) << r.out;
  nlohmann::json best = ReadJson(out + "/best_static.json");
  ASSERT_TRUE(best.is_object()) << r.out;
  ASSERT_EQ(best["found"], true);
  EXPECT_GE(best["slo"]["attainment"].get<double>(), best["slo"]["target"].get<double>());
  EXPECT_GT(best["usd_per_hour"].get<double>(), 0);
  nlohmann::json cmp = ReadJson(out + "/compare.json");
  ASSERT_TRUE(cmp.is_object());
  ASSERT_TRUE(cmp["policies"].is_array());
  std::vector<std::string> names;
  for (const auto& p : cmp["policies"]) {
    names.push_back(p["policy"].get<std::string>());
  }
  ASSERT_EQ(names.size(), 5u) << cmp.dump();
  EXPECT_EQ(names[0], "wva");
  EXPECT_EQ(names[4], best["policy"].get<std::string>());
  std::ifstream csv(out + "/compare.csv");
  std::string line;
  int rows = 0;
  while (std::getline(csv, line)) {
    ++rows;
  }
  EXPECT_EQ(rows, 6);  // header + 5 policies
  std::ifstream html(out + "/compare.html");
  std::string page((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(Has(page, "<svg")) << page.substr(0, 200);
  // Self-contained: no external script, stylesheet or image.
  EXPECT_FALSE(Has(page, "src=\"http") || Has(page, "href=\"http") || Has(page, "<link"));
}

TEST(Cli, SubcommandHelpShowsDefaults) {
  Result s = Wva("simulate --help");
  EXPECT_EQ(s.code, 0);
  EXPECT_TRUE(Has(s.out, "--seed UINT=1")) << s.out;
  EXPECT_TRUE(Has(s.out, "--policy TEXT=wva")) << s.out;
  EXPECT_TRUE(Has(s.out, "--out TEXT=./wva-sim-out")) << s.out;
  EXPECT_TRUE(Has(s.out, "--time-scale FLOAT=1")) << s.out;
  Result a = Wva("analyze --help");
  EXPECT_TRUE(Has(a.out, "--output TEXT:{json,text}=json")) << a.out;
}

}  // namespace

namespace {

TEST(Cli, AnalyzeTokenBasedSelectedByAnalyzersList) {
  Result r = Wva(std::string("analyze --input ") + WVA_SOURCE_DIR + "/examples/snapshot-v2.yaml");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["capacity"]["analyzer"], "saturation-token-based");
  EXPECT_DOUBLE_EQ(j["capacity"]["demand"].get<double>(), 52300);
  EXPECT_DOUBLE_EQ(j["capacity"]["supply"].get<double>(), 48000);
  EXPECT_EQ(j["decisions"][0]["targetReplicas"], 2);  // L40S: cheaper per replica, not per token
  EXPECT_EQ(j["decisions"][1]["targetReplicas"], 2);  // A100 1 -> 2
  // The same snapshot without the analyzers list: V1, no capacity key.
  std::ifstream in(std::string(WVA_SOURCE_DIR) + "/examples/snapshot-v2.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto at = text.find("  analyzers: [{name: saturation}]\n");
  ASSERT_NE(at, std::string::npos);
  text.erase(at, std::string("  analyzers: [{name: saturation}]\n").size());
  Result v1 = Wva("analyze --input " + Write("v1.yaml", text));
  ASSERT_EQ(v1.code, 0) << v1.out;
  auto k = nlohmann::json::parse(v1.out);
  EXPECT_FALSE(k.contains("capacity"));
  EXPECT_EQ(k["decisions"][0]["targetReplicas"], 3);  // V1: the cheapest variant +1
  // An upstream default entry as --config selects V2 as well.
  std::string cfg =
      Write("upstream-default.yaml",
            "analyzers:\n  - name: saturation\n    score: 1.0\nenableLimiter: false\n");
  Result c = Wva("analyze --input " + Write("v1b.yaml", text) + " --config " + cfg);
  ASSERT_EQ(c.code, 0) << c.out;
  EXPECT_EQ(nlohmann::json::parse(c.out)["capacity"]["analyzer"], "saturation-token-based");
}

TEST(Cli, RunAcceptsUpstreamFlags) {
  Result r =
      Wva("run --metrics-secure=true --leader-election-lease-duration 60s "
          "--leader-election-renew-deadline 50s --leader-election-retry-period 10s "
          "--rest-client-timeout 60s --prometheus-base-url https://127.0.0.1:1 "
          "--kubeconfig /nonexistent/kubeconfig");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(Has(r.out, "/nonexistent/kubeconfig")) << r.out;  // got past flag parsing
  EXPECT_TRUE(Has(r.out, "REST_CLIENT_TIMEOUT")) << r.out;      // warned as ignored
  EXPECT_FALSE(Has(r.out, "METRICS_SECURE")) << r.out;          // implemented, not ignored
  std::string file = Write("config.yaml", "GLOBAL_OPT_INTERVAL: 15s\nBOGUS_KEY: 1\n");
  Result bad = Wva("run --config-file " + file + " --prometheus-base-url https://127.0.0.1:1");
  EXPECT_EQ(bad.code, 2);
  EXPECT_TRUE(Has(bad.out, "BOGUS_KEY")) << bad.out;
}

}  // namespace
