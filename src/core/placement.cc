#include "core/placement.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include <fmt/format.h>

namespace wva::core {
namespace {

// Variant indices by cost, then name.
std::vector<int> CostOrder(const ModelInput& in) {
  std::vector<int> order(in.variants.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    const VariantState& x = in.variants[a];
    const VariantState& y = in.variants[b];
    return x.cost != y.cost ? x.cost < y.cost : x.name < y.name;
  });
  return order;
}

int Headroom(const VariantState& v, int target) {
  return v.max_replicas ? std::max(0, *v.max_replicas - target) : std::numeric_limits<int>::max();
}

void SetAction(const VariantState& v, VariantDecision* x) {
  x->action = x->target_replicas > v.current_replicas   ? Action::kScaleUp
              : x->target_replicas < v.current_replicas ? Action::kScaleDown
                                                        : Action::kNone;
}

}  // namespace

VariantPlacement StockOutTracker::Observe(const std::string& key, int unschedulable, double now_s) {
  if (unschedulable > 0) {
    last_seen_[key] = now_s;
  }
  auto seen = last_seen_.find(key);
  const bool stocked = seen != last_seen_.end() && now_s - seen->second < backoff_s_;
  if (seen != last_seen_.end() && !stocked) {
    last_seen_.erase(seen);
  }
  return {unschedulable, stocked};
}

StockOutResult ApplyStockOut(const ModelInput& in, const std::vector<VariantPlacement>& placement,
                             ModelDecision* d) {
  StockOutResult r;
  const size_t n = in.variants.size();
  if (placement.size() != n || d->decisions.size() != n) {
    return r;
  }
  int deficit = 0;
  std::vector<std::string> from;
  for (size_t i = 0; i < n; ++i) {
    if (!placement[i].stocked_out) {
      continue;
    }
    const VariantState& v = in.variants[i];
    VariantDecision& x = d->decisions[i];
    const int cap = std::max(v.min_replicas, v.current_replicas - placement[i].unschedulable);
    if (x.target_replicas <= cap) {
      continue;
    }
    const int given_up = x.target_replicas - cap;
    deficit += given_up;
    from.push_back(v.name);
    x.target_replicas = cap;
    x.driver = Driver::kStockOut;
    x.reason += fmt::format(
        "; stock-out: {} replica(s) cannot be scheduled ({} Pending "
        "unschedulable), moved to the next-cheapest placeable variant",
        given_up, placement[i].unschedulable);
    SetAction(v, &x);
  }
  if (deficit == 0) {
    return r;
  }
  std::string sources;
  for (const std::string& s : from) {
    sources += (sources.empty() ? "" : ", ") + s;
  }
  for (int j : CostOrder(in)) {
    if (deficit == 0) {
      break;
    }
    if (placement[j].stocked_out) {
      continue;
    }
    const VariantState& v = in.variants[j];
    VariantDecision& x = d->decisions[j];
    const int take = std::min(deficit, Headroom(v, x.target_replicas));
    if (take <= 0) {
      continue;
    }
    x.target_replicas += take;
    x.driver = Driver::kStockOut;
    x.reason += fmt::format("; stock-out of {}: +{} replica(s) here instead", sources, take);
    SetAction(v, &x);
    deficit -= take;
    r.moved += take;
  }
  r.unplaced = deficit;
  return r;
}

namespace {

struct Usage {
  int cluster = 0;
  std::map<std::string, int> ns;
  std::map<std::string, int> accelerator;
};

// The first budget that `gpus` more would exceed, "" when it fits.
std::string Binding(const GpuBudget& b, const Usage& u, const std::string& ns,
                    const std::string& accelerator, int gpus) {
  if (gpus <= 0) {
    return "";
  }
  if (b.cluster && u.cluster + gpus > *b.cluster) {
    return fmt::format("cluster GPU budget {}", *b.cluster);
  }
  auto n = b.per_namespace.find(ns);
  if (n != b.per_namespace.end()) {
    auto used = u.ns.find(ns);
    if ((used == u.ns.end() ? 0 : used->second) + gpus > n->second) {
      return fmt::format("namespace {} GPU budget {}", ns, n->second);
    }
  }
  auto a = b.per_accelerator.find(accelerator);
  if (a != b.per_accelerator.end()) {
    auto used = u.accelerator.find(accelerator);
    if ((used == u.accelerator.end() ? 0 : used->second) + gpus > a->second) {
      return fmt::format("{} GPU budget {}", accelerator, a->second);
    }
  }
  return "";
}

void Charge(Usage* u, const std::string& ns, const std::string& accelerator, int gpus) {
  u->cluster += gpus;
  u->ns[ns] += gpus;
  u->accelerator[accelerator] += gpus;
}

}  // namespace

