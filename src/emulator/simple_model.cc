#include "emulator/simple_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace wva::emulator {
namespace {
constexpr double kNever = std::numeric_limits<double>::infinity();
// Catch-up bound: if the emulator was not advanced for longer than this (a stalled process), the
// model skips ahead instead of replaying minutes of engine steps at once.
constexpr double kMaxCatchUpSeconds = 30;
}  // namespace

SimpleLoadModel::SimpleLoadModel(Clock::SteadyTime start, uint64_t seed, WorkloadShape shape)
    : start_(start), rng_(seed), shape_(shape) {}

double SimpleLoadModel::ToSeconds(Clock::SteadyTime t) const {
  return std::chrono::duration<double>(t - start_).count();
}

int SimpleLoadModel::SampleLength(double median, double sigma, int max_len) {
  std::lognormal_distribution<double> d(std::log(std::max(1.0, median)), sigma);
  return std::clamp(static_cast<int>(std::lround(d(rng_))), 1, std::max(1, max_len));
}

Status SimpleLoadModel::AddReplica(const std::string& group, const std::string& pod,
                                   const ReplicaProfile& profile) {
  if (replicas_.count(pod)) return AlreadyExistsError("replica " + pod + " already exists");
  if (profile.num_gpu_blocks <= 0 || profile.block_size <= 0 || profile.max_num_seqs <= 0) {
    return InvalidArgumentError("replica profile needs positive blocks, block size and max seqs");
  }
  Replica r;
  r.group = group;
  r.profile = profile;
  r.next_step = now_;
  replicas_[pod] = std::move(r);
  Group& g = groups_[group];
  g.pods.push_back(pod);
  return OkStatus();
}

Status SimpleLoadModel::RemoveReplica(const std::string& pod) {
  auto it = replicas_.find(pod);
  if (it == replicas_.end()) return NotFoundError("replica " + pod + " not found");
  auto& pods = groups_[it->second.group].pods;
  pods.erase(std::remove(pods.begin(), pods.end(), pod), pods.end());
  replicas_.erase(it);
  return OkStatus();
}

void SimpleLoadModel::SetArrivalRate(const std::string& group, double rps) {
  Group& g = groups_[group];
  g.rate = std::max(0.0, rps);
  if (g.rate <= 0) {
    g.next_arrival = kNever;
  } else {
    std::exponential_distribution<double> gap(g.rate);
    g.next_arrival = now_ + gap(rng_);
  }
}

void SimpleLoadModel::Arrive(Group& g, double t) {
  std::exponential_distribution<double> gap(g.rate);
  g.next_arrival = t + gap(rng_);
  if (g.pods.empty()) {
    ++dropped_arrivals_;
    return;
  }
  // Least loaded by running + waiting; ties to the first pod (stable order of addition).
  Replica* best = nullptr;
  size_t best_load = 0;
  for (const auto& p : g.pods) {
    Replica& r = replicas_.at(p);
    size_t load = r.running.size() + r.waiting.size();
    if (!best || load < best_load) {
      best = &r;
      best_load = load;
    }
  }
  int max_len = best->profile.max_model_len;
  Request req;
  req.arrival = t;
  req.prompt = SampleLength(shape_.prompt_median, shape_.prompt_sigma, max_len / 2);
  req.output = SampleLength(shape_.output_median, shape_.output_sigma, max_len - req.prompt);
  bool idle = best->running.empty() && best->waiting.empty();
  best->waiting.push_back(std::move(req));
  if (idle) best->next_step = std::max(best->next_step, t);
}

