// The comparison report (see compare.h).
#include "sim/compare.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/report.h"

namespace wva::sim {
namespace {

const char* kPolicyColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                               "#9467bd", "#8c564b", "#e377c2", "#17becf"};

double R3(double x) {
  if (!std::isfinite(x)) {
    return 0;
  }
  const double r = std::round(x * 1000.0) / 1000.0;
  return r == 0 ? 0.0 : r;
}

std::string Num(double v) {
  // Tick labels: no trailing zeros, no exponent for the ranges charts use.
  std::string s = fmt::format("{:.3f}", v);
  while (!s.empty() && s.back() == '0') {
    s.pop_back();
  }
  if (!s.empty() && s.back() == '.') {
    s.pop_back();
  }
  return s == "-0" ? "0" : s;
}

struct Line {
  std::string name;
  std::string color;
  std::vector<double> x, y;   // y NaN = gap
  std::vector<double> marks;  // x positions of decision markers
};

struct ChartSpec {
  std::string title, unit;
  double x_max = 1;
  double x_div = 60;
  std::string x_unit = "min";
  double hline = NAN;  // a horizontal reference (the SLO), drawn dashed
  std::string hline_label;
};

std::string Chart(const ChartSpec& c, const std::vector<Line>& lines) {
  const double w = 900, h = 240, l = 64, r = 190, t = 26, b = 34;
  double y_max = std::isfinite(c.hline) ? c.hline : 0;
  for (const Line& ln : lines) {
    for (double v : ln.y) {
      if (std::isfinite(v)) {
        y_max = std::max(y_max, v);
      }
    }
  }
  const std::vector<double> yt = NiceTicks(y_max > 0 ? y_max : 1);
  const std::vector<double> xt = NiceTicks(std::max(c.x_max / c.x_div, 1e-9), 6);
  const double ytop = yt.back(), xtop = xt.back() * c.x_div;
  auto X = [&](double v) { return l + (w - l - r) * v / xtop; };
  auto Y = [&](double v) { return t + (h - t - b) * (1 - v / ytop); };
  std::string o = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<text x=\"{}\" y=\"16\" font-size=\"13\" "
      "font-weight=\"bold\">{}</text>\n",
      w, h, l, HtmlEscape(c.title));
  for (double v : yt) {
    o += fmt::format(
        "<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#eee\"/>"
        "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
        l, w - r, Y(v), Y(v), l - 4, Y(v) + 4, Num(v));
  }
  for (double v : xt) {
    o += fmt::format(
        "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#eee\"/>"
        "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
        X(v * c.x_div), t, h - b, h - b + 14, Num(v));
  }
  o += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" "
      "stroke=\"#bbb\"/>\n<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">time ({})"
      "</text>\n<text x=\"12\" y=\"{}\" transform=\"rotate(-90 12 {})\" "
      "text-anchor=\"middle\">{}</text>\n",
      l, t, w - l - r, h - t - b, l + (w - l - r) / 2, h - 4, c.x_unit, t + (h - t - b) / 2,
      t + (h - t - b) / 2, HtmlEscape(c.unit));
  if (std::isfinite(c.hline)) {
    o += fmt::format(
        "<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#000\" "
        "stroke-dasharray=\"6 4\"/><text x=\"{}\" y=\"{:.1f}\">{}</text>\n",
        l, w - r, Y(c.hline), Y(c.hline), w - r + 4, Y(c.hline) + 4, HtmlEscape(c.hline_label));
  }
  int li = 0;
  for (const Line& ln : lines) {
    std::string pts;
    auto flush = [&] {
      if (!pts.empty()) {
        o += fmt::format(
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" "
            "points=\"{}\"/>\n",
            ln.color, pts);
      }
      pts.clear();
    };
    for (size_t i = 0; i < ln.x.size() && i < ln.y.size(); ++i) {
      if (!std::isfinite(ln.y[i])) {
        flush();
        continue;
      }
      pts += fmt::format("{:.1f},{:.1f} ", X(ln.x[i]), Y(ln.y[i]));
    }
    flush();
    for (double m : ln.marks) {  // a small triangle under the axis per decision
      const double mx = X(m), my = h - b - 2 - 5 * li;
      o += fmt::format("<path d=\"M{:.1f},{:.1f} l-3,4 l6,0 z\" fill=\"{}\"/>\n", mx, my - 4,
                       ln.color);
    }
    const double ly = t + 12 + 16 * li++;
    o += fmt::format(
        "<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"{}\" "
        "stroke-width=\"2\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
        w - r + 8, w - r + 28, ly - 4, ly - 4, ln.color, w - r + 32, ly,
        HtmlEscape(ln.name.size() > 26 ? ln.name.substr(0, 25) + "…" : ln.name));
  }
  o += "</svg>\n";
  return o;
}

