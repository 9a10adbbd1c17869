#include "emulator/sim_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/log.h"

namespace wva::emulator {
namespace {
constexpr double kNever = std::numeric_limits<double>::infinity();
constexpr double kMaxCatchUpSeconds = 30;
}  // namespace

SimLoadModel::SimLoadModel(Clock::SteadyTime start, uint64_t seed, WorkloadShape shape)
    : start_(start), rng_(seed), shape_(shape) {}

double SimLoadModel::ToSeconds(Clock::SteadyTime t) const {
  return std::chrono::duration<double>(t - start_).count();
}

int SimLoadModel::SampleLength(double median, double sigma, int max_len) {
  std::lognormal_distribution<double> d(std::log(std::max(1.0, median)), sigma);
  return std::clamp(static_cast<int>(std::lround(d(rng_))), 1, std::max(1, max_len));
}

core::PerfProfile DefaultReplicaProfile() {
  core::PerfProfile p;
  p.kv_capacity_tokens = 2048 * 16;
  p.block_size = 16;
  p.max_batch = 64;
  p.max_batched_tokens = 2048;
  p.max_model_len = 8192;
  p.alpha_ms = 20.0;
  p.beta_ms = 0.4;
  p.gamma_ms = 5.0;
  p.delta_ms = 0.05;
  return p;
}
Status SimLoadModel::AddReplica(const std::string& group, const std::string& pod,
                                const core::PerfProfile& profile) {
  if (pods_.count(pod)) {
    return AlreadyExistsError("replica " + pod + " already exists");
  }
  WVA_RETURN_IF_ERROR(profile.ValidateForReplica());
  sim::Replica::Options opts;
  opts.record_itl = true;
  Pod p;
  p.group = group;
  p.replica = std::make_unique<sim::Replica>(profile, opts);
  p.replica->AdvanceTo(now_);
  p.replica->SetCompletionCallback([this, pod](const sim::Completion& c) {
    if (c.rejected || !sink_) {
      return;
    }
    RequestRecord r;
    r.pod = pod;
    r.prompt_tokens = c.prompt_tokens;
    r.generation_tokens = c.output_tokens;
    r.ttft_seconds = c.ttft_s();
    if (c.first_scheduled_s >= c.arrival_s) {
      r.queue_seconds = c.first_scheduled_s - c.arrival_s;
    }
    r.itl_seconds = c.itl_s;
    r.finished_reason = "length";
    sink_->push_back(std::move(r));
  });
  pods_[pod] = std::move(p);
  groups_[group].pods.push_back(pod);
  return OkStatus();
}

Status SimLoadModel::RemoveReplica(const std::string& pod) {
  auto it = pods_.find(pod);
  if (it == pods_.end()) {
    return NotFoundError("replica " + pod + " not found");
  }
  auto& v = groups_[it->second.group].pods;
  v.erase(std::remove(v.begin(), v.end(), pod), v.end());
  pods_.erase(it);
  return OkStatus();
}

void SimLoadModel::SetArrivalRate(const std::string& group, double rps) {
  Group& g = groups_[group];
  g.workload.reset();
  g.has_pending = false;
  g.rate = std::max(0.0, rps);
  if (g.rate <= 0) {
    g.next_arrival = kNever;
  } else {
    std::exponential_distribution<double> gap(g.rate);
    g.next_arrival = now_ + gap(rng_);
  }
}

void SimLoadModel::SetWorkload(const std::string& group, std::unique_ptr<sim::Workload> workload) {
  Group& g = groups_[group];
  g.rate = 0;
  g.next_arrival = kNever;
  g.workload = std::move(workload);
  g.offset = now_;
  g.has_pending = false;
  Pull(g);
}

void SimLoadModel::Pull(Group& g) {
  g.has_pending = false;
  if (!g.workload) {
    return;
  }
  auto next = g.workload->Next(&g.pending);
  if (!next) {
    log::Logger("emulator").Error("workload stopped", {{"error", next.error().ToString()}});
    g.workload.reset();
    return;
  }
  if (!*next) {
    g.workload.reset();  // the trace ended
    return;
  }
  g.has_pending = true;
}

double SimLoadModel::NextArrival(const Group& g) const {
  if (g.workload) {
    return g.has_pending ? g.offset + g.pending.time_s : kNever;
  }
  return g.rate > 0 ? g.next_arrival : kNever;
}

void SimLoadModel::Advance(Clock::SteadyTime now_tp, std::vector<RequestRecord>* done) {
  double now = ToSeconds(now_tp);
  if (now <= now_) {
    return;
  }
  sink_ = done;
  if (now - now_ > kMaxCatchUpSeconds) {
    // A stalled process: let the engines drain up to the skip point, drop the missed arrivals.
    now_ = now - kMaxCatchUpSeconds;
    for (auto& [name, p] : pods_) {
      p.replica->AdvanceTo(now_);
    }
    for (auto& [name, g] : groups_) {
      if (g.next_arrival < now_) {
        g.next_arrival = now_;
      }
      while (g.workload && g.has_pending && g.offset + g.pending.time_s < now_) {
        Pull(g);
      }
    }
  }
  while (true) {
    Group* next = nullptr;
    double t = kNever;
    for (auto& [name, g] : groups_) {
      double ta = NextArrival(g);
      if (ta <= now && ta < t) {
        t = ta;
        next = &g;
      }
    }
    if (!next) {
      break;
    }
    int prompt = 0, output = 0;
    if (next->workload) {
      prompt = next->pending.prompt_tokens;
      output = next->pending.output_tokens;
      Pull(*next);
    } else {
      std::exponential_distribution<double> gap(next->rate);
      next->next_arrival = t + gap(rng_);
    }
    if (next->pods.empty()) {
      continue;
    }
    sim::Replica* best = nullptr;
    for (const auto& name : next->pods) {
      sim::Replica& r = *pods_.at(name).replica;
      r.AdvanceTo(t);
      if (!best || r.in_flight() < best->in_flight()) {
        best = &r;
      }
    }
    int max_len = best->profile().max_model_len;
    sim::Request req;
    req.id = next_id_++;
    req.arrival_s = t;
    if (prompt > 0) {
      req.prompt_tokens = prompt;
      req.output_tokens = output;
    } else {
      req.prompt_tokens = SampleLength(shape_.prompt_median, shape_.prompt_sigma, max_len / 2);
      req.output_tokens =
          SampleLength(shape_.output_median, shape_.output_sigma, max_len - req.prompt_tokens);
    }
    best->Submit(req);
  }
  for (auto& [name, p] : pods_) {
    p.replica->AdvanceTo(now);
  }
  now_ = now;
  sink_ = nullptr;
}

PodGauges SimLoadModel::Gauges(const std::string& pod) const {
  auto it = pods_.find(pod);
  if (it == pods_.end()) {
    return {};
  }
  sim::Gauges g = it->second.replica->gauges();
  return {g.kv_cache_usage, static_cast<double>(g.waiting), static_cast<double>(g.running)};
}

long long SimLoadModel::preemptions(const std::string& pod) const {
  auto it = pods_.find(pod);
  return it == pods_.end() ? 0 : it->second.replica->counters().preemptions;
}

}  // namespace wva::emulator
