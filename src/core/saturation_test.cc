// Table-driven tests for every rule of docs/reference.md "Decision rules" and the worked
// examples of the source document.
#include "core/saturation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace wva::core {
namespace {

VariantState V(std::string name, double cost, int current, int ready, int desired = 0, int min = 1,
               std::optional<int> max = std::nullopt) {
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

ReplicaSample R(int variant, double kv, double q) { return ReplicaSample::Of(variant, kv, q); }

ModelInput Model(std::vector<VariantState> vs, std::vector<ReplicaSample> rs) {
  ModelInput in;
  in.model_id = "meta/llama-70b";
  in.namespace_ = "prod";
  in.variants = std::move(vs);
  in.replicas = std::move(rs);
  return in;
}

// --- Worked examples (docs/reference.md "Decision rules") ---

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
        AnalyzeCase{
            "queue_spread_unsafe", {R(0, .1, 2), R(0, .1, 2), R(0, .1, 1)}, 3, false, false}),
    [](const auto& info) { return std::string(info.param.name); });

// --- Rules 5-8: the optimizer ---

TEST(Decide, NoVariantGrowsWhileAnotherVariantsPodsLoad) {
  // Cheap variant has 1 replica starting (current 3, ready 2): the model is in transition, so the
  // dearer variant does not grow either (rule 5, one transition per model).
  auto in = Model({V("cheap", 5, 3, 2), V("dear", 20, 2, 2)},
                  {R(0, .9, 6), R(0, .9, 6), R(1, .9, 6), R(1, .9, 6)});
  ModelDecision d = Decide(in);
  ASSERT_TRUE(d.analysis.should_scale_up);
  ASSERT_EQ(d.transitions.size(), 1u);
  EXPECT_EQ(d.transitions[0].variant, 0);
  EXPECT_EQ(d.transitions[0].starting_replicas, 1);
  EXPECT_EQ(d.decisions[0].target_replicas, 3);
  EXPECT_EQ(d.decisions[0].action, Action::kNone);
  EXPECT_EQ(d.decisions[1].target_replicas, 2);
  EXPECT_EQ(d.decisions[1].action, Action::kNone);
  EXPECT_EQ(d.decisions[1].driver, Driver::kCascade);
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

TEST(Decide, PreservedDecisionIsKeptAndBlocksTheModel) {
  // cheap has desired 3 != current 2 (HPA has not caught up): it keeps 3, and no other variant
  // grows meanwhile (rule 5).
  auto in =
      Model({V("cheap", 5, 2, 2, 3), V("dear", 20, 1, 1)}, {R(0, .9, 6), R(0, .9, 6), R(1, .9, 6)});
  ModelDecision d = Decide(in);
  EXPECT_EQ(d.decisions[0].target_replicas, 3);
  EXPECT_EQ(d.decisions[0].driver, Driver::kPreserved);
  EXPECT_EQ(d.decisions[1].target_replicas, 1);
  EXPECT_EQ(d.decisions[1].driver, Driver::kCascade);
  ASSERT_EQ(d.transitions.size(), 1u);
  EXPECT_EQ(d.transitions[0].desired_replicas, 3);
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

TEST(Decide, VariantThatLostAllSamplesIsHeldAndBlocksScaleDown) {
  // cheap's Ready pods report only NaN: it holds, and the idle dear variant may not shrink either
  // (rule 7: no scale-down on partial data).
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto in = Model({V("cheap", 5, 2, 2), V("dear", 20, 3, 3)},
                  {R(0, nan, 1), R(0, nan, 1), R(1, .1, 0), R(1, .1, 0), R(1, .1, 0)});
  ModelDecision d = Decide(in);
  EXPECT_TRUE(d.analysis.can_scale_down);
  EXPECT_FALSE(d.analysis.complete_data());
  EXPECT_EQ(d.decisions[0].action, Action::kHold);
  EXPECT_EQ(d.decisions[0].target_replicas, 2);
  EXPECT_EQ(d.decisions[1].action, Action::kNone);
  EXPECT_EQ(d.decisions[1].target_replicas, 3);
  EXPECT_EQ(d.decisions[1].driver, Driver::kIncomplete);
}

TEST(Decide, VariantThatLostAllSamplesIsHeldWhileOthersScaleUp) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto in = Model({V("cheap", 5, 2, 0), V("dear", 20, 2, 2)},
                  {R(0, nan, 1), R(0, nan, 1), R(1, .9, 6), R(1, .9, 6)});
  ModelDecision d = Decide(in);
  EXPECT_TRUE(d.transitions.empty());
  EXPECT_EQ(d.decisions[0].action, Action::kHold);
  EXPECT_EQ(d.decisions[0].target_replicas, 2);
  EXPECT_EQ(d.decisions[1].target_replicas, 3);
}

TEST(Decide, TargetsClampedToMinAndMax) {
  auto in =
      Model({V("a", 5, 1, 1, 0, 3, 5), V("b", 20, 9, 9, 0, 1, 6)}, {R(0, .5, 1), R(1, .5, 1)});
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
  for (const auto& d : Decide(in).decisions) {
    EXPECT_FALSE(d.reason.empty()) << d.variant;
  }
}

TEST(Decide, ScaleFromZeroVariantGetsOne) {
  auto in = Model({V("cheap", 5, 0, 0, 0, 0), V("dear", 20, 1, 1)}, {R(1, .9, 9)});
  ModelDecision d = Decide(in);
  EXPECT_EQ(d.decisions[0].target_replicas, 1);
  EXPECT_EQ(d.decisions[1].target_replicas, 1);
}

// --- Rule 5: one transition per model ---

// Runs `cycles` decisions against Deployments that never move (an HPA slower than the interval):
// each cycle's targets become the next cycle's desired, current stays put.
int TotalAfterCyclesWithoutActuation(ModelInput in, int cycles) {
  for (int c = 0; c < cycles; ++c) {
    ModelDecision d = Decide(in);
    for (size_t i = 0; i < in.variants.size(); ++i) {
      in.variants[i].desired_replicas = d.decisions[i].target_replicas;
    }
  }
  int total = 0;
  for (const VariantState& v : in.variants) {
    total += v.desired_replicas;
  }
  return total;
}

ModelInput FourVariantsEightEachLoadFitsOneFewer() {
  std::vector<VariantState> vs = {V("v-a", 5, 8, 8), V("v-b", 10, 8, 8), V("v-c", 15, 8, 8),
                                  V("v-d", 20, 8, 8)};
  std::vector<ReplicaSample> rs;
  // 32 replicas at kv 0.5, queue 1.8: over 31 the queue spare stays >= 3 (q' = 57.6/31 = 1.86),
  // over 30 it would not matter: the rule only ever looks one replica ahead.
  for (int v = 0; v < 4; ++v) {
    for (int k = 0; k < 8; ++k) {
      rs.push_back(R(v, .5, 1.8));
    }
  }
  return Model(std::move(vs), std::move(rs));
}

TEST(Transition, WalkDownPreventedWhileAScaleDownIsUnapplied) {
  ModelInput in = FourVariantsEightEachLoadFitsOneFewer();
  ModelDecision first = Decide(in);
  ASSERT_TRUE(first.analysis.can_scale_down);
  EXPECT_EQ(first.decisions[3].target_replicas, 7);  // the most expensive gives one up
  // Ten more cycles with the Deployments unchanged: one replica fewer in all, not four.
  EXPECT_EQ(TotalAfterCyclesWithoutActuation(in, 10), 31);
  in.variants[3].desired_replicas = 7;
  ModelDecision held = Decide(in);
  ASSERT_EQ(held.transitions.size(), 1u);
  EXPECT_EQ(held.transitions[0].variant, 3);
  EXPECT_EQ(held.transitions[0].current_replicas, 8);
  EXPECT_EQ(held.transitions[0].desired_replicas, 7);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(held.decisions[i].target_replicas, 8);
    EXPECT_EQ(held.decisions[i].driver, Driver::kCascade);
  }
  EXPECT_EQ(held.decisions[3].target_replicas, 7);
}

