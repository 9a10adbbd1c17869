// Integration tests of src/kube against a real kube-apiserver + etcd (scripts/testenv/up).
// The shared environment comes from the ctest fixture (WVA_TESTENV_DIR); tests that restart
// the API server or compact etcd start a private one. Without built binaries every test skips.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "http/curl_client.h"
#include "kube/client.h"
#include "kube/delegated_auth.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/leader_election.h"
#include "kube/rest_config.h"

namespace wva::kube {
namespace {

using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

Env ReadEnv(const std::string& dir) {
  Env env;
  std::ifstream f(dir + "/env");
  std::string line;
  while (std::getline(f, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) {
      env[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
  return env;
}

Env SharedEnv() {
  const char* dir = std::getenv("WVA_TESTENV_DIR");
  if (dir == nullptr) {
    return {};
  }
  return ReadEnv(dir);
}

#define REQUIRE_ENV(env)                                                                   \
  if ((env).empty()) {                                                                     \
    GTEST_SKIP() << "no test environment (scripts/testenv/build, then run through ctest)"; \
  }

std::unique_ptr<Client> ClientFor(const std::string& kubeconfig) {
  auto rc = LoadKubeconfig(kubeconfig);
  EXPECT_TRUE(rc.has_value()) << rc.error().ToString();
  if (!rc.has_value()) {
    return nullptr;
  }
  auto c = Client::Create(*rc, &RealClock::Get());
  EXPECT_TRUE(c.has_value()) << c.error().ToString();
  return c.has_value() ? std::move(*c) : nullptr;
}

std::string UniqueNs(const std::string& prefix) {
  static std::mt19937 rng(std::random_device{}());
  return prefix + "-" + std::to_string(rng() % 1000000);
}

void CreateNamespace(Client* c, const std::string& ns) {
  auto r = c->Create(resources::kNamespaces, "",
                     {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
}

Object VA(const std::string& ns, const std::string& name, Object spec_extra = Object::object(),
          Object labels = Object::object()) {
  Object spec = {{"scaleTargetRef", {{"name", name + "-deploy"}}}, {"modelID", "meta/llama"}};
  spec.update(spec_extra);
  Object md = {{"name", name}, {"namespace", ns}};
  if (!labels.empty()) {
    md["labels"] = labels;
  }
  return {{"apiVersion", "llmd.ai/v1alpha1"},
          {"kind", "VariantAutoscaling"},
          {"metadata", md},
          {"spec", spec}};
}

template <class F>
bool Eventually(F f, std::chrono::milliseconds timeout = 20s) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) {
      return true;
    }
    std::this_thread::sleep_for(20ms);
  }
  return f();
}

struct Recorder {
  std::mutex mu;
  std::vector<std::string> events;
  void Attach(Informer& inf) {
    inf.AddHandlers({[this](const ObjectPtr& o) { Push("add " + KeyOf(*o)); },
                     [this](const ObjectPtr& old, const ObjectPtr& n) {
                       if (ResourceVersionOf(*old) != ResourceVersionOf(*n)) {
                         Push("update " + KeyOf(*n));
                       }
                     },
                     [this](const ObjectPtr& o) { Push("delete " + KeyOf(*o)); }});
  }
  void Push(std::string s) {
    std::lock_guard<std::mutex> l(mu);
    events.push_back(std::move(s));
  }
  size_t size() {
    std::lock_guard<std::mutex> l(mu);
    return events.size();
  }
  std::vector<std::string> Get() {
    std::lock_guard<std::mutex> l(mu);
    return events;
  }
};

// A private control plane (for restarts and compaction), torn down with the object.
class PrivateEnv {
 public:
  explicit PrivateEnv(const std::string& name, const std::string& extra_args = "") {
    dir_ = std::string(WVA_BINARY_DIR) + "/testenv/kube-private-" + name;
    std::string cmd = "WVA_APISERVER_EXTRA_ARGS='" + extra_args + "' " + WVA_SOURCE_DIR +
                      "/scripts/testenv/up " + dir_ + " >/dev/null";
    int rc = std::system(cmd.c_str());
    if (rc == 0) {
      env_ = ReadEnv(dir_);
    }
  }
  ~PrivateEnv() {
    std::string cmd = std::string(WVA_SOURCE_DIR) + "/scripts/testenv/down " + dir_;
    (void)std::system(cmd.c_str());
  }
  const Env& env() const { return env_; }

 private:
  std::string dir_;
  Env env_;
};

// ---------------------------------------------------------------------------------------------

TEST(KubeIntegration, CrdRejectsBadObjectsAndAppliesDefaults) {
  Env env = SharedEnv();
  REQUIRE_ENV(env);
  // The file-path kubeconfig variant works too.
  auto files_client = ClientFor(env["WVA_KUBECONFIG_FILES"]);
  ASSERT_NE(files_client, nullptr);
  auto version = files_client->Raw("GET", "/version");
  ASSERT_TRUE(version.has_value()) << version.error().ToString();
  EXPECT_EQ((**version)["gitVersion"], "v1.33.4");

  auto c = ClientFor(env["KUBECONFIG"]);
  std::string ns = UniqueNs("crd");
  CreateNamespace(c.get(), ns);
  auto bad_cost =
      c->Create(resources::kVariantAutoscalings, ns, VA(ns, "bad-cost", {{"variantCost", "abc"}}));
  ASSERT_FALSE(bad_cost.has_value());
  EXPECT_EQ(bad_cost.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_cost.error().message().find("variantCost"), std::string::npos);

  auto bad_range = c->Create(resources::kVariantAutoscalings, ns,
                             VA(ns, "bad-range", {{"minReplicas", 5}, {"maxReplicas", 2}}));
  ASSERT_FALSE(bad_range.has_value());
  EXPECT_EQ(bad_range.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(
      bad_range.error().message().find("minReplicas must be less than or equal to maxReplicas"),
      std::string::npos)
      << bad_range.error().message();

  Object no_model = VA(ns, "no-model");
  no_model["spec"].erase("modelID");
  EXPECT_FALSE(c->Create(resources::kVariantAutoscalings, ns, no_model).has_value());

  auto good = c->Create(resources::kVariantAutoscalings, ns, VA(ns, "good"));
  ASSERT_TRUE(good.has_value()) << good.error().ToString();
  const Object& spec = (**good)["spec"];
  EXPECT_EQ(spec["variantCost"], "10.0");
  EXPECT_EQ(spec["minReplicas"], 1);
  EXPECT_FALSE(spec.contains("maxReplicas"));
  EXPECT_EQ(spec["scaleTargetRef"]["apiVersion"], "apps/v1");
  EXPECT_EQ(spec["scaleTargetRef"]["kind"], "Deployment");

  auto dup = c->Create(resources::kVariantAutoscalings, ns, VA(ns, "good"));
  ASSERT_FALSE(dup.has_value());
  EXPECT_TRUE(IsAlreadyExists(dup.error()));
  auto missing = c->Get(resources::kVariantAutoscalings, ns, "missing");
  ASSERT_FALSE(missing.has_value());
  EXPECT_TRUE(IsNotFound(missing.error()));

  // Optimistic concurrency: a PUT with a stale resourceVersion is a conflict.
  Object stale = **good;
  stale["spec"]["modelID"] = "other";
  ASSERT_TRUE(c->Update(resources::kVariantAutoscalings, ns, stale).has_value());
  auto conflict = c->Update(resources::kVariantAutoscalings, ns, stale);
  ASSERT_FALSE(conflict.has_value());
  EXPECT_TRUE(IsConflict(conflict.error())) << conflict.error().ToString();
}

TEST(KubeIntegration, ListPagesWithLimitAndContinue) {
  Env env = SharedEnv();
  REQUIRE_ENV(env);
  auto c = ClientFor(env["KUBECONFIG"]);
  std::string ns = UniqueNs("page");
  CreateNamespace(c.get(), ns);
  for (const char* name : {"v0", "v1", "v2", "v3", "v4"}) {
    ASSERT_TRUE(c->Create(resources::kVariantAutoscalings, ns, VA(ns, name)).has_value());
  }
  ListOptions lo;
  lo.limit = 2;
  auto page = c->List(resources::kVariantAutoscalings, ns, lo);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->items.size(), 2u);
  EXPECT_FALSE(page->continue_token.empty());
  auto all = c->ListAll(resources::kVariantAutoscalings, ns, lo);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->items.size(), 5u);
  EXPECT_FALSE(all->resource_version.empty());
}

TEST(KubeIntegration, InformerSeesAddUpdateDeleteInOrder) {
  Env env = SharedEnv();
  REQUIRE_ENV(env);
  auto c = ClientFor(env["KUBECONFIG"]);
  std::string ns = UniqueNs("inf");
  CreateNamespace(c.get(), ns);
  ASSERT_TRUE(c->Create(resources::kVariantAutoscalings, ns, VA(ns, "pre")).has_value());
  Informer inf(c.get(), resources::kVariantAutoscalings, ns);
  inf.store().AddIndex("model", [](const Object& o) {
    return std::vector<std::string>{o["spec"].value("modelID", "")};
  });
  Recorder rec;
  rec.Attach(inf);
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(10s));
  ASSERT_TRUE(c->Create(resources::kVariantAutoscalings, ns, VA(ns, "a")).has_value());
  ASSERT_TRUE(c->MergePatch(resources::kVariantAutoscalings, ns, "a",
                            {{"spec", {{"modelID", "meta/other"}}}})
                  .has_value());
  ASSERT_TRUE(c->Delete(resources::kVariantAutoscalings, ns, "a").ok());
  ASSERT_TRUE(Eventually([&] { return rec.size() >= 4; }));
  std::this_thread::sleep_for(200ms);  // nothing extra arrives
  inf.Stop();
  EXPECT_EQ(rec.Get(), (std::vector<std::string>{"add " + ns + "/pre", "add " + ns + "/a",
                                                 "update " + ns + "/a", "delete " + ns + "/a"}));
  EXPECT_EQ(inf.store().size(), 1u);
  EXPECT_EQ(inf.store().ByIndex("model", "meta/llama").size(), 1u);
  EXPECT_TRUE(inf.store().ByIndex("model", "meta/other").empty());
}

TEST(KubeIntegration, StatusMergePatchLeavesGenerationAlone) {
  Env env = SharedEnv();
  REQUIRE_ENV(env);
  auto c = ClientFor(env["KUBECONFIG"]);
  std::string ns = UniqueNs("status");
  CreateNamespace(c.get(), ns);
  auto created = c->Create(resources::kVariantAutoscalings, ns, VA(ns, "v"));
  ASSERT_TRUE(created.has_value());
  EXPECT_EQ((**created)["metadata"]["generation"], 1);
  Object status = {
      {"currentAlloc", {{"numReplicas", 2}, {"accelerator", "L40S"}}},
      {"desiredOptimizedAlloc",
       {{"numReplicas", 3}, {"accelerator", "L40S"}, {"lastRunTime", "2026-01-01T00:00:00Z"}}},
      {"actuation", {{"applied", true}}},
      {"observedGeneration", 1},
      {"conditions",
       {{{"type", "MetricsAvailable"},
         {"status", "True"},
         {"reason", "MetricsFound"},
         {"message", "ok"},
         {"lastTransitionTime", "2026-01-01T00:00:00Z"}}}}};
  auto patched = c->PatchStatus(resources::kVariantAutoscalings, ns, "v", status);
  ASSERT_TRUE(patched.has_value()) << patched.error().ToString();
  EXPECT_EQ((**patched)["metadata"]["generation"], 1);
  EXPECT_EQ((**patched)["status"]["desiredOptimizedAlloc"]["numReplicas"], 3);
  // The status endpoint ignores spec changes; the main endpoint ignores status changes.
  auto sneaky = c->MergePatch(
      resources::kVariantAutoscalings, ns, "v",
      {{"spec", {{"modelID", "x"}}}, {"status", {{"observedGeneration", 7}}}}, "status");
  ASSERT_TRUE(sneaky.has_value());
  EXPECT_EQ((**sneaky)["spec"]["modelID"], "meta/llama");
  EXPECT_EQ((**sneaky)["metadata"]["generation"], 1);
  auto spec_change =
      c->MergePatch(resources::kVariantAutoscalings, ns, "v", {{"spec", {{"minReplicas", 2}}}});
  ASSERT_TRUE(spec_change.has_value());
  EXPECT_EQ((**spec_change)["metadata"]["generation"], 2);
  EXPECT_EQ((**spec_change)["status"]["observedGeneration"], 7);
  // Printer columns come from status.
  auto bad_status = c->PatchStatus(resources::kVariantAutoscalings, ns, "v",
                                   {{"currentAlloc", {{"numReplicas", -1}}}});
  EXPECT_FALSE(bad_status.has_value());
}

TEST(KubeIntegration, ScaleSubresource) {
  Env env = SharedEnv();
  REQUIRE_ENV(env);
  auto c = ClientFor(env["KUBECONFIG"]);
  std::string ns = UniqueNs("scale");
  CreateNamespace(c.get(), ns);
  Object dep = {{"apiVersion", "apps/v1"},
                {"kind", "Deployment"},
                {"metadata", {{"name", "d"}, {"namespace", ns}}},
                {"spec",
                 {{"replicas", 1},
                  {"selector", {{"matchLabels", {{"app", "d"}}}}},
                  {"template",
                   {{"metadata", {{"labels", {{"app", "d"}}}}},
                    {"spec", {{"containers", {{{"name", "c"}, {"image", "x"}}}}}}}}}}};
  ASSERT_TRUE(c->Create(resources::kDeployments, ns, dep).has_value());
  auto scale = c->GetScale(resources::kDeployments, ns, "d");
  ASSERT_TRUE(scale.has_value()) << scale.error().ToString();
  EXPECT_EQ((**scale)["kind"], "Scale");
  EXPECT_EQ((**scale)["spec"]["replicas"], 1);
  ASSERT_TRUE(c->SetScale(resources::kDeployments, ns, "d", 3).has_value());
  auto got = c->Get(resources::kDeployments, ns, "d");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ((**got)["spec"]["replicas"], 3);
}

TEST(KubeIntegration, EventRecorderAggregatesRepeats) {
  Env env = SharedEnv();
  REQUIRE_ENV(env);
  auto c = ClientFor(env["KUBECONFIG"]);
  std::string ns = UniqueNs("events");
  CreateNamespace(c.get(), ns);
  auto va = c->Create(resources::kVariantAutoscalings, ns, VA(ns, "v"));
  ASSERT_TRUE(va.has_value());
  EventRecorder rec(c.get(), "wva-controller", &RealClock::Get());
  ASSERT_TRUE(
      rec.Record(**va, "Warning", "InvalidConfiguration", "kvCacheThreshold out of range").ok());
  ASSERT_TRUE(
      rec.Record(**va, "Warning", "InvalidConfiguration", "kvCacheThreshold out of range").ok());
  ASSERT_TRUE(rec.Record(**va, "Normal", "ScaledUp", "2 -> 3").ok());
  auto list = c->ListAll(resources::kEvents, ns);
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->items.size(), 2u);
  int total = 0;
  for (const auto& e : list->items) {
    EXPECT_EQ((*e)["involvedObject"]["kind"], "VariantAutoscaling");
    EXPECT_EQ((*e)["involvedObject"]["uid"], (**va)["metadata"]["uid"]);
    total += (*e)["count"].get<int>();
  }
  EXPECT_EQ(total, 3);
}

TEST(KubeIntegration, LeaderElectionExactlyOneLeaderAndTakeover) {
  Env env = SharedEnv();
  REQUIRE_ENV(env);
  auto ca = ClientFor(env["KUBECONFIG"]);
  auto cb = ClientFor(env["KUBECONFIG"]);
  std::string ns = UniqueNs("lease");
  CreateNamespace(ca.get(), ns);
  auto make = [&](Client* c, const std::string& id, std::atomic<int>* started) {
    LeaderElectionConfig cfg;
    cfg.lease_namespace = ns;
    cfg.lease_name = "wva-leader";
    cfg.identity = id;
    cfg.lease_duration = 3s;
    cfg.renew_deadline = 2s;
    cfg.retry_period = 250ms;
    LeaderCallbacks cb;
    cb.on_started_leading = [started] { ++*started; };
    return std::make_unique<LeaderElector>(c, cfg, cb, &RealClock::Get());
  };
  std::atomic<int> started_a{0}, started_b{0};
  auto a = make(ca.get(), "a", &started_a);
  auto b = make(cb.get(), "b", &started_b);
  a->Start();
  b->Start();
  ASSERT_TRUE(Eventually([&] { return a->IsLeader() || b->IsLeader(); }, 10s));
  for (int i = 0; i < 40; ++i) {  // 2 s of watching: never two leaders
    ASSERT_FALSE(a->IsLeader() && b->IsLeader());
    std::this_thread::sleep_for(50ms);
  }
  LeaderElector* leader = a->IsLeader() ? a.get() : b.get();
  LeaderElector* follower = a->IsLeader() ? b.get() : a.get();
  EXPECT_EQ(started_a + started_b, 1);
  // Kill the leader (no release): the follower takes over within one lease duration (plus a
  // retry period and scheduling slack).
  auto killed = std::chrono::steady_clock::now();
  leader->Abandon();
  ASSERT_TRUE(Eventually([&] { return follower->IsLeader(); }, 10s));
  auto takeover = std::chrono::steady_clock::now() - killed;
  EXPECT_LT(takeover, 3s + 250ms + 500ms)
      << std::chrono::duration_cast<std::chrono::milliseconds>(takeover).count() << " ms";
  std::cerr << "leader takeover after kill: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(takeover).count() << " ms\n";
  // A graceful stop releases the lease: a new elector acquires it at once.
  std::atomic<int> started_c{0};
  auto cc = ClientFor(env["KUBECONFIG"]);
  auto c = make(cc.get(), "c", &started_c);
  c->Start();
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(c->IsLeader());
  auto released = std::chrono::steady_clock::now();
  follower->Stop();
  ASSERT_TRUE(Eventually([&] { return c->IsLeader(); }, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - released, 2s);
  c->Stop();
}

TEST(KubeIntegration, RbacAllowsWhatTheControllerNeedsAndNothingElse) {
  Env env = SharedEnv();
  REQUIRE_ENV(env);
  auto admin = ClientFor(env["KUBECONFIG"]);
  auto wva = ClientFor(env["WVA_KUBECONFIG_WVA"]);
  ASSERT_NE(wva, nullptr);
  std::string ns = UniqueNs("rbac");
  const std::string sys = "workload-variant-autoscaler-system";
  CreateNamespace(admin.get(), ns);
  ASSERT_TRUE(admin->Create(resources::kVariantAutoscalings, ns, VA(ns, "v")).has_value());
  ASSERT_TRUE(
      admin
          ->Create(resources::kConfigMaps, sys,
                   {{"apiVersion", "v1"},
                    {"kind", "ConfigMap"},
                    {"metadata", {{"name", "capacity-scaling-config-" + ns}, {"namespace", sys}}},
                    {"data", {{"default", "kvCacheThreshold: 0.8\n"}}}})
          .has_value());
  Object dep = {{"apiVersion", "apps/v1"},
                {"kind", "Deployment"},
                {"metadata", {{"name", "d"}, {"namespace", ns}}},
                {"spec",
                 {{"replicas", 1},
                  {"selector", {{"matchLabels", {{"app", "d"}}}}},
                  {"template",
                   {{"metadata", {{"labels", {{"app", "d"}}}}},
                    {"spec", {{"containers", {{{"name", "c"}, {"image", "x"}}}}}}}}}}};
  ASSERT_TRUE(admin->Create(resources::kDeployments, ns, dep).has_value());

  // Allowed.
  auto ok = [](const auto& r, const char* what) {
    EXPECT_TRUE(r.has_value()) << what << ": " << r.error().ToString();
  };
  ok(wva->List(resources::kVariantAutoscalings, ""), "list VAs cluster-wide");
  ok(wva->Get(resources::kVariantAutoscalings, ns, "v"), "get VA");
  ok(wva->PatchStatus(resources::kVariantAutoscalings, ns, "v", {{"observedGeneration", 1}}),
     "patch VA status");
  ok(wva->MergePatch(resources::kVariantAutoscalings, ns, "v",
                     {{"metadata", {{"annotations", {{"wva.llmd.ai/seen", "1"}}}}}}),
     "patch VA");
  ok(wva->List(resources::kDeployments, ""), "list deployments");
  ok(wva->GetScale(resources::kDeployments, ns, "d"), "get deployment scale");
  ok(wva->List(resources::kReplicaSets, ""), "list replicasets");
  ok(wva->List(resources::kPods, ""), "list pods");
  ok(wva->List(resources::kConfigMaps, sys), "list configmaps in controller namespace");
  ok(wva->Create(resources::kLeases, sys,
                 {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", "wva-leader-" + ns}, {"namespace", sys}}},
                  {"spec", {{"holderIdentity", "x"}}}}),
     "create lease in controller namespace");
  // The SLO policy's memory: the controller creates ConfigMap wva-policy-state once and then
  // patches it by name (the Manager's PolicyStateStore does exactly this).
  {
    const Object patch = {{"data", {{"state.json", "{\"version\":1,\"models\":[]}"}}}};
    auto p = wva->MergePatch(resources::kConfigMaps, sys, "wva-policy-state", patch);
    if (!p.has_value()) {
      EXPECT_TRUE(IsNotFound(p.error())) << p.error().ToString();
      ok(wva->Create(resources::kConfigMaps, sys,
                     {{"apiVersion", "v1"},
                      {"kind", "ConfigMap"},
                      {"metadata", {{"name", "wva-policy-state"}, {"namespace", sys}}},
                      {"data", {{"state.json", "{}"}}}}),
         "create the policy-state ConfigMap");
      ok(wva->MergePatch(resources::kConfigMaps, sys, "wva-policy-state", patch),
         "patch the policy-state ConfigMap");
    }
    ok(wva->Get(resources::kConfigMaps, sys, "wva-policy-state"), "get the policy-state ConfigMap");
  }
  EventRecorder events(wva.get(), "wva", &RealClock::Get());
  auto va = wva->Get(resources::kVariantAutoscalings, ns, "v");
  ASSERT_TRUE(va.has_value());
  EXPECT_TRUE(events.Record(**va, "Normal", "Test", "hello").ok());
  auto watch_ok = wva->Watch(
      resources::kVariantAutoscalings, ns,
      [] {
        WatchOptions w;
        w.timeout_seconds = 1;
        return w;
      }(),
      [](const WatchEvent&) { return true; });
  EXPECT_TRUE(watch_ok.ok()) << watch_ok.ToString();

  // Refused.
  auto denied = [](const auto& r, const char* what) {
    ASSERT_FALSE(r.has_value()) << what << " should be refused";
    EXPECT_EQ(r.error().code(), StatusCode::kPermissionDenied)
        << what << ": " << r.error().ToString();
  };
  denied(wva->Create(resources::kVariantAutoscalings, ns, VA(ns, "w")), "create VA");
  EXPECT_EQ(wva->Delete(resources::kVariantAutoscalings, ns, "v").code(),
            StatusCode::kPermissionDenied);
  denied(wva->SetScale(resources::kDeployments, ns, "d", 5), "scale deployment");
  denied(wva->MergePatch(resources::kDeployments, ns, "d", {{"spec", {{"replicas", 5}}}}),
         "patch deployment");
  denied(wva->List(resources::kConfigMaps, ns), "list configmaps elsewhere");
  denied(wva->MergePatch(resources::kConfigMaps, sys, "capacity-scaling-config-" + ns,
                         {{"data", {{"default", "kvCacheThreshold: 0.1\n"}}}}),
         "patch another ConfigMap in the controller namespace");
  denied(wva->List(resources::kConfigMaps, ""), "list configmaps cluster-wide");
  denied(wva->List(Resource{"", "v1", "secrets", true}, sys), "list secrets");
  denied(wva->Create(resources::kLeases, ns,
                     {{"apiVersion", "coordination.k8s.io/v1"},
                      {"kind", "Lease"},
                      {"metadata", {{"name", "x"}, {"namespace", ns}}}}),
         "create lease elsewhere");
  EXPECT_EQ(wva->Delete(resources::kPods, ns, "p").code(), StatusCode::kPermissionDenied);
  denied(
      wva->Create(resources::kNamespaces, "",
                  {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "nope"}}}}),
      "create namespace");
}

