#include "controller/placement_step.h"

#include <charconv>

#include <fmt/format.h>

#include "controller/deployment.h"
#include "controller/json_path.h"
#include "controller/scale_to_zero.h"
#include "controller/va.h"

namespace wva::controller {
namespace {

// Parses one budget key; false with `*err` set when it is not a budget key or value.
bool ParseBudgetKey(const std::string& key, const std::string& value, int* gpus,
                    core::ConfigError* err) {
  const bool known = key == "cluster" || (key.rfind("namespace.", 0) == 0 && key.size() > 10) ||
                     (key.rfind("accelerator.", 0) == 0 && key.size() > 12);
  if (!known) {
    *err = {key, "",
            "unknown key (allowed: cluster, namespace.<namespace>, "
            "accelerator.<GPU product>)"};
    return false;
  }
  std::string v = value;
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) {
    v.pop_back();
  }
  int n = -1;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < 0) {
    *err = {key, "", fmt::format("\"{}\" is not a whole number of GPUs >= 0", v)};
    return false;
  }
  *gpus = n;
  return true;
}

core::GpuBudget BudgetOf(const std::map<std::string, int>& values) {
  core::GpuBudget b;
  for (const auto& [key, n] : values) {
    if (key == "cluster") {
      b.cluster = n;
    } else if (key.rfind("namespace.", 0) == 0) {
      b.per_namespace[key.substr(10)] = n;
    } else {
      b.per_accelerator[key.substr(12)] = n;
    }
  }
  return b;
}

// (product label, allocatable resource) per vendor.
constexpr std::pair<const char*, const char*> kGpuProducts[] = {
    {"nvidia.com/gpu.product", "nvidia.com/gpu"},
    {"amd.com/gpu.product-name", "amd.com/gpu"},
    {"gpu.intel.com/product", "gpu.intel.com/i915"},
    {"habana.ai/product.name", "habana.ai/gaudi"}};

}  // namespace

std::map<std::string, int> GpuInventory(const std::vector<nlohmann::json>& nodes) {
  std::map<std::string, int> out;
  for (const nlohmann::json& n : nodes) {
    if (JsonAt(n, {"spec", "unschedulable"}) == true) {
      continue;  // cordoned: takes no new replica
    }
    for (const auto& [label, resource] : kGpuProducts) {
      const nlohmann::json& product = JsonAt(n, {"metadata", "labels", label});
      if (!product.is_string() || product.get_ref<const std::string&>().empty()) {
        continue;
      }
      const int gpus = WholeDevices(JsonAt(n, {"status", "allocatable", resource}));
      if (gpus > 0) {
        out[product.get<std::string>()] += gpus;
      }
    }
  }
  return out;
}

nlohmann::json ProjectNode(nlohmann::json&& node) {
  nlohmann::json out = {{"metadata",
                         {{"name", JsonAt(node, {"metadata", "name"})},
                          {"uid", JsonAt(node, {"metadata", "uid"})},
                          {"resourceVersion", JsonAt(node, {"metadata", "resourceVersion"})},
                          {"labels", nlohmann::json::object()}}}};
  for (const auto& [label, resource] : kGpuProducts) {
    const nlohmann::json& l = JsonAt(node, {"metadata", "labels", label});
    if (!l.is_null()) {
      out["metadata"]["labels"][label] = l;
    }
    const nlohmann::json& a = JsonAt(node, {"status", "allocatable", resource});
    if (!a.is_null()) {
      out["status"]["allocatable"][resource] = a;
    }
  }
  if (JsonAt(node, {"spec", "unschedulable"}) == true) {
    out["spec"]["unschedulable"] = true;
  }
  return out;
}

std::map<std::string, int> UnschedulableByDeployment(
    const std::vector<PodPtr>& pods, const std::map<std::string, std::string>& pod_owner,
    Clock::WallTime now, std::chrono::seconds threshold) {
  std::map<std::string, int> out;
  for (const PodPtr& p : pods) {
    if (p->deleting || !p->pending || !p->unschedulable || !p->unschedulable_since ||
        now - *p->unschedulable_since < threshold) {
      continue;
    }
    auto owner = pod_owner.find(p->name);
    if (owner != pod_owner.end()) {
      ++out[owner->second];
    }
  }
  return out;
}

GpuBudgetParse ParseGpuBudget(const std::map<std::string, std::string>& data) {
  GpuBudgetParse r;
  std::map<std::string, int> values;
  for (const auto& [key, value] : data) {
    int n = 0;
    core::ConfigError err;
    if (ParseBudgetKey(key, value, &n, &err)) {
      values[key] = n;
    } else {
      r.errors.push_back(std::move(err));
    }
  }
  r.budget = BudgetOf(values);
  return r;
}

std::vector<core::ConfigError> PlacementStep::UpdateBudget(
    const std::map<std::string, std::string>& data) {
  std::vector<core::ConfigError> errors;
  std::map<std::string, int> values;
  MutexLock lock(&mu_);
  for (const auto& [key, value] : data) {
    int n = 0;
    core::ConfigError err;
    if (ParseBudgetKey(key, value, &n, &err)) {
      values[key] = n;
      continue;
    }
    errors.push_back(std::move(err));
    auto last = last_good_values_.find(key);
    if (last != last_good_values_.end()) {
      values[key] = last->second;
    }
  }
  last_good_values_ = values;
  budget_ = BudgetOf(values);
  return errors;
}

