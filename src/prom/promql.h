// PromQL text building: label-value escaping, regex alternations over literal values, and the
// The saturation queries of docs/reference.md (single-model and batched forms).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace wva::prom {

// Escapes a value for use inside a double-quoted PromQL string: `\` -> `\\`, `"` -> `\"`, and
// control characters that would end or corrupt the literal (newline, CR, tab) as \n, \r, \t.
std::string EscapeLabelValue(std::string_view value);

// Escapes RE2 metacharacters so that `value` matches only itself inside a regex matcher.
std::string QuoteRegex(std::string_view value);

// An anchored alternation matching exactly the given literal values, already escaped for a
// double-quoted PromQL string: {"a.b", "c"} -> `a\\.b|c`. Values are sorted and de-duplicated so
// the query text is stable across cycles.
std::string RegexAlternation(std::vector<std::string> values);

// docs/reference.md, one model:
//   max by (pod) (max_over_time(<metric>{namespace="NS",model_name="MODEL"}[1m]))
std::string ModelPeakQuery(std::string_view metric, std::string_view ns, std::string_view model,
                           std::string_view window = "1m");

// Batched form, one query for every managed model:
//   max by (namespace, model_name, pod) (max_over_time(<metric>{namespace=~"A|B",
//       model_name=~"X|Y"}[1m]))
// The regex matchers select the union of namespaces and of models; the cross product they admit
// (a model name managed in another namespace only) is filtered out by the caller.
std::string BatchedPeakQuery(std::string_view metric, const std::vector<std::string>& namespaces,
                             const std::vector<std::string>& models,
                             std::string_view window = "1m");

inline constexpr std::string_view kKvCacheUsageMetric = "vllm:kv_cache_usage_perc";
inline constexpr std::string_view kQueueLengthMetric = "vllm:num_requests_waiting";

}  // namespace wva::prom
