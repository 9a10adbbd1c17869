// Property tests over random seeded snapshots: invariants of the decision that must hold for any
// input, not just the hand-picked ones.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "core/saturation.h"

namespace wva::core {
namespace {

ModelInput RandomModel(std::mt19937_64& rng, bool with_metrics) {
  std::uniform_int_distribution<int> nvar(1, 4), small(0, 6), coin(0, 3);
  std::uniform_real_distribution<double> kv(0, 1), q(0, 10), cost(1, 40);
  ModelInput in;
  in.model_id = "m";
  in.namespace_ = "ns";
  const int nv = nvar(rng);
  for (int i = 0; i < nv; ++i) {
    VariantState v;
    v.name = "v" + std::to_string(i);
    v.cost = std::round(cost(rng));
    v.min_replicas = small(rng) % 3;
    if (coin(rng) > 0) {
      v.max_replicas = std::max(1, v.min_replicas) + small(rng);
    }
    v.current_replicas = small(rng);
    v.ready_replicas = std::min(v.current_replicas, small(rng));
    v.desired_replicas = coin(rng) == 0 ? small(rng) : 0;
    in.variants.push_back(v);
    if (!with_metrics) {
      continue;
    }
    for (int r = 0; r < v.ready_replicas; ++r) {
      ReplicaSample s = ReplicaSample::Of(i, kv(rng), std::floor(q(rng)));
      if (coin(rng) == 0 && coin(rng) == 0) {
        s.kv_cache_usage = std::numeric_limits<double>::quiet_NaN();
      }
      if (coin(rng) == 0 && coin(rng) == 0 && coin(rng) == 0) {
        s = ReplicaSample::Silent(i, "v" + std::to_string(i) + "-" + std::to_string(r));
      }
      in.replicas.push_back(s);
    }
    // As every assembler does: ready = pods with usable samples this cycle.
    int usable = 0;
    for (const ReplicaSample& s : in.replicas) {
      usable += s.variant == i && UsableSample(s, nv);
    }
    in.variants.back().ready_replicas = usable;
  }
  return in;
}

class Property : public ::testing::TestWithParam<uint64_t> {};

TEST_P(Property, InvariantsHold) {
  std::mt19937_64 rng(GetParam());
  for (int iter = 0; iter < 2000; ++iter) {
    const bool with_metrics = iter % 5 != 0;
    ModelInput in = RandomModel(rng, with_metrics);
    ModelDecision d = Decide(in);
    ASSERT_EQ(d.decisions.size(), in.variants.size());
    int new_changes = 0;
    for (size_t i = 0; i < in.variants.size(); ++i) {
      const VariantState& v = in.variants[i];
      const VariantDecision& x = d.decisions[i];
      EXPECT_FALSE(x.reason.empty());
      // A variant with starting replicas (neither reporting nor known Ready) never receives a
      // (new) scale-up.
      int accounted = 0;
      for (const ReplicaSample& s : in.replicas) {
        accounted += s.variant == static_cast<int>(i);
      }
      if (v.current_replicas > accounted && x.driver == Driver::kSaturation) {
        EXPECT_LE(x.target_replicas, v.current_replicas)
            << "seed " << GetParam() << " iter " << iter;
      }
      // Targets stay within [min, max] (a held variant is only raised, never lowered).
      EXPECT_GE(x.target_replicas, v.min_replicas);
      if (v.max_replicas && x.action != Action::kHold) {
        EXPECT_LE(x.target_replicas, *v.max_replicas);
      }
      const bool clamped = (v.max_replicas && v.current_replicas > *v.max_replicas) ||
                           v.current_replicas < v.min_replicas;
      if (x.driver == Driver::kSaturation && x.target_replicas != v.current_replicas && !clamped) {
        ++new_changes;
      }
      // Never a scale-down when the model has no usable metrics.
      if (!d.analysis.metrics_available) {
        EXPECT_EQ(x.action, Action::kHold);
        EXPECT_GE(x.target_replicas,
                  std::min(v.current_replicas,
                           v.desired_replicas > 0 ? v.desired_replicas : v.current_replicas));
        EXPECT_GE(x.target_replicas,
                  v.desired_replicas > 0 ? v.desired_replicas : v.current_replicas);
      }
      // A variant that lost every sample is never scaled down by the analyzer.
      if (x.action == Action::kHold) {
        EXPECT_GE(x.target_replicas,
                  v.desired_replicas > 0 ? v.desired_replicas : v.current_replicas);
      }
    }
    // Rule 5: in transition, no variant moves except towards a decision already made (kept) or
    // back to current (an unapplied scale-down withdrawn).
    if (!d.transitions.empty()) {
      for (size_t i = 0; i < in.variants.size(); ++i) {
        const VariantState& v = in.variants[i];
        const int t = d.decisions[i].target_replicas;
        const int last = v.desired_replicas > 0 ? v.desired_replicas : v.current_replicas;
        EXPECT_TRUE(t == v.current_replicas || t == last || t == v.min_replicas ||
                    (v.max_replicas && t == *v.max_replicas))
            << "seed " << GetParam() << " iter " << iter << " variant " << i;
      }
    }
    // Rule 7: with incomplete data, nothing shrinks below current by a new decision.
    if (!d.analysis.complete_data()) {
      for (size_t i = 0; i < in.variants.size(); ++i) {
        const VariantDecision& x = d.decisions[i];
        const VariantState& v = in.variants[i];
        if (x.driver == Driver::kSaturation &&
            (!v.max_replicas || v.current_replicas <= *v.max_replicas)) {
          EXPECT_GE(x.target_replicas, v.current_replicas)
              << "seed " << GetParam() << " iter " << iter;
        }
      }
    }
    // At most one variant changes per cycle by the analyzer's own decision.
    EXPECT_LE(new_changes, 1) << [&] {
      std::string t;
      for (size_t i = 0; i < in.variants.size(); ++i) {
        const VariantState& v = in.variants[i];
        t += fmt::format("\n{} cur {} ready {} des {} min {} max {} -> {} {} {}", v.name,
                         v.current_replicas, v.ready_replicas, v.desired_replicas, v.min_replicas,
                         v.max_replicas.value_or(-1), d.decisions[i].target_replicas,
                         DriverName(d.decisions[i].driver), d.decisions[i].reason);
      }
      return t;
    }();
    // Decide is a pure function: same input, same output.
    ModelDecision again = Decide(in);
    for (size_t i = 0; i < in.variants.size(); ++i) {
      EXPECT_EQ(again.decisions[i].target_replicas, d.decisions[i].target_replicas);
      EXPECT_EQ(again.decisions[i].reason, d.decisions[i].reason);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, Property, ::testing::Values(1, 7, 42, 1234, 99991));

}  // namespace
}  // namespace wva::core
