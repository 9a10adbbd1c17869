#include "core/placement.h"

#include <gtest/gtest.h>

namespace wva::core {
namespace {

VariantState V(std::string name, std::string acc, double cost, int current, int min = 1,
               std::optional<int> max = std::nullopt) {
  VariantState v;
  v.name = std::move(name);
  v.accelerator = std::move(acc);
  v.cost = cost;
  v.current_replicas = current;
  v.ready_replicas = current;
  v.min_replicas = min;
  v.max_replicas = max;
  return v;
}

struct Model {
  ModelInput in;
  ModelDecision d;
  Model(std::string ns, std::string id, std::vector<VariantState> vs, std::vector<int> targets) {
    in.namespace_ = std::move(ns);
    in.model_id = std::move(id);
    in.variants = std::move(vs);
    for (size_t i = 0; i < in.variants.size(); ++i) {
      VariantDecision x;
      x.variant = in.variants[i].name;
      x.current_replicas = in.variants[i].current_replicas;
      x.target_replicas = targets[i];
      d.decisions.push_back(x);
    }
  }
  std::vector<int> Targets() const {
    std::vector<int> t;
    for (const auto& x : d.decisions) {
      t.push_back(x.target_replicas);
    }
    return t;
  }
};

// ---- stock-outs ----

TEST(StockOut, UnschedulableReplicasMoveToTheNextCheapestPlaceableVariant) {
  // L40S $5 has 3 replicas, 2 of them Pending-unschedulable; A100 $20 and H100 $30 can place.
  Model m("ns", "m", {V("a100", "A100", 20, 1), V("h100", "H100", 30, 1), V("l40s", "L40S", 5, 3)},
          {1, 1, 3});
  std::vector<VariantPlacement> p(3);
  p[2] = {2, true};
  StockOutResult r = ApplyStockOut(m.in, p, &m.d);
  EXPECT_EQ(r.moved, 2);
  EXPECT_EQ(r.unplaced, 0);
  EXPECT_EQ(m.Targets(), (std::vector<int>{3, 1, 1}));
  EXPECT_EQ(m.d.decisions[0].driver, Driver::kStockOut);
  EXPECT_EQ(m.d.decisions[0].action, Action::kScaleUp);
  EXPECT_EQ(m.d.decisions[2].action, Action::kScaleDown);
}

TEST(StockOut, GrowthOnAStockedOutVariantGoesElsewhereAndRespectsMax) {
  // The policy grows L40S 2 -> 4 but it is stocked out (nothing Pending now: in back-off).
  Model m("ns", "m",
          {V("a100", "A100", 20, 1, 1, 2), V("h100", "H100", 30, 1, 1, 2), V("l40s", "L40S", 5, 2)},
          {1, 1, 4});
  std::vector<VariantPlacement> p(3);
  p[2] = {0, true};
  StockOutResult r = ApplyStockOut(m.in, p, &m.d);
  EXPECT_EQ(m.Targets(), (std::vector<int>{2, 2, 2}));
  EXPECT_EQ(r.moved, 2);
  // Nowhere left: the rest is unplaced, never a removal of running replicas.
  Model full("ns", "m", {V("a100", "A100", 20, 2, 1, 2), V("l40s", "L40S", 5, 2)}, {2, 3});
  std::vector<VariantPlacement> q(2);
  q[1] = {0, true};
  r = ApplyStockOut(full.in, q, &full.d);
  EXPECT_EQ(full.Targets(), (std::vector<int>{2, 2}));
  EXPECT_EQ(r.unplaced, 1);
}

TEST(StockOut, MinReplicasFloorIsKeptAndNothingHappensWithoutStockOut) {
  Model m("ns", "m", {V("a100", "A100", 20, 1), V("l40s", "L40S", 5, 2, 2)}, {1, 2});
  std::vector<VariantPlacement> p(2);
  p[1] = {2, true};
  ApplyStockOut(m.in, p, &m.d);
  EXPECT_EQ(m.Targets(), (std::vector<int>{1, 2}));  // floor 2 kept: nothing to move
  Model n("ns", "m", {V("a100", "A100", 20, 1), V("l40s", "L40S", 5, 2)}, {1, 3});
  StockOutResult r = ApplyStockOut(n.in, std::vector<VariantPlacement>(2), &n.d);
  EXPECT_EQ(r.moved, 0);
  EXPECT_EQ(n.Targets(), (std::vector<int>{1, 3}));
}

// ---- GPU budgets ----

TEST(GpuBudget, ScaleUpBeyondTheBudgetGoesToTheNextCheapestVariantThatFits) {
  // L40S (1 GPU/replica, L40S budget 3) wants 2 -> 4; A100 (2 GPUs) has room in the cluster.
  Model m("ns", "m", {V("a100", "A100", 20, 1), V("l40s", "L40S", 5, 2)}, {1, 4});
  GpuBudget b;
  b.cluster = 10;
  b.per_accelerator["L40S"] = 3;
  std::vector<BudgetedModel> ms = {{&m.in, &m.d, {2, 1}, 1.0}};
  BudgetResult r = ApplyGpuBudget(b, ms);
  EXPECT_EQ(m.Targets(), (std::vector<int>{2, 3}));
  EXPECT_EQ(r.placed, 2);
  EXPECT_EQ(r.moved, 1);
  EXPECT_EQ(r.withheld, 0);
  EXPECT_EQ(m.d.decisions[1].driver, Driver::kBudget);
  EXPECT_EQ(m.d.decisions[0].driver, Driver::kBudget);
}

TEST(GpuBudget, ContendedBudgetServesPriorityFirstWithMinReplicasFloors) {
  // Cluster budget 6 GPUs, 1 GPU per replica. Both models run 2 and want 5.
  Model lo("ns", "low", {V("l40s", "L40S", 5, 2)}, {5});
  Model hi("ns", "high", {V("l40s", "L40S", 5, 2)}, {5});
  GpuBudget b;
  b.cluster = 6;
  std::vector<BudgetedModel> ms = {{&lo.in, &lo.d, {1}, 1.0}, {&hi.in, &hi.d, {1}, 2.0}};
  BudgetResult r = ApplyGpuBudget(b, ms);
  EXPECT_EQ(hi.Targets(), (std::vector<int>{4}));
  EXPECT_EQ(lo.Targets(), (std::vector<int>{2}));
  EXPECT_EQ(r.withheld, 4);
  // A floor (minReplicas 3) is reserved even when it alone exceeds the budget; running
  // replicas are never removed.
  Model floor("ns", "f", {V("l40s", "L40S", 5, 0, 3)}, {3});
  Model run("ns", "r", {V("l40s", "L40S", 5, 5)}, {5});
  GpuBudget tight;
  tight.cluster = 4;
  std::vector<BudgetedModel> fs = {{&floor.in, &floor.d, {1}, 1.0}, {&run.in, &run.d, {1}, 1.0}};
  ApplyGpuBudget(tight, fs);
  EXPECT_EQ(floor.Targets(), (std::vector<int>{3}));
  EXPECT_EQ(run.Targets(), (std::vector<int>{5}));
}

TEST(GpuBudget, PriorityTiersServeHigherFirstAndNeverShrinkTheLower) {
  // Cluster budget 12 GPUs, 1 GPU per replica. `batch` (priority 0.5) already runs 6 and wants 8;
  // `chat` (priority 10) runs 1 with a floor of 2 and wants 6; `search` (priority 10) runs 1 and
  // wants 6. Floors: batch 6 (running), chat 2 (minReplicas), search 1 -> 9 used, 3 left.
  Model batch("a", "batch", {V("l40s", "L40S", 5, 6)}, {8});
  Model chat("b", "chat", {V("l40s", "L40S", 5, 1, 2)}, {6});
  Model search("c", "search", {V("l40s", "L40S", 5, 1)}, {6});
  GpuBudget b;
  b.cluster = 12;
  std::vector<BudgetedModel> ms = {{&batch.in, &batch.d, {1}, 0.5},
                                   {&chat.in, &chat.d, {1}, 10},
                                   {&search.in, &search.d, {1}, 10}};
  BudgetResult r = ApplyGpuBudget(b, ms);
  // The two priority-10 models share the 3 GPUs round robin (chat first by namespace order);
  // batch keeps what runs and gets nothing more.
  EXPECT_EQ(chat.Targets(), (std::vector<int>{4}));
  EXPECT_EQ(search.Targets(), (std::vector<int>{2}));
  EXPECT_EQ(batch.Targets(), (std::vector<int>{6}));
  EXPECT_EQ(r.placed, 3);
  EXPECT_EQ(r.withheld, 2 + 4 + 2);  // chat, search, batch
  EXPECT_EQ(batch.d.decisions[0].driver, Driver::kBudget);
  EXPECT_EQ(batch.d.decisions[0].action, Action::kNone);
  EXPECT_EQ(chat.d.decisions[0].action, Action::kScaleUp);
  // The same input in another order gives the same result (deterministic).
  Model batch2("a", "batch", {V("l40s", "L40S", 5, 6)}, {8});
  Model chat2("b", "chat", {V("l40s", "L40S", 5, 1, 2)}, {6});
  Model search2("c", "search", {V("l40s", "L40S", 5, 1)}, {6});
  std::vector<BudgetedModel> reversed = {{&search2.in, &search2.d, {1}, 10},
                                         {&chat2.in, &chat2.d, {1}, 10},
                                         {&batch2.in, &batch2.d, {1}, 0.5}};
  ApplyGpuBudget(b, reversed);
  EXPECT_EQ(chat2.Targets(), chat.Targets());
  EXPECT_EQ(search2.Targets(), search.Targets());
  EXPECT_EQ(batch2.Targets(), batch.Targets());
}

TEST(GpuBudget, PriorityGrowthMovesToTheNextCheapestBeforeALowerTierGrows) {
  // H100 budget 2, cluster 5. `chat` (priority 2) wants 3 on H100 ($30); `batch` (priority 1)
  // wants 3 on A100 ($40). chat: 2 on H100, the third moved to A100; batch then gets the 2
  // cluster GPUs left, the third is withheld.
  Model chat("ns", "chat", {V("a100", "A100", 40, 0, 0), V("h100", "H100", 30, 0, 0)}, {0, 3});
  Model batch("ns", "batch", {V("a100", "A100", 40, 0, 0)}, {3});
  GpuBudget b;
  b.cluster = 5;
  b.per_accelerator["H100"] = 2;
  std::vector<BudgetedModel> ms = {{&batch.in, &batch.d, {1}, 1}, {&chat.in, &chat.d, {1, 1}, 2}};
  BudgetResult r = ApplyGpuBudget(b, ms);
  EXPECT_EQ(chat.Targets(), (std::vector<int>{1, 2}));
  EXPECT_EQ(batch.Targets(), (std::vector<int>{2}));
  EXPECT_EQ(r.moved, 1);
  EXPECT_EQ(r.withheld, 1);
  EXPECT_EQ(chat.d.decisions[0].driver, Driver::kBudget);
}

TEST(GpuBudget, NamespaceBudgetAndScaleDownsUntouched) {
  Model a("team-a", "m", {V("a100", "A100", 20, 3), V("l40s", "L40S", 5, 1)}, {2, 3});
  Model b("team-b", "m", {V("l40s", "L40S", 5, 1)}, {2});
  GpuBudget g;
  g.per_namespace["team-a"] = 5;
  std::vector<BudgetedModel> ms = {{&a.in, &a.d, {1, 1}, 1.0}, {&b.in, &b.d, {1}, 1.0}};
  BudgetResult r = ApplyGpuBudget(g, ms);
  // team-a: A100 3 -> 2 (a scale-down, untouched) + L40S 1 -> 3 = 5 GPUs: fits exactly.
  EXPECT_EQ(a.Targets(), (std::vector<int>{2, 3}));
  EXPECT_EQ(b.Targets(), (std::vector<int>{2}));
  EXPECT_EQ(r.withheld, 0);
  // One more L40S in team-a does not fit; A100 is dearer but also in team-a: withheld.
  Model c("team-a", "m", {V("a100", "A100", 20, 3), V("l40s", "L40S", 5, 2)}, {3, 3});
  std::vector<BudgetedModel> cs = {{&c.in, &c.d, {1, 1}, 1.0}};
  r = ApplyGpuBudget(g, cs);
  EXPECT_EQ(c.Targets(), (std::vector<int>{3, 2}));
  EXPECT_EQ(r.withheld, 1);
}

TEST(GpuBudget, NoBudgetChangesNothing) {
  Model m("ns", "m", {V("a100", "A100", 20, 1), V("l40s", "L40S", 5, 2)}, {1, 9});
  std::vector<BudgetedModel> ms = {{&m.in, &m.d, {8, 1}, 1.0}};
  BudgetResult r = ApplyGpuBudget(GpuBudget{}, ms);
  EXPECT_EQ(m.Targets(), (std::vector<int>{1, 9}));
  EXPECT_EQ(r.placed, 7);
  EXPECT_EQ(m.d.decisions[1].driver, Driver::kSteady);
}

}  // namespace
}  // namespace wva::core
