#include "prom/calibration.h"

#include <chrono>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "prom/metrics.h"
#include "prom/promql.h"

namespace wva::prom {
namespace {

struct SeriesSpec {
  std::string series;  // full series name, also the failure / drop name
  bool gauge;          // avg by (avg_over_time) instead of sum by (rate)
  std::optional<double> PodPerfRates::*slot;
};

std::vector<SeriesSpec> Specs() {
  auto s = [](std::string_view base, std::string_view suffix) {
    return std::string(base) + std::string(suffix);
  };
  return {
      {s(kItlHistogram, "_sum"), false, &PodPerfRates::itl_sum},
      {s(kItlHistogram, "_count"), false, &PodPerfRates::itl_count},
      {std::string(kRunningMetric), true, &PodPerfRates::running},
      {s(kTtftHistogram, "_sum"), false, &PodPerfRates::ttft_sum},
      {s(kTtftHistogram, "_count"), false, &PodPerfRates::ttft_count},
      {s(kQueueTimeHistogram, "_sum"), false, &PodPerfRates::queue_sum},
      {s(kQueueTimeHistogram, "_count"), false, &PodPerfRates::queue_count},
      {std::string(kQueueLengthMetric), true, &PodPerfRates::waiting},
      {s(kPromptTokensHistogram, "_sum"), false, &PodPerfRates::prompt_sum},
      {s(kPromptTokensHistogram, "_count"), false, &PodPerfRates::prompt_count},
      {s(kGenerationTokensHistogram, "_sum"), false, &PodPerfRates::gen_sum},
      {s(kGenerationTokensHistogram, "_count"), false, &PodPerfRates::gen_count},
  };
}

void DeriveItl(PodCalibrationSample* p) {
  const PodPerfRates& r = p->rates;
  if (!r.itl_sum || !r.itl_count) {
    p->itl_skipped = "no inter-token latency series";
  } else if (*r.itl_count <= 0) {
    p->itl_skipped = "no tokens in the window";
  } else if (!r.running) {
    p->itl_skipped = "no running-requests gauge";
  } else if (*r.running <= 0) {
    p->itl_skipped = "mean running batch is 0";
  } else if (!r.prompt_sum || !r.prompt_count || *r.prompt_count <= 0) {
    p->itl_skipped = "no prompt-token mean in the window";
  } else if (!r.gen_sum || !r.gen_count || *r.gen_count <= 0) {
    p->itl_skipped = "no output-token mean in the window";
  } else if (const double out = *r.gen_sum / *r.gen_count; !(out > 1)) {
    p->itl_skipped = fmt::format("mean output length {:.3g} tokens: no decode steps", out);
  } else {
    p->itl = ItlSample{*r.running, 1000.0 * *r.itl_sum / *r.itl_count, *r.itl_count,
                       *r.prompt_sum / *r.prompt_count, out};
  }
}

void DerivePrefill(PodCalibrationSample* p) {
  const PodPerfRates& r = p->rates;
  if (!r.ttft_sum || !r.ttft_count) {
    p->prefill_skipped = "no time-to-first-token series";
    return;
  }
  if (*r.ttft_count <= 0) {
    p->prefill_skipped = "no first tokens in the window";
    return;
  }
  if (!r.prompt_sum || !r.prompt_count || *r.prompt_count <= 0) {
    p->prefill_skipped = "no prompt-token mean in the window";
    return;
  }
  const double prompt = *r.prompt_sum / *r.prompt_count;
  if (prompt <= 0) {
    p->prefill_skipped = "mean prompt length is 0";
    return;
  }
  const double ttft_ms = 1000.0 * *r.ttft_sum / *r.ttft_count;
  double queue_ms = 0;
  bool assumed = false;
  if (r.queue_sum && r.queue_count && *r.queue_count > 0) {
    queue_ms = 1000.0 * *r.queue_sum / *r.queue_count;
  } else if (r.waiting && *r.waiting <= kIdleQueueThreshold) {
    assumed = true;  // nothing waited: TTFT is all prefill (and the step in progress)
  } else {
    p->prefill_skipped =
        r.waiting
            ? fmt::format("no queue-time mean and {:.3g} requests waiting on average", *r.waiting)
            : std::string("no queue-time mean and no waiting-requests gauge");
    return;
  }
  const double prefill_ms = ttft_ms - queue_ms;
  if (!(prefill_ms > 0)) {
    p->prefill_skipped =
        fmt::format("TTFT {:.4g} ms minus queue wait {:.4g} ms is not positive", ttft_ms, queue_ms);
    return;
  }
  p->prefill = PrefillSample{prompt, prefill_ms, *r.ttft_count, assumed};
}

}  // namespace

std::string BatchedPodQuery(std::string_view aggregation, std::string_view range_fn,
                            std::string_view series, const std::vector<std::string>& namespaces,
                            const std::vector<std::string>& models, std::string_view window) {
  return fmt::format(
      "{} by (namespace, model_name, pod) ({}({}{{namespace=~\"{}\",model_name=~\"{}\"}}[{}]))",
      aggregation, range_fn, series, RegexAlternation(namespaces), RegexAlternation(models),
      window);
}

void DerivePodSamples(PodCalibrationSample* pod) {
  pod->itl.reset();
  pod->prefill.reset();
  pod->itl_skipped.clear();
  pod->prefill_skipped.clear();
  DeriveItl(pod);
  DerivePrefill(pod);
}

CalibrationSnapshot CollectCalibration(Querier& querier, const std::vector<ModelKey>& models,
                                       const CollectOptions& options) {
  CalibrationSnapshot snap;
  if (models.empty()) {
    return snap;
  }
  std::set<std::string> ns_set, model_set;
  for (const auto& k : models) {
    snap.models[k];
    ns_set.insert(k.ns);
    model_set.insert(k.model);
  }
  const std::vector<std::string> namespaces(ns_set.begin(), ns_set.end());
  const std::vector<std::string> model_names(model_set.begin(), model_set.end());
  const Clock& clock = options.clock ? *options.clock : RealClock::Get();

  for (const SeriesSpec& spec : Specs()) {
    const std::string q = spec.gauge ? BatchedPodQuery("avg", "avg_over_time", spec.series,
                                                       namespaces, model_names, options.window)
                                     : BatchedPodQuery("sum", "rate", spec.series, namespaces,
                                                       model_names, options.window);
    ++snap.queries;
    const auto start = clock.Now();
    QueryOutcome out = querier.Query(q);
    if (options.metrics) {
      options.metrics->RecordPromQuery(
          "calibration", std::chrono::duration<double>(clock.Now() - start).count(),
          out ? std::nullopt : std::optional<ErrorKind>(out.error().kind));
    }
    if (out && out->type != ResultType::kVector) {
      out = tl::unexpected(QueryError{
          ErrorKind::kBadResponse,
          "expected a vector result, got " + std::string(ResultTypeName(out->type)), 200, ""});
    }
    if (!out) {
      snap.failures.push_back({spec.series, out.error()});
      continue;
    }
    for (const auto& w : out->warnings) {
      snap.warnings.push_back(w);
    }
    for (const Sample& s : out->samples) {
      auto ns = s.labels.find("namespace");
      auto model = s.labels.find("model_name");
      ModelKey key{ns == s.labels.end() ? "" : ns->second,
                   model == s.labels.end() ? "" : model->second};
      auto it = snap.models.find(key);
      if (it == snap.models.end()) {
        ++snap.unmanaged_series;
        continue;
      }
      ModelCalibrationSamples& m = it->second;
      auto pod = s.labels.find("pod");
      if (pod == s.labels.end() || pod->second.empty()) {
        m.dropped.push_back({"", spec.series, "no_pod_label"});
        continue;
      }
      if (auto reason = UnusableReason(s.point); !reason.empty()) {
        m.dropped.push_back({pod->second, spec.series, std::string(reason)});
        continue;
      }
      // `sum by`/`avg by` make (namespace, model_name, pod) unique; the last value wins.
      m.pods[pod->second].rates.*spec.slot = s.point.value;
    }
  }
  for (auto& [key, m] : snap.models) {
    for (auto& [pod, p] : m.pods) {
      DerivePodSamples(&p);
    }
  }
  return snap;
}

}  // namespace wva::prom
