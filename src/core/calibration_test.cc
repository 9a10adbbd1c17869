// Calibration: recovering known profiles from noisy samples, the forgetting window, and the
// "only when the fit is good" rule.
#include "core/calibration.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace wva::core {
namespace {

PerfProfile Configured() {
  PerfProfile p;
  p.alpha_ms = 30;
  p.beta_ms = 0.5;
  p.gamma_ms = 9;
  p.delta_ms = 0.2;
  return p;
}

struct Truth {
  const char* name;
  double alpha, beta, gamma, delta;
  double noise;  // relative noise (stddev) on each observation
  int samples;
};

TEST(Calibration, RecoversKnownProfileWithin5Percent) {
  const Truth cases[] = {
      {"h100-like", 3.96, 0.0445, 2.0, 0.033, 0.05, 120},
      {"l40s-like", 22.6, 0.18, 5.0, 0.09, 0.05, 240},
      {"a100-like", 10.0, 0.075, 3.0, 0.10, 0.03, 60},
  };
  for (const Truth& t : cases) {
    SCOPED_TRACE(t.name);
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> batch(1, 200), prompt(100, 4000);
    std::normal_distribution<double> noise(0, 1);
    ProfileCalibrator cal;
    for (int i = 0; i < t.samples; ++i) {
      const double n = std::round(batch(rng));
      const double itl = (t.alpha + t.beta * n) * (1 + t.noise * noise(rng));
      cal.AddItl(i * 30.0, n, itl);
      const double p = prompt(rng);
      const double pre = (t.gamma + t.delta * p) * (1 + t.noise * noise(rng));
      cal.AddPrefill(i * 30.0, p, pre);
    }
    const Calibration c = cal.Calibrate(Configured());
    ASSERT_TRUE(c.decode_fitted) << c.explain;
    ASSERT_TRUE(c.prefill_fitted) << c.explain;
    EXPECT_NEAR(c.decode.intercept, t.alpha, 0.05 * t.alpha);
    EXPECT_NEAR(c.decode.slope, t.beta, 0.05 * t.beta);
    EXPECT_NEAR(c.prefill.slope, t.delta, 0.05 * t.delta);
    // The profile used is the conservative one: one standard error slower than the fit.
    EXPECT_NEAR(c.profile.alpha_ms, c.decode.intercept + c.decode.se_intercept, 1e-12);
    EXPECT_NEAR(c.profile.beta_ms, c.decode.slope + c.decode.se_slope, 1e-12);
    EXPECT_GE(c.profile.delta_ms, c.prefill.slope);
    EXPECT_NEAR(c.profile.beta_ms, t.beta, 0.10 * t.beta);
    EXPECT_GT(c.decode.r2, 0.9);
    EXPECT_NE(c.explain.find("fitted"), std::string::npos);
  }
}

// vLLM's observed ITL includes the prefill stalls the sizing model adds on its own:
// ITL_eff(n) = alpha + beta·n + n·Wp/(O−1), Wp = gamma·(P/B + 1) + delta·P (slo.h). Fed as
// observed, the decode fit recovers the step's alpha and beta (the stalls removed with the
// fitted prefill coefficients); fed as step times, beta absorbs Wp/(O−1) and the sizing would
// count the stalls twice.
TEST(Calibration, ObservedItlFitsTheStepWithoutThePrefillStalls) {
  const Truth cases[] = {
      {"h100-like", 3.96, 0.0445, 2.0, 0.033, 0.03, 120},
      {"l40s-like", 22.6, 0.18, 5.0, 0.09, 0.03, 240},
      {"a100-like", 10.0, 0.075, 3.0, 0.10, 0.03, 60},
  };
  PerfProfile configured = Configured();
  configured.max_batched_tokens = 2048;
  for (const Truth& t : cases) {
    SCOPED_TRACE(t.name);
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> batch(1, 200), prompt(100, 4000), output(50, 600);
    std::normal_distribution<double> noise(0, 1);
    ProfileCalibrator observed, uncorrected;
    for (int i = 0; i < t.samples; ++i) {
      const double n = std::round(batch(rng));
      const double p = prompt(rng), o = std::round(output(rng));
      const double wp = t.gamma * (p / 2048 + 1) + t.delta * p;
      const double itl = (t.alpha + t.beta * n) * (1 + t.noise * noise(rng)) + n * wp / (o - 1);
      EXPECT_TRUE(observed.AddObservedItl(i * 30.0, n, itl, p, o));
      uncorrected.AddItl(i * 30.0, n, itl);
      // Prefill samples as the prefill fit models them (gamma + delta·P).
      const double pre = (t.gamma + t.delta * p) * (1 + t.noise * noise(rng));
      observed.AddPrefill(i * 30.0, p, pre);
      uncorrected.AddPrefill(i * 30.0, p, pre);
    }
    const Calibration c = observed.Calibrate(configured);
    ASSERT_TRUE(c.decode_fitted) << c.explain;
    ASSERT_TRUE(c.prefill_fitted) << c.explain;
    EXPECT_EQ(c.decode.excluded, 0);
    EXPECT_NEAR(c.decode.intercept, t.alpha, 0.05 * t.alpha) << c.explain;
    EXPECT_NEAR(c.decode.slope, t.beta, 0.05 * t.beta) << c.explain;
    // The profile used is one standard error slower (the prefill fit's error adds to it).
    EXPECT_NEAR(c.profile.alpha_ms, t.alpha, 0.10 * t.alpha) << c.explain;
    EXPECT_NEAR(c.profile.beta_ms, t.beta, 0.10 * t.beta) << c.explain;
    const Calibration u = uncorrected.Calibrate(configured);
    // Uncorrected: either no good fit at all, or one whose beta carries the stalls.
    if (u.decode_fitted) {
      EXPECT_GT(u.profile.beta_ms, 1.5 * t.beta) << u.explain;
    }
  }
}

// The stalls are removed with the prefill coefficients in force when the fit is computed: the
// configured ones (here far too slow: most samples have no step left and are left out, said in
// the explanation) until the prefill fit is good, then the fitted ones, for every sample in the
// window, including those that arrived before.
TEST(Calibration, StallCorrectionFollowsThePrefillCoefficientsInForce) {
  PerfProfile slow = Configured();
  slow.gamma_ms = 50;
  slow.delta_ms = 1.0;
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> batch(1, 200), prompt(100, 4000);
  ProfileCalibrator cal;
  std::vector<double> prompts;
  for (int i = 0; i < 40; ++i) {
    const double n = std::round(batch(rng)), p = prompt(rng);
    cal.AddObservedItl(i * 30.0, n, 22.6 + 0.18 * n + n * (5 + 0.09 * p) / 199, p, 200);
    prompts.push_back(p);
  }
  Calibration c = cal.Calibrate(slow);
  EXPECT_GT(c.decode.excluded, 20);
  EXPECT_NE(c.explain.find("left out: ITL within the modelled prefill stalls"), std::string::npos)
      << c.explain;
  for (int i = 0; i < 40; ++i) {
    cal.AddPrefill(i * 30.0, prompts[i], 5 + 0.09 * prompts[i]);
  }
  c = cal.Calibrate(slow);
  ASSERT_TRUE(c.prefill_fitted) << c.explain;
  ASSERT_TRUE(c.decode_fitted) << c.explain;
  EXPECT_EQ(c.decode.excluded, 0);
  EXPECT_NEAR(c.decode.intercept, 22.6, 1e-6);
  EXPECT_NEAR(c.decode.slope, 0.18, 1e-9);
  EXPECT_EQ(c.explain.find("left out"), std::string::npos) << c.explain;
}

TEST(Calibration, ObservedItlWithoutDecodeStepsIsRefused) {
  ProfileCalibrator cal;
  EXPECT_FALSE(cal.AddObservedItl(0, 8, 20, 1000, 1));  // one output token: no decode step
  EXPECT_FALSE(cal.AddObservedItl(1, 8, 20, 1000, std::numeric_limits<double>::quiet_NaN()));
  EXPECT_FALSE(cal.AddObservedItl(2, 8, 20, -1, 200));
  EXPECT_FALSE(cal.AddObservedItl(3, 8, std::numeric_limits<double>::infinity(), 1000, 200));
  EXPECT_TRUE(cal.AddObservedItl(4, 8, 20, 1000, 200));
  EXPECT_EQ(cal.decode_samples(), 1);
  EXPECT_EQ(cal.decode_ignored(), 4);
}

TEST(Calibration, FallsBackToConfiguredWhenFitIsPoor) {
  struct Case {
    const char* name;
    int samples;
    bool constant_x;
    double noise;
    const char* why;
  };
  const Case cases[] = {
      {"too-few", 5, false, 0.01, "sample"},
      {"no-spread", 50, true, 0.01, "spread"},
      {"noise", 50, false, 3.0, "R²"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> batch(1, 200);
    std::normal_distribution<double> noise(0, 1);
    ProfileCalibrator cal;
    for (int i = 0; i < k.samples; ++i) {
      const double n = k.constant_x ? 64 : batch(rng);
      cal.AddItl(i, n, std::abs((10 + 0.1 * n) * (1 + k.noise * noise(rng))));
    }
    const Calibration c = cal.Calibrate(Configured());
    EXPECT_FALSE(c.decode_fitted);
    EXPECT_EQ(c.profile, Configured());
    EXPECT_NE(c.decode.why.find(k.why), std::string::npos) << c.decode.why;
  }
}

TEST(Calibration, ForgettingWindowTracksChange) {
  FitOptions o;
  o.window_s = 600;
  ProfileCalibrator cal(o);
  // 20 minutes of an old profile, then 15 minutes of a slower one, one sample every 10 s.
  double t = 0;
  for (; t < 1200; t += 10) {
    cal.AddItl(t, 10 + std::fmod(t, 170), 5 + 0.05 * (10 + std::fmod(t, 170)));
  }
  for (; t < 2100; t += 10) {
    cal.AddItl(t, 10 + std::fmod(t, 170), 12 + 0.2 * (10 + std::fmod(t, 170)));
  }
  const Calibration c = cal.Calibrate(Configured());
  ASSERT_TRUE(c.decode_fitted) << c.explain;
  EXPECT_NEAR(c.decode.intercept, 12, 0.01);
  EXPECT_NEAR(c.decode.slope, 0.2, 0.001);
  EXPECT_LE(c.decode.samples, 61);
}

TEST(Calibration, ExpireAgesAnIdleFitOut) {
  FitOptions o;
  o.window_s = 600;
  ProfileCalibrator cal(o);
  for (int i = 0; i < 30; ++i) {
    cal.AddItl(i * 10.0, 10 + i, 5 + 0.1 * (10 + i));
    cal.AddPrefill(i * 10.0, 100 + 50 * i, 2 + 0.05 * (100 + 50 * i));
  }
  ASSERT_TRUE(cal.Calibrate(Configured()).decode_fitted);
  cal.Expire(700);  // samples at t = 0..290; those before 700 − 600 = 100 go
  EXPECT_EQ(cal.decode_samples(), 20);
  EXPECT_EQ(cal.prefill_samples(), 20);
  EXPECT_TRUE(cal.Calibrate(Configured()).decode_fitted);
  // The model goes idle: no new samples, the clock moves on, the fit is forgotten.
  cal.Expire(891);
  EXPECT_EQ(cal.decode_samples(), 0);
  const Calibration c = cal.Calibrate(Configured());
  EXPECT_FALSE(c.decode_fitted);
  EXPECT_FALSE(c.prefill_fitted);
  EXPECT_EQ(c.profile, Configured());
  cal.Expire(std::numeric_limits<double>::quiet_NaN());  // ignored, no crash
}

TEST(Calibration, IgnoresGarbage) {
  WindowedLinearFit f;
  f.Add(0, std::numeric_limits<double>::quiet_NaN(), 1);
  f.Add(1, 1, std::numeric_limits<double>::infinity());
  f.Add(2, 1, 1, 0);
  EXPECT_EQ(f.size(), 0);
  EXPECT_EQ(f.ignored(), 3);
  EXPECT_FALSE(f.Fit().good);
}

TEST(Calibration, HistogramStats) {
  // 100 observations uniform-ish: 50 in (0,100], 50 in (100,300].
  const TokenStats s = StatsFromHistogram({{100, 50}, {300, 100}, {INFINITY, 100}});
  EXPECT_NEAR(s.mean, (50 * 50 + 50 * 200) / 100.0, 1e-9);
  EXPECT_NEAR(s.stddev, 75, 1e-9);
  EXPECT_NEAR(StatsFromHistogram({{100, 50}, {300, 100}}, 13000, 100).mean, 130, 1e-9);
}

TEST(Calibration, WorkloadFromRates) {
  auto w = WorkloadFromRates(4, 4000, 4, 800, 4);
  ASSERT_TRUE(w.has_value());
  EXPECT_DOUBLE_EQ(w->arrival_rate, 4);
  EXPECT_DOUBLE_EQ(w->input.mean, 1000);
  EXPECT_DOUBLE_EQ(w->output.mean, 200);
  EXPECT_DOUBLE_EQ(w->input.stddev, 1000);
  EXPECT_FALSE(WorkloadFromRates(1, 0, 0, 0, 0).has_value());
  EXPECT_FALSE(WorkloadFromRates(-1, 1, 1, 1, 1).has_value());
}

}  // namespace
}  // namespace wva::core
