// The decision bench's instruments: the llm-d KEDA recipes against hand-computed cases, the
// flow-control router, the best-static search and the oracle bound.
#include "sim/policy_keda.h"

#include <gtest/gtest.h>

#include "sim/compare.h"
#include "sim/hpa.h"
#include "sim/report.h"
#include "sim/search.h"
#include "sim/simulator.h"
#include "sim/workload.h"

namespace wva::sim {
namespace {

ControllerView ViewOf(const FleetConfig& fleet, double now) {
  ControllerView v;
  v.now_s = now;
  v.fleet = &fleet;
  v.variants.assign(fleet.variants.size(), VariantView{});
  return v;
}

ReplicaView Pod(int variant, double kv) {
  ReplicaView r;
  r.variant = variant;
  r.has_metrics = true;
  r.kv_last = kv;
  r.kv_max = kv;
  return r;
}

TEST(KedaToken, PeakPrefillThroughputOfTheL40sProfile) {
  // 2048 tokens per step of 22.6 + 5 + 0.09 * 2048 = 211.92 ms.
  EXPECT_NEAR(PeakPrefillTokensPerSecond(*BuiltinProfile("l40s-48gb")), 2048000.0 / 211.92, 1e-6);
}

TEST(KedaToken, PrefillBacklogInSecondsOverTheQueueTarget) {
  const FleetConfig fleet = DefaultFleet();
  const double vp = PeakPrefillTokensPerSecond(fleet.variants[0].profile);
  auto p = MakePolicy("keda-token", fleet);
  ASSERT_TRUE(p.has_value());
  ControllerView view = ViewOf(fleet, 15);
  view.variants[0].current = view.variants[0].ready = 2;
  view.variants[0].inflight_prompt_tokens = 3.0 * vp;  // 3 s of prefill held by the pods
  view.gateway_prompt_tokens = 1.0 * vp;               // + 1 s waiting at the gateway
  view.replicas = {Pod(0, 0.9), Pod(0, 0.7)};
  std::vector<Signal> out(2);
  (*p)->Run(view, &out);
  ASSERT_EQ(out[0].kind, Signal::Kind::kReplicas);
  EXPECT_NEAR(out[0].value, 4.0, 1e-9);
  EXPECT_DOUBLE_EQ(out[0].target, 1.5);
  ASSERT_EQ(out[0].also.size(), 1u);
  EXPECT_EQ(out[0].also[0].kind, Signal::Kind::kPodsAverage);
  EXPECT_NEAR(out[0].also[0].value, 0.8, 1e-12);
  EXPECT_DOUBLE_EQ(out[0].also[0].target, 0.8);
  // Prefill asks ceil(4 / 1.5) = 3; KV at its target asks 2: the larger wins.
  EXPECT_EQ(RawRecommendation(out[0], 2, 0.1), 3);
  // The gateway's backlog belongs to the pool: the H100 variant (no pods) sees it too and
  // starts ceil(1 s of H100 prefill / 1.5 s) = 1 replica from 0.
  const double vp_h100 = PeakPrefillTokensPerSecond(fleet.variants[1].profile);
  EXPECT_NEAR(out[1].value, vp / vp_h100, 1e-9);
  EXPECT_TRUE(out[1].also.empty());
  EXPECT_EQ(RawRecommendation(out[1], 0, 0.1), 1);
}

TEST(KedaToken, KvTriggerWinsWhenThePrefillQueueIsEmpty) {
  const FleetConfig fleet = DefaultFleet();
  auto p = MakePolicy("keda-token:kv=0.8", fleet);
  ASSERT_TRUE(p.has_value());
  ControllerView view = ViewOf(fleet, 15);
  view.variants[0].current = 2;
  view.replicas = {Pod(0, 0.96), Pod(0, 0.96)};
  std::vector<Signal> out(2);
  (*p)->Run(view, &out);
  // Prefill 0 s asks 0; KV 0.96 / 0.8 = 1.2 over 2 pods asks ceil(2.4) = 3.
  EXPECT_EQ(RawRecommendation(out[0], 2, 0.1), 3);
}

TEST(KedaToken, QueueTargetFromTheSlo) {
  FleetConfig fleet = DefaultFleet();
  fleet.slo.ttft_ms = 2000;
  const double vp = PeakPrefillTokensPerSecond(fleet.variants[0].profile);
  auto p = MakePolicy("keda-token:queue=slo", fleet);
  ASSERT_TRUE(p.has_value());
  ControllerView view = ViewOf(fleet, 15);
  view.mean_prompt_tokens = 0.5 * vp;  // 0.5 s of prefill per request: target 2 - 0.5 = 1.5 s
  std::vector<Signal> out(2);
  (*p)->Run(view, &out);
  EXPECT_NEAR(out[0].target, 1.5, 1e-9);
}

TEST(KedaToken, OptionsAreValidated) {
  const FleetConfig fleet = DefaultFleet();
  for (const char* ok : {"keda-token", "keda-token:queue=2", "keda-token:queue=slo,kv=0.7"}) {
    EXPECT_TRUE(MakePolicy(ok, fleet).has_value()) << ok;
  }
  for (const char* bad : {"keda-token:queue=0", "keda-token:kv=1.5", "keda-token:x=1",
                          "keda-token:queue", "keda-tokens", "keda-slo:x=1"}) {
    EXPECT_FALSE(MakePolicy(bad, fleet).has_value()) << bad;
  }
}

TEST(KedaSlo, FormulaWithInFlightCredit) {
  // s > 0.55: n + ceil(n (s c / 0.55 - 1)), c = ready / n.
  EXPECT_EQ(KedaSloPolicy::Desired(1.5, 4, 4), 11);  // 4 + ceil(4 * 1.7273) = 4 + 7
  EXPECT_EQ(KedaSloPolicy::Desired(1.5, 4, 2), 6);   // c = 0.5: 4 + ceil(4 * 0.3636) = 4 + 2
  EXPECT_EQ(KedaSloPolicy::Desired(0.6, 4, 2), 3);   // credit below 1: 4 + ceil(-1.82) = 3
  // 0.40 <= s <= 0.55: hold.
  EXPECT_EQ(KedaSloPolicy::Desired(0.5, 4, 4), 4);
  EXPECT_EQ(KedaSloPolicy::Desired(0.55, 4, 4), 4);
  // s < 0.40: n - floor(n (1 - s / 0.40)), uncredited.
  EXPECT_EQ(KedaSloPolicy::Desired(0.2, 4, 1), 2);  // 4 - floor(2)
  EXPECT_EQ(KedaSloPolicy::Desired(0.1, 4, 4), 1);  // 4 - floor(3)
  EXPECT_EQ(KedaSloPolicy::Desired(0.0, 4, 4), 0);
  EXPECT_EQ(KedaSloPolicy::Desired(2.0, 0, 0), 0);  // multiplicative: 0 stays 0
}

TEST(KedaSlo, RatioIsCappedAndAveragedOver45Seconds) {
  FleetConfig fleet = DefaultFleet();
  fleet.slo.ttft_ms = 2000;
  fleet.slo.itl_ms = 80;
  KedaSloPolicy p("keda-slo");
  std::vector<Signal> out(2);
  auto run = [&](double t, double ttft, double tpot) {
    ControllerView view = ViewOf(fleet, t);
    view.variants[0].current = 4;
    view.variants[0].ready = 4;
    view.variants[0].ttft_p90_ms = ttft;
    view.variants[0].tpot_p90_ms = tpot;
    out.assign(2, Signal{});
    p.Run(view, &out);
  };
  run(15, 3000, 40);  // max(1.5, 0.5) = 1.5
  EXPECT_EQ(out[0].value, KedaSloPolicy::Desired(1.5, 4, 4));
  run(30, 1000, 100);  // max(0.5, 1.25) = 1.25
  run(45, 10000, 0);   // min(5, 2) = 2
  // (1.5 + 1.25 + 2) / 3
  EXPECT_EQ(out[0].value, KedaSloPolicy::Desired(4.75 / 3, 4, 4));
  run(60, -1, -1);  // no sample; the one at t = 15 leaves the window
  EXPECT_EQ(out[0].value, KedaSloPolicy::Desired(3.25 / 2, 4, 4));
  EXPECT_EQ(out[1].kind, Signal::Kind::kNone);  // never a sample: no metric
  run(120, -1, -1);
  EXPECT_EQ(out[0].kind, Signal::Kind::kNone);
}

TEST(KedaSlo, HpaBehaviourOfTheRecipe) {
  const HpaConfig b = KedaSloPolicy("keda-slo").HpaBehavior(DefaultFleet());
  const Signal want20{Signal::Kind::kReplicas, 20, 1, 0};
  HpaModel up(b, 1, 100);
  EXPECT_EQ(up.Sync(0, want20, 2), 6);    // max(100 % -> 4, 4 pods -> 6)
  EXPECT_EQ(up.Sync(15, want20, 6), 6);   // the 60 s period still holds the +4
  EXPECT_EQ(up.Sync(60, want20, 6), 12);  // max(12, 10)
  const Signal want1{Signal::Kind::kReplicas, 1, 1, 0};
  HpaModel down(b, 1, 100);
  EXPECT_EQ(down.Sync(0, Signal{Signal::Kind::kReplicas, 5, 1, 0}, 5), 5);
  EXPECT_EQ(down.Sync(15, want1, 5), 5);   // 180 s window remembers 5
  EXPECT_EQ(down.Sync(195, want1, 5), 4);  // window passed: 1 pod per 120 s
  EXPECT_EQ(down.Sync(210, want1, 4), 4);
  EXPECT_EQ(down.Sync(315, want1, 4), 3);
  // The up window is 30 s: the lowest recommendation of the last 30 s wins.
  HpaModel win(b, 1, 100);
  EXPECT_EQ(win.Sync(0, Signal{Signal::Kind::kReplicas, 3, 1, 0}, 3), 3);
  EXPECT_EQ(win.Sync(15, Signal{Signal::Kind::kReplicas, 5, 1, 0}, 3), 3);
  EXPECT_EQ(win.Sync(45, Signal{Signal::Kind::kReplicas, 5, 1, 0}, 3), 5);
}

Result RunSim(const FleetConfig& fleet, const std::string& workload, const std::string& policy) {
  auto w = MakeSynthetic(workload, 1);
  EXPECT_TRUE(w.has_value());
  auto p = MakePolicy(policy, fleet);
  EXPECT_TRUE(p.has_value()) << policy;
  auto r = Simulate(fleet, **w, **p, RunOptions{});
  EXPECT_TRUE(r.has_value()) << r.error().message();
  return *r;
}

TEST(Decisions, EveryPolicyThatActsFillsDecisionsCsv) {
  FleetConfig fleet = DefaultFleet();
  const std::string burst = "onoff:rate_on=30,rate_off=2,on=600,off=300,duration=1800";
  for (const char* policy : {"hpa-kv:0.7", "keda-token", "keda-slo", "wva"}) {
    const Result r = RunSim(fleet, burst, policy);
    EXPECT_GT(r.scaling_actions, 0) << policy;
    ASSERT_FALSE(r.decisions.empty()) << policy;
    // Each entry names a variant of the fleet first.
    for (const auto& d : r.decisions) {
      EXPECT_TRUE(d.reason.rfind("llama-8b-", 0) == 0) << policy << ": " << d.reason;
    }
    EXPECT_EQ(r.requests, r.completed + r.rejected + r.unfinished) << policy;
  }
  // An HPA policy's entries are its replica changes: never more than the scaling actions.
  const Result kv = RunSim(fleet, burst, "hpa-kv:0.7");
  EXPECT_LE(static_cast<int64_t>(kv.decisions.size()), kv.scaling_actions);
}

TEST(Router, HasRoomForCountsBatchSlotsAndPromisedBlocks) {
  PerfProfile p = *BuiltinProfile("l40s-48gb");
  p.max_batch = 2;
  p.kv_capacity_tokens = 100 * 16;  // 1600 tokens
  Replica r(p);
  EXPECT_TRUE(r.HasRoomFor(1500));
  EXPECT_FALSE(r.HasRoomFor(1601));
  r.Submit({1, 0, 800, 10});  // admitted at once (step starts): 50 blocks held
  EXPECT_TRUE(r.HasRoomFor(800));
  EXPECT_FALSE(r.HasRoomFor(801));
  r.Submit({2, 0, 100, 10});  // waits for the next step, 7 blocks promised; batch now full
  EXPECT_FALSE(r.HasRoomFor(1));
}

TEST(Router, FlowControlHoldsRequestsAtTheGateway) {
  FleetConfig fleet = DefaultFleet();
  fleet.router = RouterKind::kFlowControl;
  fleet.variants[0].profile.max_batch = 8;
  const Result held = RunSim(fleet, "poisson:rate=15,duration=600", "static:llama-8b-l40s=2");
  EXPECT_EQ(held.requests, held.completed + held.rejected);
  EXPECT_EQ(held.unfinished, 0);
  int64_t peak_waiting = 0;
  for (const Row& row : held.rows) {
    peak_waiting = std::max(peak_waiting, row.waiting);
  }
  EXPECT_GT(peak_waiting, 0);
  // Nothing queues inside an engine beyond its batch: no preemption with room checked first.
  EXPECT_EQ(held.preemptions, 0);
}

TEST(Router, FlowControlIsParsedFromTheFleet) {
  auto f = ParseFleetYaml(
      "router: flow-control\nvariants: [{name: a, profile: l40s-48gb, cost: 1}]", "f.yaml");
  ASSERT_TRUE(f.has_value()) << f.error().message();
  EXPECT_EQ(f->router, RouterKind::kFlowControl);
}

FleetConfig TwoVariants(double cost_a, int max_a, double cost_b, int max_b) {
  FleetConfig f = DefaultFleet();
  f.variants[0].name = "a";
  f.variants[0].cost = cost_a;
  f.variants[0].min_replicas = 0;
  f.variants[0].max_replicas = max_a;
  f.variants[0].initial_replicas = 0;
  f.variants[1].name = "b";
  f.variants[1].cost = cost_b;
  f.variants[1].min_replicas = 0;
  f.variants[1].max_replicas = max_b;
  f.variants[1].initial_replicas = 0;
  return f;
}

TEST(SearchStatic, CandidatesInPriceOrder) {
  using V = std::vector<std::vector<int>>;
  // a $1 (0..2), b $3 (0..1): $1, $2, $3, $4, $5.
  EXPECT_EQ(CountsByPrice(TwoVariants(1, 2, 3, 1), false),
            (V{{1, 0}, {2, 0}, {0, 1}, {1, 1}, {2, 1}}));
  // Equal price: fewer replicas first (b1 before a2 at $2).
  EXPECT_EQ(CountsByPrice(TwoVariants(1, 2, 2, 1), true),
            (V{{0, 0}, {1, 0}, {0, 1}, {2, 0}, {1, 1}, {2, 1}}));
  EXPECT_EQ(StaticSpec(TwoVariants(1, 2, 2, 1), {0, 1}), "static:b=1");
}

TEST(SearchStatic, PriceOrderFindsTheFastFleetWhereMoreReplicasDoWorse) {
  // "slow" prefills at 1 ms per token: a 2000-token prompt alone misses a 2 s TTFT. With long
  // prompts the least-loaded router sends half the traffic to it, so fast + slow is worse than
  // fast alone: attainment is not monotone in the replica count.
  FleetConfig fleet = TwoVariants(0.5, 1, 1.0, 1);
  fleet.variants[0].name = "slow";
  fleet.variants[0].profile.delta_ms = 1.0;
  fleet.variants[1].name = "fast";
  const std::string load =
      "poisson:rate=2,duration=600,prompt_median=2000,prompt_sigma=0.2,"
      "output_median=50,output_sigma=0.2";
  const WorkloadFactory open = [&] { return MakeSynthetic(load, 1); };
  auto s = SearchStatic(fleet, open, RunOptions{});
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_TRUE(s->found);
  EXPECT_EQ(s->spec, "static:fast=1");
  EXPECT_EQ(s->tried, 2);  // slow=1 ($0.5) missed, fast=1 ($1) met
  EXPECT_DOUBLE_EQ(s->usd_per_hour, 1.0);
  const Result both = RunSim(fleet, load, "static:slow=1,fast=1");
  EXPECT_LT(both.attainment, fleet.slo.percentile);
  EXPECT_GE(s->result.attainment, fleet.slo.percentile);
  const std::string json = StaticSearchJson(*s, fleet);
  EXPECT_NE(json.find("\"policy\": \"static:fast=1\""), std::string::npos);
  EXPECT_NE(json.find("\"found\": true"), std::string::npos);
}

TEST(SearchStatic, NoneReachingTheTargetReportsTheBestAttainment) {
  FleetConfig fleet = TwoVariants(1, 1, 2, 1);
  fleet.variants[0].profile.delta_ms = 5.0;
  fleet.variants[1].profile.delta_ms = 5.0;
  const WorkloadFactory open = [] {
    return MakeSynthetic("poisson:rate=1,duration=300,prompt_median=2000,prompt_sigma=0.1", 1);
  };
  auto s = SearchStatic(fleet, open, RunOptions{});
  ASSERT_TRUE(s.has_value());
  EXPECT_FALSE(s->found);
  EXPECT_EQ(s->tried, 3);
}

TEST(Compare, NiceTicksAndTimeUnits) {
  EXPECT_EQ(NiceTicks(87), (std::vector<double>{0, 20, 40, 60, 80, 100}));
  EXPECT_EQ(NiceTicks(4.5), (std::vector<double>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(NiceTicks(12), (std::vector<double>{0, 2.5, 5, 7.5, 10, 12.5}));
  EXPECT_EQ(NiceTicks(0), (std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}));
  EXPECT_EQ(TimeUnit(3600).second, "min");
  EXPECT_EQ(TimeUnit(6 * 3600).second, "h");
  EXPECT_EQ(TimeUnit(120).second, "s");
}

TEST(Compare, TableCsvJsonAndHtmlNameTheSloAndTheMark) {
  const FleetConfig fleet = DefaultFleet();
  const std::string load = "poisson:rate=3,duration=600";
  std::vector<Result> rs = {RunSim(fleet, load, "static:llama-8b-l40s=2"),
                            RunSim(fleet, load, "hpa-kv:0.7")};
  rs.push_back(RunSim(fleet, "poisson:rate=40,duration=600", "static:llama-8b-l40s=1"));
  const std::string table = CompareTable(rs);
  EXPECT_NE(table.find("TTFT <= 2000 ms and ITL <= 80 ms for >= 90%"), std::string::npos);
  EXPECT_NE(table.find("cost ($)"), std::string::npos);
  EXPECT_NE(table.find(" met "), std::string::npos);
  EXPECT_NE(table.find("MISSED"), std::string::npos);
  const std::string csv = CompareCsv(rs);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
  EXPECT_NE(csv.find("\"static:llama-8b-l40s=2\","), std::string::npos);
  const std::string json = CompareJson(rs, "w");
  EXPECT_NE(json.find("\"slo_met\": false"), std::string::npos);
  const std::string html = CompareHtml(rs, "w");
  // One chart per variant, cost, TTFT; the SLO line is labelled.
  size_t svgs = 0;
  for (size_t i = 0; (i = html.find("<svg", i)) != std::string::npos; ++i) {
    ++svgs;
  }
  EXPECT_EQ(svgs, 4u);
  EXPECT_NE(html.find("SLO 2"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);  // self-contained, static
}

// The oracle is a lower bound in practice: on small traces no other policy reaches its
// attainment for less money.
TEST(Oracle, NoOtherPolicyReachesTheSameAttainmentForLess) {
  FleetConfig fleet = DefaultFleet();
  for (const std::string& load :
       {std::string("onoff:rate_on=25,rate_off=3,on=300,off=600,duration=1800"),
        std::string("diurnal:min_rate=2,max_rate=30,duration=1800"),
        std::string("poisson:rate=8,duration=1200")}) {
    const WorkloadFactory open = [&] { return MakeSynthetic(load, 1); };
    auto oracle = MakeOracle(fleet, open, RunOptions{});
    ASSERT_TRUE(oracle.has_value()) << oracle.error().message();
    auto w = open();
    ASSERT_TRUE(w.has_value());
    auto ro = Simulate(fleet, **w, **oracle, RunOptions{});
    ASSERT_TRUE(ro.has_value());
    EXPECT_GE(ro->attainment, fleet.slo.percentile) << load;
    std::vector<Result> others;
    for (const char* p : {"wva", "wva-slo", "hpa-kv:0.7", "keda-token", "keda-slo"}) {
      others.push_back(RunSim(fleet, load, p));
    }
    auto st = SearchStatic(fleet, open, RunOptions{});
    ASSERT_TRUE(st.has_value());
    others.push_back(st->result);
    for (const Result& r : others) {
      EXPECT_FALSE(r.attainment >= ro->attainment && r.cost_usd < ro->cost_usd)
          << load << ": " << r.policy << " " << r.attainment << " $" << r.cost_usd << " vs oracle "
          << ro->attainment << " $" << ro->cost_usd;
    }
  }
}

TEST(Oracle, OrdersCapacityAStartUpDelayAhead) {
  FleetConfig fleet = DefaultFleet();
  fleet.variants[0].startup_min_s = fleet.variants[0].startup_max_s = 300;
  // Slots of 60 s; slot 10 (t = 600..660) needs 3 L40S, everything else 1.
  std::vector<std::vector<int>> plan(20, std::vector<int>{1, 0});
  plan[10] = {3, 0};
  OraclePolicy p(plan, 60, 1.0);
  auto at = [&](double t) {
    ControllerView view = ViewOf(fleet, t);
    view.variants[0].current = 1;
    std::vector<Signal> out(2);
    p.Run(view, &out);
    return static_cast<int>(out[0].value);
  };
  // Look-ahead 300 s start-up + 60 s interval: from t = 240 on the need at 600 is visible.
  EXPECT_EQ(at(180), 1);
  EXPECT_EQ(at(240), 3);
  EXPECT_EQ(at(600), 3);
  EXPECT_EQ(at(660), 1);  // slot 10 over: released
}

}  // namespace
}  // namespace wva::sim