TEST(KubeIntegration, WatchSurvivesApiserverRestart) {
  if (SharedEnv().empty()) {
    GTEST_SKIP() << "no test environment";
  }
  PrivateEnv penv("restart");
  Env env = penv.env();
  ASSERT_FALSE(env.empty()) << "private control plane failed to start";
  auto c = ClientFor(env["KUBECONFIG"]);
  std::string ns = "restart";
  CreateNamespace(c.get(), ns);
  ReflectorOptions ro;
  ro.backoff_initial = 200ms;
  ro.backoff_max = 1s;
  Informer inf(c.get(), resources::kVariantAutoscalings, ns, ro);
  Recorder rec;
  rec.Attach(inf);
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(10s));
  ASSERT_TRUE(c->Create(resources::kVariantAutoscalings, ns, VA(ns, "before")).has_value());
  ASSERT_TRUE(Eventually([&] { return rec.size() >= 1; }));
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(std::system(env["WVA_TESTENV_RESTART_APISERVER"].c_str()), 0);
  std::cerr << "apiserver restart took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - t0)
                   .count()
            << " ms\n";
  ASSERT_TRUE(c->Create(resources::kVariantAutoscalings, ns, VA(ns, "after")).has_value());
  ASSERT_TRUE(c->MergePatch(resources::kVariantAutoscalings, ns, "before",
                            {{"spec", {{"modelID", "changed"}}}})
                  .has_value());
  ASSERT_TRUE(Eventually([&] { return rec.size() >= 3; }, 30s));
  std::this_thread::sleep_for(300ms);
  inf.Stop();
  EXPECT_EQ(rec.Get(), (std::vector<std::string>{"add restart/before", "add restart/after",
                                                 "update restart/before"}));
  EXPECT_GE(inf.watches(), 2);
  EXPECT_EQ(inf.store().size(), 2u);
}

