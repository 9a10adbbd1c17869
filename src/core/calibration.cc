#include "core/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <fmt/format.h>

namespace wva::core {

void WindowedLinearFit::Add(double t_s, double x, double y, double weight, SampleContext context) {
  if (!std::isfinite(t_s) || !std::isfinite(x) || !std::isfinite(y) || !std::isfinite(weight) ||
      weight <= 0) {
    ++ignored_;
    return;
  }
  s_.push_back({t_s, x, y, weight, context});
  const double newest = std::max(t_s, s_.back().t);
  while (!s_.empty() && s_.front().t < newest - o_.window_s) {
    s_.pop_front();
  }
  while (static_cast<int>(s_.size()) > o_.max_samples) {
    s_.pop_front();
  }
}

void WindowedLinearFit::Expire(double now_s) {
  if (!std::isfinite(now_s)) {
    return;
  }
  while (!s_.empty() && s_.front().t < now_s - o_.window_s) {
    s_.pop_front();
  }
}

LinearFit WindowedLinearFit::Fit(const Adjust& adjust) const {
  LinearFit f;
  std::vector<Sample> used;
  used.reserve(s_.size());
  for (const Sample& s : s_) {
    if (!adjust) {
      used.push_back(s);
      continue;
    }
    Sample a = s;
    a.y = adjust(s.x, s.y, s.c);
    if (std::isfinite(a.y) && a.y > 0) {
      used.push_back(a);
    } else {
      ++f.excluded;
    }
  }
  f.samples = static_cast<int>(used.size());
  if (f.samples == 0) {
    f.why = "no samples";
    return f;
  }
  double sw = 0, sx = 0, sy = 0;
  f.x_min = f.x_max = used.front().x;
  for (const Sample& s : used) {
    sw += s.w;
    sx += s.w * s.x;
    sy += s.w * s.y;
    f.x_min = std::min(f.x_min, s.x);
    f.x_max = std::max(f.x_max, s.x);
  }
  const double mx = sx / sw, my = sy / sw;
  double sxx = 0, sxy = 0, syy = 0;
  for (const Sample& s : used) {
    sxx += s.w * (s.x - mx) * (s.x - mx);
    sxy += s.w * (s.x - mx) * (s.y - my);
    syy += s.w * (s.y - my) * (s.y - my);
  }
  if (f.samples < 3 || sxx <= 0) {
    f.why = f.samples < 3 ? fmt::format("{} sample(s)", f.samples) : "no spread in x";
    return f;
  }
  f.slope = sxy / sxx;
  f.intercept = my - f.slope * mx;
  double sse = 0;
  for (const Sample& s : used) {
    const double r = s.y - (f.intercept + f.slope * s.x);
    sse += s.w * r * r;
  }
  f.r2 = syy > 0 ? 1 - sse / syy : 1;
  // Standard errors with weights normalised to the sample count (frequency-like weights).
  const double n = f.samples;
  const double sigma2 = sse / sw * n / (n - 2);
  const double sxx_n = sxx / sw * n;
  f.se_slope = std::sqrt(sigma2 / sxx_n);
  f.se_intercept = std::sqrt(sigma2 * (1 / n + mx * mx / sxx_n));

  if (f.samples < o_.min_samples) {
    f.why = fmt::format("{} sample(s) < {}", f.samples, o_.min_samples);
  } else if (f.x_max - f.x_min <= o_.min_x_spread) {
    f.why = fmt::format("x spread {:g} <= {:g}", f.x_max - f.x_min, o_.min_x_spread);
  } else if (f.r2 < o_.min_r2) {
    f.why = fmt::format("R² {:.2f} < {:g}", f.r2, o_.min_r2);
  } else if (f.slope < 0 || f.intercept < -2 * f.se_intercept) {
    // A slightly negative intercept within two standard errors of 0 is noise (a small fixed
    // cost next to a large per-token one); the profile clamps it to >= 0.
    f.why =
        fmt::format("negative coefficient (intercept {:.3g}, slope {:.3g})", f.intercept, f.slope);
  } else {
    f.good = true;
  }
  return f;
}

bool ProfileCalibrator::AddObservedItl(double t_s, double running_batch, double itl_ms,
                                       double prompt_tokens, double output_tokens, double weight) {
  if (!std::isfinite(prompt_tokens) || prompt_tokens < 0 || !std::isfinite(output_tokens) ||
      output_tokens <= 1) {
    ++itl_ignored_;
    return false;
  }
  const int before = decode_.ignored();
  decode_.Add(t_s, running_batch, itl_ms, weight, {prompt_tokens, output_tokens});
  return decode_.ignored() == before;
}

Calibration ProfileCalibrator::Calibrate(const PerfProfile& configured) const {
  Calibration c;
  c.profile = configured;
  c.prefill = prefill_.Fit();
  // The stalls in observed ITL samples, modelled as the sizing models them (PrefillMs with the
  // configured chunking) with the best prefill estimate now: the fitted point estimates when
  // that fit is good (the slow-side shift below is for the sizing, not for this correction: it
  // would make the fitted step faster by as much), else the configured gamma/delta.
  PerfProfile stalls = configured;
  if (c.prefill.good) {
    stalls.gamma_ms = std::max(0.0, c.prefill.intercept);
    stalls.delta_ms = std::max(0.0, c.prefill.slope);
  }
  c.decode = decode_.Fit([&stalls](double batch, double itl_ms, const SampleContext& ctx) {
    if (ctx.output_tokens <= 0) {
      return itl_ms;  // AddItl: a step time already
    }
    return itl_ms - batch * PrefillStallPerTokenMs(stalls, ctx.prompt_tokens, ctx.output_tokens);
  });
  const double k = o_.conservative_se;
  std::string dec, pre;
  const std::string excluded =
      c.decode.excluded > 0
          ? fmt::format("; {} sample(s) left out: ITL within the modelled prefill stalls",
                        c.decode.excluded)
          : "";
  if (c.decode.good) {
    c.decode_fitted = true;
    c.profile.alpha_ms = std::max(1e-6, c.decode.intercept + k * c.decode.se_intercept);
    c.profile.beta_ms = std::max(0.0, c.decode.slope + k * c.decode.se_slope);
    dec = fmt::format("alpha/beta fitted {:.3g}/{:.3g} ms (n={}, R²={:.3f}{})", c.profile.alpha_ms,
                      c.profile.beta_ms, c.decode.samples, c.decode.r2, excluded);
  } else {
    dec = fmt::format("alpha/beta configured ({}{})", c.decode.why, excluded);
  }
  if (c.prefill.good) {
    c.prefill_fitted = true;
    c.profile.gamma_ms = std::max(0.0, c.prefill.intercept + k * c.prefill.se_intercept);
    c.profile.delta_ms = std::max(0.0, c.prefill.slope + k * c.prefill.se_slope);
    pre = fmt::format("gamma/delta fitted {:.3g}/{:.3g} ms (n={}, R²={:.3f})", c.profile.gamma_ms,
                      c.profile.delta_ms, c.prefill.samples, c.prefill.r2);
  } else {
    pre = fmt::format("gamma/delta configured ({})", c.prefill.why);
  }
  c.explain = dec + "; " + pre;
  return c;
}

TokenStats StatsFromHistogram(const std::vector<Bucket>& buckets, double sum, double count) {
  TokenStats t;
  std::vector<Bucket> b = buckets;
  std::sort(b.begin(), b.end(), [](const Bucket& x, const Bucket& y) { return x.le < y.le; });
  double prev_le = 0, prev_count = 0, n = 0, s1 = 0, s2 = 0;
  for (const Bucket& k : b) {
    if (!std::isfinite(k.count)) {
      continue;
    }
    const double in_bucket = std::max(0.0, k.count - prev_count);
    double mid;
    if (std::isinf(k.le)) {
      mid = prev_le * 1.5;
    } else {
      mid = (prev_le + k.le) / 2;
    }
    n += in_bucket;
    s1 += in_bucket * mid;
    s2 += in_bucket * mid * mid;
    prev_count = std::max(prev_count, k.count);
    if (std::isfinite(k.le)) {
      prev_le = k.le;
    }
  }
  if (n <= 0) {
    return t;
  }
  const double mean_h = s1 / n;
  t.mean = (sum > 0 && count > 0) ? sum / count : mean_h;
  const double var = std::max(0.0, s2 / n - mean_h * mean_h);
  t.stddev = std::sqrt(var);
  return t;
}

StatusOr<Workload> WorkloadFromRates(double success_rate, double prompt_sum_rate,
                                     double prompt_count_rate, double gen_sum_rate,
                                     double gen_count_rate, double default_cv) {
  for (double v :
       {success_rate, prompt_sum_rate, prompt_count_rate, gen_sum_rate, gen_count_rate}) {
    if (!std::isfinite(v) || v < 0) {
      return Err(InvalidArgumentError(fmt::format("unusable rate {}", v)));
    }
  }
  Workload w;
  w.arrival_rate = success_rate;
  if (prompt_count_rate <= 0 || gen_count_rate <= 0) {
    return Err(UnavailableError("no completed requests in the window: token means unknown"));
  }
  w.input.mean = prompt_sum_rate / prompt_count_rate;
  w.output.mean = std::max(1.0, gen_sum_rate / gen_count_rate);
  w.input.stddev = default_cv * w.input.mean;
  w.output.stddev = default_cv * w.output.mean;
  return w;
}

}  // namespace wva::core
