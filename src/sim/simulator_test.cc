// Fleet-level tests of the simulator: determinism, conservation, cost-awareness, cascade
// protection, trace readers (on the public traces in WVA_TRACES_DIR when present), malformed input,
// HPA model, fleet YAML and policy parsing.
#include "sim/simulator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sim/hpa.h"
#include "sim/report.h"

namespace wva::sim {
namespace {

Result RunSim(const FleetConfig& fleet, const std::string& workload, const std::string& policy,
              uint64_t seed = 7) {
  auto w = MakeSynthetic(workload, seed);
  EXPECT_TRUE(w.has_value()) << (w ? "" : w.error().message());
  auto p = MakePolicy(policy, fleet);
  EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().message());
  RunOptions opt;
  opt.seed = seed;
  auto r = Simulate(fleet, **w, **p, opt);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
  return *r;
}

constexpr const char* kShort = "diurnal:min_rate=2,max_rate=40,duration=1200";

TEST(Simulator, SameInputsAndSeedGiveByteIdenticalOutputs) {
  const FleetConfig fleet = DefaultFleet();
  const Result a = RunSim(fleet, kShort, "wva");
  const Result b = RunSim(fleet, kShort, "wva");
  EXPECT_EQ(SummaryJson(a, false), SummaryJson(b, false));
  EXPECT_EQ(TimeseriesCsv(a), TimeseriesCsv(b));
  const Result c = RunSim(fleet, kShort, "wva", 8);
  EXPECT_NE(SummaryJson(a, false), SummaryJson(c, false));
}

TEST(Simulator, EveryArrivalIsCompletedOrCounted) {
  const FleetConfig fleet = DefaultFleet();
  for (const char* policy :
       {"wva", "hpa-kv:0.7", "static:llama-8b-l40s=1", "static:llama-8b-h100=2,llama-8b-l40s=0"}) {
    const Result r = RunSim(fleet, kShort, policy);
    EXPECT_GT(r.requests, 1000) << policy;
    EXPECT_EQ(r.requests, r.completed + r.rejected + r.unfinished) << policy;
    EXPECT_EQ(r.unfinished, 0) << policy;
    EXPECT_GE(r.attainment, 0.0);
    EXPECT_LE(r.attainment, 1.0);
  }
}

TEST(Simulator, NoReplicaAtAllLeavesRequestsUnfinishedButCounted) {
  const FleetConfig fleet = DefaultFleet();
  auto w = MakeSynthetic("poisson:rate=1,duration=60", 1);
  auto p = MakePolicy("static:llama-8b-l40s=0", fleet);
  RunOptions opt;
  opt.drain_limit_s = 120;
  auto r = Simulate(fleet, **w, **p, opt);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->completed, 0);
  EXPECT_EQ(r->unfinished, r->requests);
  EXPECT_EQ(r->cost_usd, 0);
}

TEST(Simulator, WvaGrowsTheCheapVariantFirst) {
  FleetConfig fleet = DefaultFleet();
  fleet.variants[1].min_replicas = 1;  // both variants present from the start
  fleet.variants[1].initial_replicas = 1;
  fleet.actuator = ActuatorKind::kDirect;
  const Result r = RunSim(fleet, "diurnal:min_rate=1,max_rate=60,period=3600,duration=1800", "wva");
  // The first row where a variant has more replicas than it started with.
  int first = -1;
  for (const Row& row : r.rows) {
    for (int v = 0; v < 2 && first < 0; ++v) {
      if (row.ready[v] + row.starting[v] > 1) {
        first = v;
      }
    }
    if (first >= 0) {
      break;
    }
  }
  ASSERT_GE(first, 0) << "no scale-up at all";
  EXPECT_EQ(r.variant_names[first], "llama-8b-l40s");
  EXPECT_GT(r.variants[0].max_replicas, 1);
}

