// The reconciler: one optimization cycle over every VariantAutoscaling this controller manages.
// collect (informer caches + one batched Prometheus query per metric) -> decide (PlanCycle, the
// pure engine) -> publish (VA status by merge-patch only when changed, wva_* metrics, Events).
//
// I/O goes through small ports (ClusterReader, StatusWriter, prom::Querier) so tests can drive a
// full cycle with fakes, and the manager plugs in the Kubernetes client and informers.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/log.h"
#include "base/status.h"
#include "controller/calibrators.h"
#include "controller/config_cache.h"
#include "controller/direct_actuation.h"
#include "controller/placement_step.h"
#include "controller/planner.h"
#include "controller/policy_state.h"
#include "controller/scale_to_zero.h"
#include "prom/metrics.h"
#include "prom/querier.h"

namespace wva::controller {

// Read side: snapshots from the informer caches. Pods and ReplicaSets are the cached items
// themselves (typed, immutable, shared): a cycle over tens of thousands of pods copies none.
class ClusterReader {
 public:
  virtual ~ClusterReader() = default;
  // The VAs as cached, each parsed once when it arrived, ordered by namespace/name.
  virtual std::vector<VaPtr> VariantAutoscalings() = 0;
  // The cached Deployment, parsed when it arrived (null = none).
  virtual DeploymentPtr Deployment(const std::string& ns, const std::string& name) = 0;
  virtual std::vector<PodPtr> Pods(const std::string& ns) = 0;
  virtual std::vector<ReplicaSetPtr> ReplicaSets(const std::string& ns) = 0;
};

// Write side: VA status (merge-patch on /status) and Events. Both may be called from several
// threads at once (set_status_write_concurrency).
class StatusWriter {
 public:
  virtual ~StatusWriter() = default;
  [[nodiscard]] virtual Status PatchStatus(const std::string& ns, const std::string& name,
                                           const nlohmann::json& status) = 0;
  // type: "Normal" | "Warning".
  virtual void Event(const nlohmann::json& va, const std::string& type, const std::string& reason,
                     const std::string& message) = 0;
};

struct CycleStats {
  int vas = 0;
  int models = 0;
  int status_writes = 0;
  int status_errors = 0;
  int scaling_decisions = 0;
  int prometheus_queries = 0;
  int calibration_queries = 0;   // included in prometheus_queries
  int calibration_failures = 0;  // failed calibration queries this cycle (the cycle goes on)
  CalibrationFeed calibration;   // samples fed this cycle
  // The profiles the SLO sizing used this cycle (fitted or configured), per calibration key.
  std::map<CalibrationKey, ProfileUse> profiles;
  bool metrics_ok = true;
  int models_incomplete = 0;       // models with a silent or unusable Ready pod (no scale-down)
  int models_without_metrics = 0;  // models with no usable sample at all (every variant holds)
  double seconds = 0;
  // From the start of the cycle until its decisions were on /metrics (before the status writes).
  double published_seconds = 0;
};

class Reconciler {
 public:
  Reconciler(ClusterReader& reader, StatusWriter& writer, prom::Querier& querier,
             prom::WvaMetrics& metrics, ConfigCache& config, const Clock& clock)
      : reader_(reader),
        writer_(writer),
        querier_(querier),
        metrics_(metrics),
        config_(config),
        clock_(clock) {}

  // One full cycle. Never throws; failures are reflected in conditions, metrics and logs.
  CycleStats RunCycle();

  // After a (re)start or on becoming leader: publish the decisions recorded in VA status so the
  // restart itself changes no published value before the first cycle completes.
  void PublishFromStatus();

