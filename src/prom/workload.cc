#include "prom/workload.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "prom/calibration.h"
#include "prom/metrics.h"
#include "prom/promql.h"

namespace wva::prom {

std::string BatchedRateQuery(std::string_view series, const std::vector<std::string>& namespaces,
                             const std::vector<std::string>& models, std::string_view window) {
  return fmt::format(
      "sum by (namespace, model_name) (rate({}{{namespace=~\"{}\",model_name=~\"{}\"}}[{}]))",
      series, RegexAlternation(namespaces), RegexAlternation(models), window);
}

std::string BatchedBucketQuery(std::string_view histogram,
                               const std::vector<std::string>& namespaces,
                               const std::vector<std::string>& models, std::string_view window) {
  return fmt::format(
      "sum by (namespace, model_name, le) (rate({}_bucket{{namespace=~\"{}\",model_name=~\"{}\"}}"
      "[{}]))",
      histogram, RegexAlternation(namespaces), RegexAlternation(models), window);
}

namespace {

// "+Inf" or a finite non-negative number; nullopt for anything else.
std::optional<double> BucketBound(const std::string& le) {
  if (le == "+Inf") {
    return std::numeric_limits<double>::infinity();
  }
  try {
    size_t pos = 0;
    const double v = std::stod(le, &pos);
    if (pos == le.size() && std::isfinite(v) && v >= 0) {
      return v;
    }
  } catch (...) {
  }
  return std::nullopt;
}

}  // namespace

void CollectBuckets(Querier& querier, const std::vector<std::string>& namespaces,
                    const std::vector<std::string>& models, const std::set<ModelKey>& wanted,
                    const CollectOptions& options, WorkloadSnapshot* snap) {
  const Clock& clock = options.clock ? *options.clock : RealClock::Get();
  struct Spec {
    std::string_view histogram;
    std::vector<std::pair<double, double>> ModelRates::*slot;
  } specs[] = {{kTtftHistogram, &ModelRates::ttft_buckets},
               {kItlHistogram, &ModelRates::itl_buckets}};
  for (const Spec& s : specs) {
    ++snap->queries;
    const auto start = clock.Now();
    QueryOutcome out =
        querier.Query(BatchedBucketQuery(s.histogram, namespaces, models, options.window));
    if (options.metrics) {
      options.metrics->RecordPromQuery(
          "workload", std::chrono::duration<double>(clock.Now() - start).count(),
          out ? std::nullopt : std::optional<ErrorKind>(out.error().kind));
    }
    if (!out) {
      snap->failures.push_back({std::string(s.histogram) + "_bucket", out.error()});
      continue;
    }
    std::map<ModelKey, std::vector<std::pair<double, double>>> found;
    std::set<ModelKey> bad;
    for (const Sample& sample : out->samples) {
      auto ns = sample.labels.find("namespace");
      auto model = sample.labels.find("model_name");
      auto le = sample.labels.find("le");
      if (ns == sample.labels.end() || model == sample.labels.end()) {
        continue;
      }
      ModelKey key{ns->second, model->second};
      if (!wanted.count(key)) {
        continue;
      }
      const double v = sample.point.value;
      const std::optional<double> bound =
          le == sample.labels.end() ? std::nullopt : BucketBound(le->second);
      if (!bound || sample.point.value_class != ValueClass::kFinite || !std::isfinite(v) || v < 0) {
        bad.insert(key);  // one unusable bucket spoils the model's histogram this cycle
        continue;
      }
      found[key].emplace_back(*bound, v);
    }
    for (auto& [key, buckets] : found) {
      std::sort(buckets.begin(), buckets.end());
      if (bad.count(key) || std::isfinite(buckets.back().first)) {
        continue;  // no +Inf: partial
      }
      snap->models[key].*s.slot = std::move(buckets);
    }
  }
}

WorkloadSnapshot CollectWorkload(Querier& querier, const std::vector<ModelKey>& managed,
                                 const CollectOptions& options) {
  WorkloadSnapshot snap;
  if (managed.empty()) {
    return snap;
  }
  std::set<std::string> ns_set, model_set;
  std::set<ModelKey> wanted(managed.begin(), managed.end());
  for (const auto& k : managed) {
    ns_set.insert(k.ns);
    model_set.insert(k.model);
  }
  const std::vector<std::string> namespaces(ns_set.begin(), ns_set.end());
  const std::vector<std::string> models(model_set.begin(), model_set.end());
  const Clock& clock = options.clock ? *options.clock : RealClock::Get();
  struct Spec {
    const char* series;
    double ModelRates::*slot;
  } specs[] = {{"vllm:request_success_total", &ModelRates::success},
               {"vllm:request_prompt_tokens_sum", &ModelRates::prompt_sum},
               {"vllm:request_prompt_tokens_count", &ModelRates::prompt_count},
               {"vllm:request_generation_tokens_sum", &ModelRates::gen_sum},
               {"vllm:request_generation_tokens_count", &ModelRates::gen_count}};
  for (const Spec& s : specs) {
    ++snap.queries;
    const auto start = clock.Now();
    QueryOutcome out =
        querier.Query(BatchedRateQuery(s.series, namespaces, models, options.window));
    if (options.metrics) {
      options.metrics->RecordPromQuery(
          "workload", std::chrono::duration<double>(clock.Now() - start).count(),
          out ? std::nullopt : std::optional<ErrorKind>(out.error().kind));
    }
    if (!out) {
      snap.failures.push_back({s.series, out.error()});
      continue;
    }
    for (const Sample& sample : out->samples) {
      auto ns = sample.labels.find("namespace");
      auto model = sample.labels.find("model_name");
      if (ns == sample.labels.end() || model == sample.labels.end()) {
        continue;
      }
      ModelKey key{ns->second, model->second};
      if (!wanted.count(key)) {
        continue;
      }
      const double v = sample.point.value;
      if (sample.point.value_class != ValueClass::kFinite || !std::isfinite(v) || v < 0) {
        continue;
      }
      snap.models[key].*s.slot = v;
    }
  }
  CollectBuckets(querier, namespaces, models, wanted, options, &snap);
  return snap;
}

}  // namespace wva::prom
