// Outputs of `wva simulate`: summary.json (exactly the keys of docs/reference.md), timeseries.csv,
// a self-contained report.html with inline SVG charts, the stdout scorecard and the --compare
// table.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "sim/simulator.h"

namespace wva::sim {

// summary.json text. Numbers are rounded to 3 decimals. wall_seconds is the only key that varies
// between identical runs; with `include_wall` false it is written as 0 (byte-identical output).
// Text escaped for HTML element content and double-quoted attributes (< > & ").
std::string HtmlEscape(const std::string& s);

std::string SummaryJson(const Result& r, bool include_wall = true);
std::string TimeseriesCsv(const Result& r);
// decisions.csv: `t_s,reason`, one row per controller run whose policy changed a target, with
// the policy's reason (which variant, from what to what, which rule drove it), CSV-quoted.
std::string DecisionsCsv(const Result& r);
std::string ReportHtml(const Result& r);
// One screen of text.
std::string Scorecard(const Result& r);
// Side-by-side table of several runs on the same workload.
std::string CompareTable(const std::vector<Result>& results);

// Writes each (file name, contents) into `dir` (created if missing); the first failure names the
// path.
Status WriteFiles(const std::string& dir,
                  const std::vector<std::pair<std::string, std::string>>& files);

// Writes summary.json, timeseries.csv, decisions.csv and report.html into `dir` (created if
// missing).
Status WriteOutputs(const Result& r, const std::string& dir, bool include_wall = true);

}  // namespace wva::sim