  // The max_over_time range of the saturation queries (default "1m", docs/reference.md
  // "Prometheus queries").
  void set_metrics_window(std::string window) { window_ = std::move(window); }
  // Enables SLO sizing from this cache (issue #8). Not owned; must outlive the reconciler.
  void set_slo_config(SloConfigCache* slo) { slo_ = slo; }
  // Online profile calibration (docs/slo-sizing.md §4; default on). Off: configured profiles
  // only, no calibration queries, and every calibrator is forgotten.
  void set_calibration(bool on) {
    calibration_ = on;
    if (!on) {
      calibrators_.clear();
      profile_state_.clear();
    }
  }
  void set_fit_options(const core::FitOptions& o) { fit_options_ = o; }
  // The cycle interval, for the policy's forecasts and dwell times (default 60 s).
  void set_interval_seconds(double s) { interval_s_ = s > 0 ? s : 60; }
  // What the policy remembers per model (core::PolicyState), kept across cycles.
  const std::map<prom::ModelKey, core::PolicyState>& policy_states() const {
    return policy_states_;
  }
  void set_policy_states(std::map<prom::ModelKey, core::PolicyState> s) {
    policy_states_ = std::move(s);
  }
  // Where the policy state is saved after each cycle and restored from by PublishFromStatus (a
  // new leader). Not owned; null = memory only.
  void set_policy_state_store(PolicyStateStore* store) { state_store_ = store; }
  // Restores the policy state from the store (PublishFromStatus calls it). Returns how many
  // models were restored; a failure keeps what is in memory and is logged once.
  int RestorePolicyStates();
  // Scale to zero after each plan (docs/scale-to-zero.md). Not owned; null = off.
  void set_zero_scaler(ZeroScaler* z) { zero_ = z; }
  // Stock-outs and GPU budgets after each plan (docs/budgets.md). Not owned; null = off.
  void set_placement(PlacementStep* p) { placement_ = p; }
  // Direct actuation of direct-mode VAs after each plan (docs/actuation.md). Null = off.
  void set_direct_actuator(DirectActuator* d) { direct_ = d; }
  // The calibrators kept across cycles (for tests and introspection).
  const Calibrators& calibrators() const { return calibrators_; }

  // Status writes and Events of one cycle run on up to this many threads at once (default 1:
  // one after another). The manager raises it so a first cycle over thousands of VAs is quick.
  void set_status_write_concurrency(int n) { status_write_concurrency_ = n; }

 private:
  using VaKey = std::pair<std::string, std::string>;  // (namespace, VA name)
  struct StatusWrite {
    VaKey key;
    nlohmann::json status;
    Status result;
  };
  struct PendingEvent {
    const nlohmann::json* va;  // into the cycle's input, which outlives the writes
    std::string type, reason, message;
  };
  // The API calls a cycle makes after publishing: changed statuses and Events.
  struct CycleWrites {
    std::vector<StatusWrite> statuses;
    std::vector<PendingEvent> events;
  };
  void Publish(const VaOutcome& o);
  // Publishes every outcome to /metrics, forgets deleted VAs, and returns the API calls still
  // to make: changed statuses, scaling Events and Warning Events (on transitions).
  CycleWrites PublishOutcomes(const CycleInput& in, const CycleOutput& out, Clock::WallTime now,
                              CycleStats* stats);
  // What one cycle owns besides its input: the snapshots the input points to, the pods it reads
  // and the configurations it decided with.
  struct CycleScratch {
    std::chrono::seconds settle{60};  // a pod Ready this long has been scraped (the window)
    std::map<std::string, std::vector<PodPtr>> pods_by_ns;
    prom::SaturationSnapshot snap;
    prom::WorkloadSnapshot workloads;
    prom::KvCapacitySnapshot kv_capacity;
    prom::CalibrationSnapshot samples;
    bool have_samples = false;
    std::vector<prom::ModelKey> slo_models;
    std::shared_ptr<const core::SaturationConfigSet> config;
    std::shared_ptr<const core::SloConfigSet> slo_config;
  };
  // The steps of RunCycle, in order.
  CycleVa KnownVa(const VaPtr& cached) const;
  void CollectTargets(CycleInput* in, CycleScratch* scratch);
  void CollectMetrics(const std::vector<prom::ModelKey>& managed, CycleInput* in,
                      CycleScratch* scratch, CycleStats* stats);
  void FeedCalibration(CycleInput* in, const CycleScratch& scratch, CycleStats* stats);
  CycleOutput Decide(CycleInput* in, const CycleScratch& scratch, CycleStats* stats);
  void ReportCycle(const CycleInput& in, const CycleOutput& out, const CycleScratch& scratch,
                   size_t managed, CycleStats* stats);
  // Sends the writes and records what succeeded.
  void FinishWrites(CycleWrites* writes, CycleStats* stats);
  void ForgetDeleted(const std::set<VaKey>& seen);
  // Makes the calls with bounded concurrency; each status write's result lands in `result`.
  void SendWrites(CycleWrites* writes);
  void LogCalibrationQueries(const prom::CalibrationSnapshot& samples);
  void LogProfileChanges(const CycleOutput& out);
  // Counts the samples no decision could use (wva_metric_samples_dropped_total) and warns once
  // per model when its set of silent/unusable pods changes, else at most every 5 minutes.
  void ReportIncompleteData(const CycleOutput& out, const prom::SaturationSnapshot& snap);
  // Ages of the last usable sample per known pod, for the cycle input; then, after the cycle,
  // records this cycle's usable samples and forgets pods that are not Ready any more.
  void FillLastSampleAges(CycleInput* in) const;
  void RecordSamples(const CycleInput& in, const CycleOutput& out);

