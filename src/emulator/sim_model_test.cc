#include "emulator/sim_model.h"

#include <gtest/gtest.h>

#include "emulator/emulator.h"

namespace wva::emulator {
namespace {

using namespace std::chrono_literals;

TEST(SimLoadModel, DrivesSimReplicas) {
  FakeClock clock;
  SimLoadModel m(clock.Now(), 11);
  ASSERT_TRUE(m.AddReplica("g", "a", DefaultReplicaProfile()).ok());
  ASSERT_TRUE(m.AddReplica("g", "b", DefaultReplicaProfile()).ok());
  EXPECT_FALSE(m.AddReplica("g", "a", DefaultReplicaProfile()).ok());
  core::PerfProfile bad = DefaultReplicaProfile();
  bad.kv_capacity_tokens = 0;
  EXPECT_FALSE(m.AddReplica("g", "c", bad).ok());
  m.SetArrivalRate("g", 6);
  std::vector<RequestRecord> done;
  for (int i = 0; i < 300; ++i) {
    clock.Advance(100ms);
    m.Advance(clock.Now(), &done);
  }
  int a = 0, b = 0;
  for (const auto& r : done) {
    (r.pod == "a" ? a : b)++;
    EXPECT_GT(r.ttft_seconds, 0);
    EXPECT_EQ(r.itl_seconds.size(), static_cast<size_t>(r.generation_tokens - 1));
  }
  EXPECT_GT(a, 30);
  EXPECT_GT(b, 30);
  EXPECT_GT(m.Gauges("a").kv + m.Gauges("b").kv, 0);
  ASSERT_TRUE(m.RemoveReplica("a").ok());
  EXPECT_EQ(m.Gauges("a").kv, 0);
}

// Queue time (vLLM's request_queue_time_seconds) runs from arrival to the first admission into
// the batch: with a batch of 2 and more arrivals than it serves, requests wait, and the wait is
// part of the TTFT.
TEST(SimLoadModel, QueueTimeIsArrivalToFirstAdmission) {
  FakeClock clock;
  SimLoadModel m(clock.Now(), 5);
  core::PerfProfile two = DefaultReplicaProfile();
  two.max_batch = 2;
  ASSERT_TRUE(m.AddReplica("g", "a", two).ok());
  m.SetArrivalRate("g", 10);
  std::vector<RequestRecord> done;
  for (int i = 0; i < 200; ++i) {
    clock.Advance(100ms);
    m.Advance(clock.Now(), &done);
  }
  ASSERT_GT(done.size(), 10u);
  double max_queue = 0;
  for (const auto& r : done) {
    EXPECT_GE(r.queue_seconds, 0);
    EXPECT_LE(r.queue_seconds, r.ttft_seconds);
    max_queue = std::max(max_queue, r.queue_seconds);
  }
  EXPECT_GT(max_queue, 1.0);
}

TEST(SimLoadModel, OverloadQueuesInTheEmulator) {
  FakeClock clock;
  Emulator e(clock, std::make_unique<SimLoadModel>(clock.Now(), 5));
  PodSpec s;
  s.ns = "ns";
  s.model = "m";
  s.pod = "p";
  s.mode = PodMode::kLoad;
  s.profile.kv_capacity_tokens = 128 * 16;
  s.profile.max_batch = 16;
  ASSERT_TRUE(e.AddPod(s).ok());
  ASSERT_TRUE(e.SetArrivalRate("ns", "m", 40).ok());
  for (int i = 0; i < 100; ++i) {
    clock.Advance(100ms);
    e.Tick();
  }
  auto pod = e.ListPods()["pods"][0];
  EXPECT_GT(pod["waiting"].get<double>(), 5) << pod.dump();
  EXPECT_GT(pod["kv"].get<double>(), 0.5) << pod.dump();
}

TEST(SimLoadModel, ReplaysAWorkloadStream) {
  FakeClock clock;
  SimLoadModel m(clock.Now(), 1);
  ASSERT_TRUE(m.AddReplica("g", "a", DefaultReplicaProfile()).ok());
  auto w = sim::MakeSynthetic("poisson:rate=10,duration=5", 3);
  ASSERT_TRUE(w) << w.error().ToString();
  m.SetWorkload("g", std::move(*w));
  std::vector<RequestRecord> done;
  for (int i = 0; i < 200; ++i) {
    clock.Advance(100ms);
    m.Advance(clock.Now(), &done);
  }
  // ~50 arrivals in the 5 s stream, all finished after 20 s; then the stream has ended.
  EXPECT_GT(done.size(), 25u);
  EXPECT_LT(done.size(), 90u);
  size_t n = done.size();
  clock.Advance(10s);
  m.Advance(clock.Now(), &done);
  EXPECT_EQ(done.size(), n);
  EXPECT_EQ(m.Gauges("a").running, 0);
}

}  // namespace
}  // namespace wva::emulator
