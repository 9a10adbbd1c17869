// One engine: the observations `wva simulate --policy wva-slo` hands the engine, recorded cycle by
// cycle, replayed through the controller's planner (VariantAutoscaling and Deployment objects,
// pod attribution, the Prometheus snapshots, the SLO ConfigMap entries) must give the same
// decisions, cycle by cycle.
#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <string>
#include <vector>

#include "controller/planner.h"
#include "sim/policy_slo.h"
#include "sim/simulator.h"
#include "sim/workload.h"

namespace wva::controller {
namespace {

// Wraps the simulator's wva-slo and records what it observed and decided each cycle.
class Recorder final : public sim::Policy {
 public:
  explicit Recorder(sim::WvaSloPolicy* inner) : inner_(inner) {}
  std::string Name() const override { return inner_->Name(); }
  double PeriodSeconds(const sim::FleetConfig& f) const override {
    return inner_->PeriodSeconds(f);
  }
  void Run(const sim::ControllerView& view, std::vector<sim::Signal>* out) override {
    observations.push_back(inner_->ObservationOf(view));
    inner_->Run(view, out);
    std::vector<int> targets;
    for (const sim::Signal& s : *out) {
      targets.push_back(s.kind == sim::Signal::Kind::kReplicas ? static_cast<int>(s.value) : -1);
    }
    decisions.push_back(std::move(targets));
  }
  bool ExplainsDecisions() const override { return true; }
  std::string LastReason() const override { return inner_->LastReason(); }

  std::vector<core::Observation> observations;
  std::vector<std::vector<int>> decisions;

