// Store + Reflector = Informer, with client-go's semantics:
//  - Store: thread-safe map "ns/name" -> shared_ptr<const Object> snapshot, plus named indexes
//    (e.g. VAs by modelID) maintained on every change.
//  - Reflector: LIST (paged) then WATCH from the list's resourceVersion with
//    allowWatchBookmarks=true and a random 300-600 s server timeout; a normal end of the watch
//    re-watches from the last seen resourceVersion; 410 Gone (HTTP or ERROR event) re-lists with
//    rv=""; errors the server answered back off 800 ms doubling to 30 s. While the server does
//    not answer at all (connection refused, reset, timeout) the retries are capped at 4 s, so a
//    server back after an outage of any length is watched again within seconds; its first
//    answer resets both backoffs. A re-list is reconciled against the store so handlers see
//    exactly the adds, updates and deletes that happened, nothing twice.
// Handlers run on the reflector thread, in event order; keep them short (enqueue a key).
#pragma once

#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/backoff.h"
#include "base/mutex.h"
#include "http/client.h"
#include "kube/client.h"

namespace wva::kube {

using IndexFunc = std::function<std::vector<std::string>(const Object&)>;

class Store {
 public:
  void AddIndex(const std::string& name, IndexFunc fn);  // before use
  // Returns the previous object (null if none).
  ObjectPtr Upsert(ObjectPtr obj);
  ObjectPtr Remove(const std::string& key);
  ObjectPtr Get(const std::string& key) const;
  std::vector<ObjectPtr> List() const;
  std::vector<std::string> Keys() const;
  std::vector<ObjectPtr> ByIndex(const std::string& index, const std::string& value) const;
  size_t size() const;

 private:
  void IndexLocked(const std::string& key, const Object* old_obj, const Object* new_obj)
      REQUIRES(mu_);
  mutable Mutex mu_;
  std::unordered_map<std::string, ObjectPtr> items_ GUARDED_BY(mu_);
  std::map<std::string, IndexFunc> index_funcs_ GUARDED_BY(mu_);
  // index name -> value -> keys
  std::map<std::string, std::map<std::string, std::map<std::string, bool>>> indexes_
      GUARDED_BY(mu_);
};

struct EventHandlers {
  std::function<void(const ObjectPtr&)> on_add;
  std::function<void(const ObjectPtr& old_obj, const ObjectPtr& new_obj)> on_update;
  std::function<void(const ObjectPtr&)> on_delete;
};

struct ReflectorOptions {
  std::string label_selector;
  std::string field_selector;
  int64_t page_size = 500;
  int min_watch_timeout_s = 300;
  int max_watch_timeout_s = 600;
  std::chrono::milliseconds backoff_initial{800};
  std::chrono::milliseconds backoff_max{30000};
  // Cap of the backoff while the server gives no answer: bounds how late a returning server is
  // noticed. A refused connection costs the server nothing, so a short cap is cheap.
  std::chrono::milliseconds unreachable_backoff_max{4000};
  uint64_t seed = 0;  // 0 = random
  // Projection on arrival (null = whole objects): every listed and watched object is stored and
  // handed to handlers as transform(object). It must keep metadata.name, metadata.namespace and
  // metadata.resourceVersion (keys and re-list reconciliation read them).
  Transform transform;
  // Test seam: called on the reflector thread before each WATCH starts (may block).
  std::function<void()> before_watch;
  // Test seam: replaces the real wait between retries (return false to stop the reflector).
  std::function<bool(std::chrono::milliseconds)> sleep;
};

class Informer {
 public:
  Informer(Client* client, Resource resource, std::string ns, ReflectorOptions options = {});
  ~Informer();  // Stop()s.

  Store& store() { return store_; }
  void AddHandlers(EventHandlers h);  // before Start()

  void Start();  // runs the reflector on its own thread
  void Stop();   // cancels the watch and joins; idempotent
  // Stop() without the join: lets a caller stop several informers at once, then join them.
  void RequestStop();
  bool HasSynced() const;  // the first LIST has been delivered
  // Blocks until HasSynced() or timeout; false on timeout.
  bool WaitForSync(std::chrono::milliseconds timeout) const;

  // Counters (for metrics and tests).
  int64_t lists() const { return lists_.load(); }
  int64_t watches() const { return watches_.load(); }
  int64_t relists_on_gone() const { return gone_.load(); }
  std::string last_resource_version() const;

 private:
  void Run();
  Status ListAndReplace();
  bool WaitFor(std::chrono::milliseconds d);  // false if stopping
  // After a failed LIST or WATCH: logs (once per failure streak) and waits; false if stopping.
  bool BackOffAfter(const char* what, const Status& s, Backoff& answered, Backoff& unreachable);
  void Recovered();  // a LIST or WATCH worked again: logs the end of a failure streak
  void Deliver(EventType type, const ObjectPtr& obj);

  Client* client_;
  Resource resource_;
  std::string ns_;
  ReflectorOptions options_;
  Store store_;
  std::vector<EventHandlers> handlers_;
  std::thread thread_;
  mutable Mutex mu_;
  mutable CondVar cv_;
  bool stopping_ GUARDED_BY(mu_) = false;
  bool synced_ GUARDED_BY(mu_) = false;
  std::string rv_ GUARDED_BY(mu_);
  http::CancelToken* cancel_ GUARDED_BY(mu_) = nullptr;  // the in-flight watch
  std::mt19937_64 rng_;
  int failure_streak_ = 0;  // reflector thread only
  std::atomic<int64_t> lists_{0}, watches_{0}, gone_{0};
};

}  // namespace wva::kube