TEST(Simulator, WvaNeverHasMoreThanOneStartingReplicaPerVariant) {
  for (ActuatorKind a : {ActuatorKind::kHpa, ActuatorKind::kDirect}) {
    FleetConfig fleet = DefaultFleet();
    fleet.actuator = a;
    const Result r = RunSim(fleet, "diurnal:min_rate=2,max_rate=80,duration=2400", "wva");
    int total_max = 0;
    for (const VariantResult& v : r.variants) {
      EXPECT_LE(v.max_starting, 1) << v.name;
      total_max += v.max_replicas;
    }
    EXPECT_GT(total_max, 2);  // it did scale
  }
}

TEST(Simulator, StaticPolicyNeverScales) {
  const Result r = RunSim(DefaultFleet(), kShort, "static:llama-8b-l40s=3");
  EXPECT_EQ(r.scaling_actions, 0);
  EXPECT_EQ(r.variants[0].max_replicas, 3);
  EXPECT_NEAR(r.variants[0].avg_replicas, 3.0, 1e-6);
  EXPECT_NEAR(r.cost_usd, 3 * 1.80 * r.sim_seconds / 3600, 1e-6);
}

// --- trace readers ---------------------------------------------------------------------------

std::string TracePath(const char* name) { return std::string(WVA_TRACES_DIR) + "/" + name; }

TEST(Traces, AzureConversationTrace) {
  const std::string path = TracePath("azure2023_AzureLLMInferenceTrace_conv.csv");
  if (!std::filesystem::exists(path)) {
    GTEST_SKIP() << path << " not present";
  }
  auto w = OpenTrace(path);
  ASSERT_TRUE(w.has_value()) << w.error().message();
  Arrival a;
  int64_t n = 0;
  double last = -1, first = -1;
  while (true) {
    auto more = (*w)->Next(&a);
    ASSERT_TRUE(more.has_value()) << more.error().message();
    if (!*more) {
      break;
    }
    if (first < 0) {
      first = a.time_s;
    }
    EXPECT_GE(a.time_s, last);
    last = a.time_s;
    ++n;
  }
  EXPECT_EQ(n, 19366);
  EXPECT_EQ(first, 0);
  EXPECT_NEAR(last / 60, 58.4, 1.0);
}

TEST(Traces, AzureCodeTraceSimulates) {
  const std::string path = TracePath("azure2023_AzureLLMInferenceTrace_code.csv");
  if (!std::filesystem::exists(path)) {
    GTEST_SKIP() << path << " not present";
  }
  auto w = OpenTrace(path, 2.0);  // half speed
  ASSERT_TRUE(w.has_value());
  const FleetConfig fleet = DefaultFleet();
  auto p = MakePolicy("wva", fleet);
  auto r = Simulate(fleet, **w, **p, {});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->requests, 8819);
  EXPECT_EQ(r->completed + r->rejected + r->unfinished, 8819);
  EXPECT_GT(r->sim_seconds, 2 * 56 * 60);
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("wva_sim_test_" + name);
  std::ofstream(path) << text;
  return path.string();
}

TEST(Traces, MooncakeJsonlIsAutoDetected) {
  const std::string path = WriteTemp(
      "mc.jsonl",
      "{\"timestamp\": 0, \"input_length\": 100, \"output_length\": 5, \"hash_ids\": [1]}\n"
      "{\"timestamp\": 1500, \"input_length\": 7000, \"output_length\": 0}\n");
  auto w = OpenTrace(path);
  ASSERT_TRUE(w.has_value());
  Arrival a;
  ASSERT_TRUE(*(*w)->Next(&a));
  EXPECT_EQ(a.prompt_tokens, 100);
  ASSERT_TRUE(*(*w)->Next(&a));
  EXPECT_DOUBLE_EQ(a.time_s, 1.5);
  EXPECT_EQ(a.prompt_tokens, 7000);
  EXPECT_EQ(a.output_tokens, 1);  // 0 is raised to 1
  EXPECT_FALSE(*(*w)->Next(&a));
  EXPECT_NE((*w)->Describe().find("Mooncake"), std::string::npos);
}

