// SimLoadModel: the LoadModel on src/sim's replica engine model (sim::Replica), so `wva emulate`
// and `wva simulate` share one model of a vLLM replica. Each replica is advanced on the wall
// clock; a seeded Poisson workload per traffic group with lognormal token lengths feeds it, and
// arrivals go to the replica with the fewest requests in flight.
#pragma once

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "emulator/load_model.h"
#include "sim/replica.h"
#include "sim/workload.h"

namespace wva::emulator {

class SimLoadModel final : public LoadModel {
 public:
  SimLoadModel(Clock::SteadyTime start, uint64_t seed, WorkloadShape shape = {});

  Status AddReplica(const std::string& group, const std::string& pod,
                    const core::PerfProfile& profile) override;
  Status RemoveReplica(const std::string& pod) override;
  void SetArrivalRate(const std::string& group, double requests_per_second) override;
  // Replaces the group's Poisson arrivals with a workload stream (a trace or a synthetic
  // generator from sim/workload.h), replayed from now on. The stream ends quietly; a malformed
  // row ends it with an error log.
  void SetWorkload(const std::string& group, std::unique_ptr<sim::Workload> workload);
  void Advance(Clock::SteadyTime now, std::vector<RequestRecord>* done) override;
  PodGauges Gauges(const std::string& pod) const override;
  long long preemptions(const std::string& pod) const override;

 private:
  struct Pod {
    std::string group;
    std::unique_ptr<sim::Replica> replica;
  };
  struct Group {
    double rate = 0;
    double next_arrival = 0;
    std::vector<std::string> pods;
    std::unique_ptr<sim::Workload> workload;  // when set, replaces the Poisson arrivals
    double offset = 0;                        // model time of the workload's t = 0
    bool has_pending = false;
    sim::Arrival pending;
  };
  // Next arrival time of a group (+inf when none), and consuming it.
  double NextArrival(const Group& g) const;
  void Pull(Group& g);
  double ToSeconds(Clock::SteadyTime t) const;
  int SampleLength(double median, double sigma, int max_len);

  Clock::SteadyTime start_;
  double now_ = 0;
  std::mt19937_64 rng_;
  WorkloadShape shape_;
  uint64_t next_id_ = 1;
  std::map<std::string, Pod> pods_;
  std::map<std::string, Group> groups_;
  std::vector<RequestRecord>* sink_ = nullptr;  // completions go here during Advance
};

}  // namespace wva::emulator
