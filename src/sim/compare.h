// The comparison report of `wva simulate --compare a,b,c`: compare.html (self-contained, inline
// SVG: per policy the replicas of each variant and the cumulative $ on shared axes, TTFT p99 per
// scrape interval against the SLO line, markers at scaling decisions), compare.csv and
// compare.json with the table.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "sim/simulator.h"

namespace wva::sim {

// Round axis ticks: 0, step, 2·step, ... up to at least `max`, with step 1, 2, 2.5 or 5 × 10^k
// and about `target` intervals. Returns the tick values (at least two).
std::vector<double> NiceTicks(double max, int target = 5);

// How a time axis of `span_s` seconds is labelled: hours above 3 h, minutes above 3 min,
// otherwise seconds. Returns {divisor, unit}.
std::pair<double, std::string> TimeUnit(double span_s);

std::string CompareCsv(const std::vector<Result>& results);
std::string CompareJson(const std::vector<Result>& results, const std::string& workload);
std::string CompareHtml(const std::vector<Result>& results, const std::string& workload);

// Writes compare.html, compare.csv and compare.json into `dir`.
Status WriteCompare(const std::vector<Result>& results, const std::string& workload,
                    const std::string& dir);

}  // namespace wva::sim
