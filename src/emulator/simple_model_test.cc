#include "emulator/simple_model.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace wva::emulator {
namespace {

using namespace std::chrono_literals;

TEST(SimpleLoadModel, IdleWithoutArrivals) {
  FakeClock clock;
  SimpleLoadModel m(clock.Now(), 1);
  ASSERT_TRUE(m.AddReplica("g", "a", {}).ok());
  EXPECT_FALSE(m.AddReplica("g", "a", {}).ok());
  std::vector<RequestRecord> done;
  clock.Advance(10s);
  m.Advance(clock.Now(), &done);
  EXPECT_TRUE(done.empty());
  EXPECT_EQ(m.Gauges("a").kv, 0);
  EXPECT_EQ(m.Gauges("a").waiting, 0);
}

TEST(SimpleLoadModel, LoadCompletesRequestsWithSaneLatencies) {
  FakeClock clock;
  SimpleLoadModel m(clock.Now(), 42);
  ASSERT_TRUE(m.AddReplica("g", "a", {}).ok());
  m.SetArrivalRate("g", 2);
  std::vector<RequestRecord> done;
  for (int i = 0; i < 600; ++i) {
    clock.Advance(100ms);
    m.Advance(clock.Now(), &done);
  }
  // ~2 req/s for 60 s
  EXPECT_GT(done.size(), 60u);
  EXPECT_LT(done.size(), 180u);
  for (const auto& r : done) {
    EXPECT_EQ(r.pod, "a");
    EXPECT_GT(r.ttft_seconds, 0);
    EXPECT_LT(r.ttft_seconds, 5);
    // Queue time: arrival until first admitted, part of the TTFT.
    EXPECT_GE(r.queue_seconds, 0);
    EXPECT_LT(r.queue_seconds, r.ttft_seconds);
    EXPECT_EQ(r.itl_seconds.size(), static_cast<size_t>(r.generation_tokens - 1));
    for (double itl : r.itl_seconds) EXPECT_GE(itl, 0.02);
  }
}

TEST(SimpleLoadModel, OverloadQueuesAndPreempts) {
  FakeClock clock;
  WorkloadShape long_outputs;
  long_outputs.prompt_median = 100;
  long_outputs.output_median = 800;
  SimpleLoadModel m(clock.Now(), 3, long_outputs);
  ReplicaProfile small;
  small.num_gpu_blocks = 64;  // 1024 tokens
  small.max_num_seqs = 8;
  ASSERT_TRUE(m.AddReplica("g", "a", small).ok());
  m.SetArrivalRate("g", 50);
  std::vector<RequestRecord> done;
  for (int i = 0; i < 100; ++i) {
    clock.Advance(100ms);
    m.Advance(clock.Now(), &done);
  }
  EXPECT_GT(m.Gauges("a").waiting, 10);
  EXPECT_GT(m.Gauges("a").kv, 0.5);
  EXPECT_LE(m.Gauges("a").kv, 1.0);
  EXPECT_GT(m.preemptions("a"), 0);
}

// Queue time (vLLM's request_queue_time_seconds) runs from arrival to the first admission: with
// a batch of 2 and more arrivals than it serves, requests wait, and the wait is part of the TTFT.
TEST(SimpleLoadModel, QueueTimeIsArrivalToFirstAdmission) {
  FakeClock clock;
  WorkloadShape short_outputs;
  short_outputs.output_median = 20;
  SimpleLoadModel m(clock.Now(), 5, short_outputs);
  ReplicaProfile two;
  two.max_num_seqs = 2;
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

TEST(SimpleLoadModel, LeastLoadedRoutingAndRemoval) {
  FakeClock clock;
  SimpleLoadModel m(clock.Now(), 9);
  ASSERT_TRUE(m.AddReplica("g", "a", {}).ok());
  ASSERT_TRUE(m.AddReplica("g", "b", {}).ok());
  m.SetArrivalRate("g", 10);
  std::vector<RequestRecord> done;
  for (int i = 0; i < 300; ++i) {
    clock.Advance(100ms);
    m.Advance(clock.Now(), &done);
  }
  int a = 0, b = 0;
  for (const auto& r : done) (r.pod == "a" ? a : b)++;
  EXPECT_GT(a, 50);
  EXPECT_GT(b, 50);
  ASSERT_TRUE(m.RemoveReplica("a").ok());
  EXPECT_FALSE(m.RemoveReplica("a").ok());
  done.clear();
  for (int i = 0; i < 50; ++i) {
    clock.Advance(100ms);
    m.Advance(clock.Now(), &done);
  }
  for (const auto& r : done) EXPECT_EQ(r.pod, "b");
  ASSERT_TRUE(m.RemoveReplica("b").ok());
  clock.Advance(1s);
  m.Advance(clock.Now(), &done);
  EXPECT_GT(m.dropped_arrivals(), 0);
}

}  // namespace
}  // namespace wva::emulator
