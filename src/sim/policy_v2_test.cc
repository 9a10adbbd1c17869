// `wva-v2` in the simulator: option parsing, and what it publishes for a hand-built view
// (the same hand-computed case as core/capacity_test.cc).
#include "sim/policy_v2.h"

#include <gtest/gtest.h>

namespace wva::sim {
namespace {

TEST(WvaV2Policy, ParsesOptionsAndRejectsBadOnes) {
  FleetConfig fleet;
  EXPECT_TRUE(MakePolicy("wva-v2", fleet).has_value());
  auto p = MakePolicy("wva-v2:up=0.9,down=0.5", fleet);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ((*p)->Name(), "wva-v2:up=0.9,down=0.5");
  EXPECT_FALSE(MakePolicy("wva-v2:up=0.5,down=0.7", fleet).has_value());
  EXPECT_FALSE(MakePolicy("wva-v2:up=2", fleet).has_value());
  EXPECT_FALSE(MakePolicy("wva-v2:left=0.5", fleet).has_value());
}

TEST(WvaV2Policy, PublishesTheTokenBasedDecisionAndRemembersK2) {
  FleetConfig fleet;
  fleet.variants.resize(2);
  fleet.variants[0].name = "l40s";
  fleet.variants[0].cost = 5;
  fleet.variants[0].profile.kv_capacity_tokens = 625 * 16;  // 10000 tokens
  fleet.variants[1].name = "a100";
  fleet.variants[1].cost = 16;
  fleet.variants[1].profile.kv_capacity_tokens = 2500 * 16;  // 40000 tokens
  for (auto& v : fleet.variants) {
    v.profile.block_size = 16;
    v.profile.max_batched_tokens = 1 << 20;  // derived k2 far above k1: k1 binds
    v.profile.max_batch = 1 << 20;
  }
  ControllerView view;
  view.fleet = &fleet;
  view.mean_prompt_tokens = 400;
  view.mean_output_tokens = 100;
  core::ModelInput& in = view.input;
  for (const auto& [name, cost, n] : {std::tuple{"l40s", 5.0, 2}, std::tuple{"a100", 16.0, 1}}) {
    core::VariantState v;
    v.name = name;
    v.cost = cost;
    v.current_replicas = n;
    v.ready_replicas = n;
    in.variants.push_back(v);
  }
  in.replicas = {core::ReplicaSample::Of(0, 0.80, 6), core::ReplicaSample::Of(0, 0.78, 4),
                 core::ReplicaSample::Of(1, 0.75, 3)};
  auto p = MakePolicy("wva-v2", fleet);
  ASSERT_TRUE(p.has_value());
  std::vector<Signal> out(2);
  (*p)->Run(view, &out);
  // Demand 52300, supply 48000, RC = 13529.41: the A100 (5e-4 $/token) grows 1 -> 2.
  EXPECT_EQ(out[0].kind, Signal::Kind::kReplicas);
  EXPECT_DOUBLE_EQ(out[0].value, 2);
  EXPECT_DOUBLE_EQ(out[1].value, 2);
}

}  // namespace
}  // namespace wva::sim
