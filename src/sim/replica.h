// The replica engine model: one vLLM replica (one pod) advanced by simulated time.
//
// Shared by `wva simulate` (driven by the fleet's discrete-event loop) and `wva emulate` (driven
// by the wall clock). It depends on nothing but the standard library and src/base, and knows
// nothing about fleets, routers or controllers.
//
// What it models (vLLM V1 scheduler, simplified; docs/simulator.md has the details and sources):
//  - Continuous batching in engine steps. A step's schedule is fixed when it starts; requests
//    submitted during a step join at the next step.
//  - Each step has a token budget (maxBatchedTokens). Running requests are served first, in
//    admission order: a decoding request takes 1 token, a request still prefilling takes a chunk
//    of its remaining prompt (chunked prefill). Then waiting requests are admitted, in FIFO order,
//    while the batch has room (maxBatch), the budget lasts and their KV blocks fit; the head
//    of the queue blocks the rest (no reordering).
//  - KV cache in blocks of blockSize tokens (kvCapacityTokens / blockSize of them). A running
//  request that
//    needs a new block when none is free preempts the most recently admitted running request
//    (recompute mode: its KV is freed, it goes back to the front of the queue and later
//    re-prefills prompt + generated tokens).
//  - Step time (ms) = alpha + beta * decode_seqs  +  (prefill_tokens > 0 ? gamma + delta *
//    prefill_tokens : 0). A token is sampled at the end of the step that computed the last known
//    token of a request; the first one defines TTFT, the gaps between later ones are the ITLs.
//  - Gauges as vLLM exports them: kv_cache_usage_perc (used blocks / total blocks),
//    num_requests_waiting (incl. preempted), num_requests_running.
//
// Time is a double in seconds on the caller's axis (any origin). Usage:
//   Replica r(BuiltinProfile("h100-80gb").value());
//   r.SetCompletionCallback([](const Completion& c) { ... });
//   r.Submit({.id = 1, .arrival_s = 0.5, .prompt_tokens = 900, .output_tokens = 200});
//   r.AdvanceTo(10.0);               // runs every step that ends at or before t = 10 s
//   double next = r.NextEventTime(); // end of the current step, or +inf when idle
// Not thread-safe; deterministic (no clocks, no randomness).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "core/perf_profile.h"

namespace wva::sim {

// A replica's performance and capacity is core::PerfProfile (core/perf_profile.h), the type the
// SLO model and the emulator use too. A replica needs ValidateForReplica() to hold.
using core::PerfProfile;

// Names of the built-in profiles, in a stable order ("h100-80gb", "a100-80gb", "l40s-48gb").
std::vector<std::string> BuiltinProfileNames();
// An 8B-class model (Llama-3.1-8B, BF16) on the named GPU; figures and their sources are in
// docs/simulator.md. NotFound for an unknown name.
StatusOr<PerfProfile> BuiltinProfile(std::string_view name);
// The accelerator of a built-in profile ("H100", "A100", "L40S"); NotFound for an unknown name.
StatusOr<std::string> BuiltinAccelerator(std::string_view name);
// What a fleet file's profile mapping without `base` starts from (a generic mid-size GPU).
PerfProfile CustomProfileDefaults();

struct Request {
  uint64_t id = 0;
  double arrival_s = 0;   // when it reaches the replica (the router's choice time)
  int prompt_tokens = 1;  // >= 1
  int output_tokens = 1;  // >= 1 (tokens to generate)
};

// A request that left the replica: finished, or rejected at submission (too long to ever fit).
struct Completion {
  uint64_t id = 0;
  double arrival_s = 0;
  double first_token_s = 0;  // time of the first output token (0 if rejected)
  // Time the request was first admitted into the running batch (preemptions do not restart it,
  // as in vLLM's request_queue_time_seconds); -1 if never (rejected).
  double first_scheduled_s = -1;
  double finish_s = 0;  // time of the last output token (or of the rejection)
  int prompt_tokens = 0;
  int output_tokens = 0;
  int preemptions = 0;  // how often this request was preempted
  bool rejected = false;
  // Every inter-token gap (s), in order; filled only when Replica::Options::record_itl is set.
  std::vector<double> itl_s;

