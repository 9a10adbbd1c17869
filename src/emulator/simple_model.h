// SimpleLoadModel: a small continuous-batching model of vLLM replicas driven in real time by a
// seeded Poisson workload per traffic group. Each engine step admits waiting requests while the
// batch and KV cache have room, prefills the new ones (gamma + delta * prompt ms), decodes one
// token for the rest (alpha + beta * batch ms), and preempts the newest request (recompute) when
// KV overflows. Arrivals go to the least-loaded replica of their group.
//
// Stand-in until src/sim's replica engine model exists; it implements the same LoadModel
// interface so the switch is local to the `wva emulate` wiring.
#pragma once

#include <deque>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "emulator/load_model.h"

namespace wva::emulator {

struct WorkloadShape {
  double prompt_median = 512;   // lognormal token lengths
  double prompt_sigma = 0.6;
  double output_median = 128;
  double output_sigma = 0.6;
};

class SimpleLoadModel final : public LoadModel {
 public:
  SimpleLoadModel(Clock::SteadyTime start, uint64_t seed, WorkloadShape shape = {});

  Status AddReplica(const std::string& group, const std::string& pod,
                    const ReplicaProfile& profile) override;
  Status RemoveReplica(const std::string& pod) override;
  void SetArrivalRate(const std::string& group, double requests_per_second) override;
  void Advance(Clock::SteadyTime now, std::vector<RequestRecord>* done) override;
  PodGauges Gauges(const std::string& pod) const override;
  long long preemptions(const std::string& pod) const override;

  long long dropped_arrivals() const { return dropped_arrivals_; }

 private:
  struct Request {
    double arrival = 0;
    int prompt = 0;
    int output = 0;
    int generated = 0;
    bool prefilled = false;
    double scheduled = -1;  // time of the first admission into the batch (-1 = never yet)
    double last_token = 0;
    double first_token = 0;
    std::vector<double> itl;
  };
  struct Replica {
    std::string group;
    ReplicaProfile profile;
    std::deque<Request> waiting;
    std::vector<Request> running;
    double next_step = 0;  // time the engine is free for its next step
    long long kv_tokens = 0;
    long long preemptions = 0;
  };
  struct Group {
    double rate = 0;
    double next_arrival = 0;
    std::vector<std::string> pods;
  };

  double ToSeconds(Clock::SteadyTime t) const;
  int SampleLength(double median, double sigma, int max_len);
  void Step(const std::string& pod, Replica& r, double t, std::vector<RequestRecord>* done);
  void Arrive(Group& g, double t);

  Clock::SteadyTime start_;
  double now_ = 0;  // model time, seconds since start_
  std::mt19937_64 rng_;
  WorkloadShape shape_;
  std::map<std::string, Replica> replicas_;
  std::map<std::string, Group> groups_;
  long long dropped_arrivals_ = 0;
};

}  // namespace wva::emulator