TEST(Traces, TimeScaleStretchesTimestamps) {
  const std::string path = WriteTemp("ts.csv",
                                     "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                                     "2023-11-16 18:15:46.5000000,10,2\n"
                                     "2023-11-16 18:15:48.0000000,20,3\n");
  auto w = OpenTrace(path, 0.5);
  Arrival a;
  ASSERT_TRUE(*(*w)->Next(&a));
  ASSERT_TRUE(*(*w)->Next(&a));
  EXPECT_NEAR(a.time_s, 0.75, 1e-9);
}

TEST(Traces, MalformedRowsStopWithFileAndLine) {
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,374,44\n"
       "2023-11-16 18:15:47.00,abc,44\n",
       ":3: bad ContextTokens"},
      {"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,374\n",
       ":2: expected 3 fields"},
      {"TIMESTAMP,ContextTokens,GeneratedTokens\nyesterday,1,2\n", ":2: bad TIMESTAMP"},
      {"TIMESTAMP,Prompt,Output\n", ":1: header must be"},
      {"{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1}\n{\"timestamp\": 5}\n",
       ":2: missing \"input_length\""},
      {"{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1}\n{not json\n",
       ":2: not a JSON object"},
      {"{\"timestamp\": -3, \"input_length\": 1, \"output_length\": 1}\n",
       ":1: \"timestamp\" is negative"},
  };
  int i = 0;
  for (const Case& c : cases) {
    const std::string path = WriteTemp(fmt::format("bad{}.txt", i++), c.text);
    auto w = OpenTrace(path);
    ASSERT_TRUE(w.has_value());
    Arrival a;
    Status err;
    while (true) {
      auto more = (*w)->Next(&a);
      if (!more) {
        err = more.error();
        break;
      }
      if (!*more) {
        break;
      }
    }
    EXPECT_EQ(err.code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(err.message().find(path + c.want), std::string::npos) << err.message();
  }
  // The error surfaces from Simulate too.
  const std::string path =
      WriteTemp("bad_sim.csv",
                "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                "2023-11-16 18:15:46.68,374,44\n2023-11-16 18:15:47.00,-1,44\n");
  auto w = OpenTrace(path);
  const FleetConfig fleet = DefaultFleet();
  auto p = MakePolicy("wva", fleet);
  auto r = Simulate(fleet, **w, **p, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find(path + ":3:"), std::string::npos);
}

TEST(Workloads, SyntheticSpecsAreValidated) {
  EXPECT_FALSE(MakeSynthetic("sine:rate=1", 1).has_value());
  EXPECT_FALSE(MakeSynthetic("poisson:rate", 1).has_value());
  EXPECT_FALSE(MakeSynthetic("poisson:speed=3", 1).has_value());
  EXPECT_FALSE(MakeSynthetic("poisson:rate=-1", 1).has_value());
  auto w = MakeSynthetic("onoff:rate_on=50,rate_off=0,on=10,off=10,duration=40", 3);
  ASSERT_TRUE(w.has_value());
  Arrival a;
  int in_on = 0, in_off = 0;
  while (*(*w)->Next(&a)) {
    (std::fmod(a.time_s, 20) < 10 ? in_off : in_on)++;
  }
  EXPECT_EQ(in_off, 0);
  EXPECT_NEAR(in_on, 1000, 150);
}

// --- HPA model -------------------------------------------------------------------------------

TEST(Hpa, ToleranceKeepsTheCurrentCount) {
  Signal s{Signal::Kind::kReplicas, 10, 1, 0};
  EXPECT_EQ(RawRecommendation(s, 10, 0.1), 10);
  s.value = 11;  // usage 1.1: within tolerance
  EXPECT_EQ(RawRecommendation(s, 10, 0.1), 10);
  s.value = 12;
  EXPECT_EQ(RawRecommendation(s, 10, 0.1), 12);
  Signal kv{Signal::Kind::kPodsAverage, 0.9, 0.6, 4};  // 4 pods at 90% vs 60% target
  EXPECT_EQ(RawRecommendation(kv, 4, 0.1), 6);
  EXPECT_EQ(RawRecommendation(Signal{}, 4, 0.1), std::nullopt);
}

TEST(Hpa, DefaultScaleUpIsLimitedToMaxOfDoubleOrFourPodsPer15s) {
  HpaModel hpa(HpaConfig{}, 1, 100);
  Signal s{Signal::Kind::kReplicas, 50, 1, 0};
  int cur = hpa.Sync(0, s, 2);
  EXPECT_EQ(cur, 6);  // +4 pods beats +100% of 2
  cur = hpa.Sync(15, s, cur);
  EXPECT_EQ(cur, 12);  // +100% of 6
  cur = hpa.Sync(30, s, cur);
  EXPECT_EQ(cur, 24);
}

TEST(Hpa, ScaleDownWaitsForTheStabilizationWindow) {
  HpaModel hpa(HpaConfig{}, 1, 100);
  int cur = 8;
  cur = hpa.Sync(0, Signal{Signal::Kind::kReplicas, 8, 1, 0}, cur);
  EXPECT_EQ(cur, 8);
  double t = 15;
  for (; t < 300; t += 15) {
    cur = hpa.Sync(t, Signal{Signal::Kind::kReplicas, 2, 1, 0}, cur);
    EXPECT_EQ(cur, 8) << t;
  }
  cur = hpa.Sync(t, Signal{Signal::Kind::kReplicas, 2, 1, 0}, cur);
  EXPECT_EQ(cur, 2);
}

TEST(Hpa, PodsPolicyWithMinSelect) {
  HpaConfig c;
  c.scale_up.select = SelectPolicy::kMin;
  HpaModel hpa(c, 1, 100);
  EXPECT_EQ(hpa.Sync(0, Signal{Signal::Kind::kReplicas, 50, 1, 0}, 10), 14);  // min(20, 14)
  EXPECT_EQ(DirectTarget(Signal{Signal::Kind::kReplicas, 50, 1, 0}, 10, 1, 8), 8);
}

// --- fleet YAML and policies -----------------------------------------------------------------

TEST(Fleet, ParsesTheDocumentedSchema) {
  auto f = ParseFleetYaml(R"(
model: {id: meta/llama-3.1-8b, namespace: prod}
variants:
  - name: cheap
    profile: l40s-48gb
    cost: 1.5
    startupSeconds: 60-180
    minReplicas: 1
    maxReplicas: 6
  - name: fast
    profile: {base: h100-80gb, alphaMs: 4.2, maxNumSeqs: 128}
    cost: 5
    startupSeconds: 90
    minReplicas: 0
    maxReplicas: 2
router: round-robin
controller: {interval: 30s, scrapeInterval: 10, window: 1m}
saturation: {kvCacheThreshold: 0.7}
actuator:
  type: hpa
  hpa:
    tolerance: 0.05
    scaleDown: {stabilizationWindowSeconds: 120, policies: [{type: Pods, value: 1, periodSeconds: 60}]}
slo: {ttftMs: 1000, itlMs: 50, percentile: 0.95}
)",
                          "f.yaml");
  ASSERT_TRUE(f.has_value()) << f.error().message();
  ASSERT_EQ(f->variants.size(), 2u);
  EXPECT_EQ(f->variants[0].startup_min_s, 60);
  EXPECT_EQ(f->variants[0].startup_max_s, 180);
  EXPECT_EQ(f->variants[0].initial_replicas, 1);
  EXPECT_EQ(f->variants[1].initial_replicas, 0);
  EXPECT_EQ(f->variants[1].profile.alpha_ms, 4.2);
  EXPECT_EQ(f->variants[1].profile.max_batch, 128);
  EXPECT_EQ(f->variants[1].startup_max_s, 90);
  EXPECT_EQ(f->router, RouterKind::kRoundRobin);
  EXPECT_EQ(f->interval_s, 30);
  EXPECT_EQ(f->scrape_s, 10);
  EXPECT_EQ(f->saturation.kv_cache_threshold, 0.7);
  EXPECT_EQ(f->hpa.tolerance, 0.05);
  EXPECT_EQ(f->hpa.scale_down.stabilization_s, 120);
  ASSERT_EQ(f->hpa.scale_down.policies.size(), 1u);
  EXPECT_EQ(f->hpa.scale_down.policies[0].type, HpaPolicyType::kPods);
  EXPECT_EQ(f->slo.percentile, 0.95);
}