  double ttft_s() const { return first_token_s - arrival_s; }
  // Mean inter-token latency (TPOT) in seconds; 0 for a single-token output.
  double mean_itl_s() const {
    return output_tokens > 1 ? (finish_s - first_token_s) / (output_tokens - 1) : 0.0;
  }
};

// Instantaneous engine gauges (what vLLM's /metrics shows right now).
struct Gauges {
  double kv_cache_usage = 0;  // 0..1
  int waiting = 0;
  int running = 0;
};

// Cumulative counters since construction.
struct Counters {
  int64_t steps = 0;
  int64_t preemptions = 0;
  int64_t prompt_tokens = 0;      // of finished requests
  int64_t generation_tokens = 0;  // tokens sampled
  int64_t finished = 0;
  int64_t rejected = 0;
  double busy_s = 0;  // total step time
};

class Replica {
 public:
  struct Options {
    bool record_itl = false;  // fill Completion::itl_s (costs memory per in-flight token)
  };
  using CompletionFn = std::function<void(const Completion&)>;

  explicit Replica(PerfProfile profile) : Replica(std::move(profile), Options{}) {}
  Replica(PerfProfile profile, Options options);

  // Called for every finished or rejected request, during Submit/AdvanceTo, in time order. The
  // callback must not call back into this replica (queue follow-up work and submit it later).
  void SetCompletionCallback(CompletionFn fn) { on_complete_ = std::move(fn); }

  // Advances to `request.arrival_s` (which must be >= now(); earlier times are treated as now)
  // and enqueues the request. A request whose prompt + output exceeds max_model_len or the KV
  // capacity is rejected at once (a Completion with rejected = true).
  void Submit(const Request& request);

  // Runs every engine step that ends at or before `t`; afterwards now() == max(now(), t).
  void AdvanceTo(double t);

  // End time of the step in progress, or +infinity when the engine is idle.
  double NextEventTime() const { return busy_ ? step_end_ : kNever; }

  double now() const { return now_; }
  Gauges gauges() const;
  const Counters& counters() const { return counters_; }
  const PerfProfile& profile() const { return profile_; }
  // Requests held (running + waiting).
  int in_flight() const { return static_cast<int>(running_.size() + waiting_.size()); }
  bool idle() const { return running_.empty() && waiting_.empty(); }
  // Prompt tokens of the requests held (running + waiting): what a gateway counts as in-flight
  // prompt tokens for this replica. O(requests held).
  int64_t prompt_tokens_in_flight() const;
  // Whether a gateway with flow control would dispatch a request with this prompt now: the
  // batch has a free slot (running + waiting < max_batch) and the KV blocks not promised to
  // waiting requests hold the prompt.
  bool HasRoomFor(int prompt_tokens) const;
  int64_t free_blocks() const { return free_blocks_; }

  static constexpr double kNever = std::numeric_limits<double>::infinity();

 private:
  struct Seq {
    Request req;
    int64_t computed = 0;  // tokens whose KV is in the cache
    int generated = 0;     // output tokens sampled so far
    int64_t blocks = 0;    // KV blocks held
    int scheduled = 0;     // tokens scheduled in the current step
    int preemptions = 0;
    double first_token_s = 0;
    double first_scheduled_s = -1;  // first admitted into the batch (vLLM's queue time ends)
    double last_token_s = 0;
    std::vector<double> itl_s;
    int64_t known_tokens() const { return req.prompt_tokens + generated; }
  };

  // Schedules a step starting at now_ (if there is work) and sets busy_/step_end_.
  void StartStep();
  // Applies the effects of the step that ends at step_end_.
  void FinishStep();
  // Blocks needed to hold `tokens` tokens.
  int64_t BlocksFor(int64_t tokens) const;
  void Preempt(Seq& seq);

  PerfProfile profile_;
  Options options_;
  CompletionFn on_complete_;
  double now_ = 0;
  bool busy_ = false;
  double step_end_ = 0;
  int64_t free_blocks_ = 0;
  std::deque<Seq> running_;  // admission order
  std::deque<Seq> waiting_;  // FIFO; preempted requests go to the front
  Counters counters_;
};

}  // namespace wva::sim
