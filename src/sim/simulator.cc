// The fleet simulation loop (see simulator.h).
#include "sim/simulator.h"

#include "core/placement.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <limits>
#include <memory>
#include <random>

#include <fmt/format.h>

#include "core/slo_policy.h"
#include "sim/hpa.h"
#include "sim/stats.h"

namespace wva::sim {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Sample {
  double t, kv, waiting, running, prompt_tokens;
};

// A request one variant finished, kept for the variant's latency percentiles over the window.
struct Finished {
  double t, ttft_ms, tpot_ms;
};

// The q-quantile (nearest rank) of `v`, or -1 when empty. Reorders `v`.
double NearestRank(std::vector<double>& v, double q) {
  if (v.empty()) {
    return -1;
  }
  size_t k = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  k = std::clamp<size_t>(k, 1, v.size()) - 1;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

struct Pod {
  enum class State { kStarting, kReady, kDraining };
  int variant = 0;
  std::string name;
  State state = State::kStarting;
  double ready_at = 0;
  // Pending: no node can take it (a stock-out window of its variant, sim/placement.h).
  bool unschedulable = false;
  double pending_since = 0;
  std::unique_ptr<Replica> engine;
  std::deque<Sample> samples;  // scrapes inside the window
};

struct TrafficBucket {
  double t;
  int64_t count;
  double prompt, output;
  int64_t finished = 0, good = 0;       // completions in the bucket and those within the SLO
  int64_t ttft_good = 0, itl_good = 0;  // ... within the TTFT target, within the ITL target
};

class Sim {
 public:
  Sim(const FleetConfig& fleet, Workload& workload, Policy& policy, const RunOptions& options)
      : fleet_(fleet),
        workload_(workload),
        policy_(policy),
        options_(options),
        rng_(options.seed),
        actuator_(policy.Actuation(fleet)) {
    const size_t nv = fleet_.variants.size();
    finished_.resize(nv);
    ttft_p90_.assign(nv, -1);
    tpot_p90_.assign(nv, -1);
    const HpaConfig behavior = policy.HpaBehavior(fleet);
    signals_.assign(nv, Signal{});
    published_.assign(nv, 0);
    serial_.assign(nv, 0);
    replica_seconds_.assign(nv, 0);
    max_count_.assign(nv, 0);
    max_starting_.assign(nv, 0);
    for (const VariantConfig& v : fleet_.variants) {
      hpa_.emplace_back(behavior, v.min_replicas, v.max_replicas);
    }
  }

  StatusOr<Result> Run() {
    const auto wall_start = std::chrono::steady_clock::now();
    const size_t nv = fleet_.variants.size();
    std::vector<int> initial(nv);
    for (size_t v = 0; v < nv; ++v) {
      initial[v] = fleet_.variants[v].initial_replicas;
    }
    if (auto o = policy_.InitialReplicas(fleet_)) {
      initial = *o;
    }
    for (size_t v = 0; v < nv; ++v) {
      for (int i = 0; i < initial[v]; ++i) {
        AddPod(static_cast<int>(v), 0.0, /*ready=*/true);
      }
    }
    UpdateMaxima();

    const double period = policy_.PeriodSeconds(fleet_);
    double next_scrape = fleet_.scrape_s;
    double next_policy = std::isfinite(period) && period > 0 ? period : kInf;
    const double sync_s = policy_.HpaBehavior(fleet_).sync_s;
    double next_sync = actuator_ == ActuatorKind::kHpa ? sync_s : kInf;

    Arrival arrival;
    WVA_ASSIGN_OR_RETURN(bool have, workload_.Next(&arrival));
    double last_arrival = 0;
    int64_t events = 0;

    while (true) {
      double next_ready = kInf;
      for (const auto& p : pods_) {
        if (p->state == Pod::State::kStarting) {
          next_ready = std::min(next_ready, p->ready_at);
        }
      }
      // With flow control, held requests are dispatched as soon as an engine step ends (a
      // replica may have freed room).
      double next_dispatch = kInf;
      if (fleet_.router == RouterKind::kFlowControl && !gateway_.empty()) {
        for (const auto& p : pods_) {
          if (p->state == Pod::State::kReady) {
            next_dispatch = std::min(next_dispatch, p->engine->NextEventTime());
          }
        }
      }
      const double next_boundary = fleet_.placement.NextBoundary(now_);
      double t = std::min({have ? arrival.time_s : kInf, next_scrape, next_policy, next_sync,
                           next_ready, next_dispatch, next_boundary});
      if (!have && t > last_arrival + options_.drain_limit_s) {
        t = last_arrival + options_.drain_limit_s;
      }
      AdvanceAll(t);
      if (!have && AllIdle()) {
        // Done: end at the last completion (or arrival); undo cost accrued past it.
        const double end = std::max(last_completion_, last_arrival);
        Accrue(end - now_);  // negative: takes back the overshoot at the current rate
        now_ = end;
        break;
      }
      if (!have && t >= last_arrival + options_.drain_limit_s) {
        break;
      }

      if (now_ >= next_boundary) {
        Schedule();  // a stock-out window began or ended
      }
      for (auto& p : pods_) {
        if (p->state == Pod::State::kStarting && p->ready_at <= now_) {
          p->state = Pod::State::kReady;
          p->engine->AdvanceTo(now_);
          UpdateMaxima();
        }
      }
      FlushGateway();
      while (have && arrival.time_s <= now_) {
        Route(Request{next_id_++, arrival.time_s, arrival.prompt_tokens, arrival.output_tokens});
        ++requests_;
        bucket_count_++;
        bucket_prompt_ += arrival.prompt_tokens;
        bucket_output_ += arrival.output_tokens;
        last_arrival = arrival.time_s;
        WVA_ASSIGN_OR_RETURN(have, workload_.Next(&arrival));
      }
      if (now_ >= next_scrape) {
        Scrape();
        next_scrape += fleet_.scrape_s;
        if (options_.progress && (++events % 4 == 0)) {
          options_.progress(now_, requests_, workload_.Progress());
        }
      }
      if (now_ >= next_policy) {
        RunPolicy();
        next_policy += period;
      }
      if (now_ >= next_sync) {
        for (size_t v = 0; v < nv; ++v) {
          const int cur = Count(static_cast<int>(v));
          Actuate(static_cast<int>(v), hpa_[v].Sync(now_, signals_[v], cur), "hpa");
        }
        next_sync += sync_s;
      }
    }
    // Requests still held when the run was cut off.
    int64_t held = static_cast<int64_t>(gateway_.size());
    for (const auto& p : pods_) {
      held += p->engine->in_flight();
    }

    Result r;
    r.policy = policy_.Name();
    r.workload = workload_.Describe();
    r.requests = requests_;
    r.completed = completed_;
    r.rejected = rejected_;
    r.unfinished = held;
    r.preempted = preempted_;
    r.preemptions = preemptions_;
    r.slo_ttft_ms = fleet_.slo.ttft_ms;
    r.slo_itl_ms = fleet_.slo.itl_ms;
    r.slo_percentile = fleet_.slo.percentile;
    r.attainment =
        requests_ > 0 ? static_cast<double>(good_) / static_cast<double>(requests_) : 1.0;
    r.ttft_p50 = ttft_.Quantile(0.50);
    r.ttft_p90 = ttft_.Quantile(0.90);
    r.ttft_p99 = ttft_.Quantile(0.99);
    r.itl_p50 = itl_.Quantile(0.50);
    r.itl_p90 = itl_.Quantile(0.90);
    r.itl_p99 = itl_.Quantile(0.99);
    r.cost_usd = cost_usd_;
    r.sim_seconds = now_;
    r.scaling_actions = scaling_actions_;
    for (size_t v = 0; v < nv; ++v) {
      VariantResult vr;
      vr.name = fleet_.variants[v].name;
      vr.replica_hours = replica_seconds_[v] / 3600.0;
      vr.avg_replicas = now_ > 0 ? replica_seconds_[v] / now_ : 0;
      vr.max_replicas = max_count_[v];
      vr.max_starting = max_starting_[v];
      r.replica_hours += vr.replica_hours;
      r.variants.push_back(vr);
      r.variant_names.push_back(vr.name);
    }
    r.rows = std::move(rows_);
    r.decisions = std::move(decisions_);
    r.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    return r;
  }

 private:
  int Count(int v) const {  // Deployment spec.replicas
    int n = 0;
    for (const auto& p : pods_) {
      if (p->variant == v && p->state != Pod::State::kDraining) {
        ++n;
      }
    }
    return n;
  }

  bool AllIdle() const {
    if (!gateway_.empty()) {
      return false;
    }
    for (const auto& p : pods_) {
      if (!p->engine->idle()) {
        return false;
      }
    }
    return true;
  }

  // Replicas of `v` on a node (running or starting), for the stock-out windows.
  int Scheduled(int v) const {
    int n = 0;
    for (const auto& p : pods_) {
      n += p->variant == v && p->state != Pod::State::kDraining && !p->unschedulable;
    }
    return n;
  }

  // Gives Pending pods a node where their variant's stock-out window leaves room, oldest first.
  void Schedule() {
    for (size_t v = 0; v < fleet_.variants.size(); ++v) {
      const VariantConfig& vc = fleet_.variants[v];
      const int limit = fleet_.placement.Schedulable(vc.name, now_);
      int scheduled = Scheduled(static_cast<int>(v));
      for (auto& p : pods_) {
        if (p->variant != static_cast<int>(v) || !p->unschedulable) {
          continue;
        }
        if (limit >= 0 && scheduled >= limit) {
          break;
        }
        p->unschedulable = false;
        ++scheduled;
        std::uniform_real_distribution<double> u(vc.startup_min_s, vc.startup_max_s);
        p->ready_at = now_ + (vc.startup_max_s > vc.startup_min_s ? u(rng_) : vc.startup_min_s);
      }
    }
  }

  void AddPod(int v, double t, bool ready) {
    auto p = std::make_unique<Pod>();
    const VariantConfig& vc = fleet_.variants[v];
    p->variant = v;
    p->name = fmt::format("{}-{}", vc.name, serial_[v]++);
    p->engine = std::make_unique<Replica>(vc.profile);
    p->engine->SetCompletionCallback([this, v](const Completion& c) { OnComplete(v, c); });
    const int limit = fleet_.placement.Schedulable(vc.name, t);
    if (limit >= 0 && Scheduled(v) >= limit) {
      p->unschedulable = true;
      p->pending_since = t;
      p->ready_at = kInf;
    } else if (ready) {
      p->state = Pod::State::kReady;
      p->ready_at = t;
    } else {
      std::uniform_real_distribution<double> u(vc.startup_min_s, vc.startup_max_s);
      p->ready_at = t + (vc.startup_max_s > vc.startup_min_s ? u(rng_) : vc.startup_min_s);
    }
    pods_.push_back(std::move(p));
  }

  // A replica change made by the actuator. Policies that do not explain their own decisions
  // (an HPA on a metric) get a decisions.csv entry per change, with the metric detail.
  void Actuate(int v, int n, const char* by) {
    const int cur = Count(v);
    if (n == cur) {
      return;
    }
    if (!policy_.ExplainsDecisions()) {
      std::string why = fmt::format("{} {} {}->{} ({})", fleet_.variants[v].name,
                                    n > cur ? "scale-up" : "scale-down", cur, n, by);
      if (const std::string detail = policy_.MetricDetail(v); !detail.empty()) {
        why += ": " + detail;
      }
      if (!decisions_.empty() && decisions_.back().t_s == now_) {
        decisions_.back().reason += "; " + why;
      } else {
        decisions_.push_back({now_, std::move(why)});
      }
    }
    ScaleTo(v, n);
  }

  void ScaleTo(int v, int n) {
    int cur = Count(v);
    if (n == cur) {
      return;
    }
    ++scaling_actions_;
    if (n > cur) {
      for (int i = cur; i < n; ++i) {
        AddPod(v, now_, fleet_.variants[v].startup_max_s <= 0);
      }
    } else {
      // Like a ReplicaSet: delete unscheduled pods first, then not-ready ones, then the newest
      // ready ones.
      for (int pass = 0; pass < 3 && cur > n; ++pass) {
        const Pod::State victim = pass < 2 ? Pod::State::kStarting : Pod::State::kReady;
        for (size_t i = pods_.size(); i-- > 0 && cur > n;) {
          Pod& p = *pods_[i];
          if (p.variant != v || p.state != victim || (pass == 0 && !p.unschedulable)) {
            continue;
          }
          --cur;
          if (victim == Pod::State::kStarting || p.engine->idle()) {
            pods_.erase(pods_.begin() + static_cast<std::ptrdiff_t>(i));
          } else {
            p.state = Pod::State::kDraining;  // gets no new requests; finishes what it holds
            p.samples.clear();
          }
        }
      }
      Schedule();  // a freed node may take a Pending pod
    }
    UpdateMaxima();
  }

  void UpdateMaxima() {
    for (size_t v = 0; v < fleet_.variants.size(); ++v) {
      int count = 0, starting = 0;
      for (const auto& p : pods_) {
        if (p->variant != static_cast<int>(v)) {
          continue;
        }
        if (p->state != Pod::State::kDraining) {
          ++count;
        }
        if (p->state == Pod::State::kStarting) {
          ++starting;
        }
      }
      max_count_[v] = std::max(max_count_[v], count);
      max_starting_[v] = std::max(max_starting_[v], starting);
    }
  }

  void Accrue(double dt) {
    if (dt == 0) {
      return;
    }
    for (const auto& p : pods_) {
      if (p->unschedulable) {
        continue;  // no node, no cost
      }
      replica_seconds_[p->variant] += dt;
      cost_usd_ += fleet_.variants[p->variant].cost * dt / 3600.0;
    }
  }

  void AdvanceAll(double t) {
    if (t < now_) {
      t = now_;
    }
    for (auto& p : pods_) {
      if (p->state != Pod::State::kStarting) {
        p->engine->AdvanceTo(t);
      }
    }
    Accrue(t - now_);
    now_ = t;
    // Drained pods go away.
    std::erase_if(pods_, [](const std::unique_ptr<Pod>& p) {
      return p->state == Pod::State::kDraining && p->engine->idle();
    });
  }

  void OnComplete(int v, const Completion& c) {
    if (c.rejected) {
      ++rejected_;
      return;
    }
    finished_[v].push_back({c.finish_s, c.ttft_s() * 1000.0, c.mean_itl_s() * 1000.0});
    ++completed_;
    ++interval_completed_;
    last_completion_ = std::max(last_completion_, c.finish_s);
    const double ttft_ms = c.ttft_s() * 1000.0;
    const double itl_ms = c.mean_itl_s() * 1000.0;
    ttft_.Add(ttft_ms);
    interval_ttft_.Add(ttft_ms);
    if (c.output_tokens > 1) {
      itl_.Add(itl_ms);
    }
    if (c.preemptions > 0) {
      ++preempted_;
    }
    preemptions_ += c.preemptions;
    ++bucket_finished_;
    const bool ttft_ok = ttft_ms <= fleet_.slo.ttft_ms;
    const bool itl_ok = c.output_tokens <= 1 || itl_ms <= fleet_.slo.itl_ms;
    bucket_ttft_good_ += ttft_ok;
    bucket_itl_good_ += itl_ok;
    if (ttft_ok && itl_ok) {
      ++good_;
      ++bucket_good_;
    }
  }

  // Dispatches `r` to a replica, or returns false when it must wait at the gateway.
  bool Dispatch(const Request& r) {
    Pod* best = nullptr;
    std::vector<Pod*> ready;
    for (auto& p : pods_) {
      if (p->state == Pod::State::kReady) {
        ready.push_back(p.get());
      }
    }
    if (ready.empty()) {
      return false;
    }
    if (fleet_.router == RouterKind::kFlowControl) {
      for (Pod* p : ready) {
        if (p->engine->HasRoomFor(r.prompt_tokens) &&
            (!best || p->engine->in_flight() < best->engine->in_flight())) {
          best = p;
        }
      }
      if (!best) {
        return false;
      }
    } else if (fleet_.router == RouterKind::kRoundRobin) {
      best = ready[rr_++ % ready.size()];
    } else {
      for (Pod* p : ready) {
        if (!best || p->engine->in_flight() < best->engine->in_flight()) {
          best = p;
        }
      }
    }
    best->engine->Submit(r);
    return true;
  }

  // New arrivals queue behind requests already held at the gateway (FIFO).
  void Route(const Request& r) {
    if (!gateway_.empty() || !Dispatch(r)) {
      gateway_.push_back(r);
    }
  }

  void FlushGateway() {
    while (!gateway_.empty() && Dispatch(gateway_.front())) {
      gateway_.pop_front();
    }
  }

  void Scrape() {
    const size_t nv = fleet_.variants.size();
    Row row;
    row.t_s = now_;
    row.ready.assign(nv, 0);
    row.starting.assign(nv, 0);
    row.desired = published_;
    int serving = 0;
    for (auto& p : pods_) {
      if (p->state == Pod::State::kStarting) {
        ++row.starting[p->variant];
        continue;
      }
      const Gauges g = p->engine->gauges();
      row.waiting += g.waiting;
      row.running += g.running;
      if (p->state != Pod::State::kReady) {
        continue;
      }
      ++row.ready[p->variant];
      ++serving;
      row.kv_avg += g.kv_cache_usage;
      row.kv_max = std::max(row.kv_max, g.kv_cache_usage);
      p->samples.push_back({now_, g.kv_cache_usage, static_cast<double>(g.waiting),
                            static_cast<double>(g.running),
                            static_cast<double>(p->engine->prompt_tokens_in_flight())});
      while (!p->samples.empty() && p->samples.front().t <= now_ - fleet_.window_s + 1e-9) {
        p->samples.pop_front();
      }
    }
    if (serving > 0) {
      row.kv_avg /= serving;
    }
    gateway_prompt_tokens_ = 0;
    for (const Request& q : gateway_) {
      gateway_prompt_tokens_ += q.prompt_tokens;
    }
    for (size_t v = 0; v < nv; ++v) {
      auto& f = finished_[v];
      while (!f.empty() && f.front().t <= now_ - fleet_.window_s + 1e-9) {
        f.pop_front();
      }
      std::vector<double> ttft, tpot;
      for (const Finished& x : f) {
        ttft.push_back(x.ttft_ms);
        tpot.push_back(x.tpot_ms);
      }
      ttft_p90_[v] = NearestRank(ttft, 0.90);
      tpot_p90_[v] = NearestRank(tpot, 0.90);
    }
    row.waiting += static_cast<int64_t>(gateway_.size());
    row.arrival_rps = bucket_count_ / fleet_.scrape_s;
    row.completed = interval_completed_;
    row.within_slo = bucket_good_;
    row.ttft_p99_ms = interval_ttft_.count() > 0 ? interval_ttft_.Quantile(0.99) : -1;
    row.cost_usd = cost_usd_;
    rows_.push_back(std::move(row));
    interval_completed_ = 0;
    interval_ttft_ = LogHistogram();

    traffic_.push_back({now_, bucket_count_, bucket_prompt_, bucket_output_, bucket_finished_,
                        bucket_good_, bucket_ttft_good_, bucket_itl_good_});
    bucket_finished_ = bucket_good_ = bucket_ttft_good_ = bucket_itl_good_ = 0;
    while (!traffic_.empty() && traffic_.front().t <= now_ - fleet_.window_s + 1e-9) {
      traffic_.pop_front();
    }
    bucket_count_ = 0;
    bucket_prompt_ = bucket_output_ = 0;
  }

  ControllerView BuildView() const {
    const size_t nv = fleet_.variants.size();
    ControllerView view;
    view.now_s = now_;
    view.fleet = &fleet_;
    view.variants.assign(nv, VariantView{});
    for (const auto& p : pods_) {
      if (p->state == Pod::State::kDraining) {
        continue;
      }
      VariantView& vv = view.variants[p->variant];
      ++vv.current;
      if (p->state == Pod::State::kStarting) {
        ++vv.starting;
        continue;
      }
      ReplicaView rv;
      rv.variant = p->variant;
      rv.pod = p->name;
      rv.has_metrics = !p->samples.empty();
      for (const Sample& s : p->samples) {
        rv.kv_max = std::max(rv.kv_max, s.kv);
        rv.queue_max = std::max(rv.queue_max, s.waiting);
      }
      if (rv.has_metrics) {
        ++vv.ready;
        vv.inflight_prompt_tokens += p->samples.back().prompt_tokens;
        rv.kv_last = p->samples.back().kv;
        rv.queue_last = p->samples.back().waiting;
        rv.running_last = p->samples.back().running;
      }
      view.replicas.push_back(std::move(rv));
    }
    for (size_t v = 0; v < nv; ++v) {
      view.variants[v].desired = published_[v];
      view.variants[v].ttft_p90_ms = ttft_p90_[v];
      view.variants[v].tpot_p90_ms = tpot_p90_[v];
    }
    view.gateway_prompt_tokens = gateway_prompt_tokens_;
    int64_t count = 0;
    double prompt = 0, output = 0;
    for (const TrafficBucket& b : traffic_) {
      count += b.count;
      prompt += b.prompt;
      output += b.output;
      view.window_finished += b.finished;
      view.window_good += b.good;
      view.window_ttft_good += b.ttft_good;
      view.window_itl_good += b.itl_good;
    }
    view.arrival_rate_rps = count / fleet_.window_s;
    view.mean_prompt_tokens = count > 0 ? prompt / count : 0;
    view.mean_output_tokens = count > 0 ? output / count : 0;

    std::vector<core::VariantState> variants;
    for (size_t v = 0; v < nv; ++v) {
      const VariantConfig& vc = fleet_.variants[v];
      core::VariantState s;
      s.name = vc.name;
      s.accelerator = vc.accelerator;
      s.cost = vc.cost;
      s.current_replicas = view.variants[v].current;
      s.desired_replicas = view.variants[v].desired;
      s.min_replicas = vc.min_replicas;
      s.max_replicas = vc.max_replicas;
      variants.push_back(std::move(s));
    }
    std::vector<core::ReplicaSample> samples;
    for (const ReplicaView& rv : view.replicas) {
      if (!rv.has_metrics) {
        continue;
      }
      samples.push_back(core::ReplicaSample::Of(rv.variant, rv.kv_max, rv.queue_max, rv.pod));
    }
    view.input = core::AssembleModelInput(fleet_.model_id, fleet_.namespace_, fleet_.saturation,
                                          std::move(variants), std::move(samples));
    return view;
  }

  void RunPolicy() {
    const ControllerView view = BuildView();
    std::vector<Signal> out(fleet_.variants.size(), Signal{});
    policy_.Run(view, &out);
    if (policy_.ExplainsDecisions()) {
      std::string why = policy_.LastReason();
      if (fleet_.placement.active()) {
        const std::string placed = ApplyPlacement(view, &out);
        why += (why.empty() || placed.empty() ? "" : "; ") + placed;
      }
      if (!why.empty()) {
        decisions_.push_back({now_, std::move(why)});
      }
    }
    for (size_t v = 0; v < out.size(); ++v) {
      signals_[v] = out[v];
      if (out[v].kind == Signal::Kind::kReplicas) {
        published_[v] = static_cast<int>(std::lround(out[v].value));
      }
      if (actuator_ == ActuatorKind::kDirect) {
        const VariantConfig& vc = fleet_.variants[v];
        const int cur = Count(static_cast<int>(v));
        Actuate(static_cast<int>(v), DirectTarget(out[v], cur, vc.min_replicas, vc.max_replicas),
                "direct");
      }
    }
  }

  // The controller's placement rules (PlacementStep) on what a `wva` policy decided: replicas
  // Pending past the threshold make a variant stocked out (core::StockOutTracker), then
  // core::ApplyStockOut and core::ApplyGpuBudget rewrite the targets. Returns what changed.
  std::string ApplyPlacement(const ControllerView& view, std::vector<Signal>* out) {
    const FleetPlacement& fp = fleet_.placement;
    const core::ModelInput& in = view.input;
    const size_t nv = fleet_.variants.size();
    if (in.variants.size() != nv) {
      return "";
    }
    core::ModelDecision d;
    std::vector<core::VariantPlacement> placement(nv);
    std::vector<int> gpus(nv, 1);
    for (size_t v = 0; v < nv; ++v) {
      core::VariantDecision x;
      x.variant = in.variants[v].name;
      x.current_replicas = in.variants[v].current_replicas;
      x.target_replicas = (*out)[v].kind == Signal::Kind::kReplicas
                              ? static_cast<int>(std::lround((*out)[v].value))
                              : x.current_replicas;
      d.decisions.push_back(x);
      int unschedulable = 0;
      for (const auto& p : pods_) {
        unschedulable += p->variant == static_cast<int>(v) && p->unschedulable &&
                         now_ - p->pending_since >= fp.threshold_s;
      }
      placement[v] = stock_outs_.Observe(in.variants[v].name, unschedulable, now_);
      gpus[v] = fp.GpusPerReplica(in.variants[v].name);
    }
    const std::vector<int> before = [&] {
      std::vector<int> t;
      for (const auto& x : d.decisions) {
        t.push_back(x.target_replicas);
      }
      return t;
    }();
    core::ApplyStockOut(in, placement, &d);
    if (fp.has_budget) {
      std::vector<core::BudgetedModel> models = {{&in, &d, gpus, 1.0}};
      core::ApplyGpuBudget(fp.budget, models);
    }
    std::string why;
    for (size_t v = 0; v < nv; ++v) {
      const core::VariantDecision& x = d.decisions[v];
      if (x.target_replicas == before[v] && x.reason.empty()) {
        continue;
      }
      (*out)[v] = Signal{Signal::Kind::kReplicas, static_cast<double>(x.target_replicas), 1.0, 0};
      why += fmt::format("{}{} placement {}->{} ({}){}", why.empty() ? "" : "; ", x.variant,
                         before[v], x.target_replicas, core::DriverName(x.driver), x.reason);
    }
    return why;
  }

  const FleetConfig& fleet_;
  Workload& workload_;
  Policy& policy_;
  RunOptions options_;
  std::mt19937_64 rng_;
  ActuatorKind actuator_;
  double now_ = 0;
  std::vector<std::deque<Finished>> finished_;  // per variant, the last window
  std::vector<double> ttft_p90_, tpot_p90_;     // per variant, latest scrape (-1 = none)
  double gateway_prompt_tokens_ = 0;
  std::vector<std::unique_ptr<Pod>> pods_;
  std::deque<Request> gateway_;
  std::vector<HpaModel> hpa_;
  core::StockOutTracker stock_outs_{fleet_.placement.backoff_s};
  std::vector<Signal> signals_;
  std::vector<int> published_;
  std::vector<int> serial_;
  std::vector<double> replica_seconds_;
  std::vector<int> max_count_, max_starting_;
  uint64_t next_id_ = 0;
  size_t rr_ = 0;
  int64_t requests_ = 0, completed_ = 0, rejected_ = 0, preempted_ = 0, preemptions_ = 0, good_ = 0,
          scaling_actions_ = 0;
  double cost_usd_ = 0;
  double last_completion_ = 0;
  LogHistogram ttft_, itl_, interval_ttft_;
  int64_t interval_completed_ = 0;
  int64_t bucket_count_ = 0, bucket_finished_ = 0, bucket_good_ = 0;
  int64_t bucket_ttft_good_ = 0, bucket_itl_good_ = 0;
  double bucket_prompt_ = 0, bucket_output_ = 0;
  std::deque<TrafficBucket> traffic_;
  std::vector<Row> rows_;
  std::vector<Result::Decision> decisions_;
};

}  // namespace

StatusOr<Result> Simulate(const FleetConfig& fleet, Workload& workload, Policy& policy,
                          const RunOptions& options) {
  WVA_RETURN_IF_ERROR(ValidateFleet(fleet));
  Sim sim(fleet, workload, policy, options);
  return sim.Run();
}

}  // namespace wva::sim
