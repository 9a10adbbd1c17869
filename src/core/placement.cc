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

BudgetResult ApplyGpuBudget(const GpuBudget& budget, std::vector<BudgetedModel>& models) {
  BudgetResult r;
  Usage usage;
  // Floors first: what runs (up to the target) and minReplicas.
  std::vector<std::vector<int>> want(models.size());
  for (size_t m = 0; m < models.size(); ++m) {
    const ModelInput& in = *models[m].input;
    ModelDecision& d = *models[m].decision;
    want[m].assign(in.variants.size(), 0);
    if (d.decisions.size() != in.variants.size()) {
      continue;
    }
    models[m].gpus_per_replica.resize(in.variants.size(), 1);
    for (size_t i = 0; i < in.variants.size(); ++i) {
      const VariantState& v = in.variants[i];
      VariantDecision& x = d.decisions[i];
      const int base = std::max(v.min_replicas, std::min(x.target_replicas, v.current_replicas));
      want[m][i] = std::max(0, x.target_replicas - base);
      x.target_replicas = base;
      Charge(&usage, in.namespace_, v.accelerator,
             x.target_replicas * std::max(0, models[m].gpus_per_replica[i]));
    }
  }
  std::vector<size_t> order(models.size());
  std::iota(order.begin(), order.end(), 0);
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
  for (size_t m : order) {
    const ModelInput& in = *models[m].input;
    ModelDecision& d = *models[m].decision;
    if (d.decisions.size() != in.variants.size()) {
      continue;
    }
    const std::vector<int>& gpus = models[m].gpus_per_replica;
    const std::vector<int> cost_order = CostOrder(in);
    for (size_t i = 0; i < in.variants.size(); ++i) {
      if (want[m][i] == 0) {
        continue;
      }
      int granted = 0, moved = 0, withheld = 0;
      std::string bound;
      std::map<int, int> moved_to;
      for (int k = 0; k < want[m][i]; ++k) {
        const std::string b =
            Binding(budget, usage, in.namespace_, in.variants[i].accelerator, std::max(0, gpus[i]));
        if (b.empty()) {
          ++d.decisions[i].target_replicas;
          Charge(&usage, in.namespace_, in.variants[i].accelerator, std::max(0, gpus[i]));
          ++granted;
          continue;
        }
        bound = b;
        int to = -1;
        for (int j : cost_order) {
          if (j == static_cast<int>(i)) {
            continue;
          }
          const VariantState& v = in.variants[j];
          if (v.cost < in.variants[i].cost) {
            continue;  // only the next-cheapest and dearer
          }
          if (Headroom(v, d.decisions[j].target_replicas) <= 0) {
            continue;
          }
          if (!Binding(budget, usage, in.namespace_, v.accelerator, std::max(0, gpus[j])).empty()) {
            continue;
          }
          to = j;
          break;
        }
        if (to < 0) {
          ++withheld;
          continue;
        }
        ++d.decisions[to].target_replicas;
        Charge(&usage, in.namespace_, in.variants[to].accelerator, std::max(0, gpus[to]));
        ++moved_to[to];
        ++moved;
      }
      r.placed += granted + moved;
      r.moved += moved;
      r.withheld += withheld;
      VariantDecision& x = d.decisions[i];
      if (moved + withheld > 0) {
        x.driver = Driver::kBudget;
        x.reason +=
            fmt::format("; {} bound: {} of {} replica(s) granted here", bound, granted, want[m][i]);
        if (moved > 0) {
          x.reason += fmt::format(", {} on the next-cheapest variant", moved);
        }
        if (withheld > 0) {
          x.reason += fmt::format(", {} withheld", withheld);
        }
      }
      SetAction(in.variants[i], &x);
      for (const auto& [j, count] : moved_to) {
        VariantDecision& y = d.decisions[j];
        y.driver = Driver::kBudget;
        y.reason += fmt::format("; {} bound on {}: +{} replica(s) here instead", bound,
                                in.variants[i].name, count);
        SetAction(in.variants[j], &y);
      }
    }
  }
  return r;
}

}  // namespace wva::core