  ClusterReader& reader_;
  StatusWriter& writer_;
  prom::Querier& querier_;
  prom::WvaMetrics& metrics_;
  ConfigCache& config_;
  const Clock& clock_;
  log::Logger log_{"reconciler"};
  std::string window_ = "1m";
  SloConfigCache* slo_ = nullptr;
  ZeroScaler* zero_ = nullptr;
  PlacementStep* placement_ = nullptr;
  DirectActuator* direct_ = nullptr;
  bool calibration_ = true;
  core::FitOptions fit_options_;
  Calibrators calibrators_;
  CapacityMemories capacity_memory_;  // token-based analyzer (V2): learned k2 and capacities
  double interval_s_ = 60;
  std::map<prom::ModelKey, core::PolicyState> policy_states_;  // core::DecidePolicy's memory
  PolicyStateStore* state_store_ = nullptr;
  std::string state_store_error_;  // the last save/restore failure, logged once until it recovers
  void SavePolicyStates();
  // Start-up times (pod created -> Ready) of Ready pods not seen before, into the policy state of
  // their model (core::LearnStartup).
  using ModelVariant = std::pair<std::string, std::string>;  // (model, variant name)
  void LearnStartupTimes(const std::string& ns, const std::map<std::string, double>& startups,
                         const std::map<std::string, std::string>& pod_owner,
                         const std::map<std::string, ModelVariant>& variant_of);
  std::map<std::string, std::set<std::string>> startup_seen_;  // namespace -> pods learned
  void NoteStateStore(const char* what, const Status& s);
  // Calibration queries failing since their last success: logged on the way in and out only.
  std::map<std::string, std::string> failing_calibration_queries_;  // series -> error kind
  // Per calibration key: {alpha/beta fitted, gamma/delta fitted} as last logged (logged when a
  // key is first sized and whenever it changes).
  std::map<CalibrationKey, std::pair<bool, bool>> profile_state_;
  int status_write_concurrency_ = 1;
  // What this process last published per VA. It is the last decision, whether or not its status
  // write has succeeded yet: the next cycle plans from it, so a decision whose write keeps
  // failing (API server down) is neither counted, evented nor logged again, and a hold keeps it.
  struct PublishedAlloc {
    int desired = 0;
    std::string accelerator;
  };
  std::map<VaKey, PublishedAlloc> published_;
  // The Warning Event last recorded per VA ("reason\nmessage"): recorded once per problem, not
  // on every cycle whose status write fails.
  std::map<VaKey, std::string> warned_;
  // Per model with incomplete data: the pods last warned about, and when.
  std::map<prom::ModelKey, std::pair<std::string, Clock::SteadyTime>> incomplete_warned_;
  // Per (namespace, pod): when this process last saw a usable sample from it (for the age of a
  // stale pod's data). Pods that are no longer Ready are forgotten.
  std::map<std::pair<std::string, std::string>, Clock::SteadyTime> last_sample_;
  // The status this process last wrote per VA. Only this controller writes VA status, so it is
  // authoritative over an informer cache that may not have caught up with the write yet.
  std::map<VaKey, nlohmann::json> written_;
};

}  // namespace wva::controller