void SimpleLoadModel::Step(const std::string& pod, Replica& r, double t,
                           std::vector<RequestRecord>* done) {
  const ReplicaProfile& p = r.profile;
  const long long capacity = p.kv_capacity_tokens();
  // Admission: FCFS while the batch has a slot and the prompt fits in the free KV cache.
  double prefill_ms = 0;
  while (!r.waiting.empty() && static_cast<int>(r.running.size()) < p.max_num_seqs) {
    Request& next = r.waiting.front();
    long long need = next.prompt + 1;
    if (r.kv_tokens + need > capacity && !r.running.empty()) break;
    prefill_ms += p.gamma_ms + p.delta_ms * next.prompt;
    if (next.scheduled < 0) next.scheduled = t;
    r.kv_tokens += next.prompt;
    r.running.push_back(std::move(next));
    r.waiting.pop_front();
  }
  if (r.running.empty()) return;  // nothing queued: idle until the next arrival
  double step_ms = p.alpha_ms + p.beta_ms * static_cast<double>(r.running.size()) + prefill_ms;
  double end = t + step_ms / 1000.0;
  std::vector<Request> still;
  still.reserve(r.running.size());
  for (Request& q : r.running) {
    if (!q.prefilled) {
      q.prefilled = true;
      q.first_token = end;
      q.last_token = end;
      q.generated = 1;
    } else {
      q.itl.push_back(end - q.last_token);
      q.last_token = end;
      ++q.generated;
    }
    r.kv_tokens += 1;
    if (q.generated >= q.output) {
      RequestRecord rec;
      rec.pod = pod;
      rec.prompt_tokens = q.prompt;
      rec.generation_tokens = q.generated;
      rec.ttft_seconds = q.first_token - q.arrival;
      rec.queue_seconds = q.scheduled - q.arrival;
      rec.itl_seconds = std::move(q.itl);
      rec.finished_reason = "length";
      done->push_back(std::move(rec));
      r.kv_tokens -= q.prompt + q.generated;
    } else {
      still.push_back(std::move(q));
    }
  }
  r.running = std::move(still);
  // KV overflow: preempt the newest running request (recompute: back to the queue head).
  while (r.kv_tokens > capacity && r.running.size() > 1) {
    Request victim = std::move(r.running.back());
    r.running.pop_back();
    r.kv_tokens -= victim.prompt + victim.generated;
    victim.prefilled = false;
    victim.generated = 0;
    victim.itl.clear();
    r.waiting.push_front(std::move(victim));
    ++r.preemptions;
  }
  r.next_step = end;
}

void SimpleLoadModel::Advance(Clock::SteadyTime now_tp, std::vector<RequestRecord>* done) {
  double now = ToSeconds(now_tp);
  if (now <= now_) return;
  if (now - now_ > kMaxCatchUpSeconds) {
    double skip = now - kMaxCatchUpSeconds - now_;
    now_ += skip;
    for (auto& [name, g] : groups_) {
      if (g.next_arrival < now_) g.next_arrival = now_;
    }
    for (auto& [name, r] : replicas_) {
      if (r.next_step < now_) r.next_step = now_;
    }
  }
  while (true) {
    double t_arrival = kNever;
    Group* g_next = nullptr;
    for (auto& [name, g] : groups_) {
      if (g.rate > 0 && g.next_arrival < t_arrival) {
        t_arrival = g.next_arrival;
        g_next = &g;
      }
    }
    double t_step = kNever;
    const std::string* r_name = nullptr;
    Replica* r_next = nullptr;
    for (auto& [name, r] : replicas_) {
      if ((r.running.empty() && r.waiting.empty())) continue;
      if (r.next_step < t_step) {
        t_step = r.next_step;
        r_next = &r;
        r_name = &name;
      }
    }
    double t = std::min(t_arrival, t_step);
    if (t > now) break;
    if (g_next && t_arrival <= t_step) {
      Arrive(*g_next, t_arrival);
    } else {
      Step(*r_name, *r_next, t_step, done);
    }
  }
  now_ = now;
}

PodGauges SimpleLoadModel::Gauges(const std::string& pod) const {
  auto it = replicas_.find(pod);
  if (it == replicas_.end()) return {};
  const Replica& r = it->second;
  PodGauges g;
  g.kv = std::clamp(static_cast<double>(r.kv_tokens) /
                        static_cast<double>(r.profile.kv_capacity_tokens()),
                    0.0, 1.0);
  g.waiting = static_cast<double>(r.waiting.size());
  g.running = static_cast<double>(r.running.size());
  return g;
}

long long SimpleLoadModel::preemptions(const std::string& pod) const {
  auto it = replicas_.find(pod);
  return it == replicas_.end() ? 0 : it->second.preemptions;
}

}  // namespace wva::emulator