TEST(Fleet, ErrorsNameTheFileAndFieldPath) {
  auto check = [](const std::string& yaml, const std::string& want) {
    auto f = ParseFleetYaml(yaml, "x.yaml");
    ASSERT_FALSE(f.has_value()) << yaml;
    EXPECT_NE(f.error().message().find(want), std::string::npos) << f.error().message();
  };
  check("variants: [{name: a, profile: l40s-48gb, cost: 1, colour: red}]",
        "x.yaml: variants[0].colour: unknown field");
  check("variants: [{name: a, profile: tpu, cost: 1}]",
        "x.yaml: variants[0].profile: unknown profile");
  check("variants: [{name: a, profile: l40s-48gb}]", "variants[0].cost: required");
  check("variants: [{name: a, profile: l40s-48gb, cost: cheap}]",
        "variants[0].cost: \"cheap\" is not a number");
  check(
      "variants: [{name: a, profile: l40s-48gb, cost: 1}, {name: a, profile: l40s-48gb, cost: 1}]",
      "duplicate variant");
  check("variants: []", "variants: must be a non-empty list");
  check("router: random\nvariants: [{name: a, profile: l40s-48gb, cost: 1}]", "router: must be");
  check("variants: [{name: a, profile: l40s-48gb, cost: 1}]\ncontroller: {interval: 5 minutes}",
        "controller.interval");
  // The saturation block goes through the saturation ConfigMap's entry parser and checks.
  check("variants: [{name: a, profile: l40s-48gb, cost: 1}]\nsaturation: {kvCacheThreshold: 5}",
        "x.yaml: saturation");
  check("variants: [{name: a, profile: l40s-48gb, cost: 1}]\nsaturation: {kvCacheThreshold: 0.05}",
        "x.yaml: saturation");  // below kvSpareTrigger 0.1
  check("variants: [{name: a, profile: l40s-48gb, cost: 1}]\nsaturation: {colour: red}",
        "x.yaml: saturation");
}