bool Met(const Result& r) { return r.attainment >= r.slo_percentile; }

}  // namespace

std::vector<double> NiceTicks(double max, int target) {
  if (!(max > 0) || !std::isfinite(max)) {
    max = 1;
  }
  const double raw = max / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * mag >= raw - 1e-12 * mag) {
      step = m * mag;
      break;
    }
  }
  std::vector<double> ticks;
  for (int i = 0;; ++i) {
    const double v = step * i;
    ticks.push_back(v);
    if (v >= max - 1e-9 * step && i >= 1) {
      break;
    }
  }
  return ticks;
}

std::pair<double, std::string> TimeUnit(double span_s) {
  if (span_s > 3 * 3600) {
    return {3600, "h"};
  }
  if (span_s > 180) {
    return {60, "min"};
  }
  return {1, "s"};
}

std::string CompareCsv(const std::vector<Result>& results) {
  std::string o =
      "policy,cost_usd,replica_hours,attainment,slo_target,slo_met,ttft_p90_ms,ttft_p99_ms,"
      "itl_p99_ms,requests,completed,unfinished,preempted,scaling_actions\n";
  for (const Result& r : results) {
    o += fmt::format("\"{}\",{:.3f},{:.3f},{:.4f},{:.3f},{},{:.1f},{:.1f},{:.2f},{},{},{},{},{}\n",
                     r.policy, r.cost_usd, r.replica_hours, r.attainment, r.slo_percentile,
                     Met(r) ? "true" : "false", r.ttft_p90, r.ttft_p99, r.itl_p99, r.requests,
                     r.completed, r.unfinished, r.preempted, r.scaling_actions);
  }
  return o;
}

std::string CompareJson(const std::vector<Result>& results, const std::string& workload) {
  nlohmann::ordered_json j;
  j["workload"] = workload;
  if (!results.empty()) {
    j["slo"] = {{"ttft_ms", R3(results[0].slo_ttft_ms)},
                {"itl_ms", R3(results[0].slo_itl_ms)},
                {"target", R3(results[0].slo_percentile)}};
  }
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const Result& r : results) {
    rows.push_back({{"policy", r.policy},
                    {"cost_usd", R3(r.cost_usd)},
                    {"replica_hours", R3(r.replica_hours)},
                    {"attainment", R3(r.attainment)},
                    {"slo_met", Met(r)},
                    {"ttft_ms", {{"p90", R3(r.ttft_p90)}, {"p99", R3(r.ttft_p99)}}},
                    {"itl_ms", {{"p99", R3(r.itl_p99)}}},
                    {"requests", r.requests},
                    {"completed", r.completed},
                    {"unfinished", r.unfinished},
                    {"preempted", r.preempted},
                    {"scaling_actions", r.scaling_actions}});
  }
  j["policies"] = rows;
  return j.dump(2) + "\n";
}

