// Simulator outputs (see report.h).
#include "sim/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace wva::sim {
namespace {

double R3(double x) {
  if (!std::isfinite(x)) {
    return 0;
  }
  const double r = std::round(x * 1000.0) / 1000.0;
  return r == 0 ? 0.0 : r;  // no "-0.0"
}

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};

struct Series {
  std::string name;
  std::vector<double> y;  // NaN = gap
  std::string color;
  bool dashed = false;
};

// A line chart as inline SVG. x in seconds (shown in minutes).
std::string Chart(const std::string& title, const std::string& unit, const std::vector<double>& x,
                  const std::vector<Series>& series) {
  const double w = 860, h = 220, l = 60, r = 150, t = 26, b = 30;
  double xmax = x.empty() ? 1 : std::max(1.0, x.back());
  double ymax = 0;
  for (const auto& s : series) {
    for (double v : s.y) {
      if (std::isfinite(v)) {
        ymax = std::max(ymax, v);
      }
    }
  }
  if (ymax <= 0) {
    ymax = 1;
  }
  ymax *= 1.05;
  auto X = [&](double v) { return l + (w - l - r) * v / xmax; };
  auto Y = [&](double v) { return t + (h - t - b) * (1 - v / ymax); };
  std::string o = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<text x=\"{}\" y=\"16\" font-size=\"13\" "
      "font-weight=\"bold\">{}</text>\n",
      w, h, l, HtmlEscape(title));
  o += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#ccc\"/>\n", l, t,
      w - l - r, h - t - b);
  for (int i = 0; i <= 4; ++i) {
    const double v = ymax * i / 4;
    o += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:.4g}</text>\n", l - 4,
                     Y(v) + 4, v);
    o += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#eee\"/>\n", l,
                     w - r, Y(v), Y(v));
    const double xv = xmax * i / 4;
    o += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{:.0f} min</text>\n",
                     X(xv), h - b + 14, xv / 60);
  }
  o += fmt::format("<text x=\"10\" y=\"{}\" transform=\"rotate(-90 10 {})\">{}</text>\n",
                   t + (h - t - b) / 2, t + (h - t - b) / 2, HtmlEscape(unit));
  int li = 0;
  for (const auto& s : series) {
    std::string pts;
    auto flush = [&] {
      if (!pts.empty()) {
        o += fmt::format(
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"{} points=\"{}\"/>\n",
            s.color, s.dashed ? " stroke-dasharray=\"4 3\"" : "", pts);
      }
      pts.clear();
    };
    for (size_t i = 0; i < x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) {
        flush();
        continue;
      }
      pts += fmt::format("{:.1f},{:.1f} ", X(x[i]), Y(s.y[i]));
    }
    flush();
    const double ly = t + 12 + 16 * li++;
    o += fmt::format(
        "<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"{}/>"
        "<text x=\"{}\" y=\"{}\">{}</text>\n",
        w - r + 8, w - r + 28, ly - 4, ly - 4, s.color, s.dashed ? " stroke-dasharray=\"4 3\"" : "",
        w - r + 32, ly, HtmlEscape(s.name));
  }
  o += "</svg>\n";
  return o;
}

}  // namespace

std::string HtmlEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '&':
        o += "&amp;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string SummaryJson(const Result& r, bool include_wall) {
  nlohmann::ordered_json j;
  j["requests"] = r.requests;
  j["completed"] = r.completed;
  j["preempted"] = r.preempted;
  j["slo"] = {{"ttft_ms", R3(r.slo_ttft_ms)},
              {"itl_ms", R3(r.slo_itl_ms)},
              {"attainment", R3(r.attainment)}};
  j["ttft_ms"] = {{"p50", R3(r.ttft_p50)}, {"p90", R3(r.ttft_p90)}, {"p99", R3(r.ttft_p99)}};
  j["itl_ms"] = {{"p50", R3(r.itl_p50)}, {"p90", R3(r.itl_p90)}, {"p99", R3(r.itl_p99)}};
  j["cost"] = {{"usd", R3(r.cost_usd)}, {"replica_hours", R3(r.replica_hours)}};
  nlohmann::ordered_json vs = nlohmann::ordered_json::object();
  for (const VariantResult& v : r.variants) {
    vs[v.name] = {{"avg_replicas", R3(v.avg_replicas)},
                  {"max_replicas", v.max_replicas},
                  {"replica_hours", R3(v.replica_hours)}};
  }
  j["variants"] = vs;
  j["scaling_actions"] = r.scaling_actions;
  j["sim_seconds"] = R3(r.sim_seconds);
  j["wall_seconds"] = include_wall ? R3(r.wall_seconds) : 0.0;
  j["policy"] = r.policy;
  return j.dump(2) + "\n";
}

