#include "sim/placement.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "base/duration.h"

namespace wva::sim {
namespace {

Status Keys(const YAML::Node& n, const std::string& at, const std::set<std::string>& allowed,
            const FailFn& fail) {
  if (!n.IsMap()) {
    return fail(at, "must be a mapping");
  }
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string k = it->first.IsScalar() ? it->first.Scalar() : "?";
    if (!allowed.count(k)) {
      std::string list;
      for (const std::string& a : allowed) {
        list += (list.empty() ? "" : ", ") + a;
      }
      return fail(at + "." + k, fmt::format("unknown field (allowed: {})", list));
    }
  }
  return OkStatus();
}

// A whole number >= `min`.
Status Whole(const YAML::Node& n, const std::string& at, int min, const FailFn& fail, int* out) {
  double d = 0;
  try {
    d = n.IsScalar() ? n.as<double>() : NAN;
  } catch (const YAML::Exception&) {
    d = NAN;
  }
  if (!std::isfinite(d) || d != std::floor(d) || d < min || d > 1e9) {
    return fail(at, fmt::format("must be a whole number >= {}", min));
  }
  *out = static_cast<int>(d);
  return OkStatus();
}

// Seconds, or a Go duration ("90s", "10m").
Status Seconds(const YAML::Node& n, const std::string& at, const FailFn& fail, double* out) {
  if (!n.IsScalar()) {
    return fail(at, "must be a duration");
  }
  try {
    const double d = n.as<double>();
    if (!std::isfinite(d) || d < 0) {
      return fail(at, "must be >= 0");
    }
    *out = d;
    return OkStatus();
  } catch (const YAML::Exception&) {
  }
  auto parsed = ParseDuration(n.Scalar());
  if (!parsed) {
    return fail(at, parsed.error().message());
  }
  *out = std::chrono::duration<double>(*parsed).count();
  return OkStatus();
}

Status NamedCounts(const YAML::Node& n, const std::string& at, int min, const FailFn& fail,
                   std::map<std::string, int>* out) {
  if (!n.IsMap()) {
    return fail(at, "must be a mapping of name: count");
  }
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string k = it->first.IsScalar() ? it->first.Scalar() : "";
    if (k.empty()) {
      return fail(at, "names must be non-empty strings");
    }
    WVA_RETURN_IF_ERROR(Whole(it->second, at + "." + k, min, fail, &(*out)[k]));
  }
  return OkStatus();
}

}  // namespace

int FleetPlacement::GpusPerReplica(const std::string& variant) const {
  auto it = gpus_per_replica.find(variant);
  return it == gpus_per_replica.end() ? 1 : it->second;
}

int FleetPlacement::Schedulable(const std::string& variant, double t) const {
  int limit = -1;
  for (const StockOutWindow& w : stockouts) {
    if (w.variant == variant && t >= w.from_s && t < w.until_s) {
      limit = limit < 0 ? w.available : std::min(limit, w.available);
    }
  }
  return limit;
}

double FleetPlacement::NextBoundary(double t) const {
  double next = std::numeric_limits<double>::infinity();
  for (const StockOutWindow& w : stockouts) {
    for (double b : {w.from_s, w.until_s}) {
      if (b > t) {
        next = std::min(next, b);
      }
    }
  }
  return next;
}

Status ParseBudgets(const YAML::Node& n, const FailFn& fail, FleetPlacement* out) {
  WVA_RETURN_IF_ERROR(Keys(n, "budgets", {"cluster", "accelerators", "gpusPerReplica"}, fail));
  out->has_budget = true;
  if (n["cluster"]) {
    int c = 0;
    WVA_RETURN_IF_ERROR(Whole(n["cluster"], "budgets.cluster", 0, fail, &c));
    out->budget.cluster = c;
  }
  if (n["accelerators"]) {
    WVA_RETURN_IF_ERROR(NamedCounts(n["accelerators"], "budgets.accelerators", 0, fail,
                                    &out->budget.per_accelerator));
  }
  if (n["gpusPerReplica"]) {
    WVA_RETURN_IF_ERROR(NamedCounts(n["gpusPerReplica"], "budgets.gpusPerReplica", 0, fail,
                                    &out->gpus_per_replica));
  }
  return OkStatus();
}

Status ParseStockouts(const YAML::Node& n, const FailFn& fail, FleetPlacement* out) {
  WVA_RETURN_IF_ERROR(Keys(n, "stockouts", {"threshold", "backoff", "windows"}, fail));
  if (n["threshold"]) {
    WVA_RETURN_IF_ERROR(Seconds(n["threshold"], "stockouts.threshold", fail, &out->threshold_s));
  }
  if (n["backoff"]) {
    WVA_RETURN_IF_ERROR(Seconds(n["backoff"], "stockouts.backoff", fail, &out->backoff_s));
  }
  const YAML::Node ws = n["windows"];
  if (!ws) {
    return fail("stockouts.windows", "required");
  }
  if (!ws.IsSequence()) {
    return fail("stockouts.windows", "must be a list of {variant, from, until, available}");
  }
  for (size_t i = 0; i < ws.size(); ++i) {
    const std::string at = fmt::format("stockouts.windows[{}]", i);
    const YAML::Node w = ws[i];
    WVA_RETURN_IF_ERROR(Keys(w, at, {"variant", "from", "until", "available"}, fail));
    StockOutWindow s;
    if (!w["variant"] || !w["variant"].IsScalar() || w["variant"].Scalar().empty()) {
      return fail(at + ".variant", "required: the variant's name");
    }
    s.variant = w["variant"].Scalar();
    if (w["from"]) {
      WVA_RETURN_IF_ERROR(Seconds(w["from"], at + ".from", fail, &s.from_s));
    }
    if (w["until"]) {
      WVA_RETURN_IF_ERROR(Seconds(w["until"], at + ".until", fail, &s.until_s));
      if (!(s.until_s > s.from_s)) {
        return fail(at + ".until", "must be after from");
      }
    }
    if (w["available"]) {
      WVA_RETURN_IF_ERROR(Whole(w["available"], at + ".available", 0, fail, &s.available));
    }
    out->stockouts.push_back(std::move(s));
  }
  return OkStatus();
}

Status ValidatePlacement(const FleetPlacement& p, const std::vector<std::string>& variants) {
  const std::set<std::string> names(variants.begin(), variants.end());
  for (const auto& [v, n] : p.gpus_per_replica) {
    if (!names.count(v)) {
      return InvalidArgumentError(
          fmt::format("budgets.gpusPerReplica.{}: no variant of that name", v));
    }
  }
  for (size_t i = 0; i < p.stockouts.size(); ++i) {
    if (!names.count(p.stockouts[i].variant)) {
      return InvalidArgumentError(fmt::format("stockouts.windows[{}].variant: no variant \"{}\"", i,
                                              p.stockouts[i].variant));
    }
  }
  if (!(p.threshold_s >= 0) || !(p.backoff_s >= 0)) {
    return InvalidArgumentError("stockouts: threshold and backoff must be >= 0");
  }
  return OkStatus();
}

}  // namespace wva::sim
