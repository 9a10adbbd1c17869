// The replica engine model (see replica.h for the model and docs/simulator.md for the figures).
#include "sim/replica.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace wva::sim {

// Llama-3.1-8B-Instruct, BF16, one GPU, vLLM V1 defaults. KV per token = 2 (K,V) x 32 layers x
// 8 KV heads x 128 dims x 2 bytes = 128 KiB. KV pool = 0.9 x GPU memory - 16 GB weights -
// activations/CUDA graphs. Sources for every number: docs/simulator.md "Profiles".
std::vector<std::string> BuiltinProfileNames() { return {"h100-80gb", "a100-80gb", "l40s-48gb"}; }

PerfProfile CustomProfileDefaults() {
  PerfProfile p;
  p.kv_capacity_tokens = 2048 * 16;
  p.block_size = 16;
  p.max_batch = 256;
  p.max_batched_tokens = 2048;
  p.max_model_len = 131072;
  p.alpha_ms = 20.0;
  p.beta_ms = 0.2;
  p.gamma_ms = 5.0;
  p.delta_ms = 0.1;
  return p;
}

StatusOr<std::string> BuiltinAccelerator(std::string_view name) {
  WVA_ASSIGN_OR_RETURN(PerfProfile known, BuiltinProfile(name));
  (void)known;
  return std::string(name == "h100-80gb" ? "H100" : name == "a100-80gb" ? "A100" : "L40S");
}

StatusOr<PerfProfile> BuiltinProfile(std::string_view name) {
  PerfProfile p;
  p.block_size = 16;
  p.max_batch = 256;
  p.max_model_len = 131072;
  if (name == "h100-80gb") {
    p.kv_capacity_tokens = 24800 * 16;  // ~397k tokens (~52 GB at 128 KiB/token)
    p.max_batch = 1024;                 // vLLM V1 default on >= 70 GiB GPUs other than A100
    p.max_batched_tokens = 8192;
    p.alpha_ms = 3.96;  // NIM Llama-3.1-8B H100 concurrency sweep, least-squares fit
    p.beta_ms = 0.0445;
    p.gamma_ms = 2.0;
    p.delta_ms = 0.033;  // ~30k prefill tokens/s (989 TFLOPS BF16 at ~50% MFU, 16 GFLOP/token)
  } else if (name == "a100-80gb") {
    p.kv_capacity_tokens = 24800 * 16;
    p.max_batched_tokens = 2048;
    p.alpha_ms = 10.0;  // 13 ms measured on A100-40GB (1.55 TB/s), scaled to 2.04 TB/s
    p.beta_ms = 0.075;  // H100 slope scaled by the memory-bandwidth ratio 3.35/2.04
    p.gamma_ms = 3.0;
    p.delta_ms = 0.10;  // ~10k prefill tokens/s (312 TFLOPS BF16 at ~50% MFU)
  } else if (name == "l40s-48gb") {
    p.kv_capacity_tokens = 11500 * 16;  // ~184k tokens (~24 GB)
    p.max_batched_tokens = 2048;
    p.alpha_ms = 22.6;  // WVA example profile (L40S alpha 22.619, beta 0.181)
    p.beta_ms = 0.18;
    p.gamma_ms = 5.0;
    p.delta_ms = 0.09;  // ~11k prefill tokens/s (362 TFLOPS dense BF16 at ~50% MFU)
  } else {
    return Err(
        NotFoundError(fmt::format("unknown profile \"{}\" (built-in: h100-80gb, "
                                  "a100-80gb, l40s-48gb)",
                                  name)));
  }
  return p;
}

Replica::Replica(PerfProfile profile, Options options)
    : profile_(std::move(profile)), options_(options), free_blocks_(profile_.num_gpu_blocks()) {}

int64_t Replica::BlocksFor(int64_t tokens) const {
  return (tokens + profile_.block_size - 1) / profile_.block_size;
}

Gauges Replica::gauges() const {
  Gauges g;
  g.kv_cache_usage = profile_.num_gpu_blocks() > 0
                         ? static_cast<double>(profile_.num_gpu_blocks() - free_blocks_) /
                               static_cast<double>(profile_.num_gpu_blocks())
                         : 0.0;
  g.waiting = static_cast<int>(waiting_.size());
  g.running = static_cast<int>(running_.size());
  return g;
}

int64_t Replica::prompt_tokens_in_flight() const {
  int64_t n = 0;
  for (const Seq& s : running_) {
    n += s.req.prompt_tokens;
  }
  for (const Seq& s : waiting_) {
    n += s.req.prompt_tokens;
  }
  return n;
}

bool Replica::HasRoomFor(int prompt_tokens) const {
  if (in_flight() >= profile_.max_batch) {
    return false;
  }
  int64_t promised = 0;
  for (const Seq& s : waiting_) {
    promised += BlocksFor(s.known_tokens()) - s.blocks;
  }
  return free_blocks_ - promised >= BlocksFor(prompt_tokens);
}

void Replica::Submit(const Request& request) {
  AdvanceTo(request.arrival_s);
  const int64_t total = int64_t{request.prompt_tokens} + request.output_tokens;
  if (request.prompt_tokens < 1 || request.output_tokens < 1 || total > profile_.max_model_len ||
      BlocksFor(total) > profile_.num_gpu_blocks()) {
    ++counters_.rejected;
    if (on_complete_) {
      Completion c;
      c.id = request.id;
      c.arrival_s = request.arrival_s;
      c.finish_s = now_;
      c.prompt_tokens = request.prompt_tokens;
      c.output_tokens = request.output_tokens;
      c.rejected = true;
      on_complete_(c);
    }
    return;
  }
  Seq s;
  s.req = request;
  waiting_.push_back(std::move(s));
  if (!busy_) {
    StartStep();
  }
}