TEST(Policies, ParsingAndSlugs) {
  const FleetConfig f = DefaultFleet();
  EXPECT_TRUE(MakePolicy("wva", f).has_value());
  EXPECT_TRUE(MakePolicy("hpa-kv:0.7", f).has_value());
  EXPECT_FALSE(MakePolicy("hpa-kv:70", f).has_value());
  EXPECT_FALSE(MakePolicy("static:nope=1", f).has_value());
  EXPECT_FALSE(MakePolicy("static:llama-8b-l40s=1.5", f).has_value());
  EXPECT_FALSE(MakePolicy("magic", f).has_value());
  auto s = MakePolicy("static:llama-8b-h100=2", f);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ((*s)->InitialReplicas(f), (std::vector<int>{0, 2}));
  EXPECT_EQ(PolicySlug("static:a=2,b=1"), "static-a-2_b-1");
  EXPECT_EQ(PolicySlug("hpa-kv:0.7"), "hpa-kv-0.7");
}

TEST(Report, SummaryHasExactlyTheSpecKeys) {
  const Result r = RunSim(DefaultFleet(), "poisson:rate=2,duration=120", "wva");
  const std::string s = SummaryJson(r);
  for (const char* key : {"\"requests\"",
                          "\"completed\"",
                          "\"preempted\"",
                          "\"slo\"",
                          "\"ttft_ms\"",
                          "\"itl_ms\"",
                          "\"attainment\"",
                          "\"p50\"",
                          "\"p90\"",
                          "\"p99\"",
                          "\"cost\"",
                          "\"usd\"",
                          "\"replica_hours\"",
                          "\"variants\"",
                          "\"avg_replicas\"",
                          "\"max_replicas\"",
                          "\"scaling_actions\"",
                          "\"sim_seconds\"",
                          "\"wall_seconds\"",
                          "\"policy\""}) {
    EXPECT_NE(s.find(key), std::string::npos) << key;
  }
  const std::string html = ReportHtml(r);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("<script src"), std::string::npos);  // self-contained
}

