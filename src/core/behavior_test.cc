#include "core/behavior.h"

#include <gtest/gtest.h>

namespace wva::core {
namespace {

TEST(Behavior, DefaultScaleUpIsAtOnceWithinFourPodsOrDoubling) {
  BehaviorState b;
  EXPECT_EQ(b.Next(0, 10, 2, 1, std::nullopt), 6);  // max(2 x 2, 2 + 4)
  EXPECT_EQ(b.Next(5, 10, 6, 1, std::nullopt), 6);  // 4 already added in this 15 s period
  EXPECT_EQ(b.Next(16, 10, 6, 1, std::nullopt), 10);
  EXPECT_EQ(b.Next(30, 10, 10, 1, 8), 8);  // maxReplicas
}

TEST(Behavior, DefaultScaleDownWaitsForTheStabilizationWindow) {
  BehaviorState b;
  EXPECT_EQ(b.Next(0, 4, 4, 1, std::nullopt), 4);
  EXPECT_EQ(b.Next(60, 1, 4, 1, std::nullopt), 4);  // the 300 s window still holds 4
  EXPECT_EQ(b.Next(299, 1, 4, 1, std::nullopt), 4);
  EXPECT_EQ(b.Next(301, 1, 4, 1, std::nullopt), 1);  // 100% per 15 s: all at once
}

TEST(Behavior, PodsPolicyAndSelectMinAndDisabled) {
  HpaRules up;
  up.select = SelectPolicy::kMin;
  up.policies.push_back({HpaPolicyType::kPods, 1, 60});
  up.policies.push_back({HpaPolicyType::kPercent, 100, 60});
  HpaRules down;
  down.policies.push_back({HpaPolicyType::kPods, 1, 60});
  BehaviorState b(Behavior(up, down));
  EXPECT_EQ(b.Next(0, 1, 4, 0, std::nullopt), 3);
  EXPECT_EQ(b.Next(30, 1, 3, 0, std::nullopt), 3);  // one pod per 60 s
  EXPECT_EQ(b.Next(61, 1, 3, 0, std::nullopt), 2);
  EXPECT_EQ(b.Next(200, 9, 2, 0, std::nullopt), 3);  // Min of (+1, +100%)
  Behavior frozen;
  frozen.scale_down.select = SelectPolicy::kDisabled;
  BehaviorState f(frozen);
  EXPECT_EQ(f.Next(0, 0, 3, 0, std::nullopt), 3);
  EXPECT_EQ(f.Next(1000, 0, 3, 0, std::nullopt), 3);
}

TEST(Behavior, MinReplicasZeroReachesZero) {
  Behavior now;
  now.scale_down.stabilization_s = 0;
  BehaviorState b(now);
  EXPECT_EQ(b.Next(0, 0, 2, 0, std::nullopt), 0);
  EXPECT_EQ(b.Next(10, 1, 0, 0, std::nullopt), 1);  // from zero: +4 pods allowed
}

TEST(Behavior, FirstSightCountsTheCurrentReplicasAsARecommendation) {
  // As Kubernetes' HPA: a fresh state does not scale down before one full window.
  BehaviorState b;
  b.RecordInitial(0, 4);
  EXPECT_EQ(b.Next(10, 1, 4, 1, std::nullopt), 4);
  EXPECT_EQ(b.Next(299, 1, 4, 1, std::nullopt), 4);
  EXPECT_EQ(b.Next(301, 1, 4, 1, std::nullopt), 1);
}

TEST(Behavior, HistoryCarriesOverAndKeepsTheNewestOfEachValue) {
  BehaviorState a;
  a.Next(0, 3, 2, 1, std::nullopt);                  // up 2 -> 3
  a.Next(60, 5, 3, 1, std::nullopt);                 // up 3 -> 5
  a.Next(120, 3, 5, 1, std::nullopt);                // held at 5 by the scale-down window
  EXPECT_EQ(a.Next(125, 9, 5, 1, std::nullopt), 9);  // up 5 -> 9: an event at 125
  BehaviorHistory h = a.History();
  EXPECT_EQ(h.recommendations, (std::vector<std::pair<double, int>>{{60, 5}, {120, 3}, {125, 9}}));
  EXPECT_EQ(h.events, (std::vector<std::pair<double, int>>{{125, 4}}));
  // A new state restored from it decides as the old one would: the rate policy still counts
  // the +4 of this period, the scale-down window still holds 9.
  BehaviorState b;
  b.Merge(h);
  EXPECT_EQ(b.Next(130, 20, 9, 1, std::nullopt), 10);
  EXPECT_EQ(a.Next(130, 20, 9, 1, std::nullopt), 10);
  for (double t : {200.0, 424.0, 426.0, 431.0}) {
    EXPECT_EQ(b.Next(t, 2, 10, 1, std::nullopt), a.Next(t, 2, 10, 1, std::nullopt)) << t;
  }
  EXPECT_EQ(b.Next(431, 2, 10, 1, std::nullopt), 2);
}

}  // namespace
}  // namespace wva::core