void Replica::AdvanceTo(double t) {
  while (busy_ && step_end_ <= t) {
    FinishStep();
  }
  if (t > now_) {
    now_ = t;
  }
}

void Replica::Preempt(Seq& seq) {
  free_blocks_ += seq.blocks;
  seq.blocks = 0;
  seq.computed = 0;
  seq.scheduled = 0;
  ++seq.preemptions;
  ++counters_.preemptions;
}

void Replica::StartStep() {
  busy_ = false;
  if (running_.empty() && waiting_.empty()) {
    return;
  }
  int64_t budget = profile_.max_batched_tokens;
  int64_t decode_seqs = 0;
  int64_t prefill_tokens = 0;
  bool preempted = false;

  // Running requests first, in admission order.
  for (size_t i = 0; i < running_.size(); ++i) {
    Seq& s = running_[i];
    s.scheduled = 0;
    if (budget <= 0) {
      continue;
    }
    const int64_t remaining = s.known_tokens() - s.computed;
    const int64_t n = std::min(remaining, budget);
    const int64_t need = BlocksFor(s.computed + n) - s.blocks;
    bool self_preempted = false;
    while (need > free_blocks_) {
      // Evict the lowest-priority (most recently admitted) running request.
      preempted = true;
      if (running_.size() - 1 > i) {
        Preempt(running_.back());
        waiting_.push_front(std::move(running_.back()));
        running_.pop_back();
      } else {
        Preempt(s);
        waiting_.push_front(std::move(s));
        running_.pop_back();
        self_preempted = true;
        break;
      }
    }
    if (self_preempted) {
      break;
    }
    s.blocks += need;
    free_blocks_ -= need;
    s.scheduled = static_cast<int>(n);
    budget -= n;
    if (s.generated > 0 && remaining == 1) {
      ++decode_seqs;
    } else {
      prefill_tokens += n;
    }
  }

  // Then admit waiting requests in FIFO order while batch, budget and KV allow (vLLM admits
  // nothing new in a step that had to preempt).
  while (!preempted && budget > 0 && !waiting_.empty() &&
         static_cast<int>(running_.size()) < profile_.max_batch) {
    Seq& s = waiting_.front();
    const int64_t remaining = s.known_tokens() - s.computed;
    const int64_t n = std::min(remaining, budget);
    const int64_t need = BlocksFor(s.computed + n) - s.blocks;
    if (need > free_blocks_) {
      break;
    }
    s.blocks += need;
    free_blocks_ -= need;
    s.scheduled = static_cast<int>(n);
    if (s.first_scheduled_s < 0) {
      s.first_scheduled_s = now_;
    }
    budget -= n;
    prefill_tokens += n;
    running_.push_back(std::move(s));
    waiting_.pop_front();
  }

  if (decode_seqs == 0 && prefill_tokens == 0) {
    return;  // nothing fits (cannot happen normally)
  }
  double ms = profile_.alpha_ms + profile_.beta_ms * static_cast<double>(decode_seqs);
  if (prefill_tokens > 0) {
    ms += profile_.gamma_ms + profile_.delta_ms * static_cast<double>(prefill_tokens);
  }
  busy_ = true;
  step_end_ = now_ + ms / 1000.0;
}

void Replica::FinishStep() {
  const double t = step_end_;
  counters_.busy_s += t - now_;
  now_ = t;
  ++counters_.steps;
  busy_ = false;

  size_t keep = 0;
  std::vector<Completion> done;
  for (size_t i = 0; i < running_.size(); ++i) {
    Seq& s = running_[i];
    bool finished = false;
    if (s.scheduled > 0) {
      s.computed += s.scheduled;
      s.scheduled = 0;
      if (s.computed == s.known_tokens()) {
        ++s.generated;
        ++counters_.generation_tokens;
        if (s.generated == 1) {
          s.first_token_s = t;
        } else if (options_.record_itl) {
          s.itl_s.push_back(t - s.last_token_s);
        }
        s.last_token_s = t;
        if (s.generated >= s.req.output_tokens) {
          finished = true;
        }
      }
    }
    if (finished) {
      free_blocks_ += s.blocks;
      ++counters_.finished;
      counters_.prompt_tokens += s.req.prompt_tokens;
      if (on_complete_) {
        Completion c;
        c.id = s.req.id;
        c.arrival_s = s.req.arrival_s;
        c.first_token_s = s.first_token_s;
        c.first_scheduled_s = s.first_scheduled_s;
        c.finish_s = t;
        c.prompt_tokens = s.req.prompt_tokens;
        c.output_tokens = s.req.output_tokens;
        c.preemptions = s.preemptions;
        c.itl_s = std::move(s.itl_s);
        done.push_back(std::move(c));
      }
      continue;
    }
    if (keep != i) {
      running_[keep] = std::move(s);
    }
    ++keep;
  }
  running_.resize(keep);
  for (const Completion& c : done) {
    on_complete_(c);
  }
  StartStep();
}

}  // namespace wva::sim