TEST(Transition, DecisionsResumeOnceTheTransitionIsApplied) {
  ModelInput in = FourVariantsEightEachLoadFitsOneFewer();
  // v-d went 8 -> 7 and the Deployment reached it: the next scale-down may proceed.
  in.variants[3] = V("v-d", 20, 7, 7, 7);
  in.replicas.pop_back();
  ModelDecision d = Decide(in);
  EXPECT_TRUE(d.transitions.empty());
  ASSERT_TRUE(d.analysis.can_scale_down);
  EXPECT_EQ(d.decisions[3].target_replicas, 6);
  EXPECT_EQ(d.decisions[3].action, Action::kScaleDown);
}

TEST(Transition, ScaleUpResumesOnceStartedPodsReport) {
  // cheap grew 2 -> 3 and the third pod now reports: no transition, the cheapest grows again.
  auto in = Model({V("cheap", 5, 3, 3, 3), V("dear", 20, 2, 2)},
                  {R(0, .9, 6), R(0, .9, 6), R(0, .9, 6), R(1, .9, 6), R(1, .9, 6)});
  ModelDecision d = Decide(in);
  EXPECT_TRUE(d.transitions.empty());
  EXPECT_EQ(d.decisions[0].target_replicas, 4);
  EXPECT_EQ(d.decisions[1].target_replicas, 2);
}

