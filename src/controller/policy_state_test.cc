// The SLO policy's memory across a restart or leader change: encode/decode, bad documents, the
// size bound, and a controller that restores it deciding as the uninterrupted one.
#include "controller/policy_state.h"

#include <gtest/gtest.h>

#include <cmath>

#include "controller/reconciler.h"

namespace wva::controller {
namespace {

core::PolicyState Sample(double t0) {
  core::PolicyState s;
  for (int k = 0; k < 11; ++k) {
    s.rates.emplace_back(t0 + 60 * k, 3.25 + 0.125 * k);
  }
  s.last_prompt = 812.5;
  s.last_output = 151;
  s.first_run_s = t0;
  s.correction = 1.75;
  s.correction_t = t0 + 600;
  s.last_scale_up_s = t0 + 540;
  s.last_deficit_s = -1;
  s.startup_s = {{"llama-l40s", 185}, {"llama-h100", 240}};
  return s;
}

TEST(PolicyState, RoundTrips) {
  PolicyStates in = {{{"prod", "meta/llama"}, Sample(1.7e9)}, {{"dev", "m"}, Sample(1.7e9 + 5)}};
  auto out = DecodePolicyStates(EncodePolicyStates(in));
  ASSERT_TRUE(out.has_value()) << out.error().message();
  EXPECT_EQ(*out, in);
}

TEST(PolicyState, BadDocumentsAreRefusedNamingWhere) {
  for (const char* bad :
       {"", "[]", R"({"version":2,"models":[]})", R"({"version":1})",
        R"({"version":1,"models":[{"model":"m"}]})",
        R"({"version":1,"models":[{"namespace":"a","model":"m","rates":[[1]]}]})",
        R"({"version":1,"models":[{"namespace":"a","model":"m","correction":0.5}]})",
        R"({"version":1,"models":[{"namespace":"a","model":"m","lastPrompt":-1}]})",
        R"({"version":1,"models":[{"namespace":"a","model":"m",)"
        R"("startupSeconds":{"x":0}}]})"}) {
    EXPECT_FALSE(DecodePolicyStates(bad).has_value()) << bad;
  }
  auto e = DecodePolicyStates(
      R"({"version":1,"models":[{"namespace":"a","model":"m"},{"namespace":"b","model":"n","rates":"x"}]})");
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code(), StatusCode::kInvalidArgument);
}

// Over the size bound, the models decided longest ago are left out, and counted.
TEST(PolicyState, SizeBoundKeepsTheMostRecentModels) {
  PolicyStates in;
  for (int i = 0; i < 50; ++i) {
    in[{"ns", "m" + std::to_string(i)}] = Sample(1e6 + i);
  }
  const size_t one = EncodePolicyStates({{{"ns", "m0"}, Sample(1e6)}}).size();
  int dropped = 0;
  auto out = DecodePolicyStates(EncodePolicyStates(in, one * 10, &dropped));
  ASSERT_TRUE(out.has_value());
  EXPECT_GT(dropped, 0);
  EXPECT_EQ(static_cast<int>(out->size()) + dropped, 50);
  EXPECT_TRUE(out->count({"ns", "m49"}));
  EXPECT_FALSE(out->count({"ns", "m0"}));
}

// A restarted controller whose state went through the store decides as the one that never
// stopped (the policy's history, correction and dwell carry over).
TEST(PolicyState, RestoredStateDecidesAsTheUninterruptedOne) {
  core::PerfProfile p;
  p.alpha_ms = 10;
  p.beta_ms = 0.1;
  p.gamma_ms = 2;
  p.delta_ms = 0.05;
  p.max_batch = 64;
  p.max_batched_tokens = 2048;
  auto run = [&](int restart_at) {
    core::PolicyState state;
    std::vector<int> out;
    int replicas = 2;
    for (int k = 0; k < 40; ++k) {
      if (k == restart_at) {
        auto back = DecodePolicyStates(EncodePolicyStates({{{"ns", "m"}, state}}));
        EXPECT_TRUE(back.has_value());
        state = back->at({"ns", "m"});
      }
      core::Observation o;
      o.now_s = 1.7e9 + 60 * k;
      core::VariantState v;
      v.name = "a";
      v.accelerator = "a";
      v.cost = 2;
      v.current_replicas = v.desired_replicas = replicas;
      v.max_replicas = 20;
      std::vector<core::ReplicaSample> samples;
      for (int r = 0; r < replicas; ++r) {
        samples.push_back(core::ReplicaSample::Of(0, 0.3, 0));
      }
      o.input = core::AssembleModelInput("m", "ns", {}, {v}, samples);
      o.targets.ttft_ms = 1000;
      o.targets.itl_ms = 50;
      o.profiles = {p};
      o.startup_s = {180};
      o.traffic.known = true;
      o.traffic.arrival_rate = 1 + 4 * std::pow(std::sin(k / 6.0), 2);
      o.traffic.mean_prompt_tokens = 800;
      o.traffic.mean_output_tokens = 150;
      o.traffic.finished = 300;
      o.traffic.ttft_good = k % 7 == 0 ? 270 : 300;
      o.traffic.itl_good = 300;
      const core::PolicyDecision d = core::DecidePolicy(o, core::PolicyOptions{}, &state);
      replicas = d.decision.decisions[0].target_replicas;
      out.push_back(replicas);
    }
    return out;
  };
  const std::vector<int> straight = run(-1);
  EXPECT_EQ(run(17), straight);
  EXPECT_EQ(run(29), straight);
  int changes = 0;
  for (size_t k = 1; k < straight.size(); ++k) {
    changes += straight[k] != straight[k - 1];
  }
  EXPECT_GT(changes, 2);
}

}  // namespace
}  // namespace wva::controller