core::GpuBudget PlacementStep::budget() const {
  MutexLock lock(&mu_);
  core::GpuBudget b = budget_;
  std::map<std::string, int> sum;
  for (const auto& [node, products] : inventory_) {
    for (const auto& [product, gpus] : products) {
      sum[product] += gpus;
    }
  }
  for (const auto& [product, gpus] : sum) {
    b.per_accelerator.emplace(product, gpus);  // a ConfigMap key for the product wins
  }
  return b;
}

bool PlacementStep::SetNodeGpus(const std::string& node,
                                std::map<std::string, int> gpus_by_product) {
  MutexLock lock(&mu_);
  auto it = inventory_.find(node);
  if (gpus_by_product.empty()) {
    if (it == inventory_.end()) {
      return false;
    }
    inventory_.erase(it);
    return true;
  }
  if (it != inventory_.end() && it->second == gpus_by_product) {
    return false;
  }
  inventory_[node] = std::move(gpus_by_product);
  return true;
}

PlacementStep::Stats PlacementStep::Apply(const CycleInput& in,
                                          const std::map<std::string, std::vector<PodPtr>>& pods,
                                          CycleOutput* out) {
  Stats stats;
  const double now_s = std::chrono::duration<double>(clock_.Now().time_since_epoch()).count();
  const auto wall = clock_.WallNow();
  std::map<std::pair<std::string, std::string>, size_t> index;
  for (size_t i = 0; i < out->vas.size(); ++i) {
    index[{out->vas[i].ns, out->vas[i].name}] = i;
  }
  std::map<std::string, std::map<std::string, int>> unschedulable;  // ns -> deployment -> n
  for (const auto& [ns, list] : pods) {
    auto owners = in.pod_owner.find(ns);
    if (owners == in.pod_owner.end()) {
      continue;
    }
    unschedulable[ns] = UnschedulableByDeployment(list, owners->second, wall, threshold_);
  }
  // The Deployment of each VA, from the outcome index back to the input object.
  auto deployment_of = [&](size_t idx) -> const TargetDeployment* {
    const VaSpec* va = in.vas[idx].spec();
    if (va == nullptr) {
      return nullptr;
    }
    auto d = in.deployments.find(va->ns + "/" + va->target_name);
    return d == in.deployments.end() ? nullptr : d->second.get();
  };
  auto target_of = [&](size_t idx) -> std::string {
    const VaSpec* va = in.vas[idx].spec();
    return va ? va->target_name : "";
  };

  const core::GpuBudget budget = this->budget();
  const bool budgeted =
      budget.cluster || !budget.per_namespace.empty() || !budget.per_accelerator.empty();
  std::vector<core::BudgetedModel> budgeted_models;
  std::vector<bool> touched(out->models.size(), false);
  for (size_t mi = 0; mi < out->models.size(); ++mi) {
    ModelOutcome& m = out->models[mi];
    std::vector<core::VariantPlacement> placement(m.input.variants.size());
    // Upstream's `priority` from the saturation ConfigMap orders models on a contended budget.
    const double priority = in.config ? in.config->ResolvePriority(m.model_id, m.ns) : 1.0;
    core::BudgetedModel bm{&m.input, &m.decision, {}, priority};
    bool any_stock_out = false;
    for (size_t k = 0; k < m.input.variants.size(); ++k) {
      auto it = index.find({m.ns, m.input.variants[k].name});
      if (it == index.end()) {
        continue;
      }
      const std::string key = m.ns + "/" + m.input.variants[k].name;
      int n = 0;
      auto ns = unschedulable.find(m.ns);
      if (ns != unschedulable.end()) {
        auto d = ns->second.find(target_of(it->second));
        if (d != ns->second.end()) {
          n = d->second;
        }
      }
      placement[k] = stock_outs_.Observe(key, n, now_s);
      any_stock_out |= placement[k].stocked_out;
      const TargetDeployment* d = deployment_of(it->second);
      bm.gpus_per_replica.push_back(d ? d->gpus_per_replica : 0);
    }
    if (any_stock_out && out->metrics_ok) {
      core::StockOutResult r = core::ApplyStockOut(m.input, placement, &m.decision);
      stats.moved_stock_out += r.moved;
      stats.unplaced_stock_out += r.unplaced;
      if (r.moved > 0 || r.unplaced > 0) {
        log_.Info("stock-out: replicas moved to the next-cheapest placeable variant",
                  {{"namespace", m.ns},
                   {"model", m.model_id},
                   {"moved", r.moved},
                   {"unplaced", r.unplaced}});
      }
      touched[mi] = true;
    }
    if (budgeted && bm.gpus_per_replica.size() == m.input.variants.size()) {
      budgeted_models.push_back(std::move(bm));
      touched[mi] = true;
    }
  }
  if (budgeted && out->metrics_ok) {
    stats.budget = core::ApplyGpuBudget(budget, budgeted_models);
    if (stats.budget.moved > 0 || stats.budget.withheld > 0) {
      log_.Info("GPU budget bound this cycle's growth", {{"granted", stats.budget.placed},
                                                         {"moved", stats.budget.moved},
                                                         {"withheld", stats.budget.withheld}});
    }
  }
  for (size_t mi = 0; mi < out->models.size(); ++mi) {
    if (touched[mi]) {
      RewriteOutcomes(in, out->models[mi], index, out);
    }
  }
  return stats;
}

}  // namespace wva::controller