TEST(Transition, UnappliedScaleDownIsWithdrawnWhenTheModelNeedsMore) {
  // dear holds 3 -> 2 not yet applied; load rises: the scale-down is withdrawn (target = current),
  // nothing grows this cycle.
  auto in = Model({V("cheap", 5, 2, 2), V("dear", 20, 3, 3, 2)},
                  {R(0, .9, 6), R(0, .9, 6), R(1, .9, 6), R(1, .9, 6), R(1, .9, 6)});
  ModelDecision d = Decide(in);
  ASSERT_TRUE(d.analysis.should_scale_up);
  EXPECT_EQ(d.decisions[1].target_replicas, 3);
  EXPECT_EQ(d.decisions[1].action, Action::kNone);
  EXPECT_EQ(d.decisions[0].target_replicas, 2);
}

TEST(Transition, UnappliedScaleUpIsKeptWhenLoadFalls) {
  auto in = Model({V("cheap", 5, 2, 2, 3), V("dear", 20, 2, 2)},
                  {R(0, .1, 0), R(0, .1, 0), R(1, .1, 0), R(1, .1, 0)});
  ModelDecision d = Decide(in);
  ASSERT_TRUE(d.analysis.can_scale_down);
  EXPECT_EQ(d.decisions[0].target_replicas, 3);
  EXPECT_EQ(d.decisions[1].target_replicas, 2);
}

TEST(Transition, HeldVariantWithUnappliedDecisionBlocksTheModel) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto in = Model({V("cheap", 5, 2, 0, 3), V("dear", 20, 2, 2)},
                  {R(0, nan, 1), R(0, nan, 1), R(1, .9, 6), R(1, .9, 6)});
  ModelDecision d = Decide(in);
  EXPECT_EQ(d.decisions[0].target_replicas, 3);
  EXPECT_EQ(d.decisions[1].target_replicas, 2);
  EXPECT_EQ(d.decisions[1].driver, Driver::kCascade);
}

// --- Rule 7: complete data for scale-down ---

ReplicaSample Silent(int variant, std::string pod) {
  return ReplicaSample::Silent(variant, std::move(pod));
}

// cheap x5 and dear x3 under a load where removing a replica is unsafe: queue sum 15.04 over 8
// replicas (avg spare 3.12), 2.85 spare over 7. The busiest pod (queue 4.9) is on dear.
ModelInput SteadyFleetWithBusyPod() {
  std::vector<ReplicaSample> rs;
  const double q = (15.04 - 4.9) / 7;
  for (int k = 0; k < 5; ++k) {
    rs.push_back(R(0, .3, q));
  }
  rs.push_back(R(1, .3, q));
  rs.push_back(R(1, .3, q));
  rs.push_back(R(1, .3, 4.9));
  return Model({V("cheap", 5, 5, 5), V("dear", 20, 3, 3)}, std::move(rs));
}

