// Store + Reflector = Informer, with client-go's semantics:
//  - Store: thread-safe map "ns/name" -> shared_ptr<const T> snapshot, plus named indexes (e.g.
//    VAs by modelID) maintained on every change. T is the object itself (Object) or a typed
//    projection made once as the object arrives (BasicInformer's decode), so a cache of tens of
//    thousands of pods keeps a few fields each, not JSON trees.
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
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "base/backoff.h"
#include "base/mutex.h"
#include "http/client.h"
#include "kube/client.h"

namespace wva::kube {

// What a cache keeps of each object: the object itself (Object) or a typed projection of it. A
// type T other than Object needs `std::string KeyOf(const T&)` ("ns/name" or "name") and
// `std::string ResourceVersionOf(const T&)`, found by argument-dependent lookup.
template <class T>
using ItemPtr = std::shared_ptr<const T>;

template <class T>
class BasicStore {
 public:
  using Ptr = ItemPtr<T>;
  using IndexFunc = std::function<std::vector<std::string>(const T&)>;

  void AddIndex(const std::string& name, IndexFunc fn);  // before use
  // Returns the previous item (null if none).
  Ptr Upsert(Ptr item);
  Ptr Remove(const std::string& key);
  Ptr Get(const std::string& key) const;
  std::vector<Ptr> List() const;
  std::vector<std::string> Keys() const;
  std::vector<Ptr> ByIndex(const std::string& index, const std::string& value) const;
  size_t size() const;

 private:
  void IndexLocked(const std::string& key, const T* old_item, const T* new_item) REQUIRES(mu_);
  mutable Mutex mu_;
  std::unordered_map<std::string, Ptr> items_ GUARDED_BY(mu_);
  std::map<std::string, IndexFunc> index_funcs_ GUARDED_BY(mu_);
  // index name -> value -> keys
  std::map<std::string, std::map<std::string, std::set<std::string>>> indexes_ GUARDED_BY(mu_);
};

using Store = BasicStore<Object>;
using IndexFunc = Store::IndexFunc;

template <class T>
struct BasicEventHandlers {
  std::function<void(const ItemPtr<T>&)> on_add;
  std::function<void(const ItemPtr<T>& old_item, const ItemPtr<T>& new_item)> on_update;
  std::function<void(const ItemPtr<T>&)> on_delete;
};
using EventHandlers = BasicEventHandlers<Object>;

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

// The reflector, whatever its cache keeps: LIST, WATCH, backoff, re-list reconciliation. The
// cache behind it is BasicInformer<T>'s; this part is shared by every item type.
class InformerBase {
 public:
  InformerBase(Client* client, Resource resource, std::string ns, ReflectorOptions options);
  virtual ~InformerBase();  // Stop()s.
  InformerBase(const InformerBase&) = delete;
  InformerBase& operator=(const InformerBase&) = delete;

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

 protected:
  // The cache, on the reflector thread. `object` is the listed or watched object after the
  // transform; kDeleted removes it (its key) and hands handlers the cached item.
  virtual void Deliver(EventType type, const ObjectPtr& object) = 0;
  // Removes `key` (gone from a re-list) and tells the handlers.
  virtual void Forget(const std::string& key) = 0;
  virtual std::vector<std::string> CachedKeys() const = 0;
  // The resourceVersion of the cached item (nullopt = not cached).
  virtual std::optional<std::string> CachedVersion(const std::string& key) const = 0;

 private:
  void Run();
  Status ListAndReplace();
  bool WaitFor(std::chrono::milliseconds d);  // false if stopping
  // After a failed LIST or WATCH: logs (once per failure streak) and waits; false if stopping.
  bool BackOffAfter(const char* what, const Status& s, Backoff& answered, Backoff& unreachable);
  void Recovered();  // a LIST or WATCH worked again: logs the end of a failure streak

  Client* client_;
  Resource resource_;
  std::string ns_;
  ReflectorOptions options_;
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

// An informer whose cache keeps items of type T, each made once from the (transformed) object as
// it arrives: `decode` (required unless T is Object, where the object itself is kept). A decode
// that returns null drops the object (it stays out of the cache and no handler sees it).
template <class T>
class BasicInformer final : public InformerBase {
 public:
  using Ptr = ItemPtr<T>;
  using Decode = std::function<Ptr(const ObjectPtr& object)>;

  BasicInformer(Client* client, Resource resource, std::string ns, ReflectorOptions options = {},
                Decode decode = nullptr)
      : InformerBase(client, std::move(resource), std::move(ns), std::move(options)),
        decode_(std::move(decode)) {}
  ~BasicInformer() override { Stop(); }  // before the cache goes

  BasicStore<T>& store() { return store_; }
  void AddHandlers(BasicEventHandlers<T> h) { handlers_.push_back(std::move(h)); }  // before Start

