// The decision bench's instruments: the llm-d KEDA recipes against hand-computed cases, the
// flow-control router, the best-static search and the oracle bound.
#include "sim/policy_keda.h"

#include <gtest/gtest.h>

#include "sim/hpa.h"
#include "sim/report.h"
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
  view.variants[0].inflight_prompt_tokens = 3.0 * vp;    // 3 s of prefill held by the pods
  view.gateway_prompt_tokens = 1.0 * vp;                 // + 1 s waiting at the gateway
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
  for (const char* ok : {"keda-token", "keda-token:queue=2", "keda-token:queue=slo,kv=0.7"})
    EXPECT_TRUE(MakePolicy(ok, fleet).has_value()) << ok;
  for (const char* bad : {"keda-token:queue=0", "keda-token:kv=1.5", "keda-token:x=1",
                          "keda-token:queue", "keda-tokens", "keda-slo:x=1"})
    EXPECT_FALSE(MakePolicy(bad, fleet).has_value()) << bad;
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
  EXPECT_EQ(KedaSloPolicy::Desired(0.2, 4, 1), 2);   // 4 - floor(2)
  EXPECT_EQ(KedaSloPolicy::Desired(0.1, 4, 4), 1);   // 4 - floor(3)
  EXPECT_EQ(KedaSloPolicy::Desired(0.0, 4, 4), 0);
  EXPECT_EQ(KedaSloPolicy::Desired(2.0, 0, 0), 0);   // multiplicative: 0 stays 0
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
  run(15, 3000, 40);   // max(1.5, 0.5) = 1.5
  EXPECT_EQ(out[0].value, KedaSloPolicy::Desired(1.5, 4, 4));
  run(30, 1000, 100);  // max(0.5, 1.25) = 1.25
  run(45, 10000, 0);   // min(5, 2) = 2
  // (1.5 + 1.25 + 2) / 3
  EXPECT_EQ(out[0].value, KedaSloPolicy::Desired(4.75 / 3, 4, 4));
  run(60, -1, -1);     // no sample; the one at t = 15 leaves the window
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
    for (const auto& d : r.decisions)
      EXPECT_TRUE(d.reason.rfind("llama-8b-", 0) == 0) << policy << ": " << d.reason;
    EXPECT_EQ(r.requests, r.completed + r.rejected + r.unfinished) << policy;
  }
  // An HPA policy's entries are its replica changes: never more than the scaling actions.
  const Result kv = RunSim(fleet, burst, "hpa-kv:0.7");
  EXPECT_LE(static_cast<int64_t>(kv.decisions.size()), kv.scaling_actions);
}

TEST(Router, HasRoomForCountsBatchSlotsAndPromisedBlocks) {
  Profile p = *BuiltinProfile("l40s-48gb");
  p.max_num_seqs = 2;
  p.num_gpu_blocks = 100;  // 1600 tokens
  Replica r(p);
  EXPECT_TRUE(r.HasRoomFor(1500));
  EXPECT_FALSE(r.HasRoomFor(1601));
  r.Submit({1, 0, 800, 10});   // admitted at once (step starts): 50 blocks held
  EXPECT_TRUE(r.HasRoomFor(800));
  EXPECT_FALSE(r.HasRoomFor(801));
  r.Submit({2, 0, 100, 10});   // waits for the next step, 7 blocks promised; batch now full
  EXPECT_FALSE(r.HasRoomFor(1));
}

TEST(Router, FlowControlHoldsRequestsAtTheGateway) {
  FleetConfig fleet = DefaultFleet();
  fleet.router = RouterKind::kFlowControl;
  fleet.variants[0].profile.max_num_seqs = 8;
  const Result held = RunSim(fleet, "poisson:rate=15,duration=600", "static:llama-8b-l40s=2");
  EXPECT_EQ(held.requests, held.completed + held.rejected);
  EXPECT_EQ(held.unfinished, 0);
  int64_t peak_waiting = 0;
  for (const Row& row : held.rows) peak_waiting = std::max(peak_waiting, row.waiting);
  EXPECT_GT(peak_waiting, 0);
  // Nothing queues inside an engine beyond its batch: no preemption with room checked first.
  EXPECT_EQ(held.preemptions, 0);
}

}  // namespace
}  // namespace wva::sim