TEST(CompleteData, AllPodsReportingTheRemovalIsUnsafe) {
  ModelDecision d = Decide(SteadyFleetWithBusyPod());
  EXPECT_FALSE(d.analysis.should_scale_up);
  EXPECT_FALSE(d.analysis.can_scale_down);
  EXPECT_EQ(d.decisions[0].target_replicas, 5);
  EXPECT_EQ(d.decisions[1].target_replicas, 3);
}

TEST(CompleteData, BusiestPodSilentNoScaleDown) {
  ModelInput in = SteadyFleetWithBusyPod();
  in.replicas.back() = Silent(1, "dear-2");
  in.variants[1].ready_replicas = 2;  // only reporting pods count as ready
  ModelDecision d = Decide(in);
  // The remaining pods look idle enough to lose one...
  EXPECT_TRUE(d.analysis.can_scale_down);
  // ...but a Ready pod is silent: nothing shrinks, and the pod is named.
  ASSERT_EQ(d.analysis.incomplete.size(), 1u);
  EXPECT_EQ(d.analysis.incomplete[0].pod, "dear-2");
  EXPECT_EQ(d.analysis.incomplete[0].problem, SampleProblem::kSilent);
  EXPECT_TRUE(d.transitions.empty());  // a silent Ready pod is not a starting one
  EXPECT_EQ(d.decisions[0].target_replicas, 5);
  EXPECT_EQ(d.decisions[1].target_replicas, 3);
  EXPECT_EQ(d.decisions[0].driver, Driver::kIncomplete);
  EXPECT_EQ(d.decisions[1].driver, Driver::kIncomplete);
  EXPECT_NE(d.decisions[1].reason.find("dear-2"), std::string::npos);
}

TEST(CompleteData, SilentPodStillAllowsScaleUpPastCurrent) {
  // Every reporting pod is saturated, one Ready pod is silent: the cheapest variant grows by one
  // beyond what it runs (the silent pod is running, not missing).
  auto in = Model({V("cheap", 5, 3, 2), V("dear", 20, 2, 2)},
                  {R(0, .9, 6), R(0, .9, 6), Silent(0, "cheap-2"), R(1, .9, 6), R(1, .9, 6)});
  ModelDecision d = Decide(in);
  EXPECT_TRUE(d.transitions.empty());
  EXPECT_EQ(d.decisions[0].target_replicas, 4);
  EXPECT_EQ(d.decisions[0].action, Action::kScaleUp);
  EXPECT_EQ(d.decisions[1].target_replicas, 2);
}

TEST(CompleteData, UnusableValuesAreClassified) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  auto in = Model({V("a", 5, 6, 6)}, {R(0, nan, 0), R(0, .2, inf), R(0, -.5, 0), R(0, .2, -3),
                                      R(0, 1.7, 0), R(0, .1, 0)});
  Analysis a = Analyze(in);
  ASSERT_EQ(a.incomplete.size(), 5u);
  EXPECT_EQ(a.incomplete[0].problem, SampleProblem::kNaN);
  EXPECT_EQ(a.incomplete[1].problem, SampleProblem::kInfinite);
  EXPECT_EQ(a.incomplete[2].problem, SampleProblem::kNegative);
  EXPECT_EQ(a.incomplete[3].problem, SampleProblem::kNegative);
  EXPECT_EQ(a.incomplete[4].problem, SampleProblem::kOutOfRange);
  EXPECT_EQ(a.dropped_samples, 5);
  EXPECT_EQ(a.replicas, 1);
}

TEST(CompleteData, ScaleDownProceedsOnceEveryPodReports) {
  auto in = Model({V("cheap", 5, 2, 2), V("dear", 20, 2, 2)},
                  {R(0, .1, 0), R(0, .1, 0), R(1, .1, 0), R(1, .1, 0)});
  EXPECT_EQ(Decide(in).decisions[1].target_replicas, 1);
  in.replicas[1] = Silent(0, "cheap-1");
  in.variants[0].ready_replicas = 1;
  ModelDecision d = Decide(in);
  EXPECT_EQ(d.decisions[1].target_replicas, 2);
  EXPECT_EQ(d.decisions[0].target_replicas, 2);
}

}  // namespace
}  // namespace wva::core
