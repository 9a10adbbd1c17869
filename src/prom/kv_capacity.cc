#include "prom/kv_capacity.h"

#include <chrono>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "prom/metrics.h"
#include "prom/promql.h"

namespace wva::prom {
namespace {

bool PositiveNumber(const std::map<std::string, std::string>& labels, const char* name,
                    double* out) {
  auto it = labels.find(name);
  if (it == labels.end() || it->second.empty()) {
    return false;
  }
  try {
    size_t pos = 0;
    const double v = std::stod(it->second, &pos);
    if (pos != it->second.size() || !std::isfinite(v) || v <= 0) {
      return false;
    }
    *out = v;
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

std::string KvCapacityQuery(const std::vector<std::string>& namespaces) {
  return fmt::format(
      "max by (namespace, pod, num_gpu_blocks, block_size) "
      "(vllm:cache_config_info{{namespace=~\"{}\"}})",
      RegexAlternation(namespaces));
}

KvCapacitySnapshot CollectKvCapacity(Querier& querier, const std::vector<std::string>& namespaces,
                                     const CollectOptions& options) {
  KvCapacitySnapshot snap;
  if (namespaces.empty()) {
    return snap;
  }
  const std::set<std::string> wanted(namespaces.begin(), namespaces.end());
  const Clock& clock = options.clock ? *options.clock : RealClock::Get();
  ++snap.queries;
  const auto start = clock.Now();
  QueryOutcome out = querier.Query(KvCapacityQuery(namespaces));
  if (options.metrics) {
    options.metrics->RecordPromQuery(
        "cache_config", std::chrono::duration<double>(clock.Now() - start).count(),
        out ? std::nullopt : std::optional<ErrorKind>(out.error().kind));
  }
  if (!out) {
    snap.failures.push_back({"cache_config", out.error()});
    return snap;
  }
  for (const Sample& s : out->samples) {
    auto ns = s.labels.find("namespace");
    auto pod = s.labels.find("pod");
    double blocks = 0, block_size = 0;
    if (ns == s.labels.end() || !wanted.count(ns->second) || pod == s.labels.end() ||
        pod->second.empty() || !PositiveNumber(s.labels, "num_gpu_blocks", &blocks) ||
        !PositiveNumber(s.labels, "block_size", &block_size)) {
      ++snap.skipped;
      continue;
    }
    double& slot = snap.tokens[ns->second][pod->second];
    slot = std::max(slot, blocks * block_size);
  }
  return snap;
}

}  // namespace wva::prom
