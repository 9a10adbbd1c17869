// The vLLM emulator: a set of emulated vLLM pods, each exporting vLLM's metric names and types
// with labels model_name, namespace, pod, so that a real Prometheus can scrape them.
//
// A pod is either FIXED (its kv/waiting/running gauges are set through the control API; for
// deterministic tests) or LOAD-driven (its state comes from a LoadModel fed by a workload). The
// pod set can change at any time through the control API (a later issue drives it from
// Kubernetes). Thread-safe: the HTTP server calls in from several threads.
//
// Control API (JSON; HandleControl is transport-free so it is unit-tested without sockets):
//   GET    /control/pods                      ->
//   {"pods":[{namespace,model,variant,pod,mode,kv,...}]} POST   /control/pods {namespace, model,
//   pod, variant?, mode?: fixed|load,
//                                              kv?, waiting?, running?, profile?: {...}} -> 201
//   PUT    /control/pods/<namespace>/<pod>    {kv?, waiting?, running?} (switches to fixed) or
//                                             {"mode":"load"}
//   DELETE /control/pods/<namespace>/<pod>
//   PUT    /control/load                      {namespace, model, rate} (requests/s, load mode)
// Gauge values are numbers, or the strings "NaN", "+Inf", "-Inf" (to inject bad data).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/mutex.h"
#include "base/status.h"
#include "emulator/load_model.h"

namespace wva::emulator {

enum class PodMode { kFixed, kLoad };

struct PodSpec {
  std::string ns;
  std::string model;
  std::string variant;
  std::string pod;
  PodMode mode = PodMode::kFixed;
  PodGauges fixed;  // initial values in fixed mode
  core::PerfProfile profile = DefaultReplicaProfile();
};

struct ControlResponse {
  int status = 200;
  std::string body;  // JSON
};

class Emulator {
 public:
  // `model` may be null: then only fixed-mode pods can be added.
  Emulator(const Clock& clock, std::unique_ptr<LoadModel> model);
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  Status AddPod(const PodSpec& spec);
  Status RemovePod(std::string_view ns, std::string_view pod);
  // Sets any of the gauges and switches the pod to fixed mode.
  Status SetFixed(std::string_view ns, std::string_view pod, std::optional<double> kv,
                  std::optional<double> waiting, std::optional<double> running);
  Status SetLoadMode(std::string_view ns, std::string_view pod);
  Status SetArrivalRate(std::string_view ns, std::string_view model, double requests_per_second);

  // Advances load-driven pods to the clock's now and refreshes every metric.
  void Tick();
  // Tick() + the Prometheus text exposition of every pod.
  std::string RenderMetrics() EXCLUDES(mu_);
  // Serve only these metric families (empty = every family). A benchmark of tens of thousands
  // of pods serves just what the controller's queries read: a full scrape of 80,000 pods would
  // be ~9 million samples.
  void set_served_families(std::set<std::string> names) EXCLUDES(mu_);
  nlohmann::json ListPods() const;
  size_t pod_count() const;

  ControlResponse HandleControl(std::string_view method, std::string_view path,
                                std::string_view body);

  // Ids the emulator uses with its LoadModel: traffic group "<ns>/<model>", replica "<ns>/<pod>".
  static std::string GroupId(std::string_view ns, std::string_view model);
  static std::string ModelId(std::string_view ns, std::string_view pod);

 private:
  struct PodMetrics;
  struct Pod {
    PodSpec spec;
    std::unique_ptr<PodMetrics> metrics;
    long long preemptions_seen = 0;
  };
  using Key = std::pair<std::string, std::string>;  // (namespace, pod)

  void TickLocked() REQUIRES(mu_);
  void RemoveMetricsLocked(Pod& p) REQUIRES(mu_);
  Status AddPodLocked(const PodSpec& spec) REQUIRES(mu_);
  // HandleControl without the exception guard. Takes the lock itself where it needs it (and
  // calls public methods that do), so it must be called without it.
  ControlResponse DispatchControl(std::string_view method, std::string_view path,
                                  std::string_view body) EXCLUDES(mu_);

  const Clock& clock_;
  mutable Mutex mu_;
  std::unique_ptr<LoadModel> model_ GUARDED_BY(mu_);
  std::map<Key, Pod> pods_ GUARDED_BY(mu_);
  std::set<std::string> served_families_ GUARDED_BY(mu_);
  std::map<std::string, Key> by_model_id_;  // model pod id -> key
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge>& kv_;
  prometheus::Family<prometheus::Gauge>& waiting_;
  prometheus::Family<prometheus::Gauge>& running_;
  prometheus::Family<prometheus::Gauge>& cache_config_;
  prometheus::Family<prometheus::Counter>& success_;
  prometheus::Family<prometheus::Counter>& preemptions_;
  prometheus::Family<prometheus::Counter>& prompt_tokens_total_;
  prometheus::Family<prometheus::Counter>& generation_tokens_total_;
  prometheus::Family<prometheus::Histogram>& prompt_tokens_;
  prometheus::Family<prometheus::Histogram>& generation_tokens_;
  prometheus::Family<prometheus::Histogram>& ttft_;
  prometheus::Family<prometheus::Histogram>& itl_;
  prometheus::Family<prometheus::Histogram>& queue_time_;
};

// vLLM's bucket boundaries (vllm/v1/metrics/loggers.py).
const std::vector<double>& TtftBuckets();
const std::vector<double>& ItlBuckets();
// request_latency_buckets: e2e latency and the per-phase times (queue, prefill, decode).
const std::vector<double>& RequestLatencyBuckets();
std::vector<double> TokenBuckets(int max_model_len);  // 1-2-5 series up to max_model_len

}  // namespace wva::emulator