 private:
  void Deliver(EventType type, const ObjectPtr& object) override;
  void Forget(const std::string& key) override;
  std::vector<std::string> CachedKeys() const override { return store_.Keys(); }
  std::optional<std::string> CachedVersion(const std::string& key) const override;
  Ptr DecodeItem(const ObjectPtr& object) const;
  void Deleted(const Ptr& item);

  Decode decode_;
  BasicStore<T> store_;
  std::vector<BasicEventHandlers<T>> handlers_;
};

using Informer = BasicInformer<Object>;

// ---- template definitions -------------------------------------------------------------------

template <class T>
void BasicStore<T>::AddIndex(const std::string& name, IndexFunc fn) {
  MutexLock lock(&mu_);
  index_funcs_[name] = std::move(fn);
  for (const auto& [key, item] : items_) {
    IndexLocked(key, nullptr, item.get());
  }
}

template <class T>
void BasicStore<T>::IndexLocked(const std::string& key, const T* old_item, const T* new_item) {
  for (const auto& [name, fn] : index_funcs_) {
    auto& idx = indexes_[name];
    if (old_item != nullptr) {
      for (const auto& v : fn(*old_item)) {
        auto it = idx.find(v);
        if (it == idx.end()) {
          continue;
        }
        it->second.erase(key);
        if (it->second.empty()) {
          idx.erase(it);
        }
      }
    }
    if (new_item != nullptr) {
      for (const auto& v : fn(*new_item)) {
        idx[v].insert(key);
      }
    }
  }
}

template <class T>
ItemPtr<T> BasicStore<T>::Upsert(Ptr item) {
  std::string key = KeyOf(*item);
  MutexLock lock(&mu_);
  auto& slot = items_[key];
  Ptr old = slot;
  IndexLocked(key, old.get(), item.get());
  slot = std::move(item);
  return old;
}

template <class T>
ItemPtr<T> BasicStore<T>::Remove(const std::string& key) {
  MutexLock lock(&mu_);
  auto it = items_.find(key);
  if (it == items_.end()) {
    return nullptr;
  }
  Ptr old = it->second;
  IndexLocked(key, old.get(), nullptr);
  items_.erase(it);
  return old;
}

template <class T>
ItemPtr<T> BasicStore<T>::Get(const std::string& key) const {
  MutexLock lock(&mu_);
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : it->second;
}

template <class T>
std::vector<ItemPtr<T>> BasicStore<T>::List() const {
  MutexLock lock(&mu_);
  std::vector<Ptr> out;
  out.reserve(items_.size());
  for (const auto& [k, v] : items_) {
    out.push_back(v);
  }
  return out;
}

template <class T>
std::vector<std::string> BasicStore<T>::Keys() const {
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  out.reserve(items_.size());
  for (const auto& [k, v] : items_) {
    out.push_back(k);
  }
  return out;
}

template <class T>
std::vector<ItemPtr<T>> BasicStore<T>::ByIndex(const std::string& index,
                                               const std::string& value) const {
  MutexLock lock(&mu_);
  std::vector<Ptr> out;
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) {
    return out;
  }
  auto keys = idx->second.find(value);
  if (keys == idx->second.end()) {
    return out;
  }
  out.reserve(keys->second.size());
  for (const std::string& k : keys->second) {
    auto it = items_.find(k);
    if (it != items_.end()) {
      out.push_back(it->second);
    }
  }
  return out;
}

template <class T>
size_t BasicStore<T>::size() const {
  MutexLock lock(&mu_);
  return items_.size();
}

template <class T>
ItemPtr<T> BasicInformer<T>::DecodeItem(const ObjectPtr& object) const {
  if constexpr (std::is_same_v<T, Object>) {
    if (!decode_) {
      return object;
    }
  }
  return decode_ ? decode_(object) : nullptr;
}

template <class T>
void BasicInformer<T>::Deleted(const Ptr& item) {
  for (auto& h : handlers_) {
    if (h.on_delete) {
      h.on_delete(item);
    }
  }
}

template <class T>
void BasicInformer<T>::Deliver(EventType type, const ObjectPtr& object) {
  if (type == EventType::kDeleted) {
    Ptr old = store_.Remove(KeyOf(*object));
    Ptr item = old ? old : DecodeItem(object);
    if (item != nullptr) {
      Deleted(item);
    }
    return;
  }
  Ptr item = DecodeItem(object);
  if (item == nullptr) {
    return;
  }
  Ptr old = store_.Upsert(item);
  for (auto& h : handlers_) {
    if (old == nullptr) {
      if (h.on_add) {
        h.on_add(item);
      }
    } else if (h.on_update) {
      h.on_update(old, item);
    }
  }
}

template <class T>
void BasicInformer<T>::Forget(const std::string& key) {
  if (Ptr old = store_.Remove(key)) {
    Deleted(old);
  }
}

template <class T>
std::optional<std::string> BasicInformer<T>::CachedVersion(const std::string& key) const {
  Ptr item = store_.Get(key);
  if (item == nullptr) {
    return std::nullopt;
  }
  return ResourceVersionOf(*item);
}

}  // namespace wva::kube
