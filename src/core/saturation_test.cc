// Table-driven tests for every rule of SPEC §3 and the worked examples of the source document.
#include "core/saturation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace wva::core {
namespace {

VariantState V(std::string name, double cost, int current, int ready, int desired = 0,
               int min = 1, std::optional<int> max = std::nullopt) {
  VariantState v;
  v.name = std::move(name);
  v.accelerator = "acc-" + v.name;
  v.cost = cost;
  v.current_replicas = current;
  v.ready_replicas = ready;
  v.desired_replicas = desired;
  v.min_replicas = min;
  v.max_replicas = max;
  return v;
}

ReplicaSample R(int variant, double kv, double q) { return ReplicaSample{variant, kv, q}; }

ModelInput Model(std::vector<VariantState> vs, std::vector<ReplicaSample> rs) {
  ModelInput in;
  in.model_id = "meta/llama-70b";
  in.namespace_ = "prod";
  in.variants = std::move(vs);
  in.replicas = std::move(rs);
  return in;
}

// --- Worked examples (SPEC §3) ---

TEST(WorkedExample, OneSaturatedReplicaTriggersScaleUp) {
  auto in = Model({V("a", 5, 3, 3)}, {R(0, .75, 3), R(0, .85, 6), R(0, .60, 2)});
  Analysis a = Analyze(in);
  EXPECT_EQ(a.replicas, 3);
  EXPECT_EQ(a.non_saturated, 2);
  EXPECT_NEAR(a.avg_spare_kv, 0.125, 1e-12);
  EXPECT_NEAR(a.avg_spare_queue, 2.5, 1e-12);
  EXPECT_TRUE(a.should_scale_up);
  EXPECT_FALSE(a.can_scale_down);
}

TEST(WorkedExample, ScaleDownUnsafeWhenQueueSpareTooLow) {
  auto in = Model({V("a", 5, 3, 3)}, {R(0, .70, 2), R(0, .65, 3), R(0, .60, 2)});
  Analysis a = Analyze(in);
  EXPECT_EQ(a.non_saturated, 3);
  // As a whole: avgSpareQ = 8/3 < 3 -> scale up; the scale-down check is unsafe either way.
  EXPECT_NEAR(a.avg_spare_queue, 8.0 / 3.0, 1e-12);
  EXPECT_TRUE(a.should_scale_up);
  EXPECT_FALSE(a.can_scale_down);
}

TEST(WorkedExample, ScaleUpGoesToCheapestVariant) {
  auto in = Model({V("llama-a100", 20, 3, 3), V("llama-l40s", 5, 2, 2)},
                  {R(0, .85, 6), R(0, .82, 5), R(0, .90, 7), R(1, .85, 6), R(1, .81, 5)});
  ModelDecision d = Decide(in);
  ASSERT_TRUE(d.analysis.should_scale_up);
  EXPECT_EQ(d.decisions[0].target_replicas, 3);
  EXPECT_EQ(d.decisions[0].action, Action::kNone);
  EXPECT_EQ(d.decisions[1].target_replicas, 3);
  EXPECT_EQ(d.decisions[1].action, Action::kScaleUp);
  EXPECT_EQ(d.decisions[1].driver, Driver::kSaturation);
  EXPECT_NE(d.decisions[1].reason.find("$5.00/h"), std::string::npos) << d.decisions[1].reason;
}

// --- Rules 1-4: the analyzer ---

struct AnalyzeCase {
  const char* name;
  std::vector<ReplicaSample> replicas;
  int non_saturated;
  bool up;
  bool down;
};

class AnalyzeTable : public ::testing::TestWithParam<AnalyzeCase> {};

TEST_P(AnalyzeTable, Rules) {
  const AnalyzeCase& c = GetParam();
  Analysis a = Analyze(Model({V("a", 1, 4, 4)}, c.replicas));
  EXPECT_EQ(a.non_saturated, c.non_saturated) << c.name;
  EXPECT_EQ(a.should_scale_up, c.up) << c.name;
  EXPECT_EQ(a.can_scale_down, c.down) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, AnalyzeTable,
    ::testing::Values(
        // Rule 1: kv >= T_kv saturates (equality included), queue >= T_q saturates.
        AnalyzeCase{"kv_at_threshold_saturates", {R(0, .80, 0), R(0, .1, 0)}, 1, false, false},
        AnalyzeCase{"queue_at_threshold_saturates", {R(0, .1, 5), R(0, .1, 0)}, 1, false, false},
        // Rule 2: N = 0 -> both spares 0 -> scale up.
        AnalyzeCase{"all_saturated_scales_up", {R(0, .9, 0), R(0, .2, 9)}, 0, true, false},
        // Rule 3: kv spare below trigger.
        AnalyzeCase{"low_kv_spare", {R(0, .75, 0), R(0, .72, 0)}, 2, true, false},
        // Rule 3: queue spare below trigger.
        AnalyzeCase{"low_queue_spare", {R(0, .1, 3), R(0, .1, 2)}, 2, true, false},
        // Rule 4: idle replicas can lose one.
        AnalyzeCase{"idle_scale_down", {R(0, .1, 0), R(0, .1, 0), R(0, .1, 0)}, 3, false, true},
        // Rule 4: N >= 2 needed.
        AnalyzeCase{"single_replica_no_scale_down", {R(0, .1, 0)}, 1, false, false},
        // Rule 4: spreading over N-1 must keep the kv spare (0.35*2/1 = 0.7 -> spare 0.1 ok).
        AnalyzeCase{"kv_spread_exactly_at_trigger", {R(0, .35, 0), R(0, .35, 0)}, 2, false, true},
        AnalyzeCase{"kv_spread_unsafe", {R(0, .36, 0), R(0, .36, 0)}, 2, false, false},
        // Rule 4: queue spread unsafe (avg spare 3.33 ok, but q' = 5/2 = 2.5 -> spare 2.5 < 3).
        AnalyzeCase{"queue_spread_unsafe", {R(0, .1, 2), R(0, .1, 2), R(0, .1, 1)}, 3, false, false}),
    [](const auto& info) { return std::string(info.param.name); });

// --- Rules 5-8: the optimizer ---

TEST(Decide, ScaleUpSkipsVariantWithPendingReplicas) {
  // Cheap variant has 1 pending replica (current 3, ready 2): cascade protection.
  auto in = Model({V("cheap", 5, 3, 2), V("dear", 20, 2, 2)},
                  {R(0, .9, 6), R(0, .9, 6), R(1, .9, 6), R(1, .9, 6)});
  ModelDecision d = Decide(in);
  EXPECT_EQ(d.decisions[0].target_replicas, 3);
  EXPECT_EQ(d.decisions[0].driver, Driver::kCascade);
  EXPECT_NE(d.decisions[0].reason.find("cascade"), std::string::npos);
  EXPECT_EQ(d.decisions[1].target_replicas, 3);
  EXPECT_EQ(d.decisions[1].action, Action::kScaleUp);
}

TEST(Decide, ScaleUpSkipsVariantAtMax) {
  auto in = Model({V("cheap", 5, 2, 2, 0, 1, 2), V("dear", 20, 1, 1)},
                  {R(0, .9, 6), R(0, .9, 6), R(1, .9, 6)});
  ModelDecision d = Decide(in);
  EXPECT_EQ(d.decisions[0].target_replicas, 2);
  EXPECT_EQ(d.decisions[1].target_replicas, 2);
}

TEST(Decide, NoEligibleVariantSaysWhy) {
  auto in = Model({V("cheap", 5, 3, 2)}, {R(0, .9, 6), R(0, .9, 6)});
  ModelDecision d = Decide(in);
  EXPECT_EQ(d.decisions[0].target_replicas, 3);
  EXPECT_EQ(d.decisions[0].action, Action::kNone);
  EXPECT_FALSE(d.decisions[0].reason.empty());
}

TEST(Decide, ScaleUpTieBreaksByNameAscending) {
  auto in = Model({V("b", 5, 1, 1), V("a", 5, 1, 1)}, {R(0, .9, 6), R(1, .9, 6)});
  ModelDecision d = Decide(in);
  EXPECT_EQ(d.decisions[1].target_replicas, 2);
  EXPECT_EQ(d.decisions[0].target_replicas, 1);
}

TEST(Decide, ScaleDownMostExpensiveFirst) {
  auto in = Model({V("cheap", 5, 2, 2), V("dear", 20, 2, 2)},
                  {R(0, .1, 0), R(0, .1, 0), R(1, .1, 0), R(1, .1, 0)});
  ModelDecision d = Decide(in);
  ASSERT_TRUE(d.analysis.can_scale_down);
  EXPECT_EQ(d.decisions[0].target_replicas, 2);
  EXPECT_EQ(d.decisions[1].target_replicas, 1);
  EXPECT_EQ(d.decisions[1].action, Action::kScaleDown);
}

TEST(Decide, ScaleDownTieBreaksByNameDescending) {
  auto in = Model({V("a", 5, 2, 2), V("b", 5, 2, 2)},
                  {R(0, .1, 0), R(0, .1, 0), R(1, .1, 0), R(1, .1, 0)});
  ModelDecision d = Decide(in);
  EXPECT_EQ(d.decisions[0].target_replicas, 2);
  EXPECT_EQ(d.decisions[1].target_replicas, 1);
}

TEST(Decide, ScaleDownRespectsFloorOfOneAndMin) {
  // dear has 1 ready: ready-1 = 0 < 1 -> not eligible; cheap min 2 with ready 2 -> not eligible.
  auto in = Model({V("cheap", 5, 2, 2, 0, 2), V("dear", 20, 1, 1)},
                  {R(0, .1, 0), R(0, .1, 0), R(1, .1, 0)});
  ModelDecision d = Decide(in);
  ASSERT_TRUE(d.analysis.can_scale_down);
  EXPECT_EQ(d.decisions[0].target_replicas, 2);
  EXPECT_EQ(d.decisions[1].target_replicas, 1);
  EXPECT_EQ(d.decisions[0].action, Action::kNone);
  EXPECT_EQ(d.decisions[1].action, Action::kNone);
}

TEST(Decide, PreservedDecisionIsKeptAndNotEligible) {
  // cheap has desired 3 != current 2 (HPA has not caught up): it keeps 3, scale-up goes elsewhere.
  auto in = Model({V("cheap", 5, 2, 2, 3), V("dear", 20, 1, 1)},
                  {R(0, .9, 6), R(0, .9, 6), R(1, .9, 6)});
  ModelDecision d = Decide(in);
  EXPECT_EQ(d.decisions[0].target_replicas, 3);
  EXPECT_EQ(d.decisions[0].driver, Driver::kPreserved);
  EXPECT_EQ(d.decisions[1].target_replicas, 2);
}

TEST(Decide, DesiredEqualCurrentIsNotPreserved) {
  auto in = Model({V("cheap", 5, 2, 2, 2)}, {R(0, .9, 6), R(0, .9, 6)});
  EXPECT_EQ(Decide(in).decisions[0].target_replicas, 3);
}

TEST(Decide, NoMetricsHoldsAtLastDesiredElseCurrent) {
  auto in = Model({V("cheap", 5, 2, 0, 4), V("dear", 20, 3, 0)}, {});
  ModelDecision d = Decide(in);
  EXPECT_FALSE(d.analysis.metrics_available);
  EXPECT_EQ(d.decisions[0].action, Action::kHold);
  EXPECT_EQ(d.decisions[0].target_replicas, 4);
  EXPECT_EQ(d.decisions[1].action, Action::kHold);
  EXPECT_EQ(d.decisions[1].target_replicas, 3);
}

TEST(Decide, GarbageSamplesAreDroppedNeverScaleDown) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto in = Model({V("a", 5, 3, 3)}, {R(0, nan, 0), R(0, -1, 0), R(0, .5, -2),
                                      R(0, std::numeric_limits<double>::infinity(), 0)});
  ModelDecision d = Decide(in);
  EXPECT_EQ(d.analysis.dropped_samples, 4);
  EXPECT_FALSE(d.analysis.metrics_available);
  EXPECT_EQ(d.decisions[0].action, Action::kHold);
  EXPECT_EQ(d.decisions[0].target_replicas, 3);
}

