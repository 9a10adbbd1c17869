// Informer cost over 10,000 VariantAutoscaling objects, then 1,000 updates, served by a local
// fake API server (http::HttpServer on 127.0.0.1) so the numbers measure our client, framer,
// JSON decoding, store and handlers rather than kube-apiserver. Reports:
//   BM_InformerList10k      time from Start() to HasSynced() for a 10,000-object LIST
//                           (paged, 500 per page, ~1.1 KB per object), RSS after sync
//   BM_InformerWatch1kUpdates  time for 1,000 MODIFIED events to reach the handler; per-event
//                           cost in the `per_event_us` counter
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "http/server.h"
#include "kube/client.h"
#include "kube/informer.h"

namespace wva::kube {
namespace {

constexpr int kObjects = 10000;
constexpr int kUpdates = 1000;

std::string VaJson(int i, int rv, int replicas) {
  Object o = {{"apiVersion", "llmd.ai/v1alpha1"},
              {"kind", "VariantAutoscaling"},
              {"metadata",
               {{"name", "variant-" + std::to_string(i)},
                {"namespace", "bench"},
                {"uid", "00000000-0000-0000-0000-" + std::to_string(100000000000 + i)},
                {"resourceVersion", std::to_string(rv)},
                {"generation", 1},
                {"creationTimestamp", "2026-01-01T00:00:00Z"},
                {"labels", {{"inference.optimization/acceleratorName", "L40S"}}}}},
              {"spec",
               {{"scaleTargetRef",
                 {{"apiVersion", "apps/v1"},
                  {"kind", "Deployment"},
                  {"name", "variant-" + std::to_string(i)}}},
                {"modelID", "meta/llama-" + std::to_string(i % 100)},
                {"variantCost", "5.0"},
                {"minReplicas", 1},
                {"maxReplicas", 10}}},
              {"status",
               {{"currentAlloc", {{"numReplicas", replicas}, {"accelerator", "L40S"}}},
                {"desiredOptimizedAlloc",
                 {{"numReplicas", replicas},
                  {"accelerator", "L40S"},
                  {"lastRunTime", "2026-01-01T00:00:00Z"}}},
                {"actuation", {{"applied", true}}},
                {"observedGeneration", 1},
                {"conditions",
                 {{{"type", "MetricsAvailable"},
                   {"status", "True"},
                   {"reason", "MetricsFound"},
                   {"message", "metrics found for all pods"},
                   {"lastTransitionTime", "2026-01-01T00:00:00Z"}}}}}}};
  return o.dump();
}

struct Fake {
  std::vector<std::string> pages;  // LIST pages
  std::string watch_body;          // 1,000 MODIFIED events
  std::atomic<bool> stop{false};
  http::HttpServer server;
  std::string url;
  size_t bytes_per_object = 0;

  Fake() {
    const int page = 500;
    for (int start = 0; start < kObjects; start += page) {
      std::string body =
          "{\"kind\":\"VariantAutoscalingList\",\"metadata\":{\"resourceVersion\":\"20000\"";
      if (start + page < kObjects) {
        body += ",\"continue\":\"" + std::to_string(start + page) + "\"";
      }
      body += "},\"items\":[";
      for (int i = start; i < start + page && i < kObjects; ++i) {
        if (i > start) {
          body += ",";
        }
        std::string o = VaJson(i, 10000 + i, 2);
        bytes_per_object = o.size();
        body += o;
      }
      body += "]}";
      pages.push_back(std::move(body));
    }
    for (int u = 0; u < kUpdates; ++u) {
      watch_body +=
          "{\"type\":\"MODIFIED\",\"object\":" + VaJson(u * 7 % kObjects, 20001 + u, 3) + "}\n";
    }
    server.Route("GET", "/apis/llmd.ai/v1alpha1/namespaces/bench/variantautoscalings",
                 [this](const http::ServerRequest& req, http::ServerResponse& res) {
                   // Not a compressible type: the fake server must not spend the benchmark
                   // gzipping (kube-apiserver gzips large lists too, but that is its cost).
                   res.content_type = "application/octet-stream";
                   if (req.Query("watch").empty()) {
                     std::string c = req.Query("continue");
                     size_t idx = c.empty() ? 0 : std::stoul(c) / 500;
                     res.body = pages.at(idx);
                     return;
                   }
                   res.stream = [this](const http::ChunkWriter& w) {
                     const size_t chunk = 64 * 1024;
                     for (size_t off = 0; off < watch_body.size(); off += chunk) {
                       if (!w(std::string_view(watch_body).substr(off, chunk))) {
                         return false;
                       }
                     }
                     while (!stop.load()) {
                       std::this_thread::sleep_for(std::chrono::milliseconds(2));
                       if (!w("")) {
                         return false;
                       }
                     }
                     return true;
                   };
                 });
    auto port = server.Start();
    url = "http://127.0.0.1:" + std::to_string(port.value_or(0));
  }
  ~Fake() {
    stop = true;
    server.Stop();
  }
};

Fake& GetFake() {
  static Fake* fake = new Fake();  // lives for the process
  return *fake;
}

double RssMb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stod(line.substr(6)) / 1024.0;
    }
  }
  return 0;
}