namespace {

// What happened to the growth one variant's decision asked for.
struct Tally {
  int wanted = 0;
  int granted = 0;   // on the variant itself
  int moved = 0;     // on a dearer variant of the same model
  int withheld = 0;  // nowhere
  std::string bound;
  std::map<int, int> moved_to;  // variant -> replicas
};

// Places one replica of growth of variant `i` of model `bm`: on `i` if it fits every budget,
// else on the next-cheapest variant of the model below its maxReplicas that fits.
void PlaceOne(const GpuBudget& budget, const BudgetedModel& bm, const std::vector<int>& cost_order,
              int i, Usage* usage, Tally* t) {
  const ModelInput& in = *bm.input;
  ModelDecision& d = *bm.decision;
  const std::vector<int>& gpus = bm.gpus_per_replica;
  const std::string b =
      Binding(budget, *usage, in.namespace_, in.variants[i].accelerator, std::max(0, gpus[i]));
  if (b.empty()) {
    ++d.decisions[i].target_replicas;
    Charge(usage, in.namespace_, in.variants[i].accelerator, std::max(0, gpus[i]));
    ++t->granted;
    return;
  }
  t->bound = b;
  for (int j : cost_order) {
    const VariantState& v = in.variants[j];
    if (j == i || v.cost < in.variants[i].cost) {
      continue;  // only the next-cheapest and dearer
    }
    if (Headroom(v, d.decisions[j].target_replicas) <= 0 ||
        !Binding(budget, *usage, in.namespace_, v.accelerator, std::max(0, gpus[j])).empty()) {
      continue;
    }
    ++d.decisions[j].target_replicas;
    Charge(usage, in.namespace_, v.accelerator, std::max(0, gpus[j]));
    ++t->moved_to[j];
    ++t->moved;
    return;
  }
  ++t->withheld;
}

// Writes what the budget did into the decisions' drivers, reasons and actions.
void Explain(const BudgetedModel& bm, const std::vector<Tally>& tallies, bool show_priority) {
  const ModelInput& in = *bm.input;
  ModelDecision& d = *bm.decision;
  const std::string priority = show_priority ? fmt::format(" (priority {:g})", bm.priority) : "";
  for (size_t i = 0; i < tallies.size(); ++i) {
    const Tally& t = tallies[i];
    VariantDecision& x = d.decisions[i];
    if (t.moved + t.withheld > 0) {
      x.driver = Driver::kBudget;
      x.reason += fmt::format("; {} bound{}: {} of {} replica(s) granted here", t.bound, priority,
                              t.granted, t.wanted);
      if (t.moved > 0) {
        x.reason += fmt::format(", {} on the next-cheapest variant", t.moved);
      }
      if (t.withheld > 0) {
        x.reason += fmt::format(", {} withheld", t.withheld);
      }
    }
    for (const auto& [j, count] : t.moved_to) {
      VariantDecision& y = d.decisions[j];
      y.driver = Driver::kBudget;
      y.reason += fmt::format("; {} bound on {}: +{} replica(s) here instead", t.bound,
                              in.variants[i].name, count);
    }
  }
  for (size_t i = 0; i < in.variants.size(); ++i) {
    SetAction(in.variants[i], &d.decisions[i]);
  }
}

}  // namespace

BudgetResult ApplyGpuBudget(const GpuBudget& budget, std::vector<BudgetedModel>& models) {
  BudgetResult r;
  Usage usage;
  // Floors first: what runs (up to the target) and minReplicas. `queue[m]` lists the growth
  // asked for, one entry (a variant index) per replica, cheapest variant first.
  std::vector<std::vector<int>> queue(models.size());
  std::vector<std::vector<int>> cost_order(models.size());
  std::vector<std::vector<Tally>> tallies(models.size());
  std::vector<size_t> order;
  for (size_t m = 0; m < models.size(); ++m) {
    const ModelInput& in = *models[m].input;
    ModelDecision& d = *models[m].decision;
    if (d.decisions.size() != in.variants.size()) {
      continue;
    }
    order.push_back(m);
    models[m].gpus_per_replica.resize(in.variants.size(), 1);
    cost_order[m] = CostOrder(in);
    tallies[m].resize(in.variants.size());
    for (size_t i = 0; i < in.variants.size(); ++i) {
      const VariantState& v = in.variants[i];
      VariantDecision& x = d.decisions[i];
      const int base = std::max(v.min_replicas, std::min(x.target_replicas, v.current_replicas));
      tallies[m][i].wanted = std::max(0, x.target_replicas - base);
      x.target_replicas = base;
      Charge(&usage, in.namespace_, v.accelerator,
             x.target_replicas * std::max(0, models[m].gpus_per_replica[i]));
    }
    for (int i : cost_order[m]) {
      queue[m].insert(queue[m].end(), tallies[m][i].wanted, i);
    }
  }
  // Higher priority first; equal priorities share what is left one replica per model per
  // round, in namespace and model order, so no model of a tier starves another.
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const BudgetedModel& x = models[a];
    const BudgetedModel& y = models[b];
    if (x.priority != y.priority) {
      return x.priority > y.priority;
    }
    if (x.input->namespace_ != y.input->namespace_) {
      return x.input->namespace_ < y.input->namespace_;
    }
    return x.input->model_id < y.input->model_id;
  });
  bool mixed_priorities = false;
  for (size_t k = 1; k < order.size(); ++k) {
    mixed_priorities |= models[order[k]].priority != models[order[0]].priority;
  }
  std::vector<size_t> next(models.size(), 0);
  for (size_t tier = 0; tier < order.size();) {
    size_t end = tier;
    while (end < order.size() && models[order[end]].priority == models[order[tier]].priority) {
      ++end;
    }
    for (bool more = true; more;) {
      more = false;
      for (size_t k = tier; k < end; ++k) {
        const size_t m = order[k];
        if (next[m] >= queue[m].size()) {
          continue;
        }
        const int i = queue[m][next[m]++];
        PlaceOne(budget, models[m], cost_order[m], i, &usage, &tallies[m][i]);
        more = true;
      }
    }
    tier = end;
  }
  for (size_t m : order) {
    for (const Tally& t : tallies[m]) {
      r.placed += t.granted + t.moved;
      r.moved += t.moved;
      r.withheld += t.withheld;
    }
    Explain(models[m], tallies[m], mixed_priorities);
  }
  return r;
}

}  // namespace wva::core