 private:
  sim::WvaSloPolicy* inner_;
};

const char* kNs = "bench";

// The cluster and Prometheus as a controller would have seen them at one observation.
struct World {
  CycleInput in;
  prom::SaturationSnapshot snap;
  prom::WorkloadSnapshot workloads;
  core::SaturationConfigSet config;
  core::SloConfigSet slo;
};

void Build(const core::Observation& obs, World* w) {
  const core::ModelInput& mi = obs.input;
  const prom::ModelKey key{kNs, mi.model_id};
  // The fleets here use the built-in saturation thresholds, which an empty ConfigMap resolves to.
  ASSERT_EQ(mi.config, core::SaturationConfig{});
  w->config = {};
  core::SloEntry entry;
  entry.key = "default";
  entry.targets.ttft_ms = obs.targets.ttft_ms;
  entry.targets.itl_ms = obs.targets.itl_ms;
  entry.targets.percentile = obs.targets.percentile;
  entry.targets.headroom = obs.targets.headroom;
  for (size_t i = 0; i < mi.variants.size(); ++i) {
    entry.profiles[mi.variants[i].accelerator] = *obs.profiles[i];
  }
  w->slo = {};
  w->slo.Put(entry);
  CycleInput& in = w->in;
  in = CycleInput{};
  for (const core::VariantState& v : mi.variants) {
    nlohmann::json va = {{"metadata", {{"name", v.name}, {"namespace", kNs}, {"generation", 1}}},
                         {"spec",
                          {{"scaleTargetRef", {{"name", v.name}}},
                           {"modelID", mi.model_id},
                           {"variantCost", std::to_string(v.cost)},
                           {"minReplicas", v.min_replicas}}}};
    if (v.max_replicas) {
      va["spec"]["maxReplicas"] = *v.max_replicas;
    }
    if (v.desired_replicas > 0) {
      va["status"]["desiredOptimizedAlloc"]["numReplicas"] = v.desired_replicas;
    }
    in.vas.push_back(CycleVaOf(va));
    in.deployments[std::string(kNs) + "/" + v.name] = ParseDeployment(nlohmann::json{
        {"spec",
         {{"replicas", v.current_replicas},
          {"template", {{"spec", {{"nodeSelector", {{kGpuProductSelector, v.accelerator}}}}}}}}}});
  }
  w->snap = {};
  prom::ModelSaturation& ms = w->snap.models[key];
  for (const core::ReplicaSample& s : mi.replicas) {
    in.pod_owner[kNs][s.pod] = mi.variants[s.variant].name;
    ms.pods[s.pod] = {s.kv_cache_usage, s.queue_length};
  }
  w->workloads = {};
  prom::ModelRates& r = w->workloads.models[key];
  const core::TrafficObservation& t = obs.traffic;
  r.success = t.arrival_rate;
  r.prompt_count = r.gen_count = t.mean_prompt_tokens > 0 ? 1 : 0;
  r.prompt_sum = t.mean_prompt_tokens;
  r.gen_sum = t.mean_output_tokens;
  // Histograms with a bucket bound at each target: the attainment reads back exactly.
  if (t.finished > 0) {
    const double w = obs.window_s;
    r.ttft_buckets = {{obs.targets.ttft_ms / 1000, t.ttft_good / w},
                      {std::numeric_limits<double>::infinity(), t.finished / w}};
    r.itl_buckets = {{obs.targets.itl_ms / 1000, t.itl_good / w},
                     {std::numeric_limits<double>::infinity(), t.finished / w}};
  }
  in.metrics = &w->snap;
  in.config = &w->config;
  in.slo_config = &w->slo;
  in.workloads = &w->workloads;
  in.now_s = obs.now_s;
  in.interval_s = obs.interval_s;
  in.window_s = obs.window_s;
}

std::vector<std::vector<int>> Replay(const Recorder& rec, const core::PolicyOptions& options) {
  std::vector<std::vector<int>> out;
  std::map<prom::ModelKey, core::PolicyState> states;
  World w;
  for (const core::Observation& obs : rec.observations) {
    Build(obs, &w);
    // The controller learns start-up times from pod readiness; here it has learned the fleet's.
    core::PolicyState& st = states[{kNs, obs.input.model_id}];
    for (size_t i = 0; i < obs.startup_s.size(); ++i) {
      st.startup_s[obs.input.variants[i].name] = obs.startup_s[i];
    }
    w.in.policy_options = options;
    w.in.policy_states = &states;
    CycleOutput o = PlanCycle(w.in);
    states = std::move(o.policy_states);
    std::vector<int> targets;
    for (const VaOutcome& va : o.vas) {
      targets.push_back(va.publish_desired.value_or(-1));
    }
    out.push_back(std::move(targets));
  }
  return out;
}

void ExpectIdentical(const std::string& workload_spec, sim::FleetConfig fleet) {
  auto policy = sim::MakeWvaSloPolicy("wva-slo");
  ASSERT_TRUE(policy.has_value());
  auto* slo = static_cast<sim::WvaSloPolicy*>(policy->get());
  Recorder rec(slo);
  auto w = sim::MakeSynthetic(workload_spec, 1);
  ASSERT_TRUE(w.has_value()) << w.error().message();
  sim::RunOptions opt;
  opt.seed = 3;
  auto r = sim::Simulate(fleet, **w, rec, opt);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_GT(rec.observations.size(), 20u);
  const auto replayed = Replay(rec, slo->options().policy);
  ASSERT_EQ(replayed.size(), rec.decisions.size());
  int changes = 0;
  for (size_t c = 0; c < replayed.size(); ++c) {
    ASSERT_EQ(replayed[c], rec.decisions[c])
        << "cycle " << c << " at t=" << rec.observations[c].now_s;
    if (c > 0 && rec.decisions[c] != rec.decisions[c - 1]) {
      ++changes;
    }
  }
  EXPECT_GT(changes, 2);  // the run exercised scaling, not only a steady fleet
}

TEST(ReplayIdentity, DiurnalRampFromAColdFleet) {
  ExpectIdentical(std::string(sim::kDefaultWorkload), sim::DefaultFleet());
}

TEST(ReplayIdentity, OnOffBurstsFromAWarmFleet) {
  sim::FleetConfig f = sim::DefaultFleet();
  f.variants[0].initial_replicas = 3;
  ExpectIdentical("onoff:rate_on=14,rate_off=3,on=180,off=420,duration=3000", f);
}

}  // namespace
}  // namespace wva::controller