std::unique_ptr<Client> MakeClient() {
  RestConfig rc;
  rc.server = GetFake().url;
  return std::move(*Client::Create(rc, &RealClock::Get()));
}

void BM_InformerList10k(benchmark::State& state) {
  Fake& fake = GetFake();
  auto client = MakeClient();
  double rss_before = RssMb(), rss_synced = 0;
  for (auto _ : state) {
    Informer inf(client.get(), resources::kVariantAutoscalings, "bench");
    std::atomic<int> adds{0};
    inf.AddHandlers({[&](const ObjectPtr&) { ++adds; }, nullptr, nullptr});
    auto t0 = std::chrono::steady_clock::now();
    inf.Start();
    inf.WaitForSync(std::chrono::seconds(60));
    auto t1 = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    rss_synced = RssMb();
    if (adds.load() != kObjects || inf.store().size() != static_cast<size_t>(kObjects)) {
      state.SkipWithError("store incomplete");
    }
    inf.Stop();
  }
  state.counters["objects"] = kObjects;
  state.counters["bytes_per_object"] = static_cast<double>(fake.bytes_per_object);
  state.counters["rss_mb_synced"] = rss_synced;
  state.counters["rss_mb_before"] = rss_before;
}
BENCHMARK(BM_InformerList10k)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(5);

void BM_InformerWatch1kUpdates(benchmark::State& state) {
  auto client = MakeClient();
  for (auto _ : state) {
    std::mutex mu;
    std::condition_variable cv;
    int updates = 0;
    std::chrono::steady_clock::time_point first{}, last{};
    Informer inf(client.get(), resources::kVariantAutoscalings, "bench");
    inf.AddHandlers({nullptr,
                     [&](const ObjectPtr&, const ObjectPtr&) {
                       std::lock_guard<std::mutex> l(mu);
                       if (updates++ == 0) {
                         first = std::chrono::steady_clock::now();
                       }
                       last = std::chrono::steady_clock::now();
                       if (updates == kUpdates) {
                         cv.notify_all();
                       }
                     },
                     nullptr});
    inf.Start();
    inf.WaitForSync(std::chrono::seconds(60));
    auto synced = std::chrono::steady_clock::now();
    {
      std::unique_lock<std::mutex> l(mu);
      cv.wait_for(l, std::chrono::seconds(60), [&] { return updates >= kUpdates; });
    }
    state.SetIterationTime(std::chrono::duration<double>(last - synced).count());
    state.counters["per_event_us"] =
        std::chrono::duration<double, std::micro>(last - first).count() / (kUpdates - 1);
    state.counters["rss_mb"] = RssMb();
    inf.Stop();
  }
}
BENCHMARK(BM_InformerWatch1kUpdates)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace
}  // namespace wva::kube

BENCHMARK_MAIN();
