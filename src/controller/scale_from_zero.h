// Scale from zero (docs/scale-to-zero.md): a short loop beside the optimization cycle that wakes
// a model at zero when demand shows up. A model is at zero when every variant allows
// minReplicas 0 and every variant's Deployment has spec.replicas 0. Demand is a PromQL instant
// vector (default: llm-d EPP's `inference_extension_flow_control_queue_size`, by namespace and
// target_model_name); a value > 0 for the model is demand.
//
// For such a model the loop sets exactly one replica on its cheapest variant (cost ascending,
// then name) through the scale subresource, only if the Deployment's scale still says 0 (read
// then written with its resourceVersion, so a concurrent writer is never overruled), then asks
// for an optimization cycle and lets the normal policy take over. One replica per model until
// the woken Deployment has a Ready replica or the ready timeout passes: no thundering herd (a
// model set back to 0 meanwhile, by a scaler that had not seen the new decision yet, gets the
// same one replica again after 5 s). Writes run in parallel up to the configured concurrency.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/log.h"
#include "base/status.h"
#include "controller/direct_actuation.h"
#include "controller/reconciler.h"
#include "controller/scale_to_zero.h"
#include "controller/settings.h"
#include "kube/client.h"
#include "prom/querier.h"

namespace wva::controller {

// Write side of the loop: one replica on a Deployment whose scale says 0.
class ScaleWriter {
 public:
  virtual ~ScaleWriter() = default;
  // Sets spec.replicas to `replicas` through the scale subresource only if it is 0 now.
  // Returns true when written, false when the Deployment was not at zero (left alone).
  virtual StatusOr<bool> ScaleFromZero(const std::string& ns, const std::string& deployment,
                                       int replicas) = 0;
};

// ScaleWriter over the Kubernetes client: GET the Deployment's scale, then a merge patch of
// spec.replicas carrying the scale's resourceVersion (a concurrent change answers 409 Conflict,
// retried next poll).
class KubeScaleWriter : public ScaleWriter, public ScaleSetter {
 public:
  explicit KubeScaleWriter(kube::Client* client) : client_(client) {}
  StatusOr<bool> ScaleFromZero(const std::string& ns, const std::string& deployment,
                               int replicas) override;
  Status SetReplicas(const std::string& ns, const std::string& deployment, int replicas) override;

 private:
  kube::Client* client_;
};

// A model at zero with demand, and the variant to wake.
struct WakeUp {
  std::string ns;
  std::string model;
  std::string va;          // the cheapest variant's VA name
  std::string deployment;  // its scale target
  double demand = 0;
  nlohmann::json va_object;  // for the Event
};

// The models at zero (every valid VA of the model allows minReplicas 0 and its Deployment
// exists with spec.replicas 0), each with its cheapest variant. Pure.
std::vector<WakeUp> ModelsAtZero(const std::vector<VaPtr>& vas,
                                 const std::map<std::string, DeploymentPtr>& deployments);

// Demand per (namespace, model) from the demand query's answer: finite values > 0 only.
std::map<prom::ModelKey, double> DemandOf(const prom::QueryResult& r,
                                          const std::string& model_label);

class ZeroWaker {
 public:
  ZeroWaker(ClusterReader& reader, StatusWriter& events, ScaleWriter& writer,
            prom::Querier& querier, const Clock& clock, Settings::ScaleFromZero settings)
      : reader_(reader),
        events_(events),
        writer_(writer),
        querier_(querier),
        clock_(clock),
        settings_(std::move(settings)) {}

  // Called after each successful wake (from the loop's thread).
  void set_on_woken(std::function<void(const WakeUp&)> f) { on_woken_ = std::move(f); }

  struct TickResult {
    int at_zero = 0;  // models at zero
    bool queried = false;
    bool query_failed = false;
    std::vector<WakeUp> woken;  // scaled 0 -> 1 this tick
    int skipped_in_flight = 0;  // models with demand whose earlier wake is still pending
  };
  // One poll: no query when no model is at zero.
  TickResult Tick();

  // Models woken and not yet Ready (nor timed out).
  size_t in_flight() const { return in_flight_.size(); }

 private:
  struct Grant {
    std::string va;
    std::string deployment;
    Clock::SteadyTime since;       // first wake (the ready timeout counts from here)
    Clock::SteadyTime last_write;  // last 0 -> 1 write
  };
  static constexpr std::chrono::seconds kRewakePause{5};
  void ExpireGrants(const std::map<std::string, DeploymentPtr>& deployments);

  ClusterReader& reader_;
  StatusWriter& events_;
  ScaleWriter& writer_;
  prom::Querier& querier_;
  const Clock& clock_;
  Settings::ScaleFromZero settings_;
  std::function<void(const WakeUp&)> on_woken_;
  std::map<prom::ModelKey, Grant> in_flight_;  // the loop's thread only
  bool last_query_failed_ = false;
  log::Logger log_{"scale-from-zero"};
};

}  // namespace wva::controller