// Users see why the policy acted: every run that changed a target is in decisions.csv with the
// rule that drove it; within_slo per row adds up to the attainment.
TEST(Report, DecisionsAndPerIntervalAttainment) {
  FleetConfig fleet = DefaultFleet();
  fleet.actuator = ActuatorKind::kDirect;
  const Result r = RunSim(fleet, kShort, "wva");
  ASSERT_FALSE(r.decisions.empty());
  EXPECT_NE(r.decisions[0].reason.find("llama-8b-l40s scale-up 1->2 (saturation): "),
            std::string::npos)
      << r.decisions[0].reason;
  EXPECT_GT(r.decisions[0].t_s, 0);
  const std::string csv = DecisionsCsv(r);
  EXPECT_EQ(csv.rfind("t_s,reason\n", 0), 0u);
  EXPECT_EQ(static_cast<size_t>(std::count(csv.begin(), csv.end(), '\n')), r.decisions.size() + 1);
  int64_t good = 0;
  for (const Row& row : r.rows) {
    EXPECT_LE(row.within_slo, row.completed);
    good += row.within_slo;
  }
  EXPECT_NEAR(static_cast<double>(good) / r.requests, r.attainment, 1e-12);

  Result quoted;
  quoted.decisions.push_back({60, "a \"b\", c"});
  EXPECT_EQ(DecisionsCsv(quoted), "t_s,reason\n60,\"a \"\"b\"\", c\"\n");
}

}  // namespace
}  // namespace wva::sim