TEST(Decide, VariantThatLostAllSamplesIsHeldWhileOthersScale) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto in = Model({V("cheap", 5, 2, 2), V("dear", 20, 3, 3)},
                  {R(0, nan, 1), R(0, nan, 1), R(1, .1, 0), R(1, .1, 0), R(1, .1, 0)});
  ModelDecision d = Decide(in);
  EXPECT_EQ(d.decisions[0].action, Action::kHold);
  EXPECT_EQ(d.decisions[0].target_replicas, 2);
  EXPECT_EQ(d.decisions[1].action, Action::kScaleDown);
}

TEST(Decide, TargetsClampedToMinAndMax) {
  auto in = Model({V("a", 5, 1, 1, 0, 3, 5), V("b", 20, 9, 9, 0, 1, 6)},
                  {R(0, .5, 1), R(1, .5, 1)});
  ModelDecision d = Decide(in);
  EXPECT_EQ(d.decisions[0].target_replicas, 3);
  EXPECT_EQ(d.decisions[1].target_replicas, 6);
}

TEST(Decide, HeldVariantIsRaisedToMinButNeverLowered) {
  auto in = Model({V("a", 5, 0, 0, 0, 2, 5), V("b", 20, 9, 0, 0, 1, 6)}, {});
  ModelDecision d = Decide(in);
  EXPECT_EQ(d.decisions[0].target_replicas, 2);
  EXPECT_EQ(d.decisions[1].target_replicas, 9);
}

TEST(Decide, EveryDecisionHasAReason) {
  auto in = Model({V("cheap", 5, 2, 2), V("dear", 20, 2, 2)},
                  {R(0, .5, 1), R(0, .5, 1), R(1, .5, 1), R(1, .5, 1)});
  for (const auto& d : Decide(in).decisions) EXPECT_FALSE(d.reason.empty()) << d.variant;
}

TEST(Decide, ScaleFromZeroVariantGetsOne) {
  auto in = Model({V("cheap", 5, 0, 0, 0, 0), V("dear", 20, 1, 1)}, {R(1, .9, 9)});
  ModelDecision d = Decide(in);
  EXPECT_EQ(d.decisions[0].target_replicas, 1);
  EXPECT_EQ(d.decisions[1].target_replicas, 1);
}

}  // namespace
}  // namespace wva::core