// Reads etcd's current revision and compacts everything before it (etcd v3 JSON gateway).
Status CompactEtcd(const std::string& endpoint, int64_t* revision) {
  http::ClientOptions opts;
  auto http = http::CurlHttpClient::Create(opts);
  if (!http.has_value()) {
    return http.error();
  }
  auto r = (*http)->Do(http::Request::With("POST", endpoint + "/v3/kv/range", R"({"key":"AA=="})"));
  if (!r.has_value()) {
    return r.error();
  }
  Object j = Object::parse(r->body, nullptr, false);
  if (j.is_discarded()) {
    return InternalError("bad etcd range answer: " + r->body);
  }
  *revision = std::stoll(j["header"]["revision"].get<std::string>());
  Object req = {{"revision", std::to_string(*revision)}, {"physical", true}};
  auto c = (*http)->Do(http::Request::With("POST", endpoint + "/v3/kv/compaction", req.dump()));
  if (!c.has_value()) {
    return c.error();
  }
  if (c->status != 200) {
    return InternalError("compaction: " + c->body);
  }
  return OkStatus();
}

TEST(KubeIntegration, CompactionGivesGoneAndInformerRelistsExactly) {
  if (SharedEnv().empty()) {
    GTEST_SKIP() << "no test environment";
  }
  // Without the watch cache, watches are served by etcd, so a compacted resourceVersion is
  // answered with 410 deterministically.
  PrivateEnv penv("compact", "--watch-cache=false");
  Env env = penv.env();
  ASSERT_FALSE(env.empty()) << "private control plane failed to start";
  auto c = ClientFor(env["KUBECONFIG"]);
  std::string ns = "compact";
  CreateNamespace(c.get(), ns);
  for (const char* n : {"s1", "s2"}) {
    ASSERT_TRUE(c->Create(resources::kVariantAutoscalings, ns, VA(ns, n)).has_value());
  }

  // Hold the reflector between its first watch ending and the next one starting.
  std::mutex mu;
  std::condition_variable cv;
  int watch_starts = 0;
  bool release = false;
  ReflectorOptions ro;
  ro.min_watch_timeout_s = 1;  // the server ends each watch after 1 s
  ro.max_watch_timeout_s = 1;
  ro.backoff_initial = 100ms;
  ro.before_watch = [&] {
    std::unique_lock<std::mutex> l(mu);
    ++watch_starts;
    cv.notify_all();
    if (watch_starts == 2) {
      cv.wait(l, [&] { return release; });
    }
  };
  Informer inf(c.get(), resources::kVariantAutoscalings, ns, ro);
  Recorder rec;
  rec.Attach(inf);
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(10s));
  {
    std::unique_lock<std::mutex> l(mu);
    ASSERT_TRUE(cv.wait_for(l, 20s, [&] { return watch_starts >= 2; }));
  }
  std::string stale_rv = inf.last_resource_version();
  // While the informer is not watching: delete, update, create; then compact etcd.
  ASSERT_TRUE(c->Delete(resources::kVariantAutoscalings, ns, "s1").ok());
  ASSERT_TRUE(
      c->MergePatch(resources::kVariantAutoscalings, ns, "s2", {{"spec", {{"modelID", "changed"}}}})
          .has_value());
  ASSERT_TRUE(c->Create(resources::kVariantAutoscalings, ns, VA(ns, "s3")).has_value());
  int64_t rev = 0;
  ASSERT_TRUE(CompactEtcd(env["WVA_ETCD_ENDPOINT"], &rev).ok());

  // The raw client sees 410 for the stale resourceVersion.
  WatchOptions wo;
  wo.resource_version = stale_rv;
  wo.timeout_seconds = 5;
  Status gone =
      c->Watch(resources::kVariantAutoscalings, ns, wo, [](const WatchEvent&) { return true; });
  EXPECT_TRUE(IsGone(gone)) << gone.ToString();

  {
    std::lock_guard<std::mutex> l(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(Eventually([&] { return rec.size() >= 5; }, 30s));
  std::this_thread::sleep_for(1500ms);  // another watch cycle: nothing duplicated
  inf.Stop();
  EXPECT_EQ(rec.Get(),
            (std::vector<std::string>{"add compact/s1", "add compact/s2", "delete compact/s1",
                                      "update compact/s2", "add compact/s3"}));
  EXPECT_EQ(inf.relists_on_gone(), 1);
  EXPECT_EQ(inf.lists(), 2);
  EXPECT_EQ(inf.store().size(), 2u);
}

// The secure metrics endpoint's checks against the real API server: ServiceAccount tokens from
// the TokenRequest API, reviewed by TokenReview and SubjectAccessReview. The controller's own
// role (deploy/rbac, user "wva") holds no review verbs: it cannot check (503) until the
// secure-metrics role is bound (least privilege).
TEST(KubeIntegration, DelegatedAuthAgainstTheApiServer) {
  Env env = SharedEnv();
  REQUIRE_ENV(env);
  auto admin = ClientFor(env["KUBECONFIG"]);
  auto wva = ClientFor(env["WVA_KUBECONFIG_WVA"]);
  ASSERT_TRUE(admin && wva);
  const std::string ns = UniqueNs("metrics-auth");
  CreateNamespace(admin.get(), ns);
  const Resource sas{"", "v1", "serviceaccounts", true};
  const Resource cluster_roles{"rbac.authorization.k8s.io", "v1", "clusterroles", false};
  const Resource cluster_role_bindings{"rbac.authorization.k8s.io", "v1", "clusterrolebindings",
                                       false};
  auto token = [&](const std::string& sa) -> std::string {
    auto r = admin->Raw("POST", sas.Path(ns, sa, "token"),
                        Object{{"apiVersion", "authentication.k8s.io/v1"},
                               {"kind", "TokenRequest"},
                               {"spec", {{"expirationSeconds", 3600}}}}
                            .dump());
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r.has_value() ? (**r)["status"]["token"].get<std::string>() : "";
  };
  for (const char* sa : {"scraper", "stranger"}) {
    ASSERT_TRUE(
        admin
            ->Create(
                sas, ns,
                {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", sa}}}})
            .has_value());
  }
  const std::string reader = ns + "-metrics-reader";
  ASSERT_TRUE(admin
                  ->Create(cluster_roles, "",
                           {{"apiVersion", "rbac.authorization.k8s.io/v1"},
                            {"kind", "ClusterRole"},
                            {"metadata", {{"name", reader}}},
                            {"rules", {{{"nonResourceURLs", {"/metrics"}}, {"verbs", {"get"}}}}}})
                  .has_value());
  ASSERT_TRUE(
      admin
          ->Create(cluster_role_bindings, "",
                   {{"apiVersion", "rbac.authorization.k8s.io/v1"},
                    {"kind", "ClusterRoleBinding"},
                    {"metadata", {{"name", reader}}},
                    {"roleRef",
                     {{"apiGroup", "rbac.authorization.k8s.io"},
                      {"kind", "ClusterRole"},
                      {"name", reader}}},
                    {"subjects",
                     {{{"kind", "ServiceAccount"}, {"name", "scraper"}, {"namespace", ns}}}}})
          .has_value());
  const std::string scraper = "Bearer " + token("scraper");
  const std::string stranger = "Bearer " + token("stranger");

  DelegatedAuth as_admin(*admin, RealClock::Get());
  EXPECT_EQ(as_admin.Check(std::nullopt, "get", "/metrics").http_status, 401);
  EXPECT_EQ(as_admin.Check("Bearer not-a-token", "get", "/metrics").http_status, 401);
  AuthResult denied = as_admin.Check(stranger, "get", "/metrics");
  EXPECT_EQ(denied.http_status, 403);
  EXPECT_EQ(denied.user, "system:serviceaccount:" + ns + ":stranger");
  // RBAC takes effect asynchronously in the authorizer's cache: retry a fresh checker.
  EXPECT_TRUE(Eventually([&] {
    DelegatedAuth fresh(*admin, RealClock::Get());
    return fresh.Check(scraper, "get", "/metrics").http_status == 200;
  }));
  EXPECT_EQ(as_admin.Check(scraper, "get", "/other").http_status, 403);  // only /metrics

  // The controller's identity with deploy/rbac only: no review verbs.
  DelegatedAuth as_wva(*wva, RealClock::Get());
  EXPECT_EQ(as_wva.Check(scraper, "get", "/metrics").http_status, 503);
}

}  // namespace
}  // namespace wva::kube
