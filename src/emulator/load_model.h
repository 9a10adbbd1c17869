// LoadModel: where a load-driven emulated pod's state comes from. The emulator asks the model to
// advance to "now" and reads back each replica's gauges and the requests that finished, which it
// turns into vLLM's counters and histograms.
//
// The model is SimLoadModel (sim_model.h): the simulator's replica engine model (src/sim), so the
// emulator and `wva simulate` share one model of a vLLM replica.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "core/perf_profile.h"

namespace wva::emulator {

// A replica's performance and capacity is core::PerfProfile, the simulator's and the SLO model's
// type. These are the emulator's defaults for keys a --variant flag or a control-API profile does
// not give (a small 64-sequence replica with an 8k context; the closed-loop tests are tuned on
// them), unless a named profile is the base.
core::PerfProfile DefaultReplicaProfile();

// Token lengths of a rate-driven workload (lognormal), when no trace or synthetic spec is given.
struct WorkloadShape {
  double prompt_median = 512;
  double prompt_sigma = 0.6;
  double output_median = 128;
  double output_sigma = 0.6;
};

struct PodGauges {
  double kv = 0;       // KV-cache usage fraction 0..1
  double waiting = 0;  // requests waiting (incl. preempted)
  double running = 0;  // requests in the batch
};

// One finished request, in the units vLLM's histograms use.
struct RequestRecord {
  std::string pod;
  int prompt_tokens = 0;
  int generation_tokens = 0;
  double ttft_seconds = 0;
  // Time from arrival to the first scheduling step (vLLM's request_queue_time_seconds: queued
  // until first scheduled, preemptions do not restart it). < 0 = the model does not know it; the
  // emulator then observes nothing (a pod whose queue-time histogram stays empty).
  double queue_seconds = -1;
  std::vector<double> itl_seconds;  // one per generated token after the first
  std::string finished_reason = "length";
};

class LoadModel {
 public:
  virtual ~LoadModel() = default;
  // `pod` is unique within the model; `group` is the traffic group (namespace/model) it serves.
  virtual Status AddReplica(const std::string& group, const std::string& pod,
                            const core::PerfProfile& profile) = 0;
  // In-flight and queued requests of a removed replica are dropped (the pod went away).
  virtual Status RemoveReplica(const std::string& pod) = 0;
  // Arrival rate of a traffic group, requests per second (0 = idle).
  virtual void SetArrivalRate(const std::string& group, double requests_per_second) = 0;
  // Advances every replica to `now`; appends requests finished since the last call to `done`.
  virtual void Advance(Clock::SteadyTime now, std::vector<RequestRecord>* done) = 0;
  virtual PodGauges Gauges(const std::string& pod) const = 0;
  virtual long long preemptions(const std::string& pod) const = 0;
};

}  // namespace wva::emulator