std::string CompareHtml(const std::vector<Result>& results, const std::string& workload) {
  double span = 1;
  double ttft_max = 0;
  for (const Result& r : results) {
    span = std::max(span, r.sim_seconds);
    for (const Row& row : r.rows) {
      ttft_max = std::max(ttft_max, row.ttft_p99_ms);
    }
  }
  const auto [x_div, x_unit] = TimeUnit(span);
  ChartSpec base;
  base.x_max = span;
  base.x_div = x_div;
  base.x_unit = x_unit;
  const Result* first = results.empty() ? nullptr : &results.front();
  std::string o =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>wva simulate: policy "
      "comparison</title>\n<style>body{font-family:sans-serif;margin:20px;max-width:960px}"
      "pre{background:#f6f6f6;padding:10px;overflow-x:auto}table{border-collapse:collapse}"
      "td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}"
      "td:first-child,th:first-child{text-align:left}.met{color:#2ca02c}.missed{color:#d62728}"
      "</style></head><body>\n<h1>Policy comparison</h1>\n";
  o += fmt::format("<p>Workload: {}</p>\n", HtmlEscape(workload));
  if (first) {
    o += fmt::format(
        "<p>SLO: TTFT &le; {:.0f} ms and ITL &le; {:.0f} ms for at least {:.0f} % of "
        "requests.</p>\n",
        first->slo_ttft_ms, first->slo_itl_ms, 100 * first->slo_percentile);
  }
  o += "<table><tr><th>policy</th><th>cost ($)</th><th>replica-hours</th><th>SLO attainment</th>"
       "<th>SLO</th><th>TTFT p99 (ms)</th><th>ITL p99 (ms)</th><th>scaling actions</th></tr>\n";
  for (const Result& r : results) {
    o += fmt::format(
        "<tr><td>{}</td><td>{:.2f}</td><td>{:.2f}</td><td>{:.1f} %</td>"
        "<td class=\"{}\">{}</td><td>{:.0f}</td><td>{:.1f}</td><td>{}</td></tr>\n",
        HtmlEscape(r.policy), r.cost_usd, r.replica_hours, 100 * r.attainment,
        Met(r) ? "met" : "missed", Met(r) ? "met" : "missed", r.ttft_p99, r.itl_p99,
        r.scaling_actions);
  }
  o += "</table>\n<p>Markers under each chart: the times a policy changed a replica count "
       "(decisions.csv).</p>\n";
  auto lines = [&](auto value) {
    std::vector<Line> out;
    for (size_t i = 0; i < results.size(); ++i) {
      const Result& r = results[i];
      Line ln{r.policy, kPolicyColors[i % 8], {}, {}, {}};
      for (const Row& row : r.rows) {
        ln.x.push_back(row.t_s);
        ln.y.push_back(value(r, row));
      }
      for (const Result::Decision& d : r.decisions) {
        ln.marks.push_back(d.t_s);
      }
      out.push_back(std::move(ln));
    }
    return out;
  };
  const std::vector<std::string>& variants =
      first ? first->variant_names : std::vector<std::string>{};
  for (size_t v = 0; v < variants.size(); ++v) {
    ChartSpec c = base;
    c.title = "Replicas of " + variants[v] + " (ready + starting)";
    c.unit = "replicas";
    o += Chart(c, lines([v](const Result&, const Row& row) {
                 return v < row.ready.size() ? static_cast<double>(row.ready[v] + row.starting[v])
                                             : NAN;
               }));
  }
  ChartSpec cost = base;
  cost.title = "Cumulative cost";
  cost.unit = "USD";
  o += Chart(cost, lines([](const Result&, const Row& row) { return row.cost_usd; }));
  ChartSpec ttft = base;
  const bool secs = ttft_max > 10000;
  const double div = secs ? 1000 : 1;
  ttft.title = "TTFT p99 of the requests finishing in each scrape interval";
  ttft.unit = secs ? "s" : "ms";
  if (first) {
    ttft.hline = first->slo_ttft_ms / div;
    ttft.hline_label = fmt::format("SLO {} {}", Num(first->slo_ttft_ms / div), ttft.unit);
  }
  o += Chart(ttft, lines([div](const Result&, const Row& row) {
               return row.ttft_p99_ms < 0 ? NAN : row.ttft_p99_ms / div;
             }));
  o += "<h2>Table</h2>\n<pre>" + HtmlEscape(CompareTable(results)) + "</pre>\n";
  o += "<p>Generated by <code>wva simulate --compare</code>; data in compare.csv, compare.json "
       "and each policy's folder.</p>\n</body></html>\n";
  return o;
}

Status WriteCompare(const std::vector<Result>& results, const std::string& workload,
                    const std::string& dir) {
  return WriteFiles(dir, {{"compare.html", CompareHtml(results, workload)},
                          {"compare.csv", CompareCsv(results)},
                          {"compare.json", CompareJson(results, workload)}});
}

}  // namespace wva::sim
