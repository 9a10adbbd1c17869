// KV-cache capacity per pod for the token-based analyzer (V2): one batched query per cycle over
// the namespaces of the models that use it,
//   max by (namespace, pod, num_gpu_blocks, block_size) (vllm:cache_config_info{namespace=~".."})
// and capacity = num_gpu_blocks x block_size tokens, read from the labels (the gauge's value is
// always 1). No model_name matcher: vLLM's info gauge does not reliably carry it; pods are
// matched to models by the saturation samples. Series with missing, non-numeric or
// non-positive labels are skipped.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "prom/collect.h"

namespace wva::prom {

struct KvCapacitySnapshot {
  std::map<std::string, std::map<std::string, double>> tokens;  // namespace -> pod -> tokens
  std::vector<MetricFailure> failures;
  int queries = 0;
  int skipped = 0;  // series without usable num_gpu_blocks/block_size labels
  bool ok() const { return failures.empty(); }
};

std::string KvCapacityQuery(const std::vector<std::string>& namespaces);

KvCapacitySnapshot CollectKvCapacity(Querier& querier, const std::vector<std::string>& namespaces,
                                     const CollectOptions& options = {});

}  // namespace wva::prom
