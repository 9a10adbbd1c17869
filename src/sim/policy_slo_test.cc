// `wva-slo` in the simulator (issue #8): option parsing, the SLO input it builds, and end-to-end
// runs on synthetic bursts and (when present) the Azure traces: it meets the SLO where a reactive
// policy can, beats `wva` on attainment, and costs no more than `wva` where both meet the SLO.
#include "sim/policy_slo.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "sim/simulator.h"
#include "sim/workload.h"

namespace wva::sim {
namespace {

Result RunPolicy(const FleetConfig& fleet, std::unique_ptr<Workload> w, const std::string& policy) {
  auto p = MakePolicy(policy, fleet);
  EXPECT_TRUE(p.has_value()) << p.error().message();
  RunOptions opt;
  opt.seed = 1;
  auto r = Simulate(fleet, *w, **p, opt);
  EXPECT_TRUE(r.has_value()) << r.error().message();
  return *r;
}

Result RunSynthetic(const FleetConfig& fleet, const std::string& spec, const std::string& policy) {
  auto w = MakeSynthetic(spec, 1);
  EXPECT_TRUE(w.has_value()) << w.error().message();
  return RunPolicy(fleet, std::move(*w), policy);
}

// Three L40S ready at t = 0: the fleet starts sized for the traffic, so what is measured is the
// policy, not the cold start (the first controller cycle is a minute in, replicas take 2–7).
FleetConfig WarmFleet() {
  FleetConfig f = DefaultFleet();
  f.variants[0].initial_replicas = 3;
  return f;
}

TEST(WvaSloPolicy, ParsesOptions) {
  const FleetConfig fleet = DefaultFleet();
  for (const char* ok :
       {"wva-slo", "wva-slo:p=0.995", "wva-slo:headroom=0.2,cv=0.5,itl=0.9",
        "wva-slo:lead=0,hold=0", "wva-slo:feedback=0", "wva-slo:fbmax=4,release=900,gain=5"}) {
    auto p = MakePolicy(ok, fleet);
    ASSERT_TRUE(p.has_value()) << ok << ": " << p.error().message();
    EXPECT_EQ((*p)->Name(), ok);
  }
  for (const char* bad : {"wva-slo:p=2", "wva-slo:x=1", "wva-slo:headroom", "wva-slo:cv=abc",
                          "wva-slo:feedback=2", "wva-slo:fbmax=0.5"}) {
    EXPECT_FALSE(MakePolicy(bad, fleet).has_value()) << bad;
  }
}

TEST(WvaSloPolicy, BuildsObservationFromFleetAndView) {
  FleetConfig fleet = DefaultFleet();
  fleet.slo.ttft_ms = 1500;
  fleet.slo.itl_ms = 60;
  fleet.slo.percentile = 0.9;
  WvaSloPolicy p("wva-slo", WvaSloPolicy::Options{});
  ControllerView v;
  v.fleet = &fleet;
  v.now_s = 60;
  v.arrival_rate_rps = 7;
  v.mean_prompt_tokens = 900;
  v.mean_output_tokens = 150;
  v.window_finished = 400;
  v.window_good = 390;
  v.window_ttft_good = 395;
  v.window_itl_good = 392;
  const core::Observation obs = p.ObservationOf(v);
  EXPECT_EQ(obs.targets.ttft_ms, 1500);
  EXPECT_EQ(obs.targets.itl_ms, 60);
  EXPECT_EQ(obs.targets.percentile, 0.9);
  EXPECT_EQ(obs.targets.headroom, 0.10);
  EXPECT_EQ(obs.traffic.arrival_rate, 7);
  EXPECT_EQ(obs.traffic.mean_prompt_tokens, 900);
  EXPECT_EQ(obs.traffic.finished, 400);
  EXPECT_EQ(obs.traffic.ttft_good, 395);
  EXPECT_EQ(obs.traffic.itl_good, 392);
  EXPECT_EQ(obs.interval_s, fleet.interval_s);
  ASSERT_EQ(obs.profiles.size(), fleet.variants.size());
  ASSERT_EQ(obs.startup_s.size(), fleet.variants.size());
  EXPECT_EQ(obs.startup_s[0],
            (fleet.variants[0].startup_min_s + fleet.variants[0].startup_max_s) / 2);
  EXPECT_EQ(obs.profiles[0]->alpha_ms, fleet.variants[0].profile.alpha_ms);
  EXPECT_EQ(obs.profiles[0]->kv_capacity_tokens, fleet.variants[0].profile.kv_capacity_tokens);
}

TEST(WvaSloPolicy, DiurnalRampMeetsSlo) {
  const std::string spec(kDefaultWorkload);  // diurnal 2 -> 45 req/s over an hour
  const Result slo = RunSynthetic(DefaultFleet(), spec, "wva-slo");
  const Result sat = RunSynthetic(DefaultFleet(), spec, "wva");
  EXPECT_GE(slo.attainment, 0.99);
  EXPECT_GE(slo.attainment, sat.attainment);
}

TEST(WvaSloPolicy, OnOffBurstsMeetSlo) {
  const std::string spec = "onoff:rate_on=12,rate_off=3,on=120,off=300,duration=2400";
  const Result slo = RunSynthetic(WarmFleet(), spec, "wva-slo");
  const Result sat = RunSynthetic(WarmFleet(), spec, "wva");
  EXPECT_GE(slo.attainment, 0.99);
  EXPECT_GT(slo.attainment, sat.attainment);
}

TEST(WvaSloPolicy, NoDearerThanWvaWhereBothMeetSlo) {
  const std::string spec = "poisson:rate=4,duration=1800";
  const Result slo = RunSynthetic(DefaultFleet(), spec, "wva-slo");
  const Result sat = RunSynthetic(DefaultFleet(), spec, "wva");
  ASSERT_GE(sat.attainment, 0.99);
  EXPECT_GE(slo.attainment, 0.99);
  EXPECT_LE(slo.cost_usd, sat.cost_usd + 1e-9);
}

std::string TracePath(const char* name) { return std::string(WVA_TRACES_DIR) + "/" + name; }

TEST(WvaSloPolicy, AzureConversationTrace) {
  const std::string path = TracePath("azure2023_AzureLLMInferenceTrace_conv.csv");
  if (!std::filesystem::exists(path)) {
    GTEST_SKIP() << path << " not present";
  }
  auto w1 = OpenTrace(path);
  auto w2 = OpenTrace(path);
  ASSERT_TRUE(w1.has_value() && w2.has_value());
  const Result slo = RunPolicy(WarmFleet(), std::move(*w1), "wva-slo");
  const Result sat = RunPolicy(WarmFleet(), std::move(*w2), "wva");
  EXPECT_GE(slo.attainment, 0.99);
  EXPECT_GE(slo.attainment, sat.attainment);
  if (sat.attainment >= 0.99) {
    EXPECT_LE(slo.cost_usd, sat.cost_usd);
  }
}

// The code trace comes in bursts of seconds (up to 67 requests in one second, ~2,000-token
// prompts) whose prefills stall every decoding sequence. The first burst (minute 3) hits the warm
// fleet before any replica can start; from then on wva-slo stays near the goal. The closed-loop
// correction is bounded (capped, not raised by misses the start-up delay explains): it must not
// make things worse than the open loop; with the burst hold and the scale-down guard the open
// loop already reaches ~95% here (it reached ~81% before them).
TEST(WvaSloPolicy, AzureCodeTrace) {
  const std::string path = TracePath("azure2023_AzureLLMInferenceTrace_code.csv");
  if (!std::filesystem::exists(path)) {
    GTEST_SKIP() << path << " not present";
  }
  auto w1 = OpenTrace(path);
  auto w2 = OpenTrace(path);
  auto w3 = OpenTrace(path);
  ASSERT_TRUE(w1.has_value() && w2.has_value() && w3.has_value());
  const Result slo = RunPolicy(WarmFleet(), std::move(*w1), "wva-slo");
  const Result sat = RunPolicy(WarmFleet(), std::move(*w2), "wva");
  const Result open_loop = RunPolicy(WarmFleet(), std::move(*w3), "wva-slo:feedback=0");
  EXPECT_GE(slo.attainment, 0.93);
  EXPECT_GT(slo.attainment, sat.attainment + 0.1);
  EXPECT_GE(slo.attainment, open_loop.attainment - 0.02);
  int64_t done = 0, good = 0;
  for (const Row& row : slo.rows) {
    if (row.t_s <= 300) {
      continue;  // the first burst, before a new replica can be ready
    }
    done += row.completed;
    good += row.within_slo;
  }
  ASSERT_GT(done, 8000);
  // Well above the 90 % goal once the first burst is served. (0.97 before growth toward the
  // cheapest mix: its fewer, larger replicas save 8 % on this trace for about 1.5 points here.)
  EXPECT_GE(static_cast<double>(good) / done, 0.95);
}

}  // namespace
}  // namespace wva::sim
