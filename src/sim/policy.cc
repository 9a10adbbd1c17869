// Built-in scaling policies (see policy.h).
#include "sim/policy.h"

#include <cctype>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "core/saturation.h"
#include "sim/policy_keda.h"
#include "sim/policy_slo.h"
#include "sim/policy_v2.h"

namespace wva::sim {

std::string PublishDecisions(const core::ModelDecision& d, std::vector<Signal>* out) {
  std::string why;
  for (size_t i = 0; i < d.decisions.size() && i < out->size(); ++i) {
    const core::VariantDecision& x = d.decisions[i];
    (*out)[i] = Signal{Signal::Kind::kReplicas, static_cast<double>(x.target_replicas), 1.0, 0};
    if (x.action == core::Action::kNone) {
      continue;
    }
    if (!why.empty()) {
      why += "; ";
    }
    why += fmt::format("{} {} {}->{} ({}): {}", x.variant, core::ActionName(x.action),
                       x.current_replicas, x.target_replicas, core::DriverName(x.driver), x.reason);
  }
  return why;
}

void WvaPolicy::Run(const ControllerView& view, std::vector<Signal>* out) {
  reason_ = PublishDecisions(
      core::DecidePolicy(ObservationOf(view, false, 0), core::PolicyOptions{}, &state_).decision,
      out);
}

void HpaKvPolicy::Run(const ControllerView& view, std::vector<Signal>* out) {
  std::vector<double> sum(out->size(), 0.0);
  std::vector<int> pods(out->size(), 0);
  for (const ReplicaView& r : view.replicas) {
    if (!r.has_metrics || r.variant < 0 || r.variant >= static_cast<int>(out->size())) {
      continue;
    }
    sum[r.variant] += r.kv_last;
    ++pods[r.variant];
  }
  for (size_t i = 0; i < out->size(); ++i) {
    if (pods[i] == 0) {
      continue;  // no metrics: the HPA keeps the current count
    }
    (*out)[i] = Signal{Signal::Kind::kPodsAverage, sum[i] / pods[i], target_, pods[i]};
  }
  last_ = *out;
}

std::string HpaKvPolicy::MetricDetail(int variant) const {
  if (variant < 0 || variant >= static_cast<int>(last_.size())) {
    return {};
  }
  const Signal& s = last_[variant];
  if (s.kind != Signal::Kind::kPodsAverage) {
    return "no metrics";
  }
  return fmt::format("kv_cache_usage avg {:.3f} over {} pods, target {:.2f}", s.value, s.pods,
                     s.target);
}

namespace {

bool ParseNum(std::string_view s, double* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(*out);
}

}  // namespace

StatusOr<std::unique_ptr<Policy>> MakePolicy(std::string_view spec, const FleetConfig& fleet) {
  if (spec == "wva") {
    return std::unique_ptr<Policy>(std::make_unique<WvaPolicy>());
  }
  if (spec == "wva-slo" || spec.substr(0, 8) == "wva-slo:") {
    return MakeWvaSloPolicy(spec);
  }
  if (spec == "keda-slo" || spec == "keda-token" || spec.substr(0, 11) == "keda-token:") {
    return MakeKedaPolicy(spec);
  }
  if (spec == "wva-v2" || spec.substr(0, 7) == "wva-v2:") {
    return MakeWvaV2Policy(spec);
  }
  if (spec.substr(0, 7) == "hpa-kv:") {
    double t;
    if (!ParseNum(spec.substr(7), &t) || !(t > 0 && t <= 1)) {
      return Err(InvalidArgumentError(
          fmt::format("--policy {}: target must be a number in (0, 1]", spec)));
    }
    return std::unique_ptr<Policy>(std::make_unique<HpaKvPolicy>(std::string(spec), t));
  }
  if (spec.substr(0, 7) == "static:") {
    std::vector<int> counts(fleet.variants.size(), 0);
    std::string_view rest = spec.substr(7);
    if (rest.empty()) {
      return Err(InvalidArgumentError("--policy static: needs <variant>=<n>[,...]"));
    }
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view kv = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
      const size_t eq = kv.find('=');
      double n;
      if (eq == std::string_view::npos || !ParseNum(kv.substr(eq + 1), &n) || n < 0 ||
          n != std::floor(n)) {
        return Err(InvalidArgumentError(
            fmt::format("--policy {}: \"{}\" is not <variant>=<count>", spec, kv)));
      }
      const int idx = fleet.VariantIndex(std::string(kv.substr(0, eq)));
      if (idx < 0) {
        std::string names;
        for (const auto& v : fleet.variants) {
          names += (names.empty() ? "" : ", ") + v.name;
        }
        return Err(InvalidArgumentError(fmt::format(
            "--policy {}: unknown variant \"{}\" (fleet has: {})", spec, kv.substr(0, eq), names)));
      }
      counts[idx] = static_cast<int>(n);
    }
    return std::unique_ptr<Policy>(std::make_unique<StaticPolicy>(std::string(spec), counts));
  }
  return Err(InvalidArgumentError(fmt::format(
      "--policy: unknown policy \"{}\" (wva, wva-slo[:k=v,...], static:<variant>=<n>[,...], "
      "hpa-kv:<target>, keda-token[:queue=<s>,kv=<f>], keda-slo, wva-v2[:up=X,down=Y])",
      spec)));
}

std::string PolicySlug(std::string_view spec) {
  std::string out;
  for (char c : spec) {
    if (c == ':' || c == '=') {
      out += '-';
    } else if (c == ',') {
      out += '_';
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') {
      out += c;
    } else {
      out += '-';
    }
  }
  return out;
}

}  // namespace wva::sim