std::string TimeseriesCsv(const Result& r) {
  std::string o =
      "t_s,arrival_rps,completed,within_slo,ttft_p99_ms,kv_avg,kv_max,waiting,running,cost_usd";
  for (const auto& n : r.variant_names) {
    o += fmt::format(",{0}_ready,{0}_starting,{0}_desired", n);
  }
  o += "\n";
  for (const Row& row : r.rows) {
    o += fmt::format("{:.0f},{:.3f},{},{},{},{:.4f},{:.4f},{},{},{:.4f}", row.t_s, row.arrival_rps,
                     row.completed, row.within_slo,
                     row.ttft_p99_ms < 0 ? "" : fmt::format("{:.1f}", row.ttft_p99_ms), row.kv_avg,
                     row.kv_max, row.waiting, row.running, row.cost_usd);
    for (size_t v = 0; v < r.variant_names.size(); ++v) {
      o += fmt::format(",{},{},{}", row.ready[v], row.starting[v], row.desired[v]);
    }
    o += "\n";
  }
  return o;
}

std::string DecisionsCsv(const Result& r) {
  std::string o = "t_s,reason\n";
  for (const Result::Decision& d : r.decisions) {
    std::string quoted = d.reason;
    for (size_t i = 0; (i = quoted.find('"', i)) != std::string::npos; i += 2) {
      quoted.insert(i, 1, '"');
    }
    o += fmt::format("{:.0f},\"{}\"\n", d.t_s, quoted);
  }
  return o;
}

std::string Scorecard(const Result& r) {
  std::string o;
  o += fmt::format("wva simulate — policy {}\n", r.policy);
  o += fmt::format("workload   {}\n", r.workload);
  o += fmt::format(
      "requests   {} arrived, {} completed, {} rejected, {} unfinished, {} preempted "
      "({} preemptions)\n",
      r.requests, r.completed, r.rejected, r.unfinished, r.preempted, r.preemptions);
  o += fmt::format(
      "SLO        TTFT <= {:.0f} ms and ITL <= {:.0f} ms: {:.1f}% of requests "
      "(target {:.0f}%) {}\n",
      r.slo_ttft_ms, r.slo_itl_ms, 100 * r.attainment, 100 * r.slo_percentile,
      r.attainment >= r.slo_percentile ? "MET" : "MISSED");
  o += fmt::format("TTFT ms    p50 {:.1f}  p90 {:.1f}  p99 {:.1f}\n", r.ttft_p50, r.ttft_p90,
                   r.ttft_p99);
  o += fmt::format("ITL ms     p50 {:.2f}  p90 {:.2f}  p99 {:.2f}\n", r.itl_p50, r.itl_p90,
                   r.itl_p99);
  o += fmt::format("cost       ${:.2f} for {:.2f} replica-hours, {} scaling actions\n", r.cost_usd,
                   r.replica_hours, r.scaling_actions);
  for (const VariantResult& v : r.variants) {
    o += fmt::format("  {:<24} avg {:5.2f}  max {:3}  {:7.2f} replica-h\n", v.name, v.avg_replicas,
                     v.max_replicas, v.replica_hours);
  }
  o += fmt::format("time       {:.0f} s simulated in {:.2f} s ({:.0f}x real time)\n", r.sim_seconds,
                   r.wall_seconds, r.wall_seconds > 0 ? r.sim_seconds / r.wall_seconds : 0.0);
  return o;
}

