// The llm-d KEDA recipes (see policy_keda.h).
#include "sim/policy_keda.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace wva::sim {

double PeakPrefillTokensPerSecond(const PerfProfile& p) {
  const double budget = p.max_batched_tokens;
  return budget * 1000.0 / (p.alpha_ms + p.gamma_ms + p.delta_ms * budget);
}

void KedaTokenPolicy::Run(const ControllerView& view, std::vector<Signal>* out) {
  const FleetConfig& fleet = *view.fleet;
  detail_.assign(out->size(), {});
  std::vector<double> kv_sum(out->size(), 0.0);
  std::vector<int> pods(out->size(), 0);
  for (const ReplicaView& r : view.replicas) {
    if (!r.has_metrics || r.variant < 0 || r.variant >= static_cast<int>(out->size())) {
      continue;
    }
    kv_sum[r.variant] += r.kv_last;
    ++pods[r.variant];
  }
  for (size_t v = 0; v < out->size() && v < fleet.variants.size(); ++v) {
    const double vp = PeakPrefillTokensPerSecond(fleet.variants[v].profile);
    double target = o_.queue_s;
    if (target <= 0) {
      target = std::max(0.1, fleet.slo.ttft_ms / 1000.0 - view.mean_prompt_tokens / vp);
    }
    const double tokens = view.variants[v].inflight_prompt_tokens + view.gateway_prompt_tokens;
    Signal prefill{Signal::Kind::kReplicas, tokens / vp, target, 0};
    detail_[v] = fmt::format("prefill {:.0f} tokens / {:.0f} tok/s = {:.2f} s (target {:.2f} s)",
                             tokens, vp, tokens / vp, target);
    if (pods[v] > 0) {
      const double kv = kv_sum[v] / pods[v];
      prefill.also.push_back(Signal{Signal::Kind::kPodsAverage, kv, o_.kv_target, pods[v]});
      detail_[v] += fmt::format(", kv_cache_usage avg {:.3f} over {} pods (target {:.2f})", kv,
                                pods[v], o_.kv_target);
    }
    (*out)[v] = std::move(prefill);
  }
}

std::string KedaTokenPolicy::MetricDetail(int variant) const {
  if (variant < 0 || variant >= static_cast<int>(detail_.size())) {
    return {};
  }
  return detail_[variant];
}

HpaConfig KedaSloPolicy::HpaBehavior(const FleetConfig& fleet) const {
  HpaConfig h = fleet.hpa;
  h.scale_up = HpaRules{
      30, SelectPolicy::kMax, {{HpaPolicyType::kPercent, 100, 60}, {HpaPolicyType::kPods, 4, 60}}};
  h.scale_down = HpaRules{180, SelectPolicy::kMax, {{HpaPolicyType::kPods, 1, 120}}};
  return h;
}

int KedaSloPolicy::Desired(double s, int n, int ready) {
  if (n <= 0) {
    return 0;
  }
  if (s > kUpThreshold) {
    const double c = static_cast<double>(ready) / n;
    return n + static_cast<int>(std::ceil(n * (s * c / kUpThreshold - 1) - 1e-9));
  }
  if (s < kDownThreshold) {
    return n - static_cast<int>(std::floor(n * (1 - s / kDownThreshold) + 1e-9));
  }
  return n;
}

void KedaSloPolicy::Run(const ControllerView& view, std::vector<Signal>* out) {
  const FleetConfig& fleet = *view.fleet;
  samples_.resize(out->size());
  detail_.assign(out->size(), {});
  for (size_t v = 0; v < out->size() && v < view.variants.size(); ++v) {
    const VariantView& vv = view.variants[v];
    auto& hist = samples_[v];
    if (vv.ttft_p90_ms >= 0) {
      const double ratio = std::max(vv.ttft_p90_ms / fleet.slo.ttft_ms,
                                    std::max(0.0, vv.tpot_p90_ms) / fleet.slo.itl_ms);
      hist.emplace_back(view.now_s, std::min(ratio, kCap));
    }
    while (!hist.empty() && hist.front().first <= view.now_s - kAverageWindowS + 1e-9) {
      hist.pop_front();
    }
    if (hist.empty()) {
      detail_[v] = "no latency samples in 45 s";
      continue;  // no metric: the HPA keeps the count
    }
    double sum = 0;
    for (const auto& x : hist) {
      sum += x.second;
    }
    const double s = sum / static_cast<double>(hist.size());
    const int desired = Desired(s, vv.current, vv.ready);
    (*out)[v] = Signal{Signal::Kind::kReplicas, static_cast<double>(desired), 1.0, 0};
    detail_[v] = fmt::format("s {:.3f} (n {}, ready {}) -> {}", s, vv.current, vv.ready, desired);
  }
}

std::string KedaSloPolicy::MetricDetail(int variant) const {
  if (variant < 0 || variant >= static_cast<int>(detail_.size())) {
    return {};
  }
  return detail_[variant];
}

StatusOr<std::unique_ptr<Policy>> MakeKedaPolicy(std::string_view spec) {
  if (spec == "keda-slo") {
    return std::unique_ptr<Policy>(std::make_unique<KedaSloPolicy>("keda-slo"));
  }
  KedaTokenPolicy::Options o;
  std::string_view rest;
  if (spec.size() > 10 && spec[10] == ':') {
    rest = spec.substr(11);
  } else if (spec != "keda-token") {
    return Err(InvalidArgumentError(fmt::format("--policy {}: unknown KEDA recipe", spec)));
  }
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view kv = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
    const size_t eq = kv.find('=');
    const std::string_view key = eq == std::string_view::npos ? kv : kv.substr(0, eq);
    const std::string_view num = eq == std::string_view::npos ? "" : kv.substr(eq + 1);
    double v = 0;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
    const bool ok =
        !num.empty() && ec == std::errc() && p == num.data() + num.size() && std::isfinite(v);
    if (key == "queue" && num == "slo") {
      o.queue_s = 0;
    } else if (key == "queue" && ok && v > 0 && v <= 3600) {
      o.queue_s = v;
    } else if (key == "kv" && ok && v > 0 && v <= 1) {
      o.kv_target = v;
    } else {
      return Err(InvalidArgumentError(fmt::format(
          "--policy {}: bad option \"{}\" (queue=<seconds in (0, 3600]>|slo, kv=(0, 1])", spec,
          kv)));
    }
  }
  return std::unique_ptr<Policy>(std::make_unique<KedaTokenPolicy>(std::string(spec), o));
}

}  // namespace wva::sim
