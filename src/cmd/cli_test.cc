// CLI tests through the real `wva` binary: exit codes, output keys, error messages.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

namespace {

struct Result {
  int code;
  std::string out;  // stdout + stderr
};

Result Wva(const std::string& args) {
  std::string cmd = std::string(WVA_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
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
  // Exact key set of SPEC §4.
  std::vector<std::string> top;
  for (auto& [k, v] : j.items()) top.push_back(k);
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
  std::string f = Write("hold.yaml",
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
  std::string cfg = Write("cm.yaml", "default: |\n  queueLengthThreshold: 50\n  queueSpareTrigger: 3\n");
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
  std::string f = Write("bad.yaml", "model: {id: m}\nvariants: [{name: v, currentReplicas: 1, cost: abc}]\n");
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
  std::string f = Write("t.yaml", "model: {id: m}\nvariants: [{name: v, currentReplicas: 1}]\n"
                                  "replicas: [{variant: v, kvCacheUsage: 0.9, queueLength: 0}]\n");
  Result r = Wva("analyze -i " + f + " -o text");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("Decisions:"), std::string::npos);
  EXPECT_NE(r.out.find("scale-up"), std::string::npos);
}

}  // namespace