std::string CompareTable(const std::vector<Result>& results) {
  std::string o;
  if (!results.empty()) {
    const Result& f = results.front();
    o += fmt::format(
        "SLO: TTFT <= {:.0f} ms and ITL <= {:.0f} ms for >= {:.0f}% of requests "
        "(attainment = share of requests meeting both)\n",
        f.slo_ttft_ms, f.slo_itl_ms, 100 * f.slo_percentile);
  }
  // The policy column fits the longest name (a best-static spec can be long).
  size_t w = 32;
  for (const Result& r : results) {
    w = std::max(w, r.policy.size());
  }
  o += fmt::format("{:<{}} {:>9} {:>9} {:>9} {:>6} {:>11} {:>11} {:>10} {:>9} {:>8} {:>7}\n",
                   "policy", w, "cost ($)", "rep-h", "SLO att", "SLO", "TTFTp90 ms", "TTFTp99 ms",
                   "ITLp99 ms", "completed", "preempt", "actions");
  for (const Result& r : results) {
    o += fmt::format(
        "{:<{}} {:>9.2f} {:>9.2f} {:>8.1f}% {:>6} {:>11.0f} {:>11.0f} {:>10.1f} {:>9} "
        "{:>8} {:>7}\n",
        r.policy, w, r.cost_usd, r.replica_hours, 100 * r.attainment,
        r.attainment >= r.slo_percentile ? "met" : "MISSED", r.ttft_p90, r.ttft_p99, r.itl_p99,
        r.completed, r.preempted, r.scaling_actions);
  }
  return o;
}

std::string ReportHtml(const Result& r) {
  std::vector<double> x;
  for (const Row& row : r.rows) {
    x.push_back(row.t_s);
  }
  auto col = [&](auto f) {
    std::vector<double> y;
    for (const Row& row : r.rows) {
      y.push_back(f(row));
    }
    return y;
  };
  std::string o =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>wva simulate report</title>\n"
      "<style>body{font-family:sans-serif;margin:20px;max-width:900px}pre{background:#f6f6f6;"
      "padding:10px}</style></head><body>\n";
  o += fmt::format("<h1>wva simulate: {}</h1>\n<pre>{}</pre>\n", HtmlEscape(r.policy),
                   HtmlEscape(Scorecard(r)));
  o += Chart("Arrival rate", "req/s", x,
             {{"arrivals", col([](const Row& w) { return w.arrival_rps; }), kColors[0]}});
  std::vector<Series> reps;
  for (size_t v = 0; v < r.variant_names.size(); ++v) {
    const std::string c = kColors[v % 6];
    reps.push_back({r.variant_names[v] + " ready",
                    col([&](const Row& w) { return static_cast<double>(w.ready[v]); }), c});
    reps.push_back({r.variant_names[v] + " +starting", col([&](const Row& w) {
                      return static_cast<double>(w.ready[v] + w.starting[v]);
                    }),
                    c, true});
  }
  o += Chart("Replicas per variant (dashed: including starting)", "replicas", x, reps);
  o += Chart("KV-cache usage", "fraction", x,
             {{"mean", col([](const Row& w) { return w.kv_avg; }), kColors[0]},
              {"max", col([](const Row& w) { return w.kv_max; }), kColors[1], true}});
  o += Chart(
      "Queue (waiting requests, all replicas + gateway)", "requests", x,
      {{"waiting", col([](const Row& w) { return static_cast<double>(w.waiting); }), kColors[3]},
       {"running", col([](const Row& w) { return static_cast<double>(w.running); }), kColors[2],
        true}});
  o +=
      Chart("TTFT p99 of requests finishing in each scrape interval", "ms", x,
            {{"TTFT p99", col([](const Row& w) { return w.ttft_p99_ms < 0 ? NAN : w.ttft_p99_ms; }),
              kColors[4]}});
  o += Chart("Cumulative cost", "USD", x,
             {{"cost", col([](const Row& w) { return w.cost_usd; }), kColors[5]}});
  o += "<p>Generated by <code>wva simulate</code>; data in summary.json and timeseries.csv.</p>\n"
       "</body></html>\n";
  return o;
}

Status WriteFiles(const std::string& dir,
                  const std::vector<std::pair<std::string, std::string>>& files) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return InternalError(fmt::format("{}: cannot create directory: {}", dir, ec.message()));
  }
  auto write = [&](const char* name, const std::string& text) -> Status {
    const std::string path = (std::filesystem::path(dir) / name).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      return InternalError(fmt::format("{}: write failed", path));
    }
    return OkStatus();
  };
  for (const auto& [name, text] : files) {
    WVA_RETURN_IF_ERROR(write(name.c_str(), text));
  }
  return OkStatus();
}

Status WriteOutputs(const Result& r, const std::string& dir, bool include_wall) {
  return WriteFiles(dir, {{"summary.json", SummaryJson(r, include_wall)},
                          {"timeseries.csv", TimeseriesCsv(r)},
                          {"decisions.csv", DecisionsCsv(r)},
                          {"report.html", ReportHtml(r)}});
}

}  // namespace wva::sim
