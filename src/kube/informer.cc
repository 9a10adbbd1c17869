#include "kube/informer.h"

#include <unordered_set>

#include "base/log.h"

namespace wva::kube {
namespace {
const log::Logger& Log() {
  static const log::Logger logger("kube.informer");
  return logger;
}
}  // namespace

// ---- Store ----------------------------------------------------------------------------------

void Store::AddIndex(const std::string& name, IndexFunc fn) {
  MutexLock lock(&mu_);
  index_funcs_[name] = std::move(fn);
  for (const auto& [key, obj] : items_) {
    IndexLocked(key, nullptr, obj.get());
  }
}

void Store::IndexLocked(const std::string& key, const Object* old_obj, const Object* new_obj) {
  for (const auto& [name, fn] : index_funcs_) {
    auto& idx = indexes_[name];
    if (old_obj != nullptr) {
      for (const auto& v : fn(*old_obj)) {
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
    if (new_obj != nullptr) {
      for (const auto& v : fn(*new_obj)) {
        idx[v][key] = true;
      }
    }
  }
}

ObjectPtr Store::Upsert(ObjectPtr obj) {
  std::string key = KeyOf(*obj);
  MutexLock lock(&mu_);
  auto& slot = items_[key];
  ObjectPtr old = slot;
  IndexLocked(key, old.get(), obj.get());
  slot = std::move(obj);
  return old;
}

ObjectPtr Store::Remove(const std::string& key) {
  MutexLock lock(&mu_);
  auto it = items_.find(key);
  if (it == items_.end()) {
    return nullptr;
  }
  ObjectPtr old = it->second;
  IndexLocked(key, old.get(), nullptr);
  items_.erase(it);
  return old;
}

ObjectPtr Store::Get(const std::string& key) const {
  MutexLock lock(&mu_);
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Store::List() const {
  MutexLock lock(&mu_);
  std::vector<ObjectPtr> out;
  out.reserve(items_.size());
  for (const auto& [k, v] : items_) {
    out.push_back(v);
  }
  return out;
}

std::vector<std::string> Store::Keys() const {
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  out.reserve(items_.size());
  for (const auto& [k, v] : items_) {
    out.push_back(k);
  }
  return out;
}

std::vector<ObjectPtr> Store::ByIndex(const std::string& index, const std::string& value) const {
  MutexLock lock(&mu_);
  std::vector<ObjectPtr> out;
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) {
    return out;
  }
  auto keys = idx->second.find(value);
  if (keys == idx->second.end()) {
    return out;
  }
  for (const auto& [k, unused] : keys->second) {
    auto it = items_.find(k);
    if (it != items_.end()) {
      out.push_back(it->second);
    }
  }
  return out;
}

size_t Store::size() const {
  MutexLock lock(&mu_);
  return items_.size();
}

// ---- Informer -------------------------------------------------------------------------------

Informer::Informer(Client* client, Resource resource, std::string ns, ReflectorOptions options)
    : client_(client),
      resource_(std::move(resource)),
      ns_(std::move(ns)),
      options_(std::move(options)),
      rng_(options_.seed != 0 ? options_.seed : std::random_device{}()) {}

Informer::~Informer() { Stop(); }

void Informer::AddHandlers(EventHandlers h) { handlers_.push_back(std::move(h)); }

void Informer::Start() {
  MutexLock lock(&mu_);
  if (thread_.joinable()) {
    return;
  }
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Informer::RequestStop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    if (cancel_ != nullptr) {
      cancel_->Cancel();
    }
  }
  cv_.NotifyAll();
}

void Informer::Stop() {
  RequestStop();
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool Informer::HasSynced() const {
  MutexLock lock(&mu_);
  return synced_;
}

bool Informer::WaitForSync(std::chrono::milliseconds timeout) const {
  // Real time on purpose: this bounds a start-up wait; no decision reads it.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock lock(&mu_);
  while (!synced_ && !stopping_) {
    if (!cv_.WaitUntil(&mu_, deadline)) {
      break;
    }
  }
  return synced_;
}

std::string Informer::last_resource_version() const {
  MutexLock lock(&mu_);
  return rv_;
}

bool Informer::WaitFor(std::chrono::milliseconds d) {
  if (options_.sleep) {
    if (!options_.sleep(d)) {
      return false;
    }
    MutexLock lock(&mu_);
    return !stopping_;
  }
  const auto deadline = std::chrono::steady_clock::now() + d;
  MutexLock lock(&mu_);
  while (!stopping_) {
    if (!cv_.WaitUntil(&mu_, deadline)) {
      break;
    }
  }
  return !stopping_;
}

bool Informer::BackOffAfter(const char* what, const Status& s, Backoff& answered,
                            Backoff& unreachable) {
  std::chrono::milliseconds d;
  if (IsServerUnreachable(s)) {
    // Whatever the server said before it went away says nothing about it when it is back.
    answered.Reset();
    d = unreachable.Next();
  } else {
    unreachable.Reset();
    d = answered.Next();
  }
  // One warning per failure streak; an outage would otherwise log every few seconds.
  const bool first = failure_streak_++ == 0;
  const nlohmann::json fields = {{"resource", resource_.plural},
                                 {"op", what},
                                 {"error", s.ToString()},
                                 {"backoff_ms", d.count()},
                                 {"failures", failure_streak_}};
  if (first) {
    Log().Warn("API request failed; retrying after backoff", fields);
  } else {
    Log().Debug("API request failed again; retrying after backoff", fields);
  }
  return WaitFor(d);
}

void Informer::Recovered() {
  if (failure_streak_ == 0) {
    return;
  }
  Log().Info("API requests work again",
             {{"resource", resource_.plural}, {"failures", failure_streak_}});
  failure_streak_ = 0;
}

void Informer::Deliver(EventType type, const ObjectPtr& obj) {
  if (type == EventType::kDeleted) {
    ObjectPtr old = store_.Remove(KeyOf(*obj));
    for (auto& h : handlers_) {
      if (h.on_delete) {
        h.on_delete(old ? old : obj);
      }
    }
    return;
  }
  ObjectPtr old = store_.Upsert(obj);
  for (auto& h : handlers_) {
    if (old == nullptr) {
      if (h.on_add) {
        h.on_add(obj);
      }
    } else if (h.on_update) {
      h.on_update(old, obj);
    }
  }
}

Status Informer::ListAndReplace() {
  ListOptions lo;
  lo.label_selector = options_.label_selector;
  lo.field_selector = options_.field_selector;
  lo.limit = options_.page_size;
  lo.transform = options_.transform;
  ++lists_;
  WVA_ASSIGN_OR_RETURN(ListResult list, client_->ListAll(resource_, ns_, lo));
  // Reconcile with the store: deletes for keys gone, adds/updates for the rest (an update only
  // when the resourceVersion changed, so a re-list after 410 duplicates nothing).
  std::unordered_set<std::string> seen;
  seen.reserve(list.items.size());
  for (const auto& obj : list.items) {
    seen.insert(KeyOf(*obj));
  }
  for (const auto& key : store_.Keys()) {
    if (seen.count(key) == 0) {
      if (ObjectPtr old = store_.Get(key)) {
        Deliver(EventType::kDeleted, old);
      }
    }
  }
  for (const auto& obj : list.items) {
    ObjectPtr cur = store_.Get(KeyOf(*obj));
    if (cur != nullptr && ResourceVersionOf(*cur) == ResourceVersionOf(*obj)) {
      continue;
    }
    Deliver(EventType::kModified, obj);
  }
  {
    MutexLock lock(&mu_);
    rv_ = list.resource_version;
    synced_ = true;
  }
  cv_.NotifyAll();
  Log().Debug("listed", {{"resource", resource_.plural},
                         {"items", list.items.size()},
                         {"resourceVersion", list.resource_version}});
  return OkStatus();
}

void Informer::Run() {
  const uint64_t seed = options_.seed != 0 ? options_.seed : rng_();
  Backoff answered(options_.backoff_initial, options_.backoff_max, 2.0, 0.0);
  // Jittered so the informers of one process do not retry a returning server in lockstep.
  Backoff unreachable(options_.backoff_initial,
                      std::min(options_.unreachable_backoff_max, options_.backoff_max), 2.0, 0.2,
                      seed);
  bool need_list = true;
  while (true) {
    {
      MutexLock lock(&mu_);
      if (stopping_) {
        return;
      }
    }
    if (need_list) {
      Status s = ListAndReplace();
      if (!s.ok()) {
        if (!BackOffAfter("list", s, answered, unreachable)) {
          return;
        }
        continue;
      }
      Recovered();
      need_list = false;
    }
    if (options_.before_watch) {
      options_.before_watch();
    }
    WatchOptions wo;
    wo.label_selector = options_.label_selector;
    wo.field_selector = options_.field_selector;
    wo.allow_bookmarks = true;
    std::uniform_int_distribution<int> dist(options_.min_watch_timeout_s,
                                            options_.max_watch_timeout_s);
    wo.timeout_seconds = dist(rng_);
    http::CancelToken cancel;
    {
      MutexLock lock(&mu_);
      if (stopping_) {
        return;
      }
      wo.resource_version = rv_;
      cancel_ = &cancel;
    }
    ++watches_;
    int64_t events = 0;
    Status s = client_->Watch(
        resource_, ns_, wo,
        [&](const WatchEvent& ev) {
          if (events++ == 0) {
            Recovered();
          }
          std::string rv = ResourceVersionOf(*ev.object);
          if (ev.type != EventType::kBookmark) {
            Deliver(ev.type, options_.transform ? std::make_shared<const Object>(
                                                      options_.transform(Object(*ev.object)))
                                                : ev.object);
          }
          if (!rv.empty()) {
            MutexLock lock(&mu_);
            rv_ = rv;
          }
          return true;
        },
        &cancel);
    {
      MutexLock lock(&mu_);
      cancel_ = nullptr;
      if (stopping_) {
        return;
      }
    }
    if (s.ok()) {
      Recovered();
      answered.Reset();
      unreachable.Reset();
      continue;  // server timeout: re-watch from the last resourceVersion
    }
    if (IsGone(s)) {
      ++gone_;
      Log().Info("watch resourceVersion expired; re-listing",
                 {{"resource", resource_.plural}, {"error", s.message()}});
      need_list = true;
      answered.Reset();
      unreachable.Reset();
      continue;
    }
    // A stream that delivered events was healthy until it broke: retry from a fresh backoff.
    // (A malformed stream, kDataLoss, resumes from the last good resourceVersion the same way.)
    if (events > 0) {
      answered.Reset();
      unreachable.Reset();
    }
    if (!BackOffAfter("watch", s, answered, unreachable)) {
      return;
    }
  }
}

}  // namespace wva::kube
