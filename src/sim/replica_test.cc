// Calibration and behaviour tests of the replica engine model.
#include "sim/replica.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace wva::sim {
namespace {

PerfProfile Get(const char* name) {
  auto p = BuiltinProfile(name);
  EXPECT_TRUE(p.has_value());
  return *p;
}

// Runs a closed loop of `c` concurrent requests for `duration` seconds and returns the mean ITL
// (ms) of the requests that started after a warm-up.
double ClosedLoopItlMs(const PerfProfile& profile, int c, double duration) {
  Replica r(profile);
  std::vector<Completion> done;
  r.SetCompletionCallback([&](const Completion& x) { done.push_back(x); });
  uint64_t next_id = 0;
  auto output_len = [&](uint64_t id) { return 400 + static_cast<int>((id * 7919) % 800); };
  for (int i = 0; i < c; ++i) {
    r.Submit({next_id, 0.0, 32, output_len(next_id)});
    ++next_id;
  }
  double sum = 0;
  int n = 0;
  while (r.now() < duration) {
    const double t = r.NextEventTime();
    if (!std::isfinite(t)) {
      break;
    }
    r.AdvanceTo(t);
    for (const Completion& x : done) {
      if (x.arrival_s > duration * 0.2) {
        sum += x.mean_itl_s() * 1000.0;
        ++n;
      }
      r.Submit({next_id, x.finish_s, 32, output_len(next_id)});
      ++next_id;
    }
    done.clear();
  }
  EXPECT_GT(n, 0);
  return n > 0 ? sum / n : 0;
}

TEST(Profiles, BuiltinsAreValid) {
  for (const auto& name : BuiltinProfileNames()) {
    auto p = BuiltinProfile(name);
    ASSERT_TRUE(p.has_value()) << name;
    EXPECT_TRUE(p->ValidateForReplica().ok()) << name;
    EXPECT_TRUE(BuiltinAccelerator(name).has_value()) << name;
  }
  EXPECT_FALSE(BuiltinProfile("tpu-v9").has_value());
  EXPECT_FALSE(BuiltinAccelerator("tpu-v9").has_value());
  EXPECT_EQ(*BuiltinAccelerator("l40s-48gb"), "L40S");
}

TEST(Calibration, SteadyConcurrencyItlMatchesAlphaBeta) {
  for (const char* name : {"h100-80gb", "a100-80gb", "l40s-48gb"}) {
    const PerfProfile p = Get(name);
    for (int c : {1, 8, 32, 64, 128, 200}) {
      const double expect = p.alpha_ms + p.beta_ms * c;
      const double got = ClosedLoopItlMs(p, c, 120.0);
      EXPECT_NEAR(got, expect, 0.10 * expect) << name << " c=" << c;
    }
  }
}

struct OpenLoopResult {
  double ttft_p50_ms = 0;
  double itl_mean_ms = 0;
  int final_waiting = 0;
  int max_waiting = 0;
  int64_t completed = 0;
};

// Uniformly spaced arrivals at `rate` req/s for `duration` s; stats over completions.
OpenLoopResult OpenLoop(const PerfProfile& p, double rate, double duration, int prompt,
                        int output) {
  Replica r(p);
  std::vector<double> ttft;
  double itl_sum = 0;
  OpenLoopResult out;
  r.SetCompletionCallback([&](const Completion& x) {
    ttft.push_back(x.ttft_s() * 1000);
    itl_sum += x.mean_itl_s() * 1000;
  });
  const int n = static_cast<int>(rate * duration);
  for (int i = 0; i < n; ++i) {
    r.Submit({static_cast<uint64_t>(i), i / rate, prompt, output});
    out.max_waiting = std::max(out.max_waiting, r.gauges().waiting);
  }
  out.final_waiting = r.gauges().waiting;
  r.AdvanceTo(1e9);
  EXPECT_TRUE(r.idle());
  EXPECT_EQ(static_cast<int>(ttft.size()), n);
  std::sort(ttft.begin(), ttft.end());
  out.ttft_p50_ms = ttft.empty() ? 0 : ttft[ttft.size() / 2];
  out.itl_mean_ms = ttft.empty() ? 0 : itl_sum / static_cast<double>(ttft.size());
  out.completed = r.counters().finished;
  return out;
}

TEST(Calibration, PastSaturationQueueGrowsTtftExplodesItlPlateaus) {
  const PerfProfile p = Get("h100-80gb");
  // 500 in / 200 out. A full batch of 256 decodes in ~15.4 ms => ~16.6k tok/s ~ 80 req/s.
  const OpenLoopResult light = OpenLoop(p, 10, 60, 500, 200);
  const OpenLoopResult over = OpenLoop(p, 160, 60, 500, 200);
  const OpenLoopResult over2 = OpenLoop(p, 240, 60, 500, 200);
  EXPECT_LE(light.max_waiting, 1);      // at most the request that arrived mid-step
  EXPECT_GT(over.final_waiting, 1000);  // the queue keeps growing
  EXPECT_GT(over.ttft_p50_ms, 10 * light.ttft_p50_ms);
  // ITL is capped by the batch limit: doubling the overload barely moves it.
  EXPECT_NEAR(over2.itl_mean_ms, over.itl_mean_ms, 0.15 * over.itl_mean_ms);
  // Bounded by a full batch plus the co-scheduled chunked prefills (<= one budget per step).
  EXPECT_LT(over.itl_mean_ms,
            p.alpha_ms + p.beta_ms * p.max_batch + p.gamma_ms + p.delta_ms * p.max_batched_tokens);
}

TEST(Replica, TtftOfALoneRequestIsOnePrefillStep) {
  const PerfProfile p = Get("l40s-48gb");
  Replica r(p);
  Completion got;
  r.SetCompletionCallback([&](const Completion& x) { got = x; });
  r.Submit({7, 1.0, 1000, 3});
  r.AdvanceTo(100);
  // 1000 tokens with a 2048 budget: one prefill step, then two decode steps of batch 1.
  const double prefill_ms = p.alpha_ms + p.gamma_ms + p.delta_ms * 1000;
  EXPECT_NEAR(got.ttft_s() * 1000, prefill_ms, 1e-6);
  EXPECT_NEAR(got.mean_itl_s() * 1000, p.alpha_ms + p.beta_ms, 1e-6);
  EXPECT_EQ(got.id, 7u);
  EXPECT_EQ(r.counters().generation_tokens, 3);
  EXPECT_DOUBLE_EQ(r.gauges().kv_cache_usage, 0.0);
}

TEST(Replica, ChunkedPrefillSplitsLongPrompts) {
  PerfProfile p = Get("l40s-48gb");
  Replica r(p);
  Completion got;
  r.SetCompletionCallback([&](const Completion& x) { got = x; });
  r.Submit({1, 0.0, 5000, 1});  // 2048 + 2048 + 904
  r.AdvanceTo(100);
  const double ms = 3 * (p.alpha_ms + p.gamma_ms) + p.delta_ms * 5000;
  EXPECT_NEAR(got.ttft_s() * 1000, ms, 1e-6);
  EXPECT_EQ(r.counters().steps, 3);
}

TEST(Replica, KvOverflowPreemptsAndEverythingFinishes) {
  PerfProfile p = Get("h100-80gb");
  p.kv_capacity_tokens = 200 * 16;  // 3200 tokens
  Replica r(p, {.record_itl = true});
  std::vector<Completion> done;
  r.SetCompletionCallback([&](const Completion& x) { done.push_back(x); });
  for (int i = 0; i < 8; ++i) {
    r.Submit({static_cast<uint64_t>(i), 0.0, 100, 600});
  }
  // 8 x 100 prompt tokens fit; growing to 8 x 700 does not.
  double max_kv = 0;
  while (!r.idle()) {
    r.AdvanceTo(r.NextEventTime());
    max_kv = std::max(max_kv, r.gauges().kv_cache_usage);
  }
  EXPECT_GT(r.counters().preemptions, 0);
  EXPECT_LE(max_kv, 1.0);
  ASSERT_EQ(done.size(), 8u);
  int preempted = 0;
  for (const auto& c : done) {
    preempted += c.preemptions;
    EXPECT_EQ(c.itl_s.size(), 599u);
    EXPECT_GE(c.finish_s, c.first_token_s);
  }
  EXPECT_EQ(preempted, r.counters().preemptions);
  EXPECT_EQ(r.free_blocks(), p.num_gpu_blocks());
}

TEST(Replica, MaxNumSeqsCapsTheBatchAndQueuesTheRest) {
  PerfProfile p = Get("h100-80gb");
  p.max_batch = 4;
  Replica r(p);
  for (int i = 0; i < 10; ++i) {
    r.Submit({static_cast<uint64_t>(i), 0.0, 10, 50});
  }
  r.AdvanceTo(r.NextEventTime());
  EXPECT_EQ(r.gauges().running, 4);
  EXPECT_EQ(r.gauges().waiting, 6);
}

TEST(Replica, RejectsRequestsThatCanNeverFit) {
  PerfProfile p = Get("h100-80gb");
  p.max_model_len = 1000;
  Replica r(p);
  int rejected = 0;
  r.SetCompletionCallback([&](const Completion& x) { rejected += x.rejected; });
  r.Submit({1, 0.0, 990, 20});
  EXPECT_EQ(rejected, 1);
  EXPECT_TRUE(r.idle());
  EXPECT_EQ(r.NextEventTime(), Replica::kNever);
}

TEST(Replica, RequestsArrivingMidStepWaitForTheNextStep) {
  const PerfProfile p = Get("l40s-48gb");
  Replica r(p);
  std::vector<Completion> done;
  r.SetCompletionCallback([&](const Completion& x) { done.push_back(x); });
  r.Submit({1, 0.0, 10, 2});
  const double first_end = r.NextEventTime();
  r.Submit({2, first_end / 2, 10, 1});
  r.AdvanceTo(100);
  ASSERT_EQ(done.size(), 2u);
  // Request 2 joins the second step (decode of 1 + prefill of 2).
  EXPECT_GT(done[1].first_token_s, first_end);
}

}  // namespace
}  // namespace wva::sim