namespace wva::sim {
namespace {

// Replicas (ready + starting) per variant at each scrape row.
std::string Timeline(const Result& r, double every_s = 120) {
  std::string s;
  double next = 0;
  for (const Row& row : r.rows) {
    if (row.t_s + 1e-9 < next) {
      continue;
    }
    next = row.t_s + every_s;
    s += fmt::format("t={:.0f}", row.t_s);
    for (size_t v = 0; v < row.ready.size(); ++v) {
      s += fmt::format(" {}={}+{}", r.variant_names[v], row.ready[v], row.starting[v]);
    }
    s += "\n";
  }
  return s;
}

TEST(Placement, StockOutMovesGrowthToTheDearerVariantAndBack) {
  FleetConfig fleet = DefaultFleet();
  fleet.actuator = ActuatorKind::kDirect;
  // Only the running L40S replica has a node for the first 25 minutes.
  fleet.placement.stockouts = {{"llama-8b-l40s", 0, 1500, 1}};
  const Result r = RunSim(fleet, "diurnal:min_rate=2,max_rate=40,period=3600,duration=3600", "wva");
  int h100_in_window = 0, l40s_in_window = 0, l40s_after = 0, h100_after = 0;
  for (const Row& row : r.rows) {
    if (row.t_s < 1500) {
      h100_in_window = std::max(h100_in_window, row.ready[1] + row.starting[1]);
      l40s_in_window = std::max(l40s_in_window, row.ready[0]);
    } else {
      l40s_after = std::max(l40s_after, row.ready[0]);
      h100_after = std::max(h100_after, row.ready[1] + row.starting[1]);
    }
  }
  EXPECT_EQ(l40s_in_window, 1) << Timeline(r);
  EXPECT_GE(h100_in_window, 2) << Timeline(r);  // the deficit moved to the dearer variant
  // Once the window ends, growth goes to the cheap variant again, not to the dearer one.
  EXPECT_GE(l40s_after, 2) << Timeline(r);
  EXPECT_LE(h100_after, h100_in_window) << Timeline(r);
  bool named = false;
  for (const auto& d : r.decisions) {
    named |= d.reason.find("(stock-out)") != std::string::npos;
  }
  EXPECT_TRUE(named);
}

TEST(Placement, GpuBudgetCapsWhatWvaScalesTo) {
  FleetConfig fleet = DefaultFleet();
  fleet.actuator = ActuatorKind::kDirect;
  const Result free = RunSim(fleet, "poisson:rate=60,duration=2400", "wva");
  fleet.placement.has_budget = true;
  fleet.placement.budget.cluster = 4;
  fleet.placement.gpus_per_replica["llama-8b-h100"] = 2;
  const Result capped = RunSim(fleet, "poisson:rate=60,duration=2400", "wva");
  auto max_gpus = [](const Result& r) {
    int m = 0;
    for (const Row& row : r.rows) {
      m = std::max(m, row.ready[0] + row.starting[0] + 2 * (row.ready[1] + row.starting[1]));
    }
    return m;
  };
  EXPECT_GT(max_gpus(free), 4) << Timeline(free);
  EXPECT_LE(max_gpus(capped), 4) << Timeline(capped);
}

TEST(Placement, FleetKeysAreParsedAndValidated) {
  const std::string variants =
      "variants:\n  - {name: cheap, profile: l40s-48gb, cost: 1}\n"
      "  - {name: fast, profile: h100-80gb, cost: 4, minReplicas: 0}\n";
  auto f = ParseFleetYaml(variants +
                              "budgets: {cluster: 8, accelerators: {H100: 4}, "
                              "gpusPerReplica: {fast: 2}}\n"
                              "stockouts:\n  threshold: 1m\n  backoff: 10m\n  windows:\n"
                              "    - {variant: cheap, from: 10m, until: 40m, available: 2}\n"
                              "    - {variant: fast, from: 600}\n",
                          "f.yaml");
  ASSERT_TRUE(f.has_value()) << f.error().message();
  const FleetPlacement& p = f->placement;
  EXPECT_TRUE(p.has_budget);
  EXPECT_EQ(p.budget.cluster, 8);
  EXPECT_EQ(p.budget.per_accelerator.at("H100"), 4);
  EXPECT_EQ(p.GpusPerReplica("fast"), 2);
  EXPECT_EQ(p.GpusPerReplica("cheap"), 1);
  EXPECT_EQ(p.threshold_s, 60);
  EXPECT_EQ(p.backoff_s, 600);
  ASSERT_EQ(p.stockouts.size(), 2u);
  EXPECT_EQ(p.Schedulable("cheap", 599), -1);
  EXPECT_EQ(p.Schedulable("cheap", 600), 2);
  EXPECT_EQ(p.Schedulable("cheap", 2400), -1);
  EXPECT_EQ(p.Schedulable("fast", 1e6), 0);
  EXPECT_EQ(p.NextBoundary(0), 600);
  EXPECT_EQ(p.NextBoundary(600), 2400);
  auto check = [&](const std::string& extra, const std::string& want) {
    auto bad = ParseFleetYaml(variants + extra, "x.yaml");
    ASSERT_FALSE(bad.has_value()) << extra;
    EXPECT_NE(bad.error().message().find(want), std::string::npos) << bad.error().message();
  };
  check("budgets: {cluster: -1}", "x.yaml: budgets.cluster: must be a whole number >= 0");
  check("budgets: {clusters: 3}", "x.yaml: budgets.clusters: unknown field");
  check("budgets: {gpusPerReplica: {slow: 1}}", "budgets.gpusPerReplica.slow: no variant");
  check("stockouts: {windows: [{variant: cheap, from: 10m, until: 5m}]}",
        "x.yaml: stockouts.windows[0].until: must be after from");
  check("stockouts: {windows: [{variant: nope}]}", "stockouts.windows[0].variant: no variant");
  check("stockouts: {windows: [{variant: cheap, available: 1.5}]}",
        "stockouts.windows[0].available: must be a whole number >= 0");
  check("stockouts: {threshold: 2m}", "x.yaml: stockouts.windows: required");
}

}  // namespace
}  // namespace wva::sim
