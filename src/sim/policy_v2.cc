#include "sim/policy_v2.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "core/capacity.h"

namespace wva::sim {

void WvaV2Policy::Run(const ControllerView& view, std::vector<Signal>* out) {
  core::ModelInput in = view.input;
  in.config.analyzer = core::AnalyzerKind::kTokenBasedV2;
  in.config.scale_up_threshold = up_;
  in.config.scale_down_boundary = down_;
  in.mean_prompt_tokens = view.mean_prompt_tokens;
  in.mean_output_tokens = view.mean_output_tokens;
  const size_t nv = in.variants.size();
  memory_.resize(nv);
  for (size_t i = 0; i < nv && view.fleet != nullptr && i < view.fleet->variants.size(); ++i) {
    const PerfProfile& p = view.fleet->variants[i].profile;
    core::VariantState& v = in.variants[i];
    v.max_num_batched_tokens = p.max_batched_tokens;
    v.max_num_seqs = p.max_batch;
    memory_[i].ApplyTo(&v);
  }
  for (core::ReplicaSample& s : in.replicas) {
    if (s.variant >= 0 && static_cast<size_t>(s.variant) < nv && view.fleet != nullptr) {
      s.kv_capacity_tokens =
          static_cast<double>(view.fleet->variants[s.variant].profile.kv_capacity_tokens);
    }
  }
  const core::ModelDecision d = core::DecideTokenBased(in);
  if (d.capacity) {
    for (size_t i = 0; i < nv && i < d.capacity->variants.size(); ++i) {
      memory_[i].Record(d.capacity->variants[i]);
    }
  }
  reason_ = PublishDecisions(d, out);
}

StatusOr<std::unique_ptr<Policy>> MakeWvaV2Policy(std::string_view spec) {
  double up = 0.85, down = 0.70;
  if (spec.size() > 6) {
    if (spec.substr(0, 7) != "wva-v2:") {
      return Err(
          InvalidArgumentError(fmt::format("--policy {}: expected wva-v2[:up=X,down=Y]", spec)));
    }
    std::string_view rest = spec.substr(7);
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view kv = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
      const size_t eq = kv.find('=');
      double v = 0;
      const std::string_view key = kv.substr(0, eq == std::string_view::npos ? kv.size() : eq);
      bool ok = eq != std::string_view::npos;
      if (ok) {
        const std::string_view num = kv.substr(eq + 1);
        auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
        ok = ec == std::errc() && p == num.data() + num.size() && v > 0 && v <= 1;
      }
      if (!ok || (key != "up" && key != "down")) {
        return Err(InvalidArgumentError(
            fmt::format("--policy {}: \"{}\" is not up=<(0,1]> or down=<(0,1]>", spec, kv)));
      }
      (key == "up" ? up : down) = v;
    }
  }
  if (up <= down) {
    return Err(InvalidArgumentError(
        fmt::format("--policy {}: up ({:g}) must be above down ({:g})", spec, up, down)));
  }
  return std::unique_ptr<Policy>(std::make_unique<WvaV2Policy>(std::string(spec), up, down));
}

}  // namespace wva::sim
